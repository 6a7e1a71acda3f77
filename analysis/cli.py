"""The ``wi-readiness`` command line (also ``python -m analysis``): it parses arguments and calls the library.

Every command is one library call; see ``wi-readiness COMMAND --help`` for each one's options and examples.

Exit codes:
    0: success; for ``check``, the verdict passes the gate (``clear``, or ``cleanup-only`` without
       ``--fail-on cleanup``).
    1: a runtime failure: an unreadable or malformed input, a fetch error (connection, TLS, HTTP), a report that
       failed to render, a file that cannot be written; for ``fetch --all-regions`` and ``scheduled``, any region
       that could not be captured (the others are still written).
    2: a usage error: an unknown flag, a missing or conflicting argument, an invalid setting
       (``NOMAD_SKIP_VERIFY=maybe``, an unreadable ``--token-file``).
    3: ``check`` found the cluster not ready (with ``--fail-on cleanup``: not clear).

Every expected failure prints one line on stderr saying what went wrong and what to do, without a traceback
(``--debug`` adds it) and never with the token.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
import textwrap
import traceback
import warnings
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import orjson
import pandas as pd

from analysis import __version__
from analysis.errors import ReadinessError
from analysis.output import csv_safe, markdown_text, printable

if TYPE_CHECKING:
    from analysis.client import NomadSettings

__all__ = ["EXIT_FAILURE", "EXIT_NOT_READY", "EXIT_OK", "EXIT_USAGE", "build_parser", "main"]

EXIT_OK, EXIT_FAILURE, EXIT_USAGE, EXIT_NOT_READY = 0, 1, 2, 3
PROG = "wi-readiness"
GROUPINGS = {
    "namespace": "by_namespace",
    "datacenter": "by_datacenter",
    "version": "by_version",
    "pool": "by_node_pool",
    "status": "by_node_status",
    "driver": "by_driver",
}

_EPILOG = """\
examples:
  wi-readiness fetch --all-regions --token-file ~/.nomad-token -o today/
  wi-readiness summary today/*.json.gz
  wi-readiness check today/*.json.gz --junit readiness.xml
  wi-readiness report today/*.json.gz -o reports/today

Give summary, check, report and export one snapshot per region or cluster; several captures of one
region over time are for diff and trend.

exit codes: 0 ok, 1 runtime failure (unreadable input, fetch error), 2 usage error,
  3 check: the cluster is not ready
environment: NOMAD_ADDR, NOMAD_TOKEN, NOMAD_REGION, NOMAD_CACERT, NOMAD_CAPATH, NOMAD_CLIENT_CERT,
  NOMAD_CLIENT_KEY, NOMAD_SKIP_VERIFY, NOMAD_TLS_SERVER_NAME, NOMAD_HTTP_AUTH (read as the nomad CLI reads them)
"""

#: The connection flags (dest names) with the value each has when it was not given.
_CONNECTION_FLAGS = {
    "address": None,
    "region": None,
    "token_file": None,
    "ca_cert": None,
    "ca_path": None,
    "client_cert": None,
    "client_key": None,
    "tls_server_name": None,
    "tls_skip_verify": None,
    "stale": False,
    "cluster": None,
}


class _Parser(argparse.ArgumentParser):
    """argparse with exit code 2 and one line for a usage error."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


class _HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Wraps one-line paragraphs to the terminal; keeps examples and multi-line paragraphs as written."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        paragraphs = []
        for paragraph in text.split("\n\n"):
            if "\n" in paragraph.strip() or paragraph.startswith("example"):
                paragraphs.append(textwrap.indent(paragraph, indent))
            else:
                paragraphs.append(textwrap.fill(paragraph, width, initial_indent=indent, subsequent_indent=indent))
        return "\n\n".join(paragraphs)


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be 1 or more")
    return value


def _connection_options(parser: argparse.ArgumentParser, *, note: str = "") -> None:
    group = parser.add_argument_group(
        "connection (flags override the NOMAD_* variables)" + (f"; {note}" if note else "")
    )
    group.add_argument("--address", help="the agent's address (NOMAD_ADDR; default http://127.0.0.1:4646)")
    group.add_argument("--region", help="the region to ask (NOMAD_REGION; default the agent's own)")
    group.add_argument(
        "--token-file",
        metavar="FILE",
        help="read the ACL token (it needs operator:read) from FILE, or from stdin with '-'; default NOMAD_TOKEN. "
        "There is no --token flag on purpose: a token in the arguments lands in shell history and ps",
    )
    group.add_argument("--ca-cert", metavar="FILE", help="CA certificate to verify the agent with (NOMAD_CACERT)")
    group.add_argument("--ca-path", metavar="DIR", help="folder of CA certificates (NOMAD_CAPATH)")
    group.add_argument("--client-cert", metavar="FILE", help="client certificate for mutual TLS (NOMAD_CLIENT_CERT)")
    group.add_argument("--client-key", metavar="FILE", help="its private key (NOMAD_CLIENT_KEY)")
    group.add_argument(
        "--tls-server-name",
        metavar="NAME",
        help="verify the agent's certificate for this name, e.g. server.global.nomad (NOMAD_TLS_SERVER_NAME)",
    )
    group.add_argument(
        "--tls-skip-verify",
        action="store_true",
        default=None,
        help="do not verify the agent's certificate (unsafe; NOMAD_SKIP_VERIFY)",
    )
    group.add_argument("--stale", action="store_true", help="let any server answer, even without a leader")
    group.add_argument(
        "--cluster", help="the cluster's name in file names and reports (default: the host of the address)"
    )


def _snapshots_arg(parser: argparse.ArgumentParser, nargs: str = "+", *, stdin: bool = True) -> None:
    parser.add_argument(
        "snapshots",
        nargs=nargs,
        metavar="SNAPSHOT",
        help="snapshot files: fetch's .json.gz, the endpoint's JSON, or `nomad setup vault -check -json` output; "
        "a folder means its newest capture of each cluster and region" + (" ('-' reads stdin)" if stdin else ""),
    )


def _add_command(
    commands: Any, name: str, *, help: str, description: str, epilog: str, parents: list[argparse.ArgumentParser]
) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = commands.add_parser(
        name, help=help, description=description, epilog=epilog, formatter_class=_HelpFormatter, parents=parents
    )
    return parser


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every command.

    Returns:
        The ``wi-readiness`` parser; ``parse_args`` exits 2 with one line on a usage error.
    """
    parser = _Parser(
        prog=PROG,
        description="Is a Nomad cluster ready to move to Vault workload identities? Capture the upgrade-check "
        "endpoint, judge it, gate CI on it, and publish reports.",
        epilog=_EPILOG,
        formatter_class=_HelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--debug", action="store_true", help="show the traceback of a failure and every retry")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--debug", action="store_true", default=argparse.SUPPRESS, help="show the traceback of a failure"
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    commands.required = True

    fetch = _add_command(
        commands,
        "fetch",
        help="capture snapshots from a live cluster",
        description="Capture the upgrade-check endpoint of a live cluster into snapshot files named "
        "<cluster>_<region>_<UTC time>.json.gz (gzip JSON, written atomically) and print the path of each. With "
        "--all-regions each region listed by /v1/regions gets its own file; a region that fails is reported on "
        "stderr, the others are still written, and the exit code is 1. Progress goes to stderr on a terminal "
        "only; notes about data that could not be collected (--enrich without node:read or read-job) are "
        "always printed.",
        epilog="examples:\n"
        "  NOMAD_ADDR=https://nomad.example.com:4646 wi-readiness fetch --token-file ~/.nomad-token\n"
        "  wi-readiness fetch --all-regions --enrich --token-file /etc/wi/token -o snapshots/\n"
        "  vault read -field=secret_id nomad/creds/readonly | wi-readiness fetch --token-file - -o snapshots/",
        parents=[common],
    )
    _connection_options(fetch)
    fetch.add_argument("-o", "--output-dir", default="snapshots", help="folder for the files (default: snapshots)")
    fetch.add_argument(
        "--all-regions", action="store_true", help="capture every region listed by /v1/regions (not with --region)"
    )
    fetch.add_argument(
        "--enrich",
        action="store_true",
        help="also record every client node (needs node:read) and the legacy tokens' allocations (needs "
        "read-job); without those permissions the capture still succeeds, with a note",
    )
    fetch.add_argument("--no-gzip", action="store_true", help="write plain .json files")
    fetch.add_argument("-q", "--quiet", action="store_true", help="no progress and no notes on stderr")

    summary = _add_command(
        commands,
        "summary",
        help="verdict, counts, groupings and the action plan",
        description="Print the verdict, the counts, the groupings and the action plan of one or more snapshots "
        "(several regions or clusters are read together). IDs are printed in full, never cut to 8 characters. "
        "--format json prints analysis.summarize(), the stable machine-readable form.",
        epilog="examples:\n"
        "  wi-readiness summary snapshots/prod_global_20261203T061500.000000Z.json.gz\n"
        "  wi-readiness summary --by version --format markdown eu.json.gz us.json.gz\n"
        "  nomad setup vault -check -json | wi-readiness summary -\n"
        "  wi-readiness summary --format json snap.json.gz | jq .verdict",
        parents=[common],
    )
    _snapshots_arg(summary)
    summary.add_argument(
        "--format",
        choices=("table", "json", "csv", "markdown"),
        default="table",
        help="table (default: aligned columns), markdown (for a ticket), csv (each grouping after a '# by NAME' "
        "line; plain CSV with one --by), json (everything, as analysis.summarize)",
    )
    summary.add_argument(
        "--by",
        choices=tuple(GROUPINGS),
        action="append",
        help="print only this grouping (repeatable); default: every grouping, the action plan and the blind spots",
    )
    summary.add_argument(
        "--datacenter",
        action="append",
        default=[],
        metavar="NAME",
        help="a datacenter the cluster has besides those of the listed nodes, to resolve job patterns such as "
        "dc* (repeatable)",
    )

    check = _add_command(
        commands,
        "check",
        help="CI gate: exit 3 while the cluster is not ready",
        description="Judge snapshots (or the live cluster with --live) and set the exit code: 0 when the verdict "
        "is clear or cleanup-only, 3 when not-ready; with --fail-on cleanup, 3 unless clear. 1 when an input "
        "cannot be read or the fetch fails, 2 on a usage error. (`nomad setup vault -check` exits 0 either way.)",
        epilog="examples:\n"
        "  wi-readiness check today/*.json.gz --junit readiness.xml\n"
        "  NOMAD_ADDR=https://nomad.example.com:4646 wi-readiness check --live --token-file /etc/wi/token\n"
        "  wi-readiness check --fail-on cleanup --format json snap.json.gz",
        parents=[common],
    )
    _snapshots_arg(check, "*")
    check.add_argument(
        "--live", action="store_true", help="fetch the cluster (connection flags below) instead of reading files"
    )
    check.add_argument(
        "--fail-on",
        choices=("blocking", "cleanup"),
        default="blocking",
        help="blocking (default): fail while anything blocks the migration; cleanup: also while inactive jobs or "
        "down nodes remain",
    )
    check.add_argument(
        "--junit",
        metavar="FILE",
        help="also write JUnit XML: one test case per step of the action plan, failing when it blocks",
    )
    check.add_argument(
        "--format",
        choices=("text", "json"),
        default="text",
        help="text (default) or json: one object with verdict, passed, reasons and counts",
    )
    _connection_options(check, note="only with --live")

    report = _add_command(
        commands,
        "report",
        help="render the HTML readiness report",
        description="Render the readiness report of one or more snapshots (or, with --history, the migration "
        "progress report of a folder of snapshots) into DIR: one self-contained HTML file, beside the executed "
        "notebook and CSV files of the long tables. Prints the HTML's path. Rendering starts a Jupyter kernel "
        "and takes a few seconds; a failed render keeps the previous report and the failed notebook.",
        epilog="examples:\n"
        "  wi-readiness report today/*.json.gz -o reports/today\n"
        "  wi-readiness report snap.json.gz -o reports/shared --redact --title 'Prod readiness'\n"
        "  wi-readiness report --history snapshots/ -o reports/progress",
        parents=[common],
    )
    _snapshots_arg(report, "*", stdin=False)
    report.add_argument("-o", "--output-dir", required=True, metavar="DIR", help="folder for the report's files")
    report.add_argument("--history", metavar="DIR", help="render the progress report of this folder of snapshots")
    report.add_argument("--title", help="the report's title")
    report.add_argument(
        "--redact", action="store_true", help="replace node names, addresses, accessors and alloc IDs by hashes"
    )
    report.add_argument(
        "--top-n",
        type=_positive_int,
        default=25,
        metavar="N",
        help="rows shown per table before linking a CSV of all rows (default 25)",
    )
    report.add_argument(
        "--timeout",
        type=_positive_int,
        default=600,
        metavar="SECONDS",
        help="how long any notebook cell may run (default 600)",
    )

    export = _add_command(
        commands,
        "export",
        help="write the tables as CSV, Parquet or JSON",
        description="Write the four tables (jobs, nodes, node_drivers, tokens) with their classification and "
        "cluster/region columns into DIR as <table>.csv, .parquet or .json, each atomically, and print their "
        "paths. CSV holds lists as JSON strings; Parquet keeps lists; JSON keeps 64-bit indexes exact. With "
        "--history DIR a folder of snapshots becomes a partitioned Parquet dataset (for trend, DuckDB, Spark).",
        epilog="examples:\n"
        "  wi-readiness export snap.json.gz -o tables/\n"
        "  wi-readiness export eu.json.gz us.json.gz --format parquet -o tables/\n"
        "  wi-readiness export --history snapshots/ --format parquet -o dataset/",
        parents=[common],
    )
    _snapshots_arg(export, "*")
    export.add_argument(
        "--format",
        choices=("csv", "parquet", "json"),
        default=None,
        help="file format (default csv; parquet, the only one, with --history)",
    )
    export.add_argument("-o", "--output-dir", required=True, metavar="DIR", help="folder for the files")
    export.add_argument("--history", metavar="DIR", help="export this folder of snapshots as a Parquet dataset")

    diff = _add_command(
        commands,
        "diff",
        help="what changed between two snapshots",
        description="Compare two snapshots of the same cluster and region: the jobs, nodes and tokens that are "
        "new, fixed (gone from the lists) or changed, and the counts and verdict before and after.",
        epilog="examples:\n"
        "  wi-readiness diff monday.json.gz friday.json.gz\n"
        "  wi-readiness diff monday.json.gz friday.json.gz --format markdown >> ticket.md",
        parents=[common],
    )
    diff.add_argument("old", metavar="OLD", help="the earlier snapshot")
    diff.add_argument("new", metavar="NEW", help="the later snapshot of the same cluster and region")
    diff.add_argument(
        "--format", choices=("table", "json", "markdown"), default="table", help="output format (default table)"
    )

    trend = _add_command(
        commands,
        "trend",
        help="counts over time from a folder of snapshots",
        description="Read every snapshot under DIR (or a Parquet dataset written by export --history) and print "
        "one row per snapshot: the counts and the verdict over time, per cluster and region. Files that are not "
        "snapshots are skipped with one line each on stderr.",
        epilog="examples:\n"
        "  wi-readiness trend snapshots/\n"
        "  wi-readiness trend reports/snapshots --format csv > trend.csv",
        parents=[common],
    )
    trend.add_argument("directory", metavar="DIR", help="a folder of snapshots, or a dataset from export --history")
    trend.add_argument(
        "--format", choices=("table", "json", "csv"), default="table", help="output format (default table)"
    )

    run = _add_command(
        commands,
        "scheduled",
        help="the cron/CI recipe: fetch every region, render, keep N runs, update the index",
        description="The cron/CI recipe in one command: fetch every region into DIR/snapshots, render the "
        "readiness report (and the progress report) into DIR/runs/<UTC time>, keep the last N runs, and rewrite "
        "DIR/index.html, which lists every kept run with its verdict and links. A failed run is kept as "
        "runs/<time>.failed and never replaces the last good report; runs started at the same time wait for "
        "each other. Silent when it succeeds off a terminal, so cron mails only failures: exit 0 when every "
        "region was captured and rendered, 1 when a region or the run failed (one line each on stderr).",
        epilog="examples:\n"
        "  NOMAD_ADDR=https://nomad.example.com:4646 wi-readiness scheduled --token-file /etc/wi/token "
        "-o /srv/wi/reports --keep 30\n"
        "  crontab: 15 6 * * * NOMAD_ADDR=https://nomad.example.com:4646 /srv/wi/.venv/bin/wi-readiness "
        "scheduled --token-file /etc/wi/token -o /srv/wi/reports --keep 30",
        parents=[common],
    )
    _connection_options(run, note="--region only with --single-region")
    run.add_argument(
        "-o", "--output-dir", required=True, metavar="DIR", help="the reports folder (index.html lives here)"
    )
    run.add_argument(
        "--keep",
        type=_positive_int,
        default=30,
        metavar="N",
        help="how many runs to keep (default 30); the newest good run is always kept",
    )
    run.add_argument(
        "--prune-snapshots",
        action="store_true",
        help="also delete the captures only removed runs used (default: keep every capture, the history that "
        "trend and the progress report read)",
    )
    run.add_argument("--enrich", action="store_true", help="also record every client node and the tokens' allocations")
    run.add_argument(
        "--single-region",
        action="store_true",
        help="capture only one region (--region, NOMAD_REGION, or the agent's own), not every region",
    )
    run.add_argument(
        "--redact", action="store_true", help="replace node names, addresses, accessors and alloc IDs by hashes"
    )
    run.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr, even on a terminal")
    return parser


# ---------------------------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------------------------


class _Usage(Exception):
    """A usage error found after parsing (exit 2)."""


def _warn(args: argparse.Namespace, line: str) -> None:
    # Errors quote cluster data (names, HTTP bodies): control characters are shown, never sent to the terminal.
    print(f"{PROG} {args.command}: {printable(line)}", file=sys.stderr, flush=True)


def _progress(args: argparse.Namespace) -> Callable[[str], None] | None:
    """Progress lines for a person at a terminal; None in cron and CI (and with --quiet)."""
    if getattr(args, "quiet", False) or not sys.stderr.isatty():
        return None
    return lambda line: print(printable(line), file=sys.stderr, flush=True)


@contextlib.contextmanager
def _client_logging(args: argparse.Namespace) -> Iterator[None]:
    """Show the client's retry messages on a terminal or with --debug, else drop them; restore the logger after.

    Without a handler, logging's last resort would print them in cron, which must stay quiet until the one line of
    a real failure.
    """
    logger = logging.getLogger("analysis")
    saved = (logger.handlers[:], logger.propagate, logger.level)
    show = args.debug or (sys.stderr.isatty() and not getattr(args, "quiet", False))
    handler: logging.Handler = logging.StreamHandler(sys.stderr) if show else logging.NullHandler()
    handler.setFormatter(logging.Formatter(f"{PROG}: %(message)s"))
    logger.handlers[:] = [handler]
    logger.propagate = False
    logger.setLevel(logging.DEBUG if args.debug else logging.INFO)
    try:
        yield
    finally:
        logger.handlers[:], logger.propagate = saved[0], saved[1]
        logger.setLevel(saved[2])


def _connection_given(args: argparse.Namespace) -> list[str]:
    return [
        "--" + name.replace("_", "-")
        for name, unset in _CONNECTION_FLAGS.items()
        if getattr(args, name, unset) not in (unset, None)
    ]


def _settings(args: argparse.Namespace) -> NomadSettings:
    from analysis.client import NomadSettings
    from analysis.errors import ConfigError

    token = None
    if args.token_file == "-":
        token = sys.stdin.readline(65536).strip()  # a token, not an endless stream
        if not token:
            raise ConfigError(
                "--token-file -: standard input held no token; pipe the token's secret ID into the command",
                setting="--token-file",
            )
    return NomadSettings.resolve(
        address=args.address,
        token=token,
        region=args.region,
        token_file=None if args.token_file in (None, "-") else args.token_file,
        ca_cert=args.ca_cert,
        ca_path=args.ca_path,
        client_cert=args.client_cert,
        client_key=args.client_key,
        skip_verify=args.tls_skip_verify,
        tls_server_name=args.tls_server_name,
    )


def _expand(paths: Sequence[str]) -> list[str]:
    """Snapshot arguments with every folder replaced by its newest capture per cluster and region."""
    from analysis.capture import latest_captures

    out: list[str] = []
    for path in paths:
        if path != "-" and Path(path).is_dir():
            newest = latest_captures(path)
            total = sum(1 for p in Path(path).rglob("*") if p.name.endswith((".json", ".json.gz")) and p.is_file())
            if total > len(newest):
                # Say what a folder stood for: a CI gate must not look at fewer files than the user thinks.
                print(
                    printable(
                        f"{PROG}: {path}: using the newest capture of each cluster and region "
                        f"({', '.join(p.name for p in newest)}); {total - len(newest)} older capture(s) left out"
                    ),
                    file=sys.stderr,
                )
            out.extend(str(p) for p in newest)
        else:
            out.append(path)
    return out


def _load_all(paths: Sequence[str]) -> list[Any]:
    from analysis.snapshot import load_snapshot

    if list(paths).count("-") > 1:
        raise _Usage("'-' (stdin) can be given only once")
    return [load_snapshot(p) for p in _expand(paths)]


@contextlib.contextmanager
def _skipped_files(args: argparse.Namespace) -> Iterator[list[Any]]:
    """Collect the files a history read skipped and print one line for each (instead of warning text)."""
    from analysis.history import SnapshotSkippedWarning

    found: list[Any] = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SnapshotSkippedWarning)
        yield found
    for skipped in found:
        _warn(args, f"skipped {skipped.path}: {skipped.reason}")


# ---------------------------------------------------------------------------------------------------------------
# Commands
# ---------------------------------------------------------------------------------------------------------------


def _cmd_fetch(args: argparse.Namespace) -> int:
    from analysis.capture import capture

    if args.all_regions and args.region:
        raise _Usage("--region and --all-regions exclude each other: --all-regions captures every region")
    results = capture(
        _settings(args),
        args.output_dir,
        all_regions=args.all_regions,
        cluster=args.cluster,
        stale=args.stale,
        enrich=args.enrich,
        gzip=not args.no_gzip,
        progress=_progress(args),
    )
    for result in results:
        where = f"region {result.region}: " if result.region else ""
        if result.path is not None:
            print(result.path, flush=True)
        else:
            _warn(args, f"{where}{result.error}")
        if not args.quiet:
            for note in result.notes:
                _warn(args, f"note: {where}{note}")
    return EXIT_OK if all(r.path is not None for r in results) else EXIT_FAILURE


def _groupings(
    summary: dict[str, Any], wanted: Sequence[str] | None, *, readable: bool = False
) -> list[tuple[str, pd.DataFrame]]:
    """The groupings as frames; ``readable`` (terminal, markdown) shows counts as integers and shares as %."""
    names = list(dict.fromkeys(wanted)) if wanted else list(GROUPINGS)
    out = []
    for name in names:
        frame = pd.DataFrame(summary["groupings"][GROUPINGS[name]])
        if readable and len(frame):
            frame = frame.convert_dtypes()  # JSON nulls had turned integer columns into floats
            for column in [c for c in frame.columns if c.endswith("share")]:
                frame[column] = [None if pd.isna(v) else f"{v:.0%}" for v in frame[column]]
        out.append((name, frame))
    return out


def _hide_context(frame: pd.DataFrame, summary: dict[str, Any]) -> pd.DataFrame:
    """Drop cluster/region columns when every snapshot has the same (or no) cluster and region."""
    contexts = {(s["cluster"], s["region"]) for s in summary["snapshots"]}
    if len(contexts) <= 1:
        return frame.drop(columns=[c for c in ("cluster", "region") if c in frame.columns])
    return frame


def _cmd_summary(args: argparse.Namespace) -> int:
    from analysis.output import markdown_table, text_table
    from analysis.risk import summarize

    summary = summarize(_load_all(args.snapshots), datacenters=args.datacenter)
    if args.format == "json":
        sys.stdout.write(orjson.dumps(summary, option=orjson.OPT_INDENT_2).decode() + "\n")
        return EXIT_OK
    groupings = _groupings(summary, args.by, readable=args.format != "csv")
    if args.format == "csv":
        for i, (name, frame) in enumerate(groupings):
            if len(groupings) > 1:
                print(("\n" if i else "") + f"# by {name}")
            sys.stdout.write(csv_safe(frame).to_csv(index=False))
        return EXIT_OK
    markdown = args.format == "markdown"
    table = markdown_table if markdown else text_table
    heading = (lambda t: f"\n## {t}\n") if markdown else (lambda t: f"\n{t}\n{'-' * len(t)}")
    print(_verdict_block(summary, markdown=markdown))
    for name, frame in groupings:
        print(heading(f"By {name}"))
        print(table(_hide_context(frame, summary)))
    if not args.by:
        columns = ["cluster", "region", "step", "action", "blocking", "title"]
        plan = pd.DataFrame([{c: p.get(c) for c in columns} for p in summary["plan"]], columns=columns)
        print(heading("Action plan"))
        print(table(_hide_context(plan, summary)))
        print(heading("Blind spots (what the endpoint cannot see)"))
        for spot in summary["blind_spots"]:
            if markdown:
                print(f"- **{spot['title']}**: {spot['text']}")
            else:
                print(textwrap.fill(f"- {spot['title']}: {spot['text']}", 100, subsequent_indent="  "))
    return EXIT_OK


def _verdict_block(summary: dict[str, Any], *, markdown: bool = False) -> str:
    counts = summary["counts"]
    tokens = "not reported (Nomad 1.10+ no longer lists them)" if counts["tokens"] is None else str(counts["tokens"])
    lines = [
        f"{'**' if markdown else ''}Verdict: {summary['verdict'].upper()}{'**' if markdown else ''}",
        *(f"{'- ' if markdown else '  '}{(markdown_text if markdown else printable)(r)}" for r in summary["reasons"]),
        "",
        f"Jobs: {counts['jobs']} listed, {counts['jobs_active']} active, {counts['jobs_inactive']} inactive; "
        f"{counts['specs_to_resubmit']} spec(s) to resubmit, {counts['children']} child job(s)",
        f"Nodes: {counts['nodes']} outdated, {counts['nodes_live']} live, {counts['nodes_down']} down; "
        f"{counts['nodes_draining']} draining, {counts['nodes_ineligible']} ineligible, "
        f"{counts['nodes_unparseable_version']} with an unparseable version",
        f"Legacy Vault tokens: {tokens}",
    ]
    # Cluster data (names, paths) goes through the same escaping as the tables: no terminal control sequences,
    # no markdown that could add a heading or a link.
    clean = markdown_text if markdown else printable
    for snap in summary["snapshots"]:
        where = "/".join(str(x) for x in (snap["cluster"], snap["region"]) if x) or "cluster and region unknown"
        captured = snap["captured_at"] or "capture time unknown"
        index = (
            f"index {snap['index']}" if snap["index"] is not None else "no index: nomad setup vault -check -json output"
        )
        lines.append(f"Source: {clean(str(snap['source']))} ({clean(where)}; {captured}; {index})")
    if markdown:
        # Two trailing spaces make a line break; list items and the blank line need none.
        lines = [line if not line or line.startswith("- ") else line + "  " for line in lines]
    return "\n".join(lines)


def _cmd_check(args: argparse.Namespace) -> int:
    from analysis.files import atomic_write
    from analysis.output import junit_xml
    from analysis.risk import summarize

    if args.live == bool(args.snapshots):
        raise _Usage("check needs either SNAPSHOT files or --live (exactly one of them)")
    given = _connection_given(args)
    if given and not args.live:
        verb = "applies" if len(given) == 1 else "apply"
        raise _Usage(f"{', '.join(given)} {verb} only with --live (without it the snapshots are read from files)")
    if args.live:
        from analysis.client import fetch_snapshot

        snapshots = [fetch_snapshot(settings=_settings(args), stale=args.stale, cluster=args.cluster)]
    else:
        snapshots = _load_all(args.snapshots)
    summary = summarize(snapshots)
    failed = summary["verdict"] == "not-ready" or (args.fail_on == "cleanup" and summary["verdict"] != "clear")
    if args.junit:
        atomic_write(args.junit, junit_xml(summary, fail_on_cleanup=args.fail_on == "cleanup"))
    if args.format == "json":
        document = {
            "verdict": summary["verdict"],
            "passed": not failed,
            "fail_on": args.fail_on,
            "reasons": summary["reasons"],
            "counts": summary["counts"],
        }
        print(orjson.dumps(document).decode())
    else:
        print(_verdict_block(summary))
        print(f"\ncheck {'FAILED' if failed else 'passed'} (--fail-on {args.fail_on})")
    return EXIT_NOT_READY if failed else EXIT_OK


def _cmd_report(args: argparse.Namespace) -> int:
    from analysis.errors import SnapshotNotFoundError
    from analysis.report import render_report

    if bool(args.history) == bool(args.snapshots):
        raise _Usage("report needs either SNAPSHOT files or --history DIR (exactly one of them)")
    if "-" in args.snapshots:
        raise _Usage("report reads files, not stdin: save the snapshot to a file first")
    options = {"title": args.title, "redact": args.redact, "top_n": args.top_n, "timeout": args.timeout}
    if args.history:
        history = Path(args.history)
        if not history.is_dir():
            raise SnapshotNotFoundError(
                f"--history {history}: is not a folder; give the folder that holds the snapshots", path=str(history)
            )
        if not any(p.name.endswith((".json", ".json.gz", ".parquet")) for p in history.rglob("*") if p.is_file()):
            raise SnapshotNotFoundError(
                f"--history {history}: holds no snapshot (.json, .json.gz) and no exported dataset; capture some "
                "with `wi-readiness fetch` or `scheduled` first",
                path=str(history),
            )
        result = render_report(
            [],
            args.output_dir,
            notebook="migration_progress",
            extra_parameters={"history": str(history.resolve())},
            **options,
        )
    else:
        result = render_report(_expand(args.snapshots), args.output_dir, **options)
    print(result.html)
    return EXIT_OK


def _cmd_export(args: argparse.Namespace) -> int:
    if bool(args.history) == bool(args.snapshots):
        raise _Usage("export needs either SNAPSHOT files or --history DIR (exactly one of them)")
    if args.history:
        from analysis.history import export_history

        if args.format not in (None, "parquet"):
            raise _Usage("export --history writes a Parquet dataset: use --format parquet (or leave --format out)")
        with _skipped_files(args) as skipped:
            history = export_history(args.history, args.output_dir)
            skipped.extend(history.skipped)
        print(history.root)
        return EXIT_OK
    from analysis.output import export_tables

    for path in export_tables(_load_all(args.snapshots), args.output_dir, args.format or "csv"):
        print(path)
    return EXIT_OK


def _cmd_diff(args: argparse.Namespace) -> int:
    from analysis.history import diff_snapshots

    old, new = _load_all([args.old, args.new])
    result = diff_snapshots(old, new)
    if args.format == "json":
        sys.stdout.write(orjson.dumps(result.to_dict(), option=orjson.OPT_INDENT_2).decode() + "\n")
    elif args.format == "markdown":
        print(result.to_markdown())
    else:
        print(result.to_text())
    return EXIT_OK


def _cmd_trend(args: argparse.Namespace) -> int:
    from analysis.history import load_history
    from analysis.output import text_table, to_jsonable

    with _skipped_files(args) as skipped:
        history = load_history(args.directory)
        skipped.extend(history.skipped)
    frame = history.trend
    if args.format == "json":
        sys.stdout.write(orjson.dumps(to_jsonable(frame), option=orjson.OPT_INDENT_2).decode() + "\n")
    elif args.format == "csv":
        sys.stdout.write(csv_safe(frame).to_csv(index=False))
    else:
        # The terminal table leaves out the provenance columns (JSON and CSV keep them).
        shown = frame.drop(columns=[c for c in ("shape", "source", "snapshot_id", "nomad_version") if c in frame])
        print(text_table(shown, empty=f"(no snapshots under {args.directory})"))
    return EXIT_OK


def _cmd_scheduled(args: argparse.Namespace) -> int:
    from analysis.schedule import run_scheduled

    if args.region and not args.single_region:
        raise _Usage("--region needs --single-region: a scheduled run captures every region by default")
    say = _progress(args)
    outcome = run_scheduled(
        _settings(args),
        args.output_dir,
        keep=args.keep,
        prune_snapshots=args.prune_snapshots,
        all_regions=not args.single_region,
        cluster=args.cluster,
        stale=args.stale,
        enrich=args.enrich,
        redact=args.redact,
        log=say,
    )
    for region, error in outcome.regions_failed:
        _warn(args, f"region {region}: {error}")
    if outcome.error:
        _warn(args, f"run failed: {outcome.error}; recorded in {outcome.run_dir}, earlier reports are untouched")
    if say is not None:
        for note in outcome.notes:
            say(f"note: {note}")
        say(f"{outcome.status}: {outcome.index}")
    return EXIT_OK if outcome.ok else EXIT_FAILURE


_COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "fetch": _cmd_fetch,
    "summary": _cmd_summary,
    "check": _cmd_check,
    "report": _cmd_report,
    "export": _cmd_export,
    "diff": _cmd_diff,
    "trend": _cmd_trend,
    "scheduled": _cmd_scheduled,
}


def _os_error(exc: OSError) -> str:
    if exc.filename is not None:
        return f"{exc.filename}: {exc.strerror or exc}; check the path and its permissions"
    return f"{exc}; check the paths and permissions"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line.

    Args:
        argv: the arguments after the program name; default ``sys.argv[1:]``.

    Returns:
        The exit code (see the module docstring).
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        with _client_logging(args):
            return _COMMANDS[args.command](args)
    except _Usage as exc:
        _warn(args, f"error: {exc} (see {PROG} {args.command} --help)")
        return EXIT_USAGE
    except ReadinessError as exc:
        if args.debug:
            traceback.print_exc()
        _warn(args, str(exc))
        return exc.exit_code
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # `wi-readiness summary ... | head`: the reader left; exit quietly like other Unix tools.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except OSError as exc:
        if args.debug:
            traceback.print_exc()
        _warn(args, _os_error(exc))
        return EXIT_FAILURE
    except ValueError as exc:
        # The library raises ValueError for a bad option or a missing notebook: still one line.
        if args.debug:
            traceback.print_exc()
        _warn(args, str(exc))
        return EXIT_FAILURE
