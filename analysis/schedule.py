"""The scheduled recipe (cron, CI): capture every region, render the reports, keep the last N runs, index them.

Layout of the reports folder::

    reports/
    ├── index.html                     every kept run: time, verdict, counts, links; the latest good run first
    ├── snapshots/                     the captured snapshot files (the history the progress report reads)
    └── runs/
        ├── 20261203T061500Z/          one good run: readiness_report.html (+ .ipynb, CSVs), run.json
        └── 20261204T061500Z.failed/   a failed run: run.json with the error, and whatever it kept

Safety: a lock file (``reports/.lock``, ``flock``) serialises runs started at the same time; each run renders
into a hidden staging folder that is renamed into place only when it succeeded, so a failed run never replaces
the last good report, and ``index.html`` is rewritten atomically.
"""

from __future__ import annotations

import contextlib
import fcntl
import html
import os
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pandas as pd

from analysis import config
from analysis.errors import ReadinessError
from analysis.files import atomic_write

__all__ = ["ScheduledRun", "render_index", "run_scheduled"]


@dataclass(frozen=True)
class ScheduledRun:
    """What one scheduled run did."""

    ok: bool
    run_dir: Path
    index: Path
    verdict: str | None = None
    error: str | None = None


@contextlib.contextmanager
def _locked(folder: Path) -> Iterator[None]:
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".lock", "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)  # a second run waits here until the first is done
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _run_id(runs: Path) -> str:
    stamp = pd.Timestamp.now(tz="UTC").strftime("%Y%m%dT%H%M%SZ")
    run_id, n = stamp, 1
    while (runs / run_id).exists() or (runs / f"{run_id}.failed").exists():
        n += 1
        run_id = f"{stamp}-{n}"
    return run_id


def run_scheduled(
    settings: object,
    out_dir: str | os.PathLike[str],
    *,
    keep: int = 30,
    all_regions: bool = True,
    cluster: str | None = None,
    stale: bool = False,
    enrich: bool = False,
    redact: bool = False,
    log: Callable[[str], None] | None = None,
    snapshots: list[Path] | None = None,
) -> ScheduledRun:
    """Capture, render and index one run (see the module docstring for the layout and the safety rules).

    Args:
        settings: :class:`analysis.client.NomadSettings` for the capture.
        out_dir: the reports folder.
        keep: how many runs (good or failed) to keep; older runs and the snapshots only they used are removed.
        all_regions: capture every region (default) or only the settings' region.
        cluster: the cluster's name; default the address's host.
        stale: allow stale reads.
        enrich: also collect every node and the tokens' allocations.
        redact: hash node names, addresses, accessors and allocation IDs in the reports.
        log: called with one line per step.
        snapshots: use these files instead of capturing (for tests and for re-rendering).

    Returns:
        What happened; ``ok`` is False when capture or rendering failed (the index says so too).
    """
    if keep < 1:
        raise ValueError("keep must be at least 1")
    say = log or (lambda line: None)
    root = Path(out_dir).resolve()
    runs = root / "runs"
    history = root / "snapshots"
    with _locked(root):
        runs.mkdir(parents=True, exist_ok=True)
        for leftover in runs.glob(".*.staging"):  # from a run that was killed; we hold the lock now
            shutil.rmtree(leftover, ignore_errors=True)
        run_id = _run_id(runs)
        staging = runs / f".{run_id}.staging"
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir()
        record: dict[str, Any] = {
            "run": run_id,
            "started_at": pd.Timestamp.now(tz="UTC").isoformat(),
            "snapshots": [],
            "regions_failed": [],
        }
        try:
            files = (
                snapshots
                if snapshots is not None
                else _capture(settings, history, all_regions, cluster, stale, enrich, say, record)
            )
            if not files:
                raise ReadinessError("no region could be captured; see the errors above")
            record["snapshots"] = [str(Path(f).resolve()) for f in files]
            record.update(_render(files, staging, history, redact, say))
            record["status"] = "ok" if not record["regions_failed"] else "partial"
            final = runs / run_id
        except (ReadinessError, OSError, ValueError) as exc:
            record["status"] = "failed"
            record["error"] = str(exc)
            final = runs / f"{run_id}.failed"
            say(f"run {run_id} FAILED: {exc}")
        record["finished_at"] = pd.Timestamp.now(tz="UTC").isoformat()
        atomic_write(staging / "run.json", orjson.dumps(record, option=orjson.OPT_INDENT_2))
        os.replace(staging, final)
        _prune(runs, history, keep)
        index = root / "index.html"
        atomic_write(index, render_index(root).encode())
        ok = record["status"] in ("ok",)
        return ScheduledRun(ok=ok, run_dir=final, index=index, verdict=record.get("verdict"), error=record.get("error"))


def _capture(
    settings: object,
    history: Path,
    all_regions: bool,
    cluster: str | None,
    stale: bool,
    enrich: bool,
    say: Callable[[str], None],
    record: dict[str, Any],
) -> list[Path]:
    from analysis.capture import capture

    results = capture(
        settings, history, all_regions=all_regions, cluster=cluster, stale=stale, enrich=enrich, progress=say
    )
    record["regions_failed"] = [{"region": r.region, "error": r.error} for r in results if r.path is None]
    return [r.path for r in results if r.path is not None]


def _render(
    files: list[Path], staging: Path, history: Path, redact: bool, say: Callable[[str], None]
) -> dict[str, Any]:
    from analysis.report import render_report
    from analysis.risk import summarize
    from analysis.snapshot import load_snapshot

    summary = summarize([load_snapshot(f) for f in files])
    say(f"verdict: {summary['verdict']}")
    result = render_report([str(f) for f in files], staging, redact=redact)
    say(f"report: {result.html.name}")
    out: dict[str, Any] = {"verdict": summary["verdict"], "counts": summary["counts"], "report": result.html.name}
    if (config.NOTEBOOKS_DIR / "migration_progress.ipynb").exists() and history.is_dir():
        progress = render_report(
            [],
            staging / "progress",
            notebook="migration_progress",
            redact=redact,
            extra_parameters={"history": str(history)},
        )
        out["progress_report"] = f"progress/{progress.html.name}"
        say("progress report rendered")
    return out


def _prune(runs: Path, history: Path, keep: int) -> None:
    kept = sorted((p for p in runs.iterdir() if p.is_dir() and not p.name.startswith(".")), key=lambda p: p.name)
    for old in kept[:-keep]:
        shutil.rmtree(old, ignore_errors=True)
    if not history.is_dir():
        return
    used: set[str] = set()
    for run in kept[-keep:]:
        with contextlib.suppress(OSError, ValueError):
            used.update(orjson.loads((run / "run.json").read_bytes()).get("snapshots", []))
    for snap in history.iterdir():
        if snap.is_file() and str(snap.resolve()) not in used and snap.name.endswith((".json", ".json.gz")):
            snap.unlink(missing_ok=True)


def render_index(root: str | os.PathLike[str]) -> str:
    """The ``index.html`` of a reports folder: every kept run, newest first, escaped, self-contained."""
    root = Path(root)
    rows = []
    latest_good = None
    for run in sorted((root / "runs").glob("*/run.json"), key=lambda p: p.parent.name, reverse=True):
        try:
            record = orjson.loads(run.read_bytes())
        except (OSError, orjson.JSONDecodeError):
            continue
        status = record.get("status", "?")
        counts = record.get("counts") or {}
        link = ""
        if record.get("report") and status != "failed":
            href = html.escape(f"runs/{run.parent.name}/{record['report']}", quote=True)
            link = f'<a href="{href}">report</a>'
            if record.get("progress_report"):
                phref = html.escape(f"runs/{run.parent.name}/{record['progress_report']}", quote=True)
                link += f' · <a href="{phref}">progress</a>'
            latest_good = latest_good or href
        detail = record.get("error") or "; ".join(
            f"{f.get('region')}: {f.get('error')}" for f in record.get("regions_failed", [])
        )
        rows.append(
            "<tr>"
            f"<td>{html.escape(str(record.get('run', run.parent.name)))}</td>"
            f"<td class='{html.escape(status)}'>{html.escape(status)}</td>"
            f"<td>{html.escape(str(record.get('verdict') or '—'))}</td>"
            f"<td>{html.escape(str(counts.get('jobs_active', '—')))}</td>"
            f"<td>{html.escape(str(counts.get('nodes_live', '—')))}</td>"
            f"<td>{link}</td><td>{html.escape(detail)}</td>"
            "</tr>"
        )
    latest = (
        f'<p>Latest good report: <a href="{latest_good}">{latest_good}</a></p>'
        if latest_good
        else ("<p>No good report yet.</p>")
    )
    body = "\n".join(rows) or "<tr><td colspan='7'>No runs yet.</td></tr>"
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Vault workload identity readiness: runs</title>
<style>body{{font-family:system-ui,sans-serif;margin:2em}}table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:4px 8px;text-align:left}}.failed{{color:#b00}}.ok{{color:#070}}
.partial{{color:#a60}}</style></head>
<body><h1>Vault workload identity readiness: runs</h1>
{latest}
<table><thead><tr><th>run (UTC)</th><th>status</th><th>verdict</th><th>active jobs</th><th>live outdated nodes</th>
<th>links</th><th>errors</th></tr></thead>
<tbody>
{body}
</tbody></table></body></html>
"""
