// In-page support for tests/web.rs's cancellation and progress tests.

// An onProgress(sessionId, phase) that records every call.
export function recorder() {
  const r = { calls: [] };
  r.fn = (sid, phase) => { r.calls.push([sid, phase]); };
  r.phases = (sid) => r.calls.filter((c) => c[0] === sid).map((c) => c[1]).join(',');
  return r;
}

// An onProgress that always throws.
export function thrower() {
  const t = { calls: 0 };
  t.fn = () => { t.calls += 1; throw new Error('boom from onProgress'); };
  return t;
}

// Counts console.warn lines that contain `text` (until restore()).
export function warningsWith(text) {
  const original = console.warn;
  const counter = { count: 0, restore() { console.warn = original; } };
  console.warn = (...args) => {
    if (args.map(String).join(' ').includes(text)) counter.count += 1;
    original(...args);
  };
  return counter;
}

// An AbortSignal aborted after `ms` (0: already aborted), and one never aborted.
export function abortAfter(ms) {
  if (ms <= 0) return AbortSignal.abort();
  const c = new AbortController();
  setTimeout(() => c.abort(), ms);
  return c.signal;
}
export function controller() {
  return new AbortController();
}

export function isAbortError(e) {
  return e instanceof DOMException && e.name === 'AbortError';
}

// A measureRTT() options object with a signal.
export function measureOptions(numPings, pingInterval, signal) {
  return { numPings, pingInterval, pingTimeout: 2000, signal };
}
