// One round of sync between a local store's ledger and a remote store: pull
// the remote's new events (conflicts resolved as they arrive), then push the
// pending events, per actor in local order, in chunks.
//
// Every step is idempotent, so a round cut short anywhere (a lost reply, a
// closed tab, a killed process) is simply run again: a push repeated is an
// idempotent retry on the remote, a pull repeated finds its events confirmed,
// and each change to the local store is one `syncCommit`, all or nothing.

import { isVersionConflict } from 'aether-eventstore';
import { REASONS, checkReplacements, findConflict, groupByActor, rebased } from './reconcile.js';
import { reportError } from '../report.js';

/** How many remote events one pull reads at a time. */
const PULL_PAGE = 500;
/** How many of an actor's pending events one push carries at most, and about how many bytes. */
const PUSH_EVENTS = 100;
const PUSH_BYTES = 256 * 1024;
/** How many actors are pushed at once. */
const PUSH_ACTORS_AT_ONCE = 8;
/** How often a change is prepared again when another instance saved while it was prepared. */
const COMMIT_ATTEMPTS = 20;

/** Whether the remote refused a write for a reason that no retry can change (so the event goes to `rejected()`). */
function refusedForGood(error) {
  if (error?.name === 'ValidationError') return true;
  const text = `${error?.message ?? ''} ${error?.cause?.message ?? ''}`;
  return error?.name === 'StorageError' && /max(imum)?[ _]payload|message size exceeds|too large|permission|not permitted|authoriz/i.test(text);
}

/** An actor's pending events in chunks of at most PUSH_EVENTS events and about PUSH_BYTES bytes. */
function chunksOf(queue) {
  const chunks = [];
  let chunk = [];
  let bytes = 0;
  for (const event of queue) {
    const size = JSON.stringify(event.data).length + 256;
    if (chunk.length > 0 && (chunk.length === PUSH_EVENTS || bytes + size > PUSH_BYTES)) {
      chunks.push(chunk);
      chunk = [];
      bytes = 0;
    }
    chunk.push(event);
    bytes += size;
  }
  if (chunk.length > 0) chunks.push(chunk);
  return chunks;
}

/** Runs `work(item)` for every item, at most `width` at a time; rejects with the first failure once all have settled. */
async function eachConcurrently(items, width, work) {
  let next = 0;
  const failures = [];
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++];
      await work(item).catch((error) => failures.push(error));
    }
  };
  await Promise.all(Array.from({ length: Math.min(width, items.length) }, worker));
  if (failures.length > 0) throw failures[0];
}

const keyOf = ({ actorId, version }) => ({ actorId, version });

/** What a round stopped by `stop()` ends with, before its next call to either store. */
export class StoppedError extends Error {
  constructor() {
    super('the sync was stopped');
    this.name = 'StoppedError';
  }
}

/**
 * Whether the local store's confirmed events no longer match the remote's (a
 * remote event below one confirmed here: only gapped versions racing can do
 * it). Every ledger says so in the same words; no retry can mend it.
 */
export function diverged(error) {
  return error?.name === 'StorageError' && /^the local store diverged from the remote/.test(error.message);
}

/** The JSON arrays in `parts` as one. */
function joinArrays(parts) {
  const inner = parts.map((part) => part.slice(1, -1)).filter((part) => part !== '');
  return `[${inner.join(',')}]`;
}

export class Syncer {
  #ledger;
  #remote;
  #onConflict;
  #wanted;
  #encodeEvents;
  #checkEvents;
  #signal;
  /** Whether a filter leaves some actors out. */
  #filtered;

  /**
   * @param {object} ledger the local store's backend (its sync ledger)
   * @param {() => import('aether-eventstore').EventStore} remote the remote store, once connected
   * @param {{ onConflict?: Function, filter?: (actorId: string) => boolean, encodeEvents: Function, checkEvents: Function, signal: AbortSignal }} options
   *   `signal` stops the round before its next call to either store
   */
  constructor(ledger, remote, { onConflict, filter, encodeEvents, checkEvents, signal }) {
    this.#ledger = ledger;
    this.#remote = remote;
    this.#onConflict = onConflict;
    this.#filtered = filter !== undefined;
    this.#wanted = filter ?? (() => true);
    this.#encodeEvents = encodeEvents;
    this.#checkEvents = checkEvents;
    this.#signal = signal;
  }

  /** The remote, unless the sync was stopped: a stopped round makes no further call. */
  get #to() {
    if (this.#signal.aborted) throw new StoppedError();
    return this.#remote();
  }

  /** Confirms here, without the remote, the pending events of actors that `filter` leaves out. */
  async confirmLocalOnly() {
    if (!this.#filtered) return;
    const localOnly = JSON.parse(await this.#ledger.pendingEvents()).filter((event) => !this.#wanted(event.actorId));
    if (localOnly.length > 0) await this.#commit(() => ({ confirmed: JSON.stringify(localOnly) }));
  }

  /** Pulls what the remote has that is new, then pushes what is pending. Rejects if the remote cannot be reached. */
  async round() {
    await this.#pull();
    await this.#push();
  }

  async #pull() {
    let { remotePosition } = await this.#ledger.syncState();
    for (;;) {
      const page = await this.#to.readAll({ after: remotePosition, limit: PULL_PAGE });
      if (page.length === 0) return;
      remotePosition = page.at(-1).position;
      const events = page.map((recorded) => recorded.event).filter((event) => this.#wanted(event.actorId));
      const more = page.length === PULL_PAGE;
      await this.#applyRemote(events, remotePosition, more);
      if (!more) return;
    }
  }

  /** Reads the actor's events from `fromVersion` on from the remote, and takes them in; resolves with how many there were. */
  async #pullActor(actorId, fromVersion) {
    const events = await this.#to.getEvents(actorId, fromVersion);
    if (events.length > 0) await this.#applyRemote(events, undefined);
    return events.length;
  }

  /**
   * Takes the remote's events in as confirmed (with the remote position they
   * reach, when given): pending events the remote accepted become confirmed,
   * and an actor whose pending events lost their versions gets its conflict
   * decided (each conflict once, however often the change is prepared). When
   * `more` pages follow, a conflicting actor's later remote events are read
   * first, so that its conflict is decided once, on all of them.
   */
  async #applyRemote(events, remotePosition, more = false) {
    const decisions = new Map();
    const later = new Map(); // a conflicting actor's remote events past this page, read once
    await this.#commit(async () => {
      const confirmed = [...events];
      const change = { dropped: [], pending: [], rejected: [], remotePosition };
      for (const [actorId, page] of groupByActor(events)) {
        const waiting = JSON.parse(await this.#ledger.pendingEvents(actorId));
        let remote = page;
        if (more && findConflict(waiting, page)) {
          if (!later.has(actorId)) later.set(actorId, await this.#to.getEvents(actorId, page.at(-1).version + 1));
          remote = page.concat(later.get(actorId));
          confirmed.push(...later.get(actorId));
        }
        const conflict = findConflict(waiting, remote);
        if (!conflict) continue;
        const key = JSON.stringify([conflict.pending.map((event) => event.id), conflict.remote.map((event) => event.id)]);
        if (!decisions.has(key)) decisions.set(key, await this.#decide(actorId, conflict, remote.at(-1).version));
        const { pending, rejected } = decisions.get(key);
        change.dropped.push(...conflict.pending.map(keyOf));
        change.pending.push(pending);
        change.rejected.push(...rejected);
      }
      change.confirmed = JSON.stringify(confirmed);
      return change;
    });
  }

  /** What becomes of a conflict's losing events: `onConflict`'s answer ('rebase' by default), as new pending events and rejections. */
  async #decide(actorId, conflict, latest) {
    let answer = 'rebase';
    try {
      if (this.#onConflict) {
        answer = await this.#onConflict({ actorId, pending: structuredClone(conflict.pending), remote: structuredClone(conflict.remote) });
      }
      if (answer === 'rebase') return { pending: JSON.stringify(rebased(conflict.pending, latest)), rejected: [] };
      const reason = answer === 'discard' ? REASONS.discarded : REASONS.replaced;
      const rejected = conflict.pending.map((event) => ({ event, reason }));
      if (answer === 'discard') return { pending: '[]', rejected };
      if (!Array.isArray(answer)) {
        throw new TypeError(`onConflict must answer 'rebase', 'discard' or an array of events, not ${JSON.stringify(answer) ?? typeof answer}`);
      }
      checkReplacements(answer, actorId, latest);
      const pending = this.#encodeEvents(answer);
      this.#checkEvents(pending);
      return { pending, rejected };
    } catch (error) {
      reportError(`aether-eventstore: onConflict for "${actorId}" failed; its conflicting pending events are kept in rejected()`, error);
      const reason = `conflict: onConflict failed (${error?.message ?? error})`;
      return { pending: '[]', rejected: conflict.pending.map((event) => ({ event, reason })) };
    }
  }

  async #push() {
    for (;;) {
      // Actors the filter leaves out wait for confirmLocalOnly, before the next round.
      const pending = JSON.parse(await this.#ledger.pendingEvents()).filter((event) => this.#wanted(event.actorId));
      const queues = [...groupByActor(pending).values()];
      if (queues.length === 0) return;
      await eachConcurrently(queues, PUSH_ACTORS_AT_ONCE, (queue) => this.#pushActor(queue));
    }
  }

  /** Pushes an actor's pending events chunk by chunk, until one is not simply accepted (the next pass reads the pending events again). */
  async #pushActor(queue) {
    // A failed pull here fails the round: pushing past a gap the remote may fill would diverge.
    if (await this.#gapBelow(queue[0])) await this.#pullActor(queue[0].actorId, 1);
    for (const chunk of chunksOf(queue)) {
      if (!(await this.#pushChunk(chunk))) return;
    }
  }

  /**
   * Whether the actor's first pending event is not right after a confirmed
   * event: the remote may then hold events in between that its version rule
   * would not stop a push from passing over, so they are pulled first.
   */
  async #gapBelow(first) {
    if (first.version === 1) return false;
    const [below] = JSON.parse(await this.#ledger.getEvents(first.actorId, first.version - 1));
    return below?.version !== first.version - 1;
  }

  /** Pushes one chunk; true if the remote accepted it and it is confirmed. */
  async #pushChunk(chunk) {
    try {
      await this.#to.saveEvents(chunk);
    } catch (error) {
      if (isVersionConflict(error)) {
        if ((await this.#pullActor(chunk[0].actorId, chunk[0].version)) === 0) {
          throw new Error(`the remote refused a push to "${chunk[0].actorId}" at version ${chunk[0].version} as a conflict, but holds no event from that version on`);
        }
        return false;
      }
      if (!refusedForGood(error)) throw error;
      if (chunk.length > 1) {
        for (const event of chunk) if (!(await this.#pushChunk([event]))) return false;
        return true;
      }
      const reason = `refused by the remote: ${error.message}`;
      await this.#commit(() => ({ dropped: [keyOf(chunk[0])], rejected: [{ event: chunk[0], reason }] }));
      return false;
    }
    await this.#commit(() => ({ confirmed: JSON.stringify(chunk) }));
    return true;
  }

  /** Commits the change `prepare()` makes, preparing it again while another instance's saves make it stale. */
  async #commit(prepare) {
    for (let attempt = 1; ; attempt++) {
      const { confirmed = '[]', dropped = [], pending = [], rejected = [], remotePosition } = await prepare();
      if (this.#signal.aborted) throw new StoppedError();
      try {
        await this.#ledger.syncCommit({ confirmed, dropped, pending: joinArrays(pending), rejected: JSON.stringify(rejected), remotePosition });
        return;
      } catch (error) {
        if (error?.name !== 'PendingChangedError' || attempt === COMMIT_ATTEMPTS) throw error;
      }
    }
  }
}
