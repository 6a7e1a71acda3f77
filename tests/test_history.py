"""Migration progress over time: diffs, trends, projections and the Parquet dataset, on hand-made sequences.

The builders below are like those in ``test_risk.py`` but carry the fields a diff watches (``JobModifyIndex``,
``Drain``, ``SchedulingEligibility``) and the sequence's defaults, so they stay local to this module.

The sequence used throughout (cluster ``prod``, region ``eu``), with what changes each day:

day 1, Index 100
    jobs default/api, default/web, default/etl, batch/report (all running); nodes n1, n2 (1.6.4), n3 (1.5.0), all
    ready; tokens t1 (on n1), t2 (on n2).
day 2, Index 150
    api gone (fixed); web resubmitted without identity (JobModifyIndex 11 → 20); etl stopped; default/new-svc
    added. n1 gone (upgraded); n2 down; n3 1.5.0 → 1.6.4 (still outdated). t2 revoked.
day 3, Index 210
    web and new-svc gone; report dead. n3 gone. t1 revoked.

Region ``us`` appears on day 2 only (one job, one node) and stays on day 3.
"""

from __future__ import annotations

import gzip
import json
import os
from pathlib import Path
from typing import Any

import orjson
import pandas as pd
import pyarrow.parquet as pq
import pytest

from analysis import ReadinessError, SnapshotError, load_snapshot, summarize
from analysis.errors import ConfigError, SnapshotMismatchError, SnapshotNotFoundError
from analysis.history import (
    DIFF_FORMAT,
    History,
    SnapshotSkippedWarning,
    diff_snapshots,
    export_history,
    export_snapshots,
    is_dataset,
    load_history,
    project_finish,
)
from analysis.report import ReportResult, render_report
from analysis.schema import LISTED, SNAPSHOTS, empty_frame
from tests import browser

HERE = Path(__file__).parent
FIXTURES = HERE / "fixtures"
HOSTILE_CLUSTER = '"><img src=x onerror="window.__xss=2"><script>window.__xss=1</script>'

# -- builders ---------------------------------------------------------------------------------------------------


def job(
    jid: str,
    *,
    ns: str = "default",
    status: str = "running",
    stop: bool = False,
    jmi: int = 10,
    type_: str = "service",
    dcs: list[str] | None = None,
) -> dict[str, Any]:
    return {
        "ID": jid,
        "ParentID": "",
        "Name": jid,
        "Namespace": ns,
        "Datacenters": dcs or ["dc1", "dc*"],
        "NodePool": "default",
        "Type": type_,
        "Priority": 50,
        "Periodic": False,
        "ParameterizedJob": False,
        "Stop": stop,
        "Status": status,
        "StatusDescription": "",
        "CreateIndex": 1,
        "ModifyIndex": jmi + 1,
        "JobModifyIndex": jmi,
        "SubmitTime": 1_700_000_000_000_000_001,
    }


def node(
    nid: str,
    *,
    version: str = "1.6.4",
    status: str = "ready",
    drain: bool = False,
    eligibility: str = "eligible",
    volumes: dict[str, Any] | None = None,
) -> dict[str, Any]:
    return {
        "ID": nid,
        "Name": f"client-{nid}",
        "Address": "10.0.0.1",
        "Datacenter": "dc1",
        "NodePool": "default",
        "NodeClass": "",
        "Version": version,
        "Drain": drain,
        "SchedulingEligibility": eligibility,
        "Status": status,
        "StatusDescription": "",
        "Drivers": {
            "docker": {
                "Detected": True,
                "Healthy": True,
                "HealthDescription": "Healthy",
                "UpdateTime": "2025-06-01T10:00:00.123456789+02:00",
                "Attributes": {"driver.docker": "true", "driver.docker.version": "24.0.7"},
            }
        },
        "HostVolumes": volumes,
        "LastDrain": None,
        "CreateIndex": 1,
        "ModifyIndex": 2,
    }


def token(accessor: str, node_id: str) -> dict[str, Any]:
    return {
        "Accessor": accessor,
        "AllocID": f"alloc-{accessor}",
        "NodeID": node_id,
        "Task": "app",
        "CreationTTL": 60,
        "CreateIndex": 3,
    }


def envelope(
    day: int | None,
    jobs: list[dict[str, Any]] = (),  # type: ignore[assignment]
    nodes: list[dict[str, Any]] = (),  # type: ignore[assignment]
    tokens: list[dict[str, Any]] | None = (),  # type: ignore[assignment]
    *,
    cluster: str | None = "prod",
    region: str | None = "eu",
    index: int | None = None,
) -> dict[str, Any]:
    body = {
        "JobsWithoutVaultIdentity": list(jobs),
        "OutdatedNodes": list(nodes),
        "VaultTokens": None if tokens is None else list(tokens),
        "Index": index,
        "KnownLeader": True,
        "LastContact": 0,
        "NextToken": "",
    }
    return {
        "format": "nomad-wi-readiness/snapshot",
        "version": 1,
        "captured_at": None if day is None else f"2025-06-{day:02d}T08:00:00Z",
        "cluster": cluster,
        "region": region,
        "address": "https://nomad.example:4646",
        "nomad_version": "1.9.7",
        "body_shape": "http-body",
        "headers": {},
        "response": body,
        "enrichment": None,
    }


def write(folder: Path, name: str, document: Any) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    data = orjson.dumps(document)
    path.write_bytes(gzip.compress(data, mtime=0) if name.endswith(".gz") else data)
    return path


DAY1 = envelope(
    1,
    [job("api", jmi=10), job("web", jmi=11), job("etl", jmi=12), job("report", ns="batch", type_="batch")],
    [node("n1"), node("n2"), node("n3", version="1.5.0", volumes={"certs": {}})],
    [token("t1", "n1"), token("t2", "n2")],
    index=100,
)
DAY2 = envelope(
    2,
    [
        job("web", jmi=20),
        job("etl", jmi=12, stop=True),
        job("new-svc", jmi=40),
        job("report", ns="batch", type_="batch"),
    ],
    [node("n2", status="down"), node("n3", version="1.6.4", volumes={"certs": {}})],
    [token("t1", "n1")],
    index=150,
)
DAY3 = envelope(
    3,
    [job("etl", jmi=12, stop=True), job("report", ns="batch", type_="batch", status="dead")],
    [node("n2", status="down")],
    [],
    index=210,
)
US2 = envelope(2, [job("us-api")], [node("u1")], [], region="us", index=151)
US3 = envelope(3, [], [node("u1")], [], region="us", index=205)


def write_sequence(root: Path) -> Path:
    """The sequence as files: plain and gzip, nested folders, names not in time order."""
    write(root, "eu/c-day1.json", DAY1)
    write(root, "eu/b-day2.json.gz", DAY2)
    write(root, "eu/a-day3.json", DAY3)
    write(root, "us/day2.json.gz", US2)
    write(root, "us/day3.json", US3)
    return root


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return write_sequence(tmp_path / "snapshots")


def counts_of(frame: pd.DataFrame) -> list[tuple[Any, ...]]:
    columns = ["region", "jobs_active", "jobs_inactive", "specs_to_resubmit", "nodes_live", "nodes_down", "tokens"]
    return [tuple(None if pd.isna(v) else v for v in row) for row in frame[columns].itertuples(index=False)]


# -- diff -------------------------------------------------------------------------------------------------------


def test_diff_hand_computed() -> None:
    diff = diff_snapshots(load_snapshot(DAY1), load_snapshot(DAY2))
    assert (diff.cluster, diff.region, diff.swapped, diff.warnings) == ("prod", "eu", False, ())

    jobs = diff.jobs
    assert jobs.counts() == {"new": 1, "fixed": 1, "unchanged": 3, "changed": 2}
    assert jobs.new[["namespace", "id"]].values.tolist() == [["default", "new-svc"]]
    assert jobs.fixed[["namespace", "id"]].values.tolist() == [["default", "api"]]
    assert jobs.unchanged[["namespace", "id"]].values.tolist() == [
        ["batch", "report"],
        ["default", "etl"],
        ["default", "web"],
    ]
    assert jobs.changes.to_dict("records") == [
        {
            "namespace": "default",
            "id": "etl",
            "field": "stop",
            "before": "false",
            "after": "true",
            "note": "now inactive: cleanup only",
        },
        {
            "namespace": "default",
            "id": "web",
            "field": "job_modify_index",
            "before": "11",
            "after": "20",
            "note": "resubmitted, still without a vault identity",
        },
    ]

    nodes = diff.nodes
    assert nodes.counts() == {"new": 0, "fixed": 1, "unchanged": 2, "changed": 2}
    assert nodes.fixed["id"].tolist() == ["n1"]
    assert nodes.changes[["id", "field", "before", "after", "note"]].values.tolist() == [
        ["n2", "status", "ready", "down", "went down: cleanup only"],
        ["n3", "version", "1.5.0", "1.6.4", "upgraded, still outdated"],
    ]

    tokens = diff.tokens
    assert tokens.counts() == {"new": 0, "fixed": 1, "unchanged": 1, "changed": 0}
    assert tokens.fixed["accessor"].tolist() == ["t2"]

    assert (diff.verdict_before, diff.verdict_after) == ("not-ready", "not-ready")
    headline = {key: (before, after) for key, _, before, after in diff.headline()}
    assert headline == {
        "jobs_active": (4, 3),
        "jobs_inactive": (0, 1),
        "specs_to_resubmit": (4, 3),
        "nodes_live": (3, 1),
        "nodes_down": (0, 1),
        "tokens": (2, 1),
    }


def test_diff_other_watched_fields_and_state_changes() -> None:
    old = load_snapshot(envelope(1, [job("a", status="dead")], [node("n", status="down")], index=1))
    new = load_snapshot(
        envelope(2, [job("a", status="running")], [node("n", drain=True, eligibility="ineligible")], index=2)
    )
    diff = diff_snapshots(old, new)
    assert diff.jobs.changes[["field", "note"]].values.tolist() == [["status", "active again: blocks the migration"]]
    assert diff.nodes.changes[["field", "before", "after", "note"]].values.tolist() == [
        ["status", "down", "ready", "back up: blocks the migration"],
        ["drain", "false", "true", "drain started"],
        ["scheduling_eligibility", "eligible", "ineligible", "now ineligible"],
    ]
    assert diff.nodes.changed == 1
    assert (diff.verdict_before, diff.verdict_after) == ("cleanup-only", "not-ready")


def test_diff_reversed_order_is_swapped_and_noted() -> None:
    forward = diff_snapshots(load_snapshot(DAY1), load_snapshot(DAY2))
    backward = diff_snapshots(load_snapshot(DAY2), load_snapshot(DAY1))
    assert backward.swapped and not forward.swapped
    assert backward.old.index == 100 and backward.new.index == 150
    assert {k: v for k, v in backward.to_dict().items() if k != "swapped"} == {
        k: v for k, v in forward.to_dict().items() if k != "swapped"
    }
    assert "given newest first" in backward.to_markdown()


def test_diff_order_falls_back_to_index_without_captured_at() -> None:
    a = load_snapshot(envelope(None, [job("x")], index=500))
    b = load_snapshot(envelope(None, [], index=300))
    diff = diff_snapshots(a, b)
    assert diff.swapped
    assert diff.jobs.new["id"].tolist() == ["x"] and diff.jobs.fixed.empty


def test_diff_warns_when_time_and_index_disagree() -> None:
    diff = diff_snapshots(load_snapshot(envelope(1, index=900)), load_snapshot(envelope(2, index=100)))
    assert not diff.swapped
    assert any("captured_at and Index disagree" in w for w in diff.warnings)


@pytest.mark.parametrize(
    ("other", "what"),
    [({"cluster": "staging"}, "clusters"), ({"region": "us"}, "regions"), ({"cluster": "x", "region": "y"}, "and")],
)
def test_diff_refuses_different_clusters_or_regions(other: dict[str, str], what: str, tmp_path: Path) -> None:
    a = write(tmp_path, "prod.json", DAY1)
    b = write(tmp_path, "other.json", {**DAY2, **other})
    with pytest.raises(SnapshotMismatchError) as caught:
        diff_snapshots(load_snapshot(a), load_snapshot(b))
    err = caught.value
    message = str(err)
    assert str(a) in message and str(b) in message and what in message
    assert isinstance(err, SnapshotError) and isinstance(err, ReadinessError) and isinstance(err, ValueError)
    assert (err.old, err.new, err.old_context) == (str(a), str(b), ("prod", "eu"))


def test_diff_allows_unknown_context_with_a_warning() -> None:
    old = load_snapshot({**DAY1, "cluster": None})
    diff = diff_snapshots(old, load_snapshot(DAY2))
    assert diff.cluster == "prod"
    assert diff.warnings == ("cluster unknown for <dict>: assumed to be the same cluster",)
    assert "cluster unknown" in diff.to_markdown() and "note: cluster unknown" in diff.to_text()


def test_diff_tokens_not_reported_on_one_side_are_not_compared() -> None:
    post_110 = envelope(2, DAY2["response"]["JobsWithoutVaultIdentity"], [], None, index=150)
    diff = diff_snapshots(load_snapshot(DAY1), load_snapshot(post_110))
    assert not diff.tokens.compared and diff.tokens.fixed.empty
    assert any("not reported by the newer snapshot" in w for w in diff.warnings)
    assert diff.counts_after["tokens"] is None
    assert "| legacy tokens | 2 | n/a |  |" in diff.to_markdown()
    assert "Tokens: not compared" in diff.to_text()


def test_diff_to_dict_is_json_and_stable() -> None:
    diff = diff_snapshots(load_snapshot(DAY1), load_snapshot(DAY2))
    document = diff.to_dict()
    assert json.loads(json.dumps(document)) == document == diff.to_dict()
    assert document["format"] == DIFF_FORMAT and document["version"] == 1
    assert document["jobs"]["fixed"] == [
        {"namespace": "default", "id": "api", "type": "service", "status": "running", "stop": False,
         "job_modify_index": 10}
    ]  # fmt: skip
    assert document["nodes"]["counts"] == {"new": 0, "fixed": 1, "unchanged": 2, "changed": 2}
    assert document["old"]["captured_at"] == "2025-06-01T08:00:00+00:00"
    assert document["counts"]["before"]["jobs_active"] == 4
    assert list(document) == [
        "format", "version", "cluster", "region", "old", "new", "swapped", "warnings", "verdict", "counts",
        "jobs", "nodes", "tokens",
    ]  # fmt: skip


def test_diff_markdown_full_ids_and_escaping() -> None:
    long_id = "5f1c2e0a-9b7d-4c3e-8a21-0d6f4b9e7c15"
    old = load_snapshot(envelope(1, [job("a|b", ns="team|x")], [node(long_id)], index=1))
    new = load_snapshot(envelope(2, [], [], index=2))
    text = diff_snapshots(old, new).to_markdown()
    assert "| team\\|x | a\\|b | service | running | false | 10 |" in text
    assert f"| {long_id} | client-{long_id} | dc1 | default | 1.6.4 | ready |" in text
    assert text.startswith("### Migration progress: cluster prod, region eu\n")
    assert "2025-06-01 08:00 UTC (Index 1) → 2025-06-02 08:00 UTC (Index 2), 1.0 days" in text
    assert "| active jobs (block) | 1 | 0 | -1 |" in text


def test_diff_markdown_truncates_long_tables() -> None:
    old = load_snapshot(envelope(1, [job(f"j{i:02d}") for i in range(5)], index=1))
    text = diff_snapshots(old, load_snapshot(envelope(2, index=2))).to_markdown(max_rows=2)
    assert "#### Jobs fixed (5)" in text and "| default | j01 |" in text and "| default | j02 |" not in text
    assert "… and 3 more" in text


def test_diff_text_is_aligned() -> None:
    text = diff_snapshots(load_snapshot(DAY1), load_snapshot(DAY2)).to_text()
    block = text.split("Nodes still listed, changed (2 of 2)\n")[1].split("\n\n")[0].splitlines()
    assert block == [
        "id  name       field    before  after  note",
        "--  ---------  -------  ------  -----  ------------------------",
        "n2  client-n2  status   ready   down   went down: cleanup only",
        "n3  client-n3  version  1.5.0   1.6.4  upgraded, still outdated",
    ]
    assert "active jobs (block)                 4      3      -1" in text


# -- trend ------------------------------------------------------------------------------------------------------


def test_trend_hand_computed_and_region_added_midway(folder: Path) -> None:
    history = load_history(folder)
    assert history.storage == "files" and history.skipped == ()
    trend = history.trend
    assert history.groups == [("prod", "eu"), ("prod", "us")]
    assert trend["captured_at"].dt.day.tolist() == [1, 2, 3, 2, 3]
    assert counts_of(trend) == [
        ("eu", 4, 0, 4, 3, 0, 2),
        ("eu", 3, 1, 3, 1, 1, 1),
        ("eu", 0, 2, 0, 0, 1, 0),
        ("us", 1, 0, 1, 1, 0, 0),
        ("us", 0, 0, 0, 1, 0, 0),
    ]
    assert trend["blocking"].tolist() == [7, 4, 0, 2, 1]
    assert trend["verdict"].tolist() == ["not-ready", "not-ready", "cleanup-only", "not-ready", "not-ready"]
    assert trend["index"].tolist() == [100, 150, 210, 151, 205]
    assert trend["time_source"].unique().tolist() == ["captured"]
    assert trend["source"].tolist()[:3] == [str(folder / p) for p in ("eu/c-day1.json", "eu/b-day2.json.gz",
                                                                      "eu/a-day3.json")]  # fmt: skip
    # The region that appeared on day 2 has no earlier rows.
    assert trend.loc[trend["region"] == "us", "captured_at"].min() == pd.Timestamp("2025-06-02T08:00:00Z")


def test_trend_counts_equal_summarize(folder: Path) -> None:
    trend = load_history(folder).trend
    for row in trend.itertuples(index=False):
        counts = summarize(load_snapshot(row.source))["counts"]
        for key in (
            "jobs",
            "jobs_active",
            "jobs_inactive",
            "specs_to_resubmit",
            "nodes",
            "nodes_live",
            "nodes_down",
            "tokens",
        ):
            value = getattr(row, key)
            assert (None if pd.isna(value) else value) == counts[key], (row.source, key)


def test_trend_dtypes_are_declared_in_the_schema(folder: Path, tmp_path: Path) -> None:
    expected = {
        "cluster": "string",
        "region": "string",
        "captured_at": "datetime64[ns, UTC]",
        "time_source": "string",
        "index": "UInt64",
        "verdict": "string",
        "blocking": "Int64",
        "jobs": "Int64",
        "jobs_active": "Int64",
        "jobs_inactive": "Int64",
        "specs_to_resubmit": "Int64",
        "nodes": "Int64",
        "nodes_live": "Int64",
        "nodes_down": "Int64",
        "tokens": "Int64",
        "nomad_version": "string",
        "shape": "string",
        "source": "string",
        "snapshot_id": "string",
    }
    assert {c.name: str(c.dtype) for c in SNAPSHOTS.columns} == expected
    trend = load_history(folder).trend
    assert {k: str(v) for k, v in trend.dtypes.items()} == expected
    assert trend["cluster"].dtype.storage == "python"  # the same on pandas 2.2 and 3.x
    empty = tmp_path / "empty"
    empty.mkdir()
    pd.testing.assert_frame_equal(load_history(empty).trend, empty_frame(SNAPSHOTS))
    listed = load_history(folder).longest_listed("nodes")
    assert [str(t) for t in listed.dtypes] == [str(c.dtype) for c in LISTED.columns]


def test_unreadable_files_are_skipped_with_a_warning_naming_them(folder: Path) -> None:
    broken = write(folder, "eu/broken.json", DAY1)
    broken.write_bytes(broken.read_bytes()[:50])
    other = folder / "eu" / "summary.json"
    other.write_text('{"Members": [], "ServerName": "x"}')
    with pytest.warns(SnapshotSkippedWarning) as caught:
        history = load_history(folder)
    messages = sorted(str(w.message) for w in caught)
    assert len(messages) == 2
    assert messages[0].startswith(f"{broken}: skipped: ") and "truncated" in messages[0]
    assert messages[1].startswith(f"{other}: skipped: ") and "/v1/agent/members" in messages[1]
    assert sorted(s.path for s in history.skipped) == sorted([str(broken), str(other)])
    assert len(history.trend) == 5  # the others still load


def test_duplicates_are_skipped(folder: Path) -> None:
    # Searched after eu/c-day1.json (paths are taken in sorted order), so that file is the one kept.
    (folder / "zz").mkdir()
    (folder / "zz" / "day1.json").write_bytes((folder / "eu" / "c-day1.json").read_bytes())
    write(folder, "zz/day1-again.json.gz", DAY1)  # other bytes, same capture
    with pytest.warns(SnapshotSkippedWarning) as caught:
        history = load_history(folder)
    reasons = sorted(s.reason for s in history.skipped)
    assert len(caught) == 2 and len(history.trend) == 5
    assert reasons[0].startswith("the same bytes as ") and reasons[1].startswith("the same cluster, region")


def test_missing_time_falls_back_to_mtime_and_is_flagged(tmp_path: Path) -> None:
    body = {"JobsWithoutVaultIdentity": [job("a")], "OutdatedNodes": [], "VaultTokens": None, "Index": 7}
    path = write(tmp_path, "raw-body.json", body)
    when = pd.Timestamp("2025-05-30T12:00:00Z")
    os.utime(path, ns=(when.value, when.value))
    trend = load_history(tmp_path).trend
    row = trend.iloc[0]
    assert (row["cluster"], row["region"], row["time_source"], row["captured_at"]) == (
        "unknown",
        "unknown",
        "mtime",
        when,
    )
    assert pd.isna(row["tokens"]) and row["shape"] == "http-body"


def test_load_history_errors(tmp_path: Path) -> None:
    with pytest.raises(SnapshotNotFoundError, match="no such folder"):
        load_history(tmp_path / "missing")
    file = write(tmp_path, "one.json", DAY1)
    with pytest.raises(SnapshotNotFoundError, match="is a file"):
        load_history(file)


def test_latest_diff_and_longest_listed(folder: Path) -> None:
    history = load_history(folder)
    diff = history.latest_diff("prod", "eu")
    assert (diff.old.index, diff.new.index) == (150, 210)
    assert diff.jobs.fixed["id"].tolist() == ["new-svc", "web"]
    assert diff.jobs.changes[["id", "field", "note"]].values.tolist() == [["report", "status", "now inactive: "
                                                                           "cleanup only"]]  # fmt: skip
    with pytest.raises(SnapshotNotFoundError, match="name one of: prod/eu, prod/us"):
        history.latest_diff()
    with pytest.raises(SnapshotNotFoundError, match="matches no group"):
        history.latest_diff("staging", "eu")

    jobs = history.longest_listed("jobs", top_n=None, region="eu")
    assert jobs[["id", "listed_for", "snapshots", "still_listed"]].values.tolist() == [
        ["report", pd.Timedelta(days=2), 3, True],
        ["etl", pd.Timedelta(days=2), 3, True],
        ["web", pd.Timedelta(days=1), 2, False],
        ["api", pd.Timedelta(0), 1, False],
        ["new-svc", pd.Timedelta(0), 1, False],
    ]
    nodes = history.longest_listed("nodes", top_n=2)
    assert nodes[["region", "id", "name", "snapshots", "still_listed"]].values.tolist() == [
        ["eu", "n2", "client-n2", 3, True],
        ["eu", "n3", "client-n3", 2, False],
    ]
    assert nodes["namespace"].isna().all()
    assert nodes.loc[0, "first_seen"] == pd.Timestamp("2025-06-01T08:00:00Z")
    with pytest.raises(ValueError, match="kind must be"):
        history.longest_listed("tokens")


# -- projection -------------------------------------------------------------------------------------------------


def _trend(blocking: list[int], start: str = "2025-06-01") -> pd.DataFrame:
    times = pd.date_range(start, periods=len(blocking), freq="D", tz="UTC")
    return pd.DataFrame({"cluster": "prod", "region": "eu", "captured_at": times, "blocking": blocking})


def test_projection_on_a_steady_decrease(tmp_path: Path) -> None:
    # Built from real files: active jobs 10, 8, 6, 4, 2 on June 1-5, no nodes: -2 a day, 2 left on June 5.
    for day, n in enumerate((10, 8, 6, 4, 2), start=1):
        write(tmp_path, f"d{day}.json", envelope(day, [job(f"j{i}") for i in range(n)], index=day))
    projection = project_finish(load_history(tmp_path).trend, "prod", "eu")
    assert projection is not None
    assert projection.rate_per_day == pytest.approx(-2.0)
    assert projection.finish == pd.Timestamp("2025-06-06T08:00:00Z")
    assert (projection.blocking, projection.points, projection.as_of.day) == (2, 5, 5)
    assert projection.label.startswith(
        "Projection (linear, not a promise): 2 blocking item(s) reach 0 around 2025-06-06"
    )
    assert projection.to_dict()["kind"] == "projection"


def test_projection_uses_the_window() -> None:
    trend = _trend([10, 10, 10, 8, 6])
    # All five points: least squares slope -1.0/day, 6 left on June 5 -> June 11.
    assert project_finish(trend, "prod", "eu").finish == pd.Timestamp("2025-06-11", tz="UTC")  # type: ignore[union-attr]
    # The last two days only (June 3-5: 10, 8, 6): -2/day -> June 8.
    assert project_finish(trend, "prod", "eu", window="2D").finish == pd.Timestamp("2025-06-08", tz="UTC")  # type: ignore[union-attr]


@pytest.mark.parametrize("blocking", [[5, 5, 5, 5], [1, 2, 3], [0, 0], [7]])
def test_projection_is_none_unless_decreasing(blocking: list[int]) -> None:
    assert project_finish(_trend(blocking), "prod", "eu") is None


def test_projection_unknown_group_is_none() -> None:
    assert project_finish(_trend([3, 2, 1]), "prod", "us") is None


# -- the Parquet dataset ----------------------------------------------------------------------------------------


def test_export_then_trend_from_the_dataset_equals_the_files(folder: Path, tmp_path: Path) -> None:
    out = tmp_path / "dataset"
    exported = export_history(folder, out)
    assert is_dataset(out) and exported.storage == "dataset" and exported.skipped == ()
    from_files = load_history(folder)
    from_dataset = load_history(out)
    pd.testing.assert_frame_equal(from_dataset.trend, from_files.trend)
    pd.testing.assert_frame_equal(exported.trend, from_files.trend)
    for kind in ("jobs", "nodes"):
        pd.testing.assert_frame_equal(
            from_dataset.longest_listed(kind, top_n=None), from_files.longest_listed(kind, top_n=None)
        )
    assert from_dataset.latest_diff("prod", "eu").to_dict() == from_files.latest_diff("prod", "eu").to_dict()
    # Only the chosen cluster's partitions are read.
    assert load_history(out, cluster="nope").trend.empty
    assert sorted(p.name for p in (out / "jobs").iterdir()) == ["cluster=prod"]
    assert sorted(p.name for p in (out / "snapshots" / "cluster=prod").iterdir()) == [
        "date=2025-06-01",
        "date=2025-06-02",
        "date=2025-06-03",
    ]
    assert not [p for p in out.iterdir() if p.name.startswith(".staging")]


def test_dataset_keeps_nested_columns_and_dtypes(folder: Path, tmp_path: Path) -> None:
    out = tmp_path / "dataset"
    history = export_history(folder, out)
    row = history.trend.iloc[0]
    rebuilt = history.snapshot(row["snapshot_id"])
    original = load_snapshot(row["source"])
    assert rebuilt.jobs.loc[0, "datacenters"] == ["dc1", "dc*"]
    assert rebuilt.nodes["host_volumes"].tolist() == [[], [], ["certs"]]
    assert rebuilt.node_drivers.loc[0, "attributes"] == {"driver.docker": "true", "driver.docker.version": "24.0.7"}
    for name in ("jobs", "node_drivers", "tokens"):
        pd.testing.assert_frame_equal(getattr(rebuilt, name), getattr(original, name), check_categorical=False)
    fixed = [c for c in original.nodes.columns if not c.startswith("driver_")]
    pd.testing.assert_frame_equal(rebuilt.nodes, original.nodes[fixed], check_categorical=False)
    assert (rebuilt.info.captured_at, rebuilt.info.index, rebuilt.tokens_reported) == (
        original.info.captured_at,
        original.info.index,
        True,
    )


def test_export_is_incremental_and_idempotent(folder: Path, tmp_path: Path) -> None:
    out = tmp_path / "dataset"
    (folder / "us" / "day3.json").rename(tmp_path / "later.json")
    assert len(export_history(folder, out).trend) == 4
    (tmp_path / "later.json").rename(folder / "us" / "day3.json")
    files_before = sorted(p.relative_to(out) for p in out.rglob("*.parquet"))
    again = export_history(folder, out)
    assert len(again.trend) == 5 and again.skipped == ()
    # us day 3 adds nodes, node_drivers and snapshots files; its jobs and tokens are empty, so no file.
    assert len(sorted(out.rglob("*.parquet"))) == len(files_before) + 3
    pd.testing.assert_frame_equal(export_history(folder, out).trend, again.trend)


def test_a_crash_never_shows_half_a_snapshot(folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from analysis import history as module

    out = tmp_path / "dataset"
    real_publish = module._publish
    calls = {"n": 0}

    def crashing_publish(staging: Path, target: Path) -> None:
        calls["n"] += 1
        if calls["n"] == 2:
            # The second snapshot's data tables are published, then the process "dies" before its snapshots row.
            for table in ("jobs", "nodes", "node_drivers", "tokens"):
                for file in sorted((staging / table).rglob("*.parquet")):
                    destination = target / file.relative_to(staging)
                    destination.parent.mkdir(parents=True, exist_ok=True)
                    file.replace(destination)
            raise KeyboardInterrupt
        real_publish(staging, target)

    monkeypatch.setattr(module, "_publish", crashing_publish)
    with pytest.raises(KeyboardInterrupt):
        export_history(folder, out)
    monkeypatch.setattr(module, "_publish", real_publish)
    history = load_history(out)
    assert len(history.trend) == 1  # only the committed snapshot is visible
    # The first file searched (eu/a-day3.json) was committed; the half-published day 2 rows are not counted.
    assert history.longest_listed("jobs", top_n=None)["id"].tolist() == ["report", "etl"]
    (out / ".staging-leftover" / "snapshots").mkdir(parents=True)
    (out / ".staging-leftover" / "snapshots" / "x.parquet").write_bytes(b"junk")
    assert len(load_history(out).trend) == 1  # hidden staging folders are ignored
    assert len(export_history(folder, out).trend) == 5  # and the next export completes the history


def test_the_index_is_a_cache_never_the_truth(folder: Path, tmp_path: Path) -> None:
    out = tmp_path / "dataset"
    expected = export_history(folder, out).trend
    index = out / "_index" / "cluster=prod.parquet"
    assert index.is_file() and pq.read_table(index).num_rows == 5
    pd.testing.assert_frame_equal(load_history(out, cluster="prod").trend, expected)
    index.unlink()  # missing: every snapshot file is read
    pd.testing.assert_frame_equal(load_history(out).trend, expected)
    export_history(folder, out)  # nothing new: the index is not rebuilt ...
    assert not index.exists()
    (folder / "eu" / "c-day1.json").unlink()
    write(folder, "eu/day4.json", envelope(4, index=300))
    export_history(folder, out)  # ... but it is when a snapshot is added
    assert pq.read_table(index).num_rows == 6
    gone = expected.iloc[0]
    for file in out.glob(f"*/cluster=prod/date=2025-06-01/{gone['snapshot_id']}-0.parquet"):
        file.unlink()  # deleted by hand: the index still names it, the trend must not
    trend = load_history(out).trend
    assert gone["snapshot_id"] not in trend["snapshot_id"].tolist() and len(trend) == 5


def test_export_errors(folder: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="'csv' is not supported"):
        export_history(folder, tmp_path / "out", format="csv")
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "keep.txt").write_text("x")
    with pytest.raises(ConfigError, match="is not a history dataset"):
        export_history(folder, busy)
    export_history(folder, tmp_path / "ds")
    with pytest.raises(ConfigError, match="already an exported dataset"):
        export_history(tmp_path / "ds", tmp_path / "ds2")
    with pytest.raises(SnapshotNotFoundError):
        export_history(tmp_path / "missing", tmp_path / "ds3")


def test_export_snapshots_from_memory(tmp_path: Path) -> None:
    snaps = [load_snapshot(DAY1), load_snapshot(DAY2), load_snapshot(envelope(None, index=3))]
    with pytest.warns(SnapshotSkippedWarning, match="has no captured_at"):
        history = export_snapshots(iter(snaps), tmp_path / "ds")
    assert history.trend["blocking"].tolist() == [7, 4]
    assert [s.reason for s in history.skipped] == ["has no captured_at (and no file whose time could stand in for it)"]
    assert isinstance(history, History) and history.latest_diff().jobs.fixed["id"].tolist() == ["api"]


# -- the migration progress notebook ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def progress_report(tmp_path_factory: pytest.TempPathFactory) -> ReportResult:
    root = tmp_path_factory.mktemp("progress")
    snapshots = write_sequence(root / "snapshots")
    # A cluster whose name is markup: it must come out as text in tables, headings and chart titles.
    write(snapshots, "hostile/1.json", envelope(1, [job("a"), job("b")], cluster=HOSTILE_CLUSTER, index=5))
    write(snapshots, "hostile/2.json", envelope(2, [job("a")], cluster=HOSTILE_CLUSTER, index=9))
    # As `wi-readiness report --history` calls it: no snapshot files, the folder as a parameter.
    return render_report(
        [],
        root / "out",
        notebook="migration_progress",
        top_n=3,
        extra_parameters={"history": str(snapshots)},
    )


@pytest.mark.notebook
def test_progress_notebook_renders_offline(progress_report: ReportResult) -> None:
    page = progress_report.html.read_text(encoding="utf-8")
    assert "Vault workload identity migration progress" in page
    assert "projection (linear, not a promise)" in page and "Listed the longest" in page
    assert "resubmitted, still without a vault identity" not in page  # the latest eu diff has none ...
    assert "now inactive: cleanup only" in page  # ... but report went dead
    for raw in ("<script>window.__xss", '<img src=x onerror="window.__xss'):
        assert raw not in page
    assert {p.name for p in progress_report.csvs} >= {"longest-jobs.csv", "longest-nodes.csv"}


@pytest.mark.notebook
@pytest.mark.browser
def test_progress_notebook_charts_draw_in_chromium(progress_report: ReportResult) -> None:
    browser.require_browser()
    seen = browser.open_page(progress_report.html, evaluate="window.__xss === undefined")
    assert seen.charts == [True, True, True]  # one burndown per cluster and region
    assert seen.evaluated is True
    assert not seen.console_errors and not seen.page_errors and not seen.external_requests
    assert "Burndown: cluster prod, region eu" in seen.text
    assert HOSTILE_CLUSTER in seen.text  # shown, as text


def test_odd_cluster_names_stay_distinct_in_the_dataset(tmp_path: Path) -> None:
    """NUL, slashes and 130 accented letters in a cluster name: separate, valid partitions, nothing merged."""
    import os

    from analysis.history import _label

    assert _label("prod\0eu") != _label("prod\0us") and "\0" not in _label("prod\0eu")
    assert len(_label("é" * 130).encode()) < 100 and _label("prod-eu") == "prod-eu"
    folder = tmp_path / "snaps"
    folder.mkdir()
    os.mkfifo(folder / "pipe.json")  # a pipe named like a snapshot must not block the scan
    for i, cluster in enumerate(["prod\0eu", "prod\0us", "é" * 130]):
        envelope = {
            "format": "nomad-wi-readiness/snapshot",
            "version": 1,
            "cluster": cluster,
            "region": "r",
            "captured_at": f"2026-12-0{i + 1}T00:00:00Z",
            "response": {"OutdatedNodes": [], "Index": i + 1},
        }
        (folder / f"s{i}.json").write_bytes(orjson.dumps(envelope))
    with pytest.warns(SnapshotSkippedWarning, match="not a regular file"):
        exported = export_history(folder, tmp_path / "ds")
    assert len(exported.trend) == 3 and exported.trend["cluster"].nunique() == 3
    assert load_history(tmp_path / "ds").trend["cluster"].nunique() == 3


def test_diff_output_escapes_cluster_data_like_every_command() -> None:
    old = load_snapshot({"JobsWithoutVaultIdentity": [{"Namespace": "ns", "ID": "web\x1b[2J\r## CLEAR `x`"}]})
    diff = diff_snapshots(old, load_snapshot({"JobsWithoutVaultIdentity": []}))
    text, markdown = diff.to_text(), diff.to_markdown()
    assert "\x1b" not in text and "web\\x1b[2J\\r## CLEAR `x`" in text
    assert "\x1b" not in markdown and "\r" not in markdown and "CLEAR \\`x\\`" in markdown


def test_no_projection_from_snapshots_less_than_a_day_apart() -> None:
    """Copied files share a modification time: a rate 'per day' from microseconds apart is noise, not a date."""
    trend = pd.DataFrame(
        {
            "cluster": "c",
            "region": "r",
            "blocking": [3, 1],
            "captured_at": pd.to_datetime(["2026-12-03T19:13:49.999500Z", "2026-12-03T19:13:49.999900Z"], utc=True),
        }
    )
    assert project_finish(trend, "c", "r") is None


def test_diff_says_which_snapshot_does_not_report_tokens() -> None:
    old = load_snapshot(FIXTURES / "docs-example.json")  # 1.7.3-1.9: one token
    new = load_snapshot(FIXTURES / "empty-cluster.json")  # 1.10+: VaultTokens null
    # Without capture times the Nomad Index orders them: empty-cluster (Index 18) is the older one here.
    assert "not reported by the older snapshot (Nomad 1.10+)" in diff_snapshots(old, new).to_text()
