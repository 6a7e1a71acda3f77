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
import re
import sys
import zlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from operator import attrgetter
from pathlib import Path
from typing import Any, cast

import msgspec
import numpy as np
import orjson
import pandas as pd
from pandas.api.types import infer_dtype

from analysis import config, wire
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

__all__ = ["Snapshot", "SnapshotInfo", "build_snapshot", "check_snapshot", "load_snapshot"]

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
        body: bytes | None,
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
                columns[column.name] = _constant_category(str(row[column.name]), 1)
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
        """The snapshot as the project's envelope, compact JSON.

        Raises:
            ValueError: the snapshot has no raw body to save (a redacted copy is for display only).
        """
        if self._body is None:
            raise ValueError("this snapshot has no raw body to save (a redacted copy is for display only)")
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
    return _load(payload, label, cluster=cluster, region=region)


def check_snapshot(source: str | os.PathLike[str] | bytes) -> None:
    """Check that ``source`` reads as a snapshot (shape and JSON types) without building its frames.

    About a third of the cost of :func:`load_snapshot`; ``render_report`` runs it before starting a kernel so a
    bad file fails with its one-line message instead of a notebook error.

    Raises:
        SnapshotError: as :func:`load_snapshot` would, for the same reasons.
    """
    label, payload = _read_source(source)
    data = _gunzip(payload, label) if not isinstance(payload, Mapping) else orjson.dumps(payload)
    with _gc_paused():
        _endpoint_body(_decode_document(data, label), data, label)


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
    return _load(document, source, cluster=cluster, region=region)


def _load(payload: bytes | Mapping[str, Any], label: str, *, cluster: str | None, region: str | None) -> Snapshot:
    if isinstance(payload, Mapping):
        try:
            data = orjson.dumps(payload)
        except TypeError as exc:
            raise SnapshotShapeError(f"{label}: holds a value JSON cannot represent ({exc})", path=label) from None
    else:
        data = _gunzip(payload, label)
    with _gc_paused():
        document = _decode_document(data, label)
        return _from_document(document, data, label, cluster=cluster, region=region)


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    # Loading builds hundreds of thousands of container objects and none of them form cycles; letting the
    # cyclic collector walk them again and again costs a large share of the load time.
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
        data = sys.stdin.buffer.read(config.MAX_SNAPSHOT_BYTES + 1)
        if len(data) > config.MAX_SNAPSHOT_BYTES:
            raise SnapshotDecodeError(
                f"<stdin>: more than {config.MAX_SNAPSHOT_BYTES / 1024**3:.0f} GiB; not a snapshot of this endpoint",
                path="<stdin>",
            )
        return "<stdin>", data
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
        if not path.is_file():
            raise SnapshotNotFoundError(
                f"{label}: is not a regular file (a device, a pipe or a socket); save the snapshot to a file, or "
                "pipe it to '-'",
                path=label,
            )
        if path.stat().st_size > config.MAX_SNAPSHOT_BYTES:
            raise SnapshotDecodeError(
                f"{label}: is larger than {config.MAX_SNAPSHOT_BYTES / 1024**3:.0f} GiB; not a snapshot of this "
                "endpoint",
                path=label,
            )
        try:
            return label, path.read_bytes()
        except OSError as exc:
            raise SnapshotNotFoundError(
                f"{label}: cannot be read ({exc.strerror}); check its permissions", path=label
            ) from None
    raise TypeError(f"load_snapshot() takes a path, '-', bytes or a dict, not {type(source).__name__}")


def _gunzip(data: bytes, label: str) -> bytes:
    if data[:2] == _GZIP_MAGIC:
        try:
            data = _inflate(data, label)
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
    return data


def _inflate(data: bytes, label: str) -> bytes:
    """Decompress gzip (several members too), refusing to inflate past MAX_SNAPSHOT_BYTES (gzip bombs)."""
    out = bytearray()
    while data:
        inflater = zlib.decompressobj(wbits=31)
        while True:
            room = config.MAX_SNAPSHOT_BYTES + 1 - len(out)
            out += inflater.decompress(data, room)
            if len(out) > config.MAX_SNAPSHOT_BYTES:
                raise SnapshotDecodeError(
                    f"{label}: inflates to more than {config.MAX_SNAPSHOT_BYTES / 1024**3:.0f} GiB; not a snapshot "
                    "of this endpoint",
                    path=label,
                )
            data = inflater.unconsumed_tail
            if not data or inflater.eof:
                break
        if not inflater.eof:
            raise EOFError("compressed file ended before the end-of-stream marker was reached")
        data = inflater.unused_data.lstrip(b"\0")  # a next member, if any (gzip pads with NULs)
    return bytes(out)


def _decode_document(data: bytes, label: str) -> wire.Document:
    try:
        return wire.DOCUMENT_DECODER.decode(data)
    except RecursionError:
        raise SnapshotDecodeError(
            f"{label}: nests JSON too deeply to be a snapshot of {config.ENDPOINT}", path=label
        ) from None
    except msgspec.ValidationError as exc:
        path = _validation_path(exc)
        if path == "$":
            # Not an object at all: parse it loosely to say what it is instead.
            raise SnapshotShapeError(
                f"{label}: {_looks_like(_loose(data, label))}; expected a JSON object from {config.ENDPOINT}",
                path=label,
            ) from None
        raise _shape_error(exc, label, prefix="") from None
    except msgspec.DecodeError as exc:
        raise SnapshotDecodeError(_describe_json_error(data, str(exc), label), path=label) from None


_VALIDATION_RE = re.compile(r"^(?P<what>.*?)(?: - at `(?P<path>[^`]*)`)?$", re.DOTALL)


def _validation_path(exc: msgspec.ValidationError) -> str:
    match = _VALIDATION_RE.match(str(exc))
    return (match and match.group("path")) or "$"


def _shape_error(exc: msgspec.ValidationError, label: str, *, prefix: str) -> SnapshotShapeError:
    match = _VALIDATION_RE.match(str(exc))
    what = match.group("what") if match else str(exc)
    path = _validation_path(exc)
    field = prefix + path.removeprefix("$").removeprefix(".")
    field = field.rstrip(".") or "(top level)"
    what = _TYPE_WORDS.sub(lambda m: _TYPE_NAMES.get(m.group(1), m.group(1)), what)
    what = what[0].lower() + what[1:] if what else what
    return SnapshotShapeError(f"{label}: {field}: {what}", path=label, field=field)


_TYPE_WORDS = re.compile(r"`([^`]+)`")
_TYPE_NAMES = {
    "str | null": "a string or null",
    "int | null": "an integer or null",
    "bool | null": "true, false or null",
    "array | null": "a list or null",
    "object | null": "an object or null",
    "str": "a string",
    "int": "an integer",
    "bool": "true or false",
    "float": "a number with a fraction",
    "array": "a list",
    "object": "an object",
    "null": "null",
    "raw": "a JSON value",
}


def _describe_json_error(data: bytes, reason: str, label: str) -> str:
    if "utf-8" in reason.lower():
        try:
            data.decode("utf-8")
        except UnicodeDecodeError as uerr:
            return (
                f"{label}: is not UTF-8 text (invalid byte at offset {uerr.start}); JSON from Nomad is UTF-8 — "
                "was the file re-encoded or is it binary?"
            )
        return f"{label}: is not UTF-8 text; JSON from Nomad is UTF-8 — was the file re-encoded?"
    if "truncated" in reason:
        return f"{label}: the JSON ends too early; the file is truncated — capture it again"
    match = re.search(r"\(byte (\d+)\)", reason)
    where = ""
    if match:
        offset = int(match.group(1))
        line = data.count(b"\n", 0, offset) + 1
        column = offset - (data.rfind(b"\n", 0, offset) + 1) + 1
        where = f" at line {line}, column {column}"
    detail = re.sub(r"\s*\(byte \d+\)", "", reason).removeprefix("JSON is malformed: ")
    return f"{label}: is not valid JSON ({detail}{where})"


def _from_document(
    document: wire.Document, data: bytes, label: str, *, cluster: str | None, region: str | None
) -> Snapshot:
    body, raw_body, shape, body_shape = _endpoint_body(document, data, label)
    is_envelope = shape == "envelope"
    enrichment: Any = None
    if is_envelope and document.enrichment is not msgspec.UNSET:
        enrichment = _loose(bytes(document.enrichment), label)
        if enrichment is not None and not isinstance(enrichment, Mapping):
            raise SnapshotShapeError(
                f"{label}: field 'enrichment' must be an object or null", path=label, field="enrichment"
            )
    notes = enrichment.get("notes") if enrichment else None
    notes = tuple(str(n) for n in notes) if isinstance(notes, list) else ()
    info = _info(
        body, document if is_envelope else None, label, shape, body_shape, cluster=cluster, region=region, notes=notes
    )
    ctx = (info.cluster, info.region)
    jobs = _jobs_frame(_present(body.JobsWithoutVaultIdentity), label, ctx)
    nodes, node_drivers = _nodes_frames(_present(body.OutdatedNodes), label, ctx)
    tokens = _tokens_frame(_present(body.VaultTokens), label, ctx)

    all_nodes = allocations = None
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
        body=raw_body,
        all_nodes=all_nodes,
        allocations=allocations,
        enrichment=enrichment,
    )


def _loose(data: bytes, label: str) -> Any:
    """Parse without a schema, only to describe a document that is not a snapshot."""
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise SnapshotDecodeError(_describe_json_error(data, exc.msg, label), path=label) from None
    except RecursionError:
        raise SnapshotDecodeError(f"{label}: nests JSON too deeply to be a snapshot", path=label) from None


def _endpoint_body(document: wire.Document, data: bytes, label: str) -> tuple[wire.Body, bytes, str, str]:
    """The endpoint's data in a decoded document, checked: (body, its raw bytes, shape, body shape).

    An envelope's ``response`` is decoded here (its errors name ``response.…``); a bare body is the document
    itself. Either must hold at least one of the three lists, or it is not this endpoint's data.
    """
    if document.format is not None or document.response is not msgspec.UNSET:
        _check_envelope(document, label)
        raw_body = bytes(cast(msgspec.Raw, document.response))
        try:
            body: wire.Body = wire.BODY_DECODER.decode(raw_body)
        except msgspec.ValidationError as exc:
            if _validation_path(exc) == "$":
                raise SnapshotShapeError(
                    f"{label}: envelope field 'response' must be the endpoint's JSON object, got "
                    f"{_json_type(_loose(raw_body, label))}",
                    path=label,
                    field="response",
                ) from None
            raise _shape_error(exc, label, prefix="response.") from None
        if all(getattr(body, key) is msgspec.UNSET for key in _LISTS):
            raise SnapshotShapeError(
                f"{label}: the envelope's 'response' {_looks_like(_loose(raw_body, label))}; expected the body of "
                f"{config.ENDPOINT} (keys JobsWithoutVaultIdentity, OutdatedNodes, VaultTokens)",
                path=label,
                field="response",
            )
        body_shape = document.body_shape
        if body_shape not in ("http-body", "cli-json"):
            body_shape = "http-body" if _has_query_meta(body) else "cli-json"
        return body, raw_body, "envelope", body_shape
    if all(getattr(document, key) is msgspec.UNSET for key in _LISTS):
        raise SnapshotShapeError(
            f"{label}: {_looks_like(_loose(data, label))}; expected the body of {config.ENDPOINT} "
            "(keys JobsWithoutVaultIdentity, OutdatedNodes, VaultTokens) or a saved snapshot",
            path=label,
        )
    shape = "http-body" if _has_query_meta(document) else "cli-json"
    return document, data, shape, shape


def _present(value: Any) -> list[Any]:
    return [] if value is None or value is msgspec.UNSET else value


def _has_query_meta(body: wire.Body) -> bool:
    return any(getattr(body, key) is not None for key in _QUERY_META)


def _check_envelope(document: wire.Document, label: str) -> None:
    if document.format != config.ENVELOPE_FORMAT:
        raise SnapshotShapeError(
            f"{label}: has a 'format' of {document.format!r}, not {config.ENVELOPE_FORMAT!r}; "
            "it is not a snapshot written by this toolkit",
            path=label,
            field="format",
        )
    version = document.version
    if version is None or version < 1:
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
    if document.response is msgspec.UNSET:
        raise SnapshotShapeError(
            f"{label}: envelope has no 'response' (the endpoint's JSON)", path=label, field="response"
        )


def _info(
    body: wire.Body,
    envelope: wire.Document | None,
    label: str,
    shape: str,
    body_shape: str,
    *,
    cluster: str | None,
    region: str | None,
    notes: tuple[str, ...],
) -> SnapshotInfo:
    headers = dict(envelope.headers or {}) if envelope is not None else {}
    index = body.Index
    if index is None and "X-Nomad-Index" in headers:
        index = _header_int(headers["X-Nomad-Index"], label, "headers.X-Nomad-Index")
    if index is not None and not 0 <= index < 2**64:
        raise SnapshotShapeError(
            f"{label}: Index {index} is outside the unsigned 64-bit range of a Raft index", path=label, field="Index"
        )
    known_leader = body.KnownLeader
    if known_leader is None and "X-Nomad-KnownLeader" in headers:
        known_leader = headers["X-Nomad-KnownLeader"] == "true"
    last_contact = body.LastContact
    if last_contact is None and "X-Nomad-LastContact" in headers:
        # The header is in milliseconds; the body in nanoseconds.
        last_contact = _header_int(headers["X-Nomad-LastContact"], label, "headers.X-Nomad-LastContact") * 1_000_000
        if not -(2**63) <= last_contact < 2**63:
            raise SnapshotShapeError(
                f"{label}: headers.X-Nomad-LastContact is out of range", path=label, field="X-Nomad-LastContact"
            )

    captured_at = None
    env_cluster = env_region = address = nomad_version = None
    if envelope is not None:
        if envelope.captured_at is not None:
            captured_at = _parse_time_scalar(envelope.captured_at, label, "captured_at")
        env_cluster, env_region = envelope.cluster, envelope.region
        address, nomad_version = envelope.address, envelope.nomad_version
    return SnapshotInfo(
        source=label,
        shape=shape,
        body_shape=body_shape,
        cluster=cluster if cluster is not None else env_cluster,
        region=region if region is not None else env_region,
        captured_at=captured_at,
        address=address,
        nomad_version=nomad_version,
        index=index,
        known_leader=known_leader,
        last_contact_ns=last_contact,
        tokens_reported=isinstance(body.VaultTokens, list),
        headers=headers,
        enrichment_notes=notes,
    )


def _header_int(value: str, label: str, name: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise SnapshotShapeError(f"{label}: {name} must be an integer, got {value!r}", path=label, field=name) from None


def _list(body: Mapping[str, Any], key: str, label: str) -> list[Any]:
    """A list of objects under ``key`` of a loosely parsed document (enrichment data), checked."""
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
                f"{label}: {key}[{i}] must be an object, got {_json_type(item)}", path=label, field=f"{key}[{i}]"
            )
    return value


# -- column builders ------------------------------------------------------------------------------------------
# Values decoded through analysis.wire are already type-checked; the checking builders (_column and friends)
# serve loosely parsed data (enrichment), naming the list, the row and the key of a wrong value.

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


def _bad_value(values: Sequence[Any], ok: Any, where: tuple[str, str, str]) -> SnapshotShapeError:
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


def _strings(values: Sequence[Any], where: tuple[str, str, str] | None = None, check: bool = True) -> Any:
    if check and where is not None and infer_dtype(values, skipna=True) not in ("string", "empty"):
        raise _bad_value(list(values), _is_str, where)
    return pd.array(np.array(values, dtype=object), dtype=STRING)


def _categories(values: Sequence[Any], where: tuple[str, str, str] | None = None, check: bool = True) -> Any:
    try:
        distinct = set(values)
    except TypeError:
        assert where is not None
        raise _bad_value(list(values), _is_str, where) from None
    distinct.discard(None)
    if check and where is not None and infer_dtype(list(distinct), skipna=True) not in ("string", "empty"):
        raise _bad_value(list(values), _is_str, where)
    categories = sorted(distinct)
    # Codes through a dict: pd.Categorical(values) would first infer a dtype for every value.
    code_of: dict[Any, int] = {c: i for i, c in enumerate(categories)}
    code_of[None] = -1
    codes = np.fromiter(map(code_of.__getitem__, values), dtype=np.int32, count=len(values))
    return pd.Categorical.from_codes(codes, categories=pd.Index(categories, dtype=STRING))


def _object_array(values: Sequence[Any]) -> np.ndarray:
    # fromiter neither turns equal-length lists into a 2-D array nor inspects each list's contents.
    return np.fromiter(values, dtype=object, count=len(values))


def _constant_category(value: str | None, n: int) -> pd.Categorical:
    if value is None:
        return pd.Categorical.from_codes(np.full(n, -1, dtype=np.int8), categories=pd.Index([], dtype=STRING))
    return pd.Categorical.from_codes(np.zeros(n, dtype=np.int8), categories=pd.Index([value], dtype=STRING))


def _booleans(values: Sequence[Any], where: tuple[str, str, str] | None = None, check: bool = True) -> Any:
    if check and where is not None:
        distinct = set(values)
        if not distinct <= {True, False, None} or any(type(v) is int for v in distinct):
            raise _bad_value(values, _is_bool, where)
    n = len(values)
    if None in values:
        mask = np.fromiter((v is None for v in values), dtype=bool, count=n)
        data = np.fromiter((v is True for v in values), dtype=bool, count=n)
    else:
        mask = np.zeros(n, dtype=bool)
        data = np.array(values, dtype=bool)
    return pd.arrays.BooleanArray(data, mask)


def _integers(values: Sequence[Any], where: tuple[str, str, str] | None, unsigned: bool, check: bool = True) -> Any:
    n = len(values)
    has_null = None in values
    filled = [0 if v is None else v for v in values] if has_null else values
    if check and where is not None and n and infer_dtype(filled, skipna=False) != "integer":
        raise _bad_value(values, _is_int, where)
    dtype = np.uint64 if unsigned else np.int64
    try:
        data = np.array(filled, dtype=dtype) if n else np.empty(0, dtype=dtype)
    except OverflowError:
        label, list_key, key = where or ("<data>", "?", "?")
        raise SnapshotShapeError(
            f"{label}: {list_key}[].{key} holds a value outside the {'unsigned ' if unsigned else ''}64-bit range",
            path=label,
            field=f"{list_key}[].{key}",
        ) from None
    mask = np.fromiter((v is None for v in values), dtype=bool, count=n) if has_null else np.zeros(n, dtype=bool)
    return pd.arrays.IntegerArray(data, mask)


def _unix_ns(values: Sequence[Any]) -> Any:
    ints = _integers(values, None, unsigned=False)
    data = ints.to_numpy(dtype=np.int64, na_value=np.iinfo(np.int64).min)  # int64 min is NaT
    return pd.DatetimeIndex(data.view("M8[ns]")).tz_localize("UTC").array


def _times(values: Sequence[Any], where: tuple[str, str]) -> Any:
    """RFC 3339 strings (any offset, up to nanoseconds) or None into UTC nanosecond timestamps."""
    if all(v is None for v in values):
        return pd.DatetimeIndex(np.full(len(values), np.datetime64("NaT", "ns"))).tz_localize("UTC").array
    try:
        parsed = pd.to_datetime(values, utc=True, format="ISO8601")
    except (ValueError, OverflowError):
        parsed = pd.DatetimeIndex([_one_time(v, i, where) for i, v in enumerate(values)])
    # pandas 3 infers microseconds when no value has nanosecond digits; the schema says nanoseconds. Times
    # nanoseconds cannot hold (Go's zero time 0001-01-01, year 9999) mean "unknown": NaT.
    try:
        return parsed.astype(UTC_NS).array
    except pd.errors.OutOfBoundsDatetime:
        low, high = pd.Timestamp.min.tz_localize("UTC"), pd.Timestamp.max.tz_localize("UTC")
        return parsed.where((parsed >= low) & (parsed <= high)).astype(UTC_NS).array


_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})")


def _one_time(value: Any, i: int, where: tuple[str, str]) -> pd.Timestamp:
    """One time of a column whose bulk parse failed: out-of-range ones (Go's zero time 0001-01-01, year 9999)
    cannot be nanosecond timestamps and mean "unknown" here, so NaT; anything else that fails is an error."""
    if value is None:
        return pd.NaT
    label, field = where
    try:
        return pd.Timestamp(value).tz_convert("UTC").as_unit("ns")
    except pd.errors.OutOfBoundsDatetime:
        return pd.NaT
    except (ValueError, TypeError, OverflowError):
        raise SnapshotShapeError(
            f"{label}: {field.replace('[]', f'[{i}]', 1)} is not an RFC 3339 time: {_short(value)}",
            path=label,
            field=field,
        ) from None


def _parse_time_scalar(value: Any, label: str, name: str) -> pd.Timestamp:
    if not isinstance(value, str) or not _RFC3339.fullmatch(value):
        raise SnapshotShapeError(
            f"{label}: field '{name}' must be an RFC 3339 time such as 2026-12-03T06:15:00Z, got {_short(value)}",
            path=label,
            field=name,
        )
    try:
        stamp = pd.Timestamp(value).as_unit("ns")
    except (ValueError, OverflowError):
        raise SnapshotShapeError(
            f"{label}: field '{name}' is not a time between 1678 and 2262: {_short(value)}", path=label, field=name
        ) from None
    return stamp.tz_convert("UTC") if stamp.tzinfo else stamp.tz_localize("UTC")


def _format_time(ts: pd.Timestamp) -> str:
    return ts.tz_convert("UTC").strftime("%Y-%m-%dT%H:%M:%S.%fZ") if ts.tzinfo else ts.isoformat()


def _column(kind: str, values: Sequence[Any], where: tuple[str, str, str] | None = None, check: bool = True) -> Any:
    """An array of the schema kind. ``where`` (label, list, key) names the place in errors; ``check`` also
    checks the values' JSON types (values decoded through :mod:`analysis.wire` are checked already)."""
    if kind == "string":
        return _strings(values, where, check)
    if kind == "category":
        return _categories(values, where, check)
    if kind == "boolean":
        return _booleans(values, where, check)
    if kind == "UInt64":
        return _integers(values, where, unsigned=True, check=check)
    if kind == "Int64":
        return _integers(values, where, unsigned=False, check=check)
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


def _attr(records: list[Any], name: str) -> list[Any]:
    return list(map(attrgetter(name), records))


def _fields(records: list[Any], names: Sequence[str]) -> dict[str, tuple[Any, ...]]:
    """Several attributes of every record, as columns: one C-level pass instead of one per attribute."""
    if len(names) == 1:
        return {names[0]: tuple(_attr(records, names[0]))}
    rows = list(map(attrgetter(*names), records))
    return dict(zip(names, zip(*rows, strict=True), strict=True))


# (column, struct field, kind) for the plain fields; the rest are built by hand below.
_JOB_FIELDS = (
    ("namespace", "Namespace", "category"),
    ("id", "ID", "string"),
    ("name", "Name", "string"),
    ("parent_id", "ParentID", "string"),
    ("type", "Type", "category"),
    ("status", "Status", "category"),
    ("status_description", "StatusDescription", "category"),
    ("stop", "Stop", "boolean"),
    ("priority", "Priority", "Int64"),
    ("node_pool", "NodePool", "category"),
    ("periodic", "Periodic", "boolean"),
    ("parameterized", "ParameterizedJob", "boolean"),
    ("create_index", "CreateIndex", "UInt64"),
    ("modify_index", "ModifyIndex", "UInt64"),
    ("job_modify_index", "JobModifyIndex", "UInt64"),
)


def _jobs_frame(jobs: list[wire.JobStub], label: str, ctx: tuple[str | None, str | None]) -> pd.DataFrame:
    if not jobs:
        return empty_frame(JOBS)
    key = "JobsWithoutVaultIdentity"
    raw = _fields(jobs, [attr for _, attr, _ in _JOB_FIELDS] + ["Datacenters", "Multiregion", "SubmitTime"])
    columns: dict[str, Any] = {
        name: _column(kind, raw[attr], (label, key, attr), check=False) for name, attr, kind in _JOB_FIELDS
    }
    columns["datacenters"] = _object_array(raw["Datacenters"])
    unset = msgspec.UNSET
    columns["multiregion"] = _booleans([None if m is unset else m is not None for m in raw["Multiregion"]])
    columns["submit_time"] = _unix_ns(raw["SubmitTime"])
    return _frame(JOBS, columns, len(jobs), ctx)


_NODE_FIELDS = (
    ("id", "ID", "string"),
    ("name", "Name", "string"),
    ("address", "Address", "string"),
    ("datacenter", "Datacenter", "category"),
    ("node_pool", "NodePool", "category"),
    ("node_class", "NodeClass", "category"),
    ("status", "Status", "category"),
    ("status_description", "StatusDescription", "category"),
    ("scheduling_eligibility", "SchedulingEligibility", "category"),
    ("drain", "Drain", "boolean"),
    ("version", "Version", "category"),
    ("create_index", "CreateIndex", "UInt64"),
    ("modify_index", "ModifyIndex", "UInt64"),
)


def _nodes_frames(
    nodes: list[wire.NodeStub], label: str, ctx: tuple[str | None, str | None]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    if not nodes:
        return empty_frame(NODES), empty_frame(NODE_DRIVERS)
    n = len(nodes)
    key = "OutdatedNodes"
    raw = _fields(nodes, [attr for _, attr, _ in _NODE_FIELDS] + ["LastDrain", "HostVolumes", "Drivers"])
    columns: dict[str, Any] = {
        name: _column(kind, raw[attr], (label, key, attr), check=False) for name, attr, kind in _NODE_FIELDS
    }

    drains = raw["LastDrain"]
    columns["last_drain_status"] = _categories([d and d.Status for d in drains])
    columns["last_drain_started_at"] = _times(
        [d and d.StartedAt for d in drains], (label, f"{key}[].LastDrain.StartedAt")
    )
    columns["last_drain_updated_at"] = _times(
        [d and d.UpdatedAt for d in drains], (label, f"{key}[].LastDrain.UpdatedAt")
    )
    # HostVolumes: absent (the CLI's -json drops it) is unknown; null is "none".
    columns["host_volumes"] = _object_array(
        [None if v is msgspec.UNSET else sorted(v) if v else [] for v in raw["HostVolumes"]]
    )

    # Flatten every Drivers map with C-level list extends; the per-driver wide columns are then scattered from
    # the long table with numpy rather than filled one value at a time.
    d_idx: list[int] = []
    d_name: list[str] = []
    d_info: list[wire.DriverInfo] = []
    for i, drivers in enumerate(raw["Drivers"]):
        if drivers:
            d_idx.extend([i] * len(drivers))
            d_name.extend(drivers)
            d_info.extend(drivers.values())
    m = len(d_idx)
    driver_cat = _categories(d_name)
    if len(driver_cat.categories) > config.MAX_DRIVERS:
        raise SnapshotShapeError(
            f"{label}: OutdatedNodes report {len(driver_cat.categories):,} distinct task driver names (more than "
            f"{config.MAX_DRIVERS:,}); a Nomad cluster has a handful, so this is not a snapshot of one",
            path=label,
            field="OutdatedNodes[].Drivers",
        )
    info = _fields(d_info, ["Detected", "Healthy", "HealthDescription", "UpdateTime", "Attributes"]) if m else {}
    detected = _booleans(info["Detected"]) if m else None
    healthy = _booleans(info["Healthy"]) if m else None
    positions = np.array(d_idx, dtype=np.intp)
    codes = driver_cat.codes
    flags = [
        (values.to_numpy(dtype=bool, na_value=False), np.asarray(values.isna()))
        for values in ((detected, healthy) if detected is not None and healthy is not None else ())
    ]
    for code, driver in enumerate(driver_cat.categories):
        rows = codes == code
        at = positions[rows]
        for column, (values, isna) in zip(driver_columns(driver), flags, strict=True):
            data = np.zeros(n, dtype=bool)
            missing = np.ones(n, dtype=bool)  # <NA> where a node does not report the driver
            data[at] = values[rows]
            missing[at] = isna[rows]
            columns[column] = pd.arrays.BooleanArray(data, missing)
    nodes_frame = _frame(NODES, columns, n, ctx)
    if m == 0:
        return nodes_frame, empty_frame(NODE_DRIVERS)
    ids = np.array(raw["ID"], dtype=object)
    driver_data = {
        "node_id": pd.array(ids[positions], dtype=STRING),
        "driver": driver_cat,
        "detected": detected,
        "healthy": healthy,
        "health_description": _categories(info["HealthDescription"]),
        "update_time": _times(info["UpdateTime"], (label, f"{key}[].Drivers.*.UpdateTime")),
        "attributes": _object_array([a if a is not None else {} for a in info["Attributes"]]),
    }
    return nodes_frame, _frame(NODE_DRIVERS, driver_data, m, ctx)


_TOKEN_FIELDS = (
    ("accessor", "Accessor", "string"),
    ("alloc_id", "AllocID", "string"),
    ("node_id", "NodeID", "string"),
    ("task", "Task", "category"),
    ("creation_ttl", "CreationTTL", "Int64"),
    ("create_index", "CreateIndex", "UInt64"),
)


def _tokens_frame(tokens: list[wire.VaultAccessor], label: str, ctx: tuple[str | None, str | None]) -> pd.DataFrame:
    if not tokens:
        return empty_frame(TOKENS)
    raw = _fields(tokens, [attr for _, attr, _ in _TOKEN_FIELDS])
    columns = {
        name: _column(kind, raw[attr], (label, "VaultTokens", attr), check=False) for name, attr, kind in _TOKEN_FIELDS
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
