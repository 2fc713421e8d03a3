// The directory store (EventStore.openDirectory) in Node.js: saves, one at a
// time and many at once, against a plain loop of FileHandle.appendFile + fsync
// per save (the ceiling for one durable save at a time: the same bytes, no
// version rule, no framing); opening directories of many events; reading a
// stream after reopening. Emmett's SQLite store runs the sequential saves and
// the read where it is installed (it is not a dependency of this repository:
// it needs sqlite3, a native module; EMMETT_SQLITE_MODULE may point at an
// installation elsewhere), in a child process, so that its crashes do not end the run.

import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
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
    // The disk's latency varies from one moment to the next: the stores take turns, `repeat` times, and each row is the median.
    const runs = new Map();
    const measure = async (workload, store, run) => {
      const key = `${workload}\u0000${store}`;
      if (!runs.has(key)) runs.set(key, { workload, store, values: [] });
      runs.get(key).values.push(await run());
    };
    for (let run = 0; run < plan.repeat; run++) {
      await measure(sequential, CEILING, () => plainLoop(plan.sequential));
      for (const durability of ['strict', 'relaxed']) {
        const store = await EventStore.openDirectory(fresh(), { durability });
        await store.saveEvent(deposit('warm-up', 1, 0));
        await measure(sequential, `${AETHER} (${durability})`, () =>
          perSecond(plan.sequential, async () => {
            for (let i = 0; i < plan.sequential; i++) await store.saveEvent(deposit(`seq-${i % 10}`, Math.floor(i / 10) + 1, i));
          }),
        );
        await measure(concurrent, `${AETHER} (${durability})`, () =>
          perSecond(plan.concurrent, () =>
            Promise.all(Array.from({ length: plan.concurrent }, (_, i) => store.saveEvent(deposit(`con-${i}`, 1, i)))),
          ),
        );
        await store.close();
      }
      await measure(concurrent, `${CEILING} (one at a time)`, () => plainLoop(plan.concurrent));
    }
    for (const { workload, store, values } of runs.values()) add(workload, store, median(values), 'saves/s');

    for (const [n, size] of plan.opens.entries()) {
      const directory = fresh();
      await fillDirectory(directory, size, n === 0 ? plan.stream : 0);
      const opens = [];
      const reads = [];
      for (let run = 0; run < plan.repeat; run++) {
        let store;
        opens.push(await milliseconds(async () => {
          store = await EventStore.openDirectory(directory);
        }));
        if (n === 0) {
          let read = 0;
          reads.push(await milliseconds(async () => {
            read = (await store.getEvents('stream')).length;
          }));
          if (read !== plan.stream) throw new Error(`read ${read} of ${plan.stream} events`);
        }
        await store.close();
      }
      if (n === 0) add(`read a ${plan.stream.toLocaleString('en')}-event stream after reopening`, AETHER, median(reads), 'ms');
      add(`open a directory of ${size.toLocaleString('en')} events`, AETHER, median(opens), 'ms');
      rmSync(directory, { recursive: true, force: true });
    }

    rows.push(...(await emmettSqliteInChild(plan)));
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
  return rows;
}

/** Where the child's rows start in what it prints (Emmett logs some errors itself). */
const ROWS = 'rows:';

/** Emmett's SQLite workloads, in a child process; no rows (and a note) if it is not installed or fails. */
function emmettSqliteInChild(plan) {
  return new Promise((resolve) => {
    const args = [fileURLToPath(import.meta.url), '--emmett-sqlite', JSON.stringify(plan)];
    execFile(process.execPath, args, { timeout: 300_000, maxBuffer: 1 << 20 }, (error, stdout, stderr) => {
      if (!error) return resolve(JSON.parse(stdout.slice(stdout.lastIndexOf(ROWS) + ROWS.length)));
      const reason = /ERR_MODULE_NOT_FOUND/.test(stderr) ? 'not installed here' : `failed: ${stderr.trim().split('\n').filter(Boolean).slice(-3).join(' / ') || error.message}`;
      console.log(`(Emmett's SQLite store: ${reason}; its rows are left out)`);
      resolve([]);
    });
  });
}

/** The Emmett SQLite workloads: run by the child process. */
async function runEmmettSqlite(plan) {
  const emmett = await import(process.env.EMMETT_SQLITE_MODULE ?? '@event-driven-io/emmett-sqlite');
  const base = mkdtempSync(join(tmpdir(), 'aether-bench-emmett-'));
  const rows = [];
  const add = (workload, store, value, unit) => rows.push({ workload, store, value, unit });
  try {
    const open = (file) => emmett.getSQLiteEventStore({ fileName: join(base, file), schema: { autoMigration: 'CreateOrUpdate' } });
    let store = open('saves.sqlite');
    const append = (actorId, version, i) =>
      store.appendToStream(actorId, [{ type: 'Deposited', data: payload(i) }], { expectedStreamVersion: BigInt(version - 1) });
    await append('warm-up', 1, 0);
    add(`sequential saves (${plan.sequential})`, EMMETT, await perSecond(plan.sequential, async () => {
      for (let i = 0; i < plan.sequential; i++) await append(`seq-${i % 10}`, Math.floor(i / 10) + 1, i);
    }), 'saves/s');
    // No concurrent row: concurrent appendToStream calls on one store fail (emmett-sqlite 0.42.4 with
    // sqlite3 5.1.7: of 100, one succeeds and the others reject with SQLITE_BUSY or "cannot rollback -
    // no transaction is active"; with a singleton connection the process dies of an unhandled 'error').
    await store.close?.();

    // The same stream read as the directory store's, from a database of as many events, reopened.
    store = open('read.sqlite');
    for (let first = 0; first < plan.stream; first += 100) {
      await store.appendToStream('stream', Array.from({ length: 100 }, (_, i) => ({ type: 'Deposited', data: payload(first + i) })));
    }
    for (let batch = 0; batch < Math.floor((plan.opens[0] - plan.stream) / 100); batch++) {
      await store.appendToStream(`account-${batch}`, Array.from({ length: 100 }, (_, i) => ({ type: 'Deposited', data: payload(i) })));
    }
    await store.close?.();
    store = open('read.sqlite');
    let read = 0;
    add(`read a ${plan.stream.toLocaleString('en')}-event stream after reopening`, EMMETT, await milliseconds(async () => {
      read = (await store.readStream('stream')).events.length;
    }), 'ms');
    if (read !== plan.stream) throw new Error(`emmett read ${read} of ${plan.stream} events`);
    await store.close?.();
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
  return rows;
}

if (process.argv[1] === fileURLToPath(import.meta.url) && process.argv[2] === '--emmett-sqlite') {
  process.stdout.write(`\n${ROWS}${JSON.stringify(await runEmmettSqlite(JSON.parse(process.argv[3])))}`);
}
