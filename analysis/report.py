"""Render the parameterized notebooks into self-contained, offline HTML reports.

Two halves live here:

- the **pipeline** (:func:`render_report`): papermill runs ``notebooks/<name>.ipynb`` with typed parameters in a
  fresh ``python3`` kernel of *this* interpreter, nbconvert turns the executed notebook into one HTML file with
  the code hidden, and the files are published only when every step succeeded;
- the **notebook helpers** the report notebooks call: :func:`setup_notebook` (offline plotly, pandas display),
  :func:`show_table` and :func:`write_table` (long tables become CSV files), :func:`count_chart`,
  :func:`html_text` and :func:`redact_frame` / :func:`redact_tables`.

What a report promises:

- **offline**: the HTML loads nothing from the network. plotly.js is embedded once (see :func:`setup_notebook`),
  the nbconvert template drops require.js, MathJax, mermaid and the widget loader, and a
  ``Content-Security-Policy`` forbids any other fetch.
- **escaped**: strings from the cluster are text, never markup. Tables go through ``DataFrame.to_html`` (which
  escapes), prose through :func:`html_text`, chart labels through :func:`chart_text`; plotly's JSON encoder
  writes ``<``, ``>`` and ``/`` as ``\\u003c``, ``\\u003e``, ``\\u002f``, so nothing closes its ``<script>``.
  ``IPython.display.Markdown`` is never used with cluster strings.
- **no secrets**: parameters hold paths and options only (names that look secret are refused), and the kernel
  starts without ``NOMAD_*``, ``VAULT_*``, ``CONSUL_*`` or secret-looking variables in its environment.

Examples:
    >>> html_text('<script>alert("x")</script>')
    '&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;'
"""

from __future__ import annotations

import ast
import dataclasses
import functools
import hashlib
import html
import os
import re
import shutil
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import pandas as pd

from analysis import config
from analysis.errors import ReportError, SnapshotNotFoundError
from analysis.files import atomic_path
from analysis.schema import STRING

if TYPE_CHECKING:
    import nbformat
    import plotly.graph_objects as go
    from IPython.display import HTML

__all__ = [
    "KERNEL_NAME",
    "REDACTED_COLUMNS",
    "ReportData",
    "ReportResult",
    "blind_spots_html",
    "chart_text",
    "check_parameters",
    "count_chart",
    "export_html",
    "html_text",
    "kernel_environment",
    "plan_sections",
    "plan_table",
    "prepare_report",
    "provenance_table",
    "redact_frame",
    "redact_snapshot",
    "redact_tables",
    "redact_value",
    "render_report",
    "setup_notebook",
    "show_table",
    "stacked_chart",
    "verdict_banner",
    "write_table",
]

#: The kernel every report notebook declares and runs in (always this interpreter's ipykernel).
KERNEL_NAME = "python3"
#: The name under which :func:`setup_notebook` registers its plotly renderer.
PLOTLY_RENDERER = "wi_offline"

#: Which columns of the loader's tables identify infrastructure, and the kind that prefixes their hashes.
#: Node IDs are hashed under one kind in every table so that ``nodes.id``, ``tokens.node_id`` and
#: ``node_drivers.node_id`` still join after redaction.
REDACTED_COLUMNS: dict[str, dict[str, str]] = {
    "jobs": {},  # job IDs, names and namespaces are what operators act on: never redacted
    "nodes": {"id": "nodeid", "name": "node", "address": "addr"},
    "node_drivers": {"node_id": "nodeid"},
    "tokens": {"accessor": "accessor", "alloc_id": "alloc", "node_id": "nodeid"},
    "meta": {"address": "addr"},
    "all_nodes": {"id": "nodeid", "name": "node", "address": "addr"},
    "allocations": {"id": "alloc", "node_id": "nodeid"},
}

# A parameter or environment variable whose name matches this may hold a credential.
_SECRET_NAME = re.compile(r"token|secret|passw|key|credential", re.IGNORECASE)
# Variables whose values are credentials themselves (not paths to them): NOMAD_TOKEN, NOMAD_HTTP_AUTH, ...
_SECRET_VALUE = re.compile(r"(TOKEN|SECRET|PASSWORD|HTTP_AUTH)$", re.IGNORECASE)
# The kernel has no business talking to the cluster: it starts without these variables at all.
_CLUSTER_PREFIXES = ("NOMAD_", "VAULT_", "CONSUL_")
# papermill's own cells: the injected parameters and the error markers it adds to a failed notebook.
_PAPERMILL_TAGS = frozenset({"injected-parameters", "papermill-error-cell-tag"})
_TABLE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
_PANDAS_OPTIONS: dict[str, Any] = {
    "display.max_rows": 100,
    "display.max_columns": 50,
    "display.max_colwidth": 120,
    "display.width": 200,
    "display.show_dimensions": False,
    # Keeps MathJax (when a reader opens the notebook in Jupyter) from typesetting `$...$` in job names.
    "display.html.use_mathjax": False,
}

# The lab template without anything that loads from the network: require.js (nothing here needs it; plotly
# is embedded as a plain script), MathJax (no maths in these reports), mermaid and the jupyter-widgets loader.
# The Content-Security-Policy makes that a guarantee for whatever a notebook outputs later: inline scripts
# and styles run, nothing else is fetched.
_TEMPLATE_NAME = "wi_readiness_report.html.j2"
_CSP = (
    "default-src 'none'; script-src 'unsafe-inline' 'unsafe-eval'; style-src 'unsafe-inline'; "
    "img-src data: blob:; font-src data:; base-uri 'none'; form-action 'none'"
)
_TEMPLATE_SOURCE = (
    """\
{%- extends 'index.html.j2' -%}
{%- block html_head_js -%}
<meta http-equiv="Content-Security-Policy" content=\""""
    + _CSP
    + """\">
<script type="text/javascript">window.PlotlyConfig = {MathJaxConfig: 'local'};</script>
<script type="text/javascript">{{ resources['wi_plotly_js'] }}</script>
{%- endblock html_head_js -%}
{%- block jupyter_widgets -%}{%- endblock jupyter_widgets -%}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
{%- block extra_css -%}
<style type="text/css">
main { max-width: 1200px; margin: 0 auto; }
.jp-RenderedHTMLCommon table.wi-table { margin: 0 0 1em 0; font-size: 13px; }
.jp-RenderedHTMLCommon table.wi-table th, .jp-RenderedHTMLCommon table.wi-table td { text-align: left; }
p.wi-note { color: #555; font-style: italic; }
</style>
{%- endblock extra_css -%}
"""
)


@dataclass(frozen=True)
class ReportResult:
    """What :func:`render_report` wrote.

    Attributes:
        html: the self-contained report, ``<out_dir>/<notebook>.html``.
        notebook: the executed notebook beside it, ``<out_dir>/<notebook>.ipynb``.
        csvs: the full tables the notebook wrote for tables longer than ``top_n`` rows.
    """

    html: Path
    notebook: Path
    csvs: tuple[Path, ...] = ()


# ---------------------------------------------------------------------------------------------------------------
# The pipeline
# ---------------------------------------------------------------------------------------------------------------


def render_report(
    snapshots: Sequence[str | os.PathLike[str]] | str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    *,
    title: str | None = None,
    redact: bool = False,
    top_n: int = 25,
    notebook: str | os.PathLike[str] = "readiness_report",
    timeout: int = 600,
    extra_parameters: Mapping[str, Any] | None = None,
) -> ReportResult:
    """Execute a report notebook for some snapshots and export it as one offline HTML file.

    The notebook runs in a staging folder inside ``out_dir`` (its working directory, where
    :func:`write_table` puts CSV files). Only when execution and export both succeed are the CSV files, the
    executed notebook and finally the HTML moved into ``out_dir``; a failed run leaves the previous report
    there untouched and keeps the failed notebook as ``<notebook>.failed.ipynb``.

    Args:
        snapshots: snapshot files (any shape :func:`analysis.load_snapshot` reads); one path is accepted too.
            May be empty for a notebook that takes its input from ``extra_parameters`` (the readiness report
            itself fails on an empty list, naming its load cell).
        out_dir: the folder for ``<notebook>.html``, ``<notebook>.ipynb`` and CSV files; created if needed.
        title: the report's title; None keeps the notebook's default.
        redact: replace node names, addresses, accessors and allocation IDs by short hashes.
        top_n: tables longer than this show their first ``top_n`` rows and link to a CSV of all rows.
        notebook: a notebook name in ``notebooks/`` (``readiness_report``, ``explore``) or a path to one.
        timeout: seconds any one cell may run.
        extra_parameters: more notebook parameters: strings, numbers, booleans, None, lists and dicts only.

    Returns:
        The paths written.

    Raises:
        SnapshotNotFoundError: a snapshot path does not exist or is not a file.
        ValueError: an unknown notebook, a bad option, or a parameter whose name looks like a secret.
        TypeError: a parameter value that cannot be passed as a literal.
        ReportError: the notebook failed (the message names the cell) or could not be exported.
    """
    source = _notebook_source(notebook)
    name = source.stem
    parameters = _parameters(snapshots, title=title, redact=redact, top_n=top_n, extra=extra_parameters)
    if isinstance(timeout, bool) or not isinstance(timeout, int) or timeout < 1:
        raise ValueError(f"timeout must be a positive number of seconds, not {timeout!r}")

    out = Path(out_dir).resolve()
    out.mkdir(parents=True, exist_ok=True)
    html_path = out / f"{name}.html"
    notebook_path = out / f"{name}.ipynb"
    failed_path = out / f"{name}.failed.ipynb"

    staging = Path(tempfile.mkdtemp(prefix=f".{name}.", suffix=".run", dir=out))
    executed = staging / f"{name}.ipynb"
    try:
        try:
            _execute(source, executed, staging, parameters, timeout)
        except Exception as exc:
            raise _execution_failure(exc, source, executed, failed_path, timeout) from exc
        try:
            import nbformat

            nb = nbformat.read(executed, as_version=4)
            nb.metadata.setdefault("papermill", {})["output_path"] = str(notebook_path)
            page = export_html(nb, title=title if title is not None else _default_title(nb, name))
        except Exception as exc:
            _keep_notebook(executed, failed_path)
            raise ReportError(
                f"{source.name} ran, but exporting it to HTML failed with {type(exc).__name__}: {exc}; "
                f"the executed notebook is kept at {failed_path}",
                notebook=str(failed_path),
            ) from exc

        # Publish: the CSV files first and the HTML last, so the HTML never links to files that are not there.
        csvs = []
        for produced in sorted(staging.iterdir()):
            if produced == executed or produced.name.startswith("."):
                continue
            target = out / produced.name
            if produced.is_dir():
                shutil.rmtree(target, ignore_errors=True)
            os.replace(produced, target)
            if target.suffix == ".csv":
                csvs.append(target)
        with atomic_path(notebook_path) as tmp:
            nbformat.write(nb, str(tmp))
        with atomic_path(html_path) as tmp:
            tmp.write_text(page, encoding="utf-8")
        failed_path.unlink(missing_ok=True)
        return ReportResult(html=html_path, notebook=notebook_path, csvs=tuple(csvs))
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def export_html(nb: nbformat.NotebookNode, *, title: str) -> str:
    """Export an executed notebook as one offline HTML page: outputs and prose only, no code, no prompts.

    Args:
        nb: the executed notebook (it is not modified).
        title: the page's ``<title>`` (escaped by the template).

    Returns:
        The HTML document.
    """
    import copy

    from jinja2 import DictLoader
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(
        template_name="lab",
        template_file=_TEMPLATE_NAME,
        extra_loaders=[DictLoader({_TEMPLATE_NAME: _TEMPLATE_SOURCE})],
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
    )
    from plotly.offline import get_plotlyjs

    nb = copy.deepcopy(nb)
    nb.metadata["title"] = title
    # plotly.js goes into the page once, here, rather than into a notebook output: the executed notebook stays
    # small (papermill saves it after every cell) and the HTML has exactly one copy, charts or not.
    body, _ = exporter.from_notebook_node(nb, resources={"wi_plotly_js": get_plotlyjs()})
    return str(body)


def _notebook_source(notebook: str | os.PathLike[str]) -> Path:
    text = os.fspath(notebook)
    if text.endswith(".ipynb") or os.sep in text or "/" in text:
        path = Path(text).resolve()
    else:
        path = config.NOTEBOOKS_DIR / f"{text}.ipynb"
    if not path.is_file():
        available = ", ".join(sorted(p.stem for p in config.NOTEBOOKS_DIR.glob("*.ipynb"))) or "none"
        raise ValueError(
            f"no such notebook: {path}; name one of the notebooks in {config.NOTEBOOKS_DIR} ({available}) or give "
            "the path of an .ipynb file"
        )
    return path


def _parameters(
    snapshots: Sequence[str | os.PathLike[str]] | str | os.PathLike[str],
    *,
    title: str | None,
    redact: bool,
    top_n: int,
    extra: Mapping[str, Any] | None,
) -> dict[str, Any]:
    if isinstance(snapshots, str | os.PathLike):
        snapshots = [snapshots]
    from analysis.snapshot import check_snapshot

    paths = []
    for snapshot in snapshots:
        path = Path(snapshot).resolve()
        if not path.is_file():
            raise SnapshotNotFoundError(f"no such snapshot file: {path}", path=str(path))
        check_snapshot(path)  # a bad file fails here, in one line, before a kernel starts
        paths.append(str(path))
    if isinstance(top_n, bool) or not isinstance(top_n, int) or top_n < 1:
        raise ValueError(f"top_n must be a positive integer, not {top_n!r}")

    parameters: dict[str, Any] = {"snapshots": paths, "redact": bool(redact), "top_n": top_n}
    if title is not None:
        parameters["title"] = str(title)
    for key, value in (extra or {}).items():
        if key in parameters:
            raise ValueError(f"extra_parameters cannot override {key!r}: use the argument of that name")
        parameters[key] = value
    check_parameters(parameters)
    return parameters


def check_parameters(parameters: Mapping[str, Any], environ: Mapping[str, str] | None = None) -> None:
    """Refuse notebook parameters that could carry a secret or are not plain literals.

    The executed notebook keeps its parameters (in a cell and in its metadata), so a token passed as a
    parameter would be written to disk and shared with the report.

    Args:
        parameters: the notebook parameters.
        environ: the environment whose secret-looking values must not appear (default ``os.environ``).

    Raises:
        ValueError: a name that looks like a secret (token, secret, password, key, credential), or a value
            that contains the value of a secret-looking environment variable such as ``NOMAD_TOKEN``.
        TypeError: a value that is not a string, number, boolean, None, list or dict of those.

    Examples:
        >>> check_parameters({"title": "1.10", "snapshots": ["/tmp/a.json"]}, environ={})
        >>> check_parameters({"nomad_token": "s.x"}, environ={})
        Traceback (most recent call last):
        ...
        ValueError: refusing notebook parameter 'nomad_token': its name looks like a secret; ...
    """
    environ = os.environ if environ is None else environ
    secrets = {name: value for name, value in environ.items() if len(value) >= 8 and _SECRET_VALUE.search(name)}
    for name, value in parameters.items():
        if not isinstance(name, str) or not name.isidentifier():
            raise ValueError(f"notebook parameter names must be Python identifiers, not {name!r}")
        if _SECRET_NAME.search(name):
            raise ValueError(
                f"refusing notebook parameter {name!r}: its name looks like a secret; "
                "parameters are written into the executed notebook, so pass paths and options only"
            )
        for text in _literal_strings(name, value):
            for env_name, secret in secrets.items():
                if secret in text:
                    raise ValueError(
                        f"refusing notebook parameter {name!r}: it contains the value of ${env_name}; "
                        "parameters are written into the executed notebook"
                    )


def _literal_strings(name: str, value: Any) -> Iterable[str]:
    if value is None or isinstance(value, bool | int | float):
        return
    if isinstance(value, str):
        yield value
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _literal_strings(name, item)
    elif isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(f"notebook parameter {name!r}: dict keys must be strings, not {key!r}")
            yield key
            yield from _literal_strings(name, item)
    else:
        raise TypeError(
            f"notebook parameter {name!r} is a {type(value).__name__}; pass strings, numbers, booleans, "
            "None, lists or dicts (paths as str)"
        )


def _execute(source: Path, executed: Path, cwd: Path, parameters: dict[str, Any], timeout: int) -> None:
    import papermill

    papermill.execute_notebook(
        _format_literal(source),
        _format_literal(executed),
        parameters=parameters,
        kernel_name=KERNEL_NAME,
        language="python",
        cwd=str(cwd),
        progress_bar=False,
        log_output=False,
        request_save_on_cell_execute=True,
        execution_timeout=timeout,
        kernel_manager_class=_kernel_manager_class(),
        engine_name=_engine_name(),
        # Outputs are complete when the last cell returns; a graceful shutdown would wait for the kernel to free
        # every object of a large analysis at interpreter exit, which is work nobody needs.
        shutdown_kernel="immediate",
    )


@functools.cache
def _engine_name() -> str:
    """A papermill engine that writes the executed notebook once, when execution ends (failures included).

    papermill's own engine saves (and nbformat re-validates) the whole notebook at the start and end of every
    cell: about twice the cell count of full writes, a large share of a report's render time. Writing only in
    ``notebook_complete``, which papermill runs in a ``finally``, still keeps the notebook of a failed cell, a
    timeout or a dead kernel for debugging.
    """
    from papermill.engines import NBClientEngine, NotebookExecutionManager, papermill_engines

    class FinalSaveManager(NotebookExecutionManager):
        final = False

        def save(self, **kwargs: Any) -> None:
            if self.final:
                super().save(**kwargs)

        def notebook_complete(self, **kwargs: Any) -> None:
            self.final = True
            super().notebook_complete(**kwargs)

    class FinalSaveEngine(NBClientEngine):
        @classmethod
        def execute_notebook(
            cls,
            nb: Any,
            kernel_name: str,
            output_path: str | None = None,
            progress_bar: bool = True,
            log_output: bool = False,
            autosave_cell_every: int = 30,
            **kwargs: Any,
        ) -> Any:
            manager = FinalSaveManager(
                nb,
                output_path=output_path,
                progress_bar=progress_bar,
                log_output=log_output,
                autosave_cell_every=autosave_cell_every,
            )
            manager.notebook_start()
            try:
                cls.execute_managed_notebook(manager, kernel_name, log_output=log_output, **kwargs)
            finally:
                manager.cleanup_pbar()
                manager.notebook_complete()
            return manager.nb

    name = "wi-readiness-final-save"
    papermill_engines.register(name, FinalSaveEngine)
    return name


def _format_literal(path: Path) -> str:
    # papermill runs str.format(**parameters) over both notebook paths; braces in a folder name stay literal.
    return str(path).replace("{", "{{").replace("}", "}}")


def kernel_environment(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment a report kernel starts with: the caller's, minus cluster settings and secrets.

    Examples:
        >>> sorted(kernel_environment({"PATH": "/bin", "NOMAD_TOKEN": "s.x", "NOMAD_ADDR": "http://n:4646",
        ...                            "AWS_SECRET_ACCESS_KEY": "k", "HOME": "/root"}))
        ['HOME', 'PATH']
    """
    environ = os.environ if environ is None else environ
    return {
        name: value
        for name, value in environ.items()
        if not name.upper().startswith(_CLUSTER_PREFIXES) and not _SECRET_NAME.search(name)
    }


@functools.cache
def _kernel_manager_class() -> type:
    from jupyter_client import AsyncKernelManager
    from jupyter_client.kernelspec import KernelSpecManager
    from traitlets import default

    class ReportKernelManager(AsyncKernelManager):
        """Starts this interpreter's own ipykernel, without the caller's secrets in its environment.

        Looking kernelspecs up only in ipykernel's built-in resources pins ``python3`` to ``sys.executable``:
        a ``python3`` kernelspec in ``~/.local/share/jupyter`` that runs another Python cannot be picked up.
        """

        @default("kernel_spec_manager")
        def _native_kernel_only(self) -> KernelSpecManager:
            return KernelSpecManager(kernel_dirs=[], ensure_native_kernel=True)

        if "transport_encryption" in AsyncKernelManager.class_trait_names():  # jupyter_client 8.10+

            @default("transport_encryption")
            def _encrypt_when_possible(self) -> str:
                # CurveZMQ between this process and the kernel, when pyzmq has it (else plain TCP on loopback).
                import zmq

                return "auto" if zmq.has("curve") else "disabled"

        async def start_kernel(self, **kw: Any) -> None:  # type: ignore[override]
            kw.setdefault("env", kernel_environment())
            await super().start_kernel(**kw)

    return ReportKernelManager


def _execution_failure(exc: Exception, source: Path, executed: Path, failed_path: Path, timeout: int) -> ReportError:
    from nbclient.exceptions import CellTimeoutError
    from papermill.exceptions import PapermillExecutionError

    kept = _keep_notebook(executed, failed_path)
    if isinstance(exc, PapermillExecutionError):
        what = f"{exc.ename}: {str(exc.evalue).strip()}"
    elif isinstance(exc, CellTimeoutError):
        what = f"CellTimeoutError: a cell ran longer than the timeout of {timeout} s"
    else:
        what = f"{type(exc).__name__}: {_first_line(str(exc))}"

    index, first = _failed_cell(kept) if kept else (None, None)
    if first is None:
        where = f"{source.name} could not run"
    elif index is None:
        where = f"{source.name} failed in its injected parameters cell"
    else:
        where = f"{source.name} failed in cell {index} (`{first}`)"
    keep = f"the executed notebook is kept at {kept}" if kept else "no executed notebook was written"
    return ReportError(f"{where} with {what}; {keep}", notebook=str(kept) if kept else None, cell=index)


def _keep_notebook(executed: Path, failed_path: Path) -> Path | None:
    if not executed.is_file():
        return None
    import nbformat

    try:
        nb = nbformat.read(executed, as_version=4)
        nb.metadata.setdefault("papermill", {})["output_path"] = str(failed_path)
        with atomic_path(failed_path) as tmp:
            nbformat.write(nb, str(tmp))
    except Exception:
        # An unreadable partial notebook is still worth keeping for debugging, as it is.
        os.replace(executed, failed_path)
    return failed_path


def _failed_cell(path: Path) -> tuple[int | None, str | None]:
    """The failing cell of a failed run: (its index in the source notebook, its first line of code)."""
    import nbformat

    try:
        nb = nbformat.read(path, as_version=4)
    except Exception:
        return None, None
    failed = None
    position: int | None = None
    index = 0
    for cell in nb.cells:
        tags = set(cell.get("metadata", {}).get("tags", []))
        if "papermill-error-cell-tag" in tags:
            continue
        state = cell.get("metadata", {}).get("papermill", {})
        # A cell that raised is marked failed; a timed-out cell or a dying kernel leaves the last started cell.
        if state.get("status") == "failed" or state.get("start_time"):
            failed = cell
            position = None if tags & _PAPERMILL_TAGS else index
            if state.get("status") == "failed":
                break
        if not tags & _PAPERMILL_TAGS:
            index += 1
    if failed is None:
        return None, None
    return position, _first_line(failed.get("source", ""), code=True) or "(empty cell)"


def _first_line(text: str, width: int = 80, *, code: bool = False) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if code:
        lines = [line for line in lines if not line.startswith("#")] or lines
    line = lines[0] if lines else ""
    return line if len(line) <= width else line[: width - 1] + "…"


def _default_title(nb: nbformat.NotebookNode, fallback: str) -> str:
    """The ``title = "..."`` literal of the notebook's parameters cell, for the page's ``<title>``."""
    for cell in nb.cells:
        if cell.get("cell_type") != "code" or "parameters" not in cell.get("metadata", {}).get("tags", []):
            continue
        try:
            tree = ast.parse(cell.get("source", ""))
        except SyntaxError:
            break
        for node in tree.body:
            if (
                isinstance(node, ast.Assign)
                and any(isinstance(t, ast.Name) and t.id == "title" for t in node.targets)
                and isinstance(node.value, ast.Constant)
                and isinstance(node.value.value, str)
            ):
                return node.value.value
    return fallback


# ---------------------------------------------------------------------------------------------------------------
# Helpers for the notebooks
# ---------------------------------------------------------------------------------------------------------------


def setup_notebook() -> None:
    """Prepare a report kernel: plotly figures as offline HTML, and pandas display options.

    Call it in the first cell after the parameters. Under papermill plotly would pick its
    ``plotly_mimetype`` renderer, whose ``application/vnd.plotly.v1+json`` output nbconvert's HTML drops
    (blank gaps). The renderer installed here emits ``text/html`` that calls ``Plotly.newPlot`` and asks for
    neither MathJax nor any CDN; :func:`export_html` puts plotly.js itself into the page once, so the HTML works
    offline. (Opened in Jupyter, the executed notebook's charts need plotly's own renderer.)
    """
    import plotly.io as pio

    pio.renderers[PLOTLY_RENDERER] = _offline_renderer_class()()
    pio.renderers.default = PLOTLY_RENDERER
    pio.templates.default = "plotly_white"
    for option, value in _PANDAS_OPTIONS.items():
        pd.set_option(option, value)


@functools.cache
def _offline_renderer_class() -> type:
    from plotly.io.base_renderers import MimetypeRenderer

    class OfflineHtmlRenderer(MimetypeRenderer):
        """``text/html`` figures that need nothing from the network.

        plotly's own ``notebook`` renderer comes close, but it adds MathJax from cdnjs to every figure, and
        plotly activates a renderer again each time a figure is shown through ``_repr_mimebundle_``, which
        would embed plotly.js (4.8 MB) once per figure. This one embeds nothing (the page gets plotly.js once,
        at export), requests no MathJax, and also emits plotly's own mimetype for live Jupyter sessions.
        """

        def __init__(self) -> None:
            self.config = {"displaylogo": False, "responsive": True}

        def activate(self) -> None:
            """Nothing to load: plotly.js is added to the HTML page by :func:`export_html`."""

        def to_mimebundle(self, fig_dict: dict[str, Any]) -> dict[str, Any]:
            import json

            import plotly.io as pio

            page = pio.to_html(
                fig_dict,
                config=self.config,
                include_plotlyjs=False,
                include_mathjax=False,
                full_html=False,
                default_width="100%",
                default_height=420,
                validate=False,
            )
            # Both forms, as plotly's own default does: nbconvert keeps the HTML (plotly.js comes with the page),
            # JupyterLab draws the plotly mimetype, so an SRE exploring in Jupyter sees live charts too.
            figure = json.loads(pio.to_json(fig_dict, validate=False))
            return {"text/html": page, "application/vnd.plotly.v1+json": {**figure, "config": self.config}}

    return OfflineHtmlRenderer


def html_text(value: object) -> str:
    """Escape any value for use as text inside HTML (``IPython.display.HTML``); None becomes ``""``.

    Examples:
        >>> html_text('"><img src=x onerror="alert(2)">')
        '&quot;&gt;&lt;img src=x onerror=&quot;alert(2)&quot;&gt;'
        >>> html_text(None), html_text(3)
        ('', '3')
    """
    return "" if value is None else html.escape(str(value))


def chart_text(value: object) -> str:
    """A string for a plotly label or hover text that plotly shows literally.

    plotly renders a small HTML subset in labels (``<b>``, ``<br>``, ``<a href>``), so a job called
    ``<a href="https://x">`` would become a link. Escaping ``&``, ``<`` and ``>`` (plotly turns ``&lt;``,
    ``&gt;`` and ``&amp;`` back into characters, but not ``&quot;``) makes it plain text. Missing values read
    ``(missing)`` and empty strings ``(empty)``.

    Examples:
        >>> chart_text("<b>x</b> & y"), chart_text(""), chart_text(pd.NA)
        ('&lt;b&gt;x&lt;/b&gt; &amp; y', '(empty)', '(missing)')
    """
    if value is None or value is pd.NA or (isinstance(value, float) and value != value):
        return "(missing)"
    text = str(value)
    return html.escape(text, quote=False) if text else "(empty)"


def count_chart(
    frame: pd.DataFrame,
    column: str,
    *,
    title: str,
    hover: str | None = None,
    max_hover: int = 10,
) -> go.Figure:
    """A bar chart of how many rows have each value of ``column``, largest first.

    Args:
        frame: the rows to count.
        column: the column whose values are the bars.
        title: the chart's title (plain text).
        hover: a column whose values are listed in each bar's hover text (the first ``max_hover``).
        max_hover: how many values the hover text lists before ``…``.

    Returns:
        The figure; an empty frame gives a figure that says so.

    Examples:
        >>> frame = pd.DataFrame({"ns": ["a", "b", "a"], "id": ["j1", "j2", "<j3>"]})
        >>> fig = count_chart(frame, "ns", title="Jobs", hover="id")
        >>> list(fig.data[0].x), list(fig.data[0].y), fig.data[0].hovertext[0]
        (['a', 'b'], [2, 1], 'j1<br>&lt;j3&gt;')
    """
    import plotly.graph_objects as go

    labels = [chart_text(v) for v in frame[column].astype(object)]
    counted = pd.DataFrame({"label": labels, "hover": frame[hover].astype(object).to_numpy() if hover else ""})
    groups = counted.groupby("label", sort=False)
    summary = groups.size().rename("count").reset_index()
    summary = summary.sort_values(["count", "label"], ascending=[False, True], kind="stable")
    fig = go.Figure()
    if summary.empty:
        fig.add_annotation(text="Nothing to show", showarrow=False, font={"size": 16})
        fig.update_xaxes(visible=False)
        fig.update_yaxes(visible=False)
    else:
        hovertext = None
        if hover:
            listed = groups["hover"].agg(lambda values: _hover_list(values, max_hover))
            hovertext = [listed[label] for label in summary["label"]]
        fig.add_bar(
            x=summary["label"].tolist(),
            y=summary["count"].tolist(),
            hovertext=hovertext,
            hoverinfo="x+y+text" if hover else "x+y",
        )
        fig.update_xaxes(type="category", title_text=chart_text(column))
        fig.update_yaxes(title_text="count", rangemode="tozero", tickformat=",d")
        if summary["count"].max() <= 10:
            fig.update_yaxes(dtick=1)
    fig.update_layout(title_text=chart_text(title), height=380, margin={"t": 60, "b": 40, "l": 60, "r": 20})
    return fig


def _hover_list(values: Iterable[object], limit: int) -> str:
    items = [chart_text(v) for v in values]
    shown = "<br>".join(items[:limit])
    return shown + (f"<br>… and {len(items) - limit} more" if len(items) > limit else "")


def write_table(frame: pd.DataFrame, name: str, *, directory: str | os.PathLike[str] | None = None) -> str:
    """Write ``frame`` (all rows, no index) to ``<name>.csv`` atomically; return the relative link to it.

    Report notebooks run with the report's folder as their working directory, so the link works from the HTML.

    Args:
        frame: the table.
        name: the file name without ``.csv``: letters, digits, ``.``, ``_`` and ``-``.
        directory: where to write; the current working directory by default.

    Returns:
        The file's name, URL-quoted, for an ``href``.

    Raises:
        ValueError: a name that is not a plain file name.

    Examples:
        >>> import tempfile, pathlib
        >>> folder = pathlib.Path(tempfile.mkdtemp())
        >>> write_table(pd.DataFrame({"id": ["a", "b"]}), "jobs", directory=folder)
        'jobs.csv'
        >>> (folder / "jobs.csv").read_text()
        'id\\na\\nb\\n'
    """
    if not _TABLE_NAME.fullmatch(name) or name.endswith(".csv"):
        raise ValueError(f"table names are plain file names without .csv (letters, digits, . _ -), not {name!r}")
    target = Path(directory if directory is not None else Path.cwd()) / f"{name}.csv"
    with atomic_path(target) as tmp:
        from analysis.output import csv_safe  # text that a spreadsheet would run as a formula is quoted

        csv_safe(frame).to_csv(tmp, index=False, encoding="utf-8")
    return quote(target.name)


def show_table(
    frame: pd.DataFrame,
    name: str,
    *,
    top_n: int = 25,
    directory: str | os.PathLike[str] | None = None,
) -> HTML:
    """An escaped HTML table of the first ``top_n`` rows; longer tables link to a CSV of every row.

    Args:
        frame: the table to show (choose and order its columns first).
        name: the CSV file's name when the table is cut (see :func:`write_table`).
        top_n: how many rows to show.
        directory: where the CSV goes; the current working directory (the report folder) by default.

    Returns:
        An ``IPython.display.HTML`` object; every cell value is escaped.
    """
    from IPython.display import HTML

    if frame.empty:
        return HTML('<p class="wi-note">No rows.</p>')
    shown = frame.head(top_n).astype(object)
    # One marker for every kind of missing value (<NA>, NaT, NaN, None), as text.
    shown = shown.where(shown.notna(), "—")
    table = shown.to_html(index=False, escape=True, border=0, classes="wi-table")
    if len(frame) <= top_n:
        return HTML(table)
    link = write_table(frame, name, directory=directory)
    note = (
        f'<p class="wi-note">Showing the first {top_n:,} of {len(frame):,} rows. '
        f'Every row: <a href="{html.escape(link)}">{html_text(name)}.csv</a></p>'
    )
    return HTML(table + note)


def redact_value(value: str, kind: str) -> str:
    """A stable short stand-in for an identifying value: ``<kind>-`` and the first 10 hex digits of its SHA-256.

    The same value gives the same stand-in in every table and every report, so joins still work. It is a
    pseudonym, not encryption: anyone who can guess candidate values (IPv4 addresses, say) can hash them and
    compare.

    Examples:
        >>> redact_value("10.0.4.17", "addr")
        'addr-2e2b2df5b2'
    """
    return f"{kind}-{hashlib.sha256(value.encode('utf-8')).hexdigest()[:10]}"


def redact_frame(frame: pd.DataFrame, columns: Mapping[str, str]) -> pd.DataFrame:
    """A copy of ``frame`` whose ``columns`` hold :func:`redact_value` stand-ins (missing and ``""`` stay).

    Args:
        frame: the table; it is not modified.
        columns: column name → kind prefix, e.g. :data:`REDACTED_COLUMNS` ``["nodes"]``.

    Returns:
        The new frame; the redacted columns have the ``string`` dtype.

    Raises:
        KeyError: a column that is not in the frame.

    Examples:
        >>> nodes = pd.DataFrame({"name": ["web-1", "web-1", None], "version": ["1.6.4", "1.5.0", "1.6.4"]})
        >>> redact_frame(nodes, {"name": "node"})
                      name version
        0  node-c4719afa76   1.6.4
        1  node-c4719afa76   1.5.0
        2             <NA>   1.6.4
    """
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise KeyError(f"cannot redact columns that are not in the frame: {missing}")
    out = frame.copy()
    for column, kind in columns.items():
        values = frame[column].astype(object)
        cache: dict[str, str] = {}
        redacted: list[Any] = []
        for value in values:
            if value is None or value is pd.NA or (isinstance(value, float) and value != value):
                redacted.append(pd.NA)
                continue
            if value == "":
                redacted.append("")
                continue
            text = str(value)
            if text not in cache:
                cache[text] = redact_value(text, kind)
            redacted.append(cache[text])
        out[column] = pd.array(redacted, dtype=STRING)
    return out


def redact_tables(tables: Mapping[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """Apply :data:`REDACTED_COLUMNS` to the loader's tables by name (``Snapshot.tables``); others are kept.

    Examples:
        >>> from analysis import load_snapshot
        >>> tables = redact_tables(load_snapshot("tests/fixtures/docs-example.json").tables)
        >>> tables["nodes"].loc[0, "name"].startswith("node-"), tables["jobs"].loc[0, "id"]
        (True, 'example')
    """
    return {
        name: redact_frame(frame, REDACTED_COLUMNS[name]) if name in REDACTED_COLUMNS else frame
        for name, frame in tables.items()
    }


# ---------------------------------------------------------------------------------------------------------------
# The readiness report's building blocks: the notebook calls these, with prose between them
# ---------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReportData:
    """Everything a report notebook shows: the analysis and its summary, redacted when asked."""

    analysis: Any
    summary: dict[str, Any]
    redacted: bool


def redact_snapshot(snapshot: Any) -> Any:
    """A copy of a :class:`analysis.Snapshot` whose identifying columns are stand-ins (:data:`REDACTED_COLUMNS`).

    Node IDs, names and addresses, token accessors and allocation IDs are replaced in every table (the enrichment
    tables too), with the same stand-in for the same value everywhere, so the analysis joins as before.
    """
    from analysis.snapshot import Snapshot

    def red(name: str, frame: pd.DataFrame | None) -> pd.DataFrame | None:
        return None if frame is None else redact_frame(frame, REDACTED_COLUMNS[name])

    info = dataclasses.replace(
        snapshot.info, address=redact_value(snapshot.info.address, "addr") if snapshot.info.address else None
    )
    return Snapshot(
        jobs=snapshot.jobs,
        nodes=red("nodes", snapshot.nodes),
        node_drivers=red("node_drivers", snapshot.node_drivers),
        tokens=red("tokens", snapshot.tokens),
        info=info,
        body=None,  # a redacted snapshot is for showing, never for saving: save() refuses
        all_nodes=red("all_nodes", snapshot.all_nodes),
        allocations=red("allocations", snapshot.allocations),
    )


def prepare_report(
    snapshots: Sequence[str | os.PathLike[str]], *, redact: bool = False, datacenters: Sequence[str] = ()
) -> ReportData:
    """Load the snapshots, redact them when asked, and analyse them together (one per region or cluster).

    Examples:
        >>> data = prepare_report(["tests/fixtures/docs-example.json"], redact=True)
        >>> data.summary["verdict"], data.analysis.nodes.loc[0, "name"].startswith("node-")
        ('not-ready', True)
    """
    from analysis.risk import analyse, summarize
    from analysis.snapshot import load_snapshot

    loaded = [load_snapshot(path) for path in snapshots]
    if redact:
        loaded = [redact_snapshot(snap) for snap in loaded]
    result = analyse(loaded, datacenters=datacenters)
    summary = summarize(result, tables=False)  # the notebook takes the groupings from the analysis itself
    if redact:
        for entry in summary["snapshots"]:
            entry["source"] = Path(entry["source"]).name
    return ReportData(analysis=result, summary=summary, redacted=redact)


_VERDICT_STYLE = {
    "not-ready": ("#b3261e", "#fdecea", "Not ready"),
    "cleanup-only": ("#8a5a00", "#fff4e0", "Cleanup only"),
    "clear": ("#1e6b34", "#e8f5ec", "Clear"),
}


def verdict_banner(summary: Mapping[str, Any]) -> HTML:
    """The verdict, its reasons and the key counts, as a coloured banner (every value escaped)."""
    from IPython.display import HTML

    colour, background, label = _VERDICT_STYLE.get(summary["verdict"], ("#333", "#eee", summary["verdict"]))
    counts = summary["counts"]
    tokens = "not reported (Nomad 1.10+)" if counts["tokens"] is None else f"{counts['tokens']:,}"
    figures = [
        ("active jobs", f"{counts['jobs_active']:,}"),
        ("specs to resubmit", f"{counts['specs_to_resubmit']:,}"),
        ("live outdated nodes", f"{counts['nodes_live']:,}"),
        ("inactive jobs", f"{counts['jobs_inactive']:,}"),
        ("down outdated nodes", f"{counts['nodes_down']:,}"),
        ("legacy Vault tokens", tokens),
    ]
    cells = "".join(
        f'<div class="wi-figure"><div class="wi-number">{html_text(v)}</div><div>{html_text(k)}</div></div>'
        for k, v in figures
    )
    reasons = "".join(f"<li>{html_text(r)}</li>" for r in summary["reasons"])
    return HTML(
        f'<div class="wi-banner" style="border-left:8px solid {colour};background:{background};padding:12px 18px;'
        f'margin:8px 0 16px 0">'
        f'<div style="font-size:26px;font-weight:700;color:{colour}">Verdict: {html_text(label)}</div>'
        f'<ul style="margin:6px 0">{reasons}</ul>'
        f'<div style="display:flex;flex-wrap:wrap;gap:18px;margin-top:8px">{cells}</div></div>'
        "<style>.wi-figure{min-width:120px}.wi-number{font-size:22px;font-weight:600}</style>"
    )


def provenance_table(summary: Mapping[str, Any]) -> HTML:
    """Where each snapshot came from: cluster, region, capture time, Nomad index, source file, versions."""
    rows = pd.DataFrame(
        [
            {
                "cluster": s["cluster"],
                "region": s["region"],
                "captured at (UTC)": s["captured_at"] or "unknown",
                "Nomad index": s["index"],
                "known leader": s["known_leader"],
                "agent version": s["nomad_version"],
                "legacy tokens": "reported" if s["tokens_reported"] else "not reported (1.10+)",
                "source": Path(str(s["source"])).name,
            }
            for s in summary["snapshots"]
        ]
    )
    return show_table(rows, "snapshots", top_n=max(len(rows), 1))


def stacked_chart(
    frame: pd.DataFrame,
    x: str,
    series: Mapping[str, str],
    *,
    title: str,
    colors: Sequence[str] = ("#c0392b", "#e0a458", "#7f8c8d", "#2e86c1"),
    horizontal: bool = False,
    top_n: int | None = None,
) -> go.Figure | HTML:
    """A stacked bar chart of a grouping: one bar per value of ``x``, one segment per ``series`` column.

    Rows keep the frame's order (groupings come sorted: versions in Nomad's order); several clusters or regions
    are shown as ``cluster/region/x``. ``top_n`` keeps the first rows. An empty grouping gives a one-line
    "no findings" note instead of an empty chart.

    Examples:
        >>> frame = pd.DataFrame({"version": ["1.6.4", "<b>"], "live": [3, 1], "down": [1, 0]})
        >>> fig = stacked_chart(frame, "version", {"live": "live", "down": "down"}, title="Nodes")
        >>> [trace.name for trace in fig.data], list(fig.data[0].x)
        (['live', 'down'], ['1.6.4', '&lt;b&gt;'])
    """
    import plotly.graph_objects as go

    data = frame[frame[list(series.values())].sum(axis=1) > 0] if len(frame) else frame  # zero rows say nothing
    data = data.head(top_n) if top_n else data
    if data.empty:
        from IPython.display import HTML

        return HTML(f'<p class="wi-note">{html_text(title)}: no findings.</p>')
    labels = [chart_text(v) for v in data[x].astype(object)]
    context = [c for c in ("cluster", "region") if c in data.columns and data[c].nunique(dropna=False) > 1]
    if context:
        prefix = data[context].astype(object).fillna("?").astype(str).agg("/".join, axis=1)
        labels = [f"{chart_text(p)}/{label}" for p, label in zip(prefix, labels, strict=True)]
    fig = go.Figure()
    for (name, column), color in zip(series.items(), colors, strict=False):
        values = data[column].astype("int64").tolist()
        if horizontal:
            fig.add_bar(y=labels, x=values, name=chart_text(name), orientation="h", marker_color=color)
        else:
            fig.add_bar(x=labels, y=values, name=chart_text(name), marker_color=color)
    axis = fig.update_yaxes if horizontal else fig.update_xaxes
    axis(type="category", categoryorder="array", categoryarray=labels, autorange="reversed" if horizontal else None)
    counts = fig.update_xaxes if horizontal else fig.update_yaxes
    counts(rangemode="tozero", tickformat=",d")
    if int(data[list(series.values())].sum(axis=1).max()) <= 10:
        counts(dtick=1)  # no 0.2 steps of a count
    fig.update_layout(
        barmode="stack",
        title_text=chart_text(title),
        height=max(360, 24 * len(labels) + 120) if horizontal else 400,
        margin={"t": 60, "b": 40, "l": 60, "r": 20},
        legend={"orientation": "h", "y": -0.15, "traceorder": "normal"},
    )
    return fig


def plan_table(summary: Mapping[str, Any], *, top_n: int = 25) -> HTML:
    """The action plan as a table: step, blocking or not, what to do, and why."""
    steps = pd.DataFrame(
        [
            {
                "step": p["step"],
                "blocks": "yes" if p["blocking"] else "no",
                "action": p["title"],
                "details": p.get("detail", ""),
            }
            for p in summary["plan"]
        ],
        columns=["step", "blocks", "action", "details"],
    )
    return show_table(steps, "action_plan", top_n=top_n)


_CODE_SPAN = re.compile(r"`([^`]+)`")


def _inline(text: object) -> str:
    """Escape ``text`` and then turn its `backtick` spans into ``<code>``: safe, since escaping comes first."""
    return _CODE_SPAN.sub(r"<code>\1</code>", html_text(text))


_PLAN_SECTIONS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    (
        "resubmit",
        "Resubmit these job specs",
        ("step", "namespace", "spec_id", "type", "instances", "children", "datacenters", "node_pool"),
    ),
    (
        "wait-or-stop-children",
        "Let these children finish, or stop them",
        ("step", "namespace", "spec_id", "active_instances"),
    ),
    (
        "upgrade-nodes",
        "Upgrade these live clients to Nomad 1.7 or later",
        ("step", "datacenter", "node_pool", "version", "nodes", "node_names"),
    ),
    ("cleanup-jobs", "Clean up these inactive jobs", ("step", "namespace", "spec_id", "type", "instances")),
    (
        "cleanup-nodes",
        "Clean up these down clients",
        ("step", "datacenter", "node_pool", "version", "nodes", "node_names"),
    ),
)


def plan_sections(summary: Mapping[str, Any], *, top_n: int = 25) -> HTML:
    """The action plan grouped by kind of step: what to do once, then a compact table of where to do it.

    Steps keep their numbers from the plan (blocking kinds first). The explanation common to a kind (how to add
    the identity, how down nodes leave the list) is said once, not on every row.
    """
    from IPython.display import HTML

    plan = summary["plan"]
    parts = []
    for action, heading, columns in _PLAN_SECTIONS:
        steps = [p for p in plan if p["action"] == action]
        if not steps:
            continue
        blocking = " (blocks the migration)" if steps[0]["blocking"] else " (does not block)"
        count = _plan_count(action, steps)
        rows = pd.DataFrame(
            [
                {
                    **{c: p.get(c) for c in columns},
                    "datacenters": ", ".join(p.get("datacenters") or []),
                    "node_names": _names(p.get("node_names") or []),
                    # Nodes without a version report "": shown "(empty)" as in the charts and tables.
                    **({"version": p["version"] or "(empty)"} if "version" in columns else {}),
                }
                for p in steps
            ]
        )[list(columns)]
        context = [c for c in ("cluster", "region") if len({p.get(c) for p in steps}) > 1]
        if context:
            rows.insert(1, "where", ["/".join(str(p.get(c)) for c in context) for p in steps])
        parts.append(f"<h3>{html_text(heading)}: {html_text(count)}{html_text(blocking)}</h3>")
        parts.append(f"<p>{_inline(_first_detail(steps))}</p>")
        if action == "cleanup-jobs":
            others = summary["counts"]["jobs_inactive"] - sum(int(p.get("instances") or 0) for p in steps)
            if others > 0:
                parts.append(
                    f"<p>The other {others:,} inactive job(s) are finished children of specs to resubmit above; "
                    "they leave the list with garbage collection.</p>"
                )
        parts.append(show_table(rows, f"plan_{action}", top_n=top_n).data)
    for step in (p for p in plan if p["action"] == "tokens"):
        parts.append(f"<h3>{_inline(step['title'])}</h3><p>{_inline(step.get('detail', ''))}</p>")
    if not plan:
        parts.append("<p>Nothing to do: the endpoint lists nothing. Check the blind spots below.</p>")
    return HTML("\n".join(parts))


def _plan_count(action: str, steps: Sequence[Mapping[str, Any]]) -> str:
    """How many things a kind of step covers, in the units the verdict box counts (nodes, jobs), then steps."""
    if action in ("upgrade-nodes", "cleanup-nodes"):
        nodes = sum(int(p.get("nodes") or 0) for p in steps)
        return f"{nodes:,} client(s) in {len(steps):,} group(s) by datacenter, pool and version"
    if action == "cleanup-jobs":
        jobs = sum(int(p.get("instances") or 0) for p in steps)
        return f"{jobs:,} inactive job(s) in {len(steps):,} spec(s)"
    if action == "resubmit":
        return f"{len(steps):,} spec(s)"
    return f"{len(steps):,}"


def _names(names: Sequence[str], limit: int = 5) -> str:
    shown = ", ".join(str(n) for n in names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def _first_detail(steps: Sequence[Mapping[str, Any]]) -> str:
    # The resubmit detail ends with a per-spec note on children; the shared part comes before it.
    return (
        str(steps[0].get("detail", "")).split("; ")[0]
        if steps[0]["action"] == "resubmit"
        else str(steps[0].get("detail", ""))
    )


def blind_spots_html(summary: Mapping[str, Any]) -> HTML:
    """The endpoint's blind spots, as a list."""
    from IPython.display import HTML

    items = "".join(f"<li><b>{html_text(b['title'])}.</b> {_inline(b['text'])}</li>" for b in summary["blind_spots"])
    return HTML(f"<ul>{items}</ul>")
