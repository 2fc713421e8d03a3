//! Property tests of the core against a reference model: random sequences of
//! valid, conflicting and invalid saves, batches, snapshots and reads over a
//! few actors. After every operation the store must equal the model; a failed
//! operation must change nothing; versions must strictly increase per actor.
#![cfg(not(target_arch = "wasm32"))]

use std::collections::HashMap;

use aether_eventstore::core::{MemoryStore, StoreError};
use proptest::prelude::*;
use serde_json::{json, Value};

const ACTORS: [&str; 4] = ["a", "b", "c", "d\"quoted"];

/// How a generated event's version relates to its actor's latest version.
#[derive(Debug, Clone)]
enum VersionChoice {
    Next,
    Gap(i64),
    Conflict(i64),
    Invalid(Value),
}

/// A problem planted in an otherwise valid event, with the field it must be reported on.
#[derive(Debug, Clone)]
enum Flaw {
    None,
    EmptyActor,
    MissingEventType,
    DataNotObject,
    MetadataNotString,
    BadTimestamp,
}

#[derive(Debug, Clone)]
struct GeneratedEvent {
    actor: usize,
    version: VersionChoice,
    flaw: Flaw,
    payload: i64,
}

#[derive(Debug, Clone)]
enum Operation {
    Save(GeneratedEvent),
    SaveBatch(Vec<GeneratedEvent>),
    Snapshot {
        actor: usize,
        version: i64,
        state: i64,
    },
    Read {
        actor: usize,
        from: i64,
    },
    /// Saves a stored event again as it was returned, as a retry after a lost reply does.
    Retry {
        actor: usize,
        pick: usize,
    },
}

fn version_choice() -> impl Strategy<Value = VersionChoice> {
    prop_oneof![
        6 => Just(VersionChoice::Next),
        2 => (2..5i64).prop_map(VersionChoice::Gap),
        2 => (0..3i64).prop_map(VersionChoice::Conflict),
        1 => prop_oneof![
            Just(json!(0)),
            Just(json!(-1)),
            Just(json!(1.5)),
            Just(json!("1")),
            Just(json!(9_007_199_254_740_992_i64)),
            Just(Value::Null),
        ]
        .prop_map(VersionChoice::Invalid),
    ]
}

fn flaw() -> impl Strategy<Value = Flaw> {
    prop_oneof![
        20 => Just(Flaw::None),
        1 => Just(Flaw::EmptyActor),
        1 => Just(Flaw::MissingEventType),
        1 => Just(Flaw::DataNotObject),
        1 => Just(Flaw::MetadataNotString),
        1 => Just(Flaw::BadTimestamp),
    ]
}

fn generated_event() -> impl Strategy<Value = GeneratedEvent> {
    (0..ACTORS.len(), version_choice(), flaw(), any::<i64>()).prop_map(
        |(actor, version, flaw, payload)| GeneratedEvent {
            actor,
            version,
            flaw,
            payload,
        },
    )
}

fn operation() -> impl Strategy<Value = Operation> {
    prop_oneof![
        5 => generated_event().prop_map(Operation::Save),
        2 => prop::collection::vec(generated_event(), 0..5).prop_map(Operation::SaveBatch),
        1 => (0..ACTORS.len(), -1..8i64, any::<i64>()).prop_map(|(actor, version, state)| Operation::Snapshot { actor, version, state }),
        2 => (0..ACTORS.len(), -2..10i64).prop_map(|(actor, from)| Operation::Read { actor, from }),
        1 => (0..ACTORS.len(), any::<usize>()).prop_map(|(actor, pick)| Operation::Retry { actor, pick }),
    ]
}

/// The reference: per actor, the stored versions and payloads, and the latest snapshot.
#[derive(Debug, Default, Clone)]
struct Model {
    streams: HashMap<&'static str, Vec<(i64, i64)>>,
    /// Every stored event's actor and version, in commit order.
    log: Vec<(&'static str, i64)>,
    snapshots: HashMap<&'static str, (i64, i64)>,
}

impl Model {
    fn latest(&self, actor: &str) -> i64 {
        self.streams
            .get(actor)
            .and_then(|s| s.last())
            .map_or(0, |e| e.0)
    }
}

/// The event's JSON, the version it asks for and the field a validation error must name.
fn build(event: &GeneratedEvent, latest: i64) -> (Value, Option<i64>, Option<&'static str>) {
    let (version, version_value, mut invalid_field) = match &event.version {
        VersionChoice::Next => (Some(latest + 1), json!(latest + 1), None),
        VersionChoice::Gap(gap) => (Some(latest + gap), json!(latest + gap), None),
        VersionChoice::Conflict(back) => {
            let version = latest - back;
            if version >= 1 {
                (Some(version), json!(version), None)
            } else {
                (None, json!(version), Some("version"))
            }
        }
        VersionChoice::Invalid(value) => (None, value.clone(), Some("version")),
    };
    let mut value = json!({
        "eventType": "Happened",
        "actorId": ACTORS[event.actor],
        "version": version_value,
        "data": { "payload": event.payload, "nested": [1, { "deep": true }] },
        "metadata": { "correlationId": "c" },
    });
    // Fields are checked in the order eventType, actorId, commandId, version, data, metadata, timestamp.
    let flaw_field = match event.flaw {
        Flaw::None => None,
        Flaw::EmptyActor => {
            value["actorId"] = json!("");
            Some("actorId")
        }
        Flaw::MissingEventType => {
            value.as_object_mut().unwrap().remove("eventType");
            Some("eventType")
        }
        Flaw::DataNotObject => {
            value["data"] = json!([event.payload]);
            Some("data")
        }
        Flaw::MetadataNotString => {
            value["metadata"] = json!({ "userId": event.payload });
            Some("metadata.userId")
        }
        Flaw::BadTimestamp => {
            value["timestamp"] = json!("not a time");
            Some("timestamp")
        }
    };
    let order = [
        "eventType",
        "actorId",
        "version",
        "data",
        "metadata.userId",
        "timestamp",
    ];
    if let Some(flaw_field) = flaw_field {
        let earlier = invalid_field.is_none_or(|field| {
            order.iter().position(|f| *f == flaw_field) < order.iter().position(|f| *f == field)
        });
        if earlier {
            invalid_field = Some(flaw_field);
        }
    }
    (value, version, invalid_field)
}

fn stored_versions_and_payloads(store: &MemoryStore, actor: &str, from: i64) -> Vec<(i64, i64)> {
    let events: Vec<Value> =
        serde_json::from_str(&store.events_json(actor, from).unwrap()).unwrap();
    events
        .iter()
        .map(|e| {
            (
                e["version"].as_i64().unwrap(),
                e["data"]["payload"].as_i64().unwrap(),
            )
        })
        .collect()
}

fn assert_matches_model(store: &MemoryStore, model: &Model) {
    let all: Vec<Value> =
        serde_json::from_str(&store.read_all_json(0, usize::MAX).unwrap()).unwrap();
    let order: Vec<(i64, String, i64)> = all
        .iter()
        .map(|r| {
            (
                r["position"].as_i64().unwrap(),
                r["event"]["actorId"].as_str().unwrap().to_owned(),
                r["event"]["version"].as_i64().unwrap(),
            )
        })
        .collect();
    let expected: Vec<(i64, String, i64)> = (1..)
        .zip(&model.log)
        .map(|(position, (actor, version))| (position, (*actor).to_owned(), *version))
        .collect();
    assert_eq!(order, expected, "the global order is commit order");
    assert_eq!(store.last_position(), model.log.len() as i64);
    for actor in ACTORS {
        let expected = model.streams.get(actor).cloned().unwrap_or_default();
        let stored = stored_versions_and_payloads(store, actor, 0);
        assert_eq!(stored, expected, "stream of {actor}");
        assert!(
            stored.windows(2).all(|w| w[0].0 < w[1].0),
            "versions strictly increase"
        );
        assert_eq!(store.latest_version(actor), model.latest(actor));
        let snapshot = store.latest_snapshot_json(actor).map(|json| {
            let value: Value = serde_json::from_str(&json).unwrap();
            (
                value["version"].as_i64().unwrap(),
                value["state"]["s"].as_i64().unwrap(),
            )
        });
        assert_eq!(snapshot, model.snapshots.get(actor).copied());
    }
}

fn apply(store: &mut MemoryStore, model: &mut Model, operation: &Operation) {
    match operation {
        Operation::Save(event) => {
            let actor = ACTORS[event.actor];
            let latest = model.latest(actor);
            let (value, version, invalid) = build(event, latest);
            let result = store.save_event(&value.to_string(), 0);
            match (invalid, version) {
                (Some(field), _) => match result {
                    Err(StoreError::Invalid(error)) => assert_eq!(error.field, field),
                    other => panic!("expected invalid {field}, got {other:?}"),
                },
                (None, Some(version)) if version > latest => {
                    let stored: Value = serde_json::from_str(&result.unwrap().json).unwrap();
                    assert_eq!(stored["version"], json!(version));
                    model
                        .streams
                        .entry(actor)
                        .or_default()
                        .push((version, event.payload));
                    model.log.push((actor, version));
                }
                (None, Some(version)) => match result {
                    Err(StoreError::Conflict(conflict)) => {
                        assert_eq!(
                            (conflict.actor_id.as_str(), conflict.attempted_version),
                            (actor, version)
                        );
                        assert_eq!(conflict.current_version, latest);
                    }
                    other => panic!("expected a conflict, got {other:?}"),
                },
                (None, None) => unreachable!("a version is either valid or invalid"),
            }
        }
        Operation::SaveBatch(events) => {
            // Versions are generated against a running latest, as a caller building a batch would.
            let mut running: HashMap<&str, i64> = HashMap::new();
            let mut values = Vec::new();
            let mut planned = Vec::new();
            for event in events {
                let actor = ACTORS[event.actor];
                let current = *running.entry(actor).or_insert_with(|| model.latest(actor));
                let (value, version, invalid) = build(event, current);
                if let (None, Some(version)) = (invalid, version) {
                    running.insert(actor, current.max(version));
                }
                values.push(value);
                planned.push((actor, version, invalid, event.payload));
            }
            let result = store.save_events(&Value::Array(values).to_string(), 0);

            // Every event is validated before any version is checked.
            if let Some((index, field)) = planned
                .iter()
                .enumerate()
                .find_map(|(index, (_, _, invalid, _))| invalid.map(|field| (index, field)))
            {
                match result {
                    Err(StoreError::Invalid(error)) => {
                        assert_eq!(error.field, format!("[{index}].{field}"))
                    }
                    other => panic!("expected invalid [{index}].{field}, got {other:?}"),
                }
                return;
            }
            let mut latest: HashMap<&str, i64> = HashMap::new();
            for (actor, version, _, _) in &planned {
                let version = version.unwrap_or_default();
                let current = *latest.entry(actor).or_insert_with(|| model.latest(actor));
                if version <= current {
                    match result {
                        Err(StoreError::Conflict(conflict)) => {
                            assert_eq!(
                                (conflict.actor_id.as_str(), conflict.attempted_version),
                                (*actor, version)
                            );
                            assert_eq!(conflict.current_version, current);
                        }
                        other => panic!("expected a conflict, got {other:?}"),
                    }
                    return;
                }
                latest.insert(actor, version);
            }
            let stored: Vec<Value> = serde_json::from_str(&result.unwrap().json).unwrap();
            assert_eq!(stored.len(), planned.len());
            for (actor, version, _, payload) in planned {
                model
                    .streams
                    .entry(actor)
                    .or_default()
                    .push((version.unwrap_or_default(), payload));
                model.log.push((actor, version.unwrap_or_default()));
            }
        }
        Operation::Snapshot {
            actor,
            version,
            state,
        } => {
            let actor_id = ACTORS[*actor];
            let value = json!({ "actorId": actor_id, "version": version, "state": { "s": state } });
            let result = store.save_snapshot(&value.to_string(), 0, 0);
            if *version >= 1 && *version <= model.latest(actor_id) {
                result.unwrap();
                let keep = model
                    .snapshots
                    .get(actor_id)
                    .is_none_or(|(latest, _)| latest <= version);
                if keep {
                    model.snapshots.insert(actor_id, (*version, *state));
                }
            } else {
                assert_eq!(result.unwrap_err().field, "version");
            }
        }
        Operation::Retry { actor, pick } => {
            let actor_id = ACTORS[*actor];
            let events: Vec<Value> =
                serde_json::from_str(&store.events_json(actor_id, 0).unwrap()).unwrap();
            if events.is_empty() {
                return;
            }
            let stored = &events[pick % events.len()];
            let saved = store.save_event(&stored.to_string(), 99).unwrap();
            assert_eq!(saved.stored, 0, "a stored event saved again is a retry");
            let resolved: Value = serde_json::from_str(&saved.json).unwrap();
            assert_eq!(&resolved, stored, "it resolves with the stored event");
        }
        Operation::Read { actor, from } => {
            let actor_id = ACTORS[*actor];
            let expected: Vec<(i64, i64)> = model
                .streams
                .get(actor_id)
                .map(|stream| {
                    stream
                        .iter()
                        .copied()
                        .filter(|(version, _)| version >= from)
                        .collect()
                })
                .unwrap_or_default();
            assert_eq!(
                stored_versions_and_payloads(store, actor_id, *from),
                expected
            );
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(10_000))]

    #[test]
    fn the_store_behaves_as_the_model(operations in prop::collection::vec(operation(), 1..25)) {
        let mut store = MemoryStore::new();
        let mut model = Model::default();
        for operation in &operations {
            apply(&mut store, &mut model, operation);
            assert_matches_model(&store, &model);
        }
    }
}
