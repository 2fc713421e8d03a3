// The in-memory backend: the Rust core's StoreCore, which already holds the streams.

import { StoreCore } from '#wasm';

/** Keeps every stream in the Rust core's memory. Calls are synchronous. */
export class MemoryBackend {
  #core = new StoreCore();
  /** Called with each commit; only this instance writes to this memory. */
  onCommitted = null;

  saveEvent(json) {
    const stored = this.#core.saveEvent(json);
    if (!this.#core.lastSaveRetried()) this.onCommitted?.(`[${stored}]`);
    return stored;
  }

  saveEvents(json) {
    const stored = this.#core.saveEvents(json);
    if (!this.#core.lastSaveRetried()) this.onCommitted?.(stored);
    return stored;
  }

  getEvents(actorId, fromVersion) {
    return this.#core.getEvents(actorId, fromVersion);
  }

  /** Memory holds only validated events, so there is never a record that cannot be decoded. */
  getEventsWithErrors(actorId, fromVersion) {
    return { events: this.#core.getEvents(actorId, fromVersion), errors: [] };
  }

  getLatestVersion(actorId) {
    return this.#core.getLatestVersion(actorId);
  }

  saveSnapshot(json) {
    return this.#core.saveSnapshot(json);
  }

  getLatestSnapshot(actorId) {
    return this.#core.getLatestSnapshot(actorId);
  }

  close() {
    this.#core.free();
  }
}
