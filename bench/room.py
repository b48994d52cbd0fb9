#!/usr/bin/env python3
"""Room benchmark: time to fill the latency matrix of a room, ours vs the legacy client, same run.

    .venv/bin/python bench/room.py [--room 6] [--rounds 3] [--ours-k 2,1] [--legacy-k 1]
                                   [--no-legacy] [--json out.json]

Starts server/app.py (the real ProbeCoordinator) on a free 127.0.0.1 port and two headless
Chromium processes, and opens www/test/peer.html as N subjects with ``client=ours`` (our
package's attachProbeManager) and N more with ``client=legacy`` (the legacy ProbeConnection
and the platform's own ProbeManager, both from the installed multi-user-gymnasium wheel; its
public STUN/TURN hosts are dropped by www/test/instrument.js, so ICE is host-only on loopback
for both). Each room gets one uncounted warm-up probe per page. Then, for ``--rounds`` rounds,
it runs one room run (``POST /api/room/probe_all``: all N(N-1)/2 pairs through create_probe,
at most K in flight per participant) per configuration, the configurations' order rotating from
round to round:

* ours with each K of ``--ours-k`` (default 2 = the room default, and 1);
* legacy with ``--legacy-k`` (default 1: the legacy page holds one probe at a time; a second
  probe_prepare closes the first).

Prints per configuration: time to fill the matrix (run start -> last pair's on_complete;
median, min, max over the rounds), failures, the rtt_ms reported (median / p90 / max over all
sides of all rounds) and the share read from the ICE stats; then the ratio legacy / ours of the
median fill times. Numbers only, no assertions. On a shared 2-core machine the figures move
with whatever else runs: compare configurations of the same run.
"""
from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "scripts"))
import demo  # noqa: E402
import room  # noqa: E402


def quantile(v, q):
    v = sorted(v)
    if not v:
        return None
    pos = (len(v) - 1) * q
    i = int(pos)
    return v[i] + (pos - i) * (v[i + 1] - v[i]) if i + 1 < len(v) else v[i]


def fmt(v, d=2):
    return f"{v:.{d}f}" if isinstance(v, (int, float)) else "-"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    ap.add_argument("--room", type=int, default=6)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--ours-k", default=f"{room.DEFAULT_K},1", help="comma-separated K values for ours")
    ap.add_argument("--legacy-k", type=int, default=1)
    ap.add_argument("--no-legacy", action="store_true")
    ap.add_argument("--browsers", type=int, default=2)
    ap.add_argument("--json", metavar="PATH")
    args = ap.parse_args(argv)
    if not (2 <= args.room <= 8):
        ap.error("--room must be 2..8")
    ours_k = [int(k) for k in args.ours_k.split(",") if k.strip()]
    from playwright.sync_api import sync_playwright

    tag = uuid.uuid4().hex[:4]
    configs = [("ours", k) for k in ours_k] + ([] if args.no_legacy else [("legacy", args.legacy_k)])
    subjects = {kind: [f"{kind[0]}{i}-{tag}" for i in range(args.room)] for kind in {c[0] for c in configs}}
    workdir = Path(tempfile.mkdtemp(prefix="p2p-probe-bench-room-"))
    server = demo.Server(demo.free_port(), workdir / "server.log")
    runs: dict[tuple, list[dict]] = {c: [] for c in configs}
    browsers = None
    try:
        server.start()
        with sync_playwright() as pw:
            try:
                browsers = room.Browsers(pw, args.browsers)
                for kind, subs in subjects.items():
                    room.open_room(browsers, server, subs, kind)
                    room.warm_up(server, subs)
                print(f"room of {args.room}, {args.rounds} round(s); pages: www/test/peer.html over "
                      f"{args.browsers} Chromium processes; configurations: "
                      + ", ".join(f"{k} K={v}" for k, v in configs), flush=True)
                for r in range(args.rounds):
                    order = configs[r % len(configs):] + configs[:r % len(configs)]
                    for kind, k in order:
                        snap = room.run_room(server, subjects[kind], k)
                        pairs = room.collect(server, snap)
                        ok = sum(room.pair_ok(p) for p in pairs)
                        runs[(kind, k)].append({"snap": snap, "pairs": pairs, "ok": ok})
                        print(f"  round {r + 1}: {kind:6} K={k}: filled in {fmt(snap['filled_ms'], 0)} ms, "
                              f"{ok}/{len(pairs)} pairs ok, up to {snap['max_in_flight_total']} at once", flush=True)
                        time.sleep(0.5)
            finally:
                if browsers is not None:
                    browsers.close()
    finally:
        server.stop()
        shutil.rmtree(workdir, ignore_errors=True)

    print(f"\ntime to fill the {args.room}x{args.room} matrix ({args.room * (args.room - 1) // 2} pairs; "
          f"run start -> last on_complete), {args.rounds} round(s) each:")
    print(f"  {'client':<8}{'K':>3}{'median ms':>11}{'min':>8}{'max':>8}{'pairs ok':>10}"
          f"{'rtt med':>9}{'p90':>8}{'max':>8}{'stats %':>9}")
    med = {}
    for c in configs:
        rs = runs[c]
        fills = [x["snap"]["filled_ms"] for x in rs if x["snap"]["filled_ms"] is not None]
        rtts, stats = [], 0
        for x in rs:
            for p in x["pairs"]:
                for s in (p["cell"]["a"], p["cell"]["b"]):
                    for e in p["by_side"][s]:
                        pl = e["payload"]
                        if pl.get("success") and isinstance(pl.get("rtt_ms"), (int, float)):
                            rtts.append(pl["rtt_ms"])
                            stats += (pl.get("rtt") or {}).get("source") == "stats"
        ok = sum(x["ok"] for x in rs)
        total = sum(len(x["pairs"]) for x in rs)
        med[c] = statistics.median(fills) if fills else None
        src = f"{100.0 * stats / len(rtts):.0f}" if c[0] == "ours" and rtts else "-"
        print(f"  {c[0]:<8}{c[1]:>3}{fmt(med[c], 0):>11}{fmt(min(fills) if fills else None, 0):>8}"
              f"{fmt(max(fills) if fills else None, 0):>8}{f'{ok}/{total}':>10}{fmt(quantile(rtts, .5)):>9}"
              f"{fmt(quantile(rtts, .9)):>8}{fmt(max(rtts) if rtts else None):>8}{src:>9}")
    leg = [c for c in configs if c[0] == "legacy"]
    if leg:
        for c in configs:
            if c[0] == "ours" and med.get(c) and med.get(leg[0]):
                print(f"  ratio legacy K={leg[0][1]} / ours K={c[1]}: {med[leg[0]] / med[c]:.1f}x")
    print("  (legacy reports only rtt_ms; 'stats %' = ours' results whose rtt_ms is the ICE round trip)")
    if args.json:
        Path(args.json).write_text(json.dumps(
            {f"{k}-K{v}": [{"snap": x["snap"], "probe_results": [p["received"] for p in x["pairs"]]} for x in runs[(k, v)]]
             for k, v in configs}, indent=1))
        print(f"  raw runs written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
