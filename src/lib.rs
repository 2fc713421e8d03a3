//! aether-eventstore: an append-only event store with per-actor streams,
//! optimistic concurrency and snapshots, compiled to WebAssembly for JavaScript.
//!
//! [`core`] is plain Rust and knows nothing of JavaScript: the event model,
//! input validation, the version rule, the in-memory streams and snapshots.
//! `wasm` (built for `wasm32` only) converts at the JavaScript boundary.
#![warn(
    unreachable_pub,
    rust_2018_idioms,
    missing_debug_implementations,
    missing_docs
)]
#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
// Tests may panic: that is how they fail.
#![cfg_attr(
    test,
    allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)
)]

pub mod core;

#[cfg(target_arch = "wasm32")]
mod wasm;
