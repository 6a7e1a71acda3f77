"""Risk analysis: each rule on small hand-made snapshots, and the shared samples with hand-computed values."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from analysis import analyse, load_snapshot, summarize
from analysis.risk import BLIND_SPOTS, glob_match

FIXTURES = Path(__file__).parent / "fixtures"


def job(
    jid: str,
    *,
    ns: str = "default",
    parent: str = "",
    status: str = "running",
    stop: bool = False,
    periodic: bool = False,
    parameterized: bool = False,
    dcs: list[str] | None = None,
    type_: str = "service",
    pool: str = "default",
) -> dict[str, Any]:
    return {
        "ID": jid,
        "ParentID": parent,
        "Name": jid,
        "Namespace": ns,
        "Datacenters": dcs or ["*"],
        "NodePool": pool,
        "Type": type_,
        "Priority": 50,
        "Periodic": periodic,
        "ParameterizedJob": parameterized,
        "Stop": stop,
        "Status": status,
        "StatusDescription": "",
        "CreateIndex": 1,
        "ModifyIndex": 2,
        "JobModifyIndex": 2,
        "SubmitTime": 1_700_000_000_000_000_001,
    }


def node(
    nid: str,
    *,
    version: str = "1.6.4",
    status: str = "ready",
    dc: str = "dc1",
    pool: str = "default",
    drain: bool = False,
    eligibility: str = "eligible",
    drivers: dict | None = None,
) -> dict[str, Any]:
    return {
        "ID": nid,
        "Name": f"n-{nid}",
        "Address": "10.0.0.1",
        "Datacenter": dc,
        "NodePool": pool,
        "NodeClass": "",
        "Version": version,
        "Drain": drain,
        "SchedulingEligibility": eligibility,
        "Status": status,
        "StatusDescription": "",
        "Drivers": drivers or {},
        "HostVolumes": None,
        "LastDrain": None,
        "CreateIndex": 1,
        "ModifyIndex": 2,
    }


def token(accessor: str, node_id: str) -> dict[str, Any]:
    return {
        "Accessor": accessor,
        "AllocID": f"alloc-{accessor}",
        "NodeID": node_id,
        "Task": "t",
        "CreationTTL": 60,
        "CreateIndex": 3,
    }


def snap(jobs=(), nodes=(), tokens: Any = (), **kw):
    body = {
        "JobsWithoutVaultIdentity": list(jobs),
        "OutdatedNodes": list(nodes),
        "VaultTokens": None if tokens is None else list(tokens),
        "Index": 10,
    }
    return load_snapshot(body, **kw)


# -- the shared samples -----------------------------------------------------------------------------------------


def test_edge_cases_summary_hand_computed() -> None:
    s = summarize(load_snapshot(FIXTURES / "edge-cases.json"))
    assert s["verdict"] == "not-ready"
    assert s["counts"] == {
        "jobs": 9,
        "jobs_active": 7,
        "jobs_inactive": 2,
        "children": 2,
        "children_active": 1,
        "specs": 7,
        "specs_to_resubmit": 6,
        "namespaces": 3,
        "nodes": 5,
        "nodes_live": 4,
        "nodes_down": 1,
        "nodes_draining": 1,
        "nodes_ineligible": 2,
        "nodes_unparseable_version": 1,
        "tokens_reported": True,
        "tokens": 3,
        "tokens_on_outdated_nodes": 2,
    }
    plan = [(p["action"], p.get("spec_id") or p.get("datacenter")) for p in s["plan"]]
    assert plan == [
        ("resubmit", "api-gateway"),
        ("resubmit", "nightly-backup"),
        ("resubmit", "node-exporter"),
        ("resubmit", "render-report"),
        ("resubmit", "vault-agent-sync"),
        ("resubmit", "etl"),
        ("upgrade-nodes", "dc1"),
        ("upgrade-nodes", "dc1"),
        ("upgrade-nodes", "dc2"),
        ("upgrade-nodes", "edge-dc1"),
        ("cleanup-jobs", "legacy-billing"),
        ("cleanup-nodes", "dc2"),
        ("tokens", None),
    ]
    assert [p["step"] for p in s["plan"]] == list(range(1, 14))
    upgrade = [p for p in s["plan"] if p["action"] == "upgrade-nodes"]
    # dc1/default holds the empty-version node (unparseable sorts first) and the 1.6.4 node.
    assert [(p["datacenter"], p["node_pool"], p["version"], p["nodes"]) for p in upgrade] == [
        ("dc1", "default", "", 1),
        ("dc1", "default", "1.6.4", 1),
        ("dc2", "ci", "1.6.2-dev", 1),
        ("edge-dc1", "edge", "1.6.10", 1),
    ]
    assert upgrade[1]["node_ids"] == ["0b6f3c1e-2a4d-9f87-5c1b-7e0d4a9b2c31"]  # full IDs, never cut
    by_version = [(r["version"], r["parseable"], r["live"], r["down"]) for r in s["groupings"]["by_version"]]
    assert by_version == [
        ("", False, 1, 0),
        ("1.5.3+ent", True, 0, 1),
        ("1.6.2-dev", True, 1, 0),
        ("1.6.4", True, 1, 0),
        ("1.6.10", True, 1, 0),
    ]
    pools = {r["node_pool"]: (r["nodes"], r["live"], r["down"]) for r in s["groupings"]["by_node_pool"]}
    assert pools == {"default": (3, 2, 1), "edge": (1, 1, 0), "ci": (1, 1, 0)}
    json.dumps(s)  # serialisable as is


def test_docs_example_and_cli_json() -> None:
    s = summarize(load_snapshot(FIXTURES / "docs-example.json"))
    assert s["verdict"] == "not-ready"
    assert (s["counts"]["specs_to_resubmit"], s["counts"]["nodes_live"], s["counts"]["tokens_on_outdated_nodes"]) == (
        1,
        1,
        1,
    )
    cli = summarize(load_snapshot(FIXTURES / "cli-json-1.9.json"))
    # payments is running; the dispatched child is dead and its parent `reindex` is not listed.
    assert [(p["action"], p.get("spec_id")) for p in cli["specs"]] == [("resubmit", "payments"), ("cleanup", "reindex")]
    assert cli["counts"]["children"] == 1 and cli["counts"]["jobs_inactive"] == 1


def test_empty_cluster_is_clear_with_blind_spots_and_tokens_not_reported() -> None:
    s = summarize(load_snapshot(FIXTURES / "empty-cluster.json"))
    assert s["verdict"] == "clear"
    assert s["counts"]["tokens"] is None and s["counts"]["tokens_reported"] is False
    assert [b["id"] for b in s["blind_spots"]] == [b["id"] for b in BLIND_SPOTS]
    assert [p["action"] for p in s["plan"]] == ["tokens"]
    assert "not reported" in s["plan"][0]["title"]
    assert all(rows == [] for rows in s["groupings"].values())


def test_empty_groupings_keep_their_columns() -> None:
    a = analyse(load_snapshot(FIXTURES / "empty-cluster.json"))
    full = analyse(load_snapshot(FIXTURES / "edge-cases.json"))
    for name in ("by_namespace", "by_datacenter", "by_version", "by_node_pool", "by_node_status", "by_driver", "specs"):
        empty, filled = getattr(a, name)(), getattr(full, name)()
        assert len(empty) == 0
        assert list(empty.columns) == list(filled.columns), name


# -- jobs -------------------------------------------------------------------------------------------------------


def test_periodic_children_collapse_into_their_parent_spec() -> None:
    s = snap(
        jobs=[
            job("backup", periodic=True, type_="batch"),
            job("backup/periodic-1700000000", parent="backup", status="dead", type_="batch"),
            job("backup/periodic-1700003600", parent="backup", status="dead", type_="batch"),
            job("backup/periodic-1700007200", parent="backup", status="running", type_="batch"),
        ]
    )
    a = analyse(s)
    assert list(a.jobs["kind"]) == ["periodic-parent", "periodic-child", "periodic-child", "periodic-child"]
    assert set(a.jobs["spec_id"]) == {"backup"}
    spec = a.specs().iloc[0]
    assert (
        spec["spec_id"],
        spec["instances"],
        spec["children"],
        spec["active"],
        spec["active_children"],
        spec["action"],
    ) == ("backup", 4, 3, 2, 1, "resubmit")
    plan = a.action_plan()
    assert [p["action"] for p in plan] == ["resubmit"]  # one step for the whole spec; 0 tokens need none
    assert "3 listed child(ren)" in plan[0]["detail"]


def test_dispatched_children_of_a_fixed_parent() -> None:
    running = snap(jobs=[job("render/dispatch-1700000000-3f2a9c1e", parent="render", type_="batch")])
    assert analyse(running).specs().loc[0, "action"] == "wait-or-stop-children"
    assert analyse(running).verdict == "not-ready"
    assert analyse(running).jobs.loc[0, "kind"] == "dispatched-child"
    done = snap(jobs=[job("render/dispatch-1700000000-3f2a9c1e", parent="render", status="dead")])
    assert analyse(done).specs().loc[0, "action"] == "cleanup"
    assert analyse(done).verdict == "cleanup-only"


def test_parameterized_parent_and_odd_child_ids() -> None:
    a = analyse(snap(jobs=[job("render", parameterized=True), job("render/custom-1", parent="render")]))
    assert list(a.jobs["kind"]) == ["parameterized-parent", "child"]


@pytest.mark.parametrize(
    ("status", "stop", "state"),
    [
        ("running", False, "active"),
        ("pending", False, "active"),
        ("dead", False, "inactive"),
        ("running", True, "inactive"),
        ("pending", True, "inactive"),
        ("blocked-someday", False, "active"),
    ],
)
def test_job_state(status: str, stop: bool, state: str) -> None:
    a = analyse(snap(jobs=[job("x", status=status, stop=stop)]))
    assert a.jobs.loc[0, "state"] == state
    assert a.verdict == ("not-ready" if state == "active" else "cleanup-only")


def test_by_namespace_counts() -> None:
    a = analyse(
        snap(
            jobs=[
                job("a", ns="alpha"),
                job("b", ns="alpha", stop=True, status="dead"),
                job("p", ns="beta", periodic=True),
                job("p/periodic-1", ns="beta", parent="p", status="dead"),
                job("q", ns="beta"),
            ]
        )
    )
    rows = a.by_namespace().drop(columns=["cluster", "region"]).to_dict(orient="records")
    assert rows == [
        {"namespace": "beta", "jobs": 3, "active": 2, "inactive": 1, "specs": 2, "specs_to_resubmit": 2, "children": 1},
        {
            "namespace": "alpha",
            "jobs": 2,
            "active": 1,
            "inactive": 1,
            "specs": 2,
            "specs_to_resubmit": 1,
            "children": 0,
        },
    ]


# -- nodes ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "verdict"),
    [("ready", "not-ready"), ("initializing", "not-ready"), ("disconnected", "not-ready"), ("down", "cleanup-only")],
)
def test_node_liveness(status: str, verdict: str) -> None:
    a = analyse(snap(nodes=[node("a", status=status)]))
    assert a.verdict == verdict
    assert a.nodes.loc[0, "liveness"] == ("down" if status == "down" else "live")


def test_version_grouping_uses_nomads_order_not_string_order() -> None:
    a = analyse(
        snap(
            nodes=[
                node("1", version="1.6.10"),
                node("2", version="1.6.9"),
                node("3", version="1.6.9"),
                node("4", version="unknown"),
                node("5", version=""),
                node("6", version="1.5.3+ent", status="down"),
                node("7", version="1.7.0-1"),
                node("8", version=" 1.6.4"),
            ]
        )
    )
    rows = a.by_version()[["version", "parseable", "nodes"]].values.tolist()
    # Unparseable first (raw string order: "", " 1.6.4", "unknown"), then 1.5.3+ent < 1.6.9 < 1.6.10 < 1.7.0-1.
    assert rows == [
        ["", False, 1],
        [" 1.6.4", False, 1],
        ["unknown", False, 1],
        ["1.5.3+ent", True, 1],
        ["1.6.9", True, 2],
        ["1.6.10", True, 1],
        ["1.7.0-1", True, 1],
    ]
    assert int(analyse(snap(nodes=[node("x", version="1.6.4")])).nodes["version_outdated"].sum()) == 1


def test_node_flags_and_status_grouping() -> None:
    a = analyse(
        snap(
            nodes=[
                node("a", drain=True, eligibility="ineligible"),
                node("b", eligibility="ineligible"),
                node("c", status="down"),
                node("d", status="disconnected"),
            ]
        )
    )
    assert a.nodes["draining"].tolist() == [True, False, False, False]
    assert a.nodes["ineligible"].tolist() == [True, True, False, False]
    status = a.by_node_status()[["status", "blocking", "nodes", "draining", "ineligible"]].values.tolist()
    assert status == [["ready", True, 2, 1, 2], ["disconnected", True, 1, 0, 0], ["down", False, 1, 0, 0]]


def test_by_driver_counts_detected_and_healthy_on_live_nodes() -> None:
    healthy = {"Detected": True, "Healthy": True, "HealthDescription": "Healthy", "UpdateTime": None, "Attributes": {}}
    sick = {"Detected": True, "Healthy": False, "HealthDescription": "Failed", "UpdateTime": None, "Attributes": {}}
    absent = {"Detected": False, "Healthy": False, "HealthDescription": "", "UpdateTime": None, "Attributes": {}}
    a = analyse(
        snap(
            nodes=[
                node("a", drivers={"docker": healthy, "exec": absent}),
                node("b", drivers={"docker": sick}),
                node("c", status="down", drivers={"docker": healthy, "exec": healthy}),
            ]
        )
    )
    rows = {
        r["driver"]: (r["nodes"], r["detected"], r["healthy"], r["live_healthy"])
        for r in a.by_driver().to_dict(orient="records")
    }
    assert rows == {"docker": (3, 3, 2, 1), "exec": (2, 1, 1, 0)}


# -- datacenters ------------------------------------------------------------------------------------------------


def test_glob_semantics_are_go_globs_not_fnmatch() -> None:
    assert glob_match("*", "anything") and glob_match("*", "")
    assert glob_match("dc*", "dc1") and glob_match("dc*", "dc") and not glob_match("dc*", "us-dc1")
    assert not glob_match("dc?", "dc1") and glob_match("dc?", "dc?")
    assert not glob_match("dc[12]", "dc1") and glob_match("dc[12]", "dc[12]")
    assert not glob_match("DC1", "dc1")
    assert glob_match("us-*-1*", "us-east-1a") and not glob_match("us-*-1*", "eu-east-1a")
    assert glob_match("*-1a", "us-east-1a") and not glob_match("*-1a", "us-east-1b")
    assert not glob_match("", "dc1") and glob_match("", "")
    # go-glob quirk: the last part is not checked when nothing is left of the name.
    assert glob_match("ab*b", "ab") and not glob_match("ab*bc", "ab")


def test_datacenter_patterns_resolved_and_unresolved() -> None:
    a = analyse(
        snap(
            jobs=[
                job("all", dcs=["*"]),
                job("dcs", dcs=["dc*"]),
                job("lit", dcs=["dc2", "nowhere"]),
                job("old", dcs=["dc1"], stop=True, status="dead"),
                job("q", dcs=["dc?"]),
            ],
            nodes=[node("a", dc="dc1"), node("b", dc="dc1", status="down"), node("c", dc="edge")],
            tokens=[token("t1", "a"), token("t2", "c"), token("t3", "gone")],
        ),
        datacenters=["dc2"],
    )
    rows = {
        r["datacenter"]: (
            r["resolved"],
            r["active_jobs"],
            r["inactive_jobs"],
            r["live_nodes"],
            r["down_nodes"],
            r["tokens"],
        )
        for r in a.by_datacenter().to_dict(orient="records")
    }
    assert rows == {
        "dc1": (True, 2, 1, 1, 1, 1),  # * and dc*; the stopped job is inactive
        "dc2": (True, 3, 0, 0, 0, 0),  # known only from the caller's list: *, dc*, dc2
        "edge": (True, 1, 0, 1, 0, 1),  # only *
        "nowhere": (False, 1, 0, 0, 0, 0),  # never silently dropped
        "dc?": (False, 1, 0, 0, 0, 0),  # ? is literal in Nomad's glob
    }
    order = a.by_datacenter()["datacenter"].tolist()
    assert order == ["dc1", "dc2", "edge", "dc?", "nowhere"]  # resolved first, then unresolved, byte order


# -- tokens -----------------------------------------------------------------------------------------------------


def test_tokens_only_is_cleanup_and_joined_to_nodes() -> None:
    a = analyse(snap(tokens=[token("t1", "x")]))
    assert a.verdict == "cleanup-only"
    assert not a.tokens.loc[0, "node_outdated"] and not a.tokens.loc[0, "node_known"]
    s = summarize(a)
    assert s["counts"]["tokens"] == 1 and s["counts"]["tokens_on_outdated_nodes"] == 0
    step = s["plan"][-1]
    assert step["action"] == "tokens" and "60 s CreationTTL" in step["detail"] and "wrap TTL" in step["detail"]


def test_tokens_not_reported_is_never_zero() -> None:
    s = summarize(snap(tokens=None))
    assert s["verdict"] == "clear" and s["counts"]["tokens"] is None
    assert summarize(snap(tokens=[]))["counts"]["tokens"] == 0


# -- several snapshots ------------------------------------------------------------------------------------------


def test_regions_analyse_together_and_stay_apart() -> None:
    eu = snap(jobs=[job("a")], nodes=[node("n1", dc="dc1")], cluster="prod", region="eu")
    us = snap(
        jobs=[job("a", stop=True, status="dead")],
        nodes=[node("n2", dc="dc1", status="down")],
        cluster="prod",
        region="us",
    )
    a = analyse([eu, us])
    assert a.verdict == "not-ready"  # the worst of the two
    rows = a.by_namespace()[["region", "active", "inactive"]].values.tolist()
    assert rows == [["eu", 1, 0], ["us", 0, 1]]
    dcs = a.by_datacenter()[["region", "datacenter", "active_jobs", "inactive_jobs", "live_nodes", "down_nodes"]]
    assert dcs.values.tolist() == [["eu", "dc1", 1, 0, 1, 0], ["us", "dc1", 0, 1, 0, 1]]
    plan = a.action_plan()
    assert [(p["action"], p["region"]) for p in plan] == [
        ("resubmit", "eu"),
        ("upgrade-nodes", "eu"),
        ("cleanup-jobs", "us"),
        ("cleanup-nodes", "us"),
    ]
    s = summarize([eu, us])
    assert [p["region"] for p in s["snapshots"]] == ["eu", "us"]
    assert analyse([us]).verdict == "cleanup-only"


def test_analysis_does_not_mutate_the_snapshot_frames() -> None:
    s = load_snapshot(FIXTURES / "edge-cases.json")
    before = {name: frame.copy() for name, frame in s.tables.items() if name != "meta"}
    summarize(s)
    for name, frame in before.items():
        assert list(getattr(s, name).columns) == list(frame.columns)


def test_unlabelled_snapshots_stay_apart_and_duplicates_are_refused(tmp_path: Path) -> None:
    from analysis import SnapshotMismatchError

    a = analyse([load_snapshot(FIXTURES / "edge-cases.json"), load_snapshot(FIXTURES / "docs-example.json")])
    # Both lack a cluster name: their file names keep them apart instead of merging their 1.6.4 nodes.
    assert sorted(a.by_version()[a.by_version()["version"] == "1.6.4"]["cluster"]) == [
        "docs-example.json",
        "edge-cases.json",
    ]
    with pytest.raises(SnapshotMismatchError, match="is the same capture as"):
        analyse([load_snapshot(FIXTURES / "edge-cases.json"), load_snapshot(FIXTURES / "edge-cases.json")])
    # The same capture under two file names (a copy): refused rather than counted twice.
    copy = (FIXTURES / "cli-json-1.9.json").read_bytes()
    with pytest.raises(SnapshotMismatchError, match="<bytes>: is the same capture as <bytes>"):
        analyse([load_snapshot(copy), load_snapshot(copy)])
    eu_monday = snap(jobs=[job("a")], cluster="prod", region="eu")
    eu_tuesday = snap(cluster="prod", region="eu")
    with pytest.raises(SnapshotMismatchError, match="two snapshots of cluster 'prod', region 'eu'"):
        analyse([eu_monday, eu_tuesday])


def test_tokens_join_when_a_node_is_listed_twice() -> None:
    # Two regions list the same node ID: the join must not fail or duplicate tokens.
    eu = snap(nodes=[node("n1")], tokens=[token("t1", "n1")], cluster="c", region="eu")
    us = snap(nodes=[node("n1")], tokens=[token("t2", "n1")], cluster="c", region="us")
    tokens = analyse([eu, us]).tokens
    assert len(tokens) == 2 and tokens["node_outdated"].tolist() == [True, True]


def test_a_job_without_type_or_pool_still_gets_a_plan_step() -> None:
    bare = {"ID": "mystery", "Namespace": "default", "Status": "running"}  # hand-made: most keys absent
    plan = analyse(snap(jobs=[bare])).action_plan()
    assert [(p["action"], p["title"]) for p in plan] == [("resubmit", "Resubmit job `mystery` in namespace `default`")]
    assert plan[0]["type"] is None and plan[0]["datacenters"] == []
