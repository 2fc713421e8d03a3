// The global-order workload, the same for every backend (Node.js and the
// Chromium bench page import it): reading every event in position order with
// readAll, and through a catch-up subscription, beside reading the same events
// actor by actor with getEvents. Results are microseconds per event.

/** Fills `store` with `actors` x `perActor` events, interleaved by actor, in one-actor batches of 100. */
export async function fillForGlobalOrder(store, { actors, perActor }) {
  for (let first = 0; first < perActor; first += 100) {
    const count = Math.min(100, perActor - first);
    for (let actor = 0; actor < actors; actor++) {
      await store.saveEvents(
        Array.from({ length: count }, (_, i) => ({
          eventType: 'Deposited',
          actorId: `order-${actor}`,
          version: first + i + 1,
          data: { amount: i, currency: 'EUR', note: 'coffee beans', tags: ['groceries', 'weekly'] },
        })),
      );
    }
  }
}

/** How many rounds `measureGlobalOrder` runs; each figure is the median of its rounds. */
const ROUNDS = 3;

/**
 * Times the three ways of reading everything on a store filled by `fillForGlobalOrder`:
 * `ROUNDS` rounds, each reading all three ways, starting with a different one each
 * round, so that the first read after the fill (which pays for compiling the read
 * path and collecting the fill's garbage) is not always the same one. The median per way.
 */
export async function measureGlobalOrder(store, { actors, perActor }) {
  const total = actors * perActor;
  const perEvent = async (read) => {
    const started = performance.now();
    const count = await read();
    if (count !== total) throw new Error(`read ${count} of ${total} events`);
    return ((performance.now() - started) * 1000) / total;
  };
  const readers = {
    readAll: async () => {
      let count = 0;
      for (let after = 0; ; ) {
        const page = await store.readAll({ after, limit: 1000 });
        if (page.length === 0) return count;
        count += page.length;
        after = page.at(-1).position;
      }
    },
    subscribe: () =>
      new Promise((resolve) => {
        let count = 0;
        const unsubscribe = store.subscribe(
          () => {
            if (++count === total) {
              unsubscribe();
              resolve(count);
            }
          },
          { after: 0 },
        );
      }),
    getEvents: async () => {
      let count = 0;
      for (let actor = 0; actor < actors; actor++) count += (await store.getEvents(`order-${actor}`)).length;
      return count;
    },
  };
  const ways = Object.keys(readers);
  const times = Object.fromEntries(ways.map((way) => [way, []]));
  for (let round = 0; round < ROUNDS; round++) {
    for (let k = 0; k < ways.length; k++) {
      const way = ways[(round + k) % ways.length];
      times[way].push(await perEvent(readers[way]));
    }
  }
  const median = (values) => values.sort((a, b) => a - b)[values.length >> 1];
  return { readAll: median(times.readAll), subscribe: median(times.subscribe), getEvents: median(times.getEvents) };
}
