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

import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--allow-loopback-in-peer-connection",
    "--use-fake-ui-for-media-stream",
    "--disable-features=WebRtcHideLocalIpsWithMdns",
]
PKG_FILES = ("pkg/index.js", "pkg/p2p_probe.js", "pkg/p2p_probe_bg.wasm")



@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    setattr(item, "rep_" + rep.when, rep)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, port: int, proc: subprocess.Popen, log_path: Path):
        self.port = port
        self.base_url = f"http://127.0.0.1:{port}"
        self.proc = proc
        self.log_path = log_path

    def _req(self, method: str, path: str, body=None, timeout: float = 30):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.base_url + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return json.loads(r.read())

    def get(self, path: str, timeout: float = 30):
        return self._req("GET", path, timeout=timeout)

    def subjects(self) -> list[str]:
        return self.get("/api/subjects")["subjects"]

    def wait_subjects(self, *ids: str, timeout: float = 10) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if set(ids) <= set(self.subjects()):
                return
            time.sleep(0.05)
        raise AssertionError(f"subjects {ids} not connected; connected: {self.subjects()}")

    def probe(self, a: str, b: str, wait: bool = True, timeout: float = 15) -> dict:
        return self._req("POST", "/api/probe", {"a": a, "b": b, "wait": wait, "timeout": timeout},
                         timeout=timeout + 10)

    def probe_results(self, probe_session_id: str) -> list[dict]:
        q = urllib.parse.quote(probe_session_id)
        return self.get(f"/api/probe_results?probe_session_id={q}")


@pytest.fixture(scope="session")
def server():
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    port = free_port()
    log_path = ARTIFACTS / "server.log"
    log = open(log_path, "w")
    proc = subprocess.Popen(
        [sys.executable, str(REPO / "server" / "app.py"), "--port", str(port), "--log-level", "INFO"],
        cwd=REPO, stdout=log, stderr=subprocess.STDOUT,
    )
    srv = Server(port, proc, log_path)
    deadline = time.monotonic() + 20
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}; see {log_path}:\n"
                               + log_path.read_text()[-3000:])
        try:
            srv.subjects()
            break
        except (urllib.error.URLError, ConnectionError, OSError):
            if time.monotonic() > deadline:
                proc.kill()
                raise RuntimeError(f"server did not come up; see {log_path}")
            time.sleep(0.1)
    yield srv
    proc.terminate()
    try:
        proc.wait(5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    log.close()


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
