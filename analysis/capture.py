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

import pandas as pd

from analysis.errors import ReadinessError

__all__ = ["CaptureResult", "capture", "snapshot_filename"]

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True)
class CaptureResult:
    """One region's capture: the file written, or the error that stopped it."""

    region: str | None
    path: Path | None = None
    error: str | None = None


def _safe(name: str | None, fallback: str) -> str:
    cleaned = _UNSAFE.sub("-", name or "").strip("-.")
    return cleaned or fallback


def snapshot_filename(cluster: str | None, region: str | None, captured_at: pd.Timestamp, *, gzip: bool = True) -> str:
    """``<cluster>_<region>_<UTC time>.json[.gz]``, with characters unsafe in file names replaced by ``-``."""
    stamp = captured_at.tz_convert("UTC").strftime("%Y%m%dT%H%M%S.%fZ")
    return f"{_safe(cluster, 'cluster')}_{_safe(region, 'region')}_{stamp}.json{'.gz' if gzip else ''}"


def capture(
    settings: object,
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
        settings: :class:`analysis.client.NomadSettings`.
        out_dir: the folder for the files (created if needed).
        all_regions: ask ``/v1/regions`` and capture each region into its own file.
        cluster: the cluster's name for the files and reports; default the address's host.
        stale: allow stale reads (works without a leader).
        enrich: also collect every node and the legacy tokens' allocations.
        gzip: write ``.json.gz`` (default) or plain ``.json``.
        progress: called with one line per step, for a terminal.

    Returns:
        One result per region, in order; a failed region has ``error`` set and no ``path``.

    Raises:
        ReadinessError: only when the region list itself cannot be read, or the single region fails.
    """
    from analysis.client import fetch_snapshot, list_regions

    say = progress or (lambda line: None)
    regions: list[str | None]
    if all_regions:
        regions = list(list_regions(settings))  # type: ignore[arg-type]
        say(f"regions: {', '.join(regions) or '(none)'}")
    else:
        regions = [getattr(settings, "region", None)]
    results = []
    for region in regions:
        label = region or "(agent's region)"
        say(f"fetching {label} ...")
        try:
            snap = fetch_snapshot(
                settings=dataclasses.replace(settings, region=region),  # type: ignore[type-var]
                stale=stale,
                cluster=cluster,
                enrich=enrich,
            )
            captured = snap.info.captured_at or pd.Timestamp.now(tz="UTC")
            name = snapshot_filename(snap.cluster, snap.region or region, captured, gzip=gzip)
            path = snap.save(Path(out_dir) / name)
        except ReadinessError as exc:
            if not all_regions:
                raise
            say(f"  {label}: FAILED: {exc}")
            results.append(CaptureResult(region=region, error=str(exc)))
            continue
        counts = f"{len(snap.jobs)} jobs, {len(snap.nodes)} outdated nodes"
        say(f"  {label}: {counts} -> {path}")
        for note in snap.info.enrichment_notes:
            say(f"  note: {note}")
        results.append(CaptureResult(region=snap.region or region, path=path))
    return results
