//! p2p-probe: measures the peer-to-peer round-trip time between two participants over WebRTC,
//! speaking the `ProbeCoordinator` probe protocol (see README.md).
//!
//! - [`core`]: the sans-IO state machine, wire codec, initiator rule and statistics.
//! - `web` (wasm32 only): the browser shell: `ProbeConnection`, `ProbeManager`,
//!   `attachProbeManager`.
// Without the `std` feature (default on; scripts/build_pkg.sh turns it off) the wasm build is
// `no_std`: its panic handler is a bare trap, so no panic message formatting (core::fmt) is
// linked in. Panics abort either way (`panic = "abort"`); the lints below keep them out.
#![cfg_attr(all(target_arch = "wasm32", not(feature = "std")), no_std)]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)
)]

extern crate alloc;

/// What std's prelude would give a `no_std` build.
#[allow(unused_imports)]
mod prelude {
    pub use alloc::borrow::ToOwned;
    pub use alloc::string::{String, ToString};
    pub use alloc::vec::Vec;
}

pub mod core;

#[cfg(all(target_arch = "wasm32", not(target_feature = "atomics")))]
mod heap;

#[cfg(all(target_arch = "wasm32", not(target_feature = "atomics")))]
#[global_allocator]
static HEAP: heap::Heap = heap::Heap::new();

#[cfg(all(target_arch = "wasm32", not(feature = "std")))]
#[panic_handler]
fn on_panic(_: &::core::panic::PanicInfo<'_>) -> ! {
    ::core::arch::wasm32::unreachable()
}

#[cfg(target_arch = "wasm32")]
pub mod web;
