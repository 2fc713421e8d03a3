//! The rules of a sync change (`crate::core::sync_change`) for the local
//! backends' `syncCommit`, which read their storage and ask, event by event.

use wasm_bindgen::prelude::*;

use super::errors::refusal_to_js;
use crate::core::sync_change::{Confirmation, Holding, SyncChange};

/// What a change does with one confirmed event (see `SyncChangeRules.confirm`).
#[wasm_bindgen]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Confirmed {
    /// Confirmed already: nothing to do.
    Kept = 0,
    /// The pending event at its version becomes confirmed.
    Moved = 1,
    /// Appended to the confirmed events.
    Appended = 2,
}

/// One sync change's rules; each refusal throws `PendingChangedError` (the
/// change is to be prepared again) or `StorageError` (the local store
/// diverged from the remote), and the backend stores nothing of the change.
#[wasm_bindgen]
#[derive(Debug, Default)]
pub struct SyncChangeRules {
    change: SyncChange,
}

#[wasm_bindgen]
impl SyncChangeRules {
    /// The rules of a new change.
    #[wasm_bindgen(constructor)]
    pub fn new() -> SyncChangeRules {
        SyncChangeRules::default()
    }

    /// Drops the actor's pending event at `version`; `pending` tells whether one is pending there.
    #[wasm_bindgen(js_name = dropPending)]
    pub fn drop_pending(
        &mut self,
        actor_id: &str,
        version: f64,
        pending: bool,
    ) -> Result<(), JsValue> {
        self.change
            .drop_pending(actor_id, version as i64, pending)
            .map_err(refusal_to_js)
    }

    /// What becomes of the confirmed event `id` of the actor at `version`,
    /// given what the store holds, read as the change reaches it: the actor's
    /// latest stored confirmed version, the id of its pending event at that
    /// version if one is still pending, whether one below it is, and the id
    /// of the confirmed event stored at that version, if any.
    #[allow(clippy::too_many_arguments)]
    pub fn confirm(
        &mut self,
        actor_id: &str,
        version: f64,
        id: &str,
        latest_stored: f64,
        pending_id: Option<String>,
        pending_below: bool,
        stored_id: Option<String>,
    ) -> Result<Confirmed, JsValue> {
        let holding = Holding {
            latest_stored: latest_stored as i64,
            pending_id: pending_id.as_deref(),
            pending_below,
            stored_id: stored_id.as_deref(),
        };
        let confirmation = self
            .change
            .confirm(actor_id, version as i64, id, &holding)
            .map_err(refusal_to_js)?;
        Ok(match confirmation {
            Confirmation::Kept => Confirmed::Kept,
            Confirmation::Moved => Confirmed::Moved,
            Confirmation::Appended => Confirmed::Appended,
        })
    }

    /// Admits a new pending event of the actor at `version`, given its latest
    /// stored confirmed version and its highest pending version left after the
    /// change's drops and moves.
    #[wasm_bindgen(js_name = admitPending)]
    pub fn admit_pending(
        &mut self,
        actor_id: &str,
        version: f64,
        latest_stored: f64,
        latest_pending: f64,
    ) -> Result<(), JsValue> {
        self.change
            .admit_pending(
                actor_id,
                version as i64,
                latest_stored as i64,
                latest_pending as i64,
            )
            .map_err(refusal_to_js)
    }
}
