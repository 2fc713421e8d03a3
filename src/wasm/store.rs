//! `StoreCore`: the in-memory store as a JavaScript class taking and returning JSON text.

use wasm_bindgen::prelude::*;

use super::area::{self, written};
use super::errors::{invalid_to_js, to_js};
use super::now_ms;
use crate::core::memory::{Saved, SavedEvent};
use crate::core::{MemoryStore, StoreError};

/// The Rust half of an in-memory `EventStore`: validation, the version rule
/// and the streams. Not part of the public API. Read arguments arrive checked
/// (`checkActorId`, `checkFromVersion`).
#[wasm_bindgen]
#[derive(Debug, Default)]
pub struct StoreCore {
    store: MemoryStore,
    last_save_stored: usize,
    /// Where JavaScript writes an event's JSON for `saveWrittenEvent`
    /// (see `inputArea`): bytes of the WebAssembly memory that it reaches
    /// directly, so that a save is one call, with no allocation to cross for.
    input: Vec<u8>,
    /// Why the last `saveWrittenEvent` failed, until `takeError` takes it.
    failure: Option<StoreError>,
}

#[wasm_bindgen]
impl StoreCore {
    /// An empty store.
    #[wasm_bindgen(constructor)]
    pub fn new() -> StoreCore {
        StoreCore::default()
    }

    /// Stores one event given as JSON text; returns the stored event as JSON text.
    #[wasm_bindgen(js_name = saveEvent)]
    pub fn save_event(&mut self, json: &str) -> Result<String, JsValue> {
        let saved = self.store.save_event(json, now_ms());
        self.settle(saved)
    }

    /// Stores one event given as JSON text, like `saveEvent`, returning only
    /// what the caller cannot know: `"<timestamp> <id>"` when it was stored,
    /// or the stored event as JSON text (starting with `{`) when the save
    /// retried it. The caller builds the stored event from its own copy of the
    /// input: what the core stored is the input with these two fields set,
    /// an empty `commandId` or `metadata` left out.
    #[wasm_bindgen(js_name = saveEventBrief)]
    pub fn save_event_brief(&mut self, json: &str) -> Result<String, JsValue> {
        // Reserved before anything is stored, so that the answer cannot run out
        // of memory once the event is in: a timestamp takes at most 30 bytes,
        // and a given id is no longer than the input that holds it.
        let mut brief = String::new();
        brief
            .try_reserve(json.len() + 64)
            .map_err(|error| to_js(StoreError::from(error)))?;
        match self.store.save_one(json, now_ms()).map_err(to_js)? {
            SavedEvent::Stored(event) => {
                self.last_save_stored = 1;
                event.write_timestamp(&mut brief);
                brief.push(' ');
                brief.push_str(&event.id);
                Ok(brief)
            }
            SavedEvent::Retried(json) => {
                self.last_save_stored = 0;
                Ok(json)
            }
        }
    }

    /// Makes the input area (where JavaScript writes the JSON that
    /// `saveWrittenEvent` stores) at least `bytes` long, and returns where it
    /// starts in the WebAssembly memory: `0` when the memory cannot grow to
    /// hold it. The area moves when it grows, and a view of the memory is
    /// detached whenever the memory grows.
    #[wasm_bindgen(js_name = inputArea)]
    pub fn input_area(&mut self, bytes: u32) -> u32 {
        area::grow(&mut self.input, bytes)
    }

    /// Stores one event, like `saveEventBrief`, whose JSON JavaScript wrote to
    /// the first `length` bytes of the input area (as UTF-8), with `nowMs` as
    /// its timestamp when it has none. The caller knows what `saveEventBrief`
    /// would answer when it gave the event its `id`, and `nowMs` as the time,
    /// so the answer is only what happened: `1` stored; `0` retried an event
    /// already stored, which stores nothing (`saveEventBrief` of the same JSON
    /// answers with the stored event); `-1` refused, with the reason waiting
    /// for `takeError`. No string crosses, nor any error object on success.
    #[wasm_bindgen(js_name = saveWrittenEvent)]
    pub fn save_written_event(&mut self, length: u32, now_ms: f64) -> i32 {
        let saved = match written(&self.input, length) {
            Ok(json) => self.store.save_one(json, now_ms as i64),
            Err(invalid) => Err(invalid.into()),
        };
        match saved {
            Ok(SavedEvent::Stored(_)) => {
                self.last_save_stored = 1;
                1
            }
            Ok(SavedEvent::Retried(_)) => {
                self.last_save_stored = 0;
                0
            }
            Err(error) => {
                self.failure = Some(error);
                -1
            }
        }
    }

    /// The error of the last `saveWrittenEvent` that answered `-1`, once; `undefined` after.
    #[wasm_bindgen(js_name = takeError)]
    pub fn take_error(&mut self) -> JsValue {
        self.failure.take().map_or(JsValue::UNDEFINED, to_js)
    }

    /// Stores a JSON array of events, like `saveEventsBrief`, whose JSON
    /// JavaScript wrote to the first `length` bytes of the input area (as
    /// UTF-8), with `nowMs` as the timestamp of those that have none.
    #[wasm_bindgen(js_name = saveWrittenEventsBrief)]
    pub fn save_written_events_brief(
        &mut self,
        length: u32,
        now_ms: f64,
    ) -> Result<String, JsValue> {
        let saved = match written(&self.input, length) {
            Ok(json) => self.store.save_events_brief(json, now_ms as i64),
            Err(invalid) => Err(invalid.into()),
        };
        self.settle(saved)
    }

    /// Stores a JSON array of events, all or nothing; returns them as a JSON array.
    #[wasm_bindgen(js_name = saveEvents)]
    pub fn save_events(&mut self, json: &str) -> Result<String, JsValue> {
        let saved = self.store.save_events(json, now_ms());
        self.settle(saved)
    }

    /// Stores a JSON array of events, like `saveEvents`, answering with only
    /// what the caller cannot know: each event's timestamp and id as
    /// `"<timestamp> <n> <id>"` one after the other (`n` the id's length in
    /// UTF-16 code units), or the stored events as a JSON array (starting with
    /// `[`) when the save retried them. The answer is made before the batch is
    /// stored, so that answering cannot run out of memory once it is in.
    #[wasm_bindgen(js_name = saveEventsBrief)]
    pub fn save_events_brief(&mut self, json: &str) -> Result<String, JsValue> {
        let saved = self.store.save_events_brief(json, now_ms());
        self.settle(saved)
    }

    /// How many events the last successful save stored: `0` for a retry of
    /// stored events (which notifies no one). They are the last ones of the global order.
    #[wasm_bindgen(js_name = lastSaveStored)]
    pub fn last_save_stored(&self) -> u32 {
        u32::try_from(self.last_save_stored).unwrap_or(u32::MAX)
    }

    fn settle(&mut self, saved: Result<Saved, StoreError>) -> Result<String, JsValue> {
        let saved = saved.map_err(to_js)?;
        self.last_save_stored = saved.stored;
        Ok(saved.json)
    }

    /// The position of the last stored event, `0` when there is none.
    #[wasm_bindgen(js_name = lastPosition)]
    pub fn last_position(&self) -> f64 {
        self.store.last_position() as f64
    }

    /// At most `limit` events with `position > after` as a JSON array of `{ position, event }`.
    #[wasm_bindgen(js_name = readAll)]
    pub fn read_all(&self, after: f64, limit: f64) -> Result<String, JsValue> {
        self.store
            .read_all_json(after as i64, limit as usize)
            .map_err(to_js)
    }

    /// Like `readAll`, the events alone as a JSON array: the `i`-th has position `after + i + 1`.
    #[wasm_bindgen(js_name = readAllEvents)]
    pub fn read_all_events(&self, after: f64, limit: f64) -> Result<String, JsValue> {
        self.store
            .read_all_events_json(after as i64, limit as usize)
            .map_err(to_js)
    }

    /// The actor's events from `fromVersion` on, as a JSON array.
    #[wasm_bindgen(js_name = getEvents)]
    pub fn get_events(&self, actor_id: &str, from_version: f64) -> Result<String, JsValue> {
        self.store
            .events_json(actor_id, from_version as i64)
            .map_err(to_js)
    }

    /// The actor's latest version, `0` when unknown.
    #[wasm_bindgen(js_name = getLatestVersion)]
    pub fn get_latest_version(&self, actor_id: &str) -> f64 {
        self.store.latest_version(actor_id) as f64
    }

    /// Stores a snapshot given as JSON text; returns it as stored. Its version
    /// may not be above the actor's latest version, counting `pendingLatest`
    /// (a synced store's pending events) when given.
    #[wasm_bindgen(js_name = saveSnapshot)]
    pub fn save_snapshot(
        &mut self,
        json: &str,
        pending_latest: Option<f64>,
    ) -> Result<String, JsValue> {
        self.store
            .save_snapshot(json, now_ms(), pending_latest.unwrap_or(0.0) as i64)
            .map_err(|e| invalid_to_js(&e))
    }

    /// Forgets the actor's snapshot if its version is `version` or above.
    #[wasm_bindgen(js_name = dropSnapshotFrom)]
    pub fn drop_snapshot_from(&mut self, actor_id: &str, version: f64) {
        self.store.drop_snapshot_from(actor_id, version as i64);
    }

    /// The actor's highest-version snapshot as JSON text, or `undefined`.
    #[wasm_bindgen(js_name = getLatestSnapshot)]
    pub fn get_latest_snapshot(&self, actor_id: &str) -> Option<String> {
        self.store.latest_snapshot_json(actor_id)
    }
}
