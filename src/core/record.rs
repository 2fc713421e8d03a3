//! Checks of records read back from persistent storage, where anything may
//! have happened to them: other versions of this library, other code, bit rot.
//! A record that fails is reported to the caller, never trusted.
//!
//! An IndexedDB record holds one event. A JetStream message holds one event, or
//! the events of one `saveEvents` call as a JSON array (so that a batch is one
//! atomic publish).

use serde_json::value::RawValue;

use super::event::Event;
use super::snapshot::ActorSnapshot;

/// Checks that a stored event record is a valid event, stored under the actor
/// and version it is indexed by. The error says what is wrong.
pub fn check_event(bytes: &[u8], actor_id: &str, version: i64) -> Result<(), String> {
    let text =
        std::str::from_utf8(bytes).map_err(|error| format!("the record is not UTF-8: {error}"))?;
    let event = Event::from_stored_json(text)
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
/// `actor_id`'s stream; returns each event's version and JSON text, in order.
pub fn check_message<'a>(bytes: &'a [u8], actor_id: &str) -> Result<Vec<(i64, &'a str)>, String> {
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
    let mut previous = 0;
    elements
        .into_iter()
        .map(|element| {
            let event = Event::from_stored_json(element.get())
                .map_err(|error| format!("the message is not a valid event: {error}"))?;
            if event.actor_id != actor_id {
                return Err(format!(
                    "the message holds an event of actor {:?} on the subject of {actor_id:?}",
                    event.actor_id
                ));
            }
            if event.version <= previous {
                return Err("the message's events are not in ascending version order".to_owned());
            }
            previous = event.version;
            Ok((event.version, element.get()))
        })
        .collect()
}

/// How a save relates to a stored message whose id it may share.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retry {
    /// The same events but for generated timestamps: a retry of a stored save.
    Same,
    /// The message holds an event with the save's first id, but other events.
    IdTaken,
    /// Nothing in common.
    Unrelated,
}

/// Compares `retried` (new events, comma-separated JSON) with `stored` (a message body).
pub fn compare_retry(stored: &[u8], retried: &[u8]) -> Retry {
    let decode = |bytes: &[u8]| -> Option<Vec<Event>> {
        let text = std::str::from_utf8(bytes).ok()?.trim();
        let array = if text.starts_with('[') {
            text.to_owned()
        } else {
            format!("[{text}]")
        };
        let elements: Vec<&RawValue> = serde_json::from_str(&array).ok()?;
        elements
            .into_iter()
            .map(|element| Event::from_stored_json(element.get()).ok())
            .collect()
    };
    let (Some(stored), Some(retried)) = (decode(stored), decode(retried)) else {
        return Retry::Unrelated;
    };
    if stored.len() == retried.len()
        && stored
            .iter()
            .zip(&retried)
            .all(|(a, b)| a.same_but_timestamp(b))
    {
        Retry::Same
    } else if retried
        .first()
        .is_some_and(|first| stored.iter().any(|event| event.id == first.id))
    {
        Retry::IdTaken
    } else {
        Retry::Unrelated
    }
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
            check_message(EVENT.as_bytes(), "a").unwrap(),
            vec![(2, EVENT)]
        );
        let batch = format!("[{EVENT}, {second}]");
        assert_eq!(check_message(batch.as_bytes(), "a").unwrap().len(), 2);
        assert!(check_message(format!("[{second},{EVENT}]").as_bytes(), "a")
            .unwrap_err()
            .contains("ascending"));
        assert!(check_message(EVENT.as_bytes(), "b")
            .unwrap_err()
            .contains("actor"));
        assert!(check_message(b"[]", "a").is_err());
        assert!(check_message(b"garbage", "a").is_err());
    }

    #[test]
    fn retries_are_told_from_other_events_with_the_same_id() {
        let second = EVENT
            .replace("\"version\":2", "\"version\":3")
            .replace("\"id\":\"e\"", "\"id\":\"f\"");
        let batch = format!("[{EVENT}, {second}]");
        assert_eq!(
            compare_retry(batch.as_bytes(), format!("{EVENT},{second}").as_bytes()),
            Retry::Same
        );
        let later = EVENT.replace("2026-01-01T00:00:00.000Z", "2027-01-01T00:00:00.000Z");
        assert_eq!(
            compare_retry(EVENT.as_bytes(), later.as_bytes()),
            Retry::Same,
            "a retry gets a new generated timestamp"
        );
        let changed = EVENT.replace("\"data\":{}", "\"data\":{\"x\":1}");
        assert_eq!(
            compare_retry(EVENT.as_bytes(), changed.as_bytes()),
            Retry::IdTaken
        );
        assert_eq!(
            compare_retry(batch.as_bytes(), EVENT.as_bytes()),
            Retry::IdTaken
        );
        assert_eq!(
            compare_retry(second.as_bytes(), EVENT.as_bytes()),
            Retry::Unrelated
        );
        assert_eq!(
            compare_retry(b"garbage", EVENT.as_bytes()),
            Retry::Unrelated
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
