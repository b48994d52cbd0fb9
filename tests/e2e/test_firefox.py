"""Cross-engine probes: headless Firefox ESR <-> headless Chromium through the real ProbeCoordinator.

Firefox runs from ``/usr/bin/firefox-esr`` (env ``FIREFOX``) under geckodriver
(``~/.cargo/bin/geckodriver``, env ``GECKODRIVER``) through Selenium; ONE Firefox process with
a fresh profile serves the whole module (one window: one Firefox peer at a time). Chromium is
the ``open_peer`` fixture of conftest.py (Playwright). Both load www/test/peer.html, so the
same window.__probe instrumentation and ICE-server neutralisation apply on both sides, and
the checks are test_probe.check_probe plus Firefox-specific ones.

Ids are numeric, chosen so that number order and text order disagree ("9xx" < "1xxx" as
numbers): the initiator must be the numerically lower id on both engines. create_probe() is
called as (answerer, initiator), so argument order cannot decide the roles.

Keeping Firefox on this host (FIREFOX_PREFS, FIREFOX_ENV): updates, telemetry, captive portal,
connectivity checks, safe browsing, Remote Settings, push, GMP downloads, region/geo lookups,
DNS-over-HTTPS and prefetching are off or point at 127.0.0.1:9, and Firefox runs with
MOZ_DISABLE_NONLOCAL_CONNECTIONS=1. Checked once with strace (connect/send* of geckodriver and
every Firefox process) plus MOZ_LOG=nsHostResolver over a whole run of this module: no DNS
lookup at all, packets only to loopback (127.0.0.1, ::1) and this host's own addresses
(192.0.2.2, fd00::2); the only other address is a UDP connect() without any send to
8.8.8.8:53 (how Firefox's ICE finds its default interface). Without the env switch, release Firefox ignores services.settings.server and looks
up firefox.settings.services.mozilla.com.
WebRTC: no pref is needed for the pair to connect here (lo + eth0 192.0.2.2/fd00::2 with a
default route: Firefox gathers UDP+TCP host candidates on 192.0.2.2 and fd00::2; loopback is
not gathered even with ice.loopback=true). obfuscate_host_addresses=false makes it offer raw
addresses instead of mDNS ``.local`` names, which Chromium would multicast mDNS queries for
(with the names the pair still connects, through a peer-reflexive candidate).
Content console output goes to geckodriver's log (tests/e2e/artifacts/geckodriver.log, chrome
console off), which is how the Firefox side's console errors are collected.

Timing per probe (create_probe -> on_complete, and each side's probe_result arrival) is
written to tests/e2e/artifacts/firefox_summary.json.

``test_firefox_stats_after_connect`` takes getStats() on the Firefox side when its
connection reaches "connected" during a real probe. With ``P2P_PROBE_RECORD_STATS=1`` it also
saves them as tests/fixtures/stats/firefox_crossprocess_{offerer,answerer}.json and updates
that folder's index.json and README.md (via tests/fixtures/record_stats.py).

``test_getrtt_settles_when_closed_meanwhile``: Firefox never settles a getStats() that is pending
when the connection closes (Chromium does); ProbeConnection.getRTT() must still settle (the
library bounds every getStats() wait; the legacy getRTT() hangs here).
"""
from __future__ import annotations

import json
import os
import random
import re
import shutil
import sys
import time
import urllib.parse
from pathlib import Path

import pytest

from conftest import ARTIFACTS, REPO, check_pkg
from test_probe import check_probe, is_number, run_probe

FIREFOX = os.environ.get("FIREFOX", "/usr/bin/firefox-esr")
GECKODRIVER = os.environ.get("GECKODRIVER") or next(
    (p for p in (os.path.expanduser("~/.cargo/bin/geckodriver"), shutil.which("geckodriver") or "")
     if p and os.path.exists(p)), "")
STATS_DIR = REPO / "tests" / "fixtures" / "stats"
UNREACHABLE = "http://127.0.0.1:9"  # discard port: nothing listens, nothing leaves the host

FIREFOX_PREFS = {
    # --- WebRTC on this host
    # raw host addresses in candidates (no mDNS names, so nobody multicasts to resolve them)
    "media.peerconnection.ice.obfuscate_host_addresses": False,
    # gather on loopback too (needed where lo is the only interface; no effect with a default route)
    "media.peerconnection.ice.loopback": True,
    # --- content console.* -> stdout -> geckodriver log (console errors, failure logs); not the
    # browser's own (privileged) console, which logs e.g. FaviconLoader failing on peer.html's
    # empty data: icon
    "devtools.console.stdout.content": True,
    "devtools.console.stdout.chrome": False,
    # --- nothing outside 127.0.0.1
    "app.update.enabled": False,
    "app.update.auto": False,
    "app.update.disabledForTesting": True,
    "app.update.url": UNREACHABLE,
    "app.normandy.enabled": False,
    "app.normandy.api_url": UNREACHABLE,
    "app.shield.optoutstudies.enabled": False,
    "messaging-system.rsexperimentloader.enabled": False,
    "network.captive-portal-service.enabled": False,
    "captivedetect.canonicalURL": UNREACHABLE,
    "network.connectivity-service.enabled": False,
    "browser.safebrowsing.malware.enabled": False,
    "browser.safebrowsing.phishing.enabled": False,
    "browser.safebrowsing.blockedURIs.enabled": False,
    "browser.safebrowsing.downloads.enabled": False,
    "browser.safebrowsing.downloads.remote.enabled": False,
    "browser.safebrowsing.provider.google4.updateURL": "",
    "browser.safebrowsing.provider.google.updateURL": "",
    "browser.safebrowsing.provider.mozilla.updateURL": "",
    "privacy.trackingprotection.enabled": False,
    "datareporting.policy.dataSubmissionEnabled": False,
    "datareporting.healthreport.uploadEnabled": False,
    "toolkit.telemetry.enabled": False,
    "toolkit.telemetry.unified": False,
    "toolkit.telemetry.archive.enabled": False,
    "toolkit.telemetry.server": UNREACHABLE,
    "browser.ping-centre.telemetry": False,
    "browser.newtabpage.activity-stream.telemetry": False,
    "browser.newtabpage.activity-stream.feeds.telemetry": False,
    # Remote Settings: the dummy URL Marionette itself uses; with MOZ_DISABLE_NONLOCAL_CONNECTIONS
    # (FIREFOX_ENV) Remote Settings then skips all remote activity. An unreachable 127.0.0.1 URL
    # is polled instead, and the failed poll is logged as console.error ("RSLoader: ...").
    "services.settings.server": "data:,#remote-settings-dummy/v1",
    "security.remote_settings.crlite_filters.enabled": False,
    "security.remote_settings.intermediates.enabled": False,
    "security.OCSP.enabled": 0,
    "extensions.update.enabled": False,
    "extensions.getAddons.cache.enabled": False,
    "extensions.blocklist.enabled": False,
    "extensions.systemAddon.update.enabled": False,
    "media.gmp-manager.updateEnabled": False,
    "media.gmp-manager.url": UNREACHABLE,
    "media.gmp-gmpopenh264.autoupdate": False,
    "dom.push.connection.enabled": False,
    "dom.push.serverURL": "",
    "browser.region.network.url": "",
    "browser.region.update.enabled": False,
    "browser.search.update": False,
    "geo.provider.network.url": "",
    "browser.topsites.contile.enabled": False,
    "network.trr.mode": 5,
    "network.proxy.type": 0,
    "network.dns.disablePrefetch": True,
    "network.prefetch-next": False,
    "network.predictor.enabled": False,
    "network.http.speculative-parallel-limit": 0,
    "browser.shell.checkDefaultBrowser": False,
    "browser.startup.page": 0,
    "browser.startup.homepage": "about:blank",
    "browser.startup.homepage_override.mstone": "ignore",
    "browser.newtabpage.enabled": False,
}

FIREFOX_ENV = {
    "MOZ_HEADLESS": "1",
    # Firefox's own test-harness switch: non-local connections (HTTP/WebSocket to anything but
    # a loopback address) are refused, and release builds then honour services.settings.server
    # (without it, Remote Settings ignores the pref and polls firefox.settings.services.mozilla.com,
    # a DNS lookup at least). WebRTC's ICE sockets are not affected.
    "MOZ_DISABLE_NONLOCAL_CONNECTIONS": "1",
}

pytestmark = pytest.mark.ours


def numeric_ids() -> tuple[str, str]:
    """(lower, higher) as numbers, but the lower one is the HIGHER one as text ("9xx" > "1xxx")."""
    return str(random.randint(900, 999)), str(random.randint(1000, 1999))


# --------------------------------------------------------------------------- Firefox session


class GeckoLog:
    """Reading geckodriver's log (``self.log_path``) from an offset: how a Firefox page's
    console output is collected. Shared with tests/e2e/firefox_link.py."""

    def log_offset(self) -> int:
        try:
            return self.log_path.stat().st_size
        except OSError:
            return 0

    def log_since(self, offset: int) -> list[str]:
        try:
            with open(self.log_path, "rb") as f:
                f.seek(offset)
                return f.read().decode("utf-8", "replace").splitlines()
        except OSError as e:
            return [f"<cannot read {self.log_path}: {e}>"]


class Firefox(GeckoLog):
    """One Firefox process (fresh profile) driven by Selenium; one window, reused."""

    def __init__(self, profile_dir: Path, log_path: Path):
        from selenium import webdriver
        from selenium.webdriver.firefox.options import Options
        from selenium.webdriver.firefox.service import Service

        opts = Options()
        opts.binary_location = FIREFOX
        opts.add_argument("-headless")
        opts.add_argument("-profile")
        opts.add_argument(str(profile_dir))
        for k, v in FIREFOX_PREFS.items():
            opts.set_preference(k, v)
        self.log_path = log_path
        log_path.write_text("")  # Selenium appends to it
        t0 = time.monotonic()
        self.driver = webdriver.Firefox(
            options=opts,
            service=Service(executable_path=GECKODRIVER, log_output=str(log_path),
                            env=dict(os.environ, **FIREFOX_ENV)))
        self.launch_s = time.monotonic() - t0
        self.driver.set_script_timeout(30)
        self.version = "Firefox " + self.driver.capabilities.get("browserVersion", "?")

    def blank(self) -> None:
        self.driver.get("about:blank")  # unload: closes the socket and peer connections

    def quit(self) -> None:
        self.driver.quit()


class FirefoxPeer:
    """A peer.html page in the Firefox window; the interface check_probe() expects of a Peer."""

    engine = "firefox"

    def __init__(self, ff: Firefox, kind: str, subject: str):
        self.ff = ff
        self.kind = kind
        self.subject = subject
        self.log_start = ff.log_offset()

    @property
    def console(self) -> list[str]:
        return self.ff.log_since(self.log_start)

    @property
    def console_errors(self) -> list[str]:
        """Content errors only. The browser's own (privileged) console is not sent to the log
        (devtools.console.stdout.chrome=false), but some of its errors still arrive as
        "JavaScript error: resource://..." lines (e.g. BackupService at startup): skipped."""
        return [line for line in self.console
                if line.startswith(("console.error:", "JavaScript error: http"))
                and not any(s in line for s in ("resource://", "chrome://"))]

    def open(self, base_url: str, timeout_s: float = 20) -> None:
        q = urllib.parse.urlencode({"client": self.kind, "subject": self.subject})
        self.ff.driver.get(f"{base_url}/test/peer.html?{q}")
        deadline = time.monotonic() + timeout_s
        while True:
            st = self.ff.driver.execute_script(
                "const P = window.__probe; return P ? {ready: P.ready, fatal: P.fatal} : null;")
            if st and (st["ready"] or st["fatal"]):
                break
            if time.monotonic() > deadline:
                pytest.fail(f"firefox {self.kind} peer {self.subject!r} not ready in {timeout_s} s; "
                            f"errors: {self.errors()}", pytrace=False)
            time.sleep(0.05)
        if st["fatal"]:
            pytest.fail(f"firefox {self.kind} peer {self.subject!r} failed to start: {st['fatal']}\n"
                        f"errors: {self.errors()}", pytrace=False)

    def eval(self, js: str, *args):
        return self.ff.driver.execute_script(js, *args)

    def state(self) -> dict:
        return self.eval("""
            const P = window.__probe;
            return {results: P.results, emitted: P.emitted, signals: P.signals,
                    received: P.received, errors: P.errors, pcConfigs: P.pcConfigs,
                    ready: P.ready, fatal: P.fatal};""")

    def errors(self) -> list[str]:
        try:
            return list(self.eval("return window.__probe ? window.__probe.errors : [];") or [])
        except Exception as e:  # page gone
            return [f"<execute_script failed: {e}>"]

    def page_log(self) -> str:
        try:
            return self.eval("const el = document.getElementById('log'); return el ? el.textContent : '';")
        except Exception as e:
            return f"<execute_script failed: {e}>"


@pytest.fixture(scope="module")
def firefox(tmp_path_factory):
    if not Path(FIREFOX).exists():
        pytest.fail(f"{FIREFOX} not found (apt-get install firefox-esr)", pytrace=False)
    if not GECKODRIVER:
        pytest.fail("geckodriver not found (cargo install geckodriver)", pytrace=False)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    ff = Firefox(tmp_path_factory.mktemp("firefox-profile"), ARTIFACTS / "geckodriver.log")
    yield ff
    ff.quit()


@pytest.fixture
def open_firefox_peer(server, firefox, request):
    peers: list[FirefoxPeer] = []

    def _open(kind: str, subject: str) -> FirefoxPeer:
        if kind in ("ours", "dropin"):
            check_pkg()
        assert not peers, "one Firefox peer per test (one window)"
        peer = FirefoxPeer(firefox, kind, subject)
        peers.append(peer)
        peer.open(server.base_url)
        return peer

    yield _open

    rep = getattr(request.node, "rep_call", None)
    if rep is not None and rep.failed and peers:
        out = ARTIFACTS / re.sub(r"[^\w.-]+", "_", request.node.name)
        out.mkdir(parents=True, exist_ok=True)
        for p in peers:
            (out / f"firefox_{p.kind}_{p.subject}.log").write_text(
                "\n".join(p.console) + "\n--- #log ---\n" + p.page_log())
        sys.stderr.write(f"\nfirefox console log: {out}\n")
    try:
        firefox.blank()
    except Exception as e:  # Firefox gone: the next test's open() reports it
        sys.stderr.write(f"\nfirefox: cannot unload the page: {e}\n")


@pytest.fixture(scope="module")
def summary(firefox):
    rows: list[dict] = []
    yield rows
    out = {"firefox": firefox.version, "firefox_launch_s": round(firefox.launch_s, 2), "probes": rows}
    (ARTIFACTS / "firefox_summary.json").write_text(json.dumps(out, indent=1) + "\n")


# --------------------------------------------------------------------------- helpers


def timed_probe(server, init, ans, timeout: float = 15):
    t0 = time.time()
    res, records = run_probe(server, ans, init, timeout=timeout)  # (answerer, initiator)
    return t0, res, records


def summarize(t0: float, res: dict, records: list[dict], peers, initiator, label: str) -> dict:
    row = {"case": label, "probe_session_id": res["probe_session_id"],
           "on_complete_rtt_ms": res["rtt_ms"], "elapsed_ms": res["elapsed_ms"], "sides": {}}
    for p in peers:
        mine = [r for r in records if r["from_subject_id"] == p.subject]
        pl = mine[0]["payload"] if mine else {}
        row["sides"][getattr(p, "engine", "chromium")] = {
            "kind": p.kind, "subject": p.subject, "role": "initiator" if p is initiator else "answerer",
            "result_after_ms": round((mine[0]["t"] - t0) * 1000.0, 1) if mine else None,
            "rtt_ms": pl.get("rtt_ms"), "stats_rtt_ms": pl.get("stats_rtt_ms"),
            "ping_median_ms": (pl.get("rtt") or {}).get("median_ms"),
            "setup_ms": pl.get("setup_ms"), "measure_ms": pl.get("measure_ms"),
            "rtt": pl.get("rtt"), "connection": pl.get("connection"),
        }
    return row


def check_firefox_side(ff: FirefoxPeer, records: list[dict]) -> None:
    mine = [r for r in records if r["from_subject_id"] == ff.subject]
    assert len(mine) == 1, mine
    p = mine[0]["payload"]
    if ff.kind == "ours":
        # Firefox getStats shapes differ from Chromium's: the result must still carry an RTT
        # source, the transport RTT of the selected pair or the data-channel ping median.
        assert is_number(p.get("stats_rtt_ms")) or is_number((p.get("rtt") or {}).get("median_ms")), \
            f"firefox ours result has neither stats_rtt_ms nor a ping median: {p}"
        assert p["connection"]["local_candidate_type"] == "host", p["connection"]


# --------------------------------------------------------------------------- tests

PAIRS = [
    # (firefox client, chromium client, firefox role)
    pytest.param("ours", "ours", "initiator", id="ff(ours,init)-cr(ours)"),
    pytest.param("ours", "ours", "answerer", id="ff(ours,ans)-cr(ours)"),
    pytest.param("ours", "legacy", "initiator", id="ff(ours,init)-cr(legacy)"),
    pytest.param("ours", "legacy", "answerer", id="ff(ours,ans)-cr(legacy)"),
    pytest.param("legacy", "ours", "initiator", id="ff(legacy,init)-cr(ours)"),
    pytest.param("legacy", "ours", "answerer", id="ff(legacy,ans)-cr(ours)"),
]


@pytest.mark.parametrize("ff_kind,cr_kind,ff_role", PAIRS)
def test_firefox_chromium(server, open_peer, open_firefox_peer, summary, ff_kind, cr_kind, ff_role):
    lo, hi = numeric_ids()
    ff_id, cr_id = (lo, hi) if ff_role == "initiator" else (hi, lo)
    cr = open_peer(cr_kind, cr_id)
    ff = open_firefox_peer(ff_kind, ff_id)
    server.wait_subjects(ff_id, cr_id)
    init, ans = (ff, cr) if ff_role == "initiator" else (cr, ff)

    t0, res, records = timed_probe(server, init, ans)
    summary.append(summarize(t0, res, records, [ff, cr], init,
                             f"ff({ff_kind},{ff_role})-cr({cr_kind})"))
    check_probe(res, records, [ff, cr], init)
    check_firefox_side(ff, records)


def test_firefox_sequential_probes_same_pages(server, open_peer, open_firefox_peer, summary):
    """The same two pages probe each other 4 times, create_probe argument order alternating;
    the roles stay with the ids."""
    lo, hi = numeric_ids()
    ff = open_firefox_peer("ours", lo)
    cr = open_peer("ours", hi)
    server.wait_subjects(lo, hi)
    pids = set()
    for i in range(4):
        t0 = time.time()
        res, records = run_probe(server, *((ff, cr) if i % 2 else (cr, ff)))
        summary.append(summarize(t0, res, records, [ff, cr], ff, f"sequential#{i} ff(ours,init)-cr(ours)"))
        check_probe(res, records, [ff, cr], ff)
        check_firefox_side(ff, records)
        pids.add(res["probe_session_id"])
    assert len(pids) == 4
    st = ff.state()
    assert len(st["results"]) == 4 and len(st["emitted"]) == 4, st["results"]


# Wraps the (already neutralised) RTCPeerConnection of peer.html once more: every connection
# takes getStats() when its connectionState becomes "connected", and again right before its
# close() runs (to see whether a getStats() pending across close() ever settles).
STATS_HOOK = r"""
const Base = window.RTCPeerConnection;
const X = window.__ffstats = {snaps: [], closes: 0};
window.RTCPeerConnection = class extends Base {
  constructor(...a) {
    super(...a);
    const t0 = performance.now();
    const snap = (label) => this.getStats().then(
      (s) => X.snaps.push({label, after_ms: performance.now() - t0, reports: Array.from(s.values())}),
      (e) => X.snaps.push({label, after_ms: performance.now() - t0, error: String(e)}));
    this.addEventListener('connectionstatechange', () => {
      if (this.connectionState === 'connected') snap('connected');
    });
    const close = this.close.bind(this);
    this.close = () => { X.closes += 1; snap('before-close'); close(); };
  }
};
"""


def _selected_pair(reports: list[dict]) -> tuple[dict | None, dict, dict]:
    by_id = {r["id"]: r for r in reports}
    sel = next((t.get("selectedCandidatePairId") for t in reports
                if t.get("type") == "transport" and t.get("selectedCandidatePairId")), None)
    pair = by_id.get(sel) if sel else None
    if pair is None:
        return None, {}, {}
    return pair, by_id.get(pair.get("localCandidateId"), {}), by_id.get(pair.get("remoteCandidateId"), {})


@pytest.mark.parametrize("ff_role", ["offerer", "answerer"])
def test_firefox_stats_after_connect(server, open_peer, open_firefox_peer, summary, ff_role):
    lo, hi = numeric_ids()
    ff_id, cr_id = (lo, hi) if ff_role == "offerer" else (hi, lo)
    cr = open_peer("ours", cr_id)
    ff = open_firefox_peer("ours", ff_id)
    ff.eval(STATS_HOOK)
    server.wait_subjects(ff_id, cr_id)
    init, ans = (ff, cr) if ff_role == "offerer" else (cr, ff)

    t0, res, records = timed_probe(server, init, ans)
    check_probe(res, records, [ff, cr], init)
    check_firefox_side(ff, records)
    time.sleep(1.0)  # give a getStats() issued before close() time to settle (if it ever does)
    hook = ff.eval("return window.__ffstats;")
    snaps = {s["label"]: s for s in hook["snaps"]}
    assert "connected" in snaps and "reports" in snaps["connected"], \
        f"no getStats at 'connected': {[(s['label'], s.get('error')) for s in hook['snaps']]}"
    reports = snaps["connected"]["reports"]
    pair, local, remote = _selected_pair(reports)
    assert pair is not None, f"transport.selectedCandidatePairId missing/unknown: {reports}"
    # Firefox shape: the selected pair also says selected: true; it carries an RTT from the ICE checks
    assert pair.get("selected") is True and pair.get("state") == "succeeded", pair
    assert is_number(pair.get("currentRoundTripTime")) and pair["currentRoundTripTime"] >= 0, pair
    assert pair.get("responsesReceived", 0) >= 1, pair
    assert local.get("candidateType") == "host", local
    assert remote.get("candidateType") in ("host", "prflx"), remote

    row = summarize(t0, res, records, [ff, cr], init, f"stats ff(ours,{ff_role})-cr(ours)")
    row["firefox_stats_at_connected"] = {
        "after_ms": round(snaps["connected"]["after_ms"], 1),
        "types": sorted({r["type"] for r in reports}),
        "pairs": sum(1 for r in reports if r["type"] == "candidate-pair"),
        "selected_pair": {k: pair.get(k) for k in ("currentRoundTripTime", "totalRoundTripTime",
                                                   "responsesReceived", "selected", "nominated", "state")},
        "local": {k: local.get(k) for k in ("candidateType", "address", "protocol")},
        "remote": {k: remote.get(k) for k in ("candidateType", "address", "protocol")},
    }
    # close() ran on the Firefox side (our client closes after its result); did the getStats()
    # issued right before it settle within ~1 s?
    row["firefox_getstats_across_close"] = (
        "close() not called" if not hook["closes"] else
        ("settled: " + (snaps["before-close"].get("error") or f"{len(snaps['before-close']['reports'])} reports"))
        if "before-close" in snaps else "pending after 1 s")
    summary.append(row)

    if os.environ.get("P2P_PROBE_RECORD_STATS") == "1":
        record_fixture(f"firefox_crossprocess_{ff_role}", reports, ff.ff.version,
                       "Chromium " + cr.page.context.browser.version,
                       ff_role, snaps["connected"]["after_ms"])


def record_fixture(name: str, reports: list[dict], ff_version: str, cr_version: str, role: str,
                   after_ms: float) -> None:
    """Save like record_stats.save(), index it (expect from record_stats.analyse()), rewrite the README."""
    sys.path.insert(0, str(REPO / "tests" / "fixtures"))
    import record_stats

    record_stats.save(str(STATS_DIR), name, reports)
    index_path = STATS_DIR / "index.json"
    index = json.loads(index_path.read_text())
    index[name] = {
        "browser": ff_version,
        "expect": record_stats.analyse(reports),
        "setup": (f"cross-process probe through the real ProbeCoordinator: Firefox (Selenium + geckodriver, "
                  f"headless, prefs obfuscate_host_addresses=false, ice.loopback=true) <-> "
                  f"{cr_version} (Playwright), both running our client (pkg/), iceServers [], host with lo + "
                  f"eth0 (192.0.2.2, fd00::2); Firefox's getStats() when its connectionState became "
                  f"'connected' ({after_ms:.0f} ms after new RTCPeerConnection); Firefox is the {role} "
                  f"(tests/e2e/test_firefox.py with P2P_PROBE_RECORD_STATS=1)"),
    }
    with open(index_path, "w") as f:
        json.dump(dict(sorted(index.items())), f, indent=1, sort_keys=True)
        f.write("\n")
    record_stats.write_readme(str(STATS_DIR), index)


# --------------------------------------------------------------------------- getRTT across close()
# Replaces the ProbeManager flow's _onProbeConnected (peer.html's dropin client) so that the
# ProbeConnection is closed while a getRTT() is in flight: the close() runs in the microtask
# after getRTT()'s getStats() call was issued, i.e. before the browser can have answered it.
GETRTT_CLOSE_JS = r"""
const M = window.__probe.manager;
const out = window.__getrtt = {done: false};
const proto = window.RTCPeerConnection.prototype;
const race = (p, ms) => Promise.race([
  p.then((v) => ({settled: 'resolved', value: v}), (e) => ({settled: 'rejected', value: String(e)})),
  new Promise((r) => setTimeout(() => r({settled: 'pending', value: ms}), ms))]);
M._onProbeConnected = async function () {
  const conn = this.activeProbe;
  out.open = await race(conn.getRTT(), 3000);           // connection open: a number
  proto.getStats = function (...args) {
    delete proto.getStats;                               // once
    const p = Object.getPrototypeOf(proto).getStats.apply(this, args);
    queueMicrotask(() => { out.closedAfterGetStats = true; conn.close(); });
    return p;
  };
  out.acrossClose = await race(conn.getRTT(), 3000);
  out.afterClose = await race(conn.getRTT(), 3000);
  out.done = true;
};
"""


@pytest.mark.parametrize("engine", ["chromium", "firefox"])
def test_getrtt_settles_when_closed_meanwhile(server, open_peer, open_firefox_peer, engine):
    """ProbeConnection.getRTT() (drop-in API) must settle (a number or null) even when the
    connection is closed while its getStats() is in flight."""
    lo, hi = numeric_ids()
    cr = open_peer("dropin", lo)
    ff = open_firefox_peer("dropin", hi)
    server.wait_subjects(lo, hi)
    if engine == "chromium":
        cr.page.evaluate("() => {" + GETRTT_CLOSE_JS + "}")
        read = lambda: cr.page.evaluate("() => window.__getrtt")  # noqa: E731
    else:
        ff.eval(GETRTT_CLOSE_JS)
        read = lambda: ff.eval("return window.__getrtt;")  # noqa: E731
    server.probe(lo, hi, wait=True, timeout=15)
    deadline = time.monotonic() + 10
    while not (out := read())["done"] and time.monotonic() < deadline:
        time.sleep(0.1)
    assert out["done"] and out.get("closedAfterGetStats"), out
    assert out["open"]["settled"] == "resolved" and is_number(out["open"]["value"]), out
    assert out["afterClose"] == {"settled": "resolved", "value": None}, out
    assert out["acrossClose"]["settled"] == "resolved", \
        f"{engine}: getRTT() issued just before close() did not settle within 3 s: {out}"
    assert out["acrossClose"]["value"] is None or is_number(out["acrossClose"]["value"]), out
