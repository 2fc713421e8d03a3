// The pending events of a synced store, held in memory: saved locally, not yet
// accepted by the remote (see aether-eventstore/sync). Kept in local order (the
// order they were saved in) and per actor in version order, so that saving,
// reading an actor's and taking the head of an actor's queue cost no more than
// the events concerned.

/** One pending event: its key fields and its JSON as stored. */
class PendingEvent {
  constructor(actorId, version, id, json) {
    this.actorId = actorId;
    this.version = version;
    this.id = id;
    this.json = json;
  }
}

export class PendingEvents {
  /** @type {Set<PendingEvent>} in local order (a Set keeps insertion order and deletes in O(1)) */
  #ordered = new Set();
  /** @type {Map<string, PendingEvent[]>} each actor's, ascending versions */
  #byActor = new Map();

  get size() {
    return this.#ordered.size;
  }

  /** Appends an event; the caller has checked that its version is above the actor's latest. */
  add(actorId, version, id, json) {
    const event = new PendingEvent(actorId, version, id, json);
    this.#ordered.add(event);
    const queue = this.#byActor.get(actorId);
    if (queue) queue.push(event);
    else this.#byActor.set(actorId, [event]);
  }

  /** The actor's highest pending version, `0` if it has none. */
  latestVersion(actorId) {
    return this.#byActor.get(actorId)?.at(-1).version ?? 0;
  }

  /** The actor's lowest pending event not in `except` (events a change removes), or undefined. */
  firstExcept(actorId, except) {
    for (const event of this.#byActor.get(actorId) ?? []) if (!except.has(event)) return event;
    return undefined;
  }

  /** The actor's highest pending event not in `except`, or undefined. */
  lastExcept(actorId, except) {
    const queue = this.#byActor.get(actorId) ?? [];
    for (let i = queue.length - 1; i >= 0; i--) if (!except.has(queue[i])) return queue[i];
    return undefined;
  }


  /** The actor's pending event at `version`, if any. */
  find(actorId, version) {
    const queue = this.#byActor.get(actorId);
    if (!queue) return undefined;
    let low = 0;
    let high = queue.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (queue[middle].version < version) low = middle + 1;
      else high = middle;
    }
    return queue[low]?.version === version ? queue[low] : undefined;
  }

  /** The actor's pending events with `version >= fromVersion`, ascending. */
  ofActor(actorId, fromVersion = 0) {
    const queue = this.#byActor.get(actorId) ?? [];
    const first = queue.findIndex((event) => event.version >= fromVersion);
    return first < 0 ? [] : queue.slice(first);
  }

  /** Every pending event in local order. */
  all() {
    return [...this.#ordered];
  }

  /** Removes an event found with `find`. */
  remove(event) {
    this.#ordered.delete(event);
    const queue = this.#byActor.get(event.actorId);
    const index = queue.indexOf(event);
    queue.splice(index, 1);
    if (queue.length === 0) this.#byActor.delete(event.actorId);
  }
}

/** JSON array text of events' JSON. */
export function jsonArray(events) {
  return `[${events.map((event) => event.json).join(',')}]`;
}
