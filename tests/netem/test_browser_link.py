"""Two real Chromium processes across the 25/25 ms link: getStats RTT tracks the UDP truth.

Needs root, Playwright (Python) and /usr/bin/chromium; skipped when not root, FAILS as
root when a prerequisite is missing (tests/netem/prereq.py). ~25 s.
Run: python3 -m pytest tests/netem/test_browser_link.py -q
"""

import os
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)


from prereq import require  # noqa: E402


@pytest.fixture(autouse=True, scope="module")
def _prereqs():
    # not root: skip; root (CI) without chromium/playwright/tun: fail loudly
    require(namespaces=True, chromium=True, playwright=True)


def test_chromium_pair_across_25_25_link():
    import browser_pair

    r = browser_pair.run(browser_pair.parse_args(
        ["--name", "pbt%d" % (os.getpid() % 10000), "--delay-ab", "25", "--delay-ba", "25",
         "--samples", "12", "--sample-interval", "0.5", "--pings", "10"]))
    udp = r["udp"]["median_ms"]
    assert 50.0 <= udp <= 51.5, r["udp"]
    assert r["states"] == {"a": "open", "b": "open"}
    for side, local, remote in (("a", "10.77.0.1", "10.77.0.2"), ("b", "10.77.0.2", "10.77.0.1")):
        at_open = r["selected_at_open"][side]
        assert at_open["currentRoundTripTime"] is not None  # an ICE RTT exists at open
        sel = r["selected"][side]
        assert (sel["localType"], sel["remoteType"]) == ("host", "host")
        assert (sel["localAddress"], sel["remoteAddress"]) == (local, remote)
        st = r["stats_rtt_ms"][side]
        # Chromium reports whole ms and adds its own thread hops: 52 ms for a 50.7 ms truth on
        # a quiet machine. A new value comes only with each ICE consent check (every few s),
        # and under heavy load (load average 10 on 2 cores) single checks read up to ~8 ms
        # high, so the lowest sample is held tight and the median loosely.
        assert udp - 0.5 <= st["min"] <= udp + 4.0, (side, st, udp)
        assert st["median"] <= udp + 12.0, (side, st, udp)
    ping = r["dc_ping_ms"]
    assert ping["lost"] == 0
    assert udp <= ping["median"] <= udp + 10.0, (ping, udp)
    # nothing but peer-to-peer traffic entered the link (e.g. nothing towards 8.8.8.8)
    assert r["link_stats"]["dropped_foreign_ab"] == 0 and r["link_stats"]["dropped_foreign_ba"] == 0
