"""Relay through a local coturn: the REAL server hands out TURN REST credentials in
probe_prepare (``--turn-username U --turn-credential C``), our pages use
``turnUrls: ['turn:127.0.0.1:PORT?transport=udp']`` and ``iceTransportPolicy: 'relay'``
(``ours``: attachProbeManager options; ``dropin``: the package's ``configure()``, with the
platform's own ProbeManager from index.js passing only the credentials).

* right credential: the probe succeeds through the relay, both results say
  ``connection.type == "relay"`` (ours and the drop-in ProbeConnection);
* wrong credential (a second server instance started with a bad one): the probe fails, each
  client reports exactly one failure with error code ``connect_timeout`` or ``ice_failed``
  (connectTimeoutMs 3000), and the credential string appears in no console line of the
  pages, no probe_result payload and not in the server's log.

Everything on 127.0.0.1 in the root namespace; the two Chromium processes are the session
``browser_slots`` of conftest.py. peer.html is opened with ``?ice=loopback`` so the TURN
server on 127.0.0.1 reaches the browser (every other ICE server is still dropped).
Needs /usr/bin/turnserver (coturn): skipped when missing and not root, FAILS as root.
"""
from __future__ import annotations

import json
import secrets
import sys
import time
import urllib.parse
import uuid

import pytest

from conftest import ARTIFACTS, REPO, Peer, release_peers, start_server, stop_server

sys.path.insert(0, str(REPO / "tests" / "netem"))
sys.path.insert(0, str(REPO / "tests" / "turn"))

from prereq import require  # noqa: E402

pytestmark = pytest.mark.ours

CONNECT_TIMEOUT_MS = 3000
FAIL_CODES = ("connect_timeout", "ice_failed")


def uid() -> str:
    return uuid.uuid4().hex[:8]


@pytest.fixture(scope="module")
def turn():
    require(needs_root=False, coturn=True, chromium=True, playwright=True, pkg=True)
    from coturn import Coturn

    with Coturn(rest_secret=secrets.token_urlsafe(18)) as t:
        yield t


def start_relay_server(tag: str, turn_username: str, turn_credential: str):
    """server/app.py with TURN credentials (argv, as the server takes them)."""
    return start_server(ARTIFACTS / f"server-relay-{tag}.log",
                        "--turn-username", turn_username, "--turn-credential", turn_credential)


@pytest.fixture
def relay_peers(browser_slots, request):
    """open(srv, kind, subject, **opts): a peer page of `srv` in browser 0, 1, 0, ..."""
    peers: list[Peer] = []

    def _open(srv, kind: str, subject: str, **opts) -> Peer:
        slot = browser_slots[len(peers) % len(browser_slots)]
        peer = Peer(kind, subject, slot, slot.take_page())
        peers.append(peer)
        q = {"client": kind, "subject": subject, "ice": "loopback"}
        q.update({k: json.dumps(v) if isinstance(v, (list, dict)) else str(v) for k, v in opts.items()})
        peer.page.goto(f"{srv.base_url}/test/peer.html?{urllib.parse.urlencode(q)}")
        peer.wait_ready()
        srv.wait_subjects(subject)
        return peer

    yield _open

    release_peers(request, peers)


def wait_results(srv, pid: str, subjects, timeout: float = 8.0, settle: float = 0.5) -> list[dict]:
    q = f"/api/probe_results?probe_session_id={urllib.parse.quote(pid)}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if set(subjects) <= {r["from_subject_id"] for r in srv.get(q)}:
            break
        time.sleep(0.05)
    time.sleep(settle)  # a duplicate result would show up here
    return srv.get(q)


def assert_no_leak(secret: str, peers, records, srv) -> None:
    assert secret, "empty secret"
    for p in peers:
        bad = [line for line in p.console if secret in line]
        assert not bad, f"credential in the console of {p.subject}: {len(bad)} line(s)"
        state = json.dumps(p.state())
        assert secret not in state, f"credential in window.__probe of {p.subject}"
    assert secret not in json.dumps(records), "credential in a probe_result payload"
    assert secret not in srv.log_path.read_text(), f"credential in the server log {srv.log_path}"


@pytest.mark.parametrize("kind", ["ours", "dropin"])
def test_relay_with_rest_credentials(turn, relay_peers, kind):
    user, cred = turn.rest_credentials("probe-" + uid(), ttl=600)
    srv = start_relay_server("good-" + kind, user, cred)
    try:
        opts = {"turnUrls": [turn.url()], "policy": "relay"}
        u = uid()
        a = relay_peers(srv, kind, f"a-{u}", **opts)
        b = relay_peers(srv, kind, f"b-{u}", **opts)
        res = srv.probe(a.subject, b.subject, wait=True, timeout=15)
        pid = res["probe_session_id"]
        records = wait_results(srv, pid, (a.subject, b.subject))
        ctx = f"result={res}\nrecords={records}"
        assert res["completed"] and isinstance(res["rtt_ms"], (int, float)), ctx
        for p in (a, b):
            mine = [r["payload"] for r in records if r["from_subject_id"] == p.subject]
            assert len(mine) == 1, f"{p.subject}: {len(mine)} probe_results\n{ctx}"
            payload = mine[0]
            assert payload["success"] is True and isinstance(payload["rtt_ms"], (int, float)), ctx
            st = p.state()
            # the browser really got the TURN server (and only it) with policy relay
            assert st["pcConfigs"], f"{p.subject}: no RTCPeerConnection"
            for c in st["pcConfigs"]:
                assert c["effectiveIceServers"] == 1 and c["iceServers"] == [[turn.url()]] \
                    and c["iceTransportPolicy"] == "relay", f"{p.subject}: {c}"
            if kind == "ours":
                conn = payload["connection"]
                assert conn["type"] == "relay", f"{p.subject}: {conn}\n{ctx}"
                assert conn["local_candidate_type"] == "relay", f"{p.subject}: {conn}"
                assert not payload.get("error"), payload
            if kind == "dropin":
                # the platform's own ProbeManager (cut from index.js) sends the 3-key result;
                # the TURN URLs and the policy came from configure(), the credentials from
                # probe_prepare: the report measureRTT() left in lastReport says relay
                reports = [m["report"] for m in st["measures"] if m["probe_session_id"] == pid]
                assert len(reports) == 1 and reports[0], f"{p.subject}: measures {st['measures']}"
                conn = reports[0]["connection"]
                assert conn["type"] == "relay" and conn["local_candidate_type"] == "relay", \
                    f"{p.subject}: {conn}\n{ctx}"
        print(f"\n[relay] {kind}: rtt_ms {[r['payload'].get('rtt_ms') for r in records]}, connection "
              f"{[r['payload'].get('connection') for r in records]}")
        assert_no_leak(cred, (a, b), records, srv)
    finally:
        stop_server(srv)


def test_wrong_credential_fails_once_per_client_without_leaking(turn, relay_peers):
    from coturn import rest_credentials

    user, good = turn.rest_credentials("probe-" + uid(), ttl=600)
    _, wrong = rest_credentials("not-the-secret-" + uid(), user.split(":", 1)[1], ttl=600)
    assert wrong != good
    srv = start_relay_server("wrong", user, wrong)
    try:
        opts = {"turnUrls": [turn.url()], "policy": "relay", "connectTimeoutMs": CONNECT_TIMEOUT_MS}
        u = uid()
        a = relay_peers(srv, "ours", f"a-{u}", **opts)
        b = relay_peers(srv, "ours", f"b-{u}", **opts)
        t0 = time.monotonic()
        res = srv.probe(a.subject, b.subject, wait=True, timeout=15)
        pid = res["probe_session_id"]
        records = wait_results(srv, pid, (a.subject, b.subject), settle=1.5)
        elapsed = time.monotonic() - t0
        ctx = f"result={res}\nrecords={records}"
        assert res["completed"] and res["rtt_ms"] is None, f"the probe should fail\n{ctx}"
        for p in (a, b):
            mine = [r["payload"] for r in records if r["from_subject_id"] == p.subject]
            assert len(mine) == 1, f"{p.subject}: {len(mine)} probe_results (want exactly 1)\n{ctx}"
            payload = mine[0]
            assert payload["success"] is False and payload["rtt_ms"] is None, ctx
            err = payload.get("error") or {}
            assert err.get("code") in FAIL_CODES, f"{p.subject}: error {err}\n{ctx}"
            assert isinstance(err.get("message"), str) and err["message"], err
            emitted = [e for e in p.state()["emitted"] if e and e.get("probe_session_id") == pid]
            assert len(emitted) == 1, f"{p.subject}: emitted {emitted}"
        print(f"\n[relay] wrong credential: {elapsed:.1f} s, errors "
              f"{[r['payload'].get('error') for r in records]}, console lines "
              f"{[len(p.console) for p in (a, b)]}")
        assert elapsed < CONNECT_TIMEOUT_MS / 1000 + 8, f"took {elapsed:.1f} s"
        assert_no_leak(wrong, (a, b), records, srv)
        assert_no_leak(good, (a, b), records, srv)
    finally:
        stop_server(srv)


@pytest.mark.parametrize("transport", ["udp", "tcp"])
def test_relay_details_in_the_result_over_udp_and_tcp(turn, relay_peers, transport):
    """The path behind the number: over TURN/UDP and TURN/TCP (coturn listens on both), each
    result names the relay's protocol, host and port (never a credential), the candidates'
    address families and the setup split."""
    user, cred = turn.rest_credentials("probe-" + uid(), ttl=600)
    srv = start_relay_server(f"details-{transport}", user, cred)
    try:
        opts = {"turnUrls": [turn.url(transport)], "policy": "relay"}
        u = uid()
        a = relay_peers(srv, "ours", f"a-{u}", **opts)
        b = relay_peers(srv, "ours", f"b-{u}", **opts)
        res = srv.probe(a.subject, b.subject, wait=True, timeout=15)
        pid = res["probe_session_id"]
        records = wait_results(srv, pid, (a.subject, b.subject))
        ctx = f"result={res}\nrecords={records}"
        assert res["completed"] and isinstance(res["rtt_ms"], (int, float)), ctx
        for p in (a, b):
            mine = [r["payload"] for r in records if r["from_subject_id"] == p.subject]
            assert len(mine) == 1 and mine[0]["success"] is True, f"{p.subject}\n{ctx}"
            conn = mine[0]["connection"]
            assert conn["type"] == "relay" and conn["local_candidate_type"] == "relay", conn
            assert conn["relay_protocol"] == transport, f"{p.subject}: {conn}"
            assert conn["relay_host"] == "127.0.0.1", f"{p.subject}: {conn}"
            assert isinstance(conn["relay_port"], int) and 0 < conn["relay_port"] < 65536, conn
            assert conn["local_address_family"] == "ipv4" and conn["remote_address_family"] == "ipv4", conn
            setup = mine[0]["setup"]
            assert all(isinstance(setup[k], (int, float)) for k in ("signaling_ms", "ice_ms", "channel_ms")), setup
            assert mine[0]["rtt"]["lost_out"] == 0 and mine[0]["rtt"]["lost_back"] == 0, mine[0]["rtt"]
        print(f"\n[relay {transport}] connection {[r['payload']['connection'] for r in records]}, "
              f"setup {[r['payload']['setup'] for r in records]}")
        assert_no_leak(cred, (a, b), records, srv)
    finally:
        stop_server(srv)
