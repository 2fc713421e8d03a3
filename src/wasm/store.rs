//! `StoreCore`: the in-memory store as a JavaScript class taking and returning JSON text.

use wasm_bindgen::prelude::*;

use super::errors::{invalid_to_js, to_js};
use crate::core::{validate, InvalidInput, MemoryStore};

/// The Rust half of `EventStore`: validation, the version rule and the streams.
/// Not part of the public API; `EventStore` wraps it.
#[wasm_bindgen]
#[derive(Debug, Default)]
pub struct StoreCore {
    store: MemoryStore,
}

/// Reads `actorId`: any string.
fn actor_id(value: &JsValue) -> Result<String, JsValue> {
    validate::queried_actor_id(value.as_string()).map_err(|e| invalid_to_js(&e))
}

/// Reads `fromVersion`: a safe integer, `0` when `undefined` or `null`.
fn from_version(value: &JsValue) -> Result<i64, JsValue> {
    let number = if value.is_undefined() || value.is_null() {
        None
    } else {
        Some(value.as_f64().ok_or_else(|| {
            invalid_to_js(&InvalidInput::new("fromVersion", "must be a safe integer"))
        })?)
    };
    validate::from_version(number).map_err(|e| invalid_to_js(&e))
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
        self.store.save_event(json).map_err(to_js)
    }

    /// Stores a JSON array of events, all or nothing; returns them as a JSON array.
    #[wasm_bindgen(js_name = saveEvents)]
    pub fn save_events(&mut self, json: &str) -> Result<String, JsValue> {
        self.store.save_events(json).map_err(to_js)
    }

    /// The actor's events from `fromVersion` on, as a JSON array.
    #[wasm_bindgen(js_name = getEvents)]
    pub fn get_events(
        &self,
        actor_id_value: JsValue,
        from_version_value: JsValue,
    ) -> Result<String, JsValue> {
        let actor = actor_id(&actor_id_value)?;
        Ok(self
            .store
            .events_json(&actor, from_version(&from_version_value)?))
    }

    /// The actor's latest version, `0` when unknown.
    #[wasm_bindgen(js_name = getLatestVersion)]
    pub fn get_latest_version(&self, actor_id_value: JsValue) -> Result<f64, JsValue> {
        Ok(self.store.latest_version(&actor_id(&actor_id_value)?) as f64)
    }

    /// Stores a snapshot given as JSON text; returns it as stored.
    #[wasm_bindgen(js_name = saveSnapshot)]
    pub fn save_snapshot(&mut self, json: &str) -> Result<String, JsValue> {
        self.store
            .save_snapshot(json)
            .map_err(|e| invalid_to_js(&e))
    }

    /// The actor's highest-version snapshot as JSON text, or `undefined`.
    #[wasm_bindgen(js_name = getLatestSnapshot)]
    pub fn get_latest_snapshot(&self, actor_id_value: JsValue) -> Result<Option<String>, JsValue> {
        Ok(self.store.latest_snapshot_json(&actor_id(&actor_id_value)?))
    }
}
