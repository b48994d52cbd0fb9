"""A room across the delay link (issue 14, part 1): 4 peers, two in each network namespace
(tests/e2e/netem_rig.py's LinkRig: the real server in namespace a, one Chromium process per
namespace, a userspace delay link between them, profile 25/25 = ~50 ms round trip). One room
run (``POST /api/room/probe_all``) must put the link's RTT in the four cells that cross it and
loopback RTT in the two pairs inside a namespace, from both sides of every pair.

Bounds: a crossing cell within 3 ms plus half its own interval's width of the UDP truth (and
within -20 %/+25 % of it), their median within 3 ms; a pair inside a namespace under 5 ms, i.e.
under a tenth of the link. Looser than the accuracy test's clean-link bound (one probe at a
time): here up to 4 probes cross the userspace link at once on 2 shared cores, and crossing
cells read 0.5-5.4 ms above the truth in runs here (median +0.7 to +3.8 ms; the +5.4 one said
±4.25). Which cell shows which RTT is what this test is about.
Needs root (namespaces): skipped when not root, FAILS as root when a prerequisite is missing.
"""
from __future__ import annotations

import os
import statistics
import sys
import urllib.parse
import uuid
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(HERE.parent / "netem"))
sys.path.insert(0, str(REPO / "scripts"))

from prereq import require  # noqa: E402

ARTIFACTS = HERE / "artifacts"
PROFILE = "25-25"
CROSS_TOL_MS = 3.0         # plus the half-width of the cell's own rtt.ci95_ms
CROSS_MEDIAN_TOL_MS = 3.0
PER_PEER = 2   # the room default
INSIDE_MAX_MS = 5.0

pytestmark = pytest.mark.ours


@pytest.fixture(scope="module")
def rig(request):
    require(namespaces=True, chromium=True, playwright=True, pkg=True)
    from netem_rig import LinkRig

    pw = request.getfixturevalue("playwright_instance")
    with LinkRig("proom%d" % (os.getpid() % 100000), log_dir=ARTIFACTS, playwright=pw) as r:
        yield r


def _open(rig, side: str, subject: str):
    """One more page on `side` (LinkRig keeps one tab per side and kind; a room needs two)."""
    page = rig.browsers[side].new_page()
    q = urllib.parse.urlencode({"client": "ours", "subject": subject})
    page.goto(f"{rig.base[side]}/test/peer.html?{q}")
    return page


def test_room_across_the_link(rig):
    import room as room_cli  # scripts/room.py: collect() and report() speak rig.get()

    truth = rig.set_link(PROFILE)
    t = truth["median_ms"]
    assert t is not None and 45 < t < 56, truth
    u = uuid.uuid4().hex[:4]
    side_of = {f"a1-{u}": "a", f"a2-{u}": "a", f"b1-{u}": "b", f"b2-{u}": "b"}
    pages = {s: _open(rig, side, s) for s, side in side_of.items()}
    try:
        for s, page in pages.items():
            page.wait_for_function("() => window.__probe && (window.__probe.ready || window.__probe.fatal)",
                                   timeout=30000)
            assert not page.evaluate("() => window.__probe.fatal"), s
        subjects = list(side_of)
        # uncounted warm-up: one probe per page (the link's first probes of a fresh page read high)
        for a, b in ((subjects[0], subjects[2]), (subjects[1], subjects[3])):
            rig.req("POST", "/api/probe", {"a": a, "b": b, "wait": True, "timeout": 20}, timeout=30)
        started = rig.req("POST", "/api/room/probe_all", {"subjects": subjects, "per_peer": PER_PEER})
        snap = rig.get(f"/api/room/{started['run_id']}?wait=60", timeout=70)
        assert snap["state"] == "done", snap
        pairs = room_cli.collect(rig, snap)
        print(f"\n[room across the link] truth {t:.2f} ms ({PROFILE}); "
              f"a1, a2 in namespace a, b1, b2 in namespace b\n" + room_cli.report(snap, pairs))

        problems, cross = [], []
        for p in pairs:
            c = p["cell"]
            if not room_cli.pair_ok(p):
                problems.append(f"{c['a']}<->{c['b']}: {c['state']}, sides {p['by_side']}")
                continue
            crossing = side_of[c["a"]] != side_of[c["b"]]
            for me in (c["a"], c["b"]):
                pl = p["by_side"][me][0]["payload"]
                r = pl["rtt_ms"]
                if pl["connection"]["type"] != "direct":
                    problems.append(f"{me} ({c['probe_session_id']}): {pl['connection']}")
                if crossing:
                    cross.append(r)
                    ci = pl["rtt"]["ci95_ms"]
                    tol = CROSS_TOL_MS + (ci[1] - ci[0]) / 2
                    if abs(r - t) > tol or not 0.8 * t < r < 1.25 * t:
                        problems.append(f"{me} -> {c['b'] if me == c['a'] else c['a']} crosses the link: "
                                        f"rtt {r} (interval {ci}) vs truth {t:.2f}, tolerance {tol:.2f}")
                elif not 0 < r < INSIDE_MAX_MS:
                    problems.append(f"{me} -> {c['b'] if me == c['a'] else c['a']} inside namespace "
                                    f"{side_of[me]}: rtt {r}, expected loopback (< {INSIDE_MAX_MS} ms)")
        assert not problems, "\n".join(problems)
        assert len(cross) == 8, cross
        assert abs(statistics.median(cross) - t) <= CROSS_MEDIAN_TOL_MS, (cross, t)
    finally:
        for page in pages.values():
            try:
                page.context.close()
            except Exception:
                pass
