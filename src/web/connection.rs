//! `ProbeConnection`: a drop-in for the legacy `probe_connection.js` class (same constructor,
//! members and callbacks), so the platform's own page code can use it unchanged. Unlike the
//! legacy class it measures with sub-millisecond timing, prefers the transport RTT from
//! getStats, keeps the full result in `lastReport`, settles every `measureRTT()` by a deadline,
//! and releases everything on `close()`.

#[allow(unused_imports)]
use crate::prelude::*;
use alloc::rc::Rc;
use core::cell::{Cell, RefCell};

use futures::channel::oneshot;
use gloo_events::EventListener;
use js_sys::{Function, Promise};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use super::conn::{decide_role, Conn, Notice, Reply};
use super::convert::{self, get, id_string, Options};
use super::{call_progress, warn, ApiError, Subscription};
use crate::core::probe::MAX_PINGS;
use crate::core::{MeasureSpec, ProbeError, Stage};

/// The page's callbacks and what `measureRTT()` waits for. `Cell`s whose values are taken and
/// put back, so nothing is ever borrowed across a call into JS.
#[derive(Default)]
struct Callbacks {
    on_connected: Cell<Option<Function>>,
    on_failed: Cell<Option<Function>>,
    on_closed: Cell<Option<Function>>,
    last_report: Cell<Option<JsValue>>,
    /// The running `measureRTT()`: resolved with its RTT (or `None`) exactly once.
    /// `Err`: aborted, with the reason to reject with.
    pending_measure: Cell<Option<oneshot::Sender<Measured>>>,
    /// `close()` was called: no page callback runs after it (while the connection lingers to
    /// answer the peer's pings, the peer's leaving is nobody's business).
    closed: Cell<bool>,
    /// `onProgress` (from the options), and whether it has thrown once already.
    on_progress: Cell<Option<Function>>,
    progress_warned: Cell<bool>,
    /// Counts `measureRTT()` calls: an abort only acts on the call it was given to.
    measure_id: Cell<u32>,
}

/// What a `measureRTT()` settles with: its RTT (or none), or the reason of an abort.
type Measured = Reply;

/// A clone of the cell's value, leaving it in place.
fn peek<T: Clone>(c: &Cell<Option<T>>) -> Option<T> {
    let v = c.take();
    c.set(v.clone());
    v
}

fn call(session: &str, f: &Cell<Option<Function>>, arg: &JsValue) {
    if let Some(f) = peek(f) {
        if f.call1(&JsValue::NULL, arg).is_err() {
            warn(session, "a callback threw (ignored)");
        }
    }
}

impl Callbacks {
    /// Resolves the running `measureRTT()`, if any (then `onProgress` says `done`).
    fn settle_measure(&self, session: &str, rtt: Option<f64>) -> bool {
        let Some(reply) = self.pending_measure.take() else { return false };
        // Err: the page dropped the promise's future already; nothing to tell
        let _ = reply.send(Ok(rtt));
        self.progress(session, Stage::Done);
        true
    }

    fn progress(&self, session: &str, stage: Stage) {
        if !self.closed.get() {
            call_progress(peek(&self.on_progress).as_ref(), &self.progress_warned, session, stage);
        }
    }

    fn notice(&self, session: &str, n: Notice) {
        match n {
            // the task is gone: a measureRTT() still waiting (one asked for from `onClosed`,
            // after the channel closed) resolves to null
            Notice::Ended => {
                self.settle_measure(session, None);
            }
            Notice::Connected | Notice::Closed if self.closed.get() => {}
            Notice::Connected => call(session, &self.on_connected, &JsValue::UNDEFINED),
            Notice::Closed => call(session, &self.on_closed, &JsValue::UNDEFINED),
            Notice::Progress(stage) => self.progress(session, stage),
            Notice::MeasureDone(r) => {
                self.last_report.set(Some(convert::result_object(session, &r)));
                self.settle_measure(session, r.rtt_ms);
            }
            Notice::Done(r) => {
                self.last_report.set(Some(convert::result_object(session, &r)));
                let settled = self.settle_measure(session, None);
                // close() is not a failure, as in the legacy class
                if let Some(e) = r.error.filter(|e| *e != ProbeError::Closed && !self.closed.get()) {
                    call(session, &self.on_failed, &JsValue::from(e));
                    if !settled {
                        self.progress(session, Stage::Done);
                    }
                }
            }
        }
    }
}

/// What an aborted `measureRTT()` rejects with: the signal's `reason` (a `DOMException` named
/// `AbortError` for a plain `abort()`), as `fetch` does; a fresh `AbortError` when it has none.
fn abort_reason(signal: &web_sys::AbortSignal) -> JsValue {
    let reason = get(signal, "reason");
    if !reason.is_undefined() {
        return reason;
    }
    match web_sys::DomException::new_with_message_and_name("measureRTT() was aborted", "AbortError") {
        Ok(e) => e.into(),
        Err(_) => {
            let e = js_sys::Error::new("measureRTT() was aborted");
            e.set_name("AbortError");
            e.into()
        }
    }
}

#[wasm_bindgen]
pub struct ProbeConnection {
    session: String,
    cbs: Rc<Callbacks>,
    conn: Conn,
    defaults: MeasureSpec,
    /// The `probe_signal` handler, removed by `close()` (or on drop).
    subscription: RefCell<Option<Subscription>>,
}

#[wasm_bindgen]
impl ProbeConnection {
    /// `new ProbeConnection(socket, probeSessionId, mySubjectId, peerSubjectId, options)`:
    /// the legacy signature; options (over the package's `configure()` defaults) also take
    /// `iceServers`, `turnUrls`, `iceTransportPolicy`, `pings`, `pingIntervalMs`,
    /// `pingTimeoutMs`, `connectTimeoutMs`.
    #[wasm_bindgen(constructor)]
    pub fn new(
        #[wasm_bindgen(unchecked_param_type = "ProbeSocket")] socket: JsValue,
        #[wasm_bindgen(js_name = probeSessionId, unchecked_param_type = "string")] probe_session_id: JsValue,
        #[wasm_bindgen(js_name = mySubjectId, unchecked_param_type = "string | number")] my_subject_id: JsValue,
        #[wasm_bindgen(js_name = peerSubjectId, unchecked_param_type = "string | number")] peer_subject_id: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "ProbeConnectionOptions")] options: Option<JsValue>,
    ) -> Result<ProbeConnection, JsValue> {
        let options = options.unwrap_or(JsValue::UNDEFINED);
        convert::warn_unknown_options(&options, "ProbeConnection");
        let options = super::config::with_defaults(&options);
        let session = probe_session_id
            .as_string()
            .filter(|s| !s.is_empty() && s.len() <= convert::MAX_SESSION_ID)
            .ok_or(ApiError::InvalidArgument("probeSessionId"))?;
        let me = id_string(&my_subject_id).ok_or(ApiError::InvalidArgument("mySubjectId"))?;
        let peer = id_string(&peer_subject_id).ok_or(ApiError::InvalidArgument("peerSubjectId"))?;
        let role = decide_role(&me, &peer).ok_or(ApiError::InvalidArgument("peerSubjectId"))?;
        let opts = Options::parse(&options, false)?;
        let rtc_config = opts.rtc_config(opts.turn_username.as_deref(), opts.turn_credential.as_deref());
        // measureRTT() sends exactly numPings pings, as the legacy client does
        let defaults = MeasureSpec {
            pings: opts.cfg.pings,
            interval_ms: opts.cfg.ping_interval_ms,
            timeout_ms: opts.cfg.ping_timeout_ms,
            budget_ms: 0.0,
        };

        let cbs = Rc::new(Callbacks::default());
        cbs.on_progress.set(opts.on_progress.clone());
        let notify = {
            let cbs = Rc::clone(&cbs);
            let session = session.clone();
            Rc::new(move |n: Notice| cbs.notice(&session, n)) as Rc<dyn Fn(Notice)>
        };
        let conn = Conn::new(session.clone(), peer.clone(), role, socket.clone(), rtc_config, opts.cfg, notify);
        // Every connection sees every probe_signal on the socket (as in the legacy class):
        // other sessions' signals are not ours to judge. (If the socket is not one, the
        // constructor throws and `conn`, dropped, ends its task.)
        let sink = conn.sink();
        let sid = session.clone();
        let subscription = Subscription::new(&socket, "probe_signal", move |data| {
            if get(&data, "probe_session_id").as_string().as_deref() != Some(sid.as_str()) {
                return;
            }
            match convert::signal(&data, &peer) {
                Ok(s) => sink.signal(s),
                Err(e) => sink.ignored(e.reason()),
            }
        })
        .map_err(|_| ApiError::InvalidSocket)?;
        cbs.progress(&session, Stage::Prepared);
        Ok(ProbeConnection { session, cbs, conn, defaults, subscription: RefCell::new(Some(subscription)) })
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
    pub fn set_on_connected(
        &self,
        #[wasm_bindgen(unchecked_param_type = "(() => void) | null | undefined")] f: Option<Function>,
    ) {
        self.cbs.on_connected.set(f);
    }
    #[wasm_bindgen(getter, js_name = onFailed)]
    #[wasm_bindgen(unchecked_return_type = "((error: ProbeError) => void) | undefined")]
    pub fn on_failed(&self) -> Option<Function> {
        peek(&self.cbs.on_failed)
    }
    #[wasm_bindgen(setter, js_name = onFailed)]
    pub fn set_on_failed(
        &self,
        #[wasm_bindgen(unchecked_param_type = "((error: ProbeError) => void) | null | undefined")] f: Option<Function>,
    ) {
        self.cbs.on_failed.set(f);
    }
    #[wasm_bindgen(getter, js_name = onClosed)]
    #[wasm_bindgen(unchecked_return_type = "(() => void) | undefined")]
    pub fn on_closed(&self) -> Option<Function> {
        peek(&self.cbs.on_closed)
    }
    #[wasm_bindgen(setter, js_name = onClosed)]
    pub fn set_on_closed(
        &self,
        #[wasm_bindgen(unchecked_param_type = "(() => void) | null | undefined")] f: Option<Function>,
    ) {
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
        !self.cbs.closed.get() && self.conn.is_ready()
    }

    /// The selected candidate pair's transport RTT in ms, or null.
    #[wasm_bindgen(js_name = getRTT, unchecked_return_type = "Promise<number | null>")]
    pub fn get_rtt(&self) -> Promise {
        if self.cbs.closed.get() {
            return Promise::resolve(&JsValue::NULL);
        }
        settle(self.conn.stats_rtt(), None)
    }

    /// Pings over the data channel and resolves to the RTT in ms (the estimate of
    /// `core::estimate`: exactly `numPings` pings, no chained phase), or null; always by its deadline
    /// ((numPings - 1) x pingInterval + pingTimeout + 500 ms). Details land in `lastReport`.
    /// `signal` (an `AbortSignal`): aborting rejects this call with `signal.reason` (a
    /// `DOMException` named `AbortError` for a plain `abort()`) and drops its series; the
    /// connection stays usable for the next call.
    #[wasm_bindgen(js_name = measureRTT, unchecked_return_type = "Promise<number | null>")]
    pub fn measure_rtt(
        &self,
        #[wasm_bindgen(unchecked_optional_param_type = "MeasureOptions")] options: Option<JsValue>,
    ) -> Promise {
        let options = options.unwrap_or(JsValue::UNDEFINED);
        let num = |k: &str| get(&options, k).as_f64().filter(|x| x.is_finite() && *x >= 0.0);
        // the same ranges as the constructor's options (pingIntervalMs, pingTimeoutMs)
        let spec = MeasureSpec {
            pings: num("numPings").map_or(self.defaults.pings, |n| n.clamp(1.0, f64::from(MAX_PINGS)) as u32),
            interval_ms: num("pingInterval").map_or(self.defaults.interval_ms, |v| v.min(convert::MAX_INTERVAL_MS)),
            timeout_ms: num("pingTimeout")
                .map_or(self.defaults.timeout_ms, |v| v.clamp(1.0, convert::MAX_PING_TIMEOUT_MS)),
            budget_ms: 0.0,
        };
        let signal = get(&options, "signal");
        let signal = if signal.is_undefined() || signal.is_null() {
            None
        } else {
            match signal.dyn_into::<web_sys::AbortSignal>() {
                Ok(s) => Some(s),
                Err(_) => return Promise::reject(&ApiError::InvalidOption("signal").into()),
            }
        };
        if let Some(s) = signal.as_ref().filter(|s| s.aborted()) {
            return Promise::reject(&abort_reason(s));
        }
        if self.cbs.closed.get() || self.conn.is_closed() {
            return Promise::resolve(&JsValue::NULL);
        }
        if peek_busy(&self.cbs.pending_measure) {
            warn(&self.session, "measureRTT() already running; this call resolves to null");
            return Promise::resolve(&JsValue::NULL);
        }
        let id = self.cbs.measure_id.get().wrapping_add(1);
        self.cbs.measure_id.set(id);
        let (reply, rx) = oneshot::channel();
        self.cbs.pending_measure.set(Some(reply));
        self.conn.measure(spec);
        // The abort listener lives in the promise's future: removed when it settles.
        let listener = signal.map(|signal| {
            let cbs = Rc::downgrade(&self.cbs);
            let sink = self.conn.sink();
            let session = self.session.clone();
            // (`new`, not `once`: the one closure type every listener of the package uses; the
            // pending call is taken, so a second event finds nothing)
            EventListener::new(&signal.clone(), "abort", move |_| {
                let Some(cbs) = cbs.upgrade() else { return };
                // only while this call is still running; a settled one keeps its value
                if cbs.measure_id.get() != id {
                    return;
                }
                let Some(pending) = cbs.pending_measure.take() else { return };
                let _ = pending.send(Err(abort_reason(&signal)));
                sink.abort_measure();
                cbs.progress(&session, Stage::Done);
            })
        });
        settle(rx, listener)
    }

    /// Ends the probe: removes the socket listener and closes the data channel and the peer
    /// connection. A pending `measureRTT()` resolves to null; no callback runs after this. When
    /// the channel is open, it first lingers (1 s after the peer's last message, 3 s at most,
    /// or until the peer closes it) only to
    /// answer the peer's pings: the platform's flow closes as soon as its own `measureRTT()`
    /// resolves, and the peer's series may still be running. Idempotent.
    pub fn close(&self) {
        self.cbs.closed.set(true);
        let subscription = self.subscription.try_borrow_mut().ok().and_then(|mut s| s.take());
        drop(subscription);
        self.cbs.settle_measure(&self.session, None);
        self.conn.close(true);
    }
}

/// The promise of `getRTT()` / `measureRTT()`: the RTT or null, or a rejection with the reason
/// of an abort; `listener` (the abort listener) is removed when it settles. A sender dropped
/// unanswered (the connection ended) resolves to null.
fn settle(rx: oneshot::Receiver<Reply>, listener: Option<EventListener>) -> Promise {
    wasm_bindgen_futures::future_to_promise(async move {
        let settled = rx.await;
        drop(listener);
        match settled {
            Ok(Err(reason)) => Err(reason),
            Ok(Ok(rtt)) => Ok(rtt.map_or(JsValue::NULL, JsValue::from_f64)),
            Err(_) => Ok(JsValue::NULL),
        }
    })
}

/// Whether a `measureRTT()` is running (its sender is still waiting).
fn peek_busy(c: &Cell<Option<oneshot::Sender<Measured>>>) -> bool {
    let v = c.take();
    let busy = v.as_ref().is_some_and(|s| !s.is_canceled());
    c.set(v);
    busy
}

impl Drop for ProbeConnection {
    fn drop(&mut self) {
        self.close();
    }
}
