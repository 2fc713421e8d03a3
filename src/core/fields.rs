//! The top-level fields of an event or snapshot, read strictly: each field the
//! contract names is taken as raw JSON text, and any other field is an error
//! naming it, with the intended field suggested for near misses
//! (`metaData` → `metadata`, `type` → `eventType`).

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, Visitor};
use serde::Deserializer;
use serde_json::value::RawValue;

use super::error::{child_path, InvalidInput};
use super::validate::Field;

/// Names people reach for that mean one of the contract's fields (an alias
/// is suggested only where its field is one of the record's).
const ALIASES: &[(&str, &str)] = &[
    ("type", "eventType"),
    ("name", "eventType"),
    ("event", "eventType"),
    ("actor", "actorId"),
    ("aggregateId", "actorId"),
    ("streamId", "actorId"),
    ("stream", "actorId"),
    ("expectedVersion", "version"),
    ("revision", "version"),
    ("payload", "data"),
    ("body", "data"),
    ("data", "state"),
    ("payload", "state"),
    ("meta", "metadata"),
    ("command", "commandId"),
    ("time", "timestamp"),
    ("createdAt", "timestamp"),
    ("eventId", "id"),
];

/// Reads the JSON object `json` into the values of the fields `names`, in that
/// order (`None` when absent or `null`). `what` names the record in messages
/// ("an event", "a snapshot").
pub fn parse<'a, const N: usize>(
    json: &'a str,
    names: [&'static str; N],
    what: &str,
) -> Result<[Field<'a>; N], InvalidInput> {
    let mut reader = ObjectReader {
        names,
        values: [None; N],
        seen: [false; N],
        problem: None,
    };
    let mut deserializer = serde_json::Deserializer::from_str(json);
    let parsed = (&mut reader)
        .deserialize(&mut deserializer)
        .and_then(|()| deserializer.end());
    if let Some(problem) = reader.problem {
        return Err(problem.into_invalid(&names, what));
    }
    parsed.map_err(|error| describe_syntax_error(json, &error, what))?;
    Ok(reader.values)
}

/// What was wrong with a field of an otherwise readable object.
enum Problem {
    Unknown(String),
    Repeated(String),
}

impl Problem {
    fn into_invalid(self, names: &[&'static str], what: &str) -> InvalidInput {
        match self {
            Problem::Unknown(key) => {
                let hint = suggestion(&key, names)
                    .map(|name| format!(": did you mean \"{name}\"?"))
                    .unwrap_or_else(|| format!(" (its fields are {})", names.join(", ")));
                InvalidInput::new(
                    child_path("", &key),
                    format!("is not a field of {what}{hint}"),
                )
            }
            Problem::Repeated(key) => {
                InvalidInput::new(child_path("", &key), "appears more than once")
            }
        }
    }
}

/// A message for text that is not a JSON object, in the caller's terms.
fn describe_syntax_error(json: &str, error: &serde_json::Error, what: &str) -> InvalidInput {
    let problem = if !json.trim_start().starts_with('{') {
        format!("must be {what} (a JSON object)")
    } else if error.is_eof() {
        format!("must be {what} (a JSON object), but the text ends before the object does")
    } else {
        format!(
            "must be {what} (a JSON object), but the text is not valid JSON at line {} column {}",
            error.line(),
            error.column()
        )
    };
    InvalidInput::new("", problem)
}

/// The field `key` was most likely meant to be, if any.
fn suggestion(key: &str, names: &[&'static str]) -> Option<&'static str> {
    if let Some((_, name)) = ALIASES
        .iter()
        .find(|(alias, name)| alias.eq_ignore_ascii_case(key) && names.contains(name))
    {
        return Some(name);
    }
    let folded = fold(key);
    names
        .iter()
        .map(|name| (edit_distance(&folded, &fold(name)), *name))
        .filter(|(distance, _)| *distance <= 2)
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, name)| name)
}

/// ASCII lower case without separators: `Actor_ID` and `actorId` fold alike.
/// (ASCII only: Unicode's case tables would weigh on the wasm, and the
/// contract's field names are ASCII.)
fn fold(text: &str) -> Vec<char> {
    text.chars()
        .filter(|c| *c != '_' && *c != '-')
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// The Levenshtein distance between two short texts.
fn edit_distance(a: &[char], b: &[char]) -> usize {
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut current = Vec::with_capacity(b.len() + 1);
        current.push(i + 1);
        for (j, cb) in b.iter().enumerate() {
            let substitute = previous
                .get(j)
                .map_or(usize::MAX, |d| d + usize::from(ca != cb));
            let delete = previous.get(j + 1).map_or(usize::MAX, |d| d + 1);
            let insert = current.last().map_or(usize::MAX, |d| d + 1);
            current.push(substitute.min(delete).min(insert));
        }
        previous = current;
    }
    previous.last().copied().unwrap_or(usize::MAX)
}

/// Reads an object's key borrowed from the input, or copied where it holds
/// escapes (serde reads a `Cow<str>` as an owned copy, always).
struct KeySeed;

impl<'de> DeserializeSeed<'de> for KeySeed {
    type Value = Cow<'de, str>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeySeed {
    type Value = Cow<'de, str>;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("a key")
    }

    fn visit_borrowed_str<E: de::Error>(self, key: &'de str) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(key))
    }

    fn visit_str<E: de::Error>(self, key: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(key.to_owned()))
    }
}

/// Fills in the named fields while the object is read; remembers the first problem.
struct ObjectReader<'a, const N: usize> {
    names: [&'static str; N],
    values: [Field<'a>; N],
    seen: [bool; N],
    problem: Option<Problem>,
}

impl<'de, const N: usize> DeserializeSeed<'de> for &mut ObjectReader<'de, N> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de, const N: usize> Visitor<'de> for &mut ObjectReader<'de, N> {
    type Value = ();

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key_seed(KeySeed)? {
            let Some(index) = self.names.iter().position(|name| *name == key) else {
                map.next_value::<IgnoredAny>()?;
                self.problem
                    .get_or_insert(Problem::Unknown(key.into_owned()));
                continue;
            };
            let value: Option<&'de RawValue> = map.next_value()?;
            match (self.seen.get_mut(index), self.values.get_mut(index)) {
                (Some(seen), Some(slot)) if !*seen => {
                    *seen = true;
                    *slot = value;
                }
                _ => {
                    self.problem
                        .get_or_insert(Problem::Repeated(key.into_owned()));
                }
            }
        }
        if self.problem.is_some() {
            return Err(de::Error::custom("a field is not allowed"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NAMES: [&str; 4] = ["actorId", "version", "metadata", "eventType"];

    fn problem(json: &str) -> InvalidInput {
        parse(json, NAMES, "an event").unwrap_err()
    }

    #[test]
    fn takes_the_named_fields_as_raw_text() {
        let [actor, version, metadata, event_type] = parse(
            r#"{"version":3,"actorId":"a","metadata":null}"#,
            NAMES,
            "an event",
        )
        .unwrap();
        assert_eq!(actor.unwrap().get(), r#""a""#);
        assert_eq!(version.unwrap().get(), "3");
        assert!(metadata.is_none() && event_type.is_none());
    }

    #[test]
    fn an_unknown_field_is_named_with_the_intended_one() {
        let error = problem(r#"{"actorId":"a","metaData":{"k":"v"}}"#);
        assert_eq!(error.field, "metaData");
        assert!(
            error.problem.contains(r#"did you mean "metadata"?"#),
            "{}",
            error.problem
        );
        assert!(problem(r#"{"type":"T"}"#).problem.contains("\"eventType\""));
        assert!(problem(r#"{"actor":"a"}"#).problem.contains("\"actorId\""));
        assert!(problem(r#"{"expectedVersion":1}"#)
            .problem
            .contains("\"version\""));
        assert!(problem(r#"{"actor_id":"a"}"#)
            .problem
            .contains("\"actorId\""));
        let far = problem(r#"{"colour":"red"}"#);
        assert_eq!(far.field, "colour");
        assert!(
            far.problem.contains("its fields are actorId, version"),
            "{}",
            far.problem
        );
        assert_eq!(problem(r#"{"a b":1}"#).field, r#"["a b"]"#);
    }

    #[test]
    fn keys_with_escapes_name_their_fields_too() {
        let [actor, version, ..] =
            parse(r#"{"act\u006frId":"a","version":1}"#, NAMES, "an event").unwrap();
        assert_eq!(actor.unwrap().get(), r#""a""#);
        assert_eq!(version.unwrap().get(), "1");
        assert_eq!(problem(r#"{"a\nb":1}"#).field, r#"["a\nb"]"#);
    }

    #[test]
    fn a_repeated_field_is_refused() {
        let error = problem(r#"{"actorId":"a","actorId":"b"}"#);
        assert_eq!(error.field, "actorId");
        assert!(error.problem.contains("more than once"));
    }

    #[test]
    fn text_that_is_no_object_says_what_was_expected() {
        assert_eq!(problem("42").problem, "must be an event (a JSON object)");
        assert!(problem(r#"{"actorId":"#).problem.contains("ends before"));
        assert!(problem(r#"{"actorId" 1}"#)
            .problem
            .contains("not valid JSON at line 1"));
        assert!(problem(r#"{"actorId":"a"} x"#)
            .problem
            .contains("not valid JSON"));
    }
}
