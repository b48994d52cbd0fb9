// Lifecycle checks of the packaged API, bundled like main.ts (esbuild, `file` loader for the
// wasm). Every check is recorded, none stops the others; tests/consumer/test_consumer.py reads
// window.__checks once window.__done is set and names each failed check.
//   (a) before init(): attachProbeManager / configure / new ProbeConnection throw a ProbeError
//       with code "not_initialized", recognised by isProbeError();
//   (b) after init(): a `using` block disposes its manager (zero socket handlers left);
//       free() removes the handlers, and close() after free() is a no-op.
import init, { attachProbeManager, configure, isProbeError, ProbeConnection } from 'p2p-probe';
import wasmUrl from 'p2p-probe/p2p_probe_bg.wasm';
import { io } from 'socket.io-client';

interface Check {
  name: string;
  ok: boolean;
  detail: string;
}

declare global {
  interface Window {
    __checks?: Check[];
    __done?: boolean;
    __error?: string;
  }
}

const checks: Check[] = [];
window.__checks = checks;

function check(name: string, ok: boolean, detail = ''): void {
  checks.push({ name, ok, detail });
}

function describe(e: unknown): string {
  if (e instanceof Error) {
    const code = (e as { code?: unknown }).code;
    return `${e.constructor.name} name=${e.name} code=${String(code)} message=${e.message}`;
  }
  return `non-Error thrown: ${String(e)}`;
}

function mustNotThrow(name: string, call: () => void): void {
  try {
    call();
    check(name, true);
  } catch (e) {
    check(name, false, describe(e));
  }
}

function throwsNotInitialized(name: string, call: () => unknown): void {
  try {
    call();
    check(name, false, 'did not throw');
  } catch (e) {
    const ok = isProbeError(e) && e instanceof Error && e.name === 'ProbeError' && e.code === 'not_initialized';
    check(name, ok, describe(e));
  }
}

// A real socket.io-client socket; on/off need no connection.
const socket = io({ autoConnect: false, transports: ['websocket'] });
const EVENTS = ['probe_prepare', 'probe_start', 'probe_signal'];
function handlers(): string {
  return EVENTS.map((ev) => `${ev}=${socket.listeners(ev).length}`).join(' ');
}
function handlerCount(): number {
  return EVENTS.reduce((n, ev) => n + socket.listeners(ev).length, 0);
}

try {
  // (a) before init()
  throwsNotInitialized('attachProbeManager before init() throws ProbeError not_initialized', () =>
    attachProbeManager(socket, 'lifecycle-1', { iceServers: [] }),
  );
  throwsNotInitialized('configure before init() throws ProbeError not_initialized', () =>
    configure({ iceServers: [] }),
  );
  throwsNotInitialized('new ProbeConnection before init() throws ProbeError not_initialized', () =>
    new ProbeConnection(socket, 'session-1', 'lifecycle-1', 'lifecycle-2'),
  );
  check('no socket handlers left by the calls before init()', handlerCount() === 0, handlers());
  check(
    'isProbeError is false for a plain Error, null and a string',
    !isProbeError(new Error('x')) && !isProbeError(null) && !isProbeError('ProbeError'),
  );

  await init({ module_or_path: wasmUrl });

  // (b) after init()
  {
    using m = attachProbeManager(socket, 'lifecycle-1', { iceServers: [] });
    check(
      'attachProbeManager subscribes one handler per event',
      EVENTS.every((ev) => socket.listeners(ev).length === 1),
      `${handlers()} sessionCount=${m.sessionCount}`,
    );
  }
  check('a `using` block leaves zero socket handlers', handlerCount() === 0, handlers());

  const m2 = attachProbeManager(socket, 'lifecycle-1', { iceServers: [] });
  check('a second manager subscribes again', handlerCount() === EVENTS.length, handlers());
  mustNotThrow('free() does not throw', () => m2.free());
  check('free() leaves zero socket handlers', handlerCount() === 0, handlers());
  mustNotThrow('close() after free() does not throw', () => m2.close());
  check('zero socket handlers at the end', handlerCount() === 0, handlers());
} catch (e) {
  window.__error = describe(e);
} finally {
  window.__done = true;
}
