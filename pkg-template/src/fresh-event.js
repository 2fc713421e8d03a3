// A new event (no `id`, no `timestamp`) as the core stores it, made with as
// little crossing into wasm as can be: the id made here, the time passed in,
// the JSON written straight into a core input area, and the stored event
// answered from the caller's copy of the input rather than parsed from the
// stored JSON. Shared by the backends: memory, IndexedDB, directory, JetStream.

import { EventWriter, prepareEvent, wasmMemory } from '#wasm';
import { writeObjectLedBy } from './json-writer.js';
import { newEventId } from './random-id.js';
import { unwrapEvents } from './records.js';

/** Up to when (the year 10000) `toISOString` writes what the core writes. */
const LAST_FOUR_DIGIT_YEAR_MS = 253_402_300_800_000;

/** The last time formatted for a timestamp, since saves in a burst share a millisecond. */
let lastMillis = NaN;
let lastTimestamp = '';

/**
 * `millis` (milliseconds since the Unix epoch) as the core formats a timestamp
 * it fills in: RFC 3339 UTC with milliseconds, e.g. `2026-11-27T06:30:00.123Z`.
 */
export function timestampAt(millis) {
  if (millis !== lastMillis) {
    lastTimestamp = new Date(millis).toISOString();
    lastMillis = millis;
  }
  return lastTimestamp;
}

function hasOwnKeys(object) {
  for (const key in object) if (Object.hasOwn(object, key)) return true;
  return false;
}

/**
 * The event the core stored from `copy` (a new event as `encodeEventCopy` gave
 * it, which the core accepted) with its `id` and `timestamp`: the fields in the
 * order of the canonical encoding, an empty `commandId` or `metadata` left out,
 * as `JSON.parse` of the stored JSON would give it.
 */
export function storedEvent(copy, id, timestamp) {
  const { commandId, metadata } = copy;
  const event = { id, eventType: copy.eventType, actorId: copy.actorId };
  if (typeof commandId === 'string' && commandId !== '') event.commandId = commandId;
  event.version = copy.version;
  event.data = copy.data;
  if (metadata !== null && typeof metadata === 'object' && hasOwnKeys(metadata)) event.metadata = metadata;
  event.timestamp = timestamp;
  return event;
}

/** The largest input area kept: larger events take the usual way. */
const MAX_AREA = 1 << 20;

/** The smallest input area reserved: most events fit, so one view serves save after save. */
const MIN_AREA = 4096;

/**
 * An input area in the WebAssembly memory that JSON is written into, save
 * after save, each for one call into the core: `owner.inputArea(length)` (a
 * StoreCore's or an EventWriter's) reserves it and answers where it starts,
 * `0` if it cannot. It stays where it is until it is asked to be larger.
 */
export class InputArea {
  /** @type {{ inputArea(length: number): number }} */
  #owner;
  /** @type {Uint8Array | null} */
  #view = null;
  #start = 0;
  #length = 0;

  constructor(owner) {
    this.#owner = owner;
  }

  /** A view of the area at least `bytes` long, or `undefined` when the area cannot be that large. */
  view(bytes) {
    if (this.#view !== null && this.#length >= bytes) return this.current();
    if (bytes > MAX_AREA) return undefined;
    const length = Math.min(MAX_AREA, Math.max(bytes, 2 * this.#length, MIN_AREA));
    const start = this.#owner.inputArea(length);
    if (start === 0) return undefined;
    this.#start = start;
    this.#length = length;
    this.#view = new Uint8Array(wasmMemory().buffer, start, length);
    return this.#view;
  }

  /** The view again, after a call into the core that may have grown the memory (the area stays where it was). */
  current() {
    // A view of the memory is detached (empty) once the memory has grown.
    if (this.#view.byteLength === 0) this.#view = new Uint8Array(wasmMemory().buffer, this.#start, this.#length);
    return this.#view;
  }
}

/**
 * Writes a new event's input for its one call into the core (its JSON as
 * UTF-8, written from its copy, with an `id` made here, a random UUID v4 as
 * the core makes, first) to the start of `area` (see `InputArea`); with
 * `roomForOutput`, the area has room after it for the canonical JSON, which an
 * EventWriter writes there. Answers `{ id, now, length }`,
 * `now` the time of saving; `undefined` where that cannot be done (the event
 * has an `id`, a `timestamp` or a field the contract does not name, there is
 * no `crypto.getRandomValues`, the clock is past the year 9999, the area
 * cannot be that large), for the caller to save the event the usual way.
 */
export function writeFreshInput(encoded, area, roomForOutput) {
  const { copy } = encoded;
  if (copy === undefined || copy.id !== undefined || copy.timestamp !== undefined || !encoded.onlyContractFields || newEventId === undefined) return undefined;
  const now = Date.now();
  if (!(now >= 0 && now < LAST_FOUR_DIGIT_YEAR_MS)) return undefined;
  const id = newEventId();
  let view = area.view(MIN_AREA);
  if (view === undefined) return undefined;
  let length = writeObjectLedBy('id', id, copy, view, 0);
  // The canonical JSON is about as long as the input, and a timestamp more.
  const size = roomForOutput ? 2 * length + 128 : length;
  if (size > view.length) {
    // It did not fit (the bytes past the end went nowhere): again, in an area large enough.
    view = area.view(size);
    if (view === undefined) return undefined;
    length = writeObjectLedBy('id', id, copy, view, 0);
  }
  return { id, now, length };
}

/** @type {EventWriter | undefined} one for every store (preparing is synchronous), made on first use */
let writer;
/** @type {InputArea | undefined} the writer's input area */
let written;

/**
 * One event's save prepared for a durable backend (IndexedDB, directory,
 * JetStream): `events` as `unwrapEvents` of `prepareEvent(encoded.json)`
 * gives them, and, for a new event, `event`, the stored event built from its
 * copy (see `storedEvent`), for the save to resolve with. Throws what
 * `prepareEvent` throws for an event the core refuses.
 * @param {{ json: string, copy?: Record<string, unknown>, onlyContractFields?: boolean }} encoded as `encodeEventCopy` gives it
 * @returns {{ events: ReturnType<typeof unwrapEvents>, event?: Record<string, unknown> }}
 */
export function prepareEventSave(encoded) {
  return prepareFresh(encoded) ?? { events: unwrapEvents(prepareEvent(encoded.json)) };
}

/**
 * `prepareEventSave` of a new event in one call into the core, the JSON
 * written straight into the writer's input area (their `utf8` the very bytes
 * `prepareEvent` would give, but for the id). `undefined` where that cannot be
 * done (see `writeFreshInput`), for the event to be prepared the usual way.
 */
function prepareFresh(encoded) {
  if (written === undefined) {
    writer = new EventWriter();
    written = new InputArea(writer);
  }
  const fresh = writeFreshInput(encoded, written, true);
  if (fresh === undefined) return undefined;
  const { id, now, length } = fresh;
  const stored = writer.prepareWrittenEvent(length, now);
  if (stored === -1) throw writer.takeError();
  if (stored < 0) return undefined;
  const { copy } = encoded;
  const events = {
    ids: [id],
    actorIds: [copy.actorId],
    versions: Float64Array.of(copy.version),
    // The core wrote the canonical JSON right after the input; the memory may have grown meanwhile.
    utf8: written.current().slice(length, length + stored),
    ends: Uint32Array.of(stored),
  };
  return { events, event: storedEvent(copy, id, timestampAt(now)) };
}
