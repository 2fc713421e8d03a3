// The JetStream store on a real three-node nats-server cluster (tests/nats/cluster.mjs):
// the options of the stream it creates, an existing stream left as it is, and
// failover: two clients saving while the stream's leader is SIGKILLed and
// restarted five times. Figures are printed as '# ' lines.
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { StorageError, ValidationError, VersionConflictError } from 'aether-eventstore';
import { openJetStream } from 'aether-eventstore/jetstream';
import { connect } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';

const repo = process.env.AETHER_REPO ?? process.cwd();
const { startCluster } = await import(pathToFileURL(join(repo, 'tests', 'nats', 'cluster.mjs')));

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const NANOS_PER_MS = 1_000_000;

let cluster;
let admin; // a plain client of the cluster, for looking at streams as they are
let jsm;
let streams = 0;
/** Cleared by after(): a test that failed or timed out stops its writers, and its stores are closed. */
let running = true;
const openStores = new Set();
const connections = new Set();

/** A connection to the cluster, closed by after() whatever happens to the test that uses it. */
async function client() {
  const connection = await connect({ servers: cluster.urls });
  connections.add(connection);
  return connection;
}

before(async () => {
  cluster = await startCluster();
  admin = await connect({ servers: cluster.urls, maxReconnectAttempts: -1, reconnectTimeWait: 250 });
  jsm = await jetstreamManager(admin);
});

after(async () => {
  running = false;
  // At most 20 s for a store whose close hangs; the timer is cleared so that it does not hold the process.
  const bounded = (promise) => {
    let timer;
    const limit = new Promise((resolve) => {
      timer = setTimeout(resolve, 20_000);
    });
    return Promise.race([promise.catch(() => {}), limit]).finally(() => clearTimeout(timer));
  };
  await Promise.all([...openStores].map((store) => bounded(store.close())));
  await Promise.all([...connections, admin].map((connection) => connection?.close().catch(() => {})));
  await cluster?.close();
});

function fresh() {
  const n = ++streams;
  return { stream: `CLUSTER_${n}`, subjectPrefix: `cluster${n}.events`, snapshotBucket: `CLUSTER_${n}_SNAPSHOTS` };
}

const event = (actorId, version, extra = {}) => ({ eventType: 'Happened', actorId, version, data: { n: version }, ...extra });

/** Runs `work` until it succeeds or `ms` pass (requests to the cluster fail while a leader is elected). */
async function eventually(work, ms = 20_000) {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      return await work();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await sleep(100);
    }
  }
}

/** A stream's info (a request may time out while a new replicated stream elects its first leader). */
const streamInfo = (name) => eventually(() => jsm.streams.info(name));

describe('jetstream cluster: the stream the store creates', () => {
  test('on a cluster, replicas defaults to 3 for the stream and the snapshot bucket', async () => {
    const names = fresh();
    const store = await openJetStream({ connection: await client(), ...names });
    assert.equal((await streamInfo(names.stream)).config.num_replicas, 3);
    assert.equal((await streamInfo(`KV_${names.snapshotBucket}`)).config.num_replicas, 3);
    await eventually(() => store.saveEvent(event('a', 1, { id: 'a-1' })));
    await store.close();
  });

  test('replicas, duplicateWindow, maxBytes and snapshotMaxAge are the created stream\'s and bucket\'s settings', async () => {
    const names = fresh();
    const store = await openJetStream({ connection: await client(), ...names, replicas: 1, duplicateWindow: 30_000, maxBytes: 4096, snapshotMaxAge: 3_600_000 });
    const { config } = await streamInfo(names.stream);
    assert.equal(config.num_replicas, 1);
    assert.equal(config.duplicate_window, 30_000 * NANOS_PER_MS);
    assert.equal(config.max_bytes, 4096);
    assert.equal(config.discard, 'new', 'a full stream refuses saves rather than dropping the oldest events');
    assert.equal(config.max_age, 0, 'events never expire');
    const bucket = (await streamInfo(`KV_${names.snapshotBucket}`)).config;
    assert.equal(bucket.num_replicas, 1);
    assert.equal(bucket.max_age, 3_600_000 * NANOS_PER_MS);
    // Full: a save is a StorageError, and every event saved before is still there.
    const saved = [];
    let refused;
    for (let version = 1; version <= 100 && !refused; version++) {
      try {
        saved.push(await store.saveEvent(event('full', version, { data: { padding: 'x'.repeat(200) } })));
      } catch (error) {
        refused = error;
      }
    }
    assert.ok(refused instanceof StorageError, String(refused));
    assert.ok(saved.length > 3);
    assert.deepEqual(await store.getEvents('full'), saved);
    await store.close();
  });

  test('an existing stream and bucket are used as they are: never changed by the options', async () => {
    const names = fresh();
    await jsm.streams.add({ name: names.stream, subjects: [`${names.subjectPrefix}.>`], num_replicas: 3, duplicate_window: 60_000 * NANOS_PER_MS, max_bytes: 1 << 20, discard: 'new' });
    const before = (await streamInfo(names.stream)).config;
    const store = await openJetStream({ connection: await client(), ...names, replicas: 1, duplicateWindow: 1000, maxBytes: 2048, snapshotMaxAge: 1000 });
    await eventually(() => store.saveEvents([event('a', 1, { id: 'a-1' }), event('a', 2, { id: 'a-2' })]));
    const afterOpen = (await streamInfo(names.stream)).config;
    for (const field of ['num_replicas', 'duplicate_window', 'max_bytes', 'discard', 'max_age', 'subjects', 'storage']) {
      assert.deepEqual(afterOpen[field], before[field], field);
    }
    await store.close();
    // The bucket, created by that open, is kept as it is by the next one.
    const bucket = (await streamInfo(`KV_${names.snapshotBucket}`)).config;
    const again = await openJetStream({ connection: await client(), ...names, replicas: 3, snapshotMaxAge: 99_000 });
    assert.deepEqual((await streamInfo(`KV_${names.snapshotBucket}`)).config.max_age, bucket.max_age);
    assert.equal((await streamInfo(`KV_${names.snapshotBucket}`)).config.num_replicas, bucket.num_replicas);
    await again.close();
  });

  test('bad values of the options are ValidationErrors naming the option', async () => {
    const cases = [
      [{ replicas: 0 }, 'replicas'],
      [{ replicas: 6 }, 'replicas'],
      [{ replicas: 1.5 }, 'replicas'],
      [{ replicas: '3' }, 'replicas'],
      [{ duplicateWindow: 0 }, 'duplicateWindow'],
      [{ duplicateWindow: -5 }, 'duplicateWindow'],
      [{ duplicateWindow: 10 ** 12 }, 'duplicateWindow'],
      [{ maxBytes: 0 }, 'maxBytes'],
      [{ maxBytes: Infinity }, 'maxBytes'],
      [{ snapshotMaxAge: 0.5 }, 'snapshotMaxAge'],
      [{ snapshotMaxAge: null }, 'snapshotMaxAge'],
    ];
    for (const [options, field] of cases) {
      await assert.rejects(openJetStream({ servers: cluster.urls, ...fresh(), ...options }), (error) => {
        assert.ok(error instanceof ValidationError, `${JSON.stringify(options)}: ${error}`);
        assert.equal(error.field, field);
        return true;
      });
    }
  });
});

/**
 * A connection to the cluster that reports another server version (`control.version`)
 * and status events that the test sends (`control.send`), to play a reconnection to
 * a server too old. Everything else is the real connection.
 */
async function pretending() {
  const connection = await connect({ servers: cluster.urls });
  const listeners = new Set(); // every status() iterator, as the client has one per caller (the store, the client's consumers)
  /** An iterator of the statuses sent from now on, like the client's `status()`. */
  function statuses() {
    const listener = { queue: [], wake: () => {}, stopped: false };
    listeners.add(listener);
    return {
      async *[Symbol.asyncIterator]() {
        while (!listener.stopped) {
          if (listener.queue.length > 0) yield listener.queue.shift();
          else await new Promise((resolve) => (listener.wake = resolve));
        }
      },
      stop() {
        listener.stopped = true;
        listeners.delete(listener);
        listener.wake();
      },
    };
  }
  const control = {
    version: undefined,
    connection,
    send(status) {
      for (const listener of listeners) {
        listener.queue.push(status);
        listener.wake();
      }
    },
  };
  control.proxy = new Proxy(connection, {
    get(target, property) {
      if (property === 'info') return target.info && { ...target.info, version: control.version ?? target.info.version };
      if (property === 'status') return statuses;
      const value = Reflect.get(target, property, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  return control;
}

describe('jetstream cluster: server versions', () => {
  test('a replicated stream is refused on a server older than 2.10.19, whether the store would create it or it exists; one replica is not', async () => {
    const fake = await pretending();
    try {
      fake.version = '2.10.18';
      const names = fresh();
      await assert.rejects(openJetStream({ connection: fake.proxy, ...names, replicas: 3 }), (error) => {
        assert.ok(error instanceof StorageError, String(error));
        assert.match(error.message, /2\.10\.18/);
        assert.match(error.message, /2\.10\.19 or later/);
        assert.match(error.message, /4320 and 5644/);
        return true;
      });
      await assert.rejects(jsm.streams.info(names.stream), (error) => error.code === 10059, 'refused before the stream is created');
      const existing = fresh();
      await jsm.streams.add({ name: existing.stream, subjects: [`${existing.subjectPrefix}.>`], num_replicas: 3 });
      await eventually(async () => assert.ok((await jsm.streams.info(existing.stream)).cluster?.leader));
      await assert.rejects(openJetStream({ connection: fake.proxy, ...existing, replicas: 1 }), (error) => error instanceof StorageError && /2\.10\.19/.test(error.message));
      fake.version = '2.9.10';
      const single = await openJetStream({ connection: fake.proxy, ...fresh(), replicas: 1 });
      assert.equal((await single.saveEvent(event('a', 1))).version, 1);
      await single.close();
    } finally {
      await fake.connection.close();
    }
  });

  test('after a reconnection to a server too old, saves are refused (reads are not) until a reconnection to a current one', async () => {
    const fake = await pretending();
    try {
      const names = fresh();
      const store = await openJetStream({ connection: fake.proxy, ...names, replicas: 3 });
      await eventually(() => store.saveEvent(event('a', 1, { id: 'a-1' })));
      fake.version = '2.10.0';
      fake.send({ type: 'reconnect', server: 'old' });
      await sleep(20);
      await assert.rejects(store.saveEvent(event('a', 2)), (error) => error instanceof StorageError && /2\.10\.0/.test(error.message) && /2\.10\.19/.test(error.message));
      assert.deepEqual((await store.getEvents('a')).map((e) => e.version), [1]);
      fake.version = undefined; // the real one
      fake.send({ type: 'reconnect', server: 'current' });
      await sleep(20);
      assert.equal((await store.saveEvent(event('a', 2))).version, 2);
      await store.close();
    } finally {
      await fake.connection.close();
    }
  });
});

describe('jetstream cluster: the stream leader killed and restarted five times', () => {
  test('two clients save throughout: every acknowledged save on every server, each version once, batches whole, the stores recover by themselves', { timeout: 110_000 }, async () => {
    const names = { ...fresh(), replicas: 3 };
    const actors = ['order-1', 'order-2', 'order-3', 'order-4'];
    const outcomes = []; // { writer, started, at, kind: 'stored' | 'conflict' | 'storage' | another error's name, attempt }
    let writing = true;
    let nextId = 0;
    const stores = [];
    try {
      // Each client starts on another node, and knows them all.
      for (const first of [0, 1]) {
        const servers = [cluster.urls[first], ...cluster.urls.filter((_, i) => i !== first)];
        stores.push(await openJetStream({ servers, ...names }));
        openStores.add(stores.at(-1));
      }

      /** Saves one after another: singles and batches of 2 or 3, on actors both clients write; a failed save is retried with the same ids. */
      async function write(writer) {
        const store = stores[writer];
        const known = new Map(actors.map((actorId) => [actorId, 0]));
        let attempt = null;
        while (writing && running) {
          if (!attempt) {
            const actorId = actors[Math.floor(Math.random() * actors.length)];
            const size = Math.random() < 0.4 ? 2 + Math.floor(Math.random() * 2) : 1;
            const first = known.get(actorId) + 1;
            const events = Array.from({ length: size }, (_, i) => event(actorId, first + i, { id: `w${writer}-${++nextId}`, data: { writer } }));
            attempt = { actorId, batch: size > 1, events };
          }
          const started = Date.now();
          try {
            const stored = attempt.batch ? await store.saveEvents(attempt.events) : await store.saveEvent(attempt.events[0]);
            outcomes.push({ writer, started, at: Date.now(), kind: 'stored', attempt, stored: attempt.batch ? stored : [stored] });
            known.set(attempt.actorId, attempt.events.at(-1).version);
            attempt = null;
            await sleep(5);
          } catch (error) {
            if (error instanceof VersionConflictError) {
              outcomes.push({ writer, started, at: Date.now(), kind: 'conflict', attempt });
              known.set(attempt.actorId, error.currentVersion);
              attempt = null;
            } else if (error instanceof StorageError) {
              outcomes.push({ writer, started, at: Date.now(), kind: 'storage', attempt, message: error.message });
              await sleep(100); // then the same save again
            } else {
              outcomes.push({ writer, started, at: Date.now(), kind: error?.name ?? String(error), attempt, message: error?.message });
              attempt = null;
            }
          }
        }
      }
      const writers = [write(0), write(1)];
      /** Whether `writer` has had a save begun after `since` acknowledged. */
      const storedSince = (since, writer) => outcomes.some((o) => o.kind === 'stored' && o.started > since && o.writer === writer);
      await eventually(async () => assert.ok(storedSince(0, 0) && storedSince(0, 1)));

      const kills = [];
      for (let round = 1; round <= 5; round++) {
        const info = await eventually(() => jsm.streams.info(names.stream));
        const leader = info.cluster.leader;
        const killedAt = Date.now();
        await cluster.kill(leader);
        // Both clients store again, on their own: the stores are not reopened.
        await eventually(async () => assert.ok(storedSince(killedAt, 0) && storedSince(killedAt, 1), 'both clients save again'), 40_000);
        const recoveredAt = Date.now();
        await cluster.start(leader);
        // The restarted node catches up before the next kill, so that a majority stays current.
        await eventually(async () => {
          const { cluster: state } = await jsm.streams.info(names.stream);
          assert.ok(state.leader && state.replicas?.length === 2 && state.replicas.every((replica) => replica.current && !replica.offline));
        }, 30_000);
        kills.push({ round, leader, killedAt, recoveredAt, holds: await cluster.streamState(names.stream) });
      }
      await sleep(500);
      writing = false;
      await Promise.all(writers);

      // Per kill: from the kill to the next kill (or the end).
      const ends = [...kills.slice(1).map((k) => k.killedAt), Date.now()];
      for (const [i, kill] of kills.entries()) {
        const window = outcomes.filter((o) => o.at >= kill.killedAt && o.at < ends[i]);
        const stored = window.filter((o) => o.kind === 'stored');
        /** The longest time without an acknowledged save (of one writer, or of either), counted from the kill. */
        const longestGap = (saves) => {
          let gap = 0;
          let previous = kill.killedAt;
          for (const o of saves) {
            gap = Math.max(gap, o.at - previous);
            previous = o.at;
          }
          return gap;
        };
        const perWriter = [0, 1].map((writer) => longestGap(stored.filter((o) => o.writer === writer)));
        const again = [0, 1].map((writer) => stored.find((o) => o.writer === writer && o.started > kill.killedAt).at - kill.killedAt);
        console.log(
          `# jetstream cluster kill ${kill.round}: leader ${kill.leader} SIGKILLed; ${stored.length} saves acknowledged, ` +
            `${window.filter((o) => o.kind === 'storage').length} StorageError, ${window.filter((o) => o.kind === 'conflict').length} VersionConflictError; ` +
            `stall ${longestGap(stored)} ms (longest gap between acknowledged saves; ${perWriter.join(' and ')} ms for each client; ` +
            `a save begun after the kill acknowledged after ${again.join(' and ')} ms); ` +
            `after the restart the servers hold ${Object.entries(kill.holds)
              .map(([name, h]) => `${name}: ${h ? `${h.messages} messages to seq ${h.lastSeq}` : 'none'}`)
              .join(', ')}`,
        );
      }

      // Every failure is a StorageError or a VersionConflictError.
      const strange = outcomes.filter((o) => !['stored', 'conflict', 'storage'].includes(o.kind));
      assert.deepEqual(strange.map((o) => `${o.kind}: ${o.message}`), []);

      // The stores carry on without being reopened.
      for (const [writer, store] of stores.entries()) {
        const latest = await store.getLatestVersion('after');
        assert.equal((await store.saveEvent(event('after', latest + 1, { id: `after-${writer}` }))).version, latest + 1);
      }

      // Every acknowledged save, read through each server on its own, as acknowledged.
      const acknowledged = outcomes.filter((o) => o.kind === 'stored');
      const histories = [];
      for (const url of cluster.urls) {
        const connection = await connect({ servers: url });
        try {
          // Opening may time out while the snapshot bucket's stream (replicated too) still elects its leader.
          const reader = await eventually(() => openJetStream({ connection, ...names }));
          const history = new Map();
          for (const actorId of actors) history.set(actorId, await eventually(() => reader.getEvents(actorId)));
          for (const { stored } of acknowledged) {
            for (const e of stored) assert.deepEqual(history.get(e.actorId)[e.version - 1], e, `${url}: acknowledged ${e.actorId} v${e.version}`);
          }
          histories.push(history);
        } finally {
          await connection.close();
        }
      }
      assert.deepEqual(histories[1], histories[0]);
      assert.deepEqual(histories[2], histories[0]);
      for (const [actorId, events] of histories[0]) {
        assert.deepEqual(events.map((e) => e.version), events.map((_, i) => i + 1), `${actorId}: versions 1, 2, 3, ... with no gap`);
      }

      // No batch half-written: of every batch attempted, acknowledged or not, all events or none.
      const byId = new Map([...histories[0].values()].flat().map((e) => [e.id, e]));
      for (const { attempt } of outcomes) {
        if (!attempt.batch) continue;
        const found = attempt.events.filter((e) => byId.get(e.id)?.version === e.version).length;
        assert.ok(found === 0 || found === attempt.events.length, `batch ${attempt.events.map((e) => e.id).join(',')}: ${found} of ${attempt.events.length} stored`);
      }

      // No version stored twice, in the raw messages of the stream.
      const { state } = await streamInfo(names.stream);
      const seen = new Map();
      let messages = 0;
      for (let seq = state.first_seq; seq <= state.last_seq; seq++) {
        const message = await eventually(() => jsm.streams.getMessage(names.stream, { seq }));
        if (!message) continue; // deleted: a save that lost its version around a leader change (see the store's #settle)
        messages++;
        const body = JSON.parse(message.string());
        for (const e of Array.isArray(body) ? body : [body]) {
          const key = `${e.actorId} v${e.version}`;
          assert.ok(!seen.has(key), `${key} stored twice: stream sequences ${seen.get(key)} and ${seq}`);
          seen.set(key, seq);
        }
      }
      // Each server holds the same messages once it has caught up.
      await eventually(async () => {
        const holds = Object.values(await cluster.streamState(names.stream));
        assert.equal(holds.length, 3);
        assert.ok(holds.every((h) => h && h.messages === messages && h.lastSeq === state.last_seq), JSON.stringify(holds));
      }, 15_000);

      const count = (kind) => outcomes.filter((o) => o.kind === kind).length;
      console.log(
        `# jetstream cluster: ${count('stored')} saves acknowledged (${acknowledged.filter((o) => o.attempt.batch).length} batches), ${count('storage')} StorageError, ` +
          `${count('conflict')} VersionConflictError; ${messages} messages, ${state.last_seq - state.first_seq + 1 - messages} deleted; ` +
          `every acknowledged save read back through each of the 3 servers`,
      );
    } finally {
      writing = false;
      await Promise.all(stores.map((store) => store.close().catch(() => {})));
      for (const store of stores) openStores.delete(store);
    }
  });
});
