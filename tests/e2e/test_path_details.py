"""The path behind each number, across a real link: loss by direction on the lossy-uplink
profile (tests/netem/profiles.py: 25/25 ms, 20 % loss a->b, none b->a).

The REAL server runs in namespace a, one Chromium page per namespace (tests/e2e/netem_rig.py).
Our pongs carry ``"rx": N`` (the peer's pings received so far on the connection), from which
each side splits its lost pings into ``rtt.lost_out`` (the peer never got the ping) and
``rtt.lost_back`` (the peer answered, the pong was lost):

* side a pings across the lossy direction: only its results show losses on the way out;
* side b's pings cross the clean direction, its pongs come back across the lossy one: its
  losses are on the way back, never out;
* against the legacy client (no ``rx`` in its pongs) both figures are null, never guessed.

Also checked on every result: ``lost_out + lost_back <= lost``, the ``setup`` split adds up to
``setup_ms`` where the browser reported every step, and the connection's address families.

Needs root (namespaces): skipped when not root, FAILS as root when a prerequisite is missing.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "netem"))

from prereq import require  # noqa: E402

ARTIFACTS = HERE / "artifacts"
N = int(os.environ.get("P2P_PATH_N", "10"))

pytestmark = pytest.mark.ours


@pytest.fixture(scope="module")
def rig(request):
    require(namespaces=True, chromium=True, playwright=True, pkg=True)
    from netem_rig import LinkRig

    pw = request.getfixturevalue("playwright_instance")
    with LinkRig("ppath%d" % (os.getpid() % 100000), log_dir=ARTIFACTS, playwright=pw) as r:
        truth = r.set_link("lossy-uplink")
        print(f"\n[path] lossy-uplink truth {truth['median_ms']} ms "
              f"({truth['received']}/{truth['count']} echoes)")
        yield r


def _payloads(runs, subject):
    out = []
    for run in runs:
        mine = run.payloads.get(subject, [])
        assert len(mine) == 1, f"{subject}: {len(mine)} probe_results for {run.probe_session_id}: {run.payloads}"
        out.append(mine[0])
    return out


def _check_shape(p, who):
    rtt = p["rtt"]
    assert p["success"] is True, f"{who}: {p}"
    if rtt["lost_out"] is not None:
        assert rtt["lost_out"] + rtt["lost_back"] <= rtt["lost"], f"{who}: {rtt}"
    setup = p["setup"]
    parts = [setup[k] for k in ("signaling_ms", "ice_ms", "dtls_ms", "channel_ms")]
    if all(isinstance(x, (int, float)) for x in parts):
        assert abs(sum(parts) - p["setup_ms"]) <= 0.05, f"{who}: {setup} vs setup_ms {p['setup_ms']}"
    conn = p["connection"]
    assert conn["type"] == "direct" and conn["relay_host"] is None and conn["relay_protocol"] is None, conn
    # the remote end may be an mDNS name (no family): never a guess
    assert conn["local_address_family"] == "ipv4" and conn["remote_address_family"] in ("ipv4", None), conn


def test_loss_is_reported_in_the_direction_it_happens(rig):
    a, b = rig.pair("ours")
    warm = rig.probe(a, b, settle=0)
    assert warm.ok, f"warm-up probe failed: {warm.result} {warm.payloads}"
    runs = rig.refresh([rig.probe(a, b, settle=0) for _ in range(N)])
    assert all(r.ok for r in runs), [r.result for r in runs]
    pa, pb = _payloads(runs, a.subject), _payloads(runs, b.subject)
    for p in pa:
        _check_shape(p, "a")
    for p in pb:
        _check_shape(p, "b")
    tot = {}
    for side, ps in (("a", pa), ("b", pb)):
        # ours on both ends: the split is known whenever a pong came back at all (SCTP bundles a
        # burst's pongs into one packet: on this link all five can go at once, and with no word
        # from the peer the figures stay null)
        for p in ps:
            known = p["rtt"]["lost_out"] is not None and p["rtt"]["lost_back"] is not None
            assert known or p["rtt"]["samples"] == 0, f"{side}: {p['rtt']}"
        tot[side] = {k: sum(p["rtt"][k] or 0 for p in ps) for k in ("sent", "lost", "lost_out", "lost_back")}
    print(f"\n[path] lossy-uplink, {N} probes: side a (pings a->b, 20 % lost) {tot['a']}; "
          f"side b (pongs a->b) {tot['b']}")
    print(f"[path] per probe a: {[(p['rtt']['sent'], p['rtt']['lost'], p['rtt']['lost_out'], p['rtt']['lost_back']) for p in pa]}")
    print(f"[path] per probe b: {[(p['rtt']['sent'], p['rtt']['lost'], p['rtt']['lost_out'], p['rtt']['lost_back']) for p in pb]}")
    print(f"[path] setup a: {[p['setup'] for p in pa[:3]]}")
    # a's pings cross the lossy direction, b's pings the clean one
    # Side a's pings cross the lossy direction: losses on the way out show only there. Side b's
    # pings cross the clean one: the peer got them all, so b's losses are its pongs (lost a->b)
    # and never on the way out. "Back" also shows on side a now and then, correctly: the peer got
    # the ping but its pong did not come in time (its SCTP holds b's sends while b's acks are lost
    # a->b). Pings whose fate no later pong told (mostly the last of a series) are in neither.
    # Runs: a out 7 / back 2, b out 0 / back 4; a 2 / 2, b 0 / 5; a 6 / 2, b 0 / 4 (12 probes).
    assert tot["a"]["lost_out"] > 0, tot
    assert tot["b"]["lost_out"] == 0, f"b's pings cross the clean direction: {tot}"
    assert tot["b"]["lost_back"] > 0, tot


def test_against_the_legacy_client_the_directional_figures_are_null(rig):
    a = rig.open_peer("a", "ours")
    b = rig.open_peer("b", "legacy")
    runs = rig.refresh([rig.probe(a, b, settle=0) for _ in range(3)])
    assert all(r.ok for r in runs), [r.result for r in runs]
    pa = _payloads(runs, a.subject)
    for p in pa:
        _check_shape(p, "a vs legacy")
        assert p["rtt"]["lost_out"] is None and p["rtt"]["lost_back"] is None, p["rtt"]
    print(f"\n[path] vs legacy: side a lost {[p['rtt']['lost'] for p in pa]}, split null")
