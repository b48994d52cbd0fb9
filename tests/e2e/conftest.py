"""Fixtures for the cross-process e2e suite.

* ``server``  (session): server/app.py on a free 127.0.0.1 port (log: tests/e2e/artifacts/server.log).
* ``browsers`` (session): two separate /usr/bin/chromium processes launched by Playwright.
* ``browser_slots`` (session): one context per browser + a pool of pages reused across tests.
* ``open_peer`` (function): ``open_peer(kind, subject)`` opens www/test/peer.html in a page
  of one of them; the 1st peer of a test goes to browser 0, the 2nd to browser 1, ... so the two
  peers of a probe always live in different browser processes.
* ``pkg_built`` / opening an ``ours``/``dropin`` peer: fails (never skips) when pkg/ is not built.
"""
from __future__ import annotations

import re
import sys
import urllib.parse
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
sys.path.insert(0, str(REPO / "tests" / "support"))
# re-exported: the e2e tests import these from conftest
from server_rig import CHROMIUM, CHROMIUM_ARGS, start_server, stop_server  # noqa: E402

PKG_FILES = ("pkg/index.js", "pkg/p2p_probe.js", "pkg/p2p_probe_bg.wasm")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    setattr(item, "rep_" + rep.when, rep)


@pytest.fixture(scope="session")
def server():
    srv = start_server(ARTIFACTS / "server.log")
    yield srv
    stop_server(srv)


@pytest.fixture(scope="session")
def playwright_instance():
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.exit(f"{CHROMIUM} not found (apt-get install chromium)", returncode=3)
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="session")
def browsers(playwright_instance):
    """Two separate Chromium processes (playwright Browser objects)."""
    launched = [playwright_instance.chromium.launch(executable_path=CHROMIUM, headless=True,
                                                    args=CHROMIUM_ARGS)
                for _ in range(2)]
    yield launched
    for b in launched:
        b.close()


@pytest.fixture(scope="session")
def browser_slots(browsers):
    """One long-lived context per browser with a pool of idle pages (a new context costs
    ~0.5 s on this machine; navigating a used page ~0.2 s)."""
    slots = [BrowserSlot(b) for b in browsers]
    yield slots
    for slot in slots:
        try:
            slot.context.close()
        except Exception:
            pass


class BrowserSlot:
    def __init__(self, browser):
        self.browser = browser
        self.context = browser.new_context()
        self.idle: list = []

    def take_page(self):
        return self.idle.pop() if self.idle else self.context.new_page()

    def give_back(self, page) -> None:
        try:
            page.goto("about:blank")  # unload: closes the socket and peer connections
            self.idle.append(page)
        except Exception:
            try:
                page.close()
            except Exception:
                pass


class Peer:
    def __init__(self, kind: str, subject: str, slot: BrowserSlot, page):
        self.kind = kind
        self.subject = subject
        self.slot = slot
        self.page = page
        self.console: list[str] = []
        self.console_errors: list[str] = []
        page.on("console", self._on_console)
        page.on("pageerror", self._on_pageerror)

    def _on_pageerror(self, e):
        self.console_errors.append(f"pageerror: {e}")

    def release(self) -> None:
        self.page.remove_listener("console", self._on_console)
        self.page.remove_listener("pageerror", self._on_pageerror)
        self.slot.give_back(self.page)

    def _on_console(self, msg):
        line = f"[{msg.type}] {msg.text}"
        self.console.append(line)
        if msg.type == "error":
            self.console_errors.append(line)

    def wait_ready(self, timeout_ms: float = 15000) -> None:
        self.page.wait_for_function(
            "() => window.__probe && (window.__probe.ready || window.__probe.fatal)",
            timeout=timeout_ms)
        fatal = self.page.evaluate("() => window.__probe.fatal")
        if fatal:
            pytest.fail(f"{self.kind} peer {self.subject!r} failed to start: {fatal}\n"
                        f"errors: {self.errors()}", pytrace=False)

    def state(self) -> dict:
        return self.page.evaluate("""() => {
            const P = window.__probe;
            return {results: P.results, emitted: P.emitted, signals: P.signals,
                    received: P.received, errors: P.errors, pcConfigs: P.pcConfigs,
                    ready: P.ready, fatal: P.fatal, measures: P.measures};
        }""")

    def errors(self) -> list[str]:
        """window.__probe.errors (uncaught errors, unhandled rejections, console.error)."""
        try:
            return list(self.page.evaluate("() => window.__probe ? window.__probe.errors : []"))
        except Exception as e:  # page gone
            return [f"<evaluate failed: {e}>"]


@pytest.fixture
def open_peer(server, browser_slots, request):
    peers: list[Peer] = []

    def _open(kind: str, subject: str, wait: bool = True) -> Peer:
        if kind in ("ours", "dropin"):
            check_pkg()
        slot = browser_slots[len(peers) % len(browser_slots)]
        peer = Peer(kind, subject, slot, slot.take_page())
        peers.append(peer)
        q = urllib.parse.urlencode({"client": kind, "subject": subject})
        peer.page.goto(f"{server.base_url}/test/peer.html?{q}")
        if wait:
            peer.wait_ready()
            server.wait_subjects(subject)
        return peer

    yield _open

    release_peers(request, peers)


def release_peers(request, peers) -> None:
    """After a test: if it failed, save each peer's browser console under ARTIFACTS; then give
    the pages back to their pools."""
    rep = getattr(request.node, "rep_call", None)
    if rep is not None and rep.failed:
        out = ARTIFACTS / re.sub(r"[^\w.-]+", "_", request.node.name)
        out.mkdir(parents=True, exist_ok=True)
        for i, p in enumerate(peers):
            safe = re.sub(r"[^\w.-]+", "_", p.subject)
            (out / f"peer{i}_{p.kind}_{safe}.log").write_text("\n".join(p.console))
        sys.stderr.write(f"\nbrowser console logs: {out}\n")
    for p in peers:
        p.release()


def check_pkg() -> None:
    missing = [f for f in PKG_FILES if not (REPO / f).exists()]
    if missing:
        pytest.fail(f"pkg/ is not built (missing {', '.join(missing)}): run `bash scripts/build_pkg.sh`",
                    pytrace=False)


@pytest.fixture
def pkg_built():
    check_pkg()
