"""coturn on loopback: credentials work, wrong ones do not, nothing leaks the credential,
and a real Chromium relays through it.

Needs /usr/bin/turnserver (Debian package coturn); the browser tests also need Playwright
(Python) and /usr/bin/chromium. Skipped when those are missing and not root; as root (CI)
they FAIL instead (tests/netem/prereq.py).
Run: python3 -m pytest tests/turn -q
"""

import base64
import hashlib
import hmac
import os
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from coturn import Coturn, rest_credentials, stun_binding, turn_allocate  # noqa: E402

INPAGE_JS = os.path.join(HERE, "..", "netem", "www", "inpage.js")
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]

sys.path.insert(0, os.path.join(HERE, "..", "netem"))
from prereq import require  # noqa: E402


@pytest.fixture
def _needs_coturn():
    # not root: skip when coturn is missing; root (CI): fail loudly
    require(needs_root=False, coturn=True)


needs_coturn = pytest.mark.usefixtures("_needs_coturn")


def test_rest_credentials_format():
    user, cred = rest_credentials("topsecret", "alice", ttl=600, now=1_700_000_000)
    assert user == "1700000600:alice"
    expect = base64.b64encode(hmac.new(b"topsecret", b"1700000600:alice", hashlib.sha1).digest()).decode()
    assert cred == expect


@needs_coturn
def test_static_user_allocates_and_wrong_password_is_401():
    with Coturn(user="probe", password="secret") as t:
        assert stun_binding(t.port)
        ok = turn_allocate(t.port, "probe", "secret")
        assert ok["ok"] and ok["relayed"].startswith("127.0.0.1:")
        lo, hi = t.relay_ports
        assert lo <= int(ok["relayed"].split(":")[1]) <= hi
        assert turn_allocate(t.port, "probe", "wrong") == {"ok": False, "error_code": 401, "relayed": None}
        assert turn_allocate(t.port, "nobody", "secret")["error_code"] == 401


@needs_coturn
def test_rest_mode_time_limited_credentials():
    with Coturn(rest_secret="rest-secret-123") as t:
        user, cred = t.rest_credentials("bob", ttl=600)
        assert turn_allocate(t.port, user, cred)["ok"]
        assert turn_allocate(t.port, user, cred[:-2] + "AA")["error_code"] == 401
        old_user, old_cred = t.rest_credentials("bob", ttl=-60)  # expired a minute ago
        assert turn_allocate(t.port, old_user, old_cred)["error_code"] == 401
        # a credential made with another secret
        u2, c2 = rest_credentials("other-secret", "bob", ttl=600)
        assert turn_allocate(t.port, u2, c2)["error_code"] == 401


@needs_coturn
def test_credentials_never_logged_or_in_argv():
    for kw, secret in ((dict(password="pw-9f8e7d"), "pw-9f8e7d"),
                       (dict(rest_secret="rs-1a2b3c"), "rs-1a2b3c")):
        with Coturn(verbose=True, **kw) as t:
            if t.rest:
                user, cred = t.rest_credentials("x")
            else:
                user, cred = t.username, t.credential
            turn_allocate(t.port, user, cred)
            turn_allocate(t.port, user, cred + "bad")
            with open("/proc/%d/cmdline" % t.proc.pid, "rb") as f:
                argv = f.read().decode(errors="replace")
            log = t.log()
            assert log, "coturn wrote no log"
            assert secret not in argv
            assert secret not in log and cred not in log
            assert secret not in repr(t) and cred not in repr(t)
        assert t.proc.poll() is not None  # stopped


@pytest.fixture(scope="module")
def _needs_browser():
    require(needs_root=False, coturn=True, chromium=True, playwright=True)


needs_browser = pytest.mark.usefixtures("_needs_browser")


class _ThreadPage:
    """page.evaluate() forwarded to the Playwright thread (see tests/netem/pwthread.py:
    the e2e session may already hold a sync Playwright in the main thread)."""

    def __init__(self, pwt, page):
        self.pwt, self.page = pwt, page

    def evaluate(self, *args):
        return self.pwt.call(self.page.evaluate, *args)


@pytest.fixture(scope="module")
def page(_needs_browser):
    from pwthread import PlaywrightThread

    pwt = PlaywrightThread()
    try:
        b = pwt.call(lambda: pwt.pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS,
                                                    chromium_sandbox=False))
        pg = pwt.call(b.new_page)
        pwt.call(pg.goto, "about:blank")
        with open(INPAGE_JS) as f:
            pwt.call(pg.add_script_tag, content=f.read())
        yield _ThreadPage(pwt, pg)
        pwt.call(b.close)
    finally:
        pwt.stop()


def _pair(page, ice_servers, timeout_ms):
    return page.evaluate("c => window.inpagePair({config: c, timeoutMs: %d})" % timeout_ms,
                         {"iceServers": ice_servers, "iceTransportPolicy": "relay"})


@needs_browser
@pytest.mark.parametrize("mode", ["static", "rest"])
def test_chromium_relay_only_pair_connects(page, mode):
    with Coturn(rest_secret="browser-rest" if mode == "rest" else None) as t:
        r = _pair(page, t.ice_servers(name="chromium"), 10000)
        assert r["state"] == "open", r
        for side in ("pc1", "pc2"):
            assert r["candidates"][side], r
            assert all(" typ relay " in c for c in r["candidates"][side]), r
            sel = page.evaluate("w => window.pairSelected(w)", side)
            assert sel["localType"] == "relay" and sel["remoteType"] == "relay", sel
            assert sel["id"] == sel["transportSelectedId"]
            assert sel["currentRoundTripTime"] is not None and sel["currentRoundTripTime"] < 0.05


@needs_browser
def test_chromium_wrong_credential_gathers_no_relay_candidate(page):
    with Coturn() as t:
        r = _pair(page, t.ice_servers(credential="definitely-wrong"), 3000)
    assert r["state"] in ("timeout", "failed"), r
    assert r["candidates"] == {"pc1": [], "pc2": []}, r
    codes = {e["errorCode"] for e in r["candidateErrors"]["pc1"] + r["candidateErrors"]["pc2"]}
    assert codes == {401}, r
