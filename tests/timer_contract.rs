//! The timer contract, end to end in the core: two probes on a simulated clock, each driven the
//! way the browser shell drives it (a one-shot timer re-armed from `Probe::deadline()` after
//! every input, see `core::timer::OneShot`), with timers that fire early, on time or late, and
//! peers that answer, stay silent or leave. Every measurement must settle by its own deadline
//! (`measure_deadline_ms`) plus the timer's lateness, exactly once.

#![cfg(not(target_arch = "wasm32"))]

use p2p_probe::core::probe::*;
use p2p_probe::core::role::Role;
use p2p_probe::core::stats::StatEntry;
use p2p_probe::core::OneShot;
use proptest::prelude::*;

mod common;

fn stats_with_rtt(rtt_s: f64) -> Vec<StatEntry> {
    common::pair_stats(rtt_s, None)
}

/// How the simulated browser timer fires relative to the time it was armed for.
#[derive(Debug, Clone, Copy)]
enum Skew {
    /// This many ms (< 1) early: the shell asks `setTimeout` for the whole milliseconds up to
    /// the deadline and the browser fires that much short of it by `performance.now()`.
    Early(f64),
    OnTime,
    /// This many ms late (a busy page).
    Late(f64),
}

impl Skew {
    fn fire_at(self, t: f64, armed_now: f64) -> f64 {
        match self {
            Skew::Early(e) => armed_now + ((t - armed_now).max(0.0).ceil() - e).max(0.0),
            Skew::OnTime => t,
            Skew::Late(l) => t + l,
        }
    }
    fn lateness(self) -> f64 {
        match self {
            Skew::Late(l) => l,
            // whole-ms rounding up, less the early shift: at most 1 - e late
            Skew::Early(e) => (1.0 - e).max(0.0),
            Skew::OnTime => 0.0,
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum PeerKind {
    /// Answers every ping after `one_way` each way.
    Answers,
    /// The channel is open but nothing ever comes back.
    Silent,
}

struct Side {
    p: Probe,
    timer: OneShot,
    fire_at: Option<f64>,
    measure_started: Option<f64>,
    measure_done: Vec<(f64, Report)>,
    dones: Vec<Report>,
}

/// One side, manual (`ProbeConnection`, the platform's flow: `measureRTT()` on connect) or
/// auto (`ProbeManager`), against a scripted peer. Returns the side after everything settled.
fn run(
    auto: bool,
    peer: PeerKind,
    skew: Skew,
    loss_every: Option<u64>,
    one_way: f64,
    jitter: f64,
    spec: MeasureSpec,
) -> (Side, f64) {
    let c = Config {
        pings: spec.pings,
        ping_interval_ms: spec.interval_ms,
        ping_timeout_ms: spec.timeout_ms,
        auto_measure: auto,
        measure_budget_ms: spec.budget_ms,
        ..Config::default()
    };
    let mut s = Side {
        p: Probe::new(0.0, c, Role::Initiator),
        timer: OneShot::new(),
        fire_at: None,
        measure_started: None,
        measure_done: vec![],
        dones: vec![],
    };
    let mut now = 0.0;
    // (arrival, text) of pongs coming back; stats answers
    let mut inbox: Vec<(f64, String)> = vec![];
    let mut stats_at: Vec<f64> = vec![];
    let mut sent = 0u64;
    let mut inputs: Vec<Input<'static>> = vec![Input::Start, Input::ChannelOpen];
    for _ in 0..100_000 {
        for input in inputs.drain(..) {
            s.p.handle(now, input);
        }
        let mut again = false;
        for o in s.p.take_outputs() {
            match o {
                Output::Send(text) => {
                    sent += 1;
                    let lost = loss_every.is_some_and(|k| sent % k == 0);
                    if let (PeerKind::Answers, false) = (peer, lost) {
                        if let Ok(p2p_probe::core::codec::Wire::Ping { seq_raw, ts_raw, .. }) =
                            p2p_probe::core::codec::decode(&text)
                        {
                            // a jittery path (uniform-ish per ping, from the ping's number) makes
                            // an auto series go on with spaced pings
                            let spread = jitter * ((sent as f64 * 0.618_034).fract());
                            inbox.push((
                                now + 2.0 * one_way + spread,
                                p2p_probe::core::codec::encode_pong(seq_raw, ts_raw),
                            ));
                        }
                    }
                }
                Output::GetStats => stats_at.push(now + 3.0),
                Output::Connected if !auto => {
                    // the platform's flow: onConnected -> measureRTT(), from inside the callback
                    s.measure_started = Some(now);
                    s.p.handle(now, Input::Measure(spec));
                    again = true;
                }
                Output::MeasureDone(r) => s.measure_done.push((now, r)),
                Output::Done(r) => s.dones.push(r),
                _ => {}
            }
            if auto && s.measure_started.is_none() && s.p.is_started() {
                s.measure_started = Some(now);
            }
        }
        if again {
            continue;
        }
        // the driver's rule: re-arm from the current deadline after every input
        match s.timer.sync(s.p.deadline()) {
            p2p_probe::core::Arm::Set(t) => s.fire_at = Some(skew.fire_at(t, now)),
            p2p_probe::core::Arm::Clear => s.fire_at = None,
            p2p_probe::core::Arm::Keep => {}
        }
        let settled = if auto { !s.dones.is_empty() } else { !s.measure_done.is_empty() };
        if settled {
            break;
        }
        let next_msg = inbox.iter().map(|m| m.0).reduce(f64::min);
        let next_stats = stats_at.iter().copied().reduce(f64::min);
        let Some(next) = [next_msg, next_stats, s.fire_at].into_iter().flatten().reduce(f64::min) else {
            panic!("nothing pending and nothing settled: the probe hangs (auto={auto}, {peer:?}, {skew:?})");
        };
        now = next;
        if let Some(pos) = inbox.iter().position(|m| m.0 <= now) {
            let (_, text) = inbox.remove(pos);
            s.p.handle(now, Input::Message(&text));
        } else if let Some(pos) = stats_at.iter().position(|t| *t <= now) {
            stats_at.remove(pos);
            s.p.handle(now, Input::Stats(Some(&stats_with_rtt(2.0 * one_way / 1000.0))));
        } else {
            s.fire_at = None;
            s.timer.fired();
            s.p.handle(now, Input::Timer);
        }
    }
    (s, now)
}

fn check(auto: bool, peer: PeerKind, skew: Skew, loss_every: Option<u64>, one_way: f64, spec: MeasureSpec) {
    check_jitter(auto, peer, skew, loss_every, one_way, 0.0, spec);
}

fn check_jitter(
    auto: bool,
    peer: PeerKind,
    skew: Skew,
    loss_every: Option<u64>,
    one_way: f64,
    jitter: f64,
    spec: MeasureSpec,
) {
    let (s, now) = run(auto, peer, skew, loss_every, one_way, jitter, spec);
    let started = s.measure_started.expect("measurement started");
    let bound = measure_deadline_ms(&spec) + skew.lateness() + 1e-9;
    assert!(now - started <= bound, "settled after {} ms > {bound} (auto={auto}, {peer:?}, {skew:?})", now - started);
    if auto {
        assert_eq!(s.dones.len(), 1);
    } else {
        assert_eq!(s.measure_done.len(), 1);
        assert!(s.dones.is_empty(), "a finished measureRTT() does not end the connection");
    }
}

const SPEC: MeasureSpec = MeasureSpec { pings: 5, interval_ms: 2.0, timeout_ms: 2000.0, budget_ms: 0.0 };

#[test]
fn a_silent_peer_settles_by_the_deadline_whether_the_timer_fires_early_on_time_or_late() {
    for skew in [Skew::Early(0.9), Skew::Early(0.05), Skew::OnTime, Skew::Late(40.0)] {
        for auto in [false, true] {
            check(auto, PeerKind::Silent, skew, None, 0.5, SPEC);
        }
    }
}

#[test]
fn an_answering_peer_settles_long_before_the_deadline() {
    for skew in [Skew::Early(0.9), Skew::OnTime, Skew::Late(40.0)] {
        for auto in [false, true] {
            let (s, now) = run(auto, PeerKind::Answers, skew, None, 0.3, 0.0, SPEC);
            let started = s.measure_started.unwrap_or(0.0);
            assert!(now - started < 100.0, "{skew:?} auto={auto}: {} ms", now - started);
        }
    }
}

#[test]
fn an_early_timer_leaves_the_same_deadline_armed_again() {
    // The defect this contract fixes: a timer that fires 0.5 ms before the core is due gives no
    // change of deadline; the driver must still re-arm it.
    let c =
        Config { pings: 1, ping_interval_ms: 0.0, ping_timeout_ms: 100.0, auto_measure: false, ..Config::default() };
    let mut p = Probe::new(0.0, c, Role::Initiator);
    let mut t = OneShot::new();
    p.handle(0.0, Input::Start);
    p.handle(10.0, Input::ChannelOpen);
    p.handle(10.0, Input::Measure(MeasureSpec { pings: 1, interval_ms: 0.0, timeout_ms: 100.0, budget_ms: 0.0 }));
    let _ = p.take_outputs();
    assert_eq!(t.sync(p.deadline()), p2p_probe::core::Arm::Set(110.0));
    t.fired();
    p.handle(109.5, Input::Timer);
    assert!(p.take_outputs().is_empty());
    assert_eq!(t.sync(p.deadline()), p2p_probe::core::Arm::Set(110.0), "armed again");
    t.fired();
    p.handle(110.0, Input::Timer);
    assert!(p.take_outputs().iter().any(|o| matches!(o, Output::GetStats)), "ping lost: final getStats");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]
    #[test]
    fn every_measurement_settles_by_its_deadline(
        auto in any::<bool>(),
        silent in any::<bool>(),
        skew_kind in 0u8..3,
        skew_ms in 0.0f64..50.0,
        loss_every in proptest::option::of(2u64..6),
        one_way in 0.1f64..400.0,
        pings in 1u32..12,
        interval_ms in 0.0f64..50.0,
        timeout_ms in 10.0f64..3000.0,
        budget_ms in prop_oneof![Just(0.0f64), 0.0f64..2000.0],
        jitter in prop_oneof![Just(0.0f64), 0.0f64..60.0],
    ) {
        let skew = match skew_kind { 0 => Skew::Early(skew_ms.fract() * 0.99), 1 => Skew::OnTime, _ => Skew::Late(skew_ms) };
        let peer = if silent { PeerKind::Silent } else { PeerKind::Answers };
        check_jitter(auto, peer, skew, loss_every, one_way, jitter, MeasureSpec { pings, interval_ms, timeout_ms, budget_ms });
    }
}

#[test]
fn a_probe_whose_timer_fires_early_still_times_out_and_reports_once() {
    // prepared, never started (start timeout), and started, never connected (connect
    // timeout): each timer fires 0.7 ms short of its deadline every time
    for started in [false, true] {
        let c = Config { start_timeout_ms: Some(5000.0), connect_timeout_ms: 1000.0, ..Config::default() };
        let mut p = Probe::new(0.0, c, Role::Answerer);
        let mut t = OneShot::new();
        let mut now = 0.0;
        if started {
            p.handle(10.0, Input::Start);
            now = 10.0;
        }
        let mut dones = vec![];
        for _ in 0..100 {
            dones.extend(
                p.take_outputs().into_iter().filter_map(|o| if let Output::Done(r) = o { Some(r) } else { None }),
            );
            match t.sync(p.deadline()) {
                p2p_probe::core::Arm::Set(at) => now = Skew::Early(0.7).fire_at(at, now),
                p2p_probe::core::Arm::Clear => break,
                p2p_probe::core::Arm::Keep if p.deadline().is_none() => break,
                p2p_probe::core::Arm::Keep => panic!("a spent timer must be re-armed"),
            }
            t.fired();
            p.handle(now, Input::Timer);
        }
        let want =
            if started { p2p_probe::core::ProbeError::ConnectTimeout } else { p2p_probe::core::ProbeError::NotStarted };
        assert_eq!(dones.len(), 1, "started={started}: {dones:?}");
        assert_eq!(dones[0].error, Some(want));
        assert!(now >= if started { 1010.0 } else { 5000.0 }, "not before its deadline: {now}");
    }
}
