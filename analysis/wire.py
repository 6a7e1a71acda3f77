"""Nomad's JSON for the upgrade-check endpoint, as typed msgspec structs.

Decoding straight into these structs validates every JSON type on the way (a wrong type is reported with its
path, e.g. ``$.OutdatedNodes[3].ID``), skips the fields the toolkit does not use (``JobSummary``, ``Meta``,
``NodeResources``, host volume contents...) without building them, and builds no intermediate tree of dicts:
that is what keeps loading a 140 MB snapshot faster than a bare ``orjson.loads`` and its memory within a few
times the file size.

Fields are optional everywhere (``None`` when absent or ``null``), because the three input shapes differ: the
CLI's ``-json`` output drops ``NodePool``, ``Multiregion`` and ``HostVolumes``, and the reflection codec drops
omitempty keys. Where absent and ``null`` mean different things (``VaultTokens``, ``HostVolumes``,
``Multiregion``), the field defaults to :data:`msgspec.UNSET`. Unknown keys are ignored. Field names are Nomad's
(Go) names, so the structs read like the facts in ``ENDPOINT.md`` §6.

Examples:
    >>> import msgspec
    >>> body = msgspec.json.decode(b'{"OutdatedNodes": [{"ID": "n1", "Version": "1.6.4"}]}', type=Body)
    >>> body.OutdatedNodes[0].Version, body.VaultTokens is msgspec.UNSET
    ('1.6.4', True)
"""

from __future__ import annotations

from typing import Annotated

import msgspec
from msgspec import UNSET, Raw, UnsetType

__all__ = ["Body", "Document", "DrainMetadata", "DriverInfo", "JobStub", "NodeStub", "VaultAccessor"]

#: Raft indexes and other uint64 values: exact Python ints, never negative (the upper bound is checked when
#: the column is built: msgspec bounds must fit an int64).
UInt64 = Annotated[int, msgspec.Meta(ge=0)]
#: int64 values (SubmitTime, LastContact, Priority, CreationTTL).
Int64 = Annotated[int, msgspec.Meta(ge=-(2**63), le=2**63 - 1)]


class Present(msgspec.Struct, gc=False):
    """Any JSON object, its contents skipped: for fields where only "set or not" matters."""


class JobStub(msgspec.Struct, gc=False):
    """``structs.JobListStub`` (only the fields the toolkit reads)."""

    ID: str | None = None
    ParentID: str | None = None
    Name: str | None = None
    Namespace: str | None = None
    Datacenters: list[str] | None = None
    NodePool: str | None = None
    Multiregion: Present | UnsetType | None = UNSET
    Type: str | None = None
    Priority: Int64 | None = None
    Periodic: bool | None = None
    ParameterizedJob: bool | None = None
    Stop: bool | None = None
    Status: str | None = None
    StatusDescription: str | None = None
    CreateIndex: UInt64 | None = None
    ModifyIndex: UInt64 | None = None
    JobModifyIndex: UInt64 | None = None
    SubmitTime: Int64 | None = None


class DriverInfo(msgspec.Struct, gc=False):
    """``structs.DriverInfo``."""

    Attributes: dict[str, str] | None = None
    Detected: bool | None = None
    Healthy: bool | None = None
    HealthDescription: str | None = None
    UpdateTime: str | None = None


class DrainMetadata(msgspec.Struct, gc=False):
    """``structs.DrainMetadata`` (``LastDrain``)."""

    StartedAt: str | None = None
    UpdatedAt: str | None = None
    Status: str | None = None


class NodeStub(msgspec.Struct, gc=False):
    """``structs.NodeListStub`` (only the fields the toolkit reads)."""

    Address: str | None = None
    ID: str | None = None
    Datacenter: str | None = None
    Name: str | None = None
    NodePool: str | None = None
    NodeClass: str | None = None
    Version: str | None = None
    Drain: bool | None = None
    SchedulingEligibility: str | None = None
    Status: str | None = None
    StatusDescription: str | None = None
    Drivers: dict[str, DriverInfo] | None = None
    HostVolumes: dict[str, Raw] | UnsetType | None = UNSET
    LastDrain: DrainMetadata | None = None
    CreateIndex: UInt64 | None = None
    ModifyIndex: UInt64 | None = None


class VaultAccessor(msgspec.Struct, gc=False):
    """``structs.VaultAccessor``. ``CreationTTL`` is the response-wrapping TTL (60 s), not the token's life."""

    AllocID: str | None = None
    Task: str | None = None
    NodeID: str | None = None
    Accessor: str | None = None
    CreationTTL: Int64 | None = None
    CreateIndex: UInt64 | None = None


class Body(msgspec.Struct, gc=False):
    """The endpoint's response: three lists plus the query metadata (absent in the CLI's ``-json`` output)."""

    JobsWithoutVaultIdentity: list[JobStub] | UnsetType | None = UNSET
    OutdatedNodes: list[NodeStub] | UnsetType | None = UNSET
    VaultTokens: list[VaultAccessor] | UnsetType | None = UNSET
    Index: UInt64 | None = None
    LastContact: Int64 | None = None
    KnownLeader: bool | None = None
    NextToken: str | None = None


class Document(Body, gc=False):
    """Any accepted document: the project's envelope (``format`` … ``response``) or a bare body.

    It is a :class:`Body` with the envelope's fields added, so one decoding pass reads a bare body (the document
    is then its own body); an envelope's ``response`` is kept as raw bytes and decoded as :class:`Body` in a
    second, equally cheap pass (and saved back byte for byte).
    """

    format: str | None = None
    version: int | None = None
    captured_at: str | None = None
    cluster: str | None = None
    region: str | None = None
    address: str | None = None
    nomad_version: str | None = None
    body_shape: str | None = None
    headers: dict[str, str] | None = None
    response: Raw | UnsetType = UNSET
    enrichment: Raw | UnsetType = UNSET


DOCUMENT_DECODER = msgspec.json.Decoder(Document)
BODY_DECODER = msgspec.json.Decoder(Body)
