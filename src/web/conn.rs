//! One probe connection in the browser: an `RTCPeerConnection`, its data channel, one timer,
//! and the core [`Probe`] that decides everything. Callbacks hold only a `Weak` to the state,
//! so there is no `Rc` cycle; `Conn` holds the only strong reference, and dropping it closes
//! the peer connection and removes every listener.

use std::cell::RefCell;
use std::rc::{Rc, Weak};

use gloo_timers::callback::Timeout;
use js_sys::Object;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::{spawn_local, JsFuture};
use web_sys::{
    EventTarget, MessageEvent, RtcDataChannel, RtcDataChannelEvent, RtcDataChannelState, RtcDataChannelType,
    RtcIceConnectionState, RtcPeerConnection, RtcPeerConnectionIceEvent, RtcPeerConnectionState,
};

use super::convert::{self, set};
use super::{emit, get_stats_within, now, warn};

/// How long a getStats() may take before we go on without it.
const STATS_WAIT_MS: u32 = 1000;
use crate::core::stats::{self, StatEntry};
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

/// An event listener that removes itself when dropped (the gloo-events pattern).
struct Listener {
    target: EventTarget,
    kind: &'static str,
    callback: Closure<dyn FnMut(JsValue)>,
}

impl Listener {
    fn new(target: &EventTarget, kind: &'static str, f: impl FnMut(JsValue) + 'static) -> Listener {
        let callback = Closure::<dyn FnMut(JsValue)>::new(f);
        let _ = target.add_event_listener_with_callback(kind, callback.as_ref().unchecked_ref());
        Listener { target: target.clone(), kind, callback }
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        let _ = self.target.remove_event_listener_with_callback(self.kind, self.callback.as_ref().unchecked_ref());
    }
}

struct State {
    probe: Probe,
    session: String,
    peer: String,
    socket: JsValue,
    rtc_config: Object,
    pc: Option<RtcPeerConnection>,
    dc: Option<RtcDataChannel>,
    pc_listeners: Vec<Listener>,
    dc_listeners: Vec<Listener>,
    timer: Option<Timeout>,
    notify: Rc<dyn Fn(Notice)>,
    torn_down: bool,
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
            pc_listeners: Vec::new(),
            dc_listeners: Vec::new(),
            timer: None,
            notify,
            torn_down: false,
        };
        let conn = Conn { shared: Rc::new(RefCell::new(state)) };
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
                let listeners = pc_listeners(&self.shared, &pc);
                if let Ok(mut s) = self.shared.try_borrow_mut() {
                    s.pc = Some(pc);
                    s.pc_listeners = listeners;
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
            .and_then(|s| s.dc.as_ref().map(|dc| dc.ready_state() == RtcDataChannelState::Open))
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
        let mut listeners = std::mem::take(&mut s.pc_listeners);
        listeners.append(&mut s.dc_listeners);
        (s.timer.take(), listeners, s.dc.take(), s.pc.take())
    };
    let (timer, listeners, dc, pc) = parts;
    drop(timer);
    drop(listeners);
    if let Some(dc) = dc {
        dc.close();
    }
    if let Some(pc) = pc {
        pc.close();
    }
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
        let outs: Vec<Output> = std::iter::from_fn(|| s.probe.poll_output()).collect();
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

fn exec(rc: &Shared, notify: &Rc<dyn Fn(Notice)>, o: Output) {
    let (pc, dc, session) = match rc.try_borrow() {
        Ok(s) if !s.torn_down => (s.pc.clone(), s.dc.clone(), s.session.clone()),
        _ => return,
    };
    let weak = Rc::downgrade(rc);
    match o {
        Output::CreateOffer => {
            let Some(pc) = pc else { return };
            let init = Object::new();
            set(&init, "ordered", &JsValue::FALSE);
            set(&init, "maxRetransmits", &JsValue::from_f64(0.0));
            let dc = pc.create_data_channel_with_data_channel_dict("game", init.unchecked_ref());
            attach_channel(rc, dc);
            spawn_local(async move {
                let res = async {
                    let offer = JsFuture::from(pc.create_offer()).await?;
                    JsFuture::from(pc.set_local_description(offer.unchecked_ref())).await?;
                    Ok::<_, JsValue>(())
                }
                .await;
                on_local_description(&weak, &pc, "offer", res);
            });
        }
        Output::ApplyRemote(kind, sdp) => {
            let Some(pc) = pc else { return };
            let kind_str = if kind == SdpKind::Offer { "offer" } else { "answer" };
            let desc = convert::description(kind_str, &sdp);
            spawn_local(async move {
                let applied = JsFuture::from(pc.set_remote_description(desc.unchecked_ref())).await;
                if let Err(e) = &applied {
                    console_detail(e);
                }
                weak_step(&weak, Input::RemoteApplied { ok: applied.is_ok() });
                if applied.is_err() || kind != SdpKind::Offer {
                    return;
                }
                let res = async {
                    let answer = JsFuture::from(pc.create_answer()).await?;
                    JsFuture::from(pc.set_local_description(answer.unchecked_ref())).await?;
                    Ok::<_, JsValue>(())
                }
                .await;
                on_local_description(&weak, &pc, "answer", res);
            });
        }
        Output::AddCandidate(c) => {
            let Some(pc) = pc else { return };
            let init = convert::candidate_init(&c);
            let promise = pc.add_ice_candidate_with_opt_rtc_ice_candidate_init(Some(init.unchecked_ref()));
            spawn_local(async move {
                if JsFuture::from(promise).await.is_err() {
                    warn(&session, "ICE candidate rejected by the browser");
                }
            });
        }
        Output::Send(text) => {
            if let Some(dc) = dc {
                if dc.ready_state() == RtcDataChannelState::Open && dc.send_with_str(&text).is_err() {
                    warn(&session, "data channel send failed");
                }
            }
        }
        Output::GetStats => {
            let Some(pc) = pc else {
                step(rc, Some(Input::Stats(None)));
                return;
            };
            spawn_local(async move {
                let entries: Option<Vec<StatEntry>> = JsFuture::from(get_stats_within(&pc, STATS_WAIT_MS))
                    .await
                    .ok()
                    .filter(|r| !r.is_null())
                    .map(|r| convert::stat_entries(&r));
                weak_step(&weak, Input::Stats(entries.as_deref()));
            });
        }
        Output::Timer(at) => {
            let timer = at.map(|at| {
                let ms = (at - now()).max(0.0).ceil().min(f64::from(u32::MAX)) as u32;
                Timeout::new(ms, move || weak_step(&weak, Input::Timer))
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

fn on_local_description(weak: &Weak<RefCell<State>>, pc: &RtcPeerConnection, kind: &str, res: Result<(), JsValue>) {
    let Some(rc) = weak.upgrade() else { return };
    match res {
        Ok(()) => {
            let sdp = pc.local_description().map(|d| d.sdp()).unwrap_or_default();
            send_signal(&rc, kind, &convert::description(kind, &sdp).into());
        }
        Err(e) => {
            console_detail(&e);
            step(&rc, Some(Input::LocalFailed));
        }
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

fn pc_listeners(rc: &Shared, pc: &RtcPeerConnection) -> Vec<Listener> {
    let target: &EventTarget = pc.as_ref();
    let w = Rc::downgrade(rc);
    let ice = Listener::new(target, "icecandidate", {
        let w = w.clone();
        move |ev: JsValue| {
            let Some(rc) = w.upgrade() else { return };
            let ev: RtcPeerConnectionIceEvent = ev.unchecked_into();
            if let Some(c) = ev.candidate() {
                send_signal(&rc, "ice-candidate", &c.to_json().into());
            }
        }
    });
    let pc1 = pc.clone();
    let state = Listener::new(target, "connectionstatechange", {
        let w = w.clone();
        move |_| {
            if pc1.connection_state() == RtcPeerConnectionState::Failed {
                weak_step(&w, Input::ConnectionFailed);
            }
        }
    });
    // Firefox tears a connection down after a few seconds when nobody listens for this.
    let pc2 = pc.clone();
    let ice_state = Listener::new(target, "iceconnectionstatechange", {
        let w = w.clone();
        move |_| {
            if pc2.ice_connection_state() == RtcIceConnectionState::Failed {
                weak_step(&w, Input::ConnectionFailed);
            }
        }
    });
    let channel = Listener::new(target, "datachannel", move |ev: JsValue| {
        let Some(rc) = w.upgrade() else { return };
        let ev: RtcDataChannelEvent = ev.unchecked_into();
        let dc = ev.channel();
        let has = rc.try_borrow().map(|s| s.dc.is_some()).unwrap_or(true);
        if has {
            if let Ok(s) = rc.try_borrow() {
                warn(&s.session, "extra data channel from the peer closed");
            }
            dc.close();
        } else {
            attach_channel(&rc, dc);
        }
    });
    vec![ice, state, ice_state, channel]
}

fn attach_channel(rc: &Shared, dc: RtcDataChannel) {
    dc.set_binary_type(RtcDataChannelType::Arraybuffer);
    let target: &EventTarget = dc.as_ref();
    let w = Rc::downgrade(rc);
    let open = Listener::new(target, "open", {
        let w = w.clone();
        move |_| weak_step(&w, Input::ChannelOpen)
    });
    let message = Listener::new(target, "message", {
        let w = w.clone();
        move |ev: JsValue| {
            let data = ev.unchecked_into::<MessageEvent>().data();
            match data.as_string() {
                Some(text) => weak_step(&w, Input::Message(&text)),
                None => weak_step(&w, Input::Ignored("binary data-channel message ignored")),
            }
        }
    });
    let close = Listener::new(target, "close", move |_| weak_step(&w, Input::ChannelClosed));
    let already_open = dc.ready_state() == RtcDataChannelState::Open;
    if let Ok(mut s) = rc.try_borrow_mut() {
        s.dc = Some(dc);
        s.dc_listeners = vec![open, message, close];
    }
    if already_open {
        step(rc, Some(Input::ChannelOpen));
    }
}

/// `getRTT()`: the selected pair's transport RTT right now, in ms.
pub async fn stats_rtt(pc: RtcPeerConnection) -> Option<f64> {
    let report = JsFuture::from(get_stats_within(&pc, STATS_WAIT_MS)).await.ok().filter(|r| !r.is_null())?;
    let entries = convert::stat_entries(&report);
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
