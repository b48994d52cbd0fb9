#!/usr/bin/env python3
"""RTT accuracy across a delayed link: our client and the legacy client vs UDP ground truth.

    sudo .venv/bin/python bench/accuracy.py [--n 20] [--links short,jitter10,...] [--json out.json]

Needs root (network namespaces). The REAL server (server/app.py) runs in namespace a, one
peer page per namespace in two separate Chromium processes (tests/e2e/netem_rig.py); the
link is reconfigured in place to each link profile of tests/netem/profiles.py (default: all
default profiles; --links picks by slug, also the extra ones such as jitter10-reorder).

For each profile: the UDP echo ground truth first (tests/netem/udp_echo.py, both ends
SCHED_FIFO like the forwarder; the profile says how many echoes and how far apart, see
profiles.py), then N probes with ``client=ours`` (the library's DEFAULT options; iceServers
[]) and N with ``client=legacy`` (mug's probe_connection.js, its own defaults: 5 pings 100 ms
apart, Date.now()), both in the same run, on the same link. On the busy profile both pages
of both clients have their main thread blocked ~80 % of the time (peer.html ?busy=0.8).

Per client, over every successful probe_result (two per probe, one per side):
error = rtt_ms - truth; "med err" = median error, "p90 |err|" = 90th percentile of |error|;
"CI cov" = share of payloads whose rtt.ci95_ms contains the truth (ours only; "n/a" when the
build reports no interval); "failed" = probes whose on_complete got no RTT, and in brackets
the probe_results with success false; "TTR" = median time to result (the server's
on_complete elapsed_ms). "truth" = the median echo RTT, +- its standard error (order
statistics). --truth-no-rt also measures the truth without real-time priority, to show what
host scheduling adds.

Then how far each figure can be trusted: 95 % intervals of the median error (the probes
resampled, with the truth's standard error) and of the p90 of |error| (the probes resampled).

After the tables, a reference line (--no-hosts skips it): what the pages add to a round trip,
from a fixed series of pings 45 ms apart on the clean 25/25 link (see hosts()).

No assertions; tests/e2e/test_accuracy.py holds our client to the issue's bounds.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import random
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


def probe_series(rig, a, b, n: int, args, slug: str, kind: str) -> list:
    """args.warmup uncounted probes, then n counted ones between pages a and b (each printed to
    stderr), their late results collected at the end (refresh)."""
    runs = []
    for i in range(args.warmup + n):
        r = rig.probe(a, b, timeout=args.timeout, settle=0)
        if i >= args.warmup:
            runs.append(r)
        rtts = [p.get("rtt_ms") for ps in r.payloads.values() for p in ps]
        mark = "warmup" if i < args.warmup else "%d/%d" % (i - args.warmup + 1, n)
        print("  %-16s %-6s %7s: on_complete=%s payload rtt_ms=%s (%.1f s)"
              % (slug, kind, mark, r.result.get("rtt_ms"), rtts, r.wall_s), file=sys.stderr)
    rig.refresh(runs)
    return runs


def run(args) -> dict:
    from netem_rig import LinkRig, select, summarize

    kinds = [k for k in args.kinds.split(",") if k]
    opts = json.loads(args.opts)
    out = {"n": args.n, "warmup": args.warmup, "kinds": kinds, "opts": opts, "links": []}
    profiles = select(args.links)
    log_dir = Path(args.log_dir)
    with LinkRig(args.name, log_dir=log_dir) as rig:
        out["browser"] = "Chromium " + rig.browsers["a"].version
        for prof in profiles:
            t0 = time.monotonic()
            truth = rig.set_link(prof, seed=args.seed, truth_count=args.truth_count)
            print("  %-16s truth %.2f ms (se %s, %d/%d echoes %g ms apart, held %d/%d) in %.1f s"
                  % (prof.slug, truth["median_ms"], truth["se_ms"], truth["received"], truth["count"],
                     truth["interval_ms"], truth["held_ab"], truth["held_ba"],
                     time.monotonic() - t0), file=sys.stderr)
            row = {"link": prof.id, "slug": prof.slug, "profile": prof.as_dict(), "truth": truth,
                   "clients": {}}
            if args.truth_no_rt:
                row["truth_no_rt"] = rig.udp_truth(count=prof.truth_count, rt=False,
                                                   interval_ms=prof.truth_interval_ms)
            for kind in kinds:
                a, b = rig.pair(kind, **(opts if kind != "legacy" else {}))
                st0 = rig.link.stats()
                runs = probe_series(rig, a, b, args.n, args, prof.slug, kind)
                st1 = rig.link.stats()
                s = summarize(kind, runs, truth)
                s["trust"] = trust(runs, truth)
                s["offset_ms"] = s["error_median_ms"]  # the old name
                s["page_errors"] = [e for p in (a, b) for e in p.state()["errors"]]
                s["busy"] = [p.busy_state() for p in (a, b)] if prof.busy else None
                s["link_during"] = {k: st1.get(k, 0) - st0.get(k, 0)
                                    for k in ("forwarded_ab", "forwarded_ba", "lost_ab", "lost_ba",
                                              "held_ab", "held_ba", "dropped_foreign_ab",
                                              "dropped_foreign_ba")}
                row["clients"][kind] = s
            row["link_stats"] = rig.link.stats()
            out["links"].append(row)
        if args.hosts and "ours" in kinds:
            out["hosts"] = hosts(rig, args, out)
    return out


# What the two pages add to a data-channel round trip that is not part of a burst (see hosts()):
# a fixed series of pings 45 ms apart, about the chained phase's spacing on the ±10 ms link.
HOSTS_LINK = "25-25"
HOSTS_OPTS = {"pings": 12, "pingIntervalMs": 45, "measureBudgetMs": 0}


def hosts(rig, args, out: dict) -> dict:
    """The hosts' share of a typical round trip, as a reference beside the jittery links.

    On a clean link the default series ends on its first burst (pings 2 ms apart) and reports
    its fastest answer. On a jittery link the estimate is a location (Hodges-Lehmann) of the
    chained samples, which leave one at a time tens of ms apart: each carries what the two pages
    add to a typical round trip, not to the fastest. HOSTS_OPTS (not the defaults: a reference)
    on the clean HOSTS_LINK shows both: the median sample of such a series and its fastest, minus
    the truth; beside them the default client's burst on the same profile in this run."""
    from netem_rig import by_slug, summarize

    n = max(4, min(args.n, 10))
    truth = rig.set_link(by_slug(HOSTS_LINK), seed=args.seed, truth_count=args.truth_count)
    a, b = rig.pair("ours", **HOSTS_OPTS)
    runs = probe_series(rig, a, b, n, args, "hosts " + HOSTS_LINK, "ours")
    s = summarize("ours", runs, truth)

    def minus(x, t):
        return None if x is None else round(x - t, 3)

    t = truth["median_ms"]
    res = {"link": HOSTS_LINK, "opts": HOSTS_OPTS, "n": n, "truth_ms": t, "failed": s["failed"],
           "spaced_median_ms": minus(s["ping_median_ms"], t),
           "spaced_fastest_ms": minus(s["ping_min_median_ms"], t)}
    for row in out["links"]:
        d = row["clients"].get("ours")
        if row["slug"] == HOSTS_LINK and d:
            tt = row["truth"]["median_ms"]
            res["burst_median_ms"] = minus(d["ping_median_ms"], tt)
            res["burst_fastest_ms"] = minus(d["ping_min_median_ms"], tt)
    print("  hosts %-10s pings 45 ms apart: median sample %s, fastest %s above the truth (%d probes, "
          "%d failed)" % (HOSTS_LINK, fmt(res["spaced_median_ms"], 2, True),
                         fmt(res["spaced_fastest_ms"], 2, True), n, s["failed"]), file=sys.stderr)
    return res


def hosts_line(h: dict) -> str:
    burst = ""
    if h.get("burst_median_ms") is not None:
        burst = (f"; the default client's first burst there (pings 2 ms apart): median "
                 f"{fmt(h['burst_median_ms'], 2, True)}, fastest {fmt(h['burst_fastest_ms'], 2, True)}")
    return (f"Hosts (reference, not the defaults: {h['opts']['pings']} pings "
            f"{h['opts']['pingIntervalMs']} ms apart on the clean {h['link']} link, {h['n']} probes): "
            f"median sample {fmt(h['spaced_median_ms'], 2, True)} ms above the truth, fastest "
            f"{fmt(h['spaced_fastest_ms'], 2, True)}{burst}. Clean links report a burst's fastest "
            f"answer; a jittery link's estimate is a location of samples like these.")


def trust(runs, truth: dict, reps: int = 2000, seed: int = 1) -> dict:
    """How far a row's median error and p90 of |error| can be trusted: 95 % percentile
    intervals over `reps` resamples of the probes (both results of a probe go together: they
    crossed the same link at the same time). The median's interval is widened by the truth's own
    standard error (1.96 se, in quadrature), which shifts every error of the row alike; the
    p90's is the probes' alone. Empty below 5 probes with a result."""
    from netem_rig import median, p90

    t = truth["median_ms"]
    per = [[p["rtt_ms"] - t for ps in r.payloads.values() for p in ps
            if p.get("success") and isinstance(p.get("rtt_ms"), (int, float))] for r in runs]
    per = [e for e in per if e]
    if len(per) < 5:
        return {}
    rng = random.Random(seed)
    meds, p90s = [], []
    for _ in range(reps):
        errs = [e for _ in per for e in rng.choice(per)]
        meds.append(median(errs))
        p90s.append(p90([abs(e) for e in errs]))

    def interval(v):
        v = sorted(v)
        return v[int(0.025 * len(v))], v[int(0.975 * len(v)) - 1]

    flat = [e for es in per for e in es]
    med = median(flat)
    (mlo, mhi), (plo, phi) = interval(meds), interval(p90s)
    z = 1.96 * (truth.get("se_ms") or 0.0)
    return {"error_median_ci95_ms": [round(med - math.hypot(med - mlo, z), 2),
                                     round(med + math.hypot(mhi - med, z), 2)],
            "abs_error_p90_ci95_ms": [round(plo, 2), round(phi, 2)], "probes": len(per)}


def markdown(rows: list) -> str:
    """A markdown table, columns padded to their widest cell; rows[0] is the header."""
    widths = [max(len(str(r[i])) for r in rows) for i in range(len(rows[0]))]
    lines = ["| " + " | ".join(str(c).ljust(w) for c, w in zip(r, widths)) + " |" for r in rows]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def trust_table(out: dict) -> str:
    kinds = out["kinds"]
    hdr = ["profile"]
    for k in kinds:
        hdr += [f"{k} med err [95 %]", f"{k} p90 |err| [95 %]"]
    rows = [hdr]
    for row in out["links"]:
        cells = [row["slug"]]
        for k in kinds:
            s = row["clients"][k]
            tr = s.get("trust") or {}
            m, q = tr.get("error_median_ci95_ms"), tr.get("abs_error_p90_ci95_ms")
            cells += [f"{fmt(s['error_median_ms'], 2, True)} [{fmt(m[0], 1, True)}, {fmt(m[1], 1, True)}]"
                      if m else "-",
                      f"{fmt(s['abs_error_p90_ms'], 2)} [{fmt(q[0], 1)}, {fmt(q[1], 1)}]" if q else "-"]
        rows.append(cells)
    return markdown(rows)


def table(out: dict) -> str:
    kinds = out["kinds"]
    hdr = ["profile", "truth (± se)"]
    for k in kinds:
        hdr += [f"{k} med err", f"{k} p90 |err|"]
        if k != "legacy":
            hdr += [f"{k} CI cov"]
        hdr += [f"{k} failed", f"{k} TTR"]
    rows = [hdr]
    for row in out["links"]:
        t = row["truth"]
        se = t.get("se_ms")
        cells = [row["slug"], f"{fmt(t['median_ms'], 2)} ms (± {fmt(se, 3 if se is not None and se < 0.1 else 2)})"]
        for k in kinds:
            s = row["clients"][k]
            cells += [fmt(s["error_median_ms"], 2, True), fmt(s["abs_error_p90_ms"], 2)]
            if k != "legacy":
                cov = s["ci_coverage"]
                cells += ["n/a" if cov is None else "%d %%" % round(100 * cov)]
            cells += [f"{s['failed']}/{s['n']} ({s['payloads_failed']}/{s['payloads']})",
                      f"{fmt(s['time_to_result_median_ms'], 0)} ms"]
        rows.append(cells)
    return markdown(rows)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=20, help="probes per profile and client (default 20)")
    ap.add_argument("--warmup", type=int, default=1,
                    help="uncounted probes first, per profile and client (default 1)")
    ap.add_argument("--kinds", default="ours,legacy", help="comma list of ours,legacy,dropin")
    ap.add_argument("--links", default="",
                    help="comma list of profile slugs (tests/netem/profiles.py; default: the "
                         "default profiles)")
    ap.add_argument("--opts", default="{}",
                    help="JSON merged into our options, for experiments only (default: none, "
                         "the library's defaults)")
    ap.add_argument("--timeout", type=float, default=20.0, help="s per probe")
    ap.add_argument("--truth-count", type=int, default=None,
                    help="UDP echoes per truth measurement (default: the profile's)")
    ap.add_argument("--truth-no-rt", action="store_true",
                    help="also measure the truth without SCHED_FIFO (what host scheduling adds)")
    ap.add_argument("--seed", type=int, default=None, help="loss/jitter RNG seed")
    ap.add_argument("--name", default="pbacc%d" % (os.getpid() % 10000))
    ap.add_argument("--log-dir", default=str(REPO / "tests" / "e2e" / "artifacts" / "bench-accuracy"))
    ap.add_argument("--json", help="write all numbers here")
    ap.add_argument("--no-hosts", dest="hosts", action="store_false",
                    help="skip the hosts' reference (spaced pings on the clean 25/25 link, see hosts())")
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
    print(f"RTT accuracy vs UDP truth, {out['browser']}, N={args.n} probes per profile and client "
          f"(+{args.warmup} warm-up), "
          + ("client defaults" if not out["opts"] else "our options " + json.dumps(out["opts"]))
          + "; error = rtt_ms - truth over both sides' probe_results")
    print(table(out))
    print()
    print("How far each figure can be trusted: 95 % intervals from resampling the probes; the "
          "median error's includes the truth's standard error")
    print(trust_table(out))
    busy = [(row["slug"], k, s["busy"]) for row in out["links"] for k, s in row["clients"].items()
            if s.get("busy")]
    for slug, k, b in busy:
        print(f"{slug} {k}: main thread blocked "
              + " / ".join("-" if x is None else "%.0f %%" % (100 * x["fraction"]) for x in b)
              + " of the time (a / b)")
    if out.get("hosts"):
        print(hosts_line(out["hosts"]))
    print(f"({out['wall_s']} s)")
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
