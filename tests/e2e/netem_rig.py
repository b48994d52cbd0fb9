"""The real probe server and two Chromium processes on either side of a delay link.

Used by tests/e2e/test_accuracy.py and bench/accuracy.py (no pytest import here).

    with LinkRig("pacc1", log_dir=Path("...")) as rig:          # needs root
        truth = rig.set_link(by_slug("jitter10"))                 # reconfigure + UDP truth
        truth = rig.set_link(25, 25, jitter=5, loss=5)            # (the old keyword form)
        a, b = rig.pair("ours")                                   # one peer page per namespace
        probe = rig.probe(a, b)                                   # ProbeRun: on_complete + both payloads
        summarize("ours", [probe, ...], truth)                    # errors vs the truth, CI coverage

The link profiles (delays, jitter, per-direction loss, busy pages, how the truth is taken)
live in tests/netem/profiles.py; LINKS here is its default list.

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
from profiles import ALL, EXTRA, PROFILES, Profile, by_slug, select  # noqa: E402,F401

# The default link profiles (tests/netem/profiles.py), under the rig's old name.
LINKS = PROFILES

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


def median_se(xs):
    """Distribution-free standard error of the median of xs: half the width of the order
    statistics' 95 % interval (ranks n/2 +- 1.96 sqrt(n)/2) over 1.96. None below 10 values."""
    n = len(xs)
    if n < 10:
        return None
    v = sorted(xs)
    k = 1.96 * (n ** 0.5) / 2
    lo = max(0, int(n / 2 - k))
    hi = min(n - 1, int(n / 2 + k + 0.999))
    return (v[hi] - v[lo]) / (2 * 1.96)


def ci95_of(payload):
    """A payload's 95 % interval of its RTT, [low, high] (ms), from `rtt.ci95_ms`; None when
    the client gives none (legacy, or a build without the field)."""
    rtt = payload.get("rtt")
    ci = rtt.get("ci95_ms") if isinstance(rtt, dict) else None
    if isinstance(ci, (list, tuple)) and len(ci) == 2 and all(isinstance(x, (int, float)) for x in ci):
        return [float(ci[0]), float(ci[1])]
    return None


@dataclass(eq=False)
class LinkPeer:
    side: str
    kind: str
    subject: str
    page: object
    console: list = field(default_factory=list)
    busy: float = 0.0

    def busy_state(self):
        """peer.js's busy loop: {target, fraction (share of time blocked so far), blocks} or None."""
        return self.page.evaluate("""() => { const B = window.__probe.busy;
            return B ? {target: B.target, fraction: B.fraction(), blocks: B.blocks} : null; }""")

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
    probe_session_id: str = ""

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
        self.truth_count = truth_count  # the old keyword form of set_link; profiles carry their own
        self.profile = None             # the Profile set_link() applied last
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
    def set_link(self, profile=None, delay_ba=None, jitter=0.0, loss=0.0, seed=None,
                 allow_reorder=False, *, delay_ab=None, loss_ab=None, loss_ba=None, busy=0.0,
                 truth_count=None, truth_interval_ms=None) -> dict:
        """Reconfigure the link in place and return udp_echo's ground truth across it.

        set_link(profile)  - a profiles.Profile or its slug: the profile's shaping, truth
                             interval/count, and its busy fraction for the pages opened next;
        set_link(delay_ab, delay_ba, jitter=, loss=, allow_reorder=, loss_ab=, loss_ba=, busy=)
                           - the old form (an ad-hoc profile; truth: self.truth_count echoes,
                             20 ms apart or 2 x jitter + 5 ms).
        truth_count / truth_interval_ms override the profile's. The pages are not reloaded:
        a new busy fraction applies to the pages opened after this call."""
        if isinstance(profile, str):
            profile = by_slug(profile)
        if not isinstance(profile, Profile):
            dab = float(profile if profile is not None else delay_ab)
            dba = float(delay_ba if delay_ba is not None else dab)
            lab = loss if loss_ab is None else loss_ab
            lba = loss if loss_ba is None else loss_ba
            desc = "%g/%g" % (dab, dba) + (" ±%gms" % jitter if jitter else "") + (
                " %g%%" % lab if lab == lba and lab else
                " %g%%/%g%%" % (lab, lba) if lab or lba else "") + (" reorder" if allow_reorder else "")
            profile = Profile(desc, desc.replace("/", "-").replace(" ", "_"), dab, dba,
                              jitter=float(jitter), loss_ab=float(lab), loss_ba=float(lba),
                              allow_reorder=bool(allow_reorder), busy=float(busy or 0.0),
                              truth_interval_ms=2 * float(jitter) + 5 if jitter else 20.0,
                              truth_count=self.truth_count)
        self.link.reconfigure(profile.delay_ab, profile.delay_ba, jitter=profile.jitter,
                              seed=seed, allow_reorder=profile.allow_reorder,
                              loss_ab=profile.loss_ab, loss_ba=profile.loss_ba)
        self.profile = profile
        time.sleep(0.3)  # let packets queued under the old setting drain
        truth = self.udp_truth(count=truth_count or profile.truth_count,
                               interval_ms=truth_interval_ms or profile.truth_interval_ms)
        truth["profile"] = profile.slug
        truth["se_theory_ms"] = profile.truth_se_ms(truth.get("received"))
        return truth

    def udp_truth(self, count=None, rt=True, interval_ms=20.0) -> dict:
        """Median etc. of `count` UDP echoes a -> b -> a, `interval_ms` apart (both ends
        SCHED_FIFO unless rt=False), plus se_ms (distribution-free standard error of the
        median), interval_ms and held_ab / held_ba (packets the link's order rule held back
        during the measurement: ~0 when the echoes are spaced >= 2 x jitter + 5 ms)."""
        count = count or self.truth_count
        interval_ms = float(interval_ms or 20.0)
        no_rt = [] if rt else ["--no-rt"]
        before = self.link.stats()
        srv = subprocess.Popen(self.link.exec_prefix("b") + [sys.executable, str(UDP_ECHO), "serve",
                                                             "--bind", self.link.addr("b")] + no_rt,
                               stdout=subprocess.PIPE, text=True)
        try:
            if "serving" not in srv.stdout.readline():
                raise RuntimeError("udp_echo serve did not start")
            out = subprocess.run(self.link.exec_prefix("a") + [
                sys.executable, str(UDP_ECHO), "measure", "--target", self.link.addr("b"),
                "--count", str(count), "--interval", repr(interval_ms)] + no_rt,
                check=True, stdout=subprocess.PIPE, text=True,
                timeout=count * interval_ms / 1000 + 30)
            res = json.loads(out.stdout)
        finally:
            srv.terminate()
            srv.wait(timeout=5)
            srv.stdout.close()
        after = self.link.stats()
        samples = res.pop("samples_ms", [])
        se = median_se(samples)
        res.update({"se_ms": None if se is None else round(se, 3), "interval_ms": interval_ms,
                    "held_ab": after.get("held_ab", 0) - before.get("held_ab", 0),
                    "held_ba": after.get("held_ba", 0) - before.get("held_ba", 0)})
        return res

    # ------------------------------------------------------------------ peers
    def open_peer(self, side: str, kind: str, **opts) -> LinkPeer:
        """(Re)load the side's tab for `kind` as a fresh subject with the given page options.

        The current profile's busy fraction goes to the page as ?busy=F unless opts has
        `busy` (busy=0: an idle page). A busy tab of another kind on this side is parked
        (about:blank) first, so that only the pages being measured spin."""
        busy = opts.pop("busy", None)
        if busy is None and self.profile is not None:
            busy = self.profile.busy
        if busy:
            opts["busy"] = busy
        for (s, k), other in list(self.current.items()):
            if s == side and k != kind and other.busy:
                other.page.remove_listener("console", other.on_console)
                other.page.goto("about:blank")
                del self.current[(s, k)]
        subject = "%s-%s-%s" % (kind, side, uuid.uuid4().hex[:6])
        page = self.pages[side].get(kind)
        if page is None:
            page = self.browsers[side].new_page()
            self.pages[side][kind] = page
        old = self.current.get((side, kind))
        if old is not None:
            page.remove_listener("console", old.on_console)
        peer = LinkPeer(side, kind, subject, page, busy=float(busy or 0.0))
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
        client (up to 5 s more: the slower side may still be measuring), then `settle` s more
        for a duplicate. A series can pass settle=0 and refresh() all its runs at the end
        instead (one wait for the whole series, and a longer one for the first probes)."""
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
        if settle:
            time.sleep(settle)
            records = self.get(q)
        payloads = {a.subject: [], b.subject: []}
        for r in records:
            payloads.setdefault(r["from_subject_id"], []).append(r["payload"])
        return ProbeRun(res, payloads, time.monotonic() - t0, pid)

    def refresh(self, runs: list[ProbeRun], settle: float = 0.2) -> list[ProbeRun]:
        """After `settle` s, re-read every probe_result of the runs (late or duplicate ones
        included); returns the runs, updated in place."""
        time.sleep(settle)
        for run in runs:
            if not run.probe_session_id:
                continue
            records = self.get("/api/probe_results?probe_session_id="
                               + urllib.parse.quote(run.probe_session_id))
            payloads = {subject: [] for subject in run.payloads}
            for r in records:
                payloads.setdefault(r["from_subject_id"], []).append(r["payload"])
            run.payloads = payloads
        return runs


def summarize(kind: str, runs: list[ProbeRun], truth=None) -> dict:
    """Numbers over a series of probes of one client kind (both sides' payloads).

    truth: the ground truth (set_link()'s dict, or its median in ms). With it, per successful
    probe_result payload the error rtt_ms - truth: error_median_ms, abs_error_p90_ms,
    abs_error_max_ms, rtt_errors_ms (all, in order), and ci_coverage: the share of successful
    payloads whose rtt.ci95_ms contains the truth (a payload without one counts as not
    containing it; None when no payload has one: never guessed), ci_payloads (how many had
    one). probes_failed: probes whose on_complete got no RTT (= failed)."""
    payloads = [p for r in runs for ps in r.payloads.values() for p in ps]
    ok_payloads = [p for p in payloads if p.get("success") and isinstance(p.get("rtt_ms"), (int, float))]
    rtts = [p["rtt_ms"] for p in ok_payloads]
    if isinstance(truth, dict):
        truth = truth.get("median_ms")
    errs = [round(x - truth, 3) for x in rtts] if truth is not None else []
    abs_errs = [abs(e) for e in errs]
    cis = [ci95_of(p) for p in ok_payloads]
    with_ci = [ci for ci in cis if ci is not None]
    contains = sum(1 for ci in with_ci if truth is not None and ci[0] <= truth <= ci[1])
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
        "probes_failed": sum(1 for r in runs if not r.ok),
        "truth_ms": truth,
        "rtt_errors_ms": errs,
        "error_median_ms": None if not errs else round(median(errs), 3),
        "abs_error_p90_ms": None if not errs else round(p90(abs_errs), 3),
        "abs_error_max_ms": None if not errs else round(max(abs_errs), 3),
        "ci_payloads": len(with_ci),
        "ci_contains": contains if with_ci and truth is not None else None,
        "ci_coverage": (round(contains / len(ok_payloads), 3)
                        if with_ci and truth is not None and ok_payloads else None),
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
                            | {"ci95_ms": ci95_of(p)}
                            | {"ping_" + k: (p.get("rtt") or {}).get(k)
                               for k in ("median_ms", "min_ms", "max_ms", "samples", "sent", "lost",
                                         "source", "chained", "transport_ms", "stdev_ms", "p95_ms", "mean_ms")}
                            for p in payloads],
        })
    return out

