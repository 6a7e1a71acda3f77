"""Deterministic generator of realistic ``vault-workload-identity`` upgrade-check responses.

The bodies look exactly like what a Nomad 1.7.3–1.9 release build sends (or 1.10+ with ``post_1_10=True``):
keys in Go source order, the ``omitempty`` keys present as ``null``, jobs sorted by (namespace, ID), nodes by
ID and tokens by accessor, byte-wise. The contents have the variety and skew of a large cluster: many
namespaces with a long tail, periodic and dispatched children, datacenter globs, stopped and dead jobs,
outdated client versions (only versions Nomad counts as outdated), drivers with dotted attribute keys, times
in the clients' own offsets, and tokens that mostly sit on the listed nodes.

Everything comes from :class:`random.Random` instances seeded from ``seed``: the same arguments always give
byte-identical output. The three lists use separate streams, so changing ``tokens`` leaves the jobs and the
nodes as they were.

Examples:
    >>> body = generate_body(jobs=20, nodes=5, tokens=8, seed=1)
    >>> list(body)  # doctest: +NORMALIZE_WHITESPACE
    ['JobsWithoutVaultIdentity', 'OutdatedNodes', 'VaultTokens',
     'Index', 'LastContact', 'KnownLeader', 'NextToken']
    >>> len(body["JobsWithoutVaultIdentity"]), len(body["OutdatedNodes"]), len(body["VaultTokens"])
    (20, 5, 8)
    >>> generate_bytes(20, 5, 8, seed=1) == generate_bytes(20, 5, 8, seed=1)
    True
    >>> generate_body(3, 2, 5, post_1_10=True)["VaultTokens"] is None
    True

Command line::

    python -m analysis.generate --jobs 10000 --nodes 5000 --tokens 30000 --seed 0 -o snapshot.json.gz
"""

from __future__ import annotations

import argparse
import bisect
import calendar
import gzip
import itertools
import os
import random
import sys
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

from analysis.files import atomic_write

__all__ = ["generate_body", "generate_bytes", "main", "write_snapshot_file"]


# --- the cluster's clock --------------------------------------------------------------------------
#: The cluster was bootstrapped at this time (Unix seconds, UTC) ...
_T0 = calendar.timegm((2024, 1, 2, 9, 0, 0))
#: ... and the snapshot is taken at this time. Fixed, so the output never depends on the wall clock.
_NOW = calendar.timegm((2025, 11, 24, 16, 30, 0))
#: Raft index at bootstrap and the average number of Raft writes per second since then.
_BASE_INDEX = 100
_WRITES_PER_SECOND = 0.05
_DAY = 86_400


def _index_at(t: float) -> int:
    """The Raft index the cluster had reached at Unix time ``t``."""
    return _BASE_INDEX + int((t - _T0) * _WRITES_PER_SECOND)


_NOW_INDEX = _index_at(_NOW)


class _Picker:
    """Fast weighted choice over a fixed population (precomputed cumulative weights)."""

    __slots__ = ("_cum", "_total", "population")

    def __init__(self, weighted: Sequence[tuple[Any, float]]) -> None:
        self.population = [value for value, _ in weighted]
        self._cum = list(itertools.accumulate(weight for _, weight in weighted))
        self._total = self._cum[-1]

    def __call__(self, rng: random.Random) -> Any:
        return self.population[bisect.bisect_right(self._cum, rng.random() * self._total)]


def _uuid(rng: random.Random) -> str:
    h = f"{rng.getrandbits(128):032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def _nanos(rng: random.Random, low: int = 0, high: int = 1_000_000_000) -> int:
    """Nanoseconds in [low, high) whose last digit is not zero (so a float round trip would show)."""
    ns = rng.randrange(low, high - 9)
    if ns % 10 == 0:
        ns += rng.randint(1, 9)
    return ns


def _skewed_time(rng: random.Random, start: float, end: float, power: float) -> int:
    """A Unix second in [start, end]; ``power`` < 1 skews towards ``end`` (recent), > 1 towards ``start``."""
    return int(end - (end - start) * rng.random() ** (1.0 / power))


# --- jobs -----------------------------------------------------------------------------------------
_MAIN_NAMESPACES = [
    ("default", 30.0),
    ("platform", 12.0),
    ("team-a", 10.0),
    ("team-b", 8.0),
    ("team-c", 6.5),
    ("team-d", 5.0),
    ("team-e", 4.0),
    ("team-f", 3.0),
]
_TAIL_NAMESPACES = [
    "payments", "search", "data-eng", "ml-research", "observability", "security", "mobile-backend", "growth",
    "finance", "qa", "sandbox", "identity", "ledger", "risk", "marketing-tools", "support", "edge-services",
    "analytics", "infra-tools", "legacy",
]  # fmt: skip

_SERVICES = [
    "api", "web", "auth", "billing", "payments", "search", "indexer", "ingest", "etl", "report", "cache",
    "queue", "mailer", "notifier", "scheduler", "gateway", "proxy", "metrics", "logs", "backup", "cleanup",
    "sync", "export", "import", "render", "thumbnail", "ml-train", "feature-store", "ledger", "invoice",
    "checkout", "cart", "catalog", "inventory", "pricing", "recommend", "session", "user", "profile", "audit",
    "geo", "fraud", "kyc", "pdf", "webhook", "ratelimit", "config", "secrets-sync", "prometheus", "grafana",
    "loki", "vector", "redis", "postgres", "kafka-connect", "elastic", "minio", "consul-esm", "traefik",
]  # fmt: skip
_ROLES = _Picker(
    [("", 6), ("worker", 5), ("server", 3), ("consumer", 3), ("producer", 2), ("frontend", 2), ("backend", 2),
     ("sidecar", 1), ("exporter", 2), ("migrator", 1), ("agent", 1), ("proxy", 1), ("v2", 1), ("canary", 0.5)]
)  # fmt: skip
_ENV_SUFFIX = _Picker([("", 10), ("-prod", 3), ("-staging", 2), ("-dev", 1), ("-eu", 1), ("-us", 1)])
_PERIODIC_SUFFIX = _Picker([("nightly", 3), ("hourly", 3), ("cron", 3), ("daily", 2), ("weekly", 1), ("sweep", 1)])
_PARAM_SUFFIX = _Picker([("dispatch", 3), ("job", 2), ("task", 2), ("render", 1), ("oneshot", 1)])

_REGULAR_TYPE = _Picker([("service", 56), ("batch", 29), ("system", 10), ("sysbatch", 5)])
_STATUS = {
    "service": _Picker([("running", 82), ("pending", 8), ("dead", 10)]),
    "batch": _Picker([("running", 40), ("pending", 15), ("dead", 45)]),
    "system": _Picker([("running", 90), ("pending", 5), ("dead", 5)]),
    "sysbatch": _Picker([("running", 30), ("pending", 10), ("dead", 60)]),
}
_PRIORITY = {
    "service": _Picker([(50, 70), (60, 8), (70, 8), (80, 6), (100, 3), (40, 5)]),
    "batch": _Picker([(50, 60), (30, 15), (20, 10), (10, 5), (70, 5), (90, 5)]),
    "system": _Picker([(70, 30), (80, 25), (90, 15), (100, 20), (50, 10)]),
    "sysbatch": _Picker([(50, 50), (60, 20), (80, 20), (100, 10)]),
}
_JOB_POOL = _Picker([("default", 80), ("ci", 7), ("gpu", 5), ("edge", 4), ("billing", 2), ("analytics", 2)])
_DATACENTERS = _Picker(
    [(("*",), 34), (("dc*",), 11), (("us-east-*", "eu-west-1"), 6), (("dc1",), 12), (("dc1", "dc2"), 10),
     (("dc2", "dc3"), 4), (("us-east-1a", "us-east-1b"), 6), (("eu-west-1",), 4), (("dc1", "dc2", "dc3"), 4),
     (("us-*",), 2), (("ap-south-1",), 2), (("dc4",), 1), (("dc1", "eu-west-1", "us-east-1a"), 2)]
)  # fmt: skip
_EDGE_DATACENTERS = _Picker([(("edge-*",), 5), (("edge-dc1",), 3), (("edge-dc1", "edge-dc2"), 2), (("*",), 2)])
_MULTIREGION_NAMES = ["us-east", "us-west", "eu-west", "eu-central", "ap-south"]
_MULTIREGION_DCS = {
    "us-east": ["us-east-1*"],
    "us-west": ["us-west-2a", "us-west-2b"],
    "eu-west": ["eu-west-1"],
    "eu-central": ["eu-central-*"],
    "ap-south": ["ap-south-1"],
}


def _namespace_picker(jobs: int) -> _Picker:
    """The main namespaces plus a long tail that grows with the cluster (Zipf-like weights)."""
    tail_count = min(60, max(3, jobs // 1500))
    tail = [*_TAIL_NAMESPACES, *(f"proj-{i:03d}" for i in range(tail_count))][:tail_count]
    return _Picker([*_MAIN_NAMESPACES, *((name, 2.5 / (rank + 1)) for rank, name in enumerate(tail))])


class _JobFactory:
    """Builds job stubs; keeps (namespace, ID) unique."""

    def __init__(self, rng: random.Random, jobs: int) -> None:
        self.rng = rng
        self.namespaces = _namespace_picker(jobs)
        self.taken: set[tuple[str, str]] = set()

    def unique_id(self, namespace: str, base: str) -> str:
        job_id = base
        n = 2
        while (namespace, job_id) in self.taken:
            job_id = f"{base}-{n}"
            n += 1
        self.taken.add((namespace, job_id))
        return job_id

    def base_name(self) -> str:
        rng = self.rng
        role = _ROLES(rng)
        service = rng.choice(_SERVICES)
        name = f"{service}-{role}" if role else service
        return name + _ENV_SUFFIX(rng)

    def stub(
        self,
        *,
        job_id: str,
        parent_id: str,
        namespace: str,
        datacenters: Sequence[str],
        node_pool: str,
        job_type: str,
        priority: int,
        periodic: bool = False,
        parameterized: bool = False,
        stop: bool = False,
        status: str,
        create_index: int,
        modify_index: int,
        job_modify_index: int,
        submit_time: int,
        multiregion: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        return {
            "ID": job_id,
            "ParentID": parent_id,
            "Name": job_id,
            "Namespace": namespace,
            "Datacenters": list(datacenters),
            "NodePool": node_pool,
            "Multiregion": multiregion,
            "Type": job_type,
            "Priority": priority,
            "Periodic": periodic,
            "ParameterizedJob": parameterized,
            "Stop": stop,
            "Status": status,
            "StatusDescription": "",
            "JobSummary": None,
            "CreateIndex": create_index,
            "ModifyIndex": modify_index,
            "JobModifyIndex": job_modify_index,
            "SubmitTime": submit_time,
            "Meta": None,
        }

    def multiregion(self) -> dict[str, Any]:
        rng = self.rng
        names = rng.sample(_MULTIREGION_NAMES, rng.randint(2, 3))
        return {
            "Strategy": {
                "MaxParallel": rng.randint(1, 2),
                "OnFailure": rng.choice(["fail_all", "fail_local", ""]),
            },
            "Regions": [
                {
                    "Name": name,
                    "Count": rng.randint(1, 3),
                    "Datacenters": list(_MULTIREGION_DCS[name]),
                    "NodePool": "default" if rank == 0 else rng.choice(["", "default"]),
                    "Meta": {"tier": "primary" if rank == 0 else "secondary"} if rng.random() < 0.5 else None,
                }
                for rank, name in enumerate(names)
            ],
        }

    def top_level(self, kind: str) -> dict[str, Any]:
        """A top-level job: ``regular``, ``periodic`` (parent) or ``parameterized`` (parent)."""
        rng = self.rng
        namespace = self.namespaces(rng)
        if kind == "periodic":
            job_type = "batch" if rng.random() < 0.85 else "sysbatch"
            base = f"{rng.choice(_SERVICES)}-{_PERIODIC_SUFFIX(rng)}"
            status = "running"
        elif kind == "parameterized":
            job_type = "batch" if rng.random() < 0.95 else "sysbatch"
            base = f"{rng.choice(_SERVICES)}-{_PARAM_SUFFIX(rng)}"
            status = "running"
        else:
            job_type = _REGULAR_TYPE(rng)
            base = self.base_name()
            status = _STATUS[job_type](rng)
        job_id = self.unique_id(namespace, base)
        share_all = {"system": 0.4, "sysbatch": 0.2}.get(job_type, 0.0)
        node_pool = "all" if share_all and rng.random() < share_all else _JOB_POOL(rng)
        datacenters = _EDGE_DATACENTERS(rng) if node_pool == "edge" else _DATACENTERS(rng)
        stop = kind == "regular" and rng.random() < 0.05
        if stop:
            status = "dead" if rng.random() < 0.9 else "running"
        # Parents are older than every child they still have (up to 6 weekly runs, or 3 days of dispatches).
        latest_create = _NOW - {"periodic": 60 * _DAY, "parameterized": 4 * _DAY}.get(kind, _DAY)
        created = _skewed_time(rng, _T0, latest_create, 0.7)
        submitted = created if rng.random() < 0.35 else _skewed_time(rng, created, _NOW - 600, 0.5)
        create_index = _index_at(created) + rng.randrange(20)
        job_modify_index = max(create_index, _index_at(submitted) + rng.randrange(20))
        modify_index = min(_NOW_INDEX, job_modify_index + (0 if rng.random() < 0.2 else rng.randrange(1, 5000)))
        multiregion = (
            self.multiregion()
            if kind == "regular" and job_type in ("service", "batch") and rng.random() < 0.006
            else None
        )
        return self.stub(
            job_id=job_id,
            parent_id="",
            namespace=namespace,
            datacenters=datacenters,
            node_pool=node_pool,
            job_type=job_type,
            priority=_PRIORITY[job_type](rng),
            periodic=kind == "periodic",
            parameterized=kind == "parameterized",
            stop=stop,
            status=status,
            create_index=create_index,
            modify_index=modify_index,
            job_modify_index=job_modify_index,
            submit_time=submitted * 1_000_000_000 + _nanos(rng),
            multiregion=multiregion,
        )

    def child(self, parent: dict[str, Any], child_id: str, launched: int, status: str) -> dict[str, Any]:
        rng = self.rng
        self.taken.add((parent["Namespace"], child_id))
        create_index = _index_at(launched) + rng.randrange(5)
        modify_index = create_index + (rng.randrange(1, 60) if status != "pending" else 0)
        return self.stub(
            job_id=child_id,
            parent_id=parent["ID"],
            namespace=parent["Namespace"],
            datacenters=parent["Datacenters"],
            node_pool=parent["NodePool"],
            job_type=parent["Type"],
            priority=parent["Priority"],
            status=status,
            create_index=create_index,
            modify_index=modify_index,
            job_modify_index=create_index,
            # Launched on the second, submitted a few milliseconds later.
            submit_time=launched * 1_000_000_000 + _nanos(rng, 1_000_000, 90_000_000),
        )

    def periodic_children(self, parent: dict[str, Any], count: int) -> list[dict[str, Any]]:
        rng = self.rng
        period = rng.choice([900, 3600, 3600, 4 * 3600, _DAY, _DAY, 7 * _DAY])
        last = (_NOW - rng.randrange(period)) // period * period
        children = []
        for k in range(count):
            launched = last - k * period
            status = "dead" if k > 0 or rng.random() < 0.6 else rng.choice(["running", "pending"])
            children.append(self.child(parent, f"{parent['ID']}/periodic-{launched}", launched, status))
        return children

    def dispatched_children(self, parent: dict[str, Any], count: int) -> list[dict[str, Any]]:
        rng = self.rng
        children = []
        for _ in range(count):
            launched = _NOW - rng.randrange(60, 3 * _DAY)
            suffix = f"{launched}-{rng.getrandbits(32):08x}"
            if rng.random() < 0.04:  # dispatched with an id prefix (`nomad job dispatch -id-prefix-template`)
                suffix = f"{rng.choice(['nightly', 'manual', 'ci'])}-{suffix}"
            status = _STATUS["batch"](rng)
            children.append(self.child(parent, f"{parent['ID']}/dispatch-{suffix}", launched, status))
        return children


_TOP_KIND = _Picker([("regular", 88), ("periodic", 7), ("parameterized", 5)])
_PERIODIC_CHILDREN = _Picker([(0, 1), (1, 2), (2, 3), (3, 3), (4, 2), (5, 1), (6, 1)])
_DISPATCHED_CHILDREN = _Picker([(0, 1), (1, 3), (2, 3), (3, 2), (5, 2), (8, 1), (12, 1), (20, 0.5)])


def _generate_jobs(rng: random.Random, count: int) -> list[dict[str, Any]]:
    factory = _JobFactory(rng, count)
    jobs: list[dict[str, Any]] = []
    while len(jobs) < count:
        kind = _TOP_KIND(rng) if count - len(jobs) > 1 else "regular"
        parent = factory.top_level(kind)
        jobs.append(parent)
        room = count - len(jobs)
        if kind == "periodic":
            jobs.extend(factory.periodic_children(parent, min(room, _PERIODIC_CHILDREN(rng))))
        elif kind == "parameterized":
            jobs.extend(factory.dispatched_children(parent, min(room, _DISPATCHED_CHILDREN(rng))))
    jobs.sort(key=lambda job: (job["Namespace"], job["ID"]))
    return jobs


# --- nodes ----------------------------------------------------------------------------------------
_NODE_DC = _Picker(
    [("dc1", 26), ("dc2", 18), ("dc3", 9), ("us-east-1a", 13), ("us-east-1b", 11), ("eu-west-1", 12),
     ("edge-dc1", 6), ("edge-dc2", 3), ("us-west-2a", 2)]
)  # fmt: skip
_NODE_POOL = _Picker([("default", 76), ("ci", 13), ("gpu", 6), ("analytics", 5)])
_NODE_CLASS = _Picker([("", 60), ("general", 12), ("batch-heavy", 10), ("highmem", 8), ("compute", 6), ("gateway", 4)])
_OFFSETS = {
    "us-east": _Picker([(-5 * 3600, 80), (0, 20)]),
    "us-west": _Picker([(-8 * 3600, 80), (0, 20)]),
    "eu-west": _Picker([(0, 60), (2 * 3600, 40)]),
    "edge": _Picker([(5 * 3600 + 1800, 85), (0, 15)]),
    "dc": _Picker([(0, 45), (-5 * 3600, 30), (2 * 3600, 20), (5 * 3600 + 1800, 5)]),
}
_NODE_STATUS = _Picker([("ready", 86), ("down", 7), ("disconnected", 4), ("initializing", 3)])
_VERSIONS_MAIN = _Picker(
    [("1.6.0", 3), ("1.6.1", 5), ("1.6.2", 6), ("1.6.3", 9), ("1.6.4", 14), ("1.6.5", 9), ("1.6.6", 6),
     ("1.6.7", 5), ("1.6.8", 5), ("1.6.9", 4), ("1.6.10", 6), ("1.5.3+ent", 4), ("1.6.4+ent", 5),
     ("1.5.6", 2), ("1.5.15", 2), ("1.6.2-dev", 1.5), ("1.4.7", 2), ("1.7.0-1", 0.6), ("1.7.0-Beta1", 0.6),
     ("", 0.5), ("unknown", 0.25)]
)  # fmt: skip
_VERSIONS_EDGE = _Picker([("1.5.3+ent", 30), ("1.4.7", 25), ("1.6.4+ent", 20), ("1.6.10", 15), ("", 2), ("1.5.6", 8)])
_BUILTIN_DRIVERS = ["docker", "exec", "raw_exec", "java", "qemu"]
_PLUGIN_DRIVERS = ["podman", "containerd-driver", "nomad-driver-ecs"]
_PLUGIN_COUNT = _Picker([(0, 35), (1, 35), (2, 20), (3, 10)])
_DETECTED = {
    "docker": 0.88, "exec": 0.9, "raw_exec": 0.45, "java": 0.15, "qemu": 0.2,
    "podman": 0.75, "containerd-driver": 0.85, "nomad-driver-ecs": 0.7,
}  # fmt: skip
_UNDETECTED_REASON = {
    "docker": _Picker([("Failed to connect to docker daemon", 5), ("", 2), ("disabled", 1)]),
    "exec": _Picker([("Driver must run as root", 3), ("exec driver unsupported on client OS", 2), ("", 1)]),
    "raw_exec": _Picker([("disabled", 6), ("", 1)]),
    "java": _Picker([("", 5), ("Driver must run as root", 1)]),
    "qemu": _Picker([("", 5), ("qemu-system-x86_64 not found", 1)]),
    "podman": _Picker([("Could not connect to podman socket", 3), ("", 1)]),
    "containerd-driver": _Picker([("containerd not running", 2), ("", 1)]),
    "nomad-driver-ecs": _Picker([("failed to describe ECS cluster", 2), ("", 1)]),
}
_UNHEALTHY_REASON = {
    "docker": "Docker daemon is not responding",
    "podman": "Podman API returned an error",
    "containerd-driver": "containerd: context deadline exceeded",
    "nomad-driver-ecs": "ECS API throttled",
}
_DOCKER_VERSIONS = _Picker(
    [("24.0.7", 5), ("20.10.24", 3), ("25.0.2", 3), ("23.0.6", 2), ("26.1.3", 2), ("19.03.15", 1)]
)
_JAVA = _Picker(
    [(("17.0.9", "OpenJDK Runtime Environment (build 17.0.9+9-Ubuntu-122.04)",
       "OpenJDK 64-Bit Server VM (build 17.0.9+9-Ubuntu-122.04, mixed mode, sharing)"), 3),
     (("11.0.21", "OpenJDK Runtime Environment (build 11.0.21+9-post-Ubuntu-0ubuntu122.04)",
       "OpenJDK 64-Bit Server VM (build 11.0.21+9-post-Ubuntu-0ubuntu122.04, mixed mode, sharing)"), 2),
     (("21.0.1", "OpenJDK Runtime Environment Temurin-21.0.1+12 (build 21.0.1+12-LTS)",
       "OpenJDK 64-Bit Server VM Temurin-21.0.1+12 (build 21.0.1+12-LTS, mixed mode, sharing)"), 1)]
)  # fmt: skip
_HOST_VOLUMES = [
    ("certs", "/etc/ssl/certs", True), ("scratch", "/srv/scratch", False),
    ("docker-sock", "/var/run/docker.sock", True), ("data", "/opt/data", False),
    ("logs", "/var/log/nomad-volumes", False), ("ca-bundle", "/etc/pki/ca-trust", True),
    ("models", "/mnt/models", True),
]  # fmt: skip
_QEMU_VERSIONS = ["6.2.0", "7.2.0", "8.1.1", "8.2.2"]
_DRAIN_MESSAGES = [
    "kernel patching",
    "hardware replacement",
    "upgrade to 1.7",
    "AMI rotation",
    "decommission",
]


def _rfc3339nano(unix: int, nanos: int, offset: int) -> str:
    """Go's ``time.RFC3339Nano``: trailing zeros of the fraction trimmed, the zone's own offset kept."""
    local = datetime(1970, 1, 1) + timedelta(seconds=unix + offset)
    text = local.strftime("%Y-%m-%dT%H:%M:%S")
    if nanos:
        text += "." + f"{nanos:09d}".rstrip("0")
    if offset == 0:
        return text + "Z"
    sign = "+" if offset > 0 else "-"
    hours, minutes = divmod(abs(offset) // 60, 60)
    return f"{text}{sign}{hours:02d}:{minutes:02d}"


def _fraction(rng: random.Random, micro: bool = False) -> int:
    """Sub-second part of a timestamp: nanoseconds (Linux), microseconds (``micro``, macOS), rarely none."""
    if rng.random() < 0.02:
        return 0
    ns = rng.randrange(1, 1_000_000_000)
    return ns - ns % 1000 if micro else ns


def _driver_attributes(rng: random.Random, driver: str, pool: str) -> dict[str, str]:
    if driver == "docker":
        runtimes = "io.containerd.runc.v2,nvidia,runc" if pool == "gpu" else "io.containerd.runc.v2,runc"
        bridge_ip = "172.17.0.1" if rng.random() < 0.9 else f"172.{rng.randint(18, 31)}.0.1"
        attrs = {
            "driver.docker": "true",
            "driver.docker.bridge_ip": bridge_ip,
            "driver.docker.os_type": "linux",
            "driver.docker.runtimes": runtimes,
            "driver.docker.version": _DOCKER_VERSIONS(rng),
            "driver.docker.volumes.enabled": "true",
        }
        if rng.random() < 0.3:  # only set when the client allows privileged containers
            attrs["driver.docker.privileged.enabled"] = "true"
        if pool == "gpu":
            attrs["driver.docker.gpu_runtime"] = "nvidia"
        return attrs
    if driver == "exec":
        return {"driver.exec": "true"}
    if driver == "raw_exec":
        return {"driver.raw_exec": "true"}
    if driver == "java":
        version, runtime, vm = _JAVA(rng)
        return {
            "driver.java": "true",
            "driver.java.runtime": runtime,
            "driver.java.version": version,
            "driver.java.vm": vm,
        }
    if driver == "qemu":
        return {"driver.qemu": "true", "driver.qemu.version": rng.choice(_QEMU_VERSIONS)}
    if driver == "podman":
        return {
            "driver.podman": "true",
            "driver.podman.appArmor": "true" if rng.random() < 0.7 else "false",
            "driver.podman.cgroupVersion": "v2" if rng.random() < 0.8 else "v1",
            "driver.podman.rootless": "true" if rng.random() < 0.25 else "false",
            "driver.podman.version": rng.choice(["4.3.1", "4.6.2", "4.9.3", "5.0.2"]),
        }
    if driver == "containerd-driver":
        return {
            "driver.containerd-driver": "true",
            "driver.containerd-driver.containerd_version": rng.choice(["1.6.24", "1.7.11", "1.7.13"]),
            "driver.containerd-driver.runtime": "io.containerd.runc.v2",
        }
    return {
        "driver.nomad-driver-ecs": "true",
        "driver.nomad-driver-ecs.cluster": rng.choice(["prod-ecs", "staging-ecs", "batch-ecs"]),
        "driver.nomad-driver-ecs.region": "us-east-1",
    }


def _drivers(rng: random.Random, pool: str, status: str, offset: int) -> dict[str, Any]:
    names = _BUILTIN_DRIVERS + rng.sample(_PLUGIN_DRIVERS, _PLUGIN_COUNT(rng))
    # Fingerprinted at start-up or at the last health change; down and disconnected nodes stopped earlier.
    if status in ("down", "disconnected"):
        base = _NOW - rng.randrange(2 * 3600, 20 * _DAY)
    elif status == "initializing":
        base = _NOW - rng.randrange(5, 600)
    else:
        base = _skewed_time(rng, _NOW - 120 * _DAY, _NOW - 60, 0.6)
    micro = rng.random() < 0.3  # the client's clock resolution: microseconds on macOS, else nanoseconds
    drivers: dict[str, Any] = {}
    for name in names:
        seconds = base + (rng.randrange(4) if name in _BUILTIN_DRIVERS else rng.randrange(2, 9))
        update_time = None if rng.random() < 0.003 else _rfc3339nano(seconds, _fraction(rng, micro), offset)
        if (pool == "gpu" and name == "docker") or rng.random() < _DETECTED[name]:
            healthy = status != "down" and rng.random() > 0.04
            drivers[name] = {
                "Attributes": _driver_attributes(rng, name, pool),
                "Detected": True,
                "Healthy": healthy,
                "HealthDescription": "Healthy" if healthy else _UNHEALTHY_REASON.get(name, "Unhealthy"),
                "UpdateTime": update_time,
            }
        else:
            drivers[name] = {
                "Attributes": {},
                "Detected": False,
                "Healthy": False,
                "HealthDescription": _UNDETECTED_REASON[name](rng),
                "UpdateTime": update_time,
            }
    return drivers


def _node_address(rng: random.Random, dc_number: int) -> str:
    r = rng.random()
    if r < 0.006:
        return ""
    if r < 0.02:
        return f"fd00:{dc_number:x}:0:{rng.randrange(1, 64):x}::{rng.randrange(1, 4096):x}"
    if r < 0.1:
        return f"192.168.{rng.randrange(256)}.{rng.randrange(1, 255)}"
    return f"10.{dc_number}.{rng.randrange(256)}.{rng.randrange(1, 255)}"


def _node_name(rng: random.Random, pool: str, dc: str, address: str, serial: int) -> str:
    if pool == "ci":
        return f"ci-runner-{serial:05d}"
    if pool == "gpu":
        return f"gpu-{dc}-{serial:04d}"
    if dc.startswith("edge"):
        return f"edge-gw-{serial:04d}"
    if dc.startswith(("us-", "eu-")) and address.count(".") == 3 and rng.random() < 0.7:
        return "ip-" + address.replace(".", "-")
    return f"client-{dc}-{serial:05d}"


def _last_drain(rng: random.Random, draining: bool) -> dict[str, Any] | None:
    if draining:
        status = "draining"
    else:
        r = rng.random()
        if r >= 0.13:
            return None
        status = "complete" if r < 0.09 else "canceled"
    started = _NOW - rng.randrange(60, 3 * _DAY) if draining else _skewed_time(rng, _T0, _NOW - _DAY, 0.5)
    updated = started if draining and rng.random() < 0.5 else started + rng.randrange(1, 7200)
    return {
        "StartedAt": _rfc3339nano(started, _fraction(rng), 0),
        "UpdatedAt": _rfc3339nano(min(updated, _NOW), _fraction(rng), 0),
        "Status": status,
        "AccessorID": _uuid(rng) if rng.random() < 0.7 else "",
        "Meta": {"message": rng.choice(_DRAIN_MESSAGES)} if rng.random() < 0.4 else None,
    }


def _offset_for(rng: random.Random, dc: str) -> int:
    if dc.startswith("us-east"):
        return _OFFSETS["us-east"](rng)
    if dc.startswith("us-west"):
        return _OFFSETS["us-west"](rng)
    if dc.startswith("eu-"):
        return _OFFSETS["eu-west"](rng)
    if dc.startswith("edge"):
        return _OFFSETS["edge"](rng)
    return _OFFSETS["dc"](rng)


def _generate_nodes(rng: random.Random, count: int) -> list[dict[str, Any]]:
    dc_numbers = {dc: number for number, dc in enumerate(_NODE_DC.population, start=1)}
    ids: set[str] = set()
    nodes = []
    for serial in range(1, count + 1):
        node_id = _uuid(rng)
        while node_id in ids:
            node_id = _uuid(rng)
        ids.add(node_id)
        dc = _NODE_DC(rng)
        edge = dc.startswith("edge")
        pool = "edge" if edge else _NODE_POOL(rng)
        address = _node_address(rng, dc_numbers[dc])
        status = _NODE_STATUS(rng)
        version = _VERSIONS_EDGE(rng) if edge else _VERSIONS_MAIN(rng)
        drain = status in ("ready", "disconnected") and rng.random() < 0.035
        eligibility = "ineligible" if drain or rng.random() < 0.045 else "eligible"
        host_volumes = None
        if rng.random() < 0.3:
            chosen = sorted(rng.sample(range(len(_HOST_VOLUMES)), rng.randint(1, 3)))
            host_volumes = {
                _HOST_VOLUMES[i][0]: {
                    "Name": _HOST_VOLUMES[i][0],
                    "Path": _HOST_VOLUMES[i][1],
                    "ReadOnly": _HOST_VOLUMES[i][2],
                }
                for i in chosen
            }
        created = _skewed_time(rng, _T0, _NOW - 3600, 0.8)
        create_index = _index_at(created) + rng.randrange(20)
        modify_index = min(_NOW_INDEX, create_index + rng.randrange(0, 200_000))
        nodes.append(
            {
                "Address": address,
                "ID": node_id,
                "Attributes": None,
                "Datacenter": dc,
                "Name": _node_name(rng, pool, dc, address, serial),
                "NodePool": pool,
                "NodeClass": "gpu-a100" if pool == "gpu" and rng.random() < 0.7 else _NODE_CLASS(rng),
                "Version": version,
                "Drain": drain,
                "SchedulingEligibility": eligibility,
                "Status": status,
                "StatusDescription": "",
                "Drivers": _drivers(rng, pool, status, _offset_for(rng, dc)),
                "HostVolumes": host_volumes,
                "NodeResources": None,
                "ReservedResources": None,
                "LastDrain": _last_drain(rng, drain),
                "CreateIndex": create_index,
                "ModifyIndex": modify_index,
            }
        )
    nodes.sort(key=lambda node: node["ID"])
    return nodes


# --- tokens ---------------------------------------------------------------------------------------
_ACCESSOR_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
_TASKS = _Picker(
    [("app", 20), ("web", 10), ("worker", 10), ("server", 6), ("backup", 4), ("render", 4), ("migrate", 3),
     ("sidecar", 5), ("api", 8), ("consumer", 5), ("cron", 3), ("fetch-secrets", 3), ("envoy", 2),
     ("redis", 2), ("log-shipper", 2), ("db-init", 2)]
)  # fmt: skip
_TASKS_PER_ALLOC = _Picker([(1, 60), (2, 28), (3, 12)])


def _generate_tokens(rng: random.Random, count: int, nodes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    status_weight = {"ready": 1.0, "disconnected": 0.5, "initializing": 0.1, "down": 0.2}
    listed = _Picker([(node["ID"], status_weight[node["Status"]]) for node in nodes]) if nodes else None
    # Nodes already upgraded (or gone): their tokens stay until revoked.
    others = [_uuid(rng) for _ in range(max(1, min(len(nodes) // 3 + 1, count // 40 + 1)))]
    accessors: set[str] = set()
    tokens: list[dict[str, Any]] = []
    while len(tokens) < count:
        alloc_id = _uuid(rng)
        node_id = listed(rng) if listed is not None and rng.random() < 0.86 else rng.choice(others)
        created = _NOW - int(rng.random() ** 2 * 90 * _DAY) - 1
        create_index = _index_at(created) + rng.randrange(20)
        tasks = _TASKS_PER_ALLOC(rng)
        used_tasks: list[str] = []
        for _ in range(min(tasks, count - len(tokens))):
            task = _TASKS(rng) if rng.random() < 0.5 else f"{rng.choice(_SERVICES)}-{_TASKS(rng)}"
            if task in used_tasks:
                task = f"{task}-{len(used_tasks) + 1}"
            used_tasks.append(task)
            accessor = "".join(rng.choices(_ACCESSOR_ALPHABET, k=24))
            while accessor in accessors:
                accessor = "".join(rng.choices(_ACCESSOR_ALPHABET, k=24))
            accessors.add(accessor)
            tokens.append(
                {
                    "AllocID": alloc_id,
                    "Task": task,
                    "NodeID": node_id,
                    "Accessor": accessor,
                    "CreationTTL": 60,
                    "CreateIndex": create_index,
                }
            )
    tokens.sort(key=lambda token: token["Accessor"])
    return tokens


# --- public API -----------------------------------------------------------------------------------
def _stream(seed: int, part: str) -> random.Random:
    """An independent, reproducible stream per list (``str`` seeds go through SHA-512, not ``hash()``)."""
    return random.Random(f"nomad-wi-readiness/{seed}/{part}")


def generate_body(jobs: int, nodes: int, tokens: int, *, seed: int = 0, post_1_10: bool = False) -> dict[str, Any]:
    """Build a raw HTTP body of the upgrade-check endpoint, as a Nomad release build sends it.

    Args:
        jobs: number of entries in ``JobsWithoutVaultIdentity`` (parents and children together).
        nodes: number of entries in ``OutdatedNodes``.
        tokens: number of entries in ``VaultTokens``; ignored when ``post_1_10`` is true.
        seed: the seed; the same arguments always give the same body.
        post_1_10: answer like Nomad 1.10+, whose ``VaultTokens`` is always ``null``.

    Returns:
        The body as a dict with the release-build key order (Go source order, ``omitempty`` keys as ``None``).

    Raises:
        ValueError: a negative count.

    Examples:
        >>> body = generate_body(jobs=12, nodes=3, tokens=4, seed=7)
        >>> [job["Namespace"] for job in body["JobsWithoutVaultIdentity"]] == sorted(
        ...     job["Namespace"] for job in body["JobsWithoutVaultIdentity"])
        True
        >>> list(body["OutdatedNodes"][0])[:4]
        ['Address', 'ID', 'Attributes', 'Datacenter']
        >>> body["VaultTokens"][0]["CreationTTL"], body["LastContact"], body["KnownLeader"], body["NextToken"]
        (60, 0, True, '')
    """
    if min(jobs, nodes, tokens) < 0:
        raise ValueError(f"counts must be >= 0, got jobs={jobs}, nodes={nodes}, tokens={tokens}")
    job_list = _generate_jobs(_stream(seed, "jobs"), jobs)
    node_list = _generate_nodes(_stream(seed, "nodes"), nodes)
    token_list = None if post_1_10 else _generate_tokens(_stream(seed, "tokens"), tokens, node_list)
    highest = max(
        itertools.chain(
            (job["ModifyIndex"] for job in job_list),
            (node["ModifyIndex"] for node in node_list),
            (token["CreateIndex"] for token in token_list or ()),
            (_BASE_INDEX,),
        )
    )
    return {
        "JobsWithoutVaultIdentity": job_list,
        "OutdatedNodes": node_list,
        "VaultTokens": token_list,
        "Index": highest + _stream(seed, "index").randint(1, 40),
        "LastContact": 0,
        "KnownLeader": True,
        "NextToken": "",
    }


def generate_bytes(jobs: int, nodes: int, tokens: int, *, seed: int = 0, post_1_10: bool = False) -> bytes:
    """The body of :func:`generate_body` as compact JSON bytes (orjson, no options).

    Examples:
        >>> generate_bytes(0, 0, 0)[:60]
        b'{"JobsWithoutVaultIdentity":[],"OutdatedNodes":[],"VaultToke'
    """
    return orjson.dumps(generate_body(jobs, nodes, tokens, seed=seed, post_1_10=post_1_10))


def write_snapshot_file(
    path: str | os.PathLike[str],
    jobs: int,
    nodes: int,
    tokens: int,
    *,
    seed: int = 0,
    post_1_10: bool = False,
) -> int:
    """Write a generated body to ``path`` atomically, gzip-compressed when the name ends with ``.gz``.

    Returns:
        The number of bytes written (compressed size for ``.gz``).

    Examples:
        >>> import gzip, pathlib, tempfile
        >>> target = pathlib.Path(tempfile.mkdtemp()) / "snap.json.gz"
        >>> size = write_snapshot_file(target, 5, 2, 3, seed=3)
        >>> gzip.decompress(target.read_bytes()) == generate_bytes(5, 2, 3, seed=3)
        True
    """
    data = generate_bytes(jobs, nodes, tokens, seed=seed, post_1_10=post_1_10)
    if os.fspath(path).endswith(".gz"):
        # mtime=0: the compressed file is byte-identical for the same arguments too.
        data = gzip.compress(data, compresslevel=6, mtime=0)
    atomic_write(path, data)
    return len(data)


#: The bundled demo: a mid-sized cluster with every kind of finding, its enrichment, and fixed provenance.
DEMO = {"jobs": 240, "nodes": 90, "tokens": 160, "seed": 7, "up_to_date_nodes": 210}


def generate_enrichment(body: dict[str, Any], *, up_to_date_nodes: int, seed: int = 0) -> dict[str, Any]:
    """What ``fetch --enrich`` would add to ``body``: every node (the outdated ones plus ``up_to_date_nodes``
    clients on 1.7 or later in the same datacenters and pools) and the allocations behind the legacy tokens.

    Examples:
        >>> body = generate_body(20, 5, 8, seed=1)
        >>> extra = generate_enrichment(body, up_to_date_nodes=7, seed=1)
        >>> len(extra["nodes"]), len(extra["allocations"]) == len({t["AllocID"] for t in body["VaultTokens"]})
        (12, True)
    """
    rng = random.Random(f"enrichment:{seed}")
    outdated = body["OutdatedNodes"] or []
    keys = (
        "ID",
        "Name",
        "Address",
        "Datacenter",
        "NodePool",
        "NodeClass",
        "Status",
        "SchedulingEligibility",
        "Drain",
        "Version",
    )
    nodes = [{k: n.get(k) for k in keys} for n in outdated]
    places = [(n["Datacenter"], n["NodePool"]) for n in outdated] or [("dc1", "default")]
    for i in range(up_to_date_nodes):
        dc, pool = rng.choice(places)
        nodes.append(
            {
                "ID": _uuid(rng),
                "Name": f"client-{dc}-{i:04d}",
                "Address": f"10.{rng.randrange(1, 250)}.{i // 250}.{i % 250 + 1}",
                "Datacenter": dc,
                "NodePool": pool,
                "NodeClass": "",
                "Status": "ready",
                "SchedulingEligibility": "eligible",
                "Drain": False,
                "Version": rng.choice(["1.7.7", "1.8.4", "1.9.7", "1.9.7+ent", "1.10.5"]),
            }
        )
    nodes.sort(key=lambda n: n["ID"])
    jobs = [j for j in body["JobsWithoutVaultIdentity"] or [] if j["Status"] != "dead"] or [
        {"ID": "example", "Namespace": "default"}
    ]
    allocations = []
    for alloc_id in sorted({t["AllocID"] for t in body["VaultTokens"] or []}):
        job = rng.choice(jobs)
        node = rng.choice(outdated) if outdated else {"ID": _uuid(rng)}
        allocations.append(
            {
                "ID": alloc_id,
                "JobID": job["ID"],
                "Namespace": job["Namespace"],
                "TaskGroup": rng.choice(["app", "web", "worker", "db"]),
                "NodeID": node["ID"],
                "ClientStatus": rng.choice(["running"] * 8 + ["pending", "complete"]),
            }
        )
    return {"nodes": nodes, "allocations": allocations, "notes": []}


def demo_envelope() -> dict[str, Any]:
    """The envelope of the bundled demo snapshot (``data/demo-snapshot.json.gz``): deterministic, enriched."""
    body = generate_body(DEMO["jobs"], DEMO["nodes"], DEMO["tokens"], seed=DEMO["seed"])
    return {
        "format": "nomad-wi-readiness/snapshot",
        "version": 1,
        "captured_at": "2025-11-24T16:30:00.000000Z",
        "cluster": "demo",
        "region": "global",
        "address": "https://nomad.demo.example:4646",
        "nomad_version": "1.9.7",
        "body_shape": "http-body",
        "headers": {"X-Nomad-Index": str(body["Index"]), "X-Nomad-KnownLeader": "true", "X-Nomad-LastContact": "0"},
        "response": body,
        "enrichment": generate_enrichment(body, up_to_date_nodes=DEMO["up_to_date_nodes"], seed=DEMO["seed"]),
    }


def write_demo_snapshot(path: str | os.PathLike[str]) -> Path:
    """Write the bundled demo snapshot (see :func:`demo_envelope`) through the loader, atomically."""
    from analysis.snapshot import build_snapshot

    return build_snapshot(demo_envelope(), source="demo").save(path)


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point: ``python -m analysis.generate --jobs N --nodes N --tokens N -o PATH``."""
    parser = argparse.ArgumentParser(
        prog="python -m analysis.generate",
        description="Write a deterministic, realistic upgrade-check response (release-build key order).",
    )
    parser.add_argument("--jobs", type=int, default=10_000, help="listed jobs (default 10000)")
    parser.add_argument("--nodes", type=int, default=5_000, help="outdated nodes (default 5000)")
    parser.add_argument("--tokens", type=int, default=30_000, help="legacy Vault tokens (default 30000)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--post-1-10", action="store_true", help="answer like Nomad 1.10+ (VaultTokens null)")
    parser.add_argument("--demo", action="store_true", help="write the bundled demo snapshot (envelope, enriched)")
    parser.add_argument("-o", "--output", required=True, help="output file; gzip when it ends in .gz")
    args = parser.parse_args(argv)
    if args.demo:
        print(f"wrote {write_demo_snapshot(args.output)}", file=sys.stderr)
        return 0
    if min(args.jobs, args.nodes, args.tokens) < 0:
        parser.error("counts must be >= 0")
    size = write_snapshot_file(
        args.output, args.jobs, args.nodes, args.tokens, seed=args.seed, post_1_10=args.post_1_10
    )
    print(f"wrote {args.output} ({size / 1e6:.1f} MB)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
