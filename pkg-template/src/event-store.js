// EventStore: the public class. It encodes input (json.js), delegates to a
// backend (memory, IndexedDB, JetStream), decodes results, and fans out notifications.
// Validation and the version rule are the Rust core's, whatever the backend.
//
// A backend takes and returns JSON text, with read arguments already checked:
//   saveEvent(json) -> stored json          saveEvents(jsonArray) -> stored jsonArray
//   getEvents(actorId, fromVersion) -> jsonArray
//   getEventsWithErrors(actorId, fromVersion) -> { events: jsonArray, errors }
//   getLatestVersion(actorId) -> number     saveSnapshot(json) -> stored json
//   getLatestSnapshot(actorId) -> json | undefined                close()
// each returning a value or a Promise of it. A save that retries stored events
// (the core's rule) resolves with them. A backend calls `onCommitted(jsonArray)`
// with every commit, its own and other instances', in commit order, and never
// for a retry; `watch()`, if it has one, is called when the first listener subscribes.

import * as core from '#wasm';
import { StorageError, ValidationError, storageError } from './errors.js';
import * as records from './records.js';
import { IndexedDbBackend } from './indexeddb-backend.js';
import { encodeEvent, encodeEvents, encodeSnapshot } from './json.js';
import { MemoryBackend } from './memory-backend.js';
import { reportError } from './report.js';

/** The `eventType` of the notification sent to subscribers after each stored event. */
export const EventTypeEventStored = 'EventStored';

const CONSTRUCT_WITH_BACKEND = Symbol('construct with backend');

/**
 * What the package's other entry points (aether-eventstore/jetstream) build on,
 * reached through the class so that they share this module's instance. Not for applications.
 */
const internals = Object.freeze({
  storeOver: (backend) => new EventStore(CONSTRUCT_WITH_BACKEND, backend),
  storageError,
  records,
  core,
});

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

function deepFreeze(value) {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const key of Object.keys(value)) deepFreeze(value[key]);
  }
  return value;
}

/** Reports an error of a listener without letting it reach the store or other listeners. */
const reportListenerError = (error) => reportError('aether-eventstore: an EventStored listener failed', error);

/** Calls a listener; what it throws, or the rejection of the promise it returns, is reported. */
function callListener(listener, notification) {
  try {
    const result = listener(notification);
    if (typeof result?.then === 'function') result.then(undefined, reportListenerError);
  } catch (error) {
    reportListenerError(error);
  }
}

/** An append-only store of per-actor event streams with optimistic concurrency. */
export class EventStore {
  #backend;
  /** @type {Set<{ listener: Function }>} one entry per subscription */
  #subscriptions = new Set();
  #closed = false;

  /** An in-memory store. It takes no arguments: persistent stores are opened with `EventStore.openIndexedDb` and friends. */
  constructor(...internal) {
    if (internal.length > 0 && internal[0] !== CONSTRUCT_WITH_BACKEND) {
      throw new ValidationError(
        'new EventStore() takes no arguments and makes an in-memory store; to persist events, use EventStore.openIndexedDb(name) in a browser or EventStore.openDirectory(directory) in Node.js',
        { field: 'arguments' },
      );
    }
    this.#backend = internal[0] === CONSTRUCT_WITH_BACKEND ? internal[1] : new MemoryBackend();
    this.#backend.onCommitted = (storedJson) => {
      if (!this.#closed) this.#publish(storedJson);
    };
  }

  /**
   * A store persisted in the IndexedDB database `name`, shared safely with other
   * tabs and instances. Rejects with `StorageError` where IndexedDB is unavailable.
   */
  static async openIndexedDb(name, options = {}) {
    return new EventStore(CONSTRUCT_WITH_BACKEND, await IndexedDbBackend.open(name, options));
  }

  #open() {
    if (this.#closed) throw new StorageError('the store is closed');
    return this.#backend;
  }

  /** Stores one event if its version is above the actor's latest; resolves with the stored event. */
  async saveEvent(event) {
    const backend = this.#open();
    return JSON.parse(await backend.saveEvent(encodeEvent(event)));
  }

  /** Stores every event or none; resolves with the stored events. */
  async saveEvents(events) {
    const backend = this.#open();
    const json = encodeEvents(events);
    if (json === '[]') return [];
    return JSON.parse(await backend.saveEvents(json));
  }

  /** The actor's events with `version >= fromVersion`, ascending. */
  async getEvents(actorId, fromVersion = 0) {
    const backend = this.#open();
    return JSON.parse(await backend.getEvents(core.checkActorId(actorId), core.checkFromVersion(fromVersion)));
  }

  /** Like `getEvents`, and also the stored records that could not be decoded. */
  async getEventsWithErrors(actorId, fromVersion = 0) {
    const backend = this.#open();
    const { events, errors } = await backend.getEventsWithErrors(core.checkActorId(actorId), core.checkFromVersion(fromVersion));
    return new ReplayResult(JSON.parse(events), errors);
  }

  /** The actor's latest version, `0` when it has no events. */
  async getLatestVersion(actorId) {
    const backend = this.#open();
    return backend.getLatestVersion(core.checkActorId(actorId));
  }

  /** Stores a snapshot; one at the same version is replaced. */
  async saveSnapshot(snapshot) {
    return JSON.parse(await this.#open().saveSnapshot(encodeSnapshot(snapshot)));
  }

  /** The actor's snapshot with the highest version, or `null`. */
  async getLatestSnapshot(actorId) {
    const backend = this.#open();
    const stored = await backend.getLatestSnapshot(core.checkActorId(actorId));
    return stored === undefined ? null : JSON.parse(stored);
  }

  /**
   * Calls `listener` with `{ eventType: 'EventStored', event }` after each stored event,
   * asynchronously and in commit order. Returns the function that unsubscribes.
   */
  subscribe(listener) {
    this.#open();
    if (typeof listener !== 'function') {
      throw new ValidationError('listener must be a function', { field: 'listener' });
    }
    const subscription = { listener };
    this.#subscriptions.add(subscription);
    this.#backend.watch?.();
    return () => {
      this.#subscriptions.delete(subscription);
    };
  }

  /** Notifies the current subscribers of stored events, given as a JSON array, after this call returns. */
  #publish(storedJson) {
    if (this.#subscriptions.size === 0) return;
    const subscriptions = [...this.#subscriptions];
    queueMicrotask(() => {
      for (const event of JSON.parse(storedJson)) {
        const notification = deepFreeze({ eventType: EventTypeEventStored, event });
        for (const subscription of subscriptions) {
          if (this.#subscriptions.has(subscription)) callListener(subscription.listener, notification);
        }
      }
    });
  }

  /** Releases the store's resources; afterwards every method rejects with `StorageError`. Closing twice is harmless. */
  async close() {
    if (this.#closed) return;
    this.#closed = true;
    this.#subscriptions.clear();
    await this.#backend.close();
  }
}

Object.defineProperty(EventStore, Symbol.for('aether-eventstore.internals'), { value: internals });
