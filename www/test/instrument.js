// Test instrumentation shared by www/test/peer.html and www/test/rel.html (tests/e2e/conftest.py's
// Peer reads it): window.__probe records errors, unhandled rejections and console.error, and
// every RTCPeerConnection gets iceServers: [] whatever the client asks for.
// Classic script: runs before any module, so the hooks below are in place before
// the legacy client / our package is loaded.
(function () {
  const P = window.__probe = {
    kind: null, subject: null, ready: false, fatal: null,
    results: [],   // every probe_result this page emitted (legacy/dropin) / onResult got (ours)
    emitted: [],   // every probe_result payload passed to socket.emit (all kinds)
    signals: [],   // {probe_session_id, type} of every probe_signal emitted
    received: [],  // {event, probe_session_id, type?} of probe_* events received
    errors: [],    // uncaught errors, unhandled rejections, console.error
    pcConfigs: [], // the RTCPeerConnection configs the client asked for (before neutralising)
    measures: [],  // dropin: every measureRTT() {probe_session_id, ms, rtt, report}
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
  // With ?ice=loopback (relay tests) servers whose every URL points at 127.0.0.1 are kept
  // (a local coturn); everything else is still dropped.
  const keepLoopback = new URLSearchParams(location.search).get('ice') === 'loopback';
  const isLoopbackServer = (s) => {
    try {
      const urls = s && (typeof s.urls === 'string' ? [s.urls] : Array.from(s.urls || []));
      return !!urls && urls.length > 0 &&
        urls.every((u) => /^(stun|stuns|turn|turns):127\.0\.0\.1(:\d+)?(\?|$)/.test(String(u)));
    } catch (e) { return false; }
  };
  const Orig = window.RTCPeerConnection;
  class NeutralisedRTCPeerConnection extends Orig {
    constructor(config, ...rest) {
      let servers = [];
      let kept = [];
      try {
        servers = Array.from((config && config.iceServers) || [], (s) => s && s.urls);
        if (keepLoopback) kept = Array.from((config && config.iceServers) || []).filter(isLoopbackServer);
      } catch (e) { servers = ['<unreadable iceServers>']; kept = []; }
      super(Object.assign({}, config || {}, { iceServers: kept }), ...rest);
      P.pcConfigs.push({
        iceServers: servers,                                    // what the client asked for
        iceTransportPolicy: config ? config.iceTransportPolicy : undefined,
        effectiveIceServers: this.getConfiguration().iceServers.length,  // what it got (0 unless ?ice=loopback)
      });
    }
  }
  window.RTCPeerConnection = NeutralisedRTCPeerConnection;
})();
