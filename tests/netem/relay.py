#!/usr/bin/env python3
"""Tiny static server + long-poll signaling relay for WebRTC test pages (stdlib only).

    relay.py --bind 10.77.0.1 --port 8000 [--root DIR] [--duration S]

- GET  /<path>                      static files from --root (default: tests/netem/www)
- POST /signal/<room>/<to>          body = any JSON; queued for peer <to> in <room>
- GET  /signal/<room>/<me>?wait=S   long poll: JSON list of queued messages (may be [])
- POST /result/<room>/<who>         body = any JSON; kept for /results
- GET  /results/<room>              {who: body, ...}

Run it inside NAME-a (`ip netns exec NAME-a python3 relay.py --bind 10.77.0.1`): the browser
in NAME-a reaches it locally, the one in NAME-b across the delayed link.
Prints one JSON line {"listening": "host:port"} when ready.
"""

import argparse
import json
import os
import sys
import threading
import time
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

HERE = os.path.dirname(os.path.abspath(__file__))

_lock = threading.Condition()
_queues = {}   # (room, who) -> [msg]
_results = {}  # room -> {who: body}


class Handler(SimpleHTTPRequestHandler):
    server_version = "p2p-probe-relay"

    def log_message(self, fmt, *args):  # quiet
        pass

    def end_headers(self):
        self.send_header("Cache-Control", "no-store")
        super().end_headers()

    def _json(self, obj, code=200):
        body = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _body(self):
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n) if n else b"null"
        return json.loads(raw or b"null")

    def do_POST(self):
        parts = urlparse(self.path).path.strip("/").split("/")
        if len(parts) == 3 and parts[0] == "signal":
            msg = self._body()
            with _lock:
                _queues.setdefault((parts[1], parts[2]), []).append(msg)
                _lock.notify_all()
            return self._json({"ok": True})
        if len(parts) == 3 and parts[0] == "result":
            body = self._body()
            with _lock:
                _results.setdefault(parts[1], {})[parts[2]] = body
                _lock.notify_all()
            return self._json({"ok": True})
        self._json({"error": "not found"}, 404)

    def do_GET(self):
        url = urlparse(self.path)
        parts = url.path.strip("/").split("/")
        if len(parts) == 3 and parts[0] == "signal":
            wait = min(float(parse_qs(url.query).get("wait", ["20"])[0]), 30.0)
            key = (parts[1], parts[2])
            deadline = time.monotonic() + wait
            with _lock:
                while not _queues.get(key):
                    left = deadline - time.monotonic()
                    if left <= 0:
                        break
                    _lock.wait(left)
                msgs = _queues.pop(key, [])
            return self._json(msgs)
        if len(parts) == 2 and parts[0] == "results":
            with _lock:
                return self._json(_results.get(parts[1], {}))
        return super().do_GET()


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        # a browser that goes away in the middle of a long poll is normal
        if isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            return
        super().handle_error(request, client_address)


def main(argv=None):
    p = argparse.ArgumentParser()
    p.add_argument("--bind", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--root", default=os.path.join(HERE, "www"))
    p.add_argument("--duration", type=float, default=0, help="exit after S seconds (0: never)")
    a = p.parse_args(argv)
    handler = lambda *args, **kw: Handler(*args, directory=a.root, **kw)  # noqa: E731
    srv = Server((a.bind, a.port), handler)
    print(json.dumps({"listening": "%s:%d" % srv.server_address}), flush=True)
    if a.duration:
        threading.Timer(a.duration, srv.shutdown).start()
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
