"""Run the benchmarks: ``python -m bench [--large] [--only NAME]``.

Every benchmark prints its own table. The exit status is 0 even when a target is missed (these are
measurements; a missed target is printed as FAIL), and non-zero only when a benchmark crashes or the
arguments are wrong.

To add a benchmark, write ``bench/<name>.py`` with ``run(*, large: bool) -> None`` and append it to
:data:`BENCHMARKS`.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from bench import load, report, trend

#: (name, callable) in the order they run. Each callable takes ``large``: also run the large size.
BENCHMARKS: list[tuple[str, Callable[..., object]]] = [
    ("load", load.run),
    ("report", report.run),
    ("trend", trend.run),
]


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the arguments and run the selected benchmarks in order."""
    names = [name for name, _ in BENCHMARKS]
    parser = argparse.ArgumentParser(prog="python -m bench", description="Benchmarks of nomad-wi-readiness.")
    parser.add_argument("--large", action="store_true", help="also run the large size (100k jobs, ~140 MB)")
    parser.add_argument(
        "--only", metavar="NAME", action="append", choices=names, help=f"run only this benchmark: {', '.join(names)}"
    )
    parser.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    args = parser.parse_args(argv)
    if args.list:
        print("\n".join(names))
        return 0
    selected = [(name, func) for name, func in BENCHMARKS if not args.only or name in args.only]
    for position, (name, func) in enumerate(selected):
        if position:
            print()
        print(f"== {name} ==", flush=True)
        func(large=args.large)
    return 0


if __name__ == "__main__":
    sys.exit(main())
