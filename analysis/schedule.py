"""The scheduled recipe (cron, CI): capture every region, render the reports, keep the last N runs, index them.

Layout of the reports folder::

    reports/
    ├── index.html                     every kept run: time, verdict, counts, links; the latest good run first
    ├── snapshots/                     the captured snapshot files (the history the progress report reads)
    └── runs/
        ├── 20261203T061500Z/          one good run: readiness_report.html (+ .ipynb, CSVs), run.json
        └── 20261204T061500Z.failed/   a failed run: run.json with the error, and whatever it kept

Safety: a lock file (``reports/.lock``, ``flock``) serialises runs started at the same time; each run renders
into a hidden staging folder that is renamed into place when it is done (``<time>`` or ``<time>.failed``), so a
failed run never replaces the last good report, and ``index.html`` is rewritten atomically. Pruning keeps the
newest ``keep`` runs and, always, the newest good one, so a streak of failures cannot delete the last good report.

Examples:
    >>> _run_key("20261203T061500Z-2.failed") > _run_key("20261203T061500Z.failed") > _run_key("20261202T061500Z")
    True
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
from typing import TYPE_CHECKING, Any

import orjson
import pandas as pd

from analysis import config
from analysis.errors import ReadinessError
from analysis.files import atomic_write

if TYPE_CHECKING:
    from analysis.client import NomadSettings

__all__ = ["ScheduledRun", "render_index", "run_scheduled"]


@dataclass(frozen=True)
class ScheduledRun:
    """What one scheduled run did.

    Attributes:
        ok: the run captured every region and rendered its report.
        run_dir: the run's folder, ``runs/<time>`` (or ``runs/<time>.failed``).
        index: the rewritten ``index.html``.
        status: ``ok``, ``partial`` (some regions failed; the others were reported) or ``failed``.
        verdict: the verdict over the captured regions, when the run got that far.
        error: why the run failed, when it did.
        regions_failed: ``(region, error)`` for each region that could not be captured.
        notes: what the capture could not collect (enrichment without the ACL), and a progress report that
            failed; none of them fail the run.
    """

    ok: bool
    run_dir: Path
    index: Path
    status: str = "ok"
    verdict: str | None = None
    error: str | None = None
    regions_failed: tuple[tuple[str | None, str], ...] = ()
    notes: tuple[str, ...] = ()


@contextlib.contextmanager
def _locked(folder: Path) -> Iterator[None]:
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".lock", "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)  # a second run waits here until the first is done
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _run_key(name: str) -> tuple[str, int]:
    """Sort runs by start time, then by the counter of runs started in the same second."""
    stamp, _, counter = name.removesuffix(".failed").partition("-")
    return stamp, int(counter) if counter.isdigit() else 1


def _run_id(runs: Path) -> str:
    """A run name that sorts after every existing run (even when the clock stepped back or runs were pruned)."""
    stamp = pd.Timestamp.now(tz="UTC").strftime("%Y%m%dT%H%M%SZ")
    existing = [_run_key(p.name) for p in runs.iterdir() if not p.name.startswith(".")]
    latest = max(existing, default=("", 0))
    if latest[0] > stamp:
        stamp = latest[0]  # never name a run so that it sorts before an older one
    counter = latest[1] + 1 if latest[0] == stamp else 1
    return stamp if counter == 1 else f"{stamp}-{counter}"


def run_scheduled(
    settings: NomadSettings | None,
    out_dir: str | os.PathLike[str],
    *,
    keep: int = 30,
    all_regions: bool = True,
    cluster: str | None = None,
    stale: bool = False,
    enrich: bool = False,
    redact: bool = False,
    prune_snapshots: bool = False,
    log: Callable[[str], None] | None = None,
    snapshots: list[Path] | None = None,
) -> ScheduledRun:
    """Capture, render and index one run (see the module docstring for the layout and the safety rules).

    Args:
        settings: where and how to connect for the capture (None only together with ``snapshots``).
        out_dir: the reports folder.
        keep: how many runs (good or failed) to keep; older runs are removed, except the newest good run,
            which is always kept.
        all_regions: capture every region (default) or only the settings' region.
        cluster: the cluster's name; default the address's host.
        stale: allow stale reads.
        enrich: also collect every node and the tokens' allocations.
        redact: hash node names, addresses, accessors and allocation IDs in the reports.
        prune_snapshots: also remove the captures only removed runs used (by default every capture is kept: it
            is the history ``trend`` and the progress report read). Files in ``snapshots/`` that no run recorded
            are never removed.
        log: called with one line per step.
        snapshots: use these files instead of capturing (for tests and for re-rendering).

    Returns:
        What happened; ``ok`` is False when a region, the capture or the rendering failed (the index says so too).

    Raises:
        ValueError: ``keep`` is below 1, or neither ``settings`` nor ``snapshots`` is given.
        OSError: the reports folder cannot be created or locked.
    """
    if isinstance(keep, bool) or not isinstance(keep, int) or keep < 1:
        raise ValueError(f"keep must be a whole number of runs, at least 1, not {keep!r}")
    if settings is None and snapshots is None:
        raise ValueError("run_scheduled needs settings to capture with, or snapshots to render")
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
            "notes": [],
        }
        try:
            if snapshots is not None:
                files = [Path(f) for f in snapshots]
            else:
                assert settings is not None
                files = _capture(settings, history, all_regions, cluster, stale, enrich, say, record)
            if not files:
                failed = ", ".join(str(f["region"]) for f in record["regions_failed"]) or "none listed"
                raise ReadinessError(f"no region could be captured (failed: {failed})")
            record["snapshots"] = [str(Path(f).resolve()) for f in files]
            record.update(_render(files, staging, history, redact, say, record["notes"]))
            record["status"] = "ok" if not record["regions_failed"] else "partial"
            final = runs / run_id
        except Exception as exc:  # every failure is recorded as a failed run, so the index never loses one
            record["status"] = "failed"
            record["error"] = str(exc) if isinstance(exc, ReadinessError) else f"{type(exc).__name__}: {exc}"
            final = runs / f"{run_id}.failed"
            say(f"run {run_id} FAILED: {record['error']}")
        record["finished_at"] = pd.Timestamp.now(tz="UTC").isoformat()
        atomic_write(staging / "run.json", orjson.dumps(record, option=orjson.OPT_INDENT_2))
        os.replace(staging, final)
        _prune(runs, history, keep, prune_snapshots=prune_snapshots)
        index = root / "index.html"
        atomic_write(index, render_index(root).encode())
        return ScheduledRun(
            ok=record["status"] == "ok",
            run_dir=final,
            index=index,
            status=record["status"],
            verdict=record.get("verdict"),
            error=record.get("error"),
            regions_failed=tuple((f["region"], f["error"]) for f in record["regions_failed"]),
            notes=tuple(record["notes"]),
        )


def _capture(
    settings: NomadSettings,
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
    record["notes"].extend(f"{r.region or 'region'}: {note}" for r in results for note in r.notes)
    return [r.path for r in results if r.path is not None]


def _render(
    files: list[Path], staging: Path, history: Path, redact: bool, say: Callable[[str], None], notes: list[str]
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
        # The progress report is an extra: when it fails the run still published its readiness report.
        try:
            progress = render_report(
                [],
                staging / "progress",
                notebook="migration_progress",
                redact=redact,
                extra_parameters={"history": str(history)},
            )
        except (ReadinessError, ValueError, TypeError) as exc:
            notes.append(f"progress report not rendered: {exc}")
            say(f"progress report FAILED: {exc}")
        else:
            out["progress_report"] = f"progress/{progress.html.name}"
            say("progress report rendered")
    return out


def _snapshots_of(run: Path) -> set[str]:
    with contextlib.suppress(OSError, ValueError):
        return set(orjson.loads((run / "run.json").read_bytes()).get("snapshots", []))
    return set()


def _prune(runs: Path, history: Path, keep: int, *, prune_snapshots: bool = False) -> None:
    """Remove all but the newest ``keep`` runs (and the newest good one); with ``prune_snapshots``, also the
    captures only the removed runs used.

    The captures are the history ``trend`` and the progress report read, so they are kept unless asked. Only
    files a removed run recorded, inside ``history``, are deleted: snapshots put there by hand, or by a run
    killed before it recorded them, are left alone.
    """
    every = sorted(
        (p for p in runs.iterdir() if p.is_dir() and not p.name.startswith(".")), key=lambda p: _run_key(p.name)
    )
    kept = every[-keep:]
    good = [p for p in every if not p.name.endswith(".failed") and (p / "run.json").is_file()]
    if good and good[-1] not in kept:
        kept.insert(0, good[-1])  # the last good report outlives any streak of failed runs
    removed = [p for p in every if p not in kept]
    dropped = set().union(*(_snapshots_of(p) for p in removed))
    for old in removed:
        shutil.rmtree(old, ignore_errors=True)
    if not prune_snapshots:
        return
    used = set().union(*(_snapshots_of(p) for p in kept))
    folder = history.resolve()
    for name in sorted(dropped - used):
        path = Path(name)
        if path.parent == folder and path.name.endswith((".json", ".json.gz")):
            path.unlink(missing_ok=True)


def render_index(root: str | os.PathLike[str]) -> str:
    """The ``index.html`` of a reports folder: every kept run, newest first, escaped, self-contained."""
    root = Path(root)
    rows = []
    latest_good = None
    records = [p for p in (root / "runs").glob("*/run.json") if not p.parent.name.startswith(".")]
    for run in sorted(records, key=lambda p: _run_key(p.parent.name), reverse=True):
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
        record_href = html.escape(f"runs/{run.parent.name}/run.json", quote=True)
        link += f'{" · " if link else ""}<a href="{record_href}">run.json</a>'
        detail = "; ".join(
            [
                *([record["error"]] if record.get("error") else []),
                *(f"{f.get('region')}: {f.get('error')}" for f in record.get("regions_failed", [])),
                *(f"note: {note}" for note in record.get("notes", [])),
            ]
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
<th>links</th><th>errors and notes</th></tr></thead>
<tbody>
{body}
</tbody></table></body></html>
"""
