//! One probe connection in the browser: an `RTCPeerConnection`, its data channel, one timer,
//! and the core [`Probe`] that decides everything. Callbacks hold only a `Weak` to the state,
//! so there is no `Rc` cycle; `Conn` holds the only strong reference, and dropping it closes
//! the peer connection and removes every listener.

#[allow(unused_imports)]
use crate::prelude::*;
use core::cell::RefCell;
use alloc::rc::{Rc, Weak};

use js_sys::{Array, Function, Object};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{
    MessageEvent, RtcDataChannel, RtcDataChannelEvent, RtcPeerConnection, RtcPeerConnectionIceEvent,
};

use super::convert::{self, get, set};
use super::shim::{self, Port};
use super::{emit, now, warn, Handler, Timer};

/// How long a getStats() may take before we go on without it.
pub const STATS_WAIT_MS: u32 = 1000;
use crate::core::stats;
use crate::core::{Input, MeasureSpec, Output, Probe, Report, Role, SdpKind, Signal};

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_name = Number)]
    fn js_number(v: &str) -> f64;
    /// `String.prototype.localeCompare.call(a, b)`, i.e. `a.localeCompare(b)`.
    #[wasm_bindgen(js_namespace = ["String", "prototype", "localeCompare"], js_name = call)]
    fn locale_compare(a: &str, b: &str) -> f64;
}

/// The legacy initiator rule with the browser's own `Number()` and `localeCompare`.
pub fn decide_role(me: &str, peer: &str) -> Option<Role> {
    crate::core::role::decide(me, peer, js_number, locale_compare)
}

/// What a connection tells its owner.
pub enum Notice {
    Connected,
    Closed,
    MeasureDone(Report),
    Done(Report),
}

struct State {
    probe: Probe,
    session: String,
    peer: String,
    socket: JsValue,
    rtc_config: Object,
    pc: Option<RtcPeerConnection>,
    dc: Option<RtcDataChannel>,
    /// Removes the peer connection's / the data channel's event listeners.
    pc_listeners: Option<Function>,
    dc_listeners: Option<Function>,
    timer: Option<Timer>,
    notify: Rc<dyn Fn(Notice)>,
    torn_down: bool,
    /// The one handler for every JS callback of this connection (listeners, promise results,
    /// the timer); `teardown` switches it off, then drops it.
    handler: Option<Handler>,
}

type Shared = Rc<RefCell<State>>;

pub struct Conn {
    shared: Shared,
}

impl Conn {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        session: String,
        peer: String,
        role: Role,
        socket: JsValue,
        rtc_config: Object,
        cfg: crate::core::Config,
        notify: Rc<dyn Fn(Notice)>,
    ) -> Conn {
        let probe = Probe::new(now(), cfg, role);
        let state = State {
            probe,
            session,
            peer,
            socket,
            rtc_config,
            pc: None,
            dc: None,
            pc_listeners: None,
            dc_listeners: None,
            timer: None,
            notify,
            torn_down: false,
            handler: None,
        };
        let conn = Conn { shared: Rc::new(RefCell::new(state)) };
        let weak = Rc::downgrade(&conn.shared);
        let handler = Handler::new(move |tag: JsValue, value: JsValue| {
            if let (Some(rc), Some(tag)) = (weak.upgrade(), tag.as_string()) {
                on_event(&rc, &tag, value);
            }
        });
        if let Ok(mut s) = conn.shared.try_borrow_mut() {
            s.handler = Some(handler);
        }
        // Arm the start timeout the core asked for on creation.
        step(&conn.shared, None);
        conn
    }

    /// `probe_start` / `start()`: a fresh RTCPeerConnection, then the core decides.
    pub fn start(&self) {
        let created = {
            let Ok(s) = self.shared.try_borrow() else { return };
            if s.torn_down || s.pc.is_some() || s.probe.is_started() {
                None
            } else {
                Some(RtcPeerConnection::new_with_configuration(s.rtc_config.unchecked_ref()))
            }
        };
        match created {
            None => step(&self.shared, Some(Input::Start)), // duplicate start: the core warns
            Some(Ok(pc)) => {
                let events = ["icecandidate", "connectionstatechange", "iceconnectionstatechange", "datachannel"];
                // Firefox tears a connection down after a few seconds when nobody listens for
                // iceconnectionstatechange.
                let remove = listen(&self.shared, &pc, &events);
                if let Ok(mut s) = self.shared.try_borrow_mut() {
                    s.pc = Some(pc);
                    s.pc_listeners = remove;
                }
                step(&self.shared, Some(Input::Start));
            }
            Some(Err(e)) => {
                if let Ok(s) = self.shared.try_borrow() {
                    warn(&s.session, "RTCPeerConnection could not be created");
                }
                console_detail(&e);
                step(&self.shared, Some(Input::Start));
                step(&self.shared, Some(Input::LocalFailed));
            }
        }
    }

    pub fn signal(&self, s: Signal) {
        step(&self.shared, Some(Input::Signal(s)));
    }

    /// Logs, under this probe's warning cap, why the shell dropped something.
    pub fn ignored(&self, why: &'static str) {
        step(&self.shared, Some(Input::Ignored(why)));
    }

    pub fn measure(&self, spec: MeasureSpec) {
        step(&self.shared, Some(Input::Measure(spec)));
    }

    pub fn is_ready(&self) -> bool {
        self.shared
            .try_borrow()
            .ok()
            .and_then(|s| s.dc.as_ref().map(is_open))
            .unwrap_or(false)
    }

    pub fn is_closed(&self) -> bool {
        self.shared.try_borrow().map(|s| s.torn_down || s.probe.is_finished()).unwrap_or(true)
    }

    pub fn peer_connection(&self) -> Option<RtcPeerConnection> {
        self.shared.try_borrow().ok().and_then(|s| s.pc.clone())
    }

    /// Ends the probe (reporting `closed` if it had not finished) and releases everything.
    /// Idempotent.
    pub fn close(&self) {
        step(&self.shared, Some(Input::Close));
        teardown(&self.shared);
    }
}

impl Drop for Conn {
    fn drop(&mut self) {
        teardown(&self.shared);
    }
}

/// `obj[key] === value` for a state string. Read as strings rather than through web-sys's enums,
/// whose conversion code (with a panic path for unknown values) costs more than this.
fn is_state(obj: &JsValue, key: &str, value: &str) -> bool {
    get(obj, key).as_string().as_deref() == Some(value)
}

fn is_open(dc: &RtcDataChannel) -> bool {
    is_state(dc, "readyState", "open")
}

fn console_detail(e: &JsValue) {
    super::console_warn2("[p2p-probe]", e);
}

/// Removes listeners and the timer first, then closes the channel and the peer connection.
fn teardown(rc: &Shared) {
    let parts = {
        let Ok(mut s) = rc.try_borrow_mut() else { return };
        if s.torn_down {
            return;
        }
        s.torn_down = true;
        (s.timer.take(), [s.pc_listeners.take(), s.dc_listeners.take()], s.handler.take(), s.dc.take(), s.pc.take())
    };
    let (timer, listeners, handler, dc, pc) = parts;
    drop(timer);
    for remove in listeners.iter().flatten() {
        let _ = remove.call0(&JsValue::NULL);
    }
    // Promises still pending on this connection now report to nobody.
    drop(handler);
    if let Some(dc) = dc {
        dc.close();
    }
    if let Some(pc) = pc {
        pc.close();
    }
}

/// Adds listeners for `events` on `target` that report to this connection's handler; returns
/// the function that removes them.
fn listen(rc: &Shared, target: &JsValue, events: &[&str]) -> Option<Function> {
    let s = rc.try_borrow().ok()?;
    let port = s.handler.as_ref()?.port();
    let list: Array = events.iter().map(|e| JsValue::from_str(e)).collect();
    Some(shim::listen(target, &list, port))
}

/// This connection's port (see `Handler`), unless it is torn down.
fn port_of(rc: &Shared) -> Option<Port> {
    rc.try_borrow().ok()?.handler.as_ref().map(|h| h.port().clone())
}

/// Feeds one input to the core (or none, to flush outputs) and carries out what it asks.
/// The `RefCell` is never borrowed while JS runs, so callbacks may re-enter freely.
fn step(rc: &Shared, input: Option<Input<'_>>) {
    let (outs, notify) = {
        let Ok(mut s) = rc.try_borrow_mut() else { return };
        if s.torn_down {
            return;
        }
        if let Some(input) = input {
            s.probe.handle(now(), input);
        }
        let outs = s.probe.take_outputs();
        (outs, s.notify.clone())
    };
    for o in outs {
        exec(rc, &notify, o);
    }
}

fn weak_step(weak: &Weak<RefCell<State>>, input: Input<'_>) {
    if let Some(rc) = weak.upgrade() {
        step(&rc, Some(input));
    }
}

/// Every JS callback of a connection, by tag (see js/shim.js).
fn on_event(rc: &Shared, tag: &str, v: JsValue) {
    let pc = || rc.try_borrow().ok().and_then(|s| s.pc.clone());
    match tag {
        "icecandidate" => {
            if let Some(c) = v.unchecked_into::<RtcPeerConnectionIceEvent>().candidate() {
                send_signal(rc, "ice-candidate", &c.to_json().into());
            }
        }
        "connectionstatechange" if pc().is_some_and(|pc| is_state(&pc, "connectionState", "failed")) => {
            step(rc, Some(Input::ConnectionFailed));
        }
        "iceconnectionstatechange" if pc().is_some_and(|pc| is_state(&pc, "iceConnectionState", "failed")) => {
            step(rc, Some(Input::ConnectionFailed));
        }
        "datachannel" => {
            let dc = v.unchecked_into::<RtcDataChannelEvent>().channel();
            let has = rc.try_borrow().map(|s| s.dc.is_some()).unwrap_or(true);
            if has {
                if let Ok(s) = rc.try_borrow() {
                    warn(&s.session, "extra data channel from the peer closed");
                }
                dc.close();
            } else {
                attach_channel(rc, dc);
            }
        }
        "open" => step(rc, Some(Input::ChannelOpen)),
        "message" => match v.unchecked_into::<MessageEvent>().data().as_string() {
            Some(text) => step(rc, Some(Input::Message(&text))),
            None => step(rc, Some(Input::Ignored("binary data-channel message ignored"))),
        },
        "close" => step(rc, Some(Input::ChannelClosed)),
        "offer" | "answer" => {
            let sdp = v.as_string().unwrap_or_default();
            send_signal(rc, tag, &convert::description(tag, &sdp).into());
        }
        "local_error" => {
            console_detail(&v);
            step(rc, Some(Input::LocalFailed));
        }
        "remote_ok" => {
            step(rc, Some(Input::RemoteApplied { ok: true }));
            if v.as_string().as_deref() == Some("offer") {
                if let (Some(pc), Some(port)) = (pc(), port_of(rc)) {
                    shim::describe_local(&pc, "answer", &port);
                }
            }
        }
        "remote_error" => {
            console_detail(&v);
            step(rc, Some(Input::RemoteApplied { ok: false }));
        }
        "candidate_error" => {
            if let Ok(s) = rc.try_borrow() {
                warn(&s.session, "ICE candidate rejected by the browser");
            }
        }
        "stats" => {
            let entries = (!v.is_null()).then(|| convert::stat_entries(&v));
            step(rc, Some(Input::Stats(entries.as_deref())));
        }
        "timer" => step(rc, Some(Input::Timer)),
        _ => {}
    }
}

fn exec(rc: &Shared, notify: &Rc<dyn Fn(Notice)>, o: Output) {
    let (pc, dc, session, port) = match rc.try_borrow() {
        Ok(s) if !s.torn_down => match &s.handler {
            Some(h) => (s.pc.clone(), s.dc.clone(), s.session.clone(), h.port().clone()),
            None => return,
        },
        _ => return,
    };
    match o {
        Output::CreateOffer => {
            let Some(pc) = pc else { return };
            let init = Object::new();
            set(&init, "ordered", &JsValue::FALSE);
            set(&init, "maxRetransmits", &JsValue::from_f64(0.0));
            let dc = pc.create_data_channel_with_data_channel_dict("game", init.unchecked_ref());
            attach_channel(rc, dc);
            shim::describe_local(&pc, "offer", &port);
        }
        Output::ApplyRemote(kind, sdp) => {
            let Some(pc) = pc else { return };
            let kind_str = if kind == SdpKind::Offer { "offer" } else { "answer" };
            shim::apply_remote(&pc, &convert::description(kind_str, &sdp), &port);
        }
        Output::AddCandidate(c) => {
            let Some(pc) = pc else { return };
            shim::add_candidate(&pc, &convert::candidate_init(&c), &port);
        }
        Output::Send(text) => {
            if let Some(dc) = dc {
                if is_open(&dc) && dc.send_with_str(&text).is_err() {
                    warn(&session, "data channel send failed");
                }
            }
        }
        Output::GetStats => {
            let Some(pc) = pc else {
                step(rc, Some(Input::Stats(None)));
                return;
            };
            shim::stats(&pc, STATS_WAIT_MS, &port);
        }
        Output::Timer(at) => {
            let timer = at.map(|at| {
                let ms = convert::ceil_u32(at - now());
                Timer::new(ms, "timer", &JsValue::UNDEFINED, &port)
            });
            // Replacing the old timer drops it, which clears it.
            if let Ok(mut s) = rc.try_borrow_mut() {
                s.timer = timer;
            }
        }
        Output::Connected => notify(Notice::Connected),
        Output::Closed => notify(Notice::Closed),
        Output::MeasureDone(r) => notify(Notice::MeasureDone(r)),
        Output::Done(r) => notify(Notice::Done(r)),
        Output::Warn(why) => warn(&session, why),
    }
}

fn send_signal(rc: &Shared, kind: &str, payload: &JsValue) {
    let (socket, session, peer) = match rc.try_borrow() {
        Ok(s) if !s.torn_down => (s.socket.clone(), s.session.clone(), s.peer.clone()),
        _ => return,
    };
    let msg = Object::new();
    set(&msg, "probe_session_id", &JsValue::from_str(&session));
    set(&msg, "target_subject_id", &JsValue::from_str(&peer));
    set(&msg, "type", &JsValue::from_str(kind));
    set(&msg, "payload", payload);
    let err = emit(&socket, "probe_signal", &msg);
    if !err.is_null() {
        warn(&session, "socket.emit(probe_signal) threw");
    }
}

fn attach_channel(rc: &Shared, dc: RtcDataChannel) {
    set(dc.unchecked_ref(), "binaryType", &JsValue::from_str("arraybuffer"));
    let remove = listen(rc, &dc, &["open", "message", "close"]);
    let already_open = is_open(&dc);
    if let Ok(mut s) = rc.try_borrow_mut() {
        s.dc = Some(dc);
        s.dc_listeners = remove;
    }
    if already_open {
        step(rc, Some(Input::ChannelOpen));
    }
}

/// `getRTT()`: the selected pair's transport RTT in ms, from an RTCStatsReport.
pub fn stats_rtt(report: &JsValue) -> Option<f64> {
    let entries = convert::stat_entries(report);
    let pair = stats::select_pair(&entries)?;
    stats::rtt_ms(&pair, None)
}

/// A non-owning handle, for socket handlers that must not keep a connection alive.
#[derive(Clone)]
pub struct WeakConn(Weak<RefCell<State>>);

impl Conn {
    pub fn downgrade(&self) -> WeakConn {
        WeakConn(Rc::downgrade(&self.shared))
    }
}

impl WeakConn {
    pub fn signal(&self, s: Signal) {
        weak_step(&self.0, Input::Signal(s));
    }

    pub fn ignored(&self, why: &'static str) {
        weak_step(&self.0, Input::Ignored(why));
    }
}
