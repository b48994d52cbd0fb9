// Test peer driven by the query string: ?client=ours|legacy|dropin&subject=ID
// Optional (ours/dropin only; absent = the defaults below): pings, pingIntervalMs,
// pingTimeoutMs, connectTimeoutMs, startTimeoutMs, measureBudgetMs (numbers), policy (iceTransportPolicy),
// turnUrls (JSON array or comma-separated), iceServersJson (JSON RTCIceServer[]).
// peer.html: ?ice=loopback keeps ICE servers on 127.0.0.1 (else every server is dropped).
// ours only: progress=1 records onProgress(sessionId, phase) calls in P.progress ({sid, phase,
// t}); progress=throw makes onProgress throw every time (it must be caught, warned once);
// cancelOn=PHASE calls P.manager.cancel(sid) from onProgress when the page's first probe reaches
// PHASE (recorded in P.cancelled: {sid, phase, returned}; later probes run normally). trackPcs=1 keeps every RTCPeerConnection
// the page creates in P.pcs (P.pcStates() gives their signalingState / connectionState).
// Any client: busy=F (0 < F < 1) keeps the page's main thread blocked a fraction F of the
// time from load on (startBusyLoop below), like a page loading Pyodide or a game.
//   legacy : legacy ProbeConnection (/legacy/probe_connection.js) + the platform's ProbeManager
//   ours   : attachProbeManager from /pkg/index.js
//   dropin : the platform's ProbeManager with ProbeConnection from /pkg/index.js, the
//            options given to the package's configure() (the constructor gets only what
//            index.js passes: turnUsername / turnCredential)
// The platform's ProbeManager is not restated here: it is cut out of the installed package's
// index.js at load time (platformProbeManager).
// State for the tests: window.__probe (set up in peer.html).
import { io } from '/vendor/socket.io.esm.min.js';

const P = window.__probe;
const params = new URLSearchParams(location.search);
const kind = params.get('client') || 'legacy';
const subject = params.get('subject');
P.kind = kind;
P.subject = subject;

// ?busy=F: busy-wait BUSY_BLOCK_MS, yield (setTimeout) BUSY_BLOCK_MS * (1 - F) / F, repeat,
// for the life of the page: long tasks, as when a page compiles or loads a large module.
// Every other task of the page (socket.io, the client, data-channel messages, getStats
// callbacks) runs in the gaps. P.busy.fraction() reports the share actually blocked.
const BUSY_BLOCK_MS = 40;
function startBusyLoop(f) {
  const yieldMs = BUSY_BLOCK_MS * (1 - f) / f;
  const B = { target: f, blockMs: BUSY_BLOCK_MS, yieldMs, blocks: 0, blockedMs: 0,
              since: performance.now() };
  B.fraction = () => B.blockedMs / Math.max(1, performance.now() - B.since);
  P.busy = B;
  const block = () => {
    const t0 = performance.now();
    let t = t0;
    while (t - t0 < BUSY_BLOCK_MS) t = performance.now();
    B.blocks += 1;
    B.blockedMs += t - t0;
    setTimeout(block, yieldMs);
  };
  setTimeout(block, 0);
}
if (params.has('busy')) {
  const f = Number(params.get('busy'));
  if (f > 0 && f < 1) startBusyLoop(f);
  else P.fatal = `?busy= must be a fraction in (0, 1), got ${params.get('busy')}`;
}

// ?trackPcs=1: every RTCPeerConnection of the page, to check that a probe released its own.
if (params.get('trackPcs') === '1') {
  P.pcs = [];
  const Tracked = window.RTCPeerConnection;
  window.RTCPeerConnection = class extends Tracked {
    constructor(...args) { super(...args); P.pcs.push(this); }
  };
  P.pcStates = () => P.pcs.map((pc) => ({ signalingState: pc.signalingState, connectionState: pc.connectionState }));
}

// ?progress= / ?cancelOn=: an onProgress option for `ours` (see the header).
function progressOptions() {
  if (!params.has('progress') && !params.has('cancelOn')) return {};
  P.progress = [];
  P.cancelled = [];
  const mode = params.get('progress');
  const cancelOn = params.get('cancelOn');
  return {
    onProgress: (sid, phase) => {
      P.progress.push({ sid, phase, t: performance.now() });
      if (cancelOn && phase === cancelOn && P.cancelled.length === 0) {
        P.cancelled.push({ sid, phase, returned: P.manager.cancel(sid) });
      }
      if (mode === 'throw') throw new Error('onProgress throws on purpose (test)');
    },
  };
}

// Library options from the query string (only the ones present).
function queryOptions() {
  const out = {};
  for (const k of ['pings', 'pingIntervalMs', 'pingTimeoutMs', 'connectTimeoutMs', 'startTimeoutMs', 'measureBudgetMs']) {
    if (params.has(k)) out[k] = Number(params.get(k));
  }
  if (params.has('policy')) out.iceTransportPolicy = params.get('policy');
  if (params.has('turnUrls')) {
    const v = params.get('turnUrls');
    out.turnUrls = v.trim().startsWith('[') ? JSON.parse(v) : v.split(',').filter(Boolean);
  }
  if (params.has('iceServersJson')) out.iceServers = JSON.parse(params.get('iceServersJson'));
  return out;
}

function log(...args) {
  const el = document.getElementById('log');
  if (el) el.textContent += args.join(' ') + '\n';
}

// The platform's own ProbeManager, taken at load time from the installed package's
// mug/server/static/js/index.js (served as /legacy/index.js): its `const ProbeManager = {...};`
// object literal, evaluated with the given ProbeConnection class in scope, exactly as the
// platform's page runs it (only `{turnUsername, turnCredential}` reach the constructor).
async function platformProbeManager(ProbeConnection) {
  const src = await (await fetch('/legacy/index.js')).text();
  const head = 'const ProbeManager = {';
  const at = src.indexOf(head);
  if (at < 0) throw new Error('index.js has no `const ProbeManager = {`');
  // the literal's closing brace: braces balance in this code (template `${}` included);
  // strings and comments are skipped so a brace inside one cannot end it early
  let depth = 0;
  let i = at + head.length - 1;
  let end = -1;
  for (; i < src.length; i++) {
    const c = src[i];
    if (c === '/' && src[i + 1] === '/') { i = src.indexOf('\n', i); continue; }
    if (c === '/' && src[i + 1] === '*') { i = src.indexOf('*/', i) + 1; continue; }
    if (c === "'" || c === '"') {
      for (i++; i < src.length && src[i] !== c; i++) if (src[i] === '\\') i++;
      continue;
    }
    if (c === '{') depth++;
    else if (c === '}' && --depth === 0) { end = i; break; }
  }
  if (end < 0) throw new Error('unbalanced ProbeManager literal in index.js');
  const literal = src.slice(at + head.length - 1, end + 1);
  P.platformFlowChars = literal.length;
  // eslint-disable-next-line no-new-func
  return new Function('ProbeConnection', `"use strict"; return (${literal});`)(ProbeConnection);
}

// Records every measureRTT() of a drop-in page: its duration, result and the full report.
function recordMeasures(ProbeConnection) {
  const orig = ProbeConnection.prototype.measureRTT;
  ProbeConnection.prototype.measureRTT = async function (...args) {
    const t0 = performance.now();
    const entry = { probe_session_id: this.probeSessionId, started: t0, ms: null, rtt: undefined };
    P.measures.push(entry);
    const rtt = await orig.apply(this, args);
    entry.ms = performance.now() - t0;
    entry.rtt = rtt;
    try { entry.report = JSON.parse(JSON.stringify(this.lastReport)); } catch (e) { entry.report = null; }
    return rtt;
  };
}

function instrument(socket) {
  const origEmit = socket.emit;
  socket.emit = function (event, ...args) {
    const data = args[0];
    if (event === 'probe_result') {
      const copy = JSON.parse(JSON.stringify(data ?? null));
      P.emitted.push(copy);
      if (kind !== 'ours') P.results.push(copy);
    } else if (event === 'probe_signal') {
      P.signals.push({ probe_session_id: data?.probe_session_id, type: data?.type,
                       target_subject_id: data?.target_subject_id });
    }
    return origEmit.call(this, event, ...args);
  };
  socket.onAny((event, data) => {
    if (event.startsWith('probe_')) {
      P.received.push({ event, probe_session_id: data?.probe_session_id, type: data?.type });
    }
  });
}

async function main() {
  if (!subject) throw new Error('missing ?subject=');
  const socket = io({ transports: ['websocket'], query: { subject_id: subject } });
  P.socket = socket;
  instrument(socket);
  const connected = new Promise((resolve) => socket.once('connect', resolve));

  if (kind === 'legacy') {
    const { ProbeConnection } = await import('/legacy/probe_connection.js');
    P.manager = await platformProbeManager(ProbeConnection);
    P.manager.init(socket, subject);
  } else if (kind === 'dropin') {
    // the README's drop-in: probe_connection.js becomes init() + configure() + re-export
    const pkg = await import('/pkg/index.js');
    await pkg.default();
    pkg.configure({ iceServers: [], ...queryOptions() });
    recordMeasures(pkg.ProbeConnection);
    P.manager = await platformProbeManager(pkg.ProbeConnection);
    P.manager.init(socket, subject);
  } else if (kind === 'ours') {
    const pkg = await import('/pkg/index.js');
    await pkg.default();
    P.manager = pkg.attachProbeManager(socket, subject, {
      iceServers: [],
      ...queryOptions(),
      ...progressOptions(),
      onResult: (result) => {
        P.results.push(JSON.parse(JSON.stringify(result)));
        log('result', JSON.stringify(result));
      },
    });
  } else {
    throw new Error(`unknown ?client=${kind}`);
  }

  await connected;
  P.ready = true;
  log(`ready: ${kind} subject=${subject}`);
}

main().catch((e) => {
  P.fatal = String((e && e.stack) || e);
  P.errors.push('fatal: ' + P.fatal);
  log('FATAL', P.fatal);
});
