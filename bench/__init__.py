"""Benchmarks of the toolkit, run with ``python -m bench`` (``make bench``) or ``python -m bench --large``.

Each benchmark is a module of this package with a ``run(*, large: bool) -> None`` function, listed in
:data:`bench.__main__.BENCHMARKS`. This module holds what they share: the snapshot sizes and a cache of
generated snapshot files under ``bench/.cache/`` (git-ignored), keyed by size, seed and the generator's source,
so a change to :mod:`analysis.generate` never reuses a stale file.

Examples:
    >>> SMALL.label, LARGE.label
    ('10k/5k/30k', '100k/20k/300k')
    >>> snapshot_path(SMALL).name.startswith("snapshot-j10000-n5000-t30000-s0-g")
    True
"""

from __future__ import annotations

import hashlib
import sys
import time
from dataclasses import dataclass
from pathlib import Path

__all__ = ["CACHE_DIR", "LARGE", "ROOT", "SMALL", "Size", "snapshot_file", "snapshot_path"]

ROOT = Path(__file__).resolve().parent.parent
CACHE_DIR = Path(__file__).resolve().parent / ".cache"


@dataclass(frozen=True)
class Size:
    """A snapshot size: the number of jobs, outdated nodes and legacy tokens."""

    name: str
    jobs: int
    nodes: int
    tokens: int

    @property
    def label(self) -> str:
        """``jobs/nodes/tokens`` in thousands, e.g. ``10k/5k/30k``."""
        return "/".join(f"{n // 1000}k" if n % 1000 == 0 else str(n) for n in (self.jobs, self.nodes, self.tokens))


#: The default size (``make bench``): about 19 MB of compact JSON.
SMALL = Size("small", 10_000, 5_000, 30_000)
#: The size the targets are judged at (``make bench-large``): about 140 MB.
LARGE = Size("large", 100_000, 20_000, 300_000)


def _generator_digest() -> str:
    source = (ROOT / "analysis" / "generate.py").read_bytes()
    return hashlib.sha256(source).hexdigest()[:10]


def snapshot_path(size: Size, seed: int = 0) -> Path:
    """Where the cached snapshot of ``size`` and ``seed`` lives (it may not exist yet)."""
    stem = f"snapshot-j{size.jobs}-n{size.nodes}-t{size.tokens}-s{seed}"
    return CACHE_DIR / f"{stem}-g{_generator_digest()}.json"


def snapshot_file(size: Size, seed: int = 0) -> Path:
    """The cached snapshot file (compact JSON, uncompressed), generated on first use.

    Files of the same size and seed made by an older generator are removed.
    """
    path = snapshot_path(size, seed)
    if not path.exists():
        from analysis.generate import write_snapshot_file

        stem = path.name.rsplit("-g", 1)[0]
        for stale in CACHE_DIR.glob(f"{stem}-g*.json"):
            stale.unlink(missing_ok=True)
        started = time.perf_counter()
        print(f"generating {size.name} snapshot ({size.label}) into {path.relative_to(ROOT)} ...", file=sys.stderr)
        written = write_snapshot_file(path, size.jobs, size.nodes, size.tokens, seed=seed)
        print(f"  {written / 1e6:.1f} MB in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    return path
