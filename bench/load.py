"""Loader benchmark: ``load_snapshot`` against plain ``orjson.loads`` of the same bytes, time and memory.

For each size, in one process and one run:

1. **Time.** The snapshot file's bytes are read into memory once. Then ``orjson.loads(data)`` (the baseline,
   default settings, the garbage collector left as it is) and ``load_snapshot(data)`` (the subject: all four
   frames, ``jobs``, ``nodes``, ``node_drivers`` and ``tokens``) are timed alternately, after one untimed
   warm-up of each; the best time of each is kept (best of 5 for the small size, of 3 for the large one).
   The time ratio is ``load / orjson``.
2. **Memory.** The peak traced by :mod:`tracemalloc` during one ``load_snapshot(data)`` (Python objects, and
   numpy/pandas buffers, which numpy reports to tracemalloc), above what was traced just before the call,
   divided by the file size. **The memory target is judged by this number.** For reference the peak RSS
   delta is measured too, in a fresh subprocess: ``ru_maxrss`` after one load minus the RSS after the
   imports and after reading the file's bytes.

Targets (judged at the large size only): time ratio ≤ 1.0, memory ratio ≤ 4.0. A missed target prints FAIL,
but the exit status stays 0: this is a measurement.

Run it with ``python -m bench --only load [--large]``, or ``python -m bench.load [--large]``.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import resource
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from bench import LARGE, ROOT, SMALL, Size, snapshot_file

__all__ = ["MEMORY_TARGET", "TIME_TARGET", "LoadResult", "measure", "run"]

#: load_snapshot may take at most this many times as long as orjson.loads (large size).
TIME_TARGET = 1.0
#: The tracemalloc peak during one load may be at most this many times the file size (large size).
MEMORY_TARGET = 4.0
#: Repetitions per size (best of N, baseline and subject alternating).
REPEATS = {"small": 5, "large": 3}


@dataclass(frozen=True)
class LoadResult:
    """The measurements for one size."""

    size: Size
    file_bytes: int
    load_s: float
    orjson_s: float
    traced_peak: int
    rss_delta: int | None
    rows: dict[str, int]

    @property
    def time_ratio(self) -> float:
        return self.load_s / self.orjson_s

    @property
    def memory_ratio(self) -> float:
        return self.traced_peak / self.file_bytes

    @property
    def rss_ratio(self) -> float | None:
        return None if self.rss_delta is None else self.rss_delta / self.file_bytes

    @property
    def judged(self) -> bool:
        """Targets apply to the large size only."""
        return self.size.name == LARGE.name

    def failures(self) -> list[str]:
        failed = []
        if self.time_ratio > TIME_TARGET:
            failed.append(f"time ratio {self.time_ratio:.2f} > {TIME_TARGET:.1f}")
        if self.memory_ratio > MEMORY_TARGET:
            failed.append(f"memory ratio {self.memory_ratio:.2f} > {MEMORY_TARGET:.1f}")
        return failed


def _loader() -> Callable[[bytes], Any]:
    from analysis.snapshot import load_snapshot

    return load_snapshot


def _frames(snapshot: Any) -> dict[str, int]:
    """Touch all four frames (so lazily built ones would be counted) and return their row counts."""
    return {name: len(getattr(snapshot, name)) for name in ("jobs", "nodes", "node_drivers", "tokens")}


def _load_all(load: Callable[[bytes], Any], data: bytes) -> Any:
    snapshot = load(data)
    _frames(snapshot)
    return snapshot


def _timed(func: Callable[[], Any]) -> tuple[float, Any]:
    gc.collect()
    started = time.perf_counter()
    result = func()
    elapsed = time.perf_counter() - started
    return elapsed, result


def _best_times(data: bytes, load: Callable[[bytes], Any], repeats: int) -> tuple[float, float, dict[str, int]]:
    """Best-of-``repeats`` times of orjson.loads and of the loader, alternating, after one warm-up each."""
    baseline_times: list[float] = []
    subject_times: list[float] = []
    rows: dict[str, int] = {}
    for attempt in range(repeats + 1):
        elapsed, parsed = _timed(lambda: orjson.loads(data))
        del parsed
        if attempt:
            baseline_times.append(elapsed)
        elapsed, snapshot = _timed(lambda: _load_all(load, data))
        rows = _frames(snapshot)
        del snapshot
        if attempt:
            subject_times.append(elapsed)
    return min(subject_times), min(baseline_times), rows


def _traced_peak(data: bytes, load: Callable[[bytes], Any]) -> int:
    """Peak bytes traced by tracemalloc during one load, above what was traced right before it."""
    gc.collect()
    tracemalloc.start()
    try:
        before, _ = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        snapshot = _load_all(load, data)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    del snapshot
    return peak - before


def _maxrss_bytes() -> int:
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return maxrss if sys.platform == "darwin" else maxrss * 1024  # Linux reports KiB, macOS bytes


def _reset_peak_rss() -> None:
    """Reset the kernel's peak-RSS mark (Linux: VmHWM), so that a later peak is this load's alone."""
    try:
        with open("/proc/self/clear_refs", "w") as handle:
            handle.write("5")
    except OSError:
        pass


def _peak_rss_bytes() -> int:
    try:
        with open("/proc/self/status") as handle:
            for line in handle:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return _maxrss_bytes()


def _current_rss_bytes() -> int:
    try:
        with open("/proc/self/statm") as handle:
            return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:  # no procfs: the high-water mark is the best available approximation
        return _maxrss_bytes()


def _rss_child(path: str) -> None:
    """In a fresh interpreter: the RSS after imports and reading the bytes, then ru_maxrss after one load."""
    load = _loader()
    import numpy  # noqa: F401  (imported by the loader anyway; listed so the baseline surely includes it)
    import pandas  # noqa: F401

    data = Path(path).read_bytes()
    # One tiny load first: the first call imports pandas' parsing modules lazily, which is not the load's cost.
    from analysis.generate import generate_bytes

    _load_all(load, generate_bytes(50, 20, 50, seed=1))
    gc.collect()
    _reset_peak_rss()
    baseline = _current_rss_bytes()
    high_water_before = _peak_rss_bytes()
    snapshot = _load_all(load, data)
    peak = _peak_rss_bytes()
    summary = {"baseline": baseline, "high_water_before": high_water_before, "peak": peak}
    print(json.dumps({**summary, "rows": _frames(snapshot)}))


def _rss_delta(path: Path) -> int | None:
    """Peak RSS delta of one load in a fresh subprocess, or None when it cannot be measured."""
    completed = subprocess.run(
        [sys.executable, "-m", "bench.load", "--rss-child", str(path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if completed.returncode != 0:
        print(f"  RSS subprocess failed: {completed.stderr.strip().splitlines()[-1:]}", file=sys.stderr)
        return None
    numbers = json.loads(completed.stdout.strip().splitlines()[-1])
    return int(numbers["peak"]) - int(numbers["baseline"])


def measure(size: Size, *, seed: int = 0, repeats: int | None = None) -> LoadResult:
    """Measure one size (generating and caching its snapshot first if needed)."""
    path = snapshot_file(size, seed)
    load = _loader()
    data = path.read_bytes()
    load_s, orjson_s, rows = _best_times(data, load, repeats or REPEATS.get(size.name, 3))
    traced = _traced_peak(data, load)
    return LoadResult(
        size=size,
        file_bytes=len(data),
        load_s=load_s,
        orjson_s=orjson_s,
        traced_peak=traced,
        rss_delta=_rss_delta(path),
        rows=rows,
    )


_HEADER = (
    f"{'size':<6} {'jobs/nodes/tokens':<17} {'MB':>6} {'load s':>7} {'orjson s':>8} {'time ratio':>10} "
    f"{'peak MB':>8} {'mem ratio':>9} {'RSS Δ MB':>8} {'RSS ratio':>9}  result"
)


def _row(result: LoadResult) -> str:
    rss_mb = "n/a" if result.rss_delta is None else f"{result.rss_delta / 1e6:.0f}"
    rss_ratio = "n/a" if result.rss_ratio is None else f"{result.rss_ratio:.2f}"
    if not result.judged:
        verdict = "(no target at this size)"
    else:
        failures = result.failures()
        verdict = "PASS" if not failures else "FAIL: " + "; ".join(failures)
    return (
        f"{result.size.name:<6} {result.size.label:<17} {result.file_bytes / 1e6:>6.1f} {result.load_s:>7.3f} "
        f"{result.orjson_s:>8.3f} {result.time_ratio:>10.2f} {result.traced_peak / 1e6:>8.0f} "
        f"{result.memory_ratio:>9.2f} {rss_mb:>8} {rss_ratio:>9}  {verdict}"
    )


def run(*, large: bool = False) -> list[LoadResult]:
    """Measure the small size, and the large one too when ``large``; print the table as rows complete."""
    import numpy
    import pandas

    sizes = [SMALL, LARGE] if large else [SMALL]
    print(
        f"load_snapshot (bytes -> jobs, nodes, node_drivers, tokens) vs orjson.loads of the same bytes; "
        f"Python {platform.python_version()}, pandas {pandas.__version__}, numpy {numpy.__version__}, "
        f"orjson {orjson.__version__}"
    )
    print(
        f"targets at the large size: time ratio <= {TIME_TARGET:.1f}, memory ratio <= {MEMORY_TARGET:.1f} "
        "(judged by the tracemalloc peak; the RSS delta, from a fresh subprocess, is for reference)"
    )
    print(_HEADER, flush=True)
    results = []
    for size in sizes:
        result = measure(size)
        results.append(result)
        print(_row(result), flush=True)
    for result in results:
        if result.judged and result.failures():
            print(f"FAIL: the loader misses its target at the {result.size.name} size ({result.size.label}).")
    return results


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__.splitlines()[0])
    parser.add_argument("--large", action="store_true", help="also measure the large size")
    parser.add_argument("--rss-child", metavar="PATH", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.rss_child:
        _rss_child(args.rss_child)
    else:
        run(large=args.large)
    return 0


if __name__ == "__main__":
    sys.exit(main())
