// aether-eventstore/sync against a local nats-server (JetStream over TCP, on
// loopback), with local stores in memory, in a directory (strict: fsync per
// commit) and in IndexedDB (fake-indexeddb):
//
// - latency: two devices A and B, each a local store synced with the server,
//   B subscribed to its store; a save on A, then the wait until B's listener
//   hears that event (A pushes it, the server tells B's syncer, B pulls it);
//   one save at a time, median and p99;
// - push throughput: events saved while the remote cannot be reached (its
//   function fails, as an unreachable server does), then the sync started
//   again with the remote reachable and timed until `flushed()`; beside it,
//   the ceiling: the same events saved straight to the JetStream store.

import { mkdtempSync, rmSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IDBFactory, IDBKeyRange } from 'fake-indexeddb';
import { EventStore, StorageError } from '../pkg/index.mjs';
import { openJetStream } from '../pkg/jetstream.mjs';
import { startSync } from '../pkg/sync.mjs';
import { startNats } from '../tests/nats/server.mjs';

const payload = (i) => ({ amount: i, currency: 'EUR', note: 'coffee beans', tags: ['groceries', 'weekly'] });
const deposit = (actorId, version, i, id) => ({ ...(id ? { id } : {}), eventType: 'Deposited', actorId, version, data: payload(i) });

/** The local stores each workload runs on; `open(name)` gives a new store of the kind, `done()` removes what they left. */
function localKinds() {
  const dir = mkdtempSync(join(tmpdir(), 'aether-sync-bench-'));
  return {
    kinds: [
      { name: 'memory', open: async () => new EventStore() },
      { name: 'directory (strict)', open: (name) => EventStore.openDirectory(join(dir, `${name}-${randomUUID()}`)) },
      { name: 'IndexedDB (fake-indexeddb)', open: (name) => EventStore.openIndexedDb(name, { indexedDB: new IDBFactory(), IDBKeyRange }) },
    ],
    done: () => rmSync(dir, { recursive: true, force: true }),
  };
}

let streams = 0;
/** A JetStream stream of its own for each workload, on the server at `url`. */
function remoteOn(url) {
  const n = ++streams;
  const names = { servers: url, stream: `SYNC_BENCH_${n}`, subjectPrefix: `sync.bench.${n}`, snapshotBucket: `SYNC_BENCH_${n}_SNAPSHOTS` };
  return () => openJetStream(names);
}

const sortedAt = (sorted, fraction) => sorted[Math.min(sorted.length - 1, Math.ceil(fraction * sorted.length) - 1)];

/** Resolves when `promise` does; rejects if it takes longer than `ms` (the benchmark must not hang). */
function within(ms, promise, what) {
  let timer;
  const late = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`sync benchmark: ${what} took more than ${ms} ms`)), ms);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

/** Milliseconds from each save on A to B's notification of it, one save at a time: sorted. */
async function saveToNotification(kind, url, saves) {
  const remote = remoteOn(url);
  const [a, b] = [await kind.open('device-a'), await kind.open('device-b')];
  const [syncA, syncB] = [startSync(a, remote), startSync(b, remote)];
  await Promise.all([syncA.flushed(), syncB.flushed()]);
  let expected = null;
  const unsubscribe = b.subscribe((notification) => {
    if (notification.event.id === expected?.id) expected.heard();
  });
  const samples = [];
  try {
    for (let i = 0; i < saves; i++) {
      const id = randomUUID();
      const heard = new Promise((resolve) => {
        expected = { id, heard: resolve };
      });
      const started = performance.now();
      await a.saveEvent(deposit(`account-${i % 10}`, Math.floor(i / 10) + 1, i, id));
      await within(30_000, heard, `the notification on B of save ${i + 1}`);
      samples.push(performance.now() - started);
    }
  } finally {
    unsubscribe();
    await Promise.all([syncA.stop(), syncB.stop()]);
    await Promise.all([a.close(), b.close()]);
  }
  return samples.sort((x, y) => x - y);
}

/**
 * Events per second pushing `count` pending events (over `actors` actors): saved while the
 * remote cannot be reached, then pushed by a sync started with it reachable, until `flushed()`.
 */
async function pushAfterReconnecting(kind, url, count, actors) {
  const connect = remoteOn(url);
  let reachable = false;
  const remote = async () => {
    if (!reachable) throw new StorageError('the remote cannot be reached (benchmark switch)');
    return connect();
  };
  const local = await kind.open('offline-device');
  const offline = startSync(local, remote);
  // Saved in batches of one event per actor, so that the actors' events interleave in local order.
  for (let first = 0; first < count; first += actors) {
    const version = first / actors + 1;
    await local.saveEvents(Array.from({ length: Math.min(actors, count - first) }, (_, i) => deposit(`account-${i}`, version, first + i)));
  }
  if ((await offline.pendingEvents()).length !== count) throw new Error('sync benchmark: the saves are not all pending');
  // Started again rather than woken, so that no back-off wait is timed.
  await offline.stop();
  reachable = true;
  const started = performance.now();
  const online = startSync(local, remote);
  await within(600_000, online.flushed(), `pushing ${count} events`);
  const elapsed = performance.now() - started;
  await online.stop();
  await local.close();
  const check = await connect();
  const onServer = (await check.readAll({ limit: count + 1 })).length;
  await check.close();
  if (onServer !== count) throw new Error(`sync benchmark: the server holds ${onServer} events, not ${count}`);
  return (count / elapsed) * 1000;
}

/** Events per second of the same events saved straight to the JetStream store, three ways. */
async function ceilings(url, count, actors) {
  const perActor = Math.ceil(count / actors);
  const eventsOf = (actor) => Array.from({ length: Math.min(perActor, count - actor * perActor) }, (_, v) => deposit(`account-${actor}`, v + 1, v));
  const perSecond = async (run) => {
    const store = await remoteOn(url)();
    try {
      const started = performance.now();
      await run(store);
      return (count / (performance.now() - started)) * 1000;
    } finally {
      await store.close();
    }
  };
  return {
    sequential: await perSecond(async (store) => {
      for (let i = 0; i < count; i++) await store.saveEvent(deposit(`account-${i % actors}`, Math.floor(i / actors) + 1, i));
    }),
    concurrent: await perSecond((store) =>
      Promise.all(Array.from({ length: actors }, async (_, actor) => {
        for (const event of eventsOf(actor)) await store.saveEvent(event);
      })),
    ),
    // What the syncer does: saveEvents of up to 100 of an actor's events, 8 actors at a time.
    batched: await perSecond(async (store) => {
      let next = 0;
      const worker = async () => {
        while (next < actors) {
          const events = eventsOf(next++);
          for (let i = 0; i < events.length; i += 100) await store.saveEvents(events.slice(i, i + 100));
        }
      };
      await Promise.all(Array.from({ length: 8 }, worker));
    }),
  };
}

/**
 * @param {{ latencySaves: number, pushEvents: number, pushActors: number[] }} plan pushActors: the push's shapes (over how many actors its events are)
 * @returns {Promise<{ workload: string, store: string, value: number, unit: string }[]>}
 */
export async function runSyncBench(plan) {
  const server = await startNats();
  const { kinds, done } = localKinds();
  const rows = [];
  const add = (workload, store, value, unit) => rows.push({ workload, store, value, unit });
  const saves = plan.latencySaves.toLocaleString('en');
  const pushed = plan.pushEvents.toLocaleString('en');
  try {
    for (const kind of kinds) {
      const sorted = await saveToNotification(kind, server.url, plan.latencySaves);
      const store = `sync: ${kind.name} ⇄ JetStream (TCP) ⇄ ${kind.name}`;
      add(`save on A → notification on B, one at a time (${saves}), median`, store, sortedAt(sorted, 0.5), 'ms');
      add(`save on A → notification on B, one at a time (${saves}), p99`, store, sortedAt(sorted, 0.99), 'ms');
    }
    for (const actors of plan.pushActors) {
      const ceiling = await ceilings(server.url, plan.pushEvents, actors);
      const straight = `JetStream store (saves straight to it), ${actors} actor${actors === 1 ? '' : 's'}`;
      add(`${pushed} saveEvent one at a time`, straight, ceiling.sequential, 'events/s');
      if (actors > 1) add(`${pushed} saveEvent, ${actors} actors at once`, straight, ceiling.concurrent, 'events/s');
      add(`${pushed} events, saveEvents(100) per actor, ${Math.min(8, actors)} at once`, straight, ceiling.batched, 'events/s');
      for (const kind of kinds) {
        const rate = await pushAfterReconnecting(kind, server.url, plan.pushEvents, actors);
        const store = `sync: ${kind.name} → JetStream (TCP), ${actors} actor${actors === 1 ? '' : 's'}`;
        add(`push ${pushed} pending events after reconnecting, until flushed()`, store, rate, 'events/s');
        add(`  that push / saveEvent one at a time`, store, rate / ceiling.sequential, '×');
        add(`  that push / saveEvents(100) per actor`, store, rate / ceiling.batched, '×');
      }
    }
  } finally {
    await server.close();
    done();
  }
  return rows;
}
