//! The sans-IO core: plain Rust, no browser calls, no clock. Unit-tested natively.

#[allow(unused_imports)]
use crate::prelude::*;
pub mod codec;
pub mod error;
pub mod estimate;
pub mod names;
pub mod probe;
pub mod record;
pub mod role;
pub mod series;
pub mod stats;
pub mod timer;

pub use error::{ProbeError, SignalError, WireError};
pub use probe::{
    Candidate, Config, Input, MeasureSpec, Output, Probe, Report, SdpKind, Setup, Signal, Stage, Transport,
};
pub use record::ProbeRecord;
pub use role::Role;
pub use timer::{Arm, OneShot};
