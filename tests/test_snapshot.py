"""The loader: every shape and sample into typed frames, and one clear error per kind of bad input."""

from __future__ import annotations

import gzip
import io
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis import (
    SnapshotDecodeError,
    SnapshotNotFoundError,
    SnapshotShapeError,
    load_snapshot,
)
from analysis.schema import JOBS, META, NODE_DRIVERS, NODES, STRING, TOKENS, Table, empty_frame
from analysis.snapshot import build_snapshot

FIXTURES = Path(__file__).parent / "fixtures"
SAMPLES = sorted(p.name for p in FIXTURES.glob("*.json"))


def sample(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text())


def assert_schema(frame: pd.DataFrame, table: Table) -> None:
    """The frame has the table's columns first, in order, with exactly the declared dtypes."""
    fixed = table.names
    assert list(frame.columns[: len(fixed)]) == fixed
    reference = empty_frame(table)
    for name in fixed:
        got, want = frame[name].dtype, reference[name].dtype
        if isinstance(want, pd.CategoricalDtype):
            assert isinstance(got, pd.CategoricalDtype), name
            assert got.categories.dtype == STRING, name
        else:
            assert got == want, (name, got, want)


@pytest.mark.parametrize("name", SAMPLES)
def test_every_sample_follows_the_schema(name: str) -> None:
    snap = load_snapshot(FIXTURES / name)
    assert_schema(snap.jobs, JOBS)
    assert_schema(snap.nodes, NODES)
    assert_schema(snap.node_drivers, NODE_DRIVERS)
    assert_schema(snap.tokens, TOKENS)
    assert_schema(snap.meta, META)
    extra = [c for c in snap.nodes.columns if c not in NODES.names]
    assert all(c.startswith("driver_") and c.endswith(("_detected", "_healthy")) for c in extra)
    assert all(str(snap.nodes[c].dtype) == "boolean" for c in extra)


def test_docs_example_values() -> None:
    snap = load_snapshot(FIXTURES / "docs-example.json")
    assert snap.shape == "http-body"
    job = snap.jobs.iloc[0]
    assert (job["namespace"], job["id"], job["type"], job["status"], job["node_pool"]) == (
        "default",
        "example",
        "service",
        "running",
        "default",
    )
    assert job["datacenters"] == ["*"]
    assert job["submit_time"].value == 1704995322434188000
    assert (job["create_index"], job["modify_index"], job["job_modify_index"]) == (11, 19, 11)
    assert not job["stop"] and not job["periodic"] and not job["parameterized"] and not job["multiregion"]

    node = snap.nodes.iloc[0]
    assert node["id"] == "049f7683-0cde-727f-428a-913a89f92bd8"
    assert (node["name"], node["address"], node["datacenter"], node["version"]) == (
        "client-1",
        "192.168.0.186",
        "dc1",
        "1.6.4",
    )
    assert node["host_volumes"] == []  # HostVolumes: null means "no host volumes"
    assert pd.isna(node["last_drain_status"])
    # Drivers: qemu, exec, raw_exec, java, docker; exec and java are not detected.
    assert node["driver_docker_detected"] and node["driver_qemu_healthy"]
    assert not node["driver_exec_detected"] and not node["driver_java_healthy"]

    drivers = snap.node_drivers.set_index("driver")
    assert sorted(drivers.index) == ["docker", "exec", "java", "qemu", "raw_exec"]
    assert drivers.loc["exec", "health_description"] == "exec driver unsupported on client OS"
    assert drivers.loc["docker", "attributes"]["driver.docker.runtimes"] == "io.containerd.runc.v2,runc"
    # 12:48:35.993541-05:00 is 17:48:35.993541 UTC.
    assert drivers.loc["qemu", "update_time"] == pd.Timestamp("2024-01-11T17:48:35.993541Z")

    token = snap.tokens.iloc[0]
    assert (token["accessor"], token["task"], token["creation_ttl"], token["create_index"]) == (
        "czh9MPcRXzAhxBL9XKyb3Kh1",
        "redis",
        60,
        14,
    )
    assert snap.tokens_reported
    assert (snap.info.index, snap.info.known_leader, snap.info.last_contact_ns) == (20, True, 0)


def test_edge_cases_values() -> None:
    snap = load_snapshot(FIXTURES / "edge-cases.json")
    jobs = snap.jobs
    assert len(jobs) == 9
    assert jobs["namespace"].value_counts().to_dict() == {"default": 6, "platform": 2, "team-a": 1}
    child = jobs.set_index("id").loc["nightly-backup/periodic-1707177600"]
    assert child["parent_id"] == "nightly-backup" and child["status"] == "dead"
    assert child["submit_time"].value == 1707177600004183310  # beyond 2**53: exact
    billing = jobs.set_index("id").loc["legacy-billing"]
    assert billing["stop"] and billing["node_pool"] == "billing"
    assert jobs.set_index("id").loc["etl", "multiregion"]
    assert jobs.set_index("id").loc["vault-agent-sync", "datacenters"] == ["us-east-*", "eu-west-1"]

    nodes = snap.nodes.set_index("name")
    assert list(snap.nodes["version"]) == ["1.6.4", "1.5.3+ent", "1.6.10", "", "1.6.2-dev"]
    assert nodes.loc["edge-gw-02", "address"] == "fd00:10:0:2::15"
    assert nodes.loc["edge-gw-02", "drain"] and nodes.loc["edge-gw-02", "last_drain_status"] == "draining"
    assert nodes.loc["client-ent-07", "last_drain_updated_at"] == pd.Timestamp("2024-01-22T14:19:02.004517Z")
    assert nodes.loc["client-legacy-01", "host_volumes"] == ["certs", "scratch"]
    # The initializing node has no drivers at all: every driver column is <NA> for it.
    registrar = nodes.loc["custom-registrar-03"]
    assert all(pd.isna(registrar[c]) for c in snap.nodes.columns if c.startswith("driver_"))
    # podman appears on one node only; elsewhere it is unknown (<NA>), not False.
    assert snap.nodes["driver_podman_detected"].isna().sum() == 4

    drivers = snap.node_drivers
    assert len(drivers) == 6 + 3 + 2 + 0 + 2
    edge_docker = drivers[
        (drivers["node_id"] == "7f2e1c90-5b3a-4d8e-9c7f-0a1b2c3d4e5f") & (drivers["driver"] == "docker")
    ]
    # 19:02:44.000318+05:30 is 13:32:44.000318 UTC.
    assert edge_docker["update_time"].iloc[0] == pd.Timestamp("2024-02-05T13:32:44.000318Z")
    podman = drivers[drivers["driver"] == "podman"].iloc[0]
    assert podman["attributes"]["driver.podman.cgroupVersion"] == "v2"

    assert list(snap.tokens["accessor"]) == [
        "Hq7LmN2pR5sT8vW1xY4zA6bC",
        "k3JdT9wQ2eR7tY1uI5oP8aSd",
        "x9Vb4Nm2Qw8Er6Ty3Ui7Op1L",
    ]
    assert (snap.info.index, snap.info.known_leader) == (48213, True)


def test_post_1_10_stale_read() -> None:
    snap = load_snapshot(FIXTURES / "post-1.10-stale-sorted.json")
    assert not snap.tokens_reported and len(snap.tokens) == 0
    assert snap.info.last_contact_ns == 1_250_000_000
    assert snap.meta.loc[0, "last_contact"] == pd.Timedelta(seconds=1.25)
    node = snap.nodes.iloc[0]
    assert node["status"] == "down" and node["host_volumes"] == ["data"]
    assert "not reported" in repr(snap)


def test_cli_json_shape_has_no_query_meta_and_drops_fields() -> None:
    snap = load_snapshot(FIXTURES / "cli-json-1.9.json")
    assert snap.shape == "cli-json"
    assert snap.info.index is None and snap.info.known_leader is None
    assert snap.jobs["node_pool"].isna().all()
    assert snap.jobs["multiregion"].isna().all()
    assert snap.nodes["host_volumes"].isna().all()
    assert list(snap.jobs["id"]) == ["payments", "reindex/dispatch-1712100000-5f2a9c1e"]
    assert snap.jobs["submit_time"].iloc[0].value == 1712055300123456789


def test_empty_cluster_gives_empty_typed_frames() -> None:
    snap = load_snapshot(FIXTURES / "empty-cluster.json")
    for frame, table in (
        (snap.jobs, JOBS),
        (snap.nodes, NODES),
        (snap.node_drivers, NODE_DRIVERS),
        (snap.tokens, TOKENS),
    ):
        assert len(frame) == 0
        assert_schema(frame, table)
    assert not snap.tokens_reported


@pytest.mark.parametrize(("tokens", "reported"), [(None, False), ([], True), ("absent", False)])
def test_vault_tokens_null_is_not_reported_but_empty_list_is_zero(tokens, reported) -> None:
    body = {"JobsWithoutVaultIdentity": [], "OutdatedNodes": []}
    if tokens != "absent":
        body["VaultTokens"] = tokens
    snap = load_snapshot(body)
    assert snap.tokens_reported is reported
    assert len(snap.tokens) == 0


def test_key_order_and_absent_or_null_omitempty_keys_do_not_matter() -> None:
    release = sample("edge-cases.json")
    reordered = {k: release[k] for k in sorted(release)}
    for job in reordered["JobsWithoutVaultIdentity"]:
        job.pop("Meta")  # reflection codec: omitempty keys absent
    for node in reordered["OutdatedNodes"]:
        for key in ("Attributes", "NodeResources", "ReservedResources"):
            node.pop(key)
    a, b = load_snapshot(release), load_snapshot(reordered)
    for name in ("jobs", "nodes", "node_drivers", "tokens"):
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name))


def test_unknown_keys_are_ignored() -> None:
    body = sample("docs-example.json")
    body["SomethingNew"] = {"x": 1}
    body["JobsWithoutVaultIdentity"][0]["FutureField"] = [1, 2]
    assert load_snapshot(body).jobs.loc[0, "id"] == "example"


def test_uint64_indexes_stay_exact() -> None:
    big = 2**64 - 5
    body = {
        "JobsWithoutVaultIdentity": [
            dict(
                sample("docs-example.json")["JobsWithoutVaultIdentity"][0],
                ModifyIndex=big,
                SubmitTime=2**62 + 1,
            )
        ],
        "OutdatedNodes": [],
        "Index": big,
    }
    snap = load_snapshot(json.dumps(body).encode())
    assert int(snap.jobs.loc[0, "modify_index"]) == big
    assert snap.jobs.loc[0, "submit_time"].value == 2**62 + 1
    assert snap.info.index == big
    assert snap.meta.loc[0, "index"] == big


def test_envelope_round_trip_gzip_and_plain(tmp_path: Path) -> None:
    original = load_snapshot(FIXTURES / "edge-cases.json", cluster="prod", region="eu")
    for name in ("snap.json", "snap.json.gz"):
        path = original.save(tmp_path / name)
        if name.endswith(".gz"):
            assert path.read_bytes()[:2] == b"\x1f\x8b"
        again = load_snapshot(path)
        assert again.shape == "envelope" and again.info.body_shape == "http-body"
        assert (again.cluster, again.region, again.info.index) == ("prod", "eu", 48213)
        for table in ("jobs", "nodes", "node_drivers", "tokens"):
            pd.testing.assert_frame_equal(getattr(original, table), getattr(again, table))
        assert set(again.jobs["cluster"]) == {"prod"} and set(again.tokens["region"]) == {"eu"}
    # The same snapshot saved twice gives identical bytes (gzip mtime fixed).
    assert original.save(tmp_path / "a.json.gz").read_bytes() == original.save(tmp_path / "b.json.gz").read_bytes()


def test_envelope_keeps_cli_json_shape_and_headers(tmp_path: Path) -> None:
    envelope = {
        "format": "nomad-wi-readiness/snapshot",
        "version": 1,
        "captured_at": "2026-12-01T10:00:00.5+01:00",
        "cluster": "c1",
        "region": "global",
        "address": "https://nomad:4646",
        "nomad_version": "1.9.7",
        "body_shape": "cli-json",
        "headers": {"X-Nomad-Index": "99", "X-Nomad-KnownLeader": "false", "X-Nomad-LastContact": "15"},
        "response": sample("cli-json-1.9.json"),
        "enrichment": None,
        "future": "ignored",
    }
    snap = load_snapshot(envelope)
    assert snap.info.body_shape == "cli-json"
    assert snap.info.captured_at == pd.Timestamp("2026-12-01T09:00:00.5Z")
    # Without a body Index the headers answer; LastContact header is milliseconds.
    assert (snap.info.index, snap.info.known_leader, snap.info.last_contact_ns) == (99, False, 15_000_000)
    assert snap.info.nomad_version == "1.9.7"
    again = load_snapshot(snap.save(tmp_path / "x.json"))
    assert again.info.captured_at == snap.info.captured_at and again.info.headers == snap.info.headers


def test_reads_stdin_bytes_and_gzip_by_magic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    raw = (FIXTURES / "docs-example.json").read_bytes()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(raw)))
    assert load_snapshot("-").info.source == "<stdin>"
    assert load_snapshot(bytearray(raw)).info.source == "<bytes>"
    hidden_gzip = tmp_path / "looks-plain.json"
    hidden_gzip.write_bytes(gzip.compress(raw))
    assert load_snapshot(hidden_gzip).jobs.loc[0, "id"] == "example"


def test_enrichment_notes_reach_the_info() -> None:
    envelope = {
        "format": "nomad-wi-readiness/snapshot",
        "version": 1,
        "response": sample("empty-cluster.json"),
        "enrichment": {"nodes": None, "allocations": None, "notes": ["node list: 403 (needs node:read)"]},
    }
    snap = load_snapshot(envelope)
    assert snap.info.enrichment_notes == ("node list: 403 (needs node:read)",)
    assert snap.all_nodes is None and snap.allocations is None


def test_build_snapshot_records_the_source() -> None:
    snap = build_snapshot(sample("docs-example.json"), source="https://nomad.example:4646", cluster="x")
    assert snap.info.source == "https://nomad.example:4646" and snap.cluster == "x"


# -- bad input: one clear error each ----------------------------------------------------------------------------


def _write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


@pytest.mark.parametrize(
    ("data", "error", "words"),
    [
        (b"", SnapshotDecodeError, "is empty"),
        (b"   \n", SnapshotDecodeError, "is empty"),
        (b'{"JobsWithoutVaultIdentity": [{"ID": "a"', SnapshotDecodeError, "truncated"),
        (b'{"JobsWithoutVaultIdentity": [}', SnapshotDecodeError, "not valid JSON"),
        (b'{"ID": "caf\xe9"}', SnapshotDecodeError, "not UTF-8"),
        (b"\x1f\x8b\x08\x00broken", SnapshotDecodeError, "gzip stream is broken"),
        (b"[]", SnapshotShapeError, "JSON list of 0 items"),
        (
            b'[{"ID": "web", "ParentID": "", "JobSummary": {}}]',
            SnapshotShapeError,
            "job stubs (the body of /v1/jobs?)",
        ),
        (b'[{"ID": "n", "Datacenter": "dc1", "Drivers": {}}]', SnapshotShapeError, "node stubs"),
        (b'{"Members": [], "ServerName": "s"}', SnapshotShapeError, "/v1/agent/members"),
        (b'{"config": {}, "member": {}}', SnapshotShapeError, "/v1/agent/self"),
        (b'{"foo": 1}', SnapshotShapeError, "other keys (foo)"),
        (b'"just a string"', SnapshotShapeError, "is a JSON string"),
        (b"42", SnapshotShapeError, "is a JSON number"),
        (
            b'{"JobsWithoutVaultIdentity": {}}',
            SnapshotShapeError,
            "JobsWithoutVaultIdentity: expected a list or null, got an object",
        ),
        (b'{"OutdatedNodes": [1]}', SnapshotShapeError, "OutdatedNodes[0]: expected an object, got an integer"),
        (
            b'{"OutdatedNodes": [{"ID": 5}]}',
            SnapshotShapeError,
            "OutdatedNodes[0].ID: expected a string or null, got an integer",
        ),
        (
            b'{"JobsWithoutVaultIdentity": [{"ID": "a", "Stop": "yes"}]}',
            SnapshotShapeError,
            "JobsWithoutVaultIdentity[0].Stop: expected true, false or null, got a string",
        ),
        (
            b'{"JobsWithoutVaultIdentity": [{"ID": "a"}, {"ID": "b", "CreateIndex": 1.5}]}',
            SnapshotShapeError,
            "JobsWithoutVaultIdentity[1].CreateIndex: expected an integer or null, got a number with a fraction",
        ),
        (
            b'{"JobsWithoutVaultIdentity": [{"ID": "a", "CreateIndex": -1}]}',
            SnapshotShapeError,
            "JobsWithoutVaultIdentity[0].CreateIndex: expected an integer >= 0",
        ),
        (
            b'{"JobsWithoutVaultIdentity": [{"ID": "a", "Datacenters": "dc1"}]}',
            SnapshotShapeError,
            "JobsWithoutVaultIdentity[0].Datacenters: expected a list or null, got a string",
        ),
        (
            b'{"JobsWithoutVaultIdentity": [{"ID": "a", "CreateIndex": 18446744073709551616}]}',
            SnapshotShapeError,
            "JobsWithoutVaultIdentity[].CreateIndex holds a value outside the unsigned 64-bit range",
        ),
        (
            b'{"JobsWithoutVaultIdentity": [{"ID": "a", "Datacenters": ["dc1", 5]}]}',
            SnapshotShapeError,
            "JobsWithoutVaultIdentity[0].Datacenters[1]: expected a string, got an integer",
        ),
        (
            b'{"OutdatedNodes": [{"ID": "n", "Drivers": {"docker": {"Attributes": {"a": 1}}}}]}',
            SnapshotShapeError,
            "OutdatedNodes[0].Drivers[...].Attributes[...]: expected a string, got an integer",
        ),
        (
            b'{"format": "nomad-wi-readiness/snapshot", "version": 1, "response": {"VaultTokens": [{"Task": 1}]}}',
            SnapshotShapeError,
            "response.VaultTokens[0].Task: expected a string or null, got an integer",
        ),
        (
            b'{"OutdatedNodes": [{"ID": "n", "Drivers": []}]}',
            SnapshotShapeError,
            "OutdatedNodes[0].Drivers: expected an object or null, got a list",
        ),
        (
            b'{"OutdatedNodes": [{"ID": "n", "Drivers": {"docker": {"UpdateTime": "yesterday"}}}]}',
            SnapshotShapeError,
            "OutdatedNodes[0].Drivers.*.UpdateTime is not an RFC 3339 time",
        ),
        (
            b'{"OutdatedNodes": [], "Index": "12"}',
            SnapshotShapeError,
            "Index: expected an integer or null, got a string",
        ),
        (
            b'{"format": "other-tool", "response": {}}',
            SnapshotShapeError,
            "not a snapshot written by this toolkit",
        ),
        (
            b'{"format": "nomad-wi-readiness/snapshot", "version": 99, "response": {}}',
            SnapshotShapeError,
            "newer than this toolkit reads",
        ),
        (
            b'{"format": "nomad-wi-readiness/snapshot", "version": 1, "response": []}',
            SnapshotShapeError,
            "'response' must be the endpoint's JSON object",
        ),
    ],
)
def test_bad_input_gets_one_clear_error(tmp_path: Path, data: bytes, error: type, words: str) -> None:
    path = _write(tmp_path, "bad.json", data)
    with pytest.raises(error) as caught:
        load_snapshot(path)
    message = str(caught.value)
    assert words in message
    assert str(path) in message  # names the file
    assert "\n" not in message
    assert caught.value.path == str(path)


def test_missing_file_and_directory(tmp_path: Path) -> None:
    with pytest.raises(SnapshotNotFoundError, match="no such file"):
        load_snapshot(tmp_path / "nope.json")
    with pytest.raises(SnapshotNotFoundError, match="is a directory"):
        load_snapshot(tmp_path)


def test_an_acl_token_file_is_recognised_and_not_echoed(tmp_path: Path) -> None:
    secret = "3f0a9c1e-planted-secret-id"
    path = _write(tmp_path, "token.json", json.dumps({"AccessorID": "a", "SecretID": secret}).encode())
    with pytest.raises(SnapshotShapeError) as caught:
        load_snapshot(path)
    assert "ACL token" in str(caught.value) and secret not in str(caught.value)


def test_input_is_not_mutated() -> None:
    body = sample("edge-cases.json")
    before = json.dumps(body, sort_keys=True)
    load_snapshot(body)
    assert json.dumps(body, sort_keys=True) == before


def test_gc_state_is_restored() -> None:
    import gc

    assert gc.isenabled()
    load_snapshot(FIXTURES / "docs-example.json")
    assert gc.isenabled()
    with pytest.raises(SnapshotDecodeError):
        load_snapshot(b"{")
    assert gc.isenabled()


def test_numpy_backing_of_integer_columns_is_64_bit() -> None:
    snap = load_snapshot(FIXTURES / "edge-cases.json")
    assert snap.jobs["create_index"].to_numpy().dtype == np.uint64
    assert snap.tokens["creation_ttl"].to_numpy().dtype == np.int64


def test_python_dash_m_analysis_runs() -> None:
    done = subprocess.run([sys.executable, "-m", "analysis", "--version"], capture_output=True, text=True)
    assert done.returncode == 0 and "wi-readiness" in done.stdout


def test_readme_documents_every_column() -> None:
    from analysis import config
    from analysis.schema import schema_markdown

    readme = (config.ROOT / "README.md").read_text(encoding="utf-8")
    begin = readme.index("-->\n", readme.index("<!-- schema:begin")) + len("-->\n")
    end = readme.index("<!-- schema:end -->")
    assert readme[begin:end] == schema_markdown(), "README Tables section is stale: run make docs"


# -- hostile input (found by trying to break the loader) ---------------------------------------------------------


def test_devices_and_pipes_are_refused_not_read_forever(tmp_path: Path) -> None:
    import os

    fifo = tmp_path / "pipe.json"
    os.mkfifo(fifo)
    for path in (Path("/dev/zero"), fifo):
        with pytest.raises(SnapshotNotFoundError, match="is not a regular file"):
            load_snapshot(path)


def test_gzip_bombs_stop_at_the_size_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    from analysis import config

    monkeypatch.setattr(config, "MAX_SNAPSHOT_BYTES", 1_000_000)
    bomb = gzip.compress(b'{"OutdatedNodes": [], "pad": "' + b"x" * 5_000_000 + b'"}')
    with pytest.raises(SnapshotDecodeError, match="inflates to more than"):
        load_snapshot(bomb)
    # Several gzip members are one stream, as gzip(1) reads them.
    two = gzip.compress(b'{"OutdatedNodes": [], ') + gzip.compress(b'"Index": 5}')
    assert load_snapshot(two).info.index == 5


def test_deep_nesting_is_a_decode_error() -> None:
    deep = b'{"x":' * 5000 + b"1" + b"}" * 5000
    with pytest.raises(SnapshotDecodeError, match="nests JSON too deeply"):
        load_snapshot(b'{"OutdatedNodes": [], "extra": ' + deep + b"}")


@pytest.mark.parametrize(
    ("document", "words"),
    [
        (b'{"OutdatedNodes": [], "Index": 18446744073709551616}', "outside the unsigned 64-bit range"),
        (
            b'{"format": "nomad-wi-readiness/snapshot", "version": 1, "headers": {"X-Nomad-Index": "-3"}, '
            b'"response": {"OutdatedNodes": []}}',
            "outside the unsigned 64-bit range",
        ),
        (
            b'{"format": "nomad-wi-readiness/snapshot", "version": 1, "captured_at": "now", '
            b'"response": {"OutdatedNodes": []}}',
            "must be an RFC 3339 time",
        ),
        (
            b'{"format": "nomad-wi-readiness/snapshot", "version": 1, "captured_at": "9999-12-31T00:00:00Z", '
            b'"response": {"OutdatedNodes": []}}',
            "not a time between 1678 and 2262",
        ),
        # An envelope around nothing (or around another endpoint's body) must not read as a clear cluster.
        (b'{"format": "nomad-wi-readiness/snapshot", "version": 1, "response": {}}', "expected the body of"),
        (
            b'{"format": "nomad-wi-readiness/snapshot", "version": 1, "response": {"Members": [], "ServerName": "s"}}',
            "/v1/agent/members",
        ),
    ],
)
def test_values_out_of_range_or_empty_envelopes_are_shape_errors(document: bytes, words: str) -> None:
    with pytest.raises(SnapshotShapeError, match=words):
        load_snapshot(document)


def test_go_zero_times_and_far_future_times_are_unknown() -> None:
    body = sample("edge-cases.json")
    body["OutdatedNodes"][0]["LastDrain"] = {
        "StartedAt": "0001-01-01T00:00:00Z",  # Go's zero time
        "UpdatedAt": "9999-01-01T00:00:00Z",
        "Status": "complete",
    }
    body["OutdatedNodes"][1]["Drivers"]["docker"]["UpdateTime"] = "0001-01-01T00:00:00Z"
    snap = load_snapshot(body)
    assert pd.isna(snap.nodes.loc[0, "last_drain_started_at"]) and pd.isna(snap.nodes.loc[0, "last_drain_updated_at"])
    assert snap.node_drivers["update_time"].isna().sum() == 1
    # The other nodes' times are untouched: 14:19:02.004517Z as in the sample.
    assert snap.nodes.loc[1, "last_drain_updated_at"] == pd.Timestamp("2024-01-22T14:19:02.004517Z")


def test_thousands_of_driver_names_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    from analysis import config

    monkeypatch.setattr(config, "MAX_DRIVERS", 3)
    drivers = {f"d{i}": {"Detected": True} for i in range(4)}
    with pytest.raises(SnapshotShapeError, match="4 distinct task driver names"):
        load_snapshot({"OutdatedNodes": [{"ID": "n", "Drivers": drivers}]})


def test_a_redacted_snapshot_cannot_be_saved(tmp_path: Path) -> None:
    from analysis.report import redact_snapshot

    redacted = redact_snapshot(load_snapshot(FIXTURES / "docs-example.json"))
    with pytest.raises(ValueError, match="display only"):
        redacted.save(tmp_path / "x.json")
    assert not (tmp_path / "x.json").exists()
