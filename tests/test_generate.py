"""Tests of the deterministic snapshot generator (`analysis.generate`)."""

from __future__ import annotations

import gzip
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson
import pytest

from analysis.generate import generate_body, generate_bytes, main, write_snapshot_file
from analysis.versions import is_outdated

FIXTURES = Path(__file__).parent / "fixtures"
ROOT = Path(__file__).resolve().parent.parent

TOP_KEYS = [
    "JobsWithoutVaultIdentity",
    "OutdatedNodes",
    "VaultTokens",
    "Index",
    "LastContact",
    "KnownLeader",
    "NextToken",
]
UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
ACCESSOR_RE = re.compile(r"[A-Za-z0-9]{24}")
PERIODIC_RE = re.compile(r"(?P<parent>.+)/periodic-(?P<unix>[0-9]+)")
DISPATCH_RE = re.compile(r"(?P<parent>.+)/dispatch-(?:[a-z]+-)?(?P<unix>[0-9]+)-[0-9a-f]{8}")
RFC3339NANO_RE = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d*[1-9])?(Z|[+-]\d\d:\d\d)")


@pytest.fixture(scope="module")
def body() -> dict[str, Any]:
    return generate_body(600, 150, 500, seed=11)


def _key_orders(sample: dict[str, Any]) -> dict[str, list[str]]:
    """The release-build key orders, read from edge-cases.json (Go source order)."""
    job = sample["JobsWithoutVaultIdentity"][0]
    node = sample["OutdatedNodes"][0]
    drained = next(n for n in sample["OutdatedNodes"] if n["LastDrain"])
    multiregion = next(j for j in sample["JobsWithoutVaultIdentity"] if j["Multiregion"])["Multiregion"]
    return {
        "top": list(sample),
        "job": list(job),
        "node": list(node),
        "driver": list(next(iter(node["Drivers"].values()))),
        "volume": list(next(iter(node["HostVolumes"].values()))),
        "drain": list(drained["LastDrain"]),
        "token": list(sample["VaultTokens"][0]),
        "multiregion": list(multiregion),
        "strategy": list(multiregion["Strategy"]),
        "region": list(multiregion["Regions"][0]),
    }


def test_same_seed_gives_identical_bytes() -> None:
    assert generate_bytes(300, 80, 200, seed=5) == generate_bytes(300, 80, 200, seed=5)
    assert generate_bytes(300, 80, 200, seed=5, post_1_10=True) == generate_bytes(300, 80, 200, seed=5, post_1_10=True)


def test_different_seed_gives_different_bytes() -> None:
    assert generate_bytes(300, 80, 200, seed=5) != generate_bytes(300, 80, 200, seed=6)


def test_determinism_across_processes() -> None:
    # String hashing is randomised per process; the output must not depend on it.
    code = (
        "import sys; from analysis.generate import generate_bytes; sys.stdout.buffer.write(generate_bytes(80, 20, 40))"
    )
    runs = [
        subprocess.run(
            [sys.executable, "-c", code],
            cwd=ROOT,
            env={"PYTHONHASHSEED": str(hash_seed), "PATH": ""},
            capture_output=True,
            check=True,
        ).stdout
        for hash_seed in (1, 2)
    ]
    assert runs[0] == runs[1] == generate_bytes(80, 20, 40)


@pytest.mark.parametrize(("jobs", "nodes", "tokens"), [(0, 0, 0), (1, 1, 1), (2, 0, 7), (137, 41, 233)])
def test_counts(jobs: int, nodes: int, tokens: int) -> None:
    body = generate_body(jobs, nodes, tokens, seed=3)
    assert len(body["JobsWithoutVaultIdentity"]) == jobs
    assert len(body["OutdatedNodes"]) == nodes
    assert len(body["VaultTokens"]) == tokens


def test_negative_count_is_refused() -> None:
    with pytest.raises(ValueError, match="counts must be"):
        generate_body(-1, 0, 0)


def test_post_1_10_has_null_tokens_and_same_jobs_and_nodes() -> None:
    old = generate_body(120, 30, 50, seed=2)
    new = generate_body(120, 30, 50, seed=2, post_1_10=True)
    assert new["VaultTokens"] is None
    assert b'"VaultTokens":null' in generate_bytes(5, 2, 9, post_1_10=True)
    assert new["JobsWithoutVaultIdentity"] == old["JobsWithoutVaultIdentity"]
    assert new["OutdatedNodes"] == old["OutdatedNodes"]


def test_release_key_order(body: dict[str, Any]) -> None:
    orders = _key_orders(json.loads((FIXTURES / "edge-cases.json").read_text()))
    assert list(body) == TOP_KEYS == orders["top"]
    for job in body["JobsWithoutVaultIdentity"]:
        assert list(job) == orders["job"]
        if job["Multiregion"] is not None:
            assert list(job["Multiregion"]) == orders["multiregion"]
            assert list(job["Multiregion"]["Strategy"]) == orders["strategy"]
            assert all(list(region) == orders["region"] for region in job["Multiregion"]["Regions"])
    for node in body["OutdatedNodes"]:
        assert list(node) == orders["node"]
        assert all(list(driver) == orders["driver"] for driver in node["Drivers"].values())
        assert all(list(volume) == orders["volume"] for volume in (node["HostVolumes"] or {}).values())
        if node["LastDrain"] is not None:
            assert list(node["LastDrain"]) == orders["drain"]
    assert all(list(token) == orders["token"] for token in body["VaultTokens"])


def test_omitempty_keys_present_as_null(body: dict[str, Any]) -> None:
    assert all(job["Meta"] is None and job["JobSummary"] is None for job in body["JobsWithoutVaultIdentity"])
    for node in body["OutdatedNodes"]:
        assert node["Attributes"] is None
        assert node["NodeResources"] is None
        assert node["ReservedResources"] is None


def test_top_level_scalars(body: dict[str, Any]) -> None:
    assert body["LastContact"] == 0
    assert body["KnownLeader"] is True
    assert body["NextToken"] == ""
    indexes = [j[k] for j in body["JobsWithoutVaultIdentity"] for k in ("CreateIndex", "ModifyIndex")]
    indexes += [n[k] for n in body["OutdatedNodes"] for k in ("CreateIndex", "ModifyIndex")]
    indexes += [t["CreateIndex"] for t in body["VaultTokens"]]
    assert body["Index"] > max(indexes)


def test_jobs_sorted_by_namespace_then_id_bytewise(body: dict[str, Any]) -> None:
    keys = [(j["Namespace"].encode(), j["ID"].encode()) for j in body["JobsWithoutVaultIdentity"]]
    assert keys == sorted(keys)
    assert len(set(keys)) == len(keys)


def test_nodes_sorted_by_id(body: dict[str, Any]) -> None:
    ids = [n["ID"] for n in body["OutdatedNodes"]]
    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)
    assert all(UUID_RE.fullmatch(node_id) for node_id in ids)


def test_tokens_sorted_by_accessor_bytewise(body: dict[str, Any]) -> None:
    accessors = [t["Accessor"].encode() for t in body["VaultTokens"]]
    assert accessors == sorted(accessors)
    assert len(set(accessors)) == len(accessors)


def test_every_node_version_is_outdated() -> None:
    body = generate_body(10, 2000, 0, seed=4)
    versions = {node["Version"] for node in body["OutdatedNodes"]}
    assert all(is_outdated(version) for version in versions), sorted(v for v in versions if not is_outdated(v))
    # The tricky ones appear at this size: metadata, -dev, numeric and uppercase pre-releases, unparseable.
    assert {"1.5.3+ent", "1.6.4+ent", "1.6.2-dev", "1.7.0-1", "1.7.0-Beta1", "1.6.10", ""} <= versions


def test_submit_time_is_a_big_int_with_nonzero_last_digit(body: dict[str, Any]) -> None:
    for job in body["JobsWithoutVaultIdentity"]:
        submit = job["SubmitTime"]
        assert type(submit) is int
        assert submit > 2**53
        assert submit % 10 != 0
        assert 1_704_067_200 * 10**9 <= submit < 1_767_225_600 * 10**9  # within 2024-2025


def test_submit_time_survives_json_exactly() -> None:
    data = generate_bytes(50, 0, 0, seed=1)
    parsed = orjson.loads(data)
    assert [j["SubmitTime"] for j in parsed["JobsWithoutVaultIdentity"]] == [
        int(m) for m in re.findall(rb'"SubmitTime":(\d+)', data)
    ]


def test_indexes_are_ordered(body: dict[str, Any]) -> None:
    for job in body["JobsWithoutVaultIdentity"]:
        assert job["CreateIndex"] <= job["JobModifyIndex"] <= job["ModifyIndex"] <= body["Index"]
    for node in body["OutdatedNodes"]:
        assert node["CreateIndex"] <= node["ModifyIndex"] <= body["Index"]


def test_children_refer_to_listed_parents(body: dict[str, Any]) -> None:
    jobs = body["JobsWithoutVaultIdentity"]
    by_key = {(j["Namespace"], j["ID"]): j for j in jobs}
    children = [j for j in jobs if j["ParentID"]]
    assert any("/periodic-" in j["ID"] for j in children)
    assert any("/dispatch-" in j["ID"] for j in children)
    for child in children:
        parent = by_key[(child["Namespace"], child["ParentID"])]
        assert parent["ParentID"] == ""
        assert child["Name"] == child["ID"]
        assert child["Periodic"] is False and child["ParameterizedJob"] is False
        match = PERIODIC_RE.fullmatch(child["ID"]) or DISPATCH_RE.fullmatch(child["ID"])
        assert match is not None, child["ID"]
        assert match["parent"] == child["ParentID"]
        assert parent["Periodic"] if "/periodic-" in child["ID"] else parent["ParameterizedJob"]
        assert child["SubmitTime"] // 10**9 == int(match["unix"])
        assert child["CreateIndex"] >= parent["CreateIndex"]
    parents = {(j["Namespace"], j["ID"]) for j in jobs if j["Periodic"] or j["ParameterizedJob"]}
    assert all(key in by_key and by_key[key]["ParentID"] == "" for key in parents)


def test_jobs_have_variety(body: dict[str, Any]) -> None:
    jobs = body["JobsWithoutVaultIdentity"]
    namespaces = {j["Namespace"] for j in jobs}
    assert {"default", "platform", "team-a", "team-b"} <= namespaces
    assert len(namespaces) >= 9
    assert {j["Type"] for j in jobs} == {"service", "batch", "system", "sysbatch"}
    assert {j["Status"] for j in jobs} == {"running", "pending", "dead"}
    assert any(j["Stop"] for j in jobs)
    assert any(j["NodePool"] == "all" and j["Type"] in ("system", "sysbatch") for j in jobs)
    patterns = {tuple(j["Datacenters"]) for j in jobs}
    assert {("*",), ("dc*",), ("us-east-*", "eu-west-1"), ("ap-south-1",)} <= patterns
    assert len({j["Priority"] for j in jobs}) >= 4


def test_multiregion_jobs_appear() -> None:
    jobs = generate_body(3000, 0, 0, seed=0)["JobsWithoutVaultIdentity"]
    multiregion = [j for j in jobs if j["Multiregion"] is not None]
    assert 0 < len(multiregion) < len(jobs) // 50
    for job in multiregion:
        assert job["Multiregion"]["Regions"] and job["Multiregion"]["Strategy"]["MaxParallel"] >= 1


def test_nodes_look_like_clients(body: dict[str, Any]) -> None:
    nodes = body["OutdatedNodes"]
    assert {"ready", "down"} <= {n["Status"] for n in nodes}
    assert sum(n["Status"] == "ready" for n in nodes) > len(nodes) // 2
    for node in nodes:
        assert 5 <= len(node["Drivers"]) <= 8
        if node["Drain"]:
            assert node["SchedulingEligibility"] == "ineligible"
            assert node["LastDrain"]["Status"] == "draining"
        if node["LastDrain"] is not None:
            assert node["LastDrain"]["Status"] in ("draining", "complete", "canceled")
        assert ":" not in node["Address"] or "[" not in node["Address"]
        for name, driver in node["Drivers"].items():
            if driver["UpdateTime"] is not None:
                assert RFC3339NANO_RE.fullmatch(driver["UpdateTime"]), driver["UpdateTime"]
            if not driver["Detected"]:
                assert driver["Attributes"] == {} and driver["Healthy"] is False
            else:
                assert all(key.startswith("driver.") for key in driver["Attributes"]), name
        for volume_name, volume in (node["HostVolumes"] or {}).items():
            assert volume["Name"] == volume_name


def test_nodes_have_edge_cases() -> None:
    nodes = generate_body(0, 3000, 0, seed=9)["OutdatedNodes"]
    assert {"ready", "down", "disconnected", "initializing"} == {n["Status"] for n in nodes}
    assert any(n["Drain"] for n in nodes)
    assert any(not n["Drain"] and n["SchedulingEligibility"] == "ineligible" for n in nodes)
    assert any(n["Address"] == "" for n in nodes)
    assert any(":" in n["Address"] for n in nodes)
    assert any(n["NodeClass"] == "" for n in nodes) and any(n["NodeClass"] for n in nodes)
    assert any(n["HostVolumes"] is None for n in nodes) and any(n["HostVolumes"] for n in nodes)
    offsets = {d["UpdateTime"][-6:] for n in nodes for d in n["Drivers"].values() if d["UpdateTime"]}
    assert {"-05:00", "+05:30", "+02:00"} <= offsets
    assert any(t.endswith("Z") for t in offsets)
    attributes = {k for n in nodes for d in n["Drivers"].values() for k in d["Attributes"]}
    assert {"driver.docker.version", "driver.docker.bridge_ip", "driver.docker.runtimes"} <= attributes
    assert "driver.podman.rootless" in attributes


def test_tokens(body: dict[str, Any]) -> None:
    tokens = body["VaultTokens"]
    listed = {n["ID"] for n in body["OutdatedNodes"]}
    on_listed = sum(t["NodeID"] in listed for t in tokens)
    assert len(tokens) // 2 < on_listed < len(tokens)  # mostly on outdated nodes, some elsewhere
    for token in tokens:
        assert ACCESSOR_RE.fullmatch(token["Accessor"])
        assert UUID_RE.fullmatch(token["AllocID"]) and UUID_RE.fullmatch(token["NodeID"])
        assert token["CreationTTL"] == 60
        assert token["Task"]


def test_tokens_without_nodes() -> None:
    tokens = generate_body(0, 0, 20, seed=1)["VaultTokens"]
    assert len(tokens) == 20 and all(UUID_RE.fullmatch(t["NodeID"]) for t in tokens)


def test_write_snapshot_file_plain_and_gzip(tmp_path: Path) -> None:
    expected = generate_bytes(40, 10, 30, seed=8)
    plain = tmp_path / "snap.json"
    assert write_snapshot_file(plain, 40, 10, 30, seed=8) == len(expected)
    assert plain.read_bytes() == expected
    packed = tmp_path / "sub" / "snap.json.gz"
    write_snapshot_file(packed, 40, 10, 30, seed=8)
    assert gzip.decompress(packed.read_bytes()) == expected
    first = packed.read_bytes()
    write_snapshot_file(packed, 40, 10, 30, seed=8)
    assert packed.read_bytes() == first  # gzip header without a timestamp
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["snap.json", "snap.json.gz", "sub"]


def test_command_line(tmp_path: Path) -> None:
    target = tmp_path / "cli.json"
    assert main(["--jobs", "12", "--nodes", "4", "--tokens", "6", "--seed", "2", "-o", str(target)]) == 0
    assert target.read_bytes() == generate_bytes(12, 4, 6, seed=2)


def test_command_line_as_module(tmp_path: Path) -> None:
    target = tmp_path / "cli.json.gz"
    subprocess.run(
        [sys.executable, "-m", "analysis.generate", "--jobs", "5", "--nodes", "2", "--tokens", "3", "-o", str(target)],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    assert gzip.decompress(target.read_bytes()) == generate_bytes(5, 2, 3)


def test_loads_with_the_snapshot_loader() -> None:
    snapshot_module = pytest.importorskip("analysis.snapshot")
    snap = snapshot_module.load_snapshot(generate_bytes(200, 50, 120, seed=4))
    assert (len(snap.jobs), len(snap.nodes), len(snap.tokens)) == (200, 50, 120)
    assert len(snap.node_drivers) == sum(
        len(n["Drivers"]) for n in generate_body(200, 50, 120, seed=4)["OutdatedNodes"]
    )


def test_bundled_demo_snapshot_is_the_generators_output(tmp_path: Path) -> None:
    """data/demo-snapshot.json.gz is regenerated by `python -m analysis.generate --demo -o ...`, byte for byte."""
    from analysis import config, load_snapshot
    from analysis.generate import write_demo_snapshot

    fresh = write_demo_snapshot(tmp_path / "demo.json.gz")
    assert fresh.read_bytes() == (config.DATA_DIR / "demo-snapshot.json.gz").read_bytes()
    snap = load_snapshot(fresh)
    assert (snap.cluster, snap.region, snap.info.nomad_version) == ("demo", "global", "1.9.7")
    assert snap.all_nodes is not None and len(snap.all_nodes) == 90 + 210
    assert snap.allocations is not None and len(snap.allocations) == snap.tokens["alloc_id"].nunique()
