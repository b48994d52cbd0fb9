// The thin socket shim, shipped inside the npm package (pkg/snippets/...): the only JavaScript
// of p2p-probe. It wires any socket.io-style socket (a socket.io-client Socket, or an adapter
// with on/off/emit) to the Rust ProbeManager / ProbeConnection. Everything else (WebRTC,
// listeners, promises, timers) is Rust.

// Subscribes `handler` (a Rust closure, owned by a Rust `Subscription` that calls the returned
// function on drop) to `event`; returns the function that unsubscribes exactly that handler.
// Why JS: the socket is duck-typed (socket.io's own class, or a page's adapter), and checking
// its shape and pairing on/off with the same function object is one expression here.
export function subscribe(socket, event, handler) {
  if (!socket || typeof socket.on !== 'function' || typeof socket.off !== 'function' || typeof socket.emit !== 'function') {
    throw new TypeError('socket must have on(), off() and emit() (a socket.io-client Socket or an adapter)');
  }
  socket.on(event, handler);
  return () => socket.off(event, handler);
}

// socket.emit(event, data). Why JS: socket.io's emit is variadic and may be replaced by a
// page's adapter; calling it here keeps one call shape. A throw becomes a rejected call on the
// Rust side (`catch`), never an exception unwinding through wasm.
export function emit(socket, event, data) {
  socket.emit(event, data);
}
