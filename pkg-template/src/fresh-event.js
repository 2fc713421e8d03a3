// A new event (no `id`, no `timestamp`) as the core stores it, made with as
// little crossing into wasm as can be: the id made here, the time passed in,
// the JSON written straight into a core input area, and the stored event
// answered from the caller's copy of the input rather than parsed from the
// stored JSON. Shared by the backends: memory, IndexedDB, directory, JetStream.

import { EventWriter, wasmMemory } from '#wasm';

/**
 * A random UUID v4 from the platform (`crypto.randomUUID`, where there is one:
 * Node.js, and browsers in a secure context), else `undefined`.
 */
export const randomUUID = typeof globalThis.crypto?.randomUUID === 'function' ? () => globalThis.crypto.randomUUID() : undefined;

/** Up to when (the year 10000) `toISOString` writes what the core writes. */
export const LAST_FOUR_DIGIT_YEAR_MS = 253_402_300_800_000;

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

const utf8 = new TextEncoder();
/** The largest area kept: larger events are prepared the usual way. */
const MAX_AREA = 1 << 20;
/** @type {EventWriter | undefined} one for every store: preparing is synchronous */
let writer;
/** @type {Uint8Array | null} a view of the writer's area (see `writtenArea`) */
let area = null;
/** Where the writer's area starts in the memory, and its length. */
let areaStart = 0;
let areaLength = 0;

/** A view of the writer's area at least `bytes` long, or `undefined` when the area cannot be that large. */
function writtenArea(bytes) {
  // A view of the memory is detached (empty) once the memory has grown.
  if (area !== null && area.byteLength >= bytes) return area;
  if (bytes > MAX_AREA) return undefined;
  writer ??= new EventWriter();
  const length = Math.min(MAX_AREA, Math.max(bytes, 2 * areaLength, 4096));
  const start = writer.inputArea(length);
  if (start === 0) return undefined;
  areaStart = start;
  areaLength = length;
  area = new Uint8Array(wasmMemory().buffer, start, length);
  return area;
}

/**
 * A new event prepared for a durable backend: `events` as `unwrapEvents` of
 * `prepareEvent(json)` gives them (their `utf8` the very bytes it would give,
 * but for the id), and `event`, the stored event built from `copy` (see
 * `storedEvent`). `undefined` where that cannot be done (`copy` has an `id` or
 * `timestamp`, no `crypto.randomUUID`, the clock past the year 9999, JSON too
 * large for the area), for the caller to prepare the event the usual way.
 * Throws what `prepareEvent` throws for an event the core refuses.
 */
export function prepareFresh(json, copy) {
  if (copy === undefined || copy.id !== undefined || copy.timestamp !== undefined || randomUUID === undefined) return undefined;
  const now = Date.now();
  if (!(now >= 0 && now < LAST_FOUR_DIGIT_YEAR_MS) || json.length <= 2) return undefined;
  const id = randomUUID();
  const input = `{"id":"${id}",${json.slice(1)}`;
  // UTF-8 takes at most 3 bytes per UTF-16 code unit; the canonical JSON, written after it, about as many.
  let view = writtenArea(input.length * 6 + 128);
  if (view === undefined) return undefined;
  const { written } = utf8.encodeInto(input, view);
  const length = writer.prepareWrittenEvent(written, now);
  if (length === -1) throw writer.takeError();
  if (length < 0) return undefined;
  if (view.byteLength === 0) {
    // The memory grew while the core prepared the event; the area stayed where it was.
    view = new Uint8Array(wasmMemory().buffer, areaStart, areaLength);
    area = view;
  }
  const events = {
    ids: [id],
    actorIds: [copy.actorId],
    versions: Float64Array.of(copy.version),
    utf8: view.slice(written, written + length),
    ends: Uint32Array.of(length),
  };
  return { events, event: storedEvent(copy, id, timestampAt(now)) };
}
