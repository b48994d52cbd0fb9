//! State-machine tests: two probes wired back to back on a simulated clock, plus targeted
//! event sequences and a property test.

#![cfg(not(target_arch = "wasm32"))]

use p2p_probe::core::probe::*;
use p2p_probe::core::role::Role;
use p2p_probe::core::stats::StatEntry;
use p2p_probe::core::{codec, OneShot, ProbeError};
use proptest::prelude::*;

mod common;

fn drain(p: &mut Probe) -> Vec<Output> {
    std::iter::from_fn(|| p.poll_output()).collect()
}

fn cfg() -> Config {
    Config {
        pings: 3,
        ping_interval_ms: 10.0,
        ping_timeout_ms: 100.0,
        connect_timeout_ms: 1000.0,
        start_timeout_ms: Some(5000.0),
        auto_measure: true,
        measure_budget_ms: 0.0,
    }
}

fn sends(out: &[Output]) -> Vec<String> {
    out.iter().filter_map(|o| if let Output::Send(s) = o { Some(s.clone()) } else { None }).collect()
}
fn done(out: &[Output]) -> Option<Report> {
    out.iter().find_map(|o| if let Output::Done(r) = o { Some(r.clone()) } else { None })
}
fn pong_for(ping: &str) -> String {
    match codec::decode(ping).unwrap() {
        codec::Wire::Ping { seq_raw, ts_raw, .. } => codec::encode_pong(seq_raw, ts_raw),
        _ => panic!("not a ping"),
    }
}
fn stats_with_rtt(rtt_s: f64) -> Vec<StatEntry> {
    common::pair_stats(rtt_s, None)
}

/// Starts a probe and opens its channel at t=100; returns the pings it sent at open.
fn opened(role: Role, c: Config) -> (Probe, Vec<Output>) {
    let mut p = Probe::new(0.0, c, role);
    drain(&mut p);
    p.handle(50.0, Input::Start);
    drain(&mut p);
    p.handle(100.0, Input::ChannelOpen);
    let out = drain(&mut p);
    (p, out)
}

/// Lets the burst of a probe opened at 100 (see [`opened`]) go out: a timer every `every` ms
/// until `n` pings are sent; returns each ping with the time it left.
fn burst_sent(p: &mut Probe, out: &[Output], n: usize, every: f64) -> Vec<(f64, String)> {
    let mut burst: Vec<(f64, String)> = sends(out).into_iter().map(|s| (100.0, s)).collect();
    let mut t = 100.0;
    while burst.len() < n {
        t += every;
        p.handle(t, Input::Timer);
        burst.extend(sends(&drain(p)).into_iter().map(|s| (t, s)));
    }
    burst
}

#[test]
fn initiator_offers_answerer_waits_and_buffers_candidates_until_remote_set() {
    let mut a = Probe::new(0.0, cfg(), Role::Initiator);
    drain(&mut a);
    a.handle(1.0, Input::Start);
    assert!(drain(&mut a).contains(&Output::CreateOffer));

    let mut b = Probe::new(0.0, cfg(), Role::Answerer);
    drain(&mut b);
    let cand = Candidate {
        candidate: "candidate:1 1 udp 1 127.0.0.1 5000 typ host".into(),
        sdp_mid: Some("0".into()),
        sdp_m_line_index: Some(0),
        username_fragment: None,
    };
    // an offer and candidates before probe_start: kept until start
    b.handle(1.0, Input::Signal(Signal::Offer("v=0 offer".into())));
    b.handle(1.0, Input::Signal(Signal::Candidate(cand.clone())));
    assert!(drain(&mut b).iter().all(|o| !matches!(o, Output::ApplyRemote(..) | Output::AddCandidate(_))));
    b.handle(2.0, Input::Start);
    let out = drain(&mut b);
    assert!(out.contains(&Output::ApplyRemote(SdpKind::Offer, "v=0 offer".into())));
    assert!(!out.contains(&Output::CreateOffer));
    b.handle(3.0, Input::RemoteApplied { ok: true });
    assert_eq!(drain(&mut b), vec![Output::AddCandidate(cand.clone())]);
    // after the remote description, candidates go straight through; end-of-candidates is ignored
    b.handle(4.0, Input::Signal(Signal::Candidate(cand.clone())));
    b.handle(4.0, Input::Signal(Signal::EndOfCandidates));
    assert_eq!(drain(&mut b), vec![Output::AddCandidate(cand)]);
}

#[test]
fn wrong_role_and_duplicate_descriptions_are_ignored_with_warnings() {
    let mut a = Probe::new(0.0, cfg(), Role::Initiator);
    a.handle(0.0, Input::Start);
    drain(&mut a);
    a.handle(1.0, Input::Signal(Signal::Offer("x".into())));
    a.handle(1.0, Input::Signal(Signal::Answer("ans".into())));
    a.handle(1.0, Input::Signal(Signal::Answer("ans2".into())));
    let out = drain(&mut a);
    let applied: Vec<_> = out.iter().filter(|o| matches!(o, Output::ApplyRemote(..))).collect();
    assert_eq!(applied, vec![&Output::ApplyRemote(SdpKind::Answer, "ans".into())]);
    assert_eq!(out.iter().filter(|o| matches!(o, Output::Warn(_))).count(), 2);

    // a rejected answer lets a later valid one through
    a.handle(2.0, Input::RemoteApplied { ok: false });
    a.handle(2.0, Input::Signal(Signal::Answer("ans3".into())));
    assert!(drain(&mut a).contains(&Output::ApplyRemote(SdpKind::Answer, "ans3".into())));

    let mut b = Probe::new(0.0, cfg(), Role::Answerer);
    b.handle(0.0, Input::Start);
    b.handle(0.0, Input::Signal(Signal::Answer("a".into())));
    b.handle(0.0, Input::Signal(Signal::Offer("o1".into())));
    b.handle(0.0, Input::Signal(Signal::Offer("o2".into())));
    let out = drain(&mut b);
    assert_eq!(out.iter().filter(|o| matches!(o, Output::ApplyRemote(..))).count(), 1);
}

#[test]
fn full_measurement_uses_stats_rtt_and_reports_series() {
    let (mut p, out) = opened(Role::Initiator, cfg());
    assert!(out.contains(&Output::Connected));
    assert!(out.contains(&Output::GetStats));
    let first = sends(&out);
    assert_eq!(first.len(), 1, "one ping at open, the rest on the interval");
    p.handle(101.0, Input::Stats(Some(&stats_with_rtt(0.0015))));
    p.handle(103.0, Input::Message(&pong_for(&first[0])));
    drain(&mut p);
    p.handle(110.0, Input::Timer);
    let s2 = sends(&drain(&mut p));
    assert_eq!(s2.len(), 1);
    p.handle(114.0, Input::Message(&pong_for(&s2[0])));
    p.handle(120.0, Input::Timer);
    let s3 = sends(&drain(&mut p));
    p.handle(122.0, Input::Message(&pong_for(&s3[0])));
    let out = drain(&mut p);
    // the stats taken at open already hold the RTT: no second getStats round
    assert!(!out.contains(&Output::GetStats));
    let r = done(&out).expect("done");
    assert!(r.success());
    // the stats sample, below the fastest ping (2 ms): it stands
    assert_eq!(r.rtt_ms, Some(1.5));
    assert_eq!(r.stats_rtt_ms, Some(1.5));
    assert_eq!((r.series.samples, r.series.sent, r.series.lost), (3, 3, 0));
    assert_eq!(r.series.median_ms, Some(3.0));
    assert_eq!(r.series.min_ms, Some(2.0));
    assert_eq!(r.series.max_ms, Some(4.0));
    assert_eq!(r.setup_ms, Some(50.0));
    assert_eq!(r.measure_ms, Some(22.0));
    assert_eq!(r.pair.unwrap().path().unwrap().as_str(), "direct");
    // after the end: pings are still answered (the peer's series may be running), nothing else
    p.handle(200.0, Input::Timer);
    p.handle(200.0, Input::Message(r#"{"type":"ping","seq":9,"ts":1}"#));
    p.handle(200.0, Input::Message("junk"));
    assert_eq!(drain(&mut p), vec![Output::Send(r#"{"type":"pong","seq":9,"ts":1,"rx":1}"#.into())]);
    p.handle(201.0, Input::ChannelClosed);
    p.handle(202.0, Input::ChannelClosed);
    assert_eq!(drain(&mut p), vec![Output::Closed], "the owner learns the peer left, once");
    p.handle(203.0, Input::Message(r#"{"type":"ping","seq":10,"ts":1}"#));
    assert!(drain(&mut p).is_empty());
}

#[test]
fn ping_median_is_used_when_stats_have_no_rtt_and_lost_pings_count() {
    let (mut p, out) = opened(Role::Answerer, cfg());
    p.handle(100.0, Input::Stats(None));
    let s1 = sends(&out);
    p.handle(105.0, Input::Message(&pong_for(&s1[0])));
    p.handle(110.0, Input::Timer);
    let _lost = sends(&drain(&mut p));
    p.handle(120.0, Input::Timer);
    let s3 = sends(&drain(&mut p));
    p.handle(127.0, Input::Message(&pong_for(&s3[0])));
    drain(&mut p);
    // ping 2 (sent at 110) is lost before its 100 ms timeout: 4 x the typical answer (the
    // lower median of 5 and 7 ms) + 50 ms = 70 ms after it was sent
    assert_eq!(p.deadline(), Some(180.0));
    p.handle(179.0, Input::Timer);
    assert!(done(&drain(&mut p)).is_none());
    p.handle(180.0, Input::Timer);
    let out = drain(&mut p);
    assert!(out.contains(&Output::GetStats));
    p.handle(211.0, Input::Stats(Some(&[])));
    let r = done(&drain(&mut p)).unwrap();
    assert_eq!(r.stats_rtt_ms, None);
    assert_eq!(r.rtt_ms, Some(6.0), "the location of 5 and 7");
    assert_eq!((r.series.samples, r.series.sent, r.series.lost), (2, 3, 1));
    assert_eq!(r.series.jitter_ms, Some(2.0));
}

#[test]
fn a_steady_series_refines_the_stats_rtt_a_jittery_one_does_not() {
    use p2p_probe::core::estimate::{estimate, Evidence, Source};
    let est = |all: &[f64], stats: Option<f64>| {
        estimate(&Evidence { all, spaced: all.get(..1).unwrap_or(&[]), stats_current_ms: stats, ..Default::default() })
            .map(|e| (e.rtt_ms, e.source))
    };
    // steady: the median 0.5 ms above the fastest ping, 51.4 below Chromium's whole-ms 52
    let steady = [51.9, 51.4, 51.9, 52.4, 51.9];
    assert_eq!(est(&steady, Some(52.0)), Some((51.4, Source::Pings)));
    // still steady when a busy page delayed two of the five pings a lot
    assert_eq!(est(&[51.6, 60.2, 51.3, 51.9, 58.0], Some(52.0)), Some((51.3, Source::Pings)));
    // the stats value stands when it is the lower one
    assert_eq!(est(&steady, Some(51.0)), Some((51.0, Source::Stats)));
    // too few answers to call it steady, and not slower than the stats RTT: the pings' location
    assert_eq!(est(&[40.0, 40.1], Some(52.0)).map(|e| e.1), Some(Source::Pings));
    // no stats RTT: the pings
    assert_eq!(est(&[], None), None);
    // a stats RTT of 0 (below resolution: Firefox and Chromium on loopback) yields to answered
    // pings, and stands only when no ping was answered
    assert_eq!(est(&[0.6, 0.7, 0.6], Some(0.0)), Some((0.6, Source::Pings)));
    assert_eq!(est(&[], Some(0.0)), Some((0.0, Source::Stats)));
}

#[test]
fn all_pings_lost_and_no_stats_is_no_rtt() {
    let c = Config { pings: 1, ..cfg() };
    let (mut p, _) = opened(Role::Initiator, c);
    p.handle(101.0, Input::Stats(None));
    p.handle(200.0, Input::Timer);
    drain(&mut p);
    p.handle(201.0, Input::Stats(None));
    let r = done(&drain(&mut p)).unwrap();
    assert_eq!(r.error, Some(ProbeError::NoRtt));
    assert!(!r.success());
    assert_eq!(r.series.lost, 1);
}

#[test]
fn connect_timeout_fires_once_and_early_or_repeated_timers_are_noops() {
    let mut p = Probe::new(0.0, cfg(), Role::Answerer);
    drain(&mut p);
    p.handle(10.0, Input::Start);
    drain(&mut p);
    assert_eq!(p.deadline(), Some(1010.0));
    p.handle(500.0, Input::Timer);
    p.handle(500.0, Input::Timer);
    assert!(drain(&mut p).is_empty());
    p.handle(1010.0, Input::Timer);
    let out = drain(&mut p);
    assert_eq!(done(&out).unwrap().error, Some(ProbeError::ConnectTimeout));
    assert_eq!(p.deadline(), None);
    p.handle(1011.0, Input::Timer);
    p.handle(1011.0, Input::ChannelOpen);
    p.handle(1011.0, Input::Close);
    assert!(drain(&mut p).is_empty(), "exactly one Done");
}

#[test]
fn prepared_session_that_never_starts_expires() {
    let mut p = Probe::new(0.0, cfg(), Role::Initiator);
    drain(&mut p);
    assert_eq!(p.deadline(), Some(5000.0));
    p.handle(4999.0, Input::Timer);
    assert!(drain(&mut p).is_empty());
    p.handle(5001.0, Input::Timer);
    assert_eq!(done(&drain(&mut p)).unwrap().error, Some(ProbeError::NotStarted));
}

#[test]
fn duplicate_start_and_open_are_ignored() {
    let (mut p, _) = opened(Role::Initiator, cfg());
    p.handle(101.0, Input::Start);
    p.handle(101.0, Input::ChannelOpen);
    let out = drain(&mut p);
    assert!(!out.contains(&Output::Connected));
    assert!(!out.contains(&Output::CreateOffer));
    assert_eq!(out.iter().filter(|o| matches!(o, Output::Warn(_))).count(), 1);
}

#[test]
fn ice_failure_and_peer_close_before_any_pong_fail_with_codes() {
    let mut p = Probe::new(0.0, cfg(), Role::Initiator);
    p.handle(0.0, Input::Start);
    p.handle(5.0, Input::ConnectionFailed);
    assert_eq!(done(&drain(&mut p)).unwrap().error, Some(ProbeError::IceFailed));

    let (mut p, _) = opened(Role::Answerer, cfg());
    p.handle(101.0, Input::ChannelClosed);
    assert_eq!(done(&drain(&mut p)).unwrap().error, Some(ProbeError::PeerClosed));
}

#[test]
fn peer_closing_after_its_own_pings_reached_us_reports_the_ice_figure_when_none_of_ours_was_answered() {
    // the lossy uplink: our pings all lost, the peer's arrived (we answered), then it closed
    for role in [Role::Initiator, Role::Answerer] {
        let (mut p, _) = opened(role, cfg());
        p.handle(100.5, Input::Stats(Some(&stats_with_rtt(0.051))));
        p.handle(150.0, Input::Message(r#"{"type":"ping","seq":1,"ts":1}"#));
        p.handle(160.0, Input::Timer);
        drain(&mut p);
        p.handle(900.0, Input::ChannelClosed);
        let r = done(&drain(&mut p)).expect("ends at once");
        assert!(r.success(), "{role:?}: {r:?}");
        assert_eq!(r.rtt_ms, Some(51.0));
        assert_eq!(r.estimate.map(|e| e.source), Some(p2p_probe::core::estimate::Source::Stats));
        assert_eq!(r.series.samples, 0);
    }
    // ... but a peer that closes without a ping of its own reached us is a failure
    let (mut p, _) = opened(Role::Initiator, cfg());
    p.handle(100.5, Input::Stats(Some(&stats_with_rtt(0.051))));
    p.handle(900.0, Input::ChannelClosed);
    assert_eq!(done(&drain(&mut p)).unwrap().error, Some(ProbeError::PeerClosed));
    // ... and so is one whose pings came but no RTT from the browser
    let (mut p, _) = opened(Role::Initiator, cfg());
    p.handle(150.0, Input::Message(r#"{"type":"ping","seq":1,"ts":1}"#));
    p.handle(900.0, Input::ChannelClosed);
    assert_eq!(done(&drain(&mut p)).unwrap().error, Some(ProbeError::PeerClosed));
}

#[test]
fn peer_closing_mid_series_reports_what_was_answered_without_counting_in_flight_as_lost() {
    let (mut p, out) = opened(Role::Answerer, cfg());
    p.handle(100.5, Input::Stats(None));
    p.handle(104.0, Input::Message(&pong_for(&sends(&out)[0])));
    p.handle(110.0, Input::Timer);
    drain(&mut p);
    p.handle(111.0, Input::ChannelClosed);
    let r = done(&drain(&mut p)).expect("ends at once, without waiting for stats");
    assert!(r.success());
    assert_eq!(r.rtt_ms, Some(4.0));
    assert_eq!((r.series.samples, r.series.sent, r.series.lost), (1, 1, 0));
}

#[test]
fn we_answer_pings_and_ignore_foreign_pongs_and_junk() {
    let (mut p, _) = opened(Role::Answerer, cfg());
    p.handle(101.0, Input::Message(r#"{"type":"ping","seq":42,"ts":1.5}"#));
    assert_eq!(sends(&drain(&mut p)), vec![r#"{"type":"pong","seq":42,"ts":1.5,"rx":1}"#.to_string()]);
    for junk in [r#"{"type":"pong","seq":999,"ts":0}"#, "garbage", "[]", r#"{"type":"ping","seq":"1"}"#] {
        p.handle(101.0, Input::Message(junk));
        let out = drain(&mut p);
        assert!(matches!(out.as_slice(), [Output::Warn(_)]), "{junk}: {out:?}");
    }
}

#[test]
fn without_any_answer_a_ping_waits_for_its_full_timeout() {
    let c = Config { pings: 2, ping_interval_ms: 0.0, ..cfg() };
    let (mut p, _) = opened(Role::Initiator, c);
    assert_eq!(p.deadline(), Some(200.0));
    p.handle(100.0, Input::Stats(None));
    p.handle(199.0, Input::Timer);
    assert!(!drain(&mut p).contains(&Output::GetStats));
    p.handle(200.0, Input::Timer);
    assert!(drain(&mut p).contains(&Output::GetStats));
}

#[test]
fn pong_counts_once_and_late_pong_after_timeout_is_ignored() {
    let c = Config { pings: 2, ping_interval_ms: 0.0, ..cfg() };
    let (mut p, out) = opened(Role::Initiator, c);
    let pings = sends(&out);
    assert_eq!(pings.len(), 2, "interval 0 sends the series at once");
    p.handle(100.0, Input::Stats(None));
    p.handle(103.0, Input::Message(&pong_for(&pings[0])));
    p.handle(104.0, Input::Message(&pong_for(&pings[0])));
    let out = drain(&mut p);
    assert_eq!(out.iter().filter(|o| matches!(o, Output::Warn(_))).count(), 1);
    p.handle(162.0, Input::Timer); // ping 1 lost at 100 + 4 x 3 + 50
    assert!(drain(&mut p).contains(&Output::GetStats), "series complete");
    // its late pong is expected on a lossy link: ignored quietly
    p.handle(170.0, Input::Message(&pong_for(&pings[1])));
    assert!(drain(&mut p).is_empty());
}

/// Opens a probe (stats RTT 50 ms at open) and lets its whole series of 3 pings go out, 10 ms
/// apart at 100, 110 and 120, unanswered; returns the probe and the pings.
fn series_of_three(role: Role, c: Config) -> (Probe, Vec<String>) {
    let (mut p, out) = opened(role, c);
    p.handle(100.0, Input::Stats(Some(&stats_with_rtt(0.050))));
    let mut pings = sends(&out);
    for t in [110.0, 120.0] {
        p.handle(t, Input::Timer);
        pings.extend(sends(&drain(&mut p)));
    }
    assert_eq!(pings.len(), 3);
    (p, pings)
}

#[test]
fn initiator_pings_the_answerer_could_not_have_heard_are_replaced_not_counted_lost() {
    // 3 pings 10 ms apart; the first two reach the answerer before its channel exists
    let (mut p, pings) = series_of_three(Role::Initiator, cfg());
    // the first pong of the connection answers ping 3: pings 1 and 2 are void, two more go out
    p.handle(170.0, Input::Message(&pong_for(&pings[2])));
    let out = drain(&mut p);
    let more = sends(&out);
    assert_eq!(more.len(), 1, "a replacement goes out at once");
    p.handle(180.0, Input::Timer);
    let more2 = sends(&drain(&mut p));
    assert_eq!(more2.len(), 1, "and the next one interval later");
    // a late pong of a void ping is ignored quietly
    p.handle(181.0, Input::Message(&pong_for(&pings[0])));
    assert!(drain(&mut p).is_empty());
    p.handle(221.0, Input::Message(&pong_for(&more[0])));
    p.handle(230.0, Input::Message(&pong_for(&more2[0])));
    let r = done(&drain(&mut p)).unwrap();
    assert_eq!((r.series.samples, r.series.sent, r.series.lost), (3, 3, 0));
    assert_eq!(r.series.min_ms, Some(50.0));
}

#[test]
fn answerer_pings_lost_before_the_first_pong_still_count() {
    let (mut p, pings) = series_of_three(Role::Answerer, cfg());
    p.handle(170.0, Input::Message(&pong_for(&pings[2])));
    assert!(sends(&drain(&mut p)).is_empty(), "no replacements on the answerer");
    // pings 1 and 2 expire at their 100 ms timeout (below 4 x 50 + 50 ms)
    p.handle(200.0, Input::Timer);
    assert!(done(&drain(&mut p)).is_none());
    p.handle(210.0, Input::Timer);
    let r = done(&drain(&mut p)).unwrap();
    assert_eq!((r.series.samples, r.series.sent, r.series.lost), (1, 3, 2));
}

#[test]
fn ping_flood_is_capped_and_warnings_are_rate_limited() {
    let (mut p, _) = opened(Role::Answerer, Config { pings: 1, ping_timeout_ms: 1e9, ..cfg() });
    drain(&mut p);
    let mut pongs = 0;
    let mut warns = 0;
    for i in 0..5000u32 {
        p.handle(101.0, Input::Message(&format!(r#"{{"type":"ping","seq":{i},"ts":0}}"#)));
        for o in drain(&mut p) {
            match o {
                Output::Send(_) => pongs += 1,
                Output::Warn(_) => warns += 1,
                _ => {}
            }
        }
    }
    assert_eq!(pongs, MAX_ANSWERED_PINGS);
    assert_eq!(warns, MAX_WARNINGS + 1);
}

#[test]
fn things_the_shell_drops_share_the_probe_warning_cap() {
    let (mut p, _) = opened(Role::Answerer, cfg());
    let mut warns = 0;
    for _ in 0..2000 {
        p.handle(101.0, Input::Ignored("binary data-channel message ignored"));
        warns += drain(&mut p).iter().filter(|o| matches!(o, Output::Warn(_))).count() as u32;
    }
    p.handle(101.0, Input::Message("junk"));
    warns += drain(&mut p).iter().filter(|o| matches!(o, Output::Warn(_))).count() as u32;
    assert_eq!(warns, MAX_WARNINGS + 1);
}

#[test]
fn close_before_the_end_reports_closed_once() {
    let (mut p, _) = opened(Role::Initiator, cfg());
    p.handle(101.0, Input::Close);
    let out = drain(&mut p);
    assert_eq!(done(&out).unwrap().error, Some(ProbeError::Closed));
    p.handle(102.0, Input::Close);
    assert!(drain(&mut p).is_empty());
}

#[test]
fn final_stats_that_never_answer_do_not_hang_the_result() {
    let c = Config { pings: 1, ..cfg() };
    let (mut p, out) = opened(Role::Initiator, c);
    p.handle(102.0, Input::Message(&pong_for(&sends(&out)[0])));
    let out = drain(&mut p);
    // the GetStats from open is still pending: no second request
    assert!(!out.contains(&Output::GetStats));
    assert_eq!(p.deadline(), Some(102.0 + STATS_GRACE_MS));
    p.handle(102.0 + STATS_GRACE_MS, Input::Timer);
    let r = done(&drain(&mut p)).unwrap();
    assert_eq!(r.rtt_ms, Some(2.0));
}

#[test]
fn manual_mode_measures_on_request_like_the_legacy_class() {
    let c = Config { auto_measure: false, start_timeout_ms: None, ..cfg() };
    let mut p = Probe::new(0.0, c, Role::Initiator);
    assert!(drain(&mut p).is_empty(), "no timer before start in manual mode");
    // measuring before open resolves at once to nothing
    p.handle(1.0, Input::Measure(MeasureSpec { pings: 2, interval_ms: 0.0, timeout_ms: 50.0, budget_ms: 0.0 }));
    let out = drain(&mut p);
    assert!(matches!(out.as_slice(), [Output::MeasureDone(r)] if r.rtt_ms.is_none()));
    p.handle(2.0, Input::Start);
    p.handle(10.0, Input::ChannelOpen);
    let out = drain(&mut p);
    assert!(out.contains(&Output::Connected));
    assert!(sends(&out).is_empty(), "manual mode waits for measureRTT");
    p.handle(20.0, Input::Measure(MeasureSpec { pings: 2, interval_ms: 0.0, timeout_ms: 50.0, budget_ms: 0.0 }));
    let pings = sends(&drain(&mut p));
    p.handle(21.0, Input::Message(&pong_for(&pings[0])));
    p.handle(23.0, Input::Message(&pong_for(&pings[1])));
    drain(&mut p);
    p.handle(23.5, Input::Stats(None));
    let out = drain(&mut p);
    let r = out.iter().find_map(|o| if let Output::MeasureDone(r) = o { Some(r.clone()) } else { None }).unwrap();
    assert_eq!(r.rtt_ms, Some(2.0));
    assert!(done(&out).is_none());
    // a second measurement works too, with fresh sequence numbers
    p.handle(30.0, Input::Measure(MeasureSpec { pings: 1, interval_ms: 0.0, timeout_ms: 50.0, budget_ms: 0.0 }));
    let pings2 = sends(&drain(&mut p));
    assert!(pings2[0].contains("\"seq\":2"));
    p.handle(31.0, Input::ChannelClosed);
    let out = drain(&mut p);
    assert!(out.contains(&Output::Closed));
    assert!(out.iter().any(|o| matches!(o, Output::MeasureDone(_))));
}

#[test]
fn two_probes_back_to_back_on_a_simulated_clock() {
    // A tiny str0m-style harness: messages between the two take `one_way` ms.
    let one_way = 25.0;
    let c = Config { pings: 5, ping_interval_ms: 5.0, ..cfg() };
    let mut a = Probe::new(0.0, c, Role::Initiator);
    let mut b = Probe::new(0.0, c, Role::Answerer);
    a.handle(0.0, Input::Start);
    b.handle(0.0, Input::Start);
    a.handle(60.0, Input::ChannelOpen);
    b.handle(60.0, Input::ChannelOpen);
    let mut in_flight: Vec<(f64, bool, String)> = Vec::new(); // (arrival, to_b, text)
    let mut timers = [OneShot::new(), OneShot::new()];
    let mut results = [None::<Report>, None::<Report>];
    let mut now = 60.0;
    for _ in 0..10_000 {
        for (i, p) in [&mut a, &mut b].into_iter().enumerate() {
            while let Some(o) = p.poll_output() {
                match o {
                    Output::Send(s) => in_flight.push((now + one_way, i == 0, s)),
                    Output::GetStats => p.handle(now, Input::Stats(Some(&stats_with_rtt(0.050)))),
                    Output::Done(r) => results[i] = Some(r),
                    _ => {}
                }
            }
            let _ = timers[i].sync(p.deadline());
        }
        if results.iter().all(Option::is_some) {
            break;
        }
        let next_msg = in_flight.iter().map(|m| m.0).reduce(f64::min);
        let next_timer = timers.iter().filter_map(OneShot::armed_at).reduce(f64::min);
        now = match (next_msg, next_timer) {
            (Some(x), Some(y)) => x.min(y),
            (x, y) => x.or(y).expect("something pending"),
        };
        if let Some(pos) = in_flight.iter().position(|m| m.0 <= now) {
            let (_, to_b, text) = in_flight.remove(pos);
            if to_b {
                b.handle(now, Input::Message(&text))
            } else {
                a.handle(now, Input::Message(&text))
            }
        } else {
            for (i, p) in [&mut a, &mut b].into_iter().enumerate() {
                if timers[i].armed_at().is_some_and(|t| t <= now) {
                    timers[i].fired();
                    p.handle(now, Input::Timer);
                }
            }
        }
    }
    for r in results {
        let r = r.expect("both finished");
        assert_eq!(r.series.median_ms, Some(50.0));
        assert_eq!(r.series.samples, 5);
        assert_eq!(r.rtt_ms, Some(50.0));
        assert!((r.measure_ms.unwrap() - 70.0).abs() < 1e-9, "4 intervals + one RTT: {:?}", r.measure_ms);
    }
}

// ---- property test: random event sequences never panic and end with exactly one result ----

#[derive(Debug, Clone)]
enum Ev {
    Start,
    Offer,
    Answer,
    Cand,
    Applied(bool),
    LocalFailed,
    Open,
    Closed,
    Msg(String),
    PongFor(u64),
    Failed,
    Stats(Option<f64>),
    Timer,
    Measure(u32),
    Close,
}

fn ev() -> impl Strategy<Value = Ev> {
    prop_oneof![
        1 => Just(Ev::Start),
        1 => Just(Ev::Offer),
        1 => Just(Ev::Answer),
        1 => Just(Ev::Cand),
        1 => any::<bool>().prop_map(Ev::Applied),
        1 => Just(Ev::LocalFailed),
        3 => Just(Ev::Open),
        1 => Just(Ev::Closed),
        1 => ".{0,40}".prop_map(Ev::Msg),
        3 => (0u64..8).prop_map(Ev::PongFor),
        1 => Just(Ev::Failed),
        1 => proptest::option::of(0.0f64..1.0).prop_map(Ev::Stats),
        4 => Just(Ev::Timer),
        1 => (0u32..4).prop_map(Ev::Measure),
        1 => Just(Ev::Close),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]
    #[test]
    fn random_sequences_never_panic_and_end_exactly_once(
        initiator in any::<bool>(),
        auto in any::<bool>(),
        events in proptest::collection::vec((ev(), 0.0f64..3000.0), 0..60),
    ) {
        let c = Config { auto_measure: auto, ..cfg() };
        let mut p = Probe::new(0.0, c, if initiator { Role::Initiator } else { Role::Answerer });
        let mut dones = 0;
        let mut now = 0.0;
        let run = |p: &mut Probe, now: f64, e: Input<'_>, dones: &mut u32| {
            p.handle(now, e);
            while let Some(o) = p.poll_output() {
                if let Output::Done(r) = &o {
                    *dones += 1;
                    prop_assert!(r.success() || r.error.is_some());
                    if let Some(rtt) = r.rtt_ms { prop_assert!(rtt.is_finite() && rtt >= 0.0); }
                    prop_assert!(r.series.samples + r.series.lost <= r.series.sent);
                }
            }
            Ok(())
        };
        for (e, dt) in events {
            now += dt;
            let stats;
            let msg;
            let input = match e {
                Ev::Start => Input::Start,
                Ev::Offer => Input::Signal(Signal::Offer("o".into())),
                Ev::Answer => Input::Signal(Signal::Answer("a".into())),
                Ev::Cand => Input::Signal(Signal::Candidate(Candidate { candidate: "c".into(), sdp_mid: None, sdp_m_line_index: None, username_fragment: None })),
                Ev::Applied(ok) => Input::RemoteApplied { ok },
                Ev::LocalFailed => Input::LocalFailed,
                Ev::Open => Input::ChannelOpen,
                Ev::Closed => Input::ChannelClosed,
                Ev::Msg(m) => { msg = m; Input::Message(&msg) }
                Ev::PongFor(seq) => { msg = format!(r#"{{"type":"pong","seq":{seq}}}"#); Input::Message(&msg) }
                Ev::Failed => Input::ConnectionFailed,
                Ev::Stats(r) => { stats = r.map(stats_with_rtt); Input::Stats(stats.as_deref()) }
                Ev::Timer => Input::Timer,
                Ev::Measure(n) => Input::Measure(MeasureSpec { pings: n, interval_ms: 5.0, timeout_ms: 100.0, budget_ms: 0.0 }),
                Ev::Close => Input::Close,
            };
            run(&mut p, now, input, &mut dones)?;
        }
        // However the sequence went, closing the page ends it: exactly one Done in total
        // in auto mode (manual mode reports failures only).
        run(&mut p, now + 1.0, Input::Close, &mut dones)?;
        prop_assert!(p.is_finished());
        if auto { prop_assert_eq!(dones, 1); } else { prop_assert!(dones <= 1); }
    }
}

#[test]
fn the_peers_pings_are_answered_in_every_phase_of_ours() {
    let ping = r#"{"type":"ping","seq":7,"ts":1}"#;
    let pongs = |out: &[Output]| sends(out).iter().filter(|s| s.contains("\"pong\"")).count();
    // manual mode: connecting (the peer's message overtook our `open`), open and waiting for
    // measureRTT(), measuring, done measuring, closed by the page and lingering
    let c = Config { auto_measure: false, ..cfg() };
    let mut p = Probe::new(0.0, c, Role::Answerer);
    p.handle(1.0, Input::Start);
    drain(&mut p);
    p.handle(2.0, Input::Message(ping));
    assert_eq!(pongs(&drain(&mut p)), 1, "connecting");
    p.handle(3.0, Input::ChannelOpen);
    p.handle(4.0, Input::Message(ping));
    assert_eq!(pongs(&drain(&mut p)), 1, "open, no measureRTT() yet");
    p.handle(5.0, Input::Measure(MeasureSpec { pings: 1, interval_ms: 0.0, timeout_ms: 50.0, budget_ms: 0.0 }));
    drain(&mut p);
    p.handle(6.0, Input::Message(ping));
    assert_eq!(pongs(&drain(&mut p)), 1, "measuring");
    p.handle(60.0, Input::Timer);
    p.handle(61.0, Input::Stats(None));
    assert!(drain(&mut p).iter().any(|o| matches!(o, Output::MeasureDone(_))));
    p.handle(62.0, Input::Message(ping));
    assert_eq!(pongs(&drain(&mut p)), 1, "measured");
    p.handle(63.0, Input::Close);
    drain(&mut p);
    p.handle(64.0, Input::Message(ping));
    assert_eq!(pongs(&drain(&mut p)), 1, "closed by the page, lingering");
    // auto mode: done and lingering
    let (mut q, out) = opened(Role::Initiator, Config { ping_interval_ms: 0.0, ..cfg() });
    for (i, s) in sends(&out).iter().enumerate() {
        q.handle(101.0 + i as f64, Input::Message(&pong_for(s)));
    }
    q.handle(121.0, Input::Stats(Some(&stats_with_rtt(0.002))));
    let out = drain(&mut q);
    assert!(done(&out).is_some());
    q.handle(130.0, Input::Message(ping));
    assert_eq!(pongs(&drain(&mut q)), 1, "auto mode, done");
}

#[test]
fn a_measurement_ends_at_its_deadline_even_if_getstats_never_answers() {
    let spec = MeasureSpec { pings: 3, interval_ms: 10.0, timeout_ms: 100.0, budget_ms: 0.0 };
    let c = Config { auto_measure: false, ..cfg() };
    let mut p = Probe::new(0.0, c, Role::Initiator);
    p.handle(1.0, Input::Start);
    p.handle(10.0, Input::ChannelOpen);
    p.handle(10.0, Input::Measure(spec));
    let pings = sends(&drain(&mut p));
    p.handle(11.0, Input::Message(&pong_for(&pings[0])));
    // a page so busy that the timer only fires long after everything was due
    let late = 10.0 + measure_deadline_ms(&spec) + 5.0;
    assert!(p.deadline().unwrap() <= 10.0 + measure_deadline_ms(&spec));
    p.handle(late, Input::Timer);
    let out = drain(&mut p);
    let r = out.iter().find_map(|o| if let Output::MeasureDone(r) = o { Some(r.clone()) } else { None });
    let r = r.expect("settled at the first timer past the deadline");
    assert_eq!(r.series.samples, 1);
    assert_eq!(p.deadline(), None);
}

#[test]
fn the_answerer_chains_itself_when_the_peers_chain_stops_before_its_series_is_good_enough() {
    // a long budget: the peer's chain stops after three samples (its own sufficed); ours (the
    // answerer's) are still spread, so it takes over with a chain of its own, long before the
    // budget ends, instead of listening until then
    let c = Config { pings: 3, ping_interval_ms: 2.0, ping_timeout_ms: 1000.0, measure_budget_ms: 3000.0, ..cfg() };
    let (mut p, out) = opened(Role::Answerer, c);
    let burst: Vec<String> = burst_sent(&mut p, &out, 3, 2.0).into_iter().map(|(_, s)| s).collect();
    // its burst reads spread: no steady path
    for (ping, at) in burst.iter().zip([150.0, 175.0, 141.0]) {
        p.handle(at, Input::Message(&pong_for(ping)));
        drain(&mut p);
    }
    // the peer's chain: ping K plain (answered), then K+1 "chain":K one round trip after
    // our pong, three times, with spread round trips
    let mut t = 200.0;
    let mut chained_at = 0.0;
    for (k, rtt) in [(100u64, 47.0), (101, 66.0), (102, 39.0)] {
        let ping = if k == 100 {
            codec::encode_ping(k, 0)
        } else {
            codec::encode_ping_chained(k, 0, Some(codec::Chain::After(k - 1)))
        };
        p.handle(t, Input::Message(&ping));
        let pongs = sends(&drain(&mut p));
        assert!(pongs.iter().any(|s| s.contains("\"pong\"")), "{pongs:?}");
        chained_at = t;
        t += rtt;
    }
    let last = codec::encode_ping_chained(103, 0, Some(codec::Chain::After(102)));
    p.handle(t, Input::Message(&last));
    drain(&mut p);
    chained_at = chained_at.max(t);
    // the peer's chain stops here; our own chained pings start within a few round trips
    let mut own_chain_at = None;
    let mut now = chained_at;
    while now < 100.0 + 3000.0 && own_chain_at.is_none() {
        now = p.deadline().unwrap_or(now + 10.0).max(now + 0.5);
        p.handle(now, Input::Timer);
        if sends(&drain(&mut p)).iter().any(|s| s.contains("\"ping\"") && s.contains("\"chain\"")) {
            own_chain_at = Some(now);
        }
    }
    let at = own_chain_at.expect("the answerer never chained by itself");
    assert!(at - chained_at < 400.0, "own chain {at} ms, the peer's chain stopped at {chained_at} ms");
}

#[test]
fn initiator_pings_the_answerer_never_heard_are_sent_again_when_its_pings_arrive() {
    // the channel's open message was lost: our burst reached the answerer before its channel
    // existed, so none is ever answered; its own pings, a second later, say it has the channel
    let c = Config { measure_budget_ms: 500.0, ping_timeout_ms: 2000.0, ..cfg() };
    let (mut p, _) = series_of_three(Role::Initiator, c);
    for t in [300.0, 600.0, 900.0] {
        p.handle(t, Input::Timer);
        drain(&mut p);
    }
    // the peer's first ping: answered, and our burst starts again
    p.handle(1100.0, Input::Message(&codec::encode_ping(0, 0)));
    let mut again: Vec<String> = sends(&drain(&mut p)).into_iter().filter(|s| s.contains("\"ping\"")).collect();
    for t in [1110.0, 1120.0] {
        p.handle(t, Input::Timer);
        again.extend(sends(&drain(&mut p)).into_iter().filter(|s| s.contains("\"ping\"")));
    }
    assert_eq!(again.len(), 3, "{again:?}");
    for (i, ping) in again.iter().enumerate() {
        p.handle(1160.0 + i as f64, Input::Message(&pong_for(ping)));
    }
    let mut report = None;
    let mut now = 1170.0;
    while report.is_none() && now < 5000.0 {
        p.handle(now, Input::Stats(Some(&stats_with_rtt(0.050))));
        p.handle(now, Input::Timer);
        report = done(&drain(&mut p));
        now += 50.0;
    }
    let r = report.expect("a result");
    assert!(r.error.is_none() && r.rtt_ms.is_some(), "{r:?}");
    assert_eq!(
        (r.series.samples, r.series.lost),
        (3, 0),
        "the unheard pings are neither samples nor losses: {:?}",
        r.series
    );
}

#[test]
fn the_second_phase_ticks_and_tells_the_peer_how_late_its_timers_fire() {
    // a spread burst of ~300-ms round trips (no steady path): the chained phase follows
    let c = Config { pings: 3, ping_interval_ms: 2.0, ping_timeout_ms: 1000.0, measure_budget_ms: 3000.0, ..cfg() };
    let (mut p, out) = opened(Role::Initiator, c);
    let burst: Vec<String> = burst_sent(&mut p, &out, 3, 2.0).into_iter().map(|(_, s)| s).collect();
    // no ticks during the burst: a clean link pays nothing for them
    assert!(p.deadline().is_some_and(|d| d >= 104.0 + 100.0), "{:?}", p.deadline());
    let mut chained = vec![];
    for (ping, at) in burst.iter().zip([400.0, 425.0, 391.0]) {
        p.handle(at, Input::Message(&pong_for(ping)));
        chained.extend(sends(&drain(&mut p)).into_iter().filter(|s| s.contains("\"chain\"")));
    }
    assert_eq!(chained.len(), 1, "the chain starts: {chained:?}");
    assert!(!chained[0].contains("late"), "no figure before any tick: {}", chained[0]);
    // while the chained ping waits for its pong, a timer every TICK_MS; each fires 20 ms late
    let mut now = 425.0;
    for _ in 0..MIN_TICKS {
        let d = p.deadline().expect("a tick");
        assert!(d <= now + TICK_MS + 0.001, "the next timer at {d}, now {now}");
        now = d + 20.0;
        p.handle(now, Input::Timer);
        assert!(sends(&drain(&mut p)).is_empty(), "a tick sends nothing");
    }
    // our pong to a ping of the peer's, and the next chained ping, say so
    p.handle(now, Input::Message(&codec::encode_ping(7, 0)));
    let pong = sends(&drain(&mut p));
    assert!(pong.len() == 1 && pong[0].contains("\"late\":20"), "{pong:?}");
    p.handle(now + 1.0, Input::Message(&pong_for(&chained[0])));
    let next = sends(&drain(&mut p));
    assert!(next.len() == 1 && next[0].contains("\"chain\"") && next[0].contains("\"late\":20"), "{next:?}");
    // the peer's figure is taken without a warning (unknown fields of legacy clients are not ours)
    p.handle(now + 2.0, Input::Message(&codec::encode_pong_late("999", None, Some(3), Some(4))));
    assert!(drain(&mut p).iter().all(|o| !matches!(o, Output::Warn(w) if !w.contains("pong"))));
}

#[test]
fn a_path_within_the_target_of_zero_does_not_wait_for_an_overdue_pong() {
    // loopback between loaded pages: the burst's fastest answer 0.8 ms, the others the hosts'
    // 5-12 ms, one pong very late: the result is final at once, the late ping counts lost
    // when overdue (1.5 typical + 10 ms), not after `loss_limit` (4 typical + 50 ms)
    let c = Config { pings: 5, ping_interval_ms: 2.0, ping_timeout_ms: 2000.0, measure_budget_ms: 500.0, ..cfg() };
    let (mut p, out) = opened(Role::Initiator, c);
    assert!(out.contains(&Output::GetStats));
    p.handle(101.0, Input::Stats(Some(&stats_with_rtt(0.001))));
    let burst = burst_sent(&mut p, &out, 5, 2.0);
    for ((at, ping), rtt) in burst.iter().zip([0.8, 5.0, 12.0, 9.0]) {
        p.handle(at + rtt, Input::Message(&pong_for(ping)));
        assert!(drain(&mut p).iter().all(|o| !matches!(o, Output::Send(_))), "no chained phase");
    }
    let last_sent = burst[4].0;
    let mut now = 120.0;
    let mut report = None;
    while now < last_sent + 200.0 && report.is_none() {
        now = p.deadline().unwrap_or(now + 5.0).max(now + 0.1);
        p.handle(now, Input::Timer);
        report = done(&drain(&mut p)).map(|r| (now, r));
    }
    // typical 8 ms: overdue after 22 ms, lost only after 82
    let (at, r) = report.expect("the series never finished");
    assert!(at <= last_sent + 23.0, "finished at {at}, the last ping sent at {last_sent}");
    assert_eq!((r.series.sent, r.series.lost), (5, 1), "{r:?}");
    let e = r.estimate.expect("an estimate");
    assert!((e.rtt_ms - 0.8).abs() < 1e-9 && e.ci95_ms.0 == 0.0 && (e.ci95_ms.1 - 1.3).abs() < 1e-9, "{e:?}");
    // its pong, when it comes, is ignored quietly
    p.handle(at + 30.0, Input::Message(&pong_for(&burst[4].1)));
    assert!(drain(&mut p).iter().all(|o| !matches!(o, Output::Warn(_))));
}

/// Runs an initiator's chained phase on answers of the given round trips (each pong `rtt`
/// after its ping, the next chained ping as the probe sends it) and then lets its timer run
/// 60 ms, the last chained ping answered after 50; returns the pings sent meanwhile (when, the
/// `"chain"` and `"hold"` fields) with the seq of that last ping and when it left.
/// A ping as sent: when, its `"chain"` and `"hold"` fields.
type SentPing = (f64, Option<codec::Chain>, Option<u64>);

fn chain_then_wait(rtts: &[f64]) -> (Vec<SentPing>, u64, f64) {
    let c = Config { pings: 3, ping_interval_ms: 2.0, ping_timeout_ms: 1000.0, measure_budget_ms: 3000.0, ..cfg() };
    let (mut p, out) = opened(Role::Initiator, c);
    let burst: Vec<String> = burst_sent(&mut p, &out, 3, 2.0).into_iter().map(|(_, s)| s).collect();
    // a spread burst (no steady path): the chain starts on the last pong
    let mut chained = vec![];
    let mut now = 0.0;
    for (ping, at) in burst.iter().zip([140.0, 171.0, 152.0]) {
        now = at;
        p.handle(at, Input::Message(&pong_for(ping)));
        chained.extend(sends(&drain(&mut p)).into_iter().filter(|s| s.contains("\"chain\"")).map(|s| (at, s)));
    }
    let (mut sent_at, mut ping) = chained.pop().expect("the chain starts");
    for rtt in rtts {
        now = sent_at + rtt;
        p.handle(now, Input::Message(&pong_for(&ping)));
        let next: Vec<String> = sends(&drain(&mut p));
        assert_eq!(next.len(), 1, "one chained ping on each pong: {next:?}");
        (sent_at, ping) = (now, next[0].clone());
    }
    let seq = match codec::decode(&ping).unwrap() {
        codec::Wire::Ping { seq, .. } => seq,
        w => panic!("{w:?}"),
    };
    let mut early = vec![];
    let mut answered = false;
    while now < sent_at + 60.0 {
        now = p.deadline().expect("a timer").max(now + 0.1);
        if !answered && now >= sent_at + 50.0 {
            // the last ping's pong, 50 ms after it left
            (answered, now) = (true, sent_at + 50.0);
            p.handle(now, Input::Message(&pong_for(&ping)));
        } else {
            p.handle(now, Input::Timer);
        }
        for s in sends(&drain(&mut p)) {
            match codec::decode(&s).unwrap() {
                codec::Wire::Ping { chain, hold_us, .. } => early.push((now, chain, hold_us)),
                w => panic!("{w:?}"),
            }
        }
    }
    (early, seq, sent_at)
}

#[test]
fn a_chain_on_a_path_whose_spread_is_well_below_its_round_trip_is_paced() {
    // chained answers of 46..54 ms (sd √10 = 3.16, range 8): the next ping leaves 3 sd (9.49)
    // or the range, whichever is more, + 5 ms after the last, before its pong: 14.49 ms
    let (early, last, at) = chain_then_wait(&[46.0, 54.0, 50.0, 48.0, 52.0]);
    let (t, chain, _) = early.first().copied().expect("a paced ping before the last pong");
    assert!((t - (at + 3.0 * 10f64.sqrt() + 5.0)).abs() < 0.01, "paced at {t}, the last ping left at {at}");
    // no pong came back since the last one chained from: it names none
    assert_eq!(chain, Some(codec::Chain::Start));
    // once the last one's pong is in (at + 50), the next paced ping names it, and how long after
    // that pong it left: the answerer's sample leaves that wait out
    let (t, chain, hold) = early.iter().copied().find(|e| e.0 > at + 50.0).expect("a paced ping after the pong at +50");
    assert_eq!(chain, Some(codec::Chain::After(last)));
    let h = hold.expect("a hold") as f64 / 1000.0;
    assert!((h - (t - at - 50.0)).abs() < 0.01, "hold {h} ms, sent at {t}");
    assert!(t - at < 60.0, "{early:?}");
    assert_eq!(early.iter().filter(|e| e.0 < at + 60.0).count(), 4, "a ping every ~14.5 ms: {early:?}");
}

#[test]
fn a_chain_whose_spread_is_near_its_round_trip_keeps_one_ping_in_flight() {
    // answers of 30..70 ms: pacing would let a ping queue behind the one before
    let (early, last, at) = chain_then_wait(&[30.0, 70.0, 40.0, 60.0, 50.0]);
    // nothing before the last one's pong (at + 50), and then the next one on that pong
    assert_eq!(early.first().copied(), Some((at + 50.0, Some(codec::Chain::After(last)), None)), "{early:?}");
}
