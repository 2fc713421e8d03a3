//! The store's logic, independent of JavaScript and of where events are kept.
//!
//! Every caller-supplied event or snapshot arrives as JSON text, is checked
//! field by field ([`validate`]), and is kept in its canonical JSON encoding.
//! The version rule lives in [`version`] and is the only place it is decided;
//! the rules of a sync change live in [`sync_change`].

pub mod error;
pub mod event;
pub mod fields;
pub mod id;
pub mod memory;
pub mod quote;
pub mod record;
pub mod retry;
pub mod snapshot;
pub mod stream;
pub mod subject;
pub mod sync_change;
pub mod validate;
pub mod version;

pub use error::{InvalidInput, StoreError, VersionConflict};
pub use event::Event;
pub use memory::MemoryStore;
pub use snapshot::ActorSnapshot;
