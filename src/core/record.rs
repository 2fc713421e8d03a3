//! Checks of records read back from persistent storage, where anything may
//! have happened to them: other versions of this library, other code, bit rot.
//! A record that fails is reported to the caller, never trusted.
//!
//! An IndexedDB record holds one event. A JetStream message holds one event, or
//! the events of one `saveEvents` call as a JSON array (so that a batch is one
//! atomic publish).

use serde_json::value::RawValue;

use super::event::CheckedEvent;
use super::snapshot::ActorSnapshot;

/// Checks that a stored event record is a valid event, stored under the actor
/// and version it is indexed by. The error says what is wrong.
pub fn check_event(bytes: &[u8], actor_id: &str, version: i64) -> Result<(), String> {
    let text =
        std::str::from_utf8(bytes).map_err(|error| format!("the record is not UTF-8: {error}"))?;
    let event = CheckedEvent::stored(text)
        .map_err(|error| format!("the record is not a valid event: {error}"))?;
    if event.actor_id != actor_id || event.version != version {
        return Err(format!(
            "the record holds actor {:?} version {} but is indexed as actor {:?} version {}",
            event.actor_id, event.version, actor_id, version
        ));
    }
    Ok(())
}

/// Checks a stored message body (one event, or a non-empty array of events) of
/// `actor_id`'s stream, whose events must all be above `previous` (the version
/// before the message on its subject; `0` when unknown); returns each event's
/// version and JSON text, in order.
pub fn check_message<'a>(
    bytes: &'a [u8],
    actor_id: &str,
    previous: i64,
) -> Result<Vec<(i64, &'a str)>, String> {
    let text =
        std::str::from_utf8(bytes).map_err(|error| format!("the message is not UTF-8: {error}"))?;
    let elements: Vec<&RawValue> = if text.trim_start().starts_with('[') {
        serde_json::from_str(text)
            .map_err(|error| format!("the message is not a JSON array of events: {error}"))?
    } else {
        vec![serde_json::from_str(text)
            .map_err(|error| format!("the message is not a valid event: {error}"))?]
    };
    if elements.is_empty() {
        return Err("the message holds no event".to_owned());
    }
    let mut previous = previous;
    elements
        .into_iter()
        .map(|element| {
            let event = CheckedEvent::stored(element.get())
                .map_err(|error| format!("the message is not a valid event: {error}"))?;
            if event.actor_id != actor_id {
                return Err(format!(
                    "the message holds an event of actor {:?} on the subject of {actor_id:?}",
                    event.actor_id
                ));
            }
            if event.version <= previous {
                return Err(format!(
                    "the message breaks the version order: version {} is not above version {previous} before it",
                    event.version
                ));
            }
            previous = event.version;
            Ok((event.version, element.get()))
        })
        .collect()
}

/// How many positions one JetStream message spans: the events of a message
/// with stream sequence `s` have the positions `s * 1,000,000 + i`, `i` being
/// the event's index in the message. No message can hold a million events (the
/// largest payload JetStream allows is 64 MB), and positions stay safe integers
/// up to sequence 9,007,199,253.
pub const POSITIONS_PER_MESSAGE: i64 = 1_000_000;

/// The position of the `index`-th event of the message with stream sequence `sequence`.
pub fn message_position(sequence: i64, index: usize) -> i64 {
    sequence
        .saturating_mul(POSITIONS_PER_MESSAGE)
        .saturating_add(index as i64)
}

/// Checks that a stored snapshot record is a valid snapshot.
pub fn check_snapshot(bytes: &[u8]) -> Result<(), String> {
    let text =
        std::str::from_utf8(bytes).map_err(|error| format!("the record is not UTF-8: {error}"))?;
    ActorSnapshot::from_stored_json(text)
        .map(|_| ())
        .map_err(|error| format!("the record is not a valid snapshot: {error}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const EVENT: &str = r#"{"id":"e","eventType":"T","actorId":"a","version":2,"data":{},"timestamp":"2026-01-01T00:00:00.000Z"}"#;

    #[test]
    fn accepts_what_was_stored() {
        assert_eq!(check_event(EVENT.as_bytes(), "a", 2), Ok(()));
        let snapshot =
            r#"{"actorId":"a","version":2,"state":{},"timestamp":"2026-01-01T00:00:00Z"}"#;
        assert_eq!(check_snapshot(snapshot.as_bytes()), Ok(()));
    }

    #[test]
    fn messages_hold_one_event_or_an_ascending_batch_of_one_actor() {
        let second = EVENT
            .replace("\"version\":2", "\"version\":3")
            .replace("\"id\":\"e\"", "\"id\":\"f\"");
        assert_eq!(
            check_message(EVENT.as_bytes(), "a", 0).unwrap(),
            vec![(2, EVENT)]
        );
        let batch = format!("[{EVENT}, {second}]");
        assert_eq!(check_message(batch.as_bytes(), "a", 0).unwrap().len(), 2);
        assert!(
            check_message(format!("[{second},{EVENT}]").as_bytes(), "a", 0)
                .unwrap_err()
                .contains("version order")
        );
        assert!(
            check_message(EVENT.as_bytes(), "a", 2).is_err(),
            "a message not above the version before it"
        );
        assert!(check_message(EVENT.as_bytes(), "b", 0)
            .unwrap_err()
            .contains("actor"));
        assert!(check_message(b"[]", "a", 0).is_err());
        assert!(check_message(b"garbage", "a", 0).is_err());
    }

    #[test]
    fn a_message_spans_a_million_positions() {
        assert_eq!(message_position(1, 0), 1_000_000);
        assert_eq!(message_position(42, 2), 42_000_002);
        assert!(
            message_position(9_007_199_253, 999_999) <= crate::core::validate::MAX_SAFE_INTEGER
        );
    }

    #[test]
    fn reports_what_is_wrong() {
        assert!(check_event(b"\xff\xfe", "a", 2)
            .unwrap_err()
            .contains("UTF-8"));
        assert!(check_event(b"{\"id\":", "a", 2)
            .unwrap_err()
            .contains("not a valid event"));
        assert!(check_event(EVENT.as_bytes(), "a", 3)
            .unwrap_err()
            .contains("indexed as"));
        assert!(check_event(EVENT.replace("\"id\":\"e\",", "").as_bytes(), "a", 2).is_err());
        let deep = format!("{}{}", "[".repeat(200_000), "]".repeat(200_000));
        assert!(check_event(deep.as_bytes(), "a", 2).is_err());
        assert!(check_snapshot(br#"{"actorId":"a","version":2,"state":{}}"#).is_err());
    }
}
