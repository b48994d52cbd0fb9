#!/usr/bin/env python3
"""RTT accuracy across a delayed link: our client and the legacy client vs UDP ground truth.

    sudo .venv/bin/python bench/accuracy.py [--n 20] [--kinds ours,legacy] [--json out.json]

Needs root (network namespaces). The REAL server (server/app.py) runs in namespace a, one
peer page per namespace in two separate Chromium processes (tests/e2e/netem_rig.py); the
link is reconfigured in place to each setting of issue 5:

    25/25 ms | 10/90 ms (asymmetric) | 25/25 ms with +-5 ms jitter and 5 % loss each way

For each: UDP echo ground truth first (tests/netem/udp_echo.py, both ends SCHED_FIFO like the
forwarder; also once without real-time priority, to show what host scheduling adds), then
N probes with ``client=ours`` (iceServers [], the library defaults; on the jitter/loss link
20 pings and a 500 ms ping timeout) and N with ``client=legacy`` (mug's probe_connection.js,
its own defaults: 5 pings 100 ms apart, Date.now()). The RTT of a client is the median of
the rtt_ms of every probe_result (both sides); "offset" = that median - UDP truth.
"failed probes (results)": probes whose on_complete got None, and in brackets the
probe_results (two per probe) with success false.
"ping median / min": medians over our payloads of rtt.median_ms / rtt.min_ms (the
data-channel series). The jitter link lets packets overtake (each packet's delay drawn
independently, so the sparse UDP echoes are the truth for bursty traffic too);
--fifo-jitter keeps order per direction instead (see LINKS in tests/e2e/netem_rig.py).

No assertions; tests/e2e/test_accuracy.py holds our client to the bounds.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests" / "e2e"))
sys.path.insert(0, str(REPO / "tests" / "netem"))

from prereq import missing  # noqa: E402


def fmt(x, nd=1, signed=False):
    if x is None:
        return "-"
    return ("%+.*f" if signed else "%.*f") % (nd, x)


def run(args) -> dict:
    from netem_rig import LINKS, LinkRig, summarize

    kinds = [k for k in args.kinds.split(",") if k]
    out = {"n": args.n, "kinds": kinds, "links": []}
    links = [link for link in LINKS if not args.links or link["slug"] in args.links.split(",")]
    log_dir = Path(args.log_dir)
    with LinkRig(args.name, log_dir=log_dir, truth_count=args.truth_count) as rig:
        out["browser"] = "Chromium " + rig.browsers["a"].version
        for link in links:
            reorder = link["allow_reorder"] and not args.fifo_jitter
            truth = rig.set_link(link["delay_ab"], link["delay_ba"], jitter=link["jitter"],
                                 loss=link["loss"], seed=args.seed, allow_reorder=reorder)
            truth_nort = rig.udp_truth(rt=False)
            row = {"link": link["id"] + (" FIFO" if link["jitter"] and not reorder else ""),
                   "slug": link["slug"], "truth": truth, "truth_no_rt": truth_nort, "clients": {}}
            for kind in kinds:
                opts = {**link["opts"], **json.loads(args.opts)} if kind != "legacy" else {}
                a, b = rig.pair(kind, **opts)
                runs = []
                for i in range(args.warmup + args.n):
                    r = rig.probe(a, b, timeout=args.timeout)
                    if i >= args.warmup:
                        runs.append(r)
                    rtts = [p.get("rtt_ms") for ps in r.payloads.values() for p in ps]
                    mark = "warmup" if i < args.warmup else "%d/%d" % (i - args.warmup + 1, args.n)
                    print("  %-14s %-6s %7s: on_complete=%s payload rtt_ms=%s (%.1f s)"
                          % (link["id"], kind, mark, r.result.get("rtt_ms"), rtts, r.wall_s),
                          file=sys.stderr)
                s = summarize(kind, runs)
                s["offset_ms"] = (None if s["rtt_median_ms"] is None
                                  else round(s["rtt_median_ms"] - truth["median_ms"], 3))
                s["page_errors"] = [e for p in (a, b) for e in p.state()["errors"]]
                row["clients"][kind] = s
            row["link_stats"] = rig.link.stats()
            out["links"].append(row)
    return out


def table(out: dict) -> str:
    kinds = out["kinds"]
    hdr = ["link", "UDP truth", "truth no-RT"]
    for k in kinds:
        hdr += [f"{k} median (p90)", f"{k} offset"]
        if k != "legacy":
            hdr += [f"{k} ping median / min", f"{k} jitter / lost"]
    hdr += ["failed probes (results) " + "/".join(kinds)]
    rows = [hdr]
    for row in out["links"]:
        t = row["truth"]
        cells = [row["link"], f"{fmt(t['median_ms'], 2)} ms", f"{fmt(row['truth_no_rt']['median_ms'], 2)} ms"]
        fails = []
        for k in kinds:
            s = row["clients"][k]
            cells += [f"{fmt(s['rtt_median_ms'])} ({fmt(s['rtt_p90_ms'])})", fmt(s["offset_ms"], 2, True)]
            if k != "legacy":
                cells += [f"{fmt(s['ping_median_ms'])} / {fmt(s['ping_min_median_ms'])}",
                          f"{fmt(s['jitter_median_ms'], 2)} / {s['pings_lost']}/{s['pings_sent']}"]
            fails.append(f"{s['failed']}/{s['n']} ({s['payloads_failed']}/{s['payloads']})")
        cells.append(" ".join(fails))
        rows.append(cells)
    widths = [max(len(str(r[i])) for r in rows) for i in range(len(hdr))]
    lines = ["| " + " | ".join(str(c).ljust(w) for c, w in zip(r, widths)) + " |" for r in rows]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=20, help="probes per link and client (default 20)")
    ap.add_argument("--warmup", type=int, default=1, help="uncounted probes first (default 1)")
    ap.add_argument("--kinds", default="ours,legacy", help="comma list of ours,legacy,dropin")
    ap.add_argument("--links", default="", help="comma list of 25-25,10-90,25-25-jitter5-loss5 (default all)")
    ap.add_argument("--opts", default="{}", help='JSON merged into our options, e.g. \'{"pingIntervalMs": 10}\'')
    ap.add_argument("--timeout", type=float, default=20.0, help="s per probe")
    ap.add_argument("--truth-count", type=int, default=200, help="UDP echoes per truth measurement")
    ap.add_argument("--seed", type=int, default=None, help="loss/jitter RNG seed")
    ap.add_argument("--fifo-jitter", action="store_true",
                    help="jitter link keeps packet order per direction (a packet waits behind a "
                         "more delayed one); default: packets overtake, each delay independent")
    ap.add_argument("--name", default="pbacc%d" % (os.getpid() % 10000))
    ap.add_argument("--log-dir", default=str(REPO / "tests" / "e2e" / "artifacts" / "bench-accuracy"))
    ap.add_argument("--json", help="write all numbers here")
    args = ap.parse_args(argv)
    if os.geteuid() != 0:
        print("bench/accuracy.py needs root (network namespaces)", file=sys.stderr)
        return 2
    lacking = missing(namespaces=True, chromium=True, playwright=True,
                      pkg="ours" in args.kinds or "dropin" in args.kinds)
    if lacking:
        print("missing: " + ", ".join(lacking), file=sys.stderr)
        return 2
    t0 = time.monotonic()
    out = run(args)
    out["wall_s"] = round(time.monotonic() - t0, 1)
    print()
    print(f"RTT accuracy, {out['browser']}, N={args.n} probes per link and client "
          f"(median of both sides' rtt_ms; offset = median - UDP truth)")
    print(table(out))
    print(f"({out['wall_s']} s)")
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
