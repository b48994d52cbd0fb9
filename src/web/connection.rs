//! `ProbeConnection`: a drop-in for the legacy `probe_connection.js` class (same constructor,
//! members and callbacks), so the platform's own page code can use it unchanged. Unlike the
//! legacy class it measures on demand with sub-millisecond timing, prefers the transport RTT
//! from getStats, keeps the full result in `lastReport`, and releases everything on `close()`.

#[allow(unused_imports)]
use crate::prelude::*;
use core::cell::Cell;
use alloc::rc::Rc;

use js_sys::{Array, Function, Promise};
use wasm_bindgen::prelude::*;

use super::conn::{decide_role, stats_rtt, Conn, Notice, STATS_WAIT_MS};
use super::convert::{self, get, id_string, set, Options};
use super::{shim, subscribe, warn, ApiError, Handler};
use crate::core::{MeasureSpec, ProbeError};

/// `Cell`s, not `RefCell`s: nothing is ever borrowed, so there is no borrow panic path.
#[derive(Default)]
struct Callbacks {
    on_connected: Cell<Option<Function>>,
    on_failed: Cell<Option<Function>>,
    on_closed: Cell<Option<Function>>,
    last_report: Cell<Option<JsValue>>,
    pending_measure: Cell<Option<Function>>,
}

/// A clone of the cell's value, leaving it in place.
fn peek<T: Clone>(c: &Cell<Option<T>>) -> Option<T> {
    let v = c.take();
    c.set(v.clone());
    v
}

fn call(session: &str, f: &Cell<Option<Function>>, arg: &JsValue) {
    let f = peek(f);
    if let Some(f) = f {
        if f.call1(&JsValue::NULL, arg).is_err() {
            warn(session, "a callback threw (ignored)");
        }
    }
}

#[wasm_bindgen]
pub struct ProbeConnection {
    session: String,
    cbs: Rc<Callbacks>,
    conn: Conn,
    defaults: MeasureSpec,
    unsubscribe: Cell<Option<Function>>,
    /// The socket handler; its port also reports getRTT()'s stats.
    handler: Handler,
}

#[wasm_bindgen]
impl ProbeConnection {
    /// `new ProbeConnection(socket, probeSessionId, mySubjectId, peerSubjectId, options)`:
    /// the legacy signature; options also take `iceServers`, `turnUrls`, `iceTransportPolicy`,
    /// `pings`, `pingIntervalMs`, `pingTimeoutMs`, `connectTimeoutMs`.
    #[wasm_bindgen(constructor)]
    pub fn new(
        #[wasm_bindgen(unchecked_param_type = "ProbeSocket")] socket: JsValue,
        #[wasm_bindgen(js_name = probeSessionId, unchecked_param_type = "string")] probe_session_id: JsValue,
        #[wasm_bindgen(js_name = mySubjectId, unchecked_param_type = "string")] my_subject_id: JsValue,
        #[wasm_bindgen(js_name = peerSubjectId, unchecked_param_type = "string")] peer_subject_id: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "ProbeConnectionOptions")] options: Option<JsValue>,
    ) -> Result<ProbeConnection, JsValue> {
        let options = options.unwrap_or(JsValue::UNDEFINED);
        let session = probe_session_id
            .as_string()
            .filter(|s| !s.is_empty() && s.len() <= convert::MAX_SESSION_ID)
            .ok_or(ApiError::InvalidArgument("probeSessionId"))?;
        let me = id_string(&my_subject_id).ok_or(ApiError::InvalidArgument("mySubjectId"))?;
        let peer = id_string(&peer_subject_id).ok_or(ApiError::InvalidArgument("peerSubjectId"))?;
        let role = decide_role(&me, &peer).ok_or(ApiError::InvalidArgument("peerSubjectId"))?;
        let opts = Options::parse(&options, false)?;
        let rtc_config = opts.rtc_config(opts.turn_username.as_deref(), opts.turn_credential.as_deref());
        let defaults = MeasureSpec { pings: opts.cfg.pings, interval_ms: opts.cfg.ping_interval_ms, timeout_ms: opts.cfg.ping_timeout_ms };

        let cbs = Rc::new(Callbacks::default());
        let notify = {
            let cbs = Rc::clone(&cbs);
            let session = session.clone();
            Rc::new(move |n: Notice| match n {
                Notice::Connected => call(&session, &cbs.on_connected, &JsValue::UNDEFINED),
                Notice::Closed => call(&session, &cbs.on_closed, &JsValue::UNDEFINED),
                Notice::MeasureDone(r) => {
                    let obj: JsValue = convert::report_object(&session, &r).into();
                    cbs.last_report.set(Some(obj));
                    let resolve = cbs.pending_measure.take();
                    if let Some(resolve) = resolve {
                        let _ = resolve.call1(&JsValue::NULL, &r.rtt_ms.map_or(JsValue::NULL, JsValue::from_f64));
                    }
                }
                Notice::Done(r) => {
                    cbs.last_report.set(Some(convert::report_object(&session, &r).into()));
                    let resolve = cbs.pending_measure.take();
                    if let Some(resolve) = resolve {
                        let _ = resolve.call1(&JsValue::NULL, &JsValue::NULL);
                    }
                    // close() is not a failure, as in the legacy class
                    if let Some(e) = r.error.filter(|e| *e != ProbeError::Closed) {
                        call(&session, &cbs.on_failed, &JsValue::from(e));
                    }
                }
            }) as Rc<dyn Fn(Notice)>
        };
        let conn = Conn::new(session.clone(), peer.clone(), role, socket.clone(), rtc_config, opts.cfg, notify);

        let weak = conn.downgrade();
        let sid = session.clone();
        let handler = Handler::new(move |event: JsValue, data: JsValue| {
            if event.as_string().as_deref() == Some("rtt") {
                // getRTT(): `data` is `{ report, rtt }` (js/shim.js statsRtt)
                if let Some(rtt) = stats_rtt(&get(&data, "report")) {
                    set(data.unchecked_ref(), "rtt", &JsValue::from_f64(rtt));
                }
                return;
            }
            // Every connection sees every probe_signal on the socket (as in the legacy class):
            // other sessions' signals are not ours to judge.
            if get(&data, "probe_session_id").as_string().as_deref() != Some(sid.as_str()) {
                return;
            }
            match convert::signal(&data, &peer) {
                Ok(s) => weak.signal(s),
                Err(e) => weak.ignored(e.reason()),
            }
        });
        let events = Array::of1(&JsValue::from_str("probe_signal"));
        let unsubscribe = subscribe(&socket, &events, handler.function()).map_err(|_| ApiError::InvalidSocket)?;
        Ok(ProbeConnection { session, cbs, conn, defaults, unsubscribe: Cell::new(Some(unsubscribe)), handler })
    }

    #[wasm_bindgen(getter, js_name = probeSessionId)]
    pub fn probe_session_id(&self) -> String {
        self.session.clone()
    }

    #[wasm_bindgen(getter, js_name = onConnected)]
    #[wasm_bindgen(unchecked_return_type = "(() => void) | undefined")]
    pub fn on_connected(&self) -> Option<Function> {
        peek(&self.cbs.on_connected)
    }
    #[wasm_bindgen(setter, js_name = onConnected)]
    pub fn set_on_connected(&self, #[wasm_bindgen(unchecked_param_type = "(() => void) | null | undefined")] f: Option<Function>) {
        self.cbs.on_connected.set(f);
    }
    #[wasm_bindgen(getter, js_name = onFailed)]
    #[wasm_bindgen(unchecked_return_type = "((error: ProbeError) => void) | undefined")]
    pub fn on_failed(&self) -> Option<Function> {
        peek(&self.cbs.on_failed)
    }
    #[wasm_bindgen(setter, js_name = onFailed)]
    pub fn set_on_failed(&self, #[wasm_bindgen(unchecked_param_type = "((error: ProbeError) => void) | null | undefined")] f: Option<Function>) {
        self.cbs.on_failed.set(f);
    }
    #[wasm_bindgen(getter, js_name = onClosed)]
    #[wasm_bindgen(unchecked_return_type = "(() => void) | undefined")]
    pub fn on_closed(&self) -> Option<Function> {
        peek(&self.cbs.on_closed)
    }
    #[wasm_bindgen(setter, js_name = onClosed)]
    pub fn set_on_closed(&self, #[wasm_bindgen(unchecked_param_type = "(() => void) | null | undefined")] f: Option<Function>) {
        self.cbs.on_closed.set(f);
    }

    /// The full result of the last measurement (or the failure), as sent in `probe_result`.
    #[wasm_bindgen(getter, js_name = lastReport, unchecked_return_type = "ProbeResult | null")]
    pub fn last_report(&self) -> JsValue {
        peek(&self.cbs.last_report).unwrap_or(JsValue::NULL)
    }

    /// Connects: the initiator (lower subject id) creates the channel and sends the offer.
    pub fn start(&self) {
        self.conn.start();
    }

    #[wasm_bindgen(js_name = isReady)]
    pub fn is_ready(&self) -> bool {
        self.conn.is_ready()
    }

    /// The selected candidate pair's transport RTT in ms, or null.
    #[wasm_bindgen(js_name = getRTT, unchecked_return_type = "Promise<number | null>")]
    pub fn get_rtt(&self) -> Promise {
        match self.conn.peer_connection() {
            Some(pc) => shim::stats_rtt(&pc, STATS_WAIT_MS, self.handler.port()),
            None => Promise::resolve(&JsValue::NULL),
        }
    }

    /// Pings over the data channel and resolves to the RTT in ms (the transport RTT when the
    /// browser gives one, else the ping median), or null. Details land in `lastReport`.
    #[wasm_bindgen(js_name = measureRTT, unchecked_return_type = "Promise<number | null>")]
    pub fn measure_rtt(&self, #[wasm_bindgen(unchecked_optional_param_type = "MeasureOptions")] options: Option<JsValue>) -> Promise {
        let options = options.unwrap_or(JsValue::UNDEFINED);
        let num = |k: &str| get(&options, k).as_f64().filter(|x| x.is_finite() && *x >= 0.0);
        let spec = MeasureSpec {
            pings: num("numPings").map_or(self.defaults.pings, |n| n.clamp(1.0, 1000.0) as u32),
            interval_ms: num("pingInterval").unwrap_or(self.defaults.interval_ms),
            timeout_ms: num("pingTimeout").unwrap_or(self.defaults.timeout_ms),
        };
        if self.conn.is_closed() {
            return Promise::resolve(&JsValue::NULL);
        }
        let busy = peek(&self.cbs.pending_measure).is_some();
        if busy {
            warn(&self.session, "measureRTT() already running; this call resolves to null");
            return Promise::resolve(&JsValue::NULL);
        }
        // [promise, resolve] from the shim: no Rust closure for the executor
        let pair = shim::deferred();
        self.cbs.pending_measure.set(pair.get(1).dyn_into::<Function>().ok());
        self.conn.measure(spec);
        pair.get(0).unchecked_into()
    }

    /// Removes the socket listener, closes the data channel and the peer connection. Idempotent.
    pub fn close(&self) {
        let unsubscribe = self.unsubscribe.take();
        if let Some(f) = unsubscribe {
            let _ = f.call0(&JsValue::NULL);
        }
        self.conn.close();
    }
}

impl Drop for ProbeConnection {
    fn drop(&mut self) {
        self.close();
    }
}
