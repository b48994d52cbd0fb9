//! The path behind a number and the page's control over a probe, on the sans-IO core: loss by
//! direction from the `rx` count of our pongs (and `null` against legacy pongs), the split of
//! `setup_ms`, the progress phases, `cancel` and an aborted `measureRTT()`.
#![cfg(not(target_arch = "wasm32"))]

use p2p_probe::core::codec::{self, Wire};
use p2p_probe::core::probe::*;
use p2p_probe::core::role::Role;
use p2p_probe::core::ProbeError;

fn drain(p: &mut Probe) -> Vec<Output> {
    std::iter::from_fn(|| p.poll_output()).collect()
}

fn cfg(pings: u32) -> Config {
    Config {
        pings,
        ping_interval_ms: 10.0,
        ping_timeout_ms: 100.0,
        connect_timeout_ms: 1000.0,
        start_timeout_ms: Some(5000.0),
        auto_measure: true,
        measure_budget_ms: 0.0,
    }
}

fn stages(out: &[Output]) -> Vec<&'static str> {
    out.iter().filter_map(|o| if let Output::Progress(s) = o { Some(s.as_str()) } else { None }).collect()
}

/// A series of `n` pings against a scripted peer: `fate(seq)` says whether the ping reaches the
/// peer and whether its pong comes back. The peer answers with `"rx"` (ours) or without
/// (`legacy`). Returns the report.
fn series(n: u32, legacy: bool, fate: impl Fn(u64) -> (bool, bool)) -> Report {
    series_late(n, legacy, fate, None)
}

/// As `series`; the pong of ping `late` comes 400 ms late (past its loss limit).
fn series_late(n: u32, legacy: bool, fate: impl Fn(u64) -> (bool, bool), late: Option<u64>) -> Report {
    let mut p = Probe::new(0.0, cfg(n), Role::Answerer);
    p.handle(50.0, Input::Start);
    p.handle(100.0, Input::ChannelOpen);
    let mut heard = 0u64;
    let mut inbox: Vec<(f64, String)> = Vec::new();
    let mut now = 100.0;
    for _ in 0..10_000 {
        for o in drain(&mut p) {
            match o {
                Output::Send(ping) => {
                    let Ok(Wire::Ping { seq, seq_raw, ts_raw, .. }) = codec::decode(&ping) else { panic!("{ping}") };
                    let (arrives, comes_back) = fate(seq);
                    if arrives {
                        heard += 1;
                        let pong = if legacy {
                            codec::encode_pong(seq_raw, ts_raw)
                        } else {
                            codec::encode_pong_rx(seq_raw, ts_raw, Some(heard))
                        };
                        if comes_back {
                            inbox.push((now + if late == Some(seq) { 400.0 } else { 4.0 }, pong));
                        }
                    }
                }
                Output::GetStats => p.handle(now, Input::Stats(None)),
                Output::Done(r) => return r,
                _ => {}
            }
        }
        inbox.sort_by(|a, b| a.0.total_cmp(&b.0));
        let next_timer = p.deadline().unwrap_or(f64::INFINITY);
        match inbox.first() {
            Some((t, _)) if *t <= next_timer => {
                let (t, msg) = inbox.remove(0);
                now = t;
                p.handle(now, Input::Message(&msg));
            }
            _ => {
                now = next_timer;
                p.handle(now, Input::Timer);
            }
        }
    }
    panic!("the series never ended")
}

#[test]
fn lost_pings_are_split_by_direction_from_the_peers_rx_counts() {
    // the peer gets pings 0, 2, 3, 5 (1 and 4 are lost on the way out); the pong of 2 is lost
    // on the way back
    let fate = |seq: u64| match seq {
        1 | 4 => (false, false),
        2 => (true, false),
        _ => (true, true),
    };
    let r = series(6, false, fate);
    assert_eq!((r.series.sent, r.series.samples, r.series.lost), (6, 3, 3));
    assert_eq!((r.lost_out, r.lost_back), (Some(2), Some(1)));
    assert!(r.success());
}

#[test]
fn against_legacy_pongs_the_directional_figures_are_null_never_guessed() {
    let fate = |seq: u64| if seq == 1 { (false, false) } else { (true, true) };
    let r = series(4, true, fate);
    assert_eq!(r.series.lost, 1);
    assert_eq!((r.lost_out, r.lost_back), (None, None));
    // no loss against a legacy peer: still null (the peer said nothing)
    let r = series(3, true, |_| (true, true));
    assert_eq!((r.series.lost, r.lost_out, r.lost_back), (0, None, None));
    // no loss against ours: zero each way
    let r = series(3, false, |_| (true, true));
    assert_eq!((r.series.lost, r.lost_out, r.lost_back), (0, Some(0), Some(0)));
}

#[test]
fn a_lost_last_ping_with_no_later_word_is_in_neither_figure() {
    let r = series(4, false, |seq| if seq == 3 { (false, false) } else { (true, true) });
    assert_eq!(r.series.lost, 1);
    assert_eq!((r.lost_out, r.lost_back), (Some(0), Some(0)));
    // pongs lost on the way back, all of them between two answered pings
    let r = series(5, false, |seq| (true, seq == 0 || seq == 4));
    assert_eq!((r.series.lost, r.lost_out, r.lost_back), (3, Some(0), Some(3)));
}

#[test]
fn a_pong_that_comes_past_the_loss_limit_counts_on_the_way_back() {
    // 8 pings 10 ms apart: the pong of ping 2 comes 400 ms late; the peer got ping 2 in order
    let r = series_late(8, false, |_| (true, true), Some(2));
    assert_eq!(r.series.lost, 1, "{:?}", r.series);
    assert_eq!((r.lost_out, r.lost_back), (Some(0), Some(1)));
}

#[test]
fn the_rx_count_in_our_pongs_counts_every_ping_of_the_peer() {
    let mut p = Probe::new(0.0, cfg(1), Role::Answerer);
    p.handle(1.0, Input::Start);
    for (i, seq) in [7u64, 8, 8, 9].iter().enumerate() {
        p.handle(2.0, Input::Message(&format!(r#"{{"type":"ping","seq":{seq},"ts":5}}"#)));
        let out = drain(&mut p);
        let want = format!(r#"{{"type":"pong","seq":{seq},"ts":5,"rx":{}}}"#, i + 1);
        assert!(out.contains(&Output::Send(want.clone())), "{want}: {out:?}");
    }
}

#[test]
fn setup_is_split_at_the_steps_the_browser_reports() {
    let mut p = Probe::new(0.0, cfg(1), Role::Initiator);
    p.handle(50.0, Input::Start);
    p.handle(60.0, Input::Signal(Signal::Answer("v=0".into())));
    p.handle(62.0, Input::RemoteApplied { ok: true });
    p.handle(75.0, Input::Transport(Transport::IceConnected));
    p.handle(76.0, Input::Transport(Transport::IceConnected)); // the first report counts
    p.handle(80.0, Input::Transport(Transport::Connected));
    p.handle(100.0, Input::ChannelOpen);
    p.handle(200.0, Input::Close);
    let r = drain(&mut p).into_iter().find_map(|o| if let Output::Done(r) = o { Some(r) } else { None }).unwrap();
    assert_eq!(
        r.setup,
        Setup { signaling_ms: Some(12.0), ice_ms: Some(13.0), dtls_ms: Some(5.0), channel_ms: Some(20.0) }
    );
    assert_eq!(r.setup_ms, Some(50.0));

    // a browser that reports no connectionState: DTLS is null, the channel part runs from ICE
    let mut p = Probe::new(0.0, cfg(1), Role::Answerer);
    p.handle(0.0, Input::Signal(Signal::Offer("v=0".into())));
    p.handle(50.0, Input::Start);
    p.handle(55.0, Input::RemoteApplied { ok: true });
    p.handle(70.0, Input::Transport(Transport::IceConnected));
    p.handle(90.0, Input::ChannelOpen);
    p.handle(95.0, Input::Transport(Transport::Connected)); // after the open: not a setup step
    p.handle(200.0, Input::Close);
    let r = drain(&mut p).into_iter().find_map(|o| if let Output::Done(r) = o { Some(r) } else { None }).unwrap();
    assert_eq!(r.setup, Setup { signaling_ms: Some(5.0), ice_ms: Some(15.0), dtls_ms: None, channel_ms: Some(20.0) });

    // a failure before the open: the steps reached so far, no channel part
    let mut p = Probe::new(0.0, cfg(1), Role::Initiator);
    p.handle(10.0, Input::Start);
    p.handle(20.0, Input::Signal(Signal::Answer("v=0".into())));
    p.handle(30.0, Input::RemoteApplied { ok: true });
    p.handle(2000.0, Input::Timer);
    let r = drain(&mut p).into_iter().find_map(|o| if let Output::Done(r) = o { Some(r) } else { None }).unwrap();
    assert_eq!(r.error, Some(ProbeError::ConnectTimeout));
    assert_eq!(r.setup, Setup { signaling_ms: Some(20.0), ice_ms: None, dtls_ms: None, channel_ms: None });
    assert_eq!(r.setup_ms, None);
}

#[test]
fn progress_phases_come_in_order_once_each() {
    let mut p = Probe::new(0.0, cfg(1), Role::Initiator);
    let mut seen = stages(&drain(&mut p));
    p.handle(1.0, Input::Start);
    p.handle(1.0, Input::Start); // duplicate: no second `started`
    seen.extend(stages(&drain(&mut p)));
    p.handle(5.0, Input::Transport(Transport::IceConnected));
    p.handle(6.0, Input::Transport(Transport::Connected));
    seen.extend(stages(&drain(&mut p)));
    p.handle(7.0, Input::ChannelOpen);
    seen.extend(stages(&drain(&mut p)));
    assert_eq!(seen, ["started", "connected", "open", "measuring"]);

    // no connection state from the browser: `connected` comes with the open
    let mut p = Probe::new(0.0, cfg(1), Role::Answerer);
    p.handle(1.0, Input::Start);
    p.handle(7.0, Input::ChannelOpen);
    assert_eq!(stages(&drain(&mut p)), ["started", "connected", "open", "measuring"]);

    // manual mode: `measuring` per measureRTT()
    let mut p = Probe::new(0.0, Config { auto_measure: false, start_timeout_ms: None, ..cfg(1) }, Role::Answerer);
    p.handle(1.0, Input::Start);
    p.handle(7.0, Input::ChannelOpen);
    assert_eq!(stages(&drain(&mut p)), ["started", "connected", "open"]);
    p.handle(8.0, Input::Measure(MeasureSpec { pings: 1, interval_ms: 0.0, timeout_ms: 50.0, budget_ms: 0.0 }));
    assert_eq!(stages(&drain(&mut p)), ["measuring"]);
}

#[test]
fn cancel_ends_the_probe_once_with_cancelled_in_every_phase() {
    for phase in 0..3 {
        let mut p = Probe::new(0.0, cfg(3), Role::Initiator);
        if phase >= 1 {
            p.handle(1.0, Input::Start);
        }
        if phase >= 2 {
            p.handle(2.0, Input::ChannelOpen);
        }
        drain(&mut p);
        p.handle(3.0, Input::Cancel);
        p.handle(3.0, Input::Cancel);
        p.handle(4.0, Input::Close);
        let out = drain(&mut p);
        let done: Vec<_> = out.iter().filter_map(|o| if let Output::Done(r) = o { Some(r) } else { None }).collect();
        assert_eq!(done.len(), 1, "phase {phase}: {out:?}");
        assert_eq!(done[0].error, Some(ProbeError::Cancelled));
        assert_eq!(ProbeError::Cancelled.code(), "cancelled");
        assert!(!done[0].success());
        assert_eq!(p.deadline(), None, "nothing left pending");
    }
}

#[test]
fn an_aborted_measurement_leaves_the_connection_usable() {
    let spec = MeasureSpec { pings: 2, interval_ms: 0.0, timeout_ms: 50.0, budget_ms: 0.0 };
    let mut p = Probe::new(0.0, Config { auto_measure: false, start_timeout_ms: None, ..cfg(2) }, Role::Answerer);
    p.handle(1.0, Input::Start);
    p.handle(2.0, Input::ChannelOpen);
    drain(&mut p);
    p.handle(10.0, Input::Measure(spec));
    let pings: Vec<String> =
        drain(&mut p).into_iter().filter_map(|o| if let Output::Send(s) = o { Some(s) } else { None }).collect();
    assert_eq!(pings.len(), 2);
    p.handle(11.0, Input::AbortMeasure);
    assert!(drain(&mut p).is_empty(), "the shell settles the promise: the core says nothing");
    assert_eq!(p.deadline(), None, "the aborted series holds no timer");
    // its late pongs are dropped quietly
    for ping in &pings {
        let Ok(Wire::Ping { seq_raw, ts_raw, .. }) = codec::decode(ping) else { panic!() };
        p.handle(12.0, Input::Message(&codec::encode_pong_rx(seq_raw, ts_raw, Some(1))));
    }
    assert!(drain(&mut p).is_empty());
    // the next measureRTT() runs as usual
    p.handle(20.0, Input::Measure(spec));
    let out = drain(&mut p);
    let next: Vec<String> =
        out.iter().filter_map(|o| if let Output::Send(s) = o { Some(s.clone()) } else { None }).collect();
    assert_eq!(next.len(), 2);
    for ping in &next {
        let Ok(Wire::Ping { seq_raw, ts_raw, .. }) = codec::decode(ping) else { panic!() };
        p.handle(23.0, Input::Message(&codec::encode_pong_rx(seq_raw, ts_raw, Some(3))));
    }
    drain(&mut p);
    p.handle(23.5, Input::Stats(None));
    let r =
        drain(&mut p).into_iter().find_map(|o| if let Output::MeasureDone(r) = o { Some(r) } else { None }).unwrap();
    assert_eq!(r.rtt_ms, Some(3.0));
    assert_eq!((r.series.sent, r.series.lost), (2, 0));
    // abort in auto mode is not a thing: a manager probe ignores it
    let mut p = Probe::new(0.0, cfg(1), Role::Answerer);
    p.handle(1.0, Input::Start);
    p.handle(2.0, Input::ChannelOpen);
    drain(&mut p);
    p.handle(3.0, Input::AbortMeasure);
    assert!(p.deadline().is_some(), "the series goes on");
}
