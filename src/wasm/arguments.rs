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
    let number = optional_number(&value, "fromVersion", "must be a safe integer")?;
    validate::from_version(number)
        .map(|version| version as f64)
        .map_err(|e| invalid_to_js(&e))
}

/// A number argument as `Some`, `None` when `undefined` or `null`, or the
/// `ValidationError` for `field` when it is no number.
fn optional_number(value: &JsValue, field: &str, expected: &str) -> Result<Option<f64>, JsValue> {
    if value.is_undefined() || value.is_null() {
        return Ok(None);
    }
    value
        .as_f64()
        .map(Some)
        .ok_or_else(|| invalid_to_js(&InvalidInput::new(field, expected)))
}

/// `after` of `readAll` and `subscribe`: a position, `0` when `undefined` or `null`.
#[wasm_bindgen(js_name = checkAfter)]
pub fn check_after(value: JsValue) -> Result<f64, JsValue> {
    let number = optional_number(&value, "after", "must be a safe integer >= 0 (a position)")?;
    validate::after_position(number)
        .map(|after| after as f64)
        .map_err(|e| invalid_to_js(&e))
}

/// `limit` of `readAll`: a safe integer >= 1, 1000 when `undefined` or `null`.
#[wasm_bindgen(js_name = checkLimit)]
pub fn check_limit(value: JsValue) -> Result<f64, JsValue> {
    let number = optional_number(&value, "limit", "must be a safe integer >= 1")?;
    validate::read_limit(number)
        .map(|limit| limit as f64)
        .map_err(|e| invalid_to_js(&e))
}
