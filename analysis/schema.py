"""The tables' columns, their dtypes and meanings: defined once, here.

Every frame the loader builds follows one of these schemas exactly, in this column order, whether the input was
empty, ``null`` or full, on pandas 2.2 and 3.x alike. Strings use the ``python`` storage of
:class:`pandas.StringDtype` so the dtype does not change with the pandas version or with pyarrow being
installed; few-valued columns are categoricals; 64-bit indexes are exact ``UInt64``.

Two columns lead every table: ``cluster`` and ``region``. They say which snapshot a row came from, so frames
of several snapshots (regions, clusters) can be analysed together after :func:`pandas.concat`.

The ``nodes`` table also has two nullable boolean columns per driver seen anywhere in the snapshot,
``driver_<name>_detected`` and ``driver_<name>_healthy`` (see :func:`driver_columns`); they follow the fixed
columns, sorted by driver name.

Examples:
    >>> from analysis.schema import JOBS, empty_frame
    >>> frame = empty_frame(JOBS)
    >>> len(frame), list(frame.columns[:4])
    (0, ['cluster', 'region', 'namespace', 'id'])
    >>> str(frame["submit_time"].dtype), str(frame["create_index"].dtype)
    ('datetime64[ns, UTC]', 'UInt64')
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "ALLOCATIONS",
    "ALL_NODES",
    "JOBS",
    "LISTED",
    "META",
    "NODES",
    "NODE_DRIVERS",
    "SNAPSHOTS",
    "STRING",
    "TABLES",
    "TOKENS",
    "UTC_NS",
    "Column",
    "Table",
    "driver_columns",
    "empty_frame",
    "empty_series",
    "schema_markdown",
    "update_readme",
]

#: Strings: python storage on every pandas version (pyarrow storage would change with the installed packages).
STRING = pd.StringDtype("python")
#: Timestamps: nanosecond precision, converted to UTC.
UTC_NS = "datetime64[ns, UTC]"


@dataclass(frozen=True)
class Column:
    """One column of a table.

    Attributes:
        name: the column name.
        kind: one of ``string``, ``category``, ``boolean``, ``Int64``, ``UInt64``, ``datetime``,
            ``timedelta``, ``object``.
        doc: what the value means, and which JSON field it comes from.
    """

    name: str
    kind: str
    doc: str

    @property
    def dtype(self) -> Any:
        """The pandas dtype of this column."""
        return _DTYPES[self.kind]


@dataclass(frozen=True)
class Table:
    """A named, ordered set of columns."""

    name: str
    columns: tuple[Column, ...]
    doc: str

    @property
    def names(self) -> list[str]:
        """The column names, in order."""
        return [c.name for c in self.columns]

    def __getitem__(self, name: str) -> Column:
        for column in self.columns:
            if column.name == name:
                return column
        raise KeyError(name)


_DTYPES: dict[str, Any] = {
    "string": STRING,
    "category": "category",
    "boolean": "boolean",
    "Int64": "Int64",
    "UInt64": "UInt64",
    "datetime": UTC_NS,
    "timedelta": "timedelta64[ns]",
    "object": object,
}

_CONTEXT = (
    Column("cluster", "category", "Cluster name: from the snapshot envelope or the caller; <NA> when unknown."),
    Column("region", "category", "Nomad region the snapshot answers for; <NA> when unknown."),
)

JOBS = Table(
    "jobs",
    (
        *_CONTEXT,
        Column("namespace", "category", "`Namespace`: the job's namespace."),
        Column(
            "id",
            "string",
            "`ID`: the full job ID; children are `<parent>/periodic-…` or `<parent>/dispatch-…`.",
        ),
        Column("name", "string", "`Name`: equals the ID for periodic and dispatched children."),
        Column("parent_id", "string", '`ParentID`: the periodic or parameterized parent; "" for top-level jobs.'),
        Column("type", "category", "`Type`: service, batch, system or sysbatch."),
        Column("status", "category", "`Status`: pending, running or dead."),
        Column("status_description", "category", '`StatusDescription`: usually "".'),
        Column("stop", "boolean", "`Stop`: the job was stopped by an operator."),
        Column("priority", "Int64", "`Priority`."),
        Column(
            "node_pool",
            "category",
            "`NodePool`; <NA> in `nomad setup vault -check -json` output, which drops it.",
        ),
        Column("datacenters", "object", "`Datacenters`: the job's patterns as listed (globs such as `*`, `dc*`)."),
        Column(
            "multiregion",
            "boolean",
            "Whether `Multiregion` is set (Enterprise); <NA> when the input drops it.",
        ),
        Column("periodic", "boolean", "`Periodic`: true only for a periodic parent."),
        Column("parameterized", "boolean", "`ParameterizedJob`: true only for a parameterized parent."),
        Column("submit_time", "datetime", "`SubmitTime` (Unix nanoseconds), exact, as UTC."),
        Column("create_index", "UInt64", "`CreateIndex`, exact 64-bit."),
        Column("modify_index", "UInt64", "`ModifyIndex`, exact 64-bit."),
        Column("job_modify_index", "UInt64", "`JobModifyIndex`, exact 64-bit."),
    ),
    "One row per job in `JobsWithoutVaultIdentity`: jobs with a `vault` block and no `vault_*` identity.",
)

NODES = Table(
    "nodes",
    (
        *_CONTEXT,
        Column("id", "string", "`ID`: the node's full UUID."),
        Column("name", "string", "`Name`."),
        Column("address", "string", "`Address`: host part of the node's HTTP address (IPv6 without brackets)."),
        Column("datacenter", "category", "`Datacenter`: a literal name, never a glob."),
        Column("node_pool", "category", "`NodePool`."),
        Column("node_class", "category", '`NodeClass`; often "".'),
        Column("status", "category", "`Status`: initializing, ready, down or disconnected."),
        Column("status_description", "category", "`StatusDescription`."),
        Column("scheduling_eligibility", "category", "`SchedulingEligibility`: eligible or ineligible."),
        Column("drain", "boolean", "`Drain`: a drain strategy is set."),
        Column("version", "category", '`Version`: the raw `nomad.version` attribute, as reported (may be "").'),
        Column(
            "last_drain_status",
            "category",
            "`LastDrain.Status`: draining, complete or canceled; <NA> if never.",
        ),
        Column("last_drain_started_at", "datetime", "`LastDrain.StartedAt`, as UTC."),
        Column("last_drain_updated_at", "datetime", "`LastDrain.UpdatedAt`, as UTC."),
        Column("host_volumes", "object", "Sorted names of `HostVolumes`; <NA> when the input drops the field."),
        Column("create_index", "UInt64", "`CreateIndex`, exact 64-bit."),
        Column("modify_index", "UInt64", "`ModifyIndex`, exact 64-bit."),
    ),
    "One row per node in `OutdatedNodes`: clients whose Nomad version is older than 1.7.0-a or unparseable.",
)

NODE_DRIVERS = Table(
    "node_drivers",
    (
        *_CONTEXT,
        Column("node_id", "string", "The node's `ID`."),
        Column("driver", "category", "The key in `Drivers`: docker, exec, raw_exec, java, qemu, podman, …"),
        Column("detected", "boolean", "`Detected`."),
        Column("healthy", "boolean", "`Healthy`."),
        Column("health_description", "category", '`HealthDescription`: `Healthy`, "", or why not.'),
        Column("update_time", "datetime", "`UpdateTime`, converted from the client's offset to UTC."),
        Column("attributes", "object", "`Attributes`: a dict with the dotted keys verbatim ({} when none)."),
    ),
    "One row per (outdated node, driver) from each node's `Drivers` map.",
)

TOKENS = Table(
    "tokens",
    (
        *_CONTEXT,
        Column("accessor", "string", "`Accessor`: the accessor of the task's Vault token."),
        Column("alloc_id", "string", "`AllocID`: the allocation the token was made for."),
        Column("node_id", "string", "`NodeID`: may name a node that is not outdated, or gone."),
        Column("task", "category", "`Task`: the task name."),
        Column(
            "creation_ttl",
            "Int64",
            "`CreationTTL` in seconds: the 60 s response-wrapping TTL, NOT the token's lifetime.",
        ),
        Column("create_index", "UInt64", "`CreateIndex`, exact 64-bit."),
    ),
    "One row per legacy Vault token in `VaultTokens` (Nomad 1.7.3 to 1.9; not reported from 1.10).",
)

ALL_NODES = Table(
    "all_nodes",
    (
        *_CONTEXT,
        Column("id", "string", "`ID`: the node's full UUID."),
        Column("name", "string", "`Name`."),
        Column("address", "string", "`Address`: host part of the node's HTTP address (IPv6 without brackets)."),
        Column("datacenter", "category", "`Datacenter`."),
        Column("node_pool", "category", "`NodePool`."),
        Column("node_class", "category", '`NodeClass`; often "".'),
        Column("status", "category", "`Status`: initializing, ready, down or disconnected."),
        Column("scheduling_eligibility", "category", "`SchedulingEligibility`: eligible or ineligible."),
        Column("drain", "boolean", "`Drain`: a drain strategy is set."),
        Column("version", "category", '`Version`: the raw `nomad.version` attribute, as reported (may be "").'),
    ),
    "One row per client node from `/v1/nodes` (collected by `fetch --enrich`; needs `node:read`).",
)

ALLOCATIONS = Table(
    "allocations",
    (
        *_CONTEXT,
        Column("id", "string", "`ID`: the allocation's full UUID (a `VaultTokens[].AllocID`)."),
        Column("job_id", "string", "`JobID`: the job the allocation belongs to."),
        Column("namespace", "category", "`Namespace` of the job."),
        Column("task_group", "category", "`TaskGroup`."),
        Column("node_id", "string", "`NodeID`: the node the allocation was placed on."),
        Column("client_status", "category", "`ClientStatus`: pending, running, complete, failed, lost, unknown."),
    ),
    "One row per allocation behind a legacy Vault token, from `/v1/allocation/:id` (`fetch --enrich`; needs "
    "`read-job` in the allocation's namespace).",
)

META = Table(
    "meta",
    (
        *_CONTEXT,
        Column("source", "string", "Where the snapshot was read from: a path, `<stdin>`, `<bytes>` or `<dict>`."),
        Column("shape", "category", "`envelope`, `http-body` or `cli-json` (see `analysis.snapshot`)."),
        Column("captured_at", "datetime", "When the snapshot was captured (envelope only), as UTC."),
        Column("address", "string", "The agent's address, without credentials (envelope only)."),
        Column("index", "UInt64", "`Index`: the cluster's latest Raft index (global, not per object)."),
        Column("known_leader", "boolean", "`KnownLeader`."),
        Column("last_contact", "timedelta", "`LastContact`: time since the answering server heard the leader."),
        Column(
            "tokens_reported",
            "boolean",
            "False when `VaultTokens` is null: Nomad 1.10+ does not report them.",
        ),
        Column("nomad_version", "string", "Version of the agent that answered (envelope only, when known)."),
    ),
    "One row describing the snapshot itself.",
)

TABLES: dict[str, Table] = {t.name: t for t in (JOBS, NODES, NODE_DRIVERS, TOKENS, ALL_NODES, ALLOCATIONS, META)}


def driver_columns(driver: str) -> tuple[str, str]:
    """Names of the two per-driver columns of the ``nodes`` table.

    Examples:
        >>> driver_columns("raw_exec")
        ('driver_raw_exec_detected', 'driver_raw_exec_healthy')
    """
    return f"driver_{driver}_detected", f"driver_{driver}_healthy"


def empty_series(column: Column) -> pd.Series:
    """An empty series with the column's dtype."""
    if column.kind == "category":
        return pd.Series(pd.Categorical([], categories=pd.Index([], dtype=STRING)), name=column.name)
    if column.kind == "object":
        return pd.Series(np.empty(0, dtype=object), name=column.name)
    return pd.Series([], dtype=column.dtype, name=column.name)


def empty_frame(table: Table) -> pd.DataFrame:
    """An empty frame with the table's columns and dtypes.

    Examples:
        >>> from analysis.schema import TOKENS
        >>> empty_frame(TOKENS).dtypes["creation_ttl"]
        Int64Dtype()
    """
    return pd.DataFrame({c.name: empty_series(c) for c in table.columns})


# -- History (analysis.history) ---------------------------------------------------------------------------------
# Appended here rather than beside the loader's tables: these are computed from snapshots, one row per snapshot or
# per listed object over time. Their group labels are plain strings ("unknown" when a snapshot does not say), so a
# fleet's trend groups and plots without categorical surprises on any pandas version.

SNAPSHOTS = Table(
    "snapshots",
    (
        Column("cluster", "string", 'The envelope\'s cluster name, or "unknown" when the snapshot does not say.'),
        Column("region", "string", 'The envelope\'s region, or "unknown" when the snapshot does not say.'),
        Column(
            "captured_at",
            "datetime",
            "When the snapshot was captured (envelope `captured_at`), or the file's modification time when it has "
            "none (see `time_source`), as UTC.",
        ),
        Column("time_source", "string", "`captured` (the envelope's time) or `mtime` (the file's: less reliable)."),
        Column("index", "UInt64", "`Index`: the cluster's latest Raft index (global; orders snapshots of a cluster)."),
        Column("verdict", "string", "`not-ready`, `cleanup-only` or `clear` (see `analysis.risk.verdict`)."),
        Column("blocking", "Int64", "What still blocks the migration: `jobs_active` + `nodes_live`."),
        Column("jobs", "Int64", "Listed jobs: `jobs_active` + `jobs_inactive`."),
        Column("jobs_active", "Int64", "Listed jobs that are neither stopped nor dead (they block)."),
        Column("jobs_inactive", "Int64", "Listed jobs that are stopped or dead (cleanup only)."),
        Column("specs_to_resubmit", "Int64", "Job specs whose own row is listed and active (`action == resubmit`)."),
        Column("nodes", "Int64", "Listed (outdated) nodes: `nodes_live` + `nodes_down`."),
        Column("nodes_live", "Int64", "Listed (outdated) nodes that are not down (they block)."),
        Column("nodes_down", "Int64", "Listed (outdated) nodes that are down (cleanup only)."),
        Column("tokens", "Int64", "Legacy Vault tokens; <NA> when not reported (Nomad 1.10+), never 0 for that."),
        Column("nomad_version", "string", "Version of the agent that answered (envelope only, when known)."),
        Column("shape", "string", "`envelope`, `http-body` or `cli-json` (see `analysis.snapshot`)."),
        Column("source", "string", "The file the snapshot was read from (as found when it was loaded or exported)."),
        Column(
            "snapshot_id",
            "string",
            "BLAKE2b-64 of the file's bytes, hex: the snapshot's key in an exported dataset (equal bytes, equal ID).",
        ),
    ),
    "One row per snapshot of a history: its provenance and the counts that matter over time (`History.trend`).",
)

LISTED = Table(
    "listed",
    (
        Column("cluster", "string", 'Cluster label, as in `snapshots` ("unknown" when not known).'),
        Column("region", "string", 'Region label, as in `snapshots` ("unknown" when not known).'),
        Column("namespace", "string", "The job's namespace; <NA> for nodes."),
        Column("id", "string", "The full job ID or node ID."),
        Column("name", "string", "The job's or node's name (as last seen)."),
        Column("first_seen", "datetime", "`captured_at` of the first snapshot that listed it."),
        Column("last_seen", "datetime", "`captured_at` of the last snapshot that listed it."),
        Column("listed_for", "timedelta", "`last_seen - first_seen`: how long it has been listed, at least."),
        Column("snapshots", "Int64", "How many snapshots listed it."),
        Column("still_listed", "boolean", "Listed in the latest snapshot of its cluster and region."),
    ),
    "One row per job or node of a history: when it was listed (`History.longest_listed`).",
)

TABLES.update({t.name: t for t in (SNAPSHOTS, LISTED)})


def schema_markdown() -> str:
    """The tables' columns as markdown: the README's "Tables" section is this text (a test keeps them equal).

    Examples:
        >>> schema_markdown().splitlines()[0]
        '### `jobs`'
    """
    parts = []
    for table in TABLES.values():
        lines = [f"### `{table.name}`", "", table.doc, "", "| column | dtype | meaning |", "| --- | --- | --- |"]
        lines += [f"| `{c.name}` | {c.kind} | {c.doc.replace('|', '/')} |" for c in table.columns]
        parts.append("\n".join(lines))
    return "\n\n".join(parts) + "\n"


def update_readme(path: str | os.PathLike[str]) -> bool:
    """Rewrite the README's Tables section (between the ``schema:begin``/``schema:end`` markers) from
    :func:`schema_markdown`; returns whether it changed. ``make docs`` runs it."""
    from pathlib import Path

    readme = Path(path)
    text = readme.read_text(encoding="utf-8")
    begin = text.index("-->\n", text.index("<!-- schema:begin")) + len("-->\n")
    end = text.index("<!-- schema:end -->")
    new = text[:begin] + schema_markdown() + text[end:]
    if new != text:
        readme.write_text(new, encoding="utf-8")
    return new != text
