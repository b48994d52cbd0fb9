"""What every browser suite needs from this machine: the real server (server/app.py with the
unmodified ProbeCoordinator) on a free 127.0.0.1 port, its HTTP control API, and the Chromium
flags for WebRTC on loopback with nothing reaching outside hosts. Used by tests/e2e and
tests/consumer (each puts tests/support on sys.path)."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--allow-loopback-in-peer-connection",
    "--use-fake-ui-for-media-stream",
    "--disable-features=WebRtcHideLocalIpsWithMdns",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, port: int, proc: subprocess.Popen, log_path: Path):
        self.port = port
        self.base_url = f"http://127.0.0.1:{port}"
        self.proc = proc
        self.log_path = log_path

    def _req(self, method: str, path: str, body=None, timeout: float = 30):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.base_url + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return json.loads(r.read())

    def get(self, path: str, timeout: float = 30):
        return self._req("GET", path, timeout=timeout)

    def subjects(self) -> list[str]:
        return self.get("/api/subjects")["subjects"]

    def wait_subjects(self, *ids: str, timeout: float = 10) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if set(ids) <= set(self.subjects()):
                return
            time.sleep(0.05)
        raise AssertionError(f"subjects {ids} not connected; connected: {self.subjects()}")

    def probe(self, a: str, b: str, wait: bool = True, timeout: float = 15) -> dict:
        return self._req("POST", "/api/probe", {"a": a, "b": b, "wait": wait, "timeout": timeout},
                         timeout=timeout + 10)

    def probe_results(self, probe_session_id: str) -> list[dict]:
        q = urllib.parse.quote(probe_session_id)
        return self.get(f"/api/probe_results?probe_session_id={q}")


def start_server(log_path: Path, *extra_args: str) -> Server:
    """server/app.py on a free port (its output in `log_path`), once it answers /api/subjects."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    port = free_port()
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            [sys.executable, str(REPO / "server" / "app.py"), "--port", str(port), "--log-level", "INFO",
             *extra_args],
            cwd=REPO, stdout=log, stderr=subprocess.STDOUT)
    srv = Server(port, proc, log_path)
    deadline = time.monotonic() + 20
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}; see {log_path}:\n"
                               + log_path.read_text()[-3000:])
        try:
            srv.subjects()
            return srv
        except (urllib.error.URLError, ConnectionError, OSError):
            if time.monotonic() > deadline:
                proc.kill()
                raise RuntimeError(f"server did not come up; see {log_path}")
            time.sleep(0.1)


def stop_server(srv: Server) -> None:
    srv.proc.terminate()
    try:
        srv.proc.wait(5)
    except subprocess.TimeoutExpired:
        srv.proc.kill()
        srv.proc.wait()
