// The thin socket shim: wires a socket.io-style socket (anything with on/off/emit) to the Rust
// ProbeManager / ProbeConnection. It ships inside the npm package (pkg/snippets/...).
// The Rust side owns the handler closures; `subscribe` returns the function that removes them.

export function subscribe(socket, events, handler) {
  if (!socket || typeof socket.on !== 'function' || typeof socket.off !== 'function' || typeof socket.emit !== 'function') {
    throw new TypeError('socket must have on(), off() and emit() (a socket.io-client Socket or an adapter)');
  }
  const bound = events.map((event) => [event, (data) => handler(event, data)]);
  for (const [event, fn] of bound) socket.on(event, fn);
  return () => {
    for (const [event, fn] of bound) socket.off(event, fn);
  };
}

// Returns an error instead of throwing, so a broken socket can never unwind through wasm.
export function emit(socket, event, data) {
  try {
    socket.emit(event, data);
    return null;
  } catch (e) {
    return e;
  }
}

// Resolves like `promise`, or to null after `ms` (Firefox never settles a getStats() that was
// pending when its RTCPeerConnection closed). The timer is cleared either way.
export function settleWithin(promise, ms) {
  let timer;
  const late = new Promise((resolve) => { timer = setTimeout(() => resolve(null), ms); });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

// --- One Rust handler per connection --------------------------------------------------------
// A connection hands all its JS callbacks (event listeners, promise results, timers) to one
// Rust closure `handler(tag, value)`, wrapped in a port: `port.off()` (called before Rust drops
// the closure) turns every later call into a no-op, so a promise that settles after the
// connection closed never reaches a dropped closure.

export function port(handler) {
  let h = handler;
  return { fire: (tag, value) => { if (h) h(tag, value); }, off: () => { h = null; } };
}

// addEventListener for each event, reporting `(event, ev)`; returns the function that removes them.
export function listen(target, events, p) {
  const bound = events.map((event) => [event, (ev) => p.fire(event, ev)]);
  for (const [event, fn] of bound) target.addEventListener(event, fn);
  return () => {
    for (const [event, fn] of bound) target.removeEventListener(event, fn);
  };
}

// create{Offer,Answer} + setLocalDescription: reports (kind, localDescription.sdp), or
// ("local_error", error).
export function describeLocal(pc, kind, p) {
  (kind === 'offer' ? pc.createOffer() : pc.createAnswer())
    .then((d) => pc.setLocalDescription(d))
    .then(() => p.fire(kind, pc.localDescription ? pc.localDescription.sdp : ''), (e) => p.fire('local_error', e));
}

// setRemoteDescription: reports ("remote_ok", desc.type) or ("remote_error", error).
export function applyRemote(pc, desc, p) {
  pc.setRemoteDescription(desc).then(() => p.fire('remote_ok', desc.type), (e) => p.fire('remote_error', e));
}

// addIceCandidate: reports ("candidate_error", error) when the browser rejects it.
export function addCandidate(pc, init, p) {
  pc.addIceCandidate(init).then(() => {}, (e) => p.fire('candidate_error', e));
}

// getStats within `ms`: reports ("stats", report or null).
export function stats(pc, ms, p) {
  settleWithin(pc.getStats(), ms).then((r) => p.fire('stats', r), () => p.fire('stats', null));
}

// getStats within `ms`, then `handler("rtt", box)` with box.report set; resolves to box.rtt
// (set by the handler) or null.
export function statsRtt(pc, ms, p) {
  return settleWithin(pc.getStats(), ms).then((report) => {
    if (report === null) return null;
    const box = { report, rtt: null };
    p.fire('rtt', box);
    return box.rtt;
  }, () => null);
}

// setTimeout that reports (tag, value); the Rust owner clears it before dropping the handler.
export function after(ms, tag, value, p) {
  return setTimeout(() => p.fire(tag, value), ms);
}

// The objects of an RTCStatsReport (any maplike with values()), or [] when it has none.
export function statValues(report) {
  try {
    return Array.from(report.values());
  } catch (e) {
    return [];
  }
}

// A new promise and its resolve function: [promise, resolve].
export function deferred() {
  let resolve;
  const promise = new Promise((r) => { resolve = r; });
  return [promise, resolve];
}
