#!/usr/bin/env python3
"""Soak test: N sequential probes between two pages (two Chromium processes) through the real
server (server/app.py = the unmodified ProbeCoordinator), loopback only.

    .venv/bin/python scripts/soak.py [--n 600] [--check-every 50] [--tolerance-kb 128]

Every probe must succeed on both pages (success, rtt_ms a number, at least one ping sample).
Every --check-every probes it records, per page, the wasm linear memory
(``exports.memory.buffer.byteLength``, ``exports = await init()``, exposed by www/test/rel.js as
``window.__wasmMemory()``) and the JS heap (CDP ``Runtime.getHeapUsage`` after a forced GC, and
``performance.memory.usedJSHeapSize``). Passes when all probes succeed and the wasm memory after
the last probe is within --tolerance-kb of its size at the first check (probe --check-every).
Exit status: 0 pass, 1 fail, 2 setup error. Needs pkg/ built (bash scripts/build_pkg.sh).

``run_soak()`` is also used by tests/e2e/test_reliability.py::test_soak_short (120 probes).
"""
from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
# the same flags as tests/e2e/conftest.py
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--allow-loopback-in-peer-connection", "--use-fake-ui-for-media-stream",
    "--disable-features=WebRtcHideLocalIpsWithMdns",
]


def _req(base_url: str, method: str, path: str, body=None, timeout: float = 30):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(base_url + path, data=data, method=method,
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return json.loads(r.read())


def _is_number(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


RESULT_JS = """(pid) => {
  const P = window.__probe;
  const t = P.times[pid];
  if (!t || t.result === undefined) return null;
  const r = P.results.filter(r => r && r.probe_session_id === pid);
  return {n: r.length, r: r[0] || null, errors: P.errors.length};
}"""


def _memory(page, cdp) -> dict:
    cdp.send("HeapProfiler.collectGarbage")
    heap = cdp.send("Runtime.getHeapUsage")
    wasm, perf = page.evaluate("() => [window.__wasmMemory(), performance.memory ? performance.memory.usedJSHeapSize : null]")
    return {"wasm": wasm, "heap_used": heap.get("usedSize"), "perf_heap": perf}


def run_soak(base_url: str, pages, subjects, n: int = 600, check_every: int = 50,
             tolerance: int = 128 * 1024, timeout: float = 15, log=print) -> dict:
    """Runs ``n`` sequential probes between ``pages`` (two rel.html?client=ours pages whose
    subjects are ``subjects``) and returns a report dict (``ok`` is the verdict)."""
    cdps = [p.context.new_cdp_session(p) for p in pages]
    failures: list[str] = []
    samples: list[tuple[int, list[dict]]] = []
    elapsed: list[float] = []
    rtts: list[float] = []
    t_start = time.perf_counter()
    for i in range(1, n + 1):
        a, b = subjects if i % 2 else subjects[::-1]
        t0 = time.perf_counter()
        try:
            res = _req(base_url, "POST", "/api/probe", {"a": a, "b": b, "wait": True, "timeout": timeout},
                       timeout=timeout + 10)
        except (urllib.error.URLError, OSError) as e:
            failures.append(f"probe {i}: POST /api/probe failed: {e}")
            break
        pid = res["probe_session_id"]
        if not (res.get("completed") and _is_number(res.get("rtt_ms"))):
            failures.append(f"probe {i} {pid}: on_complete got {res.get('rtt_ms')!r} (completed={res.get('completed')})")
        for page, subject in zip(pages, subjects):
            got = None
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                got = page.evaluate(RESULT_JS, pid)
                if got:
                    break
                time.sleep(0.01)
            r = got and got["r"]
            if not got:
                failures.append(f"probe {i} {pid}: no result from {subject}")
            elif got["n"] != 1:
                failures.append(f"probe {i} {pid}: {got['n']} results from {subject}")
            elif not (r["success"] is True and _is_number(r["rtt_ms"]) and r["rtt"]["samples"] > 0):
                failures.append(f"probe {i} {pid}: {subject} reported {json.dumps(r)[:300]}")
            elif got["errors"]:
                failures.append(f"probe {i} {pid}: page errors on {subject}")
            if r and _is_number(r.get("rtt_ms")):
                rtts.append(r["rtt_ms"])
        elapsed.append((time.perf_counter() - t0) * 1000)
        if i % check_every == 0 or i == n:
            mem = [_memory(p, c) for p, c in zip(pages, cdps)]
            samples.append((i, mem))
            line = "  ".join(f"{s}: wasm {m['wasm'] / 1024:.0f} KB, heap {m['heap_used'] / 1024:.0f} KB"
                             f" (perf {(m['perf_heap'] or 0) / 1024:.0f} KB)" for s, m in zip(subjects, mem))
            log(f"[soak] probe {i}/{n}: {len(failures)} failure(s), "
                f"median {statistics.median(elapsed):.0f} ms/probe; {line}")
        if len(failures) > 20:
            log("[soak] too many failures, stopping")
            break
    for c in cdps:
        try:
            c.detach()
        except Exception:
            pass

    memory_ok = len(samples) >= 2
    summary = []
    if len(samples) >= 2:
        (i0, m0), (i1, m1) = samples[0], samples[-1]
        for s, x, y in zip(subjects, m0, m1):
            grow = y["wasm"] - x["wasm"]
            ok = grow <= tolerance
            memory_ok &= ok
            summary.append(f"{s}: wasm {x['wasm'] / 1024:.0f} KB @ {i0} -> {y['wasm'] / 1024:.0f} KB @ {i1} "
                           f"({grow / 1024:+.0f} KB, limit {tolerance / 1024:.0f} KB) {'ok' if ok else 'GREW'}; "
                           f"JS heap {x['heap_used'] / 1024:.0f} KB -> {y['heap_used'] / 1024:.0f} KB "
                           f"({(y['heap_used'] - x['heap_used']) / 1024:+.0f} KB)")
    else:
        summary.append("fewer than two memory samples (n < 2 * check_every?)")
    total = time.perf_counter() - t_start
    for line in summary:
        log(f"[soak] {line}")
    log(f"[soak] {len(elapsed)} probes in {total:.1f} s; time-to-both-results median "
        f"{statistics.median(elapsed) if elapsed else float('nan'):.0f} ms, max {max(elapsed, default=0):.0f} ms; "
        f"rtt_ms median {statistics.median(rtts) if rtts else float('nan')}; failures {len(failures)}")
    return {"ok": not failures and memory_ok and len(elapsed) == n, "failures": failures,
            "memory_ok": memory_ok, "memory_summary": summary, "samples": samples,
            "probes": len(elapsed), "elapsed_ms": elapsed, "seconds": total}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=600, help="probes (default 600)")
    ap.add_argument("--check-every", type=int, default=50, help="memory sample period (default 50)")
    ap.add_argument("--tolerance-kb", type=int, default=128, help="allowed wasm memory growth (default 128)")
    ap.add_argument("--port", type=int, default=0, help="server port (default: a free one)")
    ap.add_argument("--log", default=str(REPO / "tests" / "e2e" / "artifacts" / "soak_server.log"))
    args = ap.parse_args(argv)

    for f in ("pkg/p2p_probe.js", "pkg/p2p_probe_bg.wasm"):
        if not (REPO / f).exists():
            print(f"{f} missing: run `bash scripts/build_pkg.sh`", file=sys.stderr)
            return 2
    from playwright.sync_api import sync_playwright

    port = args.port or _free_port()
    base_url = f"http://127.0.0.1:{port}"
    Path(args.log).parent.mkdir(parents=True, exist_ok=True)
    log = open(args.log, "w")
    server = subprocess.Popen([sys.executable, str(REPO / "server" / "app.py"), "--port", str(port)],
                              cwd=REPO, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                _req(base_url, "GET", "/api/subjects", timeout=2)
                break
            except (urllib.error.URLError, OSError):
                if server.poll() is not None or time.monotonic() > deadline:
                    print(f"server did not start; see {args.log}", file=sys.stderr)
                    return 2
                time.sleep(0.1)
        u = uuid.uuid4().hex[:8]
        subjects = [f"soak-a-{u}", f"soak-b-{u}"]
        with sync_playwright() as pw:
            browsers = [pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
                        for _ in subjects]
            try:
                pages = []
                for br, s in zip(browsers, subjects):
                    page = br.new_context().new_page()
                    page.on("pageerror", lambda e, s=s: print(f"[soak] pageerror on {s}: {e}", file=sys.stderr))
                    q = urllib.parse.urlencode({"client": "ours", "subject": s, "keep": 20})
                    page.goto(f"{base_url}/test/rel.html?{q}")
                    page.wait_for_function("() => window.__probe && (window.__probe.ready || window.__probe.fatal)",
                                           timeout=20000)
                    fatal = page.evaluate("() => window.__probe.fatal")
                    if fatal:
                        print(f"page {s} failed to start: {fatal}", file=sys.stderr)
                        return 2
                    pages.append(page)
                deadline = time.monotonic() + 10
                while not set(subjects) <= set(_req(base_url, "GET", "/api/subjects")["subjects"]):
                    if time.monotonic() > deadline:
                        print("pages did not connect", file=sys.stderr)
                        return 2
                    time.sleep(0.05)
                report = run_soak(base_url, pages, subjects, n=args.n, check_every=args.check_every,
                                  tolerance=args.tolerance_kb * 1024)
            finally:
                for br in browsers:
                    br.close()
    finally:
        server.terminate()
        try:
            server.wait(5)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()
    for f in report["failures"][:20]:
        print(f"[soak] FAIL {f}")
    print(f"[soak] {'PASS' if report['ok'] else 'FAIL'}")
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
