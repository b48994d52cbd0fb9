//! Statistics of a ping series (all values in milliseconds, as floats).

#[allow(unused_imports)]
use crate::prelude::*;
/// `rtt` in the probe result: the ping series.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct SeriesStats {
    pub median_ms: Option<f64>,
    pub min_ms: Option<f64>,
    pub max_ms: Option<f64>,
    pub mean_ms: Option<f64>,
    /// Mean absolute difference between consecutive samples in send order (RFC 3550's
    /// interarrival-jitter idea, without smoothing).
    pub jitter_ms: Option<f64>,
    /// Sample standard deviation (n − 1) of the answered pings.
    pub stdev_ms: Option<f64>,
    /// 95th percentile of the answered pings (linear interpolation).
    pub p95_ms: Option<f64>,
    pub samples: u32,
    pub sent: u32,
    pub lost: u32,
}

use super::estimate::{quantile, sorted, stdev};

/// `samples` are the RTTs of the answered pings in send order; `sent` counts all pings sent.
pub fn summarize(samples: &[f64], sent: u32) -> SeriesStats {
    let n = samples.len();
    let count = u32::try_from(n).unwrap_or(u32::MAX);
    let mut out = SeriesStats { samples: count, sent, lost: sent.saturating_sub(count), ..SeriesStats::default() };
    if n == 0 {
        return out;
    }
    let sorted = sorted(samples);
    let mid = n / 2;
    out.median_ms = if n % 2 == 1 {
        sorted.get(mid).copied()
    } else {
        match (sorted.get(mid - 1), sorted.get(mid)) {
            (Some(a), Some(b)) => Some((a + b) / 2.0),
            _ => None,
        }
    };
    out.p95_ms = quantile(&sorted, 0.95);
    out.stdev_ms = stdev(samples);
    out.min_ms = sorted.first().copied();
    out.max_ms = sorted.last().copied();
    out.mean_ms = Some(samples.iter().sum::<f64>() / n as f64);
    out.jitter_ms = Some(if n < 2 {
        0.0
    } else {
        samples
            .windows(2)
            .map(|w| match w {
                [a, b] => (b - a).abs(),
                _ => 0.0,
            })
            .sum::<f64>()
            / (n - 1) as f64
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_odd_even_min_max_mean() {
        let s = summarize(&[5.0, 1.0, 3.0], 3);
        assert_eq!((s.median_ms, s.min_ms, s.max_ms, s.mean_ms), (Some(3.0), Some(1.0), Some(5.0), Some(3.0)));
        let s = summarize(&[4.0, 1.0, 3.0, 2.0], 4);
        assert_eq!(s.median_ms, Some(2.5));
        assert_eq!(s.mean_ms, Some(2.5));
    }

    #[test]
    fn jitter_is_mean_consecutive_difference_in_send_order() {
        let s = summarize(&[10.0, 12.0, 9.0, 9.0], 4);
        assert_eq!(s.jitter_ms, Some((2.0 + 3.0 + 0.0) / 3.0));
        assert_eq!(summarize(&[7.0], 1).jitter_ms, Some(0.0));
        // a steady series has no jitter, whatever its level
        assert_eq!(summarize(&[50.0; 5], 5).jitter_ms, Some(0.0));
    }

    #[test]
    fn loss_and_empty_series() {
        let s = summarize(&[1.0, 2.0], 5);
        assert_eq!((s.samples, s.sent, s.lost), (2, 5, 3));
        let e = summarize(&[], 4);
        assert_eq!((e.median_ms, e.jitter_ms, e.samples, e.lost), (None, None, 0, 4));
        assert_eq!(summarize(&[], 0), SeriesStats::default());
    }
}
