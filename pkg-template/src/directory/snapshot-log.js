// The snapshots of a directory store: snapshots.jsonl (one snapshot's JSON per
// line, as getLatestSnapshot returns it) and its commit log, framed like the
// events' (frame.js), one commit per saved snapshot. A snapshot saved again at
// the same version is appended; the later line is the one read.

import { join } from 'node:path';
import { crc32 } from './crc32.js';
import { UNFLUSHED, encodeFrame, forEachRecord } from './frame.js';
import { LogFile } from './log-file.js';
import { readLines, recover } from './recovery.js';

/** The actor and version a line says it holds, for snapshots rebuilt after damage to their frames. */
function lineKey(bytes) {
  try {
    const { actorId, version } = JSON.parse(bytes.toString('utf8'));
    if (typeof actorId === 'string' && Number.isSafeInteger(version)) return { actorId, version };
  } catch {
    // not a snapshot: left out
  }
  return undefined;
}

export class SnapshotLog {
  /** @type {LogFile} */
  #log;
  /** @type {Map<string, { version: number, offset: number, length: number, crc: number }[]>} each actor's, ascending by version */
  #byActor = new Map();

  /** Opens (creating) the snapshot files under `directory`, recovering them (recovery.js). */
  static async open(directory, flushed) {
    const snapshots = new SnapshotLog();
    const log = await LogFile.open(join(directory, 'snapshots.jsonl'), join(directory, 'snapshots.commits'), { durable: flushed, syncCreated: flushed });
    snapshots.#log = log;
    try {
      const { commits, frames } = await recover(log, true);
      let dataEnd = 0;
      for (const frame of frames) {
        if (frame.dataOffset > dataEnd) {
          // Frames before this one are damaged: their snapshots are the lines in between.
          for (const line of await readLines(log, dataEnd, frame.dataOffset)) {
            const key = lineKey(line.bytes);
            if (!key) continue;
            snapshots.#put(key.actorId, key.version, line.offset, line.bytes.length, crc32(line.bytes));
          }
        }
        let offset = frame.dataOffset;
        forEachRecord(commits, frame, (actor, version, length, crc) => {
          const actorId = frame.actors[actor];
          if (actorId !== undefined) snapshots.#put(actorId, version, offset, length, crc);
          offset += length + 1;
        });
        dataEnd = frame.dataEnd;
      }
    } catch (error) {
      await log.close();
      throw error;
    }
    return snapshots;
  }

  #put(actorId, version, offset, length, crc) {
    let list = this.#byActor.get(actorId);
    if (!list) {
      list = [];
      this.#byActor.set(actorId, list);
    }
    const entry = { version, offset, length, crc };
    let at = list.length;
    while (at > 0 && list[at - 1].version > version) at--;
    if (at > 0 && list[at - 1].version === version) list[at - 1] = entry;
    else list.splice(at, 0, entry);
  }

  /**
   * Appends one snapshot (its canonical JSON) as a commit.
   * @param {{ json: string, actorId: string, version: number }} snapshot
   */
  async append({ json, actorId, version }, flush) {
    const line = Buffer.from(`${json}\n`);
    const length = line.length - 1;
    const crc = crc32(line.subarray(0, length));
    const offset = this.#log.dataEnd;
    const frame = encodeFrame({
      flags: flush ? 0 : UNFLUSHED,
      firstPosition: 0,
      dataOffset: offset,
      actors: [actorId],
      recordActors: [0],
      versions: [version],
      lengths: [length],
      crcs: [crc],
    });
    await this.#log.append(line, frame, flush);
    this.#put(actorId, version, offset, length, crc);
  }

  /** Where the next snapshot's line goes: a syncCommit's snapshot drops name the lines before it. */
  get dataEnd() {
    return this.#log.dataEnd;
  }

  /**
   * Leaves out the actor's snapshots from `fromVersion` on whose lines are
   * before `before` (a syncCommit dropped the pending events they were taken over).
   */
  drop(actorId, fromVersion, before) {
    const list = this.#byActor.get(actorId);
    if (!list) return;
    const kept = list.filter((entry) => entry.version < fromVersion || entry.offset >= before);
    if (kept.length > 0) this.#byActor.set(actorId, kept);
    else this.#byActor.delete(actorId);
  }

  /**
   * The actor's stored snapshots, highest version first, as their bytes and
   * whether they match their checksum; read one at a time, as the caller asks.
   */
  async *stored(actorId) {
    const list = this.#byActor.get(actorId) ?? [];
    for (let i = list.length - 1; i >= 0; i--) {
      const { version, offset, length, crc } = list[i];
      const bytes = Buffer.allocUnsafe(length);
      const read = await this.#log.read(bytes, 0, length, offset);
      yield { version, bytes: bytes.subarray(0, read), sound: read === length && crc32(bytes) === crc };
    }
  }

  /** Flushes what was written without a flush, and marks it flushed (see EventLog.flush). */
  async flush() {
    if (!this.#log.unflushed) return;
    await this.#log.flush();
    const frame = encodeFrame({ flags: 0, firstPosition: 0, dataOffset: this.#log.dataEnd, actors: [], recordActors: [], versions: [], lengths: [], crcs: [] });
    await this.#log.append(Buffer.alloc(0), frame, true);
  }

  close() {
    return this.#log.close();
  }
}
