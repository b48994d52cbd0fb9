//! The size floor of the package (bench/size.sh): the sans-IO core alone behind a minimal
//! wasm-bindgen binding, with no browser shell. Every core feature is reachable (every input,
//! stats selection with all fields, the initiator rule, every output and report field), so
//! nothing of the core is dropped as dead code. Not shipped; bench/size.sh swaps it in for
//! `src/web` in a temporary copy of the tree.

use crate::core::stats::StatEntry;
use crate::core::*;
use crate::prelude::*;
use wasm_bindgen::prelude::*;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = console, js_name = warn)]
    fn warn(s: &str);
}

#[wasm_bindgen]
pub struct Core {
    p: Probe,
}

fn opt(s: &str) -> Option<String> {
    (!s.is_empty()).then(|| s.to_string())
}

#[wasm_bindgen]
impl Core {
    pub fn create(now: f64, me: &str, peer: &str, pings: u32, auto: bool) -> Option<Core> {
        let role = role::decide(me, peer, |s| s.len() as f64, |a, b| a.len() as f64 - b.len() as f64)?;
        Some(Core { p: Probe::new(now, Config { pings, auto_measure: auto, ..Config::default() }, role) })
    }

    pub fn input(&mut self, now: f64, what: u32, text: String, n: f64) {
        let cand = || Candidate { candidate: text.clone(), sdp_mid: opt(&text), sdp_m_line_index: Some(n as u16), username_fragment: opt(&text) };
        let i = match what {
            0 => Input::Start,
            1 => Input::ChannelOpen,
            2 => Input::ChannelClosed,
            3 => Input::Timer,
            4 => Input::Close,
            5 => Input::ConnectionFailed,
            6 => Input::LocalFailed,
            7 => Input::RemoteApplied { ok: n > 0.0 },
            8 => Input::Measure(MeasureSpec { pings: n as u32, interval_ms: n, timeout_ms: n, budget_ms: n }),
            9 => Input::Message(&text),
            10 => Input::Signal(Signal::Offer(text.clone())),
            11 => Input::Signal(Signal::Answer(text.clone())),
            12 => Input::Signal(Signal::Candidate(cand())),
            13 => Input::Signal(Signal::EndOfCandidates),
            14 => Input::Stats(None),
            15 => Input::Cancel,
            16 => Input::AbortMeasure,
            17 => Input::Transport(if n > 0.0 { Transport::IceConnected } else { Transport::Connected }),
            _ => Input::Ignored("ignored"),
        };
        self.p.handle(now, i);
    }

    /// One stats object per call of `add`, then `stats` feeds them all.
    pub fn stats(&mut self, now: f64, s: Vec<String>, f: Vec<f64>) {
        let mut entries = Vec::new();
        for (c, x) in s.chunks(12).zip(f.chunks(4)) {
            let g = |i: usize| c.get(i).map_or("", |s| s.as_str());
            let h = |i: usize| x.get(i).copied().filter(|v| *v >= 0.0);
            entries.push(StatEntry {
                id: g(0).to_string(),
                kind: g(1).to_string(),
                selected_candidate_pair_id: opt(g(2)),
                selected: Some(g(3) == "s"),
                nominated: Some(g(3) == "n"),
                state: opt(g(4)),
                current_round_trip_time: h(0),
                total_round_trip_time: h(1),
                responses_received: h(2),
                local_candidate_id: opt(g(5)),
                remote_candidate_id: opt(g(6)),
                candidate_type: opt(g(7)),
                protocol: opt(g(8)),
                address: opt(g(9)),
                port: h(3),
                relay_protocol: opt(g(10)),
                network_type: opt(g(11)),
            });
        }
        self.p.handle(now, Input::Stats(Some(&entries)));
    }

    pub fn out(&mut self) -> Vec<f64> {
        let mut v = vec![self.p.deadline().unwrap_or(-1.0)];
        for o in self.p.take_outputs() {
            match o {
                Output::Send(t) | Output::ApplyRemote(_, t) => warn(&t),
                Output::AddCandidate(c) => {
                    warn(&c.candidate);
                    warn(c.sdp_mid.as_deref().unwrap_or(""));
                    warn(c.username_fragment.as_deref().unwrap_or(""));
                    v.push(c.sdp_m_line_index.map_or(-1.0, f64::from));
                }
                Output::Warn(w) => warn(w),
                Output::Done(r) | Output::MeasureDone(r) => {
                    let s = r.series;
                    let u = r.setup;
                    for x in [r.rtt_ms, s.median_ms, s.min_ms, s.max_ms, s.mean_ms, s.jitter_ms, r.stats_rtt_ms, r.setup_ms, r.measure_ms, u.signaling_ms, u.ice_ms, u.dtls_ms, u.channel_ms] {
                        v.push(x.unwrap_or(-1.0));
                    }
                    for x in [r.lost_out, r.lost_back] {
                        v.push(x.map_or(-1.0, f64::from));
                    }
                    v.extend([f64::from(s.samples), f64::from(s.sent), f64::from(s.lost), f64::from(u8::from(r.success()))]);
                    if let Some(p) = r.pair {
                        for t in [p.path().map(|k| k.as_str()), p.local_type.as_deref(), p.remote_type.as_deref(), p.protocol.as_deref(), p.network_type.as_deref(), stats::address_family(p.local_address.as_deref())] {
                            warn(t.unwrap_or(""));
                        }
                        if let Some(relay) = p.relay() {
                            warn(relay.host.unwrap_or(""));
                            warn(relay.protocol.unwrap_or(""));
                            v.push(relay.port.map_or(-1.0, f64::from));
                        }
                    }
                    if let Some(e) = r.error {
                        warn(e.code());
                        warn(e.message());
                    }
                }
                Output::CreateOffer => v.push(-2.0),
                Output::GetStats => v.push(-3.0),
                Output::Connected => v.push(-4.0),
                Output::Closed => v.push(-5.0),
                Output::Progress(s) => warn(s.as_str()),
            }
        }
        v
    }
}

/// Signal checks live in the shell today; their reasons are part of the core's errors.
#[wasm_bindgen]
pub fn reason(n: u32) -> String {
    let e = [SignalError::NotAnObject, SignalError::MissingSessionId, SignalError::SessionIdTooLong, SignalError::MissingPeer, SignalError::PeerIsSelf, SignalError::UnknownSession, SignalError::DuplicateSession, SignalError::NotFromPeer, SignalError::UnknownType, SignalError::BadPayload, SignalError::TooManySessions];
    e.get(n as usize).map_or("", |e| e.reason()).to_string()
}
