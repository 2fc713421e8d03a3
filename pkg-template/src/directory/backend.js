// The directory backend: a durable store in files, for Node.js, with no server
// (see docs/directory-store.md for the format). Like the IndexedDB backend, it
// lets the Rust core do the work that matters: events are prepared by the core,
// each group commit admits its saves with the core's VersionLedger against the
// in-memory index (this process is the directory's only writer: lock.js),
// refused saves that retry stored events are found by the core's storedRetry,
// and every record read back is checked by the core (checkEventRecords,
// checkSnapshotRecord) after its checksum, never trusted.
//
// Invariants:
// - A commit is one frame in a commit log, written after its records and, in
//   'strict' durability, flushed after them: a save resolves only once both are
//   on disk; saves queued while a commit is written share the next one.
// - The in-memory index changes only after a commit is written, so reads,
//   readAll and notifications see committed events only, in commit order.
// - onCommitted is called once per commit, after its saves resolve, never for a retry.

import { mkdir } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import {
  VersionLedger,
  checkEventRecords,
  checkSnapshotRecord,
  checkSnapshotVersion,
  prepareEvent,
  prepareEvents,
  prepareSnapshot,
  storedRetry,
} from '#wasm';
import { ValidationError, storageError } from '../errors.js';
import { checkRecords, concatenate, unwrapEvents, unwrapSnapshot } from '../records.js';
import { crc32 } from './crc32.js';
import { EventLog } from './event-log.js';
import { DirectoryLock } from './lock.js';
import { syncDirectory } from './log-file.js';
import { SnapshotLog } from './snapshot-log.js';
import { GroupCommit } from '../group-commit.js';

const DURABILITIES = ['strict', 'relaxed'];
const decoder = new TextDecoder();

/** Checks `openDirectory`'s arguments; returns the directory's absolute path and whether saves are flushed. */
function checkArguments(directory, options) {
  if (typeof directory !== 'string' || directory === '') {
    throw new ValidationError('directory must be a non-empty string (a path)', { field: 'directory' });
  }
  if (options !== undefined && options !== null && (typeof options !== 'object' || Array.isArray(options))) {
    throw new ValidationError('options must be an object', { field: 'options' });
  }
  const durability = options?.durability ?? 'strict';
  if (!DURABILITIES.includes(durability)) {
    throw new ValidationError(`durability must be 'strict' or 'relaxed', not ${JSON.stringify(durability) ?? String(durability)}`, {
      field: 'durability',
    });
  }
  return { path: resolve(directory), flush: durability === 'strict' };
}

/** Creates the directory if missing; when strict, flushes the entry of what was created. */
async function makeDirectory(path, flush) {
  const created = await mkdir(path, { recursive: true });
  if (created !== undefined && flush) await syncDirectory(dirname(created));
}

export class DirectoryBackend {
  #path;
  #flush;
  /** @type {DirectoryLock} */
  #lock;
  /** @type {EventLog} */
  #events;
  /** @type {SnapshotLog} */
  #snapshots;
  /** The snapshot saves, one after another. */
  #snapshotWriting = Promise.resolve();
  /** Saves waiting for, and being written in, one commit together. */
  #group = new GroupCommit(
    (group) => this.#commit(group),
    (error) => storageError(`saving to directory "${this.#path}" failed`, error),
  );
  /** Reads in progress, which close() waits for. */
  #reads = new Set();
  /** Set when a failed write could not be undone: saves are refused until the directory is opened again. */
  #broken = null;
  /** Set by the feed while anyone listens: called with each commit's `{ position, event }` entries as JSON. */
  onCommitted = null;
  /** This process is the only writer: its notices are every commit, in order. */
  orderedNotices = true;

  constructor(path, flush, lock, events, snapshots) {
    this.#path = path;
    this.#flush = flush;
    this.#lock = lock;
    this.#events = events;
    this.#snapshots = snapshots;
  }

  /**
   * Opens the store in `directory` (created if missing), taking its lock and
   * recovering what a crash left.
   * @param {string} directory
   * @param {{ durability?: 'strict' | 'relaxed' }} [options]
   */
  static async open(directory, options) {
    const { path, flush } = checkArguments(directory, options);
    let lock;
    try {
      await makeDirectory(path, flush);
      lock = await DirectoryLock.acquire(path);
    } catch (error) {
      throw storageError(`cannot open directory "${path}"`, error);
    }
    let events;
    try {
      events = await EventLog.open(path, flush);
      const snapshots = await SnapshotLog.open(path, flush);
      return new DirectoryBackend(path, flush, lock, events, snapshots);
    } catch (error) {
      await events?.close();
      lock.release();
      throw storageError(`cannot open the store in directory "${path}"`, error);
    }
  }

  saveEvent(json) {
    return this.#enqueue(unwrapEvents(prepareEvent(json)), false);
  }

  saveEvents(json) {
    return this.#enqueue(unwrapEvents(prepareEvents(json)), true);
  }

  /** Queues one whole save for the next group commit; resolves with `{ stored, retried }`. */
  #enqueue(events, batch) {
    return this.#group.add({ events, batch });
  }

  /**
   * Commits every save queued so far: the core's version rule admits or refuses
   * each, in queue order, against the actors' latest versions; the admitted ones
   * are written as one commit. Then refused saves that retry stored events
   * resolve with them, the others reject with their conflict.
   */
  async #commit(group) {
    const index = this.#events.index;
    const admitted = [];
    const ledger = new VersionLedger();
    try {
      for (const actorId of new Set(group.flatMap((save) => save.events.actorIds))) ledger.observe(actorId, index.latest(actorId));
      for (const save of group) {
        try {
          ledger.admit(save.events.actorIds, save.events.versions);
          admitted.push(save);
        } catch (conflict) {
          save.conflict = conflict;
        }
      }
    } finally {
      ledger.free();
    }
    let firstPosition = 0;
    if (admitted.length > 0) {
      try {
        this.#checkWritable();
        firstPosition = await this.#events.append(
          admitted.map((save) => save.events),
          this.#flush,
        );
      } catch (error) {
        if (error?.broken) this.#broken = error;
        const failure = storageError(`saving to directory "${this.#path}" failed; nothing of it was stored${error?.broken ? ' (open the directory again to save more)' : ''}`, error);
        for (const save of admitted) save.reject(failure);
        admitted.length = 0;
      }
    }
    // After the commit, so that a retry of a save of this very group is found too.
    for (const save of group) {
      if (save.conflict) await this.#findRetry(save).catch(() => {});
    }
    for (const save of admitted) save.resolve({ stored: storedJson(save), retried: false });
    for (const save of group) {
      if (save.retried !== undefined) save.resolve({ stored: save.retried, retried: true });
      else if (save.conflict) save.reject(save.conflict);
    }
    if (admitted.length > 0 && this.onCommitted) this.onCommitted(recordedJson(admitted, firstPosition));
  }

  /** Throws if an earlier write failed in a way that could not be undone. */
  #checkWritable() {
    if (this.#broken) {
      throw storageError('an earlier write failed and could not be undone: nothing more is saved until the directory is opened again', this.#broken);
    }
  }

  /** Whether a refused save retries stored events: if so, it resolves with them instead. */
  async #findRetry(save) {
    const { actorIds, versions, ids } = save.events;
    const index = this.#events.index;
    const found = actorIds.map((actorId, i) => index.find(actorId, versions[i]));
    const chunks = await this.#read(found.filter((i) => i !== -1));
    let next = 0;
    const bodies = found.map((i) => {
      if (i === -1) return new Uint8Array(0);
      const bytes = chunks[next++];
      return bytes.length === index.length[i] && crc32(bytes) === index.crc[i] ? bytes : new Uint8Array(0);
    });
    const { utf8, ends } = concatenate(bodies);
    const stored = storedRetry(utf8, ends, actorIds, versions, ids, save.batch);
    if (stored !== undefined) {
      save.retried = stored;
      save.conflict = undefined;
    }
  }

  /** Reads records' bytes (event-log.js), tracked so that close() waits for it. */
  async #read(indices) {
    const reading = this.#events.read(indices);
    this.#reads.add(reading);
    try {
      return await reading;
    } catch (error) {
      throw storageError(`reading directory "${this.#path}" failed`, error);
    } finally {
      this.#reads.delete(reading);
    }
  }

  /**
   * Reads and checks records: first against their checksums, then the sound
   * ones by the core (`check(utf8, ends, sound)`). Returns the core's events JSON
   * and the records that failed, as ReplayErrors, in position order.
   */
  async #readChecked(indices, check) {
    const index = this.#events.index;
    const chunks = await this.#read(indices);
    const sound = [];
    const errors = [];
    const fail = (k, error) => errors.push({ sequenceNumber: indices[k] + 1, rawData: new Uint8Array(chunks[k]), error });
    for (let k = 0; k < indices.length; k++) {
      const i = indices[k];
      const bytes = chunks[k];
      if (bytes.length < index.length[i]) {
        fail(k, `the record is cut short: ${bytes.length} of its ${index.length[i]} bytes are in the events file`);
      } else if (crc32(bytes) !== index.crc[i]) {
        fail(k, 'the record does not match its checksum in the commit log: it was damaged after it was written');
      } else {
        sound.push(k);
      }
    }
    const { events, failed, errors: problems } = checkRecords(
      sound.map((k) => chunks[k]),
      (utf8, ends) => check(utf8, ends, sound.map((k) => indices[k])),
    );
    failed.forEach((f, n) => fail(sound[f], problems[n]));
    errors.sort((a, b) => a.sequenceNumber - b.sequenceNumber);
    return { events, errors };
  }

  #readEvents(actorId, fromVersion) {
    const index = this.#events.index;
    return this.#readChecked(index.recordsOf(actorId, fromVersion), (utf8, ends, records) =>
      checkEventRecords(utf8, ends, [actorId], Float64Array.from(records, (i) => index.version[i]), undefined),
    );
  }

  async getEvents(actorId, fromVersion) {
    return (await this.#readEvents(actorId, fromVersion)).events;
  }

  getEventsWithErrors(actorId, fromVersion) {
    return this.#readEvents(actorId, fromVersion);
  }

  getLatestVersion(actorId) {
    return this.#events.index.latest(actorId);
  }

  /** At most `limit` sound events with `position > after`, as `{ position, event }` entries; damaged records are left out. */
  async readAll(after, limit) {
    const index = this.#events.index;
    const parts = [];
    let from = after; // the index of position after + 1
    let wanted = limit;
    while (from < index.count) {
      const to = Math.min(index.count, from + wanted);
      const indices = Array.from({ length: to - from }, (_, k) => from + k);
      const { events, errors } = await this.#readChecked(indices, (utf8, ends, records) =>
        checkEventRecords(
          utf8,
          ends,
          records.map((i) => index.actorIds[index.actor[i]]),
          Float64Array.from(records, (i) => index.version[i]),
          Float64Array.from(records, (i) => i + 1),
        ),
      );
      if (events !== '[]') parts.push(events.slice(1, -1));
      if (errors.length === 0) break;
      // Records that cannot be decoded are left out: read on until `limit` sound ones, or the end.
      from = to;
      wanted = errors.length;
    }
    return `[${parts.join(',')}]`;
  }

  lastPosition() {
    return this.#events.index.count;
  }

  /** Stores a snapshot once no earlier snapshot save is pending, checking that the actor's events reached its version. */
  saveSnapshot(json) {
    const snapshot = unwrapSnapshot(prepareSnapshot(json));
    const saving = this.#snapshotWriting.then(async () => {
      checkSnapshotVersion(snapshot.version, this.#events.index.latest(snapshot.actorId));
      try {
        this.#checkWritable();
        await this.#snapshots.append(snapshot, this.#flush);
      } catch (error) {
        if (error?.broken) this.#broken = error;
        throw storageError(`saving a snapshot to directory "${this.#path}" failed`, error);
      }
      return snapshot.json;
    });
    this.#snapshotWriting = saving.catch(() => {});
    return saving;
  }

  /** The highest-version snapshot that is sound; a damaged one is passed over for the one before it. */
  async getLatestSnapshot(actorId) {
    try {
      for await (const { version, bytes, sound } of this.#snapshots.stored(actorId)) {
        if (!sound || checkSnapshotRecord(bytes) !== undefined) continue;
        const json = decoder.decode(bytes);
        const stored = JSON.parse(json);
        if (stored.actorId === actorId && stored.version === version) return json;
      }
    } catch (error) {
      throw storageError(`reading directory "${this.#path}" failed`, error);
    }
    return undefined;
  }

  /** Waits for queued saves and reads; in 'relaxed' durability flushes the files; then closes them and releases the lock. */
  async close() {
    await this.#group.settled();
    await this.#snapshotWriting;
    await Promise.allSettled([...this.#reads]);
    try {
      if (!this.#flush && !this.#broken) {
        await this.#events.flush();
        await this.#snapshots.flush();
      }
    } catch (error) {
      throw storageError(`flushing directory "${this.#path}" at close failed`, error);
    } finally {
      await this.#events.close();
      await this.#snapshots.close();
      this.#lock.release();
    }
  }
}

/** What a save resolves with: its event, or its events as a JSON array. */
function storedJson(save) {
  const json = decoder.decode(save.events.utf8);
  return save.batch ? `[${json}]` : json;
}

/** A commit's events as JSON `{ position, event }` entries, for the feed. */
function recordedJson(saves, firstPosition) {
  const parts = [];
  let position = firstPosition;
  for (const { events } of saves) {
    let start = 0;
    for (const end of events.ends) {
      parts.push(`{"position":${position++},"event":${decoder.decode(events.utf8.subarray(start, end))}}`);
      start = end + 1;
    }
  }
  return `[${parts.join(',')}]`;
}
