"""Trend benchmark: a year of daily 10k-job snapshots read back as a trend, against loading ONE snapshot.

What is timed, in one process and one run (the small size: 10k jobs, 5k nodes, 30k tokens, ~19 MB of JSON a day):

1. **one snapshot** (the baseline): ``load_snapshot`` of one raw daily file as it is stored (``.json.gz``), best of 3.
2. **trend from the dataset**: ``load_history`` on the Parquet dataset of 365 daily snapshots. It reads only the
   small ``snapshots`` table (one row per snapshot). Best of 5. Its ratio to (1) is the headline number.
3. **trend from raw files**: ``load_history`` on a folder of 30 raw daily files, once, and that time
   **extrapolated** to 365 files (× 365/30; labelled as such, never measured: 365 raw files would be ~7 GB).

The data is built once and cached under ``bench/.cache/trend-<digest>/`` (git-ignored), keyed by the sources of
:mod:`analysis.generate`, :mod:`analysis.history`, :mod:`analysis.schema` and this file:

- day 1 is ``generate_body(10_000, 5_000, 30_000, seed=0)``; a progression seeded with 1 then removes rows day by
  day: 70 % of the jobs are resubmitted with an identity and 85 % of the nodes upgraded, on days spread uniformly
  over the year (the rest stay listed all year); a token goes with its node or on a day of its own;
- the 365 days are exported with :func:`analysis.history.export_snapshots` straight from filtered frames, one at
  a time (so building the cache measures nothing and writes no raw JSON);
- the first 30 days are also written as raw envelope files from the same row masks, and the run checks that the
  trend from those files equals the dataset's first 30 rows.

Building the cache takes about two minutes (most of it counting each day with :mod:`analysis.risk`'s rules);
later runs take seconds plus the 30-file load.

Run it with ``python -m bench --only trend``, or ``python -m bench.trend``.
"""

from __future__ import annotations

import argparse
import gc
import gzip
import hashlib
import platform
import shutil
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from bench import CACHE_DIR, ROOT, SMALL

__all__ = ["DAYS", "RAW_FILES", "TrendResult", "measure", "run"]

#: Daily snapshots in the dataset.
DAYS = 365
#: Raw daily files actually loaded by the files-based trend (the rest is extrapolated).
RAW_FILES = 30
_START = "2025-01-01T06:00:00Z"
_SOURCES = ("analysis/generate.py", "analysis/history.py", "analysis/schema.py", "bench/trend.py")


@dataclass(frozen=True)
class TrendResult:
    """The measurements of one run."""

    one_s: float
    dataset_s: float
    files_s: float
    snapshot_bytes: int
    dataset_bytes: int
    dataset_files: int
    built_s: float | None

    @property
    def dataset_ratio(self) -> float:
        return self.dataset_s / self.one_s

    @property
    def files_ratio(self) -> float:
        return self.files_s / self.one_s

    @property
    def extrapolated_s(self) -> float:
        return self.files_s * DAYS / RAW_FILES


# -- the progression ---------------------------------------------------------------------------------------------


@dataclass
class _Progression:
    body: dict[str, Any]
    base: Any  # analysis.Snapshot of day 1
    job_gone: np.ndarray  # the first day (0-based) a job is no longer listed; DAYS + 1 = never
    node_gone: np.ndarray
    token_gone: np.ndarray


def _progression() -> _Progression:
    from analysis.generate import generate_body
    from analysis.snapshot import build_snapshot

    body = generate_body(SMALL.jobs, SMALL.nodes, SMALL.tokens, seed=0)
    base = build_snapshot(body, source="generate_body(seed=0)")
    rng = np.random.default_rng(1)
    never = DAYS + 1
    n_jobs, n_nodes, n_tokens = len(base.jobs), len(base.nodes), len(base.tokens)
    job_gone = np.where(rng.random(n_jobs) < 0.70, rng.integers(1, DAYS, n_jobs), never)
    node_gone = np.where(rng.random(n_nodes) < 0.85, rng.integers(1, DAYS, n_nodes), never)
    by_node = dict(zip(base.nodes["id"].tolist(), node_gone.tolist(), strict=True))
    with_node = np.array([by_node.get(n, never) for n in base.tokens["node_id"].tolist()], dtype=np.int64)
    token_gone = np.minimum(with_node, rng.integers(1, 2 * DAYS, n_tokens))
    return _Progression(body, base, job_gone, node_gone, token_gone)


def _captured_at(day: int) -> Any:
    import pandas as pd

    return pd.Timestamp(_START) + pd.Timedelta(days=day)


def _index(p: _Progression, day: int) -> int:
    return int(p.base.info.index) + 5_000 * day


def _day_snapshot(p: _Progression, day: int) -> Any:
    """Day ``day`` (0-based) as a Snapshot made of row subsets of day 1's frames (no JSON involved)."""
    from analysis.snapshot import Snapshot

    base = p.base
    nodes_kept = p.node_gone > day
    kept_ids = base.nodes["id"][nodes_kept]
    info = replace(
        base.info,
        cluster="bench",
        region="global",
        captured_at=_captured_at(day),
        index=_index(p, day),
        source=f"<bench day {day + 1}>",
        shape="envelope",
    )
    return Snapshot(
        jobs=base.jobs[p.job_gone > day].reset_index(drop=True),
        nodes=base.nodes[nodes_kept].reset_index(drop=True),
        node_drivers=base.node_drivers[base.node_drivers["node_id"].isin(kept_ids)].reset_index(drop=True),
        tokens=base.tokens[p.token_gone > day].reset_index(drop=True),
        info=info,
        body=b"{}",  # only hashed into the snapshot_id; the dataset never stores the raw body
    )


def _day_envelope(p: _Progression, day: int) -> bytes:
    """Day ``day`` as the raw envelope file ``fetch`` would have written, from the same row masks."""
    body = dict(p.body)
    body["JobsWithoutVaultIdentity"] = [j for j, gone in zip(p.body["JobsWithoutVaultIdentity"], p.job_gone,
                                                             strict=True) if gone > day]  # fmt: skip
    body["OutdatedNodes"] = [n for n, gone in zip(p.body["OutdatedNodes"], p.node_gone, strict=True) if gone > day]
    body["VaultTokens"] = [t for t, gone in zip(p.body["VaultTokens"], p.token_gone, strict=True) if gone > day]
    body["Index"] = _index(p, day)
    document = {
        "format": "nomad-wi-readiness/snapshot",
        "version": 1,
        "captured_at": _captured_at(day).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "cluster": "bench",
        "region": "global",
        "address": None,
        "nomad_version": "1.9.7",
        "body_shape": "http-body",
        "headers": {},
        "response": body,
        "enrichment": None,
    }
    return gzip.compress(orjson.dumps(document), compresslevel=1, mtime=0)


# -- the cache ---------------------------------------------------------------------------------------------------


def cache_dir() -> Path:
    """``bench/.cache/trend-<digest of the sources the data depends on>``."""
    digest = hashlib.sha256()
    for name in _SOURCES:
        digest.update((ROOT / name).read_bytes())
    return CACHE_DIR / f"trend-j{SMALL.jobs}-d{DAYS}-{digest.hexdigest()[:10]}"


def _build(target: Path) -> float:
    """Build the dataset and the raw files into ``target`` (via a temporary folder); return the seconds taken."""
    from analysis.files import atomic_write
    from analysis.history import export_snapshots

    for stale in CACHE_DIR.glob("trend-*"):
        shutil.rmtree(stale, ignore_errors=True)
    building = target.with_name(target.name + ".building")
    building.mkdir(parents=True)
    started = time.perf_counter()
    print(f"building {DAYS} daily snapshots ({SMALL.label}) into {target.relative_to(ROOT)} ...", file=sys.stderr)
    p = _progression()
    for day in range(RAW_FILES):
        atomic_write(building / "files" / f"day{day + 1:03d}.json.gz", _day_envelope(p, day))
    history = export_snapshots((_day_snapshot(p, day) for day in range(DAYS)), building / "dataset")
    assert len(history.trend) == DAYS, history
    building.rename(target)
    elapsed = time.perf_counter() - started
    print(f"  built in {elapsed:.0f} s", file=sys.stderr)
    return elapsed


# -- measuring ---------------------------------------------------------------------------------------------------


def _best(func: Callable[[], Any], repeats: int) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(repeats):
        gc.collect()
        started = time.perf_counter()
        result = func()
        times.append(time.perf_counter() - started)
    return min(times), result


def measure() -> TrendResult:
    """Build the cache if needed, then time the baseline and both trends."""
    import pandas as pd

    from analysis.history import load_history
    from analysis.snapshot import load_snapshot

    target = cache_dir()
    built = None if target.is_dir() else _build(target)
    files, dataset = target / "files", target / "dataset"
    one_file = files / "day001.json.gz"

    load_snapshot(one_file)  # warm-up: imports and first-call costs belong to no measurement
    one_s, _ = _best(lambda: load_snapshot(one_file), 3)
    dataset_s, from_dataset = _best(lambda: load_history(dataset), 5)
    files_s, from_files = _best(lambda: load_history(files), 1)

    # The two roads must agree on the days both have.
    columns = ["captured_at", "index", "verdict", "blocking", "jobs_active", "jobs_inactive", "specs_to_resubmit",
               "nodes_live", "nodes_down", "tokens"]  # fmt: skip
    pd.testing.assert_frame_equal(from_files.trend[columns], from_dataset.trend[columns].iloc[:RAW_FILES])
    assert len(from_dataset.trend) == DAYS

    parquet = list(dataset.rglob("*.parquet"))
    return TrendResult(
        one_s=one_s,
        dataset_s=dataset_s,
        files_s=files_s,
        snapshot_bytes=len(gzip.decompress(one_file.read_bytes())),
        dataset_bytes=sum(f.stat().st_size for f in parquet),
        dataset_files=len(parquet),
        built_s=built,
    )


def run(*, large: bool = False) -> TrendResult:
    """Measure and print the table (``large`` is accepted for the dispatcher; this benchmark has one size)."""
    import pandas
    import pyarrow

    print(
        f"trend over {DAYS} daily snapshots ({SMALL.label} each) vs load_snapshot of ONE of them; "
        f"Python {platform.python_version()}, pandas {pandas.__version__}, pyarrow {pyarrow.__version__}"
    )
    if large:
        print("(--large: this benchmark has only the small size)")
    result = measure()
    rows = [
        ("load_snapshot, one raw daily file (.json.gz)", 1, result.one_s, 1.0, ""),
        ("load_history, Parquet dataset", DAYS, result.dataset_s, result.dataset_ratio, ""),
        ("load_history, raw daily files", RAW_FILES, result.files_s, result.files_ratio, ""),
        (
            "load_history, raw daily files",
            DAYS,
            result.extrapolated_s,
            result.extrapolated_s / result.one_s,
            f"EXTRAPOLATED: the {RAW_FILES}-file time × {DAYS}/{RAW_FILES}, not measured",
        ),
    ]
    print(f"{'what':<46} {'snapshots':>9} {'seconds':>9} {'× one':>8}")
    for what, n, seconds, ratio, note in rows:
        print(f"{what:<46} {n:>9} {seconds:>9.3f} {ratio:>8.2f}  {note}".rstrip(), flush=True)
    built = f"built in {result.built_s:.0f} s this run" if result.built_s is not None else "cached"
    print(
        f"dataset: {result.dataset_files} Parquet files, {result.dataset_bytes / 1e6:.1f} MB for {DAYS} snapshots "
        f"of {result.snapshot_bytes / 1e6:.1f} MB of JSON each ({built})"
    )
    print(
        f"ratio: the trend of a year from the dataset takes {result.dataset_ratio:.2f}× the time of loading one "
        f"day's snapshot ({result.extrapolated_s / result.dataset_s:,.0f}× faster than the extrapolated raw files)"
    )
    return result


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.trend", description=__doc__.splitlines()[0])
    parser.add_argument("--large", action="store_true", help="accepted for symmetry; there is one size")
    args = parser.parse_args(argv)
    run(large=args.large)
    return 0


if __name__ == "__main__":
    sys.exit(main())
