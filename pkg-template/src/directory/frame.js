// The commit log's frames: one frame per commit, naming the records that the
// commit appended to the data file beside it (see docs/directory-store.md).
// Pure functions on bytes, no I/O: encoding, and scanning a commit log for its
// sound frames, with where it is torn or damaged.
//
// A frame, little-endian:
//   u32 magic "AEF1" | u32 crc32 of the rest | u32 body length | body
//   body: u8 format (1) | u8 flags | u16 0 | f64 first position | f64 data offset
//         | u32 actors | u32 records | actors (u32 byte length, UTF-8 each)
//         | records (u32 actor, u32 length, u32 crc32, f64 version each)
// A record's actor is an index into its frame's own actor names, so that each
// frame can be read alone. Its bytes are `length` bytes of the data file
// followed by "\n", records one after another from the frame's data offset.

import { crc32 } from './crc32.js';

export const MAGIC = 0x31464541; // "AEF1"
const FORMAT = 1;
export const HEADER_BYTES = 12;
const BODY_FIXED_BYTES = 28;
export const RECORD_BYTES = 20;

/** Flag: the commit was not flushed before it was acknowledged (durability 'relaxed'). */
export const UNFLUSHED = 1;
/**
 * Flag: a commit of a synced store's confirmed events (a syncCommit), which
 * counts only once the sync journal's frame naming it is written (sync-journal.js).
 */
export const SYNCED = 2;

const encoder = new TextEncoder();

/**
 * A frame's bytes.
 * @param {{ flags: number, firstPosition: number, dataOffset: number, actors: string[],
 *   recordActors: ArrayLike<number>, versions: ArrayLike<number>, lengths: ArrayLike<number>, crcs: ArrayLike<number> }} commit
 *   `recordActors[i]` is record i's index into `actors`
 * @returns {Uint8Array}
 */
export function encodeFrame({ flags, firstPosition, dataOffset, actors, recordActors, versions, lengths, crcs }) {
  const names = actors.map((name) => encoder.encode(name));
  const count = recordActors.length;
  const bodyLength = BODY_FIXED_BYTES + names.reduce((sum, name) => sum + 4 + name.length, 0) + count * RECORD_BYTES;
  const bytes = new Uint8Array(HEADER_BYTES + bodyLength);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, MAGIC, true);
  view.setUint32(8, bodyLength, true);
  let at = HEADER_BYTES;
  view.setUint8(at, FORMAT);
  view.setUint8(at + 1, flags);
  view.setFloat64(at + 4, firstPosition, true);
  view.setFloat64(at + 12, dataOffset, true);
  view.setUint32(at + 20, names.length, true);
  view.setUint32(at + 24, count, true);
  at += BODY_FIXED_BYTES;
  for (const name of names) {
    view.setUint32(at, name.length, true);
    bytes.set(name, at + 4);
    at += 4 + name.length;
  }
  for (let i = 0; i < count; i++, at += RECORD_BYTES) {
    view.setUint32(at, recordActors[i], true);
    view.setUint32(at + 4, lengths[i], true);
    view.setUint32(at + 8, crcs[i], true);
    view.setFloat64(at + 12, versions[i], true);
  }
  view.setUint32(4, crc32(bytes.subarray(8)), true);
  return bytes;
}

/**
 * @typedef {object} Frame
 * @property {number} start where the frame starts in the commit log
 * @property {number} end where it ends
 * @property {number} flags
 * @property {number} firstPosition
 * @property {number} dataOffset where its records start in the data file
 * @property {string[]} actors the actor names its records refer to by index
 * @property {number} count how many records it names
 * @property {number} recordsAt where its records start in the commit log (RECORD_BYTES each)
 * @property {number} dataEnd where its records end in the data file, the "\n" of the last included
 */

/** The frame at `start` in `bytes`, or `undefined` if there is no sound one there. */
function frameAt(bytes, view, start) {
  if (start + HEADER_BYTES > bytes.length || view.getUint32(start, true) !== MAGIC) return undefined;
  const bodyLength = view.getUint32(start + 8, true);
  const end = start + HEADER_BYTES + bodyLength;
  if (bodyLength < BODY_FIXED_BYTES || end > bytes.length) return undefined;
  if (crc32(bytes.subarray(start + 8, end)) !== view.getUint32(start + 4, true)) return undefined;
  const body = start + HEADER_BYTES;
  if (view.getUint8(body) !== FORMAT) return undefined;
  const actorCount = view.getUint32(body + 20, true);
  const count = view.getUint32(body + 24, true);
  const actors = new Array(actorCount);
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = body + BODY_FIXED_BYTES;
  for (let i = 0; i < actorCount; i++) {
    if (at + 4 > end) return undefined;
    const length = view.getUint32(at, true);
    if (at + 4 + length > end) return undefined;
    // The checksum matched: these are the bytes this library wrote, from well-formed strings.
    actors[i] = text.toString('utf8', at + 4, at + 4 + length);
    at += 4 + length;
  }
  if (at + count * RECORD_BYTES !== end) return undefined;
  const dataOffset = view.getFloat64(body + 12, true);
  let dataEnd = dataOffset;
  for (let i = 0; i < count; i++) dataEnd += view.getUint32(at + i * RECORD_BYTES + 4, true) + 1;
  return {
    start,
    end,
    flags: view.getUint8(body + 1),
    firstPosition: view.getFloat64(body + 4, true),
    dataOffset,
    actors,
    count,
    recordsAt: at,
    dataEnd,
  };
}

/** The magic as it is on disk: "AEF1". */
const MAGIC_BYTES = Uint8Array.of(0x41, 0x45, 0x46, 0x31);

/**
 * The sound frames of a commit log, in order. Where a frame is not sound, the
 * scan looks for the next sound one: if there is one, the stretch between is
 * `damaged` (the frames after it still count); if not, the log ends there in a
 * `torn` tail (a commit cut short by a crash, never acknowledged).
 * @param {Uint8Array} bytes the whole commit log
 * @returns {{ frames: Frame[], damaged: { from: number, to: number }[], end: number, torn: boolean }}
 *   `end`: where the last sound frame ends; `torn`: whether bytes follow it
 */
export function scanFrames(bytes) {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const frames = [];
  const damaged = [];
  let at = 0;
  while (at < bytes.length) {
    const frame = frameAt(bytes, view, at);
    if (frame) {
      frames.push(frame);
      at = frame.end;
      continue;
    }
    let next;
    for (let candidate = indexOf(bytes, at + 1); candidate !== -1; candidate = indexOf(bytes, candidate + 1)) {
      next = frameAt(bytes, view, candidate);
      if (next) break;
    }
    if (!next) break;
    damaged.push({ from: at, to: next.start });
    at = next.start;
  }
  const end = frames.length > 0 ? frames.at(-1).end : 0;
  return { frames, damaged, end, torn: at < bytes.length };
}

function indexOf(bytes, from) {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).indexOf(MAGIC_BYTES, from);
}

/**
 * Calls `visit(actor, version, length, crc)` for each record of a frame, in order.
 * @param {Uint8Array} bytes the commit log the frame was scanned from
 * @param {Frame} frame
 */
export function forEachRecord(bytes, frame, visit) {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0, at = frame.recordsAt; i < frame.count; i++, at += RECORD_BYTES) {
    visit(view.getUint32(at, true), view.getFloat64(at + 12, true), view.getUint32(at + 4, true), view.getUint32(at + 8, true));
  }
}
