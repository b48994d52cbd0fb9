"""The platform's own page code at one or both ends, many probes in a row on the same pages.

Every ``dropin`` and ``legacy`` page runs the ``ProbeManager`` object of the installed
``multi-user-gymnasium`` package's ``index.js``, cut out of that file at load time
(www/test/peer.js ``platformProbeManager``), never restated by hand: its constructor call passes
only ``{turnUsername, turnCredential}``; a drop-in page sets everything else with the package's
``configure()``. ``ours`` pages use ``attachProbeManager``.

For each configuration: 20 sequential probes on the same two pages through the real
ProbeCoordinator, alternating who the matchmaker names first. Every probe must succeed with
exactly one ``probe_result`` per side, and every ``measureRTT()`` of a drop-in page must settle
within its deadline (``measure_deadline_ms`` of the core: (pings - 1) x interval + ping timeout
+ the final getStats' grace, 2508 ms with the defaults), which the page records.
"""
from __future__ import annotations

import threading

import pytest

from test_probe import check_probe, run_probe, uid

pytestmark = pytest.mark.ours

PROBES = 20
# core::probe::measure_deadline_ms for the default options: (5 - 1) * 2 + 2000 + 500
MEASURE_DEADLINE_MS = (5 - 1) * 2.0 + 2000.0 + 500.0
# what a promise resolution and a busy 2-core machine may add to it
MEASURE_SLACK_MS = 250.0

# (initiator kind, answerer kind): "a-*" < "b-*" makes the first one the initiator.
CONFIGS = [
    pytest.param("dropin", "dropin", id="dropin-dropin"),
    pytest.param("dropin", "ours", id="dropin(init)-ours"),
    pytest.param("ours", "dropin", id="ours(init)-dropin"),
    pytest.param("dropin", "legacy", id="dropin(init)-legacy"),
    pytest.param("legacy", "dropin", id="legacy(init)-dropin"),
    pytest.param("ours", "ours", id="ours-ours"),
]


def check_measures(peer, pids: list[str]) -> list[float]:
    """A drop-in page's measureRTT() calls: one per probe, each settled within its deadline."""
    st = peer.state()
    measures = st["measures"]
    who = f"{peer.kind} {peer.subject!r}"
    assert [m["probe_session_id"] for m in measures] == pids, \
        f"{who}: measureRTT() per probe: {[m['probe_session_id'] for m in measures]} vs {pids}"
    durations = []
    for m in measures:
        assert m["ms"] is not None, f"{who}: measureRTT() never settled: {m}"
        assert m["ms"] <= MEASURE_DEADLINE_MS + MEASURE_SLACK_MS, f"{who}: measureRTT() took {m['ms']:.0f} ms: {m}"
        assert isinstance(m["rtt"], (int, float)) and m["rtt"] > 0, f"{who}: measureRTT() gave {m['rtt']}"
        durations.append(m["ms"])
    return durations


def run_series(server, a, b, n: int = PROBES) -> list[str]:
    pids = []
    for i in range(n):
        x, y = (a, b) if i % 2 == 0 else (b, a)
        res, records = run_probe(server, x, y)
        check_probe(res, records, [a, b], a)
        pids.append(res["probe_session_id"])
    return pids


@pytest.mark.parametrize("init_kind,ans_kind", CONFIGS)
def test_twenty_probes_same_pages(server, open_peer, init_kind, ans_kind):
    u = uid()
    a = open_peer(init_kind, f"a-{u}")
    b = open_peer(ans_kind, f"b-{u}")
    pids = run_series(server, a, b)
    assert len(set(pids)) == PROBES
    report = []
    for p in (a, b):
        if p.kind == "dropin":
            d = check_measures(p, pids)
            report.append(f"{p.subject} measureRTT max {max(d):.0f} ms, median {sorted(d)[len(d) // 2]:.0f} ms")
            assert p.page.evaluate("() => window.__probe.platformFlowChars") > 500, "ProbeManager not cut from index.js"
        st = p.state()
        mine = [e for e in st["emitted"] if e and e.get("probe_session_id") in pids]
        assert len(mine) == PROBES and all(e["success"] for e in mine), f"{p.subject}: {mine}"
    print(f"\n[platform flow] {init_kind}(init)-{ans_kind}: {PROBES}/{PROBES}; " + "; ".join(report))


def test_two_dropin_pairs_at_once(server, open_peer):
    u = uid()
    pairs = [(open_peer("dropin", f"a{k}-{u}"), open_peer("dropin", f"b{k}-{u}")) for k in range(2)]
    out: dict[int, list[str]] = {}
    errors: list[BaseException] = []

    def work(k: int) -> None:
        a, b = pairs[k]
        try:
            pids = []
            for i in range(PROBES):
                x, y = (a, b) if i % 2 == 0 else (b, a)
                res, records = run_probe(server, x, y)
                assert res["completed"] and isinstance(res["rtt_ms"], (int, float)), (res, records)
                for p in (a, b):
                    mine = [r["payload"] for r in records if r["from_subject_id"] == p.subject]
                    assert len(mine) == 1 and mine[0]["success"] is True, (p.subject, records)
                pids.append(res["probe_session_id"])
            out[k] = pids
        except BaseException as e:  # re-raised in the main thread
            errors.append(e)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    if errors:
        raise errors[0]
    assert sorted(out) == [0, 1]
    # page state is read from this thread only (Playwright's sync API is single-threaded)
    for k, (a, b) in enumerate(pairs):
        for p in (a, b):
            check_measures(p, out[k])
            assert p.errors() == [], f"{p.subject}: {p.errors()}"
