"""Output formats: terminal and markdown tables, JSON-ready rows, table exports and JUnit XML (library level)."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import analysis
from analysis.output import csv_safe, export_tables, junit_xml, markdown_table, text_table, to_jsonable

FIXTURES = Path(__file__).resolve().parent / "fixtures"


@pytest.fixture(scope="module")
def edge_summary() -> dict[str, object]:
    return analysis.summarize(analysis.load_snapshot(FIXTURES / "edge-cases.json"))


def test_text_table_keeps_full_values_and_aligns_numbers() -> None:
    frame = pd.DataFrame(
        {
            "id": ["0b6f3c1e-2a4d-9f87-5c1b-7e0d4a9b2c31", "nightly-backup/periodic-1707177600"],
            "version": ["", None],
            "jobs": pd.array([3, 12], dtype="Int64"),
            "share": [0.5, np.nan],
            "draining": [True, False],
        }
    )
    lines = text_table(frame).splitlines()
    assert lines[0].split() == ["id", "version", "jobs", "share", "draining"]
    assert lines[1].startswith("0b6f3c1e-2a4d-9f87-5c1b-7e0d4a9b2c31  ")  # never cut to 8 characters
    assert "nightly-backup/periodic-1707177600" in lines[2]
    assert '""' in lines[1]  # an empty version is not a missing one
    jobs_end = lines[0].index("jobs") + len("jobs")
    assert lines[1][jobs_end - 1] == "3" and lines[2][jobs_end - 2 : jobs_end] == "12"
    assert "0.50" in lines[1] and lines[2].rstrip().endswith("False")
    assert text_table(frame.iloc[:0]) == "(none)" and text_table(frame.iloc[:0], empty="-") == "-"


def test_markdown_table_escapes_and_parses_back() -> None:
    frame = pd.DataFrame({"name": ["a|b", "back\\slash", "two\nlines"], "n": [1, 2, 3]})
    lines = markdown_table(frame).splitlines()
    assert lines[:2] == ["| name | n |", "| --- | ---: |"]
    assert lines[2] == "| a\\|b | 1 |" and lines[3] == "| back\\\\slash | 2 |" and lines[4] == "| two lines | 3 |"
    assert all(line.count("|") - line.count("\\|") == 3 for line in lines)
    assert markdown_table(frame.iloc[:0]) == "_none_"


def test_to_jsonable_is_exact_and_plain() -> None:
    frame = pd.DataFrame(
        {
            "index": pd.array([2**64 - 1, None], dtype="UInt64"),
            "when": pd.to_datetime(["2026-01-02T03:04:05Z", None], utc=True),
            "flag": pd.array([True, None], dtype="boolean"),
            "dcs": [["dc1", "dc*"], []],
            "cat": pd.Categorical(["x", None]),
        }
    )
    rows = to_jsonable(frame)
    assert rows[0] == {
        "index": 2**64 - 1,
        "when": "2026-01-02T03:04:05+00:00",
        "flag": True,
        "dcs": ["dc1", "dc*"],
        "cat": "x",
    }
    assert rows[1] == {"index": None, "when": None, "flag": None, "dcs": [], "cat": None}
    json.dumps(rows)


def test_export_tables_refuses_unknown_formats(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="csv, parquet, json"):
        export_tables(analysis.load_snapshot(FIXTURES / "empty-cluster.json"), tmp_path, "xlsx")


@pytest.mark.parametrize("fmt", ["csv", "parquet", "json"])
def test_export_of_an_empty_cluster_keeps_the_columns(tmp_path: Path, fmt: str) -> None:
    snapshot = analysis.load_snapshot(FIXTURES / "empty-cluster.json")
    written = export_tables(snapshot, tmp_path, fmt)
    assert [p.name for p in written] == [f"{t}.{fmt}" for t in ("jobs", "nodes", "node_drivers", "tokens", "meta")]
    expected = analysis.analyse(snapshot).jobs.columns.tolist()
    if fmt == "csv":
        assert pd.read_csv(tmp_path / "jobs.csv").columns.tolist() == expected
    elif fmt == "parquet":
        assert pd.read_parquet(tmp_path / "jobs.parquet").columns.tolist() == expected
    else:
        assert json.loads((tmp_path / "jobs.json").read_text()) == []


def test_export_does_not_change_the_snapshot(tmp_path: Path) -> None:
    snapshot = analysis.load_snapshot(FIXTURES / "edge-cases.json")
    before = snapshot.jobs.copy()
    export_tables(snapshot, tmp_path, "csv")
    pd.testing.assert_frame_equal(snapshot.jobs, before)


def test_junit_blocking_steps_fail_cleanup_skips(edge_summary: dict[str, object]) -> None:
    suite = ET.fromstring(junit_xml(edge_summary))
    cases = suite.findall("testcase")
    assert (suite.get("tests"), suite.get("failures"), suite.get("skipped"), suite.get("errors")) == (
        "13",
        "10",
        "2",
        "0",
    )
    assert [c.find("failure").get("type") for c in cases if c.find("failure") is not None] == ["blocking"] * 10
    assert [c.get("classname") for c in cases][:1] == ["wi-readiness.resubmit"]
    skipped = [c for c in cases if c.find("skipped") is not None]
    assert {c.get("classname") for c in skipped} == {"wi-readiness.cleanup-jobs", "wi-readiness.cleanup-nodes"}
    strict = ET.fromstring(junit_xml(edge_summary, fail_on_cleanup=True))
    assert (strict.get("failures"), strict.get("skipped")) == ("12", "0")


def test_junit_of_a_clear_cluster_has_one_passing_case() -> None:
    suite = ET.fromstring(junit_xml({"verdict": "clear", "plan": []}))
    (case,) = suite.findall("testcase")
    assert case.get("name") == "verdict: clear" and list(case) == []
    assert (suite.get("tests"), suite.get("failures")) == ("1", "0")


def test_junit_escapes_what_it_is_given() -> None:
    step = {
        "action": "resubmit",
        "blocking": True,
        "cluster": "prod&co",
        "region": "eu",
        "title": 'Resubmit <job> "x"',
        "detail": "]]> & <",
    }
    suite = ET.fromstring(junit_xml({"verdict": "not-ready", "plan": [step]}))
    case = suite.find("testcase")
    assert case is not None and case.get("name") == 'Resubmit <job> "x"'
    assert case.get("classname") == "wi-readiness.resubmit.prod&co/eu"
    failure = case.find("failure")
    assert failure is not None and failure.text == "]]> & <"


def test_list_columns_with_a_missing_first_value(tmp_path: Path) -> None:
    from analysis.output import _flat_for_files

    frame = pd.DataFrame({"host_volumes": [np.nan, ["certs"], None], "attributes": [None, {"b": "1", "a": "2"}, {}]})
    flat = _flat_for_files(frame, lists_as_json=True)

    def values(column: str) -> list[object]:
        return [None if not isinstance(v, str) and pd.isna(v) else v for v in flat[column]]

    assert values("host_volumes") == [None, '["certs"]', None]
    assert values("attributes") == [None, '{"a":"2","b":"1"}', "{}"]
    kept = _flat_for_files(frame, lists_as_json=False)
    assert kept["host_volumes"].tolist()[1] == ["certs"] and kept["attributes"].tolist()[1] == '{"a":"2","b":"1"}'
    assert frame["attributes"].tolist()[1] == {"b": "1", "a": "2"}  # the input is not changed


def test_to_jsonable_reads_lists_back_from_parquet(tmp_path: Path) -> None:
    export_tables(analysis.load_snapshot(FIXTURES / "edge-cases.json"), tmp_path, "parquet")
    rows = to_jsonable(pd.read_parquet(tmp_path / "jobs.parquet"))
    assert rows[0]["datacenters"] == ["*"] and json.dumps(rows)


# -- cluster data is data: terminals, markdown, spreadsheets, XML and odd targets ------------------------------


def test_control_characters_never_reach_the_terminal() -> None:
    frame = pd.DataFrame({"id": ["web\x1b[2J\x1b]0;owned\x07", "two\nlines"], "n": [1, 2]})
    text = text_table(frame)
    assert "\x1b" not in text and "\x07" not in text and len(text.splitlines()) == 3
    assert "web\\x1b[2J\\x1b]0;owned\\x07" in text and "two\\nlines" in text


def test_markdown_cannot_be_injected_through_ids() -> None:
    frame = pd.DataFrame({"id": ["web\r## Injected: CLEAR", "api`|**CLEAR**|`", "[x](http://evil)"], "n": [1, 2, 3]})
    lines = markdown_table(frame).splitlines()
    assert len(lines) == 5 and all(line.count("|") - line.count("\\|") == 3 for line in lines)
    assert lines[2] == "| web ## Injected: CLEAR | 1 |"  # inside a cell, not a heading
    assert lines[3] == "| api\\`\\|\\*\\*CLEAR\\*\\*\\|\\` | 2 |"
    assert lines[4] == "| \\[x\\](http://evil) | 3 |"  # no "](": no link


def test_csv_formulas_are_quoted_everywhere(tmp_path: Path) -> None:
    from analysis.report import write_table

    frame = pd.DataFrame({"id": ["=cmd|' /C calc'!A0", "@SUM(1)", "+1", "-2", "web"], "n": [-1, 0, 1, 2, 3]})
    expected = ["'=cmd|' /C calc'!A0", "'@SUM(1)", "'+1", "'-2", "web"]
    assert csv_safe(frame)["id"].tolist() == expected and csv_safe(frame)["n"].tolist() == [-1, 0, 1, 2, 3]
    write_table(frame, "t", directory=tmp_path)
    assert pd.read_csv(tmp_path / "t.csv")["id"].tolist() == expected


def test_junit_survives_control_characters_in_ids() -> None:
    import xml.etree.ElementTree as ET

    import analysis

    body = json.loads((FIXTURES / "docs-example.json").read_text())
    body["JobsWithoutVaultIdentity"][0]["ID"] = "web\x0bapi\x00"
    suite = ET.fromstring(junit_xml(analysis.summarize(analysis.load_snapshot(body))))
    assert "web\\x0bapi\\x00" in suite.find("testcase").get("name")


def test_atomic_writes_follow_symlinks_and_write_pipes_directly(tmp_path: Path) -> None:
    import os
    import threading

    from analysis.files import atomic_write

    real = tmp_path / "real.xml"
    real.write_bytes(b"old")
    link = tmp_path / "link.xml"
    link.symlink_to(real)
    atomic_write(link, b"new")
    assert link.is_symlink() and real.read_bytes() == b"new"  # the link stays, its file is replaced

    fifo = tmp_path / "pipe.xml"
    os.mkfifo(fifo)
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()))
    reader.start()
    atomic_write(fifo, b"through the pipe")
    reader.join(timeout=5)
    assert received == [b"through the pipe"] and fifo.exists() and not fifo.is_file()

    with pytest.raises(IsADirectoryError, match="is a directory"):
        atomic_write(tmp_path, b"x")


@pytest.mark.parametrize("fmt", ["csv", "parquet", "json"])
def test_export_says_tokens_were_not_reported(tmp_path: Path, fmt: str) -> None:
    """A 1.10+ snapshot exports an empty tokens table: meta says it means "not reported", not "0 tokens"."""
    export_tables(analysis.load_snapshot(FIXTURES / "empty-cluster.json"), tmp_path, fmt)
    meta = {"csv": pd.read_csv, "parquet": pd.read_parquet, "json": pd.read_json}[fmt](tmp_path / f"meta.{fmt}")
    assert meta["tokens_reported"].tolist() == [False] and meta["index"].tolist() == [18]
