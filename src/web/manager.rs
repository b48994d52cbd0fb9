//! `ProbeManager`: any number of concurrent probe sessions keyed by `probe_session_id`, driven
//! by the server's events. `attachProbeManager` subscribes it to a socket through the JS shim.
//!
//! Each session is a [`Conn`] (one task per connection); the manager routes the server's events
//! to it and, when its core reports `Done`, sends `probe_result` exactly once. It stays
//! subscribed until `close()` or until it is dropped (`free()`, `using`, or garbage collection
//! of the JS object): both remove the socket handlers and close every live probe, which then
//! reports `closed` once.

#[allow(unused_imports)]
use crate::prelude::*;
use alloc::rc::Rc;
use core::cell::{Cell, RefCell};

use js_sys::Object;
use wasm_bindgen::prelude::*;

use super::conn::{decide_role, Conn, Notice, Sink};
use super::convert::{self, get, id_string, set, Options};
use super::{call_progress, emit, now, warn, ApiError, Subscription};
use crate::core::{Report, SignalError, Stage};

/// Sessions one page holds at once; more `probe_prepare`s are ignored with a warning.
pub const MAX_SESSIONS: usize = 64;
/// Warnings about events for no live probe: at most this many of each reason per window.
const WARN_BUDGET: u32 = 8;
const WARN_WINDOW_MS: f64 = 10_000.0;
/// Finished session ids remembered so their late signals are dropped quietly.
const RECENT: usize = 128;

struct Session {
    id: String,
    peer: String,
    conn: Conn,
}

struct Inner {
    me: String,
    socket: JsValue,
    opts: Options,
    /// Live sessions (prepared or running), few at a time (<= MAX_SESSIONS).
    sessions: RefCell<Vec<Session>>,
    /// Finished sessions whose connection still lingers (answering the peer's pings), kept so
    /// that `close()` can end them; each leaves when its task ends (`Notice::Ended`).
    lingering: RefCell<Vec<Session>>,
    /// The last `RECENT` finished session ids, a ring: slot `recent_next` is overwritten next.
    recent: RefCell<Vec<String>>,
    recent_next: Cell<usize>,
    /// The socket handlers (`probe_prepare`, `probe_start`, `probe_signal`); dropped by close().
    subscriptions: RefCell<Vec<Subscription>>,
    closed: Cell<bool>,
    warn_window: Cell<f64>,
    warn_counts: RefCell<Vec<(SignalError, u32)>>,
    /// `onProgress` threw once already (warned about once).
    progress_warned: Cell<bool>,
}

#[wasm_bindgen]
pub struct ProbeManager {
    inner: Rc<Inner>,
}

/// `attachProbeManager(socket, mySubjectId, options)`: subscribes to `probe_prepare`,
/// `probe_start` and `probe_signal`, answers with `probe_ready`, `probe_signal` and
/// `probe_result`. Throws a `ProbeError` (`invalid_socket`, `invalid_option`, ...) on bad input.
#[wasm_bindgen(js_name = attachProbeManager, skip_typescript)]
pub fn attach_probe_manager(
    socket: JsValue,
    my_subject_id: JsValue,
    options: JsValue,
) -> Result<ProbeManager, JsValue> {
    ProbeManager::new(socket, my_subject_id, Some(options))
}

#[wasm_bindgen]
impl ProbeManager {
    /// The same as `attachProbeManager`.
    #[wasm_bindgen(constructor)]
    pub fn new(
        #[wasm_bindgen(unchecked_param_type = "ProbeSocket")] socket: JsValue,
        #[wasm_bindgen(js_name = mySubjectId, unchecked_param_type = "string | number")] my_subject_id: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "ProbeOptions")] options: Option<JsValue>,
    ) -> Result<ProbeManager, JsValue> {
        let options = options.unwrap_or(JsValue::UNDEFINED);
        convert::warn_unknown_options(&options, "ProbeManager");
        let options = super::config::with_defaults(&options);
        let me = id_string(&my_subject_id).filter(|s| !s.is_empty()).ok_or(ApiError::InvalidArgument("mySubjectId"))?;
        let opts = Options::parse(&options, true)?;
        let inner = Rc::new(Inner {
            me,
            socket: socket.clone(),
            opts,
            sessions: RefCell::new(Vec::new()),
            lingering: RefCell::new(Vec::new()),
            recent: RefCell::new(Vec::new()),
            recent_next: Cell::new(0),
            subscriptions: RefCell::new(Vec::new()),
            closed: Cell::new(false),
            warn_window: Cell::new(f64::NEG_INFINITY),
            warn_counts: RefCell::new(Vec::new()),
            progress_warned: Cell::new(false),
        });
        // Each handler holds the manager strongly: attached means alive until close() (or the
        // drop of this object), which drops the handlers and so breaks the cycle.
        let subs = [
            ("probe_prepare", Inner::prepare as fn(&Rc<Inner>, &JsValue)),
            ("probe_start", Inner::start),
            ("probe_signal", Inner::signal),
        ];
        let mut subscriptions = Vec::with_capacity(subs.len());
        for (event, handler) in subs {
            let strong = Rc::clone(&inner);
            // a failure drops the subscriptions made so far: nothing is left behind
            subscriptions.push(
                Subscription::new(&socket, event, move |data| handler(&strong, &data))
                    .map_err(|_| ApiError::InvalidSocket)?,
            );
        }
        inner.with_mut(&inner.subscriptions, |s| *s = subscriptions);
        Ok(ProbeManager { inner })
    }

    /// Feed a `probe_prepare` payload by hand (pages with their own transport).
    #[wasm_bindgen(js_name = handlePrepare)]
    pub fn handle_prepare(&self, #[wasm_bindgen(unchecked_param_type = "ProbePrepare")] data: JsValue) {
        self.inner.prepare(&data);
    }
    /// Feed a `probe_start` payload by hand.
    #[wasm_bindgen(js_name = handleStart)]
    pub fn handle_start(&self, #[wasm_bindgen(unchecked_param_type = "ProbeStart")] data: JsValue) {
        self.inner.start(&data);
    }
    /// Feed a `probe_signal` payload by hand.
    #[wasm_bindgen(js_name = handleSignal)]
    pub fn handle_signal(&self, #[wasm_bindgen(unchecked_param_type = "ProbeSignal")] data: JsValue) {
        self.inner.signal(&data);
    }

    /// Live probe sessions (prepared or running).
    #[wasm_bindgen(getter, js_name = sessionCount)]
    pub fn session_count(&self) -> usize {
        self.inner.with_mut(&self.inner.sessions, |s| s.len()).unwrap_or(0)
    }

    /// Ends one probe: it reports `probe_result` once with `error.code = "cancelled"` (from its
    /// task, a moment later, like `close()`), and its peer connection, data channel, listeners
    /// and timers are released at once (no lingering). Returns `true` when a live probe with this
    /// id was found; `false` (and nothing happens) for an unknown id, a probe that has already
    /// reported, or a closed manager.
    pub fn cancel(
        &self,
        #[wasm_bindgen(js_name = probeSessionId, unchecked_param_type = "string")] probe_session_id: JsValue,
    ) -> bool {
        self.inner.cancel(&probe_session_id)
    }

    /// Removes the socket handlers and closes every live probe; a probe that had not finished
    /// reports failure (`closed`) once. Idempotent.
    pub fn close(&self) {
        self.inner.close();
    }
}

impl Drop for ProbeManager {
    fn drop(&mut self) {
        self.inner.close();
    }
}

impl Inner {
    /// The one way to the manager's `RefCell`s. No JS runs while one is borrowed, so a borrow
    /// can only fail through a bug: it is logged (and asserted in debug builds), never silent.
    fn with_mut<T, R>(&self, cell: &RefCell<T>, f: impl FnOnce(&mut T) -> R) -> Option<R> {
        match cell.try_borrow_mut() {
            Ok(mut v) => Some(f(&mut v)),
            Err(_) => {
                debug_assert!(false, "ProbeManager state borrowed twice");
                warn("manager", "internal error: state busy, event dropped");
                None
            }
        }
    }

    /// Warnings about events that belong to no live probe are rate-limited per reason:
    /// `WARN_BUDGET` of each reason per `WARN_WINDOW_MS`, then one "suppressed" note for it.
    /// Every kind of bad event is still named at least once per window.
    fn warn_event(&self, session: &str, e: SignalError) {
        let t = now();
        let n = self.with_mut(&self.warn_counts, |counts| {
            if t - self.warn_window.get() >= WARN_WINDOW_MS {
                self.warn_window.set(t);
                counts.clear();
            }
            match counts.iter_mut().find(|(k, _)| *k == e) {
                Some((_, n)) => {
                    *n += 1;
                    *n
                }
                None => {
                    counts.push((e, 1));
                    1
                }
            }
        });
        let Some(n) = n else { return };
        let who = if session.is_empty() { "manager" } else { session };
        if n <= WARN_BUDGET {
            warn(who, e.reason());
        } else if n == WARN_BUDGET + 1 {
            let mut msg = String::from("further warnings suppressed for a while: ");
            msg.push_str(e.reason());
            warn("manager", &msg);
        }
    }

    fn is_recent(&self, session: &str) -> bool {
        self.with_mut(&self.recent, |r| r.iter().any(|s| s == session)).unwrap_or(false)
    }

    fn prepare(self: &Rc<Self>, data: &JsValue) {
        if self.closed.get() {
            return;
        }
        let session = match convert::session_id(data) {
            Ok(s) => s,
            Err(e) => return self.warn_event("", e),
        };
        let Some(peer) = id_string(&get(data, "peer_subject_id")).filter(|p| !p.is_empty()) else {
            return self.warn_event(&session, SignalError::MissingPeer);
        };
        let Some(role) = decide_role(&self.me, &peer) else {
            return self.warn_event(&session, SignalError::PeerIsSelf);
        };
        let (duplicate, full) = self
            .with_mut(&self.sessions, |s| (s.iter().any(|x| x.id == session), s.len() >= MAX_SESSIONS))
            .unwrap_or((true, false));
        if duplicate || self.is_recent(&session) {
            return self.warn_event(&session, SignalError::DuplicateSession);
        }
        if full {
            return self.warn_event(&session, SignalError::TooManySessions);
        }
        let user = get(data, "turn_username").as_string();
        let cred = get(data, "turn_credential").as_string();
        let rtc_config = self.opts.rtc_config(user.as_deref(), cred.as_deref());
        // Strong: a probe's result must go out even when the manager is dropped meanwhile. The
        // task holds it only until it ends (every probe ends by its timeouts, at once on close).
        let inner = Rc::clone(self);
        let sid = session.clone();
        let notify = Rc::new(move |n: Notice| match n {
            Notice::Done(r) => inner.finish(&sid, &r),
            Notice::Ended => inner.ended(&sid),
            Notice::Progress(stage) => inner.progress(&sid, stage),
            Notice::Connected | Notice::Closed | Notice::MeasureDone(_) => {}
        }) as Rc<dyn Fn(Notice)>;
        let conn =
            Conn::new(session.clone(), peer.clone(), role, self.socket.clone(), rtc_config, self.opts.cfg, notify);
        self.with_mut(&self.sessions, |s| s.push(Session { id: session.clone(), peer, conn }));
        let ready = Object::new();
        set(&ready, "probe_session_id", &JsValue::from_str(&session));
        if emit(&self.socket, "probe_ready", &ready).is_err() {
            warn(&session, "socket.emit(probe_ready) threw");
        }
        self.progress(&session, Stage::Prepared);
    }

    fn progress(&self, session: &str, stage: Stage) {
        call_progress(self.opts.on_progress.as_ref(), &self.progress_warned, session, stage);
    }

    fn cancel(&self, id: &JsValue) -> bool {
        let Some(id) = id.as_string() else { return false };
        if self.closed.get() {
            return false;
        }
        let found = self.with_mut(&self.sessions, |s| {
            s.iter().find(|x| x.id == id && !x.conn.is_closed()).map(|x| x.conn.cancel()).is_some()
        });
        found.unwrap_or(false)
    }

    /// The peer and a sink of the live session named by `data`, or a warning why there is none.
    fn lookup(&self, data: &JsValue) -> Option<(String, Sink)> {
        if self.closed.get() {
            return None;
        }
        let session = match convert::session_id(data) {
            Ok(s) => s,
            Err(e) => {
                self.warn_event("", e);
                return None;
            }
        };
        let found = self.with_mut(&self.sessions, |s| {
            s.iter().find(|x| x.id == session).map(|x| (x.peer.clone(), x.conn.sink()))
        })?;
        if found.is_none() && !self.is_recent(&session) {
            // late signals of a session we finished are normal: dropped quietly
            self.warn_event(&session, SignalError::UnknownSession);
        }
        found
    }

    fn start(self: &Rc<Self>, data: &JsValue) {
        if let Some((_, sink)) = self.lookup(data) {
            sink.start();
        }
    }

    fn signal(self: &Rc<Self>, data: &JsValue) {
        if let Some((peer, sink)) = self.lookup(data) {
            match convert::signal(data, &peer) {
                Ok(sig) => sink.signal(sig),
                Err(e) => sink.ignored(e.reason()),
            }
        }
    }

    /// Exactly once per session (the core's `Done`): send `probe_result`, call `onResult`,
    /// forget the session (its connection lingers until its task ends).
    fn finish(&self, session: &str, r: &Report) {
        let removed =
            self.with_mut(&self.sessions, |s| s.iter().position(|x| x.id == session).map(|at| s.remove(at))).flatten();
        if let Some(s) = removed {
            self.with_mut(&self.lingering, |l| l.push(s));
        }
        self.report(session, r);
    }

    /// Sends `probe_result`, calls `onResult` and remembers the session as finished.
    fn report(&self, session: &str, r: &Report) {
        self.with_mut(&self.recent, |recent| {
            let next = self.recent_next.get();
            match recent.get_mut(next) {
                Some(slot) => *slot = session.to_string(),
                None => recent.push(session.to_string()),
            }
            self.recent_next.set((next + 1) % RECENT);
        });
        let obj = convert::result_object(session, r);
        if emit(&self.socket, "probe_result", &obj).is_err() {
            warn(session, "socket.emit(probe_result) threw");
        }
        if let Some(f) = &self.opts.on_result {
            if f.call1(&JsValue::NULL, &obj).is_err() {
                warn(session, "onResult threw (ignored)");
            }
        }
        self.progress(session, Stage::Done);
    }

    /// A connection's task has ended: drop its handle.
    fn ended(&self, session: &str) {
        for list in [&self.lingering, &self.sessions] {
            let gone = self.with_mut(list, |l| l.iter().position(|x| x.id == session).map(|at| l.remove(at))).flatten();
            drop(gone);
        }
    }

    fn close(&self) {
        if self.closed.replace(true) {
            return;
        }
        let subscriptions = self.with_mut(&self.subscriptions, core::mem::take).unwrap_or_default();
        drop(subscriptions);
        let live = self.with_mut(&self.sessions, core::mem::take).unwrap_or_default();
        let lingering = self.with_mut(&self.lingering, core::mem::take).unwrap_or_default();
        // Each live probe reports `closed` once, from its task, with what it had measured (its
        // notify holds the manager, so a dropped manager still reports); lingering ones have
        // reported already and just end.
        for s in live.iter().chain(lingering.iter()) {
            s.conn.close(false);
        }
    }
}
