//! Replays the fuzzers' committed corpus (fuzz/corpus/) through the same
//! properties the fuzz targets check, so that `cargo test` guards what fuzzing found.
#![cfg(not(target_arch = "wasm32"))]

#[path = "../fuzz/checks.rs"]
mod checks;

use std::fs;
use std::path::Path;

fn replay(target: &str, check: fn(&[u8])) -> usize {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target);
    let mut count = 0;
    for entry in fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.unwrap().path();
        check(&fs::read(&path).unwrap());
        count += 1;
    }
    assert!(count > 0, "the corpus of {target} is empty");
    count
}

#[test]
fn new_event_corpus_holds() {
    println!("replayed {} inputs", replay("new_event", checks::new_event));
}

#[test]
fn stored_record_corpus_holds() {
    println!(
        "replayed {} inputs",
        replay("stored_record", checks::stored_record)
    );
}
