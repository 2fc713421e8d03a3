// In-memory workloads in Node.js, the same for every store: aether-eventstore,
// Emmett's in-memory event store and the hand-written JSON store.

import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { getInMemoryEventStore } from '@event-driven-io/emmett';
import { EventStore } from '../pkg/index.mjs';
import { JsonStore } from './json-store.mjs';

export const ACTORS = 1000;

/** The i-th event of a workload: round-robin over the actors, each at its next version. */
export function workloadEvent(i) {
  return {
    eventType: 'Deposited',
    actorId: `account-${i % ACTORS}`,
    version: Math.floor(i / ACTORS) + 1,
    data: { amount: i, currency: 'EUR', note: 'coffee beans', tags: ['groceries', 'weekly'] },
  };
}

/** Each store behind one interface; `undefined` where the store has no such operation. */
export const stores = [
  {
    name: 'aether-eventstore',
    create: () => new EventStore(),
    save: (store, event) => store.saveEvent(event),
    saveBatch: (store, events) => store.saveEvents(events),
    read: (store, actorId) => store.getEvents(actorId),
    latest: (store, actorId) => store.getLatestVersion(actorId),
    close: (store) => store.close(),
  },
  {
    name: 'emmett (in-memory)',
    create: () => getInMemoryEventStore(),
    save: (store, event) =>
      store.appendToStream(event.actorId, [{ type: event.eventType, data: event.data }], {
        expectedStreamVersion: BigInt(event.version - 1),
      }),
    saveBatch: (store, events) =>
      store.appendToStream(
        events[0].actorId,
        events.map((event) => ({ type: event.eventType, data: event.data })),
        { expectedStreamVersion: BigInt(events[0].version - 1) },
      ),
    read: async (store, actorId) => (await store.readStream(actorId)).events,
    latest: undefined, // Emmett reads the whole stream to learn its version
    close: () => {},
  },
  {
    name: 'hand-written JSON store',
    create: () => new JsonStore(),
    save: (store, event) => store.saveEvent(event),
    saveBatch: (store, events) => store.saveEvents(events),
    read: (store, actorId) => store.getEvents(actorId),
    latest: (store, actorId) => store.getLatestVersion(actorId),
    close: () => {},
  },
];

function collectGarbage() {
  globalThis.gc?.();
}

/** Microseconds per item of `run(count)`. */
async function microsPerItem(count, run) {
  collectGarbage();
  const started = performance.now();
  await run(count);
  return ((performance.now() - started) * 1000) / count;
}

async function appendAll(adapter, store, count) {
  for (let i = 0; i < count; i++) await adapter.save(store, workloadEvent(i));
}

/**
 * Bytes per stored event, JavaScript heap and external memory (where the
 * WebAssembly memory is) together: `count` events appended to a store of its
 * own, in a process of its own, since WebAssembly memory never shrinks.
 */
function footprint(adapter, count) {
  const output = execFileSync(process.execPath, ['--expose-gc', fileURLToPath(import.meta.url), '--footprint', adapter.name, String(count)], { encoding: 'utf8' });
  return Number(output.trim());
}

/** The child process of `footprint`: prints the bytes per stored event. */
async function measureFootprint(name, count) {
  const adapter = stores.find((store) => store.name === name);
  // Load the WebAssembly module and warm up on a store thrown away.
  const warmup = stores[0].create();
  await stores[0].save(warmup, workloadEvent(0));
  await stores[0].close(warmup);
  const used = () => {
    globalThis.gc();
    globalThis.gc();
    const { heapUsed, external } = process.memoryUsage();
    return heapUsed + external;
  };
  const before = used();
  const store = adapter.create();
  await appendAll(adapter, store, count);
  const bytes = used() - before;
  console.log(bytes / count);
  await adapter.close(store);
}

if (process.argv[1] === fileURLToPath(import.meta.url) && process.argv[2] === '--footprint') {
  await measureFootprint(process.argv[3], Number(process.argv[4]));
}

/**
 * Runs every in-memory workload for every store.
 * @param {{ sizes: number[], readSize: number, batchEvents: number, latestCalls: number }} plan
 * @returns {Promise<{ workload: string, store: string, value: number, unit: string }[]>}
 */
export async function runMemoryBench(plan) {
  const rows = [];
  const add = (workload, store, value, unit) => rows.push({ workload, store, value, unit });
  // Warm up every store's code paths once, so that the first one measured is not the coldest.
  for (const adapter of stores) {
    const store = adapter.create();
    await appendAll(adapter, store, 5 * ACTORS);
    await adapter.close(store);
  }

  for (const adapter of stores) {
    for (const size of plan.sizes) {
      // The median of five runs on fresh stores, but for the largest size, run once.
      const runs = [];
      for (let run = 0; run < (size >= 1_000_000 ? 1 : 5); run++) {
        const store = adapter.create();
        runs.push(await microsPerItem(size, (n) => appendAll(adapter, store, n)));
        await adapter.close(store);
      }
      add(`append, ${size.toLocaleString('en')} events`, adapter.name, runs.sort((a, b) => a - b)[Math.floor(runs.length / 2)], 'µs/event');
    }

    const store = adapter.create();
    await appendAll(adapter, store, plan.readSize);
    const reads = []; // the median of five reads of every stream
    for (let round = 0; round < 5; round++) {
      let read = 0;
      reads.push(
        await microsPerItem(plan.readSize, async () => {
          for (let actor = 0; actor < ACTORS; actor++) read += (await adapter.read(store, `account-${actor}`)).length;
        }),
      );
      if (read !== plan.readSize) throw new Error(`${adapter.name} read ${read} of ${plan.readSize} events`);
    }
    add('read every full stream', adapter.name, reads.sort((a, b) => a - b)[2], 'µs/event');

    if (adapter.latest) {
      add(
        'getLatestVersion',
        adapter.name,
        await microsPerItem(plan.latestCalls, async (n) => {
          for (let i = 0; i < n; i++) await adapter.latest(store, `account-${i % ACTORS}`);
        }),
        'µs/call',
      );
    }
    await adapter.close(store);

    const batched = adapter.create();
    add(
      'saveEvents, batches of 100',
      adapter.name,
      await microsPerItem(plan.batchEvents, async (n) => {
        for (let first = 0; first < n; first += 100) {
          const actor = (first / 100) % ACTORS;
          const base = Math.floor(first / (100 * ACTORS)) * 100;
          const batch = Array.from({ length: 100 }, (_, i) => ({ ...workloadEvent(actor), version: base + i + 1 }));
          await adapter.saveBatch(batched, batch);
        }
      }),
      'µs/event',
    );
    await adapter.close(batched);

    add(`memory per stored event, ${plan.readSize.toLocaleString('en')} events`, adapter.name, footprint(adapter, plan.readSize), 'bytes');
  }
  return rows;
}
