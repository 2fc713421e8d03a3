// The sync journal of a synced directory store (see sync-ledger.js for what it
// holds): under sync/, a data file of JSON lines and its commit log, framed
// like the events' (frame.js, log-file.js, recovery.js), named by a generation
// number. One frame per journal commit (a group of pending saves, a syncCommit,
// the start); its records are its lines, each named with the actor and version
// of the pending event it holds ('' and 0 for the other lines), and the frame's
// "first position" field holds the events' last position once the commit is
// applied. The journal is rewritten into a new generation when it has grown
// well beyond what it holds (`compact`): the new generation's first frame holds
// the whole state, and counts once it is complete on disk; the older
// generation is removed after that.
//
// Lines:
//   {"start":{"position":P,"remotePosition":0}}     the store became synced
//   {"state":{"position":P,"remotePosition":R,"snapshotDrops":[[actorId,version,before],…]}}
//                                                    a compacted generation's first line
//   {"pending":<event>}                              a pending event, at the end of local order
//   {"rejected":{"event":<event>,"reason":"…"}}      appended to the rejected list
//   {"commit":{"position":P,"moved":[[actorId,version],…],"dropped":[[actorId,version],…],
//              "remotePosition":R?,"snapshotsBefore":O?}}
//                                                    a syncCommit: moved = pending events now
//                                                    confirmed (events' lines up to P), dropped
//                                                    = pending events removed (and the actors'
//                                                    snapshots from that version among the
//                                                    snapshot lines before offset O)
//   {"damaged":{"actorId":…,"version":…,"error":…,"rawData":"<base64>"}}
//                                                    a pending event whose line was found
//                                                    damaged, carried over by compaction

import { mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32 } from './crc32.js';
import { UNFLUSHED, encodeFrame, forEachRecord } from './frame.js';
import { LogFile, syncDirectory } from './log-file.js';
import { readLines, recover } from './recovery.js';

const NAME_DIGITS = 16;
const GENERATION_NAME = /^(\d{16})\.(jsonl|commits)$/;
const NEWLINE = 0x0a;
/** A journal is compacted once it is larger than this and than COMPACT_RATIO times what it holds. */
const COMPACT_BYTES = 1024 * 1024;
const COMPACT_RATIO = 4;

const generationName = (generation) => String(generation).padStart(NAME_DIGITS, '0');

/**
 * A journal line as its bytes, with the key its frame names it by.
 * @typedef {{ bytes: Buffer, actorId: string, version: number }} Line
 */

/** A pending event's line: `{"pending":` + its JSON + `}`. */
export function pendingLine(json, actorId, version) {
  return { bytes: Buffer.from(`{"pending":${json}}`), actorId, version };
}

/** Any other line: its object as JSON. */
export function controlLine(object) {
  return { bytes: Buffer.from(JSON.stringify(object)), actorId: '', version: 0 };
}

/** A rejected entry's line, keeping the entry's JSON text. */
export function rejectedLine(json) {
  return { bytes: Buffer.from(`{"rejected":${json}}`), actorId: '', version: 0 };
}

export class SyncJournal {
  #directory;
  #flushed;
  #generation;
  /** @type {LogFile} */
  #log;

  constructor(directory, flushed, generation, log) {
    this.#directory = directory;
    this.#flushed = flushed;
    this.#generation = generation;
    this.#log = log;
  }

  #paths(generation) {
    const base = join(this.#directory, generationName(generation));
    return [`${base}.jsonl`, `${base}.commits`];
  }

  /** The journal's size in bytes, for deciding when to compact. */
  get size() {
    return this.#log.dataEnd;
  }

  /**
   * Opens the journal under `directory`/sync, or resolves with `null` if the
   * store was never synced (no generation with a complete first frame).
   * Resolves with the journal and its commits as read (see `readCommits`).
   */
  static async open(directory, flushed) {
    const path = join(directory, 'sync');
    let names;
    try {
      names = await readdir(path);
    } catch (error) {
      if (error?.code === 'ENOENT') return null;
      throw error;
    }
    const generations = [...new Set(names.map((name) => GENERATION_NAME.exec(name)?.[1]).filter((g) => g !== undefined))]
      .map(Number)
      .sort((a, b) => b - a);
    const journal = new SyncJournal(path, flushed, 0, null);
    for (const generation of generations) {
      const log = await LogFile.open(...journal.#paths(generation), { durable: flushed });
      let read;
      try {
        read = await readCommits(log);
      } catch (error) {
        await log.close();
        throw error;
      }
      // A generation counts once its first frame (its start or state) is whole: else a crash cut its writing short.
      const first = read.commits[0];
      if (first && first.lines.some((line) => line.start || line.state)) {
        journal.#generation = generation;
        journal.#log = log;
        for (const older of generations.filter((g) => g !== generation)) await journal.#remove(older);
        return { journal, ...read };
      }
      await log.close();
      await journal.#remove(generation);
    }
    return null;
  }

  /** Starts the journal: generation 1, whose first frame is `lines` (the start). */
  static async create(directory, flushed, lines, position) {
    const path = join(directory, 'sync');
    if ((await mkdir(path, { recursive: true })) !== undefined && flushed) await syncDirectory(directory);
    const journal = new SyncJournal(path, flushed, 1, null);
    await journal.#remove(1);
    journal.#log = await LogFile.open(...journal.#paths(1), { durable: flushed });
    try {
      await journal.append(lines, position, true);
      if (flushed) await syncDirectory(path);
    } catch (error) {
      await journal.close();
      throw error;
    }
    return journal;
  }

  async #remove(generation) {
    for (const file of this.#paths(generation)) await rm(file, { force: true });
  }

  /**
   * Appends one journal commit: `lines` and their frame, naming `position`.
   * Written as the event log's commits are (log-file.js): all or nothing across a crash.
   * @param {Line[]} lines
   */
  async append(lines, position, flush = this.#flushed) {
    const log = this.#log;
    const total = lines.reduce((sum, line) => sum + line.bytes.length + 1, 0);
    const data = Buffer.allocUnsafe(total);
    const actors = [...new Set(lines.map((line) => line.actorId))];
    const numberOf = new Map(actors.map((actorId, i) => [actorId, i]));
    const lengths = new Uint32Array(lines.length);
    const crcs = new Uint32Array(lines.length);
    let at = 0;
    lines.forEach((line, i) => {
      data.set(line.bytes, at);
      data[at + line.bytes.length] = NEWLINE;
      lengths[i] = line.bytes.length;
      crcs[i] = crc32(line.bytes);
      at += line.bytes.length + 1;
    });
    const frame = encodeFrame({
      flags: flush ? 0 : UNFLUSHED,
      firstPosition: position,
      dataOffset: log.dataEnd,
      actors,
      recordActors: lines.map((line) => numberOf.get(line.actorId)),
      versions: lines.map((line) => line.version),
      lengths,
      crcs,
    });
    await log.append(data, frame, flush);
  }

  /** Cuts the journal back to before a commit read at open (`frameStart`, `dataOffset`). */
  truncate(commit) {
    return this.#log.truncate(commit.dataOffset, commit.frameStart);
  }

  /** Whether the journal has grown enough beyond `liveBytes` (what a compacted one would hold) to be compacted. */
  wantsCompaction(liveBytes) {
    return this.#log.dataEnd > COMPACT_BYTES && this.#log.dataEnd > COMPACT_RATIO * liveBytes;
  }

  /**
   * Rewrites the journal as a new generation whose first frame is `lines` (the
   * whole state), flushed, then removes the old generation. A crash before the
   * new frame is whole leaves the old generation in use.
   */
  async compact(lines, position) {
    const generation = this.#generation + 1;
    await this.#remove(generation);
    const log = await LogFile.open(...this.#paths(generation), { durable: this.#flushed });
    const next = new SyncJournal(this.#directory, this.#flushed, generation, log);
    try {
      await next.append(lines, position, true);
      await syncDirectory(this.#directory);
    } catch (error) {
      await log.close();
      await this.#remove(generation).catch(() => {});
      throw error;
    }
    const old = this.#log;
    const oldGeneration = this.#generation;
    this.#log = log;
    this.#generation = generation;
    await old.close();
    await this.#remove(oldGeneration);
    if (this.#flushed) await syncDirectory(this.#directory);
  }

  /** Flushes what was written without a flush, and marks it flushed (see EventLog.flush). */
  async flush() {
    const log = this.#log;
    if (!log?.unflushed) return;
    await log.flush();
    const frame = encodeFrame({ flags: 0, firstPosition: 0, dataOffset: log.dataEnd, actors: [], recordActors: [], versions: [], lengths: [], crcs: [] });
    await log.append(Buffer.alloc(0), frame, true);
  }

  close() {
    return this.#log?.close();
  }
}

/**
 * Reads a generation (recovering it: recovery.js) into its commits, in order:
 * `{ position, frameStart, dataOffset, lines }`, each line parsed (`parseLine`).
 * Lines whose frames were damaged are rebuilt from the data file as one commit
 * per stretch (`rebuilt: true`, position as their commit line says, or 0);
 * a line that does not match its frame's checksum is `{ damaged }`.
 */
async function readCommits(log) {
  const { commits: bytes, frames } = await recover(log, true);
  const data = Buffer.allocUnsafe(log.dataEnd);
  const read = await log.read(data, 0, data.length, 0);
  const commits = [];
  let dataEnd = 0;
  const rebuild = async (from, to) => {
    if (to <= from) return;
    const lines = (await readLines(log, from, to)).filter((line) => line.bytes.length > 0).map((line) => parseLine(line.bytes, undefined));
    const position = Math.max(0, ...lines.map((line) => line.commit?.position ?? line.state?.position ?? line.start?.position ?? 0));
    commits.push({ position, frameStart: -1, dataOffset: from, lines, rebuilt: true });
  };
  for (const frame of frames) {
    if (frame.count === 0 && frame.dataOffset === frame.dataEnd && frame.firstPosition === 0) {
      dataEnd = Math.max(dataEnd, frame.dataEnd);
      continue; // a flush mark
    }
    if (frame.dataOffset > dataEnd) await rebuild(dataEnd, frame.dataOffset);
    const lines = [];
    let offset = frame.dataOffset;
    forEachRecord(bytes, frame, (actor, version, length, crc) => {
      const actorId = frame.actors[actor] ?? '';
      const line = data.subarray(offset, Math.min(offset + length, read));
      if (line.length < length || crc32(line) !== crc) {
        lines.push({
          damaged: {
            actorId,
            version,
            rawData: new Uint8Array(line),
            error: line.length < length ? 'the sync journal line is cut short' : 'the sync journal line does not match its checksum: it was damaged after it was written',
          },
        });
      } else {
        lines.push(parseLine(line, { actorId, version }));
      }
      offset += length + 1;
    });
    commits.push({ position: frame.firstPosition, frameStart: frame.start, dataOffset: frame.dataOffset, lines });
    dataEnd = frame.dataEnd;
  }
  // Past the last frame there is nothing: recovery cut off what a crash left there.
  return { commits };
}

/**
 * A journal line parsed: `{ pending: { json, actorId, version, id } }`,
 * `{ rejected: json }`, `{ commit }`, `{ start }`, `{ state }`, `{ damaged }`,
 * or `{ damaged }` when it is none of these. `key`: the actor and version its
 * frame names it by (none for a rebuilt line). Pending events are checked by
 * the caller with the core.
 */
export function parseLine(bytes, key) {
  const text = bytes.toString('utf8');
  const unreadable = (error) => ({
    damaged: { actorId: key?.actorId ?? '', version: key?.version ?? 0, rawData: new Uint8Array(bytes), error },
  });
  let value;
  try {
    value = JSON.parse(text);
  } catch {
    return unreadable('the sync journal line is not JSON');
  }
  if (typeof value !== 'object' || value === null) return unreadable('the sync journal line is not an object');
  if ('pending' in value) {
    const event = value.pending;
    const json = text.startsWith('{"pending":') && text.endsWith('}') ? text.slice(11, -1) : JSON.stringify(event);
    const actorId = key ? key.actorId : event?.actorId;
    const version = key ? key.version : event?.version;
    if (typeof actorId !== 'string' || !Number.isSafeInteger(version) || typeof event?.id !== 'string') {
      return unreadable('the sync journal line is not a pending event');
    }
    return { pending: { json, actorId, version, id: event.id } };
  }
  if ('rejected' in value) {
    const json = text.startsWith('{"rejected":') && text.endsWith('}') ? text.slice(12, -1) : JSON.stringify(value.rejected);
    return { rejected: json };
  }
  if (isObject(value.commit)) return { commit: value.commit };
  if (isObject(value.start)) return { start: value.start };
  if (isObject(value.state)) return { state: value.state };
  if (isObject(value.damaged)) {
    const { actorId, version, error, rawData } = value.damaged;
    return { damaged: { actorId: String(actorId ?? ''), version: Number(version) || 0, error: String(error), rawData: new Uint8Array(Buffer.from(String(rawData ?? ''), 'base64')) } };
  }
  return unreadable('the sync journal line is of no known kind');
}

const isObject = (value) => typeof value === 'object' && value !== null && !Array.isArray(value);
