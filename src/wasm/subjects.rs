//! Actor ids as NATS subject tokens, for the JetStream backend.

use wasm_bindgen::prelude::*;

use super::errors::invalid_to_js;
use crate::core::subject;

/// The subject token of an actor id; `ValidationError` (`actorId`) when it cannot be one.
#[wasm_bindgen(js_name = encodeActorToken)]
pub fn encode_actor_token(actor_id: &str) -> Result<String, JsValue> {
    subject::encode_actor(actor_id).map_err(|e| invalid_to_js(&e))
}

/// The actor id a subject token stands for, or `undefined`.
#[wasm_bindgen(js_name = decodeActorToken)]
pub fn decode_actor_token(token: &str) -> Option<String> {
    subject::decode_actor(token)
}
