"""Migration progress over time: what changed between two snapshots, and the trend of a folder of them.

Three layers, from one pair of snapshots to a fleet's year of them:

Diff (:func:`diff_snapshots`)
    Two snapshots of the same cluster and region, compared oldest → newest: per list, the rows **new** (listed now,
    not before), **fixed** (gone from the list: resubmitted with an identity, upgraded, or garbage-collected; the
    endpoint cannot tell which) and **unchanged** (listed in both), and for the unchanged rows the changes that
    matter. Jobs are keyed by ``(namespace, id)`` (Nomad's own primary key), nodes by ``id`` and tokens by
    ``accessor``. A job whose ``job_modify_index`` moved was resubmitted and is *still* without an identity; a node
    whose ``version`` changed was upgraded, but not far enough. The counts and verdicts before and after come from
    :func:`analysis.summarize`, so they are the numbers every other report shows.
Trend (:func:`load_history`)
    Every snapshot under a folder (``*.json`` and ``*.json.gz``, recursively, any accepted shape), read one at a
    time, counted with the rules of :mod:`analysis.risk` and dropped: :attr:`History.trend` is a tidy frame with
    one row per snapshot (schema :data:`analysis.schema.SNAPSHOTS`), grouped by cluster and region. Files that
    cannot be read are skipped with a :class:`SnapshotSkippedWarning` naming them. :func:`project_finish` draws a
    straight line through the recent blocking counts: it is a **projection**, never a promise.
Dataset (:func:`export_history`)
    For a fleet (hundreds of clusters, a year of daily snapshots) the raw JSON is exported once, one snapshot at a
    time, into a Parquet dataset; :func:`load_history` then reads only its small ``snapshots`` table::

        history/
        ├── _dataset.json                       <- marker: format, version, tables, partitioning
        ├── _index/cluster=prod-eu.parquet      <- all of a cluster's snapshots rows in one file (a cache)
        ├── snapshots/cluster=prod-eu/date=2025-06-01/<snapshot_id>-0.parquet   <- one row per snapshot
        ├── jobs/cluster=prod-eu/date=2025-06-01/<snapshot_id>-0.parquet        <- the loader's tables, plus
        ├── nodes/...                                                              a snapshot_id column
        ├── node_drivers/...
        └── tokens/...

    Partitions are hive-style (``cluster=``/``date=``, the UTC date of ``captured_at``), so a reader that wants
    one cluster or a date range opens only those folders. Reading one small file per snapshot would cost about
    half a millisecond each (a minute for a year of 300 clusters), so each export also rewrites, per cluster it
    touched, ``_index/cluster=<name>.parquet`` holding all that cluster's ``snapshots`` rows. The index is only a
    cache: :func:`load_history` lists the partition folders (cheap) and reads directly any snapshot file the index
    does not know, and drops index rows whose file is gone, so a stale or missing index is slower, never wrong.
    Other tools can ignore ``_index`` (pyarrow, DuckDB and Spark skip ``_``-prefixed paths).

Why pyarrow and not DuckDB: pyarrow is already a dependency (pandas uses it for Parquet), so this adds no new
engine, no second SQL dialect and no extension downloads; the questions asked of the dataset are "the small
``snapshots`` table, maybe for one cluster" and "these columns of one table for one cluster", which hive partition
pruning plus column projection answer without a query planner. The files are plain Parquet: DuckDB, Spark or
polars read them as they are (``read_parquet('history/jobs/**/*.parquet', hive_partitioning=true)``).

Nested columns are stored as native Parquet types, not JSON strings, so other engines can query them:
``datacenters`` and ``host_volumes`` as ``list<string>`` (``host_volumes`` null when the input dropped the field)
and the drivers' ``attributes`` as ``map<string, string>`` (dotted keys verbatim, entry order kept). The nodes
table's ``driver_<name>_*`` columns are not exported: they vary from snapshot to snapshot (which would break one
fixed Parquet schema) and are derived from ``node_drivers``, which is.

Writing is atomic per snapshot: its five files are written by :func:`pyarrow.dataset.write_dataset` into a hidden
staging folder inside the dataset (``.staging-*``, ignored by every Parquet reader), fsynced, then renamed into
their partitions, the ``snapshots`` row last. A reader therefore sees a snapshot only when all its rows are there,
and a crash leaves at most a hidden staging folder (safe to delete). File names are the snapshot's ID (a hash of
the file's bytes), so exporting the same folder again adds only new snapshots.

Examples:
    >>> from analysis import load_snapshot
    >>> def envelope(day, jobs):
    ...     body = {"JobsWithoutVaultIdentity": [{"Namespace": "default", "ID": j, "Type": "service"} for j in jobs],
    ...             "OutdatedNodes": [], "VaultTokens": [], "Index": 100 + day}
    ...     return {"format": "nomad-wi-readiness/snapshot", "version": 1, "cluster": "prod", "region": "global",
    ...             "captured_at": f"2025-06-0{day}T08:00:00Z", "response": body}
    >>> diff = diff_snapshots(load_snapshot(envelope(1, ["api", "web"])), load_snapshot(envelope(2, ["web", "etl"])))
    >>> diff.jobs.counts(), diff.verdict_before, diff.verdict_after
    ({'new': 1, 'fixed': 1, 'unchanged': 1, 'changed': 0}, 'not-ready', 'not-ready')
    >>> diff.jobs.fixed[["namespace", "id"]]
      namespace   id
    0   default  api
"""

from __future__ import annotations

import hashlib
import math
import os
import re
import shutil
import tempfile
import warnings
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from analysis.errors import ConfigError, SnapshotError, SnapshotMismatchError, SnapshotNotFoundError
from analysis.files import atomic_path, atomic_write
from analysis.output import markdown_text, printable
from analysis.risk import _jsonable, classify_jobs, classify_nodes, specs, summarize, verdict
from analysis.schema import (
    JOBS,
    LISTED,
    NODE_DRIVERS,
    NODES,
    SNAPSHOTS,
    STRING,
    TOKENS,
    Column,
    Table,
    empty_frame,
)
from analysis.snapshot import Snapshot, SnapshotInfo, load_snapshot

__all__ = [
    "DATASET_FORMAT",
    "DEFAULT_WINDOW",
    "DIFF_FORMAT",
    "UNKNOWN",
    "History",
    "Projection",
    "SkippedFile",
    "SnapshotDiff",
    "SnapshotSkippedWarning",
    "TableDiff",
    "burndown_chart",
    "diff_snapshots",
    "export_history",
    "export_snapshots",
    "is_dataset",
    "load_history",
    "project_finish",
]

#: ``format`` of :meth:`SnapshotDiff.to_dict`; keys are only ever added within a version.
DIFF_FORMAT = "nomad-wi-readiness/diff"
DIFF_VERSION = 1
#: ``format`` of the marker file ``_dataset.json`` at the root of an exported dataset.
DATASET_FORMAT = "nomad-wi-readiness/history-dataset"
DATASET_VERSION = 1
#: The group label of snapshots that do not say their cluster or region.
UNKNOWN = "unknown"

_MARKER = "_dataset.json"
_INDEX = "_index"
_DATA_TABLES: tuple[Table, ...] = (JOBS, NODES, NODE_DRIVERS, TOKENS)
_PARTITIONING = ds.partitioning(pa.schema([("cluster", pa.string()), ("date", pa.string())]), flavor="hive")
_PARQUET = ds.ParquetFileFormat()
_WRITE_OPTIONS = _PARQUET.make_write_options(compression="zstd")


class SnapshotSkippedWarning(UserWarning):
    """A file of a history folder was skipped: it is not a readable snapshot, or repeats another one.

    The message names the file and says why; :attr:`History.skipped` lists the same files.
    """


@dataclass(frozen=True)
class SkippedFile:
    """A file :func:`load_history` or :func:`export_history` did not use.

    Attributes:
        path: the file.
        reason: why, in one line (the loader's error message, or which file it duplicates).
    """

    path: str
    reason: str


# ---------------------------------------------------------------------------------------------------------------
# Diff
# ---------------------------------------------------------------------------------------------------------------

#: The identity of a row in each list: Nomad's own keys.
_KEYS: dict[str, tuple[str, ...]] = {"jobs": ("namespace", "id"), "nodes": ("id",), "tokens": ("accessor",)}
#: The fields whose change, on a row listed in both snapshots, is worth reporting.
_WATCHED: dict[str, tuple[str, ...]] = {
    "jobs": ("status", "stop", "job_modify_index"),
    "nodes": ("version", "status", "drain", "scheduling_eligibility"),
    "tokens": (),
}
#: The columns shown for new and fixed rows (renderers and :meth:`SnapshotDiff.to_dict`).
_SHOWN: dict[str, tuple[str, ...]] = {
    "jobs": ("namespace", "id", "type", "status", "stop", "job_modify_index"),
    "nodes": ("id", "name", "datacenter", "node_pool", "version", "status"),
    "tokens": ("accessor", "alloc_id", "node_id", "task"),
}
#: The columns that name a row in the ``changes`` frame.
_LABELS: dict[str, tuple[str, ...]] = {"jobs": ("namespace", "id"), "nodes": ("id", "name"), "tokens": ("accessor",)}
#: Headline counts: (key in the summary counts, label).
_HEADLINE = (
    ("jobs_active", "active jobs (block)"),
    ("jobs_inactive", "inactive jobs (cleanup)"),
    ("specs_to_resubmit", "specs to resubmit"),
    ("nodes_live", "live outdated nodes (block)"),
    ("nodes_down", "down outdated nodes (cleanup)"),
    ("tokens", "legacy tokens"),
)
_NA_KEY = "\0na"


@dataclass(frozen=True)
class TableDiff:
    """How one list changed between two snapshots.

    Attributes:
        name: ``jobs``, ``nodes`` or ``tokens``.
        key: the columns that identify a row.
        new: rows listed now but not before (the newer snapshot's columns), sorted by key.
        fixed: rows listed before and gone now (the older snapshot's columns): resubmitted with an identity,
            upgraded, or garbage-collected.
        unchanged: rows listed in both, as they are now. Their fields may have moved: see ``changes``.
        changes: one row per (row listed in both, watched field that changed): the label columns (jobs:
            ``namespace``, ``id``; nodes: ``id``, ``name``), then ``field``, ``before``, ``after`` (as text) and a
            short ``note`` on what it means.
        compared: False when the list could not be compared (legacy tokens not reported on one side); the frames
            are then empty.
    """

    name: str
    key: tuple[str, ...]
    new: pd.DataFrame
    fixed: pd.DataFrame
    unchanged: pd.DataFrame
    changes: pd.DataFrame
    compared: bool = True

    @property
    def changed(self) -> int:
        """How many rows listed in both snapshots had at least one watched field change."""
        if not len(self.changes):
            return 0
        return len(self.changes.drop_duplicates(subset=list(self.key)))

    def counts(self) -> dict[str, int]:
        """``new``, ``fixed``, ``unchanged`` (listed in both) and ``changed`` (of those, with a watched change)."""
        return {
            "new": len(self.new),
            "fixed": len(self.fixed),
            "unchanged": len(self.unchanged),
            "changed": self.changed,
        }


@dataclass(frozen=True)
class SnapshotDiff:
    """What changed between two snapshots of one cluster and region (build it with :func:`diff_snapshots`).

    Attributes:
        old: provenance of the older snapshot.
        new: provenance of the newer snapshot.
        cluster: the cluster both belong to (None when neither says).
        region: the region both answer for (None when neither says).
        jobs: the jobs' :class:`TableDiff`.
        nodes: the outdated nodes' :class:`TableDiff`.
        tokens: the legacy tokens' :class:`TableDiff`.
        verdict_before: :func:`analysis.summarize` verdict of the older snapshot.
        verdict_after: and of the newer one.
        counts_before: :func:`analysis.summarize` counts of the older snapshot.
        counts_after: and of the newer one.
        swapped: the caller gave the newer snapshot first; they were swapped.
        warnings: what the reader should know: unknown cluster or region, order checks that disagree, duplicate
            keys, tokens not reported.
    """

    old: SnapshotInfo
    new: SnapshotInfo
    cluster: str | None
    region: str | None
    jobs: TableDiff
    nodes: TableDiff
    tokens: TableDiff
    verdict_before: str
    verdict_after: str
    counts_before: Mapping[str, Any]
    counts_after: Mapping[str, Any]
    swapped: bool = False
    warnings: tuple[str, ...] = ()

    @property
    def tables(self) -> dict[str, TableDiff]:
        """The three :class:`TableDiff`, by name."""
        return {"jobs": self.jobs, "nodes": self.nodes, "tokens": self.tokens}

    def headline(self) -> list[tuple[str, str, int | None, int | None]]:
        """(key, label, before, after) for the counts that track the migration; None means not reported."""
        return [(key, label, self.counts_before.get(key), self.counts_after.get(key)) for key, label in _HEADLINE]

    def frames(self) -> dict[str, pd.DataFrame]:
        """The diff as frames for a notebook: ``headline``, then ``<list>_fixed``, ``<list>_new`` and (jobs, nodes)
        ``<list>_changed``, with the columns the renderers show.

        Examples:
            >>> from analysis import load_snapshot
            >>> old = load_snapshot({"OutdatedNodes": [{"ID": "n1", "Version": "1.6.4", "Status": "ready"}]})
            >>> frames = diff_snapshots(old, load_snapshot({"OutdatedNodes": []})).frames()
            >>> list(frames)  # doctest: +NORMALIZE_WHITESPACE
            ['headline', 'jobs_fixed', 'jobs_new', 'jobs_changed', 'nodes_fixed', 'nodes_new', 'nodes_changed',
             'tokens_fixed', 'tokens_new']
            >>> frames["headline"].iloc[3:5]
                                     count  before  after  change
            3  live outdated nodes (block)       1      0      -1
            4  down outdated nodes (cleanup)     0      0       0
        """
        rows = self.headline()
        out = {
            "headline": pd.DataFrame(
                {
                    "count": pd.array([label for _, label, _, _ in rows], dtype=STRING),
                    "before": pd.array([b for _, _, b, _ in rows], dtype="Int64"),
                    "after": pd.array([a for _, _, _, a in rows], dtype="Int64"),
                    "change": pd.array(
                        [None if b is None or a is None else a - b for _, _, b, a in rows], dtype="Int64"
                    ),
                }
            )
        }
        for name, table in self.tables.items():
            out[f"{name}_fixed"] = table.fixed[list(_SHOWN[name])].reset_index(drop=True)
            out[f"{name}_new"] = table.new[list(_SHOWN[name])].reset_index(drop=True)
            if _WATCHED[name]:
                out[f"{name}_changed"] = table.changes
        return out

    # -- renderers -------------------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """The diff as one JSON-serialisable dict; rows are sorted by key, IDs are full.

        Examples:
            >>> import json
            >>> from analysis import load_snapshot
            >>> old = load_snapshot({"OutdatedNodes": [{"ID": "n1", "Version": "1.6.4", "Status": "ready"}]})
            >>> new = load_snapshot({"OutdatedNodes": []})
            >>> d = diff_snapshots(old, new).to_dict()
            >>> d["nodes"]["fixed"][0]["id"], d["nodes"]["counts"], d["verdict"]
            ('n1', {'new': 0, 'fixed': 1, 'unchanged': 0, 'changed': 0}, {'before': 'not-ready', 'after': 'clear'})
            >>> _ = json.dumps(d)
        """
        tables: dict[str, Any] = {}
        for name, table in self.tables.items():
            tables[name] = {
                "compared": table.compared,
                "counts": table.counts(),
                "new": _records(table.new, _SHOWN[name]),
                "fixed": _records(table.fixed, _SHOWN[name]),
                "changes": _records(table.changes, tuple(table.changes.columns)),
            }
        return _jsonable(
            {
                "format": DIFF_FORMAT,
                "version": DIFF_VERSION,
                "cluster": self.cluster,
                "region": self.region,
                "old": _provenance(self.old),
                "new": _provenance(self.new),
                "swapped": self.swapped,
                "warnings": list(self.warnings),
                "verdict": {"before": self.verdict_before, "after": self.verdict_after},
                "counts": {"before": dict(self.counts_before), "after": dict(self.counts_after)},
                **tables,
            }
        )

    def to_markdown(self, *, max_rows: int | None = 100) -> str:
        """The diff as Markdown for a ticket comment: headline counts, then tables of fixed, new and changed rows.

        Args:
            max_rows: show at most this many rows per table (then say how many more); None shows all.

        Examples:
            >>> from analysis import load_snapshot
            >>> old = load_snapshot({"JobsWithoutVaultIdentity": [{"Namespace": "a|b", "ID": "x", "Status": "dead"}]})
            >>> print(diff_snapshots(old, load_snapshot({"JobsWithoutVaultIdentity": []})).to_markdown())
            ... # doctest: +ELLIPSIS
            ### Migration progress: cluster ?, region ?
            ...
            #### Jobs fixed (1)
            <BLANKLINE>
            | namespace | id | type | status | stop | job_modify_index |
            | --- | --- | --- | --- | --- | ---: |
            | a\\|b | x |  | dead |  |  |
            ...
        """
        lines = [f"### Migration progress: {self._title(_md)}", ""]
        lines.append(self.span + f" · verdict **{self.verdict_before}** → **{self.verdict_after}**")
        lines.append("")
        notes = self._notes()
        if notes:
            lines.extend(f"> {_md(note)}" for note in notes)
            lines.append("")
        headline_rows = [[label, _count(b), _count(a), _delta(b, a)] for _, label, b, a in self.headline()]
        lines.extend(_markdown_table(["", "before", "after", "change"], headline_rows, "lrrr"))
        for heading, frame, columns, empty in self._sections():
            lines.extend(["", f"#### {heading}", ""])
            if not len(frame):
                lines.append(f"_{empty}_")
                continue
            rows, more = _rows(frame, columns, max_rows)
            lines.extend(_markdown_table(list(columns), [[_md(c) for c in r] for r in rows], _aligns(frame, columns)))
            if more:
                lines.extend(["", f"… and {more} more (see the JSON output for all rows)"])
        return "\n".join(lines) + "\n"

    def to_text(self, *, max_rows: int | None = 100) -> str:
        """The diff as aligned plain-text tables for a terminal.

        Examples:
            >>> from analysis import load_snapshot
            >>> old = load_snapshot({"VaultTokens": [{"Accessor": "acc-1", "Task": "app"}]})
            >>> print(diff_snapshots(old, load_snapshot({"VaultTokens": []})).to_text())
            ... # doctest: +ELLIPSIS
            Migration progress: cluster ?, region ?
            ...
            Tokens fixed (1)
            accessor  alloc_id  node_id  task
            --------  --------  -------  ----
            acc-1                        app
            ...
        """
        lines = [
            f"Migration progress: {self._title(str)}",
            f"{self.span}; verdict {self.verdict_before} → {self.verdict_after}",
        ]
        lines.extend(f"note: {note}" for note in self._notes())
        lines.append("")
        headline_rows = [[label, _count(b), _count(a), _delta(b, a)] for _, label, b, a in self.headline()]
        lines.extend(_text_table(["", "before", "after", "change"], headline_rows, "lrrr"))
        for heading, frame, columns, empty in self._sections():
            lines.extend(["", heading])
            if not len(frame):
                lines.append(f"  {empty}")
                continue
            rows, more = _rows(frame, columns, max_rows)
            lines.extend(_text_table(list(columns), rows, _aligns(frame, columns)))
            if more:
                lines.append(f"… and {more} more")
        return "\n".join(lines) + "\n"

    def __str__(self) -> str:
        return self.to_text()

    # -- rendering helpers -----------------------------------------------------------------------------------
    def _title(self, escape: Any) -> str:
        cluster = self.cluster if self.cluster is not None else "?"
        region = self.region if self.region is not None else "?"
        return f"cluster {escape(cluster)}, region {escape(region)}"

    @property
    def span(self) -> str:
        """The two snapshots' times and Indexes, and the time between them, in one line."""

        def point(info: SnapshotInfo) -> str:
            when = info.captured_at.strftime("%Y-%m-%d %H:%M UTC") if info.captured_at is not None else "time unknown"
            index = f" (Index {info.index})" if info.index is not None else ""
            return when + index

        span = f"{point(self.old)} → {point(self.new)}"
        if self.old.captured_at is not None and self.new.captured_at is not None:
            span += f", {_elapsed(self.new.captured_at - self.old.captured_at)}"
        return span

    def _notes(self) -> list[str]:
        notes = list(self.warnings)
        if self.swapped:
            notes.insert(0, "the snapshots were given newest first; they are compared oldest → newest")
        return notes

    def _sections(self) -> Iterator[tuple[str, pd.DataFrame, tuple[str, ...], str]]:
        """(heading, rows, columns, text when there are no rows) for each table the renderers print."""
        for name, table in self.tables.items():
            title = name.capitalize()
            if not table.compared:
                missing = [
                    side for side, snap in (("older", self.old), ("newer", self.new)) if not snap.tokens_reported
                ]
                why = (
                    "reported by neither snapshot"
                    if len(missing) == 2
                    else (f"not reported by the {missing[0]} snapshot (Nomad 1.10+)" if missing else "not compared")
                )
                yield f"{title}: not compared", table.changes, (), why
                continue
            yield f"{title} fixed ({len(table.fixed)})", table.fixed, _SHOWN[name], "none"
            yield f"{title} new ({len(table.new)})", table.new, _SHOWN[name], "none"
            if _WATCHED[name]:
                heading = f"{title} still listed, changed ({table.changed} of {len(table.unchanged)})"
                yield heading, table.changes, tuple(table.changes.columns), "none"


def diff_snapshots(old: Snapshot, new: Snapshot) -> SnapshotDiff:
    """Compare two snapshots of one cluster and region, oldest → newest.

    The two are ordered by ``captured_at``, then by Nomad's ``Index`` (the cluster's global Raft index, which only
    grows): given newest first, they are swapped and the diff says so. When the two clocks disagree (captured
    later but with a lower Index) ``captured_at`` wins and a warning is recorded.

    Args:
        old: the earlier snapshot.
        new: the later snapshot.

    Returns:
        The :class:`SnapshotDiff`.

    Raises:
        SnapshotMismatchError: the two name different clusters or different regions. When either does not say
            (``None``), they are compared anyway and a warning is recorded in the diff.

    Examples:
        >>> from analysis import load_snapshot
        >>> a = load_snapshot({"OutdatedNodes": [{"ID": "n1", "Version": "1.5.0", "Status": "ready"}], "Index": 9})
        >>> b = load_snapshot({"OutdatedNodes": [{"ID": "n1", "Version": "1.6.4", "Status": "ready"}], "Index": 12})
        >>> d = diff_snapshots(b, a)
        >>> d.swapped, d.old.index, d.new.index
        (True, 9, 12)
        >>> d.nodes.changes[["id", "field", "before", "after", "note"]]
           id    field before  after                      note
        0  n1  version  1.5.0  1.6.4  upgraded, still outdated
    """
    notes: list[str] = []
    _check_same_context(old, new, notes)
    old, new, swapped = _ordered(old, new, notes)
    tokens_compared = old.tokens_reported and new.tokens_reported
    if not tokens_compared and (old.tokens_reported or new.tokens_reported):
        side = "newer" if old.tokens_reported else "older"
        notes.append(
            f"legacy tokens are not reported by the {side} snapshot (Nomad 1.10+): token changes are unknown, not zero"
        )
    old_jobs, new_jobs = classify_jobs(old.jobs), classify_jobs(new.jobs)
    old_nodes, new_nodes = classify_nodes(old.nodes), classify_nodes(new.nodes)
    before, after = summarize(old), summarize(new)
    return SnapshotDiff(
        old=old.info,
        new=new.info,
        cluster=old.cluster if old.cluster is not None else new.cluster,
        region=old.region if old.region is not None else new.region,
        jobs=_diff_table("jobs", old_jobs, new_jobs, notes),
        nodes=_diff_table("nodes", old_nodes, new_nodes, notes),
        tokens=_diff_table("tokens", old.tokens, new.tokens, notes, compared=tokens_compared),
        verdict_before=before["verdict"],
        verdict_after=after["verdict"],
        counts_before=before["counts"],
        counts_after=after["counts"],
        swapped=swapped,
        warnings=tuple(notes),
    )


def _check_same_context(old: Snapshot, new: Snapshot, notes: list[str]) -> None:
    differ = []
    for attr in ("cluster", "region"):
        a, b = getattr(old.info, attr), getattr(new.info, attr)
        if a is not None and b is not None and a != b:
            differ.append(attr)
        elif a is None or b is None:
            unknown = [s.info.source for s, v in ((old, a), (new, b)) if v is None]
            notes.append(f"{attr} unknown for {' and '.join(unknown)}: assumed to be the same {attr}")
    if differ:
        raise SnapshotMismatchError(
            f"cannot compare snapshots of different {' and '.join(a + 's' for a in differ)}: {old.info.source} is "
            f"{_context(old.info)}, {new.info.source} is {_context(new.info)}; diff two snapshots of one cluster "
            "and region (load_history groups a fleet's snapshots by cluster and region)",
            old=old.info.source,
            new=new.info.source,
            old_context=(old.info.cluster, old.info.region),
            new_context=(new.info.cluster, new.info.region),
        )


def _context(info: SnapshotInfo) -> str:
    return f"cluster {info.cluster!r}, region {info.region!r}"


def _ordered(old: Snapshot, new: Snapshot, notes: list[str]) -> tuple[Snapshot, Snapshot, bool]:
    t_old, t_new = old.info.captured_at, new.info.captured_at
    i_old, i_new = old.info.index, new.info.index
    by_time = None if t_old is None or t_new is None or t_old == t_new else t_old > t_new
    by_index = None if i_old is None or i_new is None or i_old == i_new else i_old > i_new
    if by_time is not None and by_index is not None and by_time != by_index:
        notes.append(
            f"captured_at and Index disagree on which snapshot is newer ({old.info.source}: {t_old}, Index {i_old}; "
            f"{new.info.source}: {t_new}, Index {i_new}); ordered by captured_at — was the cluster restored from a "
            "backup, or a clock wrong?"
        )
    swap = by_time if by_time is not None else bool(by_index)
    if by_time is None and by_index is None and (t_old is None or t_new is None):
        notes.append("neither captured_at nor Index tells which snapshot is newer; compared in the order given")
    return (new, old, True) if swap else (old, new, False)


def _key_index(frame: pd.DataFrame, key: Sequence[str]) -> pd.MultiIndex:
    return pd.MultiIndex.from_arrays(
        [frame[k].astype(object).where(frame[k].notna(), _NA_KEY).to_numpy() for k in key], names=list(key)
    )


def _diff_table(
    name: str, old: pd.DataFrame, new: pd.DataFrame, notes: list[str], *, compared: bool = True
) -> TableDiff:
    key = _KEYS[name]
    labels = _LABELS[name]
    change_columns = [*labels, "field", "before", "after", "note"]
    if not compared:
        empty_old, empty_new = old.iloc[:0], new.iloc[:0]
        return TableDiff(name, key, empty_new, empty_old, empty_new, _string_frame(change_columns, []), False)
    old = _unique_keys(name, old, "older", notes)
    new = _unique_keys(name, new, "newer", notes)
    old_idx, new_idx = _key_index(old, key), _key_index(new, key)
    is_new = ~new_idx.isin(old_idx)
    is_gone = ~old_idx.isin(new_idx)
    added = _sorted(new[is_new], key)
    fixed = _sorted(old[is_gone], key)
    still = new[~is_new]
    before = old.set_axis(old_idx).reindex(new_idx[~is_new])
    records: list[dict[str, Any]] = []
    if _WATCHED[name] and len(still):
        label_values = {c: _plain(still[c]) for c in labels}
        for f in _WATCHED[name]:
            b_values, a_values = _plain(before[f]), _plain(still[f])
            state_b, state_a = _state(name, f, before), _state(name, f, still)
            for i, (b, a) in enumerate(zip(b_values, a_values, strict=True)):
                if b == a:
                    continue
                record = {c: label_values[c][i] for c in labels}
                record.update(
                    field=f,
                    before=_text(b),
                    after=_text(a),
                    note=_note(f, b, a, state_b[i] if state_b else None, state_a[i] if state_a else None),
                )
                records.append(record)
    changes = _string_frame(change_columns, records)
    if len(changes):
        order = {f: i for i, f in enumerate(_WATCHED[name])}
        changes = (
            changes.assign(_o=changes["field"].map(order).astype("int64"))
            .sort_values([*key, "_o"], kind="stable")
            .drop(columns="_o")
            .reset_index(drop=True)
        )
    return TableDiff(name, key, added, fixed, _sorted(still, key), changes)


def _unique_keys(name: str, frame: pd.DataFrame, side: str, notes: list[str]) -> pd.DataFrame:
    duplicated = _key_index(frame, _KEYS[name]).duplicated()
    if duplicated.any():
        notes.append(f"the {side} snapshot lists {int(duplicated.sum())} {name} row(s) twice; the first is used")
        return frame[~duplicated]
    return frame


def _sorted(frame: pd.DataFrame, key: Sequence[str]) -> pd.DataFrame:
    if not len(frame):
        return frame.reset_index(drop=True)
    order = pd.DataFrame({k: frame[k].astype(object).where(frame[k].notna(), "\uffff").astype(str) for k in key})
    return frame.iloc[np.lexsort([order[k].to_numpy() for k in reversed(key)])].reset_index(drop=True)


def _plain(series: pd.Series) -> list[Any]:
    return series.astype(object).where(series.notna(), None).tolist()


def _state(name: str, field_name: str, frame: pd.DataFrame) -> list[Any] | None:
    # The classification columns of analysis.risk say whether a change moved a row between blocking and cleanup.
    if name == "jobs" and field_name in ("status", "stop"):
        return _plain(frame["state"])
    if name == "nodes" and field_name == "status":
        return _plain(frame["liveness"])
    return None


def _note(field_name: str, before: Any, after: Any, state_before: Any, state_after: Any) -> str:
    if state_before != state_after:
        return {
            "inactive": "now inactive: cleanup only",
            "active": "active again: blocks the migration",
            "down": "went down: cleanup only",
            "live": "back up: blocks the migration",
        }.get(str(state_after), "")
    if field_name == "job_modify_index":
        return "resubmitted, still without a vault identity"
    if field_name == "version":
        return "upgraded, still outdated"
    if field_name == "drain":
        return "drain started" if after else "drain ended"
    if field_name == "scheduling_eligibility":
        return "now ineligible" if after == "ineligible" else "eligible again"
    return ""


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool | np.bool_):
        return "true" if value else "false"
    return str(value)


def _string_frame(columns: Sequence[str], records: list[dict[str, Any]]) -> pd.DataFrame:
    return pd.DataFrame({c: pd.array([r[c] for r in records], dtype=STRING) for c in columns})


def _records(frame: pd.DataFrame, columns: Sequence[str]) -> list[dict[str, Any]]:
    data = {c: _plain(frame[c]) for c in columns}
    return [{c: data[c][i] for c in columns} for i in range(len(frame))]


def _provenance(info: SnapshotInfo) -> dict[str, Any]:
    return {
        "source": info.source,
        "cluster": info.cluster,
        "region": info.region,
        "captured_at": info.captured_at.isoformat() if info.captured_at is not None else None,
        "index": info.index,
        "nomad_version": info.nomad_version,
        "tokens_reported": info.tokens_reported,
    }


# -- small table renderers (tabulate is not a dependency) -------------------------------------------------------
# Escaping is analysis.output's, as for every other command: cluster data cannot reach the terminal as control
# sequences or add markdown to a ticket.


def _cell(value: Any) -> str:
    if value is None or value is pd.NA:
        return ""
    if isinstance(value, bool | np.bool_):
        return "true" if value else "false"
    return printable(str(value))


def _md(value: Any) -> str:
    if value is None or value is pd.NA:
        return ""
    return markdown_text(_cell(value) if isinstance(value, bool | np.bool_) else str(value))


def _rows(frame: pd.DataFrame, columns: Sequence[str], max_rows: int | None) -> tuple[list[list[str]], int]:
    shown = frame if max_rows is None else frame.iloc[:max_rows]
    data = [_plain(shown[c]) for c in columns]
    rows = [[_cell(col[i]) for col in data] for i in range(len(shown))]
    return rows, len(frame) - len(shown)


def _aligns(frame: pd.DataFrame, columns: Sequence[str]) -> str:
    numeric = ("Int64", "UInt64", "int64")
    return "".join("r" if str(frame[c].dtype) in numeric else "l" for c in columns)


def _markdown_table(headers: Sequence[str], rows: Sequence[Sequence[str]], align: str) -> list[str]:
    rule = ["---:" if a == "r" else "---" for a in align]
    return [f"| {' | '.join(row)} |" for row in (list(headers), rule, *rows)]


def _text_table(headers: Sequence[str], rows: Sequence[Sequence[str]], align: str) -> list[str]:
    widths = [max(len(str(h)), *(len(r[i]) for r in rows)) if rows else len(str(h)) for i, h in enumerate(headers)]

    def line(cells: Sequence[str]) -> str:
        parts = [c.rjust(w) if a == "r" else c.ljust(w) for c, w, a in zip(cells, widths, align, strict=True)]
        return "  ".join(parts).rstrip()

    return [line(list(headers)), line(["-" * w for w in widths]), *(line(r) for r in rows)]


def _count(value: int | None) -> str:
    return "n/a" if value is None else str(value)


def _delta(before: int | None, after: int | None) -> str:
    if before is None or after is None:
        return ""
    change = after - before
    return f"{change:+d}" if change else "0"


def _elapsed(delta: pd.Timedelta) -> str:
    seconds = delta.total_seconds()
    if abs(seconds) >= 86_400:
        return f"{seconds / 86_400:.1f} days"
    if abs(seconds) >= 3_600:
        return f"{seconds / 3_600:.1f} hours"
    return f"{seconds / 60:.0f} minutes"


# ---------------------------------------------------------------------------------------------------------------
# Counting one snapshot (the rules are analysis.risk's; this only sums them)
# ---------------------------------------------------------------------------------------------------------------


def _counts(snapshot: Snapshot) -> dict[str, Any]:
    # The same numbers as summarize()["counts"], without the groupings and the plan summarize also builds, which
    # would dominate the time of a year of 10k-job snapshots.
    jobs = classify_jobs(snapshot.jobs)
    nodes = classify_nodes(snapshot.nodes)
    active = int((jobs["state"] == "active").sum())
    live = int((nodes["liveness"] == "live").sum())
    spec_table = specs(jobs)
    return {
        "verdict": verdict(jobs, nodes, snapshot.tokens),
        "blocking": active + live,
        "jobs": len(jobs),
        "jobs_active": active,
        "jobs_inactive": len(jobs) - active,
        "specs_to_resubmit": int((spec_table["action"] == "resubmit").sum()),
        "nodes": len(nodes),
        "nodes_live": live,
        "nodes_down": len(nodes) - live,
        "tokens": len(snapshot.tokens) if snapshot.tokens_reported else None,
    }


_UNSAFE_LABEL = re.compile(r"[\x00-\x1f\x7f-\x9f]")  # pyarrow URL-encodes the rest (slashes included)


def _label(value: str | None) -> str:
    """A cluster or region label safe as a Parquet partition folder: control characters (a NUL would cut the
    folder name) and very long names are escaped or cut, with a hash of the original so that two different
    names never share a label."""
    if not value:
        return UNKNOWN
    from urllib.parse import quote

    clean = _UNSAFE_LABEL.sub(lambda m: f"%{ord(m.group(0)):02x}", value)
    # The folder name is URL-encoded (up to 3 characters a byte): keep it well under the 255-byte name limit.
    if clean == value and len(quote(value, safe="")) <= 120:
        return value
    digest = hashlib.blake2b(value.encode("utf-8", "surrogatepass"), digest_size=5).hexdigest()
    return clean.encode("utf-8", "surrogatepass")[:36].decode("utf-8", "ignore") + "~" + digest


def _trend_row(snapshot: Snapshot, snapshot_id: str, path: Path | None) -> dict[str, Any]:
    info = snapshot.info
    if info.captured_at is not None or path is None:
        captured, time_source = info.captured_at, "captured"
    else:
        captured, time_source = pd.Timestamp(path.stat().st_mtime_ns, unit="ns", tz="UTC"), "mtime"
    return {
        "cluster": _label(info.cluster),
        "region": _label(info.region),
        "captured_at": captured,
        "time_source": time_source,
        "index": info.index,
        **_counts(snapshot),
        "nomad_version": info.nomad_version,
        "shape": info.shape,
        "source": str(path) if path is not None else info.source,
        "snapshot_id": snapshot_id,
    }


def _frame(table: Table, records: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """A frame of ``records`` with exactly the table's columns and dtypes (empty input: empty frame)."""
    if not records:
        return empty_frame(table)
    return pd.DataFrame({c.name: _array([r[c.name] for r in records], c) for c in table.columns})


def _array(values: list[Any], column: Column) -> Any:
    if column.kind == "category":
        present = sorted({v for v in values if v is not None})
        return pd.Categorical(values, categories=pd.Index(present, dtype=STRING))
    if column.kind == "object":
        out = np.empty(len(values), dtype=object)
        for i, value in enumerate(values):
            out[i] = value
        return out
    return pd.array(values, dtype=column.dtype)


def _sort_trend(frame: pd.DataFrame) -> pd.DataFrame:
    keys = ["cluster", "region", "captured_at", "index", "source"]
    return frame.sort_values(keys, na_position="last", kind="stable").reset_index(drop=True)


# ---------------------------------------------------------------------------------------------------------------
# Reading a folder of snapshot files, one at a time
# ---------------------------------------------------------------------------------------------------------------


def _snapshot_files(root: Path) -> list[Path]:
    found = []
    for folder, dirs, files in os.walk(root):
        # Hidden folders hold staging files, editors' backups and VCS data, never snapshots.
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in files:
            if not name.startswith(".") and (name.endswith(".json") or name.endswith(".json.gz")):
                found.append(Path(folder) / name)
    return sorted(found, key=lambda p: p.relative_to(root).as_posix())


def _file_id(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=8).hexdigest()


@dataclass
class _Scanned:
    snapshot: Snapshot
    row: dict[str, Any]


class _Seen:
    """Which snapshots were already taken (this run or an earlier export), by ID and by capture."""

    def __init__(self, known_ids: Iterable[str] = (), known_captures: Mapping[tuple[Any, ...], str] | None = None):
        self.known_ids = frozenset(known_ids)
        self.ids: dict[str, str] = {}
        self.captures: dict[tuple[Any, ...], str] = dict(known_captures or {})

    def repeated(self, snapshot_id: str) -> str | None:
        """Why a snapshot with this ID is not taken again ("" when silently: already exported), or None."""
        if snapshot_id in self.known_ids:
            return ""
        if snapshot_id in self.ids:
            return f"the same bytes as {self.ids[snapshot_id]}"
        return None

    def take(self, row: Mapping[str, Any]) -> str | None:
        """Record the row; return why it repeats an earlier snapshot instead, or None."""
        if row["time_source"] == "captured" and row["index"] is not None:
            capture = (row["cluster"], row["region"], row["captured_at"], row["index"])
            if capture in self.captures:
                return f"the same cluster, region, captured_at and Index as {self.captures[capture]}"
            self.captures[capture] = row["source"]
        self.ids[row["snapshot_id"]] = row["source"]
        return None


def _skip(skipped: list[SkippedFile], source: str, reason: str) -> None:
    skipped.append(SkippedFile(source, reason))
    warnings.warn(f"{source}: skipped: {reason}", SnapshotSkippedWarning, stacklevel=5)


def _scan(paths: Iterable[Path], skipped: list[SkippedFile], seen: _Seen) -> Iterator[_Scanned]:
    """Yield each readable, new snapshot file with its trend row; warn about (and record) the others."""
    for path in paths:
        if not path.is_file():  # a pipe or a device named *.json would block or never end
            _skip(skipped, str(path), "is not a regular file")
            continue
        try:
            snapshot_id = _file_id(path.read_bytes())
        except OSError as exc:
            _skip(skipped, str(path), f"cannot be read ({exc.strerror})")
            continue
        why = seen.repeated(snapshot_id)
        if why is not None:
            if why:
                _skip(skipped, str(path), why)
            continue
        try:
            snapshot = load_snapshot(path)
        except SnapshotError as exc:
            _skip(skipped, str(path), str(exc).removeprefix(f"{path}: "))
            continue
        row = _trend_row(snapshot, snapshot_id, path)
        why = seen.take(row)
        if why is not None:
            _skip(skipped, str(path), why)
            continue
        yield _Scanned(snapshot, row)
        del snapshot, row  # let the consumer's drop free it before the next file is parsed


def _scan_objects(snapshots: Iterable[Snapshot], skipped: list[SkippedFile], seen: _Seen) -> Iterator[_Scanned]:
    """Like :func:`_scan` for snapshots already loaded: their ID is the hash of their envelope bytes."""
    for snapshot in snapshots:
        source = snapshot.info.source
        if snapshot.info.captured_at is None:
            _skip(skipped, source, "has no captured_at (and no file whose time could stand in for it)")
            continue
        snapshot_id = _file_id(snapshot.envelope_bytes())
        why = seen.repeated(snapshot_id)
        if why is not None:
            if why:
                _skip(skipped, source, why)
            continue
        row = _trend_row(snapshot, snapshot_id, None)
        why = seen.take(row)
        if why is not None:
            _skip(skipped, source, why)
            continue
        yield _Scanned(snapshot, row)
        del snapshot, row


class _Listing:
    """First seen, last seen and count per job and node, accumulated one snapshot at a time (files mode)."""

    def __init__(self) -> None:
        self.entries: dict[str, dict[tuple[Any, ...], list[Any]]] = {"jobs": {}, "nodes": {}}

    def add(self, row: Mapping[str, Any], snapshot: Snapshot) -> None:
        t = row["captured_at"].value
        group = (row["cluster"], row["region"])
        jobs, nodes = snapshot.jobs, snapshot.nodes
        self._add(
            "jobs", group, t, zip(_plain(jobs["namespace"]), _plain(jobs["id"]), _plain(jobs["name"]), strict=True)
        )
        self._add("nodes", group, t, zip([None] * len(nodes), _plain(nodes["id"]), _plain(nodes["name"]), strict=True))

    def _add(self, kind: str, group: tuple[str, str], t: int, items: Iterable[tuple[Any, Any, Any]]) -> None:
        entries = self.entries[kind]
        for namespace, id_, name in items:
            key = (*group, namespace, id_)
            entry = entries.get(key)
            if entry is None:
                entries[key] = [t, t, 1, name]
                continue
            entry[2] += 1
            if t < entry[0]:
                entry[0] = t
            if t >= entry[1]:
                entry[1] = t
                entry[3] = name

    def records(self, kind: str) -> list[dict[str, Any]]:
        return [
            {"cluster": k[0], "region": k[1], "namespace": k[2], "id": k[3], "name": v[3],
             "first_seen": v[0], "last_seen": v[1], "snapshots": v[2]}
            for k, v in self.entries[kind].items()
        ]  # fmt: skip


# ---------------------------------------------------------------------------------------------------------------
# History
# ---------------------------------------------------------------------------------------------------------------


@dataclass
class History:
    """The snapshots of a folder or an exported dataset, as a trend (build it with :func:`load_history`).

    Attributes:
        root: the folder of snapshot files, or the dataset folder.
        storage: ``files`` or ``dataset``.
        trend: one row per snapshot (schema :data:`analysis.schema.SNAPSHOTS`), sorted by cluster, region,
            ``captured_at``, ``index`` and ``source``.
        skipped: files that were not used, and why.
    """

    root: Path
    storage: str
    trend: pd.DataFrame
    skipped: tuple[SkippedFile, ...] = ()
    _listing: _Listing | None = field(default=None, repr=False)

    @property
    def groups(self) -> list[tuple[str, str]]:
        """The (cluster, region) pairs of the history, sorted."""
        pairs = self.trend[["cluster", "region"]].drop_duplicates()
        return sorted(zip(pairs["cluster"].tolist(), pairs["region"].tolist(), strict=True))

    def __repr__(self) -> str:
        return (
            f"History(root={str(self.root)!r}, storage={self.storage!r}, snapshots={len(self.trend)}, "
            f"groups={len(self.groups)}, skipped={len(self.skipped)})"
        )

    def snapshot(self, snapshot_id: str) -> Snapshot:
        """Load one snapshot of the history by its ``snapshot_id``.

        From a folder the file is read again (and must still hold the same bytes); from a dataset the snapshot is
        rebuilt from its rows. A rebuilt snapshot has the four tables and the provenance, not the raw response: its
        ``nodes`` have no ``driver_*`` columns, and :meth:`Snapshot.save` would write an empty response.

        Raises:
            SnapshotNotFoundError: no such ID, or the file changed or went away since the history was loaded.
        """
        rows = self.trend[self.trend["snapshot_id"] == snapshot_id]
        if not len(rows):
            raise SnapshotNotFoundError(f"{self.root}: has no snapshot {snapshot_id!r}", path=str(self.root))
        row = rows.iloc[0]
        if self.storage == "dataset":
            return _rebuild_snapshot(self.root, row)
        path = Path(row["source"])
        try:
            data = path.read_bytes()
        except OSError:
            raise SnapshotNotFoundError(
                f"{path}: is gone or unreadable since the history was loaded; load the history again", path=str(path)
            ) from None
        if _file_id(data) != snapshot_id:
            raise SnapshotNotFoundError(
                f"{path}: changed since the history was loaded; load the history again", path=str(path)
            )
        return load_snapshot(path)

    def latest_diff(self, cluster: str | None = None, region: str | None = None) -> SnapshotDiff:
        """The diff between the last two snapshots of a cluster and region.

        Args:
            cluster: the cluster label (as in :attr:`trend`); may be omitted when the history has one group.
            region: the region label; may be omitted likewise.

        Raises:
            SnapshotNotFoundError: no such cluster and region, fewer than two snapshots of it, or several groups
                and none named (the message lists them).

        Examples:
            >>> import tempfile
            >>> from analysis import load_snapshot
            >>> folder = tempfile.mkdtemp()
            >>> for day, ids in ((1, ["a", "b"]), (2, ["b"])):
            ...     jobs = [{"Namespace": "default", "ID": i, "Type": "batch"} for i in ids]
            ...     body = {"JobsWithoutVaultIdentity": jobs}
            ...     _ = load_snapshot({"format": "nomad-wi-readiness/snapshot", "version": 1, "cluster": "c1",
            ...         "region": "r1", "captured_at": f"2025-03-0{day}T00:00:00Z", "response": body}
            ...         ).save(f"{folder}/day{day}.json")
            >>> load_history(folder).latest_diff().jobs.fixed["id"].tolist()
            ['a']
        """
        cluster, region = self._group(cluster, region)
        rows = self.trend[(self.trend["cluster"] == cluster) & (self.trend["region"] == region)]
        if len(rows) < 2:
            raise SnapshotNotFoundError(
                f"{self.root}: has {len(rows)} snapshot(s) of cluster {cluster!r}, region {region!r}; a diff needs "
                "two — capture another one",
                path=str(self.root),
            )
        old_id, new_id = rows["snapshot_id"].iloc[-2], rows["snapshot_id"].iloc[-1]
        return diff_snapshots(self.snapshot(old_id), self.snapshot(new_id))

    def longest_listed(
        self, kind: str = "jobs", top_n: int | None = 10, *, cluster: str | None = None, region: str | None = None
    ) -> pd.DataFrame:
        """The jobs or nodes listed the longest: first and last seen, snapshots that listed them, still listed.

        Sorted by ``listed_for`` (longest first), then by the number of snapshots, then by name; schema
        :data:`analysis.schema.LISTED`.

        Args:
            kind: ``jobs`` or ``nodes``.
            top_n: keep this many rows; None keeps all.
            cluster: only this cluster label.
            region: only this region label.

        Examples:
            >>> import tempfile
            >>> from analysis import load_snapshot
            >>> folder = tempfile.mkdtemp()
            >>> for day, ids in ((1, ["old", "gone"]), (3, ["old", "new"])):
            ...     jobs = [{"Namespace": "ns", "ID": i, "Name": i, "Type": "batch"} for i in ids]
            ...     body = {"JobsWithoutVaultIdentity": jobs}
            ...     _ = load_snapshot({"format": "nomad-wi-readiness/snapshot", "version": 1, "cluster": "c1",
            ...         "region": "r1", "captured_at": f"2025-03-0{day}T00:00:00Z", "response": body}
            ...         ).save(f"{folder}/day{day}.json")
            >>> load_history(folder).longest_listed("jobs")[["id", "listed_for", "snapshots", "still_listed"]]
                 id listed_for  snapshots  still_listed
            0   old     2 days          2          True
            1  gone     0 days          1         False
            2   new     0 days          1          True
        """
        if kind not in ("jobs", "nodes"):
            raise ValueError(f"kind must be 'jobs' or 'nodes', not {kind!r}")
        if self.storage == "dataset":
            records = _listed_from_dataset(self.root, kind, cluster)
        else:
            records = self._listing.records(kind) if self._listing is not None else []
        records = [
            r
            for r in records
            if (cluster is None or r["cluster"] == cluster) and (region is None or r["region"] == region)
        ]
        latest = {g: part["captured_at"].max().value for g, part in self.trend.groupby(["cluster", "region"])}
        for r in records:
            r["still_listed"] = r["last_seen"] == latest.get((r["cluster"], r["region"]))
            r["listed_for"] = pd.Timedelta(r["last_seen"] - r["first_seen"], unit="ns")
            r["first_seen"] = pd.Timestamp(r["first_seen"], unit="ns", tz="UTC")
            r["last_seen"] = pd.Timestamp(r["last_seen"], unit="ns", tz="UTC")
        frame = _frame(LISTED, records)
        if len(frame):
            frame = frame.sort_values(
                ["listed_for", "snapshots", "cluster", "region", "namespace", "id"],
                ascending=[False, False, True, True, True, True],
                na_position="last",
                kind="stable",
            ).reset_index(drop=True)
        return frame if top_n is None else frame.iloc[:top_n].reset_index(drop=True)

    def _group(self, cluster: str | None, region: str | None) -> tuple[str, str]:
        groups = self.groups
        matching = [g for g in groups if (cluster is None or g[0] == cluster) and (region is None or g[1] == region)]
        if len(matching) == 1:
            return matching[0]
        known = ", ".join(f"{c}/{r}" for c, r in groups) or "none"
        what = "matches several groups" if matching else "matches no group"
        raise SnapshotNotFoundError(
            f"{self.root}: cluster {cluster!r}, region {region!r} {what}; name one of: {known}", path=str(self.root)
        )


def is_dataset(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` is a dataset written by :func:`export_history` (it has the ``_dataset.json`` marker)."""
    return (Path(path) / _MARKER).is_file()


def load_history(path: str | os.PathLike[str], *, cluster: str | None = None) -> History:
    """Read a folder of snapshots, or a dataset written by :func:`export_history`, into a :class:`History`.

    A folder is searched recursively for ``*.json`` and ``*.json.gz`` (hidden files and folders are ignored); each
    file is loaded, counted and dropped before the next, so memory does not grow with the number of files. A file
    that is not a readable snapshot, or that repeats another (the same bytes, or the same cluster, region,
    ``captured_at`` and ``Index``), is skipped with a :class:`SnapshotSkippedWarning` and listed in
    :attr:`History.skipped`. A snapshot without ``captured_at`` is placed at its file's modification time, and its
    ``time_source`` says ``mtime``.

    A dataset is recognised by its ``_dataset.json`` marker; only its small ``snapshots`` table is read (for one
    cluster's partitions only when ``cluster`` is given).

    Args:
        path: the folder or the dataset.
        cluster: keep only this cluster label (pushed down to the dataset's partitions).

    Returns:
        The :class:`History`.

    Raises:
        SnapshotNotFoundError: ``path`` does not exist or is not a folder.

    Examples:
        >>> import pathlib, tempfile, warnings
        >>> from analysis import load_snapshot
        >>> folder = tempfile.mkdtemp()
        >>> body = {"JobsWithoutVaultIdentity": [{"Namespace": "default", "ID": "api", "Type": "service"}]}
        >>> _ = load_snapshot({"format": "nomad-wi-readiness/snapshot", "version": 1, "cluster": "prod",
        ...     "region": "eu", "captured_at": "2025-03-01T00:00:00Z", "response": body}).save(f"{folder}/a.json")
        >>> _ = pathlib.Path(folder, "notes.json").write_text("{}")
        >>> with warnings.catch_warnings(record=True) as caught:
        ...     warnings.simplefilter("always")
        ...     history = load_history(folder)
        >>> history.trend[["cluster", "region", "jobs_active", "tokens", "verdict", "time_source"]]
          cluster region  jobs_active  tokens    verdict time_source
        0    prod     eu            1    <NA>  not-ready    captured
        >>> [s.path.endswith("notes.json") for s in history.skipped], caught[0].category.__name__
        ([True], 'SnapshotSkippedWarning')
    """
    root = Path(path)
    if not root.exists():
        raise SnapshotNotFoundError(f"{root}: no such folder; give a folder of snapshots or a dataset", path=str(root))
    if not root.is_dir():
        raise SnapshotNotFoundError(
            f"{root}: is a file; give the folder that holds the snapshots (or load it with load_snapshot)",
            path=str(root),
        )
    if is_dataset(root):
        return History(root=root, storage="dataset", trend=_read_trend(root, cluster))
    skipped: list[SkippedFile] = []
    listing = _Listing()
    rows = []
    for item in _scan(_snapshot_files(root), skipped, _Seen()):
        if cluster is not None and item.row["cluster"] != cluster:
            continue
        rows.append(item.row)
        listing.add(item.row, item.snapshot)
        del item  # one snapshot in memory at a time
    trend = _sort_trend(_frame(SNAPSHOTS, rows))
    return History(root=root, storage="files", trend=trend, skipped=tuple(skipped), _listing=listing)


# ---------------------------------------------------------------------------------------------------------------
# Projection
# ---------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Projection:
    """A straight-line **projection** of when nothing blocks the migration any more. Not a promise.

    Attributes:
        cluster: the cluster label.
        region: the region label.
        finish: when the line reaches zero blocking items (jobs_active + nodes_live).
        rate_per_day: the fitted change of blocking items per day (negative).
        blocking: blocking items in the latest snapshot.
        as_of: ``captured_at`` of the latest snapshot.
        window: how far back the rate was fitted.
        points: how many snapshots the fit used.
    """

    cluster: str
    region: str
    finish: pd.Timestamp
    rate_per_day: float
    blocking: int
    as_of: pd.Timestamp
    window: pd.Timedelta
    points: int

    @property
    def label(self) -> str:
        """One line for reports; it always says *projection*."""
        return (
            f"Projection (linear, not a promise): {self.blocking} blocking item(s) reach 0 around "
            f"{self.finish:%Y-%m-%d} at {-self.rate_per_day:.1f} fewer per day, fitted on {self.points} snapshot(s) "
            f"of the {self.window.days} day(s) before {self.as_of:%Y-%m-%d}"
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable fields, with ``"kind": "projection"``."""
        return {
            "kind": "projection",
            "cluster": self.cluster,
            "region": self.region,
            "finish": self.finish.isoformat(),
            "rate_per_day": self.rate_per_day,
            "blocking": self.blocking,
            "as_of": self.as_of.isoformat(),
            "window_days": self.window / pd.Timedelta(days=1),
            "points": self.points,
            "label": self.label,
        }


def burndown_chart(trend: pd.DataFrame, cluster: str, region: str, *, projection: Projection | None = None) -> Any:
    """A plotly line chart of what still blocks one cluster and region, and what only needs cleanup, over time.

    Lines: ``blocking`` (bold), ``jobs_active`` and ``nodes_live`` (they block), ``jobs_inactive`` and
    ``nodes_down`` (dotted: cleanup only). With a :class:`Projection`, a dashed line from the latest count to zero
    named as a projection. Points placed at a file's modification time (``time_source == "mtime"``) are drawn as
    crosses. Labels from the cluster go through :func:`analysis.report.chart_text`, so they stay plain text.

    Args:
        trend: :attr:`History.trend`.
        cluster: the cluster label.
        region: the region label.
        projection: :func:`project_finish` of the same group, or None.

    Returns:
        A ``plotly.graph_objects.Figure``.

    Examples:
        >>> trend = pd.DataFrame({"cluster": "c", "region": "r", "time_source": "captured",
        ...     "captured_at": pd.to_datetime(["2025-01-01", "2025-01-02"], utc=True), "blocking": [3, 1],
        ...     "jobs_active": [2, 1], "nodes_live": [1, 0], "jobs_inactive": [0, 1], "nodes_down": [0, 0],
        ...     "source": ["a.json", "b.json"]})
        >>> fig = burndown_chart(trend, "c", "r", projection=project_finish(trend, "c", "r"))
        >>> [t.name for t in fig.data][::5], list(fig.data[-1].y)
        (['blocking (active jobs + live nodes)', 'projection (linear, not a promise)'], [1, 0])
    """
    import plotly.graph_objects as go

    from analysis.report import chart_text

    rows = trend[(trend["cluster"] == cluster) & (trend["region"] == region)].sort_values("captured_at")
    when = rows["captured_at"].dt.tz_convert("UTC").dt.strftime("%Y-%m-%d %H:%M:%S").tolist()
    names = [chart_text(Path(str(s)).name) for s in rows["source"]]
    symbols = ["x" if t == "mtime" else "circle" for t in rows["time_source"]]
    fig = go.Figure()
    for column, name, line in (
        ("blocking", "blocking (active jobs + live nodes)", {"width": 3}),
        ("jobs_active", "active jobs", {"width": 1.5}),
        ("nodes_live", "live outdated nodes", {"width": 1.5}),
        ("jobs_inactive", "inactive jobs (cleanup)", {"width": 1, "dash": "dot"}),
        ("nodes_down", "down outdated nodes (cleanup)", {"width": 1, "dash": "dot"}),
    ):
        fig.add_scatter(
            x=when,
            y=[int(v) for v in rows[column]],
            mode="lines+markers",
            name=name,
            line=line,
            marker={"symbol": symbols},
            hovertext=names,
            hoverinfo="x+y+text+name",
        )
    if projection is not None:
        fig.add_scatter(
            x=[f"{projection.as_of:%Y-%m-%d %H:%M:%S}", f"{projection.finish:%Y-%m-%d %H:%M:%S}"],
            y=[projection.blocking, 0],
            mode="lines",
            name="projection (linear, not a promise)",
            line={"dash": "dash", "width": 2},
        )
    fig.update_xaxes(title_text="captured at (UTC)")
    fig.update_yaxes(title_text="listed", rangemode="tozero", tickformat=",d")
    fig.update_layout(
        title_text=chart_text(f"Burndown: cluster {cluster}, region {region}"),
        height=420,
        margin={"t": 60, "b": 40, "l": 60, "r": 20},
        legend={"orientation": "h", "y": -0.2},
    )
    return fig


#: The default window of :func:`project_finish`: the last two weeks.
DEFAULT_WINDOW = pd.Timedelta(days=14)


def project_finish(
    trend: pd.DataFrame, cluster: str, region: str, window: pd.Timedelta | str = DEFAULT_WINDOW
) -> Projection | None:
    """Project when blocking items (``jobs_active + nodes_live``) reach zero, from the recent rate.

    A least-squares line is fitted through the blocking counts of the snapshots captured in the ``window`` before
    the latest one; from the latest count, at that rate, the finish is ``as_of + blocking / -rate`` days. This is a
    **projection**: migrations stall and speed up, and the last items are often the hardest.

    Args:
        trend: :attr:`History.trend` (or any frame with its columns).
        cluster: the cluster label.
        region: the region label.
        window: how far back from the latest snapshot to fit (a Timedelta or a string such as ``"14D"``).

    Returns:
        The :class:`Projection`, or None when fewer than two snapshots at least a day apart fall in the window or
        the fitted rate is not decreasing.

    Examples:
        >>> trend = pd.DataFrame({"cluster": "c", "region": "r", "blocking": [100, 90, 80],
        ...     "captured_at": pd.to_datetime(["2025-01-01", "2025-01-02", "2025-01-03"], utc=True)})
        >>> project_finish(trend, "c", "r").finish
        Timestamp('2025-01-11 00:00:00+0000', tz='UTC')
        >>> project_finish(trend.assign(blocking=5), "c", "r") is None
        True
    """
    window = pd.Timedelta(window)
    rows = trend[(trend["cluster"] == cluster) & (trend["region"] == region)]
    if not len(rows):
        return None
    rows = rows.sort_values("captured_at", kind="stable")
    as_of = rows["captured_at"].iloc[-1]
    recent = rows[rows["captured_at"] >= as_of - window]
    days = ((recent["captured_at"] - as_of) / pd.Timedelta(days=1)).to_numpy(dtype=float)
    counts = recent["blocking"].to_numpy(dtype=float)
    # Under a day between the first and last snapshot, a rate per day is noise (copied files share an mtime).
    if len(recent) < 2 or np.ptp(days) < 1:
        return None
    x = days - days.mean()
    rate = float((x * (counts - counts.mean())).sum() / (x * x).sum())
    if not rate < 0 or math.isnan(rate):
        return None
    blocking = int(counts[-1])
    finish = as_of + pd.Timedelta(days=blocking / -rate)
    return Projection(cluster, region, finish, rate, blocking, as_of, window, len(recent))


# ---------------------------------------------------------------------------------------------------------------
# The Parquet dataset
# ---------------------------------------------------------------------------------------------------------------

#: Parquet types of the loader's ``object`` columns (see the module docstring).
_NESTED: dict[str, pa.DataType] = {
    "datacenters": pa.list_(pa.string()),
    "host_volumes": pa.list_(pa.string()),
    "attributes": pa.map_(pa.string(), pa.string()),
}
_ARROW: dict[str, pa.DataType] = {
    "string": pa.string(),
    "category": pa.string(),  # Parquet dictionary-encodes strings anyway; categories are rebuilt on reading
    "boolean": pa.bool_(),
    "Int64": pa.int64(),
    "UInt64": pa.uint64(),
    "datetime": pa.timestamp("ns", tz="UTC"),
    "timedelta": pa.duration("ns"),
}
_NULLABLE = {pa.bool_(): pd.BooleanDtype(), pa.int64(): pd.Int64Dtype(), pa.uint64(): pd.UInt64Dtype()}


def _arrow_type(column: Column) -> pa.DataType:
    return _NESTED[column.name] if column.kind == "object" else _ARROW[column.kind]


def _arrow_schema(table: Table) -> pa.Schema:
    fields = [pa.field(c.name, _arrow_type(c)) for c in table.columns]
    if table is not SNAPSHOTS:
        fields.append(pa.field("snapshot_id", pa.string()))
    fields.append(pa.field("date", pa.string()))
    return pa.schema(fields)


def _to_arrow(frame: pd.DataFrame, table: Table, constants: Mapping[str, Any]) -> pa.Table:
    n = len(frame)
    arrays = []
    schema = _arrow_schema(table)
    for f in schema:
        if f.name in constants:
            arrays.append(pa.array([constants[f.name]] * n, type=f.type))
            continue
        series = frame[f.name]
        if isinstance(series.dtype, pd.CategoricalDtype):
            # Codes and categories straight into a dictionary array: no Python object per row.
            arrays.append(pa.array(series, from_pandas=True).cast(f.type))
        elif series.dtype == object:
            arrays.append(pa.array(series.tolist(), type=f.type))
        else:
            arrays.append(pa.array(series, type=f.type, from_pandas=True))
    return pa.Table.from_arrays(arrays, schema=schema)


def _from_arrow(data: pa.Table, table: Table) -> pd.DataFrame:
    if not len(data):
        return empty_frame(table)
    columns: dict[str, Any] = {}
    for column in table.columns:
        chunked = data.column(column.name)
        kind = column.kind
        if kind in ("string", "category"):
            values = chunked.to_numpy(zero_copy_only=False)
            if kind == "string":
                columns[column.name] = pd.array(values, dtype=STRING)
            else:
                columns[column.name] = _array(list(values), column)
        elif kind == "object":
            items = chunked.to_pylist()
            if pa.types.is_map(chunked.type):
                items = [None if v is None else dict(v) for v in items]
            columns[column.name] = _array(items, column)
        elif kind in ("boolean", "Int64", "UInt64"):
            columns[column.name] = chunked.to_pandas(types_mapper=_NULLABLE.get).array
        else:
            columns[column.name] = chunked.to_pandas().astype(column.dtype).array
    return pd.DataFrame(columns)


def _open(root: Path, table: Table) -> ds.Dataset:
    return ds.dataset(root / table.name, format=_PARQUET, partitioning=_PARTITIONING, schema=_arrow_schema(table))


def _read_trend(root: Path, cluster: str | None) -> pd.DataFrame:
    tables = [_cluster_rows(root, folder) for folder in _cluster_folders(root, cluster)]
    if not tables:
        return empty_frame(SNAPSHOTS)
    return _sort_trend(_from_arrow(pa.concat_tables(tables), SNAPSHOTS))


def _cluster_folders(root: Path, cluster: str | None) -> list[Path]:
    base = root / SNAPSHOTS.name
    if not base.is_dir():
        return []
    if cluster is not None:
        # Partition pruning by hand: the one folder pyarrow would write this cluster's rows to.
        folder = base / _partition_folder(cluster, "-").split("/")[0]
        return [folder] if folder.is_dir() else []
    return sorted(p for p in base.iterdir() if p.is_dir() and p.name.startswith("cluster="))


def _cluster_rows(root: Path, folder: Path) -> pa.Table:
    """One cluster's ``snapshots`` rows: from its compact index, plus any snapshot files the index lacks.

    The partitioned files are the truth and the index only saves reading them one by one: index rows whose file
    is gone are dropped, and files the index does not know (written after it, or by a run that crashed before
    rebuilding it) are read directly.
    """
    schema = _arrow_schema(SNAPSHOTS)
    files = {p.name.split("-", 1)[0]: p for p in folder.rglob("*.parquet") if not p.name.startswith((".", "_"))}
    parts = []
    indexed: set[str] = set()
    index = root / _INDEX / f"{folder.name}.parquet"
    if index.is_file():
        rows = pq.read_table(index, schema=schema)
        rows = rows.filter(pc.is_in(rows["snapshot_id"], value_set=pa.array(list(files), type=pa.string())))
        indexed = set(rows["snapshot_id"].to_pylist())
        parts.append(rows)
    missing = [str(path) for snapshot_id, path in files.items() if snapshot_id not in indexed]
    if missing:
        dataset = ds.dataset(
            missing,
            format=_PARQUET,
            partitioning=_PARTITIONING,
            partition_base_dir=str(root / SNAPSHOTS.name),
            schema=schema,
        )
        parts.append(dataset.to_table())
    return pa.concat_tables(parts) if parts else schema.empty_table()


def _rebuild_index(root: Path, folder: Path) -> None:
    rows = _cluster_rows(root, folder)
    with atomic_path(root / _INDEX / f"{folder.name}.parquet") as tmp:
        pq.write_table(rows, tmp, compression="zstd")


def _partition_folder(cluster: str, date: str) -> str:
    folder, _ = _PARTITIONING.format((pc.field("cluster") == cluster) & (pc.field("date") == date))
    return folder


def _read_snapshot_rows(root: Path, table: Table, row: pd.Series) -> pd.DataFrame:
    # One snapshot's rows live in one known file: open it directly instead of discovering the whole table.
    date = row["captured_at"].strftime("%Y-%m-%d")
    path = root / table.name / _partition_folder(row["cluster"], date) / f"{row['snapshot_id']}-0.parquet"
    if not path.is_file():
        return empty_frame(table)
    data = pq.read_table(path)
    data = data.append_column("cluster", pa.array([row["cluster"]] * len(data), type=pa.string()))
    return _from_arrow(data, table)


def _rebuild_snapshot(root: Path, row: pd.Series) -> Snapshot:
    frames = {t.name: _read_snapshot_rows(root, t, row) for t in _DATA_TABLES}
    tokens_reported = not pd.isna(row["tokens"])
    info = SnapshotInfo(
        source=str(row["source"]),
        shape=str(row["shape"]),
        body_shape="http-body" if row["shape"] != "cli-json" else "cli-json",
        cluster=None if row["cluster"] == UNKNOWN else row["cluster"],
        region=None if row["region"] == UNKNOWN else row["region"],
        captured_at=row["captured_at"] if row["time_source"] == "captured" else None,
        nomad_version=None if pd.isna(row["nomad_version"]) else row["nomad_version"],
        index=None if pd.isna(row["index"]) else int(row["index"]),
        tokens_reported=tokens_reported,
    )
    for frame in frames.values():
        for context in ("cluster", "region"):
            value = getattr(info, context)
            frame[context] = pd.Categorical(
                [value] * len(frame), categories=pd.Index([] if value is None else [value], dtype=STRING)
            )
    # An empty response: the raw body is not kept in the dataset (saving this snapshot would not round-trip).
    return Snapshot(
        jobs=frames["jobs"],
        nodes=frames["nodes"],
        node_drivers=frames["node_drivers"],
        tokens=frames["tokens"],
        info=info,
        body=b"{}",
    )


def _listed_from_dataset(root: Path, kind: str, cluster: str | None) -> list[dict[str, Any]]:
    table = JOBS if kind == "jobs" else NODES
    if not (root / table.name).is_dir() or not (root / SNAPSHOTS.name).is_dir():
        return []
    condition = pc.field("cluster") == cluster if cluster is not None else None
    names = ["cluster", "region", "namespace", "id", "name", "snapshot_id"] if kind == "jobs" else [
        "cluster", "region", "id", "name", "snapshot_id"]  # fmt: skip
    rows = _open(root, table).to_table(columns=names, filter=condition)
    times = _open(root, SNAPSHOTS).to_table(columns=["snapshot_id", "captured_at"], filter=condition)
    if kind == "nodes":
        rows = rows.append_column("namespace", pa.nulls(len(rows), type=pa.string()))
    joined = rows.join(times, "snapshot_id", join_type="inner")
    keys = ["cluster", "region", "namespace", "id"]
    grouped = joined.group_by(keys, use_threads=False).aggregate(
        [("captured_at", "min"), ("captured_at", "max"), ("snapshot_id", "count"), ("name", "max")]
    )
    first = grouped.column("captured_at_min").cast(pa.int64()).to_pylist()
    last = grouped.column("captured_at_max").cast(pa.int64()).to_pylist()
    count = grouped.column("snapshot_id_count").to_pylist()
    names_ = grouped.column("name_max").to_pylist()
    key_values = [grouped.column(k).to_pylist() for k in keys]
    return [
        {"cluster": c, "region": r, "namespace": ns, "id": i, "name": nm, "first_seen": f, "last_seen": la,
         "snapshots": n}
        for c, r, ns, i, nm, f, la, n in zip(*key_values, names_, first, last, count, strict=True)
    ]  # fmt: skip


def _write_staged(staging: Path, item: _Scanned) -> None:
    row = item.row
    constants = {
        "cluster": row["cluster"],
        "region": row["region"],
        "snapshot_id": row["snapshot_id"],
        "date": row["captured_at"].strftime("%Y-%m-%d"),
    }
    pieces = [(t, getattr(item.snapshot, t.name), constants) for t in _DATA_TABLES]
    pieces.append((SNAPSHOTS, _frame(SNAPSHOTS, [row]), {"date": constants["date"]}))
    for table, frame, values in pieces:
        if not len(frame):
            continue  # no file at all for an empty table: readers see no rows, which is the truth
        ds.write_dataset(
            _to_arrow(frame, table, values),
            staging / table.name,
            format=_PARQUET,
            file_options=_WRITE_OPTIONS,
            partitioning=_PARTITIONING,
            basename_template=f"{row['snapshot_id']}-{{i}}.parquet",
            existing_data_behavior="overwrite_or_ignore",
            use_threads=False,  # one snapshot's rows fit one file per partition: threads only add overhead
        )


def _publish(staging: Path, out: Path) -> None:
    # Data tables first, the snapshots row last: a snapshot is visible in the trend only once all its rows are.
    for table in (*_DATA_TABLES, SNAPSHOTS):
        folder = staging / table.name
        if not folder.is_dir():
            continue
        for file in sorted(folder.rglob("*.parquet")):
            target = out / file.relative_to(staging)
            target.parent.mkdir(parents=True, exist_ok=True)
            with open(file, "rb") as handle:
                os.fsync(handle.fileno())
            os.replace(file, target)
        shutil.rmtree(folder)


def _prepare_dataset(out: Path) -> _Seen:
    """Create (or check) the dataset folder and its marker; return what it already holds."""
    if out.exists() and not is_dataset(out) and any(out.iterdir()):
        raise ConfigError(
            f"{out}: exists and is not a history dataset; export into a new or empty folder", setting="out_dir"
        )
    out.mkdir(parents=True, exist_ok=True)
    if not is_dataset(out):
        marker = {
            "format": DATASET_FORMAT,
            "version": DATASET_VERSION,
            "tables": [t.name for t in (*_DATA_TABLES, SNAPSHOTS)],
            "partitioning": ["cluster", "date"],
            "nested": {name: str(kind) for name, kind in _NESTED.items()},
        }
        atomic_write(out / _MARKER, orjson.dumps(marker, option=orjson.OPT_INDENT_2))
    trend = _read_trend(out, None)
    captures = {}
    for i in range(len(trend)):
        row = trend.iloc[i]
        if row["time_source"] == "captured" and not pd.isna(row["index"]):
            captures[(row["cluster"], row["region"], row["captured_at"], int(row["index"]))] = str(row["source"])
    return _Seen(trend["snapshot_id"].tolist(), captures)


def _write_all(out: Path, items: Iterable[_Scanned]) -> int:
    staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=out))
    clusters: set[str] = set()
    try:
        for item in items:
            _write_staged(staging, item)
            _publish(staging, out)
            clusters.add(item.row["cluster"])
            del item  # one snapshot in memory at a time
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    # Only after every snapshot is in place: a run that stops early leaves the index behind, never ahead.
    for cluster in sorted(clusters):
        for folder in _cluster_folders(out, cluster):
            _rebuild_index(out, folder)
    return len(clusters)


def export_history(
    source: str | os.PathLike[str], out_dir: str | os.PathLike[str], *, format: str = "parquet"
) -> History:
    """Export a folder of snapshots into a Parquet dataset, one snapshot at a time (see the module docstring).

    Each snapshot is loaded, counted, written (its four tables and its ``snapshots`` row, partitioned by cluster
    and UTC date) and dropped before the next, so memory stays that of one snapshot. Exporting into an existing
    dataset adds the snapshots it does not hold yet (by ``snapshot_id``) and never deletes any.

    Args:
        source: the folder of snapshot files (searched like :func:`load_history` does).
        out_dir: the dataset folder: new, empty, or a dataset written before.
        format: only ``parquet``.

    Returns:
        The :class:`History` of the whole dataset (as :func:`load_history` would read it), with the files this
        export skipped in ``skipped``.

    Raises:
        SnapshotNotFoundError: ``source`` is not a folder.
        ConfigError: ``format`` is not ``parquet``, ``source`` is itself a dataset, or ``out_dir`` is a non-empty
            folder that is not a dataset.

    Examples:
        >>> import pathlib, tempfile
        >>> from analysis import load_snapshot
        >>> folder, out = tempfile.mkdtemp(), tempfile.mkdtemp()
        >>> body = {"OutdatedNodes": [{"ID": "n1", "Version": "1.6.4", "Status": "down"}], "VaultTokens": []}
        >>> _ = load_snapshot({"format": "nomad-wi-readiness/snapshot", "version": 1, "cluster": "prod",
        ...     "region": "eu", "captured_at": "2025-03-01T00:00:00Z", "response": body}).save(f"{folder}/a.json")
        >>> history = export_history(folder, out)
        >>> history.storage, history.trend[["cluster", "nodes_down", "tokens", "verdict"]].to_dict("records")
        ('dataset', [{'cluster': 'prod', 'nodes_down': 1, 'tokens': 0, 'verdict': 'cleanup-only'}])
        >>> sorted(p.name for p in (pathlib.Path(out) / "nodes").iterdir())
        ['cluster=prod']
    """
    if format != "parquet":
        raise ConfigError(f"export format {format!r} is not supported; use 'parquet'", setting="format")
    root, out = Path(source), Path(out_dir)
    if not root.is_dir():
        raise SnapshotNotFoundError(f"{root}: is not a folder of snapshots", path=str(root))
    if is_dataset(root):
        raise ConfigError(
            f"{root}: is already an exported dataset; export a folder of snapshot files", setting="source"
        )
    seen = _prepare_dataset(out)
    skipped: list[SkippedFile] = []
    _write_all(out, _scan(_snapshot_files(root), skipped, seen))
    history = load_history(out)
    history.skipped = tuple(skipped)
    return history


def export_snapshots(snapshots: Iterable[Snapshot], out_dir: str | os.PathLike[str]) -> History:
    """Add snapshots already in memory (e.g. fresh from ``fetch``) to a Parquet dataset, one at a time.

    Like :func:`export_history`, but the ``snapshot_id`` is the hash of :meth:`Snapshot.envelope_bytes` and the
    ``source`` is the snapshot's own (an address or a path). A snapshot without ``captured_at`` is skipped with a
    :class:`SnapshotSkippedWarning`: there is no file whose time could stand in for it. ``snapshots`` may be a
    generator: each is written and released before the next is asked for.

    Returns:
        The :class:`History` of the whole dataset, with the snapshots this call skipped in ``skipped``.

    Raises:
        ConfigError: ``out_dir`` is a non-empty folder that is not a dataset.

    Examples:
        >>> import tempfile
        >>> from analysis import load_snapshot
        >>> snap = load_snapshot({"format": "nomad-wi-readiness/snapshot", "version": 1, "cluster": "prod",
        ...     "region": "eu", "captured_at": "2025-03-01T00:00:00Z", "response": {"OutdatedNodes": []}})
        >>> export_snapshots([snap], tempfile.mkdtemp()).trend[["cluster", "verdict", "source"]]
          cluster verdict  source
        0    prod   clear  <dict>
    """
    out = Path(out_dir)
    seen = _prepare_dataset(out)
    skipped: list[SkippedFile] = []
    _write_all(out, _scan_objects(snapshots, skipped, seen))
    history = load_history(out)
    history.skipped = tuple(skipped)
    return history
