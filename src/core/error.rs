//! Typed errors of the core, one enum per concern. Each has a stable `code()` that the
//! browser shell copies onto the JS `Error` it throws or reports.

#[allow(unused_imports)]
use crate::prelude::*;
use core::fmt;

/// Why a probe ended without a usable RTT (reported as `error: {code, message}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProbeError {
    /// No open data channel within `connectTimeoutMs` of `start()`.
    ConnectTimeout,
    /// ICE (or the whole peer connection) reported `failed`.
    IceFailed,
    /// The data channel closed before the measurement finished.
    PeerClosed,
    /// The channel opened but neither getStats nor any ping gave an RTT.
    NoRtt,
    /// `probe_prepare` came but `probe_start` never did.
    NotStarted,
    /// The page closed the probe (or its manager) before it finished.
    Closed,
    /// A local WebRTC call failed (createOffer, setLocalDescription, createAnswer, ...).
    WebRtc,
    /// The page cancelled this one probe (`manager.cancel(probeSessionId)`).
    Cancelled,
}

impl ProbeError {
    pub fn code(self) -> &'static str {
        match self {
            Self::ConnectTimeout => "connect_timeout",
            Self::IceFailed => "ice_failed",
            Self::PeerClosed => "peer_closed",
            Self::NoRtt => "no_rtt",
            Self::NotStarted => "not_started",
            Self::Closed => "closed",
            Self::WebRtc => "webrtc_error",
            Self::Cancelled => "cancelled",
        }
    }

    pub fn message(self) -> &'static str {
        match self {
            Self::ConnectTimeout => "no open data channel within the connect timeout",
            Self::IceFailed => "ICE connectivity failed (no usable candidate pair)",
            Self::PeerClosed => "the data channel closed before the measurement finished",
            Self::NoRtt => "neither getStats nor any ping produced an RTT sample",
            Self::NotStarted => "the session was prepared but never started",
            Self::Closed => "the probe was closed before it finished",
            Self::WebRtc => "a local WebRTC operation failed",
            Self::Cancelled => "the probe was cancelled by the page",
        }
    }
}

impl fmt::Display for ProbeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message())
    }
}

/// Why a data-channel message was ignored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WireError {
    TooLong,
    NotJson,
    NotAnObject,
    NoType,
    UnknownType,
    BadSeq,
    BadTs,
    UnknownPong,
}

impl WireError {
    pub fn reason(self) -> &'static str {
        match self {
            Self::TooLong => "message too long",
            Self::NotJson => "not valid JSON",
            Self::NotAnObject => "not a JSON object",
            Self::NoType => "no string `type`",
            Self::UnknownType => "unknown `type`",
            Self::BadSeq => "`seq` is not a non-negative integer",
            Self::BadTs => "`ts` is not a number",
            Self::UnknownPong => "pong for a ping we did not send (or already answered / timed out)",
        }
    }
}

/// Why a signaling event (probe_prepare / probe_start / probe_signal) or its payload was ignored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignalError {
    NotAnObject,
    MissingSessionId,
    SessionIdTooLong,
    MissingPeer,
    PeerIsSelf,
    UnknownSession,
    DuplicateSession,
    NotFromPeer,
    UnknownType,
    BadPayload,
    UnexpectedOffer,
    UnexpectedAnswer,
    DuplicateOffer,
    DuplicateAnswer,
    TooManyCandidates,
    AlreadyStarted,
    TooManySessions,
}

impl SignalError {
    pub fn reason(self) -> &'static str {
        match self {
            Self::NotAnObject => "event payload is not an object",
            Self::MissingSessionId => "missing or non-string probe_session_id",
            Self::SessionIdTooLong => "probe_session_id is too long",
            Self::MissingPeer => "missing or non-string peer_subject_id",
            Self::PeerIsSelf => "peer_subject_id is our own subject id",
            Self::UnknownSession => "unknown probe_session_id",
            Self::DuplicateSession => "probe_prepare for a session we already hold",
            Self::NotFromPeer => "signal is not from the expected peer (from_subject_id)",
            Self::UnknownType => "unknown signal type",
            Self::BadPayload => "malformed signal payload",
            Self::UnexpectedOffer => "offer received by the initiator",
            Self::UnexpectedAnswer => "answer received by the answerer or before our offer",
            Self::DuplicateOffer => "second offer ignored",
            Self::DuplicateAnswer => "second answer ignored",
            Self::TooManyCandidates => "too many buffered ICE candidates",
            Self::AlreadyStarted => "duplicate probe_start",
            Self::TooManySessions => "too many concurrent probe sessions",
        }
    }
}

impl fmt::Display for SignalError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.reason())
    }
}
