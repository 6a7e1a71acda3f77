"""Benchmark: rendering the readiness report for the 10k-job snapshot against rendering the empty cluster.

Both renders run in the same process, alternating, best of ``repeats``: the empty cluster measures the fixed
cost (starting a Jupyter kernel, imports, exporting HTML), so the ratio says what the data itself costs.
Targets: the 10k-job render at most 1.5x the empty one, and its HTML under 8 MB (tables beyond ``top_n`` rows go
to CSV files beside it).
"""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path

from bench import ROOT, SMALL, snapshot_file

TIME_TARGET = 1.5
SIZE_TARGET = 8_000_000
EMPTY = ROOT / "tests" / "fixtures" / "empty-cluster.json"


def _render(snapshot: Path, out: Path) -> tuple[float, int]:
    from analysis.report import render_report

    shutil.rmtree(out, ignore_errors=True)
    started = time.perf_counter()
    result = render_report([snapshot], out)
    return time.perf_counter() - started, result.html.stat().st_size


def run(*, large: bool = False, repeats: int = 2) -> dict[str, float]:
    """Measure and print; ``large`` is accepted for the dispatcher and changes nothing here."""
    del large
    big = snapshot_file(SMALL)
    work = Path(tempfile.mkdtemp(prefix="wi-bench-report-"))
    try:
        _render(EMPTY, work / "warm")  # first kernel start of the process pays one-off import costs
        empty_times, big_times = [], []
        size = 0
        for _ in range(repeats):
            empty_times.append(_render(EMPTY, work / "empty")[0])
            elapsed, size = _render(big, work / "big")
            big_times.append(elapsed)
        csvs = sorted(p.name for p in (work / "big").glob("*.csv"))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    empty_s, big_s = min(empty_times), min(big_times)
    ratio = big_s / empty_s
    ok = ratio <= TIME_TARGET and size < SIZE_TARGET
    print(f"render_report: {SMALL.label} snapshot vs the empty cluster, best of {repeats}, same process")
    print(f"targets: time ratio <= {TIME_TARGET}, HTML < {SIZE_TARGET / 1e6:.0f} MB")
    print(f"{'empty s':>8} {'10k s':>8} {'ratio':>6} {'HTML MB':>8}  result")
    print(f"{empty_s:>8.2f} {big_s:>8.2f} {ratio:>6.2f} {size / 1e6:>8.2f}  {'PASS' if ok else 'FAIL'}")
    print(f"CSV files beside the HTML: {', '.join(csvs)}")
    return {"empty_s": empty_s, "big_s": big_s, "ratio": ratio, "html_bytes": size}
