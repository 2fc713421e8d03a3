// `startSync(local, remote, options)`: keeps a local store (memory, IndexedDB,
// files) in sync with a remote one (JetStream, or any EventStore). The local
// store's backend keeps pending and confirmed events (its sync ledger); this
// module elects one syncer per database, runs its rounds (syncer.js) whenever
// something may have changed, backs off while the remote cannot be reached,
// and tells the app how things stand.

import { EventStore, StorageError, ValidationError } from 'aether-eventstore';
import { whileLeader } from './leader.js';
import { Syncer, diverged } from './syncer.js';
import { reportError } from '../report.js';

const { backendOf, core, encodeEvents, holdSaves, onClose } = EventStore[Symbol.for('aether-eventstore.internals')];

/** How long the syncer waits, with nothing to wake it, before looking again. */
const IDLE_MS = 5000;
/** Back-off after a failed round: from the first to the last, doubling. */
const FIRST_BACKOFF_MS = 250;
const LAST_BACKOFF_MS = 10_000;

/** Each ledger's listeners of its `onPending` notices: several syncs may watch one store. */
const pendingListeners = new WeakMap();

/** Calls `listener` on each of the ledger's `onPending` notices; returns the function that stops it. */
function listenPending(ledger, listener) {
  let listeners = pendingListeners.get(ledger);
  if (!listeners) {
    listeners = new Set();
    pendingListeners.set(ledger, listeners);
    ledger.onPending = () => {
      for (const each of [...listeners]) each();
    };
  }
  listeners.add(listener);
  return () => {
    listeners.delete(listener);
    if (listeners.size === 0 && pendingListeners.get(ledger) === listeners) {
      pendingListeners.delete(ledger);
      ledger.onPending = null;
    }
  };
}

/** How long stopping waits for the remote store it opened to close. */
const CLOSE_WAIT_MS = 2000;

const STATUSES = ['connecting', 'online', 'offline', 'stopped'];

/** What the sync uses of a remote store: an EventStore, or anything with the same methods. */
const REMOTE_METHODS = ['saveEvents', 'getEvents', 'readAll', 'lastPosition', 'subscribe', 'close'];

function isStore(value) {
  return value instanceof EventStore || (typeof value === 'object' && value !== null && REMOTE_METHODS.every((name) => typeof value[name] === 'function'));
}

function checkOptions(local, remote, options) {
  const ledger = backendOf(local);
  if (typeof ledger?.syncStart !== 'function') {
    throw new ValidationError(
      local instanceof EventStore
        ? 'local must be an open store that can be synced: in memory, IndexedDB or a directory'
        : 'local must be an EventStore',
      { field: 'local' },
    );
  }
  if (!isStore(remote) && typeof remote !== 'function') {
    throw new ValidationError('remote must be an EventStore, or a function that resolves to one (called when the sync connects)', { field: 'remote' });
  }
  for (const name of ['onConflict', 'filter']) {
    if (options[name] !== undefined && typeof options[name] !== 'function') {
      throw new ValidationError(`options.${name} must be a function`, { field: name });
    }
  }
  return ledger;
}

/** The sync of a local store with a remote one, as `startSync` returns it. */
export class Sync {
  /** @type {'connecting' | 'online' | 'offline' | 'stopped'} */
  status = 'connecting';
  /** The error of the last round that failed (the remote unreachable...), `null` after one that succeeded. */
  lastError = null;
  #local;
  #ledger;
  #remoteSource;
  #options;
  #statusListeners = new Set();
  #changeListeners = new Set();
  #stopper = new AbortController();
  /** Resolves once the store is marked synced (its saves pending); rejects if it cannot be. */
  #ready;
  /** Settles when this instance's part (waiting for the lock, then syncing) is over. */
  #running;
  #channel = null;
  /** Wakes the syncer from its wait; set while it waits. */
  #wakeUp = null;
  #wokenEarly = false;
  /** Calls waiting for the end of the next round. */
  #roundWaiters = [];
  #remote = null;
  /** The back-off before the next round, after rounds that failed. */
  #backoff = 0;
  /** The ledger's notice that the pending or rejected events changed. */
  #pendingChanged = () => {
    // Offline, the back-off decides when to try again: saving often must not hammer a server that is down.
    if (this.status !== 'offline') this.#wake();
    for (const listener of this.#changeListeners) this.#call(listener);
  };
  /** Stops hearing the ledger's notices. */
  #unlisten;
  /** The browser's `online` event: the network is back, so try now. */
  #online = () => {
    this.#backoff = 0;
    this.#wake();
  };
  /** Whether this instance is the one syncing the database. */
  #leading = false;
  /** Questions this instance asked the syncing one, by id. */
  #answers = new Map();

  constructor(local, remote, options) {
    this.#ledger = checkOptions(local, remote, options);
    this.#local = local;
    this.#remoteSource = remote;
    this.#options = options;
    this.#ready = this.#markSynced();
    holdSaves(local, this.#ready);
    onClose(local, () => {
      // The app closed the local store: the sync ends with it.
      this.#stopper.abort();
      this.#wake();
    });
    this.#unlisten = listenPending(this.#ledger, this.#pendingChanged);
    if (typeof BroadcastChannel === 'function') {
      this.#channel = new BroadcastChannel(`aether-eventstore-sync:${this.#ledger.syncKey}`);
      this.#channel.unref?.();
      this.#channel.onmessage = ({ data }) => this.#heard(data);
    }
    this.#running = this.#ready
      .then(() => whileLeader(this.#ledger.syncKey, () => this.#lead(), this.#stopper.signal))
      .then(() => this.#setStatus('stopped'))
      .catch((error) => {
        this.lastError = error;
        reportError('aether-eventstore: sync stopped', error);
        this.#setStatus('stopped');
      });
    this.#channel?.postMessage({ ask: true });
    globalThis.addEventListener?.('online', this.#online);
  }

  /**
   * The first sync of a store marks it synced; a store that already holds
   * events saved before is refused, as they were never offered to the remote.
   */
  async #markSynced() {
    if ((await this.#ledger.syncState()) === null) {
      const position = await this.#ledger.lastPosition();
      if (position > 0) {
        throw new StorageError(
          'this store already holds events saved before it was synced: sync a new store, and import these into it (store.importEvents(old.exportEvents())) to have them pushed',
        );
      }
    }
    await this.#ledger.syncStart();
  }

  /** Calls `listener` with each new status; returns the function that stops it. */
  onStatus(listener) {
    if (typeof listener !== 'function') throw new ValidationError('listener must be a function', { field: 'listener' });
    this.#statusListeners.add(listener);
    return () => this.#statusListeners.delete(listener);
  }

  /** Calls `listener` after the pending or rejected events changed (a save in any tab, a push accepted, a conflict); returns the function that stops it. */
  onChange(listener) {
    if (typeof listener !== 'function') throw new ValidationError('listener must be a function', { field: 'listener' });
    this.#changeListeners.add(listener);
    return () => this.#changeListeners.delete(listener);
  }

  /** The events saved locally and not yet accepted by the remote, in local order; with `actorId`, that actor's. */
  async pendingEvents(actorId) {
    await this.#ready;
    return JSON.parse(await this.#ledger.pendingEvents(actorId === undefined ? undefined : core.checkActorId(actorId)));
  }

  /** The pending events that a conflict (or the remote's refusal) took out, oldest first. */
  async rejected() {
    return (await this.rejections()).map((rejection) => rejection.event);
  }

  /** Like `rejected()`, with the reason of each: `{ event, reason }`. */
  async rejections() {
    await this.#ready;
    return JSON.parse(await this.#ledger.rejectedEvents());
  }

  /** Resolves once nothing is pending and every event the remote held when it was called has been pulled. */
  async flushed() {
    await this.#ready;
    const target = await this.#remoteLastPosition();
    for (;;) {
      if (this.status === 'stopped') throw new StorageError('the sync was stopped before it was flushed');
      const { remotePosition } = await this.#ledger.syncState();
      const done = remotePosition >= target && JSON.parse(await this.#ledger.pendingEvents()).length === 0;
      // Syncing here, it also waits for a round to have reported how things stand.
      if (done && (!this.#leading || this.status === 'online')) return;
      await this.#nextRound();
    }
  }

  /** Stops syncing (this instance); resolves once its syncer has stopped. The store stays synced: its saves stay pending. */
  async stop() {
    if (!this.#stopper.signal.aborted) {
      this.#stopper.abort();
      this.#wake();
    }
    await this.#running;
    globalThis.removeEventListener?.('online', this.#online);
    if (this.status !== 'stopped') this.#setStatus('stopped');
    this.#channel?.close();
    this.#unlisten();
    for (const resolve of this.#roundWaiters.splice(0)) resolve();
  }

  get #stopped() {
    return this.#stopper.signal.aborted;
  }

  /** The leader's part: rounds whenever something may have changed, and back-off while they fail. */
  async #lead() {
    let unsubscribe;
    this.#leading = true;
    const syncer = new Syncer(this.#ledger, () => this.#remote, {
      ...this.#options,
      encodeEvents,
      checkEvents: (json) => core.prepareEvents(json).free(),
      signal: this.#stopper.signal,
    });
    try {
      while (!this.#stopped) {
        try {
          await syncer.confirmLocalOnly(); // needs no remote: also offline
          if (!this.#remote) {
            this.#remote = await this.#connect();
            unsubscribe = this.#remote.subscribe(() => this.#wake());
          }
          await syncer.round(); // stopped, it makes no further call; one in flight settles by the remote's own deadline
          if (this.#stopped) break;
          this.#backoff = 0;
          this.lastError = null;
          this.#setStatus('online');
          this.#roundDone();
          await this.#wait(IDLE_MS);
        } catch (error) {
          if (this.#stopped) break;
          this.lastError = error;
          if (diverged(error)) {
            // No retry can mend it: say so, and stop, rather than look offline for ever.
            reportError('aether-eventstore: sync stopped: the local store no longer matches the remote', error);
            this.#stopper.abort();
            break;
          }
          if (error?.name !== 'StorageError') reportError('aether-eventstore: a sync round failed; trying again', error);
          this.#setStatus('offline');
          this.#roundDone();
          this.#backoff = Math.min(LAST_BACKOFF_MS, Math.max(FIRST_BACKOFF_MS, this.#backoff * 2));
          await this.#wait(this.#backoff * (0.75 + Math.random() / 2));
        }
      }
    } finally {
      unsubscribe?.();
      if (this.#remote && this.#remote !== this.#remoteSource) {
        // A connection that the network holds (a socket neither open nor closed) is not waited for long.
        let timer;
        const closed = this.#remote.close().catch(() => {});
        await Promise.race([closed, new Promise((resolve) => (timer = setTimeout(resolve, CLOSE_WAIT_MS)))]);
        clearTimeout(timer);
      }
      this.#remote = null;
      this.#leading = false;
      if (this.#stopped) this.#setStatus('stopped');
    }
  }

  async #connect() {
    const remote = typeof this.#remoteSource === 'function' ? await this.#remoteSource() : this.#remoteSource;
    if (!isStore(remote)) throw new ValidationError('the remote function must resolve to an EventStore', { field: 'remote' });
    return remote;
  }

  /**
   * The remote's last position: asked by the syncing instance, this one or
   * another on the database (over the channel), once it can reach the remote.
   */
  async #remoteLastPosition() {
    for (let backoff = FIRST_BACKOFF_MS; ; backoff = Math.min(LAST_BACKOFF_MS, backoff * 2)) {
      if (this.status === 'stopped') throw new StorageError('the sync was stopped before it was flushed');
      if (this.#remote) {
        try {
          return await this.#remote.lastPosition();
        } catch (error) {
          if (error?.name !== 'StorageError') throw error;
        }
      } else if (this.#leading) {
        await this.#nextRound(); // connecting: the round after it can tell
        continue;
      } else if (this.#channel) {
        const position = await this.#askLeader(backoff);
        if (position !== undefined) return position;
        continue;
      }
      await new Promise((resolve) => setTimeout(resolve, backoff));
    }
  }

  /** Asks the syncing instance for the remote's last position; `undefined` if no answer comes within `ms`. */
  #askLeader(ms) {
    const question = Math.random().toString(36).slice(2);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#answers.delete(question);
        resolve(undefined);
      }, ms);
      this.#answers.set(question, (position) => {
        clearTimeout(timer);
        this.#answers.delete(question);
        resolve(position);
      });
      this.#channel.postMessage({ flush: question });
    });
  }

  /** Waits `ms`, or less if woken. */
  #wait(ms) {
    if (this.#wokenEarly || this.#stopped) {
      this.#wokenEarly = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.#wake(), ms);
      this.#wakeUp = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  /** Something may have changed: run a round now (or right after the one running). */
  #wake() {
    const wakeUp = this.#wakeUp;
    this.#wakeUp = null;
    if (wakeUp) wakeUp();
    else this.#wokenEarly = true;
  }

  #roundDone() {
    for (const resolve of this.#roundWaiters.splice(0)) resolve();
  }

  /**
   * Resolves after the next round ends here, or soon (another instance syncs
   * the database; its results are in the store). While online, the round is
   * run now; otherwise it comes when the back-off says.
   */
  #nextRound() {
    if (this.status === 'online') this.#wake();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        this.#roundWaiters = this.#roundWaiters.filter((waiter) => waiter !== done);
        resolve();
      }, 200);
      this.#roundWaiters.push(done);
    });
  }

  #setStatus(status) {
    if (this.status === status || this.status === 'stopped') return;
    this.status = status;
    if (this.#leading) this.#channel?.postMessage({ status });
    for (const listener of this.#statusListeners) this.#call(listener, status);
  }

  /** Another instance's message: its status, if it syncs; a question for ours; or the answer to our question. */
  #heard(message) {
    if (message?.ask && this.#leading) this.#channel.postMessage({ status: this.status });
    else if (typeof message?.flush === 'string' && this.#remote) {
      this.#remote.lastPosition().then(
        (position) => this.#channel?.postMessage({ answer: message.flush, position }),
        () => {}, // unreachable now: the one who asked asks again
      );
    } else if (typeof message?.answer === 'string') this.#answers.get(message.answer)?.(message.position);
    else if (STATUSES.includes(message?.status) && message.status !== 'stopped' && !this.#leading) this.#setStatus(message.status);
  }

  #call(listener, ...args) {
    try {
      const result = listener(...args);
      if (typeof result?.then === 'function') result.then(undefined, (error) => reportError('aether-eventstore: a sync listener failed', error));
    } catch (error) {
      reportError('aether-eventstore: a sync listener failed', error);
    }
  }
}

/**
 * Starts syncing `local` (memory, IndexedDB or directory) with `remote` (an
 * EventStore, or a function that resolves to one): see README, "Sync".
 */
export function startSync(local, remote, options = {}) {
  if (options === null || typeof options !== 'object') throw new ValidationError('options must be an object', { field: 'options' });
  return new Sync(local, remote, options);
}
