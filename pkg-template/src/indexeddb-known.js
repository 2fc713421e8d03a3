// What an IndexedDB store instance knows of the database from its own write
// transactions: the highest position it stored or saw, and actors' latest
// versions as of then. Another tab or instance may write at any time, and
// tells no one; but every record added to the events store takes a key at
// least one above every key before it (the key generator, or a position read
// in the transaction, which advances it). So a record of this instance that
// gets the key just after `end` proves that nothing was added in between, and
// that what is known still holds.

/** The most actors whose latest version is kept: a store of more starts again. */
const MAX_ACTORS = 10_000;

export class KnownVersions {
  /** @type {number | undefined} the highest key of the events store as this instance last saw it */
  #end;
  /** @type {Map<string, number>} actors' latest confirmed versions as of `#end` */
  #latest = new Map();

  /** The actor's latest version as of the end, `undefined` if not known. */
  latest(actorId) {
    return this.#end === undefined ? undefined : this.#latest.get(actorId);
  }

  /** Whether `key`, stored by this instance, comes right after the end: nothing else was added before it. */
  follows(key) {
    return this.#end !== undefined && key === this.#end + 1;
  }

  /** Whether `last`, the highest key read in a write transaction, is the end: nothing was added since. */
  isEnd(last) {
    return this.#end !== undefined && last === this.#end;
  }

  /**
   * After a commit of this instance: the highest key is now `end`, and each of
   * `latest` (`[actorId, version]`) holds. What was known before still holds
   * if `continues` (nothing else was added in between), and is forgotten otherwise.
   */
  committed(end, latest, continues) {
    if (!continues || this.#latest.size + latest.length > MAX_ACTORS) this.#latest.clear();
    for (const [actorId, version] of latest) this.#latest.set(actorId, version);
    this.#end = end;
  }

  /** Forgets everything: after a failure, in a synced store, or when the database went away. */
  forget() {
    this.#end = undefined;
    this.#latest.clear();
  }
}
