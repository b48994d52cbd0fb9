//! The initiator rule, exactly as the legacy client decides it (`_comparePlayerIds`):
//! if both ids convert with JavaScript `Number(x)` to non-NaN numbers, compare numerically;
//! otherwise compare with `String.prototype.localeCompare`. The lower id is the initiator.
//!
//! The two JavaScript primitives are injected (the browser shell passes the real
//! `Number` and `localeCompare`), so the rule is identical to the legacy one in every locale.

#[allow(unused_imports)]
use crate::prelude::*;
use core::cmp::Ordering;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Initiator,
    Answerer,
}

/// Returns `None` when the two ids are the same string (a probe with ourselves).
///
/// When the legacy comparison says "equal" for different strings (`"1"` vs `"1.0"`, or two
/// strings a collator treats as equal) the legacy client would make both sides answerers and
/// time out; we break the tie by UTF-16 code-unit order so two of our clients still agree.
pub fn decide(
    me: &str,
    peer: &str,
    to_number: impl Fn(&str) -> f64,
    locale_compare: impl Fn(&str, &str) -> f64,
) -> Option<Role> {
    if me == peer {
        return None;
    }
    let (a, b) = (to_number(me), to_number(peer));
    let legacy = if !a.is_nan() && !b.is_nan() { a - b } else { locale_compare(me, peer) };
    let ord = if legacy < 0.0 {
        Ordering::Less
    } else if legacy > 0.0 {
        Ordering::Greater
    } else {
        me.encode_utf16().cmp(peer.encode_utf16())
    };
    Some(if ord == Ordering::Less { Role::Initiator } else { Role::Answerer })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A native stand-in for `Number(x)` covering what subject ids look like
    /// (decimal, whitespace, empty string; enough for tests).
    pub fn js_number(s: &str) -> f64 {
        let t = s.trim();
        if t.is_empty() {
            return 0.0;
        }
        if t.chars().all(|c| c.is_ascii_digit() || matches!(c, '.' | '-' | '+' | 'e' | 'E')) {
            t.parse::<f64>().unwrap_or(f64::NAN)
        } else {
            f64::NAN
        }
    }
    /// Stand-in for `localeCompare` in tests: case-insensitive first, like a root collator.
    pub fn collate(a: &str, b: &str) -> f64 {
        match a.to_lowercase().cmp(&b.to_lowercase()).then(b.cmp(a)) {
            Ordering::Less => -1.0,
            Ordering::Equal => 0.0,
            Ordering::Greater => 1.0,
        }
    }
    fn role(me: &str, peer: &str) -> Option<Role> {
        decide(me, peer, js_number, collate)
    }

    #[test]
    fn numeric_ids_compare_as_numbers_not_text() {
        assert_eq!(role("2", "10"), Some(Role::Initiator));
        assert_eq!(role("10", "2"), Some(Role::Answerer));
        assert_eq!(role(" 7", "30"), Some(Role::Initiator));
    }

    #[test]
    fn string_ids_use_locale_compare() {
        assert_eq!(role("alice", "bob"), Some(Role::Initiator));
        assert_eq!(role("bob", "alice"), Some(Role::Answerer));
        // a collator puts "a" before "B"; byte order would not
        assert_eq!(role("a", "B"), Some(Role::Initiator));
        assert_eq!(role("B", "a"), Some(Role::Answerer));
    }

    #[test]
    fn mixed_numeric_and_text_ids_use_locale_compare() {
        assert_eq!(role("10", "abc"), Some(Role::Initiator));
        assert_eq!(role("abc", "10"), Some(Role::Answerer));
        // "2" vs "10x": not both numeric, so text order: "10x" < "2"
        assert_eq!(role("2", "10x"), Some(Role::Answerer));
    }

    #[test]
    fn equal_ids_and_numeric_ties() {
        assert_eq!(role("same", "same"), None);
        // numerically equal, textually different: both sides still agree on one initiator
        let a = role("1", "1.0").unwrap();
        let b = role("1.0", "1").unwrap();
        assert_ne!(a, b);
    }

    #[test]
    fn exactly_one_initiator_for_any_pair() {
        let ids = ["1", "2", "10", "x", "X", "a1", "", " ", "1e3", "1000", "-5", "é", "e"];
        for a in ids {
            for b in ids {
                match (role(a, b), role(b, a)) {
                    (None, None) => assert_eq!(a, b),
                    (Some(x), Some(y)) => assert_ne!(x, y, "{a:?} vs {b:?}"),
                    other => panic!("asymmetric {other:?} for {a:?} {b:?}"),
                }
            }
        }
    }
}
