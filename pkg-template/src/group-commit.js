// Group commit, for the backends that write to storage (IndexedDB, files):
// saves that arrive while a commit is being written wait, and all of them go
// into the next commit together, each keeping its own outcome.

export class GroupCommit {
  /** @type {object[]} saves waiting for the next commit */
  #queue = [];
  /** @type {Promise<void> | null} the commit being written */
  #writing = null;
  #commit;
  #failure;

  /**
   * @param {(group: object[]) => Promise<void>} commit writes a group of saves and
   *   settles each (`save.resolve` or `save.reject`)
   * @param {(error: unknown) => Error} failure the error for saves a commit failed to settle
   */
  constructor(commit, failure) {
    this.#commit = commit;
    this.#failure = failure;
  }

  /** Queues a save (`fields`, to which `resolve` and `reject` are added); settles as its commit does. */
  add(fields) {
    return new Promise((resolve, reject) => {
      this.#queue.push({ ...fields, resolve, reject });
      if (this.#queue.length === 1 && !this.#writing) queueMicrotask(() => this.#next());
    });
  }

  #next() {
    if (this.#writing || this.#queue.length === 0) return;
    const group = this.#queue.splice(0);
    this.#writing = this.#commit(group)
      .catch((error) => {
        // Unexpected (a commit settles its saves itself): none may be left waiting.
        for (const save of group) save.reject(this.#failure(error));
      })
      .finally(() => {
        this.#writing = null;
        this.#next();
      });
  }

  /** Resolves once every save queued so far is settled. */
  async settled() {
    this.#next();
    while (this.#writing) await this.#writing;
  }
}
