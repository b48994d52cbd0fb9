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
