//! The event model: parsing what a caller writes, and the canonical JSON encoding
//! that is stored, returned and decoded again.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use super::error::{InvalidInput, StoreError};
use super::validate::Field;
use super::{id, validate};

/// A stored event, with the Go original's JSON field names.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Event {
    /// Given by the caller, or a generated UUID v4.
    pub id: String,
    /// What happened, e.g. `OrderPlaced`.
    pub event_type: String,
    /// The actor whose stream this event belongs to.
    pub actor_id: String,
    /// The command that caused the event, when given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command_id: Option<String>,
    /// Position in the actor's stream; strictly increasing.
    pub version: i64,
    /// The payload, a JSON object kept as the exact text it was given in.
    pub data: Box<RawValue>,
    /// Tracing and auditing strings; left out of the JSON when empty.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub metadata: BTreeMap<String, String>,
    /// RFC 3339 in UTC.
    pub timestamp: String,
}

/// An event's fields as written, borrowed from the input's JSON text, so that
/// every problem is reported against its own field. Unknown fields are ignored.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct EventFields<'a> {
    #[serde(borrow)]
    id: Field<'a>,
    #[serde(borrow)]
    event_type: Field<'a>,
    #[serde(borrow)]
    actor_id: Field<'a>,
    #[serde(borrow)]
    command_id: Field<'a>,
    #[serde(borrow)]
    version: Field<'a>,
    #[serde(borrow)]
    data: Field<'a>,
    #[serde(borrow)]
    metadata: Field<'a>,
    #[serde(borrow)]
    timestamp: Field<'a>,
}

impl Event {
    /// Parses and validates an event a caller wants to save, filling in a
    /// generated `id`, and the time `now_ms` (milliseconds since the Unix epoch)
    /// as `timestamp`, where none is given.
    pub fn from_new_json(json: &str, now_ms: i64) -> Result<Self, StoreError> {
        let fields: EventFields<'_> = parse_fields(json)?;
        let id = match validate::optional_text("id", fields.id)? {
            Some(id) => id,
            None => id::new_event_id()?,
        };
        Self::from_fields(id, &fields, Some(now_ms)).map_err(StoreError::from)
    }

    /// Parses and validates a stored record, which must carry its `id` and `timestamp`.
    pub fn from_stored_json(json: &str) -> Result<Self, InvalidInput> {
        let fields: EventFields<'_> = parse_fields(json)?;
        let id = validate::required_text("id", fields.id)?;
        Self::from_fields(id, &fields, None)
    }

    fn from_fields(
        id: String,
        fields: &EventFields<'_>,
        now_ms: Option<i64>,
    ) -> Result<Self, InvalidInput> {
        Ok(Self {
            id,
            event_type: validate::required_text("eventType", fields.event_type)?,
            actor_id: validate::required_text("actorId", fields.actor_id)?,
            command_id: validate::optional_text("commandId", fields.command_id)?,
            version: validate::version("version", fields.version)?,
            data: validate::json_object("data", fields.data)?,
            metadata: validate::metadata(fields.metadata)?,
            timestamp: validate::timestamp(fields.timestamp, now_ms)?,
        })
    }

    /// Whether `other` is the same event but for its timestamp, as a retried save is.
    pub fn same_but_timestamp(&self, other: &Event) -> bool {
        self.id == other.id
            && self.event_type == other.event_type
            && self.actor_id == other.actor_id
            && self.command_id == other.command_id
            && self.version == other.version
            && self.data.get() == other.data.get()
            && self.metadata == other.metadata
    }

    /// The canonical JSON encoding: Go's field order, optional fields omitted.
    pub fn to_json(&self) -> String {
        // Serializing owned strings, numbers and already valid JSON text cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// Parses a JSON object into loosely typed fields; anything else is an error for the whole value.
pub(crate) fn parse_fields<'a, T: Deserialize<'a>>(json: &'a str) -> Result<T, InvalidInput> {
    serde_json::from_str(json).map_err(|error| {
        let problem = if json.trim_start().starts_with('{') {
            format!("is not a valid record: {error}")
        } else {
            "must be an object".to_owned()
        };
        InvalidInput::new("", problem)
    })
}

/// Parses and validates a JSON array of new events; a problem's field starts with its index.
pub fn new_events_from_json(json: &str, now_ms: i64) -> Result<Vec<Event>, StoreError> {
    let elements: Vec<&RawValue> = serde_json::from_str(json)
        .map_err(|_| InvalidInput::new("", "must be an array of events"))?;
    elements
        .into_iter()
        .enumerate()
        .map(|(index, element)| {
            Event::from_new_json(element.get(), now_ms).map_err(|error| match error {
                StoreError::Invalid(invalid) => StoreError::Invalid(invalid.in_batch(index)),
                other => other,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2026-11-27T06:30:00.123Z
    const NOW: i64 = 1_795_761_000_123;

    fn new_event(json: &str) -> Result<Event, StoreError> {
        Event::from_new_json(json, NOW)
    }

    fn field_of(result: Result<Event, StoreError>) -> String {
        match result {
            Err(StoreError::Invalid(invalid)) => invalid.field,
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    #[test]
    fn fills_in_id_and_timestamp_and_omits_empty_optionals() {
        let event = new_event(
            r#"{"eventType":"Placed","actorId":"order-1","version":1,"data":{"total":5},"commandId":"","metadata":{}}"#,
        )
        .unwrap();
        assert_eq!(event.id.len(), 36);
        assert_eq!(event.timestamp, "2026-11-27T06:30:00.123Z");
        let json = event.to_json();
        let expected_start = format!(
            r#"{{"id":"{}","eventType":"Placed","actorId":"order-1","version":1,"data":{{"total":5}},"timestamp":"#,
            event.id
        );
        assert!(json.starts_with(&expected_start), "{json}");
    }

    #[test]
    fn keeps_given_id_command_and_metadata() {
        let event = new_event(
            r#"{"id":"e1","eventType":"T","actorId":"a","commandId":"c","version":3,"data":{},"metadata":{"userId":"u"},"timestamp":"2026-01-02T03:04:05+01:00"}"#,
        )
        .unwrap();
        assert_eq!(
            event.to_json(),
            r#"{"id":"e1","eventType":"T","actorId":"a","commandId":"c","version":3,"data":{},"metadata":{"userId":"u"},"timestamp":"2026-01-02T02:04:05Z"}"#
        );
    }

    #[test]
    fn names_the_offending_field() {
        let base = r#""eventType":"T","actorId":"a","version":1,"data":{}"#;
        assert_eq!(field_of(new_event("42")), "");
        assert_eq!(
            field_of(new_event(r#"{"actorId":"a","version":1,"data":{}}"#)),
            "eventType"
        );
        assert_eq!(
            field_of(new_event(
                r#"{"eventType":"T","actorId":"","version":1,"data":{}}"#
            )),
            "actorId"
        );
        assert_eq!(
            field_of(new_event(
                r#"{"eventType":"T","actorId":"a","version":0,"data":{}}"#
            )),
            "version"
        );
        assert_eq!(
            field_of(new_event(
                r#"{"eventType":"T","actorId":"a","version":1,"data":[]}"#
            )),
            "data"
        );
        assert_eq!(
            field_of(new_event(r#"{"eventType":"T","actorId":"a","version":1}"#)),
            "data"
        );
        assert_eq!(
            field_of(new_event(&format!(r#"{{{base},"metadata":{{"k":1}}}}"#))),
            "metadata.k"
        );
        assert_eq!(
            field_of(new_event(&format!(r#"{{{base},"timestamp":"soon"}}"#))),
            "timestamp"
        );
        assert_eq!(field_of(new_event(&format!(r#"{{{base},"id":7}}"#))), "id");
    }

    #[test]
    fn stored_records_round_trip_and_must_be_complete() {
        let event =
            new_event(r#"{"eventType":"T","actorId":"a","version":2,"data":{"x":[1,{"y":null}]}}"#)
                .unwrap();
        let decoded = Event::from_stored_json(&event.to_json()).unwrap();
        assert_eq!(decoded.to_json(), event.to_json());
        assert!(Event::from_stored_json(
            r#"{"eventType":"T","actorId":"a","version":2,"data":{}}"#
        )
        .is_err());
        assert!(Event::from_stored_json("{not json").is_err());
        assert!(Event::from_stored_json("").is_err());
    }

    #[test]
    fn parses_batches_naming_the_index() {
        let batch = new_events_from_json(
            r#"[{"eventType":"T","actorId":"a","version":1,"data":{}}, {"eventType":"T","actorId":"a","version":2,"data":{}}]"#,
            NOW,
        )
        .unwrap();
        assert_eq!(batch.len(), 2);
        assert_eq!(
            field_of(new_events_from_json("[{}]", NOW).map(|_| batch[0].clone())),
            "[0].eventType"
        );
        assert_eq!(
            field_of(new_events_from_json("{}", NOW).map(|_| batch[0].clone())),
            ""
        );
    }
}
