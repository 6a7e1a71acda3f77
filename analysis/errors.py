"""The one exception hierarchy of the toolkit.

Every expected failure raises a subclass of :class:`ReadinessError`, so a caller (or the CLI) can catch the
base class and print ``str(err)``: one line that says what went wrong, where, and what to do. Messages never
contain a Nomad token, a client key or an HTTP password.

::

    ReadinessError
    ├── SnapshotError                 a file, stream or value that cannot be read as a snapshot
    │   ├── SnapshotNotFoundError     missing path, a directory, unreadable file
    │   ├── SnapshotDecodeError       empty, truncated, not UTF-8, not JSON, broken gzip
    │   ├── SnapshotShapeError        valid JSON that is not this endpoint's data (says what it looks like)
    │   └── SnapshotMismatchError     two snapshots of different clusters or regions compared (names both)
    ├── ConfigError                   bad settings: address, TLS files, NOMAD_SKIP_VERIFY, NOMAD_HTTP_AUTH
    ├── NomadError                    talking to a live Nomad agent
    │   ├── NomadConnectionError      refused, unreachable, DNS, timeouts (names the address)
    │   ├── NomadTLSError             certificate verification or handshake (names NOMAD_CACERT / server name)
    │   ├── NomadResponseError        a 200 whose body is not the endpoint's JSON
    │   └── NomadHTTPError            any other non-200 answer (carries ``status`` and ``body``)
    │       ├── PermissionDeniedError 403: the token needs ``operator:read``
    │       ├── EndpointMissingError  404 with an empty body: the server is older than 1.7.3
    │       ├── UnknownRegionError    500 ``No path to region``
    │       └── NoLeaderError         500 ``No cluster leader``
    └── ReportError                   a notebook failed while rendering (names the cell; keeps the notebook)

Examples:
    >>> from analysis.errors import ReadinessError, SnapshotNotFoundError
    >>> err = SnapshotNotFoundError("no such file: /tmp/missing.json", path="/tmp/missing.json")
    >>> isinstance(err, ReadinessError), err.path
    (True, '/tmp/missing.json')
"""

from __future__ import annotations

__all__ = [
    "ConfigError",
    "EndpointMissingError",
    "NoLeaderError",
    "NomadConnectionError",
    "NomadError",
    "NomadHTTPError",
    "NomadResponseError",
    "NomadTLSError",
    "PermissionDeniedError",
    "ReadinessError",
    "ReportError",
    "SnapshotDecodeError",
    "SnapshotError",
    "SnapshotMismatchError",
    "SnapshotNotFoundError",
    "SnapshotShapeError",
    "UnknownRegionError",
]


class ReadinessError(Exception):
    """Base class of every expected failure of the toolkit. ``str(err)`` is a one-line, actionable message."""

    #: Process exit status the CLI uses for this kind of failure.
    exit_code: int = 1


class SnapshotError(ReadinessError):
    """A snapshot file, stream or value could not be read.

    Attributes:
        path: the file (or ``"<stdin>"``, ``"<bytes>"``, ``"<dict>"``) that was being read.
        field: the JSON path of the offending value, when there is one (``OutdatedNodes[3].Drivers``).
    """

    def __init__(self, message: str, *, path: str | None = None, field: str | None = None) -> None:
        super().__init__(message)
        self.path = path
        self.field = field


class SnapshotNotFoundError(SnapshotError):
    """The path does not exist, is a directory, or cannot be opened."""


class SnapshotDecodeError(SnapshotError):
    """The bytes are not a JSON document: empty, truncated, not UTF-8, or a broken gzip stream."""


class SnapshotShapeError(SnapshotError):
    """The JSON is valid but is not this endpoint's data (another endpoint's body, a list, wrong types)."""


class SnapshotMismatchError(SnapshotError, ValueError):
    """Two snapshots of different clusters or regions were given where one cluster's history was expected.

    Also a :class:`ValueError`: the files are fine, the *pair* is not, so a library caller that validates
    arguments with ``except ValueError`` catches it as well as the CLI's ``except ReadinessError``.

    Attributes:
        old: the source of the first snapshot.
        new: the source of the second snapshot.
        old_context: its (cluster, region).
        new_context: its (cluster, region).
    """

    def __init__(
        self,
        message: str,
        *,
        old: str,
        new: str,
        old_context: tuple[str | None, str | None],
        new_context: tuple[str | None, str | None],
    ) -> None:
        super().__init__(message, path=new)
        self.old = old
        self.new = new
        self.old_context = old_context
        self.new_context = new_context


class ConfigError(ReadinessError):
    """A setting is invalid: an address, a TLS file, ``NOMAD_SKIP_VERIFY``, ``NOMAD_HTTP_AUTH``.

    Attributes:
        setting: the argument or environment variable that holds the bad value.
    """

    exit_code = 2

    def __init__(self, message: str, *, setting: str | None = None) -> None:
        super().__init__(message)
        self.setting = setting


class NomadError(ReadinessError):
    """Talking to a live Nomad agent failed.

    Attributes:
        address: the agent's address, without credentials.
    """

    def __init__(self, message: str, *, address: str | None = None) -> None:
        super().__init__(message)
        self.address = address


class NomadConnectionError(NomadError):
    """The agent could not be reached: connection refused, unknown host, or a connect/read timeout."""


class NomadTLSError(NomadError):
    """The TLS handshake failed: untrusted certificate, wrong server name, or a client certificate refused."""


class NomadResponseError(NomadError):
    """The agent answered 200 but the body is not this endpoint's JSON."""


class NomadHTTPError(NomadError):
    """The agent answered with a status other than 200.

    Attributes:
        status: the HTTP status code.
        body: the response body (plain text in Nomad), cut to 500 characters.
    """

    def __init__(self, message: str, *, address: str | None = None, status: int, body: str = "") -> None:
        super().__init__(message, address=address)
        self.status = status
        self.body = body


class PermissionDeniedError(NomadHTTPError):
    """403: the token is missing, unknown, expired, or lacks ``operator:read``.

    Attributes:
        token_sent: whether a token was sent with the request.
    """

    def __init__(self, message: str, *, address: str | None = None, body: str = "", token_sent: bool) -> None:
        super().__init__(message, address=address, status=403, body=body)
        self.token_sent = token_sent


class EndpointMissingError(NomadHTTPError):
    """404 with an empty body: the server predates Nomad 1.7.3, which added the endpoint."""


class UnknownRegionError(NomadHTTPError):
    """500 ``No path to region``: the region asked for is not known to the cluster.

    Attributes:
        region: the region that was asked for.
    """

    def __init__(self, message: str, *, address: str | None = None, body: str = "", region: str | None) -> None:
        super().__init__(message, address=address, status=500, body=body)
        self.region = region


class NoLeaderError(NomadHTTPError):
    """500 ``No cluster leader``: the servers have no leader; a ``stale`` read may still answer."""


class ReportError(ReadinessError):
    """Rendering a notebook failed.

    Attributes:
        notebook: the executed (failed) notebook kept for debugging, when there is one.
        cell: the index of the failing cell, when known.
    """

    def __init__(self, message: str, *, notebook: str | None = None, cell: int | None = None) -> None:
        super().__init__(message)
        self.notebook = notebook
        self.cell = cell
