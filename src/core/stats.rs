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
    /// A candidate's `address` (`ip` in older browsers). Read for the relay's host and the
    /// address family; a participant's own address is never reported.
    pub address: Option<String>,
    pub port: Option<f64>,
    /// A local relay candidate's transport to its TURN server: `udp`, `tcp` or `tls`.
    pub relay_protocol: Option<String>,
    /// A local candidate's `networkType` (`ethernet`, `wifi`, `cellular`, ...), where given.
    pub network_type: Option<String>,
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
            address: src.text("address").or_else(|| src.text("ip")),
            port: src.number("port"),
            relay_protocol: src.text("relayProtocol"),
            network_type: src.text("networkType"),
        })
    }
}

/// The stats types [`select_pair`] reads; the shell skips every other object of a report.
pub fn wanted(kind: &str) -> bool {
    matches!(kind, "transport" | "candidate-pair" | "local-candidate" | "remote-candidate")
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct PairSample {
    pub pair_id: String,
    pub current_rtt_s: Option<f64>,
    pub total_rtt_s: Option<f64>,
    pub responses: Option<f64>,
    pub local_type: Option<String>,
    pub remote_type: Option<String>,
    pub protocol: Option<String>,
    pub local_address: Option<String>,
    pub local_port: Option<f64>,
    pub remote_address: Option<String>,
    pub remote_port: Option<f64>,
    /// The local candidate's `relayProtocol` (a relay candidate only).
    pub relay_protocol: Option<String>,
    pub network_type: Option<String>,
}

/// The relay of a relayed pair, as the browser's candidate reports it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Relay<'a> {
    /// The relay candidate's address: the transport address the TURN server gave (on that server).
    pub host: Option<&'a str>,
    pub port: Option<u16>,
    /// How we reach our TURN server (`udp`, `tcp`, `tls`); `None` when only the peer's end is
    /// relayed (browsers give it for local candidates only).
    pub protocol: Option<&'a str>,
}

/// `ipv4` or `ipv6` from a candidate address; `None` for a hostname (an mDNS `*.local` host
/// candidate) or nothing.
pub fn address_family(address: Option<&str>) -> Option<&'static str> {
    let a = address?.as_bytes();
    #[allow(clippy::manual_contains)] // contains() links memchr: 300 B of wasm for one byte
    if a.iter().any(|&c| c == b':') {
        return Some("ipv6"); // a hostname has none
    }
    // four dot-separated groups of 1-3 digits
    let (mut dots, mut run) = (0, 0);
    for &c in a {
        match c {
            b'.' if run > 0 => {
                dots += 1;
                run = 0;
            }
            b'0'..=b'9' if run < 3 => run += 1,
            _ => return None,
        }
    }
    (dots == 3 && run > 0).then_some("ipv4")
}

fn port_of(p: Option<f64>) -> Option<u16> {
    p.filter(|p| p.is_finite() && p.fract() == 0.0 && (1.0..=65535.0).contains(p)).map(|p| p as u16)
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

    /// Our relay when the local candidate is `relay`, else the peer's when the remote one is;
    /// `None` on a direct pair.
    pub fn relay(&self) -> Option<Relay<'_>> {
        if self.local_type.as_deref() == Some("relay") {
            Some(Relay {
                host: self.local_address.as_deref(),
                port: port_of(self.local_port),
                protocol: self.relay_protocol.as_deref(),
            })
        } else if self.remote_type.as_deref() == Some("relay") {
            Some(Relay { host: self.remote_address.as_deref(), port: port_of(self.remote_port), protocol: None })
        } else {
            None
        }
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
    let pair = by_id.or_else(|| pairs().find(|p| p.selected == Some(true))).or_else(|| {
        pairs().filter(|p| p.nominated == Some(true) && p.state.as_deref() == Some("succeeded")).max_by(|a, b| {
            finite(a.responses_received).unwrap_or(0.0).total_cmp(&finite(b.responses_received).unwrap_or(0.0))
        })
    })?;
    let candidate = |id: &Option<String>| {
        id.as_deref().and_then(|id| entries.iter().find(|e| e.id == id && e.kind.ends_with("candidate")))
    };
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
        local_address: local.and_then(|c| c.address.clone()),
        local_port: local.and_then(|c| c.port),
        remote_address: remote.and_then(|c| c.address.clone()),
        remote_port: remote.and_then(|c| c.port),
        relay_protocol: local.and_then(|c| c.relay_protocol.clone()),
        network_type: local.and_then(|c| c.network_type.clone()),
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
        StatEntry {
            id: id.into(),
            kind: "candidate-pair".into(),
            local_candidate_id: Some("L".into()),
            remote_candidate_id: Some("R".into()),
            ..Default::default()
        }
    }
    fn cand(id: &str, kind: &str, ty: &str) -> StatEntry {
        StatEntry {
            id: id.into(),
            kind: kind.into(),
            candidate_type: Some(ty.into()),
            protocol: Some("udp".into()),
            ..Default::default()
        }
    }
    fn transport(sel: &str) -> StatEntry {
        StatEntry {
            id: "T".into(),
            kind: "transport".into(),
            selected_candidate_pair_id: Some(sel.into()),
            ..Default::default()
        }
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
        let e =
            vec![a, b, transport("B"), cand("L", "local-candidate", "host"), cand("R", "remote-candidate", "prflx")];
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
    fn relay_details_and_address_families() {
        let mut p = pair("P");
        p.selected = Some(true);
        let mut l = cand("L", "local-candidate", "relay");
        l.address = Some("127.0.0.1".into());
        l.port = Some(49160.0);
        l.relay_protocol = Some("tcp".into());
        l.network_type = Some("ethernet".into());
        let mut r = cand("R", "remote-candidate", "host");
        r.address = Some("fd00::1".into());
        let s = select_pair(&[p.clone(), l, r.clone()]).unwrap();
        assert_eq!(s.relay(), Some(Relay { host: Some("127.0.0.1"), port: Some(49160), protocol: Some("tcp") }));
        assert_eq!(s.network_type.as_deref(), Some("ethernet"));
        assert_eq!(address_family(s.local_address.as_deref()), Some("ipv4"));
        assert_eq!(address_family(s.remote_address.as_deref()), Some("ipv6"));
        // only the peer relays: its relay address, no protocol (browsers give it for local ones)
        let mut l2 = cand("L", "local-candidate", "host");
        l2.address = Some("4f1c2e9a-1b2c-4d5e-8f90-0123456789ab.local".into());
        let mut r2 = cand("R", "remote-candidate", "relay");
        r2.address = Some("203.0.113.7".into());
        r2.port = Some(3478.0);
        let s = select_pair(&[p.clone(), l2, r2]).unwrap();
        assert_eq!(s.relay(), Some(Relay { host: Some("203.0.113.7"), port: Some(3478), protocol: None }));
        assert_eq!(address_family(s.local_address.as_deref()), None, "an mDNS name has no family");
        // direct: no relay
        let s = select_pair(&[p, cand("L", "local-candidate", "host"), r]).unwrap();
        assert_eq!(s.relay(), None);
        for (a, want) in [
            ("10.0.0.1", Some("ipv4")),
            ("[2001:db8::1]", Some("ipv6")),
            ("::ffff:1.2.3.4", Some("ipv6")),
            ("1.2.3", None),
            ("1.2.3.4444", None),
            ("", None),
            ("host.example", None),
        ] {
            assert_eq!(address_family(Some(a)), want, "{a}");
        }
    }

    #[test]
    fn rtt_fallback_chain() {
        let base = PairSample {
            pair_id: "P".into(),
            current_rtt_s: None,
            total_rtt_s: Some(0.3),
            responses: Some(6.0),
            ..PairSample::default()
        };
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
