"""A real service on loopback and a real headless Chromium driven by Playwright.

Chromium comes from the OS package (``apt-get install chromium``; Playwright's own
browser download is not reachable where this runs). ``QP_CHROMIUM`` names another
binary. The tests skip, saying why, only when no Chromium can be found.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.sync_api import Browser, Page, Route, sync_playwright

from tests.service.conftest import ROOT, Server, create_key

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def find_chromium() -> str | None:
    """The Chromium binary to drive: ``QP_CHROMIUM``, else the OS package's."""
    env = os.environ.get("QP_CHROMIUM")
    if env:
        return env if Path(env).exists() else None
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


@dataclass
class Service:
    server: Server
    admin: str
    client_key: str

    @property
    def url(self) -> str:
        return self.server.url

    def api(self, key: str | None = None) -> httpx.Client:
        return self.server.client(key or self.client_key)


@pytest.fixture(scope="session")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    tmp = tmp_path_factory.mktemp("web-server")
    server = Server(
        f"sqlite:///{tmp / 'qp.db'}",
        tmp,
        QP_EXAMPLES_DIR=str(ROOT / "examples"),
        QP_MAX_TIME_LIMIT="60",
    ).start()
    try:
        yield Service(
            server, create_key(server.db_url, "admin"), create_key(server.db_url, "client")
        )
    finally:
        server.stop()


@pytest.fixture(scope="session")
def chromium_browser() -> Iterator[Browser]:
    exe = find_chromium()
    if exe is None:
        reason = "no Chromium found (apt-get install chromium, or set QP_CHROMIUM)"
        print(f"tests/web skipped: {reason}")
        pytest.skip(reason)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=exe, args=CHROMIUM_ARGS, headless=True)
        try:
            yield b
        finally:
            b.close()


@dataclass
class Watched:
    """A page plus what it did: console errors and requests that were not to loopback."""

    page: Page
    service: Service
    console_errors: list[str] = field(default_factory=list)
    outside: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    allowed_errors: list[str] = field(default_factory=list)

    def open(self, key: str | None = None) -> Watched:
        self.page.goto(self.service.url + "/ui/")
        if key:
            self.page.fill("#api-key", key)
            self.page.click("#key-form button[type=submit]")
        return self

    def solve(self, backend: str = "cpsat", time_limit: float = 5) -> str:
        """Click Solve; returns the job id the page follows."""
        self.page.select_option("#backend", backend)
        self.page.fill("#time-limit", str(time_limit))
        self.page.click("#solve")
        self.page.wait_for_function(
            "document.querySelector('#job-state').dataset.job", timeout=30_000
        )
        return self.page.get_attribute("#job-state", "data-job") or ""

    def wait_done(self, job_id: str, timeout: float = 90) -> str:
        """Wait until the page has drawn everything for the job; returns its final state."""
        self.page.wait_for_function(
            f"(document.body.dataset.ready || '').startsWith('{job_id}:')",
            timeout=timeout * 1000,
        )
        return (self.page.evaluate("document.body.dataset.ready") or "").split(":", 1)[1]

    def paste(self, problem: Any) -> None:
        import json

        text = problem if isinstance(problem, str) else json.dumps(problem)
        self.page.fill("#problem-json", text)


@pytest.fixture
def ui(chromium_browser: Browser, service: Service) -> Iterator[Watched]:
    context = chromium_browser.new_context(viewport={"width": 1300, "height": 1000})
    page = context.new_page()
    w = Watched(page, service)

    def guard(route: Route) -> None:
        url = route.request.url
        w.requests.append(url)
        host = urlsplit(url).hostname
        if urlsplit(url).scheme in ("data", "blob") or host == "127.0.0.1":
            route.continue_()
        else:
            w.outside.append(url)
            route.abort()

    context.route("**/*", guard)

    def seen(request: Any) -> None:  # also what a page-level route answers
        parts = urlsplit(request.url)
        if parts.scheme not in ("data", "blob") and parts.hostname != "127.0.0.1":
            w.outside.append(request.url)

    page.on("request", seen)
    page.on(
        "console",
        lambda m: w.console_errors.append(m.text) if m.type == "error" else None,
    )
    page.on("pageerror", lambda e: w.console_errors.append(f"uncaught: {e}"))
    try:
        yield w
    finally:
        context.close()
    assert w.outside == [], f"requests left 127.0.0.1: {w.outside}"
    unexpected = [e for e in w.console_errors if not any(a in e for a in w.allowed_errors)]
    assert unexpected == [], f"console errors: {unexpected}"
