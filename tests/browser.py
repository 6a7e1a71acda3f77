"""Open a rendered report in headless Chromium, offline, and record what the page did.

Debian's Chromium at ``/usr/bin/chromium`` is driven by Playwright (no Playwright-downloaded browser). Every request
that is not a ``file:`` URL is aborted and recorded, so a report that tries to reach a CDN shows up as an
``external_requests`` entry instead of silently working on a connected machine.

When Chromium or Playwright is missing the browser tests skip with the reason, unless ``WI_REQUIRE_BROWSER=1``
(CI sets it), in which case they fail.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

# Every plotly chart (the div plotly.to_html writes) and whether plotly drew its SVG into it.
_CHARTS_JS = """() => [...document.querySelectorAll('.plotly-graph-div')].map(
    div => div.classList.contains('js-plotly-plot') && div.querySelector('svg.main-svg') !== null)"""


@dataclass
class PageReport:
    """What happened while a page loaded.

    Attributes:
        text: the page's visible text (``document.body.innerText``).
        charts: for each plotly chart div, whether it holds a drawn ``svg.main-svg``.
        console_errors: console messages of type ``error``.
        page_errors: uncaught exceptions.
        failed_requests: requests that failed, as ``url: reason``.
        external_requests: requests that were not for ``file:`` URLs (all aborted).
        evaluated: the value of the ``evaluate`` expression passed to :func:`open_page`, if any.
    """

    text: str
    charts: list[bool]
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    failed_requests: list[str] = field(default_factory=list)
    external_requests: list[str] = field(default_factory=list)
    evaluated: Any = None


def require_browser() -> None:
    """Skip (or fail, with ``WI_REQUIRE_BROWSER=1``) when Chromium or Playwright is not available."""
    reason = None
    if not CHROMIUM.exists():
        reason = f"Chromium not found at {CHROMIUM}: apt-get install chromium"
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            reason = "Playwright is not installed: pip install -e '.[test]'"
    if reason is None:
        return
    if os.environ.get("WI_REQUIRE_BROWSER") == "1":
        pytest.fail(f"{reason} (WI_REQUIRE_BROWSER=1 makes this an error)")
    pytest.skip(reason)


def open_page(path: Path, *, evaluate: str | None = None, timeout_ms: int = 20_000) -> PageReport:
    """Load ``path`` from disk with the network cut off, wait for the charts, and report.

    Args:
        path: an HTML file.
        evaluate: a JavaScript expression to evaluate once the page has settled (e.g. ``window.__xss``).
        timeout_ms: how long to wait for the page and for every chart to be drawn.
    """
    require_browser()
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import sync_playwright

    console_errors: list[str] = []
    page_errors: list[str] = []
    failed: list[str] = []
    external: list[str] = []

    def route(route: Any) -> None:
        url = route.request.url
        if url.startswith("file:"):
            route.continue_()
        else:
            external.append(url)
            route.abort()

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page()
            page.on("console", lambda m: console_errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: page_errors.append(str(e)))
            page.on("requestfailed", lambda r: failed.append(f"{r.url}: {r.failure}"))
            page.route("**/*", route)
            page.goto(path.resolve().as_uri(), wait_until="load", timeout=timeout_ms)
            with contextlib.suppress(PlaywrightError):  # a chart that never draws shows up in `charts`
                page.wait_for_function(f"() => ({_CHARTS_JS})().every(Boolean)", timeout=timeout_ms)
            # Let late handlers (an <img onerror>, a timer) run before looking.
            page.wait_for_timeout(300)
            return PageReport(
                text=page.inner_text("body"),
                charts=page.evaluate(_CHARTS_JS),
                console_errors=console_errors,
                page_errors=page_errors,
                failed_requests=failed,
                external_requests=external,
                evaluated=page.evaluate(f"() => {evaluate}") if evaluate else None,
            )
        finally:
            browser.close()


def screenshot(path: Path, target: Path, *, full_page: bool = True) -> None:
    """Save a screenshot of ``path`` (for looking at a report while working on it)."""
    require_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.route("**/*", lambda r: r.continue_() if r.request.url.startswith("file:") else r.abort())
            page.goto(path.resolve().as_uri(), wait_until="load")
            page.wait_for_timeout(1000)
            page.screenshot(path=str(target), full_page=full_page)
        finally:
            browser.close()
