//! Field rules shared by events and snapshots, each naming the field it checks.
//!
//! Fields arrive as raw JSON text borrowed from the input, so that a wrong type
//! is reported against its own field, and nothing is allocated for a field
//! beyond the value it becomes.

use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, SecondsFormat, Utc};
use serde_json::value::RawValue;
use serde_json::Value;

use super::error::{child_path, InvalidInput};

/// The largest integer JavaScript represents exactly (`Number.MAX_SAFE_INTEGER`).
pub const MAX_SAFE_INTEGER: i64 = (1 << 53) - 1;

/// A field as written: its JSON text, or `None` when absent or `null`.
pub type Field<'a> = Option<&'a RawValue>;

/// A string that must be present and non-empty (`actorId`, `eventType`).
pub fn required_text<'a>(field: &str, value: Field<'a>) -> Result<Cow<'a, str>, InvalidInput> {
    let raw = value.ok_or_else(|| InvalidInput::new(field, "is required"))?;
    let text = string_value(raw).ok_or_else(|| InvalidInput::new(field, "must be a string"))?;
    if text.is_empty() {
        return Err(InvalidInput::new(field, "must not be empty"));
    }
    Ok(text)
}

/// A string that may be absent; absent, `null` and `''` all mean absent (`commandId`, `id`).
pub fn optional_text<'a>(
    field: &str,
    value: Field<'a>,
) -> Result<Option<Cow<'a, str>>, InvalidInput> {
    let Some(raw) = value else { return Ok(None) };
    let text = string_value(raw).ok_or_else(|| InvalidInput::new(field, "must be a string"))?;
    Ok(Some(text).filter(|text| !text.is_empty()))
}

/// The text a JSON string holds, `None` when `raw` is not a string. A field's
/// raw text was checked by the parser, so a string without escapes is its
/// own text between the quotes: borrowed as it is, without parsing it again.
fn string_value(raw: &RawValue) -> Option<Cow<'_, str>> {
    let text = raw.get();
    match text
        .strip_prefix('"')
        .and_then(|rest| rest.strip_suffix('"'))
    {
        Some(inner) if !inner.contains('\\') => Some(Cow::Borrowed(inner)),
        _ => serde_json::from_str::<String>(text).ok().map(Cow::Owned),
    }
}

/// A version: a safe integer >= 1.
pub fn version(field: &str, value: Field<'_>) -> Result<i64, InvalidInput> {
    let raw = value.ok_or_else(|| InvalidInput::new(field, "is required"))?;
    let text = raw.get();
    // Digits only (checked JSON: no leading zero) are a whole number as they stand.
    let whole = if text.bytes().all(|byte| byte.is_ascii_digit()) {
        text.parse::<i64>().ok()
    } else {
        serde_json::from_str::<i64>(text).ok()
    };
    whole
        .filter(|version| (1..=MAX_SAFE_INTEGER).contains(version))
        .ok_or_else(|| InvalidInput::new(field, "must be a safe integer >= 1"))
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

/// A position to read after (`after`): a safe integer >= 0, `0` when absent.
pub fn after_position(value: Option<f64>) -> Result<i64, InvalidInput> {
    safe_integer_from(value, 0, 0)
        .ok_or_else(|| InvalidInput::new("after", "must be a safe integer >= 0 (a position)"))
}

/// How many events a read may return at most (`limit`): a safe integer >= 1, 1000 when absent.
pub fn read_limit(value: Option<f64>) -> Result<i64, InvalidInput> {
    safe_integer_from(value, 1, DEFAULT_READ_LIMIT)
        .ok_or_else(|| InvalidInput::new("limit", "must be a safe integer >= 1"))
}

/// What `readAll` returns at most when no `limit` is given.
pub const DEFAULT_READ_LIMIT: i64 = 1000;

/// `value` as a safe integer >= `min`, `default` when absent; `None` when it is not one.
fn safe_integer_from(value: Option<f64>, min: i64, default: i64) -> Option<i64> {
    let Some(number) = value else {
        return Some(default);
    };
    let integer = number.fract() == 0.0 && number.abs() <= MAX_SAFE_INTEGER as f64;
    Some(number as i64).filter(|n| integer && *n >= min)
}

/// Metadata: an object of string values, kept as the text it arrived in;
/// absent, `null` and `{}` all mean none.
pub fn metadata(value: Field<'_>) -> Result<Field<'_>, InvalidInput> {
    let Some(raw) = value else {
        return Ok(None);
    };
    if let Ok(entries) = serde_json::from_str::<BTreeMap<String, String>>(raw.get()) {
        return Ok(Some(raw).filter(|_| !entries.is_empty()));
    }
    // Only to name what is wrong: which value is not a string, or that it is no object.
    match serde_json::from_str::<serde_json::Map<String, Value>>(raw.get()) {
        Ok(entries) => {
            let key = entries
                .iter()
                .find(|(_, value)| !value.is_string())
                .map_or(String::new(), |(key, _)| key.clone());
            Err(InvalidInput::new(
                child_path("metadata", &key),
                "must be a string",
            ))
        }
        Err(_) => Err(InvalidInput::new(
            "metadata",
            "must be an object of strings",
        )),
    }
}

/// A timestamp: an RFC 3339 string, normalized to UTC (`Z`) keeping the
/// fractional digits it was given (up to nanoseconds). When absent, the time
/// `now_ms` (milliseconds since the Unix epoch) with milliseconds, or an error
/// when there is no default (`now_ms` is `None`: stored records carry their own).
pub fn timestamp(value: Field<'_>, now_ms: Option<i64>) -> Result<String, InvalidInput> {
    let Some(raw) = value else {
        return now_ms
            .map(format_millis)
            .ok_or_else(|| InvalidInput::new("timestamp", "is required"));
    };
    let text: String = serde_json::from_str(raw.get()).map_err(|_| {
        InvalidInput::new(
            "timestamp",
            "must be an RFC 3339 date-time string (or a Date), such as \"2026-11-27T06:30:00Z\"",
        )
    })?;
    let time = DateTime::parse_from_rfc3339(&text).map_err(|_| {
        InvalidInput::new(
            "timestamp",
            format!("must be an RFC 3339 date-time with a time zone, such as \"2026-11-27T06:30:00Z\" or \"2026-11-27T08:30:00.5+02:00\", not {text:?}"),
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
    let utc = time.with_timezone(&Utc);
    if !(0..=9999).contains(&utc.year()) {
        return Err(InvalidInput::new(
            "timestamp",
            format!(
                "must lie in the years 0000 to 9999 once in UTC, as RFC 3339 requires: {text:?}"
            ),
        ));
    }
    let seconds = utc.to_rfc3339_opts(SecondsFormat::Secs, true);
    Ok(format!("{}{fraction}Z", seconds.trim_end_matches('Z')))
}

/// Where the fraction of seconds starts in RFC 3339 text: after `YYYY-MM-DDTHH:MM:SS`.
const FRACTION_START: usize = 19;

thread_local! {
    /// The last millisecond formatted, since saves in a burst share it.
    static LAST_FORMATTED: RefCell<(i64, String)> = const { RefCell::new((i64::MIN, String::new())) };
}

/// Milliseconds since the Unix epoch as RFC 3339 UTC, e.g. `2026-11-27T06:30:00.123Z`.
pub fn format_millis(ms: i64) -> String {
    let mut out = String::new();
    push_millis(&mut out, ms);
    out
}

/// Appends `ms` as [`format_millis`] writes it.
pub fn push_millis(out: &mut String, ms: i64) {
    with_millis(ms, |text| out.push_str(text));
}

/// How many bytes [`format_millis`] writes for `ms`.
pub fn millis_length(ms: i64) -> usize {
    with_millis(ms, str::len)
}

/// Calls `use_text` with `ms` formatted, formatting it only when the last call had another.
fn with_millis<T>(ms: i64, use_text: impl FnOnce(&str) -> T) -> T {
    LAST_FORMATTED.with(|last| {
        let mut last = last.borrow_mut();
        if last.0 != ms {
            let time = DateTime::from_timestamp_millis(ms).unwrap_or_default();
            *last = (ms, time.to_rfc3339_opts(SecondsFormat::Millis, true));
        }
        use_text(&last.1)
    })
}

/// A JSON object (`data`, `state`), kept as the exact text it arrived in.
pub fn json_object<'a>(field: &str, value: Field<'a>) -> Result<&'a RawValue, InvalidInput> {
    match value {
        Some(raw) if raw.get().starts_with('{') => Ok(raw),
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

    /// A field as JSON text, as the parser would hand it over.
    fn raw(json: &str) -> Box<RawValue> {
        RawValue::from_string(json.to_owned()).unwrap()
    }

    #[test]
    fn versions_must_be_safe_integers_from_one() {
        for good in ["1", "7", "9007199254740991"] {
            assert!(version("version", Some(&raw(good))).is_ok(), "{good}");
        }
        for bad in [
            "0",
            "-1",
            "1.5",
            "1.0",
            "\"1\"",
            "9007199254740992",
            "1e3",
            "true",
        ] {
            assert_eq!(
                version("version", Some(&raw(bad))).unwrap_err().field,
                "version",
                "{bad}"
            );
        }
        assert!(version("version", None).is_err());
    }

    #[test]
    fn texts_are_strings_and_required_ones_non_empty() {
        assert_eq!(
            required_text("actorId", Some(&raw(r#""a\"b""#))),
            Ok("a\"b".into())
        );
        assert!(required_text("actorId", Some(&raw(r#""""#))).is_err());
        assert!(required_text("actorId", Some(&raw("3"))).is_err());
        assert!(required_text("actorId", None).is_err());
        assert_eq!(optional_text("commandId", Some(&raw(r#""""#))), Ok(None));
        assert_eq!(optional_text("commandId", None), Ok(None));
        assert_eq!(
            optional_text("commandId", Some(&raw(r#""c1""#))),
            Ok(Some("c1".into()))
        );
        assert!(optional_text("commandId", Some(&raw("3"))).is_err());
    }

    #[test]
    fn strings_read_as_serde_reads_them_with_or_without_escapes() {
        for text in [
            "",
            "a",
            "é日本😀",
            "a\"b",
            "back\\slash",
            "line\nbreak",
            "\u{1}",
            "/",
        ] {
            let json = serde_json::to_string(text).unwrap();
            assert_eq!(string_value(&raw(&json)).as_deref(), Some(text), "{json}");
        }
        assert_eq!(string_value(&raw(r#""\u00e9\/""#)).as_deref(), Some("é/"));
        for not_a_string in ["1", "null", "[\"a\"]", "{}", "true"] {
            assert_eq!(string_value(&raw(not_a_string)), None, "{not_a_string}");
        }
    }

    #[test]
    fn metadata_values_must_be_strings() {
        let error = metadata(Some(&raw(r#"{"userId":"u","n":1}"#))).unwrap_err();
        assert_eq!(error.field, "metadata.n");
        let error = metadata(Some(&raw(r#"{"a b":[]}"#))).unwrap_err();
        assert_eq!(error.field, r#"metadata["a b"]"#);
        assert!(metadata(Some(&raw("{}"))).unwrap().is_none());
        assert!(metadata(Some(&raw(r#"{"k":"v"}"#))).unwrap().is_some());
        assert_eq!(metadata(Some(&raw("[]"))).unwrap_err().field, "metadata");
    }

    #[test]
    fn timestamps_are_normalized_to_utc_keeping_precision() {
        let at = |text: &str| timestamp(Some(&raw(&format!("{text:?}"))), None);
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
        assert!(
            at("9999-12-31T23:59:59.5-00:01").is_err(),
            "year 10000 in UTC"
        );
        assert!(at("0000-01-01T00:30:00+01:00").is_err(), "year -1 in UTC");
        assert_eq!(
            at("9999-12-31T23:59:59.5+01:00").unwrap(),
            "9999-12-31T22:59:59.5Z"
        );
        assert!(at("2026-13-01T00:00:00Z").is_err());
        assert!(timestamp(Some(&raw("1")), Some(0)).is_err());
    }

    #[test]
    fn an_absent_timestamp_is_now_with_milliseconds_or_required() {
        assert_eq!(
            timestamp(None, Some(1_795_761_000_123)).unwrap(),
            "2026-11-27T06:30:00.123Z"
        );
        assert_eq!(
            timestamp(None, Some(0)).unwrap(),
            "1970-01-01T00:00:00.000Z"
        );
        assert_eq!(timestamp(None, None).unwrap_err().field, "timestamp");
    }

    #[test]
    fn read_all_arguments_are_safe_integers() {
        assert_eq!(after_position(None), Ok(0));
        assert_eq!(after_position(Some(42.0)), Ok(42));
        assert_eq!(read_limit(None), Ok(DEFAULT_READ_LIMIT));
        assert_eq!(read_limit(Some(1.0)), Ok(1));
        for bad in [-1.0, 0.5, f64::NAN, f64::INFINITY, 2f64.powi(53)] {
            assert_eq!(
                after_position(Some(bad)).unwrap_err().field,
                "after",
                "{bad}"
            );
        }
        for bad in [0.0, -1.0, 1.5, f64::NAN] {
            assert_eq!(read_limit(Some(bad)).unwrap_err().field, "limit", "{bad}");
        }
    }

    #[test]
    fn from_version_accepts_safe_integers_only() {
        assert_eq!(from_version(None), Ok(0));
        assert_eq!(from_version(Some(3.0)), Ok(3));
        assert_eq!(from_version(Some(-3.0)), Ok(-3));
        assert!(from_version(Some(1.5)).is_err());
        assert!(from_version(Some(f64::NAN)).is_err());
        assert!(from_version(Some(f64::INFINITY)).is_err());
    }
}
