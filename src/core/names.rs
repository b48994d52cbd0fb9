//! Suggestions for misspelt option names (`pingCount` -> `pings`).

#[allow(unused_imports)]
use crate::prelude::*;

/// A name as compared: lowercase ASCII letters and digits only (`ping_interval_ms` and
/// `pingIntervalMs` are the same name).
fn folded(s: &str) -> Vec<u8> {
    s.bytes().filter(u8::is_ascii_alphanumeric).map(|b| b.to_ascii_lowercase()).collect()
}

/// Levenshtein distance (two rows; names are short).
fn distance(a: &[u8], b: &[u8]) -> usize {
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.iter().enumerate() {
        if let Some(first) = cur.first_mut() {
            *first = i + 1;
        }
        for (j, cb) in b.iter().enumerate() {
            let sub = prev.get(j).copied().unwrap_or(usize::MAX).saturating_add(usize::from(ca != cb));
            let del = prev.get(j + 1).copied().unwrap_or(usize::MAX).saturating_add(1);
            let ins = cur.get(j).copied().unwrap_or(usize::MAX).saturating_add(1);
            if let Some(c) = cur.get_mut(j + 1) {
                *c = sub.min(del).min(ins);
            }
        }
        core::mem::swap(&mut prev, &mut cur);
    }
    prev.last().copied().unwrap_or(0)
}

/// The known name closest to `name`: after folding, the names that start like it (3 letters or
/// more) first, then the fewest edits (`pingCount` is nearer `pings` than `onResult`).
pub fn nearest<'a>(name: &str, known: &[&'a str]) -> Option<&'a str> {
    let f = folded(name);
    let prefix = |k: &[u8]| f.iter().zip(k).take_while(|(a, b)| a == b).count();
    known
        .iter()
        .map(|k| {
            let fk = folded(k);
            (prefix(&fk), distance(&f, &fk), *k)
        })
        // a shared start of 3 letters or more first, then fewest edits
        .min_by_key(|(p, d, _)| (core::cmp::Reverse(*p >= 3), *d))
        .map(|(_, _, k)| k)
}

#[cfg(test)]
mod tests {
    use super::*;

    const KNOWN: &[&str] = &[
        "iceServers",
        "turnUrls",
        "iceTransportPolicy",
        "pings",
        "pingIntervalMs",
        "pingTimeoutMs",
        "connectTimeoutMs",
        "startTimeoutMs",
        "onResult",
    ];

    #[test]
    fn misspellings_find_their_option() {
        assert_eq!(nearest("pingCount", KNOWN), Some("pings"));
        assert_eq!(nearest("ping_interval_ms", KNOWN), Some("pingIntervalMs"));
        assert_eq!(nearest("iceserver", KNOWN), Some("iceServers"));
        assert_eq!(nearest("onresults", KNOWN), Some("onResult"));
        assert_eq!(nearest("connectTimeout", KNOWN), Some("connectTimeoutMs"));
        assert_eq!(nearest("x", &[]), None);
        assert_eq!(distance(b"kitten", b"sitting"), 3);
    }
}
