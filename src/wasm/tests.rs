//! The binding under wasm-bindgen-test: errors arrive as the package's classes.

use js_sys::Reflect;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_test::wasm_bindgen_test;

use super::arguments::{check_actor_id, check_from_version};
use super::errors::{ValidationError, VersionConflictError};
use super::records::{
    check_event_records, prepare_event, prepare_events, EventWriter, VersionLedger,
};
use super::store::StoreCore;

fn field(error: &JsValue, name: &str) -> JsValue {
    Reflect::get(error, &JsValue::from_str(name)).unwrap()
}

fn event(version: i64) -> String {
    format!(r#"{{"eventType":"T","actorId":"a","version":{version},"data":{{}}}}"#)
}

#[wasm_bindgen_test]
fn conflicts_are_version_conflict_errors_with_fields() {
    let mut store = StoreCore::new();
    store.save_event(&event(2)).unwrap();
    let error = store.save_event(&event(1)).unwrap_err();
    assert!(error.dyn_ref::<VersionConflictError>().is_some());
    assert!(error.dyn_ref::<js_sys::Error>().is_some());
    assert_eq!(field(&error, "code"), "VERSION_CONFLICT");
    assert_eq!(field(&error, "actorId"), "a");
    assert_eq!(field(&error, "attemptedVersion"), 1.0);
    assert_eq!(field(&error, "currentVersion"), 2.0);
    assert_eq!(
        field(&error, "message"),
        r#"version conflict: actor "a" has version 2, cannot save version 1"#
    );
}

#[wasm_bindgen_test]
fn bad_input_is_a_validation_error_naming_the_field() {
    let mut store = StoreCore::new();
    let error = store
        .save_events(&format!("[{},{{}}]", event(1)))
        .unwrap_err();
    assert!(error.dyn_ref::<ValidationError>().is_some());
    assert!(error.dyn_ref::<js_sys::TypeError>().is_some());
    assert_eq!(field(&error, "field"), "[1].eventType");
    assert_eq!(field(&error, "code"), "INVALID_INPUT");
    assert_eq!(store.get_latest_version("a"), 0.0);

    let error = check_actor_id(JsValue::from_f64(1.0)).unwrap_err();
    assert_eq!(field(&error, "field"), "actorId");
    let error = check_from_version(JsValue::from_str("1")).unwrap_err();
    assert_eq!(field(&error, "field"), "fromVersion");
    assert_eq!(check_from_version(JsValue::UNDEFINED).unwrap(), 0.0);
}

#[wasm_bindgen_test]
fn reads_return_json_text() {
    let mut store = StoreCore::new();
    store.save_event(&event(1)).unwrap();
    store.save_event(&event(2)).unwrap();
    let json = store.get_events("a", 2.0).unwrap();
    let events = js_sys::JSON::parse(&json).unwrap();
    assert_eq!(js_sys::Array::from(&events).length(), 1);
    assert_eq!(store.get_latest_snapshot("a"), None);
}

#[wasm_bindgen_test]
fn a_ledger_refuses_conflicting_saves_of_a_group() {
    let mut ledger = VersionLedger::new();
    ledger.observe("a", 1.0);
    ledger.admit(vec!["a".into()], vec![2.0]).unwrap();
    let error = ledger.admit(vec!["a".into()], vec![2.0]).unwrap_err();
    assert!(error.dyn_ref::<VersionConflictError>().is_some());
    assert_eq!(field(&error, "currentVersion"), 2.0);
}

#[wasm_bindgen_test]
fn prepared_events_carry_their_keys_and_records_are_checked() {
    let prepared = prepare_events(&format!("[{},{}]", event(4), event(5))).unwrap();
    assert_eq!(prepared.actor_ids(), ["a", "a"]);
    assert_eq!(prepared.versions(), [4.0, 5.0]);
    let utf8 = prepared.utf8();
    let ends = prepared.ends();
    let first_end = ends[0] as usize;
    assert_eq!(utf8[first_end], b',');

    // Record payloads as storage hands them back: the first sound, then garbage, then the second.
    let mut payloads = utf8[..first_end].to_vec();
    payloads.extend_from_slice(b"garbage");
    let garbage_end = payloads.len() as u32;
    payloads.extend_from_slice(&utf8[first_end + 1..]);
    let checked = check_event_records(
        &payloads,
        &[first_end as u32, garbage_end, payloads.len() as u32],
        vec!["a".into()],
        &[4.0, 9.0, 5.0],
        None,
    );
    assert_eq!(checked.failed, [1]);
    assert_eq!(checked.errors.len(), 1);
    let events = js_sys::Array::from(&js_sys::JSON::parse(&checked.events).unwrap());
    assert_eq!(events.length(), 2);

    let recorded = check_event_records(
        &payloads,
        &[first_end as u32, garbage_end, payloads.len() as u32],
        vec!["a".into(), "a".into(), "b".into()],
        &[4.0, 9.0, 5.0],
        Some(vec![10.0, 11.0, 12.0].into_boxed_slice()),
    );
    assert_eq!(
        recorded.failed,
        [1, 2],
        "each record checked against its own actor"
    );
    let entries = js_sys::Array::from(&js_sys::JSON::parse(&recorded.events).unwrap());
    assert_eq!(entries.length(), 1);
    assert_eq!(
        js_sys::Reflect::get(&entries.get(0), &JsValue::from_str("position")).unwrap(),
        10.0
    );

    let single = prepare_event(&event(7)).unwrap();
    assert_eq!(single.ends(), [single.utf8().len() as u32]);
    let error = prepare_events(&format!("[{}, 5]", event(1))).unwrap_err();
    assert_eq!(field(&error, "field"), "[1]");
}

/// Writes `bytes` to the store's input area as JavaScript does (see `write_at`).
fn write_input(store: &mut StoreCore, bytes: &[u8]) -> u32 {
    let start = store.input_area(bytes.len() as u32);
    write_at(start, bytes)
}

/// Writes `bytes` at `start` as JavaScript does: through a view of the memory.
fn write_at(start: u32, bytes: &[u8]) -> u32 {
    assert_ne!(start, 0);
    memory_view(start, bytes.len() as u32).copy_from(bytes);
    bytes.len() as u32
}

/// A view of `length` bytes of the WebAssembly memory from `start`.
fn memory_view(start: u32, length: u32) -> js_sys::Uint8Array {
    let memory: js_sys::WebAssembly::Memory = super::wasm_memory().unchecked_into();
    js_sys::Uint8Array::new_with_byte_offset_and_length(&memory.buffer(), start, length)
}

#[wasm_bindgen_test]
fn a_written_event_is_stored_retried_or_refused_with_the_error_kept_once() {
    let mut store = StoreCore::new();
    let json = r#"{"id":"e1","eventType":"T","actorId":"a","version":1,"data":{"é":"😀"}}"#;
    let length = write_input(&mut store, json.as_bytes());
    assert_eq!(store.save_written_event(length, 1_000.0), 1);
    assert_eq!(store.last_save_stored(), 1);
    assert_eq!(
        store.get_events("a", 0.0).unwrap(),
        r#"[{"id":"e1","eventType":"T","actorId":"a","version":1,"data":{"é":"😀"},"timestamp":"1970-01-01T00:00:01.000Z"}]"#
    );
    assert!(store.take_error().is_undefined());

    assert_eq!(store.save_written_event(length, 2_000.0), 0, "a retry");
    assert_eq!(store.last_position(), 1.0, "stores nothing");

    let other = json.replace("e1", "e2");
    let length = write_input(&mut store, other.as_bytes());
    assert_eq!(store.save_written_event(length, 0.0), -1);
    let error = store.take_error();
    assert!(error.dyn_ref::<VersionConflictError>().is_some());
    assert!(store.take_error().is_undefined(), "taken once");

    let length = write_input(
        &mut store,
        br#"{"eventType":"","actorId":"a","version":2,"data":{}}"#,
    );
    assert_eq!(store.save_written_event(length, 0.0), -1);
    assert_eq!(field(&store.take_error(), "field"), "eventType");

    let length = write_input(&mut store, b"{\"eventType\":\"\xff\"}");
    assert_eq!(store.save_written_event(length, 0.0), -1);
    assert!(store.take_error().dyn_ref::<ValidationError>().is_some());
    assert_eq!(store.save_written_event(u32::MAX, 0.0), -1, "past the area");
    assert!(store.take_error().dyn_ref::<ValidationError>().is_some());
    assert_eq!(store.last_position(), 1.0);
}

#[wasm_bindgen_test]
fn a_written_batch_is_answered_as_save_events_brief_answers() {
    let mut store = StoreCore::new();
    let batch = format!("[{},{}]", event(1), event(2));
    let length = write_input(&mut store, batch.as_bytes());
    let brief = store.save_written_events_brief(length, 0.0).unwrap();
    assert!(brief.starts_with("1970-01-01T00:00:00.000Z 36 "), "{brief}");
    assert_eq!(store.last_save_stored(), 2);
    let length = write_input(&mut store, format!("[{}]", event(2)).as_bytes());
    let error = store.save_written_events_brief(length, 0.0).unwrap_err();
    assert!(error.dyn_ref::<VersionConflictError>().is_some());
    let error = store.save_written_events_brief(u32::MAX, 0.0).unwrap_err();
    assert!(error.dyn_ref::<ValidationError>().is_some());
    assert_eq!(store.last_position(), 2.0);
}

/// New events of many shapes, without `id` and `timestamp`.
const SHAPES: &[&str] = &[
    r#"{"eventType":"T","actorId":"a","version":1,"data":{}}"#,
    r#"{"version":3,"data":{"n":null},"actorId":"a","eventType":"T"}"#,
    r#"{"eventType":"T","actorId":"a","version":1,"data":{},"commandId":"c-1"}"#,
    r#"{"eventType":"T","actorId":"a","version":1,"data":{},"commandId":""}"#,
    r#"{"eventType":"T","actorId":"a","version":1,"data":{},"metadata":{}}"#,
    r#"{"eventType":"T","actorId":"a","version":1,"data":{},"metadata":{"by":"b","n":"é 😀 \\\""}}"#,
    r#"{"eventType":"Größe 😀","actorId":"акт\u00e9\"\\","version":9007199254740991,"data":{"s":"\u0001\n\ud83d\ude00"}}"#,
    r#"{"eventType":"T","actorId":"a","version":2,"data":{"a":[1,1.5,-0,1e300,{"b":{"c":[true,false,null]}}],"é":"😀"}}"#,
    r#"{"eventType":"T","actorId":"a","version":1,"data":{"list":[]},"metadata":{"x":"y"},"commandId":"c"}"#,
];

#[wasm_bindgen_test]
fn a_written_event_is_prepared_to_the_bytes_prepare_event_gives() {
    let mut writer = EventWriter::new();
    for shape in SHAPES {
        let prepared = prepare_event(shape)
            .unwrap_or_else(|error| panic!("{shape}: {:?}", field(&error, "message")));
        let id = prepared.ids().remove(0);
        let expected = String::from_utf8(prepared.utf8()).unwrap();
        let timestamp = expected.rsplit_once("\"timestamp\":\"").unwrap().1;
        let now = js_sys::Date::parse(timestamp.trim_end_matches("\"}"));
        let input = format!(r#"{{"id":"{id}",{}"#, &shape[1..]);
        let start = writer.input_area(2 * input.len() as u32 + 64);
        let length = write_at(start, input.as_bytes());
        let answer = writer.prepare_written_event(length, now);
        assert!(answer > 0, "{shape}");
        let canonical = memory_view(start + length, answer as u32).to_vec();
        assert_eq!(String::from_utf8(canonical).unwrap(), expected, "{shape}");
        assert!(writer.take_error().is_undefined());
    }
}

#[wasm_bindgen_test]
fn a_written_event_is_refused_naming_the_field_or_left_to_prepare_event() {
    let mut writer = EventWriter::new();
    let bad = br#"{"id":"e","eventType":"T","actorId":"a","version":0,"data":{}}"#;
    let start = writer.input_area(256);
    let length = write_at(start, bad);
    assert_eq!(writer.prepare_written_event(length, 0.0), -1);
    let error = writer.take_error();
    assert!(error.dyn_ref::<ValidationError>().is_some());
    assert_eq!(field(&error, "field"), "version");
    assert!(writer.take_error().is_undefined(), "taken once");
    assert_eq!(
        writer.prepare_written_event(u32::MAX, 0.0),
        -1,
        "past the area"
    );
    assert!(writer.take_error().dyn_ref::<ValidationError>().is_some());

    let mut small = EventWriter::new();
    let good = br#"{"id":"e","eventType":"T","actorId":"a","version":1,"data":{}}"#;
    let start = small.input_area(good.len() as u32 + 8);
    let length = write_at(start, good);
    assert_eq!(
        small.prepare_written_event(length, 0.0),
        -2,
        "no room for the answer"
    );
    assert!(small.take_error().is_undefined());
}
