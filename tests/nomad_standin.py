"""A Nomad agent stand-in: a real HTTP server on loopback (or a unix socket) that answers like Nomad.

It serves the endpoint, ``/v1/regions``, ``/v1/agent/self``, ``/v1/nodes`` and ``/v1/allocation/:id`` with
Nomad's status codes, plain-text error bodies and ``X-Nomad-*`` headers (ENDPOINT.md §2), enforces per-path ACL
capabilities when tokens are configured, and records every request so tests can check the headers and
parameters that were sent. Tests script failures by queueing canned answers per path.

Header names go out as Go writes them: ``http.Header.Set`` canonicalises ``X-Nomad-KnownLeader`` to
``X-Nomad-Knownleader`` on the wire.

Example::

    with NomadStandIn() as agent:
        agent.queue(ENDPOINT, Answer(503, "busy"))
        fetch_snapshot(agent.address)
"""

from __future__ import annotations

import contextlib
import http.server
import json
import os
import socket
import socketserver
import ssl
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

FIXTURES = Path(__file__).parent / "fixtures"
ENDPOINT = "/v1/operator/upgrade-check/vault-workload-identity"

#: Capabilities the stand-in's ACL knows, by path.
OPERATOR_READ = "operator:read"
NODE_READ = "node:read"
AGENT_READ = "agent:read"
READ_JOB = "read-job"
ALL_CAPABILITIES = frozenset({OPERATOR_READ, NODE_READ, AGENT_READ, READ_JOB})


@dataclass
class Answer:
    """A canned answer: status, body (str, bytes, or JSON-able), headers, and an optional delay first.

    ``drip`` > 0 sends the body one byte at a time, that many seconds apart (a slowloris agent).
    """

    status: int = 200
    body: Any = ""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    drip: float = 0.0


@dataclass
class Received:
    """One request as the stand-in saw it."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-case names

    @property
    def token(self) -> str | None:
        return self.headers.get("x-nomad-token")


def _sample_nodes(body: dict[str, Any]) -> list[dict[str, Any]]:
    keys = (
        "ID",
        "Name",
        "Address",
        "Datacenter",
        "NodePool",
        "NodeClass",
        "Status",
        "StatusDescription",
        "SchedulingEligibility",
        "Drain",
        "Version",
        "Drivers",
        "CreateIndex",
        "ModifyIndex",
    )
    nodes = [{k: n.get(k) for k in keys} for n in body.get("OutdatedNodes") or []]
    nodes.append(
        {
            "ID": "0d1c2b3a-4f5e-4a6b-8c7d-9e0f1a2b3c4d",
            "Name": "client-new-1",
            "Address": "10.0.9.1",
            "Datacenter": "dc1",
            "NodePool": "default",
            "NodeClass": "",
            "Status": "ready",
            "StatusDescription": "",
            "SchedulingEligibility": "eligible",
            "Drain": False,
            "Version": "1.9.7",
            "Drivers": {},
            "CreateIndex": 90,
            "ModifyIndex": 91,
        }
    )
    return nodes


def _sample_allocations(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Full-looking allocations for all but the last token's AllocID (that one is "garbage-collected")."""
    ids = [t["AllocID"] for t in body.get("VaultTokens") or []]
    allocs = {}
    for i, alloc_id in enumerate(ids[:-1]):
        allocs[alloc_id] = {
            "ID": alloc_id,
            "EvalID": "e",
            "Name": f"job-{i}.web[0]",
            "Namespace": "default",
            "NodeID": f"node-{i}",
            "JobID": f"job-{i}",
            "Job": {"ID": f"job-{i}", "TaskGroups": []},
            "TaskGroup": "web",
            "DesiredStatus": "run",
            "ClientStatus": "running",
            "TaskStates": {},
            "CreateIndex": 100 + i,
            "ModifyIndex": 200 + i,
        }
    return allocs


class NomadStandIn:
    """A threaded HTTP server on 127.0.0.1 (port 0) or a unix socket that answers like a Nomad agent.

    Args:
        fixture: the endpoint body, a file name under ``tests/fixtures``.
        tls: a server-side SSL context; plain HTTP on the TLS port gets Go's 400 answer.
        unix_socket: serve on this unix socket path instead of TCP.
        tokens: token -> capabilities. None turns ACLs off (everything allowed, as in Nomad).
        version: the agent's Nomad version; below 1.7.3 the endpoint is missing (empty 404).
        regions: the regions the cluster knows; the first is the agent's own.
    """

    def __init__(
        self,
        fixture: str = "edge-cases.json",
        *,
        tls: ssl.SSLContext | None = None,
        unix_socket: str | os.PathLike[str] | None = None,
        tokens: dict[str, frozenset[str] | set[str]] | None = None,
        version: str = "1.9.7",
        regions: tuple[str, ...] = ("global", "eu-west"),
    ) -> None:
        self.body: dict[str, Any] = json.loads((FIXTURES / fixture).read_text())
        self.tls = tls
        self.unix_socket = str(unix_socket) if unix_socket is not None else None
        self.tokens = tokens
        self.version = version
        self.regions = regions
        self.leader = True
        self.nodes = _sample_nodes(self.body)
        self.allocations = _sample_allocations(self.body)
        self.requests: list[Received] = []
        self._queues: dict[str, list[Answer]] = {}
        self._lock = threading.Lock()
        self._server: socketserver.BaseServer | None = None
        self._thread: threading.Thread | None = None
        self._address: str | None = None

    # -- scripting --------------------------------------------------------------------------------------------
    def queue(self, path: str, *answers: Answer) -> None:
        """Answer the next requests to ``path`` with ``answers``, in order, before the normal behaviour."""
        with self._lock:
            self._queues.setdefault(path, []).extend(answers)

    def requests_to(self, path: str) -> list[Received]:
        return [r for r in self.requests if r.path == path]

    @property
    def address(self) -> str:
        """The agent's address (kept after stop(), for assertions about messages)."""
        if self._address is not None:
            return self._address
        assert self._server is not None
        if self.unix_socket is not None:
            return f"unix://{self.unix_socket}"
        host, port = self._server.server_address[:2]  # type: ignore[misc]
        return f"{'https' if self.tls else 'http'}://{host}:{port}"

    # -- lifecycle --------------------------------------------------------------------------------------------
    def start(self) -> NomadStandIn:
        handler = _make_handler(self)
        server: socketserver.BaseServer
        if self.unix_socket is not None:
            server = _UnixServer(self.unix_socket, handler)
        else:
            server = _TCPServer(("127.0.0.1", 0), handler, self.tls)
        self._server = server
        self._address = self.address
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="nomad-standin", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> NomadStandIn:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- behaviour --------------------------------------------------------------------------------------------
    def answer(self, method: str, path: str, query: dict[str, list[str]], token: str | None) -> Answer:
        with self._lock:
            queued = self._queues.get(path)
            if queued:
                return queued.pop(0)
        if method != "GET":
            return Answer(405, "Invalid method")
        region = (query.get("region") or [None])[0]
        if region and region not in self.regions:
            return Answer(500, "No path to region")
        if path == "/v1/regions":
            return Answer(200, list(self.regions))
        if path == "/v1/agent/self":
            return self._guarded(token, AGENT_READ) or Answer(200, self._agent_self())
        if path.startswith("/v1/operator/upgrade-check/"):
            if _version_tuple(self.version) < (1, 7, 3):
                return Answer(404, "")  # handleRootFallthrough
            if not path.endswith("/vault-workload-identity"):
                return Answer(404, f"Path {path} not found")
            return self._guarded(token, OPERATOR_READ) or self._leader_read(query) or self._endpoint_answer()
        if path == "/v1/nodes":
            return self._guarded(token, NODE_READ) or self._leader_read(query) or Answer(200, self.nodes)
        if path.startswith("/v1/allocation/"):
            alloc = self.allocations.get(path.rsplit("/", 1)[1])
            if alloc is None:
                return Answer(404, "alloc not found")
            return self._guarded(token, READ_JOB) or Answer(200, alloc)
        return Answer(404, "")  # the agent's root handler: an empty 404 for anything unknown

    def _guarded(self, token: str | None, capability: str) -> Answer | None:
        if self.tokens is None:
            return None
        if token is None or capability not in self.tokens.get(token, ()):
            return Answer(403, "Permission denied")
        return None

    def _leader_read(self, query: dict[str, list[str]]) -> Answer | None:
        if self.leader or "stale" in query:
            return None
        return Answer(500, "rpc error: No cluster leader")

    def _endpoint_answer(self) -> Answer:
        index = self.body.get("Index", 1)
        headers = {
            "X-Nomad-Index": str(index),
            # Go's canonical spelling of X-Nomad-KnownLeader / X-Nomad-LastContact.
            "X-Nomad-Knownleader": "true" if self.body.get("KnownLeader", True) else "false",
            "X-Nomad-Lastcontact": str(int(self.body.get("LastContact", 0)) // 1_000_000),
        }
        return Answer(200, self.body, headers)

    def _agent_self(self) -> dict[str, Any]:
        number, _, rest = self.version.partition("-")
        pre, _, meta = rest.partition("+")
        if "+" in number:
            number, meta = number.split("+", 1)
        return {
            "config": {
                "Region": self.regions[0],
                "Datacenter": "dc1",
                "Version": {
                    "Revision": "abc",
                    "Version": number,
                    "VersionPrerelease": pre,
                    "VersionMetadata": meta,
                    "BuildDate": "2025-04-09T16:40:54Z",
                },
            },
            "member": {"Name": "server-1.global", "Tags": {"region": self.regions[0], "build": self.version}},
            "stats": {},
        }


def _version_tuple(version: str) -> tuple[int, ...]:
    return tuple(int(p) for p in version.split("-")[0].split("+")[0].split("."))


def _make_handler(agent: NomadStandIn) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "NomadStandIn"

        def do_GET(self) -> None:
            self._handle()

        def do_PUT(self) -> None:
            self._handle()

        def do_POST(self) -> None:
            self._handle()

        def _handle(self) -> None:
            parts = urlsplit(self.path)
            query = parse_qs(parts.query, keep_blank_values=True)
            headers = {k.lower(): v for k, v in self.headers.items()}
            agent.requests.append(Received(self.command, parts.path, query, headers))
            answer = agent.answer(self.command, parts.path, query, headers.get("x-nomad-token"))
            if answer.delay:
                time.sleep(answer.delay)
            if isinstance(answer.body, bytes):
                data = answer.body
            elif isinstance(answer.body, str):
                data = answer.body.encode()
            else:
                data = json.dumps(answer.body).encode()
            self.send_response(answer.status)
            names = {k.lower() for k in answer.headers}
            if "content-type" not in names and data:
                json_like = not isinstance(answer.body, str | bytes)
                self.send_header("Content-Type", "application/json" if json_like else "text/plain; charset=utf-8")
            for name, value in answer.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            with contextlib.suppress(OSError):  # the client gave up (read-timeout tests)
                if not answer.drip:
                    self.wfile.write(data)
                    return
                for i in range(len(data)):
                    self.wfile.write(data[i : i + 1])
                    self.wfile.flush()
                    time.sleep(answer.drip)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


class _TCPServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self, address: tuple[str, int], handler: Any, tls: ssl.SSLContext | None) -> None:
        self.tls = tls
        super().__init__(address, handler)

    def finish_request(self, request: Any, client_address: Any) -> None:
        if self.tls is None:
            return super().finish_request(request, client_address)
        # Like Go's net/http: look at the first byte; a TLS handshake starts with 0x16, anything else is
        # plain HTTP and gets Go's fixed 400 answer.
        request.settimeout(5)
        try:
            first = request.recv(1, socket.MSG_PEEK)
        except OSError:
            return None
        if first != b"\x16":
            request.sendall(b"HTTP/1.0 400 Bad Request\r\n\r\nClient sent an HTTP request to an HTTPS server.\n")
            return None
        try:
            tls_socket = self.tls.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError):
            return None  # the client refused our certificate, or sent none when one is required
        try:
            super().finish_request(tls_socket, client_address)
        except (ssl.SSLError, OSError):
            pass  # with TLS 1.3 a refused client certificate shows up at the first read
        finally:
            tls_socket.close()
        return None


class _UnixServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True
    block_on_close = False

    def get_request(self) -> tuple[Any, Any]:
        request, _ = super().get_request()
        # BaseHTTPRequestHandler formats client_address[0]; a unix peer has no address.
        return request, ("unix", 0)
