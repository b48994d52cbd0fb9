//! The per-probe state machine, sans-IO (in the manner of str0m / quinn-proto).
//!
//! Feed it [`Input`]s with the current time (`now`, milliseconds on any monotonic clock; the
//! browser shell passes `performance.now()`) and drain [`Output`]s with [`Probe::poll_output`]
//! after every input. It never reads a clock, never calls the browser, and tolerates early,
//! late, repeated and out-of-order inputs: a spurious `Timer` is a no-op, and anything after the
//! end is ignored.

#[allow(unused_imports)]
use crate::prelude::*;

use super::codec::{self, Chain, Wire};
use super::error::{ProbeError, SignalError, WireError};
use super::estimate::{self, Estimate, Evidence};
use super::role::Role;
use super::series::{self, SeriesStats};
use super::stats::{self, PairSample, StatEntry};

/// Candidates buffered before the remote description is set; more are dropped with a warning.
pub const MAX_BUFFERED_CANDIDATES: usize = 64;
/// Pings of the peer we answer on one connection (the legacy client sends 5).
pub const MAX_ANSWERED_PINGS: u32 = 1024;
/// Most pings one series may send (the `pings` option and `measureRTT({numPings})`).
pub const MAX_PINGS: u32 = 1000;
/// A chained ping leaves at least this long after the one before (ms). On a path of a few ms a
/// chain that sent on every pong would flood both pages (hundreds of pings a second per
/// connection: measured, 8 probes at once on one page over loopback each ran 50–130 chained
/// pings and never settled, the pages busy with their own pings); on a path of 10 ms or more it
/// changes nothing. A ping held after its pong says for how long (`"hold"`, µs), so the
/// answerer's sample (its pong to this ping) still leaves the wait out.
pub const CHAIN_SPACING_MS: f64 = 10.0;
/// A paced chain (see `Mode`): once [`PACE_SAMPLES`] chained samples are in, the next ping
/// may leave this many standard deviations of them (at least their range) plus
/// [`PACE_MARGIN_MS`] after the one before, answered or not, when that is at most the typical
/// round trip divided by [`PACE_GAIN`]. An order-keeping queue holds a packet behind the one
/// before only when they left closer than the spread of one direction's delay (2 J for ±J
/// jitter); the round trips of a ±J link spread with a standard deviation of J·√(2/3), so
/// 3 of them plus 5 ms is 2.45 J + 5. On the ±5-ms link (51 ms) that sends a ping every
/// ~17 ms instead of one per round trip: three times the samples within the same budget.
pub const PACE_SD_FACTOR: f64 = 3.0;
pub const PACE_MARGIN_MS: f64 = 5.0;
pub const PACE_SAMPLES: usize = 4;
pub const PACE_GAIN: f64 = 1.5;
/// During a chained phase (or while listening to the peer's) the series asks for a timer this
/// often (ms) and records how late it fires: the page's responsiveness while its pongs are
/// handled, which the burst's own timers (a few ms long) cannot show. With the page blocked by
/// long tasks 80 % of the time (40-ms blocks) three timers in four fire 10–40 ms late; on an
/// idle page within a few ms. Each side sends its figure to the peer (`"late"`, see the codec).
pub const TICK_MS: f64 = 25.0;
/// Ticks needed before their lateness is a figure.
pub const MIN_TICKS: usize = 4;

/// Warnings one probe may log; then one "suppressed" note and silence.
pub const MAX_WARNINGS: u32 = 16;
/// How long the final getStats may take before the result is sent without it.
pub const STATS_GRACE_MS: f64 = 500.0;
/// A ping is also counted lost, before its timeout, once `LOSS_FACTOR` times the typical
/// answered ping plus `LOSS_SLACK_MS` has passed: on a lossy link a lost ping must not hold
/// the result for the whole timeout.
pub const LOSS_FACTOR: f64 = 4.0;
pub const LOSS_SLACK_MS: f64 = 50.0;
/// The default `measureBudgetMs`: how long after its start a manager probe's series may go on
/// (chained pings, see `Mode`) when its first burst does not pin the RTT down (see
/// [`super::estimate`]). 500 ms keeps a probe on a jittery link within the legacy client's
/// time there (5 pings, each waiting for its pong, 100 ms apart: 400 ms + 5 RTT), and on a clean
/// link it is never used.
pub const MEASURE_BUDGET_MS: f64 = 500.0;
/// Largest `measureBudgetMs` accepted.
pub const MAX_BUDGET_MS: f64 = 60_000.0;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Config {
    pub pings: u32,
    pub ping_interval_ms: f64,
    pub ping_timeout_ms: f64,
    pub connect_timeout_ms: f64,
    /// A prepared session that is not started within this time fails with `not_started`.
    pub start_timeout_ms: Option<f64>,
    /// `true`: measure as soon as the channel opens and end with one `Done` (ProbeManager).
    /// `false`: wait for `Input::Measure` calls (the legacy-compatible `ProbeConnection`).
    pub auto_measure: bool,
    /// Auto mode: the time after the series starts during which chained pings may still be
    /// sent when the first `pings` do not pin the RTT down; 0 sends exactly `pings`.
    pub measure_budget_ms: f64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            pings: 5,
            ping_interval_ms: 2.0,
            ping_timeout_ms: 2000.0,
            connect_timeout_ms: 10_000.0,
            start_timeout_ms: Some(15_000.0),
            auto_measure: true,
            measure_budget_ms: MEASURE_BUDGET_MS,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub candidate: String,
    pub sdp_mid: Option<String>,
    pub sdp_m_line_index: Option<u16>,
    pub username_fragment: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Signal {
    Offer(String),
    Answer(String),
    Candidate(Candidate),
    EndOfCandidates,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SdpKind {
    Offer,
    Answer,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MeasureSpec {
    /// The first burst (exactly this many when `budget_ms` is 0).
    pub pings: u32,
    pub interval_ms: f64,
    pub timeout_ms: f64,
    /// Spaced pings may follow the burst until this long after the series starts (0: none).
    pub budget_ms: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Input<'a> {
    /// `probe_start` (or `start()`).
    Start,
    /// A signal from the expected peer (the shell has checked session and sender).
    Signal(Signal),
    /// The shell's `setRemoteDescription` for the last `ApplyRemote` finished.
    RemoteApplied {
        ok: bool,
    },
    /// A local WebRTC step (createOffer, createAnswer, setLocalDescription) failed.
    LocalFailed,
    ChannelOpen,
    ChannelClosed,
    Message(&'a str),
    /// The peer connection or ICE reported `failed`.
    ConnectionFailed,
    /// A getStats result (`None` when the call failed).
    Stats(Option<&'a [StatEntry]>),
    Timer,
    /// `measureRTT()` in manual mode.
    Measure(MeasureSpec),
    /// The page closed the probe.
    Close,
    /// The shell dropped something for this probe (a binary message, a foreign signal, ...):
    /// log it under this probe's warning cap.
    Ignored(&'static str),
    /// The browser reported a step of the connection (for `setup` and progress).
    Transport(Transport),
    /// The page cancelled this one probe (`manager.cancel()`): it ends with `cancelled`.
    Cancel,
    /// Manual mode: the running `measureRTT()` was aborted (its promise is already settled by
    /// the shell): its series is dropped, the connection stays usable.
    AbortMeasure,
}

/// Connection steps the browser reports, each taken the first time it is seen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// `iceConnectionState` became `connected` (or `completed`).
    IceConnected,
    /// `connectionState` became `connected`: ICE and DTLS are up.
    Connected,
}

/// The phases `onProgress` reports, in order; each at most once per probe (`measuring` once per
/// `measureRTT()` on a `ProbeConnection`). The core emits `Started` to `Measuring`; the shell
/// adds `Prepared` and `Done`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    Prepared,
    Started,
    Connected,
    Open,
    Measuring,
    Done,
}

impl Stage {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Prepared => "prepared",
            Self::Started => "started",
            Self::Connected => "connected",
            Self::Open => "open",
            Self::Measuring => "measuring",
            Self::Done => "done",
        }
    }
}

/// `setup_ms` split at the steps the browser reports: each part runs from the previous step
/// that was reported (probe_start first) to its own; `None` where the browser did not report
/// the step before the data channel opened. With all four they add up to `setup_ms`.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Setup {
    /// probe_start -> the remote description applied.
    pub signaling_ms: Option<f64>,
    /// -> ICE connected.
    pub ice_ms: Option<f64>,
    /// -> the peer connection connected (DTLS up).
    pub dtls_ms: Option<f64>,
    /// -> the data channel open.
    pub channel_ms: Option<f64>,
}

/// A finished measurement, success or failure.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Report {
    pub rtt_ms: Option<f64>,
    /// The estimate behind `rtt_ms`: its interval and source.
    pub estimate: Option<Estimate>,
    /// Samples of the chained phase (ours and the peer's chain), when the series had one.
    pub chained: Option<u32>,
    /// The selected pair's mean STUN RTT over the connection (ms).
    pub transport_ms: Option<f64>,
    pub series: SeriesStats,
    pub stats_rtt_ms: Option<f64>,
    pub pair: Option<PairSample>,
    pub setup_ms: Option<f64>,
    pub setup: Setup,
    /// Our lost pings split by where they were lost, from the `rx` counts in the peer's pongs:
    /// on the way out (the peer never got the ping) and on the way back (it answered, the pong
    /// was lost). `None` when the peer sent no count (a legacy client): never guessed. Pings
    /// with no later pong to tell are in neither.
    pub lost_out: Option<u32>,
    pub lost_back: Option<u32>,
    pub measure_ms: Option<f64>,
    pub error: Option<ProbeError>,
}

impl Report {
    pub fn success(&self) -> bool {
        self.error.is_none() && self.rtt_ms.is_some()
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Output {
    /// Initiator: create the data channel, create and set the offer, send it.
    CreateOffer,
    /// Set the remote description; the answerer then creates, sets and sends its answer.
    ApplyRemote(SdpKind, String),
    AddCandidate(Candidate),
    /// Send a text message on the data channel.
    Send(String),
    GetStats,
    /// The data channel is open (`onConnected`).
    Connected,
    /// The data channel closed (manual mode: `onClosed`; auto mode: after `Done`, so the
    /// owner can stop lingering).
    Closed,
    /// An input was ignored; log it.
    Warn(&'static str),
    /// Manual mode: one `measureRTT()` finished.
    MeasureDone(Report),
    /// The probe ended; emitted exactly once (auto mode: the result; manual mode: a failure).
    Done(Report),
    /// The probe reached a phase (`onProgress`).
    Progress(Stage),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Prepared,
    Connecting,
    Open,
    Finished,
}

#[derive(Debug, Clone, Copy)]
struct Ping {
    seq: u64,
    sent_at: f64,
    rtt: Option<f64>,
    lost: bool,
    /// Sent by the initiator before the peer had the channel (see [`Probe::void_early_pings`]):
    /// neither a sample nor a loss, and replaced by another ping.
    void: bool,
    /// The first ping of the series, a chained one, or one sent at least `MIN_SPACING_MS` after
    /// the one before: its sample does not queue behind its neighbours' on a queueing path.
    spaced: bool,
    /// Sent in the chained phase.
    chain: bool,
}

/// What a series does after its first burst of `pings` pings `interval_ms` apart, when that
/// burst did not show a steady path nor pin the RTT down and the budget allows.
///
/// Real queues keep packet order, so pings sent close together wait behind each other's delay
/// (and behind the peer's pings and pongs on the same queues) and read the worst of neighbouring
/// delays: measured on an order-keeping ±20 ms link, 2-ms-spaced pings read +15..+25 ms, and
/// pings 25–40 ms apart from both peers at once still +10..+15. So the second phase keeps **one
/// packet in flight** between the two peers: the initiator sends a ping, and the next one at
/// once on its pong (a chain); each pong is a sample for the initiator, and the time from the
/// answerer's pong to the next chained ping is a sample for the answerer, which sends no pings
/// of its own meanwhile. Against a legacy peer (which never chains), or one whose own burst
/// sufficed, our side chains by itself after waiting `listen_slack` for the peer's chain.
///
/// One packet in flight wastes most of a round trip on a path whose spread is far smaller than
/// its round trip (±5 ms on 51 ms: about 9 samples in the budget). Once the chained samples show
/// that (see [`PACE_SD_FACTOR`]), the chain is **paced**: the next ping leaves that spacing after
/// the one before whether or not its pong is back, still naming the newest pong not yet named
/// (with its `"hold"`), so the answerer keeps taking samples. On the ±20-ms link the spacing is
/// not below the round trip and the chain keeps one packet in flight.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Mode {
    Burst,
    /// `after`: the seq of the last ping whose pong we chained from.
    Chain {
        after: Option<u64>,
    },
    /// The answerer: samples from the peer's chain; if none comes by `fallback_at`, chain.
    Listen {
        fallback_at: f64,
    },
}

impl Measurement {
    /// Pings of the series proper (not void).
    fn counted(&self) -> impl Iterator<Item = &Ping> {
        self.pings.iter().filter(|p| !p.void)
    }

    fn counted_len(&self) -> u64 {
        self.counted().count() as u64
    }

    /// Records a ping sent now (`lag` ms after it was due; NaN: sent on a pong, not by a
    /// timer) and returns its message.
    fn send(&mut self, seq: u64, now: f64, lag: f64, chain: Option<Chain>, hold_ms: f64) -> String {
        let spaced = chain.is_some() || self.pings.last().map_or(true, |p| now - p.sent_at >= estimate::MIN_SPACING_MS);
        self.pings.push(Ping {
            seq,
            sent_at: now,
            rtt: None,
            lost: false,
            void: false,
            spaced,
            chain: chain.is_some(),
        });
        // a ping sent on a pong (NaN) says nothing about our timers
        if self.lags.len() < MAX_PINGS as usize && !lag.is_nan() {
            self.lags.push(lag.max(0.0));
        }
        let hold_us = if hold_ms.is_finite() && hold_ms > 0.0 { (hold_ms * 1000.0).round() as u64 } else { 0 };
        codec::encode_ping_late(seq, if now > 0.0 { now as u64 } else { 0 }, chain, hold_us, self.late_wire())
    }

    /// How late our ticks fire (ms): their upper quartile, from [`MIN_TICKS`] on.
    fn late_ms(&self) -> Option<f64> {
        if self.ticks.len() < MIN_TICKS {
            return None;
        }
        estimate::quantile(&estimate::sorted(&self.ticks), 0.75)
    }

    /// [`Measurement::late_ms`] for the wire: whole ms.
    fn late_wire(&self) -> Option<u64> {
        self.late_ms().map(|l| l.round().clamp(0.0, 60_000.0) as u64)
    }

    /// Whether the series asks for ticks now: in its second phase, while it still sends or listens.
    fn ticking(&self) -> bool {
        self.mode != Mode::Burst && !self.stop_sending && self.finishing_since.is_none()
    }

    /// A timer input at `now`: records a due tick's lateness and schedules the next one.
    fn tick(&mut self, now: f64) {
        match self.next_tick_at {
            Some(t) if now >= t => {
                if self.ticks.len() < MAX_PINGS as usize {
                    self.ticks.push(now - t);
                }
                self.next_tick_at = Some(now + TICK_MS);
            }
            _ => {}
        }
    }

    /// When the chain may send its next ping after the answered last one (see
    /// [`CHAIN_SPACING_MS`]), if that one is answered and not yet followed.
    fn chain_ready_at(&self, after: Option<u64>) -> Option<f64> {
        let last = self.pings.last().filter(|p| p.chain && p.rtt.is_some() && after != Some(p.seq))?;
        Some(last.sent_at + CHAIN_SPACING_MS)
    }

    /// The spacing at which the chain may send its next ping while the last one is still in
    /// flight (a paced chain), when the chained samples so far show that it is shorter than a
    /// round trip: [`PACE_SD_FACTOR`] times their standard deviation, at least their range, plus
    /// [`PACE_MARGIN_MS`] (see [`PACE_SD_FACTOR`]); `None` while fewer than [`PACE_SAMPLES`]
    /// are in, or when it is not below the typical one by [`PACE_GAIN`].
    fn pace_ms(&self) -> Option<f64> {
        let chained: Vec<f64> = self.pings.iter().filter(|p| p.chain && !p.void).filter_map(|p| p.rtt).collect();
        if chained.len() < PACE_SAMPLES {
            return None;
        }
        let s = estimate::sorted(&chained);
        let range = s.last()? - s.first()?;
        let pace = ((PACE_SD_FACTOR * estimate::stdev(&s)?).max(range) + PACE_MARGIN_MS).max(CHAIN_SPACING_MS);
        let typical = estimate::lower_median(&s)?;
        (pace * PACE_GAIN <= typical).then_some(pace)
    }

    /// When a paced chain sends its next ping although the last one is unanswered.
    fn pace_at(&self) -> Option<f64> {
        let last = self.pings.last().filter(|p| p.chain && p.rtt.is_none() && !p.lost)?;
        Some(last.sent_at + self.pace_ms()?)
    }

    /// The newest answered chained ping, if the chain has not sent on its pong yet (`after`).
    fn newest_pong(&self, after: Option<u64>) -> Option<&Ping> {
        self.pings
            .iter()
            .rev()
            .filter(|p| p.chain)
            .find(|p| p.rtt.is_some())
            .filter(|p| after.map_or(true, |a| p.seq > a))
    }

    /// Voids every unanswered ping sent before `before` (neither a sample nor a loss, see
    /// `Ping::void`); whether there was one.
    fn void_unanswered_before(&mut self, before: f64) -> bool {
        let mut any = false;
        for p in self.pings.iter_mut().filter(|p| p.rtt.is_none() && !p.void && p.sent_at < before) {
            p.void = true;
            p.lost = false;
            any = true;
        }
        any
    }

    /// Every round trip of the series: answered pings, then the peer-chain samples.
    fn samples(&self) -> Vec<f64> {
        self.counted().filter_map(|p| p.rtt).chain(self.chain_samples.iter().copied()).collect()
    }

    /// The typical round trip so far: the lower median (late outliers do not move it).
    fn typical(&self) -> Option<f64> {
        estimate::lower_median(&estimate::sorted(&self.samples()))
    }

    /// How long after it left an unanswered ping no longer holds up the series (the chain sends
    /// the next one; the burst stops waiting for it before deciding): 1.5 typical round trips
    /// plus 10 ms. It may still be answered later and count.
    fn overdue_after(&self) -> f64 {
        1.5 * self.typical().unwrap_or(100.0) + 10.0
    }

    /// When the chain sends a new ping although the last one is unanswered (its ping or pong
    /// was lost, or is very late).
    fn resend_at(&self) -> Option<f64> {
        let last = self.pings.last().filter(|p| p.chain && p.rtt.is_none() && !p.lost)?;
        Some(last.sent_at + self.overdue_after())
    }

    /// How long the answerer waits for the peer's chain, and listens past the budget for its
    /// last ping: two typical round trips plus 20 ms.
    fn listen_slack(&self) -> f64 {
        2.0 * self.typical().unwrap_or(50.0) + 20.0
    }

    /// When the answerer, listening, takes over with a chain of its own: no chain from the peer
    /// by `fallback_at` (a legacy client, or its own burst sufficed), or the peer's chain
    /// stopped (its own samples sufficed) for `listen_slack` while ours do not yet.
    fn listen_until(&self, fallback_at: f64) -> f64 {
        if self.chain_heard {
            self.last_chain_at + self.listen_slack()
        } else {
            fallback_at
        }
    }

    /// Every ping of the burst sent, and each answered, lost, or overdue (overdue only counts
    /// when a chained phase may follow: a fixed series waits for its losses).
    fn burst_done(&self, now: f64) -> bool {
        let overdue = if self.spec.budget_ms > 0.0 { self.overdue_after() } else { f64::INFINITY };
        self.counted_len() >= u64::from(self.spec.pings)
            && self.counted().all(|p| p.rtt.is_some() || p.lost || now >= p.sent_at + overdue)
    }
}

#[derive(Debug, Clone)]
struct Measurement {
    spec: MeasureSpec,
    started_at: f64,
    /// The series ends here whatever the peer and the browser do: [`measure_deadline_ms`]
    /// after `started_at`.
    deadline_at: f64,
    next_send_at: f64,
    pings: Vec<Ping>,
    /// Set when every ping is answered or lost: waiting for the final getStats.
    finishing_since: Option<f64>,
    mode: Mode,
    /// The second phase is over (good enough, or the budget is spent): finish once every ping
    /// is answered or lost.
    stop_sending: bool,
    /// Round trips of ours taken from the peer's chain: our pong K to its ping `"chain":K`.
    chain_samples: Vec<f64>,
    /// The peer's chained pings arrived during this series.
    chain_heard: bool,
    /// When the peer's latest chained ping arrived.
    last_chain_at: f64,
    /// How late each ping left after it was due (ms): a busy main thread shows here.
    lags: Vec<f64>,
    /// The next tick (see [`TICK_MS`]), once the second phase began.
    next_tick_at: Option<f64>,
    /// How late each tick fired (ms).
    ticks: Vec<f64>,
    /// The peer's latest `"late"` figure during this series (ms).
    peer_late_ms: Option<f64>,
}

#[derive(Debug)]
pub struct Probe {
    cfg: Config,
    role: Role,
    phase: Phase,
    created_at: f64,
    started_at: Option<f64>,
    opened_at: Option<f64>,
    offer_taken: bool,
    answer_taken: bool,
    pending_offer: Option<String>,
    remote_set: bool,
    candidates: Vec<Candidate>,
    answered: u32,
    channel_open: bool,
    /// A pong arrived on this connection: the peer has the channel.
    pong_seen: bool,
    /// The last few pongs we sent: (the peer's ping seq, when), for the peer's chained pings.
    pong_times: Vec<(u64, f64)>,
    /// The selected pair's mean STUN RTT over the connection (ms) and the number of checks it is
    /// over, from the latest getStats.
    transport: Option<(f64, f64)>,
    next_seq: u64,
    measurement: Option<Measurement>,
    last_pair: Option<PairSample>,
    stats_rtt: Option<f64>,
    stats_pending: bool,
    warnings: u32,
    /// When the browser reported the remote description applied, ICE connected, DTLS connected.
    remote_at: Option<f64>,
    ice_at: Option<f64>,
    dtls_at: Option<f64>,
    /// `Stage::Connected` has been emitted.
    connected_said: bool,
    /// The peer's pings received on this connection (the `rx` of our pongs).
    pings_heard: u64,
    /// `(seq, rx)` of the peer's pongs that carried `rx` (see [`Probe::loss_by_direction`]).
    rx_seen: Vec<(u64, u64)>,
    /// Pongs of pings below this seq belong to an aborted `measureRTT()`: dropped quietly.
    abandoned_below: u64,
    /// Pending outputs, oldest first (a Vec: the shell takes them all at once).
    out: Vec<Output>,
}

/// Most `rx` observations one connection keeps.
const MAX_RX_SEEN: usize = 2048;

/// A series this long whose fastest answer sits at the pair's mean ICE round trip is enough
/// (the host-delay reading, `estimate::host_delayed`): the pages' spread above a clean path
/// does not narrow with more samples. Simulated, 300 seeds: stopping on it from the burst's
/// end (5 answers) raised the p90 |error| of ±10 / ±20 ms jitter from 4.83 / 12.38 to 5.50 /
/// 14.25 ms and dropped coverage to 0.89 / 0.81 (an ICE mean that strayed low stopped the
/// series before its fastest answer showed it); from 8, 4.80 / 12.80, coverage 0.97 / 0.90;
/// from 12, 4.82 / 12.38 and 0.98 / 0.92, as without it. A loaded loopback (messages handled
/// 0–6 ms late) then stops after ~12 answers instead of running the budget.
pub const HOST_STOP_SAMPLES: usize = 12;

/// The longest a measurement can take: every ping of the burst sent on schedule (or spaced
/// pings until the budget ends), the last one waiting its full timeout, then the final getStats
/// its grace. A measurement (a `measureRTT()` or a
/// manager probe's series) that is still running this long after it began ends at once with
/// what it has; pings still in flight then are neither samples nor losses.
pub fn measure_deadline_ms(spec: &MeasureSpec) -> f64 {
    (f64::from(spec.pings.saturating_sub(1)) * spec.interval_ms).max(spec.budget_ms) + spec.timeout_ms + STATS_GRACE_MS
}

/// The estimator's view of a series.
fn evaluate(m: &Measurement, stats_current: Option<f64>, transport: Option<(f64, f64)>) -> Option<Estimate> {
    let all = m.samples();
    let spaced: Vec<f64> =
        m.counted().filter(|p| p.spaced).filter_map(|p| p.rtt).chain(m.chain_samples.iter().copied()).collect();
    let lag = estimate::median(&estimate::sorted(&m.lags));
    estimate::estimate(&Evidence {
        all: &all,
        spaced: &spaced,
        stats_current_ms: stats_current,
        transport_ms: transport.map(|t| t.0),
        transport_checks: transport.map_or(0.0, |t| t.1),
        lag_ms: lag,
        late_ms: m.late_ms(),
        peer_late_ms: m.peer_late_ms,
    })
}

/// How long an unanswered ping of this series waits before it counts as lost: `LOSS_FACTOR`
/// times the typical answer (the lower median: a few answers the link delayed by a
/// retransmission must not stretch it) plus `LOSS_SLACK_MS`, at most the ping timeout.
fn loss_limit(m: &Measurement) -> f64 {
    let typical =
        estimate::lower_median(&estimate::sorted(&m.pings.iter().filter_map(|p| p.rtt).collect::<Vec<f64>>()));
    match typical {
        Some(r) => (r * LOSS_FACTOR + LOSS_SLACK_MS).min(m.spec.timeout_ms),
        None => m.spec.timeout_ms,
    }
}

/// [`loss_limit`] for a chained ping once a paced series stops sending: it no longer holds up the
/// result past [`Measurement::overdue_after`] (1.5 typical round trips + 10 ms). A paced chain
/// has a few pings in flight when its budget ends; on the ±5-ms link with 5 % loss each way one
/// of them was lost often enough that the results waited the full limit (4 round trips + 50 ms).
fn chain_loss_limit(m: &Measurement) -> f64 {
    if m.stop_sending && m.pace_ms().is_some() {
        loss_limit(m).min(m.overdue_after())
    } else {
        loss_limit(m)
    }
}

impl Probe {
    pub fn new(now: f64, cfg: Config, role: Role) -> Probe {
        Probe {
            cfg,
            role,
            phase: Phase::Prepared,
            created_at: now,
            started_at: None,
            opened_at: None,
            offer_taken: false,
            answer_taken: false,
            pending_offer: None,
            remote_set: false,
            candidates: Vec::new(),
            answered: 0,
            channel_open: false,
            pong_seen: false,
            pong_times: Vec::new(),
            transport: None,
            next_seq: 0,
            measurement: None,
            last_pair: None,
            stats_rtt: None,
            stats_pending: false,
            warnings: 0,
            remote_at: None,
            ice_at: None,
            dtls_at: None,
            connected_said: false,
            pings_heard: 0,
            rx_seen: Vec::new(),
            abandoned_below: 0,
            out: Vec::new(),
        }
    }

    pub fn is_finished(&self) -> bool {
        self.phase == Phase::Finished
    }
    pub fn is_started(&self) -> bool {
        self.phase != Phase::Prepared
    }
    /// The data channel has opened and not closed.
    pub fn is_channel_open(&self) -> bool {
        self.channel_open
    }

    /// The oldest pending output.
    #[must_use]
    pub fn poll_output(&mut self) -> Option<Output> {
        if self.out.is_empty() {
            None
        } else {
            Some(self.out.remove(0))
        }
    }

    /// Every pending output, oldest first (what repeated [`Probe::poll_output`] would give).
    #[must_use]
    pub fn take_outputs(&mut self) -> Vec<Output> {
        core::mem::take(&mut self.out)
    }

    pub fn handle(&mut self, now: f64, input: Input<'_>) {
        if self.phase == Phase::Finished {
            // After the end we only keep answering the peer's pings (its series may still be
            // running while the owner lingers) and say when the channel goes away.
            match input {
                Input::Message(m) if self.channel_open => {
                    if let Ok(Wire::Ping { seq, seq_raw, ts_raw, .. }) = codec::decode(m) {
                        self.answer(now, seq, seq_raw, ts_raw);
                    }
                }
                Input::ChannelClosed if self.channel_open => {
                    self.channel_open = false;
                    self.out.push(Output::Closed);
                }
                _ => {}
            }
            return;
        }
        match input {
            Input::Start => self.on_start(now),
            Input::Signal(s) => self.on_signal(s),
            Input::RemoteApplied { ok } => self.on_remote_applied(now, ok),
            Input::LocalFailed => self.fail(now, ProbeError::WebRtc),
            Input::ChannelOpen => self.on_open(now),
            Input::ChannelClosed => self.on_channel_closed(now),
            Input::Message(m) => self.on_message(now, m),
            Input::ConnectionFailed => self.fail(now, ProbeError::IceFailed),
            Input::Stats(entries) => self.on_stats(now, entries),
            Input::Timer => self.on_timer(now),
            Input::Measure(spec) => self.on_measure(now, spec),
            Input::Close => self.fail(now, ProbeError::Closed),
            Input::Ignored(why) => self.warn(why),
            Input::Transport(t) => self.on_transport(now, t),
            Input::Cancel => {
                // pings in flight are neither samples nor losses: the page ended it, not the link
                self.end_series_early();
                self.fail(now, ProbeError::Cancelled);
            }
            Input::AbortMeasure => {
                if !self.cfg.auto_measure && self.measurement.take().is_some() {
                    self.abandoned_below = self.next_seq;
                }
            }
        }
    }

    fn warn(&mut self, why: &'static str) {
        self.warnings += 1;
        if self.warnings <= MAX_WARNINGS {
            self.out.push(Output::Warn(why));
        } else if self.warnings == MAX_WARNINGS + 1 {
            self.out.push(Output::Warn("further warnings for this probe suppressed"));
        }
    }

    fn on_start(&mut self, now: f64) {
        if self.phase != Phase::Prepared {
            return self.warn(SignalError::AlreadyStarted.reason());
        }
        self.phase = Phase::Connecting;
        self.started_at = Some(now);
        self.out.push(Output::Progress(Stage::Started));
        match self.role {
            Role::Initiator => self.out.push(Output::CreateOffer),
            Role::Answerer => {
                if let Some(sdp) = self.pending_offer.take() {
                    self.out.push(Output::ApplyRemote(SdpKind::Offer, sdp));
                }
            }
        }
    }

    fn on_signal(&mut self, s: Signal) {
        match s {
            Signal::Offer(sdp) => {
                if self.role == Role::Initiator {
                    self.warn(SignalError::UnexpectedOffer.reason());
                } else if self.offer_taken {
                    self.warn(SignalError::DuplicateOffer.reason());
                } else {
                    self.offer_taken = true;
                    if self.phase == Phase::Prepared {
                        self.pending_offer = Some(sdp);
                    } else {
                        self.out.push(Output::ApplyRemote(SdpKind::Offer, sdp));
                    }
                }
            }
            Signal::Answer(sdp) => {
                if self.role == Role::Answerer || self.phase == Phase::Prepared {
                    self.warn(SignalError::UnexpectedAnswer.reason());
                } else if self.answer_taken {
                    self.warn(SignalError::DuplicateAnswer.reason());
                } else {
                    self.answer_taken = true;
                    self.out.push(Output::ApplyRemote(SdpKind::Answer, sdp));
                }
            }
            Signal::Candidate(c) => {
                if self.remote_set {
                    self.out.push(Output::AddCandidate(c));
                } else if self.candidates.len() >= MAX_BUFFERED_CANDIDATES {
                    self.warn(SignalError::TooManyCandidates.reason());
                } else {
                    self.candidates.push(c);
                }
            }
            Signal::EndOfCandidates => {}
        }
    }

    fn on_remote_applied(&mut self, now: f64, ok: bool) {
        if ok {
            self.remote_set = true;
            if self.phase == Phase::Connecting && self.remote_at.is_none() {
                self.remote_at = Some(now);
            }
            for c in core::mem::take(&mut self.candidates) {
                self.out.push(Output::AddCandidate(c));
            }
        } else {
            // The peer's description was rejected: let a later, valid one be tried.
            self.warn("remote description rejected by the browser");
            match self.role {
                Role::Initiator => self.answer_taken = false,
                Role::Answerer => self.offer_taken = false,
            }
        }
    }

    fn on_open(&mut self, now: f64) {
        if self.phase != Phase::Connecting {
            return;
        }
        self.phase = Phase::Open;
        self.channel_open = true;
        self.opened_at = Some(now);
        if !self.connected_said {
            self.connected_said = true;
            self.out.push(Output::Progress(Stage::Connected));
        }
        self.out.push(Output::Progress(Stage::Open));
        self.out.push(Output::Connected);
        if self.cfg.auto_measure {
            let spec = MeasureSpec {
                pings: self.cfg.pings,
                interval_ms: self.cfg.ping_interval_ms,
                timeout_ms: self.cfg.ping_timeout_ms,
                budget_ms: self.cfg.measure_budget_ms,
            };
            self.begin_measure(now, spec);
            self.request_stats();
        }
    }

    fn on_measure(&mut self, now: f64, spec: MeasureSpec) {
        if self.phase != Phase::Open || self.measurement.is_some() {
            let report = self.report(now, None);
            self.out.push(Output::MeasureDone(Report { rtt_ms: None, ..report }));
            return;
        }
        self.begin_measure(now, spec);
    }

    fn begin_measure(&mut self, now: f64, spec: MeasureSpec) {
        let spec = MeasureSpec {
            pings: spec.pings.clamp(1, MAX_PINGS),
            interval_ms: if spec.interval_ms.is_finite() { spec.interval_ms.max(0.0) } else { 0.0 },
            timeout_ms: if spec.timeout_ms.is_finite() { spec.timeout_ms.max(1.0) } else { 2000.0 },
            budget_ms: if spec.budget_ms.is_finite() { spec.budget_ms.clamp(0.0, MAX_BUDGET_MS) } else { 0.0 },
        };
        let deadline_at = now + measure_deadline_ms(&spec);
        self.measurement = Some(Measurement {
            spec,
            started_at: now,
            deadline_at,
            next_send_at: now,
            pings: Vec::new(),
            finishing_since: None,
            mode: Mode::Burst,
            stop_sending: false,
            chain_samples: Vec::new(),
            chain_heard: false,
            last_chain_at: 0.0,
            lags: Vec::new(),
            next_tick_at: None,
            ticks: Vec::new(),
            peer_late_ms: None,
        });
        self.out.push(Output::Progress(Stage::Measuring));
        self.progress(now);
    }

    fn request_stats(&mut self) {
        if !self.stats_pending {
            self.stats_pending = true;
            self.out.push(Output::GetStats);
        }
    }

    fn on_channel_closed(&mut self, now: f64) {
        self.channel_open = false;
        match self.phase {
            Phase::Open if !self.cfg.auto_measure => {
                self.out.push(Output::Closed);
                if self.measurement.is_some() {
                    self.end_series_early();
                    self.finish_measure(now);
                }
                // no longer open: later measureRTT() calls resolve to null
                self.phase = Phase::Finished;
            }
            Phase::Open => {
                // The peer left. With at least one answered ping, report what we have
                // (pings still in flight are not counted as lost: the peer left, the link did not).
                // None of ours answered but the peer's own pings reached us and the browser gave
                // the pair's RTT: the path worked and the peer measured it, so its ICE figure is
                // the result (seen on the 20 %-lossy uplink: our 5 pings all lost, the peer's
                // answered, its result sent and its channel closed before ours were resent).
                let answered = self.measurement.as_ref().is_some_and(|m| m.pings.iter().any(|p| p.rtt.is_some()));
                let heard = self.measurement.is_some()
                    && self.pings_heard > 0
                    && (self.stats_rtt.is_some_and(|r| r > 0.0) || self.transport.is_some_and(|t| t.0 > 0.0));
                if answered || heard {
                    self.end_series_early();
                    self.finish_measure(now);
                } else {
                    self.fail(now, ProbeError::PeerClosed);
                }
            }
            Phase::Connecting => self.fail(now, ProbeError::PeerClosed),
            _ => {}
        }
    }

    fn end_series_early(&mut self) {
        if let Some(m) = self.measurement.as_mut() {
            m.pings.retain(|p| p.rtt.is_some() || p.lost);
            m.spec.pings = u32::try_from(m.pings.len()).unwrap_or(u32::MAX);
        }
    }

    /// A data-channel message. The peer's pings are answered in every phase: the shell only
    /// delivers messages of a channel that exists, and the peer's series must not depend on
    /// what ours is doing (measuring, waiting for `measureRTT()`, done, or not yet told that
    /// the channel is open).
    fn on_message(&mut self, now: f64, text: &str) {
        match codec::decode(text) {
            Ok(Wire::Ping { seq, seq_raw, ts_raw, chain, hold_us, late_ms }) => {
                self.note_peer_late(late_ms);
                // the peer's hold after our pong is not part of the round trip; an implausible
                // hold (more than the whole interval, or unreadable) gives no sample
                let hold = hold_us.map_or(0.0, |h| h as f64 / 1000.0);
                let sample = match chain {
                    Some(Chain::After(k)) => {
                        self.pong_times.iter().rev().find(|(s, _)| *s == k).map(|(_, t)| now - t - hold)
                    }
                    _ => None,
                }
                .filter(|r| *r >= 0.0);
                self.answer(now, seq, seq_raw, ts_raw);
                if !self.pong_seen && self.phase == Phase::Open {
                    self.revive_unheard_pings(now);
                }
                if let (Some(_), Phase::Open) = (chain, self.phase) {
                    if let Some(m) = self.measurement.as_mut() {
                        m.chain_heard = true;
                        m.last_chain_at = now;
                        if let Some(rtt) = sample.filter(|_| m.chain_samples.len() < MAX_PINGS as usize) {
                            m.chain_samples.push(rtt.max(0.0));
                        }
                        self.progress(now);
                    }
                }
            }
            Ok(Wire::Pong { .. }) if self.phase != Phase::Open => {}
            Ok(Wire::Pong { seq, rx, late_ms }) => {
                self.note_peer_late(late_ms);
                if let Some(rx) = rx.filter(|_| seq < self.next_seq && self.rx_seen.len() < MAX_RX_SEEN) {
                    self.rx_seen.push((seq, rx));
                }
                let hit = self.measurement.as_mut().and_then(|m| m.pings.iter_mut().find(|p| p.seq == seq));
                match hit {
                    Some(p) if p.rtt.is_none() && !p.lost && !p.void => {
                        p.rtt = Some((now - p.sent_at).max(0.0));
                        let sent_at = p.sent_at;
                        if !self.pong_seen {
                            self.pong_seen = true;
                            self.void_early_pings(now, sent_at);
                        }
                        self.progress(now);
                    }
                    // a late pong of a ping already counted lost (expected on a lossy link), or
                    // of a void one
                    Some(p) if p.lost || p.void => {}
                    // a late pong of an aborted measureRTT()
                    None if seq < self.abandoned_below => {}
                    _ => self.warn(WireError::UnknownPong.reason()),
                }
            }
            Err(e) => self.warn(e.reason()),
        }
    }

    /// The first pong of the connection answered a ping sent at `answered_sent_at`. On the
    /// initiator, unanswered pings sent before it may have reached the answerer before the
    /// answerer had the channel (its open message still in flight, overtaken, or lost and
    /// retransmitted): they say nothing about the link, so they are voided and replaced rather
    /// than counted lost. The answerer's pings cannot have that problem: the initiator created
    /// the channel before they could be sent.
    fn void_early_pings(&mut self, now: f64, answered_sent_at: f64) {
        if self.role != Role::Initiator {
            return;
        }
        if let Some(m) = self.measurement.as_mut() {
            m.void_unanswered_before(answered_sent_at);
            // replacements keep the spacing from now on, no catch-up burst
            m.next_send_at = m.next_send_at.max(now);
        }
    }

    /// The peer pings us, so its side of the channel exists, yet none of our pings was ever
    /// answered and some are long overdue: on the initiator they reached the answerer before
    /// its channel did (the channel's open message was lost and retransmitted: seen on the
    /// 20 %-lossy uplink, a series of 5 unanswered pings that ended in `peer_closed` when the
    /// peer finished). They are voided, and the burst starts again. Pings younger than two
    /// round trips (the ICE figure, else 250 ms) plus 50 ms may still be answered and stay.
    fn revive_unheard_pings(&mut self, now: f64) {
        if self.role != Role::Initiator {
            return;
        }
        let age = 2.0 * self.stats_rtt.filter(|r| *r > 0.0).unwrap_or(250.0) + 50.0;
        let Some(m) = self.measurement.as_mut() else { return };
        if m.finishing_since.is_some() || m.pings.iter().any(|p| p.rtt.is_some()) {
            return;
        }
        if m.void_unanswered_before(now - age) {
            m.mode = Mode::Burst;
            m.stop_sending = false;
            m.next_send_at = now;
            self.progress(now);
        }
    }

    /// The peer's `"late"` figure, kept for the running series.
    fn note_peer_late(&mut self, late_ms: Option<u64>) {
        if let (Some(l), Some(m), Phase::Open) = (late_ms, self.measurement.as_mut(), self.phase) {
            m.peer_late_ms = Some(l as f64);
        }
    }

    fn answer(&mut self, now: f64, seq: u64, seq_raw: &str, ts_raw: Option<&str>) {
        self.pings_heard += 1;
        if self.answered < MAX_ANSWERED_PINGS {
            self.answered += 1;
            if self.pong_times.len() >= 8 {
                self.pong_times.remove(0);
            }
            self.pong_times.push((seq, now));
            let late = self.measurement.as_ref().and_then(Measurement::late_wire);
            self.out.push(Output::Send(codec::encode_pong_late(seq_raw, ts_raw, Some(self.pings_heard), late)));
        } else if self.phase != Phase::Finished {
            self.warn("ping flood: not answering more pings on this connection");
        }
    }

    fn on_stats(&mut self, now: f64, entries: Option<&[StatEntry]>) {
        self.stats_pending = false;
        if let Some(sample) = entries.and_then(stats::select_pair) {
            if let Some(r) = stats::rtt_ms(&sample, self.last_pair.as_ref()) {
                self.stats_rtt = Some(r);
            }
            if let Some(t) = stats::mean_rtt_ms(&sample) {
                self.transport = Some((t, sample.responses.unwrap_or(0.0)));
            }
            self.last_pair = Some(sample);
        }
        if self.measurement.as_ref().is_some_and(|m| m.finishing_since.is_some()) {
            self.finish_measure(now);
        }
    }

    fn on_timer(&mut self, now: f64) {
        match self.phase {
            Phase::Prepared => {
                if self.cfg.start_timeout_ms.is_some_and(|t| now >= self.created_at + t) {
                    self.fail(now, ProbeError::NotStarted);
                }
            }
            Phase::Connecting => {
                if self.started_at.is_some_and(|s| now >= s + self.cfg.connect_timeout_ms) {
                    self.fail(now, ProbeError::ConnectTimeout);
                }
            }
            Phase::Open => {
                let m = self.measurement.as_ref();
                let overdue = m.is_some_and(|m| now >= m.deadline_at);
                let stale = m.and_then(|m| m.finishing_since).is_some_and(|t| now >= t + STATS_GRACE_MS);
                if overdue {
                    // The series' own deadline: end with what it has, whatever is pending.
                    self.stats_pending = false;
                    self.end_series_early();
                    self.finish_measure(now);
                } else if stale {
                    // getStats never answered: report without it.
                    self.stats_pending = false;
                    self.finish_measure(now);
                } else {
                    if let Some(m) = self.measurement.as_mut() {
                        m.tick(now);
                    }
                    self.progress(now);
                }
            }
            Phase::Finished => {}
        }
    }

    /// Sends due pings, expires timed-out ones, decides after the burst whether a chained phase
    /// follows (see [`Mode`]), and moves to the final getStats when the series is complete.
    fn progress(&mut self, now: f64) {
        let mut sends = Vec::new();
        let role = self.role;
        let (stats_current, transport) = (self.stats_rtt, self.transport);
        let Some(m) = self.measurement.as_mut() else { return };
        if m.finishing_since.is_some() {
            return;
        }
        let end = m.started_at + m.spec.budget_ms;
        if m.mode == Mode::Burst {
            while m.counted_len() < u64::from(m.spec.pings) && now >= m.next_send_at {
                let lag = now - m.next_send_at;
                sends.push(m.send(self.next_seq, now, lag, None, 0.0));
                self.next_seq += 1;
                m.next_send_at += m.spec.interval_ms;
                if m.spec.interval_ms <= 0.0 {
                    m.next_send_at = now;
                }
            }
        }
        let (limit, chain_limit) = (loss_limit(m), chain_loss_limit(m));
        for p in m.pings.iter_mut() {
            let limit = if p.chain { chain_limit } else { limit };
            if p.rtt.is_none() && !p.lost && !p.void && now >= p.sent_at + limit {
                p.lost = true;
            }
        }
        if !m.stop_sending && (m.mode != Mode::Burst || m.burst_done(now)) {
            // Enough? A steady path or a narrow interval stops here (the burst's end, or any
            // sample of the chained phase); else the chained phase runs while the budget lasts.
            let samples = m.samples();
            let fastest = samples.iter().copied().fold(f64::INFINITY, f64::min);
            // the hosts' spread above a path the ICE mean confirms (`estimate::host_delayed`),
            // once the series is long enough for a jittery path's fastest answer to have shown
            // itself below that mean (see `HOST_STOP_SAMPLES`)
            let host_stop = samples.len() >= HOST_STOP_SAMPLES
                && estimate::host_delayed(fastest, transport)
                && estimate::host_explained(m.typical().unwrap_or(fastest), fastest, m.late_ms(), m.peer_late_ms);
            let enough = estimate::is_steady(&samples, transport.map(|t| t.0))
                || host_stop
                || evaluate(m, stats_current, transport).is_some_and(|e| e.good_enough());
            let over = match m.mode {
                Mode::Burst => now >= end || samples.is_empty(),
                Mode::Listen { .. } => now >= end + m.listen_slack(),
                Mode::Chain { .. } => false,
            };
            if enough || over {
                m.stop_sending = true;
                // A path within the target of zero (`estimate::near_zero`) is known whatever
                // else comes back: a ping already overdue (1.5 typical round trips + 10 ms) no
                // longer holds up its result and counts lost now rather than at `loss_limit`
                // (4 + 50 ms). On a loaded page a burst's slowest pong kept such a series
                // waiting up to that limit. (Elsewhere a late answer may still change the
                // estimate: on a ±20 ms path, simulated, counting them lost at once raised the
                // p90 |error| from 12.4 to 14.2 ms.)
                if estimate::near_zero(fastest, estimate::coarse_ms(&samples)) {
                    let overdue = m.overdue_after();
                    for p in m
                        .pings
                        .iter_mut()
                        .filter(|p| p.rtt.is_none() && !p.lost && !p.void && now >= p.sent_at + overdue)
                    {
                        p.lost = true;
                    }
                }
            } else if m.mode == Mode::Burst {
                m.mode = match role {
                    Role::Initiator => Mode::Chain { after: None },
                    Role::Answerer => Mode::Listen { fallback_at: now + m.listen_slack() },
                };
            }
        }
        if let Mode::Listen { fallback_at } = m.mode {
            if !m.stop_sending && now >= m.listen_until(fallback_at) {
                // no chain from the peer, or no more of it: ours
                m.mode = Mode::Chain { after: None };
            }
        }
        if let (Mode::Chain { after }, false) = (m.mode, m.stop_sending) {
            let resend_at = m.resend_at();
            let pace_at = m.pace_at();
            let next = match m.pings.last() {
                Some(p) if p.chain && p.rtt.is_some() && after != Some(p.seq) => {
                    let ready = p.sent_at + CHAIN_SPACING_MS;
                    // held since the pong arrived (ours to handle at `sent_at + rtt`)
                    let pong_at = p.sent_at + p.rtt.unwrap_or(0.0);
                    // our timer's lateness when the spacing held it, else it left on its pong
                    let lag = if ready > pong_at { now - ready } else { f64::NAN };
                    (now >= ready).then_some((Chain::After(p.seq), lag, now - pong_at))
                }
                // paced: the next one before the last is answered; it names the newest pong
                // not yet chained from, so the answerer still takes its sample
                Some(p) if p.chain && p.rtt.is_none() && !p.lost && pace_at.is_some_and(|t| now >= t) => {
                    let lag = pace_at.map_or(0.0, |t| now - t);
                    match m.newest_pong(after) {
                        Some(q) => Some((Chain::After(q.seq), lag, now - (q.sent_at + q.rtt.unwrap_or(0.0)))),
                        None => Some((Chain::Start, lag, 0.0)),
                    }
                }
                Some(p) if p.chain && p.lost => Some((Chain::Start, 0.0, 0.0)),
                Some(p) if p.chain && p.rtt.is_none() && resend_at.is_some_and(|t| now >= t) => {
                    Some((Chain::Start, resend_at.map_or(0.0, |t| now - t), 0.0))
                }
                Some(p) if p.chain => None,
                _ => Some((Chain::Start, 0.0, 0.0)),
            };
            if let Some((chain, lag, hold)) = next {
                if now <= end && m.counted_len() < u64::from(MAX_PINGS) {
                    sends.push(m.send(self.next_seq, now, lag, Some(chain), hold));
                    self.next_seq += 1;
                    if let Chain::After(k) = chain {
                        m.mode = Mode::Chain { after: Some(k) };
                    }
                } else {
                    m.stop_sending = true;
                }
            }
        }
        if m.ticking() && m.next_tick_at.is_none() {
            m.next_tick_at = Some(now + TICK_MS);
        }
        let settled = m.counted().all(|p| p.rtt.is_some() || p.lost);
        let complete = m.stop_sending && settled;
        if complete {
            m.finishing_since = Some(now);
        }
        let second_phase = m.mode != Mode::Burst;
        self.out.extend(sends.into_iter().map(Output::Send));
        if complete {
            if self.stats_pending {
                // the result of the request already in flight will finish it
            } else if self.cfg.auto_measure && self.stats_rtt.is_some() && !second_phase {
                // The getStats taken when the channel opened, moments ago, already holds the
                // pair's RTT; ICE checks a working pair only every second or so, so a second
                // call would almost always return the same sample, and under load a getStats
                // round costs tens of milliseconds. A series with a chained phase ran for its
                // budget: the pair's mean RTT has new samples by then.
                self.finish_measure(now);
            } else {
                self.request_stats();
            }
        }
    }

    fn finish_measure(&mut self, now: f64) {
        let Some(m) = self.measurement.take() else { return };
        let report = self.report(now, Some(&m));
        if self.cfg.auto_measure {
            self.phase = Phase::Finished;
            let report =
                if report.rtt_ms.is_none() { Report { error: Some(ProbeError::NoRtt), ..report } } else { report };
            self.out.push(Output::Done(report));
        } else {
            self.out.push(Output::MeasureDone(report));
        }
    }

    fn report(&self, now: f64, m: Option<&Measurement>) -> Report {
        let series = m.map_or_else(SeriesStats::default, |m| {
            // `samples` / `sent` / `lost`: our pings; the figures: every round trip measured, the
            // peer-chain ones too (`chained` counts those of the chained phase)
            let sent = u32::try_from(m.counted_len()).unwrap_or(u32::MAX);
            let answered = u32::try_from(m.counted().filter(|p| p.rtt.is_some()).count()).unwrap_or(u32::MAX);
            SeriesStats {
                samples: answered,
                lost: sent.saturating_sub(answered),
                ..series::summarize(&m.samples(), sent)
            }
        });
        let estimate = m.and_then(|m| evaluate(m, self.stats_rtt, self.transport));
        let loss = m.and_then(|m| self.loss_by_direction(m));
        Report {
            rtt_ms: estimate.map(|e| e.rtt_ms),
            estimate,
            chained: m.filter(|m| m.mode != Mode::Burst || !m.chain_samples.is_empty()).map(|m| {
                let own = m.counted().filter(|p| p.chain && p.rtt.is_some()).count();
                u32::try_from(own + m.chain_samples.len()).unwrap_or(u32::MAX)
            }),
            transport_ms: self.transport.map(|t| t.0),
            series,
            stats_rtt_ms: self.stats_rtt,
            pair: self.last_pair.clone(),
            setup_ms: match (self.started_at, self.opened_at) {
                (Some(s), Some(o)) => Some(o - s),
                _ => None,
            },
            setup: self.setup(),
            lost_out: loss.map(|l| l.0),
            lost_back: loss.map(|l| l.1),
            measure_ms: m.map(|m| now - m.started_at),
            error: None,
        }
    }

    fn on_transport(&mut self, now: f64, t: Transport) {
        if self.phase != Phase::Connecting {
            return; // before start nothing is connecting; after the open the step is late
        }
        let at = match t {
            Transport::IceConnected => &mut self.ice_at,
            Transport::Connected => &mut self.dtls_at,
        };
        if at.is_none() {
            *at = Some(now);
        }
        if !self.connected_said {
            self.connected_said = true;
            self.out.push(Output::Progress(Stage::Connected));
        }
    }

    /// See [`Setup`].
    fn setup(&self) -> Setup {
        let Some(start) = self.started_at else { return Setup::default() };
        let open = self.opened_at.unwrap_or(f64::INFINITY);
        let mut prev = start;
        let mut parts = [self.remote_at, self.ice_at, self.dtls_at, self.opened_at];
        for part in parts.iter_mut() {
            *part = part.filter(|t| *t <= open).map(|t| {
                let t = t.max(prev);
                let d = t - prev;
                prev = t;
                d
            });
        }
        let [signaling_ms, ice_ms, dtls_ms, channel_ms] = parts;
        Setup { signaling_ms, ice_ms, dtls_ms, channel_ms }
    }

    /// Our lost pings of series `m` split into (lost on the way out, lost on the way back), from
    /// the peer's `rx` counts. Between two pongs that carried counts `ra` (ping `sa`) and `rb`
    /// (ping `sb`), the `sb - sa - 1` pings sent in between went unanswered, and the peer got
    /// `rb - ra - 1` of them: those it answered (the pong was lost), the rest it never got (the
    /// channel keeps no order, but the paths do: a ping overtaken on the way counts as lost on
    /// the way out). A connection starts at (-1, 0). In neither figure: pings after the last
    /// count, a lost ping whose pong came after all (late, not lost: which way it was held no
    /// count says), and a gap that mixes this series' lost pings with other pings without
    /// telling them apart. `None` when the peer sent no count at all (a legacy client).
    fn loss_by_direction(&self, m: &Measurement) -> Option<(u32, u32)> {
        if self.rx_seen.is_empty() {
            return None;
        }
        let lost: Vec<u64> = m.counted().filter(|p| p.rtt.is_none()).map(|p| p.seq).collect();
        let (mut out, mut back) = (0u32, 0u32);
        for &s in &lost {
            // the counts either side of ping s (no sort: a linear scan each, a few pings)
            let before = self.rx_seen.iter().filter(|o| o.0 < s).max_by_key(|o| o.0);
            let Some(&(sb, rb)) = self.rx_seen.iter().filter(|o| o.0 > s).min_by_key(|o| o.0) else { continue };
            if self.rx_seen.iter().any(|o| o.0 == s) {
                // its pong came after all, past the loss limit: late, not lost; which way it was
                // held no count says
                continue;
            }
            let (from, ra) = before.map_or((0, 0), |&(sa, ra)| (sa + 1, ra));
            // each gap once: from its first lost ping
            if lost.iter().any(|&l| from <= l && l < s) {
                continue;
            }
            let gap = sb - from;
            let here = lost.iter().filter(|&&l| from <= l && l < sb).count() as u64;
            let got = rb.saturating_sub(ra).saturating_sub(1).min(gap);
            let (o, b) = if here == gap {
                (gap - got, got)
            } else if got == 0 {
                (here, 0)
            } else if got == gap {
                (0, here)
            } else {
                (0, 0)
            };
            out = out.saturating_add(u32::try_from(o).unwrap_or(u32::MAX));
            back = back.saturating_add(u32::try_from(b).unwrap_or(u32::MAX));
        }
        Some((out, back))
    }

    fn fail(&mut self, now: f64, err: ProbeError) {
        if self.phase == Phase::Finished {
            return;
        }
        let m = self.measurement.take();
        let report = Report { rtt_ms: None, error: Some(err), ..self.report(now, m.as_ref()) };
        self.phase = Phase::Finished;
        if m.is_some() && !self.cfg.auto_measure {
            self.out.push(Output::MeasureDone(report.clone()));
        }
        self.out.push(Output::Done(report));
    }

    /// When the core next needs an `Input::Timer`: the absolute time of its earliest deadline,
    /// or `None` when nothing is pending. Read it after **every** input (str0m's
    /// `Output::Timeout`, quinn's `poll_timeout()`): the browser timer is one-shot, so a timer
    /// that fired a little early must be armed again for the same deadline, and only the
    /// current deadline says so. [`OneShot`](super::OneShot) does that bookkeeping for a driver.
    #[must_use]
    pub fn deadline(&self) -> Option<f64> {
        match self.phase {
            Phase::Prepared => self.cfg.start_timeout_ms.map(|t| self.created_at + t),
            Phase::Connecting => self.started_at.map(|s| s + self.cfg.connect_timeout_ms),
            Phase::Open => {
                let m = self.measurement.as_ref()?;
                if let Some(t) = m.finishing_since {
                    return Some((t + STATS_GRACE_MS).min(m.deadline_at));
                }
                let end = m.started_at + m.spec.budget_ms;
                let send = match m.mode {
                    Mode::Burst if m.counted_len() < u64::from(m.spec.pings) => Some(m.next_send_at),
                    Mode::Burst if !m.stop_sending && m.spec.budget_ms > 0.0 => {
                        let overdue = m.overdue_after();
                        // the burst is done for the decision when its last unanswered ping is overdue
                        m.counted().filter(|p| p.rtt.is_none() && !p.lost).map(|p| p.sent_at + overdue).reduce(f64::max)
                    }
                    Mode::Burst => None,
                    _ if m.stop_sending => None,
                    Mode::Listen { fallback_at } => Some(m.listen_until(fallback_at).min(end + m.listen_slack())),
                    Mode::Chain { after } => {
                        [m.resend_at(), m.chain_ready_at(after), m.pace_at()].into_iter().flatten().reduce(f64::min)
                    }
                };
                let (limit, chain_limit) = (loss_limit(m), chain_loss_limit(m));
                let expiry = m
                    .counted()
                    .filter(|p| p.rtt.is_none() && !p.lost)
                    .map(|p| p.sent_at + if p.chain { chain_limit } else { limit })
                    .reduce(f64::min);
                let tick = m.next_tick_at.filter(|_| m.ticking());
                let next = [send, expiry, tick].into_iter().flatten().reduce(f64::min).unwrap_or(m.deadline_at);
                Some(next.min(m.deadline_at))
            }
            Phase::Finished => None,
        }
    }
}
