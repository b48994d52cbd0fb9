"""p2p-probe test/demo server: the UNMODIFIED ``ProbeCoordinator`` of
``multi-user-gymnasium==0.1.3`` behind a small Flask-SocketIO app.

Run::

    .venv/bin/python server/app.py --port 8765 [--turn-username U --turn-credential C]
                                   [--log-level INFO]

Binds 127.0.0.1 only (async_mode='threading', Werkzeug + simple-websocket).

Socket.IO (default namespace)
-----------------------------
Clients connect with the query ``?subject_id=<id>``; the app keeps subject -> sid
(the latest socket of a subject wins; the entry is removed when that socket
disconnects). A socket without ``subject_id`` is a passive viewer (it only gets
the broadcasts below).

The probe handlers are wired exactly as ``mug/server/app.py`` does:

* ``probe_ready``  -> ``handle_ready(data.get('probe_session_id'), <subject of the socket>)``
* ``probe_signal`` -> ``handle_signal(probe_session_id=..., target_subject_id=..., signal_type=data.get('type'),
  payload=data.get('payload'), sender_socket_id=request.sid)``
* ``probe_result`` -> ``handle_result(data.get('probe_session_id'), data.get('rtt_ms'), data.get('success', False))``
  (the full payload is recorded first, see ``/api/probe_results``).

mug runs these handlers under eventlet, i.e. one at a time; with threads this app
serialises every coordinator call with one lock (the coordinator itself is not
thread-safe: two concurrent results would both find the session and ``del`` it twice).

Broadcasts for a live page:

* ``presence``       ``{subjects: [...]}`` on every connect/disconnect
* ``probe_complete`` ``{probe_session_id, subject_a, subject_b, rtt_ms, elapsed_ms}`` when on_complete runs

HTTP control API (the matchmaker side; tests, demo and bench use it)
--------------------------------------------------------------------
``GET /api/subjects``
    ``{"subjects": [...]}`` - subject ids with a connected socket (sorted).

``POST /api/probe``  JSON ``{"a": str, "b": str, "wait": bool = false, "timeout": s = 20}``
    Calls ``coordinator.create_probe(a, b, on_complete)``.
    Without ``wait``: ``{"probe_session_id"}``.
    With ``wait``: blocks until on_complete runs or ``timeout`` passes and returns the
    result object (below).

``GET /api/probes/<probe_session_id>?wait=15``
    The result object, waiting up to ``wait`` seconds (default 0) for on_complete. 404 if unknown.

    Result object::

        {"probe_session_id": str, "subject_a": str, "subject_b": str,
         "rtt_ms": number|null,      # exactly what on_complete received
         "rtt_ms_type": "int"|"float"|"NoneType"|...,   # Python type on_complete received
         "elapsed_ms": number|null,  # create_probe() -> on_complete, time.perf_counter
         "completed": bool}          # on_complete has run (rtt_ms may still be null = failure)

    A subject without a socket makes the coordinator call on_complete(a, b, None) at once.

``GET /api/probe_results?probe_session_id=ID``
    Every ``probe_result`` payload received for that session (all sessions if omitted),
    in arrival order, recorded before it is passed to the coordinator - including
    late/duplicate ones the coordinator logs as unknown::

        [{"from_subject_id": str|null, "payload": {...as sent...}, "t": unix seconds}]

Static files
------------
``/`` -> www/dist/index.html, ``/assets/*`` (and other files) -> www/dist/,
``/pkg/*`` -> pkg/, ``/legacy/*`` -> the installed ``mug/server/static/js/``,
``/vendor/*`` -> node_modules/socket.io-client/dist/ (``/vendor/socket.io.esm.min.js``),
``/test/*`` -> www/test/,
``/consumer/<name>/*`` -> tests/consumer/<name>/dist/ (the bundles built by tests/consumer).
"""
from __future__ import annotations

import argparse
import logging
import mimetypes
import os
import threading
import time
from pathlib import Path

import flask
from flask import jsonify, request, send_from_directory
from flask_socketio import SocketIO

import mug
from mug.server.probe_coordinator import ProbeCoordinator

REPO = Path(__file__).resolve().parent.parent
DIST_DIR = REPO / "www" / "dist"
PKG_DIR = REPO / "pkg"
TEST_DIR = REPO / "www" / "test"
CONSUMER_DIR = REPO / "tests" / "consumer"
VENDOR_DIR = REPO / "node_modules" / "socket.io-client" / "dist"
LEGACY_DIR = Path(mug.__file__).resolve().parent / "server" / "static" / "js"

mimetypes.add_type("application/wasm", ".wasm")
mimetypes.add_type("text/javascript", ".js")
mimetypes.add_type("text/javascript", ".mjs")

logger = logging.getLogger("p2p_probe.server")


class _Probe:
    """Bookkeeping for one create_probe() call (server side, not the coordinator's)."""

    def __init__(self, subject_a: str, subject_b: str):
        self.subject_a = subject_a
        self.subject_b = subject_b
        self.probe_session_id: str | None = None
        self.t0 = time.perf_counter()
        self.done = threading.Event()
        self.rtt_ms = None
        self.elapsed_ms: float | None = None
        self.announced = False

    def as_dict(self) -> dict:
        return {
            "probe_session_id": self.probe_session_id,
            "subject_a": self.subject_a,
            "subject_b": self.subject_b,
            "rtt_ms": self.rtt_ms,
            "rtt_ms_type": type(self.rtt_ms).__name__,
            "elapsed_ms": self.elapsed_ms,
            "completed": self.done.is_set(),
        }


def create_app(turn_username: str | None = None, turn_credential: str | None = None):
    app = flask.Flask(__name__, static_folder=None)
    app.config["SEND_FILE_MAX_AGE_DEFAULT"] = 0
    socketio = SocketIO(app, async_mode="threading")

    state_lock = threading.Lock()          # subject maps, probes, results
    coord_lock = threading.RLock()         # serialises every coordinator call
    subject_to_sid: dict[str, str] = {}
    sid_to_subject: dict[str, str] = {}
    probes: dict[str, _Probe] = {}
    results: list[dict] = []

    def get_socket_for_subject(subject_id: str) -> str | None:
        with state_lock:
            return subject_to_sid.get(str(subject_id)) if subject_id is not None else None

    def get_subject_id_from_session_id(sid: str) -> str | None:
        with state_lock:
            return sid_to_subject.get(sid)

    def subjects() -> list[str]:
        with state_lock:
            return sorted(subject_to_sid)

    coordinator = ProbeCoordinator(
        socketio=socketio,
        get_socket_for_subject=get_socket_for_subject,
        turn_username=turn_username,
        turn_credential=turn_credential,
    )

    def announce(p: _Probe) -> None:
        with state_lock:
            if p.announced or p.probe_session_id is None or not p.done.is_set():
                return
            p.announced = True
        socketio.emit("probe_complete", {
            "probe_session_id": p.probe_session_id,
            "subject_a": p.subject_a,
            "subject_b": p.subject_b,
            "rtt_ms": p.rtt_ms,
            "elapsed_ms": p.elapsed_ms,
        })

    def start_probe(a: str, b: str) -> _Probe:
        p = _Probe(a, b)

        def on_complete(subject_a, subject_b, rtt_ms):
            if p.done.is_set():
                logger.warning("on_complete called twice for %s", p.probe_session_id)
                return
            p.elapsed_ms = (time.perf_counter() - p.t0) * 1000.0
            p.rtt_ms = rtt_ms
            p.done.set()
            logger.info("on_complete %s %s<->%s rtt=%r (%s) %.1f ms", p.probe_session_id,
                        subject_a, subject_b, rtt_ms, type(rtt_ms).__name__, p.elapsed_ms)
            announce(p)  # no-op if create_probe has not returned yet (missing socket)

        with coord_lock:
            p.t0 = time.perf_counter()
            pid = coordinator.create_probe(a, b, on_complete)
        with state_lock:
            p.probe_session_id = pid
            probes[pid] = p
        announce(p)
        return p

    # ---------------- Socket.IO ----------------

    def broadcast_presence() -> None:
        socketio.emit("presence", {"subjects": subjects()})

    @socketio.on("connect")
    def on_connect(auth=None):
        subject_id = request.args.get("subject_id")
        if subject_id:
            with state_lock:
                subject_to_sid[subject_id] = request.sid
                sid_to_subject[request.sid] = subject_id
            logger.info("connect %s sid=%s", subject_id, request.sid)
        broadcast_presence()

    @socketio.on("disconnect")
    def on_disconnect(reason=None):
        with state_lock:
            subject_id = sid_to_subject.pop(request.sid, None)
            if subject_id is not None and subject_to_sid.get(subject_id) == request.sid:
                del subject_to_sid[subject_id]
        logger.info("disconnect %s sid=%s", subject_id, request.sid)
        broadcast_presence()

    @socketio.on("probe_ready")
    def handle_probe_ready(data):
        probe_session_id = data.get("probe_session_id")
        subject_id = get_subject_id_from_session_id(request.sid)
        with coord_lock:
            coordinator.handle_ready(probe_session_id, subject_id)

    @socketio.on("probe_signal")
    def handle_probe_signal(data):
        with coord_lock:
            coordinator.handle_signal(
                probe_session_id=data.get("probe_session_id"),
                target_subject_id=data.get("target_subject_id"),
                signal_type=data.get("type"),
                payload=data.get("payload"),
                sender_socket_id=request.sid,
            )

    @socketio.on("probe_result")
    def handle_probe_result(data):
        with state_lock:
            results.append({
                "from_subject_id": sid_to_subject.get(request.sid),
                "payload": data,
                "t": time.time(),
            })
        probe_session_id = data.get("probe_session_id")
        rtt_ms = data.get("rtt_ms")
        success = data.get("success", False)
        with coord_lock:
            coordinator.handle_result(probe_session_id, rtt_ms, success)

    # ---------------- HTTP control API ----------------

    @app.get("/api/subjects")
    def api_subjects():
        return jsonify({"subjects": subjects()})

    @app.post("/api/probe")
    def api_probe():
        body = request.get_json(force=True, silent=True) or {}
        a, b = body.get("a"), body.get("b")
        if a is None or b is None:
            return jsonify({"error": "need 'a' and 'b'"}), 400
        p = start_probe(str(a), str(b))
        if not body.get("wait"):
            return jsonify({"probe_session_id": p.probe_session_id})
        p.done.wait(float(body.get("timeout", 20)))
        return jsonify(p.as_dict())

    @app.get("/api/probes/<probe_session_id>")
    def api_probe_get(probe_session_id):
        with state_lock:
            p = probes.get(probe_session_id)
        if p is None:
            return jsonify({"error": "unknown probe_session_id"}), 404
        wait = float(request.args.get("wait", 0) or 0)
        if wait > 0:
            p.done.wait(wait)
        return jsonify(p.as_dict())

    @app.get("/api/probe_results")
    def api_probe_results():
        pid = request.args.get("probe_session_id")
        with state_lock:
            out = [r for r in results
                   if pid is None or (isinstance(r["payload"], dict)
                                      and r["payload"].get("probe_session_id") == pid)]
        return jsonify(out)

    # ---------------- static ----------------

    def serve(directory: Path, path: str):
        if not directory.is_dir():
            return f"{directory} does not exist (not built?)\n", 404
        return send_from_directory(directory, path)

    @app.get("/")
    def index():
        return serve(DIST_DIR, "index.html")

    @app.get("/pkg/<path:path>")
    def pkg(path):
        return serve(PKG_DIR, path)

    @app.get("/legacy/<path:path>")
    def legacy(path):
        return serve(LEGACY_DIR, path)

    @app.get("/vendor/<path:path>")
    def vendor(path):
        return serve(VENDOR_DIR, path)

    @app.get("/test/<path:path>")
    def test_files(path):
        return serve(TEST_DIR, path)

    @app.get("/consumer/<name>/<path:path>")
    def consumer_files(name, path):  # tests/consumer/<name>/dist/ (vite, esbuild, webpack)
        if not name.replace("-", "").replace("_", "").isalnum():
            return "unknown consumer project\n", 404
        return serve(CONSUMER_DIR / name / "dist", path)

    @app.get("/<path:path>")
    def dist_files(path):  # /assets/... and anything else the www build emits
        return serve(DIST_DIR, path)

    # ---------------- housekeeping ----------------

    cleanup = getattr(coordinator, "cleanup_stale_probes", None)
    if callable(cleanup):  # not present in multi-user-gymnasium 0.1.3
        def cleanup_loop():
            while True:
                time.sleep(5)
                try:
                    with coord_lock:
                        cleanup()
                except Exception:  # pragma: no cover
                    logger.exception("cleanup_stale_probes failed")
        threading.Thread(target=cleanup_loop, daemon=True, name="probe-cleanup").start()

    app.extensions["p2p_probe"] = {"coordinator": coordinator, "socketio": socketio}
    return app, socketio


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--port", type=int, default=int(os.environ.get("PORT", 8765)))
    ap.add_argument("--turn-username", default=None)
    ap.add_argument("--turn-credential", default=None)
    ap.add_argument("--log-level", default=os.environ.get("P2P_PROBE_LOG", "WARNING"))
    args = ap.parse_args(argv)

    level = getattr(logging, args.log_level.upper(), logging.WARNING)
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("werkzeug").setLevel(max(level, logging.WARNING))
    logging.getLogger("mug").setLevel(level)

    app, socketio = create_app(args.turn_username, args.turn_credential)
    print(f"p2p-probe server on http://127.0.0.1:{args.port}/", flush=True)
    socketio.run(app, host="127.0.0.1", port=args.port, allow_unsafe_werkzeug=True,
                 use_reloader=False, log_output=level <= logging.INFO)


if __name__ == "__main__":
    main()
