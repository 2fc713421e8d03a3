//! The in-memory store: per-actor streams of canonical JSON, the global order
//! across them, and latest snapshots.
//!
//! Each actor's events live in a [`Stream`] of comma-separated JSON, so that
//! appending is amortized O(1) without an allocation per event, and reading
//! from a version is a binary search and one copy of what is read. The global
//! order is a log of (stream, entry) pairs: an event's position is its index in
//! the log plus one.
//!
//! Memory is finite (4 GiB of WebAssembly memory at most): every allocation
//! that keeps what a save stores is fallible, and a save first makes sure the
//! memory it needs while it runs can be had. A save that would need more fails
//! with [`StoreError::OutOfMemory`] and stores nothing; the store stays usable.

use std::collections::HashMap;
use std::fmt::Write;

use super::error::{InvalidInput, StoreError};
use super::event::{new_events_from_json, CheckedEvent, Event};
use super::snapshot::ActorSnapshot;
use super::stream::Stream;
use super::{retry, version};

/// What a save resolved with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Saved {
    /// The stored events' JSON: one event, or a JSON array for a batch.
    pub json: String,
    /// How many events the save stored: `0` when it was a retry of events
    /// already stored (see [`retry`]).
    pub stored: usize,
}

/// What saving one event did.
#[derive(Debug)]
pub enum SavedEvent<'a> {
    /// The event was stored: as it was checked, its encoding now in the store.
    Stored(CheckedEvent<'a>),
    /// The save retried an event already stored: its stored JSON (see [`retry`]).
    Retried(String),
}

/// Where an event of the global order is: its stream and its index there.
#[derive(Debug, Clone, Copy)]
struct Logged {
    stream: u32,
    entry: u32,
}

/// Every actor's stream and latest snapshot, in memory.
#[derive(Debug, Default)]
pub struct MemoryStore {
    /// Each actor's index in `streams`.
    actors: HashMap<String, u32>,
    streams: Vec<Stream>,
    /// Every stored event in commit order: position `p` is `log[p - 1]`.
    log: Vec<Logged>,
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
        Ok(match self.save_one(json, now_ms)? {
            SavedEvent::Stored(event) => Saved {
                json: event.into_event().into_json(),
                stored: 1,
            },
            SavedEvent::Retried(json) => Saved { json, stored: 0 },
        })
    }

    /// Like [`MemoryStore::save_event`], handing back the checked event, whose
    /// encoding is written straight into its stream: a caller who needs only
    /// its `id` and `timestamp` copies nothing.
    pub fn save_one<'a>(
        &mut self,
        json: &'a str,
        now_ms: i64,
    ) -> Result<SavedEvent<'a>, StoreError> {
        ensure_headroom(json.len())?;
        let event = CheckedEvent::new(json, now_ms)?;
        // One lookup of the actor serves the version check and the append.
        let slot = self.actors.get(event.actor_id.as_ref()).copied();
        let latest = slot
            .and_then(|index| self.streams.get(index as usize))
            .map_or(0, Stream::latest_version);
        if let Err(conflict) = version::check(&event.actor_id, latest, event.version) {
            let retried = self.stored_retry(std::slice::from_ref(&event.into_event()));
            return match retried.as_deref() {
                Some([json]) => Ok(SavedEvent::Retried((*json).to_owned())),
                _ => Err(conflict.into()),
            };
        }
        self.reserve(1)?;
        let length = event.json_length();
        self.push_with(&event.actor_id, slot, event.version, length, |out| {
            event.write_json(out);
        })?;
        Ok(SavedEvent::Stored(event))
    }

    /// Validates and stores a JSON array of events, all or nothing, returning
    /// the stored events as a JSON array.
    pub fn save_events(&mut self, json: &str, now_ms: i64) -> Result<Saved, StoreError> {
        self.save_batch(json, now_ms, |events| {
            json_array(events.iter().map(Event::json))
        })
    }

    /// Like [`MemoryStore::save_events`], answering with only what the caller
    /// cannot know when the batch was stored: each event's timestamp and id, as
    /// `"<timestamp> <n> <id>"` one after the other (`n` the id's length in
    /// UTF-16 code units, how JavaScript counts). A retry answers with the
    /// stored events as a JSON array, as `save_events` does.
    pub fn save_events_brief(&mut self, json: &str, now_ms: i64) -> Result<Saved, StoreError> {
        self.save_batch(json, now_ms, brief_answer)
    }

    /// Stores a batch; `answer` makes the answer for the batch when it will be
    /// stored, before anything is, so that answering cannot fail once it is in.
    fn save_batch(
        &mut self,
        json: &str,
        now_ms: i64,
        answer: impl FnOnce(&[Event]) -> Result<String, StoreError>,
    ) -> Result<Saved, StoreError> {
        ensure_headroom(json.len())?;
        let events = new_events_from_json(json, now_ms)?;
        let checked =
            version::check_batch(version::keys(&events), |actor| self.latest_version(actor));
        if let Err(conflict) = checked {
            return match self.stored_retry(&events) {
                Some(stored) => Ok(Saved {
                    json: json_array(stored.into_iter())?,
                    stored: 0,
                }),
                None => Err(conflict.into()),
            };
        }
        self.reserve(events.len())?;
        let stored = answer(&events)?;
        for (index, event) in events.iter().enumerate() {
            if let Err(error) = self.push(&event.actor_id, event.version, event.json()) {
                self.undo(index);
                return Err(error);
            }
        }
        Ok(Saved {
            json: stored,
            stored: events.len(),
        })
    }

    /// The stored events that `events` retry, if they do.
    fn stored_retry(&self, events: &[Event]) -> Option<Vec<&str>> {
        let stored: Option<Vec<&str>> = events
            .iter()
            .map(|event| self.stream(&event.actor_id)?.json_at(event.version))
            .collect();
        retry::stored_events(retry::keys(events), stored?)
    }

    /// Reserves the log and the table of actors for `count` events, so that
    /// only the streams' own growth can fail while they are stored.
    fn reserve(&mut self, count: usize) -> Result<(), StoreError> {
        self.log.try_reserve(count)?;
        self.actors.try_reserve(count)?;
        self.streams.try_reserve(count)?;
        Ok(())
    }

    /// Appends one event to its actor's stream and to the log; on failure nothing changes.
    fn push(&mut self, actor_id: &str, version: i64, json: &str) -> Result<(), StoreError> {
        let slot = self.actors.get(actor_id).copied();
        self.push_with(actor_id, slot, version, json.len(), |out| {
            out.push_str(json)
        })
    }

    /// Like [`MemoryStore::push`], the event's JSON (`length` bytes) appended
    /// by `write` to the stream's text; `slot` is the actor's index in
    /// `streams`, as `actors` holds it (`None` for a new actor).
    fn push_with(
        &mut self,
        actor_id: &str,
        slot: Option<u32>,
        version: i64,
        length: usize,
        write: impl FnOnce(&mut String),
    ) -> Result<(), StoreError> {
        let index = match slot {
            Some(index) => index,
            None => {
                let index = u32::try_from(self.streams.len()).unwrap_or(u32::MAX);
                self.actors.insert(actor_id.to_owned(), index);
                self.streams.push(Stream::default());
                index
            }
        };
        let Some(stream) = self.streams.get_mut(index as usize) else {
            return Ok(());
        };
        let entry = u32::try_from(stream.len()).unwrap_or(u32::MAX);
        let pushed = stream.push_with(version, length, write);
        if pushed.is_ok() {
            self.log.push(Logged {
                stream: index,
                entry,
            });
        } else if stream.is_empty() {
            // The actor was new: forget it again.
            self.actors.remove(actor_id);
            self.streams.pop();
        }
        pushed.map_err(StoreError::from)
    }

    /// Takes back the last `count` events pushed (a batch that ran out of memory part way).
    fn undo(&mut self, count: usize) {
        for _ in 0..count {
            let Some(logged) = self.log.pop() else { return };
            if let Some(stream) = self.streams.get_mut(logged.stream as usize) {
                stream.truncate(logged.entry as usize);
            }
        }
        while self.streams.last().is_some_and(Stream::is_empty) {
            self.streams.pop();
            let last = u32::try_from(self.streams.len()).unwrap_or(u32::MAX);
            self.actors.retain(|_, index| *index != last);
        }
    }

    fn stream(&self, actor_id: &str) -> Option<&Stream> {
        self.streams.get(*self.actors.get(actor_id)? as usize)
    }

    /// The actor's latest version, `0` when it has no events.
    pub fn latest_version(&self, actor_id: &str) -> i64 {
        self.stream(actor_id).map_or(0, Stream::latest_version)
    }

    /// The actor's events with `version >= from_version`, ascending, as a JSON array.
    pub fn events_json(&self, actor_id: &str, from_version: i64) -> Result<String, StoreError> {
        let mut out = String::new();
        out.try_reserve(2)?;
        out.push('[');
        if let Some(stream) = self.stream(actor_id) {
            stream.write_from(from_version, &mut out)?;
        }
        out.try_reserve(1)?;
        out.push(']');
        Ok(out)
    }

    /// The position of the last stored event, `0` when there is none.
    pub fn last_position(&self) -> i64 {
        self.log.len() as i64
    }

    /// At most `limit` stored events with `position > after`, ascending, as a
    /// JSON array of `{"position":p,"event":...}`.
    pub fn read_all_json(&self, after: i64, limit: usize) -> Result<String, StoreError> {
        self.page_json(after, limit, true)
    }

    /// Like [`MemoryStore::read_all_json`], the events alone: positions are
    /// dense, so the `i`-th has position `max(after, 0) + i + 1`.
    pub fn read_all_events_json(&self, after: i64, limit: usize) -> Result<String, StoreError> {
        self.page_json(after, limit, false)
    }

    /// The events of a page of the global order as a JSON array, as entries
    /// `{"position":p,"event":...}` when `entries`.
    fn page_json(&self, after: i64, limit: usize, entries: bool) -> Result<String, StoreError> {
        let first = usize::try_from(after.max(0)).unwrap_or(usize::MAX);
        let page = || self.log.iter().skip(first).take(limit).enumerate();
        let event_of = |logged: &Logged| {
            self.streams
                .get(logged.stream as usize)
                .and_then(|stream| stream.json_of(logged.entry as usize))
                .unwrap_or("null")
        };
        let wrapping = if entries { 40 } else { 1 };
        let mut out = String::new();
        out.try_reserve(
            2 + page()
                .map(|(_, logged)| event_of(logged).len() + wrapping)
                .sum::<usize>(),
        )?;
        out.push('[');
        for (offset, logged) in page() {
            if offset > 0 {
                out.push(',');
            }
            if entries {
                let _ = write!(
                    out,
                    "{{\"position\":{},\"event\":{}}}",
                    first + offset + 1,
                    event_of(logged)
                );
            } else {
                out.push_str(event_of(logged));
            }
        }
        out.push(']');
        Ok(out)
    }

    /// Validates and stores a snapshot given as JSON, returning the stored snapshot's JSON.
    /// Its version may not be above the actor's latest version, nor above
    /// `pending_latest` (the actor's latest version among events kept outside
    /// this store, such as those a synced store has not yet had accepted).
    /// Only the highest version per actor is kept, as only it can be read back;
    /// a snapshot at the same version replaces the earlier one.
    pub fn save_snapshot(
        &mut self,
        json: &str,
        now_ms: i64,
        pending_latest: i64,
    ) -> Result<String, InvalidInput> {
        let snapshot = ActorSnapshot::from_json(json, now_ms)?;
        let latest = self.latest_version(&snapshot.actor_id).max(pending_latest);
        version::check_snapshot(snapshot.version, latest)?;
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

    /// Forgets the actor's snapshot if its version is `version` or above (it was
    /// taken over events that no longer hold those versions).
    pub fn drop_snapshot_from(&mut self, actor_id: &str, version: i64) {
        if self
            .snapshots
            .get(actor_id)
            .is_some_and(|latest| latest.version >= version)
        {
            self.snapshots.remove(actor_id);
        }
    }

    /// The actor's highest-version snapshot as JSON, if any.
    pub fn latest_snapshot_json(&self, actor_id: &str) -> Option<String> {
        self.snapshots.get(actor_id).map(ActorSnapshot::to_json)
    }
}

/// Makes sure that `input_bytes` of input can be parsed and turned into what is
/// stored: the memory this takes while a save runs (a few times the input) is
/// allocated once and given back, so that the allocations that follow find it.
fn ensure_headroom(input_bytes: usize) -> Result<(), StoreError> {
    let mut scratch: Vec<u8> = Vec::new();
    scratch.try_reserve_exact(input_bytes.saturating_mul(3).saturating_add(HEADROOM_BYTES))?;
    Ok(())
}

/// Memory a save may need beside what is proportional to its input.
const HEADROOM_BYTES: usize = 1 << 20;

/// Joins JSON texts into one JSON array.
/// The answer of [`MemoryStore::save_events_brief`] for stored `events`.
fn brief_answer(events: &[Event]) -> Result<String, StoreError> {
    // A timestamp takes at most 30 bytes and a length at most 10 digits.
    let mut out = String::new();
    out.try_reserve(events.iter().map(|event| event.id.len() + 43).sum())?;
    for event in events {
        out.push_str(event.timestamp());
        out.push(' ');
        push_decimal(&mut out, event.id.encode_utf16().count());
        out.push(' ');
        out.push_str(&event.id);
    }
    Ok(out)
}

/// Appends `n` in decimal digits.
fn push_decimal(out: &mut String, n: usize) {
    if n >= 10 {
        push_decimal(out, n / 10);
    }
    out.push(char::from(
        b"0123456789".get(n % 10).copied().unwrap_or(b'0'),
    ));
}

fn json_array<'a>(elements: impl Iterator<Item = &'a str> + Clone) -> Result<String, StoreError> {
    let mut out = String::new();
    out.try_reserve(
        2 + elements
            .clone()
            .map(|element| element.len() + 1)
            .sum::<usize>(),
    )?;
    out.push('[');
    for (index, element) in elements.enumerate() {
        if index > 0 {
            out.push(',');
        }
        out.push_str(element);
    }
    out.push(']');
    Ok(out)
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
        let events: Vec<Value> =
            serde_json::from_str(&store.events_json(actor, from).unwrap()).unwrap();
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
    fn a_brief_batch_answer_gives_each_timestamp_and_id_or_a_retry_the_stored_events() {
        let mut store = MemoryStore::new();
        let batch = format!(
            r#"[{{"id":"é 1 x","eventType":"T","actorId":"a","version":1,"data":{{}}}},{}]"#,
            event("a", 2)
        );
        let saved = store.save_events_brief(&batch, 0).unwrap();
        assert_eq!(saved.stored, 2);
        let stored: Vec<Value> = serde_json::from_str(&store.events_json("a", 0).unwrap()).unwrap();
        let generated = stored[1]["id"].as_str().unwrap();
        assert_eq!(
            saved.json,
            format!("1970-01-01T00:00:00.000Z 5 é 1 x1970-01-01T00:00:00.000Z 36 {generated}")
        );
        let retry = r#"[{"id":"é 1 x","eventType":"T","actorId":"a","version":1,"data":{}}]"#;
        let again = store.save_events_brief(retry, 10).unwrap();
        assert_eq!(again.stored, 0, "a retry stores nothing");
        let again: Vec<Value> = serde_json::from_str(&again.json).unwrap();
        assert_eq!(again, stored[..1]);
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
        assert_eq!(first.stored, 1);
        let again = store.save_event(&with_id("e1", 1, 1), 20).unwrap();
        assert_eq!(
            again,
            Saved {
                stored: 0,
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
                stored: 0,
                ..stored
            }
        );
        assert_eq!(versions(&store, "a", 0), [1, 2, 3]);

        let single_of_batch = store.save_event(&with_id("e3", 3, 3), 0).unwrap();
        assert_eq!(single_of_batch.stored, 0);
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
    fn the_global_order_is_commit_order_across_actors() {
        let mut store = MemoryStore::new();
        assert_eq!(store.last_position(), 0);
        assert_eq!(store.read_all_json(0, 10).unwrap(), "[]");
        store.save_event(&event("a", 1), 0).unwrap();
        let batch = format!("[{},{}]", event("b", 1), event("a", 2));
        assert_eq!(store.save_events(&batch, 0).unwrap().stored, 2);
        store.save_event(&event("a", 2), 0).unwrap_err();
        store.save_event(&event("c", 7), 0).unwrap();
        assert_eq!(store.last_position(), 4);
        let all: Vec<Value> = serde_json::from_str(&store.read_all_json(0, 100).unwrap()).unwrap();
        let order: Vec<(i64, &str, i64)> = all
            .iter()
            .map(|r| {
                (
                    r["position"].as_i64().unwrap(),
                    r["event"]["actorId"].as_str().unwrap(),
                    r["event"]["version"].as_i64().unwrap(),
                )
            })
            .collect();
        assert_eq!(order, [(1, "a", 1), (2, "b", 1), (3, "a", 2), (4, "c", 7)]);
        let page: Vec<Value> = serde_json::from_str(&store.read_all_json(1, 2).unwrap()).unwrap();
        assert_eq!(page.len(), 2);
        assert_eq!(page[0]["position"], 2);
        assert_eq!(store.read_all_json(4, 10).unwrap(), "[]");
        let events: Vec<Value> =
            serde_json::from_str(&store.read_all_events_json(1, 2).unwrap()).unwrap();
        assert_eq!(events, [page[0]["event"].clone(), page[1]["event"].clone()]);
        assert_eq!(store.read_all_events_json(4, 10).unwrap(), "[]");
        assert_eq!(
            store.read_all_events_json(-5, 1).unwrap(),
            store.read_all_events_json(0, 1).unwrap()
        );
        assert_eq!(
            store
                .read_all_json(-5, 1)
                .unwrap()
                .matches("position")
                .count(),
            1
        );
    }

    #[test]
    fn keeps_the_highest_snapshot() {
        let mut store = MemoryStore::new();
        let snapshot = |version: i64, n: i64| {
            format!(r#"{{"actorId":"a","version":{version},"state":{{"n":{n}}}}}"#)
        };
        assert!(store.latest_snapshot_json("a").is_none());
        let ahead = store.save_snapshot(&snapshot(5, 1), 0, 0).unwrap_err();
        assert_eq!(ahead.field, "version", "no events yet");
        store.save_event(&event("a", 5), 0).unwrap();
        assert!(store.save_snapshot(&snapshot(6, 1), 0, 0).is_err());
        assert!(store.latest_snapshot_json("a").is_none());
        store.save_snapshot(&snapshot(5, 1), 0, 0).unwrap();
        store.save_snapshot(&snapshot(3, 2), 0, 0).unwrap();
        assert!(store
            .latest_snapshot_json("a")
            .unwrap()
            .contains(r#""n":1"#));
        store.save_snapshot(&snapshot(5, 3), 0, 0).unwrap();
        assert!(store
            .latest_snapshot_json("a")
            .unwrap()
            .contains(r#""n":3"#));
    }

    #[test]
    fn counts_pending_versions_for_snapshots_and_drops_the_ones_above_a_version() {
        let mut store = MemoryStore::new();
        let snapshot =
            |version: i64| format!(r#"{{"actorId":"a","version":{version},"state":{{}}}}"#);
        store.save_event(&event("a", 2), 0).unwrap();
        assert!(
            store.save_snapshot(&snapshot(4), 0, 3).is_err(),
            "above the pending events too"
        );
        store.save_snapshot(&snapshot(3), 0, 3).unwrap();
        store.drop_snapshot_from("a", 4);
        assert!(
            store.latest_snapshot_json("a").is_some(),
            "below the version: kept"
        );
        store.drop_snapshot_from("a", 3);
        assert!(store.latest_snapshot_json("a").is_none());
    }
}
