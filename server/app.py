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
* ``room_run``       the room run's snapshot (below) when a run starts and when it ends
* ``room_cell``      ``{run_id, cell, run: {state, filled_ms, done_ms, in_flight, max_in_flight,
  max_in_flight_total}}`` whenever one pair of a room run changes (started, a side's probe_result,
  on_complete, timeout)

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

``POST /api/room/probe_all``  JSON ``{"subjects": [...] = every connected subject,
"per_peer": K = 2, "timeout": s = 20, "grace": s = 5}``
    A room run: every one of the N(N-1)/2 pairs of ``subjects`` is probed through the same
    ``start_probe`` -> ``coordinator.create_probe`` as ``POST /api/probe``, as many at once as
    fit, but at most K sessions in flight per participant. A participant's session counts from
    create_probe until *that participant's* probe_result for it arrives (so a legacy page, which
    holds one probe at a time, is never sent a second probe_prepare while it still measures the
    first with K=1); a side that never reports is released ``grace`` s after on_complete, or
    ``timeout`` s after create_probe (the pair is then ``timeout``). Pairs go out in
    round-robin-tournament order. One run at a time: 409 with the running run's id otherwise.
    Returns ``{"run_id", "pairs": n}`` at once; ``room_cell`` / ``room_run`` broadcasts follow.

``GET /api/room`` / ``GET /api/room/<run_id>?wait=s``
    The latest / that run's snapshot (``/api/room`` answers ``{"run": null}`` before the first
    run), with ``wait``: blocks until the run is done or ``wait`` s pass::

        {"run_id", "subjects": [...], "per_peer": K, "state": "running"|"done",
         "started_at": unix s, "filled_ms": ms to the last pair's on_complete | null,
         "done_ms": ms until every side reported or was released | null,
         "max_in_flight": {subject: n}, "max_in_flight_total": n,
         "cells": [{"a", "b", "probe_session_id", "state": "pending"|"running"|"ok"|"failed"|"timeout",
                    "rtt_ms" (what on_complete got), "started_ms", "completed_ms" (since the run's start),
                    "sides": {subject: {"payload": probe_result as sent, "ms": since the run's start}}}]}

Static files
------------
``/`` -> www/dist/index.html, ``/room`` -> www/dist/room.html (the live room page), ``/assets/*`` (and other files) -> www/dist/,
``/pkg/*`` -> pkg/, ``/legacy/*`` -> the installed ``mug/server/static/js/``,
``/vendor/*`` -> node_modules/socket.io-client/dist/ (``/vendor/socket.io.esm.min.js``),
``/test/*`` -> www/test/,
``/consumer/<name>/*`` -> tests/consumer/<name>/dist/ (the bundles built by tests/consumer).
"""
from __future__ import annotations

import argparse
import copy
import logging
import mimetypes
import os
import queue
import threading
import time
import uuid
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
        self.listener = None  # called with this _Probe after on_complete (room runs)

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



def tournament_order(subjects: list[str]) -> list[tuple[str, str]]:
    """Every pair of ``subjects`` once, in the rounds of a round-robin tournament (circle
    method): each round holds every participant at most once, so a scheduler that takes pairs
    in this order spreads the load over everybody from the start."""
    ring: list[str | None] = list(subjects)
    if len(ring) % 2:
        ring.append(None)
    n = len(ring)
    out: list[tuple[str, str]] = []
    for r in range(n - 1):
        for i in range(n // 2):
            a, b = ring[i], ring[n - 1 - i]
            if a is not None and b is not None:
                out.append((a, b) if (r + i) % 2 == 0 else (b, a))
        ring = [ring[0], ring[-1], *ring[1:-1]]
    return out


class RoomRun:
    """One room run (``POST /api/room/probe_all``): its own scheduler thread owns the run's
    state; socket handlers and on_complete only put events on its queue, so no lock is held
    while the coordinator is called (start_probe takes the coordinator lock, and on_complete
    runs under it)."""

    def __init__(self, subjects, per_peer, timeout_s, grace_s, start_probe, emit):
        self.run_id = f"room_{uuid.uuid4().hex[:12]}"
        self.subjects = list(subjects)
        self.per_peer = per_peer
        self.timeout_s = timeout_s
        self.grace_s = grace_s
        self._start_probe = start_probe
        self._emit = emit
        self.events: queue.Queue = queue.Queue()
        self.done = threading.Event()
        self.started_at = time.time()
        self._t0 = time.perf_counter()
        self.cells = [{"a": a, "b": b, "probe_session_id": None, "state": "pending", "rtt_ms": None,
                       "started_ms": None, "completed_ms": None, "sides": {}}
                      for a, b in tournament_order(self.subjects)]
        self._by_pid: dict[str, dict] = {}
        self._owed: dict[str, dict[str, float]] = {}  # pid -> {subject: release deadline}
        self.busy = {s: 0 for s in self.subjects}
        self.max_in_flight = {s: 0 for s in self.subjects}
        self.max_in_flight_total = 0
        self.filled_ms = None
        self.done_ms = None
        self._snap_lock = threading.Lock()
        self._snapshot = None
        self._publish()

    def ms(self) -> float:
        return round((time.perf_counter() - self._t0) * 1000.0, 1)

    # -- called from other threads
    def note_result(self, pid, subject, payload) -> None:
        self.events.put(("result", pid, subject, payload, self.ms()))

    def _on_complete(self, p) -> None:
        self.events.put(("complete", p.probe_session_id, p, None, self.ms()))

    def snapshot(self) -> dict:
        with self._snap_lock:
            return self._snapshot

    # -- the scheduler thread
    def run(self) -> None:
        try:
            self._loop()
        except Exception:  # pragma: no cover
            logger.exception("room run %s failed", self.run_id)
        finally:
            if self.done_ms is None:
                self.done_ms = self.ms()
            self._publish()
            self.done.set()
            self._emit("room_run", self.snapshot())

    def _loop(self) -> None:
        self._emit("room_run", self.snapshot())
        while True:
            self._launch()
            if all(c["state"] not in ("pending", "running") for c in self.cells) and not self._owed:
                return
            try:
                ev = self.events.get(timeout=0.1)
            except queue.Empty:
                ev = None
            changed = set()
            while ev is not None:
                kind, pid, x, payload, t = ev
                cell = self._by_pid.get(pid)
                if cell is not None:
                    if kind == "result":
                        self._side(cell, x, payload, t)
                    else:
                        self._complete(cell, x.rtt_ms, t)
                    changed.add(id(cell))
                try:
                    ev = self.events.get_nowait()
                except queue.Empty:
                    ev = None
            changed |= self._deadlines()
            if changed:
                self._publish()
                for c in self.cells:
                    if id(c) in changed:
                        self._emit("room_cell", self._cell_msg(c))

    def _launch(self) -> None:
        for cell in self.cells:
            a, b = cell["a"], cell["b"]
            if cell["state"] != "pending" or self.busy[a] >= self.per_peer or self.busy[b] >= self.per_peer:
                continue
            for s in (a, b):
                self.busy[s] += 1
                self.max_in_flight[s] = max(self.max_in_flight[s], self.busy[s])
            cell["state"] = "running"
            cell["started_ms"] = self.ms()
            p = self._start_probe(a, b, self._on_complete)
            pid = p.probe_session_id
            cell["probe_session_id"] = pid
            self._by_pid[pid] = cell
            self._owed[pid] = {a: cell["started_ms"] / 1000.0 + self.timeout_s,
                               b: cell["started_ms"] / 1000.0 + self.timeout_s}
            self.max_in_flight_total = max(self.max_in_flight_total, len(self._owed))
            if p.done.is_set():  # no socket for a or b: on_complete(None) ran inside create_probe
                self._complete(cell, p.rtt_ms, self.ms(), release_all=True)
            self._publish()
            self._emit("room_cell", self._cell_msg(cell))

    def _release(self, pid, subject) -> None:
        owed = self._owed.get(pid)
        if owed is not None and subject in owed:
            del owed[subject]
            self.busy[subject] -= 1
            if not owed:
                del self._owed[pid]

    def _side(self, cell, subject, payload, t) -> None:
        if subject not in (cell["a"], cell["b"]):
            return
        if subject not in cell["sides"]:
            cell["sides"][subject] = {"payload": payload, "ms": t}
        else:  # a second probe_result from the same side: keep them all
            cell["sides"][subject].setdefault("more", []).append(payload)
        self._release(cell["probe_session_id"], subject)

    def _complete(self, cell, rtt_ms, t, release_all=False) -> None:
        if cell["completed_ms"] is not None:
            return
        cell["completed_ms"] = t
        cell["rtt_ms"] = rtt_ms
        cell["state"] = "ok" if rtt_ms is not None else "failed"
        pid = cell["probe_session_id"]
        if release_all:
            for s in (cell["a"], cell["b"]):
                self._release(pid, s)
        elif pid in self._owed:
            for s in self._owed[pid]:
                self._owed[pid][s] = min(self._owed[pid][s], t / 1000.0 + self.grace_s)
        if all(c["completed_ms"] is not None for c in self.cells):
            self.filled_ms = max(c["completed_ms"] for c in self.cells)

    def _deadlines(self) -> set:
        now = self.ms() / 1000.0
        changed = set()
        for pid in list(self._owed):
            cell = self._by_pid[pid]
            for s, deadline in list(self._owed.get(pid, {}).items()):
                if now >= deadline:
                    logger.warning("room %s: %s did not report for %s; released", self.run_id, s, pid)
                    self._release(pid, s)
                    changed.add(id(cell))
            if cell["completed_ms"] is None and now >= cell["started_ms"] / 1000.0 + self.timeout_s:
                cell["state"] = "timeout"
                cell["completed_ms"] = self.ms()
                for s in (cell["a"], cell["b"]):
                    self._release(pid, s)
                if all(c["completed_ms"] is not None for c in self.cells):
                    self.filled_ms = max(c["completed_ms"] for c in self.cells)
                changed.add(id(cell))
        return changed

    def _cell_msg(self, cell) -> dict:
        """A room_cell broadcast: the pair, and the run's counters as they are now."""
        snap = self.snapshot()
        return {"run_id": self.run_id, "cell": copy.deepcopy(cell),
                "run": {k: snap[k] for k in ("state", "filled_ms", "done_ms", "in_flight", "max_in_flight",
                                             "max_in_flight_total")}}

    def _publish(self) -> None:
        all_done = all(c["state"] not in ("pending", "running") for c in self.cells) and not self._owed
        if all_done and self.done_ms is None:
            self.done_ms = self.ms()
        snap = {
            "run_id": self.run_id, "subjects": list(self.subjects), "per_peer": self.per_peer,
            "state": "done" if all_done else "running", "started_at": self.started_at,
            "timeout_s": self.timeout_s, "grace_s": self.grace_s,
            "filled_ms": self.filled_ms, "done_ms": self.done_ms,
            "max_in_flight": dict(self.max_in_flight), "max_in_flight_total": self.max_in_flight_total,
            "in_flight": {s: n for s, n in self.busy.items()},
            "cells": copy.deepcopy(self.cells),
        }
        with self._snap_lock:
            self._snapshot = snap


class Rooms:
    """The server's room runs: at most one running; results are fanned out to it."""

    def __init__(self):
        self.lock = threading.Lock()
        self.runs: dict[str, RoomRun] = {}
        self.latest: RoomRun | None = None

    def active(self) -> RoomRun | None:
        with self.lock:
            r = self.latest
        return r if r is not None and not r.done.is_set() else None

    def note_result(self, pid, subject, payload) -> None:
        r = self.active()
        if r is not None and isinstance(pid, str):
            r.note_result(pid, subject, payload)

    def start(self, run: RoomRun) -> RoomRun | None:
        """Starts `run` unless another is running (then returns that one)."""
        with self.lock:
            if self.latest is not None and not self.latest.done.is_set():
                return self.latest
            self.latest = run
            self.runs[run.run_id] = run
        threading.Thread(target=run.run, daemon=True, name=f"room-{run.run_id}").start()
        return None


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
    rooms = Rooms()

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

    def start_probe(a: str, b: str, listener=None) -> _Probe:
        p = _Probe(a, b)
        p.listener = listener

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
            if p.listener is not None:
                p.listener(p)

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
            entry = {
                "from_subject_id": sid_to_subject.get(request.sid),
                "payload": data,
                "t": time.time(),
            }
            results.append(entry)
        if isinstance(data, dict):
            rooms.note_result(data.get("probe_session_id"), entry["from_subject_id"], data)
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

    @app.post("/api/room/probe_all")
    def api_room_probe_all():
        body = request.get_json(force=True, silent=True) or {}
        subs = body.get("subjects")
        if subs is None:
            subs = subjects()
        if not isinstance(subs, list) or len({str(x) for x in subs}) != len(subs):
            return jsonify({"error": "'subjects' must be a list of distinct ids"}), 400
        subs = [str(x) for x in subs]
        if len(subs) < 2:
            return jsonify({"error": f"a room needs at least 2 subjects, got {subs}"}), 400
        try:
            per_peer = int(body.get("per_peer", 2))
            timeout_s = float(body.get("timeout", 20))
            grace_s = float(body.get("grace", 5))
        except (TypeError, ValueError):
            return jsonify({"error": "per_peer, timeout and grace must be numbers"}), 400
        if per_peer < 1:
            return jsonify({"error": "per_peer must be >= 1"}), 400
        run = RoomRun(subs, per_peer, timeout_s, grace_s, start_probe,
                      lambda event, data: socketio.emit(event, data))
        busy = rooms.start(run)
        if busy is not None:
            return jsonify({"error": "a room run is in progress", "run_id": busy.run_id}), 409
        return jsonify({"run_id": run.run_id, "pairs": len(run.cells)})

    @app.get("/api/room")
    def api_room_latest():
        r = rooms.latest
        return jsonify({"run": r.snapshot() if r is not None else None})

    @app.get("/api/room/<run_id>")
    def api_room_get(run_id):
        r = rooms.runs.get(run_id)
        if r is None:
            return jsonify({"error": "unknown run_id"}), 404
        wait = float(request.args.get("wait", 0) or 0)
        if wait > 0:
            r.done.wait(wait)
        return jsonify(r.snapshot())

    # ---------------- static ----------------

    def serve(directory: Path, path: str):
        if not directory.is_dir():
            return f"{directory} does not exist (not built?)\n", 404
        return send_from_directory(directory, path)

    @app.get("/")
    def index():
        return serve(DIST_DIR, "index.html")

    @app.get("/room")
    def room_page():
        return serve(DIST_DIR, "room.html")

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
