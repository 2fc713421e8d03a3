// CommandHandler: the optimistic-concurrency loop done once: load an actor's
// state (latest snapshot, then the events after it), decide new events on it,
// save them as one batch at the next versions, and on a version conflict load
// and decide again. It works on any EventStore, through its public methods.

import { ValidationError, isVersionConflict } from './errors.js';
import { reportError } from './report.js';

/** Fields a decided event may not set: the handler gives them. */
const GIVEN_BY_HANDLER = ['actorId', 'version'];

function requireFunction(value, field) {
  if (typeof value !== 'function') throw new ValidationError(`${field} must be a function`, { field });
  return value;
}

function optionalCount(value, field, { min, fallback }) {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < min) {
    throw new ValidationError(`${field} must be a safe integer >= ${min}`, { field });
  }
  return value;
}

/** Whether saving `count` events after `version` reaches or crosses a multiple of `every`. */
function crossesMultiple(version, count, every) {
  return Math.floor((version + count) / every) > Math.floor(version / every);
}

/** Loads, decides and saves commands for one kind of actor. */
export class CommandHandler {
  #initialState;
  #evolve;
  #snapshotEvery;
  #maxRetries;

  /**
   * @param {{ initialState: () => unknown, evolve: (state: unknown, event: object) => unknown,
   *           snapshotEvery?: number, maxRetries?: number }} options
   */
  constructor(options) {
    if (typeof options !== 'object' || options === null) {
      throw new ValidationError('options must be an object with initialState and evolve', { field: 'options' });
    }
    this.#initialState = requireFunction(options.initialState, 'initialState');
    this.#evolve = requireFunction(options.evolve, 'evolve');
    this.#snapshotEvery = optionalCount(options.snapshotEvery, 'snapshotEvery', { min: 1, fallback: undefined });
    this.#maxRetries = optionalCount(options.maxRetries, 'maxRetries', { min: 0, fallback: 3 });
  }

  /** The actor's state: its latest snapshot (or `initialState()`), evolved over the events after it. */
  async load(store, actorId) {
    const snapshot = await store.getLatestSnapshot(actorId);
    let state = snapshot === null ? this.#initialState() : snapshot.state;
    let version = snapshot === null ? 0 : snapshot.version;
    for (const event of await store.getEvents(actorId, version + 1)) {
      state = this.#evolve(state, event);
      version = event.version;
    }
    return { state, version };
  }

  /**
   * Loads the actor, calls `decide(state)` and saves the events it returns as one
   * batch at the next versions, with `options.metadata` and `options.commandId`
   * added to each. On a version conflict it loads and decides again, at most
   * `maxRetries` more times, then rejects with the last conflict.
   */
  async handle(store, actorId, decide, options = {}) {
    requireFunction(decide, 'decide');
    const { metadata, commandId } = options ?? {};
    let floor = 0; // the version a conflict reported: a damaged record the load cannot read still holds it
    for (let attempt = 0; ; attempt++) {
      const loaded = await this.load(store, actorId);
      const { state } = loaded;
      const version = Math.max(loaded.version, floor);
      const decided = await decide(state);
      if (!Array.isArray(decided)) {
        throw new ValidationError('decide must return an array of events (an empty one to store nothing)', { field: 'decide' });
      }
      if (decided.length === 0) return { state, version, events: [] };
      const events = decided.map((event, i) => this.#complete(event, i, actorId, version + i + 1, metadata, commandId));
      let stored;
      try {
        stored = await store.saveEvents(events);
      } catch (error) {
        if (!isVersionConflict(error) || attempt >= this.#maxRetries) throw error;
        floor = error.currentVersion;
        continue;
      }
      const next = stored.reduce((current, event) => this.#evolve(current, event), state);
      const reached = stored.at(-1).version;
      if (this.#snapshotEvery && crossesMultiple(version, stored.length, this.#snapshotEvery)) {
        await this.#snapshot(store, actorId, reached, next);
      }
      return { state: next, version: reached, events: stored };
    }
  }

  /** A decided event as it is saved: the actor and version given, the command's metadata and id added. */
  #complete(event, index, actorId, version, metadata, commandId) {
    if (typeof event !== 'object' || event === null || Array.isArray(event)) {
      throw new ValidationError(`[${index}] must be an event object`, { field: `[${index}]` });
    }
    for (const field of GIVEN_BY_HANDLER) {
      if (event[field] !== undefined) {
        throw new ValidationError(`[${index}].${field} is given by the CommandHandler: leave it out of what decide returns`, {
          field: `[${index}].${field}`,
        });
      }
    }
    const completed = { ...event, actorId, version };
    // The event's own metadata entries win over the command's.
    if (metadata) completed.metadata = { ...metadata, ...event.metadata };
    if (commandId !== undefined && (event.commandId === undefined || event.commandId === null || event.commandId === '')) {
      completed.commandId = commandId;
    }
    return completed;
  }

  /** Saves a snapshot; the events are stored already, so a failure is reported, not thrown. */
  async #snapshot(store, actorId, version, state) {
    try {
      await store.saveSnapshot({ actorId, version, state });
    } catch (error) {
      reportError('aether-eventstore: CommandHandler could not save a snapshot (the events are stored)', error);
    }
  }
}
