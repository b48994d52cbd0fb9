#!/usr/bin/env python3
"""Legacy JS client vs our WASM client, same machine, same run.

    .venv/bin/python bench/bench.py [--n 20] [--warmup 1] [--json out.json]

Starts server/app.py (the real ProbeCoordinator) on a free 127.0.0.1 port, launches two
separate headless Chromium processes (/usr/bin/chromium) and opens www/test/peer.html in each:
first a legacy<->legacy pair, then an ours<->ours pair. Each pair runs ``--warmup`` uncounted
probes, then N probes one after another (POST /api/probe with wait; the next probe starts
once both clients have sent their probe_result). Prints side by side:

* time-to-result median / p90: create_probe() -> on_complete (server, time.perf_counter)
* RTT reported median: what on_complete received
* probes failed: on_complete with None, or not called within the timeout
* download size: ours = gzip -9 of pkg/p2p_probe_bg.wasm + pkg/index.js + pkg/p2p_probe.js (+ pkg/snippets/**/*.js),
  each file compressed on its own; legacy = probe_connection.js + webrtc_manager.js bundled and
  minified with esbuild (--bundle --minify --format=esm), then gzip -9.

No assertions on wall clock. Exit code 2 if pkg/ is not built (the legacy column is still printed).
"""
from __future__ import annotations

import argparse
import gzip
import json
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--allow-loopback-in-peer-connection", "--use-fake-ui-for-media-stream",
    "--disable-features=WebRtcHideLocalIpsWithMdns",
]
LEGACY_NOISE = "[WebRTC] DataChannel error"
PKG_WASM = REPO / "pkg" / "p2p_probe_bg.wasm"
PKG_JS = REPO / "pkg" / "p2p_probe.js"
PKG_ENTRY = REPO / "pkg" / "index.js"


# ----------------------------------------------------------------------------- sizes

def gzip9_len(data: bytes) -> int:
    exe = shutil.which("gzip")
    if exe:
        return len(subprocess.run([exe, "-9", "-n", "-c"], input=data, capture_output=True,
                                  check=True).stdout)
    return len(gzip.compress(data, compresslevel=9, mtime=0))


def legacy_js_dir() -> Path:
    import mug  # installed multi-user-gymnasium (server/requirements.txt)
    return Path(mug.__file__).resolve().parent / "server" / "static" / "js"


def size_legacy() -> dict:
    esbuild = REPO / "node_modules" / ".bin" / "esbuild"
    entry = legacy_js_dir() / "probe_connection.js"  # imports ./webrtc_manager.js
    out = subprocess.run([str(esbuild), str(entry), "--bundle", "--minify", "--format=esm",
                          "--log-level=warning"], capture_output=True, check=True).stdout
    raw_src = sum((legacy_js_dir() / f).stat().st_size
                  for f in ("probe_connection.js", "webrtc_manager.js"))
    return {"files": ["probe_connection.js + webrtc_manager.js (esbuild --bundle --minify)"],
            "source_bytes": raw_src, "raw_bytes": len(out), "gzip9_bytes": gzip9_len(out)}


def size_ours() -> dict | None:
    if not (PKG_WASM.exists() and PKG_JS.exists()):
        return None
    files = [PKG_WASM, PKG_ENTRY, PKG_JS] + sorted((REPO / "pkg" / "snippets").glob("**/*.js"))
    raw = sum(f.stat().st_size for f in files)
    gz = sum(gzip9_len(f.read_bytes()) for f in files)
    return {"files": [str(f.relative_to(REPO)) for f in files], "raw_bytes": raw, "gzip9_bytes": gz}


# ----------------------------------------------------------------------------- server

class Server:
    def __init__(self):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = Path(tempfile.gettempdir()) / f"p2p-probe-bench-server-{self.port}.log"
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen([sys.executable, str(REPO / "server" / "app.py"),
                                      "--port", str(self.port)],
                                     cwd=REPO, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 20
        while True:
            try:
                self.get("/api/subjects")
                return
            except (urllib.error.URLError, OSError):
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise SystemExit(f"server failed to start, see {self.log_path}")
                time.sleep(0.1)

    def req(self, method, path, body=None, timeout=60):
        data = json.dumps(body).encode() if body is not None else None
        r = urllib.request.Request(self.base + path, data=data, method=method,
                                   headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(r, timeout=timeout) as resp:
            return json.loads(resp.read())

    def get(self, path, timeout=60):
        return self.req("GET", path, timeout=timeout)

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


# ----------------------------------------------------------------------------- run

def open_peer(browser, server: Server, kind: str, subject: str):
    page = browser.new_page()
    q = urllib.parse.urlencode({"client": kind, "subject": subject})
    page.goto(f"{server.base}/test/peer.html?{q}")
    page.wait_for_function("() => window.__probe && (window.__probe.ready || window.__probe.fatal)",
                           timeout=20000)
    fatal = page.evaluate("() => window.__probe.fatal")
    if fatal:
        raise RuntimeError(f"{kind} peer failed to start: {fatal}")
    deadline = time.monotonic() + 10
    while subject not in server.get("/api/subjects")["subjects"]:
        if time.monotonic() > deadline:
            raise RuntimeError(f"{subject} never connected")
        time.sleep(0.05)
    return page


def run_pair(browsers, server: Server, kind: str, n: int, warmup: int, timeout: float) -> dict:
    tag = uuid.uuid4().hex[:6]
    subjects = (f"bench-{kind}-a-{tag}", f"bench-{kind}-b-{tag}")
    pages = [open_peer(b, server, kind, s) for b, s in zip(browsers, subjects)]
    runs = []
    try:
        for i in range(warmup + n):
            res = server.req("POST", "/api/probe", {"a": subjects[0], "b": subjects[1], "wait": True,
                                                    "timeout": timeout}, timeout=timeout + 10)
            pid = res["probe_session_id"]
            # the next probe starts once both clients reported (the legacy ProbeManager would
            # otherwise close a probe that is still measuring)
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline:
                froms = {r["from_subject_id"] for r in
                         server.get(f"/api/probe_results?probe_session_id={urllib.parse.quote(pid)}")}
                if set(subjects) <= froms:
                    break
                time.sleep(0.02)
            time.sleep(0.1)
            if i >= warmup:
                runs.append(res)
            mark = "warmup" if i < warmup else f"{i - warmup + 1}/{n}"
            print(f"  {kind:6s} {mark:>7s}: time-to-result={res['elapsed_ms'] or float('nan'):7.1f} ms"
                  f"  rtt={res['rtt_ms']}", file=sys.stderr)
        errors = [e for p in pages for e in p.evaluate("() => window.__probe.errors")]
    finally:
        for p in pages:
            p.close()
    ok = [r for r in runs if r["completed"] and r["rtt_ms"] is not None]
    ttr = [r["elapsed_ms"] for r in ok]
    rtts = [r["rtt_ms"] for r in ok]
    return {
        "n": n,
        "failed": n - len(ok),
        "ttr_median_ms": statistics.median(ttr) if ttr else None,
        "ttr_p90_ms": p90(ttr),
        "rtt_median_ms": statistics.median(rtts) if rtts else None,
        "ttr_ms": ttr,
        "rtt_ms": rtts,
        "page_errors": errors,
    }


def p90(xs: list[float]) -> float | None:
    if not xs:
        return None
    if len(xs) == 1:
        return xs[0]
    return statistics.quantiles(xs, n=10, method="inclusive")[8]


# ----------------------------------------------------------------------------- report

def fmt(x, unit="") -> str:
    if x is None:
        return "n/a"
    if isinstance(x, float):
        return f"{x:.1f}{unit}"
    return f"{x}{unit}"


def main() -> int:
    ap = argparse.ArgumentParser(description="legacy vs ours probe benchmark")
    ap.add_argument("--n", type=int, default=20, help="probes per pair (default 20)")
    ap.add_argument("--warmup", type=int, default=1, help="uncounted probes first (default 1)")
    ap.add_argument("--timeout", type=float, default=15.0, help="per-probe wait, s")
    ap.add_argument("--json", help="also write all numbers to this file")
    args = ap.parse_args()

    from playwright.sync_api import sync_playwright

    sizes = {"legacy": size_legacy(), "ours": size_ours()}
    kinds = ["legacy"] + (["ours"] if sizes["ours"] else [])
    results: dict[str, dict | None] = {"legacy": None, "ours": None}

    server = Server()
    try:
        with sync_playwright() as pw:
            browsers = [pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
                        for _ in range(2)]
            try:
                for kind in kinds:
                    print(f"running {kind}<->{kind}: {args.warmup} warmup + {args.n} probes", file=sys.stderr)
                    results[kind] = run_pair(browsers, server, kind, args.n, args.warmup, args.timeout)
            finally:
                for b in browsers:
                    b.close()
    finally:
        server.stop()

    L, O = results["legacy"], results["ours"]
    rows = [
        ("time-to-result median (ms)", L and L["ttr_median_ms"], O and O["ttr_median_ms"]),
        ("time-to-result p90 (ms)", L and L["ttr_p90_ms"], O and O["ttr_p90_ms"]),
        ("RTT reported median (ms)", L and L["rtt_median_ms"], O and O["rtt_median_ms"]),
        ("probes failed", L and f"{L['failed']}/{L['n']}", O and f"{O['failed']}/{O['n']}"),
        ("download gzip -9 (bytes)", sizes["legacy"]["gzip9_bytes"], sizes["ours"] and sizes["ours"]["gzip9_bytes"]),
        ("download raw (bytes)", sizes["legacy"]["raw_bytes"], sizes["ours"] and sizes["ours"]["raw_bytes"]),
    ]
    print()
    print(f"{'':30s} {'legacy JS':>12s} {'ours (wasm)':>12s}")
    for name, lv, ov in rows:
        print(f"{name:30s} {fmt(lv):>12s} {fmt(ov):>12s}")
    if L and O and L["ttr_median_ms"] and O["ttr_median_ms"]:
        print(f"\nratio ours/legacy time-to-result: median {O['ttr_median_ms'] / L['ttr_median_ms']:.2f}"
              f", p90 {O['ttr_p90_ms'] / L['ttr_p90_ms']:.2f}")
    if sizes["ours"]:
        print(f"ratio ours/legacy download (gzip -9): "
              f"{sizes['ours']['gzip9_bytes'] / sizes['legacy']['gzip9_bytes']:.2f}")
    print("\nlegacy download = " + sizes["legacy"]["files"][0])
    if sizes["ours"]:
        print("ours download   = " + " + ".join(sizes["ours"]["files"]))
    for kind in kinds:
        errs = (results[kind] or {}).get("page_errors") or []
        noise = [e for e in errs if kind == "legacy" and LEGACY_NOISE in e]
        real = [e for e in errs if e not in noise]
        if noise:
            print(f"{kind}: {len(noise)} x '{LEGACY_NOISE}' (legacy: the peer closed first)")
        if real:
            print(f"{kind} page errors ({len(real)}): {real[:5]}")
    if args.json:
        Path(args.json).write_text(json.dumps({"sizes": sizes, "results": results}, indent=2))
    if not sizes["ours"]:
        print("\nours: pkg/ not built (run `bash scripts/build_pkg.sh`)", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
