#!/usr/bin/env python3
"""UDP echo: ground truth for the RTT of a link.

    udp_echo.py serve   --bind 10.77.0.2 [--port 7777] [--duration S]
    udp_echo.py measure --target 10.77.0.2 [--port 7777] [--count N] [--interval MS] [--timeout MS]
                        [--arrival-order]

Run `serve` in one namespace and `measure` in the other (`ip netns exec NS python3 ...`).
`measure` sends N datagrams (seq + send time) every --interval ms, collects the echoes and
prints one JSON object: count, received, lost, loss_pct, median_ms, mean_ms, min_ms, max_ms,
stdev_ms, p10_ms, p90_ms, samples_ms (in seq order; --arrival-order adds arrival_seq, the
seq numbers of the echoes in the order they came back). Both sides switch themselves to SCHED_FIFO 50 (the
same as `chrt -f 50`) unless --no-rt is given, so that a loaded machine does not add
scheduling delay to the very packets measured. Python 3 stdlib only.
"""

import argparse
import json
import os
import select
import socket
import statistics
import struct
import sys
import time

MAGIC = b"P2PE"
HDR = struct.Struct("!4sIq")  # magic, seq, send time (ns, perf_counter)


def set_realtime(enabled, prio=50):
    if not enabled:
        return False
    try:
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(prio))
        return True
    except OSError as e:
        print("udp_echo: warning: SCHED_FIFO not available: %s" % e, file=sys.stderr)
        return False


def serve(bind, port, duration, rt):
    set_realtime(rt)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((bind, port))
    print(json.dumps({"serving": "%s:%d" % (bind, port)}), flush=True)
    deadline = time.monotonic() + duration if duration else None
    while True:
        timeout = None
        if deadline is not None:
            timeout = deadline - time.monotonic()
            if timeout <= 0:
                break
        r, _, _ = select.select([s], [], [], timeout)
        if not r:
            continue
        data, addr = s.recvfrom(2048)
        if data[:4] == MAGIC:
            s.sendto(data, addr)


def percentile(sorted_vals, q):
    if not sorted_vals:
        return None
    k = (len(sorted_vals) - 1) * q
    lo = int(k)
    hi = min(lo + 1, len(sorted_vals) - 1)
    return sorted_vals[lo] + (sorted_vals[hi] - sorted_vals[lo]) * (k - lo)


def measure(target, port, count, interval_ms, timeout_ms, size, rt, arrival_order=False):
    set_realtime(rt)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.connect((target, port))
    s.setblocking(False)
    pad = b"\0" * max(0, size - HDR.size)
    rtts = {}
    arrivals = []
    sent = 0
    interval = interval_ms / 1000.0
    start = time.monotonic()
    next_send = start
    end = None
    while True:
        now = time.monotonic()
        if sent < count and now >= next_send:
            try:
                s.send(HDR.pack(MAGIC, sent, time.perf_counter_ns()) + pad)
            except OSError:
                pass
            sent += 1
            next_send += interval
            if sent == count:
                end = now + timeout_ms / 1000.0
            continue
        if sent == count and (len(rtts) == count or now >= end):
            break
        wake = next_send if sent < count else end
        r, _, _ = select.select([s], [], [], max(0.0, wake - now))
        if not r:
            continue
        while True:
            try:
                data = s.recv(2048)
            except (BlockingIOError, ConnectionRefusedError):
                break
            t = time.perf_counter_ns()
            if len(data) >= HDR.size:
                magic, seq, ts = HDR.unpack_from(data)
                if magic == MAGIC and seq not in rtts and (t - ts) <= timeout_ms * 1e6:
                    rtts[seq] = (t - ts) / 1e6
                    arrivals.append(seq)
    vals = [rtts[k] for k in sorted(rtts)]
    sv = sorted(vals)
    res = {
        "target": "%s:%d" % (target, port),
        "count": count,
        "received": len(vals),
        "lost": count - len(vals),
        "loss_pct": round(100.0 * (count - len(vals)) / count, 2) if count else 0.0,
        "median_ms": round(statistics.median(sv), 3) if sv else None,
        "mean_ms": round(statistics.fmean(sv), 3) if sv else None,
        "min_ms": round(sv[0], 3) if sv else None,
        "max_ms": round(sv[-1], 3) if sv else None,
        "stdev_ms": round(statistics.pstdev(sv), 3) if sv else None,
        "p10_ms": round(percentile(sv, 0.10), 3) if sv else None,
        "p90_ms": round(percentile(sv, 0.90), 3) if sv else None,
        "samples_ms": [round(v, 3) for v in vals],
    }
    if arrival_order:
        res["arrival_seq"] = arrivals
    return res


def main(argv=None):
    p = argparse.ArgumentParser(description="UDP echo RTT ground truth")
    sub = p.add_subparsers(dest="cmd", required=True)
    sv = sub.add_parser("serve")
    sv.add_argument("--bind", default="0.0.0.0")
    sv.add_argument("--port", type=int, default=7777)
    sv.add_argument("--duration", type=float, default=0, help="exit after S seconds (0: never)")
    sv.add_argument("--no-rt", action="store_true")
    m = sub.add_parser("measure")
    m.add_argument("--target", required=True)
    m.add_argument("--port", type=int, default=7777)
    m.add_argument("--count", type=int, default=200)
    m.add_argument("--interval", type=float, default=20.0, help="ms between sends")
    m.add_argument("--timeout", type=float, default=1000.0, help="ms to wait for an echo")
    m.add_argument("--size", type=int, default=64, help="datagram payload bytes")
    m.add_argument("--no-rt", action="store_true")
    m.add_argument("--no-samples", action="store_true")
    m.add_argument("--arrival-order", action="store_true",
                   help="also print arrival_seq: seq numbers in the order the echoes arrived")
    a = p.parse_args(argv)
    if a.cmd == "serve":
        serve(a.bind, a.port, a.duration, not a.no_rt)
    else:
        res = measure(a.target, a.port, a.count, a.interval, a.timeout, a.size, not a.no_rt,
                      a.arrival_order)
        if a.no_samples:
            res.pop("samples_ms")
        print(json.dumps(res))
    return 0


if __name__ == "__main__":
    sys.exit(main())
