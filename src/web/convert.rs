//! Conversions at the JS boundary: options, event payloads and the result object. Everything
//! coming from JS is checked field by field; nothing here can panic.

#[allow(unused_imports)]
use crate::prelude::*;
use js_sys::{Array, Function, Object, Reflect};
use wasm_bindgen::{JsCast, JsValue};

use super::ApiError;

#[wasm_bindgen::prelude::wasm_bindgen]
extern "C" {
    /// JavaScript's `String(x)`.
    #[wasm_bindgen(js_name = String)]
    fn js_string(v: &JsValue) -> String;
}
use crate::core::probe::MAX_PINGS;
use crate::core::{Candidate, Config, ProbeRecord, Report, Signal, SignalError};
use serde::Serialize;

/// Longest probe_session_id we accept (the server's are 42 characters).
pub const MAX_SESSION_ID: usize = 256;
/// Upper bounds of `pingIntervalMs` / `pingTimeoutMs` (and of `measureRTT()`'s options).
pub const MAX_INTERVAL_MS: f64 = 60_000.0;
pub const MAX_PING_TIMEOUT_MS: f64 = 60_000.0;
/// Longest SDP we pass to the browser.
pub const MAX_SDP: usize = 64 * 1024;

/// Whether `x` is a whole number; false for NaN and infinities.
pub fn is_whole(x: f64) -> bool {
    x.is_finite() && x.fract() == 0.0
}

/// Milliseconds for a timer: `x` rounded up, at least 0 (the cast saturates; NaN gives 0).
pub fn ceil_u32(x: f64) -> u32 {
    x.max(0.0).ceil() as u32
}

pub fn get(obj: &JsValue, key: &str) -> JsValue {
    if obj.is_object() {
        Reflect::get(obj, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
    } else {
        JsValue::UNDEFINED
    }
}

pub fn set(obj: &Object, key: &str, value: &JsValue) {
    let _ = Reflect::set(obj, &JsValue::from_str(key), value);
}

/// A string, or a finite number converted the way JavaScript's `String(x)` does.
pub fn id_string(v: &JsValue) -> Option<String> {
    if let Some(s) = v.as_string() {
        return Some(s);
    }
    v.as_f64().filter(|x| x.is_finite()).map(|_| js_string(v))
}

#[derive(Clone)]
pub struct Options {
    pub cfg: Config,
    pub ice_servers: Array,
    pub turn_urls: Array,
    pub relay_only: bool,
    pub on_result: Option<Function>,
    /// `onProgress(sessionId, phase)`.
    pub on_progress: Option<Function>,
    pub turn_username: Option<String>,
    pub turn_credential: Option<String>,
}

fn number(opts: &JsValue, key: &'static str, min: f64, max: f64) -> Result<Option<f64>, ApiError> {
    let v = get(opts, key);
    if v.is_undefined() || v.is_null() {
        return Ok(None);
    }
    match v.as_f64() {
        Some(x) if x.is_finite() && x >= min && x <= max => Ok(Some(x)),
        _ => Err(ApiError::InvalidOption(key)),
    }
}

fn string_or_null(opts: &JsValue, key: &'static str) -> Result<Option<String>, ApiError> {
    let v = get(opts, key);
    if v.is_undefined() || v.is_null() {
        Ok(None)
    } else {
        v.as_string().map(Some).ok_or(ApiError::InvalidOption(key))
    }
}

/// Every option a constructor or `configure()` reads.
pub const KNOWN_OPTIONS: &[&str] = &[
    "iceServers",
    "turnUrls",
    "iceTransportPolicy",
    "pings",
    "pingIntervalMs",
    "pingTimeoutMs",
    "connectTimeoutMs",
    "startTimeoutMs",
    "measureBudgetMs",
    "onResult",
    "onProgress",
    "turnUsername",
    "turnCredential",
];

/// One `console.warn` per option key that nothing reads, naming the nearest known one (a typo
/// such as `pingCount` would otherwise be ignored without a word).
pub fn warn_unknown_options(opts: &JsValue, who: &str) {
    if !opts.is_object() || Array::is_array(opts) {
        return;
    }
    for key in Object::keys(opts.unchecked_ref::<Object>()).iter().filter_map(|k| k.as_string()) {
        if KNOWN_OPTIONS.contains(&key.as_str()) {
            continue;
        }
        let mut msg = String::from("unknown option `");
        msg.push_str(key.get(..key.len().min(64)).unwrap_or("?"));
        msg.push_str("` ignored");
        if let Some(near) = crate::core::names::nearest(&key, KNOWN_OPTIONS) {
            msg.push_str(" (did you mean `");
            msg.push_str(near);
            msg.push_str("`?)");
        }
        super::warn(who, &msg);
    }
}

impl Options {
    pub fn parse(opts: &JsValue, auto_measure: bool) -> Result<Options, ApiError> {
        if !(opts.is_undefined() || opts.is_null() || opts.is_object()) {
            return Err(ApiError::InvalidArgument("options"));
        }
        let mut cfg = Config { auto_measure, ..Config::default() };
        if !auto_measure {
            cfg.start_timeout_ms = None;
        }
        if let Some(p) = number(opts, "pings", 1.0, f64::from(MAX_PINGS))? {
            if !is_whole(p) {
                return Err(ApiError::InvalidOption("pings"));
            }
            cfg.pings = p as u32;
        }
        if let Some(v) = number(opts, "pingIntervalMs", 0.0, MAX_INTERVAL_MS)? {
            cfg.ping_interval_ms = v;
        }
        if let Some(v) = number(opts, "pingTimeoutMs", 1.0, MAX_PING_TIMEOUT_MS)? {
            cfg.ping_timeout_ms = v;
        }
        if let Some(v) = number(opts, "measureBudgetMs", 0.0, crate::core::probe::MAX_BUDGET_MS)? {
            cfg.measure_budget_ms = v;
        }
        if let Some(v) = number(opts, "connectTimeoutMs", 1.0, 600_000.0)? {
            cfg.connect_timeout_ms = v;
        }
        if let Some(v) = number(opts, "startTimeoutMs", 1.0, 600_000.0)? {
            if auto_measure {
                cfg.start_timeout_ms = Some(v);
            }
        }
        let array = |key: &'static str| -> Result<Array, ApiError> {
            let v = get(opts, key);
            if v.is_undefined() || v.is_null() {
                Ok(Array::new())
            } else if Array::is_array(&v) {
                Ok(v.unchecked_into())
            } else {
                Err(ApiError::InvalidOption(key))
            }
        };
        let ice_servers = array("iceServers")?;
        let turn_urls = array("turnUrls")?;
        if turn_urls.iter().any(|u| u.as_string().is_none()) {
            return Err(ApiError::InvalidOption("turnUrls"));
        }
        let relay_only = match get(opts, "iceTransportPolicy").as_string().as_deref() {
            None if get(opts, "iceTransportPolicy").is_undefined() => false,
            Some("all") => false,
            Some("relay") => true,
            _ => return Err(ApiError::InvalidOption("iceTransportPolicy")),
        };
        let function = |key: &'static str| -> Result<Option<Function>, ApiError> {
            match get(opts, key) {
                v if v.is_undefined() || v.is_null() => Ok(None),
                v => v.dyn_into::<Function>().map(Some).map_err(|_| ApiError::InvalidOption(key)),
            }
        };
        let on_result = function("onResult")?;
        let on_progress = function("onProgress")?;
        Ok(Options {
            cfg,
            ice_servers,
            turn_urls,
            relay_only,
            on_result,
            on_progress,
            turn_username: string_or_null(opts, "turnUsername")?,
            turn_credential: string_or_null(opts, "turnCredential")?,
        })
    }

    /// The RTCConfiguration for one probe: the page's ICE servers, plus the TURN URLs with the
    /// credentials the server handed out (when both are given).
    pub fn rtc_config(&self, turn_username: Option<&str>, turn_credential: Option<&str>) -> Object {
        let servers = Array::from(&self.ice_servers);
        if let (Some(user), Some(cred), true) = (turn_username, turn_credential, self.turn_urls.length() > 0) {
            let turn = Object::new();
            set(&turn, "urls", &Array::from(&self.turn_urls));
            set(&turn, "username", &JsValue::from_str(user));
            set(&turn, "credential", &JsValue::from_str(cred));
            servers.push(&turn);
        }
        let cfg = Object::new();
        set(&cfg, "iceServers", &servers);
        set(&cfg, "iceTransportPolicy", &JsValue::from_str(if self.relay_only { "relay" } else { "all" }));
        cfg
    }
}

/// The common part of every server event: an object with a sane `probe_session_id`.
pub fn session_id(data: &JsValue) -> Result<String, SignalError> {
    if !data.is_object() {
        return Err(SignalError::NotAnObject);
    }
    let id = get(data, "probe_session_id").as_string().ok_or(SignalError::MissingSessionId)?;
    if id.is_empty() {
        return Err(SignalError::MissingSessionId);
    }
    if id.len() > MAX_SESSION_ID {
        return Err(SignalError::SessionIdTooLong);
    }
    Ok(id)
}

fn opt_string_field(obj: &JsValue, key: &str) -> Result<Option<String>, SignalError> {
    let v = get(obj, key);
    if v.is_undefined() || v.is_null() {
        Ok(None)
    } else {
        v.as_string().map(Some).ok_or(SignalError::BadPayload)
    }
}

/// A `probe_signal` for session `expected` from subject `peer`, as the core's [`Signal`].
pub fn signal(data: &JsValue, peer: &str) -> Result<Signal, SignalError> {
    match get(data, "from_subject_id").as_string() {
        Some(from) if from == peer => {}
        _ => return Err(SignalError::NotFromPeer),
    }
    let kind = get(data, "type").as_string().ok_or(SignalError::UnknownType)?;
    let payload = get(data, "payload");
    match kind.as_str() {
        "offer" | "answer" => {
            if !payload.is_object() {
                return Err(SignalError::BadPayload);
            }
            if let Some(t) = opt_string_field(&payload, "type")? {
                if t != kind {
                    return Err(SignalError::BadPayload);
                }
            }
            let sdp = get(&payload, "sdp")
                .as_string()
                .filter(|s| !s.is_empty() && s.len() <= MAX_SDP)
                .ok_or(SignalError::BadPayload)?;
            Ok(if kind == "offer" { Signal::Offer(sdp) } else { Signal::Answer(sdp) })
        }
        "ice-candidate" => {
            if payload.is_undefined() || payload.is_null() {
                return Ok(Signal::EndOfCandidates);
            }
            if !payload.is_object() {
                return Err(SignalError::BadPayload);
            }
            let candidate =
                get(&payload, "candidate").as_string().filter(|c| c.len() <= 4096).ok_or(SignalError::BadPayload)?;
            if candidate.is_empty() {
                return Ok(Signal::EndOfCandidates);
            }
            let sdp_mid = opt_string_field(&payload, "sdpMid")?;
            let idx = get(&payload, "sdpMLineIndex");
            let sdp_m_line_index = if idx.is_undefined() || idx.is_null() {
                None
            } else {
                match idx.as_f64() {
                    Some(x) if is_whole(x) && (0.0..=65535.0).contains(&x) => Some(x as u16),
                    _ => return Err(SignalError::BadPayload),
                }
            };
            if sdp_mid.is_none() && sdp_m_line_index.is_none() {
                return Err(SignalError::BadPayload);
            }
            let username_fragment = opt_string_field(&payload, "usernameFragment")?;
            Ok(Signal::Candidate(Candidate { candidate, sdp_mid, sdp_m_line_index, username_fragment }))
        }
        _ => Err(SignalError::UnknownType),
    }
}

pub fn description(kind: &str, sdp: &str) -> Object {
    let o = Object::new();
    set(&o, "type", &JsValue::from_str(kind));
    set(&o, "sdp", &JsValue::from_str(sdp));
    o
}

/// The result object (`probe_result`, `onResult`, `lastReport`): the core's [`ProbeRecord`]
/// through serde-wasm-bindgen, with `None` as `null` (the server and the types expect `null`,
/// never a missing key).
pub fn result_object(session: &str, r: &Report) -> JsValue {
    let ser = serde_wasm_bindgen::Serializer::new().serialize_missing_as_null(true);
    match ProbeRecord::new(session, r).serialize(&ser) {
        Ok(v) => v,
        // unreachable for this plain struct; a result must still go out
        Err(e) => {
            super::console_warn2("[p2p-probe] result not serialisable", &e.into());
            let o = Object::new();
            set(&o, "probe_session_id", &JsValue::from_str(session));
            set(&o, "rtt_ms", &JsValue::NULL);
            set(&o, "success", &JsValue::FALSE);
            o.into()
        }
    }
}
