#!/usr/bin/env python3
"""Two headless Chromium processes, one in each namespace of a delay link, connect over
WebRTC and report the selected candidate pair's RTT (getStats) and data-channel ping RTT.

    python3 browser_pair.py --delay-ab 25 --delay-ba 25 [--samples 20] [--dump DIR]

Needs root and Playwright (Python) in the interpreter that runs it; the browser is the
system Chromium (/usr/bin/chromium). How it works:
- `Link` creates NAME-a / NAME-b (link.py); UDP ground truth is measured first (udp_echo.py).
- relay.py (static page + signaling) runs inside NAME-a on 10.77.0.1:8000.
- Playwright runs here, in the root namespace. It launches Chromium through a tiny wrapper
  executable `exec ip netns exec NAME-x /usr/bin/chromium "$@"`: `ip netns exec` keeps the
  file descriptors, so Playwright's --remote-debugging-pipe (fds 3/4) still works while the
  browser lives in the namespace.
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from link import Link  # noqa: E402

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-features=WebRtcHideLocalIpsWithMdns",
]


def ns_wrapper(tmpdir, ns, executable=CHROMIUM):
    """Write an executable that runs `executable` inside network namespace ns."""
    path = os.path.join(tmpdir, "chromium-in-" + ns)
    with open(path, "w") as f:
        f.write('#!/bin/sh\nexec ip netns exec %s %s "$@"\n' % (ns, executable))
    os.chmod(path, 0o755)
    return path


@contextmanager
def relay_in(link, side="a", port=8000):
    proc = subprocess.Popen(
        link.exec_prefix(side) + [sys.executable, os.path.join(HERE, "relay.py"),
                                  "--bind", link.addr(side), "--port", str(port)],
        stdout=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        if "listening" not in line:
            raise RuntimeError("relay did not start: %r" % line)
        yield "http://%s:%d" % (link.addr(side), port)
    finally:
        proc.terminate()
        proc.wait(timeout=5)


def udp_truth(link, count=200):
    echo = os.path.join(HERE, "udp_echo.py")
    srv = subprocess.Popen(link.exec_prefix("b") + [sys.executable, echo, "serve", "--bind",
                                                    link.addr("b")], stdout=subprocess.PIPE, text=True)
    try:
        srv.stdout.readline()
        out = subprocess.run(link.exec_prefix("a") + [sys.executable, echo, "measure", "--target",
                                                      link.addr("b"), "--count", str(count), "--no-samples"],
                             check=True, stdout=subprocess.PIPE, text=True)
        return json.loads(out.stdout)
    finally:
        srv.terminate()
        srv.wait(timeout=5)


def wait_open(page, timeout_s=20):
    page.wait_for_function("window.probe && (window.probe.state === 'open' || window.probe.state === 'failed')",
                           timeout=timeout_s * 1000)
    return page.evaluate("window.probe.state")


def dump(pages, folder, suffix):
    """Write Array.from((await pc.getStats()).values()) of both sides as JSON."""
    os.makedirs(folder, exist_ok=True)
    for s, role in (("a", "offerer"), ("b", "answerer")):
        with open(os.path.join(folder, "stats-%s%s.json" % (role, suffix)), "w") as f:
            json.dump(pages[s].evaluate("window.probe.stats()"), f, indent=1)
            f.write("\n")


def run(args):
    """Everything below in a thread of its own: another sync Playwright may already be
    running in the caller's thread (pytest session fixtures of tests/e2e)."""
    from pwthread import in_own_thread
    return in_own_thread(_run, args)


def _run(args):
    from playwright.sync_api import sync_playwright

    result = {"config": {"delay_ab": args.delay_ab, "delay_ba": args.delay_ba, "jitter": args.jitter,
                         "loss": args.loss}}
    tmp = tempfile.mkdtemp(prefix="netem-browsers-")
    try:
        with Link(args.name, args.delay_ab, args.delay_ba, args.jitter, args.loss, args.seed) as link:
            result["udp"] = udp_truth(link)
            with relay_in(link) as base, sync_playwright() as pw:
                browsers, pages = {}, {}
                for side in ("a", "b"):
                    browsers[side] = pw.chromium.launch(
                        executable_path=ns_wrapper(tmp, link.ns(side)), headless=True,
                        args=CHROMIUM_ARGS, chromium_sandbox=False)
                    pages[side] = browsers[side].new_page()
                result["browser"] = "Chromium " + browsers["a"].version
                t0 = time.monotonic()
                room = "r%d" % int(time.time())
                pages["b"].goto("%s/pair.html?role=answer&room=%s" % (base, room))
                pages["a"].goto("%s/pair.html?role=offer&room=%s" % (base, room))
                states = {s: wait_open(pages[s]) for s in ("a", "b")}
                result["open_s"] = round(time.monotonic() - t0, 3)
                result["states"] = states
                if states != {"a": "open", "b": "open"}:
                    result["candidates"] = {s: pages[s].evaluate("window.probe.candidates") for s in pages}
                    raise RuntimeError("pair did not open: %s" % json.dumps(result))
                result["selected_at_open"] = {s: pages[s].evaluate("window.probe.selected()") for s in pages}
                if args.dump:
                    dump(pages, args.dump, "-open")
                samples = {"a": [], "b": []}
                for _ in range(args.samples):
                    for s in ("a", "b"):
                        sel = pages[s].evaluate("window.probe.selected()")
                        if sel and sel.get("currentRoundTripTime") is not None:
                            samples[s].append(sel["currentRoundTripTime"] * 1000.0)
                    time.sleep(args.sample_interval)
                result["stats_rtt_ms"] = {
                    s: {"median": statistics.median(v), "min": min(v), "max": max(v), "n": len(v),
                        "samples": [round(x, 3) for x in v]}
                    for s, v in samples.items() if v}
                result["selected"] = {s: pages[s].evaluate("window.probe.selected()") for s in pages}
                for s in ("a", "b"):
                    sel = result["selected"][s]
                    if sel and sel.get("responsesReceived"):
                        sel["mean_rtt_ms"] = round(1000.0 * sel["totalRoundTripTime"] / sel["responsesReceived"], 3)
                if args.dump:
                    dump(pages, args.dump, "")
                pings = pages["a"].evaluate("window.probe.ping(%d, 100)" % args.pings)
                ok = [p for p in pings if p is not None]
                result["dc_ping_ms"] = {"median": round(statistics.median(ok), 3) if ok else None,
                                        "min": round(min(ok), 3) if ok else None,
                                        "max": round(max(ok), 3) if ok else None,
                                        "lost": len(pings) - len(ok)}
                for b in browsers.values():
                    b.close()
            result["link_stats"] = link.stats()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return result


def parse_args(argv=None):
    p = argparse.ArgumentParser()
    p.add_argument("--name", default="pbp")
    p.add_argument("--delay-ab", type=float, default=25)
    p.add_argument("--delay-ba", type=float, default=25)
    p.add_argument("--jitter", type=float, default=0)
    p.add_argument("--loss", type=float, default=0)
    p.add_argument("--seed", type=int, default=None)
    p.add_argument("--samples", type=int, default=20, help="getStats samples per side")
    p.add_argument("--sample-interval", type=float, default=0.5, help="s between samples")
    p.add_argument("--pings", type=int, default=20)
    p.add_argument("--dump", help="write both sides' getStats() arrays into DIR: at open "
                   "(stats-ROLE-open.json) and after the samples (stats-ROLE.json)")
    return p.parse_args(argv)


def main(argv=None):
    print(json.dumps(run(parse_args(argv)), indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
