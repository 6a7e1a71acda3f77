"""The scheduled recipe: the README's crontab line run as written against a two-region Nomad stand-in, and the
run bookkeeping (pruning, failed runs, the index) at library level.

The end-to-end sequence renders three reports, once, in a module-scoped fixture; the tests read what it recorded.
"""

from __future__ import annotations

import html
import re
import shlex
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import orjson
import pytest

from analysis import ReportError
from analysis.client import NomadSettings
from analysis.report import ReportResult
from analysis.schedule import render_index, run_scheduled
from tests.nomad_standin import ALL_CAPABILITIES, ENDPOINT, Answer, NomadStandIn

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
TOKEN = "9c4e1d2a-scheduled-planted-token-77aa0f31b2c4"


# ---------------------------------------------------------------------------------------------------------------
# The README's crontab line
# ---------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CronLine:
    """The crontab entry of the README, split into its environment and its arguments."""

    env: dict[str, str]
    program: str
    args: list[str]


def readme_cron_line() -> CronLine:
    """The ``wi-readiness scheduled`` line of the README's ```` ```cron ```` block."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"```cron\n(.*?)```", text, re.S)
    assert block, "README.md has no ```cron block with the scheduled recipe"
    lines = [line for line in block[1].splitlines() if "wi-readiness scheduled" in line and not line.startswith("#")]
    assert len(lines) == 1, "README.md's cron block should hold one `wi-readiness scheduled` line"
    words = shlex.split(lines[0])[5:]  # minute hour day month weekday
    env = {}
    while re.fullmatch(r"[A-Z_]+=.*", words[0]):
        name, _, value = words.pop(0).partition("=")
        env[name] = value
    program = words.pop(0)
    assert Path(program).name == "wi-readiness" and words[0] == "scheduled", lines[0]
    return CronLine(env, program, words)


def as_in_the_readme(
    line: CronLine, *, address: str, token_file: Path, reports: Path, keep: int | None = None
) -> list[str]:
    """The README's arguments with its paths (and ``--keep``) pointed at this test's."""
    args = list(line.args)
    for flag, value in (("--token-file", token_file), ("-o", reports), ("--keep", keep)):
        if value is not None:
            assert flag in args, f"the README's cron line has no {flag}"
            args[args.index(flag) + 1] = str(value)
    return [str(Path(sys.executable).with_name("wi-readiness")), *args]


def cron_environment(line: CronLine, address: str, home: Path) -> dict[str, str]:
    """What cron gives a job: a bare PATH and HOME, plus the line's own variables (the stand-in speaks plain HTTP,
    so the TLS variables are left out)."""
    env = {"PATH": "/usr/bin:/bin", "HOME": str(home), "LANG": "C.UTF-8"}
    env.update({k: v for k, v in line.env.items() if not k.startswith(("NOMAD_CA", "NOMAD_CLIENT", "NOMAD_TLS"))})
    assert "NOMAD_ADDR" in env, "the README's cron line should set NOMAD_ADDR"
    env["NOMAD_ADDR"] = address
    return env


@dataclass(frozen=True)
class Step:
    """One scheduled run (or two at once) and the state of the reports folder after it."""

    codes: list[int]
    stdout: list[str]
    stderr: list[str]
    runs: list[str]
    snapshots: list[str]
    index: str
    records: dict[str, dict[str, Any]]
    linked: dict[str, bool]  # every link of index.html: whether its file existed right after the step


def _state(reports: Path, done: list[subprocess.CompletedProcess[str]]) -> Step:
    runs = sorted(p.name for p in (reports / "runs").iterdir())
    index = (reports / "index.html").read_text(encoding="utf-8")
    return Step(
        codes=[d.returncode for d in done],
        stdout=[d.stdout for d in done],
        stderr=[d.stderr for d in done],
        runs=runs,
        snapshots=sorted(p.name for p in (reports / "snapshots").iterdir()),
        index=index,
        records={name: orjson.loads((reports / "runs" / name / "run.json").read_bytes()) for name in runs},
        linked={href: (reports / href).is_file() for href in links(index)},
    )


@dataclass(frozen=True)
class Sequence:
    reports: Path
    agent: NomadStandIn
    first: Step
    concurrent: Step
    all_failed: Step


@pytest.fixture(scope="module")
def sequence(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sequence]:
    """Run the README's line, then two runs at once with --keep 2, then a run where every region fails."""
    line = readme_cron_line()
    home = tmp_path_factory.mktemp("home")
    reports = home / "srv" / "reports"
    token_file = home / "token"
    token_file.write_text(TOKEN + "\n")
    with NomadStandIn(tokens={TOKEN: ALL_CAPABILITIES}, regions=("global", "eu-west")) as agent:
        env = cron_environment(line, agent.address, home)

        def command(keep: int | None = None) -> list[str]:
            return as_in_the_readme(line, address=agent.address, token_file=token_file, reports=reports, keep=keep)

        def run(*commands: list[str]) -> list[subprocess.CompletedProcess[str]]:
            children = [
                subprocess.Popen(c, env=env, cwd=home, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                for c in commands
            ]
            done = []
            for child, c in zip(children, commands, strict=True):
                out, err = child.communicate(timeout=180)
                done.append(subprocess.CompletedProcess(c, child.returncode, out, err))
            return done

        first = _state(reports, run(command()))
        concurrent = _state(reports, run(command(keep=2), command(keep=2)))
        agent.queue(ENDPOINT, Answer(500, "failed to retrieve jobs: disk on fire"), Answer(500, "no servers"))
        all_failed = _state(reports, run(command()))
        yield Sequence(reports, agent, first, concurrent, all_failed)


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        href = dict(attrs).get("href")
        if tag == "a" and href:
            self.links.append(href)


def links(page: str) -> list[str]:
    parser = _Links()
    parser.feed(page)
    return parser.links


def rows(page: str) -> list[str]:
    return re.findall(r"<tr><td>.*?</tr>", page)


@pytest.mark.notebook
def test_first_run_as_in_the_readme(sequence: Sequence) -> None:
    step = sequence.first
    assert step.codes == [0], step.stderr
    assert step.stdout == [""] and step.stderr == [""]  # cron mails nothing when all is well
    (run,) = step.runs
    assert re.fullmatch(r"\d{8}T\d{6}Z", run)
    record = step.records[run]
    assert record["status"] == "ok" and record["verdict"] == "not-ready"
    assert record["counts"]["jobs_active"] == 14 and record["counts"]["nodes_live"] == 8  # 7 and 4, two regions
    assert len(step.snapshots) == 2
    assert [n.split("_")[1] for n in step.snapshots] == ["eu-west", "global"]
    (row,) = rows(step.index)
    assert f"<td>{run}</td>" in row and "<td>not-ready</td>" in row and ">ok<" in row
    assert step.linked == {
        f"runs/{run}/readiness_report.html": True,
        f"runs/{run}/progress/migration_progress.html": True,
        f"runs/{run}/run.json": True,
    }
    assert record["report"] == "readiness_report.html" and not record["notes"]


@pytest.mark.notebook
def test_two_runs_at_once_with_keep_2(sequence: Sequence) -> None:
    step = sequence.concurrent
    assert step.codes == [0, 0], step.stderr
    assert len(step.runs) == 2 and sequence.first.runs[0] not in step.runs  # the first run was pruned
    assert all(not name.endswith(".failed") for name in step.runs)
    listed = {Path(p).name for record in step.records.values() for p in record["snapshots"]}
    # Every capture stays (the history trend reads): the kept runs' and the pruned first run's.
    assert len(listed) == 4 and set(step.snapshots) == listed | set(sequence.first.snapshots)
    assert [r for r in rows(step.index) if any(f"<td>{name}</td>" in r for name in step.runs)] == rows(step.index)
    assert len(rows(step.index)) == 2
    assert {href for href in step.linked if href.endswith("readiness_report.html")} == {
        f"runs/{name}/readiness_report.html" for name in step.runs
    }
    assert len(step.linked) == 6  # and a progress report and the run.json of each
    assert all(step.linked.values())
    leftovers = [p for p in sequence.reports.rglob("*") if p.name.startswith(".") and p.name != ".lock"]
    assert leftovers == []  # no staging folders or temporary files


@pytest.mark.notebook
def test_a_run_where_every_region_fails_keeps_the_last_good_report(sequence: Sequence) -> None:
    step = sequence.all_failed
    assert step.codes == [1] and step.stdout == [""]
    errors = step.stderr[0].splitlines()
    assert len(errors) == 3 and "Traceback" not in step.stderr[0]
    assert errors[0].startswith("wi-readiness scheduled: region global:") and "disk on fire" in errors[0]
    assert errors[1].startswith("wi-readiness scheduled: region eu-west:") and "no servers" in errors[1]
    assert "run failed: no region could be captured" in errors[2]
    failed = [name for name in step.runs if name.endswith(".failed")]
    assert len(failed) == 1 and len(step.runs) == 3
    assert step.records[failed[0]]["status"] == "failed"
    newest_good = max(sequence.concurrent.runs)
    latest = f"runs/{newest_good}/readiness_report.html"
    assert f'Latest good report: <a href="{latest}">' in step.index and step.linked[latest]
    # The failed run links only its own run.json (where its error is) and removed nothing.
    assert step.linked == {**sequence.concurrent.linked, f"runs/{failed[0]}/run.json": True}
    newest_row = rows(step.index)[0]
    assert newest_row.startswith(f"<tr><td>{failed[0].removesuffix('.failed')}</td><td class='failed'>failed</td>")
    assert "disk on fire" in newest_row
    assert step.snapshots == sequence.concurrent.snapshots


@pytest.mark.notebook
def test_the_token_is_sent_and_never_written(sequence: Sequence) -> None:
    endpoint = sequence.agent.requests_to(ENDPOINT)
    assert len(endpoint) == 8 and {r.token for r in endpoint} == {TOKEN}
    assert {r.query["region"][0] for r in endpoint} == {"global", "eu-west"}
    for path in sequence.reports.rglob("*"):
        if path.is_file() and not path.name.endswith(".gz"):
            assert TOKEN not in path.read_text(encoding="utf-8", errors="replace"), path
    for step in (sequence.first, sequence.concurrent, sequence.all_failed):
        assert all(TOKEN not in text for text in step.stdout + step.stderr)


# ---------------------------------------------------------------------------------------------------------------
# Library level: the bookkeeping, with a stand-in renderer (no kernel)
# ---------------------------------------------------------------------------------------------------------------


@pytest.fixture
def fake_render(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Replace the notebook render by one that writes a small page; queue exceptions to make it fail."""
    failures: list[Any] = []

    def render(snapshots: Any, out_dir: Any, **kwargs: Any) -> ReportResult:
        if failures:
            raise failures.pop(0)
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        page = out / "readiness_report.html"
        page.write_text(f"<html>{len(snapshots)} snapshots</html>")
        return ReportResult(html=page, notebook=out / "readiness_report.ipynb")

    monkeypatch.setattr("analysis.report.render_report", render)
    return failures


def _records(root: Path) -> dict[str, dict[str, Any]]:
    return {p.parent.name: orjson.loads(p.read_bytes()) for p in sorted((root / "runs").glob("*/run.json"))}


def test_a_streak_of_failures_never_prunes_the_last_good_run(tmp_path: Path, fake_render: list[Any]) -> None:
    good = run_scheduled(None, tmp_path, snapshots=[FIXTURES / "edge-cases.json"], keep=2)
    assert good.ok and good.status == "ok" and good.verdict == "not-ready"
    fake_render.extend(ReportError(f"cell {i} failed") for i in range(3))
    outcomes = [run_scheduled(None, tmp_path, snapshots=[FIXTURES / "edge-cases.json"], keep=2) for _ in range(3)]
    assert [o.ok for o in outcomes] == [False] * 3 and outcomes[-1].error == "cell 2 failed"
    runs = sorted((tmp_path / "runs").iterdir())
    assert good.run_dir in runs and len(runs) == 3  # the good run and the newest two failures
    assert [o.run_dir in runs for o in outcomes] == [False, True, True]
    page = (tmp_path / "index.html").read_text()
    assert f'Latest good report: <a href="runs/{good.run_dir.name}/readiness_report.html">' in page


def test_an_unexpected_error_is_recorded_and_the_lock_released(tmp_path: Path, fake_render: list[Any]) -> None:
    fake_render.append(TypeError("a bug"))
    broken = run_scheduled(None, tmp_path, snapshots=[FIXTURES / "docs-example.json"])
    assert not broken.ok and broken.error == "TypeError: a bug" and broken.run_dir.name.endswith(".failed")
    assert (broken.run_dir / "run.json").is_file()
    assert "No good report yet." in (tmp_path / "index.html").read_text()
    again = run_scheduled(None, tmp_path, snapshots=[FIXTURES / "docs-example.json"])  # would hang on a held lock
    assert again.ok and again.run_dir.name != broken.run_dir.name.removesuffix(".failed")


def test_one_region_failing_is_a_partial_run(tmp_path: Path, fake_render: list[Any]) -> None:
    with NomadStandIn() as agent:
        agent.queue(ENDPOINT, Answer(500, "failed to retrieve nodes: <boom> & co"))
        outcome = run_scheduled(NomadSettings(address=agent.address, retries=0), tmp_path)
    assert (outcome.ok, outcome.status, outcome.verdict) == (False, "partial", "not-ready")
    assert [region for region, _ in outcome.regions_failed] == ["global"]
    record = _records(tmp_path)[outcome.run_dir.name]
    assert [Path(p).name.split("_")[1] for p in record["snapshots"]] == ["eu-west"]
    page = (tmp_path / "index.html").read_text()
    assert "&lt;boom&gt; &amp; co" in page and "<boom>" not in page  # escaped
    assert f"runs/{outcome.run_dir.name}/readiness_report.html" in page  # a partial run still links its report


def test_enrichment_notes_are_recorded(tmp_path: Path, fake_render: list[Any]) -> None:
    with NomadStandIn(tokens={"operator-only": frozenset({"operator:read"})}) as agent:
        outcome = run_scheduled(
            NomadSettings(address=agent.address, token="operator-only"), tmp_path, enrich=True, all_regions=False
        )
    assert outcome.ok and any("node:read" in note for note in outcome.notes)
    assert "node:read" in (tmp_path / "index.html").read_text()


def test_leftover_staging_is_removed_and_runs_in_one_second_stay_apart(tmp_path: Path, fake_render: list[Any]) -> None:
    (tmp_path / "runs" / ".20200101T000000Z.staging").mkdir(parents=True)
    first = run_scheduled(None, tmp_path, snapshots=[FIXTURES / "docs-example.json"])
    second = run_scheduled(None, tmp_path, snapshots=[FIXTURES / "docs-example.json"])
    assert first.run_dir != second.run_dir
    assert not (tmp_path / "runs" / ".20200101T000000Z.staging").exists()
    names = [m for m in re.findall(r"<tr><td>([^<]+)</td>", (tmp_path / "index.html").read_text())]
    assert names == [second.run_dir.name, first.run_dir.name]  # newest first


def test_keep_must_be_positive_and_something_to_do(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="keep"):
        run_scheduled(None, tmp_path, snapshots=[], keep=0)
    with pytest.raises(ValueError, match="settings"):
        run_scheduled(None, tmp_path)


def test_render_index_of_an_empty_folder(tmp_path: Path) -> None:
    page = render_index(tmp_path)
    assert "No runs yet." in page and "No good report yet." in page
    assert html.unescape(page).count("<table>") == 1


def test_captures_are_kept_by_default_and_runs_pruned_in_order(tmp_path: Path, fake_render: list[Any]) -> None:
    with NomadStandIn() as agent:
        settings = NomadSettings(address=agent.address)
        runs = [run_scheduled(settings, tmp_path, keep=1, all_regions=False) for _ in range(3)]
    # Three runs in (most likely) the same second: the newest always survives the pruning.
    assert [p.name for p in (tmp_path / "runs").iterdir()] == [runs[-1].run_dir.name]
    assert len(list((tmp_path / "snapshots").glob("*.json.gz"))) == 3  # the history trend reads


def test_pruning_removes_only_the_captures_of_removed_runs(tmp_path: Path, fake_render: list[Any]) -> None:
    mine = tmp_path / "snapshots" / "copied-by-hand.json.gz"
    mine.parent.mkdir()
    mine.write_bytes(b"")
    with NomadStandIn() as agent:
        settings = NomadSettings(address=agent.address)
        first = run_scheduled(settings, tmp_path, keep=1, all_regions=False, prune_snapshots=True)
        first_files = _records(tmp_path)[first.run_dir.name]["snapshots"]
        third = run_scheduled(settings, tmp_path, keep=1, all_regions=False, prune_snapshots=True)
    assert [p.name for p in (tmp_path / "runs").iterdir()] == [third.run_dir.name]
    assert not any(Path(f).exists() for f in first_files)
    assert all(Path(f).exists() for f in _records(tmp_path)[third.run_dir.name]["snapshots"])
    assert mine.exists()  # never recorded by a run: not ours to delete
