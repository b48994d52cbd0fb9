//! Fixtures shared by the native integration tests.

use p2p_probe::core::stats::StatEntry;

/// A getStats report with one selected host/udp candidate pair whose latest ICE round trip is
/// `current_s` (seconds) and, when given, whose mean over `responses` checks is `mean_s`.
pub fn pair_stats(current_s: f64, mean: Option<(f64, f64)>) -> Vec<StatEntry> {
    vec![
        StatEntry {
            id: "T".into(),
            kind: "transport".into(),
            selected_candidate_pair_id: Some("P".into()),
            ..Default::default()
        },
        StatEntry {
            id: "P".into(),
            kind: "candidate-pair".into(),
            current_round_trip_time: Some(current_s),
            total_round_trip_time: mean.map(|(mean_s, responses)| mean_s * responses),
            responses_received: mean.map(|(_, responses)| responses),
            local_candidate_id: Some("L".into()),
            remote_candidate_id: Some("R".into()),
            ..Default::default()
        },
        StatEntry {
            id: "L".into(),
            kind: "local-candidate".into(),
            candidate_type: Some("host".into()),
            protocol: Some("udp".into()),
            ..Default::default()
        },
        StatEntry {
            id: "R".into(),
            kind: "remote-candidate".into(),
            candidate_type: Some("host".into()),
            ..Default::default()
        },
    ]
}
