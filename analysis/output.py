"""Output formats shared by the CLI and the library: terminal and markdown tables, table exports, JUnit XML.

Examples:
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"namespace": ["default", "a|b"], "jobs": [3, 1]})
    >>> print(text_table(frame))
    namespace  jobs
    default       3
    a|b           1
    >>> print(markdown_table(frame))
    | namespace | jobs |
    | --- | ---: |
    | default | 3 |
    | a\\|b | 1 |
"""

from __future__ import annotations

import io
import os
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pandas as pd

from analysis.files import atomic_path, atomic_write
from analysis.snapshot import Snapshot

__all__ = [
    "EXPORT_FORMATS",
    "csv_safe",
    "export_tables",
    "junit_xml",
    "markdown_table",
    "markdown_text",
    "printable",
    "text_table",
    "to_jsonable",
]

#: Formats of :func:`export_tables`.
EXPORT_FORMATS = ("csv", "parquet", "json")
_TABLES = ("jobs", "nodes", "node_drivers", "tokens", "meta")


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def printable(text: str) -> str:
    r"""``text`` with control characters shown as escapes, so cluster data cannot move the cursor, clear the
    screen or retitle the terminal (ANSI/OSC sequences), nor break a table with a newline.

    Examples:
        >>> printable("web\x1b[2J\nend")
        'web\\x1b[2J\\nend'
    """
    return _CONTROL.sub(lambda m: repr(m.group(0))[1:-1], text)


_XML_INVALID = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy whose text cells that a spreadsheet would run as a formula (``=``, ``+``, ``-``, ``@``) start with
    ``'``: the usual defence against CSV formula injection; numbers are untouched.

    Examples:
        >>> csv_safe(pd.DataFrame({"id": ["=cmd|' /C calc'!A0", "web"], "n": [-1, 2]})).values.tolist()
        [["'=cmd|' /C calc'!A0", -1], ['web', 2]]
    """
    out = frame.copy()
    for column in out.columns:
        if out[column].dtype == object or isinstance(out[column].dtype, pd.StringDtype | pd.CategoricalDtype):
            values = out[column].to_numpy(dtype=object)
            risky = [i for i, v in enumerate(values) if isinstance(v, str) and v.startswith(_FORMULA_START)]
            if risky:  # most columns have none: leave them (and their dtype) alone
                values = values.copy()
                values[risky] = ["'" + values[i] for i in risky]
                out[column] = values
    return out


def _cell(value: Any, *, escape: bool = True) -> str:
    if value is None or value is pd.NA or value is pd.NaT:
        return ""
    if isinstance(value, str) and not value:
        return '""'  # an empty value (a node without a version) is not the same as a missing one
    if isinstance(value, str):
        return printable(value) if escape else value
    if isinstance(value, float) and value != value:
        return ""
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    if isinstance(value, dict):
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    if isinstance(value, float):
        return f"{value:.2f}"
    return str(value)


def _is_numeric(series: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(series.dtype) and not pd.api.types.is_bool_dtype(series.dtype)


def text_table(frame: pd.DataFrame, *, empty: str = "(none)") -> str:
    """An aligned plain-text table with full values (IDs are never cut); numbers align right.

    Args:
        frame: the rows to show.
        empty: what to print for a frame without rows.
    """
    if not len(frame):
        return empty
    columns = [str(c) for c in frame.columns]
    cells = [[_cell(v) for v in row] for row in frame.itertuples(index=False, name=None)]
    widths = [max(len(col), *(len(row[i]) for row in cells)) for i, col in enumerate(columns)]
    right = [_is_numeric(frame[c]) for c in frame.columns]

    def line(values: Sequence[str]) -> str:
        parts = [v.rjust(w) if r else v.ljust(w) for v, w, r in zip(values, widths, right, strict=True)]
        return "  ".join(parts).rstrip()

    return "\n".join([line(columns), *(line(row) for row in cells)])


def markdown_table(frame: pd.DataFrame, *, empty: str = "_none_") -> str:
    """A GitHub-flavoured markdown table; ``|`` and newlines in values are escaped."""
    if not len(frame):
        return empty

    def esc(text: str) -> str:
        return markdown_text(text)

    header = "| " + " | ".join(esc(str(c)) for c in frame.columns) + " |"
    rule = "| " + " | ".join("---:" if _is_numeric(frame[c]) else "---" for c in frame.columns) + " |"
    rows = [
        "| " + " | ".join(esc(_cell(v, escape=False)) for v in row) + " |"
        for row in frame.itertuples(index=False, name=None)
    ]
    return "\n".join([header, rule, *rows])


# Inside a cell or after our own text nothing starts a line, so `#`, `-`, `+` and `.` are harmless; these are not.
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]!|<>~])")  # "(" needs "]" before it to make a link


def markdown_text(text: str) -> str:
    r"""``text`` safe inside markdown (a table cell, a list item): punctuation markdown acts on is
    backslash-escaped and line breaks become spaces, so a job ID cannot add a heading, a link or a bold verdict.

    Examples:
        >>> markdown_text("web\r## CLEAR `x` [a](http://b)")
        'web ## CLEAR \\`x\\` \\[a\\](http://b)'
    """
    text = re.sub(r"[\r\n]+", " ", text)
    return printable(_MARKDOWN_SPECIAL.sub(r"\\\1", text))


def to_jsonable(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as JSON-ready dicts: NA as None, timestamps as ISO 8601 strings, exact 64-bit integers."""
    out = []
    for record in frame.to_dict(orient="records"):
        row: dict[str, Any] = {}
        for key, value in record.items():
            if value is None or value is pd.NA or value is pd.NaT or (isinstance(value, float) and value != value):
                row[str(key)] = None
            elif isinstance(value, pd.Timestamp | pd.Timedelta):
                row[str(key)] = value.isoformat()
            elif isinstance(value, np.ndarray):  # list columns read back from Parquet
                row[str(key)] = value.tolist()
            elif hasattr(value, "item") and not isinstance(value, list | dict):
                row[str(key)] = value.item()
            else:
                row[str(key)] = value
        out.append(row)
    return out


def _flat_for_files(frame: pd.DataFrame, *, lists_as_json: bool) -> pd.DataFrame:
    """Dicts (driver attributes) become JSON strings; lists too when the format has no list type (CSV)."""
    out = frame.copy()
    for column in out.columns:
        if out[column].dtype != object:
            continue
        # The first container decides (a missing value comes as None, pd.NA or NaN, whatever the row order).
        sample = next((v for v in out[column] if isinstance(v, dict | list)), None)
        if isinstance(sample, dict) or (lists_as_json and isinstance(sample, list)):
            out[column] = [
                orjson.dumps(v, option=orjson.OPT_SORT_KEYS).decode() if isinstance(v, dict | list) else None
                for v in out[column]
            ]
    return out


def export_tables(
    snapshots: Snapshot | Iterable[Snapshot], out_dir: str | os.PathLike[str], fmt: str = "csv"
) -> list[Path]:
    """Write the four tables (jobs, nodes, node_drivers, tokens) and ``meta`` of one or more snapshots.

    ``meta`` has one row per snapshot (its provenance and ``tokens_reported``): an empty ``tokens`` file from a
    Nomad 1.10+ snapshot means "not reported", and ``meta`` is where that is said.

    The tables are those of :func:`analysis.analyse`: the loader's columns plus the classification (``spec_id``,
    ``kind``, ``state``, ``liveness``, node flags, the token's node). Rows of several snapshots are concatenated;
    the ``cluster`` and ``region`` columns tell them apart. In CSV,
    list columns (``datacenters``, ``host_volumes``) and the driver ``attributes`` are JSON strings; in Parquet
    lists stay lists and ``attributes`` is a JSON string (its keys differ per driver); in JSON everything keeps
    its structure and 64-bit integers stay exact. Each file is written atomically.

    Args:
        snapshots: one snapshot or several.
        out_dir: the folder to write ``<table>.<ext>`` into (created if needed).
        fmt: ``csv``, ``parquet`` or ``json``.

    Returns:
        The files written.

    Examples:
        >>> import analysis, tempfile
        >>> out = tempfile.mkdtemp()
        >>> [p.name for p in export_tables(analysis.load_snapshot("tests/fixtures/docs-example.json"), out)]
        ['jobs.csv', 'nodes.csv', 'node_drivers.csv', 'tokens.csv', 'meta.csv']
    """
    if fmt not in EXPORT_FORMATS:
        raise ValueError(f"format must be one of {', '.join(EXPORT_FORMATS)}, not {fmt!r}")
    from analysis.risk import analyse  # the analysis concatenates snapshots keeping dtypes

    result = analyse(snapshots)
    frames = {
        "jobs": result.jobs,
        "nodes": result.nodes,
        "node_drivers": result.node_drivers,
        "tokens": result.tokens,
        "meta": pd.concat([snap.meta for snap in result.snapshots], ignore_index=True),
    }
    out = Path(out_dir)
    written = []
    for name in _TABLES:
        frame = frames[name]
        target = out / f"{name}.{fmt}"
        if fmt == "csv":
            flat = csv_safe(_flat_for_files(frame, lists_as_json=True))
            atomic_write(target, flat.to_csv(index=False).encode())
        elif fmt == "json":
            atomic_write(target, orjson.dumps(to_jsonable(frame), option=orjson.OPT_INDENT_2))
        else:
            with atomic_path(target) as tmp:
                _flat_for_files(frame, lists_as_json=False).to_parquet(tmp, index=False)
        written.append(target)
    return written


def junit_xml(summary: Mapping[str, Any], *, fail_on_cleanup: bool = False) -> bytes:
    """JUnit XML for CI systems: one test case per finding of the plan, failing when it blocks.

    Blocking steps (resubmit a spec, handle active children, upgrade a group of live nodes) are failures;
    cleanup steps are failures with ``fail_on_cleanup`` and skipped otherwise; with no findings there is one
    passing case. Token steps are informational and never fail.

    Examples:
        >>> import analysis
        >>> xml = junit_xml(analysis.summarize(analysis.load_snapshot("tests/fixtures/docs-example.json")))
        >>> xml.count(b"<testcase"), xml.count(b"<failure")
        (3, 2)
    """

    def xml_text(text: Any) -> str:
        return _XML_INVALID.sub(lambda m: repr(m.group(0))[1:-1], str(text))  # XML 1.0 cannot hold these

    suite = ET.Element("testsuite", name="vault-workload-identity-readiness")
    failures = skipped = 0
    cases = 0
    for step in summary.get("plan", []):
        action = step["action"]
        where = "/".join(str(step.get(k)) for k in ("cluster", "region") if step.get(k))
        classname = f"wi-readiness.{action}" + (f".{where}" if where else "")
        case = ET.SubElement(suite, "testcase", classname=xml_text(classname), name=xml_text(step["title"]))
        cases += 1
        if step.get("blocking"):
            failure = ET.SubElement(case, "failure", message=xml_text(step["title"]), type="blocking")
            failure.text = xml_text(step.get("detail", ""))
            failures += 1
        elif action in ("cleanup-jobs", "cleanup-nodes"):
            if fail_on_cleanup:
                failure = ET.SubElement(case, "failure", message=xml_text(step["title"]), type="cleanup")
                failure.text = xml_text(step.get("detail", ""))
                failures += 1
            else:
                ET.SubElement(case, "skipped", message="cleanup only: does not block the migration")
                skipped += 1
    if not cases:
        ET.SubElement(suite, "testcase", classname="wi-readiness", name=f"verdict: {summary.get('verdict')}")
        cases = 1
    suite.set("tests", str(cases))
    suite.set("failures", str(failures))
    suite.set("skipped", str(skipped))
    suite.set("errors", "0")
    buffer = io.BytesIO()
    ET.ElementTree(suite).write(buffer, encoding="utf-8", xml_declaration=True)
    return buffer.getvalue()
