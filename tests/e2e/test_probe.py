"""Cross-process probe tests: two Chromium processes, the real ProbeCoordinator, loopback only.

Client kinds (www/test/peer.js): ``legacy`` (mug's probe_connection.js + ProbeManager flow),
``ours`` (attachProbeManager from pkg/), ``dropin`` (ProbeManager flow + our ProbeConnection).
Tests with an ``ours``/``dropin`` peer are marked ``ours`` and FAIL when pkg/ is not built.
``-m "not ours"`` runs the legacy-only harness checks.
"""
from __future__ import annotations

import time
import urllib.request
import uuid

import pytest

ours = pytest.mark.ours

RTT_KEYS = ("median_ms", "min_ms", "max_ms", "mean_ms", "jitter_ms", "samples", "sent", "lost")
CONN_KEYS = ("type", "local_candidate_type", "remote_candidate_type", "protocol")
# Known noise of the legacy client itself (not of the harness / our package): when the
# faster side closes the probe, the other side's data channel reports an error (and its
# remaining ping times out after 2 s).
LEGACY_NOISE = ("[WebRTC] DataChannel error",)


def page_errors(peer, errors: list[str]) -> list[str]:
    if peer.kind != "legacy":
        return list(errors)
    return [e for e in errors if not any(n in e for n in LEGACY_NOISE)]


def uid() -> str:
    return uuid.uuid4().hex[:8]


def is_number(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def run_probe(server, a, b, timeout: float = 15):
    """create_probe(a, b) and wait for on_complete, then for one probe_result from each
    client (plus a short settle so a duplicate result would be seen)."""
    res = server.probe(a.subject, b.subject, wait=True, timeout=timeout)
    pid = res["probe_session_id"]
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        froms = {r["from_subject_id"] for r in server.probe_results(pid)}
        if {a.subject, b.subject} <= froms:
            break
        time.sleep(0.05)
    time.sleep(0.3)
    return res, server.probe_results(pid)


def check_ours_payload(p: dict, who: str) -> None:
    for k in ("probe_session_id", "rtt_ms", "success", "rtt", "stats_rtt_ms", "connection",
              "setup_ms", "measure_ms"):
        assert k in p, f"{who}: probe_result lacks {k!r}: {p}"
    assert p["success"] is True, f"{who}: {p}"
    assert is_number(p["rtt_ms"]), f"{who}: rtt_ms not a number: {p}"
    assert isinstance(p["rtt"], dict) and all(k in p["rtt"] for k in RTT_KEYS), f"{who}: rtt: {p['rtt']}"
    assert p["rtt"]["samples"] >= 1 and p["rtt"]["sent"] >= p["rtt"]["samples"], f"{who}: {p['rtt']}"
    assert p["stats_rtt_ms"] is None or is_number(p["stats_rtt_ms"]), f"{who}: {p}"
    conn = p["connection"]
    assert isinstance(conn, dict) and all(k in conn for k in CONN_KEYS), f"{who}: connection: {conn}"
    assert conn["type"] == "direct", f"{who}: iceServers [] must give a direct path: {conn}"
    assert is_number(p["setup_ms"]) and is_number(p["measure_ms"]), f"{who}: {p}"
    assert not p.get("error"), f"{who}: {p}"


def check_probe(res: dict, records: list[dict], peers, initiator) -> None:
    pid = res["probe_session_id"]
    states = {p.subject: p.state() for p in peers}
    ctx = f"result={res}\nrecords={records}\nerrors={ {s: st['errors'] for s, st in states.items()} }"

    # the server side: on_complete got a number
    assert res["completed"], f"on_complete not called in time\n{ctx}"
    assert is_number(res["rtt_ms"]) and res["rtt_ms_type"] in ("int", "float"), \
        f"on_complete did not receive a number\n{ctx}"
    assert 0 <= res["rtt_ms"] < 1000, ctx

    for peer in peers:
        st = states[peer.subject]
        who = f"{peer.kind} {peer.subject!r}"
        errs = page_errors(peer, st["errors"])
        assert errs == [], f"{who}: page errors: {errs}"
        cerrs = page_errors(peer, peer.console_errors)
        assert cerrs == [], f"{who}: browser console errors: {cerrs}"
        # exactly one probe_result per session per client (server view and page view)
        mine = [r for r in records if r["from_subject_id"] == peer.subject]
        assert len(mine) == 1, f"{who}: {len(mine)} probe_result(s) for {pid}\n{ctx}"
        payload = mine[0]["payload"]
        assert payload["probe_session_id"] == pid
        assert payload["success"] is True and is_number(payload["rtt_ms"]), f"{who}: {payload}"
        emitted = [e for e in st["emitted"] if e and e.get("probe_session_id") == pid]
        assert len(emitted) == 1, f"{who}: emitted {emitted}"
        if peer.kind == "ours":
            check_ours_payload(payload, who)
            got = [r for r in st["results"] if r and r.get("probe_session_id") == pid]
            assert len(got) == 1, f"{who}: onResult called {len(got)} times: {got}"
            assert got[0] == payload, f"{who}: onResult {got[0]} != emitted {payload}"
        assert st["pcConfigs"] and all(c["effectiveIceServers"] == 0 for c in st["pcConfigs"]), \
            f"{who}: ICE servers not neutralised: {st['pcConfigs']}"
        if peer.kind == "legacy":  # the wrapper really had something to neutralise
            assert any("stun:stun.l.google.com:19302" in (c["iceServers"] or []) for c in st["pcConfigs"]), \
                st["pcConfigs"]
        if peer.kind in ("ours", "dropin"):
            # our package must not bring its own (public) ICE servers when given iceServers: []
            assert all(c["iceServers"] == [] for c in st["pcConfigs"]), f"{who}: {st['pcConfigs']}"
        # roles: the initiator sends the offer, the answerer the answer
        sent = {s["type"] for s in st["signals"] if s["probe_session_id"] == pid}
        if peer is initiator:
            assert "offer" in sent and "answer" not in sent, f"{who} should initiate; sent {sent}"
        else:
            assert "answer" in sent and "offer" not in sent, f"{who} should answer; sent {sent}"
        peer_targets = {s["target_subject_id"] for s in st["signals"] if s["probe_session_id"] == pid}
        assert peer_targets <= {p.subject for p in peers if p is not peer}, f"{who}: {peer_targets}"


# --------------------------------------------------------------------------- harness


def test_static_routes(server):
    for path in ("/test/peer.html", "/test/peer.js", "/legacy/probe_connection.js",
                 "/legacy/webrtc_manager.js", "/vendor/socket.io.esm.min.js"):
        with urllib.request.urlopen(server.base_url + path, timeout=10) as r:
            assert r.status == 200, path
            if path.endswith(".js"):
                assert "javascript" in r.headers["Content-Type"], (path, r.headers["Content-Type"])


def test_missing_socket_completes_with_none(server):
    res = server.probe(f"nobody-{uid()}", f"nobody-{uid()}", wait=True, timeout=5)
    assert res["completed"] and res["rtt_ms"] is None


def test_probe_get_endpoint(server, open_peer):
    a = open_peer("legacy", f"a-{uid()}")
    b = open_peer("legacy", f"b-{uid()}")
    pid = server.probe(a.subject, b.subject, wait=False)["probe_session_id"]
    res = server.get(f"/api/probes/{pid}?wait=15", timeout=30)
    assert res["probe_session_id"] == pid and res["completed"] and is_number(res["rtt_ms"])
    assert res["subject_a"] == a.subject and res["subject_b"] == b.subject
    assert is_number(res["elapsed_ms"]) and res["elapsed_ms"] > 0


# --------------------------------------------------------------------------- pairs
# (initiator kind, answerer kind); string ids "a-*" < "b-*" make the first one the initiator.
PAIRS = [
    pytest.param("legacy", "legacy", id="legacy-legacy"),
    pytest.param("ours", "ours", id="ours-ours", marks=ours),
    pytest.param("ours", "legacy", id="ours(init)-legacy", marks=ours),
    pytest.param("legacy", "ours", id="legacy(init)-ours", marks=ours),
    pytest.param("dropin", "legacy", id="dropin(init)-legacy", marks=ours),
    pytest.param("legacy", "dropin", id="legacy(init)-dropin", marks=ours),
    pytest.param("dropin", "ours", id="dropin(init)-ours", marks=ours),
    pytest.param("ours", "dropin", id="ours(init)-dropin", marks=ours),
]


@pytest.mark.parametrize("init_kind,ans_kind", PAIRS)
def test_pair(server, open_peer, init_kind, ans_kind):
    u = uid()
    init = open_peer(init_kind, f"a-{u}")
    ans = open_peer(ans_kind, f"b-{u}")
    res, records = run_probe(server, init, ans)
    check_probe(res, records, [init, ans], init)


# --------------------------------------------------------------------------- roles / ids
# "2" vs "10": number order differs from text order, 2 must initiate.
NUMERIC_KINDS = [
    pytest.param("legacy", "legacy", id="legacy-legacy"),
    pytest.param("ours", "legacy", id="ours-legacy", marks=ours),
    pytest.param("legacy", "ours", id="legacy-ours", marks=ours),
    pytest.param("ours", "ours", id="ours-ours", marks=ours),
    pytest.param("dropin", "legacy", id="dropin-legacy", marks=ours),
]


@pytest.mark.parametrize("kind_2,kind_10", NUMERIC_KINDS)
def test_numeric_ids_2_and_10(server, open_peer, kind_2, kind_10):
    p2 = open_peer(kind_2, "2")
    p10 = open_peer(kind_10, "10")
    res, records = run_probe(server, p10, p2)  # create_probe("10", "2"): order must not matter
    assert (res["subject_a"], res["subject_b"]) == ("10", "2")
    check_probe(res, records, [p2, p10], initiator=p2)


# (initiator id, answerer id): JS Number() / localeCompare semantics a naive port gets wrong.
ID_CASES = [
    pytest.param("999", "1e3", id="999<1e3(numeric)"),
    pytest.param("alice-{u}", "Bob-{u}", id="alice<Bob(localeCompare)"),
    pytest.param("7-{u}", "x{u}", id="digits<letters(string)"),
]


@ours
@pytest.mark.parametrize("ours_initiates", [True, False], ids=["ours-init", "legacy-init"])
@pytest.mark.parametrize("init_id,ans_id", ID_CASES)
def test_role_agreement_with_legacy(server, open_peer, init_id, ans_id, ours_initiates):
    u = uid()
    init_id, ans_id = init_id.format(u=u), ans_id.format(u=u)
    kinds = ("ours", "legacy") if ours_initiates else ("legacy", "ours")
    init = open_peer(kinds[0], init_id)
    ans = open_peer(kinds[1], ans_id)
    res, records = run_probe(server, ans, init)
    check_probe(res, records, [init, ans], init)


# --------------------------------------------------------------------------- repeated use


@ours
@pytest.mark.parametrize("other", ["ours", "legacy"])
def test_sequential_probes_same_pages(server, open_peer, other):
    u = uid()
    a = open_peer("ours", f"a-{u}")
    b = open_peer(other, f"b-{u}")
    pids = set()
    for i in range(3):
        x, y = (a, b) if i % 2 == 0 else (b, a)
        res, records = run_probe(server, x, y)
        check_probe(res, records, [a, b], a)
        pids.add(res["probe_session_id"])
    assert len(pids) == 3
    st = a.state()
    assert len(st["results"]) == 3 and len(st["emitted"]) == 3, st["results"]
