// JetStream workloads against a local nats-server on loopback: aether-eventstore's
// saves (with the version rule) and reads, beside a plain @nats-io/jetstream
// publish loop without version checks, the ceiling.

import { connect } from '@nats-io/transport-node';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { openJetStream } from '../pkg/jetstream.mjs';
import { startNats } from '../tests/nats/server.mjs';

const AETHER = 'aether-eventstore';
const CEILING = 'plain JetStream publish (no version check)';

/** How many rounds the save workloads run; a row is the median. */
const ROUNDS = 5;

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

async function perSecond(count, run) {
  const started = performance.now();
  await run();
  return (count / (performance.now() - started)) * 1000;
}

const payload = (i) => ({ amount: i, currency: 'EUR', note: 'coffee beans', tags: ['groceries', 'weekly'] });

/**
 * @param {{ sequential: number, concurrent: number, readActors: number, readEach: number }} plan
 * @returns {Promise<{ workload: string, store: string, value: number, unit: string }[]>}
 */
export async function runJetStreamBench(plan) {
  const server = await startNats();
  const rows = [];
  const add = (workload, store, value, unit) => rows.push({ workload, store, value, unit });
  const connection = await connect({ servers: server.url });
  try {
    const store = await openJetStream({ connection, stream: 'BENCH', subjectPrefix: 'bench.events', snapshotBucket: 'BENCH_SNAPSHOTS' });
    const js = jetstream(connection);
    await (await jetstreamManager(connection)).streams.add({ name: 'CEILING', subjects: ['ceiling.>'] });
    const encoder = new TextEncoder();
    const body = (i) => encoder.encode(JSON.stringify({ eventType: 'Deposited', version: i + 1, data: payload(i) }));

    // A process's first run one by one is slower (1,000 in fresh processes, either order: the store's first
    // 930-1,430 ms, later ones 200-500; the ceiling's first 320-1,030 ms, later ones 160-620), and the store's
    // row went first: a quarter of the run, untimed, on each side first.
    for (let i = 0; i < plan.sequential / 4; i++) {
      await store.saveEvent({ eventType: 'Deposited', actorId: `warm-seq-${i % 10}`, version: Math.floor(i / 10) + 1, data: payload(i) });
    }
    for (let i = 0; i < plan.sequential / 4; i++) await js.publish(`ceiling.warm.seq.${i % 10}`, body(i));
    // The first burst of concurrent requests in a process costs 2 to 3 times the next ones (the JIT, buffers,
    // the server), whichever side sends it: one untimed burst of each first, so that neither row pays it for the other.
    await Promise.all(Array.from({ length: plan.concurrent }, (_, i) =>
      store.saveEvent({ eventType: 'Deposited', actorId: `warm-${i}`, version: 1, data: payload(i) }),
    ));
    await Promise.all(Array.from({ length: plan.concurrent }, (_, i) => js.publish(`ceiling.warm.${i}`, body(i))));
    // Five rounds, each timing both sides one after the other on fresh actors and subjects: the median per row.
    const timings = { sequential: [[], []], concurrent: [[], []] };
    for (let round = 0; round < ROUNDS; round++) {
      timings.sequential[0].push(await perSecond(plan.sequential, async () => {
        for (let i = 0; i < plan.sequential; i++) {
          await store.saveEvent({ eventType: 'Deposited', actorId: `seq-${round}-${i % 10}`, version: Math.floor(i / 10) + 1, data: payload(i) });
        }
      }));
      timings.sequential[1].push(await perSecond(plan.sequential, async () => {
        for (let i = 0; i < plan.sequential; i++) await js.publish(`ceiling.seq.${round}.${i % 10}`, body(i));
      }));
      timings.concurrent[0].push(await perSecond(plan.concurrent, () =>
        Promise.all(Array.from({ length: plan.concurrent }, (_, i) =>
          store.saveEvent({ eventType: 'Deposited', actorId: `con-${round}-${i}`, version: 1, data: payload(i) }),
        )),
      ));
      timings.concurrent[1].push(await perSecond(plan.concurrent, () =>
        Promise.all(Array.from({ length: plan.concurrent }, (_, i) => js.publish(`ceiling.con.${round}.${i}`, body(i)))),
      ));
    }
    for (const [kind, workload] of [['sequential', `sequential saves (${plan.sequential})`], ['concurrent', `${plan.concurrent} concurrent saves`]]) {
      add(workload, AETHER, median(timings[kind][0]), 'saves/s');
      add(workload, CEILING, median(timings[kind][1]), 'saves/s');
    }

    for (let actor = 0; actor < plan.readActors; actor++) {
      for (let first = 0; first < plan.readEach; first += 100) {
        const count = Math.min(100, plan.readEach - first);
        await store.saveEvents(Array.from({ length: count }, (_, i) => ({ eventType: 'Deposited', actorId: `read-${actor}`, version: first + i + 1, data: payload(i) })));
      }
    }
    const total = plan.readActors * plan.readEach;
    add(`read ${plan.readActors} streams of ${plan.readEach} events`, AETHER, await perSecond(total, async () => {
      for (let actor = 0; actor < plan.readActors; actor++) {
        if ((await store.getEvents(`read-${actor}`)).length !== plan.readEach) throw new Error('a read came back short');
      }
    }), 'events/s');
    await store.close();
    rows.push(...(await filteredReads(connection, plan)));
  } finally {
    await connection.close();
    await server.close();
  }
  return rows;
}

/** Microseconds per event of `reads` calls of `read(i)`, each returning `expected` events. */
async function microsPerEvent(reads, expected, read) {
  const started = performance.now();
  for (let i = 0; i < reads; i++) {
    if ((await read(i)).length !== expected) throw new Error('a read came back with the wrong number of events');
  }
  return ((performance.now() - started) * 1000) / (reads * expected);
}

/**
 * One actor's reads in a stream of `10 × readActors` actors of `readEach` events
 * each (one event a message, the actors' saves interleaved), beside the same
 * reads of an actor alone in its stream: what the other actors' events cost.
 */
async function filteredReads(connection, { readActors, readEach }) {
  // 100 actors of 1,000 events at the full size (10 read streams of 1,000).
  const [filterActors, filterEach] = [readActors * 10, readEach];
  const total = filterActors * filterEach;
  const crowded = await openJetStream({ connection, stream: 'BENCH_CROWDED', subjectPrefix: 'crowded.events', snapshotBucket: 'BENCH_SNAPSHOTS' });
  const alone = await openJetStream({ connection, stream: 'BENCH_ALONE', subjectPrefix: 'alone.events', snapshotBucket: 'BENCH_SNAPSHOTS' });
  const save = (store, actorId, version) => store.saveEvent({ eventType: 'Deposited', actorId, version, data: payload(version) });
  await Promise.all(Array.from({ length: filterActors }, async (_, actor) => {
    for (let version = 1; version <= filterEach; version++) await save(crowded, `actor-${actor}`, version);
  }));
  for (let version = 1; version <= filterEach; version++) await save(alone, 'actor-0', version);
  const tail = Math.max(1, Math.floor(filterEach / 10));
  const from = filterEach - tail + 1;
  const reads = Math.min(filterActors, 10);
  const rows = [];
  for (const [store, where] of [[crowded, `a stream of ${total.toLocaleString('en')} events in ${filterActors} actors`], [alone, 'a stream of that actor alone']]) {
    const actor = (i) => (store === alone ? 'actor-0' : `actor-${(i * 7) % filterActors}`);
    rows.push({
      workload: `getEvents(actor, ${from}): the last ${tail} of ${filterEach.toLocaleString('en')}, in ${where}`,
      store: AETHER,
      value: await microsPerEvent(reads, tail, (i) => store.getEvents(actor(i), from)),
      unit: 'µs/event',
    });
    rows.push({
      workload: `getEvents(actor): all ${filterEach.toLocaleString('en')}, in ${where}`,
      store: AETHER,
      value: await microsPerEvent(reads, filterEach, (i) => store.getEvents(actor(i))),
      unit: 'µs/event',
    });
    rows.push({
      workload: `getLatestVersion, in ${where}`,
      store: AETHER,
      value: await microsPerEvent(reads, 1, async (i) => [await store.getLatestVersion(actor(i))]),
      unit: 'µs/call',
    });
  }
  await Promise.all([crowded.close(), alone.close()]);
  return rows;
}
