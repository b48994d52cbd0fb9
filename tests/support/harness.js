// In-page test support for tests/web.rs: a fake ProbeCoordinator relay (focused browser tests
// only; the real server is exercised in tests/e2e), deferreds, and a raw RTCPeerConnection
// peer that speaks the legacy ping/pong and can flood junk.

export function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms));
}

export function deferred() {
  let resolve;
  const promise = new Promise((r) => { resolve = r; });
  const d = { promise, calls: 0, last: undefined };
  d.fn = (v) => { d.calls += 1; d.last = v; resolve(v); };
  return d;
}

function makeSocket(server, subject) {
  const handlers = new Map();
  return {
    subject,
    on(ev, fn) { if (!handlers.has(ev)) handlers.set(ev, new Set()); handlers.get(ev).add(fn); },
    off(ev, fn) { handlers.get(ev)?.delete(fn); },
    emit(ev, data) {
      // JSON round trip, as socket.io does; asynchronous, as a network is
      const copy = data === undefined ? undefined : JSON.parse(JSON.stringify(data));
      setTimeout(() => server.receive(subject, ev, copy), server.delay);
    },
    deliver(ev, data) { for (const fn of [...(handlers.get(ev) || [])]) fn(data); },
    handlerCount() { let n = 0; for (const s of handlers.values()) n += s.size; return n; },
  };
}

// Mimics ProbeCoordinator: prepare -> 2 readies -> start; relays probe_signal with
// from_subject_id taken from the sending socket; records every probe_result.
export class FakeServer {
  constructor(delay = 0) {
    this.delay = delay;
    this.sockets = new Map();
    this.sessions = new Map();
    this.results = [];
    this.seq = 0;
  }
  socket(subject) {
    const s = makeSocket(this, subject);
    this.sockets.set(subject, s);
    return s;
  }
  handlerCount(subject) { return this.sockets.get(subject)?.handlerCount() ?? 0; }
  createProbe(a, b, startAfterOneReady = false) {
    const id = 'probe_test_' + (++this.seq);
    this.sessions.set(id, { a, b, ready: 0, startAfterOneReady });
    const send = (to, peer) => setTimeout(() => this.sockets.get(to)?.deliver('probe_prepare', {
      probe_session_id: id, peer_subject_id: peer, turn_username: null, turn_credential: null,
    }), this.delay);
    send(a, b);
    send(b, a);
    return id;
  }
  deliverRaw(subject, ev, data) { this.sockets.get(subject)?.deliver(ev, data); }
  receive(from, ev, data) {
    if (ev === 'probe_result') { this.results.push({ from, ...data }); return; }
    const s = this.sessions.get(data?.probe_session_id);
    if (!s) return;
    if (ev === 'probe_ready') {
      s.ready += 1;
      if (s.ready === 2 || s.startAfterOneReady) {
        for (const to of [s.a, s.b]) this.sockets.get(to)?.deliver('probe_start', { probe_session_id: data.probe_session_id });
      }
    } else if (ev === 'probe_signal') {
      const fromSubject = from === s.a || from === s.b ? from : null;
      this.sockets.get(data.target_subject_id)?.deliver('probe_signal', {
        probe_session_id: data.probe_session_id, type: data.type, from_subject_id: fromSubject, payload: data.payload,
      });
    }
  }
  resultsFor(id) { return this.results.filter((r) => r.probe_session_id === id); }
  async waitResults(id, n, timeoutMs) {
    const end = performance.now() + timeoutMs;
    while (this.resultsFor(id).length < n && performance.now() < end) await sleep(10);
    return this.resultsFor(id);
  }
}

// A hand-written peer (answerer) with a raw RTCPeerConnection: answers pings like the legacy
// client, and on open floods the channel with junk first.
export function junkPeer(server, subject, sessionId, peerSubject) {
  const socket = server.socket(subject);
  const pc = new RTCPeerConnection({ iceServers: [] });
  const pending = [];
  let remoteSet = false;
  const send = (type, payload) => socket.emit('probe_signal', { probe_session_id: sessionId, target_subject_id: peerSubject, type, payload });
  pc.onicecandidate = (e) => { if (e.candidate) send('ice-candidate', e.candidate.toJSON()); };
  pc.ondatachannel = (e) => {
    const dc = e.channel;
    dc.onopen = () => {
      const junk = [
        'not json', '', '{', '[]', '42', 'null', '{"type":"pong","seq":12345,"ts":1}', '{"type":"pong","seq":-1}',
        '{"type":"ping","seq":"x"}', '{"type":"ping","seq":1e400}', '{"type":{"nested":[[[[[]]]]]},"seq":1}',
        JSON.stringify({ type: 'ping', seq: 1, ts: 'x'.repeat(64 * 1024) }), '['.repeat(10000),
        '{"type":"pong","seq":0,"ts":0,"extra":' + '['.repeat(500) + ']'.repeat(500) + '}',
      ];
      for (const m of junk) dc.send(m);
      dc.send(new Uint8Array([1, 2, 3]));
    };
    dc.onmessage = (m) => {
      let msg;
      try { msg = JSON.parse(m.data); } catch { return; }
      if (msg.type === 'ping') dc.send(JSON.stringify({ type: 'pong', seq: msg.seq, ts: msg.ts }));
    };
  };
  socket.on('probe_signal', async (d) => {
    if (d.probe_session_id !== sessionId) return;
    if (d.type === 'offer') {
      await pc.setRemoteDescription(d.payload);
      remoteSet = true;
      for (const c of pending.splice(0)) await pc.addIceCandidate(c);
      const ans = await pc.createAnswer();
      await pc.setLocalDescription(ans);
      send('answer', { type: 'answer', sdp: pc.localDescription.sdp });
    } else if (d.type === 'ice-candidate' && d.payload) {
      if (remoteSet) await pc.addIceCandidate(d.payload); else pending.push(d.payload);
    }
  });
  return { close() { pc.close(); } };
}

export function countWarnings() {
  const original = console.warn;
  const counter = { count: 0, restore() { console.warn = original; } };
  console.warn = (...args) => { counter.count += 1; original(...args); };
  return counter;
}

export function errorCode(e) {
  return e instanceof Error ? String(e.code) : 'not-an-error';
}

export function within(promise, ms, label) {
  return Promise.race([promise, sleep(ms).then(() => { throw new Error('timed out: ' + label); })]);
}
