#![no_main]
//! Fuzzes the validation of events and snapshots a caller saves.

#[path = "../checks.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::new_event(data));
