// The directory store (EventStore.openDirectory) in Node.js: saves, one at a
// time and many at once, against a plain loop of FileHandle.appendFile + fsync
// per save (the ceiling for one durable save at a time: the same bytes, no
// version rule, no framing); opening directories of many events; reading a
// stream after reopening. Emmett's SQLite store runs the same saves and read
// where it is installed (see README: it needs sqlite3, a native module).

import { mkdtempSync, rmSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventStore } from '../pkg/index.mjs';

const AETHER = 'aether-eventstore';
const CEILING = 'plain loop: appendFile + fsync per save';
const EMMETT = 'emmett (SQLite)';

const payload = (i) => ({ amount: i, currency: 'EUR', note: 'coffee beans', tags: ['groceries', 'weekly'] });
const deposit = (actorId, version, i) => ({ eventType: 'Deposited', actorId, version, data: payload(i) });

async function perSecond(count, run) {
  const started = performance.now();
  await run();
  return (count / (performance.now() - started)) * 1000;
}

async function milliseconds(run) {
  const started = performance.now();
  await run();
  return performance.now() - started;
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

/** Emmett's SQLite event store, if it can be loaded (EMMETT_SQLITE_MODULE: where it is installed, if not in this repository). */
async function loadEmmettSqlite() {
  try {
    return await import(process.env.EMMETT_SQLITE_MODULE ?? '@event-driven-io/emmett-sqlite');
  } catch {
    return undefined;
  }
}

/**
 * Fills a directory store with `size` events of 1,000 actors round-robin, in
 * batches of 1,000, with the `stream` actor's `streamSize` events spread evenly among them.
 */
async function fillDirectory(directory, size, streamSize) {
  const store = await EventStore.openDirectory(directory, { durability: 'relaxed' });
  const versions = new Map();
  const step = Math.max(1, Math.floor(size / streamSize));
  let streamed = 0;
  let batch = [];
  for (let i = 0; i < size; i++) {
    const actorId = i % step === 0 && streamed < streamSize ? 'stream' : `account-${i % 1000}`;
    if (actorId === 'stream') streamed++;
    const version = (versions.get(actorId) ?? 0) + 1;
    versions.set(actorId, version);
    batch.push(deposit(actorId, version, i));
    if (batch.length === 1000 || i === size - 1) {
      await store.saveEvents(batch);
      batch = [];
    }
  }
  await store.close();
}

/**
 * @param {{ sequential: number, concurrent: number, opens: number[], stream: number, repeat: number }} plan
 * @returns {Promise<{ workload: string, store: string, value: number, unit: string }[]>}
 */
export async function runDirectoryBench(plan) {
  const base = mkdtempSync(join(tmpdir(), 'aether-bench-directory-'));
  const rows = [];
  const add = (workload, store, value, unit) => rows.push({ workload, store, value, unit });
  let directories = 0;
  const fresh = () => join(base, `store-${++directories}`);
  const emmett = await loadEmmettSqlite();
  try {
    const sequential = `sequential saves (${plan.sequential})`;
    const concurrent = `${plan.concurrent} concurrent saves`;

    const plainLoop = async (count) => {
      const handle = await open(join(base, `plain-${++directories}.jsonl`), 'a');
      try {
        return await perSecond(count, async () => {
          for (let i = 0; i < count; i++) {
            await handle.appendFile(`${JSON.stringify({ id: crypto.randomUUID(), ...deposit(`seq-${i % 10}`, Math.floor(i / 10) + 1, i), timestamp: new Date().toISOString() })}\n`);
            await handle.sync();
          }
        });
      } finally {
        await handle.close();
      }
    };
    add(sequential, CEILING, await plainLoop(plan.sequential), 'saves/s');
    for (const durability of ['strict', 'relaxed']) {
      const store = await EventStore.openDirectory(fresh(), { durability });
      await store.saveEvent(deposit('warm-up', 1, 0));
      add(sequential, `${AETHER} (${durability})`, await perSecond(plan.sequential, async () => {
        for (let i = 0; i < plan.sequential; i++) await store.saveEvent(deposit(`seq-${i % 10}`, Math.floor(i / 10) + 1, i));
      }), 'saves/s');
      add(concurrent, `${AETHER} (${durability})`, await perSecond(plan.concurrent, () =>
        Promise.all(Array.from({ length: plan.concurrent }, (_, i) => store.saveEvent(deposit(`con-${i}`, 1, i)))),
      ), 'saves/s');
      await store.close();
    }
    add(concurrent, `${CEILING} (one at a time)`, await plainLoop(plan.concurrent), 'saves/s');

    if (emmett) {
      const file = join(base, 'emmett.sqlite');
      const store = emmett.getSQLiteEventStore({ fileName: file, schema: { autoMigration: 'CreateOrUpdate' } });
      const append = (actorId, version, i) =>
        store.appendToStream(actorId, [{ type: 'Deposited', data: payload(i) }], { expectedStreamVersion: BigInt(version - 1) });
      await append('warm-up', 1, 0);
      add(sequential, EMMETT, await perSecond(plan.sequential, async () => {
        for (let i = 0; i < plan.sequential; i++) await append(`seq-${i % 10}`, Math.floor(i / 10) + 1, i);
      }), 'saves/s');
      add(concurrent, EMMETT, await perSecond(plan.concurrent, () =>
        Promise.all(Array.from({ length: plan.concurrent }, (_, i) => append(`con-${i}`, 1, i))),
      ), 'saves/s');
      await store.close?.();
    }

    for (const [n, size] of plan.opens.entries()) {
      const directory = fresh();
      await fillDirectory(directory, size, n === 0 ? plan.stream : 0);
      const opens = [];
      for (let run = 0; run < plan.repeat; run++) {
        let store;
        opens.push(await milliseconds(async () => {
          store = await EventStore.openDirectory(directory);
        }));
        if (run === 0 && n === 0) {
          let read = 0;
          add(`read a ${plan.stream.toLocaleString('en')}-event stream after reopening`, AETHER, await milliseconds(async () => {
            read = (await store.getEvents('stream')).length;
          }), 'ms');
          if (read !== plan.stream) throw new Error(`read ${read} of ${plan.stream} events`);
        }
        await store.close();
      }
      add(`open a directory of ${size.toLocaleString('en')} events`, AETHER, median(opens), 'ms');
      rmSync(directory, { recursive: true, force: true });
    }

    if (emmett) {
      const file = join(base, 'emmett-read.sqlite');
      let store = emmett.getSQLiteEventStore({ fileName: file, schema: { autoMigration: 'CreateOrUpdate' } });
      const size = plan.opens[0];
      const others = Math.max(1, Math.floor((size - plan.stream) / 100));
      for (let first = 0; first < plan.stream; first += 100) {
        await store.appendToStream('stream', Array.from({ length: 100 }, (_, i) => ({ type: 'Deposited', data: payload(first + i) })));
      }
      for (let batch = 0; batch < others; batch++) {
        await store.appendToStream(`account-${batch}`, Array.from({ length: 100 }, (_, i) => ({ type: 'Deposited', data: payload(i) })));
      }
      await store.close?.();
      store = emmett.getSQLiteEventStore({ fileName: file });
      let read = 0;
      add(`read a ${plan.stream.toLocaleString('en')}-event stream after reopening`, EMMETT, await milliseconds(async () => {
        read = (await store.readStream('stream')).events.length;
      }), 'ms');
      if (read !== plan.stream) throw new Error(`emmett read ${read} of ${plan.stream} events`);
      await store.close?.();
    } else {
      console.log('(Emmett\'s SQLite store is not installed here: its rows are left out; see bench/directory.mjs)');
    }
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
  return rows;
}
