"""The report pipeline: papermill + nbconvert into offline, escaped, token-free HTML.

Kernel starts cost seconds, so each rendered report is a module-scoped fixture shared by the tests that read it.
"""

from __future__ import annotations

import json
from html.parser import HTMLParser
from pathlib import Path
from typing import ClassVar

import nbformat
import pandas as pd
import pytest

from analysis import load_snapshot
from analysis.errors import ReportError, SnapshotNotFoundError
from analysis.report import (
    REDACTED_COLUMNS,
    ReportResult,
    check_parameters,
    kernel_environment,
    redact_frame,
    redact_tables,
    redact_value,
    render_report,
    write_table,
)
from tests import browser

HERE = Path(__file__).parent
FIXTURES = HERE / "fixtures"
NOTEBOOKS = HERE.parent / "notebooks"
FAILS = HERE / "notebooks" / "fails_on_purpose.ipynb"
PLANTED_TOKEN = "s.planted-report-token-7f3c9a1e5b"
MAX_HTML_BYTES = 6 * 1024 * 1024

HOSTILE = {
    "script": "<script>window.__xss=1</script>",
    "attribute": '"><img src=x onerror="window.__xss=2">',
    "close": "</script><script>window.__xss=3</script>",
    "template": "{{7*7}}",
    "markdown": "**bold** [link](http://evil)",
    "link": '<a href="http://evil.example/">click</a>',
}


# -- renders, one kernel each ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def edge(tmp_path_factory: pytest.TempPathFactory) -> ReportResult:
    out = tmp_path_factory.mktemp("edge")
    with pytest.MonkeyPatch.context() as mp:
        # Planted in the renderer's environment: it must reach neither the kernel nor any file.
        mp.setenv("NOMAD_TOKEN", PLANTED_TOKEN)
        mp.setenv("VAULT_TOKEN", PLANTED_TOKEN + "-vault")
        return render_report([FIXTURES / "edge-cases.json"], out)


@pytest.fixture(scope="module")
def empty(tmp_path_factory: pytest.TempPathFactory) -> ReportResult:
    return render_report([FIXTURES / "empty-cluster.json"], tmp_path_factory.mktemp("empty"))


@pytest.fixture(scope="module")
def redacted(tmp_path_factory: pytest.TempPathFactory) -> ReportResult:
    return render_report([FIXTURES / "edge-cases.json"], tmp_path_factory.mktemp("redacted"), redact=True, top_n=3)


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> ReportResult:
    document = json.loads((FIXTURES / "edge-cases.json").read_text())
    jobs = document["JobsWithoutVaultIdentity"]
    for job, value in zip(jobs, HOSTILE.values(), strict=False):
        job["ID"] = job["Name"] = value
    jobs[0]["Namespace"] = HOSTILE["close"]
    jobs[1]["Namespace"] = HOSTILE["link"]
    for node, value in zip(document["OutdatedNodes"], HOSTILE.values(), strict=False):
        node["Name"] = value
    document["OutdatedNodes"][0]["Version"] = HOSTILE["attribute"]
    folder = tmp_path_factory.mktemp("hostile")
    snapshot = folder / "hostile.json"
    snapshot.write_text(json.dumps(document))
    # The title doubles as the parameter-typing check: papermill's CLI would turn "1.10" into a float.
    return render_report([snapshot], folder / "out", title="1.10")


@pytest.fixture(scope="module")
def failures(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """A good run, then a failing one into the same folder; a timeout and a dying kernel elsewhere."""
    out = tmp_path_factory.mktemp("fails")
    results: dict[str, object] = {"out": out}
    results["ok"] = render_report(
        [FIXTURES / "empty-cluster.json"], out, notebook=FAILS, extra_parameters={"mode": "ok"}
    )
    results["good_html"] = (out / "fails_on_purpose.html").read_bytes()
    for mode, folder, timeout in (("raise", out, 60), ("sleep", out / "sleep", 2), ("exit", out / "exit", 60)):
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("NOMAD_TOKEN", PLANTED_TOKEN)
            with pytest.raises(ReportError) as caught:
                render_report(
                    [FIXTURES / "empty-cluster.json"],
                    folder,
                    notebook=FAILS,
                    timeout=timeout,
                    extra_parameters={"mode": mode},
                )
        results[mode] = caught.value
    return results


# -- helpers -----------------------------------------------------------------------------------------------------


class _Resources(HTMLParser):
    """Collects every attribute that makes a browser fetch something, and the text of <style> elements."""

    FETCHING: ClassVar[set[str]] = {
        "src",
        "srcset",
        "href",
        "data",
        "poster",
        "action",
        "formaction",
        "background",
        "xlink:href",
    }

    def __init__(self) -> None:
        super().__init__()
        self.fetches: list[tuple[str, str, str]] = []
        self.styles: list[str] = []
        self.meta: list[dict[str, str | None]] = []
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "meta":
            self.meta.append(dict(attrs))
        for name, value in attrs:
            # <a href> is a link the reader may follow, not a resource the page loads.
            if name in self.FETCHING and value and not (tag == "a" and name == "href"):
                self.fetches.append((tag, name, value))
        self._in_style = tag == "style"

    def handle_endtag(self, tag: str) -> None:
        self._in_style = False

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self.styles.append(data)


def _external(value: str) -> bool:
    return value.strip().lower().startswith(("http:", "https:", "//", "ftp:", "ws:", "wss:"))


def _all_text(folder: Path) -> str:
    return "\n".join(p.read_text(encoding="utf-8", errors="replace") for p in folder.rglob("*") if p.is_file())


# -- notebooks as committed --------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", [*sorted(NOTEBOOKS.glob("*.ipynb")), FAILS], ids=lambda p: p.name)
def test_committed_notebooks_are_clean(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    assert nb.metadata["kernelspec"]["name"] == "python3"
    code = [cell for cell in nb.cells if cell.cell_type == "code"]
    assert all(cell.outputs == [] and cell.execution_count is None for cell in code), "commit without outputs"
    assert "parameters" in code[0].metadata.get("tags", []), "the first code cell must be tagged `parameters`"
    assert sum("parameters" in c.metadata.get("tags", []) for c in nb.cells) == 1
    assert "papermill" not in nb.metadata


def test_both_report_notebooks_exist() -> None:
    assert {p.stem for p in NOTEBOOKS.glob("*.ipynb")} >= {"readiness_report", "explore"}


# -- offline, self-contained HTML --------------------------------------------------------------------------------


@pytest.mark.notebook
@pytest.mark.parametrize("render", ["edge", "empty"])
def test_html_is_self_contained(render: str, request: pytest.FixtureRequest) -> None:
    result: ReportResult = request.getfixturevalue(render)
    assert result.html.name == "readiness_report.html" and result.notebook.name == "readiness_report.ipynb"
    assert result.notebook.is_file()
    page = result.html.read_text(encoding="utf-8")
    size = result.html.stat().st_size
    assert size < MAX_HTML_BYTES, f"{size:,} bytes"
    charts = page.count('class="plotly-graph-div"')
    # plotly.js is embedded exactly once, charts or not; the empty cluster has no chart ("no findings").
    assert page.count("plotly.js v") == 1, "plotly.js must be embedded exactly once"
    assert (charts > 0) == (render == "edge")

    parser = _Resources()
    parser.feed(page)
    assert [f for f in parser.fetches if _external(f[2])] == []
    assert not any("@import" in s or "url(http" in s or "url(//" in s for s in parser.styles)
    csp = [m for m in parser.meta if (m.get("http-equiv") or "").lower() == "content-security-policy"]
    assert csp and "default-src 'none'" in (csp[0]["content"] or "")
    # What the stock lab template would have pulled from CDNs.
    for cdn in ("require.min.js", "MathJax.js", "mathjax@", "tex-svg", "cdn.plot.ly/plotly"):
        assert cdn not in page
    # Code is hidden, prose and outputs are not.
    assert "setup_notebook()" not in page
    for section in (
        "Verdict:",
        "Jobs to resubmit, by namespace",
        "Outdated client nodes",
        "Datacenter exposure",
        "Task drivers on outdated nodes",
        "Legacy Vault tokens",
        "Action plan",
        "What the endpoint cannot see",
        "Appendix: the full tables",
    ):
        assert section in page, section


@pytest.mark.notebook
def test_empty_cluster_says_so(empty: ReportResult) -> None:
    page = empty.html.read_text(encoding="utf-8")
    assert "Verdict: Clear" in page and "no findings: the endpoint lists no job, node or token" in page
    assert "Listed jobs by namespace: no findings." in page
    assert "Not reported" in page  # VaultTokens: null is "not reported", never "0 tokens"
    assert "Identity names are checked by prefix only" in page  # the blind spots, shown with a clear verdict
    assert "Traceback" not in page and "jp-OutputArea-output" in page and "output_error" not in page


@pytest.mark.notebook
@pytest.mark.browser
@pytest.mark.parametrize("render", ["edge", "empty"])
def test_charts_render_offline_in_chromium(render: str, request: pytest.FixtureRequest) -> None:
    browser.require_browser()
    result: ReportResult = request.getfixturevalue(render)
    seen = browser.open_page(result.html)
    assert seen.external_requests == []
    assert seen.console_errors == []
    assert seen.page_errors == []
    assert seen.failed_requests == []
    # edge-cases: jobs by namespace; nodes by version, status, pool; datacenters (nodes, jobs); drivers.
    # The empty cluster draws no chart at all: each section says "no findings" instead.
    assert len(seen.charts) == {"edge": 7, "empty": 0}[render] and all(seen.charts), seen.charts
    assert "Vault workload identity readiness" in seen.text


# -- secrets -----------------------------------------------------------------------------------------------------


@pytest.mark.notebook
def test_planted_token_is_written_nowhere(edge: ReportResult) -> None:
    folder = edge.html.parent
    assert PLANTED_TOKEN not in _all_text(folder)
    nb = nbformat.read(edge.notebook, as_version=4)
    assert PLANTED_TOKEN not in json.dumps(nb.metadata)
    assert set(nb.metadata.papermill.parameters) == {"snapshots", "redact", "top_n"}


@pytest.mark.notebook
def test_kernel_starts_without_cluster_variables(failures: dict[str, object]) -> None:
    nb = nbformat.read(Path(str(failures["out"])) / "fails_on_purpose.failed.ipynb", as_version=4)
    printed = next(c for c in nb.cells if c.get("id") == "environment").outputs[0].text
    assert printed.strip() == "[]"
    assert PLANTED_TOKEN not in _all_text(Path(str(failures["out"])))


def test_secret_looking_parameters_are_refused(tmp_path: Path) -> None:
    snapshot = FIXTURES / "empty-cluster.json"
    for name in ("nomad_token", "secret", "vault_password", "api_key", "Credentials"):
        with pytest.raises(ValueError, match="looks like a secret"):
            render_report([snapshot], tmp_path, extra_parameters={name: "x"})
    with pytest.raises(ValueError, match=r"\$NOMAD_TOKEN"):
        check_parameters({"title": f"t {PLANTED_TOKEN}"}, environ={"NOMAD_TOKEN": PLANTED_TOKEN})
    with pytest.raises(TypeError, match="lists or dicts"):
        render_report([snapshot], tmp_path, extra_parameters={"where": tmp_path})
    with pytest.raises(ValueError, match="cannot override"):
        render_report([snapshot], tmp_path, extra_parameters={"top_n": 3})
    with pytest.raises(SnapshotNotFoundError):
        render_report([tmp_path / "missing.json"], tmp_path)
    assert list(tmp_path.iterdir()) == []  # nothing started, nothing written


def test_kernel_environment_drops_cluster_and_secret_variables() -> None:
    environ = {
        "PATH": "/bin",
        "NOMAD_ADDR": "https://n:4646",
        "NOMAD_TOKEN": "t",
        "VAULT_ADDR": "v",
        "GITHUB_TOKEN": "g",
        "DB_PASSWORD": "p",
        "LANG": "C.UTF-8",
    }
    assert kernel_environment(environ) == {"PATH": "/bin", "LANG": "C.UTF-8"}


# -- escaping ----------------------------------------------------------------------------------------------------


@pytest.mark.notebook
def test_hostile_strings_are_escaped_in_the_file(hostile: ReportResult) -> None:
    page = hostile.html.read_text(encoding="utf-8")
    for value in HOSTILE.values():
        if "<" in value or ">" in value:
            assert value not in page, f"raw markup from the cluster in the HTML: {value}"
    assert "window.__xss" in page  # the strings are there, escaped
    assert '<a href="http://evil' not in page


@pytest.mark.notebook
@pytest.mark.browser
def test_hostile_strings_render_as_text_in_chromium(hostile: ReportResult) -> None:
    browser.require_browser()
    seen = browser.open_page(
        hostile.html,
        evaluate="({xss: window.__xss === undefined ? null : window.__xss, "
        "links: [...document.querySelectorAll('a')].map(a => a.getAttribute('href') || '')"
        ".filter(h => h.includes('evil')), images: document.querySelectorAll('main img').length})",
    )
    assert seen.evaluated == {"xss": None, "links": [], "images": 0}
    assert seen.page_errors == [] and seen.console_errors == [] and seen.external_requests == []
    assert all(seen.charts) and seen.charts
    for value in (HOSTILE["script"], HOSTILE["attribute"], HOSTILE["template"], HOSTILE["markdown"]):
        assert value in seen.text, value
    assert "1.10" in seen.text


@pytest.mark.notebook
def test_parameters_keep_their_types(hostile: ReportResult) -> None:
    nb = nbformat.read(hostile.notebook, as_version=4)
    assert nb.metadata.papermill.parameters["title"] == "1.10"
    injected = next(c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", []))
    assert 'title = "1.10"' in injected.source
    assert "<title>1.10</title>" in hostile.html.read_text(encoding="utf-8")


# -- redaction and long tables -----------------------------------------------------------------------------------


@pytest.mark.notebook
def test_redacted_report_hides_infrastructure(redacted: ReportResult) -> None:
    snap = load_snapshot(FIXTURES / "edge-cases.json")
    secrets = [
        *snap.nodes["name"].dropna(),
        *snap.nodes["address"].dropna(),
        *snap.nodes["id"].dropna(),
        *snap.tokens["accessor"].dropna(),
        *snap.tokens["alloc_id"].dropna(),
    ]
    written = _all_text(redacted.html.parent)
    leaked = [value for value in secrets if value and value in written]
    assert leaked == []
    page = redacted.html.read_text(encoding="utf-8")
    assert redact_value(snap.nodes.loc[0, "name"], "node") in page
    assert "api-gateway" in page  # jobs are not redacted


@pytest.mark.notebook
def test_long_tables_link_to_csv(redacted: ReportResult) -> None:
    folder = redacted.html.parent
    names = sorted(p.name for p in redacted.csvs)
    assert {"jobs.csv", "nodes.csv", "specs_to_resubmit.csv", "plan_resubmit.csv"} <= set(names)
    assert all(p.parent == folder and p.is_file() for p in redacted.csvs)
    jobs = pd.read_csv(folder / "jobs.csv")
    assert len(jobs) == 9 and list(jobs.columns[:4]) == ["namespace", "id", "type", "status"]
    # edge-cases.json: 6 specs to resubmit (api-gateway, nightly-backup, node-exporter, render-report,
    # vault-agent-sync, etl); the plan's CSV has them all, with their step numbers 1..6.
    plan = pd.read_csv(folder / "plan_resubmit.csv")
    assert plan["step"].tolist() == [1, 2, 3, 4, 5, 6] and "etl" in plan["spec_id"].tolist()
    page = redacted.html.read_text(encoding="utf-8")
    assert 'href="jobs.csv"' in page and "Showing the first 3 of 9 rows" in page
    assert not list(folder.glob(".*")), "staging files left behind"


def test_redact_frame_is_stable_across_tables() -> None:
    tables = load_snapshot(FIXTURES / "edge-cases.json").tables
    before = tables["tokens"].copy()
    out = redact_tables(tables)
    pd.testing.assert_frame_equal(tables["tokens"], before)  # input untouched
    node_ids = set(out["nodes"]["id"])
    assert set(out["tokens"]["node_id"]) & node_ids, "node IDs must still join after redaction"
    assert set(out["node_drivers"]["node_id"]) <= node_ids
    assert all(v.startswith("accessor-") and len(v) == len("accessor-") + 10 for v in out["tokens"]["accessor"])
    frame = pd.DataFrame({"name": pd.array(["a", None, "", "a"], dtype="string")})
    assert redact_frame(frame, {"name": "node"})["name"].tolist() == [
        redact_value("a", "node"),
        pd.NA,
        "",
        redact_value("a", "node"),
    ]
    assert set(REDACTED_COLUMNS) - {"all_nodes", "allocations"} <= set(tables)  # those two: enrichment only


def test_write_table_takes_plain_names_only(tmp_path: Path) -> None:
    frame = pd.DataFrame({"id": ["<x>"]})
    for bad in ("../escape", "a/b", ".hidden", "jobs.csv", ""):
        with pytest.raises(ValueError):
            write_table(frame, bad, directory=tmp_path)
    assert write_table(frame, "jobs-v1", directory=tmp_path) == "jobs-v1.csv"


# -- failures ----------------------------------------------------------------------------------------------------


@pytest.mark.notebook
def test_failing_cell_is_named_and_kept(failures: dict[str, object]) -> None:
    out = Path(str(failures["out"]))
    err = failures["raise"]
    assert isinstance(err, ReportError)
    message = str(err)
    assert "cell 3" in message and 'if mode == "raise": raise KeyError("planted failure")' in message
    assert "KeyError" in message and "planted failure" in message
    assert err.cell == 3
    assert err.notebook == str(out / "fails_on_purpose.failed.ipynb") and Path(err.notebook).is_file()
    # The earlier good report is untouched, and the failed run left no HTML or staging files.
    assert (out / "fails_on_purpose.html").read_bytes() == failures["good_html"]
    assert sorted(p.name for p in out.glob("*.html")) == ["fails_on_purpose.html"]
    assert not list(out.glob(".*"))


@pytest.mark.notebook
@pytest.mark.parametrize(
    ("mode", "cell", "what"),
    [("sleep", 4, "CellTimeoutError"), ("exit", 5, "DeadKernelError")],
)
def test_timeouts_and_dead_kernels_are_report_errors(
    failures: dict[str, object], mode: str, cell: int, what: str
) -> None:
    err = failures[mode]
    assert isinstance(err, ReportError)
    assert what in str(err) and f"cell {cell}" in str(err), str(err)
    assert err.cell == cell
    assert err.notebook and Path(err.notebook).name == "fails_on_purpose.failed.ipynb"
    folder = Path(err.notebook).parent
    assert list(folder.glob("*.html")) == [] and not list(folder.glob(".*"))


@pytest.mark.notebook
def test_fixture_notebook_runs_to_the_end_when_asked(failures: dict[str, object]) -> None:
    ok = failures["ok"]
    assert isinstance(ok, ReportResult) and ok.csvs == ()
    printed = nbformat.read(ok.notebook, as_version=4).cells[-1].outputs[0].text
    assert printed.strip() == "reached the end"


@pytest.mark.notebook
def test_explore_notebook_runs(tmp_path: Path) -> None:
    result = render_report([FIXTURES / "edge-cases.json"], tmp_path, notebook="explore")
    assert result.html.name == "explore.html"
    page = result.html.read_text(encoding="utf-8")
    assert page.count("plotly.js v") == 1 and "Jobs by type" in page
