//! The properties the fuzz targets check, shared with `tests/fuzz_corpus.rs`,
//! which replays the committed corpus under plain `cargo test`.

use aether_eventstore::core::{record, ActorSnapshot, Event, MemoryStore, StoreError};

/// Caller input: any bytes as an event, a batch and a snapshot. Must never
/// panic; whatever is accepted must round-trip through its stored form.
pub fn new_event(bytes: &[u8]) {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return;
    };
    match Event::from_new_json(text, 0) {
        Ok(event) => {
            assert!(
                event.version >= 1 && !event.actor_id.is_empty() && !event.event_type.is_empty()
            );
            let stored = event.json();
            let decoded = Event::from_stored_json(stored).expect("a stored event decodes");
            assert_eq!(decoded.json(), stored, "the stored form is canonical");
            assert_eq!(
                record::check_event(stored.as_bytes(), &event.actor_id, event.version),
                Ok(())
            );
        }
        Err(StoreError::Invalid(_)) => {}
        Err(other) => panic!("unexpected error for caller input: {other}"),
    }
    let mut store = MemoryStore::new();
    let _ = store.save_events(&format!("[{text}]"), 0);
    let _ = store.save_event(text, 0);
    if let Ok(snapshot) = ActorSnapshot::from_json(text, 0) {
        let stored = snapshot.to_json();
        assert_eq!(record::check_snapshot(stored.as_bytes()), Ok(()));
    }
}

/// A record read back from storage: any bytes. Must never panic; a record
/// that passes the check decodes to an event with the key it was checked under.
pub fn stored_record(bytes: &[u8]) {
    if record::check_event(bytes, "a", 1).is_ok() {
        let text = std::str::from_utf8(bytes).expect("a sound record is UTF-8");
        let event = Event::from_stored_json(text).expect("a sound record decodes");
        assert_eq!((event.actor_id.as_str(), event.version), ("a", 1));
    }
    let _ = record::check_snapshot(bytes);
}
