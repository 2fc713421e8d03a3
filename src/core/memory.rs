//! The in-memory store: per-actor streams of canonical JSON, and latest snapshots.
//!
//! Each actor's events live in one growing buffer of comma-separated JSON, so
//! that appending is amortized O(1) without an allocation per event, and reading
//! from a version is a binary search and one copy of what is read.

use std::collections::HashMap;

use super::error::{InvalidInput, StoreError};
use super::event::{new_events_from_json, Event};
use super::snapshot::ActorSnapshot;
use super::{retry, version};

/// One actor's events: `json` holds them comma-separated in version order, and
/// `entries` where each one starts in it, with its version.
#[derive(Debug, Default)]
struct Stream {
    json: String,
    entries: Vec<Entry>,
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    version: i64,
    start: usize,
}

impl Stream {
    fn push(&mut self, version: i64, json: &str) {
        if !self.json.is_empty() {
            self.json.push(',');
        }
        self.entries.push(Entry {
            version,
            start: self.json.len(),
        });
        self.json.push_str(json);
    }

    fn latest_version(&self) -> i64 {
        self.entries.last().map_or(0, |entry| entry.version)
    }

    /// The JSON of the event at `version`, if there is one.
    fn json_at(&self, version: i64) -> Option<&str> {
        let index = self
            .entries
            .binary_search_by_key(&version, |entry| entry.version)
            .ok()?;
        let start = self.entries.get(index)?.start;
        let end = self
            .entries
            .get(index + 1)
            .map_or(self.json.len(), |next| next.start - 1);
        self.json.get(start..end)
    }

    /// The comma-separated JSON of the events with `version >= from_version`.
    fn json_from(&self, from_version: i64) -> &str {
        let first = self
            .entries
            .partition_point(|entry| entry.version < from_version);
        self.entries
            .get(first)
            .and_then(|entry| self.json.get(entry.start..))
            .unwrap_or("")
    }
}

/// What a save resolved with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Saved {
    /// The stored events' JSON: one event, or a JSON array for a batch.
    pub json: String,
    /// Whether the save was a retry of events already stored (see [`retry`]):
    /// then nothing new was stored.
    pub retried: bool,
}

/// Every actor's stream and latest snapshot, in memory.
#[derive(Debug, Default)]
pub struct MemoryStore {
    streams: HashMap<String, Stream>,
    snapshots: HashMap<String, ActorSnapshot>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Validates and stores one event given as JSON, returning the stored event's JSON.
    /// `now_ms` (milliseconds since the Unix epoch) is its timestamp when it has none.
    pub fn save_event(&mut self, json: &str, now_ms: i64) -> Result<Saved, StoreError> {
        let event = Event::from_new_json(json, now_ms)?;
        let latest = self.latest_version(&event.actor_id);
        if let Err(conflict) = version::check(&event.actor_id, latest, event.version) {
            let retried = self.stored_retry(std::slice::from_ref(&event));
            return match retried.as_deref() {
                Some([json]) => Ok(Saved {
                    json: (*json).to_owned(),
                    retried: true,
                }),
                _ => Err(conflict.into()),
            };
        }
        self.push(&event.actor_id, event.version, event.json());
        Ok(Saved {
            json: event.into_json(),
            retried: false,
        })
    }

    /// Validates and stores a JSON array of events, all or nothing, returning
    /// the stored events as a JSON array.
    pub fn save_events(&mut self, json: &str, now_ms: i64) -> Result<Saved, StoreError> {
        let events = new_events_from_json(json, now_ms)?;
        let checked =
            version::check_batch(version::keys(&events), |actor| self.latest_version(actor));
        if let Err(conflict) = checked {
            return match self.stored_retry(&events) {
                Some(stored) => Ok(Saved {
                    json: json_array(stored.into_iter()),
                    retried: true,
                }),
                None => Err(conflict.into()),
            };
        }
        for event in &events {
            self.push(&event.actor_id, event.version, event.json());
        }
        Ok(Saved {
            json: json_array(events.iter().map(Event::json)),
            retried: false,
        })
    }

    /// The stored events that `events` retry, if they do.
    fn stored_retry(&self, events: &[Event]) -> Option<Vec<&str>> {
        let stored: Option<Vec<&str>> = events
            .iter()
            .map(|event| self.streams.get(&event.actor_id)?.json_at(event.version))
            .collect();
        retry::stored_events(retry::keys(events), stored?)
    }

    fn push(&mut self, actor_id: &str, version: i64, json: &str) {
        match self.streams.get_mut(actor_id) {
            Some(stream) => stream.push(version, json),
            None => self
                .streams
                .entry(actor_id.to_owned())
                .or_default()
                .push(version, json),
        }
    }

    /// The actor's latest version, `0` when it has no events.
    pub fn latest_version(&self, actor_id: &str) -> i64 {
        self.streams.get(actor_id).map_or(0, Stream::latest_version)
    }

    /// The actor's events with `version >= from_version`, ascending, as a JSON array.
    pub fn events_json(&self, actor_id: &str, from_version: i64) -> String {
        let events = self
            .streams
            .get(actor_id)
            .map_or("", |stream| stream.json_from(from_version));
        let mut out = String::with_capacity(events.len() + 2);
        out.push('[');
        out.push_str(events);
        out.push(']');
        out
    }

    /// Validates and stores a snapshot given as JSON, returning the stored snapshot's JSON.
    /// Its version may not be above the actor's latest version.
    /// Only the highest version per actor is kept, as only it can be read back;
    /// a snapshot at the same version replaces the earlier one.
    pub fn save_snapshot(&mut self, json: &str, now_ms: i64) -> Result<String, InvalidInput> {
        let snapshot = ActorSnapshot::from_json(json, now_ms)?;
        version::check_snapshot(snapshot.version, self.latest_version(&snapshot.actor_id))?;
        let stored = snapshot.to_json();
        let superseded = self
            .snapshots
            .get(&snapshot.actor_id)
            .is_some_and(|latest| latest.version > snapshot.version);
        if !superseded {
            self.snapshots.insert(snapshot.actor_id.clone(), snapshot);
        }
        Ok(stored)
    }

    /// The actor's highest-version snapshot as JSON, if any.
    pub fn latest_snapshot_json(&self, actor_id: &str) -> Option<String> {
        self.snapshots.get(actor_id).map(ActorSnapshot::to_json)
    }
}

/// Joins JSON texts into one JSON array.
fn json_array<'a>(elements: impl Iterator<Item = &'a str>) -> String {
    let mut out = String::from("[");
    for (index, element) in elements.enumerate() {
        if index > 0 {
            out.push(',');
        }
        out.push_str(element);
    }
    out.push(']');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn event(actor: &str, version: i64) -> String {
        format!(
            r#"{{"eventType":"T","actorId":"{actor}","version":{version},"data":{{"v":{version}}}}}"#
        )
    }

    fn versions(store: &MemoryStore, actor: &str, from: i64) -> Vec<i64> {
        let events: Vec<Value> = serde_json::from_str(&store.events_json(actor, from)).unwrap();
        events
            .iter()
            .map(|e| e["version"].as_i64().unwrap())
            .collect()
    }

    #[test]
    fn saves_and_reads_per_actor_streams() {
        let mut store = MemoryStore::new();
        for v in [1, 2, 5] {
            store.save_event(&event("a", v), 0).unwrap();
        }
        store.save_event(&event("b", 1), 0).unwrap();
        assert_eq!(versions(&store, "a", 0), [1, 2, 5]);
        assert_eq!(versions(&store, "a", 2), [2, 5]);
        assert_eq!(versions(&store, "a", 3), [5]);
        assert_eq!(versions(&store, "a", 6), Vec::<i64>::new());
        assert_eq!(versions(&store, "nobody", 0), Vec::<i64>::new());
        assert_eq!(store.latest_version("a"), 5);
        assert_eq!(store.latest_version("nobody"), 0);
    }

    #[test]
    fn a_conflict_stores_nothing() {
        let mut store = MemoryStore::new();
        store.save_event(&event("a", 2), 0).unwrap();
        let error = store.save_event(&event("a", 2), 0).unwrap_err();
        assert!(matches!(error, StoreError::Conflict(ref c) if c.current_version == 2));
        assert_eq!(versions(&store, "a", 0), [2]);
    }

    #[test]
    fn batches_are_all_or_nothing() {
        let mut store = MemoryStore::new();
        let batch = format!("[{},{},{}]", event("a", 1), event("b", 1), event("a", 1));
        let error = store.save_events(&batch, 0).unwrap_err();
        assert!(
            matches!(error, StoreError::Conflict(ref c) if c.actor_id == "a" && c.current_version == 1)
        );
        assert_eq!(store.latest_version("a"), 0);
        assert_eq!(store.latest_version("b"), 0);

        let invalid = format!(
            r#"[{},{{"actorId":"b","version":1,"data":{{}}}}]"#,
            event("a", 1)
        );
        match store.save_events(&invalid, 0).unwrap_err() {
            StoreError::Invalid(invalid) => assert_eq!(invalid.field, "[1].eventType"),
            other => panic!("unexpected {other:?}"),
        }
        assert_eq!(store.latest_version("a"), 0);

        let saved: Vec<Value> = serde_json::from_str(
            &store
                .save_events(&format!("[{},{}]", event("a", 1), event("a", 2)), 0)
                .unwrap()
                .json,
        )
        .unwrap();
        assert_eq!(saved.len(), 2);
        assert_eq!(versions(&store, "a", 0), [1, 2]);
        assert_eq!(store.save_events("[]", 0).unwrap().json, "[]");
    }

    #[test]
    fn a_retried_save_resolves_with_the_stored_events_and_stores_nothing() {
        let mut store = MemoryStore::new();
        let with_id = |id: &str, version: i64, n: i64| {
            format!(
                r#"{{"id":"{id}","eventType":"T","actorId":"a","version":{version},"data":{{"n":{n}}}}}"#
            )
        };
        let first = store.save_event(&with_id("e1", 1, 1), 10).unwrap();
        assert!(!first.retried);
        let again = store.save_event(&with_id("e1", 1, 1), 20).unwrap();
        assert_eq!(
            again,
            Saved {
                retried: true,
                ..first.clone()
            },
            "the stored timestamp, not a new one"
        );
        let batch = format!("[{},{}]", with_id("e2", 2, 2), with_id("e3", 3, 3));
        let stored = store.save_events(&batch, 30).unwrap();
        let retried = store.save_events(&batch, 40).unwrap();
        assert_eq!(
            retried,
            Saved {
                retried: true,
                ..stored
            }
        );
        assert_eq!(versions(&store, "a", 0), [1, 2, 3]);

        let single_of_batch = store.save_event(&with_id("e3", 3, 3), 0).unwrap();
        assert!(single_of_batch.retried);
        assert!(
            store.save_event(&with_id("other", 3, 3), 0).is_err(),
            "another id at a stored version is a conflict"
        );
        let partly = format!("[{},{}]", with_id("e3", 3, 3), with_id("e4", 4, 4));
        assert!(matches!(
            store.save_events(&partly, 0),
            Err(StoreError::Conflict(_))
        ));
        assert_eq!(versions(&store, "a", 0), [1, 2, 3]);
    }

    #[test]
    fn keeps_the_highest_snapshot() {
        let mut store = MemoryStore::new();
        let snapshot = |version: i64, n: i64| {
            format!(r#"{{"actorId":"a","version":{version},"state":{{"n":{n}}}}}"#)
        };
        assert!(store.latest_snapshot_json("a").is_none());
        let ahead = store.save_snapshot(&snapshot(5, 1), 0).unwrap_err();
        assert_eq!(ahead.field, "version", "no events yet");
        store.save_event(&event("a", 5), 0).unwrap();
        assert!(store.save_snapshot(&snapshot(6, 1), 0).is_err());
        assert!(store.latest_snapshot_json("a").is_none());
        store.save_snapshot(&snapshot(5, 1), 0).unwrap();
        store.save_snapshot(&snapshot(3, 2), 0).unwrap();
        assert!(store
            .latest_snapshot_json("a")
            .unwrap()
            .contains(r#""n":1"#));
        store.save_snapshot(&snapshot(5, 3), 0).unwrap();
        assert!(store
            .latest_snapshot_json("a")
            .unwrap()
            .contains(r#""n":3"#));
    }
}
