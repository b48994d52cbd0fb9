#!/usr/bin/env python3
"""p2p-probe room matrix: every pair of a waiting room probed peer to peer.

    bash scripts/demo.sh --room 6                  # 6 peers, prints the 6x6 matrix, exits
    bash scripts/demo.sh --room 8 --per-peer 2 --json room.json --csv room.csv
    bash scripts/demo.sh --room 6 --serve          # the live room page on http://127.0.0.1:8000/room

(``scripts/demo.py --room ...`` hands over to this file; ``.venv/bin/python scripts/room.py`` works too.)

Starts the server (server/app.py: the unmodified ProbeCoordinator of multi-user-gymnasium
0.1.3) on a free 127.0.0.1 port, opens the demo page (www/dist, built from the packed npm
package) as N subjects, spread round-robin over ``--browsers`` (default 2) separate headless
Chromium processes, and asks the server for a room run (``POST /api/room/probe_all``): every
one of the N(N-1)/2 pairs goes through ``coordinator.create_probe`` (the same call as
``POST /api/probe``), as many at once as fit with at most ``--per-peer`` K sessions in flight
per participant (a participant is busy from create_probe until its own probe_result arrives).
(Before that, unless ``--warmup 0``, one uncounted probe per page, disjoint pairs at once:
a freshly loaded page's first probe can read high.) Then it fetches both sides' probe_result of every pair (``GET /api/probe_results``) and
prints:

* the N x N matrix: row = the page that measured, column = its peer; each cell that page's
  ``rtt_ms`` and ``±`` half the width of its ``rtt.ci95_ms`` (the interval itself, which is
  not centred on rtt_ms, is in --json / --csv);
* the failures with their ``error.code``;
* the time to fill the matrix (run start -> the last pair's on_complete), and until every
  side had reported.

``--json`` / ``--csv`` get one row per probe and side (both sides' probe_result payloads).
Exit status 0 iff every pair completed and both of its sides reported success exactly once.
Stops the browsers and the server before it exits (Ctrl-C too). ICE servers are always []
(host candidates on loopback).
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import signal
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import demo  # noqa: E402  (scripts/demo.py: Server, ensure_built, the Chromium flags)
from demo import CHROMIUM, CHROMIUM_ARGS, REPO, VENV_PY, Server, say  # noqa: E402

NAMES = ["alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi"]
DEFAULT_K = 2   # README "Room matrix": K=1..4 on a room of 6, measured


def num(v):
    return v if isinstance(v, (int, float)) and not isinstance(v, bool) else None


def f2(v, d=2) -> str:
    return f"{v:.{d}f}" if num(v) is not None else "-"


# --------------------------------------------------------------------------- browsers

class Browsers:
    """B headless Chromium processes (one persistent context each, its own temp profile);
    pages are handed out round-robin so a room is spread over all of them."""

    def __init__(self, pw, count: int):
        self.count = count
        self.profiles: list[Path] = []
        self.contexts = []
        self._next = 0
        for i in range(count):
            prof = Path(tempfile.mkdtemp(prefix=f"p2p-probe-room-b{i}-"))
            self.profiles.append(prof)
            self.contexts.append(pw.chromium.launch_persistent_context(
                str(prof), executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS,
                viewport={"width": 1400, "height": 1000}))

    def new_page(self):
        i = self._next % self.count
        self._next += 1
        ctx = self.contexts[i]
        blank = [p for p in ctx.pages if p.url == "about:blank" and not getattr(p, "_room_used", False)]
        page = blank[0] if blank else ctx.new_page()
        page._room_used = True
        return page, i

    def close(self) -> None:
        for ctx in self.contexts:
            try:
                ctx.close()
            except Exception:
                pass
        for prof in self.profiles:
            demo.kill_processes_using(prof)
            shutil.rmtree(prof, ignore_errors=True)


class RoomPeer:
    """One subject: a page (the demo page by default) in one of the Browsers."""

    DEMO_READY = "window.__ready === true || (window.__errors && window.__errors.length > 0)"
    DEMO_ERRORS = "window.__errors"
    DEMO_RESULTS = "window.__results"
    PROBE_READY = "window.__probe && (window.__probe.ready || window.__probe.fatal)"
    PROBE_ERRORS = "window.__probe ? (window.__probe.fatal ? [window.__probe.fatal] : []) : ['no window.__probe']"
    PROBE_RESULTS = "window.__probe.results"

    def __init__(self, browsers: Browsers, base_url: str, subject: str, kind: str = "demo"):
        """kind: 'demo' (the demo page, www/dist) or 'ours' / 'legacy' (www/test/peer.html)."""
        self.subject = subject
        self.kind = kind
        self.page, self.process = browsers.new_page()
        self.errors: list[str] = []
        self.page.on("pageerror", lambda e: self.errors.append(f"pageerror: {e}"))
        if kind == "demo":
            url = f"{base_url}/?{urllib.parse.urlencode({'subject': subject})}"
            self.js_ready, self.js_errors, self.js_results = self.DEMO_READY, self.DEMO_ERRORS, self.DEMO_RESULTS
        else:
            url = f"{base_url}/test/peer.html?{urllib.parse.urlencode({'client': kind, 'subject': subject})}"
            self.js_ready, self.js_errors, self.js_results = self.PROBE_READY, self.PROBE_ERRORS, self.PROBE_RESULTS
        self.page.goto(url)

    def wait_ready(self, timeout_s: float = 30) -> None:
        try:
            self.page.wait_for_function(self.js_ready, timeout=timeout_s * 1000)
        except Exception as e:
            raise RuntimeError(f"{self.subject}: page not ready: {e}\n" + "\n".join(self.errors)) from None
        errs = self.page.evaluate(self.js_errors)
        if errs:
            raise RuntimeError(f"{self.subject}: page failed to start:\n" + "\n".join(map(str, errs)))

    def results(self) -> list[dict]:
        try:
            return self.page.evaluate(self.js_results)
        except Exception as e:
            return [{"error": f"evaluate failed: {e}"}]


def open_room(browsers: Browsers, server: Server, subjects: list[str], kind: str = "demo") -> list[RoomPeer]:
    peers = [RoomPeer(browsers, server.base, s, kind) for s in subjects]
    for p in peers:
        p.wait_ready()
    wait_subjects(server, subjects)
    return peers


def wait_subjects(server: Server, subjects: list[str], timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while not set(subjects) <= set(server.get("/api/subjects")["subjects"]):
        if time.monotonic() > deadline:
            raise RuntimeError(f"subjects not connected: {server.get('/api/subjects')}")
        time.sleep(0.1)


# --------------------------------------------------------------------------- a room run

def run_room(server: Server, subjects: list[str], per_peer: int, timeout_s: float = 20,
             grace_s: float = 5) -> dict:
    """POST /api/room/probe_all and wait for the run to end; returns its final snapshot."""
    started = server.post("/api/room/probe_all", {"subjects": subjects, "per_peer": per_peer,
                                                  "timeout": timeout_s, "grace": grace_s})
    run_id = started["run_id"]
    budget = time.monotonic() + timeout_s * max(1, started["pairs"]) + 60
    while True:
        snap = server.get(f"/api/room/{run_id}?wait=5", timeout=20)
        if snap["state"] == "done":
            return snap
        if time.monotonic() > budget:
            raise RuntimeError(f"room run {run_id} did not end")


def warm_up(server: Server, subjects: list[str], timeout_s: float = 20) -> list[dict]:
    """One uncounted probe per page, disjoint pairs at once (the first round of the room's
    tournament): a freshly loaded page's first probe can read high (README, accuracy notes)."""
    import threading
    pairs = [(a, b) for a, b in zip(subjects[0::2], subjects[1::2])]
    if len(subjects) % 2:
        pairs.append((subjects[-1], subjects[0]))
    out: list[dict] = []

    def one(a, b):
        try:
            out.append(server.post("/api/probe", {"a": a, "b": b, "wait": True, "timeout": timeout_s},
                                   timeout=timeout_s + 10))
        except Exception as e:  # reported by the caller through the missing entry
            out.append({"error": str(e), "subject_a": a, "subject_b": b})

    threads = [threading.Thread(target=one, args=ab) for ab in pairs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    time.sleep(0.5)  # both sides' results in, lingering connections closed
    return out


def collect(server: Server, snap: dict) -> list[dict]:
    """One entry per pair: the run's cell plus every probe_result the server received for its
    session (GET /api/probe_results), split by side."""
    pairs = []
    for cell in snap["cells"]:
        pid = cell["probe_session_id"]
        received = server.get(f"/api/probe_results?probe_session_id={urllib.parse.quote(pid)}") if pid else []
        by_side = {s: [r for r in received if r.get("from_subject_id") == s] for s in (cell["a"], cell["b"])}
        pairs.append({"cell": cell, "received": received, "by_side": by_side})
    return pairs


def side_ok(entries: list[dict]) -> bool:
    return (len(entries) == 1 and isinstance(entries[0].get("payload"), dict)
            and entries[0]["payload"].get("success") is True and num(entries[0]["payload"].get("rtt_ms")) is not None)


def pair_ok(pair: dict) -> bool:
    c = pair["cell"]
    return c["state"] == "ok" and all(side_ok(pair["by_side"][s]) for s in (c["a"], c["b"]))


def matrix(snap: dict, pairs: list[dict]) -> dict:
    """{(row, col): payload of row's probe_result for the pair (row, col)} (first one)."""
    out = {}
    for p in pairs:
        c = p["cell"]
        for me, peer in ((c["a"], c["b"]), (c["b"], c["a"])):
            got = p["by_side"][me]
            out[(me, peer)] = got[0]["payload"] if got else None
    return out


def cell_text(payload) -> str:
    if payload is None:
        return "no result"
    if not payload.get("success"):
        return ((payload.get("error") or {}).get("code") or "failed")[:12]
    ci = (payload.get("rtt") or {}).get("ci95_ms")
    hw = f" ±{(ci[1] - ci[0]) / 2:.2f}" if isinstance(ci, list) and len(ci) == 2 and all(num(x) is not None for x in ci) else ""
    return f"{payload['rtt_ms']:.2f}{hw}"


def report(snap: dict, pairs: list[dict], wall_s: float | None = None) -> str:
    subs = snap["subjects"]
    m = matrix(snap, pairs)
    w = max(12, max(len(s) for s in subs) + 1, *(len(cell_text(v)) + 1 for v in m.values()))
    rw = max(len(s) for s in subs) + 1
    out = ["RTT matrix, ms (row = the page that measured, column = its peer; "
           "± = half the width of its rtt.ci95_ms)", "",
           " " * rw + "".join(s.rjust(w) for s in subs)]
    for r in subs:
        out.append(r.ljust(rw) + "".join(("—" if r == c else cell_text(m.get((r, c)))).rjust(w) for c in subs))
    ok = [p for p in pairs if pair_ok(p)]
    n = len(pairs)
    out.append("")
    filled = snap.get("filled_ms")
    out.append(f"pairs: {n}, all results ok: {len(ok)}/{n}; time to fill the matrix "
               f"(room run start -> last pair's on_complete): {f2(filled / 1000 if filled is not None else None)} s; "
               f"every side reported: {f2(snap['done_ms'] / 1000 if snap.get('done_ms') is not None else None)} s"
               + (f"; wall incl. browser start {wall_s:.1f} s" if wall_s else ""))
    mif = snap.get("max_in_flight") or {}
    out.append(f"in flight: at most {max(mif.values()) if mif else '-'} per participant (K={snap['per_peer']}), "
               f"up to {snap.get('max_in_flight_total')} sessions at once")
    asym = []
    for p in ok:
        c = p["cell"]
        a, b = (p["by_side"][s][0]["payload"]["rtt_ms"] for s in (c["a"], c["b"]))
        asym.append(abs(a - b))
    if asym:
        vals = sorted(x for x in (m[k]["rtt_ms"] for k in m if m[k] and m[k].get("success")) if num(x) is not None)
        out.append(f"rtt_ms over all sides: median {f2(vals[len(vals) // 2])}, min {f2(vals[0])}, max {f2(vals[-1])}; "
                   f"|row - column| per pair: median {f2(sorted(asym)[len(asym) // 2])}, max {f2(max(asym))}")
    fails = []
    for p in pairs:
        c = p["cell"]
        if c["state"] != "ok":
            fails.append(f"{c['a']} <-> {c['b']}: pair {c['state']} (on_complete rtt_ms={c['rtt_ms']})")
        for me in (c["a"], c["b"]):
            got = p["by_side"][me]
            peer = c["b"] if me == c["a"] else c["a"]
            if not got:
                fails.append(f"{me} -> {peer}: no probe_result")
            elif len(got) > 1:
                fails.append(f"{me} -> {peer}: {len(got)} probe_results for one session")
            elif not got[0]["payload"].get("success"):
                err = got[0]["payload"].get("error") or {}
                fails.append(f"{me} -> {peer}: {err.get('code', 'failed')}"
                             + (f" ({err.get('message')})" if err.get("message") else ""))
    out.append(f"failures: {len(fails)}" + "".join(f"\n  {x}" for x in fails))
    return "\n".join(out)


CSV_COLS = ["run_id", "probe_session_id", "subject", "peer", "pair_a", "pair_b", "pair_state", "results_from_side",
            "success", "rtt_ms", "ci95_low", "ci95_high", "source", "median_ms", "min_ms", "max_ms", "jitter_ms",
            "samples", "sent", "lost", "chained", "transport_ms", "stats_rtt_ms", "connection_type",
            "local_candidate_type", "remote_candidate_type", "protocol", "setup_ms", "measure_ms",
            "error_code", "error_message", "on_complete_rtt_ms", "pair_started_ms", "pair_completed_ms",
            "side_reported_ms", "received_at"]


def csv_rows(snap: dict, pairs: list[dict]) -> list[dict]:
    rows = []
    for p in pairs:
        c = p["cell"]
        for me in (c["a"], c["b"]):
            got = p["by_side"][me]
            base = {"run_id": snap["run_id"], "probe_session_id": c["probe_session_id"], "subject": me,
                    "peer": c["b"] if me == c["a"] else c["a"], "pair_a": c["a"], "pair_b": c["b"],
                    "pair_state": c["state"], "results_from_side": len(got), "on_complete_rtt_ms": c["rtt_ms"],
                    "pair_started_ms": c["started_ms"], "pair_completed_ms": c["completed_ms"],
                    "side_reported_ms": (c["sides"].get(me) or {}).get("ms")}
            for entry in got or [None]:
                row = dict(base)
                if entry is None:
                    row.update(success="", error_code="no_probe_result")
                else:
                    pl = entry["payload"] if isinstance(entry["payload"], dict) else {}
                    rtt = pl.get("rtt") or {}
                    ci = rtt.get("ci95_ms") if isinstance(rtt.get("ci95_ms"), list) else [None, None]
                    conn = pl.get("connection") or {}
                    err = pl.get("error") or {}
                    row.update(success=pl.get("success"), rtt_ms=pl.get("rtt_ms"), ci95_low=ci[0], ci95_high=ci[1],
                               source=rtt.get("source"), median_ms=rtt.get("median_ms"), min_ms=rtt.get("min_ms"),
                               max_ms=rtt.get("max_ms"), jitter_ms=rtt.get("jitter_ms"), samples=rtt.get("samples"),
                               sent=rtt.get("sent"), lost=rtt.get("lost"), chained=rtt.get("chained"),
                               transport_ms=rtt.get("transport_ms"), stats_rtt_ms=pl.get("stats_rtt_ms"),
                               connection_type=conn.get("type"), local_candidate_type=conn.get("local_candidate_type"),
                               remote_candidate_type=conn.get("remote_candidate_type"), protocol=conn.get("protocol"),
                               setup_ms=pl.get("setup_ms"), measure_ms=pl.get("measure_ms"),
                               error_code=err.get("code"), error_message=err.get("message"),
                               received_at=entry.get("t"))
                rows.append(row)
    return rows


def write_outputs(args, snap: dict, pairs: list[dict], page_results: dict | None) -> None:
    if args.json:
        rows = csv_rows(snap, pairs)
        Path(args.json).write_text(json.dumps({
            "run": {k: v for k, v in snap.items() if k != "cells"},
            "rows": [dict(r, payload=next((e["payload"] for e in p["by_side"][r["subject"]]), None))
                     for p in pairs for r in rows if r["probe_session_id"] == p["cell"]["probe_session_id"]
                     and r["subject"] in p["by_side"]],
            "pairs": [{"cell": {k: v for k, v in p["cell"].items() if k != "sides"}, "probe_results": p["received"]}
                      for p in pairs],
            "page_results": page_results,
        }, indent=2))
        say(f"every result written to {args.json}")
    if args.csv:
        with open(args.csv, "w", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=CSV_COLS, extrasaction="ignore")
            w.writeheader()
            w.writerows(csv_rows(snap, pairs))
        say(f"one row per probe and side written to {args.csv}")


# --------------------------------------------------------------------------- modes

def start(args):
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        sys.exit("playwright is not installed: python3 -m venv .venv && .venv/bin/pip install -r server/requirements.txt")
    if not Path(CHROMIUM).exists():
        sys.exit(f"{CHROMIUM} not found: apt-get install -y chromium")
    demo.ensure_built(args.build)
    return sync_playwright


def run_cli(args) -> int:
    sync_playwright = start(args)
    workdir = Path(tempfile.mkdtemp(prefix="p2p-probe-room-"))
    server = Server(args.port or demo.free_port(), workdir / "server.log")
    browsers = None
    t0 = time.monotonic()
    try:
        server.start()
        say(f"server: {server.base}/  (server/app.py, ProbeCoordinator from multi-user-gymnasium 0.1.3)")
        with sync_playwright() as pw:
            try:
                browsers = Browsers(pw, args.browsers)
                peers = open_room(browsers, server, args.subjects)
                say(f"room of {len(peers)}: " + ", ".join(f"{p.subject} (chromium {p.process})" for p in peers)
                    + "; the demo page, iceServers []")
                npairs = len(peers) * (len(peers) - 1) // 2
                if args.warmup:
                    w = warm_up(server, args.subjects)
                    say(f"warm-up: one uncounted probe per page ({len(w)} disjoint pair(s) at once): "
                        + ", ".join(f2(x.get("rtt_ms")) for x in w) + " ms")
                say(f"probing all {npairs} pairs: POST /api/room/probe_all, at most {args.per_peer} per participant\n")
                snap = run_room(server, args.subjects, args.per_peer, args.timeout)
                pairs = collect(server, snap)
                page_results = {p.subject: p.results() for p in peers}
                page_errors = [f"{p.subject}: {e}" for p in peers for e in p.errors]
            finally:
                if browsers is not None:
                    browsers.close()
        say(report(snap, pairs, time.monotonic() - t0))
        pids = {p["cell"]["probe_session_id"] for p in pairs}
        calls = {s: sum(1 for r in res if isinstance(r, dict) and r.get("probe_session_id") in pids)
                 for s, res in page_results.items()}
        say("onResult calls per page for this run: " + ", ".join(f"{s} {n}" for s, n in calls.items())
            + f" (expected {len(args.subjects) - 1} each)")
        if page_errors:
            say("page errors:\n  " + "\n  ".join(page_errors[:20]))
        write_outputs(args, snap, pairs, page_results)
        return 0 if pairs and all(pair_ok(p) for p in pairs) else 1
    except KeyboardInterrupt:
        say("\ninterrupted")
        return 130
    except Exception as e:
        say(f"\nroom FAILED: {e}")
        tail = server.log_tail()
        if tail:
            say(tail)
        return 2
    finally:
        server.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def run_serve(args) -> int:
    sync_playwright = start(args)
    port = args.port or 8000
    if demo.port_in_use(port):
        sys.exit(f"port {port} is already in use on 127.0.0.1 (choose another with --port)")
    workdir = Path(tempfile.mkdtemp(prefix="p2p-probe-room-"))
    server = Server(port, workdir / "server.log")
    browsers = None
    try:
        server.start()
        say(f"server: {server.base}/  (its log: {server.log_path}, removed on exit)")
        with sync_playwright() as pw:
            try:
                browsers = Browsers(pw, args.browsers)
                open_room(browsers, server, args.subjects)
                if args.warmup:
                    warm_up(server, args.subjects)
                say(f"\nroom of {len(args.subjects)} headless peers connected: {', '.join(args.subjects)}\n"
                    f"  live room page:  {server.base}/room   (heatmap, presence, 'Re-probe room')\n"
                    f"  join it yourself: {server.base}/room?subject=you  or  {server.base}/?subject=you\n"
                    f"  probing the room once now; Ctrl-C to stop.\n")
                snap = run_room(server, args.subjects, args.per_peer, args.timeout)
                say(report(snap, collect(server, snap)))
                say("\nstill serving; Ctrl-C to stop.")
                while server.proc.poll() is None:
                    time.sleep(0.5)
                say(f"server exited with {server.proc.returncode}")
                return 1
            finally:
                if browsers is not None:
                    browsers.close()
    except KeyboardInterrupt:
        say("\nstopping")
        return 0
    except Exception as e:
        say(f"\nroom FAILED: {e}")
        tail = server.log_tail()
        if tail:
            say(tail)
        return 2
    finally:
        server.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def main(argv=None) -> int:
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)
    ap = argparse.ArgumentParser(description="Probe every pair of a room of headless browsers with p2p-probe.",
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    ap.add_argument("--room", type=int, nargs="?", const=6, default=6, metavar="N",
                    help="peers in the room, 2..8 (default 6)")
    ap.add_argument("--per-peer", type=int, default=DEFAULT_K, metavar="K",
                    help=f"at most K probes in flight per participant (default {DEFAULT_K})")
    ap.add_argument("--browsers", type=int, default=2, help="Chromium processes to spread the peers over (default 2)")
    ap.add_argument("--subjects", default=None, help="N comma-separated subject ids (default alice,bob,carol,...)")
    ap.add_argument("--timeout", type=float, default=20.0, help="seconds a pair may take (default 20)")
    ap.add_argument("--warmup", type=int, choices=(0, 1), default=1,
                    help="1 (default): one uncounted probe per page before the room run; 0: none")
    ap.add_argument("--json", metavar="PATH", help="write every result (one row per probe and side) as JSON")
    ap.add_argument("--csv", metavar="PATH", help="write one CSV row per probe and side")
    ap.add_argument("--serve", action="store_true", help="keep the server up with the live room page, until Ctrl-C")
    ap.add_argument("--port", type=int, default=None, help="server port (default: free port; 8000 with --serve)")
    ap.add_argument("--build", action="store_true", help="rebuild www/dist even if it looks up to date")
    args = ap.parse_args(argv)
    if not 2 <= args.room <= 8:
        ap.error("--room N needs 2 <= N <= 8")
    if args.per_peer < 1:
        ap.error("--per-peer must be >= 1")
    subjects = [s.strip() for s in args.subjects.split(",") if s.strip()] if args.subjects else NAMES[:args.room]
    if len(subjects) != args.room or len(set(subjects)) != len(subjects):
        ap.error(f"--subjects needs {args.room} different ids")
    args.subjects = subjects
    args.browsers = max(2, min(args.browsers, args.room))
    return run_serve(args) if args.serve else run_cli(args)


if __name__ == "__main__":
    if VENV_PY.exists() and Path(sys.prefix).resolve() != (REPO / ".venv").resolve():
        os.execv(str(VENV_PY), [str(VENV_PY), __file__, *sys.argv[1:]])
    sys.exit(main())
