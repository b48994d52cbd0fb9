"""Concurrency (issue 6): one page probes 8 peers at once.

The hub (``client=ours`` on www/test/rel.html) lives in Chromium process 0 (conftest's
``browsers``); its 8 peers are spread over Chromium process 1 and two extra Chromium processes
launched here, several pages each. All 8 probes are created back to back through the real
server (8 sessions in flight at the hub), and all 16 results must succeed, each session on its own
RTCPeerConnection. The slowest time-to-result against a single probe's is printed (a benchmark
figure, not asserted). Run with ``-s`` to see it.

The same schedule first runs with ``client=bare`` on hub and peers (www/test/rel.js: a
bare-bones JS client that reports the getStats RTT the moment the channel opens, no pings, no
checks): the floor this machine allows, printed beside ours. Its only assertion is that all 16
of its results arrived.
"""
from __future__ import annotations

import collections
import os
import statistics
import threading
import time

import pytest

from conftest import CHROMIUM, CHROMIUM_ARGS, BrowserSlot
from test_probe import check_probe, run_probe, uid
from test_reliability import Opener, assert_sane_success, clean, exactly_once, page_results, times

pytestmark = pytest.mark.ours

N_PEERS = 8
EXTRA_BROWSERS = 2
_figures: dict = {}


@pytest.fixture(scope="module")
def extra_slots(playwright_instance):
    launched = [playwright_instance.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
                for _ in range(EXTRA_BROWSERS)]
    slots = [BrowserSlot(b) for b in launched]
    yield slots
    for s in slots:
        try:
            s.context.close()
        except Exception:
            pass
    for b in launched:
        b.close()


@pytest.fixture
def rel4(server, browser_slots, extra_slots, request):
    """An Opener over 4 Chromium processes: conftest's two + the two extra ones."""
    opener = Opener(server, list(browser_slots) + list(extra_slots), request)
    yield opener
    opener.finish()


class _Profile:
    """With ``P2P_CONC_PROFILE=1``: the CPU time every process on the machine used over the
    8-at-once run (from creating the probes to the last result + 0.5 s), and a V8 CPU profile of
    the hub page (Chrome DevTools Protocol) printed as its main thread's busy time and where it
    went, by function (self time). Off by default: the profiler itself costs the page time."""

    def __init__(self, page):
        self.cdp = None
        if os.environ.get("P2P_CONC_PROFILE"):
            self.cpu0 = _cpu_by_command()
            self.t0 = time.monotonic()
            self.cdp = page.context.new_cdp_session(page)
            self.cdp.send("Profiler.enable")
            self.cdp.send("Profiler.setSamplingInterval", {"interval": 200})
            self.cdp.send("Profiler.start")

    def report(self, label):
        if self.cdp is None:
            return
        wall = time.monotonic() - self.t0
        cpu1 = _cpu_by_command()
        used = {k: cpu1[k] - self.cpu0.get(k, 0.0) for k in cpu1}
        print(f"\n  [profile {label}] CPU time of the machine's processes over {wall * 1000:.0f} ms (2 cores: "
              f"{2000 * wall:.0f} ms available): " + ", ".join(
                  f"{k} {v * 1000:.0f} ms" for k, v in sorted(used.items(), key=lambda kv: -kv[1]) if v > 0.005))
        prof = self.cdp.send("Profiler.stop")["profile"]
        self.cdp.detach()
        nodes = {n["id"]: n for n in prof["nodes"]}
        by = collections.Counter()
        for nid, dt in zip(prof["samples"], prof["timeDeltas"]):
            cf = nodes[nid]["callFrame"]
            url = cf.get("url", "").rsplit("/", 1)[-1]
            by[f"{cf.get('functionName') or '(anonymous)'} {url}:{cf.get('lineNumber', -1) + 1}".strip()] += dt / 1000.0
        span = (prof["endTime"] - prof["startTime"]) / 1000.0
        idle = sum(v for k, v in by.items() if k.startswith("(idle)"))
        print(f"\n  [profile {label}] hub main thread over {span:.0f} ms: busy {span - idle:.0f} ms; by self time:")
        for k, v in by.most_common(25):
            if not k.startswith("(idle)"):
                print(f"    {v:7.1f} ms  {k}")


def _cpu_by_command() -> dict:
    """CPU seconds (user + system) so far of every process on the machine, summed by command
    name (/proc; processes that ended in between are missed)."""
    out = collections.Counter()
    tick = os.sysconf("SC_CLK_TCK")
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                raw = f.read()
        except OSError:
            continue
        name = raw[raw.index("(") + 1:raw.rindex(")")]
        fields = raw[raw.rindex(")") + 2:].split()
        out[name] += (int(fields[11]) + int(fields[12])) / tick
    return out


def _cast(rel4, kind):
    u = uid()
    hub = rel4(kind, f"m-{u}", browser=0)
    # peers "a*" sort before the hub (the hub answers), "z*" after (the hub initiates)
    ids = [f"a{i}-{u}" if i < N_PEERS // 2 else f"z{i}-{u}" for i in range(N_PEERS)]
    peers = [rel4(kind, pid, browser=1 + i % 3) for i, pid in enumerate(ids)]
    procs = {p.subject: 1 + i % 3 for i, p in enumerate(peers)}
    return hub, ids, peers, procs


def _create_together(server, hub, peers):
    """8 probes created back to back from threads; returns {peer subject: probe_session_id}."""
    pids: dict[str, str] = {}
    errors: list[str] = []

    def create(p):
        try:
            pids[p.subject] = server.probe(hub.subject, p.subject, wait=False)["probe_session_id"]
        except Exception as e:  # pragma: no cover
            errors.append(f"{p.subject}: {e}")

    barrier = threading.Barrier(len(peers))

    def create_together(p):
        barrier.wait()
        create(p)

    threads = [threading.Thread(target=create_together, args=(p,)) for p in peers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    return pids


def _wait_results(server, hub, peers, pids):
    results = {p.subject: server.get(f"/api/probes/{pids[p.subject]}?wait=20", timeout=30) for p in peers}
    hub.page.wait_for_function(
        "(pids) => pids.every(pid => window.__probe.results.some(r => r.probe_session_id === pid))",
        arg=list(pids.values()), timeout=20000)
    for p in peers:
        p.page.wait_for_function("(pid) => window.__probe.results.some(r => r.probe_session_id === pid)",
                                 arg=pids[p.subject], timeout=20000)
    time.sleep(0.5)
    return results


def test_bare_reference_8_at_once(server, rel4):
    hub, ids, peers, procs = _cast(rel4, "bare")
    single = []
    for p in (peers[0], peers[-1], peers[1]):
        res = server.probe(hub.subject, p.subject, wait=True, timeout=15)
        assert res["completed"] and isinstance(res["rtt_ms"], (int, float)), res
        hub.page.wait_for_function("(pid) => (window.__probe.times[pid] || {}).result !== undefined",
                                   arg=res["probe_session_id"], timeout=10000)
        t = times(hub, res["probe_session_id"])
        single.append(t["result"] - t["prepare"])
        time.sleep(0.2)
    prof = _Profile(hub.page)
    pids = _create_together(server, hub, peers)
    results = _wait_results(server, hub, peers, pids)
    prof.report("bare")
    for p in peers:
        assert results[p.subject]["completed"], results[p.subject]
    hub_times = [times(hub, pids[p.subject])["result"] - times(hub, pids[p.subject])["prepare"] for p in peers]
    _figures["bare"] = (statistics.median(single), max(hub_times))
    print(f"\n[concurrency] bare-bones JS reference: single median {statistics.median(single):.0f} ms, "
          f"8 at once slowest {max(hub_times):.0f} ms = {max(hub_times) / statistics.median(single):.1f}x")


def test_one_page_probes_8_peers_at_once(server, rel4):
    hub, ids, peers, procs = _cast(rel4, "ours")
    # baseline: single probes, one at a time (hub time-to-result: probe_prepare -> onResult)
    single, single_srv = [], []
    for p in (peers[0], peers[-1], peers[1]):
        res, records = run_probe(server, hub, p)
        check_probe(res, records, [hub, p], p if p.subject < hub.subject else hub)
        t = times(hub, res["probe_session_id"])
        single.append(t["result"] - t["prepare"])
        single_srv.append(res["elapsed_ms"])

    pcs0 = hub.page.evaluate("() => window.__probe.counts.pcs")
    prof = _Profile(hub.page)
    pids = _create_together(server, hub, peers)
    results = _wait_results(server, hub, peers, pids)
    prof.report("ours")

    # all 16 results succeed, exactly once each, each on its own session and connection
    assert len(set(pids.values())) == N_PEERS, pids
    hub_times = {}
    for p in peers:
        pid = pids[p.subject]
        res = results[p.subject]
        assert res["completed"] and isinstance(res["rtt_ms"], (int, float)), res
        for who in (hub, p):
            r = exactly_once(server, who, pid)
            assert_sane_success(r, f"{who.subject} ({pid})")
            assert r["connection"]["type"] == "direct", r
        t = times(hub, pid)
        hub_times[p.subject] = t["result"] - t["prepare"]
        clean(p)
    clean(hub)
    pcs = hub.page.evaluate("() => window.__probe.counts.pcs") - pcs0
    assert pcs == N_PEERS, f"the hub made {pcs} RTCPeerConnections for {N_PEERS} sessions"
    hub.page.wait_for_function("() => window.__probe.manager.sessionCount === 0", timeout=5000)

    # sessions in flight at the hub: the most [probe_prepare, onResult] intervals that overlap
    spans = [times(hub, pids[p.subject]) for p in peers]
    marks = sorted([(t["prepare"], 1) for t in spans] + [(t["result"], -1) for t in spans],
                   key=lambda m: (m[0], m[1]))
    in_flight = level = 0
    for _, d in marks:
        level += d
        in_flight = max(in_flight, level)
    assert in_flight == N_PEERS, f"only {in_flight} sessions were in flight at once at the hub: {spans}"

    slowest = max(hub_times, key=hub_times.get)
    srv = [results[p.subject]["elapsed_ms"] for p in peers]
    print(f"\n[concurrency] hub {hub.subject} (process 0), {N_PEERS} peers over processes "
          f"{sorted(set(procs.values()))}; sessions in flight at once at the hub: {in_flight}")
    print(f"  single probe, hub time-to-result: {', '.join(f'{x:.0f}' for x in single)} ms "
          f"(median {statistics.median(single):.0f}); server create->on_complete "
          f"{', '.join(f'{x:.0f}' for x in single_srv)} ms")
    print(f"  8 at once, hub time-to-result: " + ", ".join(f"{hub_times[s]:.0f}" for s in ids)
          + f" ms; slowest {hub_times[slowest]:.0f} ms ({slowest}, process {procs[slowest]}) = "
          f"{hub_times[slowest] / statistics.median(single):.1f}x the single median")
    print(f"  8 at once, server create->on_complete: median {statistics.median(srv):.0f} ms, max {max(srv):.0f} ms")
    print("  hub setup_ms / measure_ms per peer: " + ", ".join(
        f"{page_results(hub, pids[s])[0]['setup_ms']:.0f}/{page_results(hub, pids[s])[0]['measure_ms']:.0f}" for s in ids))
    print("  hub rtt_ms per peer: " + ", ".join(
        f"{page_results(hub, pids[s])[0]['rtt_ms']}" for s in ids))
    # what the measurement phase did: answers / pings sent, chained samples, fastest and median
    # answer, the ICE mean, the source of rtt_ms
    def series(r):
        x = r.get("rtt") or {}
        return (f"{x.get('samples')}/{x.get('sent')} ch {x.get('chained')} min {x.get('min_ms')} "
                f"med {x.get('median_ms')} ice {x.get('transport_ms')} {x.get('source')}")
    print("  hub series per peer: " + "; ".join(series(page_results(hub, pids[s])[0]) for s in ids))
    if "bare" in _figures:
        bs, bw = _figures["bare"]
        print(f"  side by side, slowest of 8 / single median: ours {hub_times[slowest] / statistics.median(single):.1f}x "
              f"({hub_times[slowest]:.0f} / {statistics.median(single):.0f} ms), bare-bones JS {bw / bs:.1f}x "
              f"({bw:.0f} / {bs:.0f} ms)")
