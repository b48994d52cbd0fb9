// The package's entry point (pkg/index.js): wasm-bindgen's module (p2p_probe.js) with the
// checks a user of a browser library expects at its edge, which wasm-bindgen's generated code
// cannot give because they happen before there is any wasm to call:
// - using the package before `init()` throws a ProbeError `not_initialized` that says what to
//   do, instead of "Cannot read properties of undefined";
// - a `.wasm` that cannot be fetched or compiled (a bundler that did not emit it, a server that
//   answers with its HTML page) rejects `init()` with a ProbeError `wasm_not_found` that names
//   the fix, instead of "expected magic word";
// - `close()` / `free()` after `free()` (or a `using` block) is a no-op, not a null-pointer error.
// `isProbeError()` is here so that it also recognises those two errors.
import wbgInit, * as wbg from './p2p_probe.js';

export * from './p2p_probe.js';

let ready = false;

function probeError(code, message, cause) {
  const e = new Error(message, cause === undefined ? undefined : { cause });
  e.name = 'ProbeError';
  e.code = code;
  return e;
}

function ensureReady(what) {
  if (!ready) {
    throw probeError('not_initialized',
      `p2p-probe: ${what} was called before the package was initialised: ` +
      '`await init()` (the default export) first, once per page');
  }
}

function loadError(e) {
  const text = String((e && e.message) || e);
  const notWasm = (typeof WebAssembly !== 'undefined' && e instanceof WebAssembly.CompileError) ||
    /magic word|failed to fetch|Failed to fetch|NetworkError|MIME type/i.test(text);
  if (!notWasm) return e;
  return probeError('wasm_not_found',
    `p2p-probe could not load its p2p_probe_bg.wasm (${text}). With a bundler that does not ` +
    "emit it by itself, import its URL and pass it: `import wasmUrl from 'p2p-probe/p2p_probe_bg.wasm'` " +
    "then `await init({ module_or_path: wasmUrl })` (esbuild: `--loader:.wasm=file`).", e);
}

/** Loads and instantiates the wasm; call once before anything else. */
export default async function init(options) {
  try {
    const out = await wbgInit(options);
    ready = true;
    return out;
  } catch (e) {
    throw loadError(e);
  }
}

export function initSync(options) {
  try {
    const out = wbg.initSync(options);
    ready = true;
    return out;
  } catch (e) {
    throw loadError(e);
  }
}

/** Whether `value` is an error thrown or reported by p2p-probe (name "ProbeError", a string `code`). */
export function isProbeError(value) {
  return value instanceof Error && value.name === 'ProbeError' && typeof value.code === 'string';
}

export class ProbeManager extends wbg.ProbeManager {
  constructor(socket, mySubjectId, options) {
    ensureReady('new ProbeManager()');
    super(socket, mySubjectId, options);
  }
  close() {
    if (this.__wbg_ptr) super.close();
  }
  free() {
    if (this.__wbg_ptr) super.free();
  }
}

export class ProbeConnection extends wbg.ProbeConnection {
  constructor(socket, probeSessionId, mySubjectId, peerSubjectId, options) {
    ensureReady('new ProbeConnection()');
    super(socket, probeSessionId, mySubjectId, peerSubjectId, options);
  }
  close() {
    if (this.__wbg_ptr) super.close();
  }
  free() {
    if (this.__wbg_ptr) super.free();
  }
}

// `using` / `[Symbol.dispose]()` go through the guarded free() above (wasm-bindgen binds its own).
if (typeof Symbol.dispose === 'symbol') {
  for (const C of [ProbeManager, ProbeConnection]) {
    Object.defineProperty(C.prototype, Symbol.dispose, { value() { this.free(); }, configurable: true, writable: true });
  }
}

export function attachProbeManager(socket, mySubjectId, options) {
  ensureReady('attachProbeManager()');
  return new ProbeManager(socket, mySubjectId, options);
}

export function configure(options) {
  ensureReady('configure()');
  return wbg.configure(options);
}
