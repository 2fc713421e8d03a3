//! The rules of a sync change (a local backend's `syncCommit`), decided alike
//! for every backend: which pending events it may drop, what becomes of each
//! event it confirms, and which new pending events it admits. A backend reads
//! what its storage holds as the change reaches each event, in the change's
//! order; a [`SyncChange`] keeps what the change did so far, and decides.

use std::collections::{HashMap, HashSet};
use std::fmt;

/// What a change does with one confirmed event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Confirmation {
    /// The event is confirmed already (stored, or earlier in this change): nothing to do.
    Kept,
    /// The actor's pending event at its version is this event: it becomes confirmed.
    Moved,
    /// A new event: appended to the confirmed events.
    Appended,
}

/// Why a change is refused; nothing of it may be stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The pending events are not what the change was prepared from (another
    /// instance saved or synced meanwhile): it is to be prepared again.
    PendingChanged(String),
    /// The local confirmed events diverged from the remote's.
    Diverged(String),
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::PendingChanged(message) | Self::Diverged(message) => f.write_str(message),
        }
    }
}

/// What the store holds for one confirmed event of a change, read when the
/// change reaches it (after the change's drops, and the moves before it).
#[derive(Debug, Clone, Copy, Default)]
pub struct Holding<'a> {
    /// The actor's latest confirmed version in storage, not counting this change.
    pub latest_stored: i64,
    /// The id of the actor's pending event at the event's version, if one is still pending.
    pub pending_id: Option<&'a str>,
    /// Whether any pending event of the actor below the event's version is still pending.
    pub pending_below: bool,
    /// The id of the confirmed event stored at the event's version, if there is one.
    pub stored_id: Option<&'a str>,
}

/// One sync change, as far as it has been decided.
#[derive(Debug, Default)]
pub struct SyncChange {
    dropped: HashSet<(String, i64)>,
    /// The ids of the events this change confirmed, by actor and version.
    confirmed: HashMap<(String, i64), String>,
    /// Each actor's latest confirmed version, counting this change's.
    latest: HashMap<String, i64>,
    /// Each actor's latest new pending event of this change.
    new_pending: HashMap<String, i64>,
}

impl SyncChange {
    /// An empty change.
    pub fn new() -> Self {
        Self::default()
    }

    /// Drops the actor's pending event at `version`; `pending` tells whether
    /// the store holds one there. Each may be dropped once.
    pub fn drop_pending(
        &mut self,
        actor_id: &str,
        version: i64,
        pending: bool,
    ) -> Result<(), Refusal> {
        if !pending || !self.dropped.insert((actor_id.to_owned(), version)) {
            return Err(Refusal::PendingChanged(format!(
                "no pending event of {actor_id:?} at version {version} to drop"
            )));
        }
        Ok(())
    }

    /// What becomes of the confirmed event `id` of the actor at `version`,
    /// given what the store holds for it.
    pub fn confirm(
        &mut self,
        actor_id: &str,
        version: i64,
        id: &str,
        holding: &Holding<'_>,
    ) -> Result<Confirmation, Refusal> {
        let key = (actor_id.to_owned(), version);
        let latest = self
            .latest
            .get(actor_id)
            .copied()
            .unwrap_or(holding.latest_stored);
        let diverged = || {
            Refusal::Diverged(format!(
                "the local store diverged from the remote: {actor_id:?} holds another event at version {version}"
            ))
        };
        let pending_below = || {
            Refusal::PendingChanged(format!(
                "{actor_id:?} has a pending event below version {version}"
            ))
        };
        if let Some(earlier) = self.confirmed.get(&key) {
            // Confirmed twice in this change.
            return if earlier == id {
                Ok(Confirmation::Kept)
            } else {
                Err(diverged())
            };
        }
        let confirmation = match holding.pending_id {
            Some(pending_id) if pending_id != id => {
                return Err(Refusal::PendingChanged(format!(
                    "{actor_id:?} has another pending event at version {version}"
                )))
            }
            // Moved only above every confirmed event and below every pending one of its actor.
            Some(_) if version <= latest || holding.pending_below => return Err(pending_below()),
            Some(_) => Confirmation::Moved,
            None if version <= latest => {
                return match holding.stored_id {
                    Some(stored) if stored == id => Ok(Confirmation::Kept),
                    Some(_) => Err(diverged()),
                    None => Err(Refusal::Diverged(format!(
                        "the local store diverged from the remote: {actor_id:?} has version {latest} but no event at version {version}"
                    ))),
                };
            }
            None if holding.pending_below => return Err(pending_below()),
            None => Confirmation::Appended,
        };
        self.confirmed.insert(key, id.to_owned());
        self.latest.insert(actor_id.to_owned(), version);
        Ok(confirmation)
    }

    /// Admits a new pending event of the actor at `version`, which must be
    /// above its latest confirmed version (`latest_stored` in storage, or this
    /// change's), its pending events left after the change's drops and moves
    /// (the highest, `latest_pending`) and the change's new pending events before it.
    pub fn admit_pending(
        &mut self,
        actor_id: &str,
        version: i64,
        latest_stored: i64,
        latest_pending: i64,
    ) -> Result<(), Refusal> {
        let floor = [
            latest_stored,
            latest_pending,
            self.latest.get(actor_id).copied().unwrap_or(0),
            self.new_pending.get(actor_id).copied().unwrap_or(0),
        ]
        .into_iter()
        .max()
        .unwrap_or(0);
        if version <= floor {
            return Err(Refusal::PendingChanged(format!(
                "a new pending event of {actor_id:?} at version {version} is not above version {floor}"
            )));
        }
        self.new_pending.insert(actor_id.to_owned(), version);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn holding(latest_stored: i64) -> Holding<'static> {
        Holding {
            latest_stored,
            ..Holding::default()
        }
    }

    fn pending_changed(result: Result<impl fmt::Debug, Refusal>) -> bool {
        matches!(result, Err(Refusal::PendingChanged(_)))
    }

    fn diverged(result: Result<impl fmt::Debug, Refusal>) -> bool {
        matches!(result, Err(Refusal::Diverged(_)))
    }

    #[test]
    fn drops_each_pending_event_once() {
        let mut change = SyncChange::new();
        assert_eq!(change.drop_pending("a", 3, true), Ok(()));
        assert!(pending_changed(change.drop_pending("a", 3, true)));
        assert!(pending_changed(change.drop_pending("a", 4, false)));
    }

    #[test]
    fn moves_a_pending_event_only_at_the_bottom_of_its_actor() {
        let mut change = SyncChange::new();
        let moved = Holding {
            pending_id: Some("p3"),
            ..holding(2)
        };
        assert!(pending_changed(change.confirm("a", 3, "other", &moved)));
        let above_pending = Holding {
            pending_below: true,
            ..moved
        };
        assert!(pending_changed(change.confirm(
            "a",
            3,
            "p3",
            &above_pending
        )));
        assert_eq!(
            change.confirm("a", 3, "p3", &moved),
            Ok(Confirmation::Moved)
        );
        // The next one is above the event this change confirmed.
        let next = Holding {
            pending_id: Some("p4"),
            ..holding(2)
        };
        assert_eq!(change.confirm("a", 4, "p4", &next), Ok(Confirmation::Moved));
        let at_or_below = Holding {
            pending_id: Some("x"),
            ..holding(5)
        };
        assert!(pending_changed(SyncChange::new().confirm(
            "a",
            5,
            "x",
            &at_or_below
        )));
    }

    #[test]
    fn keeps_what_is_confirmed_and_finds_divergence() {
        let mut change = SyncChange::new();
        let stored = Holding {
            stored_id: Some("e2"),
            ..holding(3)
        };
        assert_eq!(
            change.confirm("a", 2, "e2", &stored),
            Ok(Confirmation::Kept)
        );
        assert!(diverged(change.confirm("a", 2, "other", &stored)));
        assert!(
            diverged(change.confirm("a", 1, "e1", &holding(3))),
            "a gap below the latest"
        );
    }

    #[test]
    fn appends_above_the_latest_unless_pending_events_are_below() {
        let mut change = SyncChange::new();
        assert_eq!(
            change.confirm("a", 4, "r4", &holding(2)),
            Ok(Confirmation::Appended)
        );
        assert_eq!(
            change.confirm("a", 4, "r4", &holding(2)),
            Ok(Confirmation::Kept),
            "the same event twice in one change"
        );
        assert!(diverged(change.confirm("a", 4, "other", &holding(2))));
        let above_pending = Holding {
            pending_below: true,
            ..holding(2)
        };
        assert!(pending_changed(change.confirm(
            "a",
            6,
            "r6",
            &above_pending
        )));
    }

    #[test]
    fn admits_new_pending_events_above_everything_before_them() {
        let mut change = SyncChange::new();
        assert_eq!(
            change.confirm("a", 5, "r5", &holding(2)),
            Ok(Confirmation::Appended)
        );
        assert!(
            pending_changed(change.admit_pending("a", 5, 2, 0)),
            "at the confirmed event"
        );
        assert!(
            pending_changed(change.admit_pending("b", 3, 1, 3)),
            "at a pending one"
        );
        assert_eq!(change.admit_pending("a", 6, 2, 0), Ok(()));
        assert!(pending_changed(change.admit_pending("a", 6, 2, 0)), "twice");
        assert_eq!(change.admit_pending("a", 7, 2, 0), Ok(()));
    }
}
