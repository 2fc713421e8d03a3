#![no_main]
//! Fuzzes the decoding of records read back from storage.

#[path = "../checks.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::stored_record(data));
