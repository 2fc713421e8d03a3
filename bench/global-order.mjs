// Global order in Node.js: the in-memory store, the directory store and JetStream, through the shared
// workload (global-order-workload.js); the Chromium page runs it on IndexedDB.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventStore } from '../pkg/index.mjs';
import { openJetStream } from '../pkg/jetstream.mjs';
import { startNats } from '../tests/nats/server.mjs';
import { fillForGlobalOrder, measureGlobalOrder } from './global-order-workload.js';

/** Table rows of one backend's figures (microseconds per event). */
export function globalOrderRows(backend, { actors, perActor }, result) {
  const workload = (how) => `every one of ${(actors * perActor).toLocaleString('en')} events, ${how}`;
  return [
    { workload: workload('readAll in pages of 1,000'), store: backend, value: result.readAll, unit: 'µs/event' },
    { workload: workload('catch-up subscribe({ after: 0 })'), store: backend, value: result.subscribe, unit: 'µs/event' },
    { workload: workload(`getEvents of each of ${actors.toLocaleString('en')} actors`), store: backend, value: result.getEvents, unit: 'µs/event' },
  ];
}

/**
 * @param {{ actors: number, perActor: number }} plan
 * @returns {Promise<{ workload: string, store: string, value: number, unit: string }[]>}
 */
export async function runGlobalOrderBench(plan) {
  const rows = [];
  const memory = new EventStore();
  await fillForGlobalOrder(memory, plan);
  rows.push(...globalOrderRows('memory', plan, await measureGlobalOrder(memory, plan)));
  await memory.close();

  const dir = mkdtempSync(join(tmpdir(), 'aether-bench-order-'));
  try {
    const files = await EventStore.openDirectory(dir);
    await fillForGlobalOrder(files, plan);
    rows.push(...globalOrderRows('directory', plan, await measureGlobalOrder(files, plan)));
    await files.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }

  const server = await startNats();
  try {
    const jetstream = await openJetStream({ servers: server.url, stream: 'ORDER', subjectPrefix: 'order.events', snapshotBucket: 'ORDER_SNAPSHOTS' });
    await fillForGlobalOrder(jetstream, plan);
    rows.push(...globalOrderRows('JetStream', plan, await measureGlobalOrder(jetstream, plan)));
    await jetstream.close();
  } finally {
    await server.close();
  }
  return rows;
}
