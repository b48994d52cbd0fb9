//! One probe connection in the browser, as a task.
//!
//! `Conn::new` spawns [`drive`] (wasm-bindgen-futures `spawn_local`): the task owns the core
//! [`Probe`], the `RTCPeerConnection`, its data channel, their event listeners (gloo-events:
//! each removes itself on drop), the pending promises of the browser (as `JsFuture`s) and one
//! timer (gloo-timers). Everything reaches it as a typed [`Event`] through a `futures` channel:
//! what the owner asks (`start`, signals, `measureRTT`, `close`), what the browser reports
//! (listeners), and what its promises resolve to. Each turn of the loop:
//!
//! 1. feed one event to the core;
//! 2. carry out every `Output` of the core, one `match` arm each;
//! 3. re-arm the one-shot timer from the core's current deadline (`core::timer::OneShot`);
//! 4. wait for whichever comes first: an event, a promise, the timer, the linger.
//!
//! Following one probe from `probe_start` to `probe_result`: `Event::Start` creates the peer
//! connection and gives the core `Input::Start`; the initiator's core asks `CreateOffer`
//! (data channel + an offer promise whose SDP goes out as `probe_signal`), the answerer's core
//! asks `ApplyRemote` for the offer (then an answer promise); candidates flow both ways;
//! `ChannelOpen` starts the ping series; the core's `Done` goes to the owner (`Notice::Done`),
//! which sends `probe_result`. The task then lingers while the channel is open (answering the
//! peer's pings) for up to `LINGER_MS`, and ends: listeners removed, channel and peer
//! connection closed, `Notice::Ended`.
//!
//! The probe state is owned by the task alone, so nothing can re-enter it: a page callback
//! that calls back (`onConnected` -> `measureRTT()`) only queues an event for the next turn.

#[allow(unused_imports)]
use crate::prelude::*;
use alloc::rc::Rc;
use core::cell::Cell;

use futures::channel::{mpsc, oneshot};
use futures::future::LocalBoxFuture;
use futures::stream::FuturesUnordered;
use futures::{select, select_biased, FutureExt, StreamExt};
use gloo_events::EventListener;
use gloo_timers::future::TimeoutFuture;
use js_sys::Object;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    MessageEvent, RtcDataChannel, RtcDataChannelEvent, RtcDataChannelInit, RtcDataChannelState, RtcDataChannelType,
    RtcIceCandidate, RtcIceCandidateInit, RtcIceConnectionState, RtcPeerConnection, RtcPeerConnectionIceEvent,
    RtcPeerConnectionState, RtcSdpType, RtcSessionDescriptionInit, RtcStatsReport,
};

use super::convert::{self, get, set};
use super::{emit, now, warn};
use crate::core::stats::{self, StatEntry};
use crate::core::{
    Arm, Candidate, Config, Input, MeasureSpec, OneShot, Output, Probe, Report, Role, SdpKind, Signal, Stage, Transport,
};

/// How long a getStats() may take before we go on without it (Firefox never settles one that
/// was pending when its peer connection closed).
pub const STATS_WAIT_MS: u32 = 1000;
/// After its result, a connection stays open this long after the peer's last message (or until
/// the peer closes it) so the peer's own ping series, which may still be running, gets its
/// pongs; `LINGER_CAP_MS` after the result at most.
pub const LINGER_MS: u32 = 1000;
pub const LINGER_CAP_MS: f64 = 3000.0;

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

/// What `getRTT()` and `measureRTT()` settle with: an RTT in ms (or none), or the reason to
/// reject with (an aborted `measureRTT()`). One type for both: one channel in the wasm.
pub type Reply = Result<Option<f64>, JsValue>;

/// What a connection tells its owner.
pub enum Notice {
    Connected,
    Closed,
    MeasureDone(Report),
    Done(Report),
    /// The probe reached a phase (`onProgress`).
    Progress(Stage),
    /// The task has ended: everything is released.
    Ended,
}

/// Everything the task reacts to.
enum Event {
    // --- from the owner
    Start,
    Signal(Signal),
    Ignored(&'static str),
    Measure(MeasureSpec),
    /// `getRTT()`: the selected pair's RTT, answered on the sender.
    StatsRtt(oneshot::Sender<Reply>),
    /// End the probe; `linger`: keep an open channel a while to answer the peer's pings.
    Close {
        linger: bool,
    },
    /// `manager.cancel()`: end the probe with `cancelled` and release everything at once.
    Cancel,
    /// An aborted `measureRTT()`: drop its series.
    AbortMeasure,
    // --- from the browser's listeners
    IceCandidate(Option<RtcIceCandidate>),
    /// `iceconnectionstatechange` / `connectionstatechange`, with the new state and the time,
    /// both read when the browser fired it.
    StateChange(StateStep),
    DataChannel(RtcDataChannel),
    ChannelOpen,
    Message(JsValue),
    ChannelClosed,
    // --- what the browser's promises resolved to
    LocalDescription(SdpKind, Result<String, JsValue>),
    RemoteApplied(SdpKind, Result<(), JsValue>),
    CandidateAdded(Result<(), JsValue>),
    Stats(Option<Vec<StatEntry>>),
    /// A `StatsRtt` request has been answered.
    Replied,
    // --- the task's own timers
    Timer,
    LingerOver,
}

/// A connection state as the browser reported it, and when.
enum StateStep {
    Ice(RtcIceConnectionState, f64),
    Conn(RtcPeerConnectionState, f64),
    /// The `RTCDtlsTransport` under the data channel (`pc.sctp.transport`) became `connected`.
    DtlsConnected(f64),
    Unknown,
}

fn state_step(pc: &RtcPeerConnection, ice: bool) -> StateStep {
    if ice {
        StateStep::Ice(pc.ice_connection_state(), now())
    } else {
        StateStep::Conn(pc.connection_state(), now())
    }
}

/// What the owner can read without waiting for the task.
#[derive(Default)]
pub struct Status {
    channel_open: Cell<bool>,
    finished: Cell<bool>,
}

/// The owner's handle. Dropping it closes the probe (lingering if its channel is open); the
/// task then ends by itself.
pub struct Conn {
    tx: mpsc::UnboundedSender<Event>,
    status: Rc<Status>,
}

impl Conn {
    pub fn new(
        session: String,
        peer: String,
        role: Role,
        socket: JsValue,
        rtc_config: Object,
        cfg: Config,
        notify: Rc<dyn Fn(Notice)>,
    ) -> Conn {
        let (tx, rx) = mpsc::unbounded();
        let status = Rc::new(Status::default());
        let driver = Driver {
            probe: Probe::new(now(), cfg, role),
            session,
            peer,
            socket,
            rtc_config,
            tx: tx.clone(),
            pc: None,
            dc: None,
            pc_listeners: Vec::new(),
            dc_listeners: Vec::new(),
            ops: FuturesUnordered::new(),
            one_shot: OneShot::new(),
            timer: futures::future::Fuse::terminated(),
            linger: futures::future::Fuse::terminated(),
            lingering_since: None,
            linger_allowed: true,
            ended: false,
            dtls_watched: false,
            status: Rc::clone(&status),
            notify,
        };
        wasm_bindgen_futures::spawn_local(drive(driver, rx));
        Conn { tx, status }
    }

    fn send(&self, ev: Event) {
        // An error means the task has ended: nothing is left to act on the event.
        let _ = self.tx.unbounded_send(ev);
    }

    /// A handle that only feeds server events to this connection (for a socket handler): it
    /// does not close the probe when dropped.
    pub fn sink(&self) -> Sink {
        Sink(self.tx.clone())
    }

    /// `probe_start` / `start()`: a fresh RTCPeerConnection, then the core decides.
    pub fn start(&self) {
        self.send(Event::Start);
    }

    pub fn measure(&self, spec: MeasureSpec) {
        self.send(Event::Measure(spec));
    }

    /// The selected pair's transport RTT in ms, read with a fresh getStats.
    pub fn stats_rtt(&self) -> oneshot::Receiver<Reply> {
        let (reply, rx) = oneshot::channel();
        self.send(Event::StatsRtt(reply));
        rx
    }

    pub fn is_ready(&self) -> bool {
        self.status.channel_open.get()
    }

    pub fn is_closed(&self) -> bool {
        self.status.finished.get() || self.tx.is_closed()
    }

    /// Ends the probe (reporting `closed` if it had not finished) and releases everything;
    /// with `linger`, an open channel first stays up to `LINGER_MS` to answer the peer's pings
    /// (until the peer closes it). Idempotent.
    pub fn close(&self, linger: bool) {
        self.status.finished.set(true);
        self.status.channel_open.set(false);
        self.send(Event::Close { linger });
    }

    /// Ends the probe with `cancelled` (reported once, like any end) and releases everything
    /// without lingering. Idempotent; a finished probe just ends.
    pub fn cancel(&self) {
        self.status.finished.set(true);
        self.status.channel_open.set(false);
        self.send(Event::Cancel);
    }
}

/// See [`Conn::sink`].
pub struct Sink(mpsc::UnboundedSender<Event>);

impl Sink {
    pub fn start(&self) {
        let _ = self.0.unbounded_send(Event::Start);
    }

    pub fn signal(&self, s: Signal) {
        let _ = self.0.unbounded_send(Event::Signal(s));
    }

    pub fn ignored(&self, why: &'static str) {
        let _ = self.0.unbounded_send(Event::Ignored(why));
    }

    pub fn abort_measure(&self) {
        let _ = self.0.unbounded_send(Event::AbortMeasure);
    }
}

impl Drop for Conn {
    fn drop(&mut self) {
        self.send(Event::Close { linger: true });
    }
}

/// The task's state: the core and every browser object of this probe.
struct Driver {
    probe: Probe,
    session: String,
    peer: String,
    socket: JsValue,
    rtc_config: Object,
    /// For the listeners: they report into the task's own channel.
    tx: mpsc::UnboundedSender<Event>,
    pc: Option<RtcPeerConnection>,
    dc: Option<RtcDataChannel>,
    pc_listeners: Vec<EventListener>,
    dc_listeners: Vec<EventListener>,
    /// The browser's pending promises, each ending in an `Event`.
    ops: FuturesUnordered<LocalBoxFuture<'static, Event>>,
    one_shot: OneShot,
    timer: futures::future::Fuse<TimeoutFuture>,
    linger: futures::future::Fuse<TimeoutFuture>,
    /// When the probe finished with its channel open and the lingering began.
    lingering_since: Option<f64>,
    linger_allowed: bool,
    ended: bool,
    /// A listener on the DTLS transport is in place (see `watch_dtls`).
    dtls_watched: bool,
    status: Rc<Status>,
    notify: Rc<dyn Fn(Notice)>,
}

async fn drive(mut d: Driver, mut rx: mpsc::UnboundedReceiver<Event>) {
    loop {
        d.carry_out();
        d.after_turn();
        if d.ended {
            break;
        }
        // biased, in this order: what has already arrived (a pong, a promise's result) goes to
        // the core before a timer that came due at the same time
        let ev = select_biased! {
            ev = rx.next() => ev.unwrap_or(Event::Close { linger: false }),
            ev = d.ops.select_next_some() => ev,
            () = &mut d.timer => Event::Timer,
            () = &mut d.linger => Event::LingerOver,
        };
        d.handle(ev);
    }
    d.teardown();
    (d.notify)(Notice::Ended);
}

impl Driver {
    fn handle(&mut self, ev: Event) {
        let now = now();
        match ev {
            Event::Start => self.start(now),
            Event::Signal(s) => self.probe.handle(now, Input::Signal(s)),
            Event::Ignored(why) => self.probe.handle(now, Input::Ignored(why)),
            Event::Measure(spec) => self.probe.handle(now, Input::Measure(spec)),
            Event::StatsRtt(reply) => match self.pc.clone() {
                Some(pc) => self.ops.push(
                    async move {
                        let rtt = get_stats(pc)
                            .await
                            .and_then(|e| stats::select_pair(&e))
                            .and_then(|p| stats::rtt_ms(&p, None));
                        let _ = reply.send(Ok(rtt));
                        Event::Replied
                    }
                    .boxed_local(),
                ),
                None => {
                    let _ = reply.send(Ok(None));
                }
            },
            Event::Close { linger } => {
                self.linger_allowed &= linger;
                self.probe.handle(now, Input::Close);
            }
            Event::Cancel => {
                self.linger_allowed = false;
                self.probe.handle(now, Input::Cancel);
            }
            Event::AbortMeasure => self.probe.handle(now, Input::AbortMeasure),
            Event::IceCandidate(c) => {
                // `null` is the end of our candidates: the peer learns nothing from it
                if let Some(c) = c {
                    self.send_signal("ice-candidate", &c.to_json().into());
                }
            }
            Event::StateChange(step) => {
                let failed = self.pc.as_ref().is_some_and(|pc| {
                    pc.connection_state() == RtcPeerConnectionState::Failed
                        || pc.ice_connection_state() == RtcIceConnectionState::Failed
                });
                if failed {
                    self.probe.handle(now, Input::ConnectionFailed);
                    return;
                }
                // the steps of `setup`, timed when the browser fired them (the core keeps the
                // first report of each)
                match step {
                    StateStep::Ice(RtcIceConnectionState::Connected | RtcIceConnectionState::Completed, at) => {
                        self.probe.handle(at, Input::Transport(Transport::IceConnected));
                    }
                    StateStep::Conn(RtcPeerConnectionState::Connected, at) | StateStep::DtlsConnected(at) => {
                        self.probe.handle(at, Input::Transport(Transport::Connected));
                    }
                    _ => {}
                }
            }
            Event::DataChannel(dc) => {
                if self.dc.is_some() {
                    warn(&self.session, "extra data channel from the peer closed");
                    dc.close();
                } else {
                    self.attach_channel(dc);
                }
            }
            Event::ChannelOpen => self.probe.handle(now, Input::ChannelOpen),
            Event::Message(data) => {
                match data.as_string() {
                    Some(text) => self.probe.handle(now, Input::Message(&text)),
                    None => self.probe.handle(now, Input::Ignored("binary data-channel message ignored")),
                }
                // the peer is still talking: a lingering connection waits for it a while longer
                if self.lingering_since.is_some_and(|t| now - t < LINGER_CAP_MS) {
                    self.linger = TimeoutFuture::new(LINGER_MS).fuse();
                }
            }
            Event::ChannelClosed => self.probe.handle(now, Input::ChannelClosed),
            Event::LocalDescription(kind, Ok(sdp)) => {
                self.watch_dtls();
                let desc = convert::description(kind_str(kind), &sdp);
                self.send_signal(kind_str(kind), &desc.into());
            }
            Event::LocalDescription(_, Err(e)) => {
                console_detail(&e);
                self.probe.handle(now, Input::LocalFailed);
            }
            Event::RemoteApplied(kind, result) => {
                if let Err(e) = &result {
                    console_detail(e);
                }
                let ok = result.is_ok();
                if ok {
                    self.watch_dtls();
                }
                self.probe.handle(now, Input::RemoteApplied { ok });
                if ok && kind == SdpKind::Offer {
                    self.describe_local(SdpKind::Answer);
                }
            }
            Event::CandidateAdded(Ok(())) | Event::Replied => {}
            Event::CandidateAdded(Err(_)) => warn(&self.session, "ICE candidate rejected by the browser"),
            Event::Stats(entries) => self.probe.handle(now, Input::Stats(entries.as_deref())),
            Event::Timer => {
                // the browser timer is one-shot: it is spent, whatever the core makes of it
                self.one_shot.fired();
                self.probe.handle(now, Input::Timer);
            }
            Event::LingerOver => self.linger_allowed = false,
        }
    }

    /// Every output of the core, in order.
    fn carry_out(&mut self) {
        // until none is left: an input fed while carrying out (getStats without a peer
        // connection) has outputs of its own
        loop {
            let outs = self.probe.take_outputs();
            if outs.is_empty() {
                return;
            }
            // the owner's callbacks below may ask about us (`measureRTT()` from `onClosed`)
            if self.probe.is_finished() {
                self.status.finished.set(true);
            }
            for out in outs {
                self.carry_out_one(out);
            }
        }
    }

    fn carry_out_one(&mut self, out: Output) {
        match out {
            Output::CreateOffer => self.create_offer(),
            Output::ApplyRemote(kind, sdp) => self.apply_remote(kind, &sdp),
            Output::AddCandidate(c) => self.add_candidate(&c),
            Output::Send(text) => self.send(&text),
            Output::GetStats => match self.pc.clone() {
                Some(pc) => self.ops.push(get_stats(pc).map(Event::Stats).boxed_local()),
                None => self.probe.handle(now(), Input::Stats(None)),
            },
            Output::Connected => {
                self.status.channel_open.set(true);
                (self.notify)(Notice::Connected);
            }
            Output::Closed => {
                self.status.channel_open.set(false);
                (self.notify)(Notice::Closed);
            }
            Output::Warn(why) => warn(&self.session, why),
            Output::MeasureDone(r) => (self.notify)(Notice::MeasureDone(r)),
            Output::Progress(stage) => (self.notify)(Notice::Progress(stage)),
            Output::Done(r) => {
                self.status.finished.set(true);
                (self.notify)(Notice::Done(r));
            }
        }
    }

    /// After each turn: the timer from the core's deadline, and whether the task goes on.
    fn after_turn(&mut self) {
        match self.one_shot.sync(self.probe.deadline()) {
            Arm::Keep => {}
            // Replacing the timer drops the old one, which clears it.
            Arm::Clear => self.timer = futures::future::Fuse::terminated(),
            Arm::Set(at) => self.timer = TimeoutFuture::new(timer_ms(at - now())).fuse(),
        }
        let open = self.probe.is_channel_open()
            && self.dc.as_ref().is_some_and(|dc| dc.ready_state() == RtcDataChannelState::Open);
        self.status.channel_open.set(open && !self.status.finished.get());
        if self.probe.is_finished() {
            self.status.finished.set(true);
            if !(self.linger_allowed && open) {
                self.ended = true;
            } else if self.lingering_since.is_none() {
                self.lingering_since = Some(now());
                self.linger = TimeoutFuture::new(LINGER_MS).fuse();
            }
        }
    }

    fn start(&mut self, now: f64) {
        if self.pc.is_none() && !self.probe.is_started() {
            match RtcPeerConnection::new_with_configuration(self.rtc_config.unchecked_ref()) {
                Ok(pc) => {
                    let tx = self.tx.clone();
                    self.pc_listeners.push(listen(&pc, "icecandidate", tx.clone(), |e| {
                        Event::IceCandidate(
                            e.dyn_ref::<RtcPeerConnectionIceEvent>().and_then(RtcPeerConnectionIceEvent::candidate),
                        )
                    }));
                    let at = pc.clone();
                    self.pc_listeners.push(listen(&pc, "connectionstatechange", tx.clone(), move |_| {
                        Event::StateChange(state_step(&at, false))
                    }));
                    // Firefox tears a connection down after a few seconds when nobody listens
                    // for iceconnectionstatechange.
                    let at = pc.clone();
                    self.pc_listeners.push(listen(&pc, "iceconnectionstatechange", tx.clone(), move |_| {
                        Event::StateChange(state_step(&at, true))
                    }));
                    self.pc_listeners.push(listen(&pc, "datachannel", tx, |e| {
                        match e.dyn_ref::<RtcDataChannelEvent>() {
                            Some(e) => Event::DataChannel(e.channel()),
                            None => Event::Ignored("datachannel event without a channel"),
                        }
                    }));
                    self.pc = Some(pc);
                }
                Err(e) => {
                    warn(&self.session, "RTCPeerConnection could not be created");
                    console_detail(&e);
                    self.probe.handle(now, Input::Start);
                    self.probe.handle(now, Input::LocalFailed);
                    return;
                }
            }
        }
        // a duplicate start: the core warns
        self.probe.handle(now, Input::Start);
    }

    /// Listens to the DTLS transport under the data channel (`pc.sctp.transport`, there once a
    /// description with the channel is applied): Chromium fires `connectionstatechange` only
    /// after the channel opened, the DTLS transport's `statechange` before. Not in web-sys:
    /// read by name. Once per connection; the connection state is the fallback.
    fn watch_dtls(&mut self) {
        if self.dtls_watched {
            return;
        }
        let Some(pc) = self.pc.as_ref() else { return };
        let Ok(dtls) = get(&get(pc, "sctp"), "transport").dyn_into::<web_sys::EventTarget>() else { return };
        self.dtls_watched = true;
        self.pc_listeners.push(listen(&dtls, "statechange", self.tx.clone(), |e| {
            let connected = e.target().is_some_and(|t| get(&t, "state").as_string().as_deref() == Some("connected"));
            Event::StateChange(if connected { StateStep::DtlsConnected(now()) } else { StateStep::Unknown })
        }));
    }

    fn create_offer(&mut self) {
        let Some(pc) = self.pc.clone() else { return };
        let init = RtcDataChannelInit::new();
        init.set_ordered(false);
        init.set_max_retransmits(0);
        let dc = pc.create_data_channel_with_data_channel_dict("game", &init);
        self.attach_channel(dc);
        self.describe_local(SdpKind::Offer);
    }

    /// createOffer/createAnswer, setLocalDescription, then the SDP as set (reported as
    /// `LocalDescription`).
    fn describe_local(&mut self, kind: SdpKind) {
        let Some(pc) = self.pc.clone() else { return };
        self.ops.push(
            async move {
                let created = match kind {
                    SdpKind::Offer => pc.create_offer(),
                    SdpKind::Answer => pc.create_answer(),
                };
                let result = async {
                    let desc = JsFuture::from(created).await?;
                    JsFuture::from(pc.set_local_description(desc.unchecked_ref())).await?;
                    pc.local_description()
                        .map(|d| d.sdp())
                        .filter(|sdp| !sdp.is_empty())
                        .ok_or_else(|| JsValue::from_str("no local description after setLocalDescription"))
                }
                .await;
                Event::LocalDescription(kind, result)
            }
            .boxed_local(),
        );
    }

    fn apply_remote(&mut self, kind: SdpKind, sdp: &str) {
        let Some(pc) = self.pc.clone() else { return };
        let desc = RtcSessionDescriptionInit::new(match kind {
            SdpKind::Offer => RtcSdpType::Offer,
            SdpKind::Answer => RtcSdpType::Answer,
        });
        desc.set_sdp(sdp);
        let applied = JsFuture::from(pc.set_remote_description(&desc));
        self.ops.push(async move { Event::RemoteApplied(kind, applied.await.map(drop)) }.boxed_local());
    }

    fn add_candidate(&mut self, c: &Candidate) {
        let Some(pc) = self.pc.clone() else { return };
        let init = RtcIceCandidateInit::new(&c.candidate);
        init.set_sdp_mid(c.sdp_mid.as_deref());
        init.set_sdp_m_line_index(c.sdp_m_line_index);
        if let Some(u) = c.username_fragment.as_deref() {
            // not in web-sys's RTCIceCandidateInit
            set(init.unchecked_ref(), "usernameFragment", &JsValue::from_str(u));
        }
        let added = JsFuture::from(pc.add_ice_candidate_with_opt_rtc_ice_candidate_init(Some(&init)));
        self.ops.push(async move { Event::CandidateAdded(added.await.map(drop)) }.boxed_local());
    }

    fn send(&self, text: &str) {
        match self.dc.as_ref().filter(|dc| dc.ready_state() == RtcDataChannelState::Open) {
            Some(dc) => {
                if dc.send_with_str(text).is_err() {
                    warn(&self.session, "data channel send failed");
                }
            }
            None => warn(&self.session, "data channel not open: message not sent"),
        }
    }

    fn attach_channel(&mut self, dc: RtcDataChannel) {
        dc.set_binary_type(RtcDataChannelType::Arraybuffer);
        let tx = self.tx.clone();
        self.dc_listeners.push(listen(&dc, "open", tx.clone(), |_| Event::ChannelOpen));
        self.dc_listeners.push(listen(&dc, "message", tx.clone(), |e| {
            Event::Message(e.dyn_ref::<MessageEvent>().map_or(JsValue::UNDEFINED, MessageEvent::data))
        }));
        self.dc_listeners.push(listen(&dc, "close", tx, |_| Event::ChannelClosed));
        let already_open = dc.ready_state() == RtcDataChannelState::Open;
        self.dc = Some(dc);
        if already_open {
            self.probe.handle(now(), Input::ChannelOpen);
        }
    }

    fn send_signal(&self, kind: &str, payload: &JsValue) {
        let msg = Object::new();
        set(&msg, "probe_session_id", &JsValue::from_str(&self.session));
        set(&msg, "target_subject_id", &JsValue::from_str(&self.peer));
        set(&msg, "type", &JsValue::from_str(kind));
        set(&msg, "payload", payload);
        if emit(&self.socket, "probe_signal", &msg).is_err() {
            warn(&self.session, "socket.emit(probe_signal) threw");
        }
    }

    /// Removes the listeners and the timers, drops the pending promises, then closes the
    /// channel and the peer connection.
    fn teardown(&mut self) {
        self.status.finished.set(true);
        self.status.channel_open.set(false);
        self.pc_listeners.clear();
        self.dc_listeners.clear();
        self.timer = futures::future::Fuse::terminated();
        self.linger = futures::future::Fuse::terminated();
        self.ops.clear();
        if let Some(dc) = self.dc.take() {
            dc.close();
        }
        if let Some(pc) = self.pc.take() {
            pc.close();
        }
    }
}

/// Milliseconds for `setTimeout` (gloo-timers passes an i32): rounded up, within 0..=i32::MAX.
fn timer_ms(ms: f64) -> u32 {
    convert::ceil_u32(ms).min(i32::MAX as u32)
}

fn kind_str(kind: SdpKind) -> &'static str {
    match kind {
        SdpKind::Offer => "offer",
        SdpKind::Answer => "answer",
    }
}

/// An event listener that turns each browser event into an [`Event`] for the task; removed
/// when dropped (gloo-events).
fn listen(
    target: &web_sys::EventTarget,
    event: &'static str,
    tx: mpsc::UnboundedSender<Event>,
    map: impl Fn(&web_sys::Event) -> Event + 'static,
) -> EventListener {
    EventListener::new(target, event, move |e| {
        // An error means the task has ended and its listeners are being dropped.
        let _ = tx.unbounded_send(map(e));
    })
}

/// getStats within `STATS_WAIT_MS`, as the fields the core reads (`None`: failed or too slow).
async fn get_stats(pc: RtcPeerConnection) -> Option<Vec<StatEntry>> {
    let mut report = JsFuture::from(pc.get_stats()).fuse();
    let mut late = TimeoutFuture::new(STATS_WAIT_MS).fuse();
    let report = select! {
        r = report => r.ok()?,
        () = late => return None,
    };
    Some(stat_entries(report.unchecked_ref()))
}

/// The objects of a stats report that the core reads, through the core's one mapping
/// (`StatEntry::read`).
pub fn stat_entries(report: &RtcStatsReport) -> Vec<StatEntry> {
    report.values().into_iter().filter_map(Result::ok).filter_map(|v| StatEntry::read(&JsStat(v))).collect()
}

/// A browser stats object (a plain JS object) as the core's `StatSource`.
struct JsStat(JsValue);

impl stats::StatSource for JsStat {
    fn text(&self, key: &str) -> Option<String> {
        convert::get(&self.0, key).as_string()
    }
    fn number(&self, key: &str) -> Option<f64> {
        convert::get(&self.0, key).as_f64()
    }
    fn flag(&self, key: &str) -> Option<bool> {
        convert::get(&self.0, key).as_bool()
    }
}

fn console_detail(e: &JsValue) {
    super::console_warn2("[p2p-probe]", e);
}
