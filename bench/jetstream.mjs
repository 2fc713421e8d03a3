// JetStream workloads against a local nats-server on loopback: aether-eventstore's
// saves (with the version rule) and reads, beside a plain @nats-io/jetstream
// publish loop without version checks, the ceiling.

import { connect } from '@nats-io/transport-node';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { openJetStream } from '../pkg/jetstream.mjs';
import { startNats } from '../tests/nats/server.mjs';

const AETHER = 'aether-eventstore';
const CEILING = 'plain JetStream publish (no version check)';

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

    add(`sequential saves (${plan.sequential})`, AETHER, await perSecond(plan.sequential, async () => {
      for (let i = 0; i < plan.sequential; i++) {
        await store.saveEvent({ eventType: 'Deposited', actorId: `seq-${i % 10}`, version: Math.floor(i / 10) + 1, data: payload(i) });
      }
    }), 'saves/s');
    add(`sequential saves (${plan.sequential})`, CEILING, await perSecond(plan.sequential, async () => {
      for (let i = 0; i < plan.sequential; i++) await js.publish(`ceiling.seq.${i % 10}`, body(i));
    }), 'saves/s');

    add(`${plan.concurrent} concurrent saves`, AETHER, await perSecond(plan.concurrent, () =>
      Promise.all(Array.from({ length: plan.concurrent }, (_, i) =>
        store.saveEvent({ eventType: 'Deposited', actorId: `con-${i}`, version: 1, data: payload(i) }),
      )),
    ), 'saves/s');
    add(`${plan.concurrent} concurrent saves`, CEILING, await perSecond(plan.concurrent, () =>
      Promise.all(Array.from({ length: plan.concurrent }, (_, i) => js.publish(`ceiling.con.${i}`, body(i)))),
    ), 'saves/s');

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
  } finally {
    await connection.close();
    await server.close();
  }
  return rows;
}
