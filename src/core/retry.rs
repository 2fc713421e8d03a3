//! Idempotent retries, decided alike for every backend: a save is a retry of
//! an earlier one when every event of it is already stored under the same
//! actor and version with the same `id`. It then resolves with the stored
//! events, stores nothing and notifies no one, so that a save repeated after a
//! lost reply is harmless. Any other reuse of an id is not the store's concern.

use std::collections::HashMap;

use serde_json::value::RawValue;

use super::event::{CheckedEvent, Event};

/// One event of a save, as far as a retry is concerned: actor, version and id.
pub type Key<'a> = (&'a str, i64, &'a str);

/// The keys of a save's events.
pub fn keys(events: &[Event]) -> impl Iterator<Item = Key<'_>> {
    events
        .iter()
        .map(|event| (event.actor_id.as_str(), event.version, event.id.as_str()))
}

/// If `save` retries stored events, their JSON texts in the save's order.
/// `stored` holds stored record bodies (one event, or a JSON array of events,
/// as a JetStream message carries a batch); records that cannot be decoded
/// match nothing. An empty save retries nothing.
pub fn stored_events<'s, 'k>(
    save: impl IntoIterator<Item = Key<'k>>,
    stored: impl IntoIterator<Item = &'s str>,
) -> Option<Vec<&'s str>> {
    let mut by_key: HashMap<(String, i64), (String, &'s str)> = HashMap::new();
    for body in stored {
        for element in elements(body) {
            if let Ok(event) = CheckedEvent::stored(element) {
                by_key.insert(
                    (event.actor_id.into_owned(), event.version),
                    (event.id.into_owned(), element),
                );
            }
        }
    }
    let mut found = Vec::new();
    for (actor_id, version, id) in save {
        let (stored_id, json) = by_key.get(&(actor_id.to_owned(), version))?;
        if stored_id != id {
            return None;
        }
        found.push(*json);
    }
    (!found.is_empty()).then_some(found)
}

/// A message id for a save, derived from its events' actors, versions and ids,
/// so that a retried save carries the same one (JetStream's `Nats-Msg-Id`
/// deduplicates by it): `aether-` and a 128-bit FNV-1a hash in hex, safe in a
/// header whatever the ids hold. Stable across versions of this library.
pub fn message_id<'k>(save: impl IntoIterator<Item = Key<'k>>) -> String {
    let mut hash = FNV_OFFSET;
    for (actor_id, version, id) in save {
        // Lengths first, so that no two different saves feed the same bytes.
        hash = fnv1a(hash, &(actor_id.len() as u64).to_le_bytes());
        hash = fnv1a(hash, actor_id.as_bytes());
        hash = fnv1a(hash, &version.to_le_bytes());
        hash = fnv1a(hash, &(id.len() as u64).to_le_bytes());
        hash = fnv1a(hash, id.as_bytes());
    }
    format!("aether-{hash:032x}")
}

const FNV_OFFSET: u128 = 0x6c62_272e_07bb_0142_62b8_2175_6295_c58d;
const FNV_PRIME: u128 = 0x0000_0000_0100_0000_0000_0000_0000_013b;

/// The 128-bit FNV-1a hash `hash` continued over `bytes`.
fn fnv1a(hash: u128, bytes: &[u8]) -> u128 {
    bytes.iter().fold(hash, |hash, byte| {
        (hash ^ u128::from(*byte)).wrapping_mul(FNV_PRIME)
    })
}

/// The events' JSON texts in a record body: itself, or the elements of an array.
fn elements(body: &str) -> Vec<&str> {
    let body = body.trim();
    if !body.starts_with('[') {
        return vec![body];
    }
    serde_json::from_str::<Vec<&RawValue>>(body)
        .map(|elements| elements.into_iter().map(RawValue::get).collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stored(id: &str, actor: &str, version: i64) -> String {
        format!(
            r#"{{"id":"{id}","eventType":"T","actorId":"{actor}","version":{version},"data":{{}},"timestamp":"2026-01-01T00:00:00Z"}}"#
        )
    }

    #[test]
    fn a_save_whose_every_event_is_stored_with_its_id_is_a_retry() {
        let (e1, e2) = (stored("e1", "a", 1), stored("e2", "a", 2));
        let found = stored_events([("a", 2, "e2"), ("a", 1, "e1")], [e1.as_str(), e2.as_str()]);
        assert_eq!(found, Some(vec![e2.as_str(), e1.as_str()]));
        let batch = format!("[{e1},{e2}]");
        let found = stored_events([("a", 1, "e1"), ("a", 2, "e2")], [batch.as_str()]).unwrap();
        assert_eq!(found, [e1.as_str(), e2.as_str()]);
    }

    #[test]
    fn the_hash_is_fnv1a_128() {
        assert_eq!(fnv1a(FNV_OFFSET, b""), FNV_OFFSET);
        assert_eq!(
            fnv1a(FNV_OFFSET, b"a"),
            0xd228_cb69_6f1a_8caf_7891_2b70_4e4a_8964,
            "the published test vector"
        );
    }

    #[test]
    fn message_ids_depend_on_every_key_and_nothing_else() {
        let one = message_id([("a", 1, "e1")]);
        assert_eq!(one, message_id([("a", 1, "e1")]));
        assert_eq!(one.len(), "aether-".len() + 32);
        assert_eq!(
            one, "aether-4c071260845737a3f8cd999803fb1ea6",
            "stable: clients of every version derive the same id"
        );
        let others = [
            message_id([("b", 1, "e1")]),
            message_id([("a", 2, "e1")]),
            message_id([("a", 1, "e2")]),
            message_id([("a", 1, "e1"), ("a", 2, "e2")]),
            message_id([("a1", 1, ""), ("", 1, "e1")]),
        ];
        for other in &others {
            assert_ne!(&one, other);
        }
        assert!(message_id([("a", 1, "line\r\nbreak")]).is_ascii());
    }

    #[test]
    fn anything_else_is_no_retry() {
        let (e1, e2) = (stored("e1", "a", 1), stored("e2", "a", 2));
        let bodies = [e1.as_str(), e2.as_str()];
        assert_eq!(
            stored_events([("a", 1, "other")], bodies),
            None,
            "another id"
        );
        assert_eq!(
            stored_events([("b", 1, "e1")], bodies),
            None,
            "another actor"
        );
        assert_eq!(
            stored_events([("a", 3, "e1")], bodies),
            None,
            "another version"
        );
        assert_eq!(
            stored_events([("a", 1, "e1"), ("a", 3, "e3")], bodies),
            None,
            "only part of the batch is stored"
        );
        assert_eq!(stored_events([], bodies), None, "an empty save");
        assert_eq!(stored_events([("a", 1, "e1")], ["garbage", "[1,"]), None);
    }
}
