//! Every shape of the result object (`ProbeRecord`, what `probe_result`, `onResult` and
//! `lastReport` carry): success direct and relayed, success on pings alone, each failure. Each
//! is checked here and written to `target/result-shapes.json`, which the www build
//! (`www/build.mjs`) type-checks against the shipped `p2p_probe.d.ts` (`ProbeResult[]`), so
//! the types and the object cannot drift apart. serde_json and the shell's serde-wasm-bindgen
//! (`serialize_missing_as_null`) give the same object: `None` is `null`, `error` is absent on
//! success.
#![cfg(not(target_arch = "wasm32"))]

use p2p_probe::core::probe::{Report, Setup};
use p2p_probe::core::series::summarize;
use p2p_probe::core::stats::PairSample;
use p2p_probe::core::{ProbeError, ProbeRecord};
use serde_json::Value;

fn pair(local: &str, remote: &str, protocol: &str) -> PairSample {
    PairSample {
        pair_id: "P".into(),
        current_rtt_s: Some(0.051),
        total_rtt_s: None,
        responses: None,
        local_type: Some(local.into()),
        remote_type: Some(remote.into()),
        protocol: Some(protocol.into()),
        local_address: Some("192.0.2.10".into()),
        local_port: Some(50000.0),
        remote_address: Some("2001:db8::7".into()),
        remote_port: Some(50001.0),
        relay_protocol: (local == "relay").then(|| "tcp".into()),
        network_type: Some("wifi".into()),
    }
}

use p2p_probe::core::estimate::{Estimate, Source};

fn shapes() -> Vec<(&'static str, Report)> {
    let series = summarize(&[50.61, 50.72, 51.3], 5);
    let ok = |pair: Option<PairSample>, stats: Option<f64>| Report {
        lost_out: pair.is_some().then_some(1),
        lost_back: pair.is_some().then_some(0),
        rtt_ms: stats.or(series.median_ms),
        estimate: Some(Estimate {
            rtt_ms: stats.or(series.median_ms).unwrap_or(0.0),
            ci95_ms: (50.1111, 52.2222),
            source: if stats.is_some() { Source::Stats } else { Source::Pings },
        }),
        chained: if stats.is_some() { None } else { Some(9) },
        transport_ms: stats,
        series,
        stats_rtt_ms: stats,
        pair,
        setup_ms: Some(63.0999999),
        setup: Setup { signaling_ms: Some(20.0), ice_ms: Some(30.0999999), dtls_ms: None, channel_ms: Some(13.0) },
        measure_ms: Some(51.9),
        error: None,
    };
    let mut out = vec![
        ("success-direct", ok(Some(pair("host", "host", "udp")), Some(51.0))),
        ("success-relay", ok(Some(pair("relay", "host", "udp")), Some(52.0))),
        ("success-pings-only", ok(None, None)),
    ];
    for e in [
        ProbeError::ConnectTimeout,
        ProbeError::IceFailed,
        ProbeError::PeerClosed,
        ProbeError::NotStarted,
        ProbeError::Closed,
        ProbeError::WebRtc,
        ProbeError::Cancelled,
    ] {
        out.push((e.code(), Report { error: Some(e), ..Report::default() }));
    }
    out.push((
        "no_rtt",
        Report {
            series: summarize(&[], 5),
            pair: Some(pair("host", "prflx", "udp")),
            setup_ms: Some(40.0),
            measure_ms: Some(2500.0),
            error: Some(ProbeError::NoRtt),
            ..Report::default()
        },
    ));
    out
}

#[test]
fn every_result_shape_serialises_as_the_types_declare_and_is_written_for_the_www_typecheck() {
    let mut all = Vec::new();
    for (name, r) in shapes() {
        let v = serde_json::to_value(ProbeRecord::new("probe_x", &r)).unwrap();
        let o = v.as_object().unwrap();
        for k in
            ["probe_session_id", "rtt_ms", "success", "rtt", "stats_rtt_ms", "connection", "setup_ms", "measure_ms"]
        {
            assert!(o.contains_key(k), "{name}: {k} missing: {v}");
        }
        assert_eq!(o["success"], Value::Bool(r.success()), "{name}");
        assert_eq!(o.contains_key("error"), r.error.is_some(), "{name}: error key");
        if let Some(e) = r.error {
            assert_eq!(o["error"]["code"], e.code());
            assert_eq!(o["rtt_ms"], Value::Null, "{name}: a failure has no rtt_ms");
        }
        // figures to 0.01 ms
        if let Some(s) = o["setup_ms"].as_f64() {
            assert_eq!(s, (s * 100.0).round() / 100.0, "{name}: {s}");
        }
        // the path behind the number: relay details only on a relayed pair, never an address
        // of the participant (families only)
        if let Some(c) = o["connection"].as_object() {
            for k in [
                "relay_protocol",
                "relay_host",
                "relay_port",
                "local_address_family",
                "remote_address_family",
                "network_type",
            ] {
                assert!(c.contains_key(k), "{name}: connection.{k} missing");
            }
            assert_eq!(c["relay_host"].is_null(), c["type"] != "relay", "{name}: {c:?}");
            assert!(
                !v.to_string().contains("192.0.2.10") && !v.to_string().contains("2001:db8::7") || c["type"] == "relay",
                "{name}: an address leaked: {v}"
            );
        }
        for k in ["signaling_ms", "ice_ms", "dtls_ms", "channel_ms"] {
            assert!(o["setup"].as_object().is_some_and(|s| s.contains_key(k)), "{name}: setup.{k}");
        }
        assert!(
            o["rtt"].as_object().is_some_and(|s| s.contains_key("lost_out") && s.contains_key("lost_back")),
            "{name}"
        );
        all.push(v);
    }
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("result-shapes.json"), serde_json::to_string_pretty(&all).unwrap()).unwrap();
}
