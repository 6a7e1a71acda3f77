"""The command line end to end: every command through ``python -m analysis`` (and the console script), against the
sample snapshots and a Nomad stand-in on loopback. Expected values are counted by hand from the fixture files.

Each command runs at least once in a child process, exactly as a user or cron runs it; further cases of the same
command call :func:`analysis.cli.main` in this process (``cli``), which is the same code without the ~1 s start-up.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import pty
import re
import socket
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pandas as pd
import pyarrow.parquet as pq
import pytest

import analysis
from analysis.capture import capture, snapshot_filename
from analysis.cli import build_parser, main
from analysis.client import NomadSettings
from analysis.history import diff_snapshots
from analysis.report import ReportResult
from tests.nomad_standin import ALL_CAPABILITIES, ENDPOINT, OPERATOR_READ, Answer, NomadStandIn

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
EDGE = FIXTURES / "edge-cases.json"
EMPTY = FIXTURES / "empty-cluster.json"
CLI_JSON = FIXTURES / "cli-json-1.9.json"
DOCS = FIXTURES / "docs-example.json"
CONSOLE_SCRIPT = Path(sys.executable).with_name("wi-readiness")
TOKEN = "3f1c2e9a-planted-token-0b7d-4c1e-9f3a-2d5e8b7c4a10"
COMMANDS = ("fetch", "summary", "check", "report", "export", "diff", "trend", "scheduled")


@dataclass(frozen=True)
class Result:
    """A finished command: exit code and what it printed."""

    code: int
    stdout: str
    stderr: str


def wi(*args: object, env: dict[str, str] | None = None, stdin: str | None = None, script: bool = False) -> Result:
    """Run the command line in a child process, with no NOMAD_* variables but those in ``env``."""
    command = [str(CONSOLE_SCRIPT)] if script else [sys.executable, "-m", "analysis"]
    environment = {k: v for k, v in os.environ.items() if not k.startswith("NOMAD_")} | (env or {})
    done = subprocess.run(
        [*command, *(str(a) for a in args)],
        input=stdin,
        capture_output=True,
        text=True,
        env=environment,
        cwd=ROOT,
        timeout=120,
    )
    return Result(done.returncode, done.stdout, done.stderr)


Cli = Callable[..., Result]


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Cli:
    """Run :func:`analysis.cli.main` in this process; the exit code and what it printed."""

    def run(*args: object) -> Result:
        try:
            code = main([str(a) for a in args])
        except SystemExit as exc:  # argparse: --help, usage errors
            code = exc.code if isinstance(exc.code, int) else 1
        out, err = capsys.readouterr()
        return Result(code, out, err)

    return run


def one_line(result: Result, *needles: str) -> str:
    """The single stderr line of an expected failure (no traceback), holding every needle."""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


def write_json(path: Path, document: Any) -> Path:
    path.write_bytes(orjson.dumps(document))
    return path


def body(fixture: Path = EDGE) -> dict[str, Any]:
    return json.loads(fixture.read_text())


@pytest.fixture
def cleanup_only(tmp_path: Path) -> Path:
    """edge-cases with only what needs cleanup: the stopped legacy-billing job and the down node."""
    document = body()
    document["JobsWithoutVaultIdentity"] = [j for j in document["JobsWithoutVaultIdentity"] if j["Stop"]]
    document["OutdatedNodes"] = [n for n in document["OutdatedNodes"] if n["Status"] == "down"]
    document["VaultTokens"] = []
    return write_json(tmp_path / "cleanup-only.json", document)


@pytest.fixture
def token_file(tmp_path: Path) -> Path:
    path = tmp_path / "token"
    path.write_text(f"{TOKEN}\n")
    return path


@pytest.fixture
def agent() -> Iterator[NomadStandIn]:
    with NomadStandIn(tokens={TOKEN: ALL_CAPABILITIES}) as stand_in:
        yield stand_in


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def all_text_under(folder: Path) -> str:
    """Every file under ``folder`` as text (gzip unpacked), to look for secrets."""
    parts = []
    for path in folder.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            parts.append((gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data).decode("utf-8", "replace"))
    return "\n".join(parts)


def markdown_tables(text: str) -> dict[str, pd.DataFrame]:
    """The tables of markdown output, by the ``## heading`` above each, parsed back (``\\|`` unescaped)."""
    tables: dict[str, pd.DataFrame] = {}
    heading = None
    rows: list[list[str]] = []

    def flush() -> None:
        if heading is not None and rows:
            tables[heading] = pd.DataFrame(rows[2:], columns=rows[0])

    for line in text.splitlines():
        if line.startswith("## "):
            flush()
            heading, rows = line[3:], []
        elif line.startswith("| "):
            cells = re.split(r"(?<!\\)\|", line.strip()[1:-1])
            rows.append([c.strip().replace("\\|", "|").replace("\\\\", "\\") for c in cells])
    flush()
    return tables


# ---------------------------------------------------------------------------------------------------------------
# summary
# ---------------------------------------------------------------------------------------------------------------


def test_summary_table_of_the_edge_cases() -> None:
    result = wi("summary", EDGE)
    assert result.code == 0 and result.stderr == ""
    out = result.stdout
    assert out.startswith("Verdict: NOT-READY\n")
    assert "7 active job(s) use Vault without a workload identity (6 spec(s) to resubmit)" in out
    assert "4 live client node(s) run a Nomad version older than 1.7" in out
    assert "Jobs: 9 listed, 7 active, 2 inactive; 6 spec(s) to resubmit, 2 child job(s)" in out
    assert "Nodes: 5 outdated, 4 live, 1 down; 1 draining, 2 ineligible, 1 with an unparseable version" in out
    assert "Legacy Vault tokens: 3" in out and "index 48213" in out
    for heading in ("By namespace", "By datacenter", "By version", "By pool", "By status", "By driver"):
        assert f"\n{heading}\n{'-' * len(heading)}\n" in out
    assert "Action plan" in out and "Blind spots" in out
    # Full IDs, never nomad's 8 characters: `vault-agent-sync` and `nightly-backup` stay whole.
    assert "Resubmit sysbatch `vault-agent-sync` in namespace `platform`" in out
    assert "`nightly-backup`" in out and "nightly-" + "\n" not in out
    # Aligned: names start under their header, numbers end under theirs.
    block = out.split("By namespace\n------------\n")[1].split("\n\n")[0].splitlines()
    header = block[0]
    assert header.split() == ["namespace", "jobs", "active", "inactive", "specs", "specs_to_resubmit", "children"]
    ends = [m.end() for m in re.finditer(r"\S+", header)]
    for row in block[1:]:
        assert not row.startswith(" ") and [m.end() for m in re.finditer(r"\S+", row)][1:] == ends[1:], row
    assert [row.split()[0] for row in block[1:]] == ["default", "platform", "team-a"]


def test_summary_of_an_empty_1_10_cluster_is_clear(cli: Cli) -> None:
    result = cli("summary", EMPTY)
    assert result.code == 0
    assert result.stdout.startswith("Verdict: CLEAR\n")
    assert "Legacy Vault tokens: not reported" in result.stdout
    assert "Jobs: 0 listed" in result.stdout and "index 18" in result.stdout


def test_summary_of_cli_json_says_it_has_no_index(cli: Cli) -> None:
    result = cli("summary", CLI_JSON, "--by", "namespace")
    assert result.code == 0
    assert "no index: nomad setup vault -check -json output" in result.stdout
    assert "By namespace" in result.stdout and "By version" not in result.stdout and "Action plan" not in result.stdout


def test_summary_json_is_summarize_for_several_snapshots() -> None:
    result = wi("summary", "--format", "json", EDGE, DOCS)
    assert result.code == 0
    expected = analysis.summarize([analysis.load_snapshot(str(EDGE)), analysis.load_snapshot(str(DOCS))])
    assert json.loads(result.stdout) == json.loads(orjson.dumps(expected))
    assert json.loads(result.stdout)["counts"]["jobs"] == 10


def test_summary_reads_stdin() -> None:
    # As in the help: nomad setup vault -check -json | wi-readiness summary -
    result = wi("summary", "--format", "json", "-", stdin=CLI_JSON.read_text())
    document = json.loads(result.stdout)
    assert result.code == 0 and document["verdict"] == "not-ready"
    assert document["snapshots"][0]["source"] == "<stdin>" and document["snapshots"][0]["shape"] == "cli-json"


def test_summary_markdown_parses_back(cli: Cli) -> None:
    result = cli("summary", "--format", "markdown", EDGE)
    assert result.code == 0
    assert result.stdout.startswith("**Verdict: NOT-READY**")
    tables = markdown_tables(result.stdout)
    summary = analysis.summarize(analysis.load_snapshot(str(EDGE)))
    namespaces = tables["By namespace"]
    assert namespaces["namespace"].tolist() == ["default", "platform", "team-a"]
    assert namespaces["active"].astype(int).tolist() == [r["active"] for r in summary["groupings"]["by_namespace"]]
    versions = tables["By version"]
    assert versions["version"].tolist() == ['""', "1.5.3+ent", "1.6.2-dev", "1.6.4", "1.6.10"]
    plan = tables["Action plan"]
    assert len(plan) == 13 and plan["step"].tolist() == [str(i) for i in range(1, 14)]
    assert plan["blocking"].tolist().count("True") == 10


def test_summary_csv_parses_back(cli: Cli) -> None:
    single = cli("summary", "--format", "csv", "--by", "version", EDGE)
    assert single.code == 0
    frame = pd.read_csv(io.StringIO(single.stdout), keep_default_na=False)
    summary = analysis.summarize(analysis.load_snapshot(str(EDGE)))
    expected = pd.DataFrame(summary["groupings"]["by_version"])
    assert frame.columns.tolist() == expected.columns.tolist()
    assert frame["nodes"].tolist() == expected["nodes"].tolist() and len(frame) == 5

    every = cli("summary", "--format", "csv", EDGE)
    sections = re.split(r"^# by (\w+)\n", every.stdout, flags=re.M)[1:]
    parsed = {name: pd.read_csv(io.StringIO(text)) for name, text in zip(sections[::2], sections[1::2], strict=True)}
    assert list(parsed) == ["namespace", "datacenter", "version", "pool", "status", "driver"]
    assert len(parsed["namespace"]) == 3 and len(parsed["datacenter"]) == 7 and len(parsed["driver"]) == 6


# ---------------------------------------------------------------------------------------------------------------
# check
# ---------------------------------------------------------------------------------------------------------------


def test_check_exit_codes_on_each_verdict(cli: Cli, cleanup_only: Path) -> None:
    not_ready = wi("check", EDGE)
    assert not_ready.code == 3 and "check FAILED (--fail-on blocking)" in not_ready.stdout
    clear = cli("check", EMPTY)
    assert clear.code == 0 and "check passed (--fail-on blocking)" in clear.stdout
    assert cli("check", cleanup_only).code == 0
    failed = cli("check", "--fail-on", "cleanup", cleanup_only)
    assert failed.code == 3 and "Verdict: CLEANUP-ONLY" in failed.stdout and "check FAILED" in failed.stdout
    assert cli("check", "--fail-on", "cleanup", EMPTY).code == 0
    assert cli("check", "--fail-on", "cleanup", EDGE).code == 3


def test_check_json(cli: Cli, cleanup_only: Path) -> None:
    result = cli("check", "--format", "json", "--fail-on", "cleanup", cleanup_only)
    document = json.loads(result.stdout)
    assert result.code == 3
    assert (document["verdict"], document["passed"], document["fail_on"]) == ("cleanup-only", False, "cleanup")
    assert document["counts"]["jobs_inactive"] == 1 and document["counts"]["nodes_down"] == 1


def _junit(path: Path) -> tuple[ET.Element, list[ET.Element]]:
    suite = ET.parse(path).getroot()
    return suite, suite.findall("testcase")


def test_check_junit_counts(cli: Cli, tmp_path: Path, cleanup_only: Path) -> None:
    report = tmp_path / "out" / "readiness.xml"
    assert cli("check", EDGE, "--junit", report).code == 3
    suite, cases = _junit(report)
    # 13 plan steps: 6 resubmits and 4 node upgrades block, 2 cleanups are skipped, the token step passes.
    assert (suite.get("tests"), suite.get("failures"), suite.get("skipped"), suite.get("errors")) == (
        "13",
        "10",
        "2",
        "0",
    )
    assert len(cases) == 13 and sum(c.find("failure") is not None for c in cases) == 10
    assert any("vault-agent-sync" in (c.get("name") or "") for c in cases)

    assert cli("check", "--fail-on", "cleanup", EDGE, "--junit", report).code == 3
    suite, cases = _junit(report)
    assert (suite.get("tests"), suite.get("failures"), suite.get("skipped")) == ("13", "12", "0")

    # cleanup-only: the two cleanup steps (no tokens left, so no token step) pass unless --fail-on cleanup.
    assert cli("check", cleanup_only, "--junit", report).code == 0
    suite, cases = _junit(report)
    assert (suite.get("tests"), suite.get("failures"), suite.get("skipped")) == ("2", "0", "2")
    assert cli("check", "--fail-on", "cleanup", cleanup_only, "--junit", report).code == 3
    suite, cases = _junit(report)
    assert (suite.get("tests"), suite.get("failures"), suite.get("skipped")) == ("2", "2", "0")

    assert cli("check", EMPTY, "--junit", report).code == 0
    suite, cases = _junit(report)
    assert (suite.get("tests"), suite.get("failures")) == ("1", "0") and len(cases) == 1


# ---------------------------------------------------------------------------------------------------------------
# Errors: one line, the right code
# ---------------------------------------------------------------------------------------------------------------


def test_missing_and_malformed_files_fail_with_one_line(cli: Cli, tmp_path: Path) -> None:
    missing = wi("check", tmp_path / "absent.json")
    assert missing.code == 1
    one_line(missing, "wi-readiness check:", "absent.json: no such file")
    bad = tmp_path / "bad.json"
    bad.write_text('{"JobsWithoutVaultIdentity": [')
    malformed = cli("summary", bad)
    assert malformed.code == 1
    one_line(malformed, "wi-readiness summary:", "bad.json")
    broken_gzip = tmp_path / "broken.json.gz"
    broken_gzip.write_bytes(gzip.compress(EDGE.read_bytes())[:100])
    one_line(cli("export", broken_gzip, "-o", tmp_path / "x"), "broken.json.gz")
    not_ours = write_json(tmp_path / "jobs.json", [{"ID": "x"}])
    wrong_shape = cli("check", not_ours)
    assert wrong_shape.code == 1
    one_line(wrong_shape, "jobs.json")


def test_debug_shows_the_traceback(cli: Cli, tmp_path: Path) -> None:
    result = cli("summary", tmp_path / "absent.json", "--debug")
    assert result.code == 1 and "Traceback" in result.stderr
    assert result.stderr.splitlines()[-1].startswith("wi-readiness summary:")


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("summary", "--bogus", "x.json"), "unrecognized arguments: --bogus"),
        (("check",), "check needs either SNAPSHOT files or --live"),
        (("check", "--live", "x.json"), "exactly one of them"),
        (("check", "x.json", "--address", "http://nomad:4646"), "--address applies only with --live"),
        (("export", "--history", ".", "--format", "csv", "-o", "out"), "use --format parquet (or leave --format out)"),
        (("fetch", "--all-regions", "--region", "eu"), "--region and --all-regions"),
        (("report", "x.json"), "the following arguments are required: -o/--output-dir"),
        (("report", "x.json", "-o", "out", "--top-n", "0"), "must be 1 or more"),
        (("scheduled", "-o", "out", "--keep", "none"), "not a whole number"),
        (("scheduled", "-o", "out", "--region", "eu"), "--region needs --single-region"),
        ((), "the following arguments are required: COMMAND"),
    ],
)
def test_usage_errors_exit_2_with_one_line(cli: Cli, args: tuple[str, ...], needle: str) -> None:
    result = cli(*args)
    assert result.code == 2
    assert "--help" in one_line(result, needle)
    assert result.stdout == ""


def test_usage_error_in_a_child_process() -> None:
    result = wi("summary", "--format", "yaml", EDGE)
    assert result.code == 2 and result.stdout == ""
    one_line(result, "wi-readiness summary: error: argument --format: invalid choice: 'yaml'")


def test_a_bad_setting_is_a_usage_error(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NOMAD_SKIP_VERIFY", "maybe")
    result = cli("check", "--live")
    assert result.code == 2
    one_line(result, "NOMAD_SKIP_VERIFY='maybe' is not a boolean")


def test_connection_refused_is_one_line_without_retry_noise() -> None:
    address = f"http://127.0.0.1:{closed_port()}"
    result = wi("check", "--live", "--address", address)
    assert result.code == 1
    one_line(result, "wi-readiness check:", address, "connection refused")


def test_help_of_every_command_has_an_example(capsys: pytest.CaptureFixture[str]) -> None:
    parser = build_parser()
    assert "examples:" in parser.format_help()
    for command in COMMANDS:
        with pytest.raises(SystemExit) as exited:
            parser.parse_args([command, "--help"])
        assert exited.value.code == 0
        text = capsys.readouterr().out
        assert re.search(r"^examples?:", text, re.M), command
        assert f"wi-readiness {command}" in text.split("example")[-1], command
        # every option explains itself
        assert not re.search(r"^  (-\w, )?--[\w-]+( [A-Z_]+)?\n  -", text, re.M), command


def test_console_script_runs() -> None:
    result = wi("check", EMPTY, "--format", "json", script=True)
    assert result.code == 0 and json.loads(result.stdout)["verdict"] == "clear"


# ---------------------------------------------------------------------------------------------------------------
# export
# ---------------------------------------------------------------------------------------------------------------


@pytest.fixture
def huge_indexes(tmp_path: Path) -> Path:
    """edge-cases with indexes beyond 2**53 (float's exact range) and beyond int64."""
    document = body()
    document["JobsWithoutVaultIdentity"][0]["CreateIndex"] = 2**64 - 1
    document["JobsWithoutVaultIdentity"][0]["JobModifyIndex"] = 2**53 + 1
    document["OutdatedNodes"][0]["ModifyIndex"] = 2**63 + 1
    document["VaultTokens"][0]["CreateIndex"] = 2**53 + 1
    return write_json(tmp_path / "huge.json", document)


@pytest.mark.parametrize("fmt", ["csv", "json", "parquet"])
def test_export_round_trips_rows_and_exact_indexes(cli: Cli, tmp_path: Path, huge_indexes: Path, fmt: str) -> None:
    out = tmp_path / fmt
    run = wi if fmt == "json" else cli
    result = run("export", huge_indexes, DOCS, "--format", fmt, "-o", out)
    assert result.code == 0 and result.stderr == ""
    names = ["jobs", "nodes", "node_drivers", "tokens", "meta"]
    assert [Path(line).name for line in result.stdout.splitlines()] == [f"{n}.{fmt}" for n in names]
    assert sorted(p.name for p in out.iterdir()) == sorted(f"{n}.{fmt}" for n in names)  # no temporary files left
    rows = {"jobs": 10, "nodes": 6, "node_drivers": 18, "tokens": 4, "meta": 2}

    def read(name: str) -> pd.DataFrame:
        path = out / f"{name}.{fmt}"
        if fmt == "csv":
            return pd.read_csv(path, dtype=str, keep_default_na=False)
        if fmt == "json":
            return pd.DataFrame(json.loads(path.read_text()))
        return pd.read_parquet(path)

    tables = {name: read(name) for name in names}
    assert {name: len(frame) for name, frame in tables.items()} == rows
    for frame in tables.values():
        assert {"cluster", "region"} <= set(frame.columns)
        assert set(frame["cluster"]) == {"huge.json", "docs-example.json"}
    jobs, nodes, tokens = tables["jobs"], tables["nodes"], tables["tokens"]
    first = jobs[jobs["id"] == "api-gateway"].iloc[0]
    exact = {fmt: str for fmt in ("csv",)}.get(fmt, int)
    assert first["create_index"] == exact(2**64 - 1) and first["job_modify_index"] == exact(2**53 + 1)
    assert nodes[nodes["name"] == "client-legacy-01"].iloc[0]["modify_index"] == exact(2**63 + 1)
    assert exact(2**53 + 1) in tokens["create_index"].tolist()
    datacenters = jobs[jobs["id"] == "vault-agent-sync"].iloc[0]["datacenters"]
    if fmt == "csv":
        assert json.loads(datacenters) == ["us-east-*", "eu-west-1"]
    else:
        assert list(datacenters) == ["us-east-*", "eu-west-1"]
    if fmt == "json":
        raw = (out / "jobs.json").read_text()
        assert str(2**64 - 1) in raw and str(2**53 + 1) in raw
    if fmt == "parquet":
        schema = pq.read_schema(out / "jobs.parquet")
        assert str(schema.field("datacenters").type).startswith("list<")
        assert str(schema.field("create_index").type) == "uint64"
        assert str(pq.read_schema(out / "nodes.parquet").field("host_volumes").type).startswith("list<")


def test_export_of_an_empty_cluster_writes_headers(cli: Cli, tmp_path: Path) -> None:
    assert cli("export", EMPTY, "-o", tmp_path).code == 0
    jobs = pd.read_csv(tmp_path / "jobs.csv")
    assert len(jobs) == 0 and {"cluster", "region", "namespace", "id", "spec_id", "state"} <= set(jobs.columns)


def test_export_to_an_unwritable_place_is_one_line(cli: Cli, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    result = cli("export", EDGE, "-o", blocker / "sub")
    assert result.code == 1
    one_line(result, "wi-readiness export:", str(blocker))


# ---------------------------------------------------------------------------------------------------------------
# report (renders a notebook)
# ---------------------------------------------------------------------------------------------------------------


@pytest.mark.notebook
def test_report_renders_and_prints_the_html_path(tmp_path: Path) -> None:
    result = wi("report", EDGE, DOCS, "-o", tmp_path / "r", "--title", "Edge <cases>")
    assert result.code == 0, result.stderr
    html = Path(result.stdout.strip())
    assert html == tmp_path / "r" / "readiness_report.html" and html.is_file()
    page = html.read_text()
    assert "Edge &lt;cases&gt;" in page and "vault-agent-sync" in page


def test_report_history_renders_the_progress_notebook(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The wiring only: the render itself runs in the scheduled recipe's end-to-end test."""
    calls: list[tuple[Any, ...]] = []

    def render(snapshots: Any, out_dir: Any, **kwargs: Any) -> ReportResult:
        calls.append((snapshots, out_dir, kwargs))
        return ReportResult(html=Path(out_dir) / "migration_progress.html", notebook=Path(out_dir) / "x.ipynb")

    monkeypatch.setattr("analysis.report.render_report", render)
    (tmp_path / "prod_eu_1.json.gz").write_bytes(b"")  # the folder must hold something to render
    result = cli("report", "--history", tmp_path, "-o", tmp_path / "out", "--top-n", "5", "--redact")
    assert result.code == 0 and result.stdout == f"{tmp_path / 'out' / 'migration_progress.html'}\n"
    ((snapshots, out_dir, kwargs),) = calls
    assert snapshots == [] and out_dir == str(tmp_path / "out")
    assert kwargs["notebook"] == "migration_progress"
    assert kwargs["extra_parameters"] == {"history": str(tmp_path.resolve())}
    assert (kwargs["top_n"], kwargs["redact"], kwargs["title"], kwargs["timeout"]) == (5, True, None, 600)


def test_report_errors_are_one_line(cli: Cli, tmp_path: Path) -> None:
    missing = cli("report", tmp_path / "absent.json", "-o", tmp_path / "r")
    assert missing.code == 1
    one_line(missing, "wi-readiness report:", "absent.json")
    assert cli("report", EDGE, "--history", tmp_path, "-o", tmp_path / "r").code == 2
    assert cli("report", "-", "-o", tmp_path / "r").code == 2
    not_a_folder = cli("report", "--history", tmp_path / "nope", "-o", tmp_path / "r")
    assert not_a_folder.code == 1
    one_line(not_a_folder, "--history", "is not a folder")


# ---------------------------------------------------------------------------------------------------------------
# fetch, check --live: against the Nomad stand-in
# ---------------------------------------------------------------------------------------------------------------


def test_fetch_all_regions_writes_one_file_per_region(agent: NomadStandIn, token_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "snaps"
    result = wi("fetch", "--all-regions", "--token-file", token_file, "-o", out, env={"NOMAD_ADDR": agent.address})
    assert result.code == 0 and result.stderr == ""  # quiet off a terminal
    paths = [Path(line) for line in result.stdout.splitlines()]
    assert len(paths) == 2 and sorted(paths) == sorted(out.iterdir())
    for path, region in zip(paths, ("global", "eu-west"), strict=True):
        assert re.fullmatch(rf"127\.0\.0\.1_{region}_\d{{8}}T\d{{6}}\.\d{{6}}Z\.json\.gz", path.name)
        assert path.read_bytes()[:2] == b"\x1f\x8b"
        snap = analysis.load_snapshot(path)
        assert (snap.cluster, snap.region, len(snap.jobs)) == ("127.0.0.1", region, 9)
    endpoint = agent.requests_to(ENDPOINT)
    assert [r.query.get("region") for r in endpoint] == [["global"], ["eu-west"]]
    assert {r.token for r in agent.requests} == {TOKEN}
    assert TOKEN not in result.stdout + result.stderr and TOKEN not in all_text_under(out)


def test_fetch_one_region_failing_keeps_the_others(agent: NomadStandIn, token_file: Path, tmp_path: Path) -> None:
    agent.queue(ENDPOINT, Answer(500, "failed to retrieve jobs: disk on fire"))
    out = tmp_path / "snaps"
    result = wi(
        "fetch", "--all-regions", "--no-gzip", "--token-file", token_file, "--address", agent.address, "-o", out
    )
    assert result.code == 1
    one_line(result, "wi-readiness fetch: region global:", "500", "disk on fire")
    written = [Path(line) for line in result.stdout.splitlines()]
    assert len(written) == 1 and written[0].name.startswith("127.0.0.1_eu-west_") and written[0].suffix == ".json"
    assert [p.name for p in out.iterdir()] == [written[0].name]


def test_fetch_cluster_name_and_single_region(cli: Cli, agent: NomadStandIn, token_file: Path, tmp_path: Path) -> None:
    result = cli(
        "fetch", "--cluster", "prod eu", "--region", "eu-west", "--token-file", token_file,
        "--address", agent.address, "-o", tmp_path,
    )  # fmt: skip
    assert result.code == 0
    (path,) = [Path(line) for line in result.stdout.splitlines()]
    assert path.name.startswith("prod-eu_eu-west_")
    assert analysis.load_snapshot(path).cluster == "prod eu"


def test_fetch_token_from_stdin(cli: Cli, agent: NomadStandIn, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    result = wi("fetch", "--token-file", "-", "--address", agent.address, "-o", tmp_path, stdin=f"{TOKEN}\n")
    assert result.code == 0, result.stderr
    assert agent.requests and {r.token for r in agent.requests} == {TOKEN}
    assert TOKEN not in result.stdout + result.stderr and TOKEN not in all_text_under(tmp_path)
    monkeypatch.setattr(sys, "stdin", io.StringIO("\n"))
    empty = cli("fetch", "--token-file", "-", "--address", agent.address, "-o", tmp_path)
    assert empty.code == 2
    one_line(empty, "standard input held no token")


def test_fetch_with_a_token_that_is_refused(cli: Cli, agent: NomadStandIn, tmp_path: Path) -> None:
    wrong = tmp_path / "wrong"
    wrong.write_text("00000000-wrong-token\n")
    result = cli("fetch", "--token-file", wrong, "--address", agent.address, "-o", tmp_path / "out")
    assert result.code == 1
    one_line(result, "403", "operator:read")
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").iterdir())


def test_fetch_enrichment_notes_without_the_acl(cli: Cli, tmp_path: Path) -> None:
    tokens = {"operator-only": frozenset({OPERATOR_READ}), TOKEN: ALL_CAPABILITIES}
    with NomadStandIn(tokens=tokens) as agent:
        limited = tmp_path / "limited"
        limited.write_text("operator-only")
        degraded = wi("fetch", "--enrich", "--token-file", limited, "--address", agent.address, "-o", tmp_path / "a")
        full_token = tmp_path / "full"
        full_token.write_text(TOKEN)
        full = cli("fetch", "--enrich", "--token-file", full_token, "--address", agent.address, "-o", tmp_path / "b")
        quiet = cli("fetch", "-q", "--enrich", "--token-file", limited, "--address", agent.address, "-o", tmp_path)
    assert degraded.code == 0 and full.code == 0
    notes = degraded.stderr.splitlines()
    assert notes and all(line.startswith("wi-readiness fetch: note: ") for line in notes)
    assert any("token lacks node:read" in line for line in notes)
    assert any("the token needs read-job" in line for line in notes)
    assert analysis.load_snapshot(degraded.stdout.strip()).all_nodes is None
    assert "lacks" not in full.stderr
    enriched = analysis.load_snapshot(full.stdout.strip())
    assert enriched.all_nodes is not None and len(enriched.all_nodes) == 6
    assert quiet.code == 0 and quiet.stderr == ""


def test_fetch_shows_progress_on_a_terminal(agent: NomadStandIn, token_file: Path, tmp_path: Path) -> None:
    leader, follower = pty.openpty()
    try:
        done = subprocess.run(
            [sys.executable, "-m", "analysis", "fetch", "--all-regions", "--token-file", str(token_file),
             "--address", agent.address, "-o", str(tmp_path)],
            stdout=subprocess.PIPE, stderr=follower, text=True, timeout=60, cwd=ROOT,
        )  # fmt: skip
        os.close(follower)
        shown = b""
        while True:
            try:
                chunk = os.read(leader, 4096)
            except OSError:
                break
            if not chunk:
                break
            shown += chunk
    finally:
        os.close(leader)
    assert done.returncode == 0
    text = shown.decode()
    assert "regions: global, eu-west" in text and "fetching eu-west" in text and "9 jobs, 5 outdated nodes" in text


def test_check_live(cli: Cli, token_file: Path) -> None:
    with NomadStandIn(tokens={TOKEN: ALL_CAPABILITIES}) as agent:
        env = {"NOMAD_ADDR": agent.address}
        not_ready = wi("check", "--live", "--token-file", token_file, "--format", "json", env=env)
    assert not_ready.code == 3 and json.loads(not_ready.stdout)["verdict"] == "not-ready"
    with NomadStandIn("empty-cluster.json") as agent:
        clear = cli("check", "--live", "--stale", "--address", agent.address)
    assert clear.code == 0 and "Verdict: CLEAR" in clear.stdout
    assert agent.requests_to(ENDPOINT)[0].query == {"stale": [""]}


# ---------------------------------------------------------------------------------------------------------------
# capture (library)
# ---------------------------------------------------------------------------------------------------------------


def test_snapshot_filename_is_safe_and_sortable() -> None:
    stamp = pd.Timestamp("2026-01-02T03:04:05.000006+01:00")
    assert snapshot_filename("../etc", None, stamp, gzip=False) == "etc_region_20260102T020405.000006Z.json"
    assert snapshot_filename(None, "eu west", stamp) == "cluster_eu-west_20260102T020405.000006Z.json.gz"


def test_capture_fails_on_an_unusable_folder_before_fetching(agent: NomadStandIn, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(OSError):
        capture(NomadSettings(address=agent.address, token=TOKEN), blocker / "snaps", all_regions=True)
    assert agent.requests == []


def test_capture_reports_an_empty_region_list(tmp_path: Path) -> None:
    with NomadStandIn(regions=()) as agent:
        agent.queue("/v1/regions", Answer(200, []))
        with pytest.raises(analysis.NomadResponseError, match="listed no regions"):
            capture(NomadSettings(address=agent.address), tmp_path, all_regions=True)


# ---------------------------------------------------------------------------------------------------------------
# diff, trend, export --history (analysis.history)
# ---------------------------------------------------------------------------------------------------------------


def _envelope(folder: Path, day: int, jobs: list[dict[str, Any]], cluster: str = "prod") -> Path:
    document = body()
    document["JobsWithoutVaultIdentity"] = jobs
    document["Index"] = 48213 + day
    envelope = {
        "format": "nomad-wi-readiness/snapshot",
        "version": 1,
        "cluster": cluster,
        "region": "global",
        "captured_at": f"2026-06-0{day}T06:15:00Z",
        "response": document,
    }
    return write_json(folder / f"{cluster}_global_2026060{day}.json", envelope)


@pytest.fixture
def history_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "history"
    folder.mkdir()
    jobs = body()["JobsWithoutVaultIdentity"]
    _envelope(folder, 1, jobs)
    _envelope(folder, 2, [j for j in jobs if j["ID"] != "api-gateway"])
    return folder


def test_diff(cli: Cli, history_folder: Path, tmp_path: Path) -> None:
    old, new = sorted(history_folder.iterdir())
    result = wi("diff", old, new, "--format", "json")
    assert result.code == 0, result.stderr
    expected = diff_snapshots(analysis.load_snapshot(str(old)), analysis.load_snapshot(str(new))).to_dict()
    assert json.loads(result.stdout) == json.loads(orjson.dumps(expected))
    text = cli("diff", old, new)
    assert text.code == 0 and "api-gateway" in text.stdout
    markdown = cli("diff", old, new, "--format", "markdown")
    assert markdown.code == 0 and markdown.stdout.startswith("#")
    staging = tmp_path / "staging"
    staging.mkdir()
    other = _envelope(staging, 3, [], cluster="staging")
    mismatch = cli("diff", old, other)
    assert mismatch.code == 1
    one_line(mismatch, "wi-readiness diff:")


def test_trend_and_export_history(cli: Cli, history_folder: Path, tmp_path: Path) -> None:
    (history_folder / "notes.json").write_text("{}")
    trend = wi("trend", history_folder, "--format", "csv")
    assert trend.code == 0, trend.stderr
    frame = pd.read_csv(io.StringIO(trend.stdout))
    assert len(frame) == 2 and frame["jobs_active"].tolist() == [7, 6]
    one_line(trend, "wi-readiness trend: skipped", "notes.json")
    as_json = cli("trend", history_folder, "--format", "json")
    rows = json.loads(as_json.stdout)
    assert [(row["jobs"], row["verdict"], row["index"]) for row in rows] == [
        (9, "not-ready", 48214),
        (8, "not-ready", 48215),
    ]

    dataset = tmp_path / "dataset"
    exported = cli("export", "--history", history_folder, "--format", "parquet", "-o", dataset)
    assert exported.code == 0, exported.stderr
    assert Path(exported.stdout.strip()) == dataset and (dataset / "_dataset.json").is_file()
    again = cli("trend", dataset)
    assert again.code == 0 and len(again.stdout.splitlines()) == 3 and again.stdout.startswith("cluster  region")
    absent = cli("trend", tmp_path / "absent")
    assert absent.code == 1
    one_line(absent, "wi-readiness trend:", "absent")


def test_a_folder_of_captures_means_the_newest_per_cluster_and_region(tmp_path: Path, cli: Cli) -> None:
    """The CI recipe gates on reports/snapshots/: many captures of one region must not be read as duplicates."""
    folder = tmp_path / "snapshots"
    folder.mkdir()
    edge, empty = body(EDGE), body(FIXTURES / "empty-cluster.json")

    def envelope(name: str, response: dict[str, Any], region: str, captured_at: str) -> None:
        write_json(
            folder / name,
            {
                "format": "nomad-wi-readiness/snapshot",
                "version": 1,
                "cluster": "prod",
                "region": region,
                "captured_at": captured_at,
                "response": response,
            },
        )

    envelope("prod_eu_1.json", edge, "eu", "2026-12-01T06:15:00Z")  # not ready, then fixed
    envelope("prod_eu_2.json", empty, "eu", "2026-12-02T06:15:00Z")
    envelope("prod_us_1.json", empty, "us", "2026-12-01T06:15:00Z")
    assert cli("check", str(folder)).code == 0  # eu's newest is clear, us is clear
    envelope("prod_us_2.json", edge, "us", "2026-12-03T06:15:00Z")  # us regressed
    result = cli("check", "--format", "json", str(folder))
    assert result.code == 3 and json.loads(result.stdout)["counts"]["jobs_active"] == 7
    # stderr says what the folder stood for: 4 captures, the newest of 2 regions used, 2 left out.
    assert "prod_eu_2.json, prod_us_2.json); 2 older capture(s) left out" in result.stderr
    empty_folder = tmp_path / "nothing"
    empty_folder.mkdir()
    assert "holds no snapshot" in one_line(cli("summary", str(empty_folder)))


def test_history_defaults_and_empty_history(tmp_path: Path, cli: Cli) -> None:
    history = tmp_path / "history"
    history.mkdir()
    # An empty history fails up front with one line, before any kernel starts.
    assert "holds no snapshot" in one_line(cli("report", "--history", str(history), "-o", str(tmp_path / "r")))
    assert not (tmp_path / "r").exists()
    write_json(
        history / "a.json",
        {
            "format": "nomad-wi-readiness/snapshot",
            "version": 1,
            "cluster": "c",
            "region": "r",
            "captured_at": "2026-12-01T00:00:00Z",
            "response": body(),
        },
    )
    result = cli("export", "--history", str(history), "-o", str(tmp_path / "ds"))  # parquet without --format
    assert result.code == 0 and (tmp_path / "ds").is_dir()
    table = cli("trend", str(history)).stdout
    header = table.splitlines()[0].split()
    assert "source" not in header and "snapshot_id" not in header and "jobs_active" in header
    assert "source" in cli("trend", "--format", "csv", str(history)).stdout.splitlines()[0].split(",")


def test_summary_shows_counts_as_integers_and_shares_as_percent(cli: Cli) -> None:
    out = cli("summary", "--by", "datacenter", str(ROOT / "data" / "demo-snapshot.json.gz")).stdout
    dc1 = next(line for line in out.splitlines() if line.startswith("dc1 "))
    # demo: dc1 has 23 live + 3 down outdated nodes of 93 clients: 26/93 = 28%.
    assert dc1.split()[-3:] == ["93", "28%", "39"]
