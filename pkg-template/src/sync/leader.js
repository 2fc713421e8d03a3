// One syncer per database: the instance that holds the database's lock syncs,
// the others wait for it. Web Locks where the platform has them (pages, Web
// Workers and Service Workers of one origin share them, and a closed tab's
// lock is released by the browser); otherwise a lock within this process.

/** @type {Map<string, { start(): void }[]>} the in-process lock's queues, by name */
const queues = new Map();

/**
 * Calls `lead()` once this caller holds the lock `name`, and releases the lock
 * when the promise `lead()` returns settles. Resolves then, or without calling
 * `lead` if `signal` aborts while waiting.
 * @param {string} name
 * @param {() => Promise<void>} lead
 * @param {AbortSignal} signal
 */
export function whileLeader(name, lead, signal) {
  const locks = globalThis.navigator?.locks;
  if (typeof locks?.request === 'function') {
    return locks.request(`aether-eventstore-sync:${name}`, { signal }, () => lead()).catch((error) => {
      if (error?.name !== 'AbortError') throw error;
    });
  }
  return new Promise((resolve, reject) => {
    const queue = queues.get(name) ?? [];
    queues.set(name, queue);
    const turn = {
      start() {
        signal.removeEventListener('abort', leave);
        Promise.resolve()
          .then(lead)
          .then(resolve, reject)
          .finally(() => {
            queue.shift();
            if (queue.length > 0) queue[0].start();
            else queues.delete(name);
          });
      },
    };
    queue.push(turn);
    const leave = () => {
      const waiting = queue.indexOf(turn);
      if (waiting > 0) {
        queue.splice(waiting, 1);
        resolve();
      }
    };
    signal.addEventListener('abort', leave, { once: true });
    if (queue.length === 1) turn.start();
  });
}
