// Test peer driven by the query string: ?client=ours|legacy|dropin&subject=ID
// Optional (ours/dropin only; absent = the defaults below): pings, pingIntervalMs,
// pingTimeoutMs, connectTimeoutMs, startTimeoutMs (numbers), policy (iceTransportPolicy),
// turnUrls (JSON array or comma-separated), iceServersJson (JSON RTCIceServer[]).
// peer.html: ?ice=loopback keeps ICE servers on 127.0.0.1 (else every server is dropped).
//   legacy : legacy ProbeConnection (/legacy/probe_connection.js) + the platform's ProbeManager flow
//   ours   : attachProbeManager from /pkg/p2p_probe.js
//   dropin : the platform's ProbeManager flow with ProbeConnection from /pkg/p2p_probe.js
// State for the tests: window.__probe (set up in peer.html).
import { io } from '/vendor/socket.io.esm.min.js';

const P = window.__probe;
const params = new URLSearchParams(location.search);
const kind = params.get('client') || 'legacy';
const subject = params.get('subject');
P.kind = kind;
P.subject = subject;

// Library options from the query string (only the ones present).
function queryOptions() {
  const out = {};
  for (const k of ['pings', 'pingIntervalMs', 'pingTimeoutMs', 'connectTimeoutMs', 'startTimeoutMs']) {
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

// The platform's ProbeManager (mug/server/static/js/index.js, multi-user-gymnasium 0.1.3),
// reproduced as-is, with the ProbeConnection class and extra constructor options injectable.
function createProbeManager(ProbeConnection, extraOptions = {}) {
  return {
    activeProbe: null,
    mySubjectId: null,
    socket: null,

    init(socket, subjectId) {
      this.socket = socket;
      this.mySubjectId = subjectId;
      socket.on('probe_prepare', (data) => this._handleProbePrepare(data));
      socket.on('probe_start', (data) => this._handleProbeStart(data));
      console.log('[ProbeManager] Initialized for subject', subjectId);
    },

    _handleProbePrepare(data) {
      const { probe_session_id, peer_subject_id, turn_username, turn_credential } = data;
      console.log(`[ProbeManager] Preparing probe ${probe_session_id} with peer ${peer_subject_id}`);
      if (this.activeProbe) {
        console.warn('[ProbeManager] Closing existing probe before new one');
        this.activeProbe.close();
      }
      this.activeProbe = new ProbeConnection(
        this.socket,
        probe_session_id,
        this.mySubjectId,
        peer_subject_id,
        { turnUsername: turn_username, turnCredential: turn_credential, ...extraOptions },
      );
      this.activeProbe.onConnected = () => this._onProbeConnected(probe_session_id);
      this.activeProbe.onFailed = () => this._onProbeFailed(probe_session_id);
      this.socket.emit('probe_ready', { probe_session_id });
    },

    _handleProbeStart(data) {
      const { probe_session_id } = data;
      if (!this.activeProbe || this.activeProbe.probeSessionId !== probe_session_id) {
        console.warn(`[ProbeManager] probe_start for unknown session ${probe_session_id}`);
        return;
      }
      console.log(`[ProbeManager] Starting probe ${probe_session_id}`);
      this.activeProbe.start();
    },

    async _onProbeConnected(probeSessionId) {
      console.log(`[ProbeManager] Probe ${probeSessionId} connected, measuring RTT via ping-pong`);
      const rtt = await this.activeProbe.measureRTT();
      this.socket.emit('probe_result', {
        probe_session_id: probeSessionId,
        rtt_ms: rtt,
        success: rtt !== null,
      });
      this._cleanupProbe();
    },

    _onProbeFailed(probeSessionId) {
      console.log(`[ProbeManager] Probe ${probeSessionId} failed`);
      this.socket.emit('probe_result', {
        probe_session_id: probeSessionId,
        rtt_ms: null,
        success: false,
      });
      this._cleanupProbe();
    },

    _cleanupProbe() {
      if (this.activeProbe) {
        this.activeProbe.close();
        this.activeProbe = null;
      }
    },
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
    P.manager = createProbeManager(ProbeConnection);
    P.manager.init(socket, subject);
  } else if (kind === 'dropin') {
    const pkg = await import('/pkg/p2p_probe.js');
    await pkg.default();
    P.manager = createProbeManager(pkg.ProbeConnection, { iceServers: [], ...queryOptions() });
    P.manager.init(socket, subject);
  } else if (kind === 'ours') {
    const pkg = await import('/pkg/p2p_probe.js');
    await pkg.default();
    P.manager = pkg.attachProbeManager(socket, subject, {
      iceServers: [],
      ...queryOptions(),
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
