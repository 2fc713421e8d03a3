//! What persistent backends (IndexedDB) need from the core: events and
//! snapshots validated into their stored form, the version rule applied to a
//! group of saves inside one write transaction, and checks of records read back.

use std::fmt::Write;

use wasm_bindgen::prelude::*;

use super::area;
use super::errors::{invalid_to_js, to_js};
use super::now_ms;
use crate::core::event::{new_events_from_json, CheckedEvent};
use crate::core::version::{self, Ledger};
use crate::core::{record, retry, ActorSnapshot, Event, StoreError};

/// Events validated and ready to store. JavaScript reads each field once, each
/// covering every event, so that a batch of any size costs a few boundary crossings.
#[wasm_bindgen]
#[derive(Debug, Default)]
pub struct PreparedEvents {
    ids: Vec<String>,
    actor_ids: Vec<String>,
    versions: Vec<f64>,
    utf8: Vec<u8>,
    ends: Vec<u32>,
}

impl PreparedEvents {
    fn new(events: &[Event]) -> Self {
        let mut prepared = PreparedEvents::default();
        for event in events {
            if !prepared.utf8.is_empty() {
                prepared.utf8.push(b',');
            }
            prepared.utf8.extend_from_slice(event.json().as_bytes());
            prepared
                .ends
                .push(u32::try_from(prepared.utf8.len()).unwrap_or(u32::MAX));
            prepared.ids.push(event.id.clone());
            prepared.actor_ids.push(event.actor_id.clone());
            prepared.versions.push(event.version as f64);
        }
        prepared
    }
}

#[wasm_bindgen]
impl PreparedEvents {
    /// Each event's id.
    #[wasm_bindgen(getter)]
    pub fn ids(&self) -> Vec<String> {
        self.ids.clone()
    }

    /// Each event's actor.
    #[wasm_bindgen(getter, js_name = actorIds)]
    pub fn actor_ids(&self) -> Vec<String> {
        self.actor_ids.clone()
    }

    /// Each event's version.
    #[wasm_bindgen(getter)]
    pub fn versions(&self) -> Vec<f64> {
        self.versions.clone()
    }

    /// The events' canonical JSON as UTF-8, comma-separated: event `i` spans
    /// from just after the comma that ends event `i - 1` (or 0) to `ends[i]`.
    #[wasm_bindgen(getter)]
    pub fn utf8(&self) -> Vec<u8> {
        self.utf8.clone()
    }

    /// Where each event's JSON ends in `utf8`.
    #[wasm_bindgen(getter)]
    pub fn ends(&self) -> Vec<u32> {
        self.ends.clone()
    }
}

/// Validates one new event given as JSON text, filling in `id` and `timestamp`.
#[wasm_bindgen(js_name = prepareEvent)]
pub fn prepare_event(json: &str) -> Result<PreparedEvents, JsValue> {
    Event::from_new_json(json, now_ms())
        .map(|event| PreparedEvents::new(std::slice::from_ref(&event)))
        .map_err(to_js)
}

/// Prepares single new events that JavaScript writes into an input area, like
/// `prepareEvent` but with no string or object crossing either way: the
/// canonical JSON comes back in the same area, for one read of the memory.
#[wasm_bindgen]
#[derive(Debug, Default)]
pub struct EventWriter {
    /// Where JavaScript writes an event's JSON, and the core its canonical JSON just after it.
    area: Vec<u8>,
    /// Why the last `prepareWrittenEvent` failed, until `takeError` takes it.
    failure: Option<StoreError>,
    /// Where the canonical JSON is written before it is copied into the area, kept for the next event.
    encoding: String,
}

#[wasm_bindgen]
impl EventWriter {
    /// A writer with an empty area.
    #[wasm_bindgen(constructor)]
    pub fn new() -> EventWriter {
        EventWriter::default()
    }

    /// Makes the area at least `bytes` long and returns where it starts in the
    /// WebAssembly memory (`wasmMemory`): `0` when the memory cannot grow to
    /// hold it. The area moves only here; a view of the memory is detached
    /// whenever the memory grows.
    #[wasm_bindgen(js_name = inputArea)]
    pub fn input_area(&mut self, bytes: u32) -> u32 {
        area::grow(&mut self.area, bytes)
    }

    /// Validates the new event whose JSON JavaScript wrote to the first
    /// `length` bytes of the area (as UTF-8), with `nowMs` as its timestamp
    /// when it has none, and writes its canonical JSON, the bytes
    /// `prepareEvent` gives for it, into the area from `length` on. Answers
    /// how many bytes that JSON takes; `-1` when the event is refused, the
    /// reason waiting for `takeError`; `-2` when the rest of the area is too
    /// short for it (nothing is wrong with the event: `prepareEvent` takes it).
    #[wasm_bindgen(js_name = prepareWrittenEvent)]
    pub fn prepare_written_event(&mut self, length: u32, now_ms: f64) -> i32 {
        let prepared = area::written(&self.area, length)
            .map_err(StoreError::from)
            .and_then(|json| CheckedEvent::new(json, now_ms as i64));
        match prepared {
            Ok(event) => {
                self.encoding.clear();
                event.write_json(&mut self.encoding);
            }
            Err(error) => {
                self.failure = Some(error);
                return -1;
            }
        }
        let json = self.encoding.as_bytes();
        let start = length as usize;
        let (Some(target), Ok(answer)) = (
            self.area.get_mut(start..start.saturating_add(json.len())),
            i32::try_from(json.len()),
        ) else {
            return -2;
        };
        target.copy_from_slice(json);
        answer
    }

    /// The error of the last `prepareWrittenEvent` that answered `-1`, once; `undefined` after.
    #[wasm_bindgen(js_name = takeError)]
    pub fn take_error(&mut self) -> JsValue {
        self.failure.take().map_or(JsValue::UNDEFINED, to_js)
    }
}

/// Validates a JSON array of new events; a problem's field starts with its index.
#[wasm_bindgen(js_name = prepareEvents)]
pub fn prepare_events(json: &str) -> Result<PreparedEvents, JsValue> {
    new_events_from_json(json, now_ms())
        .map(|events| PreparedEvents::new(&events))
        .map_err(to_js)
}

/// A snapshot validated and ready to store: its canonical JSON and its key fields.
#[wasm_bindgen(getter_with_clone)]
#[derive(Debug)]
pub struct PreparedSnapshot {
    /// The canonical JSON text to store and return.
    pub json: String,
    /// The actor it belongs to.
    #[wasm_bindgen(js_name = actorId)]
    pub actor_id: String,
    /// Its version.
    pub version: f64,
}

/// Validates a snapshot given as JSON text, filling in `timestamp`.
#[wasm_bindgen(js_name = prepareSnapshot)]
pub fn prepare_snapshot(json: &str) -> Result<PreparedSnapshot, JsValue> {
    ActorSnapshot::from_json(json, now_ms())
        .map(|snapshot| PreparedSnapshot {
            json: snapshot.to_json(),
            actor_id: snapshot.actor_id,
            version: snapshot.version as f64,
        })
        .map_err(|e| invalid_to_js(&e))
}

/// Stored records of one actor after checking: the sound ones' events as a JSON
/// array, and for the others their index and what is wrong.
#[wasm_bindgen(getter_with_clone)]
#[derive(Debug, Default)]
pub struct CheckedRecords {
    /// The sound records' events, as a JSON array.
    pub events: String,
    /// The version of the last event of the last sound record, `0` if none.
    #[wasm_bindgen(js_name = lastVersion)]
    pub last_version: f64,
    /// The indices of the records that cannot be used.
    pub failed: Vec<u32>,
    /// Why, for each of `failed`.
    pub errors: Vec<String>,
    /// How many events `events` holds.
    pub count: u32,
}

/// Splits records given one after another in `utf8` (record `i` ends at `ends[i]`).
fn records<'a>(utf8: &'a [u8], ends: &'a [u32]) -> impl Iterator<Item = &'a [u8]> + 'a {
    let mut start = 0;
    ends.iter().map(move |end| {
        let end = *end as usize;
        let bytes = utf8.get(start..end).unwrap_or_default();
        start = end;
        bytes
    })
}

impl CheckedRecords {
    fn new(capacity: usize) -> Self {
        let mut events = String::with_capacity(capacity + 2);
        events.push('[');
        CheckedRecords {
            events,
            ..CheckedRecords::default()
        }
    }

    fn push_event(&mut self, json: &str) {
        if self.count > 0 {
            self.events.push(',');
        }
        self.events.push_str(json);
        self.count += 1;
    }

    fn push_recorded(&mut self, position: f64, json: &str) {
        if self.count > 0 {
            self.events.push(',');
        }
        let _ = write!(self.events, "{{\"position\":{position},\"event\":{json}}}");
        self.count += 1;
    }

    fn push_error(&mut self, index: usize, error: String) {
        self.failed.push(u32::try_from(index).unwrap_or(u32::MAX));
        self.errors.push(error);
    }

    fn finish(mut self) -> Self {
        self.events.push(']');
        self
    }
}

/// Checks stored event records (IndexedDB records, directory-store lines), given
/// as their payloads one after another in `utf8` (record `i` ends at `ends[i]`),
/// against the actor and version each is indexed at: `actorIds` holds one actor
/// per record, or one for all. With `positions` (one per record), `events` holds
/// the sound records as `{"position":p,"event":...}` entries instead of events.
#[wasm_bindgen(js_name = checkEventRecords)]
pub fn check_event_records(
    utf8: &[u8],
    ends: &[u32],
    actor_ids: Vec<String>,
    versions: &[f64],
    positions: Option<Box<[f64]>>,
) -> CheckedRecords {
    let mut checked = CheckedRecords::new(utf8.len());
    let actor_of = |index: usize| {
        actor_ids
            .get(index)
            .or(actor_ids.first())
            .map_or("", String::as_str)
    };
    for (index, (bytes, version)) in records(utf8, ends).zip(versions).enumerate() {
        let outcome = record::check_event(bytes, actor_of(index), *version as i64)
            .and_then(|()| std::str::from_utf8(bytes).map_err(|error| error.to_string()));
        match (outcome, &positions) {
            (Ok(json), None) => checked.push_event(json),
            (Ok(json), Some(positions)) => {
                let position = positions.get(index).copied().unwrap_or_default();
                checked.push_recorded(position, json);
            }
            (Err(error), _) => checked.push_error(index, error),
        }
    }
    checked.finish()
}

/// Checks the JetStream messages read from `actorId`'s subject, given one after
/// another in `utf8` (message `i` ends at `ends[i]`). `events` keeps those with
/// `version >= fromVersion`; a message that cannot be decoded, or whose versions
/// are not above the last sound message's, is reported whatever `fromVersion` is.
#[wasm_bindgen(js_name = checkMessages)]
pub fn check_messages(
    utf8: &[u8],
    ends: &[u32],
    actor_id: &str,
    from_version: f64,
) -> CheckedRecords {
    let mut checked = CheckedRecords::new(utf8.len());
    for (index, bytes) in records(utf8, ends).enumerate() {
        // Each message must be above the last sound one before it: one that breaks the order is not trusted.
        match record::check_message(bytes, actor_id, checked.last_version as i64) {
            Ok(events) => {
                for (version, json) in events {
                    checked.last_version = version as f64;
                    if version as f64 >= from_version {
                        checked.push_event(json);
                    }
                }
            }
            Err(error) => checked.push_error(index, error),
        }
    }
    checked.finish()
}

/// Checks JetStream messages of any actors in stream order, given one after
/// another in `utf8` (message `i` ends at `ends[i]`, holds events of
/// `actorIds[i]` and has the stream sequence `sequences[i]`): `events` holds at
/// most `limit` of their events with `position > after`, as `{ position, event }`
/// (see `record::message_position`). Messages that cannot be decoded are reported.
#[wasm_bindgen(js_name = checkRecordedMessages)]
pub fn check_recorded_messages(
    utf8: &[u8],
    ends: &[u32],
    actor_ids: Vec<String>,
    sequences: &[f64],
    after: f64,
    limit: u32,
) -> CheckedRecords {
    let mut checked = CheckedRecords::new(utf8.len());
    let messages = records(utf8, ends).zip(actor_ids.iter().zip(sequences));
    for (index, (bytes, (actor_id, sequence))) in messages.enumerate() {
        match record::check_message(bytes, actor_id, 0) {
            Ok(events) => {
                for (in_message, (_, json)) in events.into_iter().enumerate() {
                    let position = record::message_position(*sequence as i64, in_message) as f64;
                    if position > after && checked.count < limit {
                        checked.push_recorded(position, json);
                    }
                }
            }
            Err(error) => checked.push_error(index, error),
        }
    }
    checked.finish()
}

/// If a save retries stored events (see `core::retry`), their JSON: one event,
/// or a JSON array when `batch`. The save is given by its events' `actorIds`,
/// `versions` and `ids`; `utf8` holds stored record bodies one after another
/// (body `i` ends at `ends[i]`), each one event or a JSON array of events.
#[wasm_bindgen(js_name = storedRetry)]
pub fn stored_retry(
    utf8: &[u8],
    ends: &[u32],
    actor_ids: Vec<String>,
    versions: &[f64],
    ids: Vec<String>,
    batch: bool,
) -> Option<String> {
    let bodies = records(utf8, ends).filter_map(|bytes| std::str::from_utf8(bytes).ok());
    let stored = retry::stored_events(keys(&actor_ids, versions, &ids), bodies)?;
    Some(if batch {
        format!("[{}]", stored.join(","))
    } else {
        stored.concat()
    })
}

/// The message id of a save (JetStream's `Nats-Msg-Id`), derived from its
/// events' actors, versions and ids, so that a retried save carries the same.
#[wasm_bindgen(js_name = messageId)]
pub fn message_id(actor_ids: Vec<String>, versions: &[f64], ids: Vec<String>) -> String {
    retry::message_id(keys(&actor_ids, versions, &ids))
}

/// A save's events as `(actor, version, id)`, from the prepared events' fields.
fn keys<'a>(
    actor_ids: &'a [String],
    versions: &'a [f64],
    ids: &'a [String],
) -> impl Iterator<Item = retry::Key<'a>> {
    actor_ids
        .iter()
        .zip(versions)
        .zip(ids)
        .map(|((actor_id, version), id)| (actor_id.as_str(), *version as i64, id.as_str()))
}

/// Throws `ValidationError` (`version`) if a snapshot at `version` would be
/// above its actor's `latest` stored version.
#[wasm_bindgen(js_name = checkSnapshotVersion)]
pub fn check_snapshot_version(version: f64, latest: f64) -> Result<(), JsValue> {
    version::check_snapshot(version as i64, latest as i64).map_err(|e| invalid_to_js(&e))
}

/// Why a stored snapshot record cannot be used, or `undefined` when it is sound.
#[wasm_bindgen(js_name = checkSnapshotRecord)]
pub fn check_snapshot_record(bytes: &[u8]) -> Option<String> {
    record::check_snapshot(bytes).err()
}

/// The version rule for a group commit: latest versions read inside the write
/// transaction, then each save of the group admitted, or refused, in order.
#[wasm_bindgen]
#[derive(Debug, Default)]
pub struct VersionLedger {
    ledger: Ledger,
}

#[wasm_bindgen]
impl VersionLedger {
    /// An empty ledger.
    #[wasm_bindgen(constructor)]
    pub fn new() -> VersionLedger {
        VersionLedger::default()
    }

    /// Records an actor's latest version as read from storage.
    pub fn observe(&mut self, actor_id: &str, version: f64) {
        self.ledger.observe(actor_id, version as i64);
    }

    /// Admits one whole save, given its events' actors and versions, or throws
    /// `VersionConflictError` and admits nothing.
    pub fn admit(&mut self, actor_ids: Vec<String>, versions: Vec<f64>) -> Result<(), JsValue> {
        let events = actor_ids
            .iter()
            .map(String::as_str)
            .zip(versions.iter().map(|version| *version as i64));
        self.ledger
            .admit(events)
            .map_err(|conflict| to_js(conflict.into()))
    }
}
