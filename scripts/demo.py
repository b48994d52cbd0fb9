#!/usr/bin/env python3
"""p2p-probe demo: measure peer-to-peer RTT between two real browsers.

    .venv/bin/python scripts/demo.py              # 20 probes, prints a table, exits
    .venv/bin/python scripts/demo.py --n 50 --json results.json
    .venv/bin/python scripts/demo.py --serve      # http://127.0.0.1:8000/ until Ctrl-C
    .venv/bin/python scripts/demo.py --room 6     # every pair of 6 peers: scripts/room.py

Default mode starts the server (server/app.py: the unmodified ProbeCoordinator of
multi-user-gymnasium 0.1.3) on a free 127.0.0.1 port, opens the demo page (www/dist,
built from the packed npm package) in two SEPARATE headless Chromium processes as two
subjects, runs N probes through ``POST /api/probe`` (the matchmaker's create_probe),
collects each side's full probe_result, prints one row per probe and a summary, and
shuts everything down. Exit status 0 when every probe succeeded, 1 otherwise.

``--serve`` only starts the server on a fixed port (default 8000) and prints the URL:
open it in two tabs, pick the other subject, press Probe (or tick "auto").

ICE servers are always ``[]`` (host candidates on loopback); nothing leaves the machine.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
VENV_PY = REPO / ".venv" / "bin" / "python"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--allow-loopback-in-peer-connection", "--use-fake-ui-for-media-stream",
    "--disable-features=WebRtcHideLocalIpsWithMdns",
]


def say(*a) -> None:
    print(*a, flush=True)


# --------------------------------------------------------------------------- build

def ensure_built(force: bool) -> None:
    """Build www/dist from pkg/ when it is missing or older than pkg/ or www sources."""
    pkg_js = REPO / "pkg" / "p2p_probe.js"
    index = REPO / "www" / "dist" / "index.html"
    room = REPO / "www" / "dist" / "room.html"
    if not pkg_js.exists():
        sys.exit("pkg/ is not built (pkg/p2p_probe.js missing): run  bash scripts/build_pkg.sh  first")
    sources = [p for d in ("pkg", "www/src") for p in (REPO / d).rglob("*") if p.is_file()]
    sources += [REPO / "www" / "index.html", REPO / "www" / "room.html", REPO / "www" / "build.mjs",
                REPO / "www" / "package.json"]
    newest = max(p.stat().st_mtime for p in sources if p.exists())
    if not force and index.exists() and room.exists() and min(index.stat().st_mtime, room.stat().st_mtime) >= newest:
        return
    say("building the demo page: node www/build.mjs")
    r = subprocess.run(["node", str(REPO / "www" / "build.mjs")], cwd=REPO,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if r.returncode != 0:
        say(r.stdout)
        sys.exit("www build failed (output above)")


# --------------------------------------------------------------------------- server

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_in_use(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


class Server:
    """server/app.py in its own process group, killed as a group on stop()."""

    def __init__(self, port: int, log_path: Path | None):
        self.port = port
        self.base = f"http://127.0.0.1:{port}"
        self.log_path = log_path
        self.proc: subprocess.Popen | None = None
        self._log = None

    def start(self, timeout: float = 30.0) -> None:
        python = str(VENV_PY if VENV_PY.exists() else sys.executable)
        out = None
        if self.log_path is not None:
            self._log = open(self.log_path, "wb")
            out = self._log
        self.proc = subprocess.Popen(
            [python, str(REPO / "server" / "app.py"), "--port", str(self.port)],
            cwd=REPO, stdout=out, stderr=subprocess.STDOUT if out else None,
            stdin=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}\n{self.log_tail()}")
            try:
                self.get("/api/subjects", timeout=1)
                return
            except (OSError, urllib.error.URLError):
                time.sleep(0.2)
        raise RuntimeError(f"server did not answer on {self.base} within {timeout:.0f} s\n{self.log_tail()}")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(5)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                try:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.proc.wait(5)
        if self._log:
            self._log.close()
            self._log = None

    def log_tail(self, n: int = 30) -> str:
        if self.log_path is None or not self.log_path.exists():
            return ""
        lines = self.log_path.read_text(errors="replace").splitlines()
        return "server log (tail):\n  " + "\n  ".join(lines[-n:])

    def get(self, path: str, timeout: float = 10):
        with urllib.request.urlopen(self.base + path, timeout=timeout) as r:
            return json.loads(r.read())

    def post(self, path: str, body: dict, timeout: float = 30):
        req = urllib.request.Request(self.base + path, data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"}, method="POST")
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return json.loads(r.read())


# --------------------------------------------------------------------------- browsers

class Peer:
    """One subject: the demo page in its own headless Chromium process."""

    def __init__(self, pw, subject: str, base_url: str, pings: int | None):
        self.subject = subject
        self.profile = Path(tempfile.mkdtemp(prefix=f"p2p-probe-{subject}-"))
        self.errors: list[str] = []
        self.ctx = pw.chromium.launch_persistent_context(
            str(self.profile), executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS,
            viewport={"width": 1400, "height": 1000})
        self.page = self.ctx.pages[0] if self.ctx.pages else self.ctx.new_page()
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(f"console: {m.text}"))
        self.page.on("pageerror", lambda e: self.errors.append(f"pageerror: {e}"))
        q = f"?subject={subject}" + (f"&pings={pings}" if pings else "")
        self.page.goto(base_url + "/" + q)

    def wait_ready(self, timeout_s: float) -> None:
        try:
            self.page.wait_for_function("window.__ready === true || window.__errors.length > 0",
                                        timeout=timeout_s * 1000)
        except Exception as e:
            raise RuntimeError(f"{self.subject}: page not ready: {e}\n" + "\n".join(self.errors)) from None
        errs = self.page.evaluate("window.__errors")
        if errs:
            raise RuntimeError(f"{self.subject}: page failed to start:\n" + "\n".join(errs))

    def results(self) -> list[dict]:
        return self.page.evaluate("window.__results")

    def close(self) -> None:
        try:
            self.ctx.close()
        except Exception:
            pass
        kill_processes_using(self.profile)
        shutil.rmtree(self.profile, ignore_errors=True)


def kill_processes_using(profile: Path) -> None:
    """Backstop: end any Chromium process of ours still holding this profile dir (by pid)."""
    needle = str(profile).encode()
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            if needle in (d / "cmdline").read_bytes():
                os.kill(int(d.name), signal.SIGKILL)
        except (OSError, ProcessLookupError):
            pass


# --------------------------------------------------------------------------- stats / table

def num(v):
    return v if isinstance(v, (int, float)) and not isinstance(v, bool) else None


def quantile(values, q):
    v = sorted(x for x in values if num(x) is not None)
    if not v:
        return None
    pos = (len(v) - 1) * q
    i = int(pos)
    f = pos - i
    return v[i] + f * (v[i + 1] - v[i]) if i + 1 < len(v) else v[i]


def f(v, d=2, width=0):
    s = f"{v:.{d}f}" if num(v) is not None else "-"
    return s.rjust(width) if width else s


def conn_str(c) -> str:
    if not isinstance(c, dict):
        return "-"
    s = str(c.get("type") or "?")
    lt, rt, proto = c.get("local_candidate_type"), c.get("remote_candidate_type"), c.get("protocol")
    if lt or rt:
        s += f" {lt or '?'}>{rt or '?'}" + (f"/{proto}" if proto else "")
    return s


COLS = [  # header, width, getter(row) -> str
    ("#", 3, lambda r: str(r["i"])),
    ("rtt_ms", 7, lambda r: f(r["server"].get("rtt_ms"))),
    ("ping_med", 8, lambda r: f(r["rtt"].get("median_ms"))),
    ("min", 6, lambda r: f(r["rtt"].get("min_ms"))),
    ("max", 6, lambda r: f(r["rtt"].get("max_ms"))),
    ("jitter", 6, lambda r: f(r["rtt"].get("jitter_ms"))),
    ("loss", 5, lambda r: (f"{r['rtt'].get('lost', 0)}/{r['rtt']['sent']}" if num(r["rtt"].get("sent")) is not None else "-")),
    ("stats_rtt", 9, lambda r: f(r["first"].get("stats_rtt_ms"))),
    ("connection", 22, lambda r: conn_str(r["first"].get("connection"))),
    ("setup_ms", 8, lambda r: f(r["first"].get("setup_ms"), 0)),
    ("measure_ms", 10, lambda r: f(r["first"].get("measure_ms"), 0)),
    ("elapsed_ms", 10, lambda r: f(r["server"].get("elapsed_ms"), 0)),
    ("from", 6, lambda r: r["from"] or "-"),  # width set from the subject ids in run_demo
    ("other_rtt", 9, lambda r: f(r["second"].get("rtt_ms")) if r["second"] else "-"),
    ("status", 0, lambda r: r["status"]),
]


def header() -> str:
    return "  ".join(h.rjust(w) if w else h for h, w, _ in COLS)


def line(row) -> str:
    return "  ".join(g(row).rjust(w) if w else g(row) for _, w, g in COLS)


def make_row(i: int, server: dict, received: list[dict]) -> dict:
    """server: the /api/probe result; received: /api/probe_results entries (arrival order)."""
    first = received[0]["payload"] if received else {}
    second = received[1]["payload"] if len(received) > 1 else None
    ok = bool(server.get("completed")) and num(server.get("rtt_ms")) is not None
    if ok:
        status = "ok"
    elif not server.get("completed"):
        status = "timeout (no on_complete)"
    else:
        err = (first or {}).get("error") or {}
        status = f"failed: {err.get('code', 'rtt null')}" + (f" ({err.get('message')})" if err.get("message") else "")
    return {
        "i": i, "server": server, "first": first or {}, "second": second,
        "rtt": (first or {}).get("rtt") or {}, "ok": ok, "status": status,
        "from": received[0].get("from_subject_id") if received else None,  # whose result the server took
        "received": received,
    }


def summary(rows: list[dict], wall_s: float) -> str:
    ok = [r for r in rows if r["ok"]]
    metrics = [
        ("rtt_ms (server, on_complete)", [r["server"].get("rtt_ms") for r in ok]),
        ("ping median_ms", [r["rtt"].get("median_ms") for r in ok]),
        ("ping jitter_ms", [r["rtt"].get("jitter_ms") for r in ok]),
        ("stats_rtt_ms (getStats)", [r["first"].get("stats_rtt_ms") for r in ok]),
        ("setup_ms (start -> open)", [r["first"].get("setup_ms") for r in ok]),
        ("measure_ms", [r["first"].get("measure_ms") for r in ok]),
        ("elapsed_ms (create -> result)", [r["server"].get("elapsed_ms") for r in ok]),
    ]
    out = ["", f"summary over {len(ok)} successful probe(s) of {len(rows)}   (wall time {wall_s:.1f} s)",
           f"  {'metric':<31}{'n':>4}{'median':>10}{'p90':>10}{'min':>10}{'max':>10}"]
    for name, vals in metrics:
        vals = [v for v in vals if num(v) is not None]
        if not vals:
            out.append(f"  {name:<31}{0:>4}{'-':>10}{'-':>10}{'-':>10}{'-':>10}")
            continue
        out.append(f"  {name:<31}{len(vals):>4}{f(quantile(vals, .5), 2, 10)}{f(quantile(vals, .9), 2, 10)}"
                   f"{f(min(vals), 2, 10)}{f(max(vals), 2, 10)}")
    sent = sum(r["rtt"].get("sent") or 0 for r in ok)
    lost = sum(r["rtt"].get("lost") or 0 for r in ok)
    out.append(f"  pings: {sent} sent, {lost} lost" + (f" ({100.0 * lost / sent:.1f} %)" if sent else ""))
    conns = Counter(conn_str(r["first"].get("connection")) for r in ok)
    out.append("  connection: " + (", ".join(f"{k} x{v}" for k, v in conns.most_common()) or "-"))
    both = sum(1 for r in rows if len(r["received"]) >= 2)
    out.append(f"  results received from both sides: {both}/{len(rows)}")
    fails = [r for r in rows if not r["ok"]]
    out.append(f"  failures: {len(fails)}" + ("" if not fails else "  (" + "; ".join(
        f"#{r['i']}: {r['status']}" for r in fails[:10]) + (" ..." if len(fails) > 10 else "") + ")"))
    return "\n".join(out)


# --------------------------------------------------------------------------- modes

def run_demo(args) -> int:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        sys.exit("playwright is not installed: python3 -m venv .venv && .venv/bin/pip install -r server/requirements.txt")
    if not Path(CHROMIUM).exists():
        sys.exit(f"{CHROMIUM} not found: apt-get install -y chromium")

    ensure_built(args.build)
    port = args.port or free_port()
    workdir = Path(tempfile.mkdtemp(prefix="p2p-probe-demo-"))
    server = Server(port, workdir / "server.log")
    sa, sb = args.subjects
    i_from = next(i for i, c in enumerate(COLS) if c[0] == "from")
    COLS[i_from] = ("from", max(4, len(sa), len(sb)), COLS[i_from][2])
    peers: list[Peer] = []
    rows: list[dict] = []
    t_start = time.monotonic()
    try:
        server.start()
        say(f"server: {server.base}/  (server/app.py, ProbeCoordinator from multi-user-gymnasium 0.1.3)")
        with sync_playwright() as pw:
            try:
                for s in (sa, sb):
                    peers.append(Peer(pw, s, server.base, args.pings))
                for p in peers:
                    p.wait_ready(30)
                deadline = time.monotonic() + 15
                while not {sa, sb} <= set(server.get("/api/subjects")["subjects"]):
                    if time.monotonic() > deadline:
                        raise RuntimeError(f"subjects not connected: {server.get('/api/subjects')}")
                    time.sleep(0.1)
                say(f"peers: {sa!r} and {sb!r}, each the demo page in its own headless Chromium process "
                    f"(iceServers: [])")
                say(f"running {args.n} probe(s): POST /api/probe {{a: {sa!r}, b: {sb!r}, wait: true}}\n")
                say(header())
                t_start = time.monotonic()
                for i in range(1, args.n + 1):
                    res = server.post("/api/probe", {"a": sa, "b": sb, "wait": True, "timeout": args.timeout},
                                      timeout=args.timeout + 10)
                    pid = res.get("probe_session_id")
                    # Wait (briefly) for the second side's result too, so the next probe starts clean.
                    received: list[dict] = []
                    deadline = time.monotonic() + (3.0 if res.get("completed") else 0.5)
                    while True:
                        received = server.get(f"/api/probe_results?probe_session_id={pid}")
                        if len(received) >= 2 or time.monotonic() > deadline:
                            break
                        time.sleep(0.05)
                    row = make_row(i, res, received)
                    rows.append(row)
                    say(line(row))
                    if args.gap:
                        time.sleep(args.gap)
                wall = time.monotonic() - t_start
                page_results = {p.subject: p.results() for p in peers}
            finally:
                for p in peers:
                    p.close()
        say(summary(rows, wall))
        pids = {r["server"].get("probe_session_id") for r in rows}
        for s, res in page_results.items():
            mine = [r for r in res if r.get("probe_session_id") in pids]
            say(f"  page {s!r}: onResult called {len(mine)} time(s) for these probes")
        errs = [f"{p.subject}: {e}" for p in peers for e in p.errors]
        if errs:
            say("page errors:\n  " + "\n  ".join(errs[:20]))
        if args.json:
            Path(args.json).write_text(json.dumps({
                "subjects": [sa, sb], "n": args.n, "pings": args.pings,
                "probes": [{"server": r["server"], "probe_results": r["received"]} for r in rows],
                "page_results": page_results,
            }, indent=2))
            say(f"  full results written to {args.json}")
        return 0 if rows and all(r["ok"] for r in rows) else 1
    except KeyboardInterrupt:
        say("\ninterrupted")
        return 130
    except Exception as e:
        say(f"\ndemo FAILED: {e}")
        tail = server.log_tail()
        if tail:
            say(tail)
        return 2
    finally:
        server.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def run_serve(args) -> int:
    ensure_built(args.build)
    port = args.port or 8000
    if port_in_use(port):
        sys.exit(f"port {port} is already in use on 127.0.0.1 (choose another with --port)")
    server = Server(port, None)
    try:
        server.start()
        say(f"\np2p-probe demo server running: {server.base}/\n"
            f"  open it in two tabs, e.g. {server.base}/?subject=alice  and  {server.base}/?subject=bob\n"
            f"  then press 'Probe' (or tick 'auto' in one tab). Ctrl-C to stop.\n")
        while server.proc.poll() is None:
            time.sleep(0.5)
        say(f"server exited with {server.proc.returncode}")
        return 1
    except KeyboardInterrupt:
        say("\nstopping")
        return 0
    finally:
        server.stop()


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if any(a == "--room" or a.startswith("--room=") for a in argv):
        # the room matrix (every pair of N peers): scripts/room.py
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        import room
        return room.main(argv)
    # Ctrl-C and SIGTERM both end the run through the finally blocks (server and
    # browsers are stopped), also when SIGINT was inherited as ignored.
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)
    ap = argparse.ArgumentParser(description="Measure P2P RTT between two headless browsers with p2p-probe.",
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    ap.add_argument("--n", type=int, default=20, help="number of probes (default 20)")
    ap.add_argument("--pings", type=int, default=None, help="pings per probe (page default: 5)")
    ap.add_argument("--subjects", default="alice,bob", help="two subject ids, comma-separated (default alice,bob)")
    ap.add_argument("--timeout", type=float, default=20.0, help="seconds to wait for each probe (default 20)")
    ap.add_argument("--gap", type=float, default=0.0, help="seconds between probes (default 0)")
    ap.add_argument("--json", metavar="PATH", help="write every result object to this JSON file")
    ap.add_argument("--serve", action="store_true", help="only run the server for manual use, until Ctrl-C")
    ap.add_argument("--port", type=int, default=None, help="server port (default: free port; 8000 with --serve)")
    ap.add_argument("--build", action="store_true", help="rebuild www/dist even if it looks up to date")
    args = ap.parse_args(argv)
    subjects = [s.strip() for s in args.subjects.split(",") if s.strip()]
    if len(subjects) != 2 or subjects[0] == subjects[1]:
        ap.error("--subjects needs two different ids")
    args.subjects = subjects
    if args.n < 1:
        ap.error("--n must be >= 1")
    return run_serve(args) if args.serve else run_demo(args)


if __name__ == "__main__":
    # Re-run under the project's venv when started with another interpreter.
    if VENV_PY.exists() and Path(sys.prefix).resolve() != (REPO / ".venv").resolve():
        os.execv(str(VENV_PY), [str(VENV_PY), __file__, *sys.argv[1:]])
    sys.exit(main())
