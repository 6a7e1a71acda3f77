"""Read snapshots of the upgrade-check endpoint into typed DataFrames, and write them back.

Three shapes of input are accepted, detected from their keys (never from key order):

``http-body``
    The raw body of ``GET /v1/operator/upgrade-check/vault-workload-identity``: the three lists plus ``Index``,
    ``KnownLeader``, ``LastContact`` (nanoseconds) and ``NextToken``, in release-build (Go source) or
    reflection (sorted) key order, with the omitempty keys absent or ``null``.
``cli-json``
    The output of ``nomad setup vault -check -json``: the three lists only; job stubs without ``NodePool`` and
    ``Multiregion``, node stubs without ``HostVolumes`` (the Go API client drops them, so those columns are
    ``<NA>``).
``envelope``
    The project's own snapshot file, written by :meth:`Snapshot.save` and the ``fetch`` command::

        {
          "format": "nomad-wi-readiness/snapshot",   # fixed marker
          "version": 1,                               # envelope version; newer versions are refused
          "captured_at": "2026-12-03T17:00:00.123456Z",
          "cluster": "prod-eu",                       # the caller's name for the cluster, or null
          "region": "global",                         # the region the body answers for, or null
          "address": "https://nomad.example:4646",    # the agent's address, without credentials
          "nomad_version": "1.9.7",                   # the answering agent's version, or null
          "body_shape": "http-body",                  # the shape of "response" (http-body or cli-json)
          "headers": {"X-Nomad-Index": "48213", "X-Nomad-KnownLeader": "true", "X-Nomad-LastContact": "0"},
          "response": { ...the raw body... },
          "enrichment": {"nodes": [...] | null, "allocations": [...] | null, "notes": ["..."]}
        }

Lists that are ``null``, missing or empty give empty tables with the same columns and dtypes. ``VaultTokens:
null`` (Nomad 1.10 and later never fill it) is kept as *not reported*: ``Snapshot.tokens_reported`` is False
and the ``tokens`` table is empty, which must never be read as "0 tokens". Unknown keys are ignored.

Examples:
    >>> from analysis import load_snapshot
    >>> snap = load_snapshot(b'{"JobsWithoutVaultIdentity": [], "OutdatedNodes": [], "VaultTokens": null}')
    >>> snap.shape, len(snap.jobs), snap.tokens_reported
    ('cli-json', 0, False)
"""

from __future__ import annotations

import contextlib
import gc
import gzip
import os
import sys
import zlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pandas as pd
from pandas.api.types import infer_dtype

from analysis import config
from analysis.errors import SnapshotDecodeError, SnapshotNotFoundError, SnapshotShapeError
from analysis.files import atomic_write
from analysis.schema import (
    JOBS,
    META,
    NODE_DRIVERS,
    NODES,
    STRING,
    TOKENS,
    UTC_NS,
    Table,
    driver_columns,
    empty_frame,
)

__all__ = ["Snapshot", "SnapshotInfo", "build_snapshot", "load_snapshot"]

_LISTS = ("JobsWithoutVaultIdentity", "OutdatedNodes", "VaultTokens")
_QUERY_META = ("Index", "KnownLeader", "LastContact", "NextToken")
_GZIP_MAGIC = b"\x1f\x8b"


@dataclass(frozen=True)
class SnapshotInfo:
    """How and when a snapshot was captured, and what it can tell.

    Attributes:
        source: where it was read from: a path, ``<stdin>``, ``<bytes>``, ``<dict>`` or a URL.
        shape: ``envelope``, ``http-body`` or ``cli-json``.
        body_shape: the shape of the endpoint data itself (``http-body`` or ``cli-json``).
        cluster: the caller's name for the cluster, or None.
        region: the Nomad region the data answers for, or None when unknown.
        captured_at: when it was captured (UTC), or None when unknown.
        address: the agent's address without credentials, or None.
        nomad_version: the answering agent's version, or None.
        index: the body's ``Index`` (or the ``X-Nomad-Index`` header), or None.
        known_leader: ``KnownLeader``, or None.
        last_contact_ns: ``LastContact`` in nanoseconds, or None.
        tokens_reported: False when ``VaultTokens`` is null or absent (Nomad 1.10+ never fills it).
        headers: the ``X-Nomad-*`` response headers recorded in the envelope.
        enrichment_notes: notes recorded by ``fetch`` about optional data it could not collect.
    """

    source: str
    shape: str
    body_shape: str
    cluster: str | None = None
    region: str | None = None
    captured_at: pd.Timestamp | None = None
    address: str | None = None
    nomad_version: str | None = None
    index: int | None = None
    known_leader: bool | None = None
    last_contact_ns: int | None = None
    tokens_reported: bool = False
    headers: Mapping[str, str] = field(default_factory=dict)
    enrichment_notes: tuple[str, ...] = ()


class Snapshot:
    """One capture of the endpoint, flattened into typed frames.

    Attributes:
        jobs: one row per listed job (schema :data:`analysis.schema.JOBS`).
        nodes: one row per outdated node, with ``driver_<name>_detected``/``_healthy`` columns
            (:data:`analysis.schema.NODES`).
        node_drivers: one row per (node, driver) (:data:`analysis.schema.NODE_DRIVERS`).
        tokens: one row per legacy Vault token (:data:`analysis.schema.TOKENS`). ``creation_ttl`` is the 60 s
            response-wrapping TTL Nomad used when it made the token, not the token's lifetime.
        info: provenance and query metadata (:class:`SnapshotInfo`).
        all_nodes: every client node (``/v1/nodes``) when ``fetch`` collected it, else None.
        allocations: the allocations behind the legacy tokens when ``fetch`` collected them, else None.
    """

    def __init__(
        self,
        *,
        jobs: pd.DataFrame,
        nodes: pd.DataFrame,
        node_drivers: pd.DataFrame,
        tokens: pd.DataFrame,
        info: SnapshotInfo,
        body: bytes,
        all_nodes: pd.DataFrame | None = None,
        allocations: pd.DataFrame | None = None,
        enrichment: Mapping[str, Any] | None = None,
    ) -> None:
        self.jobs = jobs
        self.nodes = nodes
        self.node_drivers = node_drivers
        self.tokens = tokens
        self.info = info
        self.all_nodes = all_nodes
        self.allocations = allocations
        # The endpoint's JSON, kept as compact bytes (not as a tree of dicts) so that save() round-trips it
        # exactly without holding millions of Python objects.
        self._body = body
        self._enrichment = dict(enrichment) if enrichment else None

    # -- convenience -------------------------------------------------------------------------------------------
    @property
    def shape(self) -> str:
        """The detected input shape: ``envelope``, ``http-body`` or ``cli-json``."""
        return self.info.shape

    @property
    def tokens_reported(self) -> bool:
        """False when the server did not report legacy tokens (``VaultTokens: null``, Nomad 1.10+)."""
        return self.info.tokens_reported

    @property
    def cluster(self) -> str | None:
        """The cluster name, when known."""
        return self.info.cluster

    @property
    def region(self) -> str | None:
        """The region, when known."""
        return self.info.region

    @property
    def meta(self) -> pd.DataFrame:
        """A one-row frame describing the snapshot (schema :data:`analysis.schema.META`)."""
        info = self.info
        row = {
            "source": info.source,
            "shape": info.shape,
            "captured_at": info.captured_at,
            "address": info.address,
            "index": info.index,
            "known_leader": info.known_leader,
            "last_contact": pd.Timedelta(info.last_contact_ns, unit="ns") if info.last_contact_ns is not None else None,
            "tokens_reported": info.tokens_reported,
            "nomad_version": info.nomad_version,
        }
        frame = empty_frame(META)
        columns: dict[str, Any] = {}
        for column in META.columns:
            if column.name in ("cluster", "region"):
                columns[column.name] = _constant_category(getattr(info, column.name), 1)
            elif column.kind == "category":
                columns[column.name] = _constant_category(row[column.name], 1)
            else:
                columns[column.name] = pd.array([row[column.name]], dtype=frame[column.name].dtype)
        return pd.DataFrame(columns)

    @property
    def tables(self) -> dict[str, pd.DataFrame]:
        """The four data tables and ``meta``, by name."""
        return {
            "jobs": self.jobs,
            "nodes": self.nodes,
            "node_drivers": self.node_drivers,
            "tokens": self.tokens,
            "meta": self.meta,
        }

    def __repr__(self) -> str:
        info = self.info
        tokens = str(len(self.tokens)) if info.tokens_reported else "not reported"
        captured = info.captured_at.isoformat() if info.captured_at is not None else None
        return (
            f"Snapshot(cluster={info.cluster!r}, region={info.region!r}, shape={info.shape!r}, "
            f"jobs={len(self.jobs)}, nodes={len(self.nodes)}, tokens={tokens}, index={info.index}, "
            f"captured_at={captured!r})"
        )

    # -- writing -----------------------------------------------------------------------------------------------
    def envelope_bytes(self) -> bytes:
        """The snapshot as the project's envelope, compact JSON."""
        info = self.info
        captured = info.captured_at
        document = {
            "format": config.ENVELOPE_FORMAT,
            "version": config.ENVELOPE_VERSION,
            "captured_at": _format_time(captured) if captured is not None else None,
            "cluster": info.cluster,
            "region": info.region,
            "address": info.address,
            "nomad_version": info.nomad_version,
            "body_shape": info.body_shape,
            "headers": dict(info.headers),
            "response": orjson.Fragment(self._body),
            "enrichment": self._enrichment,
        }
        return orjson.dumps(document)

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the snapshot as the project's envelope, atomically; gzip when the name ends in ``.gz``.

        Args:
            path: the file to write. Its folder is created if needed.

        Returns:
            The path written.

        Examples:
            >>> import tempfile, pathlib
            >>> snap = load_snapshot({"JobsWithoutVaultIdentity": [], "OutdatedNodes": [], "Index": 7})
            >>> out = snap.save(pathlib.Path(tempfile.mkdtemp()) / "s.json.gz")
            >>> load_snapshot(out).info.index, load_snapshot(out).shape
            (7, 'envelope')
        """
        target = Path(path)
        data = self.envelope_bytes()
        if target.name.endswith(".gz"):
            # mtime=0 keeps the output byte-identical for identical snapshots.
            data = gzip.compress(data, compresslevel=6, mtime=0)
        atomic_write(target, data)
        return target

    def with_context(self, *, cluster: str | None = None, region: str | None = None) -> Snapshot:
        """A copy whose ``cluster``/``region`` (in ``info`` and in every frame) are replaced where given."""
        info = replace(
            self.info,
            cluster=cluster if cluster is not None else self.info.cluster,
            region=region if region is not None else self.info.region,
        )
        frames = {}
        for name in ("jobs", "nodes", "node_drivers", "tokens"):
            frame = getattr(self, name).copy()
            frame["cluster"] = _constant_category(info.cluster, len(frame))
            frame["region"] = _constant_category(info.region, len(frame))
            frames[name] = frame
        return Snapshot(
            **frames,
            info=info,
            body=self._body,
            all_nodes=self.all_nodes,
            allocations=self.allocations,
            enrichment=self._enrichment,
        )


# ---------------------------------------------------------------------------------------------------------------
# Reading
# ---------------------------------------------------------------------------------------------------------------


def load_snapshot(
    source: str | os.PathLike[str] | bytes | bytearray | memoryview | Mapping[str, Any],
    *,
    cluster: str | None = None,
    region: str | None = None,
) -> Snapshot:
    """Read a snapshot from a file, standard input, bytes or a parsed dict.

    Args:
        source: a path (``.json`` or ``.json.gz``; gzip is also recognised by its magic bytes), ``"-"`` for
            standard input, the raw bytes, or an already-parsed dict. Any of the three shapes is accepted
            (see the module docstring).
        cluster: the cluster's name; overrides the envelope's.
        region: the region; overrides the envelope's.

    Returns:
        The :class:`Snapshot`.

    Raises:
        SnapshotNotFoundError: the path does not exist, is a directory, or cannot be read.
        SnapshotDecodeError: empty, truncated, not UTF-8, not JSON, or a broken gzip stream.
        SnapshotShapeError: valid JSON that is not this endpoint's data, or a field of the wrong type.

    Examples:
        >>> snap = load_snapshot("tests/fixtures/docs-example.json")
        >>> snap.jobs[["namespace", "id", "type", "status"]]
          namespace       id     type   status
        0   default  example  service  running
        >>> snap.nodes.loc[0, "version"], snap.tokens.loc[0, "creation_ttl"]
        ('1.6.4', np.int64(60))
    """
    label, payload = _read_source(source)
    with _gc_paused():
        if isinstance(payload, Mapping):
            document: Any = payload
        else:
            document = _decode(payload, label)
        return _from_document(document, label, cluster=cluster, region=region)


def build_snapshot(
    document: Mapping[str, Any], *, source: str, cluster: str | None = None, region: str | None = None
) -> Snapshot:
    """Build a snapshot from an already-parsed document (any shape), recording ``source`` as its origin.

    ``fetch`` uses this with the envelope it assembles around a live response; ``source`` is then the
    agent's address (never with credentials).

    Examples:
        >>> build_snapshot({"OutdatedNodes": []}, source="http://127.0.0.1:4646").info.source
        'http://127.0.0.1:4646'
    """
    with _gc_paused():
        return _from_document(document, source, cluster=cluster, region=region)


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    # Parsing builds millions of container objects and none of them form cycles; letting the cyclic collector
    # walk them again and again roughly doubles the load time of a large snapshot.
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _read_source(source: Any) -> tuple[str, bytes | Mapping[str, Any]]:
    if isinstance(source, Mapping):
        return "<dict>", source
    if isinstance(source, bytes | bytearray | memoryview):
        return "<bytes>", bytes(source)
    if isinstance(source, str) and source == "-":
        return "<stdin>", sys.stdin.buffer.read()
    if isinstance(source, str | os.PathLike):
        path = Path(source)
        label = str(path)
        if not path.exists():
            raise SnapshotNotFoundError(
                f"{label}: no such file; give the path of a snapshot (.json or .json.gz) or '-' for stdin",
                path=label,
            )
        if path.is_dir():
            raise SnapshotNotFoundError(
                f"{label}: is a directory, not a snapshot file; name one file inside it", path=label
            )
        try:
            return label, path.read_bytes()
        except OSError as exc:
            raise SnapshotNotFoundError(
                f"{label}: cannot be read ({exc.strerror}); check its permissions", path=label
            ) from None
    raise TypeError(f"load_snapshot() takes a path, '-', bytes or a dict, not {type(source).__name__}")


def _decode(data: bytes, label: str) -> Any:
    if data[:2] == _GZIP_MAGIC:
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as exc:
            raise SnapshotDecodeError(
                f"{label}: the gzip stream is broken ({exc}); the file was cut short or is not gzip — "
                "capture the snapshot again",
                path=label,
            ) from None
    if not data.strip():
        raise SnapshotDecodeError(
            f"{label}: is empty; expected the JSON of {config.ENDPOINT} or a saved snapshot", path=label
        )
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise SnapshotDecodeError(_describe_json_error(data, exc, label), path=label) from None


def _describe_json_error(data: bytes, exc: orjson.JSONDecodeError, label: str) -> str:
    reason = exc.msg
    if "utf-8" in reason.lower() or "surrogates" in reason.lower():
        try:
            data.decode("utf-8")
        except UnicodeDecodeError as uerr:
            return (
                f"{label}: is not UTF-8 text (invalid byte at offset {uerr.start}); JSON from Nomad is UTF-8 — "
                "was the file re-encoded or is it binary?"
            )
    position = f"line {exc.lineno}, column {exc.colno}"
    if "end of data" in reason or exc.pos >= len(data.rstrip()):
        return f"{label}: the JSON ends too early ({position}); the file is truncated — capture it again"
    return f"{label}: is not valid JSON ({reason} at {position})"


def _from_document(document: Any, label: str, *, cluster: str | None, region: str | None) -> Snapshot:
    if not isinstance(document, Mapping):
        raise SnapshotShapeError(
            f"{label}: {_looks_like(document)}; expected a JSON object from {config.ENDPOINT}", path=label
        )
    envelope: Mapping[str, Any] | None = None
    if "format" in document and "response" in document:
        envelope = document
        body = _check_envelope(document, label)
        shape = "envelope"
        body_shape = envelope.get("body_shape")
        if body_shape not in ("http-body", "cli-json"):
            body_shape = "http-body" if any(k in body for k in _QUERY_META) else "cli-json"
        body_bytes = orjson.dumps(body)
    else:
        body = document
        if not any(key in body for key in _LISTS):
            raise SnapshotShapeError(
                f"{label}: {_looks_like(document)}; expected the body of {config.ENDPOINT} "
                "(keys JobsWithoutVaultIdentity, OutdatedNodes, VaultTokens) or a saved snapshot",
                path=label,
            )
        shape = body_shape = "http-body" if any(k in body for k in _QUERY_META) else "cli-json"
        body_bytes = orjson.dumps(body)

    info = _info(body, envelope, label, shape, body_shape, cluster=cluster, region=region)
    jobs_list = _list(body, "JobsWithoutVaultIdentity", label)
    nodes_list = _list(body, "OutdatedNodes", label)
    tokens_list = _list(body, "VaultTokens", label)
    ctx = (info.cluster, info.region)
    jobs = _jobs_frame(jobs_list, label, ctx)
    nodes, node_drivers = _nodes_frames(nodes_list, label, ctx)
    tokens = _tokens_frame(tokens_list, label, ctx)

    all_nodes = allocations = None
    enrichment = envelope.get("enrichment") if envelope is not None else None
    if enrichment is not None and not isinstance(enrichment, Mapping):
        raise SnapshotShapeError(
            f"{label}: field 'enrichment' must be an object or null", path=label, field="enrichment"
        )
    if enrichment:
        from analysis import enrich  # local: enrichment is optional and rarely present

        all_nodes = enrich.all_nodes_frame(enrichment.get("nodes"), label, ctx)
        allocations = enrich.allocations_frame(enrichment.get("allocations"), label, ctx)
    return Snapshot(
        jobs=jobs,
        nodes=nodes,
        node_drivers=node_drivers,
        tokens=tokens,
        info=info,
        body=body_bytes,
        all_nodes=all_nodes,
        allocations=allocations,
        enrichment=enrichment,
    )


def _check_envelope(document: Mapping[str, Any], label: str) -> Mapping[str, Any]:
    if document.get("format") != config.ENVELOPE_FORMAT:
        raise SnapshotShapeError(
            f"{label}: has a 'format' of {document.get('format')!r}, not {config.ENVELOPE_FORMAT!r}; "
            "it is not a snapshot written by this toolkit",
            path=label,
            field="format",
        )
    version = document.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise SnapshotShapeError(
            f"{label}: envelope field 'version' must be a positive integer, got {version!r}",
            path=label,
            field="version",
        )
    if version > config.ENVELOPE_VERSION:
        raise SnapshotShapeError(
            f"{label}: is a version {version} snapshot, newer than this toolkit reads "
            f"(up to {config.ENVELOPE_VERSION}); upgrade nomad-wi-readiness",
            path=label,
            field="version",
        )
    body = document.get("response")
    if not isinstance(body, Mapping):
        raise SnapshotShapeError(
            f"{label}: envelope field 'response' must be the endpoint's JSON object, got {_json_type(body)}",
            path=label,
            field="response",
        )
    return body


def _info(
    body: Mapping[str, Any],
    envelope: Mapping[str, Any] | None,
    label: str,
    shape: str,
    body_shape: str,
    *,
    cluster: str | None,
    region: str | None,
) -> SnapshotInfo:
    env = envelope or {}
    headers_raw = env.get("headers") or {}
    if not isinstance(headers_raw, Mapping):
        raise SnapshotShapeError(f"{label}: envelope field 'headers' must be an object", path=label, field="headers")
    headers = {str(k): str(v) for k, v in headers_raw.items()}

    index = body.get("Index")
    if index is None and "X-Nomad-Index" in headers:
        index = _header_int(headers["X-Nomad-Index"], label, "headers.X-Nomad-Index")
    _check_scalar(index, int, label, "Index")
    known_leader = body.get("KnownLeader")
    if known_leader is None and "X-Nomad-KnownLeader" in headers:
        known_leader = headers["X-Nomad-KnownLeader"] == "true"
    _check_scalar(known_leader, bool, label, "KnownLeader")
    last_contact = body.get("LastContact")
    if last_contact is None and "X-Nomad-LastContact" in headers:
        # The header is in milliseconds; the body in nanoseconds.
        last_contact = _header_int(headers["X-Nomad-LastContact"], label, "headers.X-Nomad-LastContact") * 1_000_000
    _check_scalar(last_contact, int, label, "LastContact")

    captured_at = None
    if env.get("captured_at") is not None:
        captured_at = _parse_time_scalar(env["captured_at"], label, "captured_at")
    for key in ("cluster", "region", "address", "nomad_version"):
        _check_scalar(env.get(key), str, label, key)
    notes = ()
    enrichment = env.get("enrichment")
    if isinstance(enrichment, Mapping) and isinstance(enrichment.get("notes"), list):
        notes = tuple(str(n) for n in enrichment["notes"])
    return SnapshotInfo(
        source=label,
        shape=shape,
        body_shape=body_shape,
        cluster=cluster if cluster is not None else env.get("cluster"),
        region=region if region is not None else env.get("region"),
        captured_at=captured_at,
        address=env.get("address"),
        nomad_version=env.get("nomad_version"),
        index=index,
        known_leader=known_leader,
        last_contact_ns=last_contact,
        tokens_reported=isinstance(body.get("VaultTokens"), list),
        headers=headers,
        enrichment_notes=notes,
    )


def _check_scalar(value: Any, kind: type, label: str, name: str) -> None:
    if value is None:
        return
    ok = isinstance(value, kind) and (kind is bool or not isinstance(value, bool))
    if not ok:
        raise SnapshotShapeError(
            f"{label}: field '{name}' must be {_KIND_NAMES[kind]}, got {_json_type(value)} {_short(value)}",
            path=label,
            field=name,
        )


def _header_int(value: str, label: str, name: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise SnapshotShapeError(f"{label}: {name} must be an integer, got {value!r}", path=label, field=name) from None


def _list(body: Mapping[str, Any], key: str, label: str) -> list[Any]:
    value = body.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise SnapshotShapeError(
            f"{label}: field '{key}' must be a list or null, got {_json_type(value)}", path=label, field=key
        )
    for i, item in enumerate(value):
        if type(item) is not dict:
            raise SnapshotShapeError(
                f"{label}: {key}[{i}] must be an object, got {_json_type(item)}",
                path=label,
                field=f"{key}[{i}]",
            )
    return value


# -- column builders ------------------------------------------------------------------------------------------
# Each takes the list of raw values (None where the key is absent or null), checks their JSON types in bulk,
# and returns an array of the schema's dtype. A wrong type names the list, the row and the key.

_KIND_NAMES: dict[type, str] = {int: "an integer", bool: "true or false", str: "a string"}


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, Mapping):
        return "an object"
    return type(value).__name__


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _bad_value(values: list[Any], ok: Any, where: tuple[str, str, str]) -> SnapshotShapeError:
    label, list_key, key = where
    for i, value in enumerate(values):
        if value is not None and not ok(value):
            return SnapshotShapeError(
                f"{label}: {list_key}[{i}].{key} must be {_kind_name(ok)}, got {_json_type(value)} {_short(value)}",
                path=label,
                field=f"{list_key}[{i}].{key}",
            )
    return SnapshotShapeError(
        f"{label}: {list_key}[].{key} has a value of the wrong type", path=label, field=f"{list_key}[].{key}"
    )


def _is_str(v: Any) -> bool:
    return isinstance(v, str)


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_bool(v: Any) -> bool:
    return isinstance(v, bool)


def _kind_name(ok: Any) -> str:
    return {_is_str: "a string", _is_int: "an integer", _is_bool: "true or false"}.get(ok, "valid")


def _strings(values: list[Any], where: tuple[str, str, str]) -> Any:
    kind = infer_dtype(values, skipna=True)
    if kind not in ("string", "empty"):
        raise _bad_value(values, _is_str, where)
    return pd.array(np.asarray(values, dtype=object), dtype=STRING)


def _categories(values: list[Any], where: tuple[str, str, str]) -> pd.Categorical:
    try:
        distinct = set(values)
    except TypeError:
        raise _bad_value(values, _is_str, where) from None
    distinct.discard(None)
    if infer_dtype(list(distinct), skipna=True) not in ("string", "empty"):
        raise _bad_value(values, _is_str, where)
    categories = pd.Index(sorted(distinct), dtype=STRING)
    return pd.Categorical(values, categories=categories)


def _object_array(values: list[Any]) -> np.ndarray:
    # A trailing sentinel stops numpy from turning equal-length lists into a 2-D array.
    return np.array([*values, None], dtype=object)[:-1]


def _constant_category(value: str | None, n: int) -> pd.Categorical:
    if value is None:
        return pd.Categorical.from_codes(np.full(n, -1, dtype=np.int8), categories=pd.Index([], dtype=STRING))
    return pd.Categorical.from_codes(np.zeros(n, dtype=np.int8), categories=pd.Index([value], dtype=STRING))


def _booleans(values: list[Any], where: tuple[str, str, str]) -> Any:
    distinct = set(values)
    if not distinct <= {True, False, None} or any(type(v) is int for v in distinct):
        raise _bad_value(values, _is_bool, where)
    mask = np.fromiter((v is None for v in values), dtype=bool, count=len(values)) if None in distinct else None
    data = np.array([bool(v) for v in values], dtype=bool) if mask is not None else np.array(values, dtype=bool)
    if mask is None:
        mask = np.zeros(len(values), dtype=bool)
    return pd.arrays.BooleanArray(data, mask)


def _integers(values: list[Any], where: tuple[str, str, str], unsigned: bool) -> Any:
    n = len(values)
    has_null = None in values
    filled = [0 if v is None else v for v in values] if has_null else values
    kind = infer_dtype(filled, skipna=False) if n else "integer"
    if kind != "integer":
        raise _bad_value(values, _is_int, where)
    dtype = np.uint64 if unsigned else np.int64
    try:
        data = np.array(filled, dtype=dtype) if n else np.empty(0, dtype=dtype)
    except OverflowError:
        label, list_key, key = where
        raise SnapshotShapeError(
            f"{label}: {list_key}[].{key} holds a value outside the {'unsigned ' if unsigned else ''}64-bit range",
            path=label,
            field=f"{list_key}[].{key}",
        ) from None
    mask = np.fromiter((v is None for v in values), dtype=bool, count=n) if has_null else np.zeros(n, dtype=bool)
    return pd.arrays.IntegerArray(data, mask)


def _unix_ns(values: list[Any], where: tuple[str, str, str]) -> Any:
    ints = _integers(values, where, unsigned=False)
    data = ints.to_numpy(dtype=np.int64, na_value=np.iinfo(np.int64).min)  # int64 min is NaT
    return pd.DatetimeIndex(data.view("M8[ns]")).tz_localize("UTC").array


def _times(values: list[Any], where: tuple[str, str, str]) -> Any:
    kind = infer_dtype(values, skipna=True)
    if kind not in ("string", "empty"):
        raise _bad_value(values, _is_str, where)
    if kind == "empty":
        return pd.DatetimeIndex(np.full(len(values), np.datetime64("NaT", "ns"))).tz_localize("UTC").array
    try:
        parsed = pd.to_datetime(values, utc=True, format="ISO8601")
    except (ValueError, OverflowError):
        label, list_key, key = where
        for i, value in enumerate(values):
            if value is None:
                continue
            try:
                pd.to_datetime(value, utc=True, format="ISO8601")
            except (ValueError, OverflowError):
                raise SnapshotShapeError(
                    f"{label}: {list_key}[{i}].{key} is not an RFC 3339 time: {_short(value)}",
                    path=label,
                    field=f"{list_key}[{i}].{key}",
                ) from None
        raise
    # pandas 3 infers microseconds when no value has nanosecond digits; the schema says nanoseconds.
    return parsed.astype(UTC_NS).array


def _parse_time_scalar(value: Any, label: str, name: str) -> pd.Timestamp:
    if not isinstance(value, str):
        raise SnapshotShapeError(f"{label}: field '{name}' must be an RFC 3339 time string", path=label, field=name)
    try:
        return pd.Timestamp(value).tz_convert("UTC") if pd.Timestamp(value).tzinfo else pd.Timestamp(value, tz="UTC")
    except ValueError:
        raise SnapshotShapeError(
            f"{label}: field '{name}' is not an RFC 3339 time: {_short(value)}", path=label, field=name
        ) from None


def _format_time(ts: pd.Timestamp) -> str:
    return ts.tz_convert("UTC").strftime("%Y-%m-%dT%H:%M:%S.%fZ") if ts.tzinfo else ts.isoformat()


def _column(kind: str, values: list[Any], where: tuple[str, str, str]) -> Any:
    if kind == "string":
        return _strings(values, where)
    if kind == "category":
        return _categories(values, where)
    if kind == "boolean":
        return _booleans(values, where)
    if kind == "UInt64":
        return _integers(values, where, unsigned=True)
    if kind == "Int64":
        return _integers(values, where, unsigned=False)
    raise AssertionError(kind)


def _frame(table: Table, columns: dict[str, Any], n: int, ctx: tuple[str | None, str | None]) -> pd.DataFrame:
    if n == 0:
        return empty_frame(table)
    data: dict[str, Any] = {
        "cluster": _constant_category(ctx[0], n),
        "region": _constant_category(ctx[1], n),
    }
    for column in table.columns[2:]:
        data[column.name] = columns[column.name]
    data.update({k: v for k, v in columns.items() if k not in data})
    return pd.DataFrame(data, copy=False)


# (column, JSON key, kind) for the plain fields; the rest are built by hand below.
_JOB_FIELDS = (
    ("namespace", "Namespace", "category"),
    ("id", "ID", "string"),
    ("name", "Name", "string"),
    ("parent_id", "ParentID", "string"),
    ("type", "Type", "category"),
    ("status", "Status", "category"),
    ("status_description", "StatusDescription", "string"),
    ("stop", "Stop", "boolean"),
    ("priority", "Priority", "Int64"),
    ("node_pool", "NodePool", "category"),
    ("periodic", "Periodic", "boolean"),
    ("parameterized", "ParameterizedJob", "boolean"),
    ("create_index", "CreateIndex", "UInt64"),
    ("modify_index", "ModifyIndex", "UInt64"),
    ("job_modify_index", "JobModifyIndex", "UInt64"),
)


def _jobs_frame(jobs: list[dict[str, Any]], label: str, ctx: tuple[str | None, str | None]) -> pd.DataFrame:
    if not jobs:
        return empty_frame(JOBS)
    key = "JobsWithoutVaultIdentity"
    columns: dict[str, Any] = {}
    for name, json_key, kind in _JOB_FIELDS:
        columns[name] = _column(kind, [j.get(json_key) for j in jobs], (label, key, json_key))
    datacenters = [j.get("Datacenters") for j in jobs]
    for i, value in enumerate(datacenters):
        if value is not None and (type(value) is not list or not all(isinstance(d, str) for d in value)):
            raise SnapshotShapeError(
                f"{label}: {key}[{i}].Datacenters must be a list of strings, got {_json_type(value)}",
                path=label,
                field=f"{key}[{i}].Datacenters",
            )
    columns["datacenters"] = _object_array(datacenters)
    multiregion = [
        ("Multiregion" in j) and (j["Multiregion"] is not None) if "Multiregion" in j else None for j in jobs
    ]
    columns["multiregion"] = _booleans(multiregion, (label, key, "Multiregion"))
    columns["submit_time"] = _unix_ns([j.get("SubmitTime") for j in jobs], (label, key, "SubmitTime"))
    return _frame(JOBS, columns, len(jobs), ctx)


_NODE_FIELDS = (
    ("id", "ID", "string"),
    ("name", "Name", "string"),
    ("address", "Address", "string"),
    ("datacenter", "Datacenter", "category"),
    ("node_pool", "NodePool", "category"),
    ("node_class", "NodeClass", "category"),
    ("status", "Status", "category"),
    ("status_description", "StatusDescription", "string"),
    ("scheduling_eligibility", "SchedulingEligibility", "category"),
    ("drain", "Drain", "boolean"),
    ("version", "Version", "category"),
    ("create_index", "CreateIndex", "UInt64"),
    ("modify_index", "ModifyIndex", "UInt64"),
)


def _nodes_frames(
    nodes: list[dict[str, Any]], label: str, ctx: tuple[str | None, str | None]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    if not nodes:
        return empty_frame(NODES), empty_frame(NODE_DRIVERS)
    key = "OutdatedNodes"
    n = len(nodes)
    columns: dict[str, Any] = {}
    for name, json_key, kind in _NODE_FIELDS:
        columns[name] = _column(kind, [node.get(json_key) for node in nodes], (label, key, json_key))

    # LastDrain: null when the node was never drained.
    drain_status: list[Any] = [None] * n
    drain_started: list[Any] = [None] * n
    drain_updated: list[Any] = [None] * n
    host_volumes: list[Any] = [None] * n
    for i, node in enumerate(nodes):
        last = node.get("LastDrain")
        if last is not None:
            if type(last) is not dict:
                raise SnapshotShapeError(
                    f"{label}: {key}[{i}].LastDrain must be an object or null, got {_json_type(last)}",
                    path=label,
                    field=f"{key}[{i}].LastDrain",
                )
            drain_status[i] = last.get("Status")
            drain_started[i] = last.get("StartedAt")
            drain_updated[i] = last.get("UpdatedAt")
        if "HostVolumes" in node:
            volumes = node["HostVolumes"]
            if volumes is None:
                host_volumes[i] = []
            elif type(volumes) is dict:
                host_volumes[i] = sorted(volumes)
            else:
                raise SnapshotShapeError(
                    f"{label}: {key}[{i}].HostVolumes must be an object or null, got {_json_type(volumes)}",
                    path=label,
                    field=f"{key}[{i}].HostVolumes",
                )
    columns["last_drain_status"] = _categories(drain_status, (label, key, "LastDrain.Status"))
    columns["last_drain_started_at"] = _times(drain_started, (label, key, "LastDrain.StartedAt"))
    columns["last_drain_updated_at"] = _times(drain_updated, (label, key, "LastDrain.UpdatedAt"))
    columns["host_volumes"] = _object_array(host_volumes)

    # One pass over every node's Drivers map feeds both the long table and the per-driver wide columns.
    ids = [node.get("ID") for node in nodes]
    d_node: list[Any] = []
    d_name: list[str] = []
    d_detected: list[Any] = []
    d_healthy: list[Any] = []
    d_desc: list[Any] = []
    d_time: list[Any] = []
    d_attrs: list[Any] = []
    wide: dict[str, tuple[list[Any], list[Any]]] = {}
    for i, node in enumerate(nodes):
        drivers = node.get("Drivers")
        if not drivers:
            if drivers is not None and type(drivers) is not dict:
                raise SnapshotShapeError(
                    f"{label}: {key}[{i}].Drivers must be an object or null, got {_json_type(drivers)}",
                    path=label,
                    field=f"{key}[{i}].Drivers",
                )
            continue
        if type(drivers) is not dict:
            raise SnapshotShapeError(
                f"{label}: {key}[{i}].Drivers must be an object or null, got {_json_type(drivers)}",
                path=label,
                field=f"{key}[{i}].Drivers",
            )
        node_id = ids[i]
        for driver, info in drivers.items():
            if type(info) is not dict:
                raise SnapshotShapeError(
                    f"{label}: {key}[{i}].Drivers.{driver} must be an object, got {_json_type(info)}",
                    path=label,
                    field=f"{key}[{i}].Drivers.{driver}",
                )
            detected = info.get("Detected")
            healthy = info.get("Healthy")
            d_node.append(node_id)
            d_name.append(driver)
            d_detected.append(detected)
            d_healthy.append(healthy)
            d_desc.append(info.get("HealthDescription"))
            d_time.append(info.get("UpdateTime"))
            attrs = info.get("Attributes")
            d_attrs.append(attrs if attrs is not None else {})
            slot = wide.get(driver)
            if slot is None:
                slot = wide[driver] = ([None] * n, [None] * n)
            slot[0][i] = detected
            slot[1][i] = healthy

    where_d = (label, key, "Drivers.*")
    for driver in sorted(wide):
        detected_col, healthy_col = driver_columns(driver)
        columns[detected_col] = _booleans(wide[driver][0], (label, key, f"Drivers.{driver}.Detected"))
        columns[healthy_col] = _booleans(wide[driver][1], (label, key, f"Drivers.{driver}.Healthy"))
    nodes_frame = _frame(NODES, columns, n, ctx)

    m = len(d_node)
    if m == 0:
        return nodes_frame, empty_frame(NODE_DRIVERS)
    for i, attrs in enumerate(d_attrs):
        if type(attrs) is not dict:
            raise SnapshotShapeError(
                f"{label}: {key}[].Drivers.{d_name[i]}.Attributes must be an object or null (node {d_node[i]})",
                path=label,
                field=f"{key}[].Drivers.Attributes",
            )
    driver_columns_data = {
        "node_id": _strings(d_node, (label, key, "ID")),
        "driver": _categories(d_name, where_d),
        "detected": _booleans(d_detected, (label, key, "Drivers.*.Detected")),
        "healthy": _booleans(d_healthy, (label, key, "Drivers.*.Healthy")),
        "health_description": _strings(d_desc, (label, key, "Drivers.*.HealthDescription")),
        "update_time": _times(d_time, (label, key, "Drivers.*.UpdateTime")),
        "attributes": _object_array(d_attrs),
    }
    return nodes_frame, _frame(NODE_DRIVERS, driver_columns_data, m, ctx)


_TOKEN_FIELDS = (
    ("accessor", "Accessor", "string"),
    ("alloc_id", "AllocID", "string"),
    ("node_id", "NodeID", "string"),
    ("task", "Task", "category"),
    ("creation_ttl", "CreationTTL", "Int64"),
    ("create_index", "CreateIndex", "UInt64"),
)


def _tokens_frame(tokens: list[dict[str, Any]], label: str, ctx: tuple[str | None, str | None]) -> pd.DataFrame:
    if not tokens:
        return empty_frame(TOKENS)
    key = "VaultTokens"
    columns = {
        name: _column(kind, [t.get(json_key) for t in tokens], (label, key, json_key))
        for name, json_key, kind in _TOKEN_FIELDS
    }
    return _frame(TOKENS, columns, len(tokens), ctx)


# -- describing what a document looks like when it is not a snapshot ------------------------------------------

_KNOWN_BODIES = (
    ({"Members", "ServerName"}, "the body of /v1/agent/members"),
    ({"config", "member"}, "the body of /v1/agent/self"),
    ({"Servers", "Index"}, "the body of /v1/operator/raft/configuration"),
    ({"SchedulerConfig"}, "the body of /v1/operator/scheduler/configuration"),
    ({"ACLToken"}, "an ACL token"),
    ({"AccessorID", "SecretID"}, "an ACL token (do not share this file: it holds a secret)"),
    ({"Job"}, "a job specification (/v1/job/:id)"),
    ({"TaskGroups"}, "a job specification (/v1/job/:id)"),
)


def _looks_like(document: Any) -> str:
    if isinstance(document, list):
        first = document[0] if document else None
        if isinstance(first, Mapping):
            if "JobSummary" in first or "ParentID" in first:
                return f"is a JSON list of {len(document)} job stubs (the body of /v1/jobs?)"
            if "Drivers" in first or "NodePool" in first or "Datacenter" in first:
                return f"is a JSON list of {len(document)} node stubs (the body of /v1/nodes?)"
            if "TaskStates" in first or "ClientStatus" in first:
                return f"is a JSON list of {len(document)} allocations (the body of /v1/allocations?)"
        return f"is a JSON list of {len(document)} items, not an object"
    if isinstance(document, Mapping):
        keys = set(document)
        for wanted, what in _KNOWN_BODIES:
            if wanted <= keys:
                return f"looks like {what}"
        if "errors" in keys or "error" in keys:
            return "looks like an error message, not data"
        shown = ", ".join(sorted(str(k) for k in keys)[:6]) or "none"
        return f"is a JSON object with other keys ({shown})"
    return f"is a JSON {_json_type(document).removeprefix('a ').removeprefix('an ')} ({_short(document)})"
