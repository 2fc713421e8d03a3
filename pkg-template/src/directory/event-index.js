// The in-memory index of a directory store's events, built from the commit
// logs at open and extended by each commit: per record (position = index + 1)
// its actor, version, place in its segment's data file and checksum; per actor
// its last record, each record linking to the actor's one before. Typed
// arrays, so that a million events take a few tens of megabytes and no objects.

/** Actor number 0: records whose actor is unknown (rebuilt from damaged lines), never read by actor. */
const UNKNOWN_ACTOR = 0;

function grown(array, length) {
  const larger = new array.constructor(length);
  larger.set(array);
  return larger;
}

export class EventIndex {
  /** How many records; record `i` has position `i + 1`. */
  count = 0;
  actor = new Uint32Array(1024);
  version = new Float64Array(1024);
  offset = new Float64Array(1024);
  length = new Uint32Array(1024);
  crc = new Uint32Array(1024);
  /** The actor's record before this one, or -1. */
  previous = new Int32Array(1024);
  /** @type {string[]} actor number -> actorId */
  actorIds = [''];
  /** Each actor's last record, or -1. */
  last = new Int32Array(1024).fill(-1);
  /** @type {Map<string, number>} actorId -> actor number */
  #numbers = new Map();

  /** Makes room for `more` records. */
  reserve(more) {
    const needed = this.count + more;
    if (needed <= this.actor.length) return;
    let capacity = this.actor.length;
    while (capacity < needed) capacity *= 2;
    if (capacity > 2 ** 31 - 1) throw new RangeError('a directory store holds at most 2,147,483,647 events');
    this.actor = grown(this.actor, capacity);
    this.version = grown(this.version, capacity);
    this.offset = grown(this.offset, capacity);
    this.length = grown(this.length, capacity);
    this.crc = grown(this.crc, capacity);
    this.previous = grown(this.previous, capacity);
  }

  /** The actor's number, or -1 if it has no records. */
  numberOf(actorId) {
    return this.#numbers.get(actorId) ?? -1;
  }

  /** The actor's number, given one if new; '' (no actor) is the unknown actor. */
  actorNumber(actorId) {
    if (actorId === '') return UNKNOWN_ACTOR;
    let number = this.#numbers.get(actorId);
    if (number === undefined) {
      number = this.actorIds.length;
      this.actorIds.push(actorId);
      this.#numbers.set(actorId, number);
      if (number >= this.last.length) {
        const last = new Int32Array(this.last.length * 2).fill(-1);
        last.set(this.last);
        this.last = last;
      }
    }
    return number;
  }

  /**
   * Adds a record. One whose version is not above its actor's latest cannot be
   * read by actor (the log was written by something that broke the version
   * rule): it is kept under the unknown actor, so that positions stay put.
   * @returns {number} the record's index
   */
  add(actorNumber, version, offset, length, crc) {
    if (this.count === this.actor.length) this.reserve(1);
    const index = this.count++;
    let actor = actorNumber;
    if (actor !== UNKNOWN_ACTOR && !(version > this.latestOf(actor))) actor = UNKNOWN_ACTOR;
    this.actor[index] = actor;
    this.version[index] = version;
    this.offset[index] = offset;
    this.length[index] = length;
    this.crc[index] = crc;
    if (actor === UNKNOWN_ACTOR) {
      this.previous[index] = -1;
    } else {
      this.previous[index] = this.last[actor];
      this.last[actor] = index;
    }
    return index;
  }

  /** Takes off the records from `count` on (the latest of their actors): they were never committed. */
  truncate(count) {
    for (let index = this.count - 1; index >= count; index--) {
      const actor = this.actor[index];
      if (actor !== UNKNOWN_ACTOR) this.last[actor] = this.previous[index];
    }
    this.count = Math.min(this.count, count);
  }

  /** The actor's latest version by number, 0 if none. */
  latestOf(number) {
    const last = this.last[number];
    return last === -1 || last === undefined ? 0 : this.version[last];
  }

  /** The actor's latest version, 0 for an unknown actor. */
  latest(actorId) {
    const number = this.#numbers.get(actorId);
    return number === undefined ? 0 : this.latestOf(number);
  }

  /** The indices of the actor's records with `version >= fromVersion`, ascending. */
  recordsOf(actorId, fromVersion) {
    const number = this.#numbers.get(actorId);
    const found = [];
    if (number === undefined) return found;
    for (let index = this.last[number]; index !== -1 && this.version[index] >= fromVersion; index = this.previous[index]) {
      found.push(index);
    }
    return found.reverse();
  }

  /** The index of the actor's record at `version`, or -1. */
  find(actorId, version) {
    const number = this.#numbers.get(actorId);
    if (number === undefined) return -1;
    let index = this.last[number];
    while (index !== -1 && this.version[index] > version) index = this.previous[index];
    return index !== -1 && this.version[index] === version ? index : -1;
  }
}
