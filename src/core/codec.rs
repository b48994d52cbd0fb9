//! The data-channel wire format, legacy-compatible:
//! `{"type":"ping","seq":<int>,"ts":<number>}` answered by `{"type":"pong","seq":<same>,"ts":<same>}`.
//!
//! One extension, which legacy clients ignore (they build their pong from `seq` and `ts`): a
//! ping of a *chained* series carries `"chain":K`, K the `seq` of our ping whose pong made us
//! send this one at once (`-1` for the first ping of a chain, or one re-sent after a lost
//! pong). The peer then knows the time from its pong K to this ping is a round trip of its own
//! (see `probe.rs`, the chained phase).
//!
//! A second one, in our pongs: `"rx":N`, the number of the peer's pings we had received on this
//! connection when we answered (this one included). The pinger compares it between its answered
//! pings and so tells its pings lost on the way out from pongs lost on the way back. Legacy
//! clients ignore it; a pong without it (a legacy peer's) decodes with `rx: None`.
//!
//! A third, in our pongs and chained pings during a chained phase: `"late":L`, how late the
//! sender's own timers fire (ms, the upper quartile over its phase, see `probe.rs`, `TICK_MS`).
//! It tells the peer whether the sender's page handles messages on time, which the peer's own
//! samples cannot tell from a jittery path (see `estimate.rs`, `BUSY_NEAR_MS`). Absent when the
//! sender has no such figure yet, or is a legacy client.
//!
//! A small, allocation-light JSON scanner: it reads one top-level object, decodes the keys and
//! the `type` string, keeps the raw text of `seq` and `ts`, and skips every other value
//! iteratively (no recursion, so deep nesting cannot overflow the stack). Later duplicate keys
//! win, as with `JSON.parse`.

use super::error::WireError;
#[allow(unused_imports)]
use crate::prelude::*;

/// Messages longer than this are ignored unread (a real ping is < 100 bytes).
pub const MAX_MESSAGE_LEN: usize = 1024;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Wire<'a> {
    /// `seq_raw`/`ts_raw` are the exact number tokens, echoed back verbatim in the pong.
    /// `hold_us`: how long the sender held a chained ping after the pong it follows (`"hold"`,
    /// in µs; see the module notes).
    /// `late_ms`: the sender's timer lateness (`"late"`, see the module notes).
    Ping {
        seq: u64,
        seq_raw: &'a str,
        ts_raw: Option<&'a str>,
        chain: Option<Chain>,
        hold_us: Option<u64>,
        late_ms: Option<u64>,
    },
    /// `rx`: the peer's count of our pings received (`None`: a legacy pong, or a bad value).
    Pong { seq: u64, rx: Option<u64>, late_ms: Option<u64> },
}

/// The `chain` field of a ping (see the module notes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Chain {
    /// The first ping of a chain, or one re-sent after a lost pong: no round trip to take.
    Start,
    /// Sent at once on the pong of our ping with this `seq`.
    After(u64),
}

pub fn decode(msg: &str) -> Result<Wire<'_>, WireError> {
    if msg.len() > MAX_MESSAGE_LEN {
        return Err(WireError::TooLong);
    }
    let mut p = Parser { s: msg.as_bytes(), src: msg, i: 0 };
    p.ws();
    if p.peek() != Some(b'{') {
        // Valid JSON that is not an object is distinguished from garbage.
        return Err(if p.skip_value().is_ok() && p.at_end() { WireError::NotAnObject } else { WireError::NotJson });
    }
    p.i += 1;
    let mut kind: Option<Kind> = None;
    let mut seq: Option<Result<&str, ()>> = None;
    let mut ts: Option<Result<&str, ()>> = None;
    let mut chain: Option<Chain> = None;
    let mut hold_us: Option<u64> = None;
    let mut rx: Option<u64> = None;
    let mut late_ms: Option<u64> = None;
    p.ws();
    if p.peek() == Some(b'}') {
        p.i += 1;
    } else {
        loop {
            p.ws();
            let key = p.string().ok_or(WireError::NotJson)?;
            p.ws();
            if p.peek() != Some(b':') {
                return Err(WireError::NotJson);
            }
            p.i += 1;
            p.ws();
            match key.as_str() {
                "type" => {
                    if p.peek() == Some(b'"') {
                        let v = p.string().ok_or(WireError::NotJson)?;
                        kind = Some(match v.as_str() {
                            "ping" => Kind::Ping,
                            "pong" => Kind::Pong,
                            _ => Kind::Other,
                        });
                    } else {
                        p.skip_value().map_err(|_| WireError::NotJson)?;
                        kind = Some(Kind::NotString);
                    }
                }
                "seq" | "ts" => {
                    let start = p.i;
                    let is_num = matches!(p.peek(), Some(b'-' | b'0'..=b'9'));
                    p.skip_value().map_err(|_| WireError::NotJson)?;
                    let raw = msg.get(start..p.i).ok_or(WireError::NotJson)?;
                    let v = if is_num { Ok(raw) } else { Err(()) };
                    if key == "seq" {
                        seq = Some(v);
                    } else {
                        ts = Some(v);
                    }
                }
                "chain" => {
                    let start = p.i;
                    p.skip_value().map_err(|_| WireError::NotJson)?;
                    let raw = msg.get(start..p.i).ok_or(WireError::NotJson)?;
                    chain = Some(parse_seq(raw).map_or(Chain::Start, Chain::After));
                }
                "hold" => {
                    let start = p.i;
                    p.skip_value().map_err(|_| WireError::NotJson)?;
                    // a value that is no count reads as absent (and the chain then gives no sample)
                    hold_us = Some(msg.get(start..p.i).and_then(parse_seq).unwrap_or(u64::MAX));
                }
                "rx" => {
                    let start = p.i;
                    p.skip_value().map_err(|_| WireError::NotJson)?;
                    // a value that is no count reads as absent: the pong still counts
                    rx = msg.get(start..p.i).and_then(parse_seq);
                }
                "late" => {
                    let start = p.i;
                    p.skip_value().map_err(|_| WireError::NotJson)?;
                    // a value that is no count reads as absent
                    late_ms = msg.get(start..p.i).and_then(parse_seq);
                }
                _ => p.skip_value().map_err(|_| WireError::NotJson)?,
            }
            p.ws();
            match p.peek() {
                Some(b',') => p.i += 1,
                Some(b'}') => {
                    p.i += 1;
                    break;
                }
                _ => return Err(WireError::NotJson),
            }
        }
    }
    p.ws();
    if !p.at_end() {
        return Err(WireError::NotJson);
    }
    let kind = match kind {
        None | Some(Kind::NotString) => return Err(WireError::NoType),
        Some(Kind::Other) => return Err(WireError::UnknownType),
        Some(k) => k,
    };
    let seq_raw = match seq {
        Some(Ok(raw)) => raw,
        _ => return Err(WireError::BadSeq),
    };
    let seq_val = parse_seq(seq_raw).ok_or(WireError::BadSeq)?;
    match kind {
        Kind::Ping => {
            let ts_raw = match ts {
                None => None,
                Some(Ok(raw)) => Some(raw),
                Some(Err(())) => return Err(WireError::BadTs),
            };
            Ok(Wire::Ping { seq: seq_val, seq_raw, ts_raw, chain, hold_us, late_ms })
        }
        _ => Ok(Wire::Pong { seq: seq_val, rx, late_ms }),
    }
}

/// A sequence number: a JSON integer in `0..=2^53` (what `Number.isSafeInteger` accepts),
/// written without fraction or exponent.
fn parse_seq(raw: &str) -> Option<u64> {
    let b = raw.as_bytes();
    if b.is_empty() || b.len() > 16 || !b.iter().all(u8::is_ascii_digit) || (b.len() > 1 && b.first() == Some(&b'0')) {
        return None;
    }
    let mut v: u64 = 0;
    for d in b {
        v = v.checked_mul(10)?.checked_add(u64::from(d - b'0'))?;
    }
    (v <= 1 << 53).then_some(v)
}

pub fn encode_ping(seq: u64, ts_ms: u64) -> String {
    encode_ping_chained(seq, ts_ms, None)
}

/// A ping, with the `chain` field when it belongs to a chained series.
pub fn encode_ping_chained(seq: u64, ts_ms: u64, chain: Option<Chain>) -> String {
    encode_ping_held(seq, ts_ms, chain, 0)
}

/// A chained ping held `hold_us` µs after the pong it follows (`"hold"`, only when not 0).
pub fn encode_ping_held(seq: u64, ts_ms: u64, chain: Option<Chain>, hold_us: u64) -> String {
    encode_ping_late(seq, ts_ms, chain, hold_us, None)
}

/// A ping that also says how late the sender's timers fire (`"late"`, chained pings only).
pub fn encode_ping_late(seq: u64, ts_ms: u64, chain: Option<Chain>, hold_us: u64, late_ms: Option<u64>) -> String {
    let mut s = String::with_capacity(72);
    s.push_str("{\"type\":\"ping\",\"seq\":");
    push_u64(&mut s, seq);
    s.push_str(",\"ts\":");
    push_u64(&mut s, ts_ms);
    match chain {
        None => {}
        Some(Chain::Start) => s.push_str(",\"chain\":-1"),
        Some(Chain::After(k)) => {
            s.push_str(",\"chain\":");
            push_u64(&mut s, k);
            if hold_us > 0 {
                s.push_str(",\"hold\":");
                push_u64(&mut s, hold_us);
            }
        }
    }
    if let (Some(l), Some(_)) = (late_ms, chain) {
        s.push_str(",\"late\":");
        push_u64(&mut s, l);
    }
    s.push('}');
    s
}

/// The pong echoes the ping's own `seq` and `ts` tokens, as the legacy client does.
pub fn encode_pong(seq_raw: &str, ts_raw: Option<&str>) -> String {
    encode_pong_rx(seq_raw, ts_raw, None)
}

/// Our pong: the legacy pong plus `"rx":N`, the peer's pings we have received so far.
pub fn encode_pong_rx(seq_raw: &str, ts_raw: Option<&str>, rx: Option<u64>) -> String {
    encode_pong_late(seq_raw, ts_raw, rx, None)
}

/// Our pong with `"late"` as well (see the module notes).
pub fn encode_pong_late(seq_raw: &str, ts_raw: Option<&str>, rx: Option<u64>, late_ms: Option<u64>) -> String {
    let mut s = String::with_capacity(48 + seq_raw.len() + ts_raw.map_or(0, str::len));
    s.push_str("{\"type\":\"pong\",\"seq\":");
    s.push_str(seq_raw);
    if let Some(ts) = ts_raw {
        s.push_str(",\"ts\":");
        s.push_str(ts);
    }
    if let Some(n) = rx {
        s.push_str(",\"rx\":");
        push_u64(&mut s, n);
    }
    if let Some(l) = late_ms {
        s.push_str(",\"late\":");
        push_u64(&mut s, l);
    }
    s.push('}');
    s
}

/// Decimal digits without pulling in `core::fmt` (it costs kilobytes of wasm).
pub fn push_u64(s: &mut String, mut v: u64) {
    let mut buf = [0u8; 20];
    let mut n = buf.len();
    loop {
        n -= 1;
        if let Some(slot) = buf.get_mut(n) {
            *slot = b'0' + (v % 10) as u8;
        }
        v /= 10;
        if v == 0 || n == 0 {
            break;
        }
    }
    for &c in buf.get(n..).unwrap_or(&[]) {
        s.push(char::from(c));
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Ping,
    Pong,
    Other,
    NotString,
}

struct Parser<'a> {
    s: &'a [u8],
    src: &'a str,
    i: usize,
}

impl<'a> Parser<'a> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }
    fn at_end(&self) -> bool {
        self.i >= self.s.len()
    }
    fn ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.i += 1;
        }
    }
    fn lit(&mut self, word: &[u8]) -> Result<(), ()> {
        if self.s.get(self.i..self.i + word.len()) == Some(word) {
            self.i += word.len();
            Ok(())
        } else {
            Err(())
        }
    }

    /// Decodes a JSON string at the cursor (escapes included).
    fn string(&mut self) -> Option<String> {
        if self.peek() != Some(b'"') {
            return None;
        }
        self.i += 1;
        let mut out = String::new();
        loop {
            let start = self.i;
            while let Some(c) = self.peek() {
                if c == b'"' || c == b'\\' || c < 0x20 {
                    break;
                }
                self.i += 1;
            }
            out.push_str(self.src.get(start..self.i)?);
            match self.peek()? {
                b'"' => {
                    self.i += 1;
                    return Some(out);
                }
                b'\\' => {
                    self.i += 1;
                    let e = self.peek()?;
                    self.i += 1;
                    match e {
                        b'"' => out.push('"'),
                        b'\\' => out.push('\\'),
                        b'/' => out.push('/'),
                        b'b' => out.push('\u{8}'),
                        b'f' => out.push('\u{c}'),
                        b'n' => out.push('\n'),
                        b'r' => out.push('\r'),
                        b't' => out.push('\t'),
                        b'u' => {
                            let hi = self.hex4()?;
                            let cp = if (0xD800..0xDC00).contains(&hi) && self.s.get(self.i..self.i + 2) == Some(b"\\u")
                            {
                                let save = self.i;
                                self.i += 2;
                                let lo = self.hex4()?;
                                if (0xDC00..0xE000).contains(&lo) {
                                    0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)
                                } else {
                                    self.i = save;
                                    0xFFFD
                                }
                            } else {
                                hi
                            };
                            out.push(char::from_u32(cp).unwrap_or('\u{FFFD}'));
                        }
                        _ => return None,
                    }
                }
                _ => return None, // raw control character
            }
        }
    }

    fn hex4(&mut self) -> Option<u32> {
        let mut v = 0u32;
        for _ in 0..4 {
            let d = char::from(self.peek()?).to_digit(16)?;
            v = v * 16 + d;
            self.i += 1;
        }
        Some(v)
    }

    fn number(&mut self) -> Result<(), ()> {
        if self.peek() == Some(b'-') {
            self.i += 1;
        }
        match self.peek() {
            Some(b'0') => self.i += 1,
            Some(b'1'..=b'9') => self.digits(),
            _ => return Err(()),
        }
        if self.peek() == Some(b'.') {
            self.i += 1;
            if !matches!(self.peek(), Some(b'0'..=b'9')) {
                return Err(());
            }
            self.digits();
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.i += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.i += 1;
            }
            if !matches!(self.peek(), Some(b'0'..=b'9')) {
                return Err(());
            }
            self.digits();
        }
        Ok(())
    }
    fn digits(&mut self) {
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.i += 1;
        }
    }

    /// Skips one value of any depth without recursion: containers are tracked by a stack of
    /// expected closing brackets.
    fn skip_value(&mut self) -> Result<(), ()> {
        let mut stack: Vec<u8> = Vec::new();
        loop {
            self.ws();
            match self.peek().ok_or(())? {
                b'{' => {
                    self.i += 1;
                    self.ws();
                    if self.peek() == Some(b'}') {
                        self.i += 1;
                    } else {
                        stack.push(b'}');
                        self.string().ok_or(())?;
                        self.ws();
                        if self.peek() != Some(b':') {
                            return Err(());
                        }
                        self.i += 1;
                        continue;
                    }
                }
                b'[' => {
                    self.i += 1;
                    self.ws();
                    if self.peek() == Some(b']') {
                        self.i += 1;
                    } else {
                        stack.push(b']');
                        continue;
                    }
                }
                b'"' => {
                    self.string().ok_or(())?;
                }
                b't' => self.lit(b"true")?,
                b'f' => self.lit(b"false")?,
                b'n' => self.lit(b"null")?,
                _ => self.number()?,
            }
            // After a complete value: close containers or move to the next element.
            loop {
                let Some(&close) = stack.last() else { return Ok(()) };
                self.ws();
                match self.peek().ok_or(())? {
                    b',' => {
                        self.i += 1;
                        if close == b'}' {
                            self.ws();
                            self.string().ok_or(())?;
                            self.ws();
                            if self.peek() != Some(b':') {
                                return Err(());
                            }
                            self.i += 1;
                        }
                        break;
                    }
                    c if c == close => {
                        self.i += 1;
                        stack.pop();
                    }
                    _ => return Err(()),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn legacy_ping_round_trip() {
        let w = decode(r#"{"type":"ping","seq":3,"ts":1764094812345}"#).unwrap();
        assert_eq!(
            w,
            Wire::Ping {
                seq: 3,
                seq_raw: "3",
                ts_raw: Some("1764094812345"),
                chain: None,
                hold_us: None,
                late_ms: None
            }
        );
        if let Wire::Ping { seq_raw, ts_raw, .. } = w {
            assert_eq!(encode_pong(seq_raw, ts_raw), r#"{"type":"pong","seq":3,"ts":1764094812345}"#);
        }
        assert_eq!(encode_ping(7, 12), r#"{"type":"ping","seq":7,"ts":12}"#);
        assert_eq!(
            decode(&encode_ping(0, 0)).unwrap(),
            Wire::Ping { seq: 0, seq_raw: "0", ts_raw: Some("0"), chain: None, hold_us: None, late_ms: None }
        );
        // the chained-series extension, both forms, and a value that is no seq
        assert_eq!(
            decode(&encode_ping_chained(4, 9, Some(Chain::After(3)))).unwrap(),
            Wire::Ping {
                seq: 4,
                seq_raw: "4",
                ts_raw: Some("9"),
                chain: Some(Chain::After(3)),
                hold_us: None,
                late_ms: None
            }
        );
        assert_eq!(
            decode(&encode_ping_chained(4, 9, Some(Chain::Start))).unwrap(),
            Wire::Ping {
                seq: 4,
                seq_raw: "4",
                ts_raw: Some("9"),
                chain: Some(Chain::Start),
                hold_us: None,
                late_ms: None
            }
        );
        assert_eq!(
            decode(r#"{"type":"ping","seq":1,"chain":{"x":[1]}}"#).unwrap(),
            Wire::Ping { seq: 1, seq_raw: "1", ts_raw: None, chain: Some(Chain::Start), hold_us: None, late_ms: None }
        );
        // a chained ping held after its pong says for how long (µs); a bad value reads as unknown
        assert_eq!(
            encode_ping_held(4, 9, Some(Chain::After(3)), 1250),
            r#"{"type":"ping","seq":4,"ts":9,"chain":3,"hold":1250}"#
        );
        assert_eq!(
            decode(&encode_ping_held(4, 9, Some(Chain::After(3)), 1250)).unwrap(),
            Wire::Ping {
                seq: 4,
                seq_raw: "4",
                ts_raw: Some("9"),
                chain: Some(Chain::After(3)),
                hold_us: Some(1250),
                late_ms: None
            }
        );
        assert_eq!(encode_ping_held(4, 9, Some(Chain::After(3)), 0), encode_ping_chained(4, 9, Some(Chain::After(3))));
        assert_eq!(
            decode(r#"{"type":"ping","seq":1,"hold":"x","chain":0}"#).unwrap(),
            Wire::Ping {
                seq: 1,
                seq_raw: "1",
                ts_raw: None,
                chain: Some(Chain::After(0)),
                hold_us: Some(u64::MAX),
                late_ms: None
            }
        );
        // a pong never carries it: the pong of a chained ping is the legacy pong
        assert_eq!(encode_pong("4", Some("9")), r#"{"type":"pong","seq":4,"ts":9}"#);
    }

    #[test]
    fn pong_with_any_ts_and_whitespace_and_key_order() {
        assert_eq!(
            decode(" { \"ts\" : 1.5e3 , \"seq\":12, \"type\":\"pong\" } ").unwrap(),
            Wire::Pong { seq: 12, rx: None, late_ms: None }
        );
        // the peer's ts is never used for timing, so a pong without one is fine
        assert_eq!(decode(r#"{"type":"pong","seq":1}"#).unwrap(), Wire::Pong { seq: 1, rx: None, late_ms: None });
        // escaped type, extra nested fields
        assert_eq!(
            decode(r#"{"type":"p\u006fng","x":{"a":[1,{"b":[]}],"c":"}"},"seq":2}"#).unwrap(),
            Wire::Pong { seq: 2, rx: None, late_ms: None }
        );
    }

    #[test]
    fn pong_rx_extension_and_legacy_pongs_without_it() {
        // ours: the legacy pong plus "rx"
        assert_eq!(encode_pong_rx("4", Some("9"), Some(3)), r#"{"type":"pong","seq":4,"ts":9,"rx":3}"#);
        assert_eq!(encode_pong_rx("4", None, Some(0)), r#"{"type":"pong","seq":4,"rx":0}"#);
        assert_eq!(
            decode(&encode_pong_rx("4", Some("9"), Some(3))),
            Ok(Wire::Pong { seq: 4, rx: Some(3), late_ms: None })
        );
        // legacy pongs (probe_connection.js builds them from seq and ts only): no rx
        assert_eq!(
            decode(r#"{"type":"pong","seq":4,"ts":1764094812345}"#),
            Ok(Wire::Pong { seq: 4, rx: None, late_ms: None })
        );
        assert_eq!(decode(r#"{"ts":1.5,"type":"pong","seq":0}"#), Ok(Wire::Pong { seq: 0, rx: None, late_ms: None }));
        // "late": on our pongs, and on chained pings only
        assert_eq!(
            encode_pong_late("4", Some("9"), Some(3), Some(12)),
            r#"{"type":"pong","seq":4,"ts":9,"rx":3,"late":12}"#
        );
        assert_eq!(
            decode(&encode_pong_late("4", Some("9"), Some(3), Some(12))),
            Ok(Wire::Pong { seq: 4, rx: Some(3), late_ms: Some(12) })
        );
        assert_eq!(
            encode_ping_late(4, 9, Some(Chain::After(3)), 1250, Some(0)),
            r#"{"type":"ping","seq":4,"ts":9,"chain":3,"hold":1250,"late":0}"#
        );
        assert_eq!(encode_ping_late(4, 9, None, 0, Some(7)), encode_ping(4, 9));
        assert_eq!(
            decode(&encode_ping_late(4, 9, Some(Chain::Start), 0, Some(7))).unwrap(),
            Wire::Ping {
                seq: 4,
                seq_raw: "4",
                ts_raw: Some("9"),
                chain: Some(Chain::Start),
                hold_us: None,
                late_ms: Some(7)
            }
        );
        for bad in ["-1", "1.5", "\"3\"", "null", "[]", "1e400"] {
            let msg = format!(r#"{{"type":"pong","seq":4,"late":{bad}}}"#);
            assert_eq!(decode(&msg), Ok(Wire::Pong { seq: 4, rx: None, late_ms: None }), "{msg}");
        }
        // a bad rx reads as absent; the pong still counts
        for bad in ["-1", "1.5", "\"3\"", "null", "[1]", "99999999999999999999"] {
            let msg = format!(r#"{{"type":"pong","seq":4,"rx":{bad}}}"#);
            assert_eq!(decode(&msg), Ok(Wire::Pong { seq: 4, rx: None, late_ms: None }), "{msg}");
        }
        // rx on a ping is ignored (pings are answered from seq and ts alone)
        assert_eq!(
            decode(r#"{"type":"ping","seq":1,"ts":2,"rx":5}"#).unwrap(),
            Wire::Ping { seq: 1, seq_raw: "1", ts_raw: Some("2"), chain: None, hold_us: None, late_ms: None }
        );
    }

    #[test]
    fn duplicate_keys_last_wins_like_json_parse() {
        assert_eq!(
            decode(r#"{"type":"ping","type":"pong","seq":1,"seq":2}"#).unwrap(),
            Wire::Pong { seq: 2, rx: None, late_ms: None }
        );
    }

    #[test]
    fn malformed_messages_are_rejected_with_reasons() {
        let cases: &[(&str, WireError)] = &[
            ("", WireError::NotJson),
            ("not json", WireError::NotJson),
            ("{\"type\":\"ping\",\"seq\":1", WireError::NotJson),
            ("{\"type\":\"ping\",\"seq\":1}}", WireError::NotJson),
            ("{\"type\":\"ping\" \"seq\":1}", WireError::NotJson),
            ("{\"type\":'ping',\"seq\":1}", WireError::NotJson),
            ("{\"type\":\"ping\",\"seq\":01}", WireError::NotJson),
            ("[1,2,3]", WireError::NotAnObject),
            ("42", WireError::NotAnObject),
            ("null", WireError::NotAnObject),
            ("\"ping\"", WireError::NotAnObject),
            ("{}", WireError::NoType),
            ("{\"seq\":1}", WireError::NoType),
            ("{\"type\":5,\"seq\":1}", WireError::NoType),
            ("{\"type\":null,\"seq\":1}", WireError::NoType),
            ("{\"type\":\"PING\",\"seq\":1}", WireError::UnknownType),
            ("{\"type\":\"hello\"}", WireError::UnknownType),
            ("{\"type\":\"ping\"}", WireError::BadSeq),
            ("{\"type\":\"ping\",\"seq\":\"1\"}", WireError::BadSeq),
            ("{\"type\":\"ping\",\"seq\":-1}", WireError::BadSeq),
            ("{\"type\":\"ping\",\"seq\":1.5}", WireError::BadSeq),
            ("{\"type\":\"ping\",\"seq\":1e3}", WireError::BadSeq),
            ("{\"type\":\"ping\",\"seq\":99999999999999999999}", WireError::BadSeq),
            ("{\"type\":\"ping\",\"seq\":null}", WireError::BadSeq),
            ("{\"type\":\"pong\",\"seq\":[1]}", WireError::BadSeq),
            ("{\"type\":\"ping\",\"seq\":1,\"ts\":\"x\"}", WireError::BadTs),
            ("{\"type\":\"ping\",\"seq\":1,\"ts\":{}}", WireError::BadTs),
        ];
        for (msg, want) in cases {
            assert_eq!(decode(msg), Err(*want), "message {msg:?}");
        }
    }

    #[test]
    fn huge_and_deep_messages_do_not_overflow() {
        let long = format!("{{\"type\":\"ping\",\"seq\":1,\"pad\":\"{}\"}}", "x".repeat(64 * 1024));
        assert_eq!(decode(&long), Err(WireError::TooLong));
        let deep = format!("{{\"type\":\"pong\",\"seq\":1,\"d\":{}{}}}", "[".repeat(400), "]".repeat(400));
        assert_eq!(decode(&deep), Ok(Wire::Pong { seq: 1, rx: None, late_ms: None }));
        let unbalanced = format!("{{\"type\":\"pong\",\"seq\":1,\"d\":{}}}", "[".repeat(500));
        assert_eq!(decode(&unbalanced), Err(WireError::NotJson));
        assert_eq!(
            decode("{\"type\":\"pong\",\"seq\":9007199254740992}"),
            Ok(Wire::Pong { seq: 1 << 53, rx: None, late_ms: None })
        );
        assert_eq!(decode("{\"type\":\"pong\",\"seq\":9007199254740993}"), Err(WireError::BadSeq));
    }

    #[test]
    fn invalid_escapes_and_control_chars() {
        assert_eq!(decode("{\"type\":\"po\\xng\",\"seq\":1}"), Err(WireError::NotJson));
        assert_eq!(decode("{\"type\":\"po\nng\",\"seq\":1}"), Err(WireError::NotJson));
        assert_eq!(decode("{\"type\":\"\\ud83d\\ude00\",\"seq\":1}"), Err(WireError::UnknownType));
        assert_eq!(decode("{\"type\":\"\\ud83d\",\"seq\":1}"), Err(WireError::UnknownType));
    }

    #[test]
    fn push_u64_digits() {
        for v in [0u64, 1, 9, 10, 12345, u64::MAX] {
            let mut s = String::new();
            push_u64(&mut s, v);
            assert_eq!(s, v.to_string());
        }
    }
}
