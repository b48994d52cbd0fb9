//! p2p-probe: measures the peer-to-peer round-trip time between two participants over WebRTC,
//! speaking the `ProbeCoordinator` probe protocol (see README.md).
//!
//! - [`core`]: the sans-IO state machine, wire codec, initiator rule and statistics.
//! - `web` (wasm32 only): the browser shell: `ProbeConnection`, `ProbeManager`,
//!   `attachProbeManager`.
// One build: the package is the `std` build that `wasm-pack test` runs, with Rust's default
// allocator. Panics abort (`panic = "abort"`); the lints below keep them out of the library.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing))]

extern crate alloc;

/// The `alloc` names the modules import (they were written `no_std`-clean).
#[allow(unused_imports)]
mod prelude {
    pub use alloc::borrow::ToOwned;
    pub use alloc::string::{String, ToString};
    pub use alloc::vec::Vec;
}

pub mod core;

#[cfg(target_arch = "wasm32")]
pub mod web;
