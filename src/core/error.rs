//! The ways a store operation can fail.

use std::fmt;

use super::quote::go_quote;

/// Why an operation was refused. A refused operation changes nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreError {
    /// The event's version is not above the actor's latest version.
    Conflict(VersionConflict),
    /// A field of the input breaks the contract.
    Invalid(InvalidInput),
    /// The environment could not provide what the store needs (randomness).
    Environment(String),
    /// Memory cannot grow to hold what the operation needs; nothing was changed.
    OutOfMemory,
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Conflict(conflict) => conflict.fmt(f),
            Self::Invalid(invalid) => invalid.fmt(f),
            Self::Environment(message) => f.write_str(message),
            Self::OutOfMemory => f.write_str(
                "out of memory: the store's memory (WebAssembly memory, 4 GiB at most) cannot grow to hold this; nothing was stored",
            ),
        }
    }
}

impl std::error::Error for StoreError {}

impl From<VersionConflict> for StoreError {
    fn from(conflict: VersionConflict) -> Self {
        Self::Conflict(conflict)
    }
}

impl From<std::collections::TryReserveError> for StoreError {
    fn from(_: std::collections::TryReserveError) -> Self {
        Self::OutOfMemory
    }
}

impl From<InvalidInput> for StoreError {
    fn from(invalid: InvalidInput) -> Self {
        Self::Invalid(invalid)
    }
}

/// An attempt to save a version that is not strictly above the actor's latest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionConflict {
    /// The actor whose stream was written.
    pub actor_id: String,
    /// The version the caller tried to save.
    pub attempted_version: i64,
    /// The actor's latest stored version at the time of the attempt.
    pub current_version: i64,
}

impl fmt::Display for VersionConflict {
    /// The Go original's wording, byte for byte:
    /// `version conflict: actor "a" has version 3, cannot save version 2`, the
    /// actor id quoted as Go's `%q` does ([`go_quote`]).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "version conflict: actor {} has version {}, cannot save version {}",
            go_quote(&self.actor_id),
            self.current_version,
            self.attempted_version
        )
    }
}

/// A field of an event or snapshot that breaks the contract.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidInput {
    /// Path of the offending field, such as `metadata.userId` or `[1].version`.
    pub field: String,
    /// What is wrong with it, such as `must be a non-empty string`.
    pub problem: String,
}

impl InvalidInput {
    /// A problem with the field at `field`.
    pub fn new(field: impl Into<String>, problem: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            problem: problem.into(),
        }
    }

    /// The same problem, for the element at `index` of a batch.
    pub fn in_batch(self, index: usize) -> Self {
        let field = if self.field.is_empty() || self.field.starts_with('[') {
            format!("[{index}]{}", self.field)
        } else {
            format!("[{index}].{}", self.field)
        };
        Self { field, ..self }
    }
}

impl fmt::Display for InvalidInput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.field.is_empty() {
            f.write_str(&self.problem)
        } else {
            write!(f, "{} {}", self.field, self.problem)
        }
    }
}

/// The path of property `key` below `parent`: `parent.key`, or `parent["a key"]`
/// when `key` is not an identifier. The JavaScript encoder writes paths the same way.
pub fn child_path(parent: &str, key: &str) -> String {
    let mut chars = key.chars();
    let is_identifier = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == '$')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$');
    match (is_identifier, parent.is_empty()) {
        (true, true) => key.to_owned(),
        (true, false) => format!("{parent}.{key}"),
        (false, _) => format!("{parent}[{}]", serde_json::Value::from(key)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conflict_message_matches_the_go_original() {
        let conflict = VersionConflict {
            actor_id: "order-7".into(),
            attempted_version: 2,
            current_version: 3,
        };
        assert_eq!(
            conflict.to_string(),
            r#"version conflict: actor "order-7" has version 3, cannot save version 2"#
        );
    }

    #[test]
    fn batch_paths_start_with_the_index() {
        let at = |field: &str| InvalidInput::new(field, "x").in_batch(1).field;
        assert_eq!(at("eventType"), "[1].eventType");
        assert_eq!(at(""), "[1]");
        assert_eq!(at("[\"a b\"]"), "[1][\"a b\"]");
    }

    #[test]
    fn child_paths_quote_keys_that_are_not_identifiers() {
        assert_eq!(child_path("metadata", "userId"), "metadata.userId");
        assert_eq!(child_path("metadata", "user id"), r#"metadata["user id"]"#);
        assert_eq!(child_path("", "data"), "data");
        assert_eq!(child_path("m", "1x"), r#"m["1x"]"#);
    }
}
