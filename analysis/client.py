"""Fetch the upgrade-check endpoint from a live Nomad agent and wrap it in a snapshot envelope.

Settings come from arguments first, then from the environment variables Nomad's own CLI reads (``NOMAD_ADDR``,
``NOMAD_TOKEN``, ``NOMAD_REGION``, ``NOMAD_CACERT``, ``NOMAD_CAPATH``, ``NOMAD_CLIENT_CERT``,
``NOMAD_CLIENT_KEY``, ``NOMAD_SKIP_VERIFY``, ``NOMAD_TLS_SERVER_NAME``, ``NOMAD_HTTP_AUTH``), with the same
meaning as in Nomad's Go ``api`` package:

- an empty variable counts as unset; the default address is ``http://127.0.0.1:4646``;
- ``unix:///path/to/nomad.sock`` talks HTTP over a unix socket;
- an address without a scheme (``nomad.example:4646``) gets ``https://`` when any TLS setting is given and
  ``http://`` otherwise, as ``nomad operator api`` does;
- ``NOMAD_CACERT`` wins over ``NOMAD_CAPATH``; a CA path is a directory whose files are all loaded (like
  ``go-rootcerts``; OpenSSL's hashed-name lookup is not needed);
- credentials in the address (``https://user:pw@host``) are sent as HTTP basic auth and win over
  ``NOMAD_HTTP_AUTH``; they are removed from the address everywhere it is shown or saved.

Unlike Nomad's ``api`` package, a bad ``NOMAD_SKIP_VERIFY`` is an error rather than silently ignored, and a path
in the address is kept as a prefix (for agents behind a reverse proxy) instead of being dropped.

Every failure is one exception from :mod:`analysis.errors` with a one-line message that names the address
(without credentials) and says what to do. No message, ``repr`` or log record contains the token or the HTTP
password.

Examples:
    >>> settings = NomadSettings.resolve(token="s.example", env={"NOMAD_ADDR": "nomad.example:4646",
    ...                                                         "NOMAD_CACERT": "/etc/nomad/ca.pem"})
    >>> settings
    NomadSettings(address='https://nomad.example:4646', token=<set>, region=None, ca_cert='/etc/nomad/ca.pem')
    >>> parse_bool("T", "NOMAD_SKIP_VERIFY"), parse_bool("0", "NOMAD_SKIP_VERIFY")
    (True, False)
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import ipaddress
import logging
import os
import re
import socket
import ssl
import stat
import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus, unquote, urlsplit

import httpx
import idna
import orjson

from analysis import config
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
    SnapshotShapeError,
    UnknownRegionError,
)
from analysis.snapshot import Snapshot, _looks_like, build_snapshot

__all__ = ["NomadClient", "NomadSettings", "build_ssl_context", "fetch_snapshot", "list_regions", "parse_bool"]

_LOG = logging.getLogger(__name__)

#: The strings Go's ``strconv.ParseBool`` accepts, and nothing else.
_TRUE = ("1", "t", "T", "TRUE", "true", "True")
_FALSE = ("0", "f", "F", "FALSE", "false", "False")

#: Where each setting comes from, for messages: environment variable and ``nomad`` CLI flag.
_NAMES = {
    "address": ("NOMAD_ADDR", "-address"),
    "token": ("NOMAD_TOKEN", "-token / --token-file"),
    "region": ("NOMAD_REGION", "-region"),
    "ca_cert": ("NOMAD_CACERT", "-ca-cert"),
    "ca_path": ("NOMAD_CAPATH", "-ca-path"),
    "client_cert": ("NOMAD_CLIENT_CERT", "-client-cert"),
    "client_key": ("NOMAD_CLIENT_KEY", "-client-key"),
    "skip_verify": ("NOMAD_SKIP_VERIFY", "-tls-skip-verify"),
    "tls_server_name": ("NOMAD_TLS_SERVER_NAME", "-tls-server-name"),
    "http_auth": ("NOMAD_HTTP_AUTH", "-http-auth"),
}

#: Statuses worth another try: rate limiting and the gateway errors a proxy or load balancer gives while an
#: agent restarts. A 500 is Nomad's own answer (no leader, unknown region) and is never retried.
_RETRY_STATUSES = frozenset({429, 502, 503, 504})
#: Retry-After is honoured, up to this many seconds.
_MAX_RETRY_AFTER = 30.0
#: The first version that has the endpoint (ENDPOINT.md §1).
_FIRST_VERSION = (1, 7, 3)
#: Go's net/http answer to plain HTTP on a TLS port.
_HTTP_ON_TLS_PORT = "Client sent an HTTP request to an HTTPS server"
#: Query-meta headers under the names the envelope uses. Go canonicalises header names on the wire
#: (``X-Nomad-Knownleader``), so they are matched case-insensitively.
_META_HEADERS = {
    "x-nomad-index": "X-Nomad-Index",
    "x-nomad-knownleader": "X-Nomad-KnownLeader",
    "x-nomad-lastcontact": "X-Nomad-LastContact",
    "x-nomad-nexttoken": "X-Nomad-NextToken",
}
_USER_AGENT = "nomad-wi-readiness"

Sleep = Callable[[float], None]
#: The largest answer accepted by default, as sent and after decompression (a gzip bomb inflates 1000-fold).
MAX_RESPONSE_BYTES = 2 * 1024**3


def parse_bool(value: str, setting: str) -> bool:
    """Parse a boolean exactly as Go's ``strconv.ParseBool`` does.

    Args:
        value: the text, e.g. the value of ``NOMAD_SKIP_VERIFY``.
        setting: the variable or flag it came from, for the error message.

    Returns:
        The boolean.

    Raises:
        ConfigError: ``value`` is not one of ``1 t T TRUE true True 0 f F FALSE false False``.

    Examples:
        >>> parse_bool("TRUE", "NOMAD_SKIP_VERIFY")
        True
        >>> parse_bool("yes", "NOMAD_SKIP_VERIFY")
        Traceback (most recent call last):
        ...
        analysis.errors.ConfigError: NOMAD_SKIP_VERIFY='yes' is not a boolean; use one of 1, t, T, TRUE, ...
    """
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    shown = value if len(value) <= 20 else value[:17] + "..."
    raise ConfigError(
        f"{setting}={shown!r} is not a boolean; use one of {', '.join(_TRUE)} (on) or {', '.join(_FALSE)} (off)",
        setting=setting,
    )


# ---------------------------------------------------------------------------------------------------------------
# Settings
# ---------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True, repr=False)
class NomadSettings:
    """How to reach one Nomad agent. Build it with :meth:`resolve` to read the ``NOMAD_*`` variables.

    The address is normalised on creation: a missing scheme is filled in, a trailing ``/`` is dropped, and
    credentials (``https://user:pw@host``) are moved into ``http_auth``, so ``address`` never holds a secret.

    Attributes:
        address: ``http://host:port``, ``https://host:port`` (optionally with a path prefix) or
            ``unix:///path/to/socket``; never with credentials.
        token: the ACL token's secret ID, sent as ``X-Nomad-Token``; never shown.
        region: the region to ask (``?region=``); None for the agent's own region.
        ca_cert: a PEM file of CA certificates that replaces the system's trust store.
        ca_path: a directory of PEM files, used when ``ca_cert`` is not set.
        client_cert: the client certificate (PEM) for mutual TLS; needs ``client_key``.
        client_key: its private key (PEM, unencrypted).
        skip_verify: do not verify the agent's certificate at all.
        tls_server_name: verify the agent's certificate against this name (and send it as SNI) instead of the
            address's host, e.g. ``server.global.nomad``.
        http_auth: ``(user, password)`` for HTTP basic auth (a proxy in front of the agent); never shown.
        connect_timeout: seconds to wait for the TCP and TLS connection.
        read_timeout: seconds to wait for each read of the answer.
        retries: how many times a transient failure is retried.
        backoff_seconds: the first retry waits this long; each further retry waits twice as long.
        total_timeout: seconds one request may take in all, answer included (a read timeout restarts with
            every byte, so an agent dripping bytes would never time out); None for
            ``max(60, 4 * read_timeout)``.
        max_response_bytes: the largest answer accepted, both as sent and after decompression.
    """

    address: str = config.DEFAULT_ADDRESS
    token: str | None = None
    region: str | None = None
    ca_cert: str | None = None
    ca_path: str | None = None
    client_cert: str | None = None
    client_key: str | None = None
    skip_verify: bool = False
    tls_server_name: str | None = None
    http_auth: tuple[str, str] | None = None
    connect_timeout: float = config.CONNECT_TIMEOUT
    read_timeout: float = config.READ_TIMEOUT
    retries: int = config.RETRIES
    backoff_seconds: float = config.BACKOFF_SECONDS
    total_timeout: float | None = None
    max_response_bytes: int = MAX_RESPONSE_BYTES

    def __post_init__(self) -> None:
        address, auth = _normalise_address(self.address, tls=self.tls_configured)
        object.__setattr__(self, "address", address)
        if auth is not None:
            # As in Nomad's api package, credentials in the URL win over NOMAD_HTTP_AUTH.
            object.__setattr__(self, "http_auth", auth)
        if self.token == "":
            object.__setattr__(self, "token", None)
        if self.token is not None:
            _check_token(self.token)
        if self.tls_server_name == "":
            object.__setattr__(self, "tls_server_name", None)
        if self.tls_server_name is not None:
            _check_server_name(self.tls_server_name)
        for name in ("connect_timeout", "read_timeout"):
            value = getattr(self, name)
            if not isinstance(value, int | float) or isinstance(value, bool) or not value > 0:
                raise ConfigError(f"{name} must be a positive number of seconds, got {value!r}", setting=name)
        total = self.total_timeout
        if total is not None and (not isinstance(total, int | float) or isinstance(total, bool) or not total > 0):
            raise ConfigError(
                f"total_timeout must be a positive number of seconds (or None), got {total!r}", setting="total_timeout"
            )
        cap = self.max_response_bytes
        if not isinstance(cap, int) or isinstance(cap, bool) or cap < 1:
            raise ConfigError(
                f"max_response_bytes must be a whole number > 0, got {cap!r}", setting="max_response_bytes"
            )
        if not isinstance(self.retries, int) or isinstance(self.retries, bool) or self.retries < 0:
            raise ConfigError(f"retries must be a whole number >= 0, got {self.retries!r}", setting="retries")

    @classmethod
    def resolve(
        cls,
        address: str | None = None,
        token: str | None = None,
        region: str | None = None,
        *,
        token_file: str | os.PathLike[str] | None = None,
        ca_cert: str | None = None,
        ca_path: str | None = None,
        client_cert: str | None = None,
        client_key: str | None = None,
        skip_verify: bool | None = None,
        tls_server_name: str | None = None,
        http_auth: str | tuple[str, str] | None = None,
        connect_timeout: float | None = None,
        read_timeout: float | None = None,
        retries: int | None = None,
        backoff_seconds: float | None = None,
        total_timeout: float | None = None,
        max_response_bytes: int | None = None,
        env: Mapping[str, str] | None = None,
    ) -> NomadSettings:
        """Settings from the arguments, falling back to the ``NOMAD_*`` environment variables, then defaults.

        The environment is read now, not when the module is imported. Empty values count as unset.

        Args:
            address: the agent's address (``NOMAD_ADDR``).
            token: the ACL token (``NOMAD_TOKEN``).
            region: the region to ask (``NOMAD_REGION``).
            token_file: a file holding the token (surrounding whitespace is ignored); used when ``token`` is
                not given, before ``NOMAD_TOKEN``.
            ca_cert: ``NOMAD_CACERT``.
            ca_path: ``NOMAD_CAPATH``.
            client_cert: ``NOMAD_CLIENT_CERT``.
            client_key: ``NOMAD_CLIENT_KEY``.
            skip_verify: ``NOMAD_SKIP_VERIFY``, parsed like Go's ``strconv.ParseBool``.
            tls_server_name: ``NOMAD_TLS_SERVER_NAME``.
            http_auth: ``user:password``, ``user``, or a ``(user, password)`` pair (``NOMAD_HTTP_AUTH``).
            connect_timeout: seconds; default :data:`analysis.config.CONNECT_TIMEOUT`.
            read_timeout: seconds; default :data:`analysis.config.READ_TIMEOUT`.
            retries: default :data:`analysis.config.RETRIES`.
            backoff_seconds: default :data:`analysis.config.BACKOFF_SECONDS`.
            total_timeout: seconds per request in all; default ``max(60, 4 * read_timeout)``.
            max_response_bytes: the largest answer accepted; default 2 GiB.
            env: the environment to read; default ``os.environ``.

        Returns:
            The settings.

        Raises:
            ConfigError: a value is invalid (address, boolean, token file, token characters).

        Examples:
            >>> s = NomadSettings.resolve(env={"NOMAD_ADDR": "https://ops:hunter2@nomad.example:4646",
            ...                                "NOMAD_SKIP_VERIFY": "1"})
            >>> s.address, s.skip_verify, s.http_auth is not None, "hunter2" in repr(s)
            ('https://nomad.example:4646', True, True, False)
            >>> NomadSettings.resolve(env={}).address
            'http://127.0.0.1:4646'
        """
        environ: Mapping[str, str] = os.environ if env is None else env

        def pick(value: Any, name: str) -> Any:
            if value is not None and value != "":
                return value
            return environ.get(_NAMES[name][0]) or None

        if token in (None, "") and token_file is not None:
            token = _read_token_file(token_file)
        skip: bool | None = skip_verify
        if skip is None:
            raw = environ.get("NOMAD_SKIP_VERIFY") or ""
            skip = parse_bool(raw, "NOMAD_SKIP_VERIFY") if raw else False
        auth = pick(http_auth, "http_auth")
        if isinstance(auth, str):
            user, _, password = auth.partition(":")
            auth = (user, password)
        values: dict[str, Any] = {
            "address": pick(address, "address") or config.DEFAULT_ADDRESS,
            "token": pick(token, "token"),
            "region": pick(region, "region"),
            "ca_cert": pick(ca_cert, "ca_cert"),
            "ca_path": pick(ca_path, "ca_path"),
            "client_cert": pick(client_cert, "client_cert"),
            "client_key": pick(client_key, "client_key"),
            "skip_verify": skip,
            "tls_server_name": pick(tls_server_name, "tls_server_name"),
            "http_auth": tuple(auth) if auth else None,
        }
        for name, value in (
            ("connect_timeout", connect_timeout),
            ("read_timeout", read_timeout),
            ("retries", retries),
            ("backoff_seconds", backoff_seconds),
            ("total_timeout", total_timeout),
            ("max_response_bytes", max_response_bytes),
        ):
            if value is not None:
                values[name] = value
        if isinstance(values["token"], str):
            values["token"] = values["token"].strip()
        return cls(**values)

    # -- derived ---------------------------------------------------------------------------------------------
    @property
    def deadline_seconds(self) -> float:
        """Seconds one request may take in all: ``total_timeout``, or ``max(60, 4 * read_timeout)``."""
        return self.total_timeout if self.total_timeout is not None else max(60.0, 4 * self.read_timeout)

    @property
    def tls_configured(self) -> bool:
        """Whether any TLS setting is given (then an address without a scheme means ``https``)."""
        return bool(self.ca_cert or self.ca_path or self.client_cert or self.tls_server_name or self.skip_verify)

    @property
    def socket_path(self) -> str | None:
        """The unix socket's path for a ``unix://`` address, else None."""
        if not self.address.startswith("unix://"):
            return None
        return unquote(self.address[len("unix://") :])

    @property
    def host(self) -> str | None:
        """The address's host name (no port, no brackets), or None for a unix socket."""
        if self.socket_path is not None:
            return None
        return urlsplit(self.address).hostname

    def __repr__(self) -> str:
        parts = [
            f"address={self.address!r}",
            f"token={'<set>' if self.token else '<unset>'}",
            f"region={self.region!r}",
        ]
        for name in ("ca_cert", "ca_path", "client_cert", "client_key", "tls_server_name"):
            if getattr(self, name):
                parts.append(f"{name}={getattr(self, name)!r}")
        if self.skip_verify:
            parts.append("skip_verify=True")
        if self.http_auth:
            parts.append(f"http_auth=({self.http_auth[0]!r}, <set>)")
        defaults = (config.CONNECT_TIMEOUT, config.READ_TIMEOUT, config.RETRIES, config.BACKOFF_SECONDS)
        current = (self.connect_timeout, self.read_timeout, self.retries, self.backoff_seconds)
        if current != defaults:
            parts.append(
                f"connect_timeout={self.connect_timeout}, read_timeout={self.read_timeout}, "
                f"retries={self.retries}, backoff_seconds={self.backoff_seconds}"
            )
        if self.total_timeout is not None:
            parts.append(f"total_timeout={self.total_timeout}")
        if self.max_response_bytes != MAX_RESPONSE_BYTES:
            parts.append(f"max_response_bytes={self.max_response_bytes}")
        return f"NomadSettings({', '.join(parts)})"

    __str__ = __repr__


def _normalise_address(raw: str, *, tls: bool) -> tuple[str, tuple[str, str] | None]:
    """The address without credentials, with a scheme and without a trailing slash; and the credentials."""
    if not isinstance(raw, str) or not raw.strip():
        raise ConfigError("the address (NOMAD_ADDR / -address) is empty", setting="NOMAD_ADDR")
    text = raw.strip()
    if "://" not in text:
        text = ("https://" if tls else "http://") + text
    try:
        parts = urlsplit(text)
    except ValueError as exc:  # "Invalid IPv6 URL"
        raise ConfigError(
            f"the address (NOMAD_ADDR / --address) is not a valid URL ({exc}); write scheme://host:port, e.g. "
            "https://nomad.example:4646, http://10.0.0.5:4646 or http://[::1]:4646",
            setting="NOMAD_ADDR",
        ) from None
    scheme = parts.scheme.lower()
    userinfo, _, hostport = parts.netloc.rpartition("@")
    shown = f"{scheme}://{hostport}{parts.path}"
    if scheme == "unix":
        path = hostport + parts.path
        if not path:
            raise ConfigError(
                f"the address {shown!r} has no socket path; write unix:///path/to/nomad.sock", setting="NOMAD_ADDR"
            )
        return f"unix://{path}", None
    if scheme not in ("http", "https"):
        raise ConfigError(
            f"the address {shown!r} (NOMAD_ADDR / -address) has the scheme {scheme!r}; use http://, https:// "
            "or unix://",
            setting="NOMAD_ADDR",
        )
    if not hostport or hostport.startswith(":"):
        raise ConfigError(f"the address {shown!r} (NOMAD_ADDR / -address) has no host", setting="NOMAD_ADDR")
    if parts.query or parts.fragment:
        raise ConfigError(
            f"the address {shown!r} (NOMAD_ADDR / -address) has a query or fragment; give only "
            "scheme://host:port (use --region and --stale for the parameters)",
            setting="NOMAD_ADDR",
        )
    try:
        parts.port  # noqa: B018 - validates the port
    except ValueError:
        raise ConfigError(
            f"the address {shown!r} (NOMAD_ADDR / -address) has an invalid port", setting="NOMAD_ADDR"
        ) from None
    problem = _host_problem(parts.hostname or "")
    if problem:
        shown = shown if len(shown) <= 80 else shown[:77] + "..."
        raise ConfigError(
            f"the address {shown!r} (NOMAD_ADDR / --address) has an invalid host name ({problem}); write "
            "scheme://host:port with a DNS name (dot-separated labels of 1-63 letters, digits or hyphens), an "
            "IPv4 address or a bracketed IPv6 address, e.g. https://nomad.example:4646 or http://[::1]:4646",
            setting="NOMAD_ADDR",
        )
    auth = None
    if userinfo:
        user, _, password = userinfo.partition(":")
        auth = (unquote(user), unquote(password))
    return f"{scheme}://{hostport}{parts.path.rstrip('/')}", auth


def _host_problem(host: str) -> str | None:
    """Why ``host`` (a DNS name or an IP address, without brackets) cannot be connected to, or None."""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        pass
    else:
        return None
    name = host[:-1] if host.endswith(".") else host  # one trailing dot is a fully qualified name
    if not name:
        return "empty"
    try:
        encoded = name.encode("idna")  # what the socket layer does; checks label lengths
        for label in encoded.split(b"."):
            if label[:4].lower() == b"xn--":
                idna.decode(label)  # httpx decodes punycode labels
    except (UnicodeError, idna.IDNAError) as exc:
        reason = str(exc).removeprefix("encoding with 'idna' codec failed (UnicodeError: ").rstrip(")")
        return reason or "not a valid name"
    if len(encoded) > 253:
        return "longer than 253 characters"
    return None


def _check_server_name(name: str) -> None:
    problem = _host_problem(name) if name.strip() == name else "surrounding whitespace"
    if problem:
        shown = name if len(name) <= 60 else name[:57] + "..."
        raise ConfigError(
            f"NOMAD_TLS_SERVER_NAME / --tls-server-name {shown!r} is not a valid host name ({problem}); give the "
            "DNS name the agent's certificate holds, dot-separated labels of 1-63 letters, digits or hyphens, "
            "e.g. server.global.nomad",
            setting="NOMAD_TLS_SERVER_NAME",
        )


def _check_token(token: str) -> None:
    # A newline or a non-ASCII character cannot go in a header; h11 would put the value in its error message.
    if not token or any(not 33 <= ord(ch) < 127 for ch in token):
        raise ConfigError(
            "the token (NOMAD_TOKEN / -token / --token-file) is empty or contains spaces, control or non-ASCII "
            "characters; a Nomad token is the SecretID, a UUID",
            setting="NOMAD_TOKEN",
        )


#: A token file larger than this is refused (a token is a 36-character UUID).
_TOKEN_FILE_MAX = 64 * 1024
#: Paths that name standard input, which may be a terminal or a pipe.
_STDIN_PATHS = ("-", "/dev/stdin", "/dev/fd/0", "/proc/self/fd/0")


def _read_token_file(path: str | os.PathLike[str]) -> str:
    target = Path(path)
    try:
        with target.open("rb") as handle:
            mode = os.fstat(handle.fileno()).st_mode
            # A pipe (standard input, a shell's <(command)) is fine; a device such as /dev/zero never ends.
            if not (stat.S_ISREG(mode) or stat.S_ISFIFO(mode) or str(path) in _STDIN_PATHS):
                raise ConfigError(
                    f"token file {target}: is not a regular file (a device or socket); give a file holding the "
                    "token, or --token-file - to read it from standard input",
                    setting="--token-file",
                )
            data = handle.read(_TOKEN_FILE_MAX + 1)
    except FileNotFoundError:
        raise ConfigError(f"token file {target}: no such file", setting="--token-file") from None
    except IsADirectoryError:
        raise ConfigError(f"token file {target}: is a directory, not a file", setting="--token-file") from None
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise ConfigError(f"token file {target}: cannot be read ({reason})", setting="--token-file") from None
    if len(data) > _TOKEN_FILE_MAX:
        raise ConfigError(
            f"token file {target}: is larger than {_TOKEN_FILE_MAX // 1024} KiB, so it is not a token file (a Nomad "
            "token is the SecretID, a 36-character UUID); check the path",
            setting="--token-file",
        )
    try:
        text = data.decode("utf-8").strip()
    except UnicodeDecodeError:
        raise ConfigError(f"token file {target}: cannot be read (not UTF-8 text)", setting="--token-file") from None
    if not text:
        raise ConfigError(f"token file {target}: is empty", setting="--token-file")
    return text


# ---------------------------------------------------------------------------------------------------------------
# TLS
# ---------------------------------------------------------------------------------------------------------------


def build_ssl_context(settings: NomadSettings) -> ssl.SSLContext:
    """The TLS context for ``settings``: CA, client certificate, and verification mode.

    The context is passed to httpx as ``verify=`` so the client certificate is sent together with a custom CA
    (httpx ignores ``cert=`` when ``verify`` is a path). A server-name override is applied per request, see
    :class:`NomadClient`.

    Raises:
        ConfigError: a CA, certificate or key file is missing, unreadable or not PEM, or only one of the
            client certificate and key is given.
    """
    if settings.ca_cert:
        _check_file(settings.ca_cert, "ca_cert", "CA certificate", "CERTIFICATE")
        try:
            context = ssl.create_default_context(cafile=settings.ca_cert)
        except ssl.SSLError as exc:
            raise _bad_pem("ca_cert", settings.ca_cert, "CA certificate", exc) from None
    elif settings.ca_path:
        context = ssl.create_default_context(cadata=_read_ca_path(settings.ca_path))
    else:
        context = ssl.create_default_context()
    # Nomad's api package sets the same floor.
    context.minimum_version = ssl.TLSVersion.TLSv1_2

    if settings.client_cert or settings.client_key:
        if not (settings.client_cert and settings.client_key):
            given, missing = ("client_cert", "client_key") if settings.client_cert else ("client_key", "client_cert")
            raise ConfigError(
                f"{_NAMES[given][0]} is set but {_NAMES[missing][0]} is not; mutual TLS needs both the client "
                "certificate and its key",
                setting=_NAMES[missing][0],
            )
        _check_file(settings.client_cert, "client_cert", "client certificate", "CERTIFICATE")
        _check_file(settings.client_key, "client_key", "client key", "PRIVATE KEY")
        try:
            context.load_cert_chain(settings.client_cert, settings.client_key, password=_refuse_password)
        except _EncryptedKeyError:
            raise ConfigError(
                f"client key {settings.client_key} (NOMAD_CLIENT_KEY / -client-key) is encrypted; give an "
                "unencrypted key, as Nomad's CLI needs too",
                setting="NOMAD_CLIENT_KEY",
            ) from None
        except ssl.SSLError as exc:
            if exc.reason == "KEY_VALUES_MISMATCH":
                raise ConfigError(
                    f"client key {settings.client_key} (NOMAD_CLIENT_KEY) does not belong to the client "
                    f"certificate {settings.client_cert} (NOMAD_CLIENT_CERT); give the matching pair",
                    setting="NOMAD_CLIENT_KEY",
                ) from None
            raise _bad_pem("client_cert", settings.client_cert, "client certificate or key", exc) from None

    if settings.skip_verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


class _EncryptedKeyError(Exception):
    pass


def _refuse_password() -> str:
    # Without a callback OpenSSL would prompt on the terminal for the key's passphrase.
    raise _EncryptedKeyError


def _check_file(path: str | None, name: str, what: str, marker: str) -> None:
    variable, flag = _NAMES[name]
    where = f"{what} {path} ({variable} / {flag})"
    target = Path(path or "")
    if not target.exists():
        raise ConfigError(f"{where}: no such file; check the path", setting=variable)
    if target.is_dir():
        raise ConfigError(f"{where}: is a directory, not a PEM file", setting=variable)
    try:
        text = target.read_bytes()
    except OSError as exc:
        raise ConfigError(
            f"{where}: cannot be read ({exc.strerror}); check its permissions", setting=variable
        ) from None
    if f"-----BEGIN {marker}-----".encode() not in text and not (
        marker == "PRIVATE KEY" and re.search(rb"-----BEGIN [A-Z ]*PRIVATE KEY-----", text)
    ):
        raise ConfigError(
            f"{where}: holds no PEM {marker.lower()} (no '-----BEGIN {marker}-----' line)", setting=variable
        )


def _bad_pem(name: str, path: str | None, what: str, exc: ssl.SSLError) -> ConfigError:
    variable, flag = _NAMES[name]
    reason = exc.reason or str(exc)
    return ConfigError(f"{what} {path} ({variable} / {flag}): cannot be loaded ({reason})", setting=variable)


def _read_ca_path(ca_path: str) -> str:
    # go-rootcerts walks the directory and loads every file; every file must hold a PEM certificate.
    variable, flag = _NAMES["ca_path"]
    root = Path(ca_path)
    if not root.is_dir():
        problem = "no such directory" if not root.exists() else "is not a directory (use NOMAD_CACERT for a file)"
        raise ConfigError(f"CA path {root} ({variable} / {flag}): {problem}", setting=variable)
    chunks: list[str] = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError as exc:
            raise ConfigError(
                f"CA path {root} ({variable}): {path} cannot be read ({exc.strerror})", setting=variable
            ) from None
        if "-----BEGIN CERTIFICATE-----" not in text:
            raise ConfigError(
                f"CA path {root} ({variable}): {path} holds no PEM certificate; the directory must "
                "hold only CA certificates",
                setting=variable,
            )
        chunks.append(text)
    if not chunks:
        raise ConfigError(f"CA path {root} ({variable} / {flag}): the directory holds no files", setting=variable)
    return "\n".join(chunks)


# ---------------------------------------------------------------------------------------------------------------
# HTTP
# ---------------------------------------------------------------------------------------------------------------


class NomadClient:
    """A small synchronous client for the few read-only endpoints this toolkit uses.

    Connect and read timeouts are always set. Transient failures (connection refused or reset, connect
    timeout, 429, 502, 503, 504) are retried with exponential backoff; nothing else is, in particular not a
    500 (``No cluster leader`` should not be hammered) or a read timeout (a slow agent gets slower).

    Redirects are not followed: httpx would forward ``X-Nomad-Token`` to wherever a redirect points.

    Use it as a context manager::

        with NomadClient(NomadSettings.resolve()) as client:
            response = client.get("/v1/regions")

    Args:
        settings: where and how to connect.
        sleep: called with the number of seconds to wait between retries (tests pass a recorder).
        transport: an httpx transport to use instead of the network (tests); ignored for unix sockets.

    Raises:
        ConfigError: a TLS file is missing or invalid.
    """

    def __init__(
        self,
        settings: NomadSettings,
        *,
        sleep: Sleep = time.sleep,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.settings = settings
        self._sleep = sleep
        context = build_ssl_context(settings)
        socket_path = settings.socket_path
        base_url = settings.address
        if socket_path is not None:
            transport = httpx.HTTPTransport(uds=socket_path)
            base_url = "http://localhost"
        headers = {"Accept": "application/json", "User-Agent": _USER_AGENT}
        if settings.token:
            headers["X-Nomad-Token"] = settings.token
        # httpcore hands this name to ssl's wrap_socket(server_hostname=...), which uses it for both SNI and
        # the certificate's hostname check; the TCP connection still goes to the address's host.
        self._extensions = {"sni_hostname": settings.tls_server_name} if settings.tls_server_name else {}
        self._client = httpx.Client(
            base_url=base_url,
            headers=headers,
            auth=httpx.BasicAuth(*settings.http_auth) if settings.http_auth else None,
            verify=context,
            timeout=httpx.Timeout(
                connect=settings.connect_timeout,
                read=settings.read_timeout,
                write=settings.read_timeout,
                pool=settings.connect_timeout,
            ),
            transport=transport,
            follow_redirects=False,
            event_hooks={"response": [_hide_location]},
            # Like Go's http.ProxyFromEnvironment: HTTPS_PROXY/HTTP_PROXY/NO_PROXY apply to TCP addresses.
            trust_env=True,
        )

    def __enter__(self) -> NomadClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connections."""
        self._client.close()

    @property
    def address(self) -> str:
        """The agent's address, without credentials."""
        return self.settings.address

    def get(self, path: str, params: Mapping[str, str] | None = None) -> httpx.Response:
        """GET ``path``, retrying transient failures; return the response whatever its status.

        Raises:
            NomadConnectionError: the agent could not be reached, or did not answer in time.
            NomadTLSError: the TLS handshake failed.
        """
        if self.settings.socket_path is not None:
            self._check_socket(self.settings.socket_path)
        attempts = self.settings.retries + 1
        for attempt in range(1, attempts + 1):
            _LOG.debug(
                "GET %s%s params=%s (attempt %d of %d)", self.address, path, dict(params or {}), attempt, attempts
            )
            try:
                response = self._fetch(path, params)
            except httpx.DecodingError:
                raise NomadResponseError(
                    f"{self.address}: {path} answered with a body that cannot be decompressed (Content-Encoding "
                    "does not match the data); something between you and the agent mangles the answer",
                    address=self.address,
                ) from None
            except httpx.TransportError as exc:
                if attempt < attempts and _transient(exc):
                    self._wait(attempt, f"{type(exc).__name__}: {_root_message(exc)}", None)
                    continue
                raise _transport_error(exc, self.settings) from exc
            if response.status_code in _RETRY_STATUSES and attempt < attempts:
                self._wait(attempt, f"HTTP {response.status_code}", response.headers.get("Retry-After"))
                continue
            response.extensions["nomad_attempts"] = attempt
            return response
        raise AssertionError("unreachable")  # pragma: no cover

    def _fetch(self, path: str, params: Mapping[str, str] | None) -> httpx.Response:
        """One GET, its answer read in full within the total deadline and the size cap."""
        settings = self.settings
        started = time.monotonic()
        request = self._client.build_request("GET", path, params=dict(params or {}), extensions=self._extensions)
        response = self._client.send(request, stream=True)
        try:
            cap = settings.max_response_bytes
            length = response.headers.get("Content-Length", "")
            if length.isdigit() and int(length) > cap:
                raise self._too_large(path, cap, "as sent")
            chunks: list[bytes] = []
            size = 0
            for chunk in response.iter_bytes():
                size += len(chunk)
                if response.num_bytes_downloaded > cap:
                    raise self._too_large(path, cap, "as sent")
                if size > cap:
                    raise self._too_large(path, cap, "decompressed")
                chunks.append(chunk)
                if time.monotonic() - started > settings.deadline_seconds:
                    raise NomadConnectionError(
                        f"{self.address}: {path} did not finish answering within {settings.deadline_seconds:g} s "
                        "(total deadline; the agent, or something in between, sends very slowly); try again, or "
                        "query the agent directly",
                        address=self.address,
                    )
            response._content = b"".join(chunks)
        finally:
            response.close()
        return response

    def _too_large(self, path: str, cap: int, how: str) -> NomadResponseError:
        return NomadResponseError(
            f"{self.address}: {path}: answer too large (over {_size(cap)} {how}); the endpoint's JSON is far "
            "smaller: check that the address is a Nomad agent and that nothing in between alters the answer",
            address=self.address,
        )

    def get_json(self, path: str, params: Mapping[str, str] | None = None, *, acl: str) -> Any:
        """GET ``path`` and return its JSON; any non-200 answer raises the matching :class:`NomadHTTPError`.

        Args:
            path: the API path.
            params: query parameters.
            acl: the ACL capability the path needs, named in the 403 message (``node:read``).

        Raises:
            NomadHTTPError: (or a subclass) the agent answered with a status other than 200.
            NomadResponseError: the body is not JSON.
        """
        response = self.get(path, params)
        if response.status_code != 200:
            raise _http_error(response, self.settings, acl=acl)
        return _decode_json(response, self.settings, path)

    def _check_socket(self, path: str) -> None:
        # Checked up front: httpcore does not close its socket when a unix connect fails, and the reason is
        # clearer this way.
        try:
            mode = os.stat(path).st_mode
        except FileNotFoundError:
            raise NomadConnectionError(
                f"{self.address}: no such socket; is the agent running, and is this the path in its addresses.http "
                "setting?",
                address=self.address,
            ) from None
        except OSError as exc:
            raise NomadConnectionError(
                f"{self.address}: cannot reach the socket ({exc.strerror})", address=self.address
            ) from None
        if not stat.S_ISSOCK(mode):
            raise NomadConnectionError(f"{self.address}: is not a unix socket", address=self.address)

    def _wait(self, attempt: int, reason: str, retry_after: str | None) -> None:
        delay = self.settings.backoff_seconds * 2 ** (attempt - 1)
        if retry_after and retry_after.strip().isdigit():
            delay = max(delay, min(float(retry_after.strip()), _MAX_RETRY_AFTER))
        _LOG.warning(
            "%s: %s; retrying in %.1f s (retry %d of %d)", self.address, reason, delay, attempt, self.settings.retries
        )
        self._sleep(delay)


def _hide_location(response: httpx.Response) -> None:
    # httpx parses a redirect's Location even when it does not follow it, and an invalid one raises an error
    # whose text holds the URL (maybe with credentials). Keep it aside for the message instead.
    location = response.headers.get("Location")
    if location is not None:
        response.extensions["nomad_location"] = location
        del response.headers["Location"]


def _size(count: int) -> str:
    for unit, factor in (("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024)):
        if count >= factor:
            return f"{count / factor:g} {unit}"
    return f"{count} bytes"


def _causes(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _find(exc: BaseException, kind: type[BaseException] | tuple[type[BaseException], ...]) -> Any:
    return next((e for e in _causes(exc) if isinstance(e, kind)), None)


def _root_message(exc: BaseException) -> str:
    *_, root = _causes(exc)
    return str(root) or type(root).__name__


def _transient(exc: httpx.TransportError) -> bool:
    if _find(exc, ssl.SSLError) is not None or _find(exc, socket.gaierror) is not None:
        return False
    if isinstance(exc, httpx.ConnectTimeout):
        return True
    if _find(exc, (ConnectionRefusedError, ConnectionResetError, ConnectionAbortedError, BrokenPipeError)):
        return True
    # "Server disconnected without sending a response": typically a kept-alive connection the agent closed.
    return isinstance(exc, httpx.RemoteProtocolError)


def _transport_error(exc: httpx.TransportError, settings: NomadSettings) -> NomadError:
    address = settings.address
    tls_error = _find(exc, ssl.SSLError)
    if tls_error is not None:
        return _tls_error(tls_error, settings)
    if isinstance(exc, httpx.ConnectTimeout):
        return NomadConnectionError(
            f"{address}: no connection within {settings.connect_timeout:g} s (connect timeout); check the host "
            "and port, firewalls, and that the agent is running",
            address=address,
        )
    if isinstance(exc, httpx.ReadTimeout):
        return NomadConnectionError(
            f"{address}: connected, but no answer within {settings.read_timeout:g} s (read timeout); the servers "
            "may be overloaded or electing a leader: try again, raise the read timeout, or try --stale",
            address=address,
        )
    if isinstance(exc, httpx.TimeoutException):
        return NomadConnectionError(f"{address}: timed out ({type(exc).__name__}); try again", address=address)
    if _find(exc, socket.gaierror) is not None:
        return NomadConnectionError(
            f"{address}: cannot resolve the host name {settings.host!r} (DNS); check the address (NOMAD_ADDR)",
            address=address,
        )
    if settings.socket_path is not None:
        if _find(exc, FileNotFoundError) is not None:
            return NomadConnectionError(
                f"{address}: no such socket; is the agent running, and is this the path in its addresses.http setting?",
                address=address,
            )
        if _find(exc, PermissionError) is not None:
            return NomadConnectionError(
                f"{address}: permission denied on the socket; run as a user that may open it", address=address
            )
    if _find(exc, ConnectionRefusedError) is not None:
        return NomadConnectionError(
            f"{address}: connection refused; is the Nomad agent running and listening on this address and port?",
            address=address,
        )
    if isinstance(exc, httpx.RemoteProtocolError) and "location header" in str(exc).lower():
        # httpx parses a redirect's Location even when it does not follow it; the text may hold credentials.
        return NomadConnectionError(
            f"{address}: the agent answered a redirect to an invalid URL (not shown: it may hold credentials); "
            "redirects are not followed: use the agent's final address directly",
            address=address,
        )
    if isinstance(exc, httpx.RemoteProtocolError | httpx.ReadError) and address.startswith("http://"):
        return NomadConnectionError(
            f"{address}: the connection was closed without an answer ({_root_message(exc)}); if the agent has TLS "
            f"enabled, use {_with_scheme(address, 'https')}",
            address=address,
        )
    return NomadConnectionError(f"{address}: the request failed ({_root_message(exc)})", address=address)


def _tls_error(error: ssl.SSLError, settings: NomadSettings) -> NomadTLSError:
    address = settings.address
    reason = getattr(error, "reason", None) or ""
    code = getattr(error, "verify_code", None)
    detail = getattr(error, "verify_message", None) or reason or str(error)
    if isinstance(error, ssl.SSLCertVerificationError):
        if code in (62, 64):  # X509_V_ERR_HOSTNAME_MISMATCH, X509_V_ERR_IP_ADDRESS_MISMATCH
            name = settings.tls_server_name or settings.host
            hint = (
                "set NOMAD_TLS_SERVER_NAME (-tls-server-name) to a name the certificate holds, e.g. "
                "server.<region>.nomad for a Nomad server certificate"
                if not settings.tls_server_name
                else "NOMAD_TLS_SERVER_NAME does not match the certificate either; check the name"
            )
            return NomadTLSError(
                f"{address}: the agent's certificate is not valid for {name!r} ({detail}); {hint}", address=address
            )
        if code in (10,):  # X509_V_ERR_CERT_HAS_EXPIRED
            return NomadTLSError(
                f"{address}: the agent's certificate has expired ({detail}); renew it", address=address
            )
        trust = (
            f"NOMAD_CACERT ({settings.ca_cert}) does not hold the CA that signed it"
            if settings.ca_cert
            else f"NOMAD_CAPATH ({settings.ca_path}) does not hold the CA that signed it"
            if settings.ca_path
            else "set NOMAD_CACERT (-ca-cert) to the cluster's CA certificate"
        )
        return NomadTLSError(f"{address}: the agent's certificate is not trusted ({detail}); {trust}", address=address)
    if reason in ("WRONG_VERSION_NUMBER", "RECORD_LAYER_FAILURE", "PACKET_LENGTH_TOO_LONG", "HTTP_REQUEST"):
        return NomadTLSError(
            f"{address}: the agent does not speak TLS on this port ({reason}); use {_with_scheme(address, 'http')}",
            address=address,
        )
    if reason in (
        "TLSV13_ALERT_CERTIFICATE_REQUIRED",
        "SSLV3_ALERT_HANDSHAKE_FAILURE",
        "SSLV3_ALERT_BAD_CERTIFICATE",
        "TLSV1_ALERT_UNKNOWN_CA",
        "SSLV3_ALERT_CERTIFICATE_UNKNOWN",
        "TLSV1_ALERT_ACCESS_DENIED",
    ):
        if not settings.client_cert:
            hint = (
                "the agent requires a client certificate (verify_https_client): set NOMAD_CLIENT_CERT and "
                "NOMAD_CLIENT_KEY (-client-cert, -client-key)"
            )
        else:
            hint = (
                f"the agent refused the client certificate {settings.client_cert} (NOMAD_CLIENT_CERT); it must "
                "be signed by the cluster's CA, e.g. one made with `nomad tls cert create -cli`"
            )
        return NomadTLSError(f"{address}: TLS handshake rejected ({reason}): {hint}", address=address)
    return NomadTLSError(f"{address}: TLS failed ({detail})", address=address)


def _with_scheme(address: str, scheme: str) -> str:
    return scheme + address[address.index("://") :]


#: How much of an error body is read for the message; a secret cut at this point is still redacted.
_BODY_SCAN = 64 * 1024
#: The longest body shown in a message or stored as ``NomadHTTPError.body``.
_BODY_SHOWN = 500
#: A secret's prefix this long or longer at the end of a cut text is redacted too.
_MIN_PREFIX = 8
_REDACTED = "<redacted>"
#: Shorter secrets are not searched for in free text.
_MIN_SECRET = 4
#: Header-looking ``Name: value`` (or ``name=value``) text for headers that carry credentials: a proxy's error
#: page may echo the request's headers. The rest of the line is dropped.
_SECRET_HEADER = re.compile(
    r"(?i)\b(proxy-authorization|authorization|x-nomad-token|set-cookie|cookie)([\"']?\s*[:=]\s*)[^\r\n]*"
)
#: ``Basic <base64>`` / ``Bearer <token>`` credentials wherever they appear.
_SECRET_SCHEME = re.compile(r"\b(Basic|[Bb]earer|BEARER)(\s+)[A-Za-z0-9+/=._~-]{6,}")


def _secrets(settings: NomadSettings) -> list[str]:
    """Every form in which this run's secrets could come back: the token, the password, and the basic-auth
    header's base64 of ``user:password`` (standard and URL-safe alphabets, with or without padding); each
    also percent-encoded. Longest first, so a longer secret is replaced before a shorter one inside it."""
    forms: set[str] = set()
    if settings.token:
        forms.add(settings.token)
    if settings.http_auth:
        user, password = settings.http_auth
        if password:
            forms.add(password)
        raw = f"{user}:{password}".encode()
        for encoded in (base64.b64encode(raw).decode(), base64.urlsafe_b64encode(raw).decode()):
            forms.update((encoded, encoded.rstrip("=")))
        if password:
            forms.add(f"{user}:{password}")
    for form in list(forms):
        forms.update((quote(form, safe=""), quote_plus(form)))
        if any(ch.isspace() for ch in form):
            forms.add(" ".join(form.split()))  # as it reads after whitespace is collapsed
    # A secret of a few characters cannot be told apart from ordinary text (a token "t" is in every word).
    return sorted((f for f in forms if len(f) >= _MIN_SECRET), key=len, reverse=True)


def _replace_secrets(text: str, secrets: list[str]) -> str:
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, _REDACTED)
    return text


def _scrub(text: str, secrets: list[str]) -> str:
    """Our own one-line text (a message, a note) without secrets or ``Basic``/``Bearer`` credentials."""
    return _SECRET_SCHEME.sub(lambda m: f"{m[1]}{m[2]}{_REDACTED}", _replace_secrets(text, secrets))


def _redact_cut(text: str, secrets: list[str]) -> str:
    """Redact a prefix (of ``_MIN_PREFIX`` characters or more) of a secret that ends ``text``, cut mid-secret."""
    for secret in secrets:
        for length in range(len(secret) - 1, _MIN_PREFIX - 1, -1):
            if text.endswith(secret[:length]):
                return text[:-length] + _REDACTED
    return text


def _redact(text: str, secrets: list[str]) -> str:
    """``text`` from the agent (or a proxy) without credentials: header-looking lines for credential headers,
    ``Basic``/``Bearer`` values, and every form of this run's secrets are replaced with ``<redacted>``.

    Run it on the raw text, before whitespace is collapsed or the text is cut.
    """
    text = _replace_secrets(text, secrets)
    text = _SECRET_HEADER.sub(lambda m: f"{m[1]}{m[2]}{_REDACTED}", text)
    return _SECRET_SCHEME.sub(lambda m: f"{m[1]}{m[2]}{_REDACTED}", text)


def _clean_text(raw: str, secrets: list[str], *, limit: int, cut: bool = False) -> str:
    """Redact first, then collapse whitespace, then cut to ``limit`` characters (redacting a cut secret)."""
    text = _redact(raw, secrets)
    if cut:
        text = _redact_cut(text.rstrip("\ufffd"), secrets)
    text = _replace_secrets(" ".join(text.split()), secrets)
    if len(text) > limit:
        text = _redact_cut(text[: limit - 3], secrets) + "..."
    return text


def _short_body(response: httpx.Response, settings: NomadSettings) -> str:
    content = response.content
    raw = content[:_BODY_SCAN].decode("utf-8", errors="replace")
    return _clean_text(raw, _secrets(settings), limit=_BODY_SHOWN, cut=len(content) > _BODY_SCAN)


def _show_location(location: str, settings: NomadSettings) -> str:
    """A redirect's target as ``scheme://host[:port]/path``: never its userinfo, query or fragment."""
    if not location.strip():
        return "(no Location)"
    try:
        parts = urlsplit(location.strip())
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        return "(an unparsable Location)"
    if ":" in host:
        host = f"[{host}]"
    origin = f"{parts.scheme}://{host}{f':{port}' if port is not None else ''}" if parts.scheme and host else ""
    shown = origin + parts.path
    return _clean_text(shown, _secrets(settings), limit=200) or "(an unparsable Location)"


def _http_error(
    response: httpx.Response, settings: NomadSettings, *, acl: str, endpoint: bool = False
) -> NomadHTTPError:
    """Map a non-200 answer to the matching :class:`NomadHTTPError`, with a one-line, actionable message.

    Args:
        response: the answer.
        settings: the settings used (for the address, region and whether a token was sent).
        acl: the ACL capability the path needs, named in a 403's message.
        endpoint: True for the upgrade-check endpoint, whose empty 404 means "older than 1.7.3".
    """
    address = settings.address
    status = response.status_code
    body = _short_body(response, settings)
    quoted = f" ({body})" if body else ""
    path = response.request.url.path if response.request is not None else ""
    attempts = response.extensions.get("nomad_attempts", 1)
    if status == 403:
        if settings.token:
            sent = (
                "a token was sent but refused: check that it is this cluster's, not expired, and that its "
                "policy grants it"
            )
        else:
            sent = "no token was sent: set NOMAD_TOKEN or --token-file"
        return PermissionDeniedError(
            f"{address}: permission denied (403) on {path}: the token needs {acl}; {sent}",
            address=address,
            body=body,
            token_sent=bool(settings.token),
        )
    if status == 404 and not body and endpoint:
        return EndpointMissingError(
            f"{address}: {config.ENDPOINT} answered 404 with an empty body: the server is older than Nomad 1.7.3, "
            "which added this endpoint; upgrade the servers first",
            address=address,
            status=404,
            body=body,
        )
    if status == 404:
        return NomadHTTPError(
            f"{address}: {path} answered 404{quoted}: the address probably points at something that is not a Nomad "
            "agent's root (a path prefix or a proxy?); give scheme://host:port of the agent",
            address=address,
            status=404,
            body=body,
        )
    if status == 400 and _HTTP_ON_TLS_PORT in body:
        return NomadHTTPError(
            f"{address}: the agent has TLS enabled on this port; use {_with_scheme(address, 'https')} (with "
            "NOMAD_CACERT if its certificate is not publicly trusted)",
            address=address,
            status=400,
            body=body,
        )
    if status == 401:
        hint = (
            "the HTTP basic-auth credentials were refused"
            if settings.http_auth
            else "something in front of the agent wants HTTP basic auth: set NOMAD_HTTP_AUTH=user:password"
        )
        return NomadHTTPError(
            f"{address}: 401 Unauthorized on {path}{quoted}: {hint}", address=address, status=401, body=body
        )
    if status == 405:
        return NomadHTTPError(
            f"{address}: {path} answered 405{quoted} to a GET: something in front of the agent changes the "
            "request; point the address at the agent itself",
            address=address,
            status=405,
            body=body,
        )
    if 300 <= status < 400:
        location = _show_location(response.extensions.get("nomad_location") or "", settings)
        return NomadHTTPError(
            f"{address}: {path} answered {status} redirecting to {location}; redirects are not "
            "followed (the token would go along): use the final address directly",
            address=address,
            status=status,
            body=body,
        )
    if status == 500 and "No path to region" in body:
        region = settings.region
        return UnknownRegionError(
            f"{address}: region {region!r} is not known to this cluster (500 No path to region); list the regions "
            "with `wi-readiness regions` (GET /v1/regions) or leave the region unset for the agent's own",
            address=address,
            body=body,
            region=region,
        )
    if status == 500 and "No cluster leader" in body:
        return NoLeaderError(
            f"{address}: the Nomad servers have no leader (500 No cluster leader); wait for an election, or use "
            "--stale to let any server answer from its own, possibly outdated, state",
            address=address,
            status=500,
            body=body,
        )
    if status == 500 and body.lower().startswith("no servers"):
        return NomadHTTPError(
            f"{address}: the agent is a client that cannot reach any server (500 no servers); query a server, or "
            "fix the client's server list",
            address=address,
            status=500,
            body=body,
        )
    if status == 429:
        return NomadHTTPError(
            f"{address}: still rate limited (429) after {attempts} attempts{quoted}; try again later",
            address=address,
            status=429,
            body=body,
        )
    if status in (502, 503, 504):
        return NomadHTTPError(
            f"{address}: {status} {response.reason_phrase} after {attempts} attempts{quoted}; a proxy or load "
            "balancer in front of Nomad could not reach the agent: check the agent, or query it directly",
            address=address,
            status=status,
            body=body,
        )
    if status >= 500:
        hint = "a server-side failure: try again, and if it persists read the Nomad servers' logs"
    else:
        hint = "check the address and the agent's version (the endpoint needs Nomad 1.7.3+)"
    return NomadHTTPError(
        f"{address}: {path} answered {status} {response.reason_phrase}{quoted}; {hint}",
        address=address,
        status=status,
        body=body,
    )


def _decode_json(response: httpx.Response, settings: NomadSettings, path: str) -> Any:
    address = settings.address
    data = response.content
    content_type = response.headers.get("Content-Type", "")
    stripped = data.lstrip()[:200].lower()
    if "html" in content_type or stripped.startswith((b"<!doctype", b"<html")):
        raise NomadResponseError(
            f"{address}: {path} answered 200 with an HTML page, not JSON: the address leads to a web page (the "
            "Nomad UI under /ui, a proxy's login page?), not the agent's HTTP API; give scheme://host:port",
            address=address,
        )
    if not data.strip():
        raise NomadResponseError(f"{address}: {path} answered 200 with an empty body; expected JSON", address=address)
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise NomadResponseError(
            f"{address}: {path} answered 200 but the body is not JSON ({exc.msg}; Content-Type "
            f"{content_type or 'missing'}); is the address a Nomad agent?",
            address=address,
        ) from None


@contextlib.contextmanager
def _scrubbed(settings: NomadSettings) -> Iterator[None]:
    """A last line of defence: a NomadError leaving this block carries no secret in its text or body."""
    try:
        yield
    except NomadError as exc:
        secrets = _secrets(settings)
        exc.args = tuple(_scrub(a, secrets) if isinstance(a, str) else a for a in exc.args)
        if isinstance(exc, NomadHTTPError):
            exc.body = _scrub(exc.body, secrets)
        raise


# ---------------------------------------------------------------------------------------------------------------
# Public calls
# ---------------------------------------------------------------------------------------------------------------


def list_regions(settings: NomadSettings | None = None, *, sleep: Sleep = time.sleep) -> list[str]:
    """The regions the cluster knows, from ``/v1/regions`` (no ACL needed).

    Args:
        settings: where to connect; default :meth:`NomadSettings.resolve` from the environment.
        sleep: the wait between retries.

    Returns:
        The region names, as the agent lists them.

    Raises:
        NomadError: the agent could not be reached or did not answer with a list of names.
    """
    settings = settings if settings is not None else NomadSettings.resolve()
    with _scrubbed(settings), NomadClient(settings, sleep=sleep) as client:
        return _regions(client)


def _regions(client: NomadClient) -> list[str]:
    regions = client.get_json("/v1/regions", acl="no ACL")
    if not isinstance(regions, list) or not all(isinstance(r, str) for r in regions):
        raise NomadResponseError(
            f"{client.address}: /v1/regions answered 200 but the body {_looks_like(regions)}; expected a list of "
            "region names",
            address=client.address,
        )
    return regions


def fetch_snapshot(
    address: str | None = None,
    *,
    token: str | None = None,
    region: str | None = None,
    stale: bool = False,
    cluster: str | None = None,
    settings: NomadSettings | None = None,
    enrich: bool = False,
    max_allocations: int = 200,
    workers: int = 8,
    sleep: Sleep = time.sleep,
    env: Mapping[str, str] | None = None,
) -> Snapshot:
    """Fetch the endpoint from a live agent and return it as a :class:`Snapshot` (save it with ``.save()``).

    Args:
        address: the agent's address; default ``NOMAD_ADDR``, then ``http://127.0.0.1:4646``.
        token: the ACL token (needs ``operator:read``); default ``NOMAD_TOKEN``.
        region: the region to ask; default ``NOMAD_REGION``, then the agent's own.
        stale: let any server answer from its local state (works without a leader; may be slightly old).
        cluster: a name for the cluster; default the address's host.
        settings: complete settings; ``address``, ``token`` and ``region`` override them when given.
        enrich: also collect every node (``/v1/nodes``, needs ``node:read``) and the allocations behind the
            legacy tokens (``/v1/allocation/:id``, needs ``read-job``). Missing permissions do not fail the
            fetch; they leave a note in ``snapshot.info.enrichment_notes``.
        max_allocations: look up at most this many allocations.
        workers: at most this many allocation lookups at a time.
        sleep: the wait between retries.
        env: the environment to read settings from; default ``os.environ``.

    Returns:
        The snapshot, as it would be read back from its saved envelope.

    Raises:
        ConfigError: invalid settings.
        NomadError: a subclass saying what failed and what to do.
    """
    if settings is None:
        settings = NomadSettings.resolve(address, token, region, env=env)
    else:
        overrides: dict[str, Any] = {k: v for k, v in (("address", address), ("token", token), ("region", region)) if v}
        settings = dataclasses.replace(settings, **overrides) if overrides else settings

    params = {"region": settings.region} if settings.region else {}
    if stale:
        params["stale"] = ""  # as Nomad's api package sends it
    notes: list[str] = []
    with _scrubbed(settings), NomadClient(settings, sleep=sleep) as client:
        response = client.get(config.ENDPOINT, params)
        captured_at = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        if response.status_code != 200:
            raise _endpoint_error(client, response)
        body = _decode_json(response, settings, config.ENDPOINT)
        if not isinstance(body, dict) or not any(key in body for key in _LIST_KEYS):
            raise NomadResponseError(
                f"{settings.address}: {config.ENDPOINT} answered 200 but the body {_looks_like(body)}; expected "
                "the endpoint's JSON (keys JobsWithoutVaultIdentity, OutdatedNodes, VaultTokens): is the address "
                "a Nomad agent?",
                address=settings.address,
            )
        headers = _nomad_headers(response, settings)
        for field in ("Index", "LastContact"):
            if body.get(field) is not None:
                _check_uint(body[field], field, settings.address, "body field")
        agent_region, nomad_version = _agent_self(client, notes)
        enrichment: dict[str, Any] | None = None
        if enrich:
            enrichment = {
                "nodes": _collect_nodes(client, params, notes),
                "allocations": _collect_allocations(client, body, params, notes, max_allocations, workers),
            }
    secrets = _secrets(settings)
    notes = [_scrub(note, secrets) for note in notes]
    if notes or enrichment is not None:
        enrichment = {"nodes": None, "allocations": None, **(enrichment or {}), "notes": notes}

    envelope = {
        "format": config.ENVELOPE_FORMAT,
        "version": config.ENVELOPE_VERSION,
        "captured_at": captured_at,
        "cluster": cluster if cluster is not None else settings.host,
        "region": settings.region or agent_region,
        "address": settings.address,
        "nomad_version": nomad_version,
        "body_shape": "http-body",
        "headers": headers,
        "response": body,
        "enrichment": enrichment,
    }
    try:
        return build_snapshot(envelope, source=settings.address)
    except SnapshotShapeError as exc:
        raise NomadResponseError(f"{exc} (in the answer of {config.ENDPOINT})", address=settings.address) from exc


_LIST_KEYS = ("JobsWithoutVaultIdentity", "OutdatedNodes", "VaultTokens")


def _endpoint_error(client: NomadClient, response: httpx.Response) -> NomadHTTPError:
    settings = client.settings
    error = _http_error(response, settings, acl="operator:read", endpoint=True)
    if isinstance(error, EndpointMissingError):
        # An empty 404 is also what any path outside the agent's API gets: ask the agent what it is.
        return _explain_missing(client, error)
    if isinstance(error, UnknownRegionError):
        try:
            known = _regions(client)
        except NomadError:
            return error
        return UnknownRegionError(
            f"{error} (known regions: {', '.join(known) or 'none'})",
            address=settings.address,
            body=error.body,
            region=error.region,
        )
    if isinstance(error, NoLeaderError) and "stale" in response.request.url.params:
        return NoLeaderError(
            f"{settings.address}: no server could answer even with --stale ({error.body}); check that the servers "
            "are running",
            address=settings.address,
            status=500,
            body=error.body,
        )
    return error


def _explain_missing(client: NomadClient, error: EndpointMissingError) -> NomadHTTPError:
    address = client.address
    try:
        self_response = client.get("/v1/agent/self")
    except NomadError:
        return error
    if self_response.status_code == 404:
        return NomadHTTPError(
            f"{address}: both {config.ENDPOINT} and /v1/agent/self answered 404: the address is not a Nomad agent's "
            "HTTP API root (a path prefix or a proxy?); give scheme://host:port of the agent",
            address=address,
            status=404,
            body="",
        )
    if self_response.status_code != 200:
        return error
    try:
        version = _agent_version(orjson.loads(self_response.content))
    except (orjson.JSONDecodeError, TypeError, AttributeError):
        return error
    numbers = _version_tuple(version) if version else None
    if numbers is None:
        return error
    if numbers >= _FIRST_VERSION:
        return NomadHTTPError(
            f"{address}: the agent runs Nomad {version}, which has {config.ENDPOINT}, yet it answered 404: "
            "something between (a proxy, or a path prefix in the address) changed the path; query the agent "
            "directly",
            address=address,
            status=404,
            body="",
        )
    return EndpointMissingError(
        f"{address}: the agent runs Nomad {version}, older than 1.7.3, which added {config.ENDPOINT} (404 with an "
        "empty body); upgrade the servers first, then query an upgraded agent",
        address=address,
        status=404,
        body="",
    )


def _version_tuple(version: str) -> tuple[int, int, int] | None:
    match = re.match(r"v?(\d+)(?:\.(\d+))?(?:\.(\d+))?", version)
    if not match:
        return None
    return int(match[1]), int(match[2] or 0), int(match[3] or 0)


def _agent_version(document: Any) -> str | None:
    agent_config = document.get("config") if isinstance(document, dict) else None
    if not isinstance(agent_config, dict):
        return None
    info = agent_config.get("Version")
    if isinstance(info, dict):
        # Nomad 0.9 and later: a version.VersionInfo object.
        number, pre, meta = info.get("Version"), info.get("VersionPrerelease"), info.get("VersionMetadata")
    else:
        # Older agents had flat fields.
        number, pre, meta = info, agent_config.get("VersionPrerelease"), agent_config.get("VersionMetadata")
    if not isinstance(number, str) or not number:
        return None
    text = number
    if isinstance(pre, str) and pre:
        text += f"-{pre}"
    if isinstance(meta, str) and meta:
        text += f"+{meta}"
    return text


def _agent_self(client: NomadClient, notes: list[str]) -> tuple[str | None, str | None]:
    """The agent's own region and version from ``/v1/agent/self`` (needs ``agent:read``), best effort."""
    try:
        document = client.get_json("/v1/agent/self", acl="agent:read")
    except PermissionDeniedError:
        notes.append("nomad_version: unknown, the token lacks agent:read (GET /v1/agent/self answered 403)")
        return None, None
    except NomadError as exc:
        notes.append(f"nomad_version: unknown, GET /v1/agent/self failed: {exc}")
        return None, None
    agent_config = document.get("config") if isinstance(document, dict) else None
    region = agent_config.get("Region") if isinstance(agent_config, dict) else None
    version = _agent_version(document)
    if version is None:
        notes.append("nomad_version: unknown, /v1/agent/self has no config.Version")
    return (region if isinstance(region, str) and region else None), version


def _nomad_headers(response: httpx.Response, settings: NomadSettings) -> dict[str, str]:
    """The query-meta headers worth keeping in the envelope: an allowlist, never anything holding a secret.

    A proxy may echo request headers back (``X-Nomad-Token``), so no other ``X-Nomad-*`` header is stored.

    Raises:
        NomadResponseError: ``X-Nomad-Index`` or ``X-Nomad-LastContact`` is not a whole number between 0 and
            2**64-1 (the snapshot could not be read back).
    """
    secrets = _secrets(settings)
    headers: dict[str, str] = {}
    for raw_name, raw_value in response.headers.raw:
        name = _KEPT_HEADERS.get(raw_name.decode("latin-1").lower())
        if name is None:
            continue
        value = raw_value.decode("latin-1").strip()
        if _redact(value, secrets) != value:
            continue
        if name != "X-Nomad-KnownLeader":
            _check_uint(value, name, settings.address, "header")
        headers[name] = value
    return headers


#: The ``X-Nomad-*`` headers stored in the envelope, by lower-case name.
_KEPT_HEADERS = {k: v for k, v in _META_HEADERS.items() if k != "x-nomad-nexttoken"}
_UINT64_MAX = 2**64 - 1


def _check_uint(value: Any, name: str, address: str, where: str) -> None:
    """Fail unless ``value`` (a header's text or a body field) is a whole number between 0 and 2**64-1."""
    if where == "header" and isinstance(value, str):
        ok = value.isascii() and value.isdigit() and len(value) <= 20 and int(value) <= _UINT64_MAX
    else:
        ok = isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= _UINT64_MAX
    if not ok:
        shown = repr(value) if len(repr(value)) <= 40 else repr(value)[:37] + "..."
        raise NomadResponseError(
            f"{address}: the {where} {name} of {config.ENDPOINT} is {shown}, not a whole number between 0 and "
            "2**64-1; the agent (or a proxy in front of it) answered nonsense: query the agent directly",
            address=address,
        )


#: /v1/nodes is not paginated today; if it ever is, follow at most this many pages.
_MAX_NODE_PAGES = 100


def _collect_nodes(client: NomadClient, params: Mapping[str, str], notes: list[str]) -> list[Any] | None:
    nodes: dict[Any, Any] = {}  # by ID: a page repeated by a confused agent or proxy counts once
    duplicates = 0
    query = dict(params)
    seen_tokens: set[str] = set()
    for page_number in range(1, _MAX_NODE_PAGES + 1):
        try:
            response = client.get("/v1/nodes", query)
            if response.status_code != 200:
                raise _http_error(response, client.settings, acl="node:read")
            page = _decode_json(response, client.settings, "/v1/nodes")
        except PermissionDeniedError:
            notes.append("nodes: not collected, the token lacks node:read (GET /v1/nodes answered 403)")
            return None
        except NomadError as exc:
            notes.append(f"nodes: not collected, GET /v1/nodes failed: {exc}")
            return None
        if not isinstance(page, list):
            notes.append(f"nodes: not collected, /v1/nodes answered with a body that {_looks_like(page)}")
            return None
        for node in page:
            key = node.get("ID") if isinstance(node, dict) and isinstance(node.get("ID"), str) else None
            if key is None:
                key = ("#", len(nodes))  # no ID: keep it, it cannot be a duplicate we could tell
            if key in nodes:
                duplicates += 1
            else:
                nodes[key] = node
        next_token = response.headers.get("X-Nomad-NextToken")
        if not next_token:
            break
        if next_token in seen_tokens:
            notes.append(
                f"nodes: /v1/nodes repeated the page token after {page_number} pages; stopped there (the agent or "
                "a proxy in front of it loops)"
            )
            break
        seen_tokens.add(next_token)
        query["next_token"] = next_token
    else:
        notes.append(f"nodes: stopped after {_MAX_NODE_PAGES} pages of /v1/nodes; the list may be incomplete")
    if duplicates:
        notes.append(f"nodes: {duplicates} repeated node entries (same ID) were dropped")
    return list(nodes.values())


_ALLOC_KEYS = ("ID", "JobID", "Namespace", "TaskGroup", "NodeID", "ClientStatus")


def _collect_allocations(
    client: NomadClient,
    body: Mapping[str, Any],
    params: Mapping[str, str],
    notes: list[str],
    limit: int,
    workers: int,
) -> list[dict[str, Any]] | None:
    tokens = body.get("VaultTokens")
    if not isinstance(tokens, list):
        return None  # Nomad 1.10+ does not report tokens, so there is nothing to look up.
    ids = list(dict.fromkeys(t["AllocID"] for t in tokens if isinstance(t, dict) and isinstance(t.get("AllocID"), str)))
    if len(ids) > limit:
        notes.append(f"allocations: looked up the first {limit} of {len(ids)} allocation IDs (max_allocations)")
        ids = ids[:limit]
    if not ids:
        return []

    def lookup(alloc_id: str) -> dict[str, Any] | NomadError:
        try:
            alloc = client.get_json(
                f"/v1/allocation/{quote(alloc_id, safe='')}", params, acl="read-job in the allocation's namespace"
            )
        except NomadError as exc:
            return exc
        if not isinstance(alloc, dict):
            return NomadResponseError(
                f"{client.address}: /v1/allocation/{alloc_id} answered a body that {_looks_like(alloc)}",
                address=client.address,
            )
        return {key: alloc.get(key) for key in _ALLOC_KEYS}

    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(ids))), thread_name_prefix="nomad-alloc") as pool:
        results = list(pool.map(lookup, ids))

    found: list[dict[str, Any]] = []
    gone: list[str] = []
    denied = 0
    failures: list[str] = []
    for alloc_id, result in zip(ids, results, strict=True):
        if isinstance(result, dict):
            found.append(result)
        elif isinstance(result, NomadHTTPError) and result.status == 404:
            gone.append(alloc_id)
        elif isinstance(result, PermissionDeniedError):
            denied += 1
        else:
            failures.append(str(result))
    if gone:
        shown = ", ".join(gone[:5]) + (f" and {len(gone) - 5} more" if len(gone) > 5 else "")
        notes.append(f"allocations: {len(gone)} not found (garbage-collected since their token was made): {shown}")
    if denied:
        notes.append(
            f"allocations: {denied} of {len(ids)} lookups answered 403; the token needs read-job in the "
            "allocations' namespaces"
        )
    if failures:
        notes.append(f"allocations: {len(failures)} lookups failed, e.g. {failures[0]}")
    if not found and (denied or failures):
        return None  # nothing could be read: an empty table would wrongly say "no allocations"
    return found
