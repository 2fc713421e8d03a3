//! The version rule, the one place where it is decided whether events may be stored.
//!
//! An event may be stored when its version is strictly greater than its actor's
//! latest version. A batch is checked as the same saves made one after another:
//! earlier events of the batch count towards their actor's latest version.

use std::collections::HashMap;

use super::error::VersionConflict;
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

/// Checks a batch, in order, given each actor's latest stored version.
/// On a conflict, `current_version` counts the batch's earlier events.
pub fn check_batch(
    events: &[Event],
    mut latest_stored: impl FnMut(&str) -> i64,
) -> Result<(), VersionConflict> {
    let mut latest: HashMap<&str, i64> = HashMap::new();
    for event in events {
        let current = *latest
            .entry(&event.actor_id)
            .or_insert_with(|| latest_stored(&event.actor_id));
        check(&event.actor_id, current, event.version)?;
        latest.insert(&event.actor_id, event.version);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(actor: &str, version: i64) -> Event {
        Event::from_new_json(&format!(
            r#"{{"eventType":"T","actorId":"{actor}","version":{version},"data":{{}}}}"#
        ))
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
        assert!(check_batch(&[event("a", 3), event("b", 1), event("a", 4)], stored).is_ok());
        let conflict = check_batch(&[event("a", 3), event("a", 3)], stored).unwrap_err();
        assert_eq!(
            (conflict.attempted_version, conflict.current_version),
            (3, 3)
        );
        let conflict = check_batch(&[event("b", 1), event("a", 2)], stored).unwrap_err();
        assert_eq!(
            (conflict.actor_id.as_str(), conflict.current_version),
            ("a", 2)
        );
    }
}
