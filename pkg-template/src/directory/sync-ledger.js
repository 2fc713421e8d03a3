// The sync ledger of a directory store, in memory: its pending events (in local
// order, and per actor in version order), its rejected entries, its remote
// position, and the snapshot drops of its syncCommits. Built at open by
// replaying the sync journal (sync-journal.js) against the event log, and kept
// up to date by each journal commit once it is written.
//
// Opening reconciles the journal with the event log, so that a syncCommit is
// all or nothing across a crash, and so that a damaged journal loses nothing:
// - syncCommit frames of the event log (flag SYNCED) past the last position the
//   journal names were never acknowledged (the crash came before their journal
//   frame): cut off. Journal commits naming positions past the event log's end
//   (the event log lost relaxed commits to a power loss) are cut off too.
// - A pending event whose actor already has a confirmed event at or above its
//   version (a journal commit that moved it was damaged): if the confirmed event
//   at its version is the same event, it is no longer pending; else it goes to
//   the rejected list with a reason. A pending event superseded at its version
//   by a later journal line goes to the rejected list too.
// - A journal line that does not match its checksum, or is no journal line, is
//   never used: it is reported (syncLedgerErrors(); a pending event's also by
//   getEventsWithErrors of its actor) and kept when the journal is compacted.

import { checkEventRecords } from '#wasm';
import { checkRecords } from '../records.js';
import { controlLine, pendingLine, rejectedLine } from './sync-journal.js';

const DAMAGED_REASON = 'the sync journal was found damaged when the store was opened, and this pending event could not be kept pending';

const keyOf = (actorId, version) => `${version}\u0000${actorId}`;

/** One actor's pending events, ascending, with removed ones skipped at both ends. */
class ActorPending {
  /** @type {object[]} */
  list = [];
  head = 0;
  removed = 0;

  add(entry) {
    this.list.push(entry);
  }

  remove(entry) {
    entry.removed = true;
    this.removed++;
    while (this.head < this.list.length && this.list[this.head].removed) this.head++;
    while (this.list.length > this.head && this.list.at(-1).removed) this.list.pop();
    if (this.removed > 32 && this.removed * 2 > this.list.length) {
      this.list = this.list.slice(this.head).filter((e) => !e.removed);
      this.head = 0;
      this.removed = 0;
    }
  }

  /** The first (lowest) pending event not in `except`, or undefined. */
  first(except) {
    for (let i = this.head; i < this.list.length; i++) {
      const entry = this.list[i];
      if (!entry.removed && !except?.has(entry)) return entry;
    }
    return undefined;
  }

  /** The last (highest) pending event not in `except`, or undefined. */
  last(except) {
    for (let i = this.list.length - 1; i >= this.head; i--) {
      const entry = this.list[i];
      if (!entry.removed && !except?.has(entry)) return entry;
    }
    return undefined;
  }

  from(fromVersion) {
    const out = [];
    for (let i = this.head; i < this.list.length; i++) {
      const entry = this.list[i];
      if (!entry.removed && entry.version >= fromVersion) out.push(entry);
    }
    return out;
  }

  get empty() {
    return this.head >= this.list.length;
  }
}

export class SyncLedger {
  remotePosition = 0;
  /** The events' last position as the journal names it. */
  position = 0;
  /** @type {Map<string, { actorId: string, version: number, id: string, json: string }>} in local order */
  #pending = new Map();
  /** @type {Map<string, ActorPending>} */
  #actors = new Map();
  /** @type {string[]} the rejected entries' JSON, oldest first */
  rejected = [];
  /** @type {{ actorId: string, version: number, rawData: Uint8Array, error: string }[]} journal lines found damaged */
  damaged = [];
  /** @type {[string, number, number][]} [actorId, fromVersion, before]: snapshots left out (SnapshotLog.drop) */
  snapshotDrops = [];
  /** About how many bytes a compacted journal would take. */
  liveBytes = 0;

  /** The pending event at (actor, version), or undefined. */
  get(actorId, version) {
    return this.#pending.get(keyOf(actorId, version));
  }

  /** Appends a pending event to local order (the caller checked its version). */
  add(entry) {
    const key = keyOf(entry.actorId, entry.version);
    if (this.#pending.has(key)) this.remove(this.#pending.get(key));
    this.#pending.set(key, entry);
    let actor = this.#actors.get(entry.actorId);
    if (!actor) {
      actor = new ActorPending();
      this.#actors.set(entry.actorId, actor);
    }
    actor.add(entry);
    this.liveBytes += entry.json.length + 12;
  }

  /** Removes a pending event (an entry of this ledger). */
  remove(entry) {
    if (this.#pending.get(keyOf(entry.actorId, entry.version)) !== entry) return;
    this.#pending.delete(keyOf(entry.actorId, entry.version));
    const actor = this.#actors.get(entry.actorId);
    actor.remove(entry);
    if (actor.empty) this.#actors.delete(entry.actorId);
    this.liveBytes -= entry.json.length + 12;
  }

  addRejected(json) {
    this.rejected.push(json);
    this.liveBytes += json.length + 13;
  }

  /** The actor's lowest pending event not in `except`. */
  first(actorId, except) {
    return this.#actors.get(actorId)?.first(except);
  }

  /** The actor's highest pending version not in `except`, 0 if none. */
  latest(actorId, except) {
    return this.#actors.get(actorId)?.last(except)?.version ?? 0;
  }

  /** The actor's pending events with `version >= fromVersion`, ascending. */
  of(actorId, fromVersion = 0) {
    return this.#actors.get(actorId)?.from(fromVersion) ?? [];
  }

  /** Every pending event, in local order. */
  all() {
    return this.#pending.values();
  }

  get size() {
    return this.#pending.size;
  }

  actorIds() {
    return this.#actors.keys();
  }

  /** The lines of a compacted journal holding this whole state. */
  stateLines() {
    const lines = [controlLine({ state: { position: this.position, remotePosition: this.remotePosition, snapshotDrops: this.snapshotDrops } })];
    for (const { json, actorId, version } of this.#pending.values()) lines.push(pendingLine(json, actorId, version));
    for (const json of this.rejected) lines.push(rejectedLine(json));
    for (const { actorId, version, error, rawData } of this.damaged) {
      lines.push(controlLine({ damaged: { actorId, version, error, rawData: Buffer.from(rawData).toString('base64') } }));
    }
    return lines;
  }

  /**
   * Applies one journal commit's parsed lines, in order (see sync-journal.js).
   * A pending event at a version already pending supersedes it: the older goes to the rejected list.
   */
  apply(lines, position) {
    for (const line of lines) {
      if (line.pending) {
        const older = this.get(line.pending.actorId, line.pending.version);
        if (older) this.reject(older);
        this.add(line.pending);
      } else if (line.rejected !== undefined) {
        this.addRejected(line.rejected);
      } else if (line.commit) {
        const { moved, dropped, remotePosition, snapshotsBefore } = line.commit;
        for (const [actorId, version] of [...keys(moved), ...keys(dropped)]) {
          const entry = this.get(actorId, version);
          if (entry) this.remove(entry);
        }
        if (Number.isSafeInteger(snapshotsBefore)) {
          const lowest = new Map();
          for (const [actorId, version] of keys(dropped)) lowest.set(actorId, Math.min(version, lowest.get(actorId) ?? Infinity));
          for (const [actorId, version] of lowest) this.snapshotDrops.push([actorId, version, snapshotsBefore]);
        }
        if (Number.isSafeInteger(remotePosition)) this.remotePosition = remotePosition;
      } else if (line.start) {
        if (Number.isSafeInteger(line.start.remotePosition)) this.remotePosition = line.start.remotePosition;
      } else if (line.state) {
        if (Number.isSafeInteger(line.state.remotePosition)) this.remotePosition = line.state.remotePosition;
        if (Array.isArray(line.state.snapshotDrops)) {
          this.snapshotDrops = line.state.snapshotDrops.filter(
            (drop) => Array.isArray(drop) && typeof drop[0] === 'string' && Number.isSafeInteger(drop[1]) && Number.isSafeInteger(drop[2]),
          );
        }
      } else if (line.damaged) {
        this.damaged.push(line.damaged);
        this.liveBytes += line.damaged.rawData.length * 2 + 100;
      }
    }
    this.position = Math.max(this.position, position);
  }

  /** Moves a pending event to the rejected list, saying why. */
  reject(entry, reason = DAMAGED_REASON) {
    this.remove(entry);
    this.addRejected(`{"event":${entry.json},"reason":${JSON.stringify(reason)}}`);
  }
}

/** The [actorId, version] pairs of a journal commit's list, leaving out anything else. */
function keys(list) {
  return Array.isArray(list) ? list.filter((key) => Array.isArray(key) && typeof key[0] === 'string' && Number.isSafeInteger(key[1])) : [];
}

/**
 * Builds the ledger of an opened journal (SyncJournal.open's result),
 * reconciling it with the event log (see the top of this file), and applies
 * its snapshot drops to the snapshot log.
 * @param {{ journal: import('./sync-journal.js').SyncJournal, commits: object[] }} opened
 * @param {import('./event-log.js').EventLog} events
 * @param {import('./snapshot-log.js').SnapshotLog} snapshots
 */
export async function openLedger({ journal, commits }, events, snapshots) {
  const index = events.index;
  const named = Math.max(0, ...commits.map((commit) => commit.position));
  if (index.count > named) await events.cutSyncedTail(named);
  let kept = commits.length;
  for (let k = 0; k < commits.length; k++) {
    if (commits[k].position > index.count && !commits[k].rebuilt) {
      kept = k;
      break;
    }
  }
  if (kept < commits.length) {
    // The event log lost commits that these journal commits follow (relaxed durability and a power loss): they go too.
    await journal.truncate(commits[kept]);
    commits = commits.slice(0, kept);
  }
  checkPendingLines(commits);
  const ledger = new SyncLedger();
  for (const commit of commits) {
    if (commit.rebuilt && commit.position > index.count) continue;
    ledger.apply(commit.lines, commit.position);
  }
  ledger.position = Math.max(ledger.position, index.count);
  await reconcile(ledger, events);
  for (const [actorId, version, before] of ledger.snapshotDrops) snapshots.drop(actorId, version, before);
  return ledger;
}

/** Checks every pending event line with the core (a valid event of the actor and version it is named by); a line that fails is damaged. */
function checkPendingLines(commits) {
  const lines = commits.flatMap((commit) => commit.lines).filter((line) => line.pending);
  if (lines.length === 0) return;
  const chunks = lines.map((line) => Buffer.from(line.pending.json));
  const { failed, errors } = checkRecords(chunks, (utf8, ends) =>
    checkEventRecords(
      utf8,
      ends,
      lines.map((line) => line.pending.actorId),
      Float64Array.from(lines, (line) => line.pending.version),
      undefined,
    ),
  );
  failed.forEach((k, n) => {
    const { actorId, version } = lines[k].pending;
    lines[k].damaged = { actorId, version, rawData: new Uint8Array(chunks[k]), error: `the pending event in the sync journal is not sound: ${errors[n]}` };
    delete lines[k].pending;
  });
}

/** Pending events at or below their actor's latest confirmed version: confirmed already (same id), or rejected. */
async function reconcile(ledger, events) {
  const index = events.index;
  const stale = [];
  for (const actorId of [...ledger.actorIds()]) {
    const latest = index.latest(actorId);
    for (const entry of ledger.of(actorId)) {
      if (entry.version > latest) break;
      stale.push(entry);
    }
  }
  if (stale.length === 0) return;
  const found = stale.map((entry) => index.find(entry.actorId, entry.version));
  const bytes = await events.read(found.filter((i) => i !== -1));
  let next = 0;
  for (const [k, entry] of stale.entries()) {
    let id;
    if (found[k] !== -1) {
      try {
        id = JSON.parse(bytes[next++].toString('utf8')).id;
      } catch {
        id = undefined;
      }
    }
    if (id === entry.id) ledger.remove(entry);
    else ledger.reject(entry);
  }
}
