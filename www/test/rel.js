// Reliability test client, loaded by www/test/rel.html for client=ours|raw|bare|intruder
// (client=legacy|dropin load www/test/peer.js unchanged).
//
//   ours     : attachProbeManager from /pkg/index.js with iceServers [] + ?opts=<JSON>.
//   raw      : a bare socket that answers probe_prepare with probe_ready and then goes silent.
//   bare     : the floor to compare against, not a product: a bare-bones JS client (any number
//              of sessions) that reports the selected pair's getStats RTT the moment the data
//              channel opens. No pings, no validation, no timeouts, no cleanup beyond pc.close().
//   intruder : a third socket, not part of any probe, that injects real and junk probe_signals.
//
// Extras on window.__probe (besides instrument.js's fields):
//   events  [{event, data, t}]  full payloads of received probe_* events (t = performance.now())
//   times   {session: {prepare, start, result}}  performance.now() of each step (ours/raw)
//   opens   [{t}]  data channels that opened in this page
//   counts  {results, ok, fail, prepares, starts, signals, pcs}
// Functions: window.__wasmMemory() (ours), window.__reattach(opts) (ours: close the manager and
// attach a new one), window.__inject(event, payloads) (call the socket's own handlers),
// window.__intrude({a, b, durationMs}) (intruder).
import { io } from '/vendor/socket.io.esm.min.js';

const P = window.__probe;
const params = new URLSearchParams(location.search);
const kind = params.get('client');
const subject = params.get('subject');
const keep = Number(params.get('keep') || 0);
const dup = Math.max(1, Number(params.get('dup') || 1));
const baseOpts = JSON.parse(params.get('opts') || '{}');
P.kind = kind;
P.subject = subject;
P.events = [];
P.times = {};
P.opens = [];
P.counts = { results: 0, ok: 0, fail: 0, prepares: 0, starts: 0, signals: 0, pcs: 0 };

const now = () => performance.now();
function push(arr, x) {
  arr.push(x);
  if (keep > 0 && arr.length > keep) arr.splice(0, arr.length - keep);
}
function stamp(session, step) {
  if (typeof session !== 'string') return;
  const t = P.times[session] || (P.times[session] = {});
  if (t[step] === undefined) t[step] = now();
  if (keep > 0) {
    const ks = Object.keys(P.times);
    if (ks.length > keep) for (const k of ks.slice(0, ks.length - keep)) delete P.times[k];
  }
}
function log(...args) {
  const el = document.getElementById('log');
  if (el && !keep) el.textContent += args.join(' ') + '\n';
}

// Spy on peer connections (on top of instrument.js's neutraliser): count them, note channel opens.
{
  const Base = window.RTCPeerConnection;
  const spy = (dc) => {
    const opened = () => push(P.opens, { t: now(), label: dc.label });
    if (dc.readyState === 'open') opened(); else dc.addEventListener('open', opened, { once: true });
  };
  window.RTCPeerConnection = class SpyRTCPeerConnection extends Base {
    constructor(...args) {
      super(...args);
      P.counts.pcs++;
      this.addEventListener('datachannel', (e) => spy(e.channel));
    }
    createDataChannel(...args) {
      const dc = super.createDataChannel(...args);
      spy(dc);
      return dc;
    }
  };
  if (keep > 0) {
    // bounded logs: instrument.js appends one config per peer connection
    setInterval(() => { if (P.pcConfigs.length > keep) P.pcConfigs.splice(0, P.pcConfigs.length - keep); }, 1000);
  }
}

function instrument(socket) {
  const origEmit = socket.emit;
  socket.emit = function (event, ...args) {
    const data = args[0];
    if (event === 'probe_result') {
      push(P.emitted, JSON.parse(JSON.stringify(data ?? null)));
    } else if (event === 'probe_signal') {
      P.counts.signals++;
      push(P.signals, { probe_session_id: data?.probe_session_id, type: data?.type,
                        target_subject_id: data?.target_subject_id });
    }
    return origEmit.call(this, event, ...args);
  };
  socket.onAny((event, data) => {
    if (!event.startsWith('probe_')) return;
    push(P.received, { event, probe_session_id: data?.probe_session_id, type: data?.type });
    push(P.events, { event, data, t: now() });
    if (event === 'probe_prepare') { P.counts.prepares++; stamp(data?.probe_session_id, 'prepare'); }
    if (event === 'probe_start') { P.counts.starts++; stamp(data?.probe_session_id, 'start'); }
  });
  if (dup > 1) {
    // a server that delivers every probe_* event `dup` times
    const on = socket.on;
    socket.on = function (event, fn) {
      if (typeof event === 'string' && event.startsWith('probe_')) {
        const wrapped = (data) => { for (let i = 0; i < dup; i++) fn(data); };
        wrapped.fn = fn;  // so socket.off(event, fn) removes it (component-emitter checks .fn)
        return on.call(this, event, wrapped);
      }
      return on.call(this, event, fn);
    };
  }
}

// Calls the socket's own handlers for `event` with each payload, as if the server had sent it.
window.__inject = (event, payloads) => {
  const thrown = [];
  for (const data of payloads) {
    for (const f of P.socket.listeners(event)) {
      try { f(data); } catch (e) { thrown.push(String((e && e.stack) || e)); }
    }
  }
  return thrown;
};

function onResult(result) {
  const copy = JSON.parse(JSON.stringify(result));
  push(P.results, copy);
  P.counts.results++;
  if (copy.success) P.counts.ok++; else P.counts.fail++;
  stamp(copy.probe_session_id, 'result');
  log('result', JSON.stringify(copy));
}

async function runOurs(socket) {
  const pkg = await import('/pkg/index.js');
  const exports = await pkg.default();
  P.pkg = pkg;
  window.__wasmMemory = () => exports.memory.buffer.byteLength;
  const attach = (opts) => {
    P.opts = { iceServers: [], ...opts };
    P.manager = pkg.attachProbeManager(socket, subject, { ...P.opts, onResult });
  };
  window.__reattach = (opts) => {
    if (P.manager) P.manager.close();
    attach(opts || {});
  };
  attach(baseOpts);
}

function runRaw(socket) {
  socket.on('probe_prepare', (data) => {
    socket.emit('probe_ready', { probe_session_id: data && data.probe_session_id });
  });
}

// ---- bare: the reference floor ----------------------------------------------------------
function runBare(socket) {
  const peers = {};
  const sessions = new Map();
  const initiator = (me, peer) => {
    const a = Number(me), b = Number(peer);
    return (!Number.isNaN(a) && !Number.isNaN(b)) ? a < b : String(me).localeCompare(String(peer)) < 0;
  };
  const finish = async (pid, s) => {
    if (s.done) return;
    s.done = true;
    const rep = await s.pc.getStats();
    let rtt = null;
    const byId = new Map(); rep.forEach((v) => byId.set(v.id, v));
    rep.forEach((v) => {
      if (v.type === 'transport' && v.selectedCandidatePairId) {
        const pair = byId.get(v.selectedCandidatePairId);
        if (pair && typeof pair.currentRoundTripTime === 'number') rtt = pair.currentRoundTripTime * 1000;
      }
    });
    const result = { probe_session_id: pid, rtt_ms: rtt, success: rtt !== null };
    socket.emit('probe_result', result);
    onResult(result);
    setTimeout(() => { s.pc.close(); sessions.delete(pid); }, 1000);
  };
  socket.on('probe_prepare', (d) => {
    peers[d.probe_session_id] = d.peer_subject_id;
    socket.emit('probe_ready', { probe_session_id: d.probe_session_id });
  });
  socket.on('probe_start', async (d) => {
    const pid = d.probe_session_id, peer = peers[pid];
    const pc = new RTCPeerConnection({ iceServers: [] });
    const s = { pc, pending: [], remote: false, done: false };
    sessions.set(pid, s);
    const send = (type, payload) => socket.emit('probe_signal', { probe_session_id: pid, target_subject_id: peer, type, payload });
    pc.onicecandidate = (e) => { if (e.candidate) send('ice-candidate', e.candidate.toJSON()); };
    pc.ondatachannel = (e) => { e.channel.onopen = () => finish(pid, s); if (e.channel.readyState === 'open') finish(pid, s); };
    if (initiator(subject, peer)) {
      const dc = pc.createDataChannel('game', { ordered: false, maxRetransmits: 0 });
      dc.onopen = () => finish(pid, s);
      await pc.setLocalDescription(await pc.createOffer());
      send('offer', pc.localDescription.toJSON());
    }
  });
  socket.on('probe_signal', async (d) => {
    const s = sessions.get(d.probe_session_id);
    if (!s) return;
    if (d.type === 'offer' || d.type === 'answer') {
      await s.pc.setRemoteDescription(d.payload);
      s.remote = true;
      for (const c of s.pending.splice(0)) await s.pc.addIceCandidate(c);
      if (d.type === 'offer') {
        await s.pc.setLocalDescription(await s.pc.createAnswer());
        socket.emit('probe_signal', { probe_session_id: d.probe_session_id, target_subject_id: peers[d.probe_session_id],
                                      type: 'answer', payload: s.pc.localDescription.toJSON() });
      }
    } else if (d.type === 'ice-candidate' && d.payload) {
      if (s.remote) await s.pc.addIceCandidate(d.payload); else s.pending.push(d.payload);
    }
  });
}

// ---- intruder: real SDP / candidates from its own peer connections, plus junk -------------
async function gather(pc) {
  const cands = [];
  pc.addEventListener('icecandidate', (e) => { if (e.candidate) cands.push(e.candidate.toJSON()); });
  const done = new Promise((resolve) => {
    if (pc.iceGatheringState === 'complete') resolve();
    pc.addEventListener('icegatheringstatechange', () => { if (pc.iceGatheringState === 'complete') resolve(); });
    setTimeout(resolve, 1500);
  });
  return { cands, done };
}

async function runIntruder(socket) {
  const pc1 = new RTCPeerConnection({ iceServers: [] });
  const pc2 = new RTCPeerConnection({ iceServers: [] });
  pc1.createDataChannel('game', { ordered: false, maxRetransmits: 0 });
  const g1 = await gather(pc1);
  const g2 = await gather(pc2);
  await pc1.setLocalDescription(await pc1.createOffer());
  await pc2.setRemoteDescription(pc1.localDescription);
  await pc2.setLocalDescription(await pc2.createAnswer());
  await Promise.all([g1.done, g2.done]);
  const offer = pc1.localDescription.toJSON();
  const answer = pc2.localDescription.toJSON();
  const cands = [...g1.cands, ...g2.cands];
  P.intruder = { pcs: [pc1, pc2], offer, answer, cands, emitted: 0, pids: [] };
  const signals = [
    ['offer', offer], ['answer', answer], ...cands.map((c) => ['ice-candidate', c]),
    // junk
    ['ice-candidate', { candidate: 'candidate:junk' }], ['ice-candidate', { candidate: 5 }],
    ['ice-candidate', 'candidate:1 1 udp 1 127.0.0.1 9 typ host'], ['ice-candidate', 42],
    ['ice-candidate', [1, 2, 3]], ['ice-candidate', { candidate: 'x'.repeat(5000), sdpMid: 7 }],
    ['ice-candidate', { candidate: 'candidate:1 1 udp 2122260223 10.255.255.1 9 typ host', sdpMid: '0', sdpMLineIndex: 0 }],
    ['ice-candidate', { candidate: offer.sdp, sdpMid: '0', sdpMLineIndex: -1 }],
    ['offer', 'v=0 garbage'], ['offer', { type: 'offer', sdp: 'garbage' }], ['offer', { type: 'answer', sdp: offer.sdp }],
    ['offer', { sdp: 'x'.repeat(70000) }], ['offer', null], ['offer', 12], ['offer', [offer]],
    ['answer', { type: 'answer', sdp: '' }], ['answer', null], ['answer', { type: 'answer', sdp: 5 }],
    ['answer', 'string'], [null, {}], [42, 'x'], ['bye', {}], [{ type: 'offer' }, offer], ['', offer],
  ];
  window.__intrude = async ({ a, b, durationMs = 1000, everyMs = 50 }) => {
    const r = await fetch('/api/probe', {
      method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ a, b, wait: false }),
    });
    const pid = (await r.json()).probe_session_id;
    P.intruder.pids.push(pid);
    // Each signal to both targets in turn, so both get foreign signals from the first ones on:
    // a whole burst to one target first left the other none when the server relayed slowly and
    // the probe finished within that burst.
    const burst = () => {
      for (const [type, payload] of signals) {
        for (const target of [a, b]) {
          socket.emit('probe_signal', { probe_session_id: pid, target_subject_id: target, type, payload });
          P.intruder.emitted++;
        }
      }
    };
    burst();
    const t0 = now();
    const iv = setInterval(() => {
      if (now() - t0 > durationMs) clearInterval(iv); else burst();
    }, everyMs);
    return pid;
  };
}

async function main() {
  if (!subject) throw new Error('missing ?subject=');
  const socket = io({ transports: ['websocket'], query: { subject_id: subject } });
  P.socket = socket;
  instrument(socket);
  const connected = new Promise((resolve) => socket.once('connect', resolve));
  if (kind === 'ours') await runOurs(socket);
  else if (kind === 'raw') runRaw(socket);
  else if (kind === 'bare') runBare(socket);
  else if (kind === 'intruder') await runIntruder(socket);
  else throw new Error(`rel.js: unknown ?client=${kind}`);
  await connected;
  P.ready = true;
  log(`ready: ${kind} subject=${subject}`);
}

main().catch((e) => {
  P.fatal = String((e && e.stack) || e);
  P.errors.push('fatal: ' + P.fatal);
  log('FATAL', P.fatal);
});
