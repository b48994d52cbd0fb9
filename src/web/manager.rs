//! `ProbeManager`: any number of concurrent probe sessions keyed by `probe_session_id`, driven
//! by the server's events. `attachProbeManager` wires it to a socket through the JS shim.
//!
//! An attached manager stays alive while the socket holds its handler (like any `socket.on`
//! handler) until `close()`, which removes the handlers and closes every live probe.

#[allow(unused_imports)]
use crate::prelude::*;
use core::cell::{Cell, RefCell};
use alloc::rc::{Rc, Weak};

use js_sys::{Array, Function, Object};
use wasm_bindgen::prelude::*;

use super::conn::{decide_role, Conn, Notice};
use super::convert::{self, get, id_string, set, Options};
use super::{emit, now, subscribe, warn, ApiError, Handler, Timer};
use crate::core::{Report, SignalError};

/// Sessions one page holds at once; more `probe_prepare`s are ignored with a warning.
pub const MAX_SESSIONS: usize = 64;
/// Warnings about events for no live probe: at most this many of each reason per window.
const WARN_BUDGET: u32 = 8;
const WARN_WINDOW_MS: f64 = 10_000.0;
/// Finished session ids remembered so their late signals are dropped quietly.
const RECENT: usize = 128;
/// After its result, a connection stays open this long (or until the peer closes it) so the
/// peer's own ping series, which may still be running, gets its pongs.
const LINGER_MS: u32 = 1000;

struct Linger {
    session: String,
    _conn: Rc<Conn>,
    _timer: Timer,
}

struct Session {
    peer: String,
    conn: Rc<Conn>,
}

struct Inner {
    me: String,
    socket: JsValue,
    opts: Options,
    /// Few at a time (<= MAX_SESSIONS): a Vec is smaller in wasm than a HashMap.
    sessions: RefCell<Vec<(String, Session)>>,
    /// The last `RECENT` finished session ids, a ring: slot `recent_next` is overwritten next.
    recent: RefCell<Vec<String>>,
    recent_next: Cell<usize>,
    lingering: RefCell<Vec<Linger>>,
    unsubscribe: Cell<Option<Function>>,
    /// The socket handler `(event, data)`; its port also fires the linger timers.
    handler: RefCell<Option<Handler>>,
    closed: Cell<bool>,
    warn_window: Cell<f64>,
    warn_counts: RefCell<Vec<(SignalError, u32)>>,
}

#[wasm_bindgen]
pub struct ProbeManager {
    inner: Rc<Inner>,
}

/// `attachProbeManager(socket, mySubjectId, options)`: subscribes to `probe_prepare`,
/// `probe_start` and `probe_signal`, answers with `probe_ready`, `probe_signal` and
/// `probe_result`. Throws a `ProbeError` (`invalid_socket`, `invalid_option`, ...) on bad input.
#[wasm_bindgen(js_name = attachProbeManager, skip_typescript)]
pub fn attach_probe_manager(socket: JsValue, my_subject_id: JsValue, options: JsValue) -> Result<ProbeManager, JsValue> {
    ProbeManager::new(socket, my_subject_id, Some(options))
}

#[wasm_bindgen]
impl ProbeManager {
    /// The same as `attachProbeManager`.
    #[wasm_bindgen(constructor)]
    pub fn new(
        #[wasm_bindgen(unchecked_param_type = "ProbeSocket")] socket: JsValue,
        #[wasm_bindgen(js_name = mySubjectId, unchecked_param_type = "string")] my_subject_id: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "ProbeOptions")] options: Option<JsValue>,
    ) -> Result<ProbeManager, JsValue> {
        let options = options.unwrap_or(JsValue::UNDEFINED);
        let me = id_string(&my_subject_id).filter(|s| !s.is_empty()).ok_or(ApiError::InvalidArgument("mySubjectId"))?;
        let opts = Options::parse(&options, true)?;
        let inner = Rc::new(Inner {
            me,
            socket: socket.clone(),
            opts,
            sessions: RefCell::new(Vec::new()),
            recent: RefCell::new(Vec::new()),
            recent_next: Cell::new(0),
            lingering: RefCell::new(Vec::new()),
            unsubscribe: Cell::new(None),
            handler: RefCell::new(None),
            closed: Cell::new(false),
            warn_window: Cell::new(f64::NEG_INFINITY),
            warn_counts: RefCell::new(Vec::new()),
        });
        // The handler holds the manager strongly: attached means alive, until close().
        let strong = Rc::clone(&inner);
        let handler = Handler::new(move |event: JsValue, data: JsValue| {
            match event.as_string().as_deref() {
                Some("probe_prepare") => strong.prepare(&data),
                Some("probe_start") => strong.start(&data),
                Some("probe_signal") => strong.signal(&data),
                // our own linger timer (see `finish`); the socket never fires it
                Some("linger") => {
                    if let Some(sid) = data.as_string() {
                        strong.release(&sid);
                    }
                }
                _ => {}
            }
        });
        let events = Array::of3(&"probe_prepare".into(), &"probe_start".into(), &"probe_signal".into());
        let unsubscribe = subscribe(&socket, &events, handler.function()).map_err(|_| ApiError::InvalidSocket)?;
        inner.unsubscribe.set(Some(unsubscribe));
        if let Ok(mut h) = inner.handler.try_borrow_mut() {
            *h = Some(handler);
        }
        Ok(ProbeManager { inner })
    }

    /// Feed a `probe_prepare` payload by hand (pages with their own transport).
    #[wasm_bindgen(js_name = handlePrepare)]
    pub fn handle_prepare(&self, data: JsValue) {
        self.inner.prepare(&data);
    }
    #[wasm_bindgen(js_name = handleStart)]
    pub fn handle_start(&self, data: JsValue) {
        self.inner.start(&data);
    }
    #[wasm_bindgen(js_name = handleSignal)]
    pub fn handle_signal(&self, data: JsValue) {
        self.inner.signal(&data);
    }

    /// Live probe sessions (prepared or running).
    #[wasm_bindgen(getter, js_name = sessionCount)]
    pub fn session_count(&self) -> usize {
        self.inner.sessions.try_borrow().map(|s| s.len()).unwrap_or(0)
    }

    /// Removes the socket handlers and closes every live probe; a probe that had not finished
    /// reports failure (`closed`) once. Idempotent.
    pub fn close(&self) {
        self.inner.close();
    }
}

/// `Vec::swap_remove` without its panic path (whose message formatting would link core::fmt):
/// `None` when `at` is out of range.
fn take_at<T>(v: &mut Vec<T>, at: usize) -> Option<T> {
    if at >= v.len() {
        return None;
    }
    let last = v.pop()?;
    match v.get_mut(at) {
        Some(slot) => Some(core::mem::replace(slot, last)),
        None => Some(last), // `at` was the last index
    }
}

impl Inner {
    /// Warnings about events that belong to no live probe are rate-limited per reason:
    /// `WARN_BUDGET` of each reason per `WARN_WINDOW_MS`, then one "suppressed" note for it.
    /// Every kind of bad event is still named at least once per window.
    fn warn_event(&self, session: &str, e: SignalError) {
        let t = now();
        let Ok(mut counts) = self.warn_counts.try_borrow_mut() else { return };
        if t - self.warn_window.get() >= WARN_WINDOW_MS {
            self.warn_window.set(t);
            counts.clear();
        }
        let n = match counts.iter_mut().find(|(k, _)| *k == e) {
            Some((_, n)) => {
                *n += 1;
                *n
            }
            None => {
                counts.push((e, 1));
                1
            }
        };
        drop(counts);
        let who = if session.is_empty() { "manager" } else { session };
        if n <= WARN_BUDGET {
            warn(who, e.reason());
        } else if n == WARN_BUDGET + 1 {
            let mut msg = String::from("further warnings suppressed for a while: ");
            msg.push_str(e.reason());
            warn("manager", &msg);
        }
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
        {
            let Ok(sessions) = self.sessions.try_borrow() else { return };
            if sessions.iter().any(|(k, _)| *k == session) || self.recent.try_borrow().is_ok_and(|r| r.contains(&session)) {
                return self.warn_event(&session, SignalError::DuplicateSession);
            }
            if sessions.len() >= MAX_SESSIONS {
                return self.warn_event(&session, SignalError::TooManySessions);
            }
        }
        let user = get(data, "turn_username").as_string();
        let cred = get(data, "turn_credential").as_string();
        let rtc_config = self.opts.rtc_config(user.as_deref(), cred.as_deref());
        let weak: Weak<Inner> = Rc::downgrade(self);
        let sid = session.clone();
        let notify = Rc::new(move |n: Notice| {
            let Some(inner) = weak.upgrade() else { return };
            match n {
                Notice::Done(r) => inner.finish(&sid, &r),
                Notice::Closed => inner.release(&sid),
                _ => {}
            }
        }) as Rc<dyn Fn(Notice)>;
        let conn = Conn::new(session.clone(), peer.clone(), role, self.socket.clone(), rtc_config, self.opts.cfg, notify);
        if let Ok(mut sessions) = self.sessions.try_borrow_mut() {
            sessions.push((session.clone(), Session { peer, conn: Rc::new(conn) }));
        }
        let ready = Object::new();
        set(&ready, "probe_session_id", &JsValue::from_str(&session));
        if !emit(&self.socket, "probe_ready", &ready).is_null() {
            warn(&session, "socket.emit(probe_ready) threw");
        }
    }

    fn lookup(&self, data: &JsValue) -> Option<(String, Rc<Conn>)> {
        let session = match convert::session_id(data) {
            Ok(s) => s,
            Err(e) => {
                self.warn_event("", e);
                return None;
            }
        };
        let found = self.sessions.try_borrow().ok()?.iter().find(|(k, _)| *k == session).map(|(_, s)| (s.peer.clone(), Rc::clone(&s.conn)));
        match found {
            Some(found) => Some(found),
            None => {
                // late signals of a session we finished are normal: drop them quietly
                if !self.recent.try_borrow().is_ok_and(|r| r.contains(&session)) {
                    self.warn_event(&session, SignalError::UnknownSession);
                }
                None
            }
        }
    }

    fn start(&self, data: &JsValue) {
        if self.closed.get() {
            return;
        }
        if let Some((_, conn)) = self.lookup(data) {
            conn.start();
        }
    }

    fn signal(&self, data: &JsValue) {
        if self.closed.get() {
            return;
        }
        if let Some((peer, conn)) = self.lookup(data) {
            match convert::signal(data, &peer) {
                Ok(s) => conn.signal(s),
                Err(e) => conn.ignored(e.reason()),
            }
        }
    }

    /// Exactly once per session: send `probe_result`, call `onResult`, forget the session.
    fn finish(&self, session: &str, r: &Report) {
        let removed = self.sessions.try_borrow_mut().ok().and_then(|mut s| {
            let at = s.iter().position(|(k, _)| k == session)?;
            take_at(&mut s, at)
        });
        if let Ok(mut recent) = self.recent.try_borrow_mut() {
            let next = self.recent_next.get();
            match recent.get_mut(next) {
                Some(slot) => *slot = session.to_string(),
                None => recent.push(session.to_string()),
            }
            self.recent_next.set((next + 1) % RECENT);
        }
        let obj = convert::report_object(session, r);
        if !emit(&self.socket, "probe_result", &obj).is_null() {
            warn(session, "socket.emit(probe_result) threw");
        }
        if let Some(f) = &self.opts.on_result {
            if f.call1(&JsValue::NULL, &obj).is_err() {
                warn(session, "onResult threw (ignored)");
            }
        }
        // Linger, then drop the connection: that closes the RTCPeerConnection and removes
        // its listeners.
        let port = self.handler.try_borrow().ok().and_then(|h| h.as_ref().map(|h| h.port().clone()));
        if let (Some((_, s)), false, Some(port)) = (removed, self.closed.get(), port) {
            let timer = Timer::new(LINGER_MS, "linger", &JsValue::from_str(session), &port);
            if let Ok(mut l) = self.lingering.try_borrow_mut() {
                l.push(Linger { session: session.to_string(), _conn: s.conn, _timer: timer });
            }
        }
    }

    fn release(&self, session: &str) {
        let released = self.lingering.try_borrow_mut().ok().and_then(|mut l| {
            let at = l.iter().position(|x| x.session == session)?;
            take_at(&mut l, at)
        });
        drop(released);
    }

    fn close(&self) {
        if self.closed.replace(true) {
            return;
        }
        let unsubscribe = self.unsubscribe.take();
        if let Some(f) = unsubscribe {
            let _ = f.call0(&JsValue::NULL);
        }
        let live: Vec<Rc<Conn>> = self.sessions.try_borrow().map(|s| s.iter().map(|(_, s)| Rc::clone(&s.conn)).collect()).unwrap_or_default();
        for conn in live {
            conn.close();
        }
        if let Ok(mut s) = self.sessions.try_borrow_mut() {
            s.clear();
        }
        let lingering = self.lingering.try_borrow_mut().map(|mut l| core::mem::take(&mut *l)).unwrap_or_default();
        drop(lingering);
        // Breaks the handler -> manager cycle.
        let handler = self.handler.try_borrow_mut().ok().and_then(|mut h| h.take());
        drop(handler);
    }
}
