"""The real probe server and two Chromium processes on either side of a delay link.

Used by tests/e2e/test_accuracy.py and bench/accuracy.py (no pytest import here).

    with LinkRig("pacc1", log_dir=Path("...")) as rig:          # needs root
        truth = rig.set_link(25, 25)                              # reconfigure + UDP truth
        a, b = rig.pair("ours", pings=20)                         # one peer page per namespace
        probe = rig.probe(a, b)                                   # ProbeRun: on_complete + both payloads

Topology (tests/netem/README.md):

    NAME-a: 10.77.0.1                                   NAME-b: 10.77.0.2
      server/app.py on 127.0.0.1:PORT (unmodified)        Chromium B -> http://10.77.0.1:PORT
      tcp_proxy.py: 10.77.0.1:PORT -> 127.0.0.1:PORT
                    unix:/run/...ctl.sock -> same  <- this process (root ns): HTTP control API
      Chromium A -> http://127.0.0.1:PORT

Both Chromium processes are launched by Playwright (root namespace) through a wrapper
`exec ip netns exec NAME-x /usr/bin/chromium "$@"`. They gather host candidates on their TUN
only (no --allow-loopback-in-peer-connection), iceServers [] (peer.html drops every server):
the probe's peer-to-peer traffic crosses the link, and so does B's Socket.IO signaling.
The link is reconfigured in place between link settings (Link.reconfigure), so the server,
the browsers and their sockets live for the whole run.
"""
from __future__ import annotations

import http.client
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import uuid
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
NETEM = REPO / "tests" / "netem"
sys.path.insert(0, str(NETEM))

from link import Link  # noqa: E402
from browser_pair import CHROMIUM, CHROMIUM_ARGS, ns_wrapper  # noqa: E402

UDP_ECHO = NETEM / "udp_echo.py"
TCP_PROXY = NETEM / "tcp_proxy.py"
SERVER_PORT = 8765  # the namespaces are fresh: nothing else listens there


class UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float):
        super().__init__("localhost", timeout=timeout)
        self.unix_path = path

    def connect(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(self.timeout)
        s.connect(self.unix_path)
        self.sock = s


def median(xs):
    return statistics.median(xs) if xs else None


def p90(xs):
    if not xs:
        return None
    if len(xs) == 1:
        return xs[0]
    return statistics.quantiles(xs, n=10, method="inclusive")[8]


@dataclass(eq=False)
class LinkPeer:
    side: str
    kind: str
    subject: str
    page: object
    console: list = field(default_factory=list)

    def on_console(self, msg):
        self.console.append("[%s] %s" % (msg.type, msg.text))

    def state(self) -> dict:
        return self.page.evaluate("""() => { const P = window.__probe;
            return {results: P.results, emitted: P.emitted, errors: P.errors, pcConfigs: P.pcConfigs}; }""")


@dataclass
class ProbeRun:
    """One create_probe(): what on_complete got and every probe_result payload (by subject)."""
    result: dict
    payloads: dict          # subject -> [payload, ...]
    wall_s: float

    @property
    def ok(self) -> bool:
        return bool(self.result.get("completed")) and isinstance(self.result.get("rtt_ms"), (int, float))


class LinkRig:
    def __init__(self, name: str, log_dir: Path, delay_ab=25.0, delay_ba=25.0,
                 truth_count: int = 150, playwright=None):
        """playwright: a running sync Playwright to launch the browsers with (pytest: the
        session fixture of conftest.py; only one sync Playwright can live in a thread);
        None: start and stop one of our own."""
        self.external_pw = playwright
        self.name = name
        self.log_dir = Path(log_dir)
        self.initial = (delay_ab, delay_ba)
        self.truth_count = truth_count
        self.link = None
        self.procs: list[subprocess.Popen] = []
        self.tmp = None
        self.pw = None
        self.browsers = {}
        self.pages = {}      # side -> page (one reusable tab per side per kind)
        self.current = {}    # (side, kind) -> LinkPeer
        self.port = SERVER_PORT
        self.base = {}
        self.ctl = None

    # ------------------------------------------------------------------ lifecycle
    def __enter__(self):
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc):
        self.stop()
        return False

    def start(self):
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.tmp = tempfile.mkdtemp(prefix="p2p-linkrig-")
        os.chmod(self.tmp, 0o700)
        self.link = Link(self.name, *self.initial).up()
        self.server_log = self.log_dir / ("server-%s.log" % self.name)
        log = open(self.server_log, "w")
        self.procs.append(subprocess.Popen(
            self.link.exec_prefix("a") + [sys.executable, str(REPO / "server" / "app.py"),
                                          "--port", str(self.port), "--log-level", "INFO"],
            cwd=REPO, stdout=log, stderr=subprocess.STDOUT))
        log.close()
        self.ctl = os.path.join(self.tmp, "ctl.sock")
        proxy = subprocess.Popen(
            self.link.exec_prefix("a") + [sys.executable, str(TCP_PROXY),
                                          "--to", "tcp:127.0.0.1:%d" % self.port,
                                          "--listen", "tcp:%s:%d" % (self.link.addr("a"), self.port),
                                          "--listen", "unix:" + self.ctl],
            stdout=subprocess.PIPE, text=True)
        self.procs.append(proxy)
        if proxy.stdout.readline().strip() != "listening":
            raise RuntimeError("tcp_proxy.py did not start")
        deadline = time.monotonic() + 30
        while True:
            if self.procs[0].poll() is not None:
                raise RuntimeError("server exited (%s):\n%s" % (self.procs[0].returncode,
                                                                self.server_log.read_text()[-3000:]))
            try:
                self.get("/api/subjects", timeout=2)
                break
            except (OSError, http.client.HTTPException, ValueError):
                if time.monotonic() > deadline:
                    raise RuntimeError("server did not come up; see %s" % self.server_log)
                time.sleep(0.1)
        self.base = {"a": "http://127.0.0.1:%d" % self.port,
                     "b": "http://%s:%d" % (self.link.addr("a"), self.port)}
        if self.external_pw is not None:
            self.pw = self.external_pw
        else:
            from playwright.sync_api import sync_playwright
            self.pw = sync_playwright().start()
        for side in ("a", "b"):
            args = CHROMIUM_ARGS + ["--unsafely-treat-insecure-origin-as-secure=" + self.base["b"]]
            self.browsers[side] = self.pw.chromium.launch(
                executable_path=ns_wrapper(self.tmp, self.link.ns(side), CHROMIUM), headless=True,
                args=args, chromium_sandbox=False)
            self.pages[side] = {}

    def stop(self):
        for b in self.browsers.values():
            try:
                b.close()
            except Exception:
                pass
        self.browsers = {}
        if self.pw is not None and self.external_pw is None:
            try:
                self.pw.stop()
            except Exception:
                pass
        self.pw = None
        for p in reversed(self.procs):
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(5)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
            if p.stdout:
                p.stdout.close()
        self.procs = []
        if self.link is not None:
            self.link.down()
            self.link = None
        if self.tmp:
            shutil.rmtree(self.tmp, ignore_errors=True)
            self.tmp = None

    # ------------------------------------------------------------------ server API
    def req(self, method: str, path: str, body=None, timeout: float = 30):
        conn = UnixHTTPConnection(self.ctl, timeout)
        try:
            data = json.dumps(body).encode() if body is not None else None
            conn.request(method, path, body=data, headers={"Content-Type": "application/json"})
            r = conn.getresponse()
            out = r.read()
            if r.status != 200:
                raise RuntimeError("%s %s -> %d %s" % (method, path, r.status, out[:200]))
            return json.loads(out)
        finally:
            conn.close()

    def get(self, path: str, timeout: float = 30):
        return self.req("GET", path, timeout=timeout)

    def subjects(self):
        return self.get("/api/subjects")["subjects"]

    # ------------------------------------------------------------------ link
    def set_link(self, delay_ab, delay_ba, jitter=0.0, loss=0.0, seed=None, allow_reorder=False) -> dict:
        """Reconfigure the link in place and return udp_echo's ground truth across it."""
        self.link.reconfigure(delay_ab, delay_ba, jitter=jitter, loss=loss, seed=seed,
                              allow_reorder=allow_reorder)
        time.sleep(0.3)  # let packets queued under the old setting drain
        return self.udp_truth()

    def udp_truth(self, count=None, rt=True) -> dict:
        """Median etc. of `count` UDP echoes a -> b -> a (both ends SCHED_FIFO unless rt=False)."""
        count = count or self.truth_count
        no_rt = [] if rt else ["--no-rt"]
        srv = subprocess.Popen(self.link.exec_prefix("b") + [sys.executable, str(UDP_ECHO), "serve",
                                                             "--bind", self.link.addr("b")] + no_rt,
                               stdout=subprocess.PIPE, text=True)
        try:
            if "serving" not in srv.stdout.readline():
                raise RuntimeError("udp_echo serve did not start")
            out = subprocess.run(self.link.exec_prefix("a") + [
                sys.executable, str(UDP_ECHO), "measure", "--target", self.link.addr("b"),
                "--count", str(count), "--no-samples"] + no_rt,
                check=True, stdout=subprocess.PIPE, text=True, timeout=count * 0.02 + 30)
            return json.loads(out.stdout)
        finally:
            srv.terminate()
            srv.wait(timeout=5)
            srv.stdout.close()

    # ------------------------------------------------------------------ peers
    def open_peer(self, side: str, kind: str, **opts) -> LinkPeer:
        """(Re)load the side's tab for `kind` as a fresh subject with the given page options."""
        subject = "%s-%s-%s" % (kind, side, uuid.uuid4().hex[:6])
        page = self.pages[side].get(kind)
        if page is None:
            page = self.browsers[side].new_page()
            self.pages[side][kind] = page
        old = self.current.get((side, kind))
        if old is not None:
            page.remove_listener("console", old.on_console)
        peer = LinkPeer(side, kind, subject, page)
        page.on("console", peer.on_console)
        q = {"client": kind, "subject": subject}
        q.update({k: (json.dumps(v) if isinstance(v, (list, dict)) else str(v)) for k, v in opts.items()})
        page.goto("%s/test/peer.html?%s" % (self.base[side], urllib.parse.urlencode(q)))
        page.wait_for_function("() => window.__probe && (window.__probe.ready || window.__probe.fatal)",
                               timeout=30000)
        fatal = page.evaluate("() => window.__probe.fatal")
        if fatal:
            raise RuntimeError("%s peer on side %s failed to start: %s" % (kind, side, fatal))
        deadline = time.monotonic() + 15
        while subject not in self.subjects():
            if time.monotonic() > deadline:
                raise RuntimeError("subject %s never connected to the server" % subject)
            time.sleep(0.05)
        self.current[(side, kind)] = peer
        return peer

    def pair(self, kind: str, **opts):
        return self.open_peer("a", kind, **opts), self.open_peer("b", kind, **opts)

    def probe(self, a: LinkPeer, b: LinkPeer, timeout: float = 20.0, settle: float = 0.2) -> ProbeRun:
        """create_probe(a, b) and wait for on_complete, then for one probe_result from each
        client (up to 5 s more: the slower side may still be measuring)."""
        t0 = time.monotonic()
        res = self.req("POST", "/api/probe", {"a": a.subject, "b": b.subject, "wait": True,
                                              "timeout": timeout}, timeout=timeout + 10)
        pid = res["probe_session_id"]
        q = "/api/probe_results?probe_session_id=" + urllib.parse.quote(pid)
        deadline = time.monotonic() + 5
        while True:
            records = self.get(q)
            froms = {r["from_subject_id"] for r in records}
            if {a.subject, b.subject} <= froms or time.monotonic() > deadline:
                break
            time.sleep(0.02)
        time.sleep(settle)
        records = self.get(q)
        payloads = {a.subject: [], b.subject: []}
        for r in records:
            payloads.setdefault(r["from_subject_id"], []).append(r["payload"])
        return ProbeRun(res, payloads, time.monotonic() - t0)


def summarize(kind: str, runs: list[ProbeRun]) -> dict:
    """Numbers over a series of probes of one client kind (both sides' payloads)."""
    payloads = [p for r in runs for ps in r.payloads.values() for p in ps]
    ok_payloads = [p for p in payloads if p.get("success") and isinstance(p.get("rtt_ms"), (int, float))]
    rtts = [p["rtt_ms"] for p in ok_payloads]
    out = {
        "kind": kind,
        "n": len(runs),
        "failed": sum(1 for r in runs if not r.ok),
        "payloads": len(payloads),
        "payloads_failed": len(payloads) - len(ok_payloads),
        "on_complete_median_ms": median([r.result["rtt_ms"] for r in runs if r.ok]),
        "rtt_median_ms": median(rtts),
        "rtt_p90_ms": p90(rtts),
        "rtt_min_ms": min(rtts) if rtts else None,
        "rtt_max_ms": max(rtts) if rtts else None,
        "rtt_ms": rtts,
        "time_to_result_median_ms": median([r.result["elapsed_ms"] for r in runs if r.ok]),
    }
    if kind != "legacy":
        series = [p["rtt"] for p in ok_payloads if isinstance(p.get("rtt"), dict)]
        out.update({
            "stats_rtt_median_ms": median([p["stats_rtt_ms"] for p in ok_payloads
                                           if isinstance(p.get("stats_rtt_ms"), (int, float))]),
            "ping_median_ms": median([s["median_ms"] for s in series if s.get("median_ms") is not None]),
            "ping_min_median_ms": median([s["min_ms"] for s in series if s.get("min_ms") is not None]),
            "jitter_median_ms": median([s["jitter_ms"] for s in series if s.get("jitter_ms") is not None]),
            "pings_sent": sum(s.get("sent", 0) for s in series),
            "pings_lost": sum(s.get("lost", 0) for s in series),
            "connection_types": sorted({(p.get("connection") or {}).get("type") for p in ok_payloads},
                                       key=str),
            "errors": [p.get("error") for p in payloads if p.get("error")],
            "per_payload": [{k: p.get(k) for k in ("success", "rtt_ms", "stats_rtt_ms", "setup_ms",
                                                   "measure_ms", "error")}
                            | {"ping_" + k: (p.get("rtt") or {}).get(k)
                               for k in ("median_ms", "min_ms", "max_ms", "samples", "lost")}
                            for p in payloads],
        })
    return out


# The link settings of issue 5 (the jitter/loss link runs 20 pings per probe, 500 ms ping timeout).
# The jitter link lets packets overtake each other (allow_reorder): every packet then draws its
# delay independently, so the UDP echo truth (sparse echoes 20 ms apart) holds for the probe's
# packets too. With the forwarder's default FIFO per direction, a packet sent in a burst (ICE
# checks amid DTLS/SCTP set-up, 2-ms-spaced pings) waits behind earlier packets that drew a
# longer delay, and sees a higher RTT than the sparse echoes: measured +3..+5 ms on the
# median STUN RTT, +10..+15 ms on the ping median (see bench/accuracy.py --fifo-jitter).
LINKS = [
    {"id": "25/25", "slug": "25-25", "delay_ab": 25, "delay_ba": 25, "jitter": 0, "loss": 0,
     "allow_reorder": False, "opts": {}},
    {"id": "10/90", "slug": "10-90", "delay_ab": 10, "delay_ba": 90, "jitter": 0, "loss": 0,
     "allow_reorder": False, "opts": {}},
    {"id": "25/25 ±5ms 5%", "slug": "25-25-jitter5-loss5", "delay_ab": 25, "delay_ba": 25,
     "jitter": 5, "loss": 5, "allow_reorder": True, "opts": {"pings": 20, "pingTimeoutMs": 500}},
]
