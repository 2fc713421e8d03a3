//! Snapshots: an actor's state at a version, so that replay can start there.

use serde::Serialize;
use serde_json::value::RawValue;

use super::error::InvalidInput;
use super::fields;
use super::validate::{self, Field};

/// A point-in-time state of an actor, with the Go original's JSON field names.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ActorSnapshot {
    /// The actor the state belongs to.
    pub actor_id: String,
    /// The version of the last event folded into `state`.
    pub version: i64,
    /// The state, a JSON object kept as the exact text it was given in.
    pub state: Box<RawValue>,
    /// RFC 3339 in UTC; the time of saving when not given.
    pub timestamp: String,
}

/// A snapshot's fields as written, borrowed from the input's JSON text.
struct SnapshotFields<'a> {
    actor_id: Field<'a>,
    version: Field<'a>,
    state: Field<'a>,
    timestamp: Field<'a>,
}

impl<'a> SnapshotFields<'a> {
    /// Reads a snapshot's fields; a field the contract does not name is an error.
    fn parse(json: &'a str) -> Result<Self, InvalidInput> {
        let [actor_id, version, state, timestamp] = fields::parse(
            json,
            ["actorId", "version", "state", "timestamp"],
            "a snapshot",
        )?;
        Ok(Self {
            actor_id,
            version,
            state,
            timestamp,
        })
    }
}

impl ActorSnapshot {
    /// Parses and validates a snapshot from its JSON text; without a
    /// `timestamp`, it gets the time `now_ms` (milliseconds since the Unix epoch).
    pub fn from_json(json: &str, now_ms: i64) -> Result<Self, InvalidInput> {
        Self::from_fields(&SnapshotFields::parse(json)?, Some(now_ms))
    }

    /// Parses and validates a stored snapshot record, which must carry its `timestamp`.
    pub fn from_stored_json(json: &str) -> Result<Self, InvalidInput> {
        Self::from_fields(&SnapshotFields::parse(json)?, None)
    }

    fn from_fields(fields: &SnapshotFields<'_>, now_ms: Option<i64>) -> Result<Self, InvalidInput> {
        Ok(Self {
            actor_id: validate::required_text("actorId", fields.actor_id)?.into_owned(),
            version: validate::version("version", fields.version)?,
            state: validate::json_object("state", fields.state)?.to_owned(),
            timestamp: validate::timestamp(fields.timestamp, now_ms)?,
        })
    }

    /// The canonical JSON encoding.
    pub fn to_json(&self) -> String {
        // Serializing owned strings, numbers and already valid JSON text cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validates_and_encodes() {
        let snapshot = ActorSnapshot::from_json(
            r#"{"actorId":"a","version":4,"state":{"n":4},"timestamp":"2026-01-01T00:00:00Z"}"#,
            0,
        )
        .unwrap();
        assert_eq!(
            snapshot.to_json(),
            r#"{"actorId":"a","version":4,"state":{"n":4},"timestamp":"2026-01-01T00:00:00Z"}"#
        );
        let field = |json: &str| ActorSnapshot::from_json(json, 0).unwrap_err().field;
        assert_eq!(field(r#"{"version":1,"state":{}}"#), "actorId");
        assert_eq!(
            field(r#"{"actorId":"a","version":1.5,"state":{}}"#),
            "version"
        );
        assert_eq!(field(r#"{"actorId":"a","version":1,"state":"s"}"#), "state");
        assert_eq!(field("[]"), "");
    }
}
