"""Firefox ESR as a probe peer inside one namespace of a running LinkRig (tests/e2e/netem_rig.py).

    with LinkRig("pffl1", log_dir=ARTIFACTS, playwright=pw) as rig:
        with FirefoxOnLink(rig, "a", log_dir=ARTIFACTS) as ff:          # Firefox in NAME-a
            f = ff.open_peer("ours", "912")                              # peer.html in its window
            c = open_chromium_peer(rig, "b", "ours", "1234")             # Chromium in NAME-b
            run = rig.probe(f, c)                                        # the real ProbeCoordinator
            f.state(); f.console; f.ice()

How Firefox gets into the namespace: geckodriver (and with it the Firefox it launches, and
every Firefox child process) runs under ``ip netns exec NAME-x``; its WebDriver port is bridged
to the root namespace, where Selenium runs, by two tests/netem/tcp_proxy.py processes:

    root ns: Selenium -> tcp:127.0.0.1:P --tcp_proxy--> unix:/tmp/.../gd.sock
    NAME-x:                               unix:/tmp/.../gd.sock --tcp_proxy--> tcp:127.0.0.1:P geckodriver
                                                                               geckodriver -> Marionette (127.0.0.1, NAME-x) -> Firefox

(Unix socket paths are not per network namespace; both proxies reach the same socket file.)
Firefox's only network interfaces are then the namespace's lo and tun-x (10.77.0.x/32), with
the 8.8.8.8/32 route of link.py pointing at tun-x. Without a camera/microphone permission
Firefox gathers host candidates on the default-route interface only (what a UDP connect() to
8.8.8.8 selects; link.py's route makes that tun-x), so its host candidate is the TUN address.

Prefs and environment are test_firefox.py's (FIREFOX_PREFS, FIREFOX_ENV: nothing but the local
hosts is contacted, MOZ_DISABLE_NONLOCAL_CONNECTIONS=1, raw host addresses instead of mDNS
names), plus ``dom.securecontext.allowlist`` = the server's address on the link (10.77.0.1), so
that a Firefox on side b, which loads ``http://10.77.0.1:PORT/test/peer.html``, gets a secure
context like Chromium B does with --unsafely-treat-insecure-origin-as-secure. (The
non-local-connection switch lets 10.77.0.1 through: it admits RFC 1918 addresses.)

Content console output goes to geckodriver's log (``firefox-link-NAME-x.log`` in log_dir);
``peer.console`` is that log from the moment the peer's page was opened.

``open_chromium_peer`` opens a Chromium peer with a chosen subject id (LinkRig.open_peer makes
its own ids; numeric ids decide the initiator numerically, see ../shared/PROTOCOL.md) on the
rig's Chromium of that side, as a netem_rig.LinkPeer.

Every Firefox page carries ICE_HOOK: each RTCPeerConnection records its local candidates and,
when it becomes "connected", getStats() of the selected candidate pair (addresses, types,
currentRoundTripTime, totalRoundTripTime, responsesReceived); ``peer.ice()`` returns them.
No pytest import here.
"""
from __future__ import annotations

import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

from netem_rig import TCP_PROXY, LinkPeer  # noqa: E402
# the one lockdown: the same prefs/env as the loopback Firefox tests
from test_firefox import FIREFOX, FIREFOX_ENV, FIREFOX_PREFS, GECKODRIVER, GeckoLog  # noqa: E402

# Per RTCPeerConnection: local candidates as gathered, and the selected pair at "connected".
# Installed after peer.html has loaded (like test_firefox.STATS_HOOK): the library creates its
# RTCPeerConnection per probe through the global constructor, so it gets this subclass.
ICE_HOOK = r"""
if (!window.__fflink) {
  const Base = window.RTCPeerConnection;
  const X = window.__fflink = {pcs: []};
  window.RTCPeerConnection = class extends Base {
    constructor(...a) {
      super(...a);
      const t0 = performance.now();
      const rec = {local: [], connected: null, states: []};
      if (X.pcs.length >= 256) X.pcs.shift();
      X.pcs.push(rec);
      this.addEventListener('icecandidate', (e) => {
        if (e.candidate && e.candidate.candidate) rec.local.push(e.candidate.candidate);
      });
      this.addEventListener('connectionstatechange', () => {
        rec.states.push(this.connectionState);
        if (this.connectionState !== 'connected' || rec.connected) return;
        rec.connected = {after_ms: performance.now() - t0};
        this.getStats().then((s) => {
          const all = Array.from(s.values());
          const byId = new Map(all.map((r) => [r.id, r]));
          const t = all.find((r) => r.type === 'transport' && r.selectedCandidatePairId);
          const pair = (t && byId.get(t.selectedCandidatePairId)) ||
                       all.find((r) => r.type === 'candidate-pair' && r.selected);
          const cand = (id) => { const c = byId.get(id) || {};
            return {address: c.address, port: c.port, type: c.candidateType, protocol: c.protocol}; };
          rec.connected.pair = pair ? {
            currentRoundTripTime: pair.currentRoundTripTime, totalRoundTripTime: pair.totalRoundTripTime,
            responsesReceived: pair.responsesReceived, state: pair.state, nominated: pair.nominated,
            local: cand(pair.localCandidateId), remote: cand(pair.remoteCandidateId)} : null;
        }, (e) => { rec.connected.error = String(e); });
      });
    }
  };
}
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _children(pid: int) -> list[int]:
    """Every descendant of pid (from /proc), deepest last."""
    parent = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open("/proc/%s/stat" % d) as f:
                    parent[int(d)] = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                pass
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        kids = [c for c, pp in parent.items() if pp == p]
        out += kids
        todo += kids
    return out


def _wait_line(proc: subprocess.Popen, expect: str, what: str) -> None:
    line = proc.stdout.readline().strip()
    if line != expect:
        raise RuntimeError("%s did not start (%r)" % (what, line))


class FirefoxOnLink(GeckoLog):
    """One Firefox process (fresh profile, one window) in namespace `side` of a running LinkRig."""

    def __init__(self, rig, side: str, log_dir: Path | None = None, extra_prefs: dict | None = None):
        self.rig = rig
        self.side = side
        self.ns = rig.link.ns(side)
        self.log_dir = Path(log_dir or rig.log_dir)
        self.extra_prefs = dict(extra_prefs or {})
        self.procs: list[subprocess.Popen] = []
        self.tmp = None
        self.driver = None
        self.geckodriver = None
        self.log_path = self.log_dir / ("firefox-link-%s.log" % self.ns)
        self.version = None
        self.launch_s = None
        self.peer = None

    def __enter__(self):
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    # ------------------------------------------------------------------ lifecycle
    def prefs(self) -> dict:
        p = dict(FIREFOX_PREFS)
        # the server's address on the link: a secure context for a Firefox on side b
        p["dom.securecontext.allowlist"] = self.rig.link.addr("a")
        p.update(self.extra_prefs)
        return p

    def start(self):
        from selenium import webdriver
        from selenium.webdriver.firefox.options import Options

        if not os.path.exists(FIREFOX):
            raise RuntimeError("%s not found (apt-get install firefox-esr)" % FIREFOX)
        if not GECKODRIVER:
            raise RuntimeError("geckodriver not found (cargo install geckodriver)")
        t0 = time.monotonic()
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.tmp = tempfile.mkdtemp(prefix="p2p-fflink-")
        os.chmod(self.tmp, 0o700)
        sock = os.path.join(self.tmp, "gd.sock")
        port = _free_port()  # free in the root namespace; the namespace is fresh, so free there too
        py = sys.executable
        # namespace side: unix socket -> geckodriver's 127.0.0.1:port
        p = subprocess.Popen(self.rig.link.exec_prefix(self.side) + [
            py, str(TCP_PROXY), "--to", "tcp:127.0.0.1:%d" % port, "--listen", "unix:" + sock],
            stdout=subprocess.PIPE, text=True)
        self.procs.append(p)
        _wait_line(p, "listening", "tcp_proxy.py in %s" % self.ns)
        # root side: 127.0.0.1:port -> the unix socket
        p = subprocess.Popen([py, str(TCP_PROXY), "--to", "unix:" + sock,
                              "--listen", "tcp:127.0.0.1:%d" % port], stdout=subprocess.PIPE, text=True)
        self.procs.append(p)
        _wait_line(p, "listening", "tcp_proxy.py (root namespace)")
        log = open(self.log_path, "w")
        self.geckodriver = subprocess.Popen(
            self.rig.link.exec_prefix(self.side) + [GECKODRIVER, "--host", "127.0.0.1", "--port", str(port)],
            env=dict(os.environ, **FIREFOX_ENV), stdout=log, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL)
        log.close()
        self.procs.append(self.geckodriver)
        deadline = time.monotonic() + 20
        while True:  # /status through both proxies
            if self.geckodriver.poll() is not None:
                raise RuntimeError("geckodriver exited (%s): %s" % (self.geckodriver.returncode,
                                                                   self.log_path.read_text()[-2000:]))
            try:
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                c.request("GET", "/status")
                r = c.getresponse()
                r.read()
                c.close()
                if r.status == 200:
                    break
            except (OSError, http.client.HTTPException):
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("geckodriver in %s not reachable; see %s" % (self.ns, self.log_path))
            time.sleep(0.1)
        opts = Options()
        opts.binary_location = FIREFOX
        opts.add_argument("-headless")
        profile = os.path.join(self.tmp, "profile")
        os.mkdir(profile)
        opts.add_argument("-profile")
        opts.add_argument(profile)
        for k, v in self.prefs().items():
            opts.set_preference(k, v)
        self.driver = webdriver.Remote(command_executor="http://127.0.0.1:%d" % port, options=opts)
        self.driver.set_script_timeout(30)
        self.version = "Firefox " + str(self.driver.capabilities.get("browserVersion", "?"))
        self.launch_s = time.monotonic() - t0
        return self

    def close(self):
        if self.driver is not None:
            try:
                self.driver.quit()
            except Exception:
                pass
            self.driver = None
        leftovers = _children(self.geckodriver.pid) if self.geckodriver is not None else []
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
        self.geckodriver = None
        for pid in leftovers:  # a Firefox that outlived geckodriver (quit() failed): ours, by pid
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if self.tmp:
            shutil.rmtree(self.tmp, ignore_errors=True)
            self.tmp = None

    # ------------------------------------------------------------------ peers
    def open_peer(self, kind: str, subject: str, timeout_s: float = 30, **opts) -> "FirefoxLinkPeer":
        """Load peer.html (client `kind`, page options `opts`) in the window as `subject`; the
        previous peer of this window, if any, is unloaded by the navigation."""
        peer = FirefoxLinkPeer(self, kind, str(subject))
        q = {"client": kind, "subject": peer.subject}
        q.update({k: (json.dumps(v) if isinstance(v, (list, dict)) else str(v)) for k, v in opts.items()})
        self.driver.get("%s/test/peer.html?%s" % (self.rig.base[self.side], urllib.parse.urlencode(q)))
        deadline = time.monotonic() + timeout_s
        while True:
            st = self.driver.execute_script(
                "const P = window.__probe; return P ? {ready: P.ready, fatal: P.fatal} : null;")
            if st and (st["ready"] or st["fatal"]):
                break
            if time.monotonic() > deadline:
                raise RuntimeError("firefox %s peer %s on side %s not ready in %s s; console:\n%s"
                                   % (kind, subject, self.side, timeout_s, "\n".join(peer.console[-40:])))
            time.sleep(0.05)
        if st["fatal"]:
            raise RuntimeError("firefox %s peer %s on side %s failed to start: %s"
                               % (kind, subject, self.side, st["fatal"]))
        self.driver.execute_script(ICE_HOOK)
        deadline = time.monotonic() + 15
        while peer.subject not in self.rig.subjects():
            if time.monotonic() > deadline:
                raise RuntimeError("subject %s never connected to the server" % subject)
            time.sleep(0.05)
        self.peer = peer
        return peer


class FirefoxLinkPeer:
    """A peer.html page in a FirefoxOnLink window: what LinkRig.probe() and the checks use."""

    kind_engine = "firefox"

    def __init__(self, ff: FirefoxOnLink, kind: str, subject: str):
        self.ff = ff
        self.side = ff.side
        self.kind = kind
        self.subject = subject
        self.log_start = ff.log_offset()
        self.closed = False

    @property
    def console(self) -> list[str]:
        return self.ff.log_since(self.log_start)

    def eval(self, js: str, *args):
        return self.ff.driver.execute_script(js, *args)

    def state(self) -> dict:
        return self.eval("""const P = window.__probe;
            return {results: P.results, emitted: P.emitted, errors: P.errors, pcConfigs: P.pcConfigs};""")

    def ice(self) -> list[dict]:
        """Per RTCPeerConnection of this page: local candidates and the selected pair at "connected"."""
        return self.eval("return window.__fflink ? window.__fflink.pcs : [];")

    def close(self):
        """Unload the page (closes its socket and peer connections); the Firefox stays."""
        if not self.closed and self.ff.driver is not None and self.ff.peer is self:
            try:
                self.ff.driver.get("about:blank")
            except Exception:
                pass
        self.closed = True


def open_chromium_peer(rig, side: str, kind: str, subject: str, page=None, timeout_s: float = 30,
                       **opts) -> LinkPeer:
    """peer.html as `subject` in the rig's Chromium of `side` (a new tab, or `page` reloaded)."""
    if page is None:
        page = rig.browsers[side].new_page()
    peer = LinkPeer(side, kind, str(subject), page)
    page.on("console", peer.on_console)
    q = {"client": kind, "subject": peer.subject}
    q.update({k: (json.dumps(v) if isinstance(v, (list, dict)) else str(v)) for k, v in opts.items()})
    page.goto("%s/test/peer.html?%s" % (rig.base[side], urllib.parse.urlencode(q)))
    page.wait_for_function("() => window.__probe && (window.__probe.ready || window.__probe.fatal)",
                           timeout=timeout_s * 1000)
    fatal = page.evaluate("() => window.__probe.fatal")
    if fatal:
        raise RuntimeError("chromium %s peer on side %s failed to start: %s" % (kind, side, fatal))
    deadline = time.monotonic() + 15
    while peer.subject not in rig.subjects():
        if time.monotonic() > deadline:
            raise RuntimeError("subject %s never connected to the server" % subject)
        time.sleep(0.05)
    return peer


def release_chromium_peer(peer: LinkPeer):
    """Unload a peer of open_chromium_peer and stop collecting its console; the tab stays."""
    try:
        peer.page.remove_listener("console", peer.on_console)
        peer.page.goto("about:blank")
    except Exception:
        pass
