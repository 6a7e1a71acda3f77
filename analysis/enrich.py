"""Flatten the optional data ``fetch --enrich`` collects next to the endpoint's answer.

The endpoint lists only *outdated* nodes and names legacy tokens by allocation ID. With ``enrich=True``,
:func:`analysis.client.fetch_snapshot` also records, in the envelope's ``enrichment`` object:

``nodes``
    the body of ``/v1/nodes`` (every client node; needs ``node:read``), or ``null`` when it could not be read;
``allocations``
    for each distinct ``VaultTokens[].AllocID``, the allocation reduced to ``ID``, ``JobID``, ``Namespace``,
    ``TaskGroup``, ``NodeID`` and ``ClientStatus`` (needs ``read-job``), or ``null``;
``notes``
    one line per piece that could not be collected, and why.

:mod:`analysis.snapshot` calls the two functions below when it reads an envelope that has an ``enrichment``
object; ``None`` in gives ``None`` out ("not collected"), which is different from an empty table ("none").

Examples:
    >>> frame = all_nodes_frame(
    ...     [{"ID": "f7476465", "Name": "client-1", "Datacenter": "dc1", "Status": "ready", "Drain": False,
    ...       "SchedulingEligibility": "eligible", "Version": "1.9.7"}],
    ...     "<dict>",
    ...     ("prod", "global"),
    ... )
    >>> frame[["cluster", "id", "status", "drain", "version"]]
      cluster        id status  drain version
    0    prod  f7476465  ready  False   1.9.7
    >>> all_nodes_frame(None, "<dict>", (None, None)) is None
    True
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from analysis import snapshot
from analysis.schema import ALL_NODES, ALLOCATIONS, empty_frame
from analysis.snapshot import _column, _frame, _list

__all__ = ["all_nodes_frame", "allocations_frame"]

# (column, JSON key, kind), in schema order after cluster/region: the outdated-node fields that /v1/nodes has too.
_NODE_FIELDS = tuple(field for field in snapshot._NODE_FIELDS if field[0] in ALL_NODES.names)

_ALLOC_FIELDS = (
    ("id", "ID", "string"),
    ("job_id", "JobID", "string"),
    ("namespace", "Namespace", "category"),
    ("task_group", "TaskGroup", "category"),
    ("node_id", "NodeID", "string"),
    ("client_status", "ClientStatus", "category"),
)

#: The allocation keys ``fetch`` keeps; the rest of ``/v1/allocation/:id`` (the whole job, task states) is dropped.
ALLOCATION_KEYS = tuple(json_key for _, json_key, _ in _ALLOC_FIELDS)


def all_nodes_frame(nodes: list[Any] | None, label: str, ctx: tuple[str | None, str | None]) -> pd.DataFrame | None:
    """Every client node from ``/v1/nodes``, one row each (schema :data:`analysis.schema.ALL_NODES`).

    Args:
        nodes: the ``enrichment.nodes`` list, or None when it was not collected.
        label: where the snapshot came from, for error messages.
        ctx: the snapshot's ``(cluster, region)``.

    Returns:
        The frame, or None when ``nodes`` is None.

    Raises:
        SnapshotShapeError: ``nodes`` is not a list of objects, or a field has the wrong JSON type.
    """
    return _flatten(nodes, "enrichment.nodes", _NODE_FIELDS, ALL_NODES, label, ctx)


def allocations_frame(allocs: list[Any] | None, label: str, ctx: tuple[str | None, str | None]) -> pd.DataFrame | None:
    """The allocations behind the legacy Vault tokens, one row each (schema :data:`analysis.schema.ALLOCATIONS`).

    Args:
        allocs: the ``enrichment.allocations`` list, or None when it was not collected.
        label: where the snapshot came from, for error messages.
        ctx: the snapshot's ``(cluster, region)``.

    Returns:
        The frame, or None when ``allocs`` is None.

    Raises:
        SnapshotShapeError: ``allocs`` is not a list of objects, or a field has the wrong JSON type.

    Examples:
        >>> allocations_frame([], "<dict>", (None, None)).columns.tolist()
        ['cluster', 'region', 'id', 'job_id', 'namespace', 'task_group', 'node_id', 'client_status']
    """
    return _flatten(allocs, "enrichment.allocations", _ALLOC_FIELDS, ALLOCATIONS, label, ctx)


def _flatten(
    items: list[Any] | None,
    key: str,
    fields: tuple[tuple[str, str, str], ...],
    table: Any,
    label: str,
    ctx: tuple[str | None, str | None],
) -> pd.DataFrame | None:
    if items is None:
        return None
    # _list checks "a list of objects" and words its errors like the endpoint's own lists.
    rows = _list({key: items}, key, label)
    if not rows:
        return empty_frame(table)
    columns = {
        name: _column(kind, [row.get(json_key) for row in rows], (label, key, json_key))
        for name, json_key, kind in fields
    }
    return _frame(table, columns, len(rows), ctx)
