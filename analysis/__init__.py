"""nomad-wi-readiness: is a Nomad cluster ready to move to Vault workload identities?

The public API, in the order of the work:

- load: :func:`load_snapshot` (files, stdin, bytes, dicts) and :func:`fetch_snapshot` (a live agent) give a
  :class:`Snapshot` of typed frames;
- analyse: :func:`summarize` and the grouping functions in :mod:`analysis.risk`;
- report: :func:`render_report` runs the parameterized notebooks into self-contained HTML.

Every expected failure raises a subclass of :class:`ReadinessError` (see :mod:`analysis.errors`).
"""

from __future__ import annotations

from analysis.client import NomadSettings, fetch_snapshot, list_regions
from analysis.errors import (
    ConfigError,
    EndpointMissingError,
    NoLeaderError,
    NomadConnectionError,
    NomadError,
    NomadHTTPError,
    NomadResponseError,
    NomadTLSError,
    PermissionDeniedError,
    ReadinessError,
    ReportError,
    SnapshotDecodeError,
    SnapshotError,
    SnapshotMismatchError,
    SnapshotNotFoundError,
    SnapshotShapeError,
    UnknownRegionError,
)
from analysis.history import (
    History,
    Projection,
    SnapshotDiff,
    SnapshotSkippedWarning,
    diff_snapshots,
    export_history,
    load_history,
    project_finish,
)
from analysis.report import ReportResult, render_report
from analysis.risk import Analysis, analyse, summarize
from analysis.snapshot import Snapshot, SnapshotInfo, load_snapshot
from analysis.versions import compare_versions, is_outdated, parse_version, version_sort_key

__version__ = "0.1.0"

__all__ = [
    "Analysis",
    "ConfigError",
    "EndpointMissingError",
    "History",
    "NoLeaderError",
    "NomadConnectionError",
    "NomadError",
    "NomadHTTPError",
    "NomadResponseError",
    "NomadSettings",
    "NomadTLSError",
    "PermissionDeniedError",
    "Projection",
    "ReadinessError",
    "ReportError",
    "ReportResult",
    "Snapshot",
    "SnapshotDecodeError",
    "SnapshotDiff",
    "SnapshotError",
    "SnapshotInfo",
    "SnapshotMismatchError",
    "SnapshotNotFoundError",
    "SnapshotShapeError",
    "SnapshotSkippedWarning",
    "UnknownRegionError",
    "__version__",
    "analyse",
    "compare_versions",
    "diff_snapshots",
    "export_history",
    "fetch_snapshot",
    "is_outdated",
    "list_regions",
    "load_history",
    "load_snapshot",
    "parse_version",
    "project_finish",
    "render_report",
    "summarize",
    "version_sort_key",
]
