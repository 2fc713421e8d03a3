//! The JavaScript binding: converts at the boundary and nothing more.
//!
//! Invariants, relied on by `pkg-template/src/event-store.js`:
//! - Events and snapshots cross the boundary as JSON text, once per call,
//!   in both directions; the JavaScript side encodes and decodes them. The
//!   in-memory saves' fast paths (`StoreCore.saveWrittenEvent`,
//!   `saveWrittenEventsBrief`) take it as UTF-8 that JavaScript wrote into the
//!   store's input area (`StoreCore.inputArea`, in the memory `wasmMemory`);
//!   so does `EventWriter.prepareWrittenEvent`, the durable stores' single new
//!   events, which answers in the same area.
//! - Every failure is thrown as one of the classes of `pkg-template/src/errors.js`.
//! - No method calls back into JavaScript code of the caller, so a method can
//!   never be re-entered while it runs.
//! - The binding is the core's clock: a save without a timestamp gets `Date.now()`,
//!   or the time the caller passed (`nowMs` of the fast paths above).

// Exported items are `pub`: they are reached from JavaScript, not from Rust.
#![allow(unreachable_pub)]

mod area;
mod arguments;
mod errors;
mod records;
mod store;
mod subjects;
mod sync;

#[cfg(test)]
mod tests;

/// The module's WebAssembly memory, where JavaScript writes what
/// `StoreCore.saveWrittenEvent` stores (see `StoreCore.inputArea`).
#[wasm_bindgen::prelude::wasm_bindgen(js_name = wasmMemory)]
pub fn wasm_memory() -> wasm_bindgen::JsValue {
    wasm_bindgen::memory()
}

/// The current time in milliseconds since the Unix epoch, for timestamps the caller left out.
fn now_ms() -> i64 {
    js_sys::Date::now() as i64
}
