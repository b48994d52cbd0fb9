"""The userspace delay link delivers what it is configured to: UDP ground truth.

Needs root, /dev/net/tun and iproute2 (CI runs as root); skipped when not root,
FAILS as root when a prerequisite is missing (tests/netem/prereq.py).
Run: python3 -m pytest tests/netem/test_link.py -q
"""

import json
import os
import subprocess
import sys
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from link import Link, link_down  # noqa: E402

UDP_ECHO = os.path.join(HERE, "udp_echo.py")

from prereq import require  # noqa: E402


@pytest.fixture(autouse=True, scope="module")
def _prereqs():
    # not root: skip; root (CI) without /dev/net/tun or iproute2: fail loudly
    require(namespaces=True)


NAME = "pnt%d" % (os.getpid() % 100000)


def udp_rtt(link, count=200, interval=20, server_side="b", port=7777, extra=()):
    """Echo server on server_side, measure from the other side; returns udp_echo's JSON."""
    client_side = link.peer(server_side)
    server = subprocess.Popen(
        link.exec_prefix(server_side)
        + [sys.executable, UDP_ECHO, "serve", "--bind", link.addr(server_side), "--port", str(port)],
        stdout=subprocess.PIPE, text=True)
    try:
        assert "serving" in server.stdout.readline()
        out = subprocess.run(
            link.exec_prefix(client_side)
            + [sys.executable, UDP_ECHO, "measure", "--target", link.addr(server_side),
               "--port", str(port), "--count", str(count), "--interval", str(interval)]
            + list(extra),
            check=True, stdout=subprocess.PIPE, text=True, timeout=count * interval / 1000 + 30)
        return json.loads(out.stdout)
    finally:
        server.terminate()
        server.wait(timeout=5)


def test_symmetric_25_25():
    with Link(NAME, delay_ab=25, delay_ba=25) as link:
        r = udp_rtt(link)
        st = link.stats()
    assert r["lost"] == 0
    assert 50.0 <= r["median_ms"] <= 51.5, r
    assert r["min_ms"] >= 50.0, r
    assert st["sched_fifo"] is True
    assert st["forwarded_ab"] >= 200 and st["forwarded_ba"] >= 200


def test_asymmetric_10_90_both_directions():
    with Link(NAME, delay_ab=10, delay_ba=90) as link:
        from_a = udp_rtt(link, count=100, server_side="b")
        from_b = udp_rtt(link, count=100, server_side="a")
    for r in (from_a, from_b):
        assert r["lost"] == 0
        assert 100.0 <= r["median_ms"] <= 101.5, r


def test_one_way_delay_direction_is_respected():
    """a->b 40 ms, b->a 0: a packet sent from a and echoed by b still takes ~40 ms."""
    with Link(NAME, delay_ab=40, delay_ba=0) as link:
        r = udp_rtt(link, count=50)
    assert 40.0 <= r["median_ms"] <= 41.5, r


def test_jitter_and_loss_are_visible():
    with Link(NAME, delay_ab=25, delay_ba=25, jitter=5, loss=5, seed=7) as link:
        r = udp_rtt(link, count=400)
        st = link.stats()
    # 5 % per direction -> ~9.75 % of round trips lost
    assert 4.0 <= r["loss_pct"] <= 17.0, r
    assert st["lost_ab"] > 0 and st["lost_ba"] > 0
    # +-5 ms each way: RTT spread over ~40..60 ms, centred on ~50.5
    assert r["stdev_ms"] > 2.0, r
    assert r["p10_ms"] < 47.0 and r["p90_ms"] > 54.0, r
    assert r["min_ms"] >= 39.5, r
    assert 48.5 <= r["median_ms"] <= 53.0, r


def test_loss_in_one_direction_only():
    """loss_ab / loss_ba: a one-way loss shows up in that direction's counter only, also
    after reconfigure() moves it to the other direction."""
    with Link(NAME, delay_ab=2, delay_ba=2, loss_ab=20, seed=3) as link:
        r1 = udp_rtt(link, count=300, interval=5)
        st1 = link.stats()
        st2 = link.reconfigure(2, 2, loss_ba=20, seed=4)
        r2 = udp_rtt(link, count=300, interval=5)
        st3 = link.stats()
    assert st1["config"]["loss_ab_pct"] == 20 and st1["config"]["loss_ba_pct"] == 0, st1
    assert st1["config"]["loss_pct"] is None, st1
    assert st1["lost_ab"] >= 30 and st1["lost_ba"] == 0, st1
    # every echo that reached b came back: the round trips lost are a->b's
    assert r1["lost"] == st1["lost_ab"], (r1["lost"], st1)
    assert 10.0 <= r1["loss_pct"] <= 30.0, r1
    assert st2["config"]["loss_ab_pct"] == 0 and st2["config"]["loss_ba_pct"] == 20, st2
    assert st3["lost_ab"] == st1["lost_ab"], (st1, st3)
    assert st3["lost_ba"] >= 30, st3
    assert 10.0 <= r2["loss_pct"] <= 30.0, r2


def test_order_kept_under_jitter():
    """Echoes 1 ms apart across +-10 ms jitter come back in the order they were sent (the
    default keeps order per direction: a packet waits behind the previous one); with
    allow_reorder they overtake each other (so the check can see a reordering)."""
    with Link(NAME, delay_ab=20, delay_ba=20, jitter=10, seed=5) as link:
        kept = udp_rtt(link, count=200, interval=1, extra=["--arrival-order"])
        st = link.stats()
        link.reconfigure(20, 20, jitter=10, seed=6, allow_reorder=True)
        free = udp_rtt(link, count=200, interval=1, extra=["--arrival-order"])
    assert kept["lost"] == 0 and free["lost"] == 0, (kept["lost"], free["lost"])
    assert kept["arrival_seq"] == sorted(kept["arrival_seq"]), kept["arrival_seq"]
    assert st["held_ab"] > 0 and st["held_ba"] > 0, st  # the order rule did hold packets back
    assert free["arrival_seq"] != sorted(free["arrival_seq"]), "no reordering with allow_reorder"


def test_trace_lists_each_packet_with_its_payload_kind(tmp_path, monkeypatch):
    """P2P_LINK_TRACE: one line per packet, the last column the UDP payload's kind (s STUN,
    d DTLS, - other), read from its first byte as RFC 7983 demultiplexes them."""
    trace = tmp_path / "trace.txt"
    monkeypatch.setenv("P2P_LINK_TRACE", str(trace))
    send = ("import socket, sys\n"
            "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
            "for first in (0x00, 0x17, 0x7b):\n"
            "    s.sendto(bytes([first]) + bytes(31), (sys.argv[1], 9999))\n")
    with Link(NAME, delay_ab=1, delay_ba=1) as link:
        subprocess.run(link.exec_prefix("a") + [sys.executable, "-c", send, link.addr("b")],
                       check=True, timeout=30)
        time.sleep(0.2)
    rows = [line.split() for line in trace.read_text().splitlines() if line.strip()]
    ours = [r for r in rows if r[1] == "ab" and r[6] == "17" and r[8] == "9999"]
    assert [r[9] for r in ours] == ["s", "d", "-"], rows
    assert all(len(r) == 10 for r in rows), rows


def test_foreign_destinations_are_dropped():
    """Only packets for the peer's address cross; anything else routed into the TUN dies."""
    with Link(NAME, delay_ab=1, delay_ba=1) as link:
        subprocess.run(link.exec_prefix("a") + ["ip", "route", "add", "10.77.0.99/32", "dev", "tun-a"],
                       check=True)
        code = ("import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); "
                "[s.sendto(b'x', ('10.77.0.99', 9)) for _ in range(5)]")
        subprocess.run(link.exec_prefix("a") + [sys.executable, "-c", code], check=True)
        time.sleep(0.1)
        st = link.stats()
    assert st["dropped_foreign_ab"] == 5
    assert st["forwarded_ab"] == 0


def test_cleanup_even_on_failure():
    with pytest.raises(RuntimeError):
        with Link(NAME, delay_ab=1, delay_ba=1):
            raise RuntimeError("boom")
    ns = subprocess.run(["ip", "netns", "list"], stdout=subprocess.PIPE, text=True).stdout
    assert NAME + "-a" not in ns and NAME + "-b" not in ns
    assert not os.path.exists("/run/p2p-probe-netem/%s.pid" % NAME)


def teardown_module(module):
    link_down(NAME)
