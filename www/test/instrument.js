// Test instrumentation for www/test/rel.html: the same window.__probe hooks as the inline
// script of www/test/peer.html (kept identical, so tests/e2e/conftest.py's Peer works on both):
// errors, unhandled rejections and console.error are recorded, and every RTCPeerConnection
// gets iceServers: [] whatever the client asks for. Classic script: runs before any module.
(function () {
  const P = window.__probe = {
    kind: null, subject: null, ready: false, fatal: null,
    results: [],   // every probe_result this page emitted (legacy/dropin) / onResult got (ours)
    emitted: [],   // every probe_result payload passed to socket.emit (all kinds)
    signals: [],   // {probe_session_id, type} of every probe_signal emitted
    received: [],  // {event, probe_session_id, type?} of probe_* events received
    errors: [],    // uncaught errors, unhandled rejections, console.error
    pcConfigs: [], // the RTCPeerConnection configs the client asked for (before neutralising)
  };
  const fmt = (a) => {
    try {
      if (a instanceof Error) return a.stack || String(a);
      if (a && typeof a === 'object') return JSON.stringify(a);
    } catch (e) { /* fall through */ }
    return String(a);
  };
  window.addEventListener('error', (e) => {
    P.errors.push('error: ' + (e.error ? fmt(e.error) : e.message));
  });
  window.addEventListener('unhandledrejection', (e) => {
    P.errors.push('unhandledrejection: ' + fmt(e.reason));
  });
  const origError = console.error.bind(console);
  console.error = (...args) => {
    P.errors.push('console.error: ' + args.map(fmt).join(' '));
    origError(...args);
  };

  // Neutralise ICE servers: whatever a client configures (the legacy client hard-codes
  // public STUN/TURN hosts), the browser gets iceServers: [] (host candidates only), so
  // nothing outside 127.0.0.1 is ever contacted. iceTransportPolicy etc. are kept.
  const Orig = window.RTCPeerConnection;
  class NeutralisedRTCPeerConnection extends Orig {
    constructor(config, ...rest) {
      let servers = [];
      try {
        servers = Array.from((config && config.iceServers) || [], (s) => s && s.urls);
      } catch (e) { servers = ['<unreadable iceServers>']; }
      super(Object.assign({}, config || {}, { iceServers: [] }), ...rest);
      P.pcConfigs.push({
        iceServers: servers,                                    // what the client asked for
        iceTransportPolicy: config ? config.iceTransportPolicy : undefined,
        effectiveIceServers: this.getConfiguration().iceServers.length,  // what it got (0)
      });
    }
  }
  window.RTCPeerConnection = NeutralisedRTCPeerConnection;
})();
