// The in-memory backend: the Rust core's StoreCore, which already holds the streams.

import { StoreCore } from '#wasm';
import { storageError } from './errors.js';

/**
 * Runs a call into the core. The core refuses what memory cannot hold with
 * StorageError; only handing it the input itself can fail with a trap (the
 * memory cannot grow even for the input's bytes), which stores nothing either.
 */
function guarded(call) {
  try {
    return call();
  } catch (error) {
    if (!(error instanceof WebAssembly.RuntimeError)) throw error;
    throw storageError('out of memory: the store\'s memory (WebAssembly memory, 4 GiB at most) cannot grow to take this; nothing was stored', error);
  }
}

/** Keeps every stream in the Rust core's memory. Calls are synchronous. */
export class MemoryBackend {
  #instance = null;
  /** Only this instance writes to this memory, so its notices are every commit, in order. */
  orderedNotices = true;
  /** Set by the feed while anyone listens. */
  onCommitted = null;

  saveEvent(json) {
    return this.#settled(guarded(() => this.#core.saveEvent(json)));
  }

  saveEvents(json) {
    return this.#settled(guarded(() => this.#core.saveEvents(json)));
  }

  /** What a save resolves with; its events (the last ones of the global order) go to the listeners. */
  #settled(stored) {
    const count = this.#core.lastSaveStored();
    if (count > 0 && this.onCommitted) {
      const last = this.#core.lastPosition();
      this.onCommitted(this.#core.readAll(last - count, count));
    }
    return { stored, retried: count === 0 };
  }

  getEvents(actorId, fromVersion) {
    return guarded(() => this.#core.getEvents(actorId, fromVersion));
  }

  /** Memory holds only validated events, so there is never a record that cannot be decoded. */
  getEventsWithErrors(actorId, fromVersion) {
    return { events: this.getEvents(actorId, fromVersion), errors: [] };
  }

  getLatestVersion(actorId) {
    return this.#core.getLatestVersion(actorId);
  }

  saveSnapshot(json) {
    return guarded(() => this.#core.saveSnapshot(json));
  }

  getLatestSnapshot(actorId) {
    return this.#core.getLatestSnapshot(actorId);
  }

  readAll(after, limit) {
    return guarded(() => this.#core.readAll(after, limit));
  }

  lastPosition() {
    return this.#core.lastPosition();
  }

  /** The core's store, made on first use: a browser may still be loading the module when the store is constructed. */
  get #core() {
    this.#instance ??= new StoreCore();
    return this.#instance;
  }

  close() {
    this.#instance?.free();
  }
}
