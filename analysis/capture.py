"""Capture snapshots of one region or all of them into files named for cluster, region and capture time.

One region failing is reported in its result and does not lose the others.

Examples:
    >>> import pandas as pd
    >>> snapshot_filename("prod eu/1", "global", pd.Timestamp("2026-12-03T17:05:09.25Z"))
    'prod-eu-1_global_20261203T170509.250000Z.json.gz'
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from analysis.errors import NomadResponseError, ReadinessError

if TYPE_CHECKING:
    from analysis.client import NomadSettings

__all__ = ["CaptureResult", "capture", "latest_captures", "snapshot_filename"]

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True)
class CaptureResult:
    """One region's capture: the file written, or the error that stopped it.

    Attributes:
        region: the region asked for (or the agent's own, as the snapshot recorded it); None when unknown.
        path: the snapshot file written, or None when the region failed.
        error: the one-line reason the region failed, or None.
        notes: what the capture could not collect (enrichment without the ACL, the agent's version), one line
            each; the snapshot is still usable.
    """

    region: str | None
    path: Path | None = None
    error: str | None = None
    notes: tuple[str, ...] = ()


def _safe(name: str | None, fallback: str) -> str:
    cleaned = _UNSAFE.sub("-", name or "").strip("-.")
    return cleaned or fallback


def snapshot_filename(cluster: str | None, region: str | None, captured_at: pd.Timestamp, *, gzip: bool = True) -> str:
    """``<cluster>_<region>_<UTC time>.json[.gz]``, with characters unsafe in file names replaced by ``-``.

    Args:
        cluster: the cluster's name (``cluster`` when unknown).
        region: the region (``region`` when unknown).
        captured_at: the capture time (tz-aware); microseconds keep two captures of one second apart.
        gzip: end in ``.json.gz`` (default) or ``.json``.

    Returns:
        The file name (no folder).
    """
    stamp = captured_at.tz_convert("UTC").strftime("%Y%m%dT%H%M%S.%fZ")
    return f"{_safe(cluster, 'cluster')}_{_safe(region, 'region')}_{stamp}.json{'.gz' if gzip else ''}"


def _describe(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.filename is not None:
        return f"cannot write {exc.filename}: {exc.strerror or exc}; check the folder and its permissions"
    return str(exc)


def capture(
    settings: NomadSettings,
    out_dir: str | os.PathLike[str],
    *,
    all_regions: bool = False,
    cluster: str | None = None,
    stale: bool = False,
    enrich: bool = False,
    gzip: bool = True,
    progress: Callable[[str], None] | None = None,
) -> list[CaptureResult]:
    """Fetch the endpoint for one region (the settings' own) or every region, and save each as a snapshot file.

    Args:
        settings: where and how to connect (:class:`analysis.client.NomadSettings`).
        out_dir: the folder for the files (created first, so an unusable folder fails before any fetch).
        all_regions: ask ``/v1/regions`` and capture each region into its own file.
        cluster: the cluster's name for the files and reports; default the address's host.
        stale: allow stale reads (works without a leader).
        enrich: also collect every node and the legacy tokens' allocations.
        gzip: write ``.json.gz`` (default) or plain ``.json``.
        progress: called with one line per step, for a terminal.

    Returns:
        One result per region, in order; a failed region has ``error`` set and no ``path``.

    Raises:
        ReadinessError: the region list itself cannot be read, or (without ``all_regions``) the region fails.
        OSError: ``out_dir`` cannot be created, or (without ``all_regions``) the file cannot be written.
    """
    from analysis.client import fetch_snapshot, list_regions

    say = progress or (lambda line: None)
    folder = Path(out_dir)
    folder.mkdir(parents=True, exist_ok=True)
    regions: list[str | None] = [settings.region]
    if all_regions:
        listed = list_regions(settings)
        if not listed:
            raise NomadResponseError(
                f"{settings.address}: /v1/regions listed no regions; capture the agent's own region without "
                "--all-regions",
                address=settings.address,
            )
        say(f"regions: {', '.join(listed)}")
        regions = list(listed)
    results = []
    for region in regions:
        label = region or "(the agent's region)"
        say(f"fetching {label} ...")
        try:
            snap = fetch_snapshot(
                settings=dataclasses.replace(settings, region=region),
                stale=stale,
                cluster=cluster,
                enrich=enrich,
            )
            captured = snap.info.captured_at or pd.Timestamp.now(tz="UTC")
            name = snapshot_filename(snap.cluster, snap.region or region, captured, gzip=gzip)
            path = snap.save(folder / name)
        except (ReadinessError, OSError) as exc:
            if not all_regions:
                raise
            say(f"  {label}: FAILED: {_describe(exc)}")
            results.append(CaptureResult(region=region, error=_describe(exc)))
            continue
        say(f"  {label}: {len(snap.jobs)} jobs, {len(snap.nodes)} outdated nodes -> {path}")
        results.append(CaptureResult(region=snap.region or region, path=path, notes=snap.info.enrichment_notes))
    return results


def latest_captures(folder: str | os.PathLike[str]) -> list[Path]:
    """The newest snapshot file of each (cluster, region) in ``folder`` (searched recursively).

    A folder of scheduled captures holds many snapshots of the same region; commands that take one snapshot per
    region (``summary``, ``check``, ``report``) read a folder as its latest captures. Newest means the latest
    ``captured_at``, then the highest Nomad index, then the file name.

    Raises:
        SnapshotNotFoundError: the folder holds no ``.json`` or ``.json.gz`` file.
        SnapshotError: a file in it cannot be read (its message names the file).
    """
    from analysis.errors import SnapshotNotFoundError
    from analysis.snapshot import load_snapshot

    root = Path(folder)
    files = sorted(
        p
        for pattern in ("*.json", "*.json.gz")
        for p in root.rglob(pattern)
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(root).parts)
    )
    if not files:
        raise SnapshotNotFoundError(
            f"{root}: holds no snapshot (.json or .json.gz); give snapshot files or a folder of captures",
            path=str(root),
        )
    newest: dict[tuple[str | None, str | None], tuple[tuple[object, ...], Path]] = {}
    for path in files:
        info = load_snapshot(path).info
        captured = info.captured_at.value if info.captured_at is not None else -1
        rank = (captured, info.index if info.index is not None else -1, path.name)
        key = (info.cluster, info.region)
        if key not in newest or rank > newest[key][0]:
            newest[key] = (rank, path)
    return [newest[key][1] for key in sorted(newest, key=lambda k: (str(k[0]), str(k[1])))]
