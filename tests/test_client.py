"""The live-agent client against a Nomad stand-in on loopback: settings, TLS, retries, errors, secrets."""

from __future__ import annotations

import base64
import gzip
import logging
import os
import re
import shutil
import socket
import ssl
import tempfile
import time
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson
import pandas as pd
import pytest
import trustme

from analysis import client as client_module
from analysis import config
from analysis.client import NomadSettings, build_ssl_context, fetch_snapshot, list_regions, parse_bool
from analysis.errors import (
    ConfigError,
    EndpointMissingError,
    NoLeaderError,
    NomadConnectionError,
    NomadError,
    NomadHTTPError,
    NomadResponseError,
    NomadTLSError,
    PermissionDeniedError,
    ReadinessError,
    UnknownRegionError,
)
from analysis.schema import ALL_NODES, ALLOCATIONS, empty_frame
from analysis.snapshot import load_snapshot
from tests.nomad_standin import (
    AGENT_READ,
    ALL_CAPABILITIES,
    ENDPOINT,
    NODE_READ,
    OPERATOR_READ,
    READ_JOB,
    Answer,
    NomadStandIn,
)

PLANTED = "s.3cr3t-planted-token-6f1c2e9a-0b7d-4c1e-9f3a-2d5e8b7c4a10"
PLANTED_PASSWORD = "pl4nted-http-p4ssw0rd"


class Sleeps(list[float]):
    """Records the waits between retries instead of sleeping."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def agent() -> Iterator[NomadStandIn]:
    with NomadStandIn() as stand_in:
        yield stand_in


def _fetch(agent: NomadStandIn, sleeps: Sleeps, **kwargs: Any) -> Any:
    return fetch_snapshot(agent.address, sleep=sleeps, **kwargs)


def _notes(snap: Any) -> list[str]:
    """The notes fetch recorded in the envelope's ``enrichment`` object."""
    enrichment = orjson.loads(snap.envelope_bytes())["enrichment"]
    return list(enrichment["notes"]) if enrichment else []


# ---------------------------------------------------------------------------------------------------------------
# Settings
# ---------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [(v, True) for v in ("1", "t", "T", "TRUE", "true", "True")]
    + [(v, False) for v in ("0", "f", "F", "FALSE", "false", "False")],
)
def test_parse_bool_accepts_what_go_accepts(text: str, expected: bool) -> None:
    assert parse_bool(text, "NOMAD_SKIP_VERIFY") is expected


@pytest.mark.parametrize("text", ["yes", "no", "on", "off", "tRUE", "FaLsE", " true", "true ", "2", "", "y"])
def test_parse_bool_refuses_everything_else(text: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_bool(text, "NOMAD_SKIP_VERIFY")
    assert "NOMAD_SKIP_VERIFY" in str(info.value) and "1, t, T, TRUE, true, True" in str(info.value)
    assert info.value.setting == "NOMAD_SKIP_VERIFY"


def test_bad_skip_verify_in_environment_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match=r"NOMAD_SKIP_VERIFY='yes' is not a boolean"):
        NomadSettings.resolve(env={"NOMAD_SKIP_VERIFY": "yes"})


def test_resolve_reads_the_environment_when_called(monkeypatch: pytest.MonkeyPatch) -> None:
    assert NomadSettings.resolve().address == config.DEFAULT_ADDRESS
    monkeypatch.setenv("NOMAD_ADDR", "http://10.1.2.3:4646")
    monkeypatch.setenv("NOMAD_REGION", "eu-west")
    monkeypatch.setenv("NOMAD_TOKEN", "abc-123")
    monkeypatch.setenv("NOMAD_SKIP_VERIFY", "t")
    monkeypatch.setenv("NOMAD_TLS_SERVER_NAME", "server.global.nomad")
    settings = NomadSettings.resolve()
    assert (settings.address, settings.region, settings.token) == ("http://10.1.2.3:4646", "eu-west", "abc-123")
    assert settings.skip_verify and settings.tls_server_name == "server.global.nomad"


def test_arguments_win_over_the_environment() -> None:
    env = {
        "NOMAD_ADDR": "http://env:4646",
        "NOMAD_TOKEN": "env-token",
        "NOMAD_REGION": "env",
        "NOMAD_SKIP_VERIFY": "true",
        "NOMAD_CACERT": "/env/ca.pem",
    }
    settings = NomadSettings.resolve(
        "http://arg:4646", "arg-token", "arg", skip_verify=False, ca_cert="/arg.pem", env=env
    )
    assert (settings.address, settings.token, settings.region) == ("http://arg:4646", "arg-token", "arg")
    assert settings.skip_verify is False and settings.ca_cert == "/arg.pem"


def test_empty_variables_count_as_unset() -> None:
    env = {
        name: ""
        for name in (
            "NOMAD_ADDR",
            "NOMAD_TOKEN",
            "NOMAD_REGION",
            "NOMAD_CACERT",
            "NOMAD_SKIP_VERIFY",
            "NOMAD_HTTP_AUTH",
            "NOMAD_TLS_SERVER_NAME",
        )
    }
    settings = NomadSettings.resolve(env=env)
    assert settings == NomadSettings()
    assert (settings.connect_timeout, settings.read_timeout, settings.retries) == (
        config.CONNECT_TIMEOUT,
        config.READ_TIMEOUT,
        config.RETRIES,
    )


@pytest.mark.parametrize(
    ("value", "expected"),
    [("ops:pw", ("ops", "pw")), ("ops", ("ops", "")), ("ops:p:w", ("ops", "p:w")), (("u", "p"), ("u", "p"))],
)
def test_http_auth_is_split_at_the_first_colon(value: Any, expected: tuple[str, str]) -> None:
    env = {"NOMAD_HTTP_AUTH": value} if isinstance(value, str) else {}
    settings = NomadSettings.resolve(http_auth=None if isinstance(value, str) else value, env=env)
    assert settings.http_auth == expected


def test_credentials_in_the_address_become_basic_auth_and_vanish_from_the_address() -> None:
    settings = NomadSettings.resolve(
        env={"NOMAD_ADDR": f"https://ops:{PLANTED_PASSWORD}@nomad.example:4646/", "NOMAD_HTTP_AUTH": "other:pw"}
    )
    assert settings.address == "https://nomad.example:4646"
    assert settings.http_auth == ("ops", PLANTED_PASSWORD)  # the URL wins, as in Nomad's api package
    assert PLANTED_PASSWORD not in repr(settings) and PLANTED_PASSWORD not in str(settings)
    encoded = NomadSettings(address="http://a%40b:p%3Aw@h:1")
    assert encoded.http_auth == ("a@b", "p:w") and encoded.address == "http://h:1"


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"NOMAD_ADDR": "nomad.example:4646"}, "http://nomad.example:4646"),
        ({"NOMAD_ADDR": "nomad.example:4646", "NOMAD_CACERT": "/ca.pem"}, "https://nomad.example:4646"),
        ({"NOMAD_ADDR": "127.0.0.1:4646", "NOMAD_SKIP_VERIFY": "1"}, "https://127.0.0.1:4646"),
        ({"NOMAD_ADDR": "10.0.0.1:4646", "NOMAD_TLS_SERVER_NAME": "server.global.nomad"}, "https://10.0.0.1:4646"),
        ({"NOMAD_ADDR": "HTTPS://Nomad.Example:4646/proxy/"}, "https://Nomad.Example:4646/proxy"),
    ],
)
def test_an_address_without_scheme_is_https_when_tls_is_configured(env: dict[str, str], expected: str) -> None:
    assert NomadSettings.resolve(env=env).address == expected


def test_unix_socket_address() -> None:
    settings = NomadSettings.resolve(env={"NOMAD_ADDR": "unix:///var/run/nomad.sock"})
    assert settings.socket_path == "/var/run/nomad.sock" and settings.host is None


@pytest.mark.parametrize(
    ("address", "words"),
    [
        ("ftp://nomad:21", "scheme 'ftp'"),
        ("http://", "no host"),
        ("http://:4646", "no host"),
        ("http://nomad:99999", "invalid port"),
        ("http://nomad:4646/?region=x", "query"),
        ("unix://", "no socket path"),
    ],
)
def test_bad_addresses_are_config_errors(address: str, words: str) -> None:
    with pytest.raises(ConfigError, match=words):
        NomadSettings(address=address)


def test_repr_never_shows_the_token_or_password() -> None:
    settings = NomadSettings.resolve(token=PLANTED, http_auth=f"ops:{PLANTED_PASSWORD}", env={})
    for text in (repr(settings), str(settings), f"{settings}", f"{settings!r}"):
        assert PLANTED not in text and PLANTED_PASSWORD not in text
        assert "token=<set>" in text and "'ops'" in text
    assert "token=<unset>" in repr(NomadSettings.resolve(env={}))


def test_token_with_a_newline_is_refused_without_echoing_it() -> None:
    with pytest.raises(ConfigError) as info:
        NomadSettings(token=PLANTED + "\nX-Evil: 1")
    assert PLANTED not in str(info.value) and "NOMAD_TOKEN" in str(info.value)


def test_token_file(tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text(f"  {PLANTED}\n")
    assert NomadSettings.resolve(token_file=token_file, env={"NOMAD_TOKEN": "env"}).token == PLANTED
    with pytest.raises(ConfigError, match=r"token file .*missing: no such file"):
        NomadSettings.resolve(token_file=tmp_path / "missing", env={})
    (tmp_path / "empty").write_text("\n")
    with pytest.raises(ConfigError, match="is empty"):
        NomadSettings.resolve(token_file=tmp_path / "empty", env={})


# ---------------------------------------------------------------------------------------------------------------
# Fetching: success
# ---------------------------------------------------------------------------------------------------------------


def test_fetch_builds_the_envelope(agent: NomadStandIn, sleeps: Sleeps, tmp_path: Path) -> None:
    snap = _fetch(agent, sleeps, token="tok-1")
    request = agent.requests_to(ENDPOINT)[0]
    assert request.token == "tok-1" and request.query == {}
    assert request.headers["accept"] == "application/json"
    info = snap.info
    assert info.address == agent.address and info.source == agent.address
    assert (info.cluster, info.region, info.nomad_version) == ("127.0.0.1", "global", "1.9.7")
    assert info.headers == {"X-Nomad-Index": "48213", "X-Nomad-KnownLeader": "true", "X-Nomad-LastContact": "0"}
    assert info.index == 48213 and info.known_leader is True and info.tokens_reported
    assert (len(snap.jobs), len(snap.nodes), len(snap.tokens)) == (9, 5, 3)
    assert snap.all_nodes is None and snap.allocations is None and _notes(snap) == []
    assert info.captured_at is not None and abs(pd.Timestamp.now(tz="UTC") - info.captured_at) < pd.Timedelta("1min")

    saved = snap.save(tmp_path / "snap.json")
    document = orjson.loads(saved.read_bytes())
    assert document["format"] == config.ENVELOPE_FORMAT and document["body_shape"] == "http-body"
    assert document["captured_at"].endswith("Z") and len(document["captured_at"]) == len("2026-12-03T17:00:00.123456Z")
    assert document["response"] == agent.body and document["enrichment"] is None
    again = load_snapshot(saved)
    pd.testing.assert_frame_equal(again.jobs, snap.jobs)
    assert again.info.nomad_version == "1.9.7"


def test_region_stale_and_cluster(agent: NomadStandIn, sleeps: Sleeps) -> None:
    snap = _fetch(agent, sleeps, region="eu-west", stale=True, cluster="prod")
    assert agent.requests_to(ENDPOINT)[0].query == {"region": ["eu-west"], "stale": [""]}
    assert (snap.cluster, snap.region) == ("prod", "eu-west")
    assert set(snap.jobs["region"].astype(str)) == {"eu-west"}


def test_region_from_the_environment(agent: NomadStandIn, sleeps: Sleeps, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NOMAD_REGION", "eu-west")
    monkeypatch.setenv("NOMAD_TOKEN", "env-token")
    _fetch(agent, sleeps)
    request = agent.requests_to(ENDPOINT)[0]
    assert request.query == {"region": ["eu-west"]} and request.token == "env-token"


def test_list_regions(agent: NomadStandIn, sleeps: Sleeps) -> None:
    assert list_regions(NomadSettings(address=agent.address), sleep=sleeps) == ["global", "eu-west"]


def test_basic_auth_is_sent(agent: NomadStandIn, sleeps: Sleeps) -> None:
    address = agent.address.replace("http://", "http://ops:pw@")
    _fetch(agent, sleeps, settings=NomadSettings(address=address))
    assert agent.requests_to(ENDPOINT)[0].headers["authorization"] == "Basic b3BzOnB3"


# ---------------------------------------------------------------------------------------------------------------
# Fetching: every failure maps to one clear error
# ---------------------------------------------------------------------------------------------------------------


def test_permission_denied_without_a_token(sleeps: Sleeps) -> None:
    with NomadStandIn(tokens={"good": {OPERATOR_READ}}) as agent, pytest.raises(PermissionDeniedError) as info:
        _fetch(agent, sleeps)
    err = info.value
    assert err.status == 403 and err.token_sent is False and err.body == "Permission denied"
    assert "operator:read" in str(err) and "no token was sent: set NOMAD_TOKEN or --token-file" in str(err)
    assert agent.address in str(err) and len(agent.requests_to(ENDPOINT)) == 1 and sleeps == []


def test_permission_denied_with_a_token(sleeps: Sleeps) -> None:
    with NomadStandIn(tokens={"good": {OPERATOR_READ}}) as agent, pytest.raises(PermissionDeniedError) as info:
        _fetch(agent, sleeps, token="not-good")
    assert info.value.token_sent is True and "a token was sent but refused" in str(info.value)


def test_old_server_has_no_endpoint(sleeps: Sleeps) -> None:
    with NomadStandIn(version="1.6.4") as agent, pytest.raises(EndpointMissingError) as info:
        _fetch(agent, sleeps)
    message = str(info.value)
    assert info.value.status == 404 and "1.6.4" in message and "1.7.3" in message and "upgrade the servers" in message


def test_empty_404_without_agent_self_still_means_old_server(agent: NomadStandIn, sleeps: Sleeps) -> None:
    agent.queue(ENDPOINT, Answer(404, ""))
    agent.queue("/v1/agent/self", Answer(403, "Permission denied"))
    with pytest.raises(
        EndpointMissingError, match=r"older than Nomad 1\.7\.3, which added this endpoint; upgrade the servers first"
    ):
        _fetch(agent, sleeps)


def test_empty_404_from_a_new_agent_blames_the_path(agent: NomadStandIn, sleeps: Sleeps) -> None:
    agent.queue(ENDPOINT, Answer(404, ""))
    with pytest.raises(NomadHTTPError, match=r"runs Nomad 1\.9\.7, which has .* yet it answered 404") as info:
        _fetch(agent, sleeps)
    assert not isinstance(info.value, EndpointMissingError)


def test_a_path_prefix_is_not_an_agent_root(agent: NomadStandIn, sleeps: Sleeps) -> None:
    with pytest.raises(NomadHTTPError, match="is not a Nomad agent's HTTP API root") as info:
        fetch_snapshot(agent.address + "/nomad", sleep=sleeps)
    assert agent.requests[0].path == "/nomad" + ENDPOINT
    assert not isinstance(info.value, EndpointMissingError)


def test_path_not_found(agent: NomadStandIn, sleeps: Sleeps) -> None:
    agent.queue(ENDPOINT, Answer(404, f"Path {ENDPOINT}x not found"))
    with pytest.raises(NomadHTTPError, match="not a Nomad agent's root") as info:
        _fetch(agent, sleeps)
    assert type(info.value) is NomadHTTPError and info.value.body == f"Path {ENDPOINT}x not found"


def test_invalid_method(agent: NomadStandIn, sleeps: Sleeps) -> None:
    agent.queue(ENDPOINT, Answer(405, "Invalid method"))
    with pytest.raises(NomadHTTPError, match=r"405 \(Invalid method\)") as info:
        _fetch(agent, sleeps)
    assert info.value.status == 405


def test_unknown_region_names_it_and_lists_the_known_ones(agent: NomadStandIn, sleeps: Sleeps) -> None:
    with pytest.raises(UnknownRegionError) as info:
        _fetch(agent, sleeps, region="mars")
    err = info.value
    assert err.region == "mars" and err.status == 500 and "'mars'" in str(err)
    assert "known regions: global, eu-west" in str(err) and len(agent.requests_to(ENDPOINT)) == 1 and sleeps == []


def test_no_leader_suggests_stale_and_is_not_retried(agent: NomadStandIn, sleeps: Sleeps) -> None:
    agent.leader = False
    with pytest.raises(NoLeaderError, match="--stale") as info:
        _fetch(agent, sleeps)
    assert info.value.body == "rpc error: No cluster leader"
    assert len(agent.requests_to(ENDPOINT)) == 1 and sleeps == []
    assert _fetch(agent, sleeps, stale=True).info.index == 48213


def test_other_500_carries_the_body(agent: NomadStandIn, sleeps: Sleeps) -> None:
    agent.queue(ENDPOINT, Answer(500, "failed to retrieve jobs: boom"))
    with pytest.raises(NomadHTTPError, match="failed to retrieve jobs: boom") as info:
        _fetch(agent, sleeps)
    assert info.value.status == 500 and len(agent.requests_to(ENDPOINT)) == 1
    assert "try again, and if it persists read the Nomad servers' logs" in str(info.value)  # what to do


def test_plain_http_to_a_tls_port_says_use_https(tls_agent: NomadStandIn, sleeps: Sleeps) -> None:
    address = tls_agent.address.replace("https://", "http://")
    with pytest.raises(NomadHTTPError, match=r"the agent has TLS enabled on this port; use https://127\.0\.0\.1"):
        fetch_snapshot(address, sleep=sleeps)


def test_503_then_200_is_retried(agent: NomadStandIn, sleeps: Sleeps) -> None:
    agent.queue(ENDPOINT, Answer(503, "Service Unavailable"))
    snap = _fetch(agent, sleeps)
    assert len(snap.jobs) == 9 and len(agent.requests_to(ENDPOINT)) == 2 and sleeps == [config.BACKOFF_SECONDS]


def test_retries_back_off_exponentially_then_give_up(agent: NomadStandIn, sleeps: Sleeps) -> None:
    agent.queue(ENDPOINT, *[Answer(502, "bad gateway")] * 4)
    with pytest.raises(NomadHTTPError, match="502 Bad Gateway after 4 attempts") as info:
        _fetch(agent, sleeps)
    assert info.value.status == 502 and len(agent.requests_to(ENDPOINT)) == config.RETRIES + 1
    assert sleeps == [config.BACKOFF_SECONDS * 2**i for i in range(config.RETRIES)]


def test_429_honours_retry_after(agent: NomadStandIn, sleeps: Sleeps) -> None:
    agent.queue(ENDPOINT, Answer(429, "slow down", {"Retry-After": "2"}))
    _fetch(agent, sleeps)
    assert sleeps == [2.0]


@pytest.mark.parametrize("status", [400, 401, 404, 409, 500])
def test_client_errors_and_500_are_never_retried(agent: NomadStandIn, sleeps: Sleeps, status: int) -> None:
    agent.queue(ENDPOINT, Answer(status, "nope"))
    with pytest.raises(NomadHTTPError):
        _fetch(agent, sleeps)
    assert len(agent.requests_to(ENDPOINT)) == 1 and sleeps == []


def test_read_timeout(agent: NomadStandIn, sleeps: Sleeps) -> None:
    agent.queue(ENDPOINT, Answer(delay=1.0))
    settings = NomadSettings(address=agent.address, read_timeout=0.3)
    with pytest.raises(NomadConnectionError, match=r"no answer within 0\.3 s \(read timeout\)") as info:
        fetch_snapshot(settings=settings, sleep=sleeps)
    assert info.value.address == agent.address and sleeps == []


def test_connection_refused_names_the_address(sleeps: Sleeps) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    address = f"http://127.0.0.1:{port}"
    with pytest.raises(NomadConnectionError, match="connection refused") as info:
        fetch_snapshot(address, sleep=sleeps)
    assert str(info.value).startswith(address) and info.value.address == address
    assert len(sleeps) == config.RETRIES  # refused is transient: an agent may be restarting


def test_dns_failure(monkeypatch: pytest.MonkeyPatch, sleeps: Sleeps) -> None:
    def no_such_host(*args: Any, **kwargs: Any) -> Any:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", no_such_host)
    with pytest.raises(NomadConnectionError, match=r"cannot resolve the host name 'nomad\.invalid' \(DNS\)"):
        fetch_snapshot("http://nomad.invalid:4646", sleep=sleeps)
    assert sleeps == []


def test_html_page_is_not_the_endpoint(agent: NomadStandIn, sleeps: Sleeps) -> None:
    agent.queue(
        ENDPOINT,
        Answer(200, "<!DOCTYPE html><html><body>Nomad</body></html>", {"Content-Type": "text/html; charset=utf-8"}),
    )
    with pytest.raises(NomadResponseError, match="HTML page, not JSON"):
        _fetch(agent, sleeps)


def test_body_that_is_not_json(agent: NomadStandIn, sleeps: Sleeps) -> None:
    agent.queue(ENDPOINT, Answer(200, "{truncated", {"Content-Type": "application/json"}))
    with pytest.raises(NomadResponseError, match="is not JSON"):
        _fetch(agent, sleeps)


def test_json_of_another_endpoint_is_described(agent: NomadStandIn, sleeps: Sleeps) -> None:
    agent.queue(ENDPOINT, Answer(200, {"Members": [], "ServerName": "s1"}))
    with pytest.raises(NomadResponseError, match=r"looks like the body of /v1/agent/members"):
        _fetch(agent, sleeps)


def test_endpoint_json_with_a_wrong_type(agent: NomadStandIn, sleeps: Sleeps) -> None:
    agent.queue(ENDPOINT, Answer(200, {"JobsWithoutVaultIdentity": [{"ID": 7}], "OutdatedNodes": []}))
    with pytest.raises(NomadResponseError, match=r"JobsWithoutVaultIdentity\[0\]\.ID"):
        _fetch(agent, sleeps)


def test_redirects_are_not_followed(agent: NomadStandIn, sleeps: Sleeps) -> None:
    agent.queue(ENDPOINT, Answer(307, "", {"Location": "https://elsewhere.example/"}))
    with pytest.raises(NomadHTTPError, match=r"redirecting to https://elsewhere\.example/; redirects are not followed"):
        _fetch(agent, sleeps, token="tok")
    assert len(agent.requests) == 1


# ---------------------------------------------------------------------------------------------------------------
# TLS
# ---------------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A throwaway CA with a server certificate for nomad.internal and a CLI client certificate."""
    folder = tmp_path_factory.mktemp("pki")
    ca, stranger = trustme.CA(), trustme.CA()
    server = ca.issue_cert("nomad.internal", "server.global.nomad")
    client = ca.issue_cert("cli.global.nomad")
    foreign_client = stranger.issue_cert("cli.global.nomad")
    paths = {
        "ca": folder / "ca.pem",
        "stranger_ca": folder / "stranger-ca.pem",
        "client_cert": folder / "cli.pem",
        "client_key": folder / "cli-key.pem",
        "foreign_cert": folder / "foreign.pem",
        "foreign_key": folder / "foreign-key.pem",
    }
    ca.cert_pem.write_to_path(str(paths["ca"]))
    stranger.cert_pem.write_to_path(str(paths["stranger_ca"]))
    client.cert_chain_pems[0].write_to_path(str(paths["client_cert"]))
    client.private_key_pem.write_to_path(str(paths["client_key"]))
    foreign_client.cert_chain_pems[0].write_to_path(str(paths["foreign_cert"]))
    foreign_client.private_key_pem.write_to_path(str(paths["foreign_key"]))
    return {"ca_authority": ca, "server": server, **{k: str(v) for k, v in paths.items()}}


def _server_context(pki: dict[str, Any], *, require_client: bool = False) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    pki["server"].configure_cert(context)
    if require_client:
        pki["ca_authority"].configure_trust(context)
        context.verify_mode = ssl.CERT_REQUIRED
    return context


@pytest.fixture
def tls_agent(pki: dict[str, Any]) -> Iterator[NomadStandIn]:
    with NomadStandIn(tls=_server_context(pki)) as stand_in:
        yield stand_in


@pytest.fixture
def mtls_agent(pki: dict[str, Any]) -> Iterator[NomadStandIn]:
    with NomadStandIn(tls=_server_context(pki, require_client=True)) as stand_in:
        yield stand_in


def test_server_name_mismatch_names_nomad_tls_server_name(
    tls_agent: NomadStandIn, pki: dict[str, Any], sleeps: Sleeps
) -> None:
    env = {"NOMAD_ADDR": tls_agent.address, "NOMAD_CACERT": pki["ca"]}
    with pytest.raises(NomadTLSError, match=r"not valid for '127\.0\.0\.1'.*NOMAD_TLS_SERVER_NAME") as info:
        fetch_snapshot(env=env, sleep=sleeps)
    assert info.value.address == tls_agent.address and sleeps == []  # TLS failures are not transient


def test_server_name_override_verifies_against_that_name(
    tls_agent: NomadStandIn, pki: dict[str, Any], sleeps: Sleeps, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NOMAD_ADDR", tls_agent.address)
    monkeypatch.setenv("NOMAD_CACERT", pki["ca"])
    monkeypatch.setenv("NOMAD_TLS_SERVER_NAME", "nomad.internal")
    assert len(fetch_snapshot(sleep=sleeps).jobs) == 9
    # The override really is what the certificate is checked against: a name the certificate lacks fails.
    monkeypatch.setenv("NOMAD_TLS_SERVER_NAME", "other.internal")
    with pytest.raises(NomadTLSError, match=r"not valid for 'other\.internal'"):
        fetch_snapshot(sleep=sleeps)


def test_untrusted_ca_names_nomad_cacert(tls_agent: NomadStandIn, pki: dict[str, Any], sleeps: Sleeps) -> None:
    env = {"NOMAD_CACERT": pki["stranger_ca"], "NOMAD_TLS_SERVER_NAME": "nomad.internal"}
    with pytest.raises(NomadTLSError, match=r"not trusted .*NOMAD_CACERT \(.*stranger-ca\.pem\) does not hold"):
        fetch_snapshot(tls_agent.address, env=env, sleep=sleeps)
    with pytest.raises(NomadTLSError, match="set NOMAD_CACERT"):
        fetch_snapshot(tls_agent.address, env={"NOMAD_TLS_SERVER_NAME": "nomad.internal"}, sleep=sleeps)


def test_ca_path_directory(tls_agent: NomadStandIn, pki: dict[str, Any], sleeps: Sleeps, tmp_path: Path) -> None:
    shutil.copy(pki["ca"], tmp_path / "cluster-ca.crt")  # any name: no OpenSSL hash links needed, as in Go
    shutil.copy(pki["stranger_ca"], tmp_path / "other.pem")
    env = {"NOMAD_CAPATH": str(tmp_path), "NOMAD_TLS_SERVER_NAME": "nomad.internal"}
    assert fetch_snapshot(tls_agent.address, env=env, sleep=sleeps).info.index == 48213


def test_skip_verify(tls_agent: NomadStandIn, sleeps: Sleeps) -> None:
    snap = fetch_snapshot(tls_agent.address, env={"NOMAD_SKIP_VERIFY": "true"}, sleep=sleeps)
    assert len(snap.jobs) == 9


def test_mutual_tls_with_ca_and_client_certificate(
    mtls_agent: NomadStandIn, pki: dict[str, Any], sleeps: Sleeps
) -> None:
    # The httpx pitfall: a custom CA and a client certificate must both be in effect at once.
    env = {
        "NOMAD_CACERT": pki["ca"],
        "NOMAD_CLIENT_CERT": pki["client_cert"],
        "NOMAD_CLIENT_KEY": pki["client_key"],
        "NOMAD_TLS_SERVER_NAME": "server.global.nomad",
    }
    assert len(fetch_snapshot(mtls_agent.address, env=env, sleep=sleeps).jobs) == 9


def test_mutual_tls_without_a_client_certificate(mtls_agent: NomadStandIn, pki: dict[str, Any], sleeps: Sleeps) -> None:
    env = {"NOMAD_CACERT": pki["ca"], "NOMAD_TLS_SERVER_NAME": "nomad.internal"}
    with pytest.raises(NomadTLSError, match=r"requires a client certificate.*NOMAD_CLIENT_CERT"):
        fetch_snapshot(mtls_agent.address, env=env, sleep=sleeps)
    assert sleeps == []


def test_mutual_tls_with_a_foreign_client_certificate(
    mtls_agent: NomadStandIn, pki: dict[str, Any], sleeps: Sleeps
) -> None:
    env = {
        "NOMAD_CACERT": pki["ca"],
        "NOMAD_CLIENT_CERT": pki["foreign_cert"],
        "NOMAD_CLIENT_KEY": pki["foreign_key"],
        "NOMAD_TLS_SERVER_NAME": "nomad.internal",
    }
    with pytest.raises(NomadTLSError, match=r"refused the client certificate .*foreign\.pem"):
        fetch_snapshot(mtls_agent.address, env=env, sleep=sleeps)


def test_https_to_a_plain_http_port(agent: NomadStandIn, sleeps: Sleeps) -> None:
    with pytest.raises(NomadTLSError, match=r"does not speak TLS on this port.*use http://127\.0\.0\.1"):
        fetch_snapshot(agent.address.replace("http://", "https://"), sleep=sleeps)


@pytest.mark.parametrize(
    ("setting", "make", "words"),
    [
        (
            "ca_cert",
            lambda d, p: str(d / "missing.pem"),
            r"CA certificate .*missing\.pem \(NOMAD_CACERT / -ca-cert\): "
            "no such file",
        ),
        ("ca_cert", lambda d, p: str(d), "is a directory"),
        ("ca_cert", lambda d, p: _write(d / "junk.pem", "hello"), "holds no PEM certificate"),
        ("ca_path", lambda d, p: str(d / "nope"), r"CA path .*nope \(NOMAD_CAPATH / -ca-path\): no such directory"),
        ("ca_path", lambda d, p: _write(d / "x" / "notes.txt", "hi", parent=True), r"notes\.txt holds no PEM"),
    ],
)
def test_bad_ca_files_are_config_errors(
    tmp_path: Path, pki: dict[str, Any], setting: str, make: Callable[[Path, dict[str, Any]], str], words: str
) -> None:
    value = make(tmp_path, pki)
    if setting == "ca_path" and value.endswith("notes.txt"):
        value = str(Path(value).parent)
    with pytest.raises(ConfigError, match=words) as info:
        build_ssl_context(NomadSettings(**{setting: value}))
    assert info.value.setting == {"ca_cert": "NOMAD_CACERT", "ca_path": "NOMAD_CAPATH"}[setting]


def _write(path: Path, text: str, *, parent: bool = False) -> str:
    if parent:
        path.parent.mkdir()
    path.write_text(text)
    return str(path)


def test_bad_client_certificate_settings(tmp_path: Path, pki: dict[str, Any]) -> None:
    with pytest.raises(ConfigError, match="NOMAD_CLIENT_CERT is set but NOMAD_CLIENT_KEY is not"):
        build_ssl_context(NomadSettings(client_cert=pki["client_cert"]))
    with pytest.raises(ConfigError, match=r"client key .*missing\.pem \(NOMAD_CLIENT_KEY / -client-key\): no such"):
        build_ssl_context(NomadSettings(client_cert=pki["client_cert"], client_key=str(tmp_path / "missing.pem")))
    with pytest.raises(ConfigError, match="does not belong to the client certificate"):
        build_ssl_context(NomadSettings(client_cert=pki["client_cert"], client_key=pki["foreign_key"]))
    with pytest.raises(ConfigError, match="holds no PEM certificate"):
        build_ssl_context(NomadSettings(client_cert=pki["client_key"], client_key=pki["client_key"]))


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root can read any file")
def test_unreadable_ca_file(tmp_path: Path, pki: dict[str, Any]) -> None:
    target = tmp_path / "ca.pem"
    shutil.copy(pki["ca"], target)
    target.chmod(0)
    with pytest.raises(ConfigError, match=r"ca\.pem \(NOMAD_CACERT / -ca-cert\): cannot be read"):
        build_ssl_context(NomadSettings(ca_cert=str(target)))


def test_tls_files_are_checked_before_any_request(sleeps: Sleeps, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="NOMAD_CACERT"):
        fetch_snapshot("https://127.0.0.1:9", env={"NOMAD_CACERT": str(tmp_path / "none.pem")}, sleep=sleeps)


# ---------------------------------------------------------------------------------------------------------------
# Unix socket
# ---------------------------------------------------------------------------------------------------------------


@pytest.fixture
def short_tmp() -> Iterator[Path]:
    # AF_UNIX paths are limited to about 100 bytes; pytest's tmp_path can be longer.
    folder = Path(tempfile.mkdtemp(prefix="nomad-", dir="/tmp"))
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def test_unix_socket(short_tmp: Path, sleeps: Sleeps) -> None:
    path = short_tmp / "nomad.sock"
    with NomadStandIn(unix_socket=path) as agent:
        snap = fetch_snapshot(env={"NOMAD_ADDR": f"unix://{path}", "NOMAD_TOKEN": "tok"}, sleep=sleeps)
    assert len(snap.jobs) == 9 and snap.info.address == f"unix://{path}" and snap.cluster is None
    request = agent.requests_to(ENDPOINT)[0]
    assert request.token == "tok" and request.headers["host"] == "localhost"


def test_missing_unix_socket(short_tmp: Path, sleeps: Sleeps) -> None:
    with pytest.raises(NomadConnectionError, match="no such socket"):
        fetch_snapshot(f"unix://{short_tmp}/absent.sock", sleep=sleeps)


# ---------------------------------------------------------------------------------------------------------------
# Enrichment
# ---------------------------------------------------------------------------------------------------------------


def test_enrichment_collects_nodes_and_allocations(sleeps: Sleeps, tmp_path: Path) -> None:
    with NomadStandIn(tokens={"all": ALL_CAPABILITIES}) as agent:
        snap = _fetch(agent, sleeps, token="all", enrich=True, region="global")
    assert agent.requests_to("/v1/nodes")[0].query == {"region": ["global"]}
    all_nodes, allocations = snap.all_nodes, snap.allocations
    assert all_nodes is not None and allocations is not None
    assert len(all_nodes) == 6 and "client-new-1" in set(all_nodes["name"])
    assert list(all_nodes.columns) == ALL_NODES.names
    for column in ALL_NODES.columns:
        assert str(all_nodes[column.name].dtype) == str(empty_frame(ALL_NODES)[column.name].dtype), column.name
    assert list(allocations.columns) == ALLOCATIONS.names and len(allocations) == 2
    assert set(allocations["client_status"].astype(str)) == {"running"}
    gone = agent.body["VaultTokens"][-1]["AllocID"]
    assert any("1 not found (garbage-collected" in n and gone in n for n in _notes(snap))

    again = load_snapshot(snap.save(tmp_path / "enriched.json.gz"))
    assert again.all_nodes is not None and again.allocations is not None
    pd.testing.assert_frame_equal(again.allocations, allocations)
    saved = orjson.loads(snap.envelope_bytes())
    assert set(saved["enrichment"]["allocations"][0]) == {
        "ID",
        "JobID",
        "Namespace",
        "TaskGroup",
        "NodeID",
        "ClientStatus",
    }


def test_enrichment_degrades_with_notes_when_acls_are_missing(sleeps: Sleeps) -> None:
    with NomadStandIn(tokens={"operator-only": {OPERATOR_READ}}) as agent:
        snap = _fetch(agent, sleeps, token="operator-only", enrich=True)
    assert snap.all_nodes is None and snap.allocations is None and snap.info.nomad_version is None
    notes = "\n".join(_notes(snap))
    assert "token lacks node:read" in notes and "token lacks agent:read" in notes
    assert "2 of 3 lookups answered 403; the token needs read-job" in notes
    assert len(snap.jobs) == 9 and snap.region is None


def test_enrichment_partial_acl(sleeps: Sleeps) -> None:
    with NomadStandIn(tokens={"t": {OPERATOR_READ, READ_JOB, AGENT_READ}}) as agent:
        snap = _fetch(agent, sleeps, token="t", enrich=True)
    assert snap.all_nodes is None and snap.allocations is not None and len(snap.allocations) == 2
    assert snap.info.nomad_version == "1.9.7"


def test_enrichment_on_a_1_10_cluster_has_no_tokens_to_follow(sleeps: Sleeps) -> None:
    with NomadStandIn("post-1.10-stale-sorted.json", tokens={"t": {OPERATOR_READ, NODE_READ}}) as agent:
        snap = _fetch(agent, sleeps, token="t", enrich=True)
    assert snap.allocations is None and snap.all_nodes is not None
    assert not [r for r in agent.requests if r.path.startswith("/v1/allocation/")]


def test_version_note_without_enrichment(sleeps: Sleeps) -> None:
    with NomadStandIn(tokens={"t": {OPERATOR_READ}}) as agent:
        snap = _fetch(agent, sleeps, token="t")
    assert snap.info.nomad_version is None and snap.all_nodes is None
    assert _notes(snap) == [
        "nomad_version: unknown, the token lacks agent:read (GET /v1/agent/self answered 403)",
    ]


def test_allocation_lookups_are_capped(sleeps: Sleeps) -> None:
    with NomadStandIn() as agent:
        snap = _fetch(agent, sleeps, enrich=True, max_allocations=1, workers=1)
    assert len([r for r in agent.requests if r.path.startswith("/v1/allocation/")]) == 1
    assert any("first 1 of 3" in n for n in _notes(snap))


# ---------------------------------------------------------------------------------------------------------------
# Secrets never leak
# ---------------------------------------------------------------------------------------------------------------


def _scenario_agent(name: str, pki: dict[str, Any], stack: list[NomadStandIn]) -> tuple[str, dict[str, str]]:
    """Start what scenario ``name`` needs; return the address and extra environment."""

    def start(**kwargs: Any) -> NomadStandIn:
        agent = NomadStandIn(**kwargs).start()
        stack.append(agent)
        return agent

    if name == "success":
        return start(tokens={PLANTED: ALL_CAPABILITIES}).address, {}
    if name == "forbidden":
        return start(tokens={"other": ALL_CAPABILITIES}).address, {}
    if name == "old-server":
        return start(version="1.6.4").address, {}
    if name == "path-not-found":
        agent = start()
        agent.queue(ENDPOINT, Answer(404, f"Path {ENDPOINT}/x not found"))
        return agent.address, {}
    if name == "unknown-region":
        return start().address, {"NOMAD_REGION": "mars"}
    if name == "no-leader":
        agent = start()
        agent.leader = False
        return agent.address, {}
    if name == "retry-exhausted":
        agent = start()
        agent.queue(ENDPOINT, *[Answer(503, "unavailable")] * 4)
        return agent.address, {}
    if name == "html":
        agent = start()
        agent.queue(ENDPOINT, Answer(200, "<html></html>", {"Content-Type": "text/html"}))
        return agent.address, {}
    if name == "echoing-proxy":
        agent = start()
        agent.queue(ENDPOINT, Answer(502, f"upstream failed for X-Nomad-Token: {PLANTED} auth {PLANTED_PASSWORD}"))
        agent.queue(ENDPOINT, *[Answer(502, f"token {PLANTED}")] * 3)
        return agent.address, {}
    if name == "read-timeout":
        agent = start()
        agent.queue(ENDPOINT, Answer(delay=0.6))
        return agent.address, {}
    if name == "refused":
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        return f"http://127.0.0.1:{port}", {}
    if name == "tls-untrusted":
        return start(tls=_server_context(pki)).address, {"NOMAD_CACERT": pki["stranger_ca"]}
    if name == "tls-name":
        return start(tls=_server_context(pki)).address, {"NOMAD_CACERT": pki["ca"]}
    if name == "mtls-no-cert":
        return start(tls=_server_context(pki, require_client=True)).address, {
            "NOMAD_CACERT": pki["ca"],
            "NOMAD_TLS_SERVER_NAME": "nomad.internal",
        }
    if name == "http-to-https":
        return start(tls=_server_context(pki)).address.replace("https", "http"), {}
    raise AssertionError(name)


SCENARIOS = [
    "success",
    "forbidden",
    "old-server",
    "path-not-found",
    "unknown-region",
    "no-leader",
    "retry-exhausted",
    "html",
    "echoing-proxy",
    "read-timeout",
    "refused",
    "tls-untrusted",
    "tls-name",
    "mtls-no-cert",
    "http-to-https",
]


@pytest.mark.parametrize("via", ["env", "argument"])
@pytest.mark.parametrize("scenario", SCENARIOS)
def test_planted_secrets_never_leak(
    scenario: str, via: str, pki: dict[str, Any], sleeps: Sleeps, caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    stack: list[NomadStandIn] = []
    caplog.set_level(logging.DEBUG)
    try:
        address, env = _scenario_agent(scenario, pki, stack)
        # The password travels in the address, where it is easiest to leak.
        address = address.replace("://", f"://ops:{PLANTED_PASSWORD}@")
        env = {**env, "NOMAD_ADDR": address}
        token = None
        if via == "env":
            env["NOMAD_TOKEN"] = PLANTED
        else:
            token = PLANTED
        settings = NomadSettings.resolve(token=token, read_timeout=0.3, env=env)
        texts = [repr(settings), str(settings)]
        try:
            snap = fetch_snapshot(settings=settings, enrich=True, sleep=sleeps)
        except ReadinessError as exc:
            assert scenario != "success", exc
            assert isinstance(exc, NomadError)
            texts += [str(exc), repr(exc), "".join(traceback.format_exception(exc)), repr(vars(exc))]
            assert str(exc).startswith(settings.address) and "\n" not in str(exc)
        else:
            assert scenario == "success"
            texts.append(snap.save(tmp_path / "snap.json").read_text())
            texts.append(repr(snap) + repr(snap.info))
        texts.append(caplog.text)
        texts += [record.getMessage() for record in caplog.records]
        for text in texts:
            assert PLANTED not in text
            assert PLANTED_PASSWORD not in text
        assert stack == [] or all(r.token == PLANTED for a in stack for r in a.requests)
    finally:
        for agent in stack:
            agent.stop()


# -- secrets that come back from the agent or a proxy -------------------------------------------------------------

#: A password whose basic-auth base64 differs between the standard and the URL-safe alphabet.
ODD_PASSWORD = "pl4nted>>>p4ss???w0rd"


PASSWORD_IN_URL = "pl4nted%3Ep4ss%3Fw0rd"


def _leaked(text: str, *secrets: str) -> list[str]:
    """Every 8-character piece of a secret that shows in ``text`` (a partial secret is a leak too)."""
    return [s[i : i + 8] for s in secrets for i in range(len(s) - 7) if s[i : i + 8] in text]


def _secret_settings(agent: NomadStandIn, password: str = ODD_PASSWORD) -> NomadSettings:
    return NomadSettings.resolve(agent.address, token=PLANTED, http_auth=("ops", password), retries=0, env={})


def _basic(password: str) -> tuple[str, str]:
    raw = f"ops:{password}".encode()
    return base64.b64encode(raw).decode(), base64.urlsafe_b64encode(raw).decode()


@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_a_redirect_shows_only_scheme_host_port_and_path(agent: NomadStandIn, sleeps: Sleeps, status: int) -> None:
    location = f"https://ops:{PASSWORD_IN_URL}@Evil.example:8443/v1/{PLANTED}/x?token={PLANTED}&a=b#frag"
    agent.queue(ENDPOINT, Answer(status, "", {"Location": location}))
    with pytest.raises(NomadHTTPError) as caught:
        fetch_snapshot(settings=_secret_settings(agent), sleep=sleeps)
    message = str(caught.value)
    assert "redirecting to https://evil.example:8443/v1/<redacted>/x;" in message
    assert not _leaked(message, PLANTED, PASSWORD_IN_URL)
    assert "token=" not in message and "ops" not in message and "frag" not in message


@pytest.mark.parametrize(
    ("location", "shown"),
    [("", "(no Location)"), ("http://[::1/x", "(an unparsable Location)"), ("/ui/?t=1", "/ui/")],
)
def test_odd_redirect_locations(agent: NomadStandIn, sleeps: Sleeps, location: str, shown: str) -> None:
    agent.queue(ENDPOINT, Answer(302, "", {"Location": location} if location else {}))
    with pytest.raises(NomadHTTPError, match=f"redirecting to {re.escape(shown)};"):
        fetch_snapshot(settings=_secret_settings(agent), sleep=sleeps)


def _echo_body(password: str = ODD_PASSWORD) -> str:
    standard, urlsafe = _basic(password)
    return (
        "Internal error. Your request:\n"
        f"Authorization: Basic {standard}\n"
        f"X-Nomad-Token: {PLANTED}\n"
        "Cookie: session=0123456789abcdef\n"
        f'{{"proxy-authorization": "Bearer {PLANTED}"}}\n'
        f"seen: {urlsafe} and {standard.rstrip('=')} and bearer {PLANTED} and {password}\n"
        "User-Agent: nomad-wi-readiness\n"
    )


@pytest.mark.parametrize("status", [401, 403, 418, 500, 502])
def test_echoed_credentials_are_redacted_in_messages(agent: NomadStandIn, sleeps: Sleeps, status: int) -> None:
    agent.queue(ENDPOINT, Answer(status, _echo_body()))
    with pytest.raises(NomadHTTPError) as caught:
        fetch_snapshot(settings=_secret_settings(agent), sleep=sleeps)
    for text in (str(caught.value), caught.value.body, repr(caught.value)):
        assert not _leaked(text, PLANTED, ODD_PASSWORD, *_basic(ODD_PASSWORD)), text
        assert "0123456789abcdef" not in text
    assert "\n" not in str(caught.value)
    if status != 403:
        assert "User-Agent: nomad-wi-readiness" in caught.value.body  # the rest of the body is kept


def test_echoed_credentials_are_redacted_in_stored_notes(agent: NomadStandIn, sleeps: Sleeps) -> None:
    agent.queue("/v1/agent/self", Answer(500, _echo_body()))
    agent.queue("/v1/nodes", Answer(500, _echo_body()))
    snap = fetch_snapshot(settings=_secret_settings(agent), sleep=sleeps, enrich=True)
    saved = snap.envelope_bytes().decode()
    failed = [n for n in _notes(snap) if "failed" in n]
    assert len(failed) == 2 and all("<redacted>" in n for n in failed)
    assert not _leaked(saved, PLANTED, ODD_PASSWORD, *_basic(ODD_PASSWORD))


def test_a_secret_cut_by_the_body_limit_is_redacted(agent: NomadStandIn, sleeps: Sleeps) -> None:
    # The first read of the body ends inside the token; the message's 500-character cut ends inside another.
    scan = 64 * 1024
    agent.queue(ENDPOINT, Answer(500, "\n" * (scan - 20) + "token=" + PLANTED))
    agent.queue(ENDPOINT, Answer(500, "x" * 490 + " " + PLANTED))
    for _ in range(2):
        with pytest.raises(NomadHTTPError) as caught:
            fetch_snapshot(settings=_secret_settings(agent), sleep=sleeps)
        assert not _leaked(str(caught.value), PLANTED), str(caught.value)
        assert "<redac" in str(caught.value)


def test_a_password_with_runs_of_whitespace_is_redacted(agent: NomadStandIn, sleeps: Sleeps) -> None:
    password = "correct  horse\tbattery"
    agent.queue(ENDPOINT, Answer(502, f"upstream refused credentials: ops:{password}; also {password}"))
    with pytest.raises(NomadHTTPError) as caught:
        fetch_snapshot(settings=_secret_settings(agent, password), sleep=sleeps)
    assert "horse" not in str(caught.value) and "horse" not in caught.value.body
    assert "upstream refused credentials: <redacted>; also <redacted>" in str(caught.value)


def test_only_allowlisted_nomad_headers_are_stored(agent: NomadStandIn, sleeps: Sleeps) -> None:
    headers = {
        "X-Nomad-Index": "20",
        "X-Nomad-Knownleader": "true",
        "X-Nomad-Lastcontact": f"0{PLANTED}",
        "X-Nomad-Token": PLANTED,
        "X-Nomad-Echo-Authorization": f"Basic {_basic(ODD_PASSWORD)[0]}",
        "X-Nomad-Other": "kept nowhere",
    }
    agent.queue(ENDPOINT, Answer(200, agent.body, headers))
    snap = fetch_snapshot(settings=_secret_settings(agent), sleep=sleeps)
    envelope = orjson.loads(snap.envelope_bytes())
    assert envelope["headers"] == {"X-Nomad-Index": "20", "X-Nomad-KnownLeader": "true"}
    assert not _leaked(snap.envelope_bytes().decode(), PLANTED, *_basic(ODD_PASSWORD))


@pytest.mark.parametrize(
    ("where", "value", "field"),
    [
        ("header", "9" * 30, "X-Nomad-Index"),
        ("header", "18446744073709551616", "X-Nomad-Index"),
        ("header", "-5", "X-Nomad-Index"),
        ("header", "abc", "X-Nomad-Index"),
        ("header", "-1", "X-Nomad-LastContact"),
        ("body", 18446744073709551616, "Index"),
        ("body", -1, "Index"),
        ("body", 1.5, "Index"),
        ("body", "7", "Index"),
    ],
)
def test_an_index_out_of_range_fails_clearly(
    agent: NomadStandIn, sleeps: Sleeps, tmp_path: Path, where: str, value: Any, field: str
) -> None:
    body = dict(agent.body)
    headers = {}
    if where == "header":
        headers[field] = value
    else:
        body[field] = value
    agent.queue(ENDPOINT, Answer(200, body, headers))
    with pytest.raises(NomadResponseError, match=rf"the {where} (field )?{field} of .* not a whole number") as caught:
        fetch_snapshot(agent.address, sleep=sleeps)
    assert "\n" not in str(caught.value)


def test_the_largest_index_is_kept_and_read_back(agent: NomadStandIn, sleeps: Sleeps, tmp_path: Path) -> None:
    body = {**agent.body, "Index": 2**64 - 1}
    agent.queue(ENDPOINT, Answer(200, body, {"X-Nomad-Index": str(2**64 - 1)}))
    snap = fetch_snapshot(agent.address, sleep=sleeps)
    path = snap.save(tmp_path / "max.json")
    assert load_snapshot(path).info.index == 2**64 - 1


# -- enrichment pagination ------------------------------------------------------------------------------------------


def test_a_repeating_next_token_stops_paging_and_nodes_count_once(agent: NomadStandIn, sleeps: Sleeps) -> None:
    page = agent.nodes[:2]
    agent.queue("/v1/nodes", *[Answer(200, page, {"X-Nomad-NextToken": "same"}) for _ in range(5)])
    snap = _fetch(agent, sleeps, enrich=True)
    assert len(agent.requests_to("/v1/nodes")) == 2
    assert snap.all_nodes is not None and len(snap.all_nodes) == 2
    notes = _notes(snap)
    assert any("repeated the page token after 2 pages" in n for n in notes)
    assert any("2 repeated node entries (same ID) were dropped" in n for n in notes)


def test_node_paging_is_capped(agent: NomadStandIn, sleeps: Sleeps, monkeypatch: pytest.MonkeyPatch) -> None:
    assert client_module._MAX_NODE_PAGES == 100
    monkeypatch.setattr(client_module, "_MAX_NODE_PAGES", 5)  # keeps the test fast
    agent.queue("/v1/nodes", *[Answer(200, agent.nodes[:1], {"X-Nomad-NextToken": f"t{i}"}) for i in range(10)])
    snap = _fetch(agent, sleeps, enrich=True)
    assert len(agent.requests_to("/v1/nodes")) == 5
    assert snap.all_nodes is not None and len(snap.all_nodes) == 1
    assert any("stopped after 5 pages" in n for n in _notes(snap))
    assert agent.requests_to("/v1/nodes")[1].query["next_token"] == ["t0"]


# -- invalid addresses and server names -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("http://[::1", "not a valid URL"),
        ("http://xn--zz.invalid", "invalid host name (Invalid A-label)"),
        ("http://" + "a" * 300 + ".example:4646", "invalid host name"),
        ("http://" + ".".join(["abcdefgh"] * 40) + ":4646", "invalid host name"),
        ("http://a..b:4646", "invalid host name"),
    ],
)
def test_an_invalid_address_is_a_config_error(address: str, reason: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(reason)) as caught:
        NomadSettings.resolve(env={"NOMAD_ADDR": address})
    message = str(caught.value)
    assert "NOMAD_ADDR / --address" in message and "e.g. https://nomad.example:4646" in message
    assert caught.value.exit_code == 2 and caught.value.setting == "NOMAD_ADDR" and len(message) < 400


@pytest.mark.parametrize(
    "address", ["http://bücher.example:4646", "nomad_1.internal:4646", "http://[::1]:4646", "host.:1"]
)
def test_unusual_but_valid_addresses_are_accepted(address: str) -> None:
    assert NomadSettings.resolve(env={"NOMAD_ADDR": address}).host


@pytest.mark.parametrize("name", ["..", ".", "a" * 300, "server..nomad", "xn--zz.nomad", " server.global.nomad"])
def test_an_invalid_tls_server_name_is_a_config_error(name: str) -> None:
    with pytest.raises(ConfigError, match=r"NOMAD_TLS_SERVER_NAME / --tls-server-name .* e\.g\. server\.global\.nomad"):
        NomadSettings.resolve(env={"NOMAD_TLS_SERVER_NAME": name})


def test_a_valid_tls_server_name_is_kept() -> None:
    assert NomadSettings.resolve(tls_server_name="server.global.nomad.", env={}).tls_server_name == (
        "server.global.nomad."
    )


# -- token files ----------------------------------------------------------------------------------------------------


def test_a_device_as_token_file_is_refused_at_once() -> None:
    with pytest.raises(ConfigError, match=r"token file /dev/zero: is not a regular file") as caught:
        NomadSettings.resolve(token_file="/dev/zero", env={})
    assert caught.value.exit_code == 2


def test_a_huge_token_file_is_refused(tmp_path: Path) -> None:
    big = tmp_path / "big"
    big.write_bytes(b"a" * (64 * 1024 + 1))
    with pytest.raises(ConfigError, match=r"is larger than 64 KiB"):
        NomadSettings.resolve(token_file=big, env={})


def test_a_pipe_as_token_file_is_read(tmp_path: Path) -> None:
    read_end, write_end = os.pipe()
    os.write(write_end, f"{PLANTED}\n".encode())
    os.close(write_end)
    try:
        assert NomadSettings.resolve(token_file=f"/dev/fd/{read_end}", env={}).token == PLANTED
    finally:
        os.close(read_end)


# -- total deadline and size cap -------------------------------------------------------------------------------------


def test_an_agent_dripping_bytes_hits_the_total_deadline(agent: NomadStandIn, sleeps: Sleeps) -> None:
    agent.queue(ENDPOINT, Answer(200, orjson.dumps(agent.body), {"Content-Type": "application/json"}, drip=0.02))
    settings = NomadSettings.resolve(agent.address, read_timeout=5, total_timeout=0.5, env={})
    started = time.monotonic()
    with pytest.raises(
        NomadConnectionError, match=r"did not finish answering within 0\.5 s \(total deadline"
    ) as caught:
        fetch_snapshot(settings=settings, sleep=sleeps)
    assert time.monotonic() - started < 3
    assert "\n" not in str(caught.value) and sleeps == []  # not retried


def test_the_default_total_deadline() -> None:
    assert NomadSettings.resolve(env={}).deadline_seconds == 120  # 4 x the 30 s read timeout
    assert NomadSettings.resolve(read_timeout=5, env={}).deadline_seconds == 60
    assert NomadSettings.resolve(total_timeout=7, env={}).deadline_seconds == 7
    assert NomadSettings.resolve(env={}).max_response_bytes == 2 * 1024**3
    with pytest.raises(ConfigError, match="total_timeout must be a positive number"):
        NomadSettings.resolve(total_timeout=0, env={})
    with pytest.raises(ConfigError, match="max_response_bytes must be a whole number"):
        NomadSettings.resolve(max_response_bytes=-1, env={})


def test_a_gzip_bomb_is_an_answer_too_large(agent: NomadStandIn, sleeps: Sleeps) -> None:
    bomb = gzip.compress(b'{"OutdatedNodes": [] ' + b" " * (8 * 1024 * 1024) + b"}")
    assert len(bomb) < 100_000
    agent.queue(ENDPOINT, Answer(200, bomb, {"Content-Type": "application/json", "Content-Encoding": "gzip"}))
    settings = NomadSettings.resolve(agent.address, max_response_bytes=2 * 1024 * 1024, env={})
    with pytest.raises(NomadResponseError, match=r"answer too large \(over 2 MiB decompressed\)"):
        fetch_snapshot(settings=settings, sleep=sleeps)


def test_a_big_answer_is_too_large_as_sent(agent: NomadStandIn, sleeps: Sleeps) -> None:
    agent.queue(ENDPOINT, Answer(200, b" " * (3 * 1024 * 1024), {"Content-Type": "application/json"}))
    settings = NomadSettings.resolve(agent.address, max_response_bytes=2 * 1024 * 1024, env={})
    with pytest.raises(NomadResponseError, match=r"answer too large \(over 2 MiB as sent\)"):
        fetch_snapshot(settings=settings, sleep=sleeps)


def test_a_gzip_answer_within_the_cap_is_read(agent: NomadStandIn, sleeps: Sleeps) -> None:
    packed = gzip.compress(orjson.dumps(agent.body))
    agent.queue(ENDPOINT, Answer(200, packed, {"Content-Type": "application/json", "Content-Encoding": "gzip"}))
    snap = fetch_snapshot(agent.address, sleep=sleeps)
    assert snap.info.index == agent.body["Index"]


def test_a_broken_gzip_answer_fails_clearly(agent: NomadStandIn, sleeps: Sleeps) -> None:
    agent.queue(ENDPOINT, Answer(200, b"not gzip at all", {"Content-Encoding": "gzip"}))
    with pytest.raises(NomadResponseError, match="cannot be decompressed"):
        fetch_snapshot(agent.address, sleep=sleeps)
