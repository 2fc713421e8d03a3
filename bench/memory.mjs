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

/** How many rounds each timed workload runs; a row is the median. */
const ROUNDS = 5;

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

/**
 * The median over `rounds` rounds of `measure(adapter)`, for every store that
 * has the operation; each round measures every store in turn, so that the load
 * of a shared machine falls on all of them alike.
 */
async function interleaved(adapters, rounds, measure) {
  const runs = adapters.map(() => []);
  for (let round = 0; round < rounds; round++) {
    for (const [i, adapter] of adapters.entries()) runs[i].push(await measure(adapter));
  }
  return runs.map(median);
}

/**
 * Runs every in-memory workload for every store.
 * @param {{ sizes: number[], readSize: number, batchEvents: number, latestCalls: number }} plan
 * @returns {Promise<{ workload: string, store: string, value: number, unit: string }[]>}
 */
export async function runMemoryBench(plan) {
  const rows = [];
  const addAll = (workload, adapters, values, unit) =>
    adapters.forEach((adapter, i) => rows.push({ workload, store: adapter.name, value: values[i], unit }));
  // Warm up every store's code paths once, so that the first one measured is not the coldest.
  for (const adapter of stores) {
    const store = adapter.create();
    await appendAll(adapter, store, 5 * ACTORS);
    await adapter.close(store);
  }

  for (const size of plan.sizes) {
    // Fresh stores each round; the largest size runs once.
    const micros = await interleaved(stores, size >= 1_000_000 ? 1 : ROUNDS, async (adapter) => {
      const store = adapter.create();
      const result = await microsPerItem(size, (n) => appendAll(adapter, store, n));
      await adapter.close(store);
      return result;
    });
    addAll(`append, ${size.toLocaleString('en')} events`, stores, micros, 'µs/event');
  }

  const filled = new Map();
  for (const adapter of stores) {
    const store = adapter.create();
    await appendAll(adapter, store, plan.readSize);
    filled.set(adapter, store);
  }
  const reads = await interleaved(stores, ROUNDS, async (adapter) => {
    let read = 0;
    const result = await microsPerItem(plan.readSize, async () => {
      for (let actor = 0; actor < ACTORS; actor++) read += (await adapter.read(filled.get(adapter), `account-${actor}`)).length;
    });
    if (read !== plan.readSize) throw new Error(`${adapter.name} read ${read} of ${plan.readSize} events`);
    return result;
  });
  addAll('read every full stream', stores, reads, 'µs/event');
  const knowLatest = stores.filter((adapter) => adapter.latest); // Emmett reads the whole stream to learn its version
  const latest = await interleaved(knowLatest, ROUNDS, (adapter) =>
    microsPerItem(plan.latestCalls, async (n) => {
      for (let i = 0; i < n; i++) await adapter.latest(filled.get(adapter), `account-${i % ACTORS}`);
    }),
  );
  addAll('getLatestVersion', knowLatest, latest, 'µs/call');
  for (const [adapter, store] of filled) await adapter.close(store);

  const batches = await interleaved(stores, ROUNDS, async (adapter) => {
    const store = adapter.create();
    const result = await microsPerItem(plan.batchEvents, async (n) => {
      for (let first = 0; first < n; first += 100) {
        const actor = (first / 100) % ACTORS;
        const base = Math.floor(first / (100 * ACTORS)) * 100;
        const batch = Array.from({ length: 100 }, (_, i) => ({ ...workloadEvent(actor), version: base + i + 1 }));
        await adapter.saveBatch(store, batch);
      }
    });
    await adapter.close(store);
    return result;
  });
  addAll('saveEvents, batches of 100', stores, batches, 'µs/event');

  addAll(
    `memory per stored event, ${plan.readSize.toLocaleString('en')} events`,
    stores,
    stores.map((adapter) => footprint(adapter, plan.readSize)),
    'bytes',
  );
  return rows;
}
