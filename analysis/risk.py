"""Risk analysis with Nomad's own semantics: what blocks the migration, where, and what to do.

The rules (the README's "How risk is judged" explains them for operators):

Jobs
    ``spec_id`` is the parent's ID for periodic and dispatched children (``ParentID`` set) and the job's own ID
    otherwise: resubmitting the parent spec is what fixes future children. ``kind`` is one of ``job``,
    ``periodic-parent``, ``parameterized-parent``, ``periodic-child``, ``dispatched-child`` (or ``child`` for a
    child whose ID follows neither pattern). ``state`` is ``inactive`` when the job is stopped or ``dead``, and
    ``active`` otherwise (running, pending, or a status this code does not know). Active jobs block the
    migration; inactive ones only need cleanup.
Nodes
    ``liveness`` is ``down`` for status ``down`` and ``live`` for every other status (ready, initializing,
    disconnected): live outdated nodes block, down ones only need cleanup (or node GC). Draining, ineligible and
    unparseable versions are flagged.
Tokens
    Informational: joined to their node when it is in the snapshot. ``CreationTTL`` is the 60 s wrap TTL, not
    the token's lifetime. Nomad 1.10+ does not report them at all.
Verdict
    ``not-ready`` when any active job or live outdated node is listed; ``cleanup-only`` when only inactive jobs,
    down nodes or tokens are; ``clear`` when nothing is listed. Every verdict comes with the endpoint's blind
    spots (:data:`BLIND_SPOTS`).

Every function takes frames that may hold several snapshots (rows from different ``cluster``/``region``
values, concatenated): groupings are always by cluster and region first, so one call handles a fleet.

Examples:
    >>> import analysis
    >>> result = analysis.analyse(analysis.load_snapshot("tests/fixtures/edge-cases.json"))
    >>> result.verdict
    'not-ready'
    >>> result.jobs[["id", "kind", "state"]].head(3)
                                       id             kind     state
    0                         api-gateway              job    active
    1                      nightly-backup  periodic-parent    active
    2  nightly-backup/periodic-1707177600   periodic-child  inactive
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pandas as pd

from analysis.schema import JOBS, NODE_DRIVERS, NODES, STRING, TOKENS, empty_frame
from analysis.snapshot import Snapshot
from analysis.versions import is_outdated, parse_version, version_sort_key

__all__ = [
    "BLIND_SPOTS",
    "VERDICTS",
    "Analysis",
    "action_plan",
    "analyse",
    "by_datacenter",
    "by_driver",
    "by_namespace",
    "by_node_pool",
    "by_node_status",
    "by_version",
    "classify_jobs",
    "classify_nodes",
    "classify_tokens",
    "glob_match",
    "specs",
    "summarize",
    "verdict",
]

#: Verdicts, from best to worst.
VERDICTS = ("clear", "cleanup-only", "not-ready")

#: What the endpoint cannot see; shown with every verdict, and always with ``clear``.
BLIND_SPOTS: tuple[dict[str, str], ...] = (
    {
        "id": "unresubmitted-allocations",
        "title": "Allocations of jobs never resubmitted",
        "text": "Only the current version of each job is checked. Allocations still running from an older job "
        "version, or from a job resubmitted with an identity but not yet redeployed, keep using legacy tokens "
        "until they are replaced.",
    },
    {
        "id": "templates-without-vault-block",
        "title": "Vault used without a vault block",
        "text": "Tasks that reach Vault from templates or their own code without a `vault` block are not listed: "
        "the check only looks at `vault` blocks.",
    },
    {
        "id": "identity-prefix",
        "title": "Identity names are checked by prefix only",
        "text": 'A task passes if any identity name starts with `vault_`. A task with `vault { cluster = "other" }` '
        "and only `vault_default` passes the check but fails at runtime (the client needs `vault_<cluster>`).",
    },
    {
        "id": "server-versions",
        "title": "Server versions are not checked",
        "text": "Only client nodes are examined. Check server versions elsewhere (`nomad server members`, "
        "`/v1/agent/members` or autopilot).",
    },
    {
        "id": "namespace-acls",
        "title": "Namespace ACLs are bypassed",
        "text": "A token with `operator:read` sees job IDs from every namespace, including ones it cannot read.",
    },
    {
        "id": "not-atomic",
        "title": "The three lists are not one atomic snapshot",
        "text": "Each list is read in its own transaction and `Index` is the cluster's latest Raft index, not an "
        "index of the listed objects: a busy cluster can change between the reads.",
    },
)

_CHILD_MARKERS = (("/periodic-", "periodic-child"), ("/dispatch-", "dispatched-child"))
_IDENTITY_HINT = (
    'add `identity { name = "vault_default"  aud = ["vault.io"]  ttl = "1h" }` to each task with a `vault` '
    "block (use `vault_<cluster>` for a non-default Vault cluster), or resubmit unchanged if the servers have "
    "`vault.default_identity`"
)


# ---------------------------------------------------------------------------------------------------------------
# Nomad's glob (github.com/ryanuber/go-glob v1.0.0, used by Node.IsInAnyDC)
# ---------------------------------------------------------------------------------------------------------------


@lru_cache(maxsize=65536)
def glob_match(pattern: str, name: str) -> bool:
    """Whether a job's datacenter ``pattern`` matches datacenter ``name``, exactly as Nomad's scheduler decides.

    ``*`` is the only special character (any run, the empty one included); everything else is literal and
    case-sensitive, and the whole name must match. One quirk is kept: when a pattern's text before its last
    ``*``-separated part already consumed the whole name and that last part is one character, go-glob reports a
    match (``ab*b`` matches ``ab``); with a longer last part Go would panic, which we report as no match.

    Examples:
        >>> [glob_match(p, "dc1") for p in ("*", "dc*", "dc?", "DC*", "dc1", "*1", "d*c*1", "")]
        [True, True, False, False, True, True, True, False]
        >>> glob_match("dc*", "us-dc1"), glob_match("", "")
        (False, True)
    """
    if pattern == "":
        return name == ""
    parts = pattern.split("*")
    if len(parts) == 1:
        return name == pattern
    leading = pattern.startswith("*")
    trailing = pattern.endswith("*")
    end = len(parts) - 1
    subject = name
    for i, part in enumerate(parts):
        if i == 0:
            if leading:
                continue
            if not subject.startswith(part):
                return False
        elif i == end:
            if subject:
                return trailing or subject.endswith(part)
            if len(part) > 1:
                return False  # go-glob slices past the end of the string here and panics
        elif part not in subject:
            return False
        idx = subject.find(part) + len(part)
        subject = subject[idx:]
    return True


# ---------------------------------------------------------------------------------------------------------------
# Classification
# ---------------------------------------------------------------------------------------------------------------


def _category(values: Any, categories: Sequence[str]) -> pd.Categorical:
    return pd.Categorical(values, categories=pd.Index(list(categories), dtype=STRING))


def classify_jobs(jobs: pd.DataFrame) -> pd.DataFrame:
    """Add ``spec_id``, ``kind``, ``state`` and ``blocking`` to a ``jobs`` frame (a new frame is returned).

    Examples:
        >>> import analysis
        >>> jobs = analysis.load_snapshot("tests/fixtures/edge-cases.json").jobs
        >>> classify_jobs(jobs).set_index("id").loc["render-report/dispatch-1707221712-3f2a9c1e",
        ...     ["spec_id", "kind", "state"]].tolist()
        ['render-report', 'dispatched-child', 'active']
    """
    out = jobs.copy()
    parent = out["parent_id"].fillna("")
    is_child = parent != ""
    out["spec_id"] = out["id"].where(~is_child, parent).astype(STRING)

    kind = np.full(len(out), "job", dtype=object)
    kind[out["periodic"].fillna(False).to_numpy(dtype=bool)] = "periodic-parent"
    kind[out["parameterized"].fillna(False).to_numpy(dtype=bool)] = "parameterized-parent"
    ids = out["id"].fillna("")
    child_kind = np.full(len(out), "child", dtype=object)
    for marker, label in reversed(_CHILD_MARKERS):
        child_kind[(ids.str.contains(marker, regex=False)).to_numpy(dtype=bool)] = label
    child_mask = is_child.to_numpy(dtype=bool)
    kind[child_mask] = child_kind[child_mask]
    out["kind"] = _category(
        kind, ("job", "periodic-parent", "parameterized-parent", "periodic-child", "dispatched-child", "child")
    )

    inactive = out["stop"].fillna(False).to_numpy(dtype=bool) | (out["status"] == "dead").to_numpy(dtype=bool)
    out["state"] = _category(np.where(inactive, "inactive", "active"), ("active", "inactive"))
    out["blocking"] = pd.array(~inactive, dtype="boolean")
    return out


def classify_nodes(nodes: pd.DataFrame) -> pd.DataFrame:
    """Add ``liveness``, ``blocking``, ``draining``, ``ineligible``, ``version_parseable`` and
    ``version_outdated`` to a ``nodes`` frame (a new frame is returned).

    ``version_outdated`` re-checks Nomad's rule on the reported version; it is True for every node the
    endpoint lists, unless the servers and this code disagree (then the node still counts: the server's word
    decides what it schedules).

    Examples:
        >>> import analysis
        >>> nodes = classify_nodes(analysis.load_snapshot("tests/fixtures/edge-cases.json").nodes)
        >>> nodes[["name", "status", "liveness", "version_parseable"]]
                          name        status liveness  version_parseable
        0     client-legacy-01         ready     live               True
        1        client-ent-07          down     down               True
        2           edge-gw-02  disconnected     live               True
        3  custom-registrar-03  initializing     live              False
        4         ci-runner-11         ready     live               True
    """
    out = nodes.copy()
    down = (out["status"] == "down").fillna(False).to_numpy(dtype=bool)
    out["liveness"] = _category(np.where(down, "down", "live"), ("live", "down"))
    out["blocking"] = pd.array(~down, dtype="boolean")
    out["draining"] = out["drain"].fillna(False).astype("boolean")
    out["ineligible"] = (out["scheduling_eligibility"] == "ineligible").fillna(False).astype("boolean")
    versions = out["version"].astype(object).where(out["version"].notna(), None)
    distinct = {v: (parse_version(v) is not None, is_outdated(v)) for v in pd.unique(versions)}
    out["version_parseable"] = pd.array([distinct[v][0] for v in versions], dtype="boolean")
    out["version_outdated"] = pd.array([distinct[v][1] for v in versions], dtype="boolean")
    return out


def classify_tokens(
    tokens: pd.DataFrame,
    nodes: pd.DataFrame,
    all_nodes: pd.DataFrame | None = None,
    allocations: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Join each legacy token to its node (and allocation, when ``fetch`` collected them).

    Adds ``node_name``, ``datacenter``, ``node_status``, ``node_outdated`` (the node is in ``OutdatedNodes``),
    ``node_known`` (the node is in the snapshot at all), and ``job_id``/``namespace`` when allocations are known.

    Examples:
        >>> import analysis
        >>> snap = analysis.load_snapshot("tests/fixtures/edge-cases.json")
        >>> classify_tokens(snap.tokens, snap.nodes)[["task", "node_name", "node_outdated"]]
             task          node_name  node_outdated
        0     app   client-legacy-01           True
        1  backup      client-ent-07           True
        2  render               <NA>          False
    """
    keys = ["cluster", "region"]
    out = tokens.copy()
    outdated = nodes[[*keys, "id", "name", "datacenter", "status"]].rename(
        columns={"id": "node_id", "name": "node_name", "status": "node_status"}
    )
    outdated = outdated.assign(node_outdated=True)
    merged = _left_join(out, outdated, [*keys, "node_id"])
    if all_nodes is not None and len(all_nodes):
        others = all_nodes[[*keys, "id", "name", "datacenter", "status"]].rename(
            columns={"id": "node_id", "name": "other_name", "status": "other_status", "datacenter": "other_dc"}
        )
        merged = _left_join(merged, others, [*keys, "node_id"])
        merged["node_name"] = merged["node_name"].fillna(merged["other_name"])
        merged["datacenter"] = merged["datacenter"].astype(object).fillna(merged["other_dc"].astype(object))
        merged["node_status"] = merged["node_status"].astype(object).fillna(merged["other_status"].astype(object))
        merged = merged.drop(columns=["other_name", "other_status", "other_dc"])
    # Object column (True or NaN after the join): map it, since fillna on objects warns about downcasting.
    merged["node_outdated"] = pd.array([v is True for v in merged["node_outdated"]], dtype="boolean")
    merged["node_known"] = merged["node_name"].notna().astype("boolean")
    merged["node_name"] = merged["node_name"].astype(STRING)
    merged["datacenter"] = merged["datacenter"].astype(object).astype(STRING)
    merged["node_status"] = merged["node_status"].astype(object).astype(STRING)
    if allocations is not None and len(allocations):
        allocs = allocations[[*keys, "id", "job_id", "namespace"]].rename(columns={"id": "alloc_id"})
        merged = _left_join(merged, allocs, [*keys, "alloc_id"])
    else:
        merged["job_id"] = pd.array([None] * len(merged), dtype=STRING)
        merged["namespace"] = pd.array([None] * len(merged), dtype=STRING)
    merged["job_id"] = merged["job_id"].astype(STRING)
    merged["namespace"] = merged["namespace"].astype(object).astype(STRING)
    return merged


def _left_join(left: pd.DataFrame, right: pd.DataFrame, on: list[str]) -> pd.DataFrame:
    # Join keys as plain objects: categoricals with different categories (or all-NA cluster columns) would
    # otherwise not match across frames.
    lkeys = {k: left[k].astype(object).where(left[k].notna(), "\0na") for k in on}
    rkeys = {k: right[k].astype(object).where(right[k].notna(), "\0na") for k in on}
    lk = pd.MultiIndex.from_arrays([lkeys[k] for k in on])
    right_ = right.drop(columns=on).set_axis(pd.MultiIndex.from_arrays([rkeys[k] for k in on]))
    right_ = right_[~right_.index.duplicated()]  # a node listed twice: its first row answers
    joined = right_.reindex(lk)
    joined.index = left.index
    return pd.concat([left, joined], axis=1)


# ---------------------------------------------------------------------------------------------------------------
# The analysis object
# ---------------------------------------------------------------------------------------------------------------


@dataclass
class Analysis:
    """Classified frames of one or more snapshots, and the groupings and plan computed from them.

    Build it with :func:`analyse`. All frames carry ``cluster`` and ``region``.

    Attributes:
        snapshots: the snapshots analysed.
        jobs: :func:`classify_jobs` of all jobs.
        nodes: :func:`classify_nodes` of all outdated nodes.
        node_drivers: all (node, driver) rows.
        tokens: :func:`classify_tokens` of all tokens.
        all_nodes: every client node when ``fetch`` collected them, else None.
        datacenters: extra datacenter names the caller knows of (used to resolve job patterns).
    """

    snapshots: list[Snapshot]
    jobs: pd.DataFrame
    nodes: pd.DataFrame
    node_drivers: pd.DataFrame
    tokens: pd.DataFrame
    all_nodes: pd.DataFrame | None = None
    datacenters: tuple[str, ...] = field(default_factory=tuple)
    _memo: dict[str, Any] = field(default_factory=dict, init=False, repr=False, compare=False)

    def _once_shared(self, name: str, compute: Any) -> Any:
        if name not in self._memo:
            self._memo[name] = compute()
        return self._memo[name]

    def _once(self, name: str, compute: Any) -> Any:
        # The report and summarize ask for the same groupings several times; compute each once and hand out
        # copies, so a caller that changes a result cannot change the next caller's.
        value = self._once_shared(name, compute)
        if isinstance(value, pd.DataFrame):
            return value.copy()
        return [dict(item) for item in value]  # the plan: a new list of new step dicts

    @property
    def tokens_reported(self) -> bool:
        """True when at least one snapshot reported legacy tokens (Nomad before 1.10)."""
        return any(s.tokens_reported for s in self.snapshots)

    @property
    def verdict(self) -> str:
        """``not-ready``, ``cleanup-only`` or ``clear`` (see :func:`verdict`)."""
        return verdict(self.jobs, self.nodes, self.tokens)

    def specs(self) -> pd.DataFrame:
        """See :func:`specs`."""
        return self._once("specs", lambda: specs(self.jobs))

    def by_namespace(self) -> pd.DataFrame:
        """See :func:`by_namespace`."""
        return self._once("by_namespace", lambda: by_namespace(self.jobs, spec_table=self.specs()))

    def by_datacenter(self) -> pd.DataFrame:
        """See :func:`by_datacenter`."""
        return self._once(
            "by_datacenter",
            lambda: by_datacenter(
                self.jobs, self.nodes, self.tokens, all_nodes=self.all_nodes, datacenters=self.datacenters
            ),
        )

    def by_version(self) -> pd.DataFrame:
        """See :func:`by_version`."""
        return self._once("by_version", lambda: by_version(self.nodes))

    def by_node_pool(self) -> pd.DataFrame:
        """See :func:`by_node_pool`."""
        return self._once("by_node_pool", lambda: by_node_pool(self.nodes))

    def by_node_status(self) -> pd.DataFrame:
        """See :func:`by_node_status`."""
        return self._once("by_node_status", lambda: by_node_status(self.nodes))

    def by_driver(self) -> pd.DataFrame:
        """See :func:`by_driver`."""
        return self._once("by_driver", lambda: by_driver(self.nodes, self.node_drivers))

    def action_plan(self) -> list[dict[str, Any]]:
        """See :func:`action_plan`."""
        return self._once("action_plan", lambda: action_plan(self))


def analyse(snapshots: Snapshot | Iterable[Snapshot], *, datacenters: Iterable[str] = ()) -> Analysis:
    """Classify one snapshot or several (regions, clusters) together.

    Args:
        snapshots: a snapshot or an iterable of them. Give each a distinct ``cluster``/``region`` (the
            envelope records them; ``load_snapshot(..., cluster=, region=)`` sets them) so rows stay apart.
        datacenters: datacenter names known besides those of the listed nodes, used to resolve job
            patterns such as ``*`` and ``dc*``.

    Returns:
        An :class:`Analysis`.
    """
    snaps = _distinct_contexts([snapshots] if isinstance(snapshots, Snapshot) else list(snapshots))
    jobs = _concat([s.jobs for s in snaps], empty_frame(JOBS))
    nodes = _concat([s.nodes for s in snaps], empty_frame(NODES))
    drivers = _concat([s.node_drivers for s in snaps], empty_frame(NODE_DRIVERS))
    tokens = _concat([s.tokens for s in snaps], empty_frame(TOKENS))
    all_frames = [s.all_nodes for s in snaps if s.all_nodes is not None]
    all_nodes = _concat(all_frames, all_frames[0].iloc[:0]) if all_frames else None
    alloc_frames = [s.allocations for s in snaps if s.allocations is not None]
    allocations = _concat(alloc_frames, alloc_frames[0].iloc[:0]) if alloc_frames else None
    classified_nodes = classify_nodes(nodes)
    return Analysis(
        snapshots=snaps,
        jobs=classify_jobs(jobs),
        nodes=classified_nodes,
        node_drivers=drivers,
        tokens=classify_tokens(tokens, classified_nodes, all_nodes, allocations),
        all_nodes=all_nodes,
        datacenters=tuple(datacenters),
    )


def _distinct_contexts(snaps: list[Snapshot]) -> list[Snapshot]:
    """Keep the rows of different snapshots apart: several snapshots are read as several regions or clusters.

    Snapshots without a cluster name that would share a (cluster, region) get their file name as cluster name;
    two captures of the same named cluster and region are refused (that is history: use diff or trend).
    """
    from analysis.errors import SnapshotMismatchError

    bodies: dict[tuple[Any, Any, bytes], Snapshot] = {}
    for snap in snaps:
        body = snap._body
        if body is None:
            continue
        first = bodies.setdefault((snap.cluster, snap.region, body), snap)
        if first is not snap:  # the same capture under two names: counting it twice would double everything
            raise SnapshotMismatchError(
                f"{snap.info.source}: is the same capture as {first.info.source}; give one snapshot per region or "
                "cluster (compare captures over time with `diff` or `trend`)",
                old=first.info.source,
                new=snap.info.source,
                old_context=(first.cluster, first.region),
                new_context=(snap.cluster, snap.region),
            )
    seen: dict[tuple[Any, Any], int] = {}
    for snap in snaps:
        key = (snap.cluster, snap.region)
        seen[key] = seen.get(key, 0) + 1
    names = [Path(s.info.source).name for s in snaps]
    out = []
    for snap, name in zip(snaps, names, strict=True):
        key = (snap.cluster, snap.region)
        if seen[key] < 2:
            out.append(snap)
            continue
        other = next(s for s in snaps if s is not snap and (s.cluster, s.region) == key)
        same_file = other.info.source == snap.info.source and not snap.info.source.startswith("<")
        if snap.cluster is not None or same_file:
            what = (
                "the same file twice"
                if same_file
                else (f"two snapshots of cluster {snap.cluster!r}, region {snap.region!r}")
            )
            raise SnapshotMismatchError(
                f"{snap.info.source}: {what}; give one snapshot per region or cluster "
                "(compare captures over time with `diff` or `trend`)",
                old=other.info.source,
                new=snap.info.source,
                old_context=key,
                new_context=key,
            )
        out.append(snap.with_context(cluster=name if names.count(name) == 1 else snap.info.source))
    return out


def _concat(frames: list[pd.DataFrame], empty: pd.DataFrame) -> pd.DataFrame:
    """Stack frames of several snapshots, keeping the schema's dtypes.

    Categoricals with different categories are stacked as plain values and made categorical again, and a driver
    column missing from one snapshot is <NA> there, so every column has one dtype before pandas sees it (pandas
    2.2 warns, and 3.x decides differently, when it has to reconcile dtypes of all-NA parts).
    """
    frames = [f for f in frames if len(f)]
    if not frames:
        return empty
    if len(frames) == 1:
        return frames[0]
    columns = list(dict.fromkeys(c for f in frames for c in f.columns))
    categorical = {c for f in frames for c in f.columns if isinstance(f[c].dtype, pd.CategoricalDtype)}
    parts = []
    for frame in frames:
        part = {}
        for column in columns:
            if column not in frame.columns:
                part[column] = pd.array([pd.NA] * len(frame), dtype="boolean")  # a driver this snapshot lacks
            elif column in categorical:
                part[column] = frame[column].to_numpy(dtype=object, na_value=None)
            else:
                part[column] = frame[column].array
        parts.append(pd.DataFrame(part, index=frame.index))
    out = pd.concat(parts, ignore_index=True)
    for column in categorical:
        values = [None if pd.isna(v) else v for v in out[column].to_numpy(dtype=object)]
        out[column] = _category(values, sorted({v for v in values if v is not None}))
    return out


# ---------------------------------------------------------------------------------------------------------------
# Verdict
# ---------------------------------------------------------------------------------------------------------------


def verdict(jobs: pd.DataFrame, nodes: pd.DataFrame, tokens: pd.DataFrame) -> str:
    """``not-ready`` if any active job or live outdated node; ``cleanup-only`` if only inactive jobs, down nodes
    or tokens; ``clear`` if nothing is listed. Takes classified frames.

    Examples:
        >>> from analysis.schema import JOBS, NODES, TOKENS, empty_frame
        >>> verdict(classify_jobs(empty_frame(JOBS)), classify_nodes(empty_frame(NODES)), empty_frame(TOKENS))
        'clear'
    """
    if bool(jobs["blocking"].fillna(True).any()) or bool(nodes["blocking"].fillna(True).any()):
        return "not-ready"
    if len(jobs) or len(nodes) or len(tokens):
        return "cleanup-only"
    return "clear"


# ---------------------------------------------------------------------------------------------------------------
# Groupings
# ---------------------------------------------------------------------------------------------------------------

_CTX = ["cluster", "region"]


def _counts(frame: pd.DataFrame, keys: list[str], flags: dict[str, pd.Series]) -> pd.DataFrame:
    """Group ``frame`` by ``keys`` (NA kept) and sum boolean ``flags``; ints out, keys as strings."""
    data = pd.DataFrame({k: frame[k].astype(object).where(frame[k].notna(), None) for k in keys})
    for name, flag in flags.items():
        data[name] = flag.fillna(False).to_numpy(dtype=np.int64)
    if not len(data):
        out = pd.DataFrame({k: pd.array([], dtype=STRING) for k in keys})
        for name in flags:
            out[name] = pd.array([], dtype="int64")
        return out
    grouped = data.groupby(keys, dropna=False, sort=False, observed=True)[list(flags)].sum().reset_index()
    for k in keys:
        grouped[k] = grouped[k].astype(object).where(grouped[k].notna(), None).astype(STRING)
    for name in flags:
        grouped[name] = grouped[name].astype("int64")
    return grouped


def specs(jobs: pd.DataFrame) -> pd.DataFrame:
    """One row per job spec (parent and its children together) with what to do about it.

    Columns: cluster, region, namespace, spec_id, type, parent_listed, parent_state, kind (of the parent row,
    or ``children-only``), instances (listed rows), active, inactive, children, active_children, datacenters
    (the spec's patterns), node_pool, action (``resubmit``, ``wait-or-stop-children``, ``cleanup``).

    ``resubmit``: the spec itself is listed and active. ``cleanup``: everything listed for it is inactive
    (stopped or dead: purge it, or resubmit if it will run again). ``wait-or-stop-children``: only active
    children are listed; the parent was already fixed (or garbage-collected), so the children must finish or be
    stopped.

    Examples:
        >>> import analysis
        >>> jobs = classify_jobs(analysis.load_snapshot("tests/fixtures/edge-cases.json").jobs)
        >>> specs(jobs)[["namespace", "spec_id", "instances", "children", "action"]]
          namespace          spec_id  instances  children    action
        0   default      api-gateway          1         0  resubmit
        1   default   nightly-backup          2         1  resubmit
        2   default    node-exporter          1         0  resubmit
        3   default    render-report          2         1  resubmit
        4  platform   legacy-billing          1         0   cleanup
        5  platform vault-agent-sync          1         0  resubmit
        6    team-a              etl          1         0  resubmit
    """
    columns = [
        "cluster",
        "region",
        "namespace",
        "spec_id",
        "type",
        "parent_listed",
        "parent_state",
        "kind",
        "instances",
        "active",
        "inactive",
        "children",
        "active_children",
        "datacenters",
        "node_pool",
        "action",
    ]
    if not len(jobs):
        return pd.DataFrame({c: pd.array([], dtype=_SPEC_DTYPES.get(c, STRING)) for c in columns})
    keys = [*_CTX, "namespace", "spec_id"]
    active = jobs["state"] == "active"
    child = jobs["kind"].isin(["periodic-child", "dispatched-child", "child"])
    counts = _counts(
        jobs,
        keys,
        {
            "instances": pd.Series(True, index=jobs.index),
            "active": active,
            "inactive": ~active,
            "children": child,
            "active_children": active & child,
        },
    )
    # The parent row (the spec itself), when listed, gives type, patterns, pool, state and kind.
    parents = jobs[~child.to_numpy(dtype=bool)]
    first = jobs.drop_duplicates(subset=keys)  # fallback: first listed row of the spec (a child)
    info = _keyed(first, keys, ["type", "datacenters", "node_pool"])
    parent_info = _keyed(parents, keys, ["type", "datacenters", "node_pool", "state", "kind"])
    index = pd.MultiIndex.from_frame(counts[keys].astype(object).where(counts[keys].notna(), "\0na"))
    p = parent_info.reindex(index)
    f = info.reindex(index)
    counts["type"] = p["type"].fillna(f["type"]).to_numpy()
    counts["datacenters"] = [
        pd_ if isinstance(pd_, list) else fd for pd_, fd in zip(p["datacenters"], f["datacenters"], strict=True)
    ]
    counts["node_pool"] = p["node_pool"].fillna(f["node_pool"]).to_numpy()
    counts["parent_listed"] = p["state"].notna().to_numpy()
    counts["parent_state"] = p["state"].to_numpy()
    counts["kind"] = p["kind"].fillna("children-only").to_numpy()
    action = np.where(
        counts["parent_listed"] & (counts["parent_state"] == "active"),
        "resubmit",
        np.where((~counts["parent_listed"]) & (counts["active_children"] > 0), "wait-or-stop-children", "cleanup"),
    )
    counts["action"] = action
    out = counts[columns].copy()
    for c in ("type", "node_pool", "parent_state", "kind", "action"):
        out[c] = out[c].astype(object).where(out[c].notna(), None).astype(STRING)
    out["parent_listed"] = out["parent_listed"].astype("boolean")
    return out.sort_values(keys, kind="stable", key=_na_last).reset_index(drop=True)


_SPEC_DTYPES: dict[str, Any] = {c: "int64" for c in ("instances", "active", "inactive", "children", "active_children")}
_SPEC_DTYPES.update({"parent_listed": "boolean", "datacenters": object})


def _keyed(frame: pd.DataFrame, keys: list[str], values: list[str]) -> pd.DataFrame:
    data = frame.drop_duplicates(subset=keys)
    index = pd.MultiIndex.from_frame(data[keys].astype(object).where(data[keys].notna(), "\0na"))
    out = pd.DataFrame({v: data[v].astype(object).where(data[v].notna(), None).to_numpy() for v in values}, index=index)
    return out


def _na_last(column: pd.Series) -> pd.Series:
    return column.astype(object).where(column.notna(), "\uffff")


def by_namespace(jobs: pd.DataFrame, *, spec_table: pd.DataFrame | None = None) -> pd.DataFrame:
    """Jobs per namespace: active and inactive jobs, specs to resubmit, children listed.

    Columns: cluster, region, namespace, jobs, active, inactive, specs, specs_to_resubmit, children.
    Sorted by active jobs (most first), then name.

    Examples:
        >>> import analysis
        >>> jobs = analysis.analyse(analysis.load_snapshot("tests/fixtures/edge-cases.json")).jobs
        >>> by_namespace(jobs).drop(columns=["cluster", "region"])
          namespace  jobs  active  inactive  specs  specs_to_resubmit  children
        0   default     6       5         1      4                  4         2
        1  platform     2       1         1      2                  1         0
        2    team-a     1       1         0      1                  1         0
    """
    keys = [*_CTX, "namespace"]
    active = jobs["state"] == "active"
    child = jobs["kind"].isin(["periodic-child", "dispatched-child", "child"])
    out = _counts(
        jobs,
        keys,
        {"jobs": pd.Series(True, index=jobs.index), "active": active, "inactive": ~active, "children": child},
    )
    spec_table = specs(jobs) if spec_table is None else spec_table
    per_ns = _counts(
        spec_table,
        keys,
        {"specs": pd.Series(True, index=spec_table.index), "specs_to_resubmit": spec_table["action"] == "resubmit"},
    )
    out = out.merge(per_ns, on=keys, how="left")
    for c in ("specs", "specs_to_resubmit"):
        out[c] = out[c].fillna(0).astype("int64")
    out = out[[*keys, "jobs", "active", "inactive", "specs", "specs_to_resubmit", "children"]]
    if not len(out):
        return out
    return out.sort_values(["active", "namespace"], ascending=[False, True], kind="stable").reset_index(drop=True)


def _known_datacenters(
    nodes: pd.DataFrame, all_nodes: pd.DataFrame | None, extra: Iterable[str]
) -> dict[tuple[Any, Any], set[str]]:
    known: dict[tuple[Any, Any], set[str]] = {}
    frames = [nodes] + ([all_nodes] if all_nodes is not None else [])
    for frame in frames:
        if not len(frame):
            continue
        sub = frame[[*_CTX, "datacenter"]].astype(object)
        for cluster, region, dc in sub.itertuples(index=False):
            if dc is None or (isinstance(dc, float) and math.isnan(dc)) or dc is pd.NA:
                continue
            known.setdefault((_nn(cluster), _nn(region)), set()).add(dc)
    extra = list(extra)
    if extra:
        for key in list(known) or [(None, None)]:
            known.setdefault(key, set()).update(extra)
    return known


def _nn(value: Any) -> Any:
    return None if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)) else value


def by_datacenter(
    jobs: pd.DataFrame,
    nodes: pd.DataFrame,
    tokens: pd.DataFrame,
    *,
    all_nodes: pd.DataFrame | None = None,
    datacenters: Iterable[str] = (),
) -> pd.DataFrame:
    """Exposure per datacenter: jobs whose patterns match it, outdated nodes in it, tokens on its nodes.

    Job patterns are resolved with Nomad's glob (:func:`glob_match`) against the datacenters the snapshot
    knows: those of the outdated nodes, of every node when ``fetch`` collected ``/v1/nodes``, and
    ``datacenters``. A pattern that matches none of them stays visible as its own row with ``resolved`` False.

    Columns: cluster, region, datacenter, resolved, active_jobs, inactive_jobs, live_nodes, down_nodes,
    total_nodes (<NA> unless every node is known), outdated_share (outdated/total), tokens.

    Examples:
        >>> import analysis
        >>> a = analysis.analyse(analysis.load_snapshot("tests/fixtures/edge-cases.json"))
        >>> a.by_datacenter()[["datacenter", "resolved", "active_jobs", "live_nodes", "down_nodes", "tokens"]]
           datacenter  resolved  active_jobs  live_nodes  down_nodes  tokens
        0         dc1      True            6           2           0       1
        1         dc2      True            6           1           1       1
        2    edge-dc1      True            3           1           0       0
        3   eu-west-1     False            1           0           0       0
        4   us-east-*     False            1           0           0       0
        5  us-east-1a     False            0           0           0       0
        6  us-east-1b     False            0           0           0       0
    """
    known = _known_datacenters(nodes, all_nodes, datacenters)
    rows: dict[tuple[Any, Any, str, bool], list[int]] = {}

    def slot(cluster: Any, region: Any, dc: str, resolved: bool) -> list[int]:
        return rows.setdefault((cluster, region, dc, resolved), [0, 0, 0, 0, 0])

    for (cluster, region), names in known.items():
        for dc in names:
            slot(cluster, region, dc, True)
    if len(jobs):
        # Jobs share few distinct pattern lists: count them first, then resolve each distinct list once.
        combos: dict[tuple[Any, Any, tuple[str, ...], bool], int] = {}
        for cluster, region, patterns, active in zip(
            jobs["cluster"].astype(object),
            jobs["region"].astype(object),
            jobs["datacenters"],
            (jobs["state"] == "active").to_numpy(dtype=bool),
            strict=True,
        ):
            key = (_nn(cluster), _nn(region), tuple(patterns or ()), bool(active))
            combos[key] = combos.get(key, 0) + 1
        for (cluster, region, patterns, active), count in combos.items():
            names = known.get((cluster, region), set())
            matched: set[str] = set()
            unresolved: list[str] = []
            for pattern in patterns:
                hits = {dc for dc in names if glob_match(pattern, dc)}
                if hits:
                    matched |= hits
                else:
                    unresolved.append(pattern)
            for dc in matched:
                slot(cluster, region, dc, True)[0 if active else 1] += count
            for pattern in dict.fromkeys(unresolved):
                slot(cluster, region, pattern, False)[0 if active else 1] += count
    if len(nodes):
        sub = nodes[[*_CTX, "datacenter", "liveness"]].astype(object)
        for cluster, region, dc, liveness in sub.itertuples(index=False):
            if _nn(dc) is None:
                continue
            slot(_nn(cluster), _nn(region), dc, True)[2 if liveness == "live" else 3] += 1
    if len(tokens):
        sub = tokens[[*_CTX, "datacenter"]].astype(object)
        for cluster, region, dc in sub.itertuples(index=False):
            if _nn(dc) is not None:
                slot(_nn(cluster), _nn(region), dc, True)[4] += 1
    totals: dict[tuple[Any, Any, str], int] = {}
    if all_nodes is not None and len(all_nodes):
        sub = all_nodes[[*_CTX, "datacenter"]].astype(object)
        for cluster, region, dc in sub.itertuples(index=False):
            total_key = (_nn(cluster), _nn(region), dc)
            totals[total_key] = totals.get(total_key, 0) + 1
    records = []
    for (cluster, region, dc, resolved), (aj, ij, live, down, tok) in rows.items():
        total = totals.get((cluster, region, dc)) if all_nodes is not None and resolved else None
        share = (live + down) / total if total else None
        records.append((cluster, region, dc, resolved, aj, ij, live, down, total, share, tok))
    out = pd.DataFrame.from_records(
        records,
        columns=[
            "cluster",
            "region",
            "datacenter",
            "resolved",
            "active_jobs",
            "inactive_jobs",
            "live_nodes",
            "down_nodes",
            "total_nodes",
            "outdated_share",
            "tokens",
        ],
    )
    for c in ("cluster", "region", "datacenter"):
        out[c] = out[c].astype(object).where(out[c].notna(), None).astype(STRING)
    out["resolved"] = out["resolved"].astype("boolean")
    for c in ("active_jobs", "inactive_jobs", "live_nodes", "down_nodes", "tokens"):
        out[c] = out[c].astype("int64")
    out["total_nodes"] = pd.array(
        out["total_nodes"].astype(object).where(out["total_nodes"].notna(), None), dtype="Int64"
    )
    out["outdated_share"] = pd.array(
        out["outdated_share"].astype(object).where(out["outdated_share"].notna(), None), dtype="Float64"
    )
    if not len(out):
        return out
    return out.sort_values(
        ["cluster", "region", "resolved", "datacenter"],
        ascending=[True, True, False, True],
        kind="stable",
        key=_na_last,
    ).reset_index(drop=True)


def _node_counts(nodes: pd.DataFrame, key: str) -> pd.DataFrame:
    live = nodes["liveness"] == "live"
    return _counts(
        nodes,
        [*_CTX, key],
        {
            "nodes": pd.Series(True, index=nodes.index),
            "live": live,
            "down": ~live,
            "draining": nodes["draining"],
            "ineligible": nodes["ineligible"],
        },
    )


def by_version(nodes: pd.DataFrame) -> pd.DataFrame:
    """Outdated nodes per reported version, in Nomad's version order (oldest first); unparseable versions
    (``""``, ``unknown``, stray spaces) come first, as their own rows with ``parseable`` False.

    Columns: cluster, region, version, parseable, nodes, live, down, draining, ineligible.

    Examples:
        >>> import analysis
        >>> a = analysis.analyse(analysis.load_snapshot("tests/fixtures/edge-cases.json"))
        >>> a.by_version()[["version", "parseable", "nodes", "live", "down"]]
             version  parseable  nodes  live  down
        0                 False      1     1     0
        1  1.5.3+ent       True      1     0     1
        2  1.6.2-dev       True      1     1     0
        3      1.6.4       True      1     1     0
        4     1.6.10       True      1     1     0
    """
    out = _node_counts(nodes, "version")
    out.insert(
        3, "parseable", pd.array([parse_version(v) is not None for v in out["version"].astype(object)], dtype="boolean")
    )
    if not len(out):
        return out
    return out.sort_values("version", key=version_sort_key, kind="stable").reset_index(drop=True)


def by_node_pool(nodes: pd.DataFrame) -> pd.DataFrame:
    """Outdated nodes per node pool (most first). Columns: cluster, region, node_pool, nodes, live, down,
    draining, ineligible."""
    out = _node_counts(nodes, "node_pool")
    return out.sort_values(["nodes", "node_pool"], ascending=[False, True], kind="stable").reset_index(drop=True)


def by_node_status(nodes: pd.DataFrame) -> pd.DataFrame:
    """Outdated nodes per status (ready, initializing, disconnected, down, then any other), with whether the
    status blocks. Columns: cluster, region, status, blocking, nodes, live, down, draining, ineligible.

    Examples:
        >>> import analysis
        >>> a = analysis.analyse(analysis.load_snapshot("tests/fixtures/edge-cases.json"))
        >>> a.by_node_status()[["status", "blocking", "nodes"]]
                 status  blocking  nodes
        0         ready      True      2
        1  initializing      True      1
        2  disconnected      True      1
        3          down     False      1
    """
    out = _node_counts(nodes, "status")
    out.insert(3, "blocking", pd.array([s != "down" for s in out["status"].astype(object)], dtype="boolean"))
    order = {"ready": 0, "initializing": 1, "disconnected": 2, "down": 3}
    if not len(out):
        return out
    return out.sort_values("status", key=lambda s: s.map(lambda v: order.get(v, 4)), kind="stable").reset_index(
        drop=True
    )


def by_driver(nodes: pd.DataFrame, node_drivers: pd.DataFrame) -> pd.DataFrame:
    """Per task driver: outdated nodes that report it, have it detected, and have it detected and healthy
    (the capacity that will need an upgrade to run workload-identity jobs with that driver).

    Columns: cluster, region, driver, nodes, detected, healthy, live_healthy.

    Examples:
        >>> import analysis
        >>> a = analysis.analyse(analysis.load_snapshot("tests/fixtures/edge-cases.json"))
        >>> a.by_driver()[["driver", "nodes", "detected", "healthy", "live_healthy"]]
             driver  nodes  detected  healthy  live_healthy
        0    docker      4         3        3             3
        1      exec      3         2        2             1
        2  raw_exec      3         2        2             2
        3    podman      1         1        1             1
        4      qemu      1         1        1             1
        5      java      1         0        0             0
    """
    keys = [*_CTX, "node_id"]
    if len(node_drivers):
        live = _keyed(nodes.rename(columns={"id": "node_id"}), keys, ["liveness"])
        index = pd.MultiIndex.from_frame(node_drivers[keys].astype(object).where(node_drivers[keys].notna(), "\0na"))
        is_live = (live.reindex(index)["liveness"] == "live").to_numpy(dtype=bool)
    else:
        is_live = np.zeros(0, dtype=bool)
    detected = node_drivers["detected"].fillna(False)
    healthy = detected & node_drivers["healthy"].fillna(False)
    out = _counts(
        node_drivers,
        [*_CTX, "driver"],
        {
            "nodes": pd.Series(True, index=node_drivers.index),
            "detected": detected,
            "healthy": healthy,
            "live_healthy": healthy & pd.Series(is_live, index=node_drivers.index),
        },
    )
    if not len(out):
        return out
    return out.sort_values(["healthy", "nodes", "driver"], ascending=[False, False, True], kind="stable").reset_index(
        drop=True
    )


# ---------------------------------------------------------------------------------------------------------------
# Action plan
# ---------------------------------------------------------------------------------------------------------------


def action_plan(result: Analysis) -> list[dict[str, Any]]:
    """An ordered, de-duplicated list of steps an operator can work through.

    Order: resubmit each active spec (blocking), handle active children of fixed parents (blocking), upgrade
    live outdated nodes grouped by datacenter, pool and version (blocking), then cleanup of inactive jobs and
    down nodes, then what happens to legacy tokens. Every step is a dict with ``step`` (1-based), ``action``,
    ``blocking``, ``cluster``, ``region``, a one-line ``title`` and a ``detail``, plus the fields of its kind.

    Examples:
        >>> import analysis
        >>> plan = analysis.analyse(analysis.load_snapshot("tests/fixtures/edge-cases.json")).action_plan()
        >>> [s["action"] for s in plan]  # doctest: +NORMALIZE_WHITESPACE
        ['resubmit', 'resubmit', 'resubmit', 'resubmit', 'resubmit', 'resubmit', 'upgrade-nodes', 'upgrade-nodes',
         'upgrade-nodes', 'upgrade-nodes', 'cleanup-jobs', 'cleanup-nodes', 'tokens']
    """
    steps: list[dict[str, Any]] = []
    spec_table = result.specs()
    # Plain objects: iterating extension arrays element by element is slow for thousands of specs.
    rows = spec_table.astype(object).where(spec_table.notna(), None)
    for row in rows.itertuples(index=False):
        base = _spec_fields(row)
        if row.action == "resubmit":
            extra = (
                f"; {row.children} listed child(ren) stay listed until they finish and are collected"
                if row.children
                else ""
            )
            steps.append(
                {
                    **base,
                    "action": "resubmit",
                    "blocking": True,
                    "title": f"Resubmit {row.type or 'job'} `{row.spec_id}` in namespace `{row.namespace}`",
                    "detail": _IDENTITY_HINT + extra,
                }
            )
        elif row.action == "wait-or-stop-children":
            steps.append(
                {
                    **base,
                    "action": "wait-or-stop-children",
                    "blocking": True,
                    "title": f"Let {row.active_children} child job(s) of `{row.spec_id}` in `{row.namespace}` "
                    "finish, or stop them",
                    "detail": "The parent is no longer listed (already resubmitted or gone); its running "
                    "children still use legacy tokens.",
                }
            )
    for group in _node_groups(result.nodes[result.nodes["liveness"] == "live"]):
        steps.append(
            {
                **group,
                "action": "upgrade-nodes",
                "blocking": True,
                "title": f"Upgrade {group['nodes']} live client(s) in datacenter `{group['datacenter']}`, "
                f"pool `{group['node_pool']}`, from Nomad {group['version'] or '(empty version)'} "
                "to 1.7 or later",
                "detail": "Until then allocations placed there use the legacy token flow, and jobs with a "
                "Vault identity cannot be placed there at all.",
            }
        )
    for row in rows[rows["action"] == "cleanup"].itertuples(index=False):
        steps.append(
            {
                **_spec_fields(row),
                "action": "cleanup-jobs",
                "blocking": False,
                "title": f"Clean up inactive `{row.spec_id}` in namespace `{row.namespace}` ({row.instances} listed)",
                "detail": "Stopped or dead: nothing runs, but it stays listed until garbage collection. "
                "Purge it (`nomad job stop -purge`) or resubmit it with an identity if it will "
                "run again.",
            }
        )
    for group in _node_groups(result.nodes[result.nodes["liveness"] == "down"]):
        steps.append(
            {
                **group,
                "action": "cleanup-nodes",
                "blocking": False,
                "title": f"Clean up {group['nodes']} down client(s) in datacenter `{group['datacenter']}`, "
                f"pool `{group['node_pool']}` (Nomad {group['version'] or '(empty version)'})",
                "detail": "Down nodes leave the list after node GC (`node_gc_threshold`, default 24h) or "
                "`nomad system gc`; upgrade them instead if they will come back.",
            }
        )
    for snap in result.snapshots:
        ctx = {"cluster": snap.cluster, "region": snap.region}
        if not snap.tokens_reported:
            steps.append(
                {
                    **ctx,
                    "action": "tokens",
                    "blocking": False,
                    "tokens": None,
                    "title": "Legacy Vault tokens: not reported (Nomad 1.10+ no longer reports them)",
                    "detail": "From 1.10 the legacy flow is gone and this list is always empty (null).",
                }
            )
        elif len(snap.tokens):
            steps.append(
                {
                    **ctx,
                    "action": "tokens",
                    "blocking": False,
                    "tokens": len(snap.tokens),
                    "title": f"{len(snap.tokens)} legacy Vault token(s) remain: no action needed",
                    "detail": "Nomad revokes them as their allocations stop or are redeployed. Tokens left "
                    "when the servers lose Vault access are not revoked: they expire with their own "
                    "TTL (set by the Vault token role, not the 60 s CreationTTL shown, which is "
                    "the wrap TTL) or can be revoked with `vault token revoke -accessor`.",
                }
            )
    unique: dict[tuple[Any, ...], dict[str, Any]] = {}
    for step in steps:
        key = (
            step["action"],
            step.get("cluster"),
            step.get("region"),
            step.get("namespace"),
            step.get("spec_id"),
            step.get("datacenter"),
            step.get("node_pool"),
            step.get("version"),
        )
        unique.setdefault(key, step)
    plan = list(unique.values())
    for i, step in enumerate(plan, start=1):
        step["step"] = i
    return plan


def _spec_fields(row: Any) -> dict[str, Any]:
    """The plan fields of one row of :func:`specs` (as plain objects)."""
    return {
        "cluster": _nn(row.cluster),
        "region": _nn(row.region),
        "namespace": row.namespace,
        "spec_id": row.spec_id,
        "type": _nn(row.type),
        "instances": int(row.instances),
        "active_instances": int(row.active),
        "children": int(row.children),
        "datacenters": list(row.datacenters) if isinstance(row.datacenters, list) else [],
        "node_pool": _nn(row.node_pool),
    }


def _node_groups(nodes: pd.DataFrame) -> list[dict[str, Any]]:
    if not len(nodes):
        return []
    data = pd.DataFrame(
        {
            c: nodes[c].astype(object).where(nodes[c].notna(), None)
            for c in ("cluster", "region", "datacenter", "node_pool", "version", "id", "name")
        }
    )
    groups = []
    for key, part in data.groupby(
        ["cluster", "region", "datacenter", "node_pool", "version"], dropna=False, sort=False
    ):
        cluster, region, dc, pool, version = (_nn(k) for k in key)
        groups.append(
            {
                "cluster": cluster,
                "region": region,
                "datacenter": dc,
                "node_pool": pool,
                "version": version,
                "nodes": len(part),
                "node_ids": part["id"].tolist(),
                "node_names": part["name"].tolist(),
            }
        )
    groups.sort(
        key=lambda g: (
            str(g["cluster"]),
            str(g["region"]),
            str(g["datacenter"]),
            str(g["node_pool"]),
            version_sort_key(g["version"] or ""),
        )
    )
    return groups


# ---------------------------------------------------------------------------------------------------------------
# The summary: one JSON-serialisable dict for the CLI, the notebooks and the tests
# ---------------------------------------------------------------------------------------------------------------

SUMMARY_FORMAT = "nomad-wi-readiness/summary"
SUMMARY_VERSION = 1


def summarize(
    snapshots: Snapshot | Iterable[Snapshot] | Analysis, *, datacenters: Iterable[str] = (), tables: bool = True
) -> dict[str, Any]:
    """The verdict, counts, groupings, plan and blind spots as one JSON-serialisable dict.

    This dict is a stable interface (``wi-readiness summary --format json`` prints it): keys are only ever added
    within a ``version``.

    Args:
        snapshots: one snapshot, several (regions, clusters), or an :class:`Analysis` already made.
        datacenters: datacenter names known besides those of the listed nodes (see :func:`by_datacenter`).
        tables: include ``groupings`` and ``specs`` (the report leaves them out: it reads the frames directly).

    Returns:
        ``format``, ``version``, ``verdict``, ``reasons``, ``counts``, ``snapshots`` (provenance),
        ``groupings`` and ``specs`` (with ``tables``), ``plan``, ``blind_spots``.

    Examples:
        >>> import analysis, json
        >>> s = analysis.summarize(analysis.load_snapshot("tests/fixtures/empty-cluster.json"))
        >>> s["verdict"], s["counts"]["jobs"], s["counts"]["tokens"], len(s["blind_spots"])
        ('clear', 0, None, 6)
        >>> _ = json.dumps(s)
    """
    result = snapshots if isinstance(snapshots, Analysis) else analyse(snapshots, datacenters=datacenters)
    jobs, nodes, tokens = result.jobs, result.nodes, result.tokens
    spec_table = result.specs()
    active = jobs["state"] == "active"
    live = nodes["liveness"] == "live"
    child = jobs["kind"].isin(["periodic-child", "dispatched-child", "child"])
    counts = {
        "jobs": len(jobs),
        "jobs_active": int(active.sum()),
        "jobs_inactive": int((~active).sum()),
        "children": int(child.sum()),
        "children_active": int((child & active).sum()),
        "specs": len(spec_table),
        "specs_to_resubmit": int((spec_table["action"] == "resubmit").sum()),
        "namespaces": int(jobs["namespace"].nunique()),
        "nodes": len(nodes),
        "nodes_live": int(live.sum()),
        "nodes_down": int((~live).sum()),
        "nodes_draining": int(nodes["draining"].fillna(False).sum()),
        "nodes_ineligible": int(nodes["ineligible"].fillna(False).sum()),
        "nodes_unparseable_version": int((~nodes["version_parseable"].fillna(False)).sum()),
        "tokens_reported": result.tokens_reported,
        "tokens": len(tokens) if result.tokens_reported else None,
        "tokens_on_outdated_nodes": int(tokens["node_outdated"].fillna(False).sum())
        if result.tokens_reported
        else None,
    }
    verdict_value = result.verdict
    reasons = []
    if counts["jobs_active"]:
        reasons.append(
            f"{counts['jobs_active']} active job(s) use Vault without a workload identity "
            f"({counts['specs_to_resubmit']} spec(s) to resubmit)"
        )
    if counts["nodes_live"]:
        reasons.append(f"{counts['nodes_live']} live client node(s) run a Nomad version older than 1.7")
    if verdict_value == "cleanup-only":
        if counts["jobs_inactive"]:
            reasons.append(f"{counts['jobs_inactive']} inactive job(s) to clean up")
        if counts["nodes_down"]:
            reasons.append(f"{counts['nodes_down']} down node(s) to clean up")
        if counts["tokens"]:
            reasons.append(f"{counts['tokens']} legacy token(s) left (informational)")
    if verdict_value == "clear":
        reasons.append(
            "no findings: the endpoint lists no job, node or token; check its blind spots before removing the "
            "servers' Vault access"
        )
    return _jsonable(
        {
            "format": SUMMARY_FORMAT,
            "version": SUMMARY_VERSION,
            "verdict": verdict_value,
            "reasons": reasons,
            "counts": counts,
            "snapshots": [_provenance(s) for s in result.snapshots],
            **(
                {
                    "groupings": {
                        "by_namespace": _records(result.by_namespace()),
                        "by_datacenter": _records(result.by_datacenter()),
                        "by_version": _records(result.by_version()),
                        "by_node_pool": _records(result.by_node_pool()),
                        "by_node_status": _records(result.by_node_status()),
                        "by_driver": _records(result.by_driver()),
                    },
                    "specs": _records(spec_table),
                }
                if tables
                else {}
            ),
            "plan": result._once_shared("action_plan", lambda: action_plan(result)),  # copied by _jsonable
            "blind_spots": [dict(b) for b in BLIND_SPOTS],
        }
    )


def _provenance(snap: Snapshot) -> dict[str, Any]:
    info = snap.info
    return {
        "source": info.source,
        "shape": info.shape,
        "cluster": info.cluster,
        "region": info.region,
        "captured_at": info.captured_at.isoformat() if info.captured_at is not None else None,
        "address": info.address,
        "nomad_version": info.nomad_version,
        "index": info.index,
        "known_leader": info.known_leader,
        "last_contact_ms": info.last_contact_ns / 1e6 if info.last_contact_ns is not None else None,
        "tokens_reported": info.tokens_reported,
        "notes": list(info.enrichment_notes),
    }


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return frame.to_dict(orient="records")  # made JSON-ready by summarize's final _jsonable pass


def _json_default(value: Any) -> Any:
    if value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    if isinstance(value, tuple | set):
        return list(value)
    raise TypeError(f"not JSON-serialisable: {type(value).__name__}")


def _jsonable(value: Any) -> Any:
    """Plain JSON types only (numpy scalars, NA, NaN and timestamps converted), via one orjson round trip."""
    options = orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS
    return orjson.loads(orjson.dumps(value, default=_json_default, option=options))
