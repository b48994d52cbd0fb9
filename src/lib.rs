//! p2p-probe: measures the peer-to-peer round-trip time between two participants over WebRTC,
//! speaking the `ProbeCoordinator` probe protocol (see README.md).
//!
//! - [`core`]: the sans-IO state machine, wire codec, initiator rule and statistics.
//! - `web` (wasm32 only): the browser shell: `ProbeConnection`, `ProbeManager`,
//!   `attachProbeManager`.
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)
)]

pub mod core;

#[cfg(all(target_arch = "wasm32", not(target_feature = "atomics")))]
mod alloc;

#[cfg(all(target_arch = "wasm32", not(target_feature = "atomics")))]
#[global_allocator]
static HEAP: alloc::Heap = alloc::Heap::new();

#[cfg(target_arch = "wasm32")]
pub mod web;
