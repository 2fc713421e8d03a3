// The IndexedDB backend: events and snapshots persisted in one database that
// other tabs and instances may share. The Rust core validates events before
// they are queued, applies the version rule inside each write transaction, and
// checks every record read back. See "Persistence" in README.md for the layout.

import { StorageError, ValidationError, storageError } from './errors.js';
import {
  VersionLedger,
  checkEventRecords,
  checkSnapshotRecord,
  prepareEvent,
  prepareEvents,
  prepareSnapshot,
} from '#wasm';
import { abortQuietly, committed, findWithCursor, request } from './idb.js';
import { checkRecords, unwrapEvents, unwrapSnapshot } from './records.js';

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
  /** @type {{ events: object, resolve: Function, reject: Function, conflict?: Error }[]} saves waiting for the next transaction */
  #queue = [];
  /** @type {Promise<void> | null} the group commit in progress */
  #writing = null;
  #channel = null;
  /** Called with a JSON array of the events another instance committed. */
  onCommitted = null;

  constructor(factory, KeyRange, name, durability) {
    this.#factory = factory;
    this.#KeyRange = KeyRange;
    this.#name = name;
    this.#durability = durability;
    if (typeof BroadcastChannel === 'function') {
      this.#channel = new BroadcastChannel(channelName(factory, name));
      this.#channel.unref?.(); // Node.js: an open store must not keep the process alive
      this.#channel.onmessage = (message) => this.onCommitted?.(message.data);
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
   * Runs `write(transaction)` in a readwrite transaction on `store` and resolves
   * once it has committed; if `write` throws, the transaction is aborted and
   * nothing of it is stored.
   */
  async #write(store, write) {
    const transaction = await this.#transaction([store], 'readwrite');
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

  #latestVersion(index, actorId) {
    return request(index.openKeyCursor(this.#actorRange(actorId), 'prev')).then((cursor) => (cursor ? cursor.key[1] : 0));
  }

  saveEvent(json) {
    const events = unwrapEvents(prepareEvent(json));
    return this.#enqueue(events).then(() => decoder.decode(events.utf8));
  }

  saveEvents(json) {
    const events = unwrapEvents(prepareEvents(json));
    return this.#enqueue(events).then(() => `[${decoder.decode(events.utf8)}]`);
  }

  /** Queues one whole save for the next group commit. */
  #enqueue(events) {
    return new Promise((resolve, reject) => {
      this.#queue.push({ events, resolve, reject });
      if (this.#queue.length === 1 && !this.#writing) queueMicrotask(() => this.#startWriting());
    });
  }

  #startWriting() {
    if (this.#writing || this.#queue.length === 0) return;
    const group = this.#queue.splice(0);
    this.#writing = this.#commit(group).finally(() => {
      this.#writing = null;
      this.#startWriting();
    });
  }

  /**
   * Writes every save queued so far in one readwrite transaction. Inside it, the
   * actors' latest versions are read from disk and each save is admitted or refused
   * by the core's version rule, in queue order. Each promise settles once the
   * transaction has committed: refused saves with their conflict, the others
   * with success, or all with StorageError if the transaction failed.
   */
  async #commit(group) {
    try {
      await this.#write(EVENTS, (transaction) => this.#admitAndWrite(transaction, group));
    } catch (error) {
      const failure = storageError(`saving to IndexedDB database "${this.#name}" failed; nothing of it was stored`, error);
      for (const save of group) save.reject(save.conflict ?? failure);
      return;
    }
    const stored = [];
    for (const save of group) {
      if (save.conflict) {
        save.reject(save.conflict);
      } else {
        save.resolve();
        stored.push(decoder.decode(save.events.utf8));
      }
    }
    if (stored.length > 0) this.#channel?.postMessage(`[${stored.join(',')}]`);
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
        for (let i = 0; i < ends.length; i++) {
          const start = i === 0 ? 0 : ends[i - 1] + 1; // after the comma
          events.add({ actorId: actorIds[i], version: versions[i], event: utf8.slice(start, ends[i]) });
        }
      }
    } finally {
      ledger.free();
    }
  }

  /** The actor's records from `fromVersion` on: sound ones as a JSON array, the others as ReplayErrors. */
  async #readEvents(actorId, fromVersion) {
    let records;
    try {
      const transaction = await this.#transaction([EVENTS], 'readonly');
      const index = transaction.objectStore(EVENTS).index(BY_ACTOR_VERSION);
      records = await request(index.getAll(this.#actorRange(actorId, fromVersion)));
    } catch (error) {
      throw storageError(`reading IndexedDB database "${this.#name}" failed`, error);
    }
    // The core checks every record in one call, given their payloads one after another.
    const payloads = records.map((record) => payloadBytes(record?.event) ?? new Uint8Array(0));
    const versions = Float64Array.from(records, (record) => Number(record?.version));
    const { events, failed, errors: problems } = checkRecords(payloads, (utf8, ends) =>
      checkEventRecords(utf8, ends, actorId, versions),
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

  async saveSnapshot(json) {
    const snapshot = unwrapSnapshot(prepareSnapshot(json));
    try {
      await this.#write(SNAPSHOTS, (transaction) =>
        transaction.objectStore(SNAPSHOTS).put({
          actorId: snapshot.actorId,
          version: snapshot.version,
          snapshot: encoder.encode(snapshot.json),
        }),
      );
    } catch (error) {
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
    this.#startWriting();
    while (this.#writing) await this.#writing;
    this.#channel?.close();
    const connection = this.#connection;
    this.#connection = null;
    (await connection?.catch(() => null))?.close();
  }
}
