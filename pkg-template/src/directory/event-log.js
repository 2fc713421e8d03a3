// The events of a directory store: segment files under events/, each a data
// file of event lines (JSON Lines, as exportEvents writes them) and its commit
// log, named by the position of its first event. This module opens them into
// the in-memory index, appends commits, and reads records back as bytes.

import { mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32 } from './crc32.js';
import { EventIndex } from './event-index.js';
import { SYNCED, UNFLUSHED, encodeFrame, forEachRecord } from './frame.js';
import { LogFile, syncDirectory } from './log-file.js';
import { readLines, recover } from './recovery.js';

/** A new segment starts once the current one's data file reaches this size. */
export const SEGMENT_BYTES = 64 * 1024 * 1024;
/** Records this close together in a file are read with one read. */
const COALESCE_GAP_BYTES = 16 * 1024;
const NAME_DIGITS = 16;
const SEGMENT_NAME = /^(\d{16})\.(jsonl|commits)$/;
const NEWLINE = 0x0a;

const segmentName = (firstPosition) => String(firstPosition).padStart(NAME_DIGITS, '0');

/** What a commit's records were rebuilt from when their frames were damaged: the actor and version of each line, if it says. */
function lineKey(bytes) {
  try {
    const { actorId, version } = JSON.parse(bytes.toString('utf8'));
    if (typeof actorId === 'string' && actorId !== '' && Number.isSafeInteger(version) && version >= 1) return { actorId, version };
  } catch {
    // not an event: kept under no actor
  }
  return { actorId: '', version: 0 };
}

export class EventLog {
  /** @type {{ first: number, log: LogFile }[]} in position order; appends go to the last */
  #segments = [];
  #directory;
  #flushed;
  index = new EventIndex();
  /** Whether the last segment's data file is shorter than its frames say. */
  #damagedTail = false;
  /** The last segment's frames read at open, for cutSyncedTail: `{ flags, firstPosition, count, start, dataOffset }`. */
  #tailFrames = [];

  constructor(directory, flushed) {
    this.#directory = directory;
    this.#flushed = flushed;
  }

  /**
   * Opens the events under `directory`/events, recovering them (recovery.js).
   * @param {string} directory
   * @param {boolean} flushed durability 'strict': new files' directory entries are flushed too
   */
  static async open(directory, flushed) {
    const events = new EventLog(join(directory, 'events'), flushed);
    if ((await mkdir(events.#directory, { recursive: true })) !== undefined && flushed) await syncDirectory(directory);
    const firsts = [
      ...new Set(
        (await readdir(events.#directory))
          .map((name) => SEGMENT_NAME.exec(name)?.[1])
          .filter((first) => first !== undefined && Number(first) >= 1),
      ),
    ].sort();
    try {
      for (const [i, first] of firsts.entries()) {
        await events.#openSegment(Number(first), firsts[i + 1] === undefined ? undefined : Number(firsts[i + 1]));
      }
      // Never append after damage: past a data file cut short, appends go to a new one.
      if (events.#segments.length === 0 || events.#damagedTail) await events.#startSegment();
    } catch (error) {
      await events.close();
      throw error;
    }
    return events;
  }

  #paths(first) {
    const base = join(this.#directory, segmentName(first));
    return [`${base}.jsonl`, `${base}.commits`];
  }

  /**
   * Opens a segment into the index. Each frame's records take the positions it
   * names; positions that no sound frame names (damaged frames) are rebuilt
   * from the data lines between the frames around them, or left empty.
   * @param {number} first the segment's first position
   * @param {number | undefined} next the next segment's, if this is not the last
   */
  async #openSegment(first, next) {
    const log = await LogFile.open(...this.#paths(first), { durable: this.#flushed });
    this.#segments.push({ first, log });
    const index = this.index;
    const { commits, frames, dataSize, short } = await recover(log, next === undefined);
    index.reserve(frames.reduce((sum, frame) => sum + frame.count, 0));
    this.#damagedTail = short;
    this.#tailFrames = frames.map(({ flags, firstPosition, count, start, dataOffset }) => ({ flags, firstPosition, count, start, dataOffset }));
    await this.#rebuild(log, first, 0, 0);
    let dataEnd = 0;
    for (const frame of frames) {
      await this.#rebuild(log, frame.firstPosition, dataEnd, frame.dataOffset);
      if (frame.firstPosition !== index.count + 1) continue; // overlaps what came before: not written by this store
      index.reserve(frame.count);
      const numbers = frame.actors.map((actorId) => index.actorNumber(actorId));
      let offset = frame.dataOffset;
      forEachRecord(commits, frame, (actor, version, length, crc) => {
        index.add(numbers[actor] ?? 0, version, offset, length, crc);
        offset += length + 1;
      });
      dataEnd = frame.dataEnd;
    }
    if (next !== undefined) await this.#rebuild(log, next, dataEnd, dataSize);
  }

  /**
   * Gives the positions before `upTo` that no frame named records rebuilt from
   * the lines of the data file between `dataFrom` and `dataTo`: actor and version
   * as each line says (checked like any record when read), or empty records.
   */
  async #rebuild(log, upTo, dataFrom, dataTo) {
    const index = this.index;
    const wanted = upTo - (index.count + 1);
    if (wanted <= 0) return;
    const lines = dataTo > dataFrom ? await readLines(log, dataFrom, dataTo) : [];
    index.reserve(wanted);
    for (let k = 0; k < wanted; k++) {
      const line = lines[k];
      if (!line) {
        index.add(0, 0, dataTo, 0, 0);
        continue;
      }
      // Lines beyond the positions available join the last record, which then fails its checks.
      const end = k === wanted - 1 && lines.length > wanted ? dataTo : line.offset + line.bytes.length;
      const { actorId, version } = lineKey(line.bytes);
      index.add(index.actorNumber(actorId), version, line.offset, end - line.offset, crc32(line.bytes));
    }
  }

  /** Starts a new segment at the next position. */
  async #startSegment() {
    const current = this.#segments.at(-1)?.log;
    if (current?.unflushed) await current.flush();
    const first = this.index.count + 1;
    const log = await LogFile.open(...this.#paths(first), { durable: this.#flushed });
    if (this.#flushed) await syncDirectory(this.#directory);
    this.#segments.push({ first, log });
  }

  /** The segment holding record `index` (position `index + 1`). */
  #segmentOf(index) {
    const segments = this.#segments;
    let low = 0;
    let high = segments.length - 1;
    while (low < high) {
      const middle = (low + high + 1) >> 1;
      if (segments[middle].first <= index + 1) low = middle;
      else high = middle - 1;
    }
    return segments[low];
  }

  /**
   * Appends one commit: the events of `saves` (each the core's prepared events),
   * in order, as consecutive records. Resolves with the position of the first.
   * @param {{ actorIds: string[], versions: number[], utf8: Uint8Array, ends: Uint32Array }[]} saves
   * @param {boolean} flush
   */
  async append(saves, flush) {
    const written = await this.write(saves, flush, 0);
    written.apply();
    return written.firstPosition;
  }

  /**
   * Writes one commit as `append` does, but leaves the index as it is until
   * `apply()` is called (a syncCommit applies it once its journal frame is
   * written too), or the commit is cut off again with `undo(written)`.
   * Nothing else may be written in between.
   * @param {number} flags more frame flags (SYNCED)
   * @returns {Promise<{ firstPosition: number, count: number, apply: () => void }>}
   */
  async write(saves, flush, flags) {
    if (this.#segments.at(-1).log.dataEnd >= SEGMENT_BYTES) await this.#startSegment();
    const { log } = this.#segments.at(-1);
    let total = 0;
    let count = 0;
    for (const save of saves) {
      total += save.utf8.length + 1;
      count += save.ends.length;
    }
    // The core gives each save's events comma-separated: the commas between events become newlines.
    const data = Buffer.allocUnsafe(total);
    const actorIds = new Array(count);
    const versions = new Float64Array(count);
    const starts = new Float64Array(count);
    const lengths = new Uint32Array(count);
    const crcs = new Uint32Array(count);
    let at = 0;
    let record = 0;
    for (const save of saves) {
      data.set(save.utf8, at);
      let start = 0;
      for (let i = 0; i < save.ends.length; i++, record++) {
        const end = save.ends[i];
        data[at + end] = NEWLINE;
        actorIds[record] = save.actorIds[i];
        versions[record] = save.versions[i];
        starts[record] = at + start;
        lengths[record] = end - start;
        crcs[record] = crc32(data.subarray(at + start, at + end));
        start = end + 1;
      }
      at += save.utf8.length + 1;
    }
    const names = [...new Set(actorIds)];
    const numberOf = new Map(names.map((name, i) => [name, i]));
    const dataOffset = log.dataEnd;
    const firstPosition = this.index.count + 1;
    const frame = encodeFrame({
      flags: (flush ? 0 : UNFLUSHED) | flags,
      firstPosition,
      dataOffset,
      actors: names,
      recordActors: actorIds.map((actorId) => numberOf.get(actorId)),
      versions,
      lengths,
      crcs,
    });
    const commitsStart = log.commitsEnd;
    await log.append(data, frame, flush);
    const apply = () => {
      const index = this.index;
      index.reserve(count);
      for (let i = 0; i < count; i++) index.add(index.actorNumber(actorIds[i]), versions[i], dataOffset + starts[i], lengths[i], crcs[i]);
    };
    return { firstPosition, count, apply, log, dataOffset, commitsStart };
  }

  /** Cuts off a commit that `write` wrote and that was not applied (its files are where it left them). */
  async undo({ log, dataOffset, commitsStart }) {
    try {
      await log.truncate(dataOffset, commitsStart);
    } catch (error) {
      throw Object.assign(new Error(`cutting off a commit failed (${error?.message ?? error})`, { cause: error }), { broken: true });
    }
  }

  /**
   * At open: cuts off the syncCommits (frames flagged SYNCED) at the end of the
   * last segment whose positions are above `position`, the last position that
   * the sync journal names: a crash came between their frame and the journal's,
   * so they were never acknowledged. Returns how many events were cut off.
   */
  async cutSyncedTail(position) {
    const frames = this.#tailFrames;
    const { log, first } = this.#segments.at(-1);
    let keep = frames.length;
    while (keep > 0 && frames[keep - 1].flags & SYNCED && frames[keep - 1].firstPosition > position) keep--;
    if (keep === frames.length) return 0;
    const cut = frames[keep];
    // Only frames that are the exact end of the index: anything else was not written by a syncCommit.
    const end = frames.at(-1).firstPosition + frames.at(-1).count - 1;
    if (end !== this.index.count || cut.firstPosition < first) return 0;
    await log.truncate(cut.dataOffset, cut.start);
    const removed = this.index.count - (cut.firstPosition - 1);
    this.index.truncate(cut.firstPosition - 1);
    this.#tailFrames = frames.slice(0, keep);
    return removed;
  }

  /**
   * The stored bytes of records (indices ascending), each cut short where its
   * file is. Records close together in a file are read at once.
   * @param {ArrayLike<number>} indices
   * @returns {Promise<Buffer[]>}
   */
  async read(indices) {
    const { offset, length } = this.index;
    const out = new Array(indices.length);
    const reads = [];
    for (let i = 0; i < indices.length; ) {
      const segment = this.#segmentOf(indices[i]);
      const limit = this.#segments[this.#segments.indexOf(segment) + 1]?.first ?? Infinity;
      const from = offset[indices[i]];
      let to = from + length[indices[i]];
      let j = i + 1;
      while (j < indices.length && indices[j] + 1 < limit && offset[indices[j]] - to <= COALESCE_GAP_BYTES && offset[indices[j]] >= to) {
        to = offset[indices[j]] + length[indices[j]];
        j++;
      }
      const first = i;
      reads.push(
        (async () => {
          const bytes = Buffer.allocUnsafe(to - from);
          const read = await segment.log.read(bytes, 0, bytes.length, from);
          for (let k = first; k < j; k++) {
            const start = offset[indices[k]] - from;
            out[k] = bytes.subarray(start, Math.min(start + length[indices[k]], read));
          }
        })(),
      );
      i = j;
    }
    await Promise.all(reads);
    return out;
  }

  /** Flushes what was written without a flush, and marks the logs flushed so that the next open need not check them. */
  async flush() {
    const { log } = this.#segments.at(-1) ?? {};
    if (!log?.unflushed) return;
    await log.flush();
    await log.append(Buffer.alloc(0), emptyFrame(log.dataEnd, this.index.count + 1), true);
  }

  async close() {
    await Promise.allSettled(this.#segments.map(({ log }) => log.close()));
  }
}

/** A frame of no records: written flushed after flushing unflushed ones, it says that they are all on disk. */
const emptyFrame = (dataOffset, firstPosition) =>
  encodeFrame({ flags: 0, firstPosition, dataOffset, actors: [], recordActors: [], versions: [], lengths: [], crcs: [] });
