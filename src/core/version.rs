//! The version rule, the one place where it is decided whether events may be stored.
//!
//! An event may be stored when its version is strictly greater than its actor's
//! latest version. A batch is checked as the same saves made one after another:
//! earlier events of the batch count towards their actor's latest version.

use std::collections::HashMap;

use super::error::{InvalidInput, VersionConflict};
use super::event::Event;

/// Checks one event against its actor's latest stored version.
pub fn check(actor_id: &str, latest: i64, attempted: i64) -> Result<(), VersionConflict> {
    if attempted > latest {
        Ok(())
    } else {
        Err(VersionConflict {
            actor_id: actor_id.to_owned(),
            attempted_version: attempted,
            current_version: latest,
        })
    }
}

/// Checks a batch of `(actor, version)` pairs, in order, given each actor's
/// latest stored version. On a conflict, `current_version` counts the batch's
/// earlier events.
pub fn check_batch<'a>(
    events: impl IntoIterator<Item = (&'a str, i64)>,
    mut latest_stored: impl FnMut(&str) -> i64,
) -> Result<(), VersionConflict> {
    let mut latest: HashMap<&str, i64> = HashMap::new();
    for (actor_id, version) in events {
        let current = *latest
            .entry(actor_id)
            .or_insert_with(|| latest_stored(actor_id));
        check(actor_id, current, version)?;
        latest.insert(actor_id, version);
    }
    Ok(())
}

/// Checks a snapshot's version against its actor's latest stored version: a
/// snapshot records state that stored events reached, so it may not be above it.
pub fn check_snapshot(version: i64, latest: i64) -> Result<(), InvalidInput> {
    if version <= latest {
        return Ok(());
    }
    let reached = if latest == 0 {
        "the actor has no events".to_owned()
    } else {
        format!("the actor's latest version is {latest}")
    };
    Err(InvalidInput::new(
        "version",
        format!("must not be above the actor's latest version: a snapshot records state the events reached, and {reached} (snapshot version {version})"),
    ))
}

/// The `(actor, version)` pairs of events, for [`check_batch`].
pub fn keys(events: &[Event]) -> impl Iterator<Item = (&str, i64)> + Clone {
    events
        .iter()
        .map(|event| (event.actor_id.as_str(), event.version))
}

/// Latest versions read from storage inside a write transaction, against which
/// a group of saves is admitted one after another (group commit): each admitted
/// save raises its actors' versions for the saves after it.
#[derive(Debug, Default)]
pub struct Ledger {
    latest: HashMap<String, i64>,
}

impl Ledger {
    /// An empty ledger: every actor is at version 0 until observed.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records the actor's latest version as read from storage.
    pub fn observe(&mut self, actor_id: &str, version: i64) {
        self.latest.insert(actor_id.to_owned(), version);
    }

    /// Admits a whole save (one event, or a batch all or nothing) if the rule holds.
    pub fn admit<'a>(
        &mut self,
        events: impl IntoIterator<Item = (&'a str, i64)> + Clone,
    ) -> Result<(), VersionConflict> {
        check_batch(events.clone(), |actor_id| {
            self.latest.get(actor_id).copied().unwrap_or(0)
        })?;
        for (actor_id, version) in events {
            self.observe(actor_id, version);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(actor: &str, version: i64) -> Event {
        Event::from_new_json(
            &format!(r#"{{"eventType":"T","actorId":"{actor}","version":{version},"data":{{}}}}"#),
            0,
        )
        .unwrap()
    }

    #[test]
    fn versions_must_strictly_increase() {
        assert!(check("a", 0, 1).is_ok());
        assert!(check("a", 0, 5).is_ok(), "a new actor may start above 1");
        assert!(check("a", 3, 7).is_ok(), "gaps are allowed");
        assert_eq!(
            check("a", 3, 3),
            Err(VersionConflict {
                actor_id: "a".into(),
                attempted_version: 3,
                current_version: 3
            })
        );
        assert!(check("a", 3, 2).is_err());
    }

    #[test]
    fn batches_count_their_earlier_events() {
        let stored = |actor: &str| if actor == "a" { 2 } else { 0 };
        assert!(check_batch(keys(&[event("a", 3), event("b", 1), event("a", 4)]), stored).is_ok());
        let conflict = check_batch(keys(&[event("a", 3), event("a", 3)]), stored).unwrap_err();
        assert_eq!(
            (conflict.attempted_version, conflict.current_version),
            (3, 3)
        );
        let conflict = check_batch(keys(&[event("b", 1), event("a", 2)]), stored).unwrap_err();
        assert_eq!(
            (conflict.actor_id.as_str(), conflict.current_version),
            ("a", 2)
        );
    }

    #[test]
    fn snapshots_may_not_be_ahead_of_the_events() {
        assert!(check_snapshot(3, 3).is_ok());
        assert!(check_snapshot(1, 3).is_ok());
        let ahead = check_snapshot(4, 3).unwrap_err();
        assert_eq!(ahead.field, "version");
        assert!(
            ahead.problem.contains("latest version is 3"),
            "{}",
            ahead.problem
        );
        assert!(check_snapshot(1, 0)
            .unwrap_err()
            .problem
            .contains("no events"));
    }

    #[test]
    fn a_ledger_admits_whole_saves_in_order() {
        let mut ledger = Ledger::new();
        ledger.observe("a", 2);
        assert!(ledger.admit([("a", 3)]).is_ok());
        let conflict = ledger.admit([("a", 3)]).unwrap_err();
        assert_eq!(conflict.current_version, 3, "earlier admitted saves count");
        assert!(ledger.admit([("b", 1), ("a", 3)]).is_err());
        assert!(
            ledger.admit([("b", 1), ("a", 4)]).is_ok(),
            "a refused batch admits nothing"
        );
    }
}
