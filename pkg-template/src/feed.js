// The feed of a store's commits to its subscribers: every event once, in
// position order, with no gap, after an optional catch-up from a position.
//
// A backend tells the feed of commits through `onCommitted(recorded)`, where
// `recorded` is the JSON text of the commit's `{ position, event }` entries.
// Where its notices are complete and in commit order (`orderedNotices`: memory,
// JetStream, files), the feed delivers them as they are. Where they are not
// (IndexedDB: other tabs' BroadcastChannel messages may arrive in any order, or
// not at all, and carry no events), a notice of this instance's own commit is
// delivered as it is only to a subscriber whose last position comes right
// before it; otherwise it wakes the feed, which reads what was committed after
// the subscriber's last position (`readAll`). A backend may also offer
// `readAllEvents(after, limit)`, answering `{ events, positions }` (the events
// alone as a JSON array, and the position of each), which catching up reads
// instead: a page without the `{ position, event }` wrappers parses faster.

import { reportError } from './report.js';
import { wasmPending } from './wasm-loading.js';

/** The `eventType` of the notification sent to subscribers after each stored event. */
export const EventTypeEventStored = 'EventStored';

/** How many events one catch-up read asks for. */
const PAGE = 1000;
/** How long to wait before reading again after a failed read. */
const RETRY_MS = 1000;

/**
 * Freezes `value` and every object and array in it. Only for the fresh result
 * of `JSON.parse`: a tree, nothing in it frozen or shared yet, so neither is
 * checked; primitives are skipped before the call, arrays walked by index.
 */
function freezeParsed(value) {
  Object.freeze(value);
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const item = value[i];
      if (typeof item === 'object' && item !== null) freezeParsed(item);
    }
  } else {
    const keys = Object.keys(value);
    for (let i = 0; i < keys.length; i++) {
      const item = value[keys[i]];
      if (typeof item === 'object' && item !== null) freezeParsed(item);
    }
  }
}

/**
 * A page of the global order from `backend`: `{ events, positions }`, the
 * events parsed and the position of each. From `readAllEvents` where the
 * backend has it (without the `{ position, event }` wrappers a page parses
 * about a fifth faster), else from `readAll`.
 */
export async function readPage(backend, after, limit) {
  if (backend.readAllEvents) {
    const { events, positions } = await backend.readAllEvents(after, limit);
    return { events: JSON.parse(events), positions };
  }
  const entries = JSON.parse(await backend.readAll(after, limit));
  return { events: entries.map((entry) => entry.event), positions: entries.map((entry) => entry.position) };
}

/** A notification as listeners receive it, deep-frozen; `event` is freshly parsed. */
function notification(position, event) {
  if (typeof event === 'object' && event !== null) freezeParsed(event);
  return Object.freeze({ eventType: EventTypeEventStored, event, position });
}

const reportListenerError = (error) => reportError('aether-eventstore: an EventStored listener failed', error);

/** Calls a listener; what it throws, or the rejection of the promise it returns, is reported. */
function callListener(listener, notice) {
  try {
    const result = listener(notice);
    if (typeof result?.then === 'function') result.then(undefined, reportListenerError);
  } catch (error) {
    reportListenerError(error);
  }
}

/** One subscriber: its listener, the last position it was given, and whether it is still catching up. */
class Subscription {
  /** @type {number} positions up to this one have been delivered (or are not wanted) */
  cursor;
  active = true;
  /** @type {object[] | null} notifications that arrived while catching up (ordered notices only) */
  held = null;
  /** Whether a read for this subscriber is running, and whether another is wanted after it. */
  reading = false;
  readAgain = false;

  constructor(listener, cursor) {
    this.listener = listener;
    this.cursor = cursor;
  }

  /** Calls the listener with `notice` if it is after the cursor. */
  deliver(notice) {
    if (!this.active || notice.position <= this.cursor) return;
    this.cursor = notice.position;
    callListener(this.listener, notice);
  }
}

export class Feed {
  #backend;
  /** @type {Set<Subscription>} */
  #subscriptions = new Set();

  constructor(backend) {
    this.#backend = backend;
    backend.onCommitted = null;
  }

  /**
   * Subscribes `listener`: from `after` (a position, caught up first), or to what
   * is committed from now on when `after` is `undefined`. Returns the function that unsubscribes.
   */
  add(listener, after) {
    const subscription = new Subscription(listener, after ?? -Infinity);
    this.#subscriptions.add(subscription);
    this.#backend.onCommitted = (recorded) => this.#committed(recorded);
    const watching = this.#backend.watch?.();
    if (this.#backend.orderedNotices) {
      if (after !== undefined) {
        subscription.held = [];
        this.#catchUp(subscription, watching);
      }
    } else if (after === undefined) {
      // From now on: everything after the position committed at this moment.
      subscription.reading = true;
      this.#backend.lastPosition().then(
        (position) => {
          subscription.cursor = position;
          this.#finishRead(subscription);
        },
        (error) => {
          subscription.active = false;
          reportError('aether-eventstore: a subscription could not start', error);
        },
      );
    } else {
      this.#read(subscription);
    }
    return () => this.#remove(subscription);
  }

  /** Stops every delivery. */
  clear() {
    for (const subscription of this.#subscriptions) subscription.active = false;
    this.#subscriptions.clear();
    this.#backend.onCommitted = null;
  }

  #remove(subscription) {
    subscription.active = false;
    this.#subscriptions.delete(subscription);
    if (this.#subscriptions.size === 0) this.#backend.onCommitted = null;
  }

  /**
   * A backend's notice of a commit, handled after the call that made it returns.
   * Unordered notices carry `recorded` for this instance's own commits only: a
   * subscriber right before them gets them as they are; any other reads what is new.
   */
  #committed(recorded) {
    const subscriptions = [...this.#subscriptions];
    const ordered = this.#backend.orderedNotices;
    queueMicrotask(() => {
      const notices = recorded === undefined ? undefined : JSON.parse(recorded).map((entry) => notification(entry.position, entry.event));
      for (const subscription of subscriptions) {
        if (ordered && subscription.held) subscription.held.push(...notices);
        else if (ordered || this.#follows(subscription, notices)) for (const notice of notices) subscription.deliver(notice);
        else this.#read(subscription);
      }
    });
  }

  /** Whether `notices` come right after what `subscription` was given, so that nothing can be missing between. */
  #follows(subscription, notices) {
    return notices !== undefined && !subscription.reading && subscription.cursor === notices[0].position - 1;
  }

  /** Ordered notices: reads from the subscriber's position until nothing is left, then hands over to the notices held meanwhile. */
  async #catchUp(subscription, watching) {
    try {
      await watching; // notices are heard from here on, so reading up to now leaves no gap
      await this.#readToEnd(subscription);
      const held = subscription.held;
      subscription.held = null;
      for (const notice of held) subscription.deliver(notice);
    } catch (error) {
      if (!subscription.active) return;
      reportError('aether-eventstore: catching up a subscription failed; trying again', error);
      setTimeout(() => this.#catchUp(subscription, undefined), RETRY_MS);
    }
  }

  /** Unordered notices: reads what was committed after the subscriber's position, one read at a time. */
  #read(subscription) {
    if (!subscription.active) return;
    if (subscription.reading) {
      subscription.readAgain = true;
      return;
    }
    subscription.reading = true;
    this.#readToEnd(subscription).then(
      () => this.#finishRead(subscription),
      (error) => {
        subscription.reading = false;
        if (!subscription.active) return;
        reportError('aether-eventstore: reading new events for a subscription failed; trying again', error);
        setTimeout(() => this.#read(subscription), RETRY_MS);
      },
    );
  }

  #finishRead(subscription) {
    subscription.reading = false;
    if (subscription.readAgain) {
      subscription.readAgain = false;
      this.#read(subscription);
    }
  }

  async #readToEnd(subscription) {
    if (wasmPending()) await wasmPending();
    while (subscription.active) {
      const { events, positions } = await readPage(this.#backend, Math.max(subscription.cursor, 0), PAGE);
      for (let i = 0; i < events.length; i++) subscription.deliver(notification(positions[i], events[i]));
      if (events.length < PAGE) return;
    }
  }
}
