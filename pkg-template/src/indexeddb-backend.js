// The IndexedDB backend: events and snapshots persisted in one database that
// other tabs and instances may share. The Rust core validates events before
// they are queued, applies the version rule inside each write transaction, and
// checks every record read back. See "Persistence" in README.md for the layout.
// Once synced (aether-eventstore/sync), saves are kept as pending events beside
// the confirmed ones until the sync ledger's `syncCommit` confirms or drops them.

import { PendingChangedError, StorageError, ValidationError, storageError } from './errors.js';
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
import { abortQuietly, committed, findWithCursor, lastKey, request } from './idb.js';
import { checkRecords, concatenate, unwrapEvents, unwrapSnapshot } from './records.js';
import { GroupCommit } from './group-commit.js';
import { prepareEventSave } from './fresh-event.js';
import { KnownVersions } from './indexeddb-known.js';

/** The storage layout's version, which is the IndexedDB database version. */
const LAYOUT_VERSION = 4;
const EVENTS = 'events';
const SNAPSHOTS = 'snapshots';
/** Layout 2: the sync ledger. Pending events (in local order), rejected ones, and the sync state. */
const PENDING = 'pending';
const REJECTED = 'rejected';
const SYNC = 'sync';
/** The key of the sync state's one record in SYNC: there once the store is synced, never removed. */
const SYNC_STATE = 'state';
/**
 * The first part of the sync store's keys of pending records set aside as
 * damaged (see `#setAside`): `[SET_ASIDE, actorId, version, localOrder]`.
 */
const SET_ASIDE = 'set-aside';
const BY_ACTOR_VERSION = 'actorVersion';
/**
 * Layout 4: the key of a record in EVENTS, written with the sync mark, above
 * every position. It leaves the key generator no key to give, so that a save
 * taking its position from it fails once the store is synced (see #writeAssuming).
 */
const SEAL_KEY = 2 ** 53;
/** What a save's transaction covers: it may read the sync mark, and writes confirmed or pending events. */
const SAVE_STORES = [EVENTS, PENDING, SYNC];

const COMMA = 0x2c;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * Creates or migrates the object stores, one step per layout version, inside the
 * upgrade's `transaction`.
 */
function upgrade(db, oldVersion, transaction) {
  if (oldVersion < 1) {
    db.createObjectStore(EVENTS, { keyPath: 'sequenceNumber', autoIncrement: true });
    db.createObjectStore(SNAPSHOTS, { keyPath: ['actorId', 'version'] });
  }
  if (oldVersion < 2) {
    // Layout 1's stores and records stay as they are; the sync ledger's stores start empty.
    const pending = db.createObjectStore(PENDING, { keyPath: 'localOrder', autoIncrement: true });
    pending.createIndex(BY_ACTOR_VERSION, ['actorId', 'version'], { unique: true });
    db.createObjectStore(REJECTED, { autoIncrement: true });
    db.createObjectStore(SYNC);
  }
  if (oldVersion < 4) {
    // Layout 3: a record holds the events of one commit; each older record (one event) becomes a
    // record of one event under the same key, so positions, ids and timestamps are kept. Layout 4:
    // the index holds each actor's highest version in a record, not every event's, and a synced
    // store is sealed. Both in one walk over the records.
    const events = transaction.objectStore(EVENTS);
    if (events.indexNames.contains(BY_ACTOR_VERSION)) events.deleteIndex(BY_ACTOR_VERSION);
    events.createIndex(BY_ACTOR_VERSION, 'heads', { unique: true, multiEntry: true });
    if (oldVersion >= 1) {
      const walk = events.openCursor();
      walk.onsuccess = () => {
        const cursor = walk.result;
        if (!cursor) {
          // After the walk, which must not take the seal for a record to migrate.
          if (oldVersion >= 2) sealIfSynced(transaction);
          return;
        }
        const value = cursor.value ?? {};
        const keys = oldVersion < 3 ? [[value.actorId, value.version]] : Array.isArray(value.keys) ? value.keys : [];
        const record = oldVersion < 3 ? { sequenceNumber: cursor.primaryKey, keys, events: value.event } : value;
        cursor.update({ ...record, heads: headsOf(keys) });
        cursor.continue();
      };
    }
  }
  // A future layout adds `if (oldVersion < 5) { ... }` here.
}

/** Seals EVENTS (see SEAL_KEY), inside `transaction`, if the store is synced. */
function sealIfSynced(transaction) {
  const reading = transaction.objectStore(SYNC).get(SYNC_STATE);
  reading.onsuccess = () => {
    if (reading.result !== undefined) transaction.objectStore(EVENTS).put({ sequenceNumber: SEAL_KEY });
  };
}

/**
 * The index entries (layout 4) of a record whose events are at `keys` (each
 * `[actorId, version]`): each actor's highest version once, and any key whose
 * version is no version (foreign code's) as it is, so that reads still find and report it.
 */
function headsOf(keys) {
  const highest = new Map();
  const heads = [];
  for (const key of keys) {
    const [actorId, version] = Array.isArray(key) ? key : [];
    if (typeof actorId === 'string' && Number.isSafeInteger(version) && version >= 1) {
      if (!(highest.get(actorId) >= version)) highest.set(actorId, version);
    } else {
      heads.push(key);
    }
  }
  for (const [actorId, version] of highest) heads.push([actorId, version]);
  return heads;
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
    opening.onupgradeneeded = (event) => upgrade(opening.result, event.oldVersion, opening.transaction);
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

/** One `{ position, event }` entry as JSON text, from the key a record got and the event's bytes. */
const recordedEntry = (position, bytes) => `{"position":${position},"event":${decoder.decode(bytes)}}`;

/** The `{ position, event }` entries of committed saves, as JSON text: `save.position` is its first event's. */
function recordedOf(saves) {
  const entries = [];
  for (const { events, position } of saves) {
    for (let i = 0; i < events.ends.length; i++) entries.push(recordedEntry(position + i, preparedBytes(events, i)));
  }
  return `[${entries.join(',')}]`;
}

/**
 * The record (layout 4) of the events of `saves` committed together, after
 * position `last`: `keys` holds each event's `[actorId, version]`, `heads`
 * each actor's highest of them (the multiEntry index, see headsOf), `events`
 * their UTF-8 JSON comma-separated, event `i`
 * ending at `ends[i]`; its key is the position of its last event, the others
 * come one by one before it. Sets each save's `position`, its first event's.
 */
function commitRecord(saves, last) {
  let count = 0;
  let length = saves.length - 1; // the commas between saves
  for (const { events } of saves) {
    count += events.ends.length;
    length += events.utf8.length;
  }
  const utf8 = saves.length === 1 ? saves[0].events.utf8 : new Uint8Array(length);
  const keys = new Array(count);
  const ends = new Uint32Array(count);
  let offset = 0;
  let n = 0;
  for (const save of saves) {
    const { actorIds, versions, utf8: bytes, ends: own } = save.events;
    save.position = last + n + 1;
    if (saves.length > 1) {
      utf8.set(bytes, offset);
      if (offset + bytes.length < length) utf8[offset + bytes.length] = COMMA;
    }
    for (let i = 0; i < own.length; i++, n++) {
      keys[n] = [actorIds[i], versions[i]];
      ends[n] = offset + own[i];
    }
    offset += bytes.length + 1;
  }
  return { sequenceNumber: last + count, keys, heads: headsOf(keys), events: utf8, ends };
}

/** A record (layout 4) of the one event of `events`, without a position: the key generator gives it one. */
function unnumberedRecord({ actorIds, versions, utf8 }) {
  const keys = [[actorIds[0], versions[0]]];
  return { keys, heads: keys, events: utf8 };
}

/**
 * A record (layout 4, see commitRecord) of `events` (`{ actorId, version,
 * bytes }` each, in position order) after position `last`. A record of one
 * event holds its `bytes` as they are: not a view of a larger buffer, whose
 * whole would be stored.
 */
function eventsRecord(events, last) {
  // Each event a save of its own, which commitRecord joins.
  const saves = events.map(({ actorId, version, bytes }) => ({
    events: { actorIds: [actorId], versions: [version], utf8: bytes, ends: [bytes.length] },
  }));
  return commitRecord(saves, last);
}

/** Whether `ends` splits `length` bytes into `count` comma-separated events. */
function splits(ends, count, length) {
  if (!(Array.isArray(ends) || ArrayBuffer.isView(ends)) || ends.length !== count || ends[count - 1] !== length) return false;
  let start = 0;
  for (let i = 0; i < count; i++) {
    if (!Number.isInteger(ends[i]) || ends[i] < start) return false;
    start = ends[i] + 1;
  }
  return true;
}

/**
 * The events a stored record (layout 4, see commitRecord) holds, in position
 * order: `{ position, actorId, version, bytes }` each, as stored, unchecked. In a
 * record whose `ends` do not split its payload, every event's bytes are the
 * whole payload, which the core's check refuses.
 */
function recordEvents(record) {
  const keys = Array.isArray(record?.keys) ? record.keys : [];
  const payload = payloadBytes(record?.events) ?? new Uint8Array(0);
  const { ends } = record ?? {};
  const split = keys.length > 1 && splits(ends, keys.length, payload.length);
  const first = Number(record?.sequenceNumber) - keys.length + 1;
  return keys.map((key, i) => ({
    position: first + i,
    actorId: Array.isArray(key) ? key[0] : undefined,
    version: Array.isArray(key) ? key[1] : undefined,
    bytes: split ? payload.subarray(i === 0 ? 0 : ends[i - 1] + 1, ends[i]) : payload,
  }));
}

/** The bytes of the actor's event at `version` in a stored record, `undefined` if it holds none. */
function eventIn(record, actorId, version) {
  return recordEvents(record).find((event) => event.actorId === actorId && event.version === version)?.bytes;
}

/** The sync state as stored, checked: `{ remotePosition }`. */
function syncStateOf(record) {
  const remotePosition = record?.remotePosition;
  if (!Number.isSafeInteger(remotePosition) || remotePosition < 0) {
    throw new StorageError(`the stored sync state is damaged (remotePosition ${String(remotePosition)})`);
  }
  return { remotePosition };
}

/** A syncCommit's `rejected` (JSON text of `[{ event, reason }]`) as records to store. */
function rejectionsOf(json) {
  let entries;
  try {
    entries = JSON.parse(json);
  } catch (error) {
    throw new ValidationError('rejected must be a JSON array of { event, reason }', { field: 'rejected', cause: error });
  }
  if (!Array.isArray(entries)) throw new ValidationError('rejected must be a JSON array of { event, reason }', { field: 'rejected' });
  return entries.map((entry, i) => {
    if (typeof entry?.event !== 'object' || entry.event === null || typeof entry.reason !== 'string') {
      throw new ValidationError('a rejected entry must be { event: object, reason: string }', { field: `rejected[${i}]` });
    }
    return { event: encoder.encode(JSON.stringify(entry.event)), reason: entry.reason };
  });
}

/** Events prepared by the core from a JSON array, or none for an empty or missing one. */
const preparedArray = (json) => unwrapEvents(prepareEvents(json ?? '[]'));

/** The bytes of prepared event `i` (see records.js). */
const preparedBytes = ({ utf8, ends }, i) => utf8.subarray(i === 0 ? 0 : ends[i - 1] + 1, ends[i]);

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

/** Thrown inside a save's transaction to abort it when what it took for granted was false (see #writeAssuming). */
const ASSUMED_WRONG = new Error('what a save took for granted (no version as high stored, a store not synced) was not so');

/** The `id` of a stored event's bytes, `undefined` if it cannot be read. */
function storedId(bytes) {
  try {
    return bytes && JSON.parse(decoder.decode(bytes)).id;
  } catch {
    return undefined;
  }
}

/** Throws StorageError if a pending record about to become confirmed cannot be decoded. */
function checkMoved(moved) {
  const { failed, errors } = checkRecords(
    moved.map(({ bytes }) => bytes),
    (utf8, ends) => checkEventRecords(utf8, ends, moved.map(({ actorId }) => actorId), Float64Array.from(moved, ({ version }) => version), undefined),
  );
  if (failed.length > 0) {
    const { actorId, version } = moved[failed[0]];
    throw new StorageError(`the pending record of "${actorId}" at version ${version} cannot be decoded: ${errors[0]}`);
  }
}

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
  /** Whether the sync mark was seen (it is never removed while the database lives): saves are then pending. */
  #synced = false;
  /** The keys of EVENTS that are positions: a record foreign code put at -3, 1e300 or a string takes none. */
  #positions;
  /** The positions and the seal's key (see SEAL_KEY). */
  #positionsAndSeal;
  /** Actors' latest versions as this instance's own commits left them, while no one else has added records since. */
  #known = new KnownVersions();
  /**
   * Called (while anyone listens) after each commit to the database: with this
   * instance's own commits as `{ position, event }` entries, and with nothing for
   * another's, whose notices can arrive in any order (see feed.js).
   */
  onCommitted = null;
  orderedNotices = false;
  /** Set by the sync engine: called after the pending or rejected events changed, here or in another instance. */
  onPending = null;
  /** Identifies the database across instances (the sync engine's leader election): its channel name. */
  syncKey;

  constructor(factory, KeyRange, name, durability) {
    this.#factory = factory;
    this.#KeyRange = KeyRange;
    this.#positions = KeyRange.bound(1, Number.MAX_SAFE_INTEGER);
    this.#positionsAndSeal = KeyRange.bound(1, SEAL_KEY);
    this.#name = name;
    this.#durability = durability;
    this.syncKey = channelName(factory, name);
    if (typeof BroadcastChannel === 'function') {
      this.#channel = new BroadcastChannel(this.syncKey);
      this.#channel.unref?.(); // Node.js: an open store must not keep the process alive
      // { committed } after confirmed events were stored, { pending: true } after pending or rejected ones changed.
      this.#channel.onmessage = ({ data }) => {
        if (data?.pending !== true || data.committed !== undefined) this.onCommitted?.();
        if (data?.pending === true) this.onPending?.();
      };
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
          if (this.#connection === connection) {
            this.#connection = null;
            this.#synced = false; // a deleted database comes back without the mark: read it again
            this.#known.forget();
          }
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
   * The index entries of the actor's versions from `version` on. In EVENTS, the
   * first entry in it (if any) is that of the record that holds the actor's
   * event at `version`, if one does: an actor's records hold ascending runs of versions.
   */
  #versionsFrom(actorId, version) {
    return this.#KeyRange.bound([actorId, version], [actorId, Number.MAX_SAFE_INTEGER]);
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

  /**
   * Writes every save queued so far in one readwrite transaction. Inside it, each
   * save is admitted or refused by the core's version rule, in queue order, on the
   * actors' latest versions as stored: written at once where the rule admits
   * them all if those are what the saves expect, and checked in the transaction
   * (#writeAssuming), otherwise (or if that check fails) read first
   * (#admitAndWrite). A refused save that retries stored events resolves with
   * them. Each promise settles once the transaction has committed: refused saves
   * with their conflict, the others with their events, or all with StorageError
   * if the transaction failed. In a synced store the events are written as
   * pending (no positions, so no onCommitted).
   */
  async #commit(group) {
    let written;
    let assuming = !this.#synced;
    try {
      for (;;) {
        try {
          await this.#write(SAVE_STORES, async (transaction) => {
            const assumed = assuming ? this.#assumption(group) : undefined;
            written = assumed ? await this.#writeAssuming(transaction, group, assumed) : await this.#admitAndWrite(transaction, group);
          });
          break;
        } catch (error) {
          if (error !== ASSUMED_WRONG) throw error;
          // Nothing of it was stored: again, reading before writing.
          assuming = false;
        }
      }
    } catch (error) {
      this.#known.forget();
      const failure = storageError(`saving to IndexedDB database "${this.#name}" failed; nothing of it was stored`, error);
      for (const save of group) save.reject(save.conflict ?? failure);
      return;
    }
    const { pending, end, latest, continues } = written;
    if (pending) this.#known.forget();
    else this.#known.committed(end, latest, continues);
    const committed = [];
    for (const save of group) {
      if (save.conflict) {
        save.reject(save.conflict);
      } else if (save.retried !== undefined) {
        save.resolve({ stored: save.retried, retried: true });
      } else if (save.event !== undefined) {
        save.resolve({ event: save.event, retried: false });
        committed.push(save);
      } else {
        const json = decoder.decode(save.events.utf8);
        save.resolve({ stored: save.batch ? `[${json}]` : json, retried: false });
        committed.push(save);
      }
    }
    if (committed.length === 0) return;
    if (pending) {
      this.onPending?.();
      this.#channel?.postMessage({ pending: true });
    } else {
      if (this.onCommitted) this.onCommitted(recordedOf(committed));
      // The last position committed, for those who watch the channel; the feed reads what is new whatever it says.
      const last = committed.at(-1);
      this.#channel?.postMessage({ committed: last.position + last.events.ends.length - 1 });
    }
  }

  /**
   * Whether the store is synced, read inside `transaction` (on SYNC) until the
   * mark has been seen once: another instance may have written it since this one opened.
   */
  #isSynced(transaction) {
    if (this.#synced) return true;
    return request(transaction.objectStore(SYNC).get(SYNC_STATE)).then((state) => {
      if (state !== undefined) this.#synced = true;
      return state !== undefined;
    });
  }

  /**
   * What `#writeAssuming` may take for granted of `group`: the lowest version
   * each actor has in it (a Map), such that if no actor has one as high stored,
   * the core's version rule admits every save; `undefined` when it would refuse
   * one even then, or when this instance knows it will (the group is then
   * written by `#admitAndWrite`). One event needs no asking: the rule admits it
   * exactly when no version as high is stored.
   */
  #assumption(group) {
    if (group.length === 1 && group[0].events.ends.length === 1) {
      const { actorIds, versions } = group[0].events;
      return this.#known.latest(actorIds[0]) >= versions[0] ? undefined : new Map([[actorIds[0], versions[0]]]);
    }
    const lowest = new Map();
    for (const { events } of group) {
      events.actorIds.forEach((actorId, i) => {
        if (!(lowest.get(actorId) <= events.versions[i])) lowest.set(actorId, events.versions[i]);
      });
    }
    // Any latest version below an actor's lowest gives the rule the same answers: the one just below it stands for them.
    const ledger = new VersionLedger();
    try {
      for (const [actorId, version] of lowest) ledger.observe(actorId, version - 1);
      for (const { events } of group) ledger.admit(events.actorIds, events.versions);
      return lowest;
    } catch {
      return undefined;
    } finally {
      ledger.free();
    }
  }

  /**
   * Writes `group` without waiting for the reads that check, in the same
   * transaction, what that took for granted (see #assumption): that no actor
   * has a version stored as high as its `lowest` in the group, and that the store
   * is not synced; if either is false, throws ASSUMED_WRONG so that the
   * transaction aborts and nothing of it is stored.
   *
   * A record of one event takes its position from the key generator, which
   * every connection shares and commits advance in order, and which a synced
   * store's seal (SEAL_KEY) has left without keys. Its actor's version is not
   * read when this instance knows it (see KnownVersions) and the key given
   * follows the end of what it knows; another key means others added records
   * meanwhile, and the actor's entries are read after all. A record of several
   * is written after the highest position stored, read first, which is the
   * seal in a synced store. Resolves like #admitAndWrite.
   */
  async #writeAssuming(transaction, group, lowest) {
    const events = transaction.objectStore(EVENTS);
    const index = events.index(BY_ACTOR_VERSION);
    const single = group.length === 1 && group[0].events.ends.length === 1;
    const [[firstActor, firstVersion]] = lowest;
    const known = single ? this.#known.latest(firstActor) : undefined;
    const checks = [];
    if (!(known < firstVersion)) {
      for (const [actorId, version] of lowest) {
        checks.push(request(index.getKey(this.#versionsFrom(actorId, version))).then((key) => key === undefined));
      }
    }
    let adding;
    let continues = false;
    try {
      let record;
      if (single) {
        record = unnumberedRecord(group[0].events);
      } else {
        const last = await lastKey(events, this.#positionsAndSeal);
        if (last === SEAL_KEY) throw ASSUMED_WRONG;
        continues = this.#known.isEnd(last);
        record = commitRecord(group, last);
      }
      adding = request(events.add(record));
    } catch (error) {
      await Promise.allSettled(checks); // settled first: failing with the aborted transaction, they would go unheard
      throw error;
    }
    adding.catch(() => {}); // heard below, unless a check fails first
    if (!(await Promise.all(checks)).every(Boolean)) throw ASSUMED_WRONG;
    let key;
    try {
      key = await adding;
    } catch (error) {
      // No key left to generate: the store is synced (sealed), or foreign code stored a key as high.
      throw error?.name === 'ConstraintError' ? ASSUMED_WRONG : error;
    }
    if (single) {
      group[0].position = key;
      continues = this.#known.follows(key);
      if (checks.length === 0 && !continues) {
        // Others added records since: the actor's entries from the version on must be this record's alone.
        const holders = await request(index.getAllKeys(this.#versionsFrom(firstActor, firstVersion), 2));
        if (holders.length !== 1) throw ASSUMED_WRONG;
      }
    }
    const latest = new Map();
    for (const { events: saved } of group) saved.actorIds.forEach((actorId, i) => latest.set(actorId, saved.versions[i]));
    return { pending: false, end: key, latest: [...latest], continues };
  }

  /**
   * Admits and writes a group of saves inside `transaction` (on SAVE_STORES),
   * reading before writing: the sync mark, the highest position and each actor's
   * latest version (confirmed and, in a synced store, pending). Resolves with
   * `{ pending, end, latest, continues }`: whether they were written as pending
   * events (a synced store); else the highest position once it commits, the
   * latest versions of the actors read, and whether nothing was added since this
   * instance's last commit (see KnownVersions).
   */
  async #admitAndWrite(transaction, group) {
    const events = transaction.objectStore(EVENTS);
    const index = events.index(BY_ACTOR_VERSION);
    const actors = [...new Set(group.flatMap((save) => save.events.actorIds))];
    const [synced, last, ...latest] = await Promise.all([
      this.#isSynced(transaction),
      lastKey(events, this.#positions),
      ...actors.map((actorId) => this.#latestVersion(index, actorId)),
    ]);
    const pendingIndex = synced ? transaction.objectStore(PENDING).index(BY_ACTOR_VERSION) : undefined;
    if (synced) {
      // The version rule counts pending events too: an actor's latest is the highest of both.
      const pendingLatest = await Promise.all(actors.map((actorId) => this.#latestVersion(pendingIndex, actorId)));
      pendingLatest.forEach((version, i) => {
        latest[i] = Math.max(latest[i], version);
      });
    }
    const admitted = [];
    const ledger = new VersionLedger();
    try {
      actors.forEach((actorId, i) => ledger.observe(actorId, latest[i]));
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
    if (synced) {
      // A pending record a pending event, keeping its id: syncCommit compares ids.
      const pendingStore = transaction.objectStore(PENDING);
      for (const { events: prepared } of admitted) {
        prepared.ends.forEach((_, i) => {
          const event = preparedBytes(prepared, i).slice();
          pendingStore.add({ actorId: prepared.actorIds[i], version: prepared.versions[i], id: prepared.ids[i], event });
        });
      }
    }
    let end = last;
    const known = new Map(actors.map((actorId, i) => [actorId, latest[i]]));
    if (!synced && admitted.length > 0) {
      const record = commitRecord(admitted, last);
      events.add(record);
      end = record.sequenceNumber;
      for (const { events: saved } of admitted) saved.actorIds.forEach((actorId, i) => known.set(actorId, saved.versions[i]));
    }
    // Read after the writes above, so a retry of a save of this very group is found too.
    await Promise.all(group.filter((save) => save.conflict).map((save) => this.#findRetry(index, pendingIndex, save)));
    return { pending: synced, end, latest: [...known], continues: this.#known.isEnd(last) };
  }

  /**
   * Whether a refused save retries stored events (confirmed ones, or in a synced
   * store pending ones too, found with `pendingIndex`): if so, it resolves with them instead.
   */
  async #findRetry(index, pendingIndex, save) {
    const { actorIds, versions, ids } = save.events;
    const found = await Promise.all(
      actorIds.map((actorId, i) =>
        Promise.all([
          request(index.getKey(this.#versionsFrom(actorId, versions[i]))),
          pendingIndex && request(pendingIndex.get([actorId, versions[i]])),
        ]),
      ),
    );
    // Each record once, however many of the save's events it holds.
    const keys = [...new Set(found.map(([key]) => key).filter((key) => key !== undefined))];
    const records = await Promise.all(keys.map((key) => request(index.objectStore.get(key))));
    const stored = new Map(keys.map((key, i) => [key, records[i]]));
    const payloads = found.map(([key, pendingRecord], i) =>
      key === undefined ? payloadBytes(pendingRecord?.event) : eventIn(stored.get(key), actorIds[i], versions[i]),
    );
    const { utf8, ends } = concatenate(payloads.map((bytes) => bytes ?? new Uint8Array(0)));
    const retried = storedRetry(utf8, ends, actorIds, versions, ids, save.batch);
    if (retried !== undefined) {
      save.retried = retried;
      save.conflict = undefined;
    }
  }

  /**
   * Runs `read(transaction)` in a readonly transaction on `stores` and resolves
   * with what it resolves with; a failure is a StorageError.
   */
  async #read(stores, read) {
    try {
      return await read(await this.#transaction(stores, 'readonly'));
    } catch (error) {
      throw storageError(`reading IndexedDB database "${this.#name}" failed`, error);
    }
  }

  /**
   * The records holding the index entries in `range` of `index` (on EVENTS),
   * each once: a record has one entry for each of its actors, and more only where
   * foreign code wrote keys whose versions are no versions.
   */
  async #recordsIn(index, range) {
    const records = await request(index.getAll(range));
    const seen = new Set();
    return records.filter((record) => !seen.has(record.sequenceNumber) && seen.add(record.sequenceNumber));
  }

  /**
   * The actor's events from `fromVersion` on, confirmed then pending (a synced
   * store's; none otherwise): sound ones as a JSON array, the others as
   * ReplayErrors (a pending record has no sequence number: 0).
   */
  async #readEvents(actorId, fromVersion, withSetAside) {
    // From the start, entries at keys below 1 too: they are no events, and are reported.
    const lowest = fromVersion <= 1 ? -Infinity : fromVersion;
    const [records, pending, setAside] = await this.#read(withSetAside ? [EVENTS, PENDING, SYNC] : [EVENTS, PENDING], (transaction) => {
      const range = this.#actorRange(actorId, lowest);
      return Promise.all([
        this.#recordsIn(transaction.objectStore(EVENTS).index(BY_ACTOR_VERSION), range),
        request(transaction.objectStore(PENDING).index(BY_ACTOR_VERSION).getAll(range)),
        withSetAside ? request(transaction.objectStore(SYNC).getAll(this.#setAsideRange(actorId))) : [],
      ]);
    });
    const found = [];
    for (const record of records) {
      for (const event of recordEvents(record)) {
        if (event.actorId === actorId && typeof event.version === 'number' && event.version >= lowest) found.push(event);
      }
    }
    if (found.some((event, i) => i > 0 && event.version < found[i - 1].version)) found.sort((a, b) => a.version - b.version);
    for (const record of pending) found.push({ position: 0, version: record?.version, bytes: payloadBytes(record?.event) });
    // The core checks every event in one call, given their payloads one after another.
    const payloads = found.map(({ bytes }) => bytes ?? new Uint8Array(0));
    const versions = Float64Array.from(found, ({ version }) => Number(version));
    const { events, failed, errors: problems } = checkRecords(payloads, (utf8, ends) =>
      checkEventRecords(utf8, ends, [actorId], versions, undefined),
    );
    const errors = Array.from(failed, (index, i) => ({
      sequenceNumber: found[index].position,
      rawData: payloads[index],
      error: problems[i],
    }));
    // Pending records set aside as damaged: reported, with no position.
    for (const { version, rawData, error } of setAside) if (version >= lowest) errors.push({ sequenceNumber: 0, rawData, error });
    return { events, errors };
  }

  async getEvents(actorId, fromVersion) {
    return (await this.#readEvents(actorId, fromVersion, false)).events;
  }

  getEventsWithErrors(actorId, fromVersion) {
    return this.#readEvents(actorId, fromVersion, true);
  }

  /** The highest of the actor's confirmed and pending versions. */
  getLatestVersion(actorId) {
    return this.#read([EVENTS, PENDING], (transaction) => this.#latestOfBoth(transaction, actorId));
  }

  /** The actor's latest version counting confirmed and pending events, read in `transaction` (on EVENTS and PENDING). */
  async #latestOfBoth(transaction, actorId) {
    const versions = await Promise.all(
      [EVENTS, PENDING].map((name) => this.#latestVersion(transaction.objectStore(name).index(BY_ACTOR_VERSION), actorId)),
    );
    return Math.max(...versions);
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
      const { found, end } = await this.#read([EVENTS], (transaction) => this.#eventsAfter(transaction.objectStore(EVENTS), from, wanted));
      const payloads = found.map(({ bytes }) => bytes);
      const actorIds = found.map(({ actorId }) => String(actorId));
      const versions = Float64Array.from(found, ({ version }) => Number(version));
      const positions = Float64Array.from(found, ({ position }) => position);
      const { events, failed } = checkRecords(payloads, (utf8, ends) => checkEventRecords(utf8, ends, actorIds, versions, positions));
      if (events !== '[]') parts.push(events.slice(1, -1));
      // Events that cannot be decoded are left out: read on until `limit` sound ones, or the end.
      if (failed.length === 0 || end) return `[${parts.join(',')}]`;
      from = found.at(-1).position;
      wanted = failed.length;
    }
  }

  /**
   * The first `wanted` stored events with `position > after` (see recordEvents),
   * unchecked, and whether they are all there are (`end`). Records are read a few
   * at a time, as many as the events still wanted seem to need.
   */
  async #eventsAfter(store, after, wanted) {
    const found = [];
    let from = after;
    let records = 0;
    for (;;) {
      // Sized on the events per record seen so far: one record may hold one event or thousands.
      const perRecord = records === 0 ? 1 : Math.max(1, found.length / records);
      const count = Math.max(1, Math.min(wanted - found.length, Math.ceil((wanted - found.length) / perRecord) + 1, records === 0 ? 8 : Infinity));
      const page = await request(store.getAll(this.#KeyRange.bound(from, Number.MAX_SAFE_INTEGER, true), count));
      for (const record of page) {
        for (const event of recordEvents(record)) {
          if (event.position > after && found.length < wanted) found.push(event);
        }
      }
      records += page.length;
      if (found.length >= wanted) return { found, end: false };
      if (page.length < count) return { found, end: true };
      from = page.at(-1).sequenceNumber;
    }
  }

  async lastPosition() {
    try {
      const transaction = await this.#transaction([EVENTS], 'readonly');
      return await lastKey(transaction.objectStore(EVENTS), this.#positions);
    } catch (error) {
      throw storageError(`reading IndexedDB database "${this.#name}" failed`, error);
    }
  }

  /** Stores a snapshot, checking inside the write transaction that the actor's events reached its version. */
  async saveSnapshot(json) {
    const snapshot = unwrapSnapshot(prepareSnapshot(json));
    try {
      await this.#write([EVENTS, PENDING, SNAPSHOTS], async (transaction) => {
        checkSnapshotVersion(snapshot.version, await this.#latestOfBoth(transaction, snapshot.actorId));
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

  // The sync ledger (see "The sync ledger" in event-store.js): what aether-eventstore/sync drives.

  /** `{ remotePosition }`, or `null` if syncStart never ran on this database. */
  async syncState() {
    const state = await this.#read([SYNC], (transaction) => request(transaction.objectStore(SYNC).get(SYNC_STATE)));
    if (state === undefined) return null;
    this.#synced = true;
    return syncStateOf(state);
  }

  /** Marks the database synced, durably, and seals it (see SEAL_KEY); a second call just returns the state. */
  async syncStart() {
    let state;
    try {
      await this.#write([SYNC, EVENTS], async (transaction) => {
        const store = transaction.objectStore(SYNC);
        state = await request(store.get(SYNC_STATE));
        if (state === undefined) {
          state = { remotePosition: 0 };
          store.add(state, SYNC_STATE);
          transaction.objectStore(EVENTS).put({ sequenceNumber: SEAL_KEY });
        }
      });
    } catch (error) {
      throw storageError(`marking IndexedDB database "${this.#name}" synced failed`, error);
    }
    this.#synced = true;
    return syncStateOf(state);
  }

  /**
   * The pending events (all in local order, or the actor's in version order)
   * as a JSON array. A record that cannot be decoded is left out and set aside
   * (see `#setAside`): the sync engine reads the pending events before each
   * change it prepares, so that no change meets it.
   */
  async pendingEvents(actorId) {
    const records = await this.#read([PENDING], (transaction) => {
      const store = transaction.objectStore(PENDING);
      return request(actorId === undefined ? store.getAll() : store.index(BY_ACTOR_VERSION).getAll(this.#actorRange(actorId)));
    });
    const payloads = records.map((record) => payloadBytes(record?.event) ?? new Uint8Array(0));
    const actorIds = records.map((record) => String(record?.actorId));
    const versions = Float64Array.from(records, (record) => Number(record?.version));
    const { events, failed, errors } = checkRecords(payloads, (utf8, ends) => checkEventRecords(utf8, ends, actorIds, versions, undefined));
    if (failed.length > 0) {
      await this.#setAside(Array.from(failed, (index, i) => ({ record: records[index], rawData: payloads[index], error: errors[i] })));
    }
    return events;
  }

  /**
   * Moves damaged pending records out of the pending events into the sync
   * store, where they are kept and reported (`syncLedgerErrors`, and
   * `getEventsWithErrors` of their actor) but never counted again: left
   * pending, one would hold its version for good, and every syncCommit
   * confirming another device's event at that version would fail with
   * PendingChangedError, round after round.
   */
  async #setAside(damaged) {
    try {
      await this.#write([PENDING, SYNC], async (transaction) => {
        const pendingStore = transaction.objectStore(PENDING);
        const syncStore = transaction.objectStore(SYNC);
        // Only those still pending: another instance may have set them aside, or dropped them, since they were read.
        const present = await Promise.all(damaged.map(({ record }) => request(pendingStore.getKey(record.localOrder))));
        damaged.forEach(({ record, rawData, error }, i) => {
          if (present[i] === undefined) return;
          const actorId = String(record.actorId ?? '');
          const version = Number.isFinite(record.version) ? record.version : 0;
          pendingStore.delete(record.localOrder);
          syncStore.put({ actorId, version, rawData, error }, [SET_ASIDE, actorId, version, record.localOrder]);
        });
      });
    } catch {
      // Left pending for now (the events read are still the answer): the next read tries again.
    }
  }

  /** The keys of the pending records set aside as damaged: all, or the actor's. */
  #setAsideRange(actorId) {
    return actorId === undefined
      ? this.#KeyRange.bound([SET_ASIDE], [SET_ASIDE, []])
      : this.#KeyRange.bound([SET_ASIDE, actorId], [SET_ASIDE, actorId, []]);
  }

  /** The pending records set aside as damaged (see `#setAside`), as `{ actorId, version, rawData, error }`. */
  syncLedgerErrors() {
    return this.#read([SYNC], (transaction) => request(transaction.objectStore(SYNC).getAll(this.#setAsideRange())));
  }

  /** The rejected events as a JSON array of `{ event, reason }`, oldest first; damaged records are left out. */
  async rejectedEvents() {
    const records = await this.#read([REJECTED], (transaction) => request(transaction.objectStore(REJECTED).getAll()));
    const entries = [];
    for (const record of records) {
      const bytes = payloadBytes(record?.event);
      if (!bytes || typeof record.reason !== 'string') continue;
      const event = decoder.decode(bytes);
      try {
        JSON.parse(event);
      } catch {
        continue;
      }
      entries.push(`{"event":${event},"reason":${JSON.stringify(record.reason)}}`);
    }
    return `[${entries.join(',')}]`;
  }

  /**
   * Applies a sync change (see event-store.js) in one readwrite transaction: all
   * of it once it resolves, none of it if it throws (PendingChangedError when the
   * pending events are no longer what the change was prepared from).
   */
  async syncCommit(change) {
    const { dropped = [], remotePosition } = change;
    if (!Array.isArray(dropped)) throw new ValidationError('dropped must be an array of { actorId, version }', { field: 'dropped' });
    if (remotePosition !== undefined && (!Number.isSafeInteger(remotePosition) || remotePosition < 0)) {
      throw new ValidationError('remotePosition must be a non-negative safe integer', { field: 'remotePosition' });
    }
    // Validated like any save before the transaction starts: never trust the input.
    const confirmed = preparedArray(change.confirmed);
    const pending = preparedArray(change.pending);
    const rejected = rejectionsOf(change.rejected ?? '[]');
    let outcome;
    try {
      await this.#write([EVENTS, PENDING, REJECTED, SNAPSHOTS, SYNC], async (transaction) => {
        outcome = await this.#applySyncChange(transaction, { confirmed, dropped, pending, rejected, remotePosition });
      });
    } catch (error) {
      if (error instanceof PendingChangedError || error instanceof ValidationError) throw error;
      throw storageError(`syncing IndexedDB database "${this.#name}" failed; nothing of the change was stored`, error);
    }
    const { recorded, pendingChanged } = outcome;
    if (recorded.length > 0) this.onCommitted?.(`[${recorded.map(([position, bytes]) => recordedEntry(position, bytes)).join(',')}]`);
    if (pendingChanged) this.onPending?.();
    const message = {};
    if (recorded.length > 0) message.committed = recorded.at(-1)[0];
    if (pendingChanged) message.pending = true;
    if (recorded.length > 0 || pendingChanged) this.#channel?.postMessage(message);
  }

  /**
   * The steps of syncCommit inside its transaction, in the order the ledger
   * specifies. Resolves with the confirmed events added (each `[position, bytes]`,
   * all in one record) and whether the pending or rejected events changed.
   */
  async #applySyncChange(transaction, { confirmed, dropped, pending, rejected, remotePosition }) {
    const events = transaction.objectStore(EVENTS);
    const eventIndex = events.index(BY_ACTOR_VERSION);
    const pendingStore = transaction.objectStore(PENDING);
    const pendingIndex = pendingStore.index(BY_ACTOR_VERSION);
    const syncStore = transaction.objectStore(SYNC);
    const [state, lastPosition] = await Promise.all([request(syncStore.get(SYNC_STATE)), lastKey(events, this.#positions)]);
    let position = lastPosition;
    if (state === undefined) throw new StorageError('syncCommit on a store that is not synced (syncStart never ran)');

    const rules = new SyncChangeRules();
    try {
      // 1. The dropped pending events, and the snapshots taken over their versions.
      const droppedKeys = await Promise.all(dropped.map(({ actorId, version }) => request(pendingIndex.getKey([actorId, version]))));
      const removed = new Set();
      const lowestDropped = new Map();
      dropped.forEach(({ actorId, version }, i) => {
        rules.dropPending(actorId, version, droppedKeys[i] !== undefined);
        removed.add(droppedKeys[i]);
        lowestDropped.set(actorId, Math.min(version, lowestDropped.get(actorId) ?? Infinity));
      });
      for (const key of removed) pendingStore.delete(key);
      const snapshots = transaction.objectStore(SNAPSHOTS);
      for (const [actorId, version] of lowestDropped) snapshots.delete(this.#actorRange(actorId, version));

      // 2. The confirmed events, in order, as the core's rules decide: moved from pending, kept, or appended.
      const latest = new Map(); // each actor's latest stored confirmed version
      const latestStored = async (actorId) => {
        if (!latest.has(actorId)) latest.set(actorId, await this.#latestVersion(eventIndex, actorId));
        return latest.get(actorId);
      };
      const recorded = [];
      const moved = []; // pending records made confirmed: checked below, never trusted
      const stored = []; // the confirmed events this change stores, `{ actorId, version, bytes }` each, in one record
      const clearTo = new Map(); // per actor, a version at and below which nothing is pending any more, once this change moved or appended it
      for (let i = 0; i < confirmed.ids.length; i++) {
        const actorId = confirmed.actorIds[i];
        const version = confirmed.versions[i];
        // What is still pending below, read after this change's drops and moves (deleted in this transaction),
        // above what is known clear: a narrow range, as a range's cost grows with its entries in some
        // implementations, and none at all right above it (versions are integers).
        const clear = clearTo.get(actorId) ?? -Infinity;
        const pendingBelow = clear >= version - 1 ? undefined : this.#KeyRange.bound([actorId, clear], [actorId, version], true, true);
        const [pendingRecord, confirmedBytes, latestVersion, below] = await Promise.all([
          request(pendingIndex.get([actorId, version])),
          request(eventIndex.get(this.#versionsFrom(actorId, version))).then((record) => eventIn(record, actorId, version)),
          latestStored(actorId),
          pendingBelow && request(pendingIndex.getKey(pendingBelow)),
        ]);
        const pendingId = pendingRecord === undefined ? undefined : String(pendingRecord.id);
        const storedEventId = confirmedBytes === undefined ? undefined : storedId(confirmedBytes);
        const fate = rules.confirm(actorId, version, confirmed.ids[i], latestVersion, pendingId, below !== undefined, storedEventId);
        if (fate !== Confirmed.Kept) clearTo.set(actorId, version);
        if (fate === Confirmed.Moved) {
          pendingStore.delete(pendingRecord.localOrder);
          const bytes = payloadBytes(pendingRecord.event) ?? new Uint8Array(0);
          moved.push({ actorId, version, bytes });
          stored.push({ actorId, version, bytes });
          recorded.push([++position, bytes]);
          removed.add(pendingRecord.localOrder);
        } else if (fate === Confirmed.Appended) {
          const bytes = preparedBytes(confirmed, i);
          stored.push({ actorId, version, bytes: bytes.slice() });
          recorded.push([++position, bytes]);
        }
      }
      if (moved.length > 0) checkMoved(moved);
      if (stored.length > 0) events.add(eventsRecord(stored, lastPosition));

      // 3. The new pending events, at the end of local order, each above its actor's latest version.
      const pendingLatest = new Map(); // each actor's highest pending version left after the drops and moves
      for (let i = 0; i < pending.ids.length; i++) {
        const actorId = pending.actorIds[i];
        const version = pending.versions[i];
        if (!pendingLatest.has(actorId)) pendingLatest.set(actorId, await this.#latestVersion(pendingIndex, actorId));
        rules.admitPending(actorId, version, await latestStored(actorId), pendingLatest.get(actorId));
        pendingStore.add({ actorId, version, id: pending.ids[i], event: preparedBytes(pending, i).slice() });
      }
      // 4. and 5. The rejected events, and the remote position.
      const rejectedStore = transaction.objectStore(REJECTED);
      for (const record of rejected) rejectedStore.add(record);
      if (remotePosition !== undefined) syncStore.put({ ...state, remotePosition }, SYNC_STATE);
      return { recorded, pendingChanged: removed.size > 0 || pending.ids.length > 0 || rejected.length > 0 };
    } finally {
      rules.free();
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
