// A hostile / broken peer for the reliability tests (www/test/rel.html?hostile=MODE).
// Classic script, loaded after instrument.js and before any client module: it wraps
// RTCPeerConnection (on top of the iceServers neutraliser) so that whatever client runs in the
// page (normally the legacy one) misbehaves on its probe data channel:
//
//   flood       : on channel open, floods the peer: malformed JSON, wrong types, pongs for pings
//                 never sent, negative and huge numbers, deep nesting, 64 KB strings, binary,
//                 and a ping flood of thousands (`pingFlood`, default 3000; `binaryFlood` adds that
//                 many small binary messages); then smaller bursts for `floodMs` (default 1000).
//   closeonopen : closes the data channel as soon as it opens (before any pong).
//   vanish      : closes the RTCPeerConnection as soon as the channel opens, drops the socket and
//                 navigates away ("the page closes").
//   mute        : never sends a probe_signal (says probe_ready, then goes silent).
//
// window.__probe.hostile = {mode, channels, sent, sendErrors, bursts, closed, dropped}.
(function () {
  const params = new URLSearchParams(location.search);
  const mode = params.get('hostile');
  if (!mode) return;
  const P = window.__probe;
  const H = P.hostile = { mode, channels: 0, sent: 0, sendErrors: 0, bursts: 0, closed: 0, dropped: 0,
                          bytes: 0, maxBuffered: 0, firstBurstMs: null };
  const floodMs = Number(params.get('floodMs') || 1000);
  const pingFlood = Number(params.get('pingFlood') || 3000);
  const binaryFlood = Number(params.get('binaryFlood') || 0);  // extra small binary messages

  function junk() {
    const nest = (n, open, close, inner) => open.repeat(n) + inner + close.repeat(n);
    return [
      // malformed JSON
      '', ' ', '{', '}', '{"type":"ping"', 'not json', '{"type":"ping","seq":1,}', '{"type":"ping",,}',
      "{'type':'ping','seq':1}", '\u0000\u0001\u0002', '\ud800', '{"type":"ping","seq":1}garbage',
      '{"type":"ping","seq":1}{"type":"ping","seq":2}', '{"type":"ping","seq":01}', '{"type":"ping","seq":1e2}',
      '{"type":"ping","seq":1.5}', '{"type":"ping","seq":"1}', '{"type":"ping\\', '{"type":"\\uZZZZ","seq":1}',
      // wrong types
      'null', 'true', '[]', '[{"type":"ping","seq":1}]', '42', '"ping"', '{"type":1,"seq":1}',
      '{"type":null,"seq":1}', '{"type":["ping"],"seq":1}', '{"type":{"x":1},"seq":1}',
      '{"type":"ping","seq":null}', '{"type":"ping","seq":true}', '{"type":"ping","seq":[1]}',
      '{"type":"ping","seq":{"n":1}}', '{"type":"ping","seq":"1"}', '{"type":"ping","seq":1,"ts":"now"}',
      '{"type":"ping","seq":1,"ts":null}', '{"type":"ping","seq":1,"ts":{}}', '{"type":"pong"}',
      '{"type":"pong","seq":"0"}', '{"type":"hello","seq":1}', '{"type":"PING","seq":1}', '{"seq":1}', '{}',
      // pongs for pings never sent
      ...Array.from({ length: 100 }, (_, i) => `{"type":"pong","seq":${1000000 + i},"ts":${Date.now()}}`),
      '{"type":"pong","seq":4294967296}', '{"type":"pong","seq":9007199254740991}', '{"type":"pong","seq":-1}',
      // negative and huge numbers
      '{"type":"ping","seq":-1,"ts":1}', '{"type":"ping","seq":-0,"ts":1}', '{"type":"ping","seq":1e308,"ts":1}',
      '{"type":"ping","seq":1e309,"ts":1}', '{"type":"ping","seq":1e999}', '{"type":"ping","seq":9007199254740993}',
      '{"type":"ping","seq":18446744073709551616}', '{"type":"ping","seq":99999999999999999999999999999}',
      '{"type":"ping","seq":77,"ts":-1e308}', '{"type":"ping","seq":78,"ts":1e999}', '{"type":"ping","seq":79,"ts":-0}',
      '{"type":"ping","seq":80,"ts":123456789012345678901234567890}', '{"type":"pong","seq":1e999}',
      // deep nesting (short ones get scanned, long ones are refused by length)
      '{"type":"ping","seq":81,"x":' + nest(400, '[', ']', '') + '}',
      '{"type":"ping","seq":82,"x":' + nest(150, '{"a":', '}', '1') + '}',
      nest(450, '[', ']', ''), nest(10000, '[', ']', ''), nest(5000, '{"a":', '}', '1'),
      nest(1000, '[', '', ''),  // unterminated
      // 64 KB strings
      'x'.repeat(65536), '{"type":"ping","seq":83,"pad":"' + 'x'.repeat(65536) + '"}',
      '"' + '\\u0000'.repeat(10000) + '"',
      // a valid ping spelled with an escape (answered)
      '{"type":"p\\u0069ng","seq":84,"ts":1}',
    ];
  }
  const binaries = () => [new Uint8Array([0, 1, 2, 255]), new ArrayBuffer(1024), new Uint8Array(65536),
                          new Float64Array([NaN, Infinity, -0]), new Blob(['{"type":"ping","seq":85}'])];

  function send(dc, m) {
    if (dc.readyState !== 'open') { H.dropped++; return; }
    try {
      dc.send(m);
      H.sent++;
      H.bytes += typeof m === 'string' ? m.length : (m.byteLength ?? m.size ?? 0);
    } catch (e) { H.sendErrors++; }
  }

  function flood(dc) {
    // The first burst has everything; later ones (every 50 ms for floodMs) only the small junk
    // and 50 pings, so the flood hits the peer's parser all along without saturating the
    // channel for seconds (which would just delay this page's own pongs past the ping timeout).
    const small = junk().filter((m) => m.length <= 1024);
    const burst = (first) => {
      H.bursts++;
      for (const m of first ? junk() : small) send(dc, m);
      if (first) for (const b of binaries()) send(dc, b);
      if (first) for (let i = 0; i < binaryFlood; i++) send(dc, new Uint8Array([i & 255, 1, 2, 3]));
      const t = Date.now();
      const pings = first ? pingFlood : 50;
      for (let i = 0; i < pings; i++) send(dc, `{"type":"ping","seq":${2000000 + H.sent},"ts":${t}}`);
      H.maxBuffered = Math.max(H.maxBuffered, dc.bufferedAmount);
    };
    const t0 = performance.now();
    burst(true);
    H.firstBurstMs = performance.now() - t0;
    const iv = setInterval(() => {
      if (performance.now() - t0 > floodMs || dc.readyState !== 'open') { clearInterval(iv); return; }
      burst(false);
    }, 50);
  }

  function onChannel(pc, dc) {
    H.channels++;
    const act = () => {
      if (mode === 'flood') {
        flood(dc);
      } else if (mode === 'closeonopen') {
        H.closed++;
        dc.close();
      } else if (mode === 'vanish') {
        H.closed++;
        pc.close();
        try { P.socket && P.socket.disconnect(); } catch (e) { /* gone anyway */ }
        setTimeout(() => location.replace('about:blank'), 0);
      }
    };
    if (dc.readyState === 'open') act(); else dc.addEventListener('open', act, { once: true });
  }

  const Base = window.RTCPeerConnection;
  class HostileRTCPeerConnection extends Base {
    constructor(...args) {
      super(...args);
      // registered before the client's own ondatachannel, so it runs first
      this.addEventListener('datachannel', (e) => onChannel(this, e.channel));
    }
    createDataChannel(...args) {
      const dc = super.createDataChannel(...args);
      onChannel(this, dc);
      return dc;
    }
  }
  window.RTCPeerConnection = HostileRTCPeerConnection;

  if (mode === 'mute') {
    // the page's client sets window.__probe.socket once it has a socket: drop its probe_signals
    let sock = null;
    Object.defineProperty(P, 'socket', {
      configurable: true,
      get() { return sock; },
      set(s) {
        sock = s;
        const emit = s.emit;
        s.emit = function (event, ...args) {
          if (event === 'probe_signal') { H.dropped++; return this; }
          return emit.call(this, event, ...args);
        };
      },
    });
  }
})();
