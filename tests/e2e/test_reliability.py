"""Reliability (issue 6): our client against hostile peers, foreign sockets, a buggy server,
peers that go silent or vanish, racing timeouts, duplicate events, and a short soak.

Real server (the unmodified ProbeCoordinator), real Chromium processes (conftest fixtures),
loopback only. Pages: www/test/rel.html (``client=ours|raw|intruder`` -> www/test/rel.js,
``client=legacy|dropin`` -> www/test/peer.js unchanged; ``hostile=...`` -> www/test/hostile.js).

Run: ``.venv/bin/python -m pytest tests/e2e/test_reliability.py -q`` (``-s`` shows the numbers).
The long soak is ``.venv/bin/python scripts/soak.py`` (600 probes).
"""
from __future__ import annotations

import importlib.util
import json
import re
import sys
import time
import urllib.parse
from pathlib import Path

import pytest

from conftest import ARTIFACTS, Peer, check_pkg
from test_probe import check_probe, is_number, run_probe, uid

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.ours

MAX_WARNINGS = 16  # src/core/probe.rs: warnings one probe may log, then one "suppressed" note


# --------------------------------------------------------------------------- harness


def rel_url(base_url: str, kind: str, subject: str, **params) -> str:
    q = {"client": kind, "subject": subject}
    for k, v in params.items():
        q[k] = json.dumps(v) if k == "opts" else str(v)
    return f"{base_url}/test/rel.html?{urllib.parse.urlencode(q)}"


class Opener:
    """``open(kind, subject, browser=None, **params)`` -> a conftest ``Peer`` on rel.html.
    Peers go round-robin over ``slots`` (so two consecutive peers are in different Chromium
    processes) unless ``browser`` picks one. Pages go back to their pool afterwards; the console
    logs of a failed test are written to tests/e2e/artifacts/<test>/."""

    def __init__(self, server, slots, request):
        self.server, self.slots, self.request = server, slots, request
        self.peers: list[Peer] = []

    def __call__(self, kind: str, subject: str, browser: int | None = None, wait: bool = True,
                 **params) -> Peer:
        if kind in ("ours", "dropin"):
            check_pkg()
        slot = self.slots[(len(self.peers) if browser is None else browser) % len(self.slots)]
        peer = Peer(kind, subject, slot, slot.take_page())
        self.peers.append(peer)
        peer.page.goto(rel_url(self.server.base_url, kind, subject, **params))
        if wait:
            peer.wait_ready()
            self.server.wait_subjects(subject)
        return peer

    def finish(self) -> None:
        rep = getattr(self.request.node, "rep_call", None)
        if rep is not None and rep.failed:
            out = ARTIFACTS / re.sub(r"[^\w.-]+", "_", self.request.node.name)
            out.mkdir(parents=True, exist_ok=True)
            for i, p in enumerate(self.peers):
                safe = re.sub(r"[^\w.-]+", "_", p.subject)
                (out / f"peer{i}_{p.kind}_{safe}.log").write_text("\n".join(p.console))
            sys.stderr.write(f"\nbrowser console logs: {out}\n")
        for p in self.peers:
            p.release()


@pytest.fixture
def rel(server, browser_slots, request):
    opener = Opener(server, browser_slots, request)
    yield opener
    opener.finish()


def page_results(peer: Peer, pid: str) -> list[dict]:
    return peer.page.evaluate(
        "(pid) => window.__probe.results.filter(r => r && r.probe_session_id === pid)", pid)


def server_results(server, pid: str, subject: str) -> list[dict]:
    return [r["payload"] for r in server.probe_results(pid) if r["from_subject_id"] == subject]


def wait_result(peer: Peer, pid: str, timeout: float = 15) -> dict:
    peer.page.wait_for_function(
        "(pid) => window.__probe.results.some(r => r && r.probe_session_id === pid)", arg=pid,
        timeout=timeout * 1000)
    return page_results(peer, pid)[0]


def times(peer: Peer, pid: str) -> dict:
    return peer.page.evaluate("(pid) => window.__probe.times[pid] || {}", pid)


def session_count(peer: Peer) -> int:
    return peer.page.evaluate("() => window.__probe.manager.sessionCount")


def clean(peer: Peer) -> None:
    """Nothing thrown into the page: no uncaught error, no unhandled rejection, no console.error,
    no Playwright pageerror."""
    errs = peer.errors()
    assert errs == [], f"{peer.kind} {peer.subject}: page errors: {errs}"
    assert peer.console_errors == [], f"{peer.kind} {peer.subject}: console errors: {peer.console_errors}"


def warnings(peer: Peer) -> list[str]:
    return [line for line in peer.console if line.startswith("[warning]") and "[p2p-probe" in line]


def assert_sane_success(r: dict, who: str, limit_ms: float = 2000, samples: bool = True) -> None:
    """success, rtt_ms a number, at least one ping sample (unless ``samples=False``: with every
    ping lost the getStats RTT alone still makes a success), every figure finite and below the
    ping timeout (a ping older than pingTimeoutMs, default 2000, counts as lost)."""
    assert r["success"] is True, f"{who}: {r}"
    assert is_number(r["rtt_ms"]) and 0 <= r["rtt_ms"] < limit_ms, f"{who}: {r}"
    assert not r.get("error"), f"{who}: {r}"
    rtt = r["rtt"]
    assert rtt["sent"] >= rtt["samples"] + rtt["lost"], f"{who}: {rtt}"
    if not samples and rtt["samples"] == 0:
        assert r["stats_rtt_ms"] == r["rtt_ms"], f"{who}: success without samples nor stats: {r}"
        return
    assert rtt["samples"] > 0, f"{who}: {rtt}"
    for k in ("median_ms", "min_ms", "max_ms", "mean_ms"):
        assert is_number(rtt[k]) and 0 <= rtt[k] < limit_ms, f"{who}: {k}: {rtt}"
    assert rtt["min_ms"] <= rtt["median_ms"] <= rtt["max_ms"], f"{who}: {rtt}"


def assert_flooded_success(r: dict, who: str) -> None:
    """A sane success against a flooding peer, whose pongs queue behind ~350-460 KB of its junk
    on an unordered, zero-retransmit channel, so our pings may all go unanswered. Measured in the
    junk flood: answered ping series had medians of 0.43-1.14 s, and no pong came back within
    pingTimeoutMs (2 s) in 3 of 10 runs; in the binary flood, in 2 of 4 runs (and in 1 of 6 with
    the build before the size work). The result must then still be a success on
    the getStats RTT, with every ping counted lost."""
    assert_sane_success(r, who, samples=False)
    if r["rtt"]["samples"] == 0:
        assert r["rtt"]["lost"] == r["rtt"]["sent"] > 0, f"{who}: {r['rtt']}"


def exactly_once(server, peer: Peer, pid: str, settle: float = 0.0) -> dict:
    """One probe_result for ``pid`` from ``peer``: on the server and in the page's onResult."""
    if settle:
        time.sleep(settle)
    srv = server_results(server, pid, peer.subject)
    assert len(srv) == 1, f"{peer.subject}: {len(srv)} probe_result(s) for {pid} on the server: {srv}"
    mine = page_results(peer, pid)
    assert len(mine) == 1, f"{peer.subject}: onResult called {len(mine)} times for {pid}: {mine}"
    assert mine[0] == srv[0]
    return srv[0]


# --------------------------------------------------------------------------- 1. hostile peer


@pytest.mark.parametrize("ours_initiates", [True, False], ids=["ours-initiator", "ours-answerer"])
def test_hostile_data_channel_peer(server, rel, ours_initiates):
    """A legacy peer whose data channel floods us with junk on open (hostile.js ``flood``):
    we still report one sane success, nothing is thrown, warnings stay bounded, and the next
    probe works."""
    u = uid()
    ours_id, bad_id = (f"a-{u}", f"b-{u}") if ours_initiates else (f"b-{u}", f"a-{u}")
    ours = rel("ours", ours_id)
    bad = rel("legacy", bad_id, hostile="flood")
    pid = server.probe(ours.subject, bad.subject, wait=False)["probe_session_id"]
    r = wait_result(ours, pid, timeout=15)
    time.sleep(1.5)  # the flood keeps going for ~1 s; a second result would show up here
    hostile = bad.page.evaluate("() => window.__probe.hostile")
    print(f"\n[hostile {'ours-init' if ours_initiates else 'ours-answer'}] flood: {hostile}\n"
          f"  our result: rtt_ms={r['rtt_ms']} rtt={r['rtt']} setup_ms={r['setup_ms']:.1f} "
          f"measure_ms={r['measure_ms']:.1f}; p2p-probe warnings logged: {len(warnings(ours))}")
    assert hostile["channels"] >= 1 and hostile["sent"] > 3000, f"the flood did not happen: {hostile}"
    assert_flooded_success(r, "ours vs flood")
    exactly_once(server, ours, pid)
    clean(ours)
    # the core caps its warnings per probe (MAX_WARNINGS + one "suppressed" note); the few binary
    # messages of this flood are warned about outside that cap (see test_binary_flood_warnings_bounded)
    capped = [w for w in warnings(ours) if "binary data-channel message" not in w]
    assert 0 < len(capped) <= MAX_WARNINGS + 1, capped

    # the next probe works (a well-behaved peer, same page of ours)
    other = rel("legacy", f"c-{u}" if ours_initiates else f"0-{u}")
    res, records = run_probe(server, ours, other)
    check_probe(res, records, [ours, other], ours if ours_initiates else other)


def test_binary_flood_warnings_bounded(server, rel):
    """A peer that sends thousands of binary messages must not make our page log one console
    warning per message: the core caps warnings at MAX_WARNINGS per probe, but the browser shell
    (src/web/conn.rs, attach_channel's "message" listener) calls warn() directly for every
    non-string message, outside that cap."""
    u = uid()
    ours = rel("ours", f"a-{u}")
    bad = rel("legacy", f"b-{u}", hostile="flood", binaryFlood=2000, pingFlood=0)
    pid = server.probe(ours.subject, bad.subject, wait=False)["probe_session_id"]
    r = wait_result(ours, pid, timeout=15)
    time.sleep(1.5)
    assert_flooded_success(r, "ours vs binary flood")
    exactly_once(server, ours, pid)
    clean(ours)
    binary = [w for w in warnings(ours) if "binary data-channel message" in w]
    print(f"\n[binary flood] {bad.page.evaluate('() => window.__probe.hostile')}: "
          f"{len(binary)} 'binary data-channel message ignored' warnings, {len(warnings(ours))} in all")
    assert len(warnings(ours)) <= MAX_WARNINGS + 1 + 4, \
        f"{len(warnings(ours))} warnings for one probe ({len(binary)} about binary messages)"


# --------------------------------------------------------------------------- 2. foreign signals


def _foreign_probe(server, rel, kind_a: str, kind_b: str, timeout: float = 15):
    u = uid()
    a = rel(kind_a, f"a-{u}")
    b = rel(kind_b, f"b-{u}")
    x = rel("intruder", f"x-{u}")
    # the intruder page itself creates the probe (POST /api/probe, wait=false) and injects at
    # once, so its signals reach the server before the pair's own offer
    pid = x.page.evaluate("(o) => window.__intrude(o)",
                          {"a": a.subject, "b": b.subject, "durationMs": 1000, "everyMs": 50})
    res = server.get(f"/api/probes/{pid}?wait={timeout}", timeout=timeout + 10)
    return a, b, x, pid, res


def test_foreign_signals_ours(server, rel):
    """A third socket that knows the probe_session_id sends a real offer and answer from its own
    RTCPeerConnections, its real candidates and junk (relayed with from_subject_id: null):
    our two clients ignore them, connect to each other and succeed."""
    a, b, x, pid, res = _foreign_probe(server, rel, "ours", "ours")
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and len({r["from_subject_id"] for r in server.probe_results(pid)}) < 2:
        time.sleep(0.05)
    time.sleep(0.3)
    records = server.probe_results(pid)
    check_probe(res, records, [a, b], a)
    emitted = x.page.evaluate("() => window.__probe.intruder.emitted")
    for peer in (a, b):
        st = peer.page.evaluate("""(pid) => {
            const P = window.__probe;
            const sig = P.events.filter(e => e.event === 'probe_signal' && e.data && e.data.probe_session_id === pid);
            const foreign = sig.filter(e => e.data.from_subject_id === null);
            const t = P.times[pid] || {};
            return {foreign: foreign.length, real: sig.length - foreign.length,
                    foreign_before_result: foreign.filter(e => e.t < t.result).length,
                    first_foreign: foreign.length ? foreign[0].t - t.prepare : null,
                    first_real: sig.find(e => e.data.from_subject_id !== null)?.t - t.prepare,
                    foreign_types: [...new Set(foreign.map(e => String(e.data.type)))]};
        }""", pid)
        print(f"\n[foreign ours {peer.subject}] intruder emitted {emitted}; received {st}; "
              f"{len(warnings(peer))} p2p-probe warnings logged")
        assert st["foreign_before_result"] > 0, f"{peer.subject}: no foreign signal arrived in time: {st}"
        assert {"offer", "answer", "ice-candidate"} <= set(st["foreign_types"]), st
        assert any("not from the expected peer" in w for w in warnings(peer)), warnings(peer)[:5]
        clean(peer)


def test_foreign_signals_legacy_comparison(server, rel):
    """Printed comparison only (no assertion on the outcome): the legacy client applies whatever
    offer/answer arrives for its session, so an intruder usually breaks its probe."""
    a, b, x, pid, res = _foreign_probe(server, rel, "legacy", "legacy", timeout=13)
    time.sleep(0.3)
    outcomes = {r["from_subject_id"]: (r["payload"].get("success"), r["payload"].get("rtt_ms"))
                for r in server.probe_results(pid)}
    print(f"\n[foreign legacy-legacy] on_complete rtt_ms={res['rtt_ms']!r} completed={res['completed']} "
          f"elapsed_ms={res['elapsed_ms']}; results {outcomes}")
    assert res["probe_session_id"] == pid


# --------------------------------------------------------------------------- 3. hostile server

HOSTILE_SERVER_JS = r"""
async ({me, valid1, valid2}) => {
  const P = window.__probe;
  const big = 'p'.repeat(100 * 1024);
  const throwing = {get probe_session_id() { throw new Error('getter boom'); }, peer_subject_id: 'x'};
  const proxy = new Proxy({}, {get() { throw new Error('proxy get boom'); },
                              has() { throw new Error('proxy has boom'); },
                              ownKeys() { throw new Error('proxy keys boom'); }});
  const base = [undefined, null, 0, 42, -1, NaN, Infinity, 10n, Symbol('s'), '', 'probe_x', true,
                [], [1, 2], {}, () => 1, new Uint8Array(4), throwing, proxy];
  const prepares = [
    ...base,
    {probe_session_id: null, peer_subject_id: 'p'}, {probe_session_id: 5, peer_subject_id: 'p'},
    {probe_session_id: {}, peer_subject_id: 'p'}, {probe_session_id: ['s'], peer_subject_id: 'p'},
    {probe_session_id: '', peer_subject_id: 'p'}, {probe_session_id: big, peer_subject_id: 'p'},
    {peer_subject_id: 'p'}, {probe_session_id: 'junk-nopeer'},
    {probe_session_id: 'junk-nullpeer', peer_subject_id: null},
    {probe_session_id: 'junk-objpeer', peer_subject_id: {}},
    {probe_session_id: 'junk-emptypeer', peer_subject_id: ''},
    {probe_session_id: 'junk-self', peer_subject_id: me},
    {probe_session_id: 'junk-arraypeer', peer_subject_id: [me]},
    {probe_session_id: 'junk-nanpeer', peer_subject_id: NaN},
    {probe_session_id: 'junk-infpeer', peer_subject_id: -Infinity},
    // two valid sessions that never start (one with junk TURN fields), the first one 3 times
    {probe_session_id: valid1, peer_subject_id: 'ghost-peer', turn_username: null, turn_credential: null},
    {probe_session_id: valid1, peer_subject_id: 'ghost-peer', turn_username: null, turn_credential: null},
    {probe_session_id: valid1, peer_subject_id: 'other-ghost'},
    {probe_session_id: valid2, peer_subject_id: 'ghost-2', turn_username: 5, turn_credential: {x: 1},
     extra: [1, 2, 3]},
  ];
  const starts = [...base, {probe_session_id: 'unknown-session'}, {probe_session_id: big},
                  {probe_session_id: 7}, {probe_session_id: null}, {probe_session_id: 'junk-self'}];
  const cand = (i) => ({candidate: `candidate:${i} 1 udp 2122260223 10.1.2.3 ${9000 + i} typ host`,
                        sdpMid: '0', sdpMLineIndex: 0});
  const signals = [
    ...base,
    {probe_session_id: 'unknown-session', type: 'offer', from_subject_id: 'ghost-peer', payload: {}},
    {probe_session_id: big, type: 'offer', from_subject_id: 'ghost-peer', payload: {}},
    {probe_session_id: valid1, type: 'offer', from_subject_id: null, payload: {type: 'offer', sdp: 'v=0'}},
    {probe_session_id: valid1, type: 'offer', from_subject_id: me, payload: {type: 'offer', sdp: 'v=0'}},
    {probe_session_id: valid1, type: 'offer', from_subject_id: 'ghost-peer', payload: 5},
    {probe_session_id: valid1, type: 'offer', from_subject_id: 'ghost-peer', payload: {type: 'answer', sdp: 'v=0'}},
    {probe_session_id: valid1, type: 'offer', from_subject_id: 'ghost-peer', payload: {type: 'offer', sdp: 'x'.repeat(70000)}},
    {probe_session_id: valid1, type: 'answer', from_subject_id: 'ghost-peer', payload: null},
    {probe_session_id: valid1, type: 'ice-candidate', from_subject_id: 'ghost-peer', payload: {candidate: 7}},
    {probe_session_id: valid1, type: 'ice-candidate', from_subject_id: 'ghost-peer', payload: 'candidate:x'},
    {probe_session_id: valid1, type: 'nonsense', from_subject_id: 'ghost-peer', payload: {}},
    {probe_session_id: valid1, type: null, from_subject_id: 'ghost-peer'},
    {probe_session_id: valid1, type: 'ice-candidate', from_subject_id: 'ghost-peer', payload: null},
    ...Array.from({length: 100}, (_, i) => ({probe_session_id: valid1, type: 'ice-candidate',
                                             from_subject_id: 'ghost-peer', payload: cand(i)})),
  ];
  const thrown = [];
  const pcs = P.counts.pcs;
  thrown.push(...window.__inject('probe_prepare', prepares));
  const afterPrepare = P.manager.sessionCount;
  thrown.push(...window.__inject('probe_start', starts));
  thrown.push(...window.__inject('probe_signal', signals));
  return {thrown, afterPrepare, afterAll: P.manager.sessionCount, t: performance.now(),
          pcs: P.counts.pcs - pcs};
}
"""


def test_hostile_server_events(server, rel):
    """Malformed probe_prepare / probe_start / probe_signal delivered through the page's own
    socket handlers: nothing throws, warnings are logged (short lines), the two valid prepared
    sessions that never start expire after startTimeoutMs with one ``not_started`` result each and
    free everything, late duplicates do nothing, and real probes right after succeed."""
    u = uid()
    ours = rel("ours", f"b-{u}", opts={"startTimeoutMs": 1000})
    valid1, valid2 = f"probe_never_started_1_{u}", f"probe_never_started_2_{u}"
    out = ours.page.evaluate(HOSTILE_SERVER_JS, {"me": ours.subject, "valid1": valid1, "valid2": valid2})
    assert out["thrown"] == [], f"a socket handler threw: {out['thrown'][:3]}"
    assert out["afterPrepare"] == 2 and out["afterAll"] == 2, out
    assert out["pcs"] == 0, f"junk events made {out['pcs']} RTCPeerConnection(s)"
    ws = warnings(ours)
    for reason in ("event payload is not an object", "missing or non-string probe_session_id",
                   "probe_session_id is too long", "missing or non-string peer_subject_id",
                   "peer_subject_id is our own subject id", "probe_prepare for a session we already hold",
                   "unknown probe_session_id", "signal is not from the expected peer",
                   "malformed signal payload"):
        assert any(reason in w for w in ws), f"no warning {reason!r}; got {len(ws)}: {ws[:40]}"
    longest = max(len(line) for line in ours.console)
    assert longest < 2000, f"a {longest}-character console line (the 100 KB id must not be logged whole)"

    # the never-started sessions expire (startTimeoutMs 1000) and free everything
    ours.page.wait_for_function("() => window.__probe.manager.sessionCount === 0", timeout=5000)
    for v in (valid1, valid2):
        r = exactly_once(server, ours, v, settle=0.3 if v == valid1 else 0)
        assert r["success"] is False and r["rtt_ms"] is None, r
        assert r["error"]["code"] == "not_started", r
        t = ours.page.evaluate("(pid) => window.__probe.times[pid]", v)
        waited = t["result"] - out["t"]
        print(f"\n[hostile server] {v}: not_started after {waited:.0f} ms (startTimeoutMs 1000)")
        assert 900 <= waited <= 2500, waited
    # late duplicates of finished sessions do nothing
    thrown = ours.page.evaluate("""([v1, v2]) => [
        ...window.__inject('probe_prepare', [{probe_session_id: v1, peer_subject_id: 'ghost-peer'}]),
        ...window.__inject('probe_start', [{probe_session_id: v1}, {probe_session_id: v2}])]""",
                                [valid1, valid2])
    assert thrown == [] and session_count(ours) == 0
    time.sleep(1.2)
    for v in (valid1, valid2):
        exactly_once(server, ours, v)
    clean(ours)
    print(f"[hostile server] {len(warnings(ours))} warnings logged, longest console line {longest} chars")

    # real probes right after, in both roles
    for kind, other_id, init_is_ours in (("legacy", f"c-{u}", True), ("ours", f"a-{u}", False)):
        other = rel(kind, other_id)
        res, records = run_probe(server, ours, other)
        check_probe(res, records, [ours, other], ours if init_is_ours else other)


# --------------------------------------------------------------------------- 4. silent / vanishing peers

CONNECT_TIMEOUT_MS = 1500
# peer (client, hostile mode) -> acceptable failure codes of ours
SILENT_PEERS = {
    "raw-ready-only": ("raw", None, {"connect_timeout"}),
    "legacy-mute": ("legacy", "mute", {"connect_timeout"}),
    "legacy-closeonopen": ("legacy", "closeonopen", {"peer_closed", "connect_timeout"}),
    "legacy-vanish": ("legacy", "vanish", {"peer_closed", "connect_timeout", "ice_failed"}),
}


@pytest.mark.parametrize("ours_initiates", [True, False], ids=["ours-initiator", "ours-answerer"])
@pytest.mark.parametrize("peer_case", list(SILENT_PEERS))
def test_peer_silent_or_vanishes(server, rel, peer_case, ours_initiates):
    """The peer says ready and goes silent, or closes its channel / its whole page as soon as the
    channel opens (before any pong): ours reports failure exactly once, with its error code,
    within connectTimeoutMs (+ a little) of probe_start."""
    client, hostile, codes = SILENT_PEERS[peer_case]
    u = uid()
    ours_id, peer_id = (f"a-{u}", f"b-{u}") if ours_initiates else (f"b-{u}", f"a-{u}")
    ours = rel("ours", ours_id, opts={"connectTimeoutMs": CONNECT_TIMEOUT_MS})
    params = {"hostile": hostile} if hostile else {}
    peer = rel(client, peer_id, **params)
    pid = server.probe(ours.subject, peer.subject, wait=False)["probe_session_id"]
    r = wait_result(ours, pid, timeout=CONNECT_TIMEOUT_MS / 1000 + 5)
    t = times(ours, pid)
    took = t["result"] - t["start"]
    print(f"\n[{peer_case} {'ours-init' if ours_initiates else 'ours-answer'}] "
          f"error={r.get('error')} after {took:.0f} ms from probe_start (setup_ms={r['setup_ms']})")
    assert r["success"] is False and r["rtt_ms"] is None, r
    assert r["error"] and r["error"]["code"] in codes, r
    assert took <= CONNECT_TIMEOUT_MS + 700, f"failure reported {took:.0f} ms after probe_start"
    if r["error"]["code"] == "connect_timeout":
        assert took >= CONNECT_TIMEOUT_MS - 5, took
    res = server.get(f"/api/probes/{pid}?wait=5")
    assert res["completed"] and res["rtt_ms"] is None, res
    exactly_once(server, ours, pid, settle=1.2)  # past the 1 s linger: still one result
    assert session_count(ours) == 0
    clean(ours)


# --------------------------------------------------------------------------- 5. exactly once


def test_exactly_once_racing_timeouts(server, rel):
    """Timeouts racing success: connectTimeoutMs around the measured setup time, pingTimeoutMs
    racing the pongs, startTimeoutMs racing probe_start. Whatever wins, every session gets
    exactly one probe_result from each client (server records and onResult)."""
    u = uid()
    a = rel("ours", f"a-{u}")
    # b: short timeouts, so a session a kills early ends quickly on b too (when a fails before
    # b's probe_ready reaches the server, the server drops the session and b never gets
    # probe_start: b's prepared session then expires after startTimeoutMs)
    b = rel("ours", f"b-{u}", opts={"connectTimeoutMs": 1500, "startTimeoutMs": 1500})
    res, _ = run_probe(server, a, b)
    setup = page_results(a, res["probe_session_id"])[0]["setup_ms"]
    variants = [{"connectTimeoutMs": max(1, round(setup * f))} for f in (0.3, 0.7, 0.9, 1.0, 1.1, 1.3, 2.0)]
    variants += [{"pingTimeoutMs": 1}, {"pingTimeoutMs": 1, "pings": 20, "pingIntervalMs": 0},
                 {"startTimeoutMs": 1}, {"startTimeoutMs": 5}, {"startTimeoutMs": 30},
                 {"connectTimeoutMs": max(1, round(setup)), "pingTimeoutMs": 2}]
    pids, outcomes = [], []
    for v in variants:
        a.page.evaluate("(o) => window.__reattach(o)", v)
        res = server.probe(a.subject, b.subject, wait=True, timeout=15)
        pid = res["probe_session_id"]
        pids.append(pid)
        for p, t in ((a, 5), (b, 6)):
            try:
                wait_result(p, pid, timeout=t)
            except Exception as e:
                pytest.fail(f"variant {v}: no result from {p.subject} within {t} s ({e}); "
                            f"server: {res}; so far: {outcomes}")
        ra, rb = page_results(a, pid)[0], page_results(b, pid)[0]
        outcomes.append((v, ra.get("error", {}).get("code", "ok") if not ra["success"] else "ok",
                         rb.get("error", {}).get("code", "ok") if not rb["success"] else "ok"))
    a.page.wait_for_function("() => window.__probe.manager.sessionCount === 0", timeout=10000)
    b.page.wait_for_function("() => window.__probe.manager.sessionCount === 0", timeout=10000)
    time.sleep(1.5)
    print(f"\n[racing timeouts] calibration setup_ms={setup:.1f}")
    for v, oa, ob in outcomes:
        print(f"  a {json.dumps(v):<60} a={oa:<16} b={ob}")
    for pid in pids:
        for p in (a, b):
            r = exactly_once(server, p, pid)
            if r["success"]:
                assert_sane_success(r, p.subject, samples=False)
            else:
                assert r["error"]["code"] in {"connect_timeout", "not_started", "no_rtt", "peer_closed",
                                              "ice_failed"}, r
    assert len(set(pids)) == len(variants)
    clean(a)
    clean(b)


def test_exactly_once_close_during_measurement(server, rel):
    """manager.close() while a probe is measuring (and while another is only prepared): each
    reports ``closed`` exactly once, close() is idempotent, the peer reports once, and a new
    manager on the same page works."""
    u = uid()
    a = rel("ours", f"a-{u}", opts={"pings": 40, "pingIntervalMs": 25})
    b = rel("ours", f"b-{u}")
    fake = f"probe_prepared_only_{u}"
    opens0 = a.page.evaluate("() => window.__probe.opens.length")
    pid = server.probe(a.subject, b.subject, wait=False)["probe_session_id"]
    a.page.wait_for_function("(n) => window.__probe.opens.length > n", arg=opens0, timeout=10000)
    a.page.evaluate("(f) => window.__inject('probe_prepare', [{probe_session_id: f, peer_subject_id: 'ghost'}])", fake)
    time.sleep(0.15)  # mid-series: 40 pings 25 ms apart take ~1 s
    n = a.page.evaluate("() => { const m = window.__probe.manager; const n = m.sessionCount; m.close(); m.close(); return n; }")
    assert n == 2, n
    assert session_count(a) == 0
    wait_result(b, pid, timeout=12)
    time.sleep(1.5)
    a.page.evaluate("() => window.__probe.manager.close()")
    for s in (pid, fake):
        r = exactly_once(server, a, s)
        assert r["success"] is False and r["error"]["code"] == "closed", r
    rb = exactly_once(server, b, pid)
    ra = page_results(a, pid)[0]
    print(f"\n[close during measurement] a: {ra['error']} sent={ra['rtt']['sent']} samples={ra['rtt']['samples']}; "
          f"b: success={rb['success']} error={rb.get('error')} rtt={rb['rtt']}")
    assert ra["rtt"]["sent"] > 0, f"close() did not happen during the measurement: {ra}"
    # the page's socket no longer reaches the closed manager
    a.page.evaluate("(p) => window.__inject('probe_start', [{probe_session_id: p}])", pid)
    a.page.evaluate("() => window.__reattach({})")
    res, records = run_probe(server, a, b)
    check_probe(res, records, [a, b], a)
    exactly_once(server, a, pid)
    clean(a)
    clean(b)


def test_exactly_once_duplicate_events(server, rel):
    """A server that delivers every probe_* event three times, then replays all of them again
    after the probes: one probe_result per session per client, no session left behind."""
    u = uid()
    a = rel("ours", f"a-{u}", dup=3)
    b = rel("ours", f"b-{u}", dup=3)
    pids = []
    for i in range(3):
        x, y = (a, b) if i % 2 == 0 else (b, a)
        res, records = run_probe(server, x, y)
        check_probe(res, records, [a, b], a)
        pids.append(res["probe_session_id"])
    for p in (a, b):
        thrown = p.page.evaluate("""(pids) => {
            const P = window.__probe, thrown = [];
            for (const e of P.events.filter(e => pids.includes(e.data && e.data.probe_session_id)))
                thrown.push(...window.__inject(e.event, [e.data, e.data]));
            return thrown;
        }""", pids)
        assert thrown == []
    time.sleep(1.5)
    for p in (a, b):
        assert session_count(p) == 0
        for pid in pids:
            assert_sane_success(exactly_once(server, p, pid), p.subject)
        assert len(p.page.evaluate("() => window.__probe.results")) == len(pids)
        clean(p)
    dups = [w for w in warnings(a) if "already hold" in w or "duplicate" in w.lower() or "second" in w]
    print(f"\n[duplicate events] 3 probes, every event x3 then replayed x2: "
          f"{len(warnings(a))} warnings on a ({len(dups)} about duplicates)")


# --------------------------------------------------------------------------- 7. short soak


def _soak_module():
    spec = importlib.util.spec_from_file_location("p2p_probe_soak", REPO / "scripts" / "soak.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_soak_short(server, rel):
    """120 sequential probes between two pages (scripts/soak.py's loop): all succeed, and wasm
    linear memory after probe 120 is within 128 KB of its size after probe 20."""
    soak = _soak_module()
    u = uid()
    a = rel("ours", f"a-{u}", keep=20)
    b = rel("ours", f"b-{u}", keep=20)
    report = soak.run_soak(server.base_url, [a.page, b.page], [a.subject, b.subject],
                           n=120, check_every=20, log=print)
    assert report["failures"] == [], report["failures"][:5]
    assert report["memory_ok"], report["memory_summary"]
    for p in (a, b):
        clean(p)
