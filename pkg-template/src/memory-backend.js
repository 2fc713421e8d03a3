// The in-memory backend: the Rust core's StoreCore, which already holds the
// streams. Once synced (aether-eventstore/sync), saves are pending: held here
// beside the core's confirmed events until the sync ledger's `syncCommit`
// confirms, drops or renumbers them (see "The sync ledger" in event-store.js).

import { Confirmed, StoreCore, SyncChangeRules, VersionLedger, prepareEvent, prepareEvents, storedRetry } from '#wasm';
import { StorageError, storageError } from './errors.js';
import { PendingEvents, jsonArray } from './pending-events.js';
import { concatenate, unwrapEvents } from './records.js';
import { InputArea, storedEvent, timestampAt, writeFreshInput } from './fresh-event.js';
import { wasmPending } from './wasm-loading.js';

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

const encoder = new TextEncoder();
const decoder = new TextDecoder();
let instances = 0;

/** The JSON arrays `a` and `b` as one. */
function joinArrays(a, b) {
  if (a === '[]') return b;
  if (b === '[]') return a;
  return `${a.slice(0, -1)},${b.slice(1)}`;
}

/** Prepared events (see records.js) one by one, with each one's JSON. */
function eachPrepared({ actorIds, versions, ids, utf8, ends }) {
  return actorIds.map((actorId, i) => ({
    actorId,
    version: versions[i],
    id: ids[i],
    json: decoder.decode(utf8.subarray(i === 0 ? 0 : ends[i - 1] + 1, ends[i])),
  }));
}

/** How many actors' latest versions a store keeps at most (see `#latest`). */
const MAX_KNOWN_LATEST = 10_000;

/** Keeps every stream in the Rust core's memory. Calls are synchronous. */
export class MemoryBackend {
  #instance = null;
  /** @type {InputArea | null} the core's input area, which saves write their JSON into */
  #inputArea = null;
  /**
   * Actors' latest confirmed versions as `getLatestVersion` read them from the
   * core, kept in step by every save: a save names its events' actors and
   * versions (through its copies) or empties the map. Reading a version known
   * here is no call into the core.
   * @type {Map<string, number>}
   */
  #latest = new Map();
  /** @type {{ remotePosition: number, pending: PendingEvents, rejected: string[] } | null} set once synced */
  #sync = null;
  /** Only this instance writes to this memory, so its notices are every commit, in order. */
  orderedNotices = true;
  /** Set by the feed while anyone listens. */
  onCommitted = null;
  /** Set by the sync engine: called after the pending or rejected events changed. */
  onPending = null;
  /** No other instance shares this memory: a key of its own, for the sync engine's leader election. */
  syncKey = `memory:${++instances}`;

  constructor() {
    // Where the module is loaded (in Node.js, always), the core is made now: a
    // save that made it would run code no save ran before, and V8 would throw
    // away its optimized code for saves, in each new store.
    if (wasmPending() === undefined) this.#makeCore();
  }

  /**
   * With a `copy` (see `encodeEventCopy`), an unsynced store resolves with
   * `{ event, retried }`, the stored event built from it and the `id` and
   * `timestamp` the core gave it, rather than its JSON: parsing that again
   * cost more than the rest of the save in JavaScript.
   */
  saveEvent(encoded) {
    if (this.#sync) return this.#savePending(unwrapEvents(prepareEvent(encoded.json)), false);
    if (encoded.copy === undefined) {
      this.#latest.clear();
      return this.#settled(guarded(() => this.#core.saveEvent(encoded.json)));
    }
    return this.#saveFresh(encoded) ?? this.#saveBrief(encoded.json, encoded.copy);
  }

  /** The save of an event with `copy`, answered by saveEventBrief. */
  #saveBrief(json, copy) {
    const brief = guarded(() => this.#core.saveEventBrief(json));
    if (brief.startsWith('{')) return { stored: brief, retried: true };
    const space = brief.indexOf(' ');
    const event = storedEvent(copy, brief.slice(space + 1), brief.slice(0, space));
    this.#advanced(copy);
    if (this.onCommitted) this.onCommitted(this.#core.readAll(this.#core.lastPosition() - 1, 1));
    return { event, retried: false };
  }

  /**
   * The save of a new event in one call into the core, with nothing to read
   * back: its JSON is written straight into the core's input area (see
   * `writeFreshInput`). `undefined` where that cannot be done, for the caller
   * to save the event the usual way.
   */
  #saveFresh(encoded) {
    // The core reads the input where it is: no room is needed after it.
    const fresh = writeFreshInput(encoded, this.#area, false);
    if (fresh === undefined) return undefined;
    const { id, now, length } = fresh;
    const answer = guarded(() => this.#core.saveWrittenEvent(length, now));
    if (answer < 0) throw this.#core.takeError();
    const { copy } = encoded;
    // A retry (of an event stored under this very id): saveEventBrief answers with the stored event.
    if (answer === 0) return this.#saveBrief(decoder.decode(this.#area.current().subarray(0, length)), copy);
    const event = storedEvent(copy, id, timestampAt(now));
    this.#advanced(copy);
    if (this.onCommitted) this.onCommitted(this.#core.readAll(this.#core.lastPosition() - 1, 1));
    return { event, retried: false };
  }

  /**
   * With `copies` (see `encodeEventsCopy`), an unsynced store resolves with
   * `{ events, retried }`, the stored events built from `copies` and the `id`
   * and `timestamp` the core gave each, as `saveEvent` does.
   */
  saveEvents(json, copies) {
    if (this.#sync) return this.#savePending(unwrapEvents(prepareEvents(json)), true);
    if (copies === undefined) {
      this.#latest.clear();
      return this.#settled(guarded(() => this.#core.saveEvents(json)));
    }
    const brief = this.#saveEventsBrief(json);
    if (brief.startsWith('[')) return { stored: brief, retried: true };
    // "<timestamp> <n> <id>" for each event, `n` the id's length.
    const events = [];
    let at = 0;
    for (let i = 0; i < copies.length; i++) {
      const afterTimestamp = brief.indexOf(' ', at);
      const afterLength = brief.indexOf(' ', afterTimestamp + 1);
      const idEnd = afterLength + 1 + Number(brief.slice(afterTimestamp + 1, afterLength));
      events.push(storedEvent(copies[i], brief.slice(afterLength + 1, idEnd), brief.slice(at, afterTimestamp)));
      this.#advanced(copies[i]);
      at = idEnd;
    }
    if (this.onCommitted) {
      const last = this.#core.lastPosition();
      this.onCommitted(this.#core.readAll(last - copies.length, copies.length));
    }
    return { events, retried: false };
  }

  /**
   * saveEventsBrief's answer for the batch `json`, written straight into the
   * core's input area where it fits (no allocation to cross for, nor the
   * copying loop that hands a string over).
   */
  #saveEventsBrief(json) {
    // UTF-8 takes at most 3 bytes per UTF-16 code unit.
    const area = this.#area.view(json.length * 3);
    if (area === undefined) return guarded(() => this.#core.saveEventsBrief(json));
    const { written } = encoder.encodeInto(json, area);
    return guarded(() => this.#core.saveWrittenEventsBrief(written, Date.now()));
  }

  /** Keeps `#latest` in step with an event the core stored from `copy`. */
  #advanced({ actorId, version }) {
    if (this.#latest.has(actorId)) this.#latest.set(actorId, version);
  }

  /** A synced store's save: admitted by the core's version rule over confirmed and pending events, and kept as pending. */
  #savePending(prepared, batch) {
    const { pending } = this.#sync;
    const ledger = new VersionLedger();
    try {
      for (const actorId of new Set(prepared.actorIds)) ledger.observe(actorId, this.getLatestVersion(actorId));
      ledger.admit(prepared.actorIds, prepared.versions);
    } catch (conflict) {
      const retried = this.#storedRetry(prepared, batch);
      if (retried === undefined) throw conflict;
      return { stored: retried, retried: true };
    } finally {
      ledger.free();
    }
    const events = eachPrepared(prepared);
    for (const { actorId, version, id, json } of events) pending.add(actorId, version, id, json);
    this.onPending?.();
    const json = events.map((event) => event.json).join(',');
    return { stored: batch ? `[${json}]` : json, retried: false };
  }

  /** The stored events that a refused save retries, as it resolves with them; `undefined` if it retries none. */
  #storedRetry(prepared, batch) {
    const { actorIds, versions, ids } = prepared;
    const stored = actorIds.map((actorId, i) => {
      const json = this.#sync.pending.find(actorId, versions[i])?.json ?? this.#confirmedAt(actorId, versions[i]);
      return encoder.encode(json ?? '');
    });
    const { utf8, ends } = concatenate(stored);
    return storedRetry(utf8, ends, actorIds, versions, ids, batch);
  }

  /** The JSON of the actor's confirmed event at `version`, if there is one. */
  #confirmedAt(actorId, version) {
    const [event] = JSON.parse(this.#core.getEvents(actorId, version));
    return event?.version === version ? JSON.stringify(event) : undefined;
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

  /** The actor's confirmed events, then, once synced, its pending ones. */
  getEvents(actorId, fromVersion) {
    const confirmed = guarded(() => this.#core.getEvents(actorId, fromVersion));
    if (!this.#sync) return confirmed;
    return joinArrays(confirmed, jsonArray(this.#sync.pending.ofActor(actorId, fromVersion)));
  }

  /** Memory holds only validated events, so there is never a record that cannot be decoded. */
  getEventsWithErrors(actorId, fromVersion) {
    return { events: this.getEvents(actorId, fromVersion), errors: [] };
  }

  getLatestVersion(actorId) {
    let confirmed = this.#latest.get(actorId);
    if (confirmed === undefined) {
      confirmed = this.#core.getLatestVersion(actorId);
      if (this.#latest.size >= MAX_KNOWN_LATEST) this.#latest.clear();
      this.#latest.set(actorId, confirmed);
    }
    return this.#sync ? Math.max(confirmed, this.#sync.pending.latestVersion(actorId)) : confirmed;
  }

  saveSnapshot(json) {
    if (!this.#sync) return guarded(() => this.#core.saveSnapshot(json));
    // The core reads the actor from the snapshot; every pending actor's latest version is one lookup away.
    const { actorId } = JSON.parse(json);
    const pendingLatest = typeof actorId === 'string' ? this.#sync.pending.latestVersion(actorId) : 0;
    return guarded(() => this.#core.saveSnapshot(json, pendingLatest));
  }

  getLatestSnapshot(actorId) {
    return this.#core.getLatestSnapshot(actorId);
  }

  readAll(after, limit) {
    return guarded(() => this.#core.readAll(after, limit));
  }

  /** Like `readAll`, as `{ events, positions }`: the events alone as a JSON array, and their positions (see feed.js). */
  readAllEvents(after, limit) {
    const events = guarded(() => this.#core.readAllEvents(after, limit));
    // Positions are dense: the page holds the events right after `after`.
    const positions = new Float64Array(Math.max(0, Math.min(limit, this.#core.lastPosition() - after)));
    for (let i = 0; i < positions.length; i++) positions[i] = after + 1 + i;
    return { events, positions };
  }

  lastPosition() {
    return this.#core.lastPosition();
  }

  // The sync ledger: see "The sync ledger" in event-store.js.

  syncState() {
    return this.#sync && { remotePosition: this.#sync.remotePosition };
  }

  syncStart() {
    this.#sync ??= { remotePosition: 0, pending: new PendingEvents(), rejected: [] };
    return this.syncState();
  }

  pendingEvents(actorId) {
    const pending = this.#sync?.pending;
    if (!pending) return '[]';
    return jsonArray(actorId === undefined ? pending.all() : pending.ofActor(actorId));
  }

  rejectedEvents() {
    return `[${this.#sync?.rejected.join(',') ?? ''}]`;
  }

  /** Memory holds only validated events: no ledger record is ever damaged. */
  syncLedgerErrors() {
    return [];
  }

  /**
   * Applies a sync change all or nothing: every rule (the core's, through
   * SyncChangeRules) is checked before anything changes, and the only step
   * that can fail afterwards (the core storing the confirmed events, which
   * refuses as a whole) comes first.
   */
  syncCommit({ confirmed = '[]', dropped = [], pending: added = '[]', rejected = '[]', remotePosition }) {
    const sync = this.#sync;
    if (!sync) throw new StorageError('syncCommit on a store that is not synced');
    const { pending } = sync;
    const rules = new SyncChangeRules();
    const removed = new Set();
    const lowestDropped = new Map();
    const appended = [];
    const newPending = eachPrepared(unwrapEvents(prepareEvents(added)));
    try {
      for (const { actorId, version } of dropped) {
        const event = pending.find(actorId, version);
        rules.dropPending(actorId, version, event !== undefined);
        removed.add(event);
        lowestDropped.set(actorId, Math.min(version, lowestDropped.get(actorId) ?? Infinity));
      }
      const stored = new Map(); // per actor, the ids of its confirmed events from the lowest version looked up: read once, not per event
      const storedId = (actorId, version) => {
        let known = stored.get(actorId);
        if (!known || known.from > version) {
          known = { from: version, ids: new Map(JSON.parse(this.#core.getEvents(actorId, version)).map((event) => [event.version, event.id])) };
          stored.set(actorId, known);
        }
        return known.ids.get(version);
      };
      const latest = new Map(); // each actor's latest stored confirmed version
      const latestStored = (actorId) => {
        if (!latest.has(actorId)) latest.set(actorId, this.#core.getLatestVersion(actorId));
        return latest.get(actorId);
      };
      for (const event of eachPrepared(unwrapEvents(prepareEvents(confirmed)))) {
        const { actorId, version, id } = event;
        const match = pending.find(actorId, version);
        const lowest = pending.firstExcept(actorId, removed);
        const pendingId = match !== undefined && !removed.has(match) ? match.id : undefined;
        const fate = rules.confirm(actorId, version, id, latestStored(actorId), pendingId, lowest !== undefined && lowest.version < version, storedId(actorId, version));
        if (fate === Confirmed.Moved) {
          removed.add(match);
          appended.push(match.json);
        } else if (fate === Confirmed.Appended) {
          appended.push(event.json);
        }
      }
      for (const { actorId, version } of newPending) {
        rules.admitPending(actorId, version, latestStored(actorId), pending.lastExcept(actorId, removed)?.version ?? 0);
      }
    } finally {
      rules.free();
    }
    const rejections = JSON.parse(rejected).map((entry) => JSON.stringify(entry));
    if (appended.length > 0) {
      this.#latest.clear();
      guarded(() => this.#core.saveEvents(`[${appended.join(',')}]`));
    }
    for (const event of removed) pending.remove(event);
    for (const [actorId, version] of lowestDropped) this.#core.dropSnapshotFrom(actorId, version);
    for (const { actorId, version, id, json } of newPending) pending.add(actorId, version, id, json);
    sync.rejected.push(...rejections);
    if (remotePosition !== undefined) sync.remotePosition = remotePosition;
    if (appended.length > 0 && this.onCommitted) {
      const last = this.#core.lastPosition();
      this.onCommitted(this.#core.readAll(last - appended.length, appended.length));
    }
    if (removed.size > 0 || newPending.length > 0 || rejections.length > 0) this.onPending?.();
  }

  /** The core's store, made on first use where a browser was still loading the module when the store was constructed. */
  get #core() {
    return this.#instance ?? this.#makeCore();
  }

  /** The core's input area (see `#core`). */
  get #area() {
    if (this.#inputArea === null) this.#makeCore();
    return this.#inputArea;
  }

  #makeCore() {
    this.#instance = new StoreCore();
    this.#inputArea = new InputArea(this.#instance);
    return this.#instance;
  }

  close() {
    this.#instance?.free();
  }
}
