"""The ``wi-readiness`` command line (also ``python -m analysis``): it parses arguments and calls the library.

Exit codes: 0 success (and, for ``check``, a verdict that passes the gate); 1 a runtime failure (unreadable
input, fetch error, report failure); 2 a usage error (bad arguments or settings); 3 ``check`` found the cluster
not ready (or, with ``--fail-on cleanup``, not clear of cleanup either).
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

import orjson
import pandas as pd

from analysis import __version__
from analysis.errors import ConfigError, ReadinessError

EXIT_OK, EXIT_FAILURE, EXIT_USAGE, EXIT_NOT_READY = 0, 1, 2, 3
GROUPINGS = {
    "namespace": "by_namespace",
    "datacenter": "by_datacenter",
    "version": "by_version",
    "pool": "by_node_pool",
    "status": "by_node_status",
    "driver": "by_driver",
}

_EPILOG = """\
exit codes: 0 ok, 1 runtime failure, 2 usage error, 3 check: cluster not ready
environment: NOMAD_ADDR, NOMAD_TOKEN, NOMAD_REGION, NOMAD_CACERT, NOMAD_CAPATH, NOMAD_CLIENT_CERT,
  NOMAD_CLIENT_KEY, NOMAD_SKIP_VERIFY, NOMAD_TLS_SERVER_NAME, NOMAD_HTTP_AUTH (as the nomad CLI reads them)
"""


class _Parser(argparse.ArgumentParser):
    """argparse with exit code 2 and a one-line hint for usage errors."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def _connection_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("connection (flags override the NOMAD_* variables)")
    group.add_argument("--address", help="the agent's address (NOMAD_ADDR; default http://127.0.0.1:4646)")
    group.add_argument("--region", help="the region to ask (NOMAD_REGION; default the agent's own)")
    group.add_argument(
        "--token-file",
        metavar="FILE",
        help="read the ACL token (needs operator:read) from FILE, or '-' for stdin; default NOMAD_TOKEN. "
        "There is deliberately no --token flag: tokens in arguments land in shell history and ps",
    )
    group.add_argument("--ca-cert", help="CA certificate file (NOMAD_CACERT)")
    group.add_argument("--ca-path", help="folder of CA certificates (NOMAD_CAPATH)")
    group.add_argument("--client-cert", help="client certificate for mTLS (NOMAD_CLIENT_CERT)")
    group.add_argument("--client-key", help="client key for mTLS (NOMAD_CLIENT_KEY)")
    group.add_argument("--tls-server-name", help="verify the server certificate for this name (NOMAD_TLS_SERVER_NAME)")
    group.add_argument("--tls-skip-verify", action="store_true", default=None, help="do not verify TLS (unsafe)")
    group.add_argument("--stale", action="store_true", help="let any server answer (works without a leader)")
    group.add_argument("--cluster", help="a name for the cluster in files and reports (default: the address's host)")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every command."""
    parser = _Parser(
        prog="wi-readiness",
        description="Is a Nomad cluster ready to move to Vault workload identities?",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--debug", action="store_true", help="show the traceback of a failure")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    commands.required = True

    fetch = commands.add_parser(
        "fetch",
        help="capture snapshots from a live cluster",
        description="Capture the upgrade-check endpoint into snapshot files (gzip JSON, written atomically) named "
        "<cluster>_<region>_<time>.json.gz, and print their paths.",
        epilog="example: NOMAD_ADDR=https://nomad:4646 wi-readiness fetch --all-regions --enrich -o snapshots/",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _connection_options(fetch)
    fetch.add_argument("-o", "--output-dir", default="snapshots", help="folder for the files (default: snapshots)")
    fetch.add_argument("--all-regions", action="store_true", help="capture every region listed by /v1/regions")
    fetch.add_argument("--enrich", action="store_true", help="also record every node and the tokens' allocations")
    fetch.add_argument("--no-gzip", action="store_true", help="write plain .json files")
    fetch.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr (the default off a terminal)")

    def snapshots_arg(p: argparse.ArgumentParser, nargs: str = "+") -> None:
        p.add_argument("snapshots", nargs=nargs, metavar="SNAPSHOT", help="snapshot files (.json, .json.gz) or '-'")

    summary = commands.add_parser(
        "summary",
        help="verdict, counts and groupings in the terminal",
        description="Print the verdict, counts and groupings of one or more snapshots (regions, clusters).",
        epilog="examples:\n  wi-readiness summary snap.json.gz\n  wi-readiness summary --by version --format "
        "markdown eu.json.gz us.json.gz\n  wi-readiness summary --format json snap.json | jq .verdict",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    snapshots_arg(summary)
    summary.add_argument("--format", choices=("table", "json", "csv", "markdown"), default="table")
    summary.add_argument("--by", choices=tuple(GROUPINGS), action="append", help="only these groupings (repeatable)")
    summary.add_argument("--datacenter", action="append", default=[], help="a datacenter known besides the nodes'")

    check = commands.add_parser(
        "check",
        help="CI gate: exit 3 while the cluster is not ready",
        description="Exit 0 when the verdict is clear or cleanup-only, 3 when not-ready (1: unreadable input or "
        "fetch error, 2: usage error).",
        epilog="examples:\n  wi-readiness check snap.json.gz --junit readiness.xml\n  NOMAD_TOKEN=... wi-readiness "
        "check --live --fail-on cleanup",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    snapshots_arg(check, "*")
    check.add_argument("--live", action="store_true", help="fetch from the cluster instead of reading files")
    check.add_argument(
        "--fail-on",
        choices=("blocking", "cleanup"),
        default="blocking",
        help="cleanup: also fail (exit 3) on cleanup-only",
    )
    check.add_argument("--junit", metavar="FILE", help="also write JUnit XML (one test case per finding)")
    check.add_argument("--format", choices=("text", "json"), default="text")
    _connection_options(check)

    report = commands.add_parser(
        "report",
        help="render the HTML readiness report",
        description="Render the readiness report (or, with --history, the migration progress report) into DIR and "
        "print the HTML's path.",
        epilog="examples:\n  wi-readiness report snap.json.gz -o reports/today\n  wi-readiness report --history "
        "snapshots/ -o reports/progress",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    snapshots_arg(report, "*")
    report.add_argument("-o", "--output-dir", required=True, help="folder for the HTML, notebook and CSV files")
    report.add_argument("--history", metavar="DIR", help="render the progress report for a folder of snapshots")
    report.add_argument("--title", help="the report's title")
    report.add_argument("--redact", action="store_true", help="hash node names, addresses, accessors, alloc IDs")
    report.add_argument("--top-n", type=int, default=25, help="rows shown per table before linking a CSV")
    report.add_argument("--timeout", type=int, default=600, help="seconds any notebook cell may run")

    export = commands.add_parser(
        "export",
        help="write the tables as CSV, Parquet or JSON",
        description="Write jobs, nodes, node_drivers and tokens (with cluster/region columns) into DIR.",
        epilog="examples:\n  wi-readiness export snap.json.gz --format parquet -o tables/\n  wi-readiness export "
        "--history snapshots/ --format parquet -o dataset/",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    snapshots_arg(export, "*")
    export.add_argument("--format", choices=("csv", "parquet", "json"), default="csv")
    export.add_argument("-o", "--output-dir", required=True)
    export.add_argument("--history", metavar="DIR", help="export a folder of snapshots as a partitioned dataset")

    diff = commands.add_parser(
        "diff",
        help="what changed between two snapshots",
        description="Compare two snapshots of the same cluster and region: new, fixed and changed rows.",
        epilog="example: wi-readiness diff monday.json.gz friday.json.gz --format markdown",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    diff.add_argument("old", metavar="OLD")
    diff.add_argument("new", metavar="NEW")
    diff.add_argument("--format", choices=("table", "json", "markdown"), default="table")

    trend = commands.add_parser(
        "trend",
        help="counts over time from a folder of snapshots",
        description="Read every snapshot in DIR (or a Parquet dataset written by export --history) and print the "
        "counts over time per cluster and region.",
        epilog="example: wi-readiness trend snapshots/ --format csv > trend.csv",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    trend.add_argument("directory", metavar="DIR")
    trend.add_argument("--format", choices=("table", "json", "csv"), default="table")

    run = commands.add_parser(
        "scheduled",
        help="the cron/CI recipe: fetch every region, render, keep N runs, update the index",
        description="Fetch every region into DIR/snapshots, render the readiness and progress reports into "
        "DIR/runs/<time>, keep the last N runs, and rewrite DIR/index.html. A failed run never replaces the "
        "last good report; two runs at once do not clobber each other (a lock file serialises them).",
        epilog="example (crontab): 15 6 * * * cd /srv/wi && NOMAD_ADDR=https://nomad:4646 wi-readiness scheduled "
        "--token-file /etc/wi/token -o /srv/wi/reports --keep 30",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _connection_options(run)
    run.add_argument("-o", "--output-dir", required=True, help="the reports folder (index.html lives here)")
    run.add_argument("--keep", type=int, default=30, help="how many runs to keep (default 30)")
    run.add_argument("--enrich", action="store_true", help="also record every node and the tokens' allocations")
    run.add_argument("--single-region", action="store_true", help="only the configured region, not all")
    run.add_argument("--redact", action="store_true", help="hash node names, addresses, accessors, alloc IDs")
    return parser


# ---------------------------------------------------------------------------------------------------------------


def _settings(args: argparse.Namespace) -> Any:
    from analysis.client import NomadSettings

    token = None
    if args.token_file == "-":
        token = sys.stdin.readline().strip()
        if not token:
            raise ConfigError("--token-file -: standard input held no token", setting="--token-file")
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


def _progress(args: argparse.Namespace) -> bool:
    return not getattr(args, "quiet", False) and sys.stderr.isatty()


def _load_all(paths: Sequence[str]) -> list[Any]:
    from analysis.snapshot import load_snapshot

    return [load_snapshot(p) for p in paths]


def _cmd_fetch(args: argparse.Namespace) -> int:
    from analysis.capture import capture

    settings = _settings(args)
    show = _progress(args)
    results = capture(
        settings,
        args.output_dir,
        all_regions=args.all_regions,
        cluster=args.cluster,
        stale=args.stale,
        enrich=args.enrich,
        gzip=not args.no_gzip,
        progress=(lambda line: print(line, file=sys.stderr, flush=True)) if show else None,
    )
    for result in results:
        if result.path is not None:
            print(result.path)
        else:
            print(f"wi-readiness: region {result.region}: {result.error}", file=sys.stderr)
    return EXIT_OK if all(r.path is not None for r in results) else EXIT_FAILURE


def _groupings(summary: dict[str, Any], wanted: Sequence[str] | None) -> list[tuple[str, pd.DataFrame]]:
    names = list(wanted) if wanted else list(GROUPINGS)
    return [(name, pd.DataFrame(summary["groupings"][GROUPINGS[name]])) for name in names]


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
    groupings = _groupings(summary, args.by)
    if args.format == "csv":
        for i, (name, frame) in enumerate(groupings):
            if len(groupings) > 1:
                print(("\n" if i else "") + f"# by {name}")
            sys.stdout.write(frame.to_csv(index=False))
        return EXIT_OK
    table = markdown_table if args.format == "markdown" else text_table
    heading = (lambda t: f"## {t}") if args.format == "markdown" else (lambda t: f"{t}\n{'-' * len(t)}")
    print(_verdict_block(summary, markdown=args.format == "markdown"))
    for name, frame in groupings:
        print()
        print(heading(f"By {name}"))
        print(table(_hide_context(frame, summary)))
    if not args.by:
        plan = pd.DataFrame(
            [
                {"step": p["step"], "action": p["action"], "blocking": p["blocking"], "what": p["title"]}
                for p in summary["plan"]
            ]
        )
        print()
        print(heading("Action plan"))
        print(table(plan))
    return EXIT_OK


def _verdict_block(summary: dict[str, Any], *, markdown: bool = False) -> str:
    counts = summary["counts"]
    tokens = "not reported (Nomad 1.10+)" if counts["tokens"] is None else str(counts["tokens"])
    lines = [
        f"{'**' if markdown else ''}Verdict: {summary['verdict'].upper()}{'**' if markdown else ''}",
        *(f"{'- ' if markdown else '  '}{reason}" for reason in summary["reasons"]),
        "",
        f"Jobs: {counts['jobs']} listed, {counts['jobs_active']} active, {counts['jobs_inactive']} inactive; "
        f"{counts['specs_to_resubmit']} spec(s) to resubmit, {counts['children']} child job(s)",
        f"Nodes: {counts['nodes']} outdated, {counts['nodes_live']} live, {counts['nodes_down']} down; "
        f"{counts['nodes_draining']} draining, {counts['nodes_ineligible']} ineligible, "
        f"{counts['nodes_unparseable_version']} with an unparseable version",
        f"Legacy Vault tokens: {tokens}",
    ]
    for snap in summary["snapshots"]:
        where = "/".join(str(x) for x in (snap["cluster"], snap["region"]) if x) or "cluster and region unknown"
        captured = snap["captured_at"] or "capture time unknown"
        index = f"index {snap['index']}" if snap["index"] is not None else "no index (nomad setup vault -json)"
        lines.append(f"Source: {snap['source']} ({where}; {captured}; {index})")
    return "\n".join(lines if not markdown else [line + ("  " if line else "") for line in lines])


def _cmd_check(args: argparse.Namespace) -> int:
    from analysis.files import atomic_write
    from analysis.output import junit_xml
    from analysis.risk import summarize

    if args.live == bool(args.snapshots):
        raise _Usage("check needs SNAPSHOT files or --live (not both)")
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
        print(
            orjson.dumps(
                {
                    "verdict": summary["verdict"],
                    "passed": not failed,
                    "reasons": summary["reasons"],
                    "counts": summary["counts"],
                }
            ).decode()
        )
    else:
        print(_verdict_block(summary))
        print(f"\ncheck {'FAILED' if failed else 'passed'} (--fail-on {args.fail_on})")
    return EXIT_NOT_READY if failed else EXIT_OK


def _cmd_report(args: argparse.Namespace) -> int:
    from analysis.report import render_report

    if bool(args.history) == bool(args.snapshots):
        raise _Usage("report needs SNAPSHOT files or --history DIR (not both)")
    if args.history:
        history = Path(args.history)
        if not history.is_dir():
            raise ConfigError(f"--history {history}: not a folder of snapshots", setting="--history")
        result = render_report(
            [],
            args.output_dir,
            notebook="migration_progress",
            title=args.title,
            redact=args.redact,
            top_n=args.top_n,
            timeout=args.timeout,
            extra_parameters={"history": str(history.resolve())},
        )
    else:
        result = render_report(
            args.snapshots,
            args.output_dir,
            title=args.title,
            redact=args.redact,
            top_n=args.top_n,
            timeout=args.timeout,
        )
    print(result.html)
    return EXIT_OK


def _cmd_export(args: argparse.Namespace) -> int:
    if bool(args.history) == bool(args.snapshots):
        raise _Usage("export needs SNAPSHOT files or --history DIR (not both)")
    if args.history:
        from analysis.history import export_history

        if args.format != "parquet":
            raise _Usage("export --history writes a Parquet dataset: use --format parquet")
        print(export_history(args.history, args.output_dir))
        return EXIT_OK
    from analysis.output import export_tables

    for path in export_tables(_load_all(args.snapshots), args.output_dir, args.format):
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

    history = load_history(args.directory)
    frame = history.trend
    if args.format == "json":
        sys.stdout.write(orjson.dumps(to_jsonable(frame), option=orjson.OPT_INDENT_2).decode() + "\n")
    elif args.format == "csv":
        sys.stdout.write(frame.to_csv(index=False))
    else:
        print(text_table(frame))
    return EXIT_OK


def _cmd_scheduled(args: argparse.Namespace) -> int:
    from analysis.schedule import run_scheduled

    outcome = run_scheduled(
        _settings(args),
        args.output_dir,
        keep=args.keep,
        all_regions=not args.single_region,
        cluster=args.cluster,
        stale=args.stale,
        enrich=args.enrich,
        redact=args.redact,
        log=lambda line: print(line, file=sys.stderr, flush=True),
    )
    print(outcome.index)
    return EXIT_OK if outcome.ok else EXIT_FAILURE


class _Usage(Exception):
    """A usage error found after parsing (exit 2)."""


_COMMANDS = {
    "fetch": _cmd_fetch,
    "summary": _cmd_summary,
    "check": _cmd_check,
    "report": _cmd_report,
    "export": _cmd_export,
    "diff": _cmd_diff,
    "trend": _cmd_trend,
    "scheduled": _cmd_scheduled,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return _COMMANDS[args.command](args)
    except _Usage as exc:
        parser.print_usage(sys.stderr)
        print(f"wi-readiness {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except ReadinessError as exc:
        if args.debug:
            traceback.print_exc()
        print(f"wi-readiness {args.command}: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("wi-readiness: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # `wi-readiness summary ... | head`: the reader left; exit quietly like other Unix tools.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
