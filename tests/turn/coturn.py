#!/usr/bin/env python3
"""Start/stop a throw-away coturn (`turnserver`) on 127.0.0.1 for relay tests (stdlib only).

    with Coturn() as turn:                      # static user: probe / <random secret>
        turn.ice_servers()  -> [{"urls": "turn:127.0.0.1:PORT?transport=udp",
                                 "username": "probe", "credential": "..."}]
    with Coturn(rest_secret="s3cret") as turn:  # TURN REST API (--use-auth-secret)
        user, cred = turn.rest_credentials("alice", ttl=3600)
        turn.ice_servers(name="alice")

CLI (for poking at it by hand):
    coturn.py run [--rest] [--port P]   # prints the listening URL (never the credential),
                                        # runs until Ctrl-C / SIGTERM
    coturn.py check [--rest]            # start, check STUN + TURN Allocate with the right
                                        # and a wrong credential, stop; JSON out

Listening and relay addresses are 127.0.0.1 only (UDP; TLS/DTLS/TCP relay off), the relay
port range is a free block of loopback ports, `--allow-loopback-peers` lets two peers on this
machine relay to each other. Credentials are written to a 0600 config file in a private
temp dir (not argv, so they do not show in `ps`), and nothing here prints them: repr() and
the CLI show only the username.

REST credentials (RFC-less but standard "TURN REST API", what coturn's --use-auth-secret
expects): username = "<unix expiry>:<name>", credential = base64(HMAC-SHA1(secret, username)).
"""

import argparse
import base64
import hashlib
import hmac
import json
import os
import secrets
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

TURNSERVER = os.environ.get("TURNSERVER", "/usr/bin/turnserver")
REALM = "p2p-probe"
HOST = "127.0.0.1"


# --------------------------------------------------------------------------- credentials

def rest_credentials(secret, name="probe", ttl=3600, now=None):
    """(username, credential) for coturn's --use-auth-secret mode."""
    expiry = int(now if now is not None else time.time()) + int(ttl)
    username = "%d:%s" % (expiry, name)
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return username, base64.b64encode(digest).decode()


# --------------------------------------------------------------------------- ports

def _udp_port_free(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.bind((HOST, port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def _tcp_port_free(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind((HOST, port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def free_port():
    """A port free for both UDP and TCP on 127.0.0.1 (coturn listens on both)."""
    for _ in range(100):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind((HOST, 0))
        port = s.getsockname()[1]
        s.close()
        if _tcp_port_free(port):
            return port
    raise RuntimeError("no free port")


def free_port_range(size=40, low=40000, high=60000):
    """A block of `size` consecutive free UDP ports on 127.0.0.1."""
    rng = secrets.SystemRandom()
    for _ in range(200):
        base = rng.randrange(low, high - size)
        if all(_udp_port_free(p) for p in range(base, base + size)):
            return base, base + size - 1
    raise RuntimeError("no free relay port range")


# --------------------------------------------------------------------------- STUN/TURN client

MAGIC = 0x2112A442
ATTR_USERNAME, ATTR_MESSAGE_INTEGRITY, ATTR_ERROR_CODE = 0x0006, 0x0008, 0x0009
ATTR_REALM, ATTR_NONCE, ATTR_XOR_RELAYED, ATTR_REQ_TRANSPORT = 0x0014, 0x0015, 0x0016, 0x0019
ATTR_LIFETIME = 0x000D


def _attr(t, value):
    pad = (4 - len(value) % 4) % 4
    return struct.pack("!HH", t, len(value)) + value + b"\0" * pad


def _msg(mtype, txn, attrs=b""):
    return struct.pack("!HHI", mtype, len(attrs), MAGIC) + txn + attrs


def _parse(data):
    mtype, length, magic = struct.unpack_from("!HHI", data)
    txn = data[8:20]
    attrs, off = {}, 20
    while off + 4 <= 20 + length:
        t, ln = struct.unpack_from("!HH", data, off)
        attrs.setdefault(t, data[off + 4:off + 4 + ln])
        off += 4 + ln + (4 - ln % 4) % 4
    return mtype, txn, attrs


def _request(sock, payload, txn, timeout=2.0):
    sock.settimeout(timeout)
    sock.send(payload)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        data = sock.recv(2048)
        mtype, rtxn, attrs = _parse(data)
        if rtxn == txn:
            return mtype, attrs
    raise socket.timeout()


def stun_binding(port, host=HOST, timeout=1.0):
    """True if a STUN Binding request to host:port gets a success response."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.connect((host, port))
        txn = secrets.token_bytes(12)
        mtype, _ = _request(s, _msg(0x0001, txn), txn, timeout)
        return mtype == 0x0101
    except (OSError, socket.timeout):
        return False
    finally:
        s.close()


def turn_allocate(port, username, credential, host=HOST, realm=None, timeout=2.0):
    """Try a TURN Allocate (UDP) with long-term credentials.

    Returns {"ok": bool, "error_code": int|None, "relayed": "ip:port"|None}. The allocation is
    released (Refresh lifetime 0) when it succeeded."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.connect((host, port))
    try:
        req_tr = _attr(ATTR_REQ_TRANSPORT, bytes([17, 0, 0, 0]))
        txn = secrets.token_bytes(12)
        mtype, attrs = _request(s, _msg(0x0003, txn, req_tr), txn, timeout)
        if mtype != 0x0113 or ATTR_NONCE not in attrs:
            return {"ok": mtype == 0x0103, "error_code": None, "relayed": None}
        realm = attrs.get(ATTR_REALM, (realm or REALM).encode())
        nonce = attrs[ATTR_NONCE]
        key = hashlib.md5(username.encode() + b":" + realm + b":" + credential.encode()).digest()

        def signed(mtype, txn, body):
            body = body + _attr(ATTR_USERNAME, username.encode()) + _attr(ATTR_REALM, realm) \
                + _attr(ATTR_NONCE, nonce)
            # length field covers attributes up to and including MESSAGE-INTEGRITY (24 bytes)
            head = struct.pack("!HHI", mtype, len(body) + 24, MAGIC) + txn
            mac = hmac.new(key, head + body, hashlib.sha1).digest()
            return head + body + _attr(ATTR_MESSAGE_INTEGRITY, mac)

        txn = secrets.token_bytes(12)
        mtype, attrs = _request(s, signed(0x0003, txn, req_tr), txn, timeout)
        if mtype == 0x0103:
            relayed = None
            xr = attrs.get(ATTR_XOR_RELAYED)
            if xr and xr[1] == 1:
                rport = struct.unpack("!H", xr[2:4])[0] ^ (MAGIC >> 16)
                raddr = struct.unpack("!I", xr[4:8])[0] ^ MAGIC
                relayed = "%s:%d" % (socket.inet_ntoa(struct.pack("!I", raddr)), rport)
            txn = secrets.token_bytes(12)
            try:
                _request(s, signed(0x0004, txn, _attr(ATTR_LIFETIME, struct.pack("!I", 0))), txn, timeout)
            except (OSError, socket.timeout):
                pass
            return {"ok": True, "error_code": None, "relayed": relayed}
        code = None
        ec = attrs.get(ATTR_ERROR_CODE)
        if ec and len(ec) >= 4:
            code = (ec[2] & 0x7) * 100 + ec[3]
        return {"ok": False, "error_code": code, "relayed": None}
    finally:
        s.close()


# --------------------------------------------------------------------------- server

class Coturn:
    """A coturn process on 127.0.0.1; context manager. See the module docstring."""

    def __init__(self, user="probe", password=None, rest_secret=None, port=None,
                 relay_ports=None, realm=REALM, turnserver=TURNSERVER, verbose=False):
        self.rest = rest_secret is not None
        self.user = user
        self._password = password if password is not None else secrets.token_urlsafe(12)
        self._secret = rest_secret
        self.port = port
        self.relay_ports = relay_ports
        self.realm = realm
        self.turnserver = turnserver
        self.verbose = verbose
        self.proc = None
        self.dir = None

    def __repr__(self):  # never shows a credential
        return "Coturn(%s, port=%s, mode=%s)" % (HOST, self.port, "rest" if self.rest else "static:" + self.user)

    # credentials -----------------------------------------------------------
    @property
    def username(self):
        return self.user

    @property
    def credential(self):
        return self._password

    def rest_credentials(self, name="probe", ttl=3600, now=None):
        if not self.rest:
            raise ValueError("not started in REST (--use-auth-secret) mode")
        return rest_credentials(self._secret, name, ttl, now)

    def url(self, transport="udp"):
        return "turn:%s:%d?transport=%s" % (HOST, self.port, transport)

    def ice_servers(self, name="probe", ttl=3600, username=None, credential=None):
        """RTCConfiguration.iceServers for this server (override username/credential to test
        a wrong one)."""
        if username is None or credential is None:
            u, c = self.rest_credentials(name, ttl) if self.rest else (self.user, self._password)
            username = u if username is None else username
            credential = c if credential is None else credential
        return [{"urls": self.url(), "username": username, "credential": credential}]

    # lifecycle -------------------------------------------------------------
    def start(self, timeout=10.0):
        if not os.path.exists(self.turnserver):
            raise FileNotFoundError("%s not found (apt-get install coturn)" % self.turnserver)
        self.port = self.port or free_port()
        lo, hi = self.relay_ports or free_port_range()
        self.relay_ports = (lo, hi)
        self.dir = tempfile.mkdtemp(prefix="coturn-")
        os.chmod(self.dir, 0o700)
        conf = os.path.join(self.dir, "turnserver.conf")
        lines = [
            "listening-ip=%s" % HOST, "relay-ip=%s" % HOST, "listening-port=%d" % self.port,
            "min-port=%d" % lo, "max-port=%d" % hi, "realm=%s" % self.realm,
            "allow-loopback-peers", "no-multicast-peers", "no-cli", "no-tls", "no-dtls",
            "no-tcp-relay", "no-rfc5780", "no-software-attribute",
            "userdb=%s" % os.path.join(self.dir, "turndb"),
            "pidfile=%s" % os.path.join(self.dir, "turnserver.pid"),
            "log-file=%s" % os.path.join(self.dir, "turnserver.log"), "simple-log",
        ]
        if self.rest:
            lines += ["use-auth-secret", "static-auth-secret=%s" % self._secret]
        else:
            lines += ["lt-cred-mech", "user=%s:%s" % (self.user, self._password)]
        if self.verbose:
            lines.append("verbose")
        fd = os.open(conf, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write("\n".join(lines) + "\n")
        self.proc = subprocess.Popen([self.turnserver, "-c", conf, "--no-stdout-log"],
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self.stop()
                raise RuntimeError("turnserver exited with %s" % self.proc.returncode)
            if stun_binding(self.port, timeout=0.2):
                return self
            time.sleep(0.05)
        self.stop()
        raise RuntimeError("turnserver did not answer STUN on %s:%d" % (HOST, self.port))

    def log(self):
        """coturn's own log (it does not contain the password or secret)."""
        try:
            with open(os.path.join(self.dir, "turnserver.log")) as f:
                return f.read()
        except (OSError, TypeError):
            return ""

    def stop(self):
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.terminate()
                try:
                    self.proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait()
        if self.dir:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False


def check(rest):
    secret = secrets.token_urlsafe(16) if rest else None
    with Coturn(rest_secret=secret) as t:
        if rest:
            user, cred = t.rest_credentials("checker", ttl=600)
            expired_user, expired_cred = t.rest_credentials("checker", ttl=-60)
        else:
            user, cred = t.username, t.credential
            expired_user = expired_cred = None
        out = {"server": repr(t), "stun": stun_binding(t.port),
               "allocate_ok": turn_allocate(t.port, user, cred),
               "allocate_wrong_credential": turn_allocate(t.port, user, cred + "x")}
        if rest:
            out["allocate_expired"] = turn_allocate(t.port, expired_user, expired_cred)
        return out


def main(argv=None):
    p = argparse.ArgumentParser(description="throw-away coturn on 127.0.0.1")
    sub = p.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("--rest", action="store_true")
    r.add_argument("--port", type=int)
    c = sub.add_parser("check")
    c.add_argument("--rest", action="store_true")
    a = p.parse_args(argv)
    if a.cmd == "check":
        print(json.dumps(check(a.rest), indent=1))
        return 0
    secret = secrets.token_urlsafe(16) if a.rest else None
    with Coturn(rest_secret=secret, port=a.port) as t:
        print(json.dumps({"url": t.url(), "mode": "rest" if a.rest else "static",
                          "username": None if a.rest else t.username}), flush=True)
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        try:
            while t.proc.poll() is None:
                time.sleep(0.5)
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
