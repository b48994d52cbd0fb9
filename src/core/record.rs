//! The result object as it crosses to JavaScript (`probe_result`, `onResult`, `lastReport`):
//! a `serde::Serialize` view of a [`Report`], so the shell serialises it with
//! serde-wasm-bindgen and native tests with serde_json, from the same definition.
//! `p2p_probe.d.ts` declares it as `ProbeResult`; the www build type-checks every shape.

#[allow(unused_imports)]
use crate::prelude::*;
use serde::Serialize;

use super::probe::{Report, Setup};
use super::stats::address_family;

/// Figures are reported to 0.01 ms: finer digits are clock noise (`50.699999999953434`).
pub fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

fn r2(x: Option<f64>) -> Option<f64> {
    x.map(round2)
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProbeRecord<'a> {
    pub probe_session_id: &'a str,
    pub rtt_ms: Option<f64>,
    pub success: bool,
    pub rtt: SeriesRecord,
    pub stats_rtt_ms: Option<f64>,
    pub connection: Option<ConnectionRecord<'a>>,
    pub setup_ms: Option<f64>,
    /// `setup_ms` split at the steps the browser reports (see [`Setup`]).
    pub setup: SetupRecord,
    pub measure_ms: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorRecord>,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct SeriesRecord {
    pub median_ms: Option<f64>,
    pub min_ms: Option<f64>,
    pub max_ms: Option<f64>,
    pub mean_ms: Option<f64>,
    pub jitter_ms: Option<f64>,
    pub stdev_ms: Option<f64>,
    pub p95_ms: Option<f64>,
    pub samples: u32,
    pub sent: u32,
    pub lost: u32,
    /// Of `lost`: pings the peer never got, and pings it answered whose pong was lost (from the
    /// `rx` count in our pongs; `null` against a peer that sends none).
    pub lost_out: Option<u32>,
    pub lost_back: Option<u32>,
    /// The 95 % confidence interval of `rtt_ms`, `[low, high]`.
    pub ci95_ms: Option<[f64; 2]>,
    /// What gave `rtt_ms`: `"pings"` (the data channel) or `"stats"` (the browser's ICE checks).
    pub source: Option<&'static str>,
    /// Samples of the chained phase that followed the first burst on a path that was not
    /// steady (`null`: the burst sufficed).
    pub chained: Option<u32>,
    /// The selected pair's mean ICE round trip over the connection (getStats).
    pub transport_ms: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ConnectionRecord<'a> {
    #[serde(rename = "type")]
    pub kind: Option<&'static str>,
    pub local_candidate_type: Option<&'a str>,
    pub remote_candidate_type: Option<&'a str>,
    pub protocol: Option<&'a str>,
    /// How our end reaches its TURN server (`udp`, `tcp`, `tls`); `null` unless we relay.
    pub relay_protocol: Option<&'a str>,
    /// The relay candidate's address and port (on the TURN server; ours, else the peer's);
    /// `null` on a direct path. Never a credential.
    pub relay_host: Option<&'a str>,
    pub relay_port: Option<u16>,
    /// `ipv4` / `ipv6` of the selected pair's local and remote candidates (`null` for a
    /// hostname, e.g. an mDNS `.local` name). Addresses themselves are not reported.
    pub local_address_family: Option<&'static str>,
    pub remote_address_family: Option<&'static str>,
    /// The local candidate's `networkType` where the browser gives one.
    pub network_type: Option<&'a str>,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct SetupRecord {
    pub signaling_ms: Option<f64>,
    pub ice_ms: Option<f64>,
    pub dtls_ms: Option<f64>,
    pub channel_ms: Option<f64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ErrorRecord {
    pub code: &'static str,
    pub message: &'static str,
}

impl SeriesRecord {
    fn of(r: &Report) -> SeriesRecord {
        let s = &r.series;
        SeriesRecord {
            median_ms: r2(s.median_ms),
            min_ms: r2(s.min_ms),
            max_ms: r2(s.max_ms),
            mean_ms: r2(s.mean_ms),
            jitter_ms: r2(s.jitter_ms),
            stdev_ms: r2(s.stdev_ms),
            p95_ms: r2(s.p95_ms),
            samples: s.samples,
            sent: s.sent,
            lost: s.lost,
            lost_out: r.lost_out,
            lost_back: r.lost_back,
            ci95_ms: r.estimate.filter(|_| r.rtt_ms.is_some()).map(|e| [round2(e.ci95_ms.0), round2(e.ci95_ms.1)]),
            source: r.estimate.filter(|_| r.rtt_ms.is_some()).map(|e| e.source.as_str()),
            chained: r.chained,
            transport_ms: r2(r.transport_ms),
        }
    }
}

impl SetupRecord {
    fn of(s: &Setup) -> SetupRecord {
        SetupRecord {
            signaling_ms: r2(s.signaling_ms),
            ice_ms: r2(s.ice_ms),
            dtls_ms: r2(s.dtls_ms),
            channel_ms: r2(s.channel_ms),
        }
    }
}

impl<'a> ProbeRecord<'a> {
    pub fn new(session: &'a str, r: &'a Report) -> ProbeRecord<'a> {
        ProbeRecord {
            probe_session_id: session,
            rtt_ms: r2(r.rtt_ms),
            success: r.success(),
            rtt: SeriesRecord::of(r),
            stats_rtt_ms: r2(r.stats_rtt_ms),
            connection: r.pair.as_ref().map(|p| {
                let relay = p.relay();
                ConnectionRecord {
                    kind: p.path().map(|k| k.as_str()),
                    local_candidate_type: p.local_type.as_deref(),
                    remote_candidate_type: p.remote_type.as_deref(),
                    protocol: p.protocol.as_deref(),
                    relay_protocol: relay.and_then(|r| r.protocol),
                    relay_host: relay.and_then(|r| r.host),
                    relay_port: relay.and_then(|r| r.port),
                    local_address_family: address_family(p.local_address.as_deref()),
                    remote_address_family: address_family(p.remote_address.as_deref()),
                    network_type: p.network_type.as_deref(),
                }
            }),
            setup_ms: r2(r.setup_ms),
            setup: SetupRecord::of(&r.setup),
            measure_ms: r2(r.measure_ms),
            error: r.error.map(|e| ErrorRecord { code: e.code(), message: e.message() }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_are_rounded_to_hundredths() {
        assert_eq!(round2(50.699999999953434), 50.7);
        assert_eq!(round2(0.004), 0.0);
        assert_eq!(round2(0.005000001), 0.01);
        let r = Report { rtt_ms: Some(1.23456), ..Report::default() };
        assert_eq!(ProbeRecord::new("s", &r).rtt_ms, Some(1.23));
    }
}
