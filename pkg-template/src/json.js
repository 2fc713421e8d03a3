// Encodes what a caller passes in (events, snapshots) as JSON text for the Rust
// core. The caller's value is copied, every value JSON cannot represent
// faithfully rejected, naming its path; the copy (what `JSON.parse` of the
// encoding would give) holds nothing but JSON values, so the engine's own
// `JSON.stringify` encodes it, flat and fast (or json-writer.js writes a new
// event's copy as bytes, see fresh-event.js). The core then checks the fields' rules.
//
// The encoding is made from the copy, so a getter or proxy cannot show one
// value to the check and another to the encoding. A quick pass copies the
// common record (plain objects, arrays, well-formed strings, finite numbers,
// only the contract's fields); whatever it does not simply copy sends the
// record through the careful pass, which reads it again (a getter runs twice
// then) and names what is wrong. A record the quick pass refused is refused,
// whatever the second read gives. A store can hand back the copy as the stored
// event without parsing its JSON again.

import { ValidationError } from './errors.js';

/** How deeply `data` and `state` may nest; deeper values are rejected, never overflow the stack. */
const MAX_DEPTH = 100;

const EVENT_FIELDS = ['id', 'eventType', 'actorId', 'commandId', 'version', 'data', 'metadata', 'timestamp'];
const SNAPSHOT_FIELDS = ['actorId', 'version', 'state', 'timestamp'];
const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

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
 * @param {unknown} value
 * @param {Array<string | number>} segments the path of `value`, extended and restored while descending
 * @param {unknown[]} ancestors the containers above `value`, to detect cycles
 * @returns {unknown} the copy of `value`, what `JSON.parse` of its encoding gives
 */
function copyValue(value, segments, ancestors) {
  switch (typeof value) {
    case 'string':
      if (!isWellFormed(value)) throw invalid(segments, 'contains a lone UTF-16 surrogate');
      return value;
    case 'number':
      if (!Number.isFinite(value)) throw invalid(segments, `must be a finite number, not ${value}`);
      return value + 0; // -0 + 0 is 0, as String(-0) is "0": the contract wants 0
    case 'boolean':
      return value;
    case 'object':
      return value === null ? null : copyContainer(value, segments, ancestors);
    default:
      throw invalid(segments, `is ${describe(value)}, which is not a JSON value`);
  }
}

function copyContainer(value, segments, ancestors) {
  if (ancestors.includes(value)) throw invalid(segments, 'refers to itself (a cycle), which JSON cannot hold');
  if (ancestors.length >= MAX_DEPTH) throw invalid(segments, `is nested deeper than ${MAX_DEPTH} levels`);
  ancestors.push(value);
  let copy;
  try {
    copy = Array.isArray(value) ? copyArray(value, segments, ancestors) : copyObject(value, segments, ancestors);
  } catch (error) {
    // Nothing reads `segments` or `ancestors` after a ValidationError: the encoding is over.
    if (error instanceof ValidationError) throw error;
    // A getter or proxy trap threw while this container was read (at the path in `segments`).
    throw invalid(segments, `could not be read: ${error?.message ?? error}`, error);
  }
  ancestors.pop();
  return copy;
}

function copyArray(array, segments, ancestors) {
  const length = array.length;
  const copy = [];
  for (let index = 0; index < length; index++) {
    segments.push(index);
    const element = array[index];
    if (element === undefined) throw invalid(segments, 'is undefined, which a JSON array cannot hold');
    copy.push(copyValue(element, segments, ancestors));
    segments.pop();
  }
  return copy;
}

function copyObject(object, segments, ancestors) {
  if (!isPlainObject(object)) throw invalid(segments, `is ${describe(object)}, which JSON cannot hold: ${instead(object)}`);
  const copy = {};
  for (const key of Object.keys(object)) {
    segments.push(key);
    const property = object[key];
    if (property !== undefined) {
      if (!isWellFormed(key)) throw invalid(segments, 'contains a lone UTF-16 surrogate');
      setOwn(copy, key, copyValue(property, segments, ancestors));
    }
    segments.pop();
  }
  return copy;
}

/** Sets `object[key]`, as `JSON.parse` does: `__proto__` too is an own property, not the prototype. */
function setOwn(object, key, value) {
  if (key === '__proto__') Object.defineProperty(object, key, { value, writable: true, enumerable: true, configurable: true });
  else object[key] = value;
}

/**
 * The fields of the record copied last that the contract does not name, as
 * `,"name":null` each (`''` when there are none): `copyRecord` sets it, and
 * its caller takes it right away.
 */
let unknownOfLast = '';

/** Thrown by the quick pass at sound input that it leaves to the careful one (a `Date` timestamp, a `__proto__` key, a field the contract does not name). */
const UNUSUAL = Symbol('unusual');
/** Thrown by the quick pass at input that the careful one refuses, naming the problem. */
const REFUSED = Symbol('refused');

/**
 * The copy of `value`, as `copyValue` makes it, without the bookkeeping that
 * names a problem (no path, no list of containers: a cycle ends at the depth
 * limit). Throws at anything it does not simply copy.
 */
function quickValue(value, depth) {
  switch (typeof value) {
    case 'string':
      if (isWellFormed(value)) return value;
      break;
    case 'number':
      if (Number.isFinite(value)) return value + 0;
      break;
    case 'boolean':
      return value;
    case 'object':
      if (value === null) return null;
      if (depth < MAX_DEPTH) return Array.isArray(value) ? quickArray(value, depth + 1) : quickObject(value, depth + 1);
      break;
  }
  throw REFUSED;
}

function quickArray(array, depth) {
  const length = array.length;
  const copy = [];
  for (let index = 0; index < length; index++) {
    const element = array[index];
    if (element === undefined) throw REFUSED;
    copy.push(quickValue(element, depth));
  }
  return copy;
}

function quickObject(object, depth) {
  if (!isPlainObject(object)) throw REFUSED;
  const copy = {};
  for (const key of Object.keys(object)) {
    const property = object[key];
    if (property === undefined) continue;
    if (key === '__proto__') throw UNUSUAL;
    if (!isWellFormed(key)) throw REFUSED;
    copy[key] = quickValue(property, depth);
  }
  return copy;
}

/** `copyRecord`'s quick pass: throws UNUSUAL or REFUSED (see there) at anything it does not simply copy. */
function quickRecord(record, fields) {
  if (typeof record !== 'object' || record === null || Array.isArray(record)) throw REFUSED;
  // The careful pass names the fields the contract does not (see `unknownFields`).
  for (const key of Object.keys(record)) if (!fields.includes(key)) throw UNUSUAL;
  const copy = {};
  for (const field of fields) {
    const value = record[field];
    if (field === 'timestamp' && value instanceof Date) throw UNUSUAL;
    if (value !== undefined) copy[field] = quickValue(value, 0);
  }
  return copy;
}

/**
 * Copies the listed fields of a caller's object (`what` it is, for messages),
 * checking every value as it goes; a `Date` timestamp becomes its ISO string.
 * The copy holds the fields in the order listed, so that `JSON.stringify` of it
 * is the record's encoding (the fields it does not name aside, see `unknownOfLast`).
 */
function copyRecord(record, fields, what, segments) {
  let refused;
  try {
    const copy = quickRecord(record, fields);
    unknownOfLast = '';
    return copy;
  } catch (reason) {
    // A getter or proxy that threw is refused too.
    refused = reason !== UNUSUAL;
  }
  const copy = carefulRecord(record, fields, what, segments);
  // The careful pass read again and found nothing wrong: what was refused at the first read changed since.
  if (refused) throw invalid(segments, 'changed while it was read (a getter or proxy gave a value JSON cannot hold, then another)');
  return copy;
}

/** `copyRecord`'s careful pass: names the problem it meets; a Date timestamp becomes its string. */
function carefulRecord(record, fields, what, segments) {
  if (typeof record !== 'object' || record === null || Array.isArray(record)) {
    throw invalid(segments, `must be ${what} (an object with its fields), not ${describe(record)}`);
  }
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
    if (value !== undefined) copy[field] = copyValue(value, segments, []);
    segments.pop();
  }
  unknownOfLast = unknownFields(record, fields, segments);
  return copy;
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
    if (value === undefined) continue;
    if (!isWellFormed(key)) throw invalid([...segments, key], 'contains a lone UTF-16 surrogate');
    out += `,${JSON.stringify(key)}:null`;
  }
  return out;
}

/**
 * The JSON text of a record copied by `copyRecord`, with `unknown` (the fields
 * it does not name) at the end. The copy holds JSON values only, so the
 * engine's own `JSON.stringify` encodes it, as fast as it can.
 */
function recordJson(copy, unknown) {
  const json = JSON.stringify(copy);
  if (unknown === '') return json;
  return json === '{}' ? `{${unknown.slice(1)}}` : `${json.slice(0, -1)}${unknown}}`;
}

/**
 * An event as `encodeEventCopy` gives it: its `copy`, and its JSON text
 * (`json`), made when first read: a new event's save writes the copy's bytes
 * straight where the core reads them (see fresh-event.js), and never needs it.
 */
class EncodedEvent {
  /** The caller's fields that the contract does not name, as `,"name":null` each. */
  #unknown;
  /** @type {string | undefined} */
  #json;

  constructor(copy, unknown) {
    /** @type {Record<string, unknown>} */
    this.copy = copy;
    this.#unknown = unknown;
  }

  /** Whether the event has no field the contract does not name (the core refuses those by name). */
  get onlyContractFields() {
    return this.#unknown === '';
  }

  /** The event as JSON text. */
  get json() {
    return (this.#json ??= recordJson(this.copy, this.#unknown));
  }
}

/**
 * One event checked and copied: `copy` holds the fields it encodes, a fresh
 * object that shares nothing with `event` (only the contract's fields, each as
 * `JSON.parse` of the encoding would give it; a `Date` timestamp as its
 * string), and `json` the event as JSON text.
 * @param {unknown} event
 * @returns {{ readonly json: string, readonly copy: Record<string, unknown>, readonly onlyContractFields: boolean }}
 */
export function encodeEventCopy(event) {
  const copy = copyRecord(event, EVENT_FIELDS, 'an event', []);
  return new EncodedEvent(copy, unknownOfLast);
}

/**
 * A batch of events as a JSON array; paths start with the event's index.
 * @param {unknown} events
 * @returns {string}
 */
export function encodeEvents(events) {
  return encodeEventsCopy(events).json;
}

/**
 * A batch of events as a JSON array, and a copy of each event's fields (see
 * `encodeEventCopy`), in the batch's order.
 * @param {unknown} events
 * @returns {{ json: string, copies: Record<string, unknown>[] }}
 */
export function encodeEventsCopy(events) {
  if (!Array.isArray(events)) {
    throw invalid([], `saveEvents takes an array of events, not ${describe(events)}${isPlainObject(events ?? []) ? ' (to save one event, use saveEvent)' : ''}`);
  }
  const copies = [];
  /** Each event's fields that the contract does not name, where there are any. */
  let unknowns;
  for (let index = 0; index < events.length; index++) {
    copies.push(copyRecord(events[index], EVENT_FIELDS, 'an event', [index]));
    if (unknownOfLast !== '') (unknowns ??= new Map()).set(index, unknownOfLast);
  }
  const json = unknowns === undefined
    ? JSON.stringify(copies)
    : `[${copies.map((copy, index) => recordJson(copy, unknowns.get(index) ?? '')).join(',')}]`;
  return { json, copies };
}

/**
 * One snapshot as JSON text.
 * @param {unknown} snapshot
 * @returns {string}
 */
export function encodeSnapshot(snapshot) {
  return recordJson(copyRecord(snapshot, SNAPSHOT_FIELDS, 'a snapshot', []), unknownOfLast);
}
