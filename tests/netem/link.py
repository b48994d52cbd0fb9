#!/usr/bin/env python3
"""Userspace delay link between two network namespaces (this kernel has no netem).

    link.py up   --name NAME --delay-ab MS --delay-ba MS [--jitter MS] [--loss PCT]
                 [--loss-ab PCT] [--loss-ba PCT] [--seed N] [--allow-reorder]
    link.py down --name NAME
    link.py stats --name NAME
    link.py status --name NAME

`up` creates the namespaces NAME-a and NAME-b, each with loopback up and a TUN device
(`tun-a` / `tun-b`) that carries 10.77.0.1/32 (side a) and 10.77.0.2/32 (side b), a /32 route
to the peer, and a /32 route for 8.8.8.8 so that Chromium (which asks the kernel for the
source address towards 8.8.8.8 and gathers host candidates only on that interface) sees the
TUN as its "default" interface. IPv6 is disabled in both namespaces.

A forwarder process (SCHED_FIFO priority 50, like `chrt -f 50`) holds both TUN file
descriptors and moves IPv4 packets between them after the configured one-way delay
(a->b: --delay-ab, b->a: --delay-ba), with optional uniform jitter (+-MS, per packet) and
random loss (percent, per packet; --loss for both directions, --loss-ab / --loss-ba for one
direction, overriding --loss there). Packets are kept in order per direction unless
--allow-reorder is given: a packet is never released before the previous one of its
direction (jitter then behaves as a queue; `held_ab` / `held_ba` in the stats count the
packets whose release the order rule pushed later). Packets of one direction that arrive less
than 1 ms apart (an SCTP ack and the message after it) share one jitter draw, as frames sent
in one wifi aggregate or one mobile TTI do (`aggregated_ab` / `aggregated_ba`): drawing each
anew and holding the second behind the first would give every such pair the worse of two
delays, which no real queue does. Every packet that is not IPv4
addressed to the peer's address is dropped and counted (`dropped_foreign`): nothing ever
leaves the two namespaces.

Python API (for pytest):

    with Link("nl1", delay_ab=25, delay_ba=25) as link:
        subprocess.run(link.exec_prefix("a") + ["python3", "udp_echo.py", "serve", ...])
        link.addr("a")  -> "10.77.0.1"
        link.stats()    -> {"forwarded_ab": ..., ...}

Needs root (namespaces, /dev/net/tun, SCHED_FIFO). Python 3 stdlib only.
"""

import argparse
import ctypes
import errno
import fcntl
import heapq
import json
import os
import random
import select
import signal
import struct
import subprocess
import sys
import time

STATE_DIR = "/run/p2p-probe-netem"
CLONE_NEWNET = 0x40000000
TUNSETIFF = 0x400454CA
IFF_TUN = 0x0001
IFF_NO_PI = 0x1000
PR_SET_PDEATHSIG = 1

# Packets of one direction arriving less than this apart share one jitter draw (see _enqueue).
AGGREGATE_S = 0.001

DEFAULT_ADDR_A = "10.77.0.1"
DEFAULT_ADDR_B = "10.77.0.2"
# Chromium's "default route" probe address (it connect()s a UDP socket, sends nothing).
CHROMIUM_PROBE_ROUTES = ("8.8.8.8/32",)

_libc = ctypes.CDLL(None, use_errno=True)


# --------------------------------------------------------------------------- helpers

def _ip4(addr):
    return bytes(int(x) for x in addr.split("."))


def _run(cmd, check=True):
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if check and r.returncode != 0:
        raise RuntimeError("command failed (%d): %s\n%s" % (r.returncode, " ".join(cmd), r.stderr.strip()))
    return r


def _setns(path):
    fd = os.open(path, os.O_RDONLY)
    try:
        if _libc.setns(fd, CLONE_NEWNET) != 0:
            e = ctypes.get_errno()
            raise OSError(e, "setns(%s): %s" % (path, os.strerror(e)))
    finally:
        os.close(fd)


def _open_tun_in_ns(ns, ifname):
    """Open a TUN device named ifname inside network namespace ns; return its fd.

    TUNSETIFF creates the device in the network namespace of the calling thread, so we
    enter the namespace, open the device, and return to our own namespace. The device
    lives as long as the fd (it is not persistent)."""
    own = os.open("/proc/self/ns/net", os.O_RDONLY)
    try:
        _setns("/run/netns/" + ns)
        try:
            fd = os.open("/dev/net/tun", os.O_RDWR | os.O_NONBLOCK)
            ifr = struct.pack("16sH", ifname.encode(), IFF_TUN | IFF_NO_PI).ljust(40, b"\0")
            fcntl.ioctl(fd, TUNSETIFF, ifr)
        finally:
            if _libc.setns(own, CLONE_NEWNET) != 0:
                raise OSError(ctypes.get_errno(), "setns back to own netns failed")
    finally:
        os.close(own)
    return fd


def _set_realtime(prio=50):
    try:
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(prio))
        return True
    except (PermissionError, OSError) as e:  # pragma: no cover - depends on machine
        print("link.py: warning: SCHED_FIFO %d not available: %s" % (prio, e), file=sys.stderr)
        return False


def _loss_pair(loss, loss_ab=None, loss_ba=None):
    """Per-direction loss in percent: `loss` for both, `loss_ab` / `loss_ba` override one."""
    loss = float(loss or 0.0)
    return (loss if loss_ab is None else float(loss_ab),
            loss if loss_ba is None else float(loss_ba))


def _loss_config(loss_ab, loss_ba):
    """The loss part of the stats' "config": per direction, and `loss_pct` (the old key) when
    both directions lose the same share (None when they differ)."""
    return {"loss_ab_pct": float(loss_ab), "loss_ba_pct": float(loss_ba),
            "loss_pct": float(loss_ab) if loss_ab == loss_ba else None}


# --------------------------------------------------------------------------- forwarder

class Forwarder:
    """Moves packets between two TUN fds with delay/jitter/loss. Single thread."""

    def __init__(self, fd_a, fd_b, addr_a, addr_b, delay_ab, delay_ba, jitter, loss_ab, loss_ba,
                 seed, allow_reorder, stats_path):
        self.fd = {"a": fd_a, "b": fd_b}
        # packets read from side X go to side Y and must be addressed to Y's address
        self.peer_addr = {"a": _ip4(addr_b), "b": _ip4(addr_a)}
        self.delay = {"a": delay_ab / 1000.0, "b": delay_ba / 1000.0}
        self.jitter = jitter / 1000.0
        self.loss = {"a": loss_ab / 100.0, "b": loss_ba / 100.0}  # by sending side
        self.rng = random.Random(seed)
        self.allow_reorder = allow_reorder
        self.stats_path = stats_path
        self.last_release = {"a": 0.0, "b": 0.0}
        self.last_arrival = {"a": -1.0, "b": -1.0}
        self.last_delay = {"a": 0.0, "b": 0.0}
        self.heap = []
        self.seq = 0
        self.counters = {
            "forwarded_ab": 0, "forwarded_ba": 0,
            "lost_ab": 0, "lost_ba": 0,
            "held_ab": 0, "held_ba": 0, "aggregated_ab": 0, "aggregated_ba": 0,
            "dropped_foreign_ab": 0, "dropped_foreign_ba": 0,
            "write_errors": 0, "max_late_ms": 0.0,
        }
        self.started = time.time()
        self.running = True
        self.config = {
            "addr_a": addr_a, "addr_b": addr_b, "delay_ab_ms": delay_ab, "delay_ba_ms": delay_ba,
            "jitter_ms": jitter, "seed": seed, "allow_reorder": allow_reorder,
        }
        self.config.update(_loss_config(loss_ab, loss_ba))
        # P2P_LINK_TRACE=FILE: one line per packet (arrival s, direction, bytes, drawn delay ms,
        # held ms, ms since the previous packet of its direction, IP protocol, source and
        # destination port, UDP payload kind: s STUN, d DTLS, - other), written at stop: for
        # looking into a link's queueing by hand
        self.trace_path = os.environ.get("P2P_LINK_TRACE")
        self.trace = []

    def write_stats(self, *_):
        data = dict(self.counters)
        data["queued"] = len(self.heap)
        data["config"] = self.config
        data["pid"] = os.getpid()
        data["uptime_s"] = round(time.time() - self.started, 3)
        try:
            sched = os.sched_getscheduler(0)
            data["sched_fifo"] = sched == os.SCHED_FIFO
        except OSError:
            pass
        tmp = self.stats_path + ".tmp"
        with open(tmp, "w") as f:
            json.dump(data, f)
        os.replace(tmp, self.stats_path)

    def stop(self, *_):
        self.running = False

    def reconfigure(self, *_):
        """SIGHUP: apply delay/jitter/loss/seed from STATE_DIR/NAME.reconf.json (written by
        Link.reconfigure), then write the stats file (its "config" shows the new values).
        Packets already queued keep their release times."""
        path = self.stats_path[: -len(".stats.json")] + ".reconf.json"
        try:
            with open(path) as f:
                new = json.load(f)
        except (OSError, ValueError) as e:
            print("link.py: reconfigure failed: %s" % e, file=sys.stderr)
            return
        self.delay = {"a": float(new["delay_ab"]) / 1000.0, "b": float(new["delay_ba"]) / 1000.0}
        self.jitter = float(new.get("jitter", 0.0)) / 1000.0
        loss_ab, loss_ba = _loss_pair(new.get("loss", 0.0), new.get("loss_ab"), new.get("loss_ba"))
        self.loss = {"a": loss_ab / 100.0, "b": loss_ba / 100.0}
        if new.get("seed") is not None:
            self.rng = random.Random(new["seed"])
        if "allow_reorder" in new:
            self.allow_reorder = bool(new["allow_reorder"])
            self.config["allow_reorder"] = self.allow_reorder
        self.config.update({
            "delay_ab_ms": float(new["delay_ab"]), "delay_ba_ms": float(new["delay_ba"]),
            "jitter_ms": float(new.get("jitter", 0.0)),
            "seed": new.get("seed"), "generation": new.get("generation"),
        })
        self.config.update(_loss_config(loss_ab, loss_ba))
        self.write_stats()

    def _enqueue(self, side, pkt, now):
        d = "ab" if side == "a" else "ba"
        if len(pkt) < 20 or (pkt[0] >> 4) != 4 or pkt[16:20] != self.peer_addr[side]:
            self.counters["dropped_foreign_" + d] += 1
            return
        loss = self.loss[side]
        if loss > 0 and self.rng.random() < loss:
            self.counters["lost_" + d] += 1
            return
        delay = self.delay[side]
        if self.jitter > 0:
            if now - self.last_arrival[side] < AGGREGATE_S:
                # Back to back with the previous packet of this direction (an SCTP SACK and the
                # message after it, say): they leave in one transmission opportunity, as frames
                # aggregated on wifi or sent in one mobile TTI do, so they share one jitter draw.
                # Drawing each anew and holding the second behind the first would give every
                # such pair the worse of two delays, which no real queue does.
                delay = self.last_delay[side]
                self.counters["aggregated_" + d] += 1
            else:
                delay = max(0.0, delay + self.rng.uniform(-self.jitter, self.jitter))
        gap = now - self.last_arrival[side]
        self.last_arrival[side] = now
        self.last_delay[side] = delay
        t = now + delay
        if not self.allow_reorder:
            if t < self.last_release[side]:
                t = self.last_release[side]
                self.counters["held_" + d] += 1
            self.last_release[side] = t
        if self.trace_path is not None and len(self.trace) < 1_000_000:
            ports = (pkt[9], int.from_bytes(pkt[20:22], "big"), int.from_bytes(pkt[22:24], "big")) \
                if len(pkt) >= 24 else (pkt[9], 0, 0)
            kind = "-"
            if pkt[9] == 17 and len(pkt) > 28:
                kind = "s" if pkt[28] < 4 else ("d" if 20 <= pkt[28] <= 63 else "-")
            self.trace.append("%.6f %s %d %.3f %.3f %.3f %d %d %d %s" % (
                (now, d, len(pkt), delay * 1000.0, (t - now - delay) * 1000.0, gap * 1000.0) + ports + (kind,)))
        self.seq += 1
        heapq.heappush(self.heap, (t, self.seq, side, pkt))

    def _release_due(self):
        heap = self.heap
        now = time.monotonic()
        while heap and heap[0][0] <= now:
            t, _, side, pkt = heapq.heappop(heap)
            late = (now - t) * 1000.0
            if late > self.counters["max_late_ms"]:
                self.counters["max_late_ms"] = round(late, 3)
            dst = self.fd["b" if side == "a" else "a"]
            try:
                os.write(dst, pkt)
                self.counters["forwarded_" + ("ab" if side == "a" else "ba")] += 1
            except OSError:
                self.counters["write_errors"] += 1
            now = time.monotonic()

    def write_trace(self):
        if self.trace_path is not None:
            with open(self.trace_path, "w") as f:
                f.write("\n".join(self.trace) + "\n")

    def run(self):
        fds = [self.fd["a"], self.fd["b"]]
        side_of = {self.fd["a"]: "a", self.fd["b"]: "b"}
        while self.running:
            self._release_due()
            timeout = None
            if self.heap:
                timeout = max(0.0, self.heap[0][0] - time.monotonic())
            else:
                timeout = 0.5  # wake up now and then to notice a stop request
            try:
                readable, _, _ = select.select(fds, [], [], timeout)
            except InterruptedError:  # pragma: no cover (PEP 475 retries)
                continue
            now = time.monotonic()
            for fd in readable:
                side = side_of[fd]
                for _ in range(64):  # drain, bounded so the other side is served too
                    try:
                        pkt = os.read(fd, 65535)
                    except BlockingIOError:
                        break
                    except OSError as e:
                        if e.errno in (errno.EAGAIN, errno.EINTR):
                            break
                        raise
                    self._enqueue(side, pkt, now)
        self.write_stats()
        self.write_trace()


def _forward_main(args):
    """Runs in the forwarder process (started by `up`)."""
    ready_fd = args.ready_fd
    try:
        if args.die_with_parent:
            _libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
            if os.getppid() != args.parent_pid:
                sys.exit(0)
        fd_a = _open_tun_in_ns(args.name + "-a", "tun-a")
        fd_b = _open_tun_in_ns(args.name + "-b", "tun-b")
        rt = _set_realtime(50) if not args.no_rt else False
        loss_ab, loss_ba = _loss_pair(args.loss, args.loss_ab, args.loss_ba)
        fwd = Forwarder(fd_a, fd_b, args.addr_a, args.addr_b, args.delay_ab, args.delay_ba,
                        args.jitter, loss_ab, loss_ba, args.seed, args.allow_reorder,
                        os.path.join(STATE_DIR, args.name + ".stats.json"))
        signal.signal(signal.SIGTERM, fwd.stop)
        signal.signal(signal.SIGINT, fwd.stop)
        signal.signal(signal.SIGUSR1, fwd.write_stats)
        signal.signal(signal.SIGHUP, fwd.reconfigure)
        fwd.config["realtime"] = rt
        fwd.write_stats()
    except Exception as e:  # report the failure to `up`
        os.write(ready_fd, ("error: %s\n" % e).encode())
        os.close(ready_fd)
        raise
    os.write(ready_fd, b"ok\n")
    os.close(ready_fd)
    fwd.run()


# --------------------------------------------------------------------------- control

def _pid_path(name):
    return os.path.join(STATE_DIR, name + ".pid")


def _ns_exists(ns):
    return os.path.exists("/run/netns/" + ns)


def link_down(name):
    """Remove the forwarder and both namespaces of link `name`. Idempotent."""
    pidfile = _pid_path(name)
    if os.path.exists(pidfile):
        try:
            with open(pidfile) as f:
                pid = int(f.read().strip() or 0)
        except (OSError, ValueError):
            pid = 0
        if pid > 0 and _is_our_forwarder(pid, name):
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            for _ in range(100):
                if not _alive(pid):
                    break
                time.sleep(0.02)
            else:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
    for suffix in (".pid", ".stats.json", ".stats.json.tmp", ".log", ".reconf.json"):
        try:
            os.unlink(os.path.join(STATE_DIR, name + suffix))
        except FileNotFoundError:
            pass
    for side in ("a", "b"):
        ns = "%s-%s" % (name, side)
        if _ns_exists(ns):
            _run(["ip", "netns", "del", ns], check=False)


def _alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
        return state != "Z"
    except (OSError, IndexError):
        return False


def _is_our_forwarder(pid, name):
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            argv = f.read().split(b"\0")
    except OSError:
        return False
    return b"_forward" in argv and name.encode() in argv


class Link:
    """Context manager for a delay link; see the module docstring."""

    def __init__(self, name, delay_ab=0.0, delay_ba=0.0, jitter=0.0, loss=0.0, seed=None,
                 allow_reorder=False, addr_a=DEFAULT_ADDR_A, addr_b=DEFAULT_ADDR_B,
                 probe_routes=CHROMIUM_PROBE_ROUTES, realtime=True, detach=False,
                 loss_ab=None, loss_ba=None):
        """loss: percent per packet in both directions; loss_ab / loss_ba (when given)
        override it for one direction."""
        if len(name) > 12 or not name.replace("-", "").replace("_", "").isalnum():
            raise ValueError("link name must be short and alphanumeric: %r" % name)
        self.name = name
        self.delay_ab, self.delay_ba = float(delay_ab), float(delay_ba)
        self.jitter, self.loss = float(jitter), float(loss)
        self.loss_ab, self.loss_ba = _loss_pair(loss, loss_ab, loss_ba)
        self.seed = seed
        self.allow_reorder = allow_reorder
        self.addrs = {"a": addr_a, "b": addr_b}
        self.probe_routes = tuple(probe_routes)
        self.realtime = realtime
        self.detach = detach  # True for the CLI: forwarder outlives this process
        self.proc = None

    # -- naming helpers
    def ns(self, side):
        return "%s-%s" % (self.name, side)

    def addr(self, side):
        return self.addrs[side]

    def peer(self, side):
        return "b" if side == "a" else "a"

    def exec_prefix(self, side):
        return ["ip", "netns", "exec", self.ns(side)]

    def rt_exec_prefix(self, side, prio=50):
        return self.exec_prefix(side) + ["chrt", "-f", str(prio)]

    # -- lifecycle
    def up(self):
        if os.geteuid() != 0:
            raise PermissionError("link.py needs root")
        os.makedirs(STATE_DIR, exist_ok=True)
        link_down(self.name)  # stale leftovers of an earlier run with this name
        try:
            for side in ("a", "b"):
                ns = self.ns(side)
                _run(["ip", "netns", "add", ns])
                _run(["ip", "-n", ns, "link", "set", "lo", "up"])
                for key in ("all", "default"):
                    _run(["ip", "netns", "exec", ns, "sysctl", "-q", "-w",
                          "net.ipv6.conf.%s.disable_ipv6=1" % key], check=False)
            self._start_forwarder()
            for side in ("a", "b"):
                ns, dev = self.ns(side), "tun-" + side
                _run(["ip", "-n", ns, "addr", "add", self.addr(side) + "/32", "dev", dev])
                _run(["ip", "-n", ns, "link", "set", dev, "up"])
                _run(["ip", "-n", ns, "route", "add", self.addr(self.peer(side)) + "/32", "dev", dev])
                for dst in self.probe_routes:
                    _run(["ip", "-n", ns, "route", "add", dst, "dev", dev])
        except BaseException:
            self.down()
            raise
        return self

    def _start_forwarder(self):
        r, w = os.pipe()
        cmd = [sys.executable, os.path.abspath(__file__), "_forward", "--name", self.name,
               "--delay-ab", repr(self.delay_ab), "--delay-ba", repr(self.delay_ba),
               "--jitter", repr(self.jitter), "--loss-ab", repr(self.loss_ab),
               "--loss-ba", repr(self.loss_ba),
               "--addr-a", self.addrs["a"], "--addr-b", self.addrs["b"],
               "--ready-fd", str(w), "--parent-pid", str(os.getpid())]
        if self.seed is not None:
            cmd += ["--seed", str(self.seed)]
        if self.allow_reorder:
            cmd.append("--allow-reorder")
        if not self.realtime:
            cmd.append("--no-rt")
        if not self.detach:
            cmd.append("--die-with-parent")
        log = open(os.path.join(STATE_DIR, self.name + ".log"), "ab")
        try:
            self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                         pass_fds=(w,), start_new_session=self.detach)
        finally:
            log.close()
            os.close(w)
        with os.fdopen(r, "rb") as rf:
            line = rf.readline().decode().strip()
        if line != "ok":
            self.proc.wait(timeout=5)
            raise RuntimeError("forwarder failed to start: %s" % (line or "exited"))
        with open(_pid_path(self.name), "w") as f:
            f.write(str(self.proc.pid))

    def down(self):
        link_down(self.name)
        if self.proc is not None:
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:  # pragma: no cover
                self.proc.kill()
                self.proc.wait()
            self.proc = None

    def __enter__(self):
        return self.up()

    def __exit__(self, *exc):
        self.down()
        return False

    def stats(self):
        return link_stats(self.name)

    def reconfigure(self, delay_ab, delay_ba, jitter=0.0, loss=0.0, seed=None, allow_reorder=False,
                    timeout=2.0, loss_ab=None, loss_ba=None):
        """Change the shaping of the running link in place (namespaces, TUN devices, sockets
        and processes inside stay as they are). loss: both directions; loss_ab / loss_ba
        override one direction. Returns the forwarder's stats after the change."""
        self.delay_ab, self.delay_ba = float(delay_ab), float(delay_ba)
        self.jitter, self.loss, self.seed = float(jitter), float(loss), seed
        self.loss_ab, self.loss_ba = _loss_pair(loss, loss_ab, loss_ba)
        self._generation = getattr(self, "_generation", 0) + 1
        path = os.path.join(STATE_DIR, self.name + ".reconf.json")
        with open(path + ".tmp", "w") as f:
            json.dump({"delay_ab": self.delay_ab, "delay_ba": self.delay_ba, "jitter": self.jitter,
                       "loss": self.loss, "loss_ab": self.loss_ab, "loss_ba": self.loss_ba,
                       "seed": seed, "allow_reorder": bool(allow_reorder),
                       "generation": self._generation}, f)
        self.allow_reorder = bool(allow_reorder)
        os.replace(path + ".tmp", path)
        with open(_pid_path(self.name)) as f:
            pid = int(f.read().strip())
        os.kill(pid, signal.SIGHUP)
        stats_path = os.path.join(STATE_DIR, self.name + ".stats.json")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with open(stats_path) as f:
                    st = json.load(f)
                if st.get("config", {}).get("generation") == self._generation:
                    return st
            except (OSError, ValueError):
                pass
            time.sleep(0.01)
        raise RuntimeError("forwarder of link %s did not apply the new configuration" % self.name)


def link_stats(name, timeout=2.0):
    """Ask the forwarder for its counters (SIGUSR1) and return them as a dict."""
    path = os.path.join(STATE_DIR, name + ".stats.json")
    with open(_pid_path(name)) as f:
        pid = int(f.read().strip())
    try:
        before = os.stat(path).st_mtime_ns
    except FileNotFoundError:
        before = 0
    os.kill(pid, signal.SIGUSR1)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if os.stat(path).st_mtime_ns != before:
                break
        except FileNotFoundError:
            pass
        time.sleep(0.01)
    with open(path) as f:
        return json.load(f)


# --------------------------------------------------------------------------- CLI

def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)

    def common(sp):
        sp.add_argument("--name", required=True)

    def shaping(sp):
        sp.add_argument("--delay-ab", type=float, default=0.0, help="one-way delay a->b, ms")
        sp.add_argument("--delay-ba", type=float, default=0.0, help="one-way delay b->a, ms")
        sp.add_argument("--jitter", type=float, default=0.0, help="uniform +-jitter per packet, ms")
        sp.add_argument("--loss", type=float, default=0.0,
                        help="random loss per packet in each direction, percent")
        sp.add_argument("--loss-ab", type=float, default=None,
                        help="random loss a->b only, percent (overrides --loss for a->b)")
        sp.add_argument("--loss-ba", type=float, default=None,
                        help="random loss b->a only, percent (overrides --loss for b->a)")
        sp.add_argument("--seed", type=int, default=None)
        sp.add_argument("--allow-reorder", action="store_true")
        sp.add_argument("--addr-a", default=DEFAULT_ADDR_A)
        sp.add_argument("--addr-b", default=DEFAULT_ADDR_B)
        sp.add_argument("--no-rt", action="store_true", help="do not use SCHED_FIFO")

    up = sub.add_parser("up", help="create the namespaces and start the forwarder")
    common(up)
    shaping(up)
    up.add_argument("--no-probe-route", action="store_true",
                    help="do not add the 8.8.8.8/32 route Chromium needs for host candidates")
    common(sub.add_parser("down", help="stop the forwarder and delete the namespaces"))
    common(sub.add_parser("stats", help="print the forwarder's counters as JSON"))
    common(sub.add_parser("status", help="exit 0 if the link is up"))
    fw = sub.add_parser("_forward")
    common(fw)
    shaping(fw)
    fw.add_argument("--ready-fd", type=int, required=True)
    fw.add_argument("--parent-pid", type=int, default=0)
    fw.add_argument("--die-with-parent", action="store_true")
    args = p.parse_args(argv)

    if args.cmd == "_forward":
        _forward_main(args)
    elif args.cmd == "up":
        link = Link(args.name, args.delay_ab, args.delay_ba, args.jitter, args.loss, args.seed,
                    args.allow_reorder, args.addr_a, args.addr_b,
                    () if args.no_probe_route else CHROMIUM_PROBE_ROUTES,
                    realtime=not args.no_rt, detach=True, loss_ab=args.loss_ab, loss_ba=args.loss_ba)
        link.up()
        print(json.dumps({"name": args.name, "ns_a": link.ns("a"), "ns_b": link.ns("b"),
                          "addr_a": link.addr("a"), "addr_b": link.addr("b"),
                          "pid": link.proc.pid}))
    elif args.cmd == "down":
        link_down(args.name)
    elif args.cmd == "stats":
        print(json.dumps(link_stats(args.name), indent=1))
    elif args.cmd == "status":
        pidfile = _pid_path(args.name)
        ok = os.path.exists(pidfile) and _ns_exists(args.name + "-a") and _ns_exists(args.name + "-b")
        if ok:
            with open(pidfile) as f:
                ok = _alive(int(f.read().strip()))
        print("up" if ok else "down")
        return 0 if ok else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
