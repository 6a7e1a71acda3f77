"""Shared test fixtures."""

from __future__ import annotations

import os

import pytest

#: Proxy variables would send loopback requests elsewhere (httpx honours them, as Nomad's Go client does).
_PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY")


@pytest.fixture(autouse=True)
def _hermetic_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Clear every ``NOMAD_*`` variable (and proxy settings) so no test sees the developer's cluster."""
    for name in list(os.environ):
        if name.startswith("NOMAD_") or name.upper() in _PROXY_VARIABLES:
            monkeypatch.delenv(name)
