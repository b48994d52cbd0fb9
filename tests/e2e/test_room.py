"""The room matrix (issue 14, part 1): every pair of a room of 4 peers probed through the real
ProbeCoordinator by the server's room run (``POST /api/room/probe_all``), and the live room
page (``/room``, www/room.html) drawing it.

The 4 peers are the demo page (www/dist, built from the packed pkg/) as 4 subjects, alternating
between conftest's two Chromium processes; the live page is a passive viewer in a third
context. Each peer gets one uncounted warm-up probe first (scripts/room.py does the same).

* test_live_page_draws_every_cell: the page fills in from the server's broadcasts while the run
  goes, every off-diagonal cell ends with a number and a heatmap colour; screenshot
  tests/e2e/artifacts/room.png. Then its "Re-probe room" button runs the room again.
* test_room_results: every pair has exactly one successful probe_result per side (server side
  and onResult in each page), rtt_ms plausible on loopback (0 < rtt < 50 ms, inside its own
  interval), the matrix symmetric within reason (ASYM_* below), and never more than K sessions were in
  flight at one participant while several were in flight at once in the room.
* test_per_peer_one: the same room with K=1: at most one session per participant at any time.
No wall-clock limits.
"""
from __future__ import annotations

import re
import statistics
import sys
import urllib.parse
import uuid
from pathlib import Path

import pytest

from test_demo_page import build_dist

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
sys.path.insert(0, str(REPO / "scripts"))
import room as room_cli  # noqa: E402  (scripts/room.py: warm_up)

pytestmark = pytest.mark.ours

N = 4
K = 2
NUM = re.compile(r"^\d+\.\d\d$")
# symmetric within reason: both sides measure the same path, but on 2 shared cores one side's
# page can be starved while it measures and read high, even with a narrow interval (41 against
# 2.2, 13 against 2.65 and 27.80 ±16.11 against 1.00 were seen on loopback). So the matrix,
# not each pair: the median |row - column| over the pairs <= 5 ms, and at least 2/3 of the pairs
# agree within 5 ms plus the half-widths of both sides' rtt.ci95_ms.
ASYM_MEDIAN_MS = 5.0
ASYM_PAIR_MS = 5.0
ASYM_AGREE_SHARE = 2 / 3


class Demo:
    def __init__(self, slot, base_url, subject):
        self.subject = subject
        self.slot = slot
        self.page = slot.take_page()
        self.errors: list[str] = []
        self.page.on("pageerror", self._err)
        self.page.goto(f"{base_url}/?{urllib.parse.urlencode({'subject': subject})}")

    def _err(self, e):
        self.errors.append(f"pageerror: {e}")

    def wait_ready(self):
        self.page.wait_for_function("window.__ready === true || window.__errors.length > 0", timeout=20000)
        errs = self.page.evaluate("window.__errors")
        assert not errs, f"{self.subject}: page failed to start: {errs}"

    def results(self, pid):
        return self.page.evaluate("(pid) => window.__results.filter(r => r.probe_session_id === pid)", pid)

    def release(self):
        self.page.remove_listener("pageerror", self._err)
        self.slot.give_back(self.page)


@pytest.fixture(scope="module")
def room(server, browser_slots, browsers):
    """4 demo pages joined as subjects, warmed up, the live page open; yields a dict with the
    peers, the live page and the first room run's final snapshot (K=2, the room default)."""
    build_dist()
    u = uuid.uuid4().hex[:4]
    subjects = [f"{name}-{u}" for name in ("ana", "ben", "cleo", "dan")[:N]]
    peers = [Demo(browser_slots[i % len(browser_slots)], server.base_url, s) for i, s in enumerate(subjects)]
    ctx = browsers[0].new_context(viewport={"width": 1280, "height": 820})
    live = ctx.new_page()
    live_errors: list[str] = []
    live.on("pageerror", lambda e: live_errors.append(f"pageerror: {e}"))
    live.on("console", lambda m: m.type == "error" and live_errors.append(f"console: {m.text}"))
    try:
        for p in peers:
            p.wait_ready()
        server.wait_subjects(*subjects)
        room_cli.warm_up(_Srv(server), subjects)
        live.goto(f"{server.base_url}/room")
        live.wait_for_function("window.__room && window.__room.ready", timeout=15000)
        started = server._req("POST", "/api/room/probe_all", {"subjects": subjects, "per_peer": K})
        snap = server.get(f"/api/room/{started['run_id']}?wait=60", timeout=70)
        assert snap["state"] == "done", snap
        yield {"subjects": subjects, "peers": peers, "live": live, "live_errors": live_errors, "snap": snap,
               "server": server}
    finally:
        ctx.close()
        for p in peers:
            p.release()


class _Srv:
    """scripts/room.py's warm_up speaks demo.Server's post(); the e2e Server has _req()."""

    def __init__(self, server):
        self.server = server

    def post(self, path, body, timeout=30):
        return self.server._req("POST", path, body, timeout=timeout)


def _cells_drawn(live) -> list[dict]:
    return live.evaluate("""() => Array.from(document.querySelectorAll('#matrix td.cell')).map(td => ({
        row: td.dataset.row, col: td.dataset.col, text: td.querySelector('.v') ? td.querySelector('.v').textContent : '',
        ci: td.querySelector('.ci') ? td.querySelector('.ci').textContent : '',
        bg: getComputedStyle(td).backgroundColor, cls: td.className, rtt: td.dataset.rtt }))""")


def test_live_page_draws_every_cell(room):
    live, subjects, snap = room["live"], room["subjects"], room["snap"]
    live.wait_for_function(
        "(id) => window.__room.run && window.__room.run.run_id === id && window.__room.run.state === 'done'"
        " && window.__room.drawn === window.__room.offDiagonal", arg=snap["run_id"], timeout=15000)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    live.screenshot(path=str(ARTIFACTS / "room.png"), full_page=True)

    # it filled in from the broadcasts as the results arrived, not from one fetch at the end
    # (the server batches what arrives within one 0.1-s turn: both sides of a pair, or a side and
    # the pair's completion, can come in one room_cell, so count pairs and sides, not broadcasts)
    fills = live.evaluate("window.__room.fills")
    pairs = {frozenset((a, b)) for i, a in enumerate(subjects) for b in subjects[i + 1:]}
    most = {}
    for f in fills:
        key = frozenset((f["a"], f["b"]))
        most[key] = max(most.get(key, 0), f["sides"])
    assert {k for k, v in most.items() if v == 2} == pairs, (most, fills)
    # and at more than one moment: the matrix filled in, it was not drawn from one final message
    assert len({round(f["t"]) for f in fills if f["sides"] > 0}) > 1, fills

    cells = _cells_drawn(live)
    assert len(cells) == N * (N - 1), cells
    assert {(c["row"], c["col"]) for c in cells} == {(a, b) for a in subjects for b in subjects if a != b}
    # the rows' own results from the run, for comparing numbers
    own = {}
    for c in snap["cells"]:
        for me in (c["a"], c["b"]):
            peer = c["b"] if me == c["a"] else c["a"]
            own[(me, peer)] = c["sides"][me]["payload"]["rtt_ms"]
    for c in cells:
        where = f"cell {c['row']} -> {c['col']}"
        assert NUM.match(c["text"]), f"{where}: no number: {c}"
        assert abs(float(c["text"]) - own[(c["row"], c["col"])]) < 0.006, (c, own[(c["row"], c["col"])])
        assert re.match(r"^±\d+\.\d\d$", c["ci"]), f"{where}: no uncertainty: {c}"
        m = re.match(r"rgba?\((\d+), (\d+), (\d+)(?:, ([\d.]+))?\)", c["bg"])
        assert m and (m.group(4) is None or float(m.group(4)) > 0), f"{where}: no colour: {c}"
        assert "ok" in c["cls"].split(), f"{where}: {c}"
        assert (int(m.group(1)), int(m.group(2)), int(m.group(3))) not in {(244, 245, 247), (238, 240, 243)}, \
            f"{where}: still the pending/diagonal grey: {c}"
    # the colour follows the number: the fastest cell is greener than the slowest (when they differ)
    lo = min(cells, key=lambda c: float(c["text"]))
    hi = max(cells, key=lambda c: float(c["text"]))
    if float(hi["text"]) - float(lo["text"]) >= 0.5:
        g = lambda c: [int(x) for x in re.findall(r"\d+", c["bg"])[:3]]  # noqa: E731
        assert g(lo)[0] < g(hi)[0], (lo, hi)
    # presence: every subject listed as connected
    listed = live.evaluate("Array.from(document.querySelectorAll('#subjects li code')).map(e => e.textContent)")
    assert set(subjects) <= set(listed), listed
    summary = live.evaluate("document.getElementById('summary').textContent")
    assert f"{N * (N - 1) // 2} / {N * (N - 1) // 2}" in summary, summary
    assert not room["live_errors"], room["live_errors"]

    # the button probes the room again: a new run, filled in the page
    btn = live.locator("#reprobe-btn")
    assert btn.is_enabled()
    btn.click()
    live.wait_for_function(
        "(id) => window.__room.run && window.__room.run.run_id !== id && window.__room.run.state === 'done'",
        arg=snap["run_id"], timeout=30000)
    run2 = live.evaluate("window.__room.run")
    # the button probes whoever is connected: our 4 (and anybody another test left connected)
    assert set(subjects) <= set(run2["subjects"]), run2["subjects"]
    ours = [c for c in run2["cells"] if c["a"] in subjects and c["b"] in subjects]
    assert len(ours) == N * (N - 1) // 2, run2["cells"]
    assert all(c["state"] == "ok" and len(c["sides"]) == 2 for c in ours), [c for c in ours if c["state"] != "ok"]
    redrawn = [c for c in _cells_drawn(live) if c["row"] in subjects and c["col"] in subjects]
    assert len(redrawn) == N * (N - 1) and all(NUM.match(c["text"]) for c in redrawn), redrawn


def _check_run(room, snap, k):
    server, peers = room["server"], {p.subject: p for p in room["peers"]}
    subjects = room["subjects"]
    assert sorted(snap["subjects"]) == sorted(subjects)
    pairs = {frozenset((c["a"], c["b"])) for c in snap["cells"]}
    assert pairs == {frozenset((a, b)) for i, a in enumerate(subjects) for b in subjects[i + 1:]}, pairs
    problems, asym, agree = [], [], []
    for c in snap["cells"]:
        pid = c["probe_session_id"]
        got = server.probe_results(pid)
        if c["state"] != "ok" or not isinstance(c["rtt_ms"], (int, float)):
            problems.append(f"{c['a']}<->{c['b']}: pair {c['state']}, on_complete rtt {c['rtt_ms']}")
        rtts, halfwidth = {}, {}
        for me in (c["a"], c["b"]):
            mine = [r for r in got if r["from_subject_id"] == me]
            if len(mine) != 1:
                problems.append(f"{me} ({pid}): {len(mine)} probe_results at the server")
                continue
            pl = mine[0]["payload"]
            if pl.get("success") is not True:
                problems.append(f"{me} ({pid}): failed {pl.get('error')}")
                continue
            r = pl["rtt_ms"]
            rtts[me] = r
            if not (isinstance(r, (int, float)) and 0 < r < 50):
                problems.append(f"{me} ({pid}): rtt_ms {r} not plausible on loopback")
            ci = (pl.get("rtt") or {}).get("ci95_ms")
            if not (isinstance(ci, list) and ci[0] <= r <= ci[1]):
                problems.append(f"{me} ({pid}): rtt_ms {r} outside its interval {ci}")
            else:
                halfwidth[me] = (ci[1] - ci[0]) / 2
            if (pl.get("connection") or {}).get("type") != "direct":
                problems.append(f"{me} ({pid}): connection {pl.get('connection')}")
            on_page = peers[me].results(pid)
            if len(on_page) != 1 or on_page[0].get("rtt_ms") != r:
                problems.append(f"{me} ({pid}): onResult called {len(on_page)} time(s) on the page")
        if len(rtts) == 2:
            a, b = rtts.values()
            asym.append(abs(a - b))
            if abs(a - b) <= ASYM_PAIR_MS + sum(halfwidth.values()):
                agree.append((c["a"], c["b"]))
    # in flight per participant: create_probe -> its own probe_result, from the run's timeline
    spans = {s: [] for s in subjects}
    for c in snap["cells"]:
        for me in (c["a"], c["b"]):
            side = c["sides"].get(me)
            if side:
                spans[me].append((c["started_ms"], side["ms"]))
    peak = {}
    for s, iv in spans.items():
        marks = sorted([(t0, 1) for t0, _ in iv] + [(t1, -1) for _, t1 in iv], key=lambda m: (m[0], m[1]))
        level = top = 0
        for _, d in marks:
            level += d
            top = max(top, level)
        peak[s] = top
    sessions = sorted([(c["started_ms"], 1) for c in snap["cells"]]
                      + [(max(x["ms"] for x in c["sides"].values()), -1) for c in snap["cells"] if c["sides"]],
                      key=lambda m: (m[0], m[1]))
    level = room_peak = 0
    for _, d in sessions:
        level += d
        room_peak = max(room_peak, level)
    if len(asym) == len(snap["cells"]):
        if statistics.median(asym) > ASYM_MEDIAN_MS or len(agree) < ASYM_AGREE_SHARE * len(asym):
            problems.append(f"the matrix is not symmetric: |row - column| per pair {sorted(asym)}, "
                            f"{len(agree)} of {len(asym)} pairs agree within {ASYM_PAIR_MS} ms + their intervals")
    assert not problems, "\n".join(problems)
    assert max(peak.values()) <= k, f"more than K={k} sessions in flight at one participant: {peak}"
    return peak, room_peak


def test_room_results(room):
    peak, room_peak = _check_run(room, room["snap"], K)
    # with K=2 in a room of 4, several pairs ran at once, and some participant had more than one
    assert room_peak >= 2, f"no two sessions were ever in flight at once: {room['snap']['cells']}"
    assert max(peak.values()) >= 2, peak
    assert not [e for p in room["peers"] for e in p.errors]


def test_per_peer_one(room):
    server = room["server"]
    started = server._req("POST", "/api/room/probe_all", {"subjects": room["subjects"], "per_peer": 1})
    snap = server.get(f"/api/room/{started['run_id']}?wait=60", timeout=70)
    assert snap["state"] == "done", snap
    peak, room_peak = _check_run(room, snap, 1)
    assert max(peak.values()) == 1, peak
    assert room_peak >= 2, "disjoint pairs should still run at once with K=1"
