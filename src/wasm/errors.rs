//! Turns core errors into the package's JavaScript error classes.

use js_sys::{Object, Reflect};
use wasm_bindgen::prelude::*;

use crate::core::sync_change::Refusal;
use crate::core::{InvalidInput, StoreError, VersionConflict};

#[wasm_bindgen(module = "/pkg-template/src/errors.js")]
extern "C" {
    /// `VersionConflictError` of errors.js.
    pub(crate) type VersionConflictError;
    #[wasm_bindgen(constructor)]
    fn new(message: &str, fields: &Object) -> VersionConflictError;

    /// `ValidationError` of errors.js.
    pub(crate) type ValidationError;
    #[wasm_bindgen(constructor)]
    fn new(message: &str, fields: &Object) -> ValidationError;

    /// `StorageError` of errors.js.
    pub(crate) type StorageError;
    #[wasm_bindgen(constructor)]
    fn new(message: &str, fields: &Object) -> StorageError;

    /// `PendingChangedError` of errors.js.
    pub(crate) type PendingChangedError;
    #[wasm_bindgen(constructor)]
    fn new(message: &str) -> PendingChangedError;
}

/// An object with the given properties, for an error's fields.
fn fields(entries: &[(&str, JsValue)]) -> Object {
    let object = Object::new();
    for (key, value) in entries {
        // Setting a property on a fresh plain object cannot fail.
        let _ = Reflect::set(&object, &JsValue::from_str(key), value);
    }
    object
}

/// The JavaScript exception for a core error.
pub(crate) fn to_js(error: StoreError) -> JsValue {
    match error {
        StoreError::Conflict(conflict) => conflict_to_js(&conflict),
        StoreError::Invalid(invalid) => invalid_to_js(&invalid),
        StoreError::Environment(message) => StorageError::new(&message, &Object::new()).into(),
        out_of_memory @ StoreError::OutOfMemory => {
            StorageError::new(&out_of_memory.to_string(), &Object::new()).into()
        }
    }
}

fn conflict_to_js(conflict: &VersionConflict) -> JsValue {
    let fields = fields(&[
        ("actorId", JsValue::from_str(&conflict.actor_id)),
        (
            "attemptedVersion",
            JsValue::from_f64(conflict.attempted_version as f64),
        ),
        (
            "currentVersion",
            JsValue::from_f64(conflict.current_version as f64),
        ),
    ]);
    VersionConflictError::new(&conflict.to_string(), &fields).into()
}

/// The `ValidationError` for a field that breaks the contract.
pub(crate) fn invalid_to_js(invalid: &InvalidInput) -> JsValue {
    let fields = fields(&[("field", JsValue::from_str(&invalid.field))]);
    ValidationError::new(&invalid.to_string(), &fields).into()
}

/// The exception for a refused sync change: `PendingChangedError` when it is
/// to be prepared again, `StorageError` when the local store diverged.
pub(crate) fn refusal_to_js(refusal: Refusal) -> JsValue {
    match refusal {
        Refusal::PendingChanged(message) => PendingChangedError::new(&message).into(),
        Refusal::Diverged(message) => StorageError::new(&message, &Object::new()).into(),
    }
}
