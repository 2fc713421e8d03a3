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
// - Once synced (syncStart), saves are pending events, written to the sync
//   journal (sync-journal.js, sync-ledger.js), and only syncCommit appends to
//   the event log: its events' commit first, flagged SYNCED, then its journal
//   commit; it counts once the latter is written (opening cuts off a SYNCED
//   commit that the journal does not name). Saves, syncStart and syncCommits
//   go through one queue, in order.

import { mkdir } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import {
  Confirmed,
  SyncChangeRules,
  VersionLedger,
  checkEventRecords,
  checkSnapshotRecord,
  checkSnapshotVersion,
  prepareEvents,
  prepareSnapshot,
  storedRetry,
} from '#wasm';
import { StorageError, ValidationError, storageError } from '../errors.js';
import { checkRecords, concatenate, unwrapEvents, unwrapSnapshot } from '../records.js';
import { prepareEventSave } from '../fresh-event.js';
import { crc32 } from './crc32.js';
import { EventLog } from './event-log.js';
import { DirectoryLock } from './lock.js';
import { syncDirectory } from './log-file.js';
import { SnapshotLog } from './snapshot-log.js';
import { SYNCED } from './frame.js';
import { SyncJournal, controlLine, pendingLine, rejectedLine } from './sync-journal.js';
import { SyncLedger, openLedger } from './sync-ledger.js';
import { GroupCommit } from '../group-commit.js';

const DURABILITIES = ['strict', 'relaxed'];
const decoder = new TextDecoder();
const encoder = new TextEncoder();

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
  /** Set by the sync engine: called after the pending or rejected events changed. */
  onPending = null;
  /** Identifies the store for the sync engine's leader election: the directory's path. */
  syncKey;
  /** @type {{ journal: SyncJournal, ledger: SyncLedger } | null} once synced */
  #sync = null;

  constructor(path, flush, lock, events, snapshots, sync) {
    this.#path = path;
    this.#flush = flush;
    this.#lock = lock;
    this.#events = events;
    this.#snapshots = snapshots;
    this.#sync = sync;
    this.syncKey = path;
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
    let snapshots;
    let opened;
    try {
      events = await EventLog.open(path, flush);
      snapshots = await SnapshotLog.open(path, flush);
      opened = await SyncJournal.open(path, flush);
      const sync = opened && { journal: opened.journal, ledger: await openLedger(opened, events, snapshots) };
      return new DirectoryBackend(path, flush, lock, events, snapshots, sync);
    } catch (error) {
      await events?.close();
      await snapshots?.close();
      await opened?.journal.close();
      lock.release();
      throw storageError(`cannot open the store in directory "${path}"`, error);
    }
  }

  /** A new event resolves with `{ event, retried: false }`, built from its copy (see `prepareEventSave`). */
  saveEvent(encoded) {
    const { events, event } = prepareEventSave(encoded);
    return this.#enqueue(events, false, event);
  }

  saveEvents(json) {
    return this.#enqueue(unwrapEvents(prepareEvents(json)), true);
  }

  /**
   * Queues one whole save for the next group commit; resolves with `{ stored,
   * retried }`, or with `{ event, retried: false }` when it is stored and given `event`.
   */
  #enqueue(events, batch, event) {
    return this.#group.add({ events, batch, event });
  }

  /** Commits what is queued, in order: runs of saves together, each syncStart and syncCommit on its own. */
  async #commit(group) {
    let saves = [];
    for (const item of group) {
      if (item.events) {
        saves.push(item);
        continue;
      }
      if (saves.length > 0) await this.#commitSaves(saves);
      saves = [];
      try {
        item.resolve(item.start ? await this.#start() : await this.#syncCommit(item.change));
      } catch (error) {
        item.reject(error);
      }
    }
    if (saves.length > 0) await this.#commitSaves(saves);
  }

  /**
   * Commits every save queued so far: the core's version rule admits or refuses
   * each, in queue order, against the actors' latest versions; the admitted ones
   * are written as one commit: to the event log, or once synced as pending
   * events to the sync journal. Then refused saves that retry stored events
   * resolve with them, the others reject with their conflict.
   */
  async #commitSaves(group) {
    const admitted = [];
    const ledger = new VersionLedger();
    try {
      for (const actorId of new Set(group.flatMap((save) => save.events.actorIds))) ledger.observe(actorId, this.#latest(actorId));
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
        if (this.#sync) await this.#writePending(admitted);
        else firstPosition = await this.#events.append(admitted.map((save) => save.events), this.#flush);
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
    for (const save of admitted) save.resolve(save.event === undefined ? { stored: storedJson(save), retried: false } : { event: save.event, retried: false });
    for (const save of group) {
      if (save.retried !== undefined) save.resolve({ stored: save.retried, retried: true });
      else if (save.conflict) save.reject(save.conflict);
    }
    if (admitted.length === 0) return;
    // Pending saves have no position: the sync engine hears of them instead of the feed.
    if (this.#sync) this.onPending?.();
    else if (this.onCommitted) this.onCommitted(recordedJson(admitted, firstPosition));
  }

  /** Writes saves of a synced store as pending events: one journal commit, then the ledger. */
  async #writePending(saves) {
    const entries = saves.flatMap((save) => eventsOf(save.events));
    const lines = entries.map(({ json, actorId, version }) => pendingLine(json, actorId, version));
    await this.#sync.journal.append(lines, this.#events.index.count);
    for (const entry of entries) this.#sync.ledger.add(entry);
  }

  /** The actor's latest version: of its confirmed events, and once synced of its pending ones too. */
  #latest(actorId) {
    const confirmed = this.#events.index.latest(actorId);
    return this.#sync ? Math.max(confirmed, this.#sync.ledger.latest(actorId)) : confirmed;
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
    const bodies = found.map((i, k) => {
      if (i === -1) {
        const pending = this.#sync?.ledger.get(actorIds[k], versions[k]);
        return pending ? encoder.encode(pending.json) : new Uint8Array(0);
      }
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

  /** The actor's confirmed events from `fromVersion`, then (once synced) its pending ones, as they are at the call. */
  async #readEvents(actorId, fromVersion) {
    const index = this.#events.index;
    const pending = this.#sync?.ledger.of(actorId, fromVersion);
    const damaged = this.#sync?.ledger.damaged.filter((line) => line.actorId === actorId && line.version >= fromVersion);
    const read = await this.#readChecked(index.recordsOf(actorId, fromVersion), (utf8, ends, records) =>
      checkEventRecords(utf8, ends, [actorId], Float64Array.from(records, (i) => index.version[i]), undefined),
    );
    if (!pending) return read;
    if (pending.length > 0) {
      const confirmed = read.events.slice(1, -1);
      read.events = `[${confirmed}${confirmed && ','}${pending.map((entry) => entry.json).join(',')}]`;
    }
    // A pending event whose journal line was damaged: reported, with no position.
    for (const line of damaged) read.errors.push({ sequenceNumber: 0, rawData: new Uint8Array(line.rawData), error: line.error });
    return read;
  }

  async getEvents(actorId, fromVersion) {
    return (await this.#readEvents(actorId, fromVersion)).events;
  }

  getEventsWithErrors(actorId, fromVersion) {
    return this.#readEvents(actorId, fromVersion);
  }

  getLatestVersion(actorId) {
    return this.#latest(actorId);
  }

  /** At most `limit` sound events with `position > after`, as `{ position, event }` entries; damaged records are left out. */
  async readAll(after, limit) {
    return (await this.#readPage(after, limit, true)).events;
  }

  /** Like `readAll`, as `{ events, positions }`: the events alone as a JSON array, and their positions (see feed.js). */
  readAllEvents(after, limit) {
    return this.#readPage(after, limit, false);
  }

  /** A page of `readAll`: its JSON array, of entries when `entries`, else of events, and the positions of those. */
  async #readPage(after, limit, entries) {
    const index = this.#events.index;
    const parts = [];
    const positions = [];
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
          entries ? Float64Array.from(records, (i) => i + 1) : undefined,
        ),
      );
      if (events !== '[]') parts.push(events.slice(1, -1));
      const damaged = new Set(errors.map((error) => error.sequenceNumber));
      for (let position = from + 1; position <= to; position++) if (!damaged.has(position)) positions.push(position);
      if (errors.length === 0) break;
      // Records that cannot be decoded are left out: read on until `limit` sound ones, or the end.
      from = to;
      wanted = errors.length;
    }
    return { events: `[${parts.join(',')}]`, positions };
  }

  lastPosition() {
    return this.#events.index.count;
  }

  /** Stores a snapshot once no earlier snapshot save is pending, checking that the actor's events reached its version. */
  saveSnapshot(json) {
    const snapshot = unwrapSnapshot(prepareSnapshot(json));
    const saving = this.#snapshotWriting.then(async () => {
      checkSnapshotVersion(snapshot.version, this.#latest(snapshot.actorId));
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

  // The sync ledger (see "The sync ledger" in event-store.js), kept in the sync journal.

  syncState() {
    return this.#sync && { remotePosition: this.#sync.ledger.remotePosition };
  }

  /** The sync journal's lines found damaged at open (never used; kept when it is compacted): `{ actorId, version, rawData, error }`. */
  syncLedgerErrors() {
    return this.#sync?.ledger.damaged.map(reportOf) ?? [];
  }

  /** Makes the store synced, durably: queued behind the saves before it, so that those are confirmed events. */
  async syncStart() {
    if (!this.#sync) await this.#group.add({ start: true });
    return this.syncState();
  }

  pendingEvents(actorId) {
    const ledger = this.#sync?.ledger;
    if (!ledger) return '[]';
    const entries = actorId === undefined ? [...ledger.all()] : ledger.of(actorId);
    return `[${entries.map((entry) => entry.json).join(',')}]`;
  }

  rejectedEvents() {
    return `[${this.#sync?.ledger.rejected.join(',') ?? ''}]`;
  }

  /** Applies a sync change all or nothing, durably (queued with the saves, in order). */
  syncCommit(change) {
    return this.#group.add({ change });
  }

  /** Starts the sync journal, naming the events' last position: every event so far is confirmed. */
  async #start() {
    if (this.#sync) return;
    this.#checkWritable();
    const position = this.#events.index.count;
    try {
      const journal = await SyncJournal.create(this.#path, this.#flush, [controlLine({ start: { position, remotePosition: 0 } })], position);
      const ledger = new SyncLedger();
      ledger.position = position;
      this.#sync = { journal, ledger };
    } catch (error) {
      throw storageError(`starting to sync directory "${this.#path}" failed`, error);
    }
  }

  /**
   * A sync change: every rule is checked before anything is written (reading
   * the ids of confirmed events it names again); then the confirmed events'
   * commit (SYNCED) and the journal commit are written, and only then is the
   * change applied in memory. If the journal commit fails, the events' commit is cut off again.
   */
  async #syncCommit({ confirmed = '[]', dropped = [], pending: added = '[]', rejected = '[]', remotePosition } = {}) {
    if (!this.#sync) throw new StorageError(`syncCommit on directory "${this.#path}", which is not synced`);
    const { journal, ledger } = this.#sync;
    const index = this.#events.index;
    if (!Array.isArray(dropped)) throw new ValidationError('dropped must be an array', { field: 'dropped' });
    if (remotePosition !== undefined && !(Number.isSafeInteger(remotePosition) && remotePosition >= 0)) {
      throw new ValidationError('remotePosition must be a non-negative integer', { field: 'remotePosition' });
    }
    const rules = new SyncChangeRules();
    const removed = new Set();
    const lowestDropped = new Map();
    const appended = [];
    const moved = [];
    const newPending = eventsOf(unwrapEvents(prepareEvents(added)));
    try {
      for (const { actorId, version } of dropped) {
        const entry = ledger.get(actorId, version);
        rules.dropPending(actorId, version, entry !== undefined);
        removed.add(entry);
        lowestDropped.set(actorId, Math.min(version, lowestDropped.get(actorId) ?? Infinity));
      }
      for (const event of eventsOf(unwrapEvents(prepareEvents(confirmed)))) {
        const { actorId, version, id } = event;
        const match = ledger.get(actorId, version);
        const pendingId = match !== undefined && !removed.has(match) ? match.id : undefined;
        const lowest = ledger.first(actorId, removed);
        const below = lowest !== undefined && lowest.version < version;
        const fate = rules.confirm(actorId, version, id, index.latest(actorId), pendingId, below, await this.#storedId(actorId, version));
        if (fate === Confirmed.Moved) {
          removed.add(match);
          moved.push([actorId, version]);
          appended.push(match);
        } else if (fate === Confirmed.Appended) {
          appended.push(event);
        }
      }
      for (const { actorId, version } of newPending) rules.admitPending(actorId, version, index.latest(actorId), ledger.latest(actorId, removed));
    } finally {
      rules.free();
    }
    let rejections;
    try {
      rejections = JSON.parse(rejected);
    } catch {
      rejections = undefined;
    }
    if (!Array.isArray(rejections)) throw new ValidationError('rejected must be a JSON array', { field: 'rejected' });
    rejections = rejections.map((entry) => JSON.stringify(entry));
    this.#checkWritable();

    // Snapshot saves wait while a change that drops pending events is written, so that the drop names the snapshot lines before it.
    let releaseSnapshots;
    const snapshotsWaited = lowestDropped.size > 0 && this.#snapshotWriting;
    if (snapshotsWaited) {
      this.#snapshotWriting = new Promise((resolve) => {
        releaseSnapshots = resolve;
      });
      await snapshotsWaited;
    }
    try {
      const position = index.count + appended.length;
      const commit = { position, moved, dropped: dropped.map(({ actorId, version }) => [actorId, version]) };
      if (remotePosition !== undefined) commit.remotePosition = remotePosition;
      if (lowestDropped.size > 0) commit.snapshotsBefore = this.#snapshots.dataEnd;
      const lines = [
        controlLine({ commit }),
        ...newPending.map(({ json, actorId, version }) => pendingLine(json, actorId, version)),
        ...rejections.map((json) => rejectedLine(json)),
      ];
      let written;
      try {
        if (appended.length > 0) written = await this.#events.write([preparedOf(appended)], this.#flush, SYNCED);
        try {
          await journal.append(lines, position);
        } catch (error) {
          if (written) await this.#events.undo(written);
          throw error;
        }
      } catch (error) {
        if (error?.broken) this.#broken = error;
        throw storageError(`syncCommit to directory "${this.#path}" failed; nothing of it was stored${error?.broken ? ' (open the directory again to save more)' : ''}`, error);
      }
      written?.apply();
      for (const entry of removed) ledger.remove(entry);
      for (const entry of newPending) ledger.add(entry);
      for (const json of rejections) ledger.addRejected(json);
      if (remotePosition !== undefined) ledger.remotePosition = remotePosition;
      for (const [actorId, version] of lowestDropped) {
        ledger.snapshotDrops.push([actorId, version, commit.snapshotsBefore]);
        this.#snapshots.drop(actorId, version, commit.snapshotsBefore);
      }
      ledger.position = position;
      if (appended.length > 0 && this.onCommitted) this.onCommitted(recordedJson([{ events: preparedOf(appended) }], written.firstPosition));
      if (removed.size > 0 || newPending.length > 0 || rejections.length > 0) this.onPending?.();
    } finally {
      releaseSnapshots?.();
    }
    if (journal.wantsCompaction(ledger.liveBytes)) {
      // A failed compaction leaves the journal as it was, in use.
      await journal.compact(ledger.stateLines(), index.count).catch(() => {});
    }
  }

  /** The id of the confirmed event stored at (actor, version), or undefined. */
  async #storedId(actorId, version) {
    const found = this.#events.index.find(actorId, version);
    if (found === -1) return undefined;
    const [bytes] = await this.#read([found]);
    try {
      return JSON.parse(bytes.toString('utf8')).id;
    } catch {
      return undefined;
    }
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
        await this.#sync?.journal.flush();
      }
    } catch (error) {
      throw storageError(`flushing directory "${this.#path}" at close failed`, error);
    } finally {
      await this.#events.close();
      await this.#snapshots.close();
      await this.#sync?.journal.close();
      this.#lock.release();
    }
  }
}

/** What a save resolves with: its event, or its events as a JSON array. */
function storedJson(save) {
  const json = decoder.decode(save.events.utf8);
  return save.batch ? `[${json}]` : json;
}

/** Prepared events (the core's, unwrapped) one by one: `{ actorId, version, id, json }`. */
function eventsOf({ ids, actorIds, versions, utf8, ends }) {
  const out = new Array(ends.length);
  let start = 0;
  for (let i = 0; i < ends.length; i++) {
    out[i] = { actorId: actorIds[i], version: versions[i], id: ids[i], json: decoder.decode(utf8.subarray(start, ends[i])) };
    start = ends[i] + 1;
  }
  return out;
}

/** Events `{ actorId, version, id, json }` as one prepared save, for the event log. */
function preparedOf(events) {
  const parts = events.map((event) => encoder.encode(event.json));
  const utf8 = new Uint8Array(parts.reduce((sum, part) => sum + part.length + 1, 0) - 1);
  const ends = new Uint32Array(parts.length);
  let at = 0;
  parts.forEach((part, i) => {
    utf8.set(part, at);
    ends[i] = at + part.length;
    if (i < parts.length - 1) utf8[at + part.length] = 0x2c;
    at += part.length + 1;
  });
  return { ids: events.map((e) => e.id), actorIds: events.map((e) => e.actorId), versions: events.map((e) => e.version), utf8, ends };
}

/** A damaged journal line as syncLedgerErrors() reports it. */
function reportOf({ actorId, version, rawData, error }) {
  return { actorId, version, rawData: new Uint8Array(rawData), error };
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
