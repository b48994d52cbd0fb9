"""The live demo page (www/, served at ``/``): two subjects, each in its own Chromium
process, probe each other through the server; the page must show presence, a results
table and an SVG histogram. Screenshots: tests/e2e/artifacts/demo_page_{a,b}.png.

Uses the ``server`` and ``browsers`` fixtures of conftest.py. Builds www/dist (from the
packed pkg/) first when it is missing or stale; fails when pkg/ is not built.
"""
from __future__ import annotations

import importlib.util
import urllib.parse
import uuid
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"

pytestmark = pytest.mark.ours


def _demo_module():
    spec = importlib.util.spec_from_file_location("p2p_probe_demo", REPO / "scripts" / "demo.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def build_dist() -> None:
    try:
        _demo_module().ensure_built(False)  # node www/build.mjs when stale
    except SystemExit as e:
        pytest.fail(f"building www/dist failed: {e}", pytrace=False)


class DemoPage:
    def __init__(self, browser, base_url: str, subject: str):
        self.subject = subject
        self.context = browser.new_context(viewport={"width": 1400, "height": 1000})
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.wasm_responses: list[tuple[str, int, str]] = []
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(f"console: {m.text}"))
        self.page.on("pageerror", lambda e: self.errors.append(f"pageerror: {e}"))
        self.page.on("response", self._on_response)
        self.page.goto(f"{base_url}/?{urllib.parse.urlencode({'subject': subject})}")

    def _on_response(self, resp):
        if resp.url.split("?")[0].endswith(".wasm"):
            self.wasm_responses.append((resp.url, resp.status, resp.headers.get("content-type", "")))

    def wait_ready(self) -> None:
        self.page.wait_for_function("window.__ready === true || window.__errors.length > 0", timeout=20000)
        errs = self.page.evaluate("window.__errors")
        assert not errs, f"{self.subject}: page failed to start: {errs}"

    def eval(self, js: str):
        return self.page.evaluate(js)


BARS_JS = """[...document.querySelectorAll('#hist rect')]
               .filter(r => parseFloat(r.getAttribute('height')) > 0).length"""


def test_demo_page_probes_and_draws(server, browsers, pkg_built):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    build_dist()
    tag = uuid.uuid4().hex[:6]
    sa, sb = f"alice-{tag}", f"bob-{tag}"
    pages: list[DemoPage] = []
    try:
        for browser, subject in zip(browsers, (sa, sb)):  # two separate Chromium processes
            pages.append(DemoPage(browser, server.base_url, subject))
        a, b = pages
        for p in pages:
            p.wait_ready()
        server.wait_subjects(sa, sb)

        # presence: each page lists both subjects, and marks itself
        for p in pages:
            p.page.wait_for_function(
                f"() => {{ const t = document.getElementById('subjects').textContent;"
                f" return t.includes('{sa}') && t.includes('{sb}'); }}", timeout=10000)
            assert p.page.locator("#subjects li.me code").inner_text() == p.subject

        # three probes from the matchmaker side (POST /api/probe, wait)
        ids = []
        for _ in range(3):
            res = server.probe(sa, sb, wait=True, timeout=15)
            assert res["completed"] and isinstance(res["rtt_ms"], (int, float)), res
            ids.append(res["probe_session_id"])

        # one more from the page's own button (bob probes alice)
        b.page.check(f"#subjects input[value='{sa}']")
        b.page.click("#probe-btn")

        for p in pages:
            p.page.wait_for_function("window.__results.length >= 4", timeout=30000)
            p.page.wait_for_function("document.querySelectorAll('#results tbody tr').length >= 4", timeout=5000)
            # elapsed_ms comes from the probe_complete broadcast
            p.page.wait_for_function(
                "window.__results.every(r => window.__complete[r.probe_session_id])", timeout=10000)
        for p, name in ((a, "a"), (b, "b")):
            p.page.wait_for_timeout(300)  # let the last render settle
            p.page.screenshot(path=str(ARTIFACTS / f"demo_page_{name}.png"), full_page=True)

        for p in pages:
            results = p.eval("window.__results")
            assert len(results) == 4, results
            assert set(ids) <= {r["probe_session_id"] for r in results}
            for r in results:
                assert r["success"] is True, r
                assert isinstance(r["rtt_ms"], (int, float)), r
                assert r["connection"]["type"] == "direct", r

            rows = p.page.locator("#results tbody tr")
            assert rows.count() == 4
            assert p.page.locator("#results tbody tr.fail").count() == 0
            # every row shows an rtt and the server's elapsed time
            cells = p.eval("""[...document.querySelectorAll('#results tbody tr')].map(tr =>
                Object.fromEntries([...tr.cells].map((td, i) =>
                    [document.querySelectorAll('#results thead th')[i].textContent, td.textContent])))""")
            for c in cells:
                assert c["rtt_ms"] != "–" and float(c["rtt_ms"]) >= 0, c
                assert c["elapsed_ms"] != "–", c
                assert c["connection"].startswith("direct"), c
                assert c["status"] == "ok", c
                assert c["peer"] in (sa, sb) and c["peer"] != p.subject, c

            bars = p.eval(BARS_JS)
            assert bars >= 1, "histogram drew no bars"
            assert p.eval("document.querySelector('#hist line.median') !== null")
            assert p.page.locator("#summary").inner_text().split("\n")[:2] == ["probes", "4"]

            # the wasm came from the bundle (esbuild file loader), served as application/wasm
            assert p.wasm_responses, "no .wasm was fetched"
            url, status, ctype = p.wasm_responses[0]
            assert status == 200 and "/pkg/" not in url and ctype.startswith("application/wasm"), p.wasm_responses
            assert not p.errors, p.errors
    finally:
        for p in pages:
            try:
                p.context.close()
            except Exception:
                pass
