//! What persistent backends (IndexedDB) need from the core: events and
//! snapshots validated into their stored form, the version rule applied to a
//! group of saves inside one write transaction, and checks of records read back.

use wasm_bindgen::prelude::*;

use super::errors::{invalid_to_js, to_js};
use super::now_ms;
use crate::core::event::new_events_from_json;
use crate::core::version::Ledger;
use crate::core::{record, ActorSnapshot, Event};

/// An event or snapshot validated and ready to store: its canonical JSON and its key fields.
#[wasm_bindgen(getter_with_clone)]
#[derive(Debug)]
pub struct Prepared {
    /// The canonical JSON text to store and return.
    pub json: String,
    /// The actor it belongs to.
    #[wasm_bindgen(js_name = actorId)]
    pub actor_id: String,
    /// Its version.
    pub version: f64,
}

impl From<&Event> for Prepared {
    fn from(event: &Event) -> Self {
        Prepared {
            json: event.to_json(),
            actor_id: event.actor_id.clone(),
            version: event.version as f64,
        }
    }
}

/// Validates one new event given as JSON text, filling in `id` and `timestamp`.
#[wasm_bindgen(js_name = prepareEvent)]
pub fn prepare_event(json: &str) -> Result<Prepared, JsValue> {
    Event::from_new_json(json, now_ms())
        .map(|event| Prepared::from(&event))
        .map_err(to_js)
}

/// Validates a JSON array of new events; a problem's field starts with its index.
#[wasm_bindgen(js_name = prepareEvents)]
pub fn prepare_events(json: &str) -> Result<Vec<Prepared>, JsValue> {
    new_events_from_json(json, now_ms())
        .map(|events| events.iter().map(Prepared::from).collect())
        .map_err(to_js)
}

/// Validates a snapshot given as JSON text, filling in `timestamp`.
#[wasm_bindgen(js_name = prepareSnapshot)]
pub fn prepare_snapshot(json: &str) -> Result<Prepared, JsValue> {
    ActorSnapshot::from_json(json, now_ms())
        .map(|snapshot| Prepared {
            json: snapshot.to_json(),
            actor_id: snapshot.actor_id,
            version: snapshot.version as f64,
        })
        .map_err(|e| invalid_to_js(&e))
}

/// Why a stored event record cannot be used, or `undefined` when it is sound.
#[wasm_bindgen(js_name = checkEventRecord)]
pub fn check_event_record(bytes: &[u8], actor_id: &str, version: f64) -> Option<String> {
    record::check_event(bytes, actor_id, version as i64).err()
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
