"""Cancellation and progress through the REAL server (server/app.py, ProbeCoordinator), two
Chromium processes, loopback only.

* ``manager.cancel(probeSessionId)`` from the page's own ``onProgress`` callback when its first
  probe reaches a phase (``prepared``, ``open``, ``measuring``), against ours and the legacy
  client: exactly one probe_result from the cancelling page, with ``error.code ==
  "cancelled"``; ``cancel`` returned true; the probe's RTCPeerConnection is closed and the
  manager holds no session; the next probe between the same pages succeeds on both sides.
* ``onProgress`` reports prepared, started, connected, open, measuring, done in order; one that
  throws every time is warned about once and the probe still succeeds.
* ``cancel`` of an unknown id (or of a non-string) returns false.

The pages are www/test/peer.html (``?progress=``, ``?cancelOn=``, ``?trackPcs=``, see
www/test/peer.js). The drop-in's ``measureRTT({signal})`` is tested in the browser tests
(tests/web.rs).
"""
from __future__ import annotations

import time
import urllib.parse
import uuid

import pytest

from conftest import Peer, release_peers

pytestmark = pytest.mark.ours

PHASES = ["prepared", "started", "connected", "open", "measuring", "done"]
LEGACY_NOISE = ("[WebRTC] DataChannel error",)


def uid() -> str:
    return uuid.uuid4().hex[:8]


@pytest.fixture
def peers(server, browser_slots, pkg_built, request):
    """open(kind, subject, **query): a peer page in browser 0, 1, 0, ..."""
    opened: list[Peer] = []

    def _open(kind: str, subject: str, **query) -> Peer:
        slot = browser_slots[len(opened) % len(browser_slots)]
        peer = Peer(kind, subject, slot, slot.take_page())
        opened.append(peer)
        q = {"client": kind, "subject": subject, **{k: str(v) for k, v in query.items()}}
        peer.page.goto(f"{server.base_url}/test/peer.html?{urllib.parse.urlencode(q)}")
        peer.wait_ready()
        server.wait_subjects(subject)
        return peer

    yield _open

    release_peers(request, opened)


def results_of(server, pid: str, subjects, timeout: float = 12.0, settle: float = 0.5) -> list[dict]:
    q = f"/api/probe_results?probe_session_id={urllib.parse.quote(pid)}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if set(subjects) <= {r["from_subject_id"] for r in server.get(q)}:
            break
        time.sleep(0.05)
    time.sleep(settle)  # a duplicate would show up here
    return server.get(q)


def page(peer: Peer, expr: str):
    return peer.page.evaluate(f"() => {{ const P = window.__probe; return ({expr}); }}")


def errors(peer: Peer) -> list[str]:
    errs = list(page(peer, "P.errors")) + list(peer.console_errors)
    if peer.kind == "legacy":
        errs = [e for e in errs if not any(n in e for n in LEGACY_NOISE)]
    return errs


@pytest.mark.parametrize("other", ["ours", "legacy"])
@pytest.mark.parametrize("phase", ["prepared", "open", "measuring"])
def test_cancel_from_on_progress_reports_cancelled_once_and_releases_the_probe(server, peers, phase, other):
    u = uid()
    a = peers("ours", f"a-{u}", cancelOn=phase, progress=1, trackPcs=1)
    b = peers(other, f"b-{u}")
    res = server.probe(a.subject, b.subject, wait=True, timeout=15)
    pid = res["probe_session_id"]
    records = results_of(server, pid, [a.subject], settle=1.0)
    ctx = f"phase={phase} other={other}\nresult={res}\nrecords={records}"
    assert res["completed"], ctx

    mine = [r["payload"] for r in records if r["from_subject_id"] == a.subject]
    assert len(mine) == 1, f"exactly one probe_result from the cancelling page\n{ctx}"
    p = mine[0]
    assert p["success"] is False and p["rtt_ms"] is None, ctx
    assert p["error"]["code"] == "cancelled" and p["error"]["message"], ctx
    emitted = [e for e in page(a, "P.emitted") if e and e.get("probe_session_id") == pid]
    assert len(emitted) == 1, emitted
    on_result = [r for r in page(a, "P.results") if r and r.get("probe_session_id") == pid]
    assert on_result == [p], "onResult got the same object once"

    assert page(a, "P.cancelled") == [{"sid": pid, "phase": phase, "returned": True}], ctx
    # in order up to the phase the page cancelled at (a phase due in the same step of the probe,
    # `measuring` right after `open`, still comes), then `done`
    seen = [x["phase"] for x in page(a, "P.progress") if x["sid"] == pid]
    assert seen[-1] == "done" and seen[:-1] == PHASES[: len(seen) - 1] and phase in seen, f"phases {seen}\n{ctx}"
    assert len(seen) - 1 <= PHASES.index(phase) + 2, f"phases {seen}\n{ctx}"
    assert p["rtt"]["lost"] == 0, f"pings in flight at the cancel are not losses\n{ctx}"

    # released: no session, and the probe's peer connection (if it had one) is closed
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:
        if page(a, "P.manager.sessionCount") == 0 and all(
                s["signalingState"] == "closed" for s in page(a, "P.pcStates()")):
            break
        time.sleep(0.05)
    assert page(a, "P.manager.sessionCount") == 0, ctx
    states = page(a, "P.pcStates()")
    assert all(s["signalingState"] == "closed" for s in states), f"{states}\n{ctx}"
    if phase == "prepared":
        assert states == [], "cancelled before probe_start: no RTCPeerConnection was ever made"
    else:
        assert len(states) == 1, states
    assert not page(a, "P.manager.cancel(" + repr(pid) + ")"), "a finished probe: false"

    # the same pages probe again (cancelOn acts on the first probe only)
    res2 = server.probe(b.subject, a.subject, wait=True, timeout=20)
    pid2 = res2["probe_session_id"]
    records2 = results_of(server, pid2, [a.subject, b.subject])
    ctx2 = f"second probe: result={res2}\nrecords={records2}"
    assert res2["completed"] and isinstance(res2["rtt_ms"], (int, float)), ctx2
    for peer in (a, b):
        got = [r["payload"] for r in records2 if r["from_subject_id"] == peer.subject]
        assert len(got) == 1 and got[0]["success"] is True, f"{peer.subject}\n{ctx2}"
    assert [x["phase"] for x in page(a, "P.progress") if x["sid"] == pid2] == PHASES
    assert errors(a) == [], errors(a)
    assert errors(b) == [], errors(b)
    print(f"\n[cancel] at {phase} vs {other}: ours reported {p['error']}, on_complete rtt {res['rtt_ms']}, "
          f"setup {p.get('setup')}; next probe rtt {res2['rtt_ms']}")


def test_on_progress_phases_in_order_and_a_throwing_callback_is_warned_once(server, peers):
    u = uid()
    a = peers("ours", f"a-{u}", progress=1)
    b = peers("ours", f"b-{u}", progress="throw")
    for _ in range(2):
        res = server.probe(a.subject, b.subject, wait=True, timeout=15)
        pid = res["probe_session_id"]
        records = results_of(server, pid, [a.subject, b.subject])
        assert res["completed"] and isinstance(res["rtt_ms"], (int, float)), records
        for r in records:
            assert r["payload"]["success"] is True, records
        for peer in (a, b):
            seen = [x["phase"] for x in page(peer, "P.progress") if x["sid"] == pid]
            assert seen == PHASES, f"{peer.subject}: {seen}"
            t = [x["t"] for x in page(peer, "P.progress") if x["sid"] == pid]
            assert t == sorted(t)
    warned = [line for line in b.console if "onProgress threw" in line]
    assert len(warned) == 1, f"one warning for a callback that threw 12 times: {warned}"
    assert errors(a) == [] and errors(b) == [], (errors(a), errors(b))


def test_cancel_of_an_unknown_id_is_a_no_op_returning_false(server, peers):
    a = peers("ours", f"a-{uid()}")
    assert page(a, "P.manager.cancel('probe_nobody')") is False
    assert page(a, "P.manager.cancel(42)") is False
    assert page(a, "P.manager.cancel(undefined)") is False
    assert page(a, "P.manager.sessionCount") == 0
    assert errors(a) == []
