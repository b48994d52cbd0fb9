//! The browser shell: drives the sans-IO core in the browser. Each probe connection is one
//! async task (`conn`); `ProbeConnection` (the legacy drop-in) and `ProbeManager` (many
//! sessions from the server's events) own their connections' handles. Every JS callback is
//! owned by a Rust value that removes it on drop (gloo-events listeners, gloo-timers timers,
//! socket `Subscription`s); nothing is `forget()`-leaked, and every RTCPeerConnection it
//! creates is closed.

#[allow(unused_imports)]
use crate::prelude::*;
mod config;
mod conn;
mod connection;
mod convert;
mod manager;
pub(crate) mod shim;

pub use config::configure;
pub use connection::ProbeConnection;
pub use manager::{attach_probe_manager, ProbeManager};

use js_sys::Reflect;
use wasm_bindgen::prelude::*;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = performance, js_name = now)]
    fn perf_now() -> f64;
    #[wasm_bindgen(js_namespace = console, js_name = warn)]
    fn console_warn(msg: &str);
    #[wasm_bindgen(js_namespace = console, js_name = warn)]
    fn console_warn2(msg: &str, detail: &JsValue);
}

pub(crate) use shim::{emit, Subscription};

pub(crate) fn now() -> f64 {
    perf_now()
}

pub(crate) fn warn(session: &str, why: &str) {
    let mut s = String::with_capacity(24 + session.len().min(80) + why.len());
    s.push_str("[p2p-probe ");
    // a hostile 100 KB session id must not become a 100 KB log line
    s.push_str(session.get(..session.len().min(80)).unwrap_or("?"));
    s.push_str("] ");
    s.push_str(why);
    console_warn(&s);
}

/// Calls the page's `onProgress(sessionId, phase)`. An exception thrown in it is caught and
/// warned about once per owner (`warned`); it never reaches our code.
pub(crate) fn call_progress(
    f: Option<&js_sys::Function>,
    warned: &core::cell::Cell<bool>,
    session: &str,
    stage: crate::core::Stage,
) {
    let Some(f) = f else { return };
    if f.call2(&JsValue::NULL, &JsValue::from_str(session), &JsValue::from_str(stage.as_str())).is_err()
        && !warned.replace(true)
    {
        warn(session, "onProgress threw (ignored; further exceptions in it are not reported)");
    }
}

/// Errors thrown at the JS boundary (constructor and option checks), one code each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApiError {
    /// An option has the wrong type or range; the field is named.
    InvalidOption(&'static str),
    /// A positional argument is missing or of the wrong type.
    InvalidArgument(&'static str),
    /// The socket lacks on/off/emit.
    InvalidSocket,
}

impl ApiError {
    pub fn code(self) -> &'static str {
        match self {
            Self::InvalidOption(_) => "invalid_option",
            Self::InvalidArgument(_) => "invalid_argument",
            Self::InvalidSocket => "invalid_socket",
        }
    }
}

/// Builds a real JS `Error` with `name = "ProbeError"` and a stable `code`.
pub(crate) fn js_error(code: &str, message: &str) -> JsValue {
    let err = js_sys::Error::new(message);
    err.set_name("ProbeError");
    let _ = Reflect::set(&err, &JsValue::from_str("code"), &JsValue::from_str(code));
    err.into()
}

impl From<ApiError> for JsValue {
    fn from(e: ApiError) -> JsValue {
        let mut msg = String::new();
        match e {
            ApiError::InvalidOption(f) => {
                msg.push_str("invalid option `");
                msg.push_str(f);
                msg.push('`');
            }
            ApiError::InvalidArgument(f) => {
                msg.push_str("invalid argument `");
                msg.push_str(f);
                msg.push('`');
            }
            ApiError::InvalidSocket => msg.push_str("socket must have on(), off() and emit()"),
        }
        js_error(e.code(), &msg)
    }
}

impl From<crate::core::ProbeError> for JsValue {
    fn from(e: crate::core::ProbeError) -> JsValue {
        js_error(e.code(), e.message())
    }
}

#[wasm_bindgen(typescript_custom_section)]
const TS_TYPES: &'static str = r#"
/** Anything with socket.io's emit/on/off (a socket.io-client 4 Socket, or an adapter). */
export interface ProbeSocket {
  emit(event: string, data: unknown): unknown;
  on(event: string, handler: (data: any) => void): unknown;
  off(event: string, handler: (data: any) => void): unknown;
}

export type ProbeErrorCode =
  | "connect_timeout" | "ice_failed" | "peer_closed" | "no_rtt" | "not_started" | "closed" | "webrtc_error"
  | "cancelled";

/**
 * The phases `onProgress` reports, in this order, each at most once per probe: `prepared`
 * (probe_prepare accepted / the ProbeConnection built), `started` (probe_start / `start()`),
 * `connected` (ICE connected), `open` (the data channel), `measuring` (the first ping; on a
 * ProbeConnection once per `measureRTT()`), `done` (a manager probe reported; on a
 * ProbeConnection a `measureRTT()` settled, or the connection failed). A probe that fails
 * skips from where it was to `done`.
 */
export type ProbePhase = "prepared" | "started" | "connected" | "open" | "measuring" | "done";

/**
 * Thrown by constructors, `configure()` and option checks (`invalid_*`), by anything used
 * before `init()` (`not_initialized`) and by `init()` when the wasm cannot be loaded
 * (`wasm_not_found`); passed to `onFailed` with a probe's failure code.
 */
export interface ProbeError extends Error {
  name: "ProbeError";
  code: ProbeErrorCode | "invalid_option" | "invalid_argument" | "invalid_socket" | "not_initialized" | "wasm_not_found";
}

/** Whether `value` is a `ProbeError` (works before `init()` too). */
export function isProbeError(value: unknown): value is ProbeError;

export interface ProbeOptions {
  /** RTCIceServer[] handed to every RTCPeerConnection. Default [] (host candidates only). */
  iceServers?: RTCIceServer[];
  /** TURN URLs that get turn_username / turn_credential from probe_prepare. Default []. */
  turnUrls?: string[];
  /** Default "all". */
  iceTransportPolicy?: "all" | "relay";
  /** Pings in the series. Default 5 (1..=1000). */
  pings?: number;
  /** Milliseconds between pings. Default 2. */
  pingIntervalMs?: number;
  /** Milliseconds before a ping counts as lost (sooner: 4x the slowest answer + 50 ms). Default 2000. */
  pingTimeoutMs?: number;
  /**
   * Milliseconds from the first ping during which chained pings (one in flight between the
   * peers) may still be sent when the first burst did not pin the RTT down (a jittery or busy
   * path). 0: exactly `pings` pings. Default 500.
   */
  measureBudgetMs?: number;
  /** Milliseconds from probe_start to an open data channel. Default 10000. */
  connectTimeoutMs?: number;
  /** Milliseconds a prepared session may wait for probe_start. Default 15000. */
  startTimeoutMs?: number;
  /** Called once per probe session with the object sent as probe_result. */
  onResult?: (result: ProbeResult) => void;
  /**
   * Called as a probe moves on (see `ProbePhase`). An exception thrown in it is caught (one
   * console.warn per manager or connection) and never reaches the probe.
   */
  onProgress?: (probeSessionId: string, phase: ProbePhase) => void;
}

export interface ProbeConnectionOptions extends ProbeOptions {
  turnUsername?: string | null;
  turnCredential?: string | null;
}

export interface PingSeries {
  median_ms: number | null; min_ms: number | null; max_ms: number | null; mean_ms: number | null;
  jitter_ms: number | null; stdev_ms: number | null; p95_ms: number | null;
  /**
   * Our pings answered, sent, and unanswered past their limit. The figures above describe every
   * round trip measured: these answers and, on the answerer, those taken from the peer's chain.
   */
  samples: number; sent: number; lost: number;
  /**
   * Of `lost`: pings the peer never got (`lost_out`) and pings it answered whose pong was lost
   * (`lost_back`), from the `rx` count our pongs carry. null against a peer that sends no count
   * (the legacy client): never guessed. A ping whose fate no later pong told (the last one of a
   * series, lost) is in neither.
   */
  lost_out: number | null; lost_back: number | null;
  /** 95 % confidence interval of `rtt_ms`, `[low, high]`; null when there is no `rtt_ms`. */
  ci95_ms: [number, number] | null;
  /** What gave `rtt_ms`: the data-channel pings, or the browser's ICE round trips (getStats). */
  source: "pings" | "stats" | null;
  /**
   * Round trips of the chained phase (one packet in flight between the peers) that followed the
   * first burst on a path that was not steady; null when the burst sufficed.
   */
  chained: number | null;
  /** The selected candidate pair's mean ICE round trip over the connection (getStats). */
  transport_ms: number | null;
}

export interface ProbeResult {
  probe_session_id: string;
  /** The RTT estimate (see `rtt.source` and `rtt.ci95_ms`); null on failure. */
  rtt_ms: number | null;
  success: boolean;
  rtt: PingSeries;
  stats_rtt_ms: number | null;
  connection: {
    type: "direct" | "relay" | null;
    local_candidate_type: string | null;
    remote_candidate_type: string | null;
    protocol: string | null;
    /** How our end reaches its TURN server; null unless our end is relayed. */
    relay_protocol: "udp" | "tcp" | "tls" | null;
    /** The relay candidate's address and port (on the TURN server; ours, else the peer's); null when direct. */
    relay_host: string | null;
    relay_port: number | null;
    /** Address family of the selected pair's candidates (null for an mDNS hostname). */
    local_address_family: "ipv4" | "ipv6" | null;
    remote_address_family: "ipv4" | "ipv6" | null;
    /** The local candidate's networkType where the browser gives one ("ethernet", "wifi", ...). */
    network_type: string | null;
  } | null;
  setup_ms: number | null;
  /**
   * `setup_ms` split at the steps the browser reports, each part from the previous reported
   * step: probe_start -> remote description applied -> ICE connected -> DTLS connected
   * (connectionState) -> data channel open. null where the browser did not report the step.
   */
  setup: { signaling_ms: number | null; ice_ms: number | null; dtls_ms: number | null; channel_ms: number | null };
  measure_ms: number | null;
  error?: { code: ProbeErrorCode; message: string };
}

export interface MeasureOptions {
  numPings?: number; pingTimeout?: number; pingInterval?: number;
  /**
   * Aborting it rejects the measureRTT() promise with `signal.reason` (a DOMException named
   * "AbortError" for a plain `abort()`), as fetch does; the connection stays usable.
   */
  signal?: AbortSignal;
}

/** The server's `probe_prepare` payload. */
export interface ProbePrepare {
  probe_session_id: string; peer_subject_id: string | number;
  turn_username?: string | null; turn_credential?: string | null;
}
/** The server's `probe_start` payload. */
export interface ProbeStart { probe_session_id: string; }
/** The server's `probe_signal` payload. */
export interface ProbeSignal {
  probe_session_id: string; type: "offer" | "answer" | "ice-candidate";
  from_subject_id: string | null; payload?: unknown;
}

/**
 * Subscribes a ProbeManager to probe_prepare / probe_start / probe_signal on `socket` and
 * emits probe_ready / probe_signal / probe_result. `manager.close()` removes the handlers.
 */
export function attachProbeManager(socket: ProbeSocket, mySubjectId: string | number, options?: ProbeOptions): ProbeManager;
"#;
