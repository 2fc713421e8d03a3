// EventStore: the public class. It encodes input (json.js), delegates to a
// backend (memory, IndexedDB, JetStream, files), decodes results, and feeds
// commits to subscribers (feed.js). Validation, the version rule and idempotent
// retries are the Rust core's, whatever the backend.
//
// A backend takes and returns JSON text, with read arguments already checked:
//   saveEvent({ json, copy? }) -> { stored: json, retried }, or { event,
//     retried } (the stored event as an object of its own, built from `copy`,
//     see encodeEventCopy, whose `json` is made when first read; a backend
//     may ignore `copy`)
//   saveEvents(jsonArray, copies) -> { stored: jsonArray, retried }, or
//     { events, retried } (built from `copies`, see encodeEventsCopy; a backend
//     may ignore `copies`)
//   getEvents(actorId, fromVersion) -> jsonArray
//   getEventsWithErrors(actorId, fromVersion) -> { events: jsonArray, errors }
//   getLatestVersion(actorId) -> number     saveSnapshot(json) -> stored json
//   getLatestSnapshot(actorId) -> json | undefined
//   readAll(after, limit) -> jsonArray of { position, event }
//   readAllEvents(after, limit) -> { events: jsonArray, positions } (optional:
//     the same page without wrappers, which parses faster)
//   lastPosition() -> number                close()
// each returning a value or a Promise of it. A save that retries stored events
// (the core's rule) resolves with them and `retried: true`. While anyone
// listens, a backend calls `onCommitted(recorded)` for every commit (see feed.js
// and `orderedNotices`), never for a retry; `watch()`, if it has one, starts
// hearing other clients' commits and resolves once it does.
//
// The sync ledger: a local backend that can be synced (memory, IndexedDB,
// directory) keeps, beside its confirmed events, pending ones (saved here, not
// yet accepted by the remote; no position), rejected ones and the remote
// position, for aether-eventstore/sync:
//   syncState() -> { remotePosition } | null (never synced)
//   syncStart() -> { remotePosition }: marks the store synced, durably; from then
//     on its saves (every instance's, on a shared database) are pending: the
//     version rule and retries count confirmed and pending events, reads show an
//     actor's confirmed then pending events, readAll and notices confirmed only
//   pendingEvents(actorId?) -> jsonArray, in local order; a pending record that
//     cannot be decoded is left out, and never counted or matched again
//   rejectedEvents() -> jsonArray of { event, reason }
//   syncLedgerErrors() -> [{ actorId, version, rawData, error }]: the ledger's
//     records found damaged and set aside (reported by getEventsWithErrors too)
//   syncCommit({ confirmed, dropped, pending, rejected, remotePosition }), all or
//     nothing: drops the `dropped` pending events (and the actor's snapshots from
//     the lowest of them), makes each `confirmed` event confirmed (a pending one
//     moves; one confirmed already is skipped; another is appended), appends the
//     new `pending` and `rejected` ones, stores `remotePosition`. Throws
//     PendingChangedError when the pending events are not what the change was
//     prepared from (another instance saved meanwhile), StorageError when the
//     local confirmed events diverged from the remote's.
//   onPending: called after the pending or rejected events changed (here or, on
//     a shared database, in another instance); syncKey: the database's name for
//     electing one syncer.

import * as core from '#wasm';
import { StorageError, ValidationError, storageError } from './errors.js';
import { EventTypeEventStored, Feed, readPage } from './feed.js';
import { importLines } from './import-events.js';
import * as records from './records.js';
import { IndexedDbBackend } from './indexeddb-backend.js';
import { encodeEventCopy, encodeEvents, encodeEventsCopy, encodeSnapshot } from './json.js';
import { prepareEventSave } from './fresh-event.js';
import { MemoryBackend } from './memory-backend.js';
import { reportError } from './report.js';
import { wasmPending } from './wasm-loading.js';

export { EventTypeEventStored };

const CONSTRUCT_WITH_BACKEND = Symbol('construct with backend');

/** The backend of a store, and the hold on its saves (set in the class's static block, where its private fields are in reach). */
let backendOf;
let holdSaves;
let onClose;

/** How `openDirectory` opens a directory: set by the Node.js entry (entry-node.js); browsers have none. */
let openDirectoryBackend = null;

/** Called by entry-node.js with `DirectoryBackend.open`. Not part of the public API. */
export function registerDirectoryBackend(open) {
  openDirectoryBackend = open;
}

/**
 * What the package's other entry points (aether-eventstore/jetstream) build on,
 * reached through the class so that they share this module's instance. Not for applications.
 */
const internals = Object.freeze({
  storeOver: (backend) => new EventStore(CONSTRUCT_WITH_BACKEND, backend),
  /** The backend of an open EventStore (aether-eventstore/sync drives a local store's sync ledger), `undefined` for anything else. */
  backendOf: (store) => backendOf(store),
  /** Makes the store's saves wait until `promise` settles (a sync marking the store synced, so that no save slips through unsynced). */
  holdSaves: (store, promise) => holdSaves(store, promise),
  /** Calls `callback` when the store is closed (a sync ends with its local store). */
  onClose: (store, callback) => onClose(store, callback),
  encodeEvents,
  /** A new event prepared for a durable backend, with its stored event built from its copy (see fresh-event.js). */
  prepareEventSave,
  wasmPending,
  storageError,
  records,
  core,
});

/** The options object of `readAll`, `subscribe` and `exportEvents`: `undefined`, `null` or an object. */
function optionsObject(options) {
  if (options === undefined || options === null) return {};
  if (typeof options !== 'object') throw new ValidationError('options must be an object', { field: 'options' });
  return options;
}

/** What `getEventsWithErrors` returns: the decoded events and the records that could not be decoded. */
export class ReplayResult {
  /**
   * @param {object[]} events
   * @param {{ sequenceNumber: number, rawData: Uint8Array, error: string }[]} errors
   */
  constructor(events, errors) {
    this.events = events;
    this.errors = errors;
  }

  /** Whether any stored record could not be decoded. */
  hasErrors() {
    return this.errors.length > 0;
  }
}

/** An append-only store of per-actor event streams with optimistic concurrency. */
export class EventStore {
  #backend;
  #feed;
  #closed = false;

  /** @type {Promise<void> | null} what saves wait for first (see `holdSaves`) */
  #held = null;
  /** @type {Set<() => void>} called by `close()` */
  #closeCallbacks = new Set();

  static {
    backendOf = (store) => (store instanceof EventStore && !store.#closed ? store.#backend : undefined);
    holdSaves = (store, promise) => {
      const held = promise.then(
        () => {},
        () => {},
      );
      store.#held = held;
      held.then(() => {
        if (store.#held === held) store.#held = null;
      });
    };
    onClose = (store, callback) => store.#closeCallbacks.add(callback);
  }

  /** An in-memory store. It takes no arguments: persistent stores are opened with `EventStore.openIndexedDb` and friends. */
  constructor(...internal) {
    if (internal.length > 0 && internal[0] !== CONSTRUCT_WITH_BACKEND) {
      throw new ValidationError(
        'new EventStore() takes no arguments and makes an in-memory store; to persist events, use EventStore.openIndexedDb(name) in a browser or EventStore.openDirectory(directory) in Node.js',
        { field: 'arguments' },
      );
    }
    this.#backend = internal[0] === CONSTRUCT_WITH_BACKEND ? internal[1] : new MemoryBackend();
    this.#feed = new Feed(this.#backend);
  }

  /**
   * A store persisted in the IndexedDB database `name`, shared safely with other
   * tabs and instances. Rejects with `StorageError` where IndexedDB is unavailable.
   */
  static async openIndexedDb(name, options = {}) {
    await wasmPending();
    return new EventStore(CONSTRUCT_WITH_BACKEND, await IndexedDbBackend.open(name, options));
  }

  /**
   * A durable store in the files under `directory` (Node.js only), created if
   * missing. Rejects with StorageError where there is no file system (browsers),
   * or when another store has the directory open.
   */
  static async openDirectory(directory, options) {
    if (!openDirectoryBackend) {
      throw new StorageError('EventStore.openDirectory needs Node.js: a browser has no directories to write to (use EventStore.openIndexedDb)', {
        cause: new TypeError('no file system'),
      });
    }
    return new EventStore(CONSTRUCT_WITH_BACKEND, await openDirectoryBackend(directory, options));
  }

  #open() {
    if (this.#closed) throw new StorageError('the store is closed');
    return this.#backend;
  }

  /** Stores one event if its version is above the actor's latest; resolves with the stored event. */
  async saveEvent(event) {
    if (this.#held) await this.#held;
    const backend = this.#open();
    if (wasmPending()) await wasmPending();
    // A backend may answer at once (memory), sparing a turn of the event loop's microtasks.
    const pending = backend.saveEvent(encodeEventCopy(event));
    const saved = pending instanceof Promise ? await pending : pending;
    return saved.event ?? JSON.parse(saved.stored);
  }

  /** Stores every event or none; resolves with the stored events. */
  async saveEvents(events) {
    if (this.#held) await this.#held;
    const backend = this.#open();
    if (wasmPending()) await wasmPending();
    const { json, copies } = encodeEventsCopy(events);
    if (json === '[]') return [];
    const pending = backend.saveEvents(json, copies);
    const saved = pending instanceof Promise ? await pending : pending;
    return saved.events ?? JSON.parse(saved.stored);
  }

  /** The actor's events with `version >= fromVersion`, ascending. */
  async getEvents(actorId, fromVersion = 0) {
    const backend = this.#open();
    if (wasmPending()) await wasmPending();
    return JSON.parse(await backend.getEvents(core.checkActorId(actorId), core.checkFromVersion(fromVersion)));
  }

  /** Like `getEvents`, and also the stored records that could not be decoded. */
  async getEventsWithErrors(actorId, fromVersion = 0) {
    const backend = this.#open();
    if (wasmPending()) await wasmPending();
    const { events, errors } = await backend.getEventsWithErrors(core.checkActorId(actorId), core.checkFromVersion(fromVersion));
    return new ReplayResult(JSON.parse(events), errors);
  }

  /** The actor's latest version, `0` when it has no events. */
  async getLatestVersion(actorId) {
    const backend = this.#open();
    if (wasmPending()) await wasmPending();
    // A well-formed string is what checkActorId gives back: no call into the core for it.
    return backend.getLatestVersion(typeof actorId === 'string' && actorId.isWellFormed?.() ? actorId : core.checkActorId(actorId));
  }

  /** Stores a snapshot; one at the same version is replaced. */
  async saveSnapshot(snapshot) {
    if (this.#held) await this.#held;
    const backend = this.#open();
    if (wasmPending()) await wasmPending();
    return JSON.parse(await backend.saveSnapshot(encodeSnapshot(snapshot)));
  }

  /** The actor's snapshot with the highest version, or `null`. */
  async getLatestSnapshot(actorId) {
    const backend = this.#open();
    if (wasmPending()) await wasmPending();
    const stored = await backend.getLatestSnapshot(core.checkActorId(actorId));
    return stored === undefined ? null : JSON.parse(stored);
  }

  /**
   * The stored events with `position > after` in the global order, ascending,
   * at most `limit` (default 1000), as `{ position, event }`.
   */
  async readAll(options) {
    const backend = this.#open();
    if (wasmPending()) await wasmPending();
    const { after, limit } = optionsObject(options);
    const { events, positions } = await readPage(backend, core.checkAfter(after), core.checkLimit(limit));
    return events.map((event, i) => ({ position: positions[i], event }));
  }

  /** The position of the last stored event, `0` for an empty store. */
  async lastPosition() {
    const backend = this.#open();
    if (wasmPending()) await wasmPending();
    return backend.lastPosition();
  }

  /**
   * Calls `listener` with `{ eventType: 'EventStored', event, position }` for each
   * stored event, asynchronously, once, in position order: with `{ after }`, first
   * every event after that position, then each new one; without, each new one.
   * Returns the function that unsubscribes.
   */
  subscribe(listener, options) {
    this.#open();
    if (typeof listener !== 'function') {
      throw new ValidationError('listener must be a function', { field: 'listener' });
    }
    const { after } = optionsObject(options);
    if (after === undefined) return this.#feed.add(listener, undefined);
    if (!wasmPending()) return this.#feed.add(listener, core.checkAfter(after));
    // Subscribed right after the import, while a browser still loads the module: `after` is checked once it has.
    let unsubscribe;
    let cancelled = false;
    wasmPending()
      .then(() => {
        if (!cancelled) unsubscribe = this.#feed.add(listener, core.checkAfter(after));
      })
      .catch((error) => reportError('aether-eventstore: a subscription could not start', error));
    return () => {
      cancelled = true;
      unsubscribe?.();
    };
  }

  /** The stored events with `position > after` as JSON Lines, one line (ending in `\n`) per event, in position order. */
  exportEvents(options) {
    const backend = this.#open();
    const open = () => this.#open();
    return (async function* lines() {
      if (wasmPending()) await wasmPending();
      let after = core.checkAfter(optionsObject(options).after);
      for (;;) {
        open();
        const page = JSON.parse(await backend.readAll(after, 1000));
        for (const { position, event } of page) {
          after = position;
          yield `${JSON.stringify(event)}\n`;
        }
        if (page.length === 0) return;
      }
    })();
  }

  /**
   * Stores the events of JSON Lines text (as `exportEvents` writes it), given as
   * a string, an iterable or async iterable of strings or bytes, or a ReadableStream.
   * Events already stored are skipped. Resolves with the counts.
   */
  async importEvents(source) {
    if (this.#held) await this.#held;
    const backend = this.#open();
    if (wasmPending()) await wasmPending();
    const saves = {
      saveOne: (json) => this.#open().saveEvent({ json }),
      saveMany: (json) => this.#open().saveEvents(json),
    };
    return importLines(source, saves, backend.oneActorPerBatch === true);
  }

  /** Releases the store's resources; afterwards every method rejects with `StorageError`. Closing twice is harmless. */
  async close() {
    if (this.#closed) return;
    this.#closed = true;
    for (const callback of this.#closeCallbacks) callback();
    this.#feed.clear();
    await this.#backend.close();
  }
}

Object.defineProperty(EventStore, Symbol.for('aether-eventstore.internals'), { value: internals });
