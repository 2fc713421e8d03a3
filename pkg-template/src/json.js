// Encodes what a caller passes in (events, snapshots) as JSON text for the Rust
// core, in one pass that also rejects every value JSON cannot represent
// faithfully, naming its path. The core then checks the fields' rules.
//
// Each property is read exactly once, so a getter or proxy cannot show one value
// to the check and another to the encoding. The same pass makes a copy of what
// it encodes (what `JSON.parse` of the encoding would give), so that a store
// can hand back the stored event without parsing it again.

import { ValidationError } from './errors.js';

/** How deeply `data` and `state` may nest; deeper values are rejected, never overflow the stack. */
const MAX_DEPTH = 100;

const EVENT_FIELDS = ['id', 'eventType', 'actorId', 'commandId', 'version', 'data', 'metadata', 'timestamp'];
const SNAPSHOT_FIELDS = ['actorId', 'version', 'state', 'timestamp'];
const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;
/** Strings that JSON holds as they are: no quote, backslash, control character or surrogate. */
const PLAIN = /^[^"\\\u0000-\u001f\ud800-\udfff]*$/;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * The copy of the value encoded last: each encode function below sets it
 * before returning, and its caller takes it right away.
 * @type {unknown}
 */
let copied;

const isWellFormed = String.prototype.isWellFormed
  ? (text) => text.isWellFormed()
  : (text) => !LONE_SURROGATE.test(text);

/**
 * A path such as `[1].data.items[2]["unit price"]` from its segments
 * (numbers are array indices); the Rust core writes paths the same way.
 * @param {ReadonlyArray<string | number>} segments
 */
function formatPath(segments) {
  let path = '';
  for (const segment of segments) {
    if (typeof segment === 'number') path += `[${segment}]`;
    else if (!IDENTIFIER.test(segment)) path += `[${JSON.stringify(segment)}]`;
    else path += path === '' ? segment : `.${segment}`;
  }
  return path;
}

/**
 * @param {ReadonlyArray<string | number>} segments
 * @param {string} problem
 * @param {unknown} [cause]
 */
function invalid(segments, problem, cause) {
  const field = formatPath(segments);
  return new ValidationError(field === '' ? problem : `${field} ${problem}`, { field, cause });
}

/** What a value is, for messages: `a Date`, `a function`, `an Order object`, `an object`. */
function describe(value) {
  if (value === null || value === undefined) return String(value);
  if (Array.isArray(value)) return 'an array';
  if (typeof value !== 'object') return `a ${typeof value}`;
  if (isPlainObject(value)) return 'an object';
  const name = Object.prototype.toString.call(value).slice(8, -1);
  const constructor = Object.getPrototypeOf(value)?.constructor?.name;
  return name === 'Object' && constructor ? `an instance of the class ${constructor}` : `a ${name}`;
}

/** What to store instead of an object JSON cannot hold. */
function instead(object) {
  if (object instanceof Date) return 'store a string, such as date.toISOString()';
  if (object instanceof Map) return 'store a plain object (Object.fromEntries(map)) or an array of pairs';
  if (object instanceof Set) return 'store an array ([...set])';
  if (ArrayBuffer.isView(object) || object instanceof ArrayBuffer) return 'store an array of numbers or a base64 string';
  return 'store a plain object with its fields';
}

/** A plain object: its prototype is `Object.prototype` (of any realm) or `null`. */
function isPlainObject(value) {
  const prototype = Object.getPrototypeOf(value);
  return prototype === null || Object.getPrototypeOf(prototype) === null;
}

/**
 * Keys seen before, each with its JSON text and a colon: events of one shape
 * repeat theirs (about a tenth of the encoder's time). Only so many, and only
 * short ones, are kept.
 */
const encodedKeys = new Map();
const MAX_ENCODED_KEYS = 1000;
const MAX_ENCODED_KEY_LENGTH = 64;

/** `key` as JSON text followed by `:`. */
function encodeKey(key, segments) {
  let json = encodedKeys.get(key);
  if (json === undefined) {
    json = `${encodeString(key, segments)}:`;
    if (encodedKeys.size < MAX_ENCODED_KEYS && key.length <= MAX_ENCODED_KEY_LENGTH) encodedKeys.set(key, json);
  }
  return json;
}

function encodeString(text, segments) {
  if (PLAIN.test(text)) return `"${text}"`;
  if (!isWellFormed(text)) throw invalid(segments, 'contains a lone UTF-16 surrogate');
  return JSON.stringify(text);
}

/**
 * @param {unknown} value
 * @param {Array<string | number>} segments the path of `value`, extended and restored while descending
 * @param {unknown[]} ancestors the containers above `value`, to detect cycles
 * @returns {string}
 */
function encodeValue(value, segments, ancestors) {
  switch (typeof value) {
    case 'string':
      copied = value;
      return encodeString(value, segments);
    case 'number':
      if (!Number.isFinite(value)) throw invalid(segments, `must be a finite number, not ${value}`);
      copied = value + 0; // -0 + 0 is 0, as String(-0) is "0": the contract wants 0
      return String(value);
    case 'boolean':
      copied = value;
      return value ? 'true' : 'false';
    case 'object':
      if (value === null) {
        copied = null;
        return 'null';
      }
      return encodeContainer(value, segments, ancestors);
    default:
      throw invalid(segments, `is ${describe(value)}, which is not a JSON value`);
  }
}

function encodeContainer(value, segments, ancestors) {
  if (ancestors.includes(value)) throw invalid(segments, 'refers to itself (a cycle), which JSON cannot hold');
  if (ancestors.length >= MAX_DEPTH) throw invalid(segments, `is nested deeper than ${MAX_DEPTH} levels`);
  ancestors.push(value);
  let out;
  try {
    out = Array.isArray(value) ? encodeArray(value, segments, ancestors) : encodeObject(value, segments, ancestors);
  } catch (error) {
    // Nothing reads `segments` or `ancestors` after a ValidationError: the encoding is over.
    if (error instanceof ValidationError) throw error;
    // A getter or proxy trap threw while this container was read (at the path in `segments`).
    throw invalid(segments, `could not be read: ${error?.message ?? error}`, error);
  }
  ancestors.pop();
  return out;
}

function encodeArray(array, segments, ancestors) {
  let out = '[';
  const length = array.length;
  const copy = [];
  for (let index = 0; index < length; index++) {
    segments.push(index);
    const element = array[index];
    if (element === undefined) throw invalid(segments, 'is undefined, which a JSON array cannot hold');
    out += (index === 0 ? '' : ',') + encodeValue(element, segments, ancestors);
    copy.push(copied);
    segments.pop();
  }
  copied = copy;
  return out + ']';
}

function encodeObject(object, segments, ancestors) {
  if (!isPlainObject(object)) throw invalid(segments, `is ${describe(object)}, which JSON cannot hold: ${instead(object)}`);
  let out = '{';
  const copy = {};
  for (const key of Object.keys(object)) {
    segments.push(key);
    const property = object[key];
    if (property !== undefined) {
      out += (out.length === 1 ? '' : ',') + encodeKey(key, segments) + encodeValue(property, segments, ancestors);
      setOwn(copy, key, copied);
    }
    segments.pop();
  }
  copied = copy;
  return out + '}';
}

/** Sets `object[key]`, as `JSON.parse` does: `__proto__` too is an own property, not the prototype. */
function setOwn(object, key, value) {
  if (key === '__proto__') Object.defineProperty(object, key, { value, writable: true, enumerable: true, configurable: true });
  else object[key] = value;
}

/**
 * Encodes the listed fields of a caller's object (`what` it is, for messages);
 * a `Date` timestamp becomes its ISO string.
 */
function encodeRecord(record, fields, what, segments) {
  if (typeof record !== 'object' || record === null || Array.isArray(record)) {
    throw invalid(segments, `must be ${what} (an object with its fields), not ${describe(record)}`);
  }
  let out = '{';
  const copy = {};
  for (const field of fields) {
    segments.push(field);
    let value;
    try {
      value = record[field];
    } catch (error) {
      throw invalid(segments, `could not be read: ${error?.message ?? error}`, error);
    }
    if (field === 'timestamp' && value instanceof Date) {
      if (Number.isNaN(value.getTime())) throw invalid(segments, 'is an invalid Date');
      value = value.toISOString();
    }
    if (value !== undefined) {
      out += (out.length === 1 ? '"' : ',"') + field + '":' + encodeValue(value, segments, []);
      copy[field] = copied;
    }
    segments.pop();
  }
  const unknown = unknownFields(record, fields, segments);
  copied = copy;
  return out + (out.length === 1 ? unknown.slice(1) : unknown) + '}';
}

/**
 * The caller's fields that the contract does not name, as `,"name":null` each:
 * the core refuses them by name, suggesting the intended field. A field whose
 * value is `undefined` is absent, as everywhere else.
 */
function unknownFields(record, fields, segments) {
  let keys;
  try {
    keys = Object.keys(record);
  } catch (error) {
    throw invalid(segments, `could not be read: ${error?.message ?? error}`, error);
  }
  let out = '';
  for (const key of keys) {
    if (fields.includes(key)) continue;
    let value;
    try {
      value = record[key];
    } catch {
      value = null; // present, if unreadable
    }
    if (value !== undefined) out += `,${encodeString(key, [...segments, key])}:null`;
  }
  return out;
}

/**
 * One event as JSON text.
 * @param {unknown} event
 * @returns {string}
 */
export function encodeEvent(event) {
  return forgetCopy(encodeRecord(event, EVENT_FIELDS, 'an event', []));
}

/** Passes `json` through, dropping the copy made beside it (not kept alive until the next encoding). */
function forgetCopy(json) {
  copied = undefined;
  return json;
}

/**
 * One event as JSON text, and a copy of the fields it encodes: a fresh object
 * that shares nothing with `event` (only the contract's fields, each as
 * `JSON.parse` of the encoding would give it; a `Date` timestamp as its string).
 * @param {unknown} event
 * @returns {{ json: string, copy: Record<string, unknown> }}
 */
export function encodeEventCopy(event) {
  const json = encodeRecord(event, EVENT_FIELDS, 'an event', []);
  const copy = /** @type {Record<string, unknown>} */ (copied);
  copied = undefined;
  return { json, copy };
}

/**
 * A batch of events as a JSON array; paths start with the event's index.
 * @param {unknown} events
 * @returns {string}
 */
export function encodeEvents(events) {
  return encodeBatch(events, undefined);
}

/**
 * A batch of events as a JSON array, and a copy of each event's fields (see
 * `encodeEventCopy`), in the batch's order.
 * @param {unknown} events
 * @returns {{ json: string, copies: Record<string, unknown>[] }}
 */
export function encodeEventsCopy(events) {
  const copies = [];
  const json = encodeBatch(events, copies);
  return { json, copies };
}

/** The batch as a JSON array; each event's copy is pushed to `copies`, if given. */
function encodeBatch(events, copies) {
  if (!Array.isArray(events)) {
    throw invalid([], `saveEvents takes an array of events, not ${describe(events)}${isPlainObject(events ?? []) ? ' (to save one event, use saveEvent)' : ''}`);
  }
  let out = '[';
  for (let index = 0; index < events.length; index++) {
    out += (index === 0 ? '' : ',') + encodeRecord(events[index], EVENT_FIELDS, 'an event', [index]);
    if (copies !== undefined) copies.push(copied);
  }
  return forgetCopy(out + ']');
}

/**
 * One snapshot as JSON text.
 * @param {unknown} snapshot
 * @returns {string}
 */
export function encodeSnapshot(snapshot) {
  return forgetCopy(encodeRecord(snapshot, SNAPSHOT_FIELDS, 'a snapshot', []));
}
