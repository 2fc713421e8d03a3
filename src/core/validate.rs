//! Field rules shared by events and snapshots, each naming the field it checks.
//!
//! Inputs arrive as loosely typed JSON values so that a wrong type is reported
//! against its field instead of failing the whole parse.

use std::collections::BTreeMap;

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::value::RawValue;
use serde_json::Value;

use super::error::{child_path, InvalidInput};

/// The largest integer JavaScript represents exactly (`Number.MAX_SAFE_INTEGER`).
pub const MAX_SAFE_INTEGER: i64 = (1 << 53) - 1;

/// A string that must be present and non-empty (`actorId`, `eventType`).
pub fn required_text(field: &str, value: Option<Value>) -> Result<String, InvalidInput> {
    match value {
        Some(Value::String(text)) if !text.is_empty() => Ok(text),
        Some(Value::String(_)) => Err(InvalidInput::new(field, "must not be empty")),
        None => Err(InvalidInput::new(field, "is required")),
        Some(_) => Err(InvalidInput::new(field, "must be a string")),
    }
}

/// A string that may be absent; absent, `null` and `''` all mean absent (`commandId`, `id`).
pub fn optional_text(field: &str, value: Option<Value>) -> Result<Option<String>, InvalidInput> {
    match value {
        None => Ok(None),
        Some(Value::String(text)) => Ok(Some(text).filter(|text| !text.is_empty())),
        Some(_) => Err(InvalidInput::new(field, "must be a string")),
    }
}

/// A version: a safe integer >= 1.
pub fn version(field: &str, value: Option<Value>) -> Result<i64, InvalidInput> {
    let problem = "must be a safe integer >= 1";
    let number = match value {
        Some(Value::Number(number)) => number,
        None => return Err(InvalidInput::new(field, "is required")),
        Some(_) => return Err(InvalidInput::new(field, problem)),
    };
    number
        .as_i64()
        .filter(|version| (1..=MAX_SAFE_INTEGER).contains(version))
        .ok_or_else(|| InvalidInput::new(field, problem))
}

/// The actor id a read names: any string.
pub fn queried_actor_id(value: Option<String>) -> Result<String, InvalidInput> {
    value.ok_or_else(|| InvalidInput::new("actorId", "must be a string"))
}

/// The lowest version a read should return: any safe integer, `0` when absent.
pub fn from_version(value: Option<f64>) -> Result<i64, InvalidInput> {
    let Some(number) = value else { return Ok(0) };
    let safe = number.fract() == 0.0 && number.abs() <= MAX_SAFE_INTEGER as f64;
    if safe {
        Ok(number as i64)
    } else {
        Err(InvalidInput::new("fromVersion", "must be a safe integer"))
    }
}

/// Metadata: an object of string values; absent, `null` and `{}` all mean none.
pub fn metadata(value: Option<Value>) -> Result<BTreeMap<String, String>, InvalidInput> {
    let entries = match value {
        None => return Ok(BTreeMap::new()),
        Some(Value::Object(entries)) => entries,
        Some(_) => {
            return Err(InvalidInput::new(
                "metadata",
                "must be an object of strings",
            ))
        }
    };
    entries
        .into_iter()
        .map(|(key, value)| match value {
            Value::String(text) => Ok((key, text)),
            _ => Err(InvalidInput::new(
                child_path("metadata", &key),
                "must be a string",
            )),
        })
        .collect()
}

/// A timestamp: an RFC 3339 string, normalized to UTC (`Z`) keeping the
/// fractional digits it was given (up to nanoseconds); the current time, to the
/// millisecond, when absent.
pub fn timestamp(value: Option<Value>) -> Result<String, InvalidInput> {
    let text = match value {
        None => return Ok(now()),
        Some(Value::String(text)) => text,
        Some(_) => return Err(InvalidInput::new("timestamp", "must be an RFC 3339 string")),
    };
    let time = DateTime::parse_from_rfc3339(&text).map_err(|error| {
        InvalidInput::new(
            "timestamp",
            format!("must be an RFC 3339 date-time ({error}): {text:?}"),
        )
    })?;
    // Offsets are whole minutes, so converting to UTC leaves the fraction as written.
    let fraction: String = text
        .get(FRACTION_START..)
        .filter(|rest| rest.starts_with('.'))
        .map(|rest| {
            rest.chars()
                .take_while(|c| *c == '.' || c.is_ascii_digit())
                .take(10)
                .collect()
        })
        .unwrap_or_default();
    let seconds = time
        .with_timezone(&Utc)
        .to_rfc3339_opts(SecondsFormat::Secs, true);
    Ok(format!("{}{fraction}Z", seconds.trim_end_matches('Z')))
}

/// Where the fraction of seconds starts in RFC 3339 text: after `YYYY-MM-DDTHH:MM:SS`.
const FRACTION_START: usize = 19;

/// The current time as RFC 3339 UTC with milliseconds, e.g. `2026-11-27T06:30:00.123Z`.
pub fn now() -> String {
    Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// A JSON object (`data`, `state`), kept as the exact text it arrived in.
pub fn json_object(
    field: &str,
    value: Option<Box<RawValue>>,
) -> Result<Box<RawValue>, InvalidInput> {
    match value {
        Some(raw) if raw.get().trim_start().starts_with('{') => Ok(raw),
        None => Err(InvalidInput::new(
            field,
            "is required and must be a JSON object",
        )),
        Some(_) => Err(InvalidInput::new(field, "must be a JSON object")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn versions_must_be_safe_integers_from_one() {
        for good in [json!(1), json!(7), json!(MAX_SAFE_INTEGER)] {
            assert!(version("version", Some(good)).is_ok());
        }
        for bad in [
            json!(0),
            json!(-1),
            json!(1.5),
            json!("1"),
            json!(MAX_SAFE_INTEGER + 1),
            json!(null),
        ] {
            assert_eq!(version("version", Some(bad)).unwrap_err().field, "version");
        }
        assert!(version("version", None).is_err());
    }

    #[test]
    fn optional_text_treats_empty_as_absent() {
        assert_eq!(optional_text("commandId", Some(json!(""))), Ok(None));
        assert_eq!(optional_text("commandId", None), Ok(None));
        assert_eq!(
            optional_text("commandId", Some(json!("c1"))),
            Ok(Some("c1".into()))
        );
        assert!(optional_text("commandId", Some(json!(3))).is_err());
    }

    #[test]
    fn metadata_values_must_be_strings() {
        let error = metadata(Some(json!({"userId": "u", "n": 1}))).unwrap_err();
        assert_eq!(error.field, "metadata.n");
        assert!(metadata(Some(json!({}))).unwrap().is_empty());
        assert!(metadata(Some(json!([]))).is_err());
    }

    #[test]
    fn timestamps_are_normalized_to_utc_keeping_precision() {
        let at = |text: &str| timestamp(Some(json!(text)));
        assert_eq!(
            at("2026-11-27T08:30:00.123456789+02:00").unwrap(),
            "2026-11-27T06:30:00.123456789Z"
        );
        assert_eq!(at("2026-11-27T06:30:00Z").unwrap(), "2026-11-27T06:30:00Z");
        assert_eq!(
            at("2026-11-27T06:30:00.5Z").unwrap(),
            "2026-11-27T06:30:00.5Z"
        );
        assert_eq!(
            at("2026-11-27T06:30:00.000Z").unwrap(),
            "2026-11-27T06:30:00.000Z"
        );
        assert_eq!(
            at("2026-11-27t07:30:00.120+01:00").unwrap(),
            "2026-11-27T06:30:00.120Z"
        );
        assert_eq!(
            at("2026-11-27T06:30:00.1234567891234Z").unwrap(),
            "2026-11-27T06:30:00.123456789Z"
        );
        assert!(at("yesterday").is_err());
        assert!(at("2026-13-01T00:00:00Z").is_err());
        assert!(timestamp(Some(json!(1))).is_err());
    }

    #[test]
    fn generated_timestamps_have_milliseconds() {
        let generated = timestamp(None).unwrap();
        assert_eq!(generated.len(), "2026-11-27T06:30:00.123Z".len());
        assert!(generated.ends_with('Z'));
    }

    #[test]
    fn from_version_accepts_safe_integers_only() {
        assert_eq!(from_version(None), Ok(0));
        assert_eq!(from_version(Some(3.0)), Ok(3));
        assert!(from_version(Some(1.5)).is_err());
        assert!(from_version(Some(f64::NAN)).is_err());
        assert!(from_version(Some(f64::INFINITY)).is_err());
    }
}
