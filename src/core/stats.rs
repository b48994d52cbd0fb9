//! Picking the selected ICE candidate pair out of a `getStats()` report and turning it into an
//! RTT, across browsers:
//! - pair: `transport.selectedCandidatePairId`, else a pair with `selected: true` (Firefox),
//!   else a pair that is `nominated` and `state: "succeeded"` (the most answered one);
//! - RTT: `currentRoundTripTime` when positive, else Δ`totalRoundTripTime` / Δ`responsesReceived`
//!   against the previous sample of the same pair (from zero on the first sample), else a
//!   reported `currentRoundTripTime` of 0, else none (the ping series is used then).

#[allow(unused_imports)]
use crate::prelude::*;
/// The fields of one stats object that we read. [`StatEntry::read`] is the one mapping from a
/// browser stats object's field names, used by the shell (on JS objects) and by the native
/// tests (on recorded JSON reports).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StatEntry {
    pub id: String,
    /// The stats `type` (`transport`, `candidate-pair`, `local-candidate`, ...).
    pub kind: String,
    pub selected_candidate_pair_id: Option<String>,
    pub selected: Option<bool>,
    pub nominated: Option<bool>,
    pub state: Option<String>,
    pub current_round_trip_time: Option<f64>,
    pub total_round_trip_time: Option<f64>,
    pub responses_received: Option<f64>,
    pub local_candidate_id: Option<String>,
    pub remote_candidate_id: Option<String>,
    pub candidate_type: Option<String>,
    pub protocol: Option<String>,
}

/// A stats object as the browser gives it, read field by field (a JS object in the shell, a
/// JSON object in tests). A field of another type reads as absent.
pub trait StatSource {
    fn text(&self, key: &str) -> Option<String>;
    fn number(&self, key: &str) -> Option<f64>;
    fn flag(&self, key: &str) -> Option<bool>;
}

impl StatEntry {
    /// The object's fields by their WebRTC stats names, if its `type` is one [`select_pair`]
    /// reads; `None` for every other object of a report.
    pub fn read(src: &impl StatSource) -> Option<StatEntry> {
        let kind = src.text("type").filter(|k| wanted(k))?;
        Some(StatEntry {
            id: src.text("id").unwrap_or_default(),
            kind,
            selected_candidate_pair_id: src.text("selectedCandidatePairId"),
            selected: src.flag("selected"),
            nominated: src.flag("nominated"),
            state: src.text("state"),
            current_round_trip_time: src.number("currentRoundTripTime"),
            total_round_trip_time: src.number("totalRoundTripTime"),
            responses_received: src.number("responsesReceived"),
            local_candidate_id: src.text("localCandidateId"),
            remote_candidate_id: src.text("remoteCandidateId"),
            candidate_type: src.text("candidateType"),
            protocol: src.text("protocol"),
        })
    }
}

/// The stats types [`select_pair`] reads; the shell skips every other object of a report.
pub fn wanted(kind: &str) -> bool {
    matches!(kind, "transport" | "candidate-pair" | "local-candidate" | "remote-candidate")
}

#[derive(Debug, Clone, PartialEq)]
pub struct PairSample {
    pub pair_id: String,
    pub current_rtt_s: Option<f64>,
    pub total_rtt_s: Option<f64>,
    pub responses: Option<f64>,
    pub local_type: Option<String>,
    pub remote_type: Option<String>,
    pub protocol: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathKind {
    Direct,
    Relay,
}

impl PathKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Direct => "direct",
            Self::Relay => "relay",
        }
    }
}

impl PairSample {
    /// `relay` when either end of the selected pair is a relay candidate; `None` while the
    /// candidate types are unknown.
    pub fn path(&self) -> Option<PathKind> {
        let (l, r) = (self.local_type.as_deref()?, self.remote_type.as_deref()?);
        Some(if l == "relay" || r == "relay" { PathKind::Relay } else { PathKind::Direct })
    }
}

fn finite(v: Option<f64>) -> Option<f64> {
    v.filter(|x| x.is_finite() && *x >= 0.0)
}

pub fn select_pair(entries: &[StatEntry]) -> Option<PairSample> {
    let pairs = || entries.iter().filter(|e| e.kind == "candidate-pair");
    let by_id = entries
        .iter()
        .filter(|e| e.kind == "transport")
        .filter_map(|t| t.selected_candidate_pair_id.as_deref())
        .find_map(|id| pairs().find(|p| p.id == id));
    let pair = by_id
        .or_else(|| pairs().find(|p| p.selected == Some(true)))
        .or_else(|| {
            pairs()
                .filter(|p| p.nominated == Some(true) && p.state.as_deref() == Some("succeeded"))
                .max_by(|a, b| {
                    finite(a.responses_received).unwrap_or(0.0).total_cmp(&finite(b.responses_received).unwrap_or(0.0))
                })
        })?;
    let candidate = |id: &Option<String>| id.as_deref().and_then(|id| entries.iter().find(|e| e.id == id && e.kind.ends_with("candidate")));
    let local = candidate(&pair.local_candidate_id);
    let remote = candidate(&pair.remote_candidate_id);
    Some(PairSample {
        pair_id: pair.id.clone(),
        current_rtt_s: finite(pair.current_round_trip_time),
        total_rtt_s: finite(pair.total_round_trip_time),
        responses: finite(pair.responses_received),
        local_type: local.and_then(|c| c.candidate_type.clone()),
        remote_type: remote.and_then(|c| c.candidate_type.clone()),
        protocol: local.and_then(|c| c.protocol.clone()),
    })
}

/// The pair's mean STUN round trip over its life (ms): `totalRoundTripTime` /
/// `responsesReceived`; `None` before the first response or when the browser reports 0.
pub fn mean_rtt_ms(now: &PairSample) -> Option<f64> {
    match (now.total_rtt_s, now.responses) {
        (Some(t), Some(r)) if r >= 1.0 && t > 0.0 => Some(t / r * 1000.0),
        _ => None,
    }
}

/// The RTT in milliseconds of `now`, using `prev` (an earlier sample) for the delta fallback.
pub fn rtt_ms(now: &PairSample, prev: Option<&PairSample>) -> Option<f64> {
    if let Some(c) = now.current_rtt_s.filter(|c| *c > 0.0) {
        return Some(c * 1000.0);
    }
    if let (Some(total), Some(resp)) = (now.total_rtt_s, now.responses) {
        let (pt, pr) = match prev.filter(|p| p.pair_id == now.pair_id) {
            Some(p) => (p.total_rtt_s.unwrap_or(0.0), p.responses.unwrap_or(0.0)),
            None => (0.0, 0.0),
        };
        let (dt, dr) = (total - pt, resp - pr);
        if dr > 0.0 && dt >= 0.0 {
            return Some(dt / dr * 1000.0);
        }
    }
    now.current_rtt_s.map(|c| c * 1000.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair(id: &str) -> StatEntry {
        StatEntry { id: id.into(), kind: "candidate-pair".into(), local_candidate_id: Some("L".into()), remote_candidate_id: Some("R".into()), ..Default::default() }
    }
    fn cand(id: &str, kind: &str, ty: &str) -> StatEntry {
        StatEntry { id: id.into(), kind: kind.into(), candidate_type: Some(ty.into()), protocol: Some("udp".into()), ..Default::default() }
    }
    fn transport(sel: &str) -> StatEntry {
        StatEntry { id: "T".into(), kind: "transport".into(), selected_candidate_pair_id: Some(sel.into()), ..Default::default() }
    }

    #[test]
    fn transport_selected_id_wins_over_other_nominated_pairs() {
        let mut a = pair("A");
        a.nominated = Some(true);
        a.state = Some("succeeded".into());
        a.current_round_trip_time = Some(0.009);
        a.responses_received = Some(50.0);
        let mut b = pair("B");
        b.nominated = Some(true);
        b.state = Some("succeeded".into());
        b.current_round_trip_time = Some(0.051);
        let e = vec![a, b, transport("B"), cand("L", "local-candidate", "host"), cand("R", "remote-candidate", "prflx")];
        let s = select_pair(&e).unwrap();
        assert_eq!(s.pair_id, "B");
        assert_eq!(rtt_ms(&s, None), Some(51.0));
        assert_eq!(s.path(), Some(PathKind::Direct));
        assert_eq!(s.protocol.as_deref(), Some("udp"));
    }

    #[test]
    fn selected_flag_then_nominated_succeeded() {
        let mut a = pair("A");
        a.selected = Some(true);
        a.current_round_trip_time = Some(0.02);
        let mut b = pair("B");
        b.nominated = Some(true);
        b.state = Some("succeeded".into());
        assert_eq!(select_pair(&[b.clone(), a]).unwrap().pair_id, "A");
        let mut c = pair("C");
        c.nominated = Some(true);
        c.state = Some("in-progress".into());
        assert_eq!(select_pair(&[c.clone(), b]).unwrap().pair_id, "B");
        assert_eq!(select_pair(&[c]), None);
        // a transport naming a pair that is not in the report falls through
        assert_eq!(select_pair(&[transport("nope")]), None);
    }

    #[test]
    fn relay_when_either_end_is_relay() {
        let mut p = pair("P");
        p.selected = Some(true);
        let e = [p, cand("L", "local-candidate", "relay"), cand("R", "remote-candidate", "host")];
        assert_eq!(select_pair(&e).unwrap().path(), Some(PathKind::Relay));
    }

    #[test]
    fn rtt_fallback_chain() {
        let base = PairSample { pair_id: "P".into(), current_rtt_s: None, total_rtt_s: Some(0.3), responses: Some(6.0), local_type: None, remote_type: None, protocol: None };
        let close = |v: Option<f64>, want: f64| v.is_some_and(|v| (v - want).abs() < 1e-9);
        // no current: mean over the pair's life from zero
        assert!(close(rtt_ms(&base, None), 50.0));
        // with an earlier sample: the change between the two
        let prev = PairSample { total_rtt_s: Some(0.2), responses: Some(4.0), ..base.clone() };
        assert!((rtt_ms(&base, Some(&prev)).unwrap() - 50.0).abs() < 1e-9);
        let prev2 = PairSample { total_rtt_s: Some(0.25), responses: Some(5.0), ..base.clone() };
        assert!((rtt_ms(&base, Some(&prev2)).unwrap() - 50.0).abs() < 1e-9);
        // a sample of another pair is not a baseline
        let other = PairSample { pair_id: "Q".into(), total_rtt_s: Some(0.29), responses: Some(5.0), ..base.clone() };
        assert!(close(rtt_ms(&base, Some(&other)), 50.0));
        // Firefox on loopback: current 0, total 0 over 1 response -> 0 ms
        let ff = PairSample { current_rtt_s: Some(0.0), total_rtt_s: Some(0.0), responses: Some(1.0), ..base.clone() };
        assert_eq!(rtt_ms(&ff, None), Some(0.0));
        // nothing at all
        let none = PairSample { current_rtt_s: None, total_rtt_s: None, responses: None, ..base.clone() };
        assert_eq!(rtt_ms(&none, None), None);
        // no new responses since the last sample and no current: no new information
        let same = base.clone();
        assert_eq!(rtt_ms(&base, Some(&same)), None);
    }

    #[test]
    fn negative_or_nan_values_are_ignored() {
        let mut p = pair("P");
        p.selected = Some(true);
        p.current_round_trip_time = Some(f64::NAN);
        p.total_round_trip_time = Some(-1.0);
        p.responses_received = Some(3.0);
        let s = select_pair(&[p]).unwrap();
        assert_eq!(rtt_ms(&s, None), None);
    }
}
