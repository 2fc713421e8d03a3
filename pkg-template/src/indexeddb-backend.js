// The IndexedDB backend: events and snapshots persisted in one database that
// other tabs and instances may share. The Rust core validates events before
// they are queued, applies the version rule inside each write transaction, and
// checks every record read back. See "Persistence" in README.md for the layout.

import { StorageError, ValidationError, storageError } from './errors.js';
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
import { abortQuietly, committed, findWithCursor, request } from './idb.js';
import { checkRecords, concatenate, unwrapEvents, unwrapSnapshot } from './records.js';
import { GroupCommit } from './group-commit.js';

/** The storage layout's version, which is the IndexedDB database version. */
const LAYOUT_VERSION = 1;
const EVENTS = 'events';
const SNAPSHOTS = 'snapshots';
const BY_ACTOR_VERSION = 'actorVersion';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Creates or migrates the object stores, one step per layout version. */
function upgrade(db, oldVersion) {
  if (oldVersion < 1) {
    const events = db.createObjectStore(EVENTS, { keyPath: 'sequenceNumber', autoIncrement: true });
    events.createIndex(BY_ACTOR_VERSION, ['actorId', 'version'], { unique: true });
    db.createObjectStore(SNAPSHOTS, { keyPath: ['actorId', 'version'] });
  }
  // A future layout adds `if (oldVersion < 2) { ... }` here.
}

function openDatabase(factory, name) {
  return new Promise((resolve, reject) => {
    let opening;
    try {
      opening = factory.open(name, LAYOUT_VERSION);
    } catch (error) {
      reject(storageError(`cannot open IndexedDB database "${name}"`, error));
      return;
    }
    opening.onupgradeneeded = (event) => upgrade(opening.result, event.oldVersion);
    opening.onsuccess = () => resolve(opening.result);
    opening.onerror = () => reject(storageError(`cannot open IndexedDB database "${name}"`, opening.error));
    opening.onblocked = (event) => {
      reject(
        storageError(
          `opening IndexedDB database "${name}" is blocked: another connection (another tab?) keeps an older layout open`,
          event,
        ),
      );
      opening.onsuccess = () => opening.result.close();
    };
  });
}

/** The bytes of a stored record's payload, whatever it became; `undefined` if it holds none. */
function payloadBytes(value) {
  if (value instanceof Uint8Array) return value;
  if (value instanceof ArrayBuffer) return new Uint8Array(value);
  if (ArrayBuffer.isView(value)) return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  if (typeof value === 'string') return encoder.encode(value);
  return undefined;
}

/** The `{ position, event }` entries of committed saves, as JSON text: positions are the keys their records got. */
function recordedOf(saves) {
  const entries = [];
  for (const { events, added } of saves) {
    added.forEach((request, i) => {
      const start = i === 0 ? 0 : events.ends[i - 1] + 1;
      entries.push(`{"position":${request.result},"event":${decoder.decode(events.utf8.subarray(start, events.ends[i]))}}`);
    });
  }
  return `[${entries.join(',')}]`;
}

const channelTokens = new WeakMap();

/**
 * The BroadcastChannel name for a database: tabs share `globalThis.indexedDB`;
 * another factory (fake-indexeddb in Node.js) is a world of its own.
 */
function channelName(factory, name) {
  if (factory === globalThis.indexedDB) return `aether-eventstore:${name}`;
  if (!channelTokens.has(factory)) channelTokens.set(factory, Math.random().toString(36).slice(2));
  return `aether-eventstore:${channelTokens.get(factory)}:${name}`;
}

const DURABILITIES = ['strict', 'default', 'relaxed'];

export class IndexedDbBackend {
  #factory;
  #KeyRange;
  #name;
  #durability;
  /** @type {Promise<IDBDatabase> | null} the open connection, reopened after another tab's upgrade closed it */
  #connection = null;
  /** Saves waiting for, and being written in, one commit together. */
  #group = new GroupCommit(
    (group) => this.#commit(group),
    (error) => storageError(`saving to IndexedDB database "${this.#name}" failed`, error),
  );
  #channel = null;
  /**
   * Called (while anyone listens) after each commit to the database: with this
   * instance's own commits as `{ position, event }` entries, and with nothing for
   * another's, whose notices can arrive in any order (see feed.js).
   */
  onCommitted = null;
  orderedNotices = false;

  constructor(factory, KeyRange, name, durability) {
    this.#factory = factory;
    this.#KeyRange = KeyRange;
    this.#name = name;
    this.#durability = durability;
    if (typeof BroadcastChannel === 'function') {
      this.#channel = new BroadcastChannel(channelName(factory, name));
      this.#channel.unref?.(); // Node.js: an open store must not keep the process alive
      this.#channel.onmessage = () => this.onCommitted?.();
    }
  }

  /** Opens the database `name`, creating or upgrading its layout. */
  static async open(name, options = {}) {
    if (typeof name !== 'string' || name === '') {
      throw new ValidationError('name must be a non-empty string', { field: 'name' });
    }
    const durability = options?.durability ?? 'strict';
    if (!DURABILITIES.includes(durability)) {
      throw new ValidationError(`durability must be one of ${DURABILITIES.join(', ')}`, { field: 'durability' });
    }
    const factory = options?.indexedDB ?? globalThis.indexedDB;
    const KeyRange = options?.IDBKeyRange ?? globalThis.IDBKeyRange;
    if (!factory || typeof factory.open !== 'function') {
      throw new StorageError('IndexedDB is not available here; in Node.js pass { indexedDB, IDBKeyRange }, e.g. from fake-indexeddb', {
        cause: new TypeError('no IDBFactory'),
      });
    }
    if (typeof KeyRange?.bound !== 'function') {
      throw new StorageError('IDBKeyRange is not available here; pass it as { IDBKeyRange } beside { indexedDB }', {
        cause: new TypeError('no IDBKeyRange'),
      });
    }
    const backend = new IndexedDbBackend(factory, KeyRange, name, durability);
    try {
      await backend.#database();
    } catch (error) {
      backend.#channel?.close();
      throw error;
    }
    return backend;
  }

  #database() {
    if (!this.#connection) {
      const connection = openDatabase(this.#factory, this.#name).then((db) => {
        const forget = () => {
          db.close();
          if (this.#connection === connection) this.#connection = null;
        };
        db.onversionchange = forget; // another tab upgrades or deletes the database: let it
        db.onclose = forget; // the browser closed it (storage cleared)
        return db;
      });
      connection.catch(() => {
        if (this.#connection === connection) this.#connection = null;
      });
      this.#connection = connection;
    }
    return this.#connection;
  }

  async #transaction(stores, mode) {
    const db = await this.#database();
    try {
      return db.transaction(stores, mode, mode === 'readwrite' ? { durability: this.#durability } : undefined);
    } catch (error) {
      throw storageError(`cannot start an IndexedDB transaction on "${this.#name}"`, error);
    }
  }

  /**
   * Runs `write(transaction)` in a readwrite transaction on `stores` and resolves
   * once it has committed; if `write` throws, the transaction is aborted and
   * nothing of it is stored.
   */
  async #write(stores, write) {
    const transaction = await this.#transaction(stores, 'readwrite');
    const done = committed(transaction);
    try {
      await write(transaction);
    } catch (error) {
      abortQuietly(transaction);
      await done.catch(() => {});
      throw error;
    }
    await done;
  }

  #actorRange(actorId, fromVersion = -Infinity) {
    return this.#KeyRange.bound([actorId, fromVersion], [actorId, Infinity]);
  }

  /**
   * The highest version indexed for the actor. Only keys that are versions count
   * (safe integers >= 1): a record that foreign code or damage put at 1e300 or -3
   * neither blocks the actor nor lowers its version (reads report it).
   */
  #latestVersion(index, actorId) {
    const versions = this.#KeyRange.bound([actorId, 1], [actorId, Number.MAX_SAFE_INTEGER]);
    return request(index.openKeyCursor(versions, 'prev')).then((cursor) => (cursor ? cursor.key[1] : 0));
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
   * Writes every save queued so far in one readwrite transaction. Inside it, the
   * actors' latest versions are read from disk and each save is admitted or refused
   * by the core's version rule, in queue order; a refused save that retries stored
   * events resolves with them. Each promise settles once the transaction has
   * committed: refused saves with their conflict, the others with their events,
   * or all with StorageError if the transaction failed.
   */
  async #commit(group) {
    try {
      await this.#write([EVENTS], (transaction) => this.#admitAndWrite(transaction, group));
    } catch (error) {
      const failure = storageError(`saving to IndexedDB database "${this.#name}" failed; nothing of it was stored`, error);
      for (const save of group) save.reject(save.conflict ?? failure);
      return;
    }
    const committed = [];
    for (const save of group) {
      if (save.conflict) {
        save.reject(save.conflict);
      } else if (save.retried !== undefined) {
        save.resolve({ stored: save.retried, retried: true });
      } else {
        const json = decoder.decode(save.events.utf8);
        save.resolve({ stored: save.batch ? `[${json}]` : json, retried: false });
        committed.push(save);
      }
    }
    if (committed.length > 0) {
      if (this.onCommitted) this.onCommitted(recordedOf(committed));
      // The last position committed, for those who watch the channel; the feed reads what is new whatever it says.
      this.#channel?.postMessage({ committed: committed.at(-1).added.at(-1).result });
    }
  }

  async #admitAndWrite(transaction, group) {
    const events = transaction.objectStore(EVENTS);
    const index = events.index(BY_ACTOR_VERSION);
    const actors = [...new Set(group.flatMap((save) => save.events.actorIds))];
    const latest = await Promise.all(actors.map((actorId) => this.#latestVersion(index, actorId)));
    const ledger = new VersionLedger();
    try {
      actors.forEach((actorId, i) => ledger.observe(actorId, latest[i]));
      for (const save of group) {
        const { actorIds, versions, utf8, ends } = save.events;
        try {
          ledger.admit(actorIds, versions);
        } catch (conflict) {
          save.conflict = conflict;
          continue;
        }
        save.added = [];
        for (let i = 0; i < ends.length; i++) {
          const start = i === 0 ? 0 : ends[i - 1] + 1; // after the comma
          save.added.push(events.add({ actorId: actorIds[i], version: versions[i], event: utf8.slice(start, ends[i]) }));
        }
      }
    } finally {
      ledger.free();
    }
    // Read after the writes above, so a retry of a save of this very group is found too.
    await Promise.all(group.filter((save) => save.conflict).map((save) => this.#findRetry(index, save)));
  }

  /** Whether a refused save retries stored events: if so, it resolves with them instead. */
  async #findRetry(index, save) {
    const { actorIds, versions, ids } = save.events;
    const records = await Promise.all(actorIds.map((actorId, i) => request(index.get([actorId, versions[i]]))));
    const { utf8, ends } = concatenate(records.map((record) => payloadBytes(record?.event) ?? new Uint8Array(0)));
    const stored = storedRetry(utf8, ends, actorIds, versions, ids, save.batch);
    if (stored !== undefined) {
      save.retried = stored;
      save.conflict = undefined;
    }
  }

  /** The actor's records from `fromVersion` on: sound ones as a JSON array, the others as ReplayErrors. */
  async #readEvents(actorId, fromVersion) {
    let records;
    try {
      const transaction = await this.#transaction([EVENTS], 'readonly');
      const index = transaction.objectStore(EVENTS).index(BY_ACTOR_VERSION);
      // From the start, records at keys below 1 too: they are no events, and are reported.
      records = await request(index.getAll(this.#actorRange(actorId, fromVersion <= 1 ? -Infinity : fromVersion)));
    } catch (error) {
      throw storageError(`reading IndexedDB database "${this.#name}" failed`, error);
    }
    // The core checks every record in one call, given their payloads one after another.
    const payloads = records.map((record) => payloadBytes(record?.event) ?? new Uint8Array(0));
    const versions = Float64Array.from(records, (record) => Number(record?.version));
    const { events, failed, errors: problems } = checkRecords(payloads, (utf8, ends) =>
      checkEventRecords(utf8, ends, [actorId], versions, undefined),
    );
    const errors = Array.from(failed, (index, i) => ({
      sequenceNumber: records[index].sequenceNumber,
      rawData: payloads[index],
      error: problems[i],
    }));
    return { events, errors };
  }

  async getEvents(actorId, fromVersion) {
    return (await this.#readEvents(actorId, fromVersion)).events;
  }

  getEventsWithErrors(actorId, fromVersion) {
    return this.#readEvents(actorId, fromVersion);
  }

  async getLatestVersion(actorId) {
    try {
      const transaction = await this.#transaction([EVENTS], 'readonly');
      return await this.#latestVersion(transaction.objectStore(EVENTS).index(BY_ACTOR_VERSION), actorId);
    } catch (error) {
      throw storageError(`reading IndexedDB database "${this.#name}" failed`, error);
    }
  }

  /**
   * At most `limit` sound events with `position > after` (positions are the
   * records' sequence numbers: the key generator of the events store, which
   * every connection shares and write transactions advance in commit order).
   */
  async readAll(after, limit) {
    const parts = []; // the inside of each sound page's JSON array
    let from = after;
    let wanted = limit;
    for (;;) {
      let records;
      try {
        const transaction = await this.#transaction([EVENTS], 'readonly');
        records = await request(transaction.objectStore(EVENTS).getAll(this.#KeyRange.lowerBound(from, true), wanted));
      } catch (error) {
        throw storageError(`reading IndexedDB database "${this.#name}" failed`, error);
      }
      const payloads = records.map((record) => payloadBytes(record?.event) ?? new Uint8Array(0));
      const actorIds = records.map((record) => String(record?.actorId));
      const versions = Float64Array.from(records, (record) => Number(record?.version));
      const positions = Float64Array.from(records, (record) => record.sequenceNumber);
      const { events, failed } = checkRecords(payloads, (utf8, ends) => checkEventRecords(utf8, ends, actorIds, versions, positions));
      if (events !== '[]') parts.push(events.slice(1, -1));
      // Records that cannot be decoded are left out: read on until `limit` sound ones, or the end.
      if (failed.length === 0 || records.length < wanted) return `[${parts.join(',')}]`;
      from = records.at(-1).sequenceNumber;
      wanted = failed.length;
    }
  }

  async lastPosition() {
    try {
      const transaction = await this.#transaction([EVENTS], 'readonly');
      const cursor = await request(transaction.objectStore(EVENTS).openKeyCursor(null, 'prev'));
      return cursor ? cursor.key : 0;
    } catch (error) {
      throw storageError(`reading IndexedDB database "${this.#name}" failed`, error);
    }
  }

  /** Stores a snapshot, checking inside the write transaction that the actor's events reached its version. */
  async saveSnapshot(json) {
    const snapshot = unwrapSnapshot(prepareSnapshot(json));
    try {
      await this.#write([EVENTS, SNAPSHOTS], async (transaction) => {
        const index = transaction.objectStore(EVENTS).index(BY_ACTOR_VERSION);
        checkSnapshotVersion(snapshot.version, await this.#latestVersion(index, snapshot.actorId));
        transaction.objectStore(SNAPSHOTS).put({
          actorId: snapshot.actorId,
          version: snapshot.version,
          snapshot: encoder.encode(snapshot.json),
        });
      });
    } catch (error) {
      if (error instanceof ValidationError) throw error;
      throw storageError(`saving a snapshot to IndexedDB database "${this.#name}" failed`, error);
    }
    return snapshot.json;
  }

  /** The highest-version snapshot that can be decoded; a damaged one is passed over for the one before it. */
  async getLatestSnapshot(actorId) {
    try {
      const transaction = await this.#transaction([SNAPSHOTS], 'readonly');
      const cursor = transaction.objectStore(SNAPSHOTS).openCursor(this.#actorRange(actorId), 'prev');
      return await findWithCursor(cursor, (record) => {
        const bytes = payloadBytes(record?.snapshot);
        return bytes && checkSnapshotRecord(bytes) === undefined ? decoder.decode(bytes) : undefined;
      });
    } catch (error) {
      throw storageError(`reading IndexedDB database "${this.#name}" failed`, error);
    }
  }

  /** Waits for queued saves, then closes the connection and the channel. */
  async close() {
    await this.#group.settled();
    this.#channel?.close();
    const connection = this.#connection;
    this.#connection = null;
    (await connection?.catch(() => null))?.close();
  }
}
