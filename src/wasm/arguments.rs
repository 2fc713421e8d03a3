//! Checks of read arguments, shared by every backend.

use wasm_bindgen::prelude::*;

use super::errors::invalid_to_js;
use crate::core::{validate, InvalidInput};

/// `actorId` of a read: any string.
#[wasm_bindgen(js_name = checkActorId)]
pub fn check_actor_id(value: JsValue) -> Result<String, JsValue> {
    validate::queried_actor_id(value.as_string()).map_err(|e| invalid_to_js(&e))
}

/// `fromVersion` of a read: a safe integer, `0` when `undefined` or `null`.
#[wasm_bindgen(js_name = checkFromVersion)]
pub fn check_from_version(value: JsValue) -> Result<f64, JsValue> {
    let number = if value.is_undefined() || value.is_null() {
        None
    } else {
        Some(value.as_f64().ok_or_else(|| {
            invalid_to_js(&InvalidInput::new("fromVersion", "must be a safe integer"))
        })?)
    };
    validate::from_version(number)
        .map(|version| version as f64)
        .map_err(|e| invalid_to_js(&e))
}
