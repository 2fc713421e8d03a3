// The JetStream store against a real nats-server (started here on loopback
// ports with a temporary store directory): the shared behaviour, then what
// JetStream adds: the subject layout, atomic batches, idempotent retries, the
// version rule across processes, undecodable messages, a server restart, and
// reads of one actor from a version.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as api from 'aether-eventstore';
import { openJetStream } from 'aether-eventstore/jetstream';
import { connect } from '@nats-io/transport-node';
import { headers } from '@nats-io/nats-core';
import { jetstreamManager, jetstream } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import defineBehaviourTests from './behaviour.cjs';

const { EventStore, StorageError, ValidationError, VersionConflictError } = api;
const { startNats } = await import(pathToFileURL(join(process.env.AETHER_REPO ?? process.cwd(), 'tests', 'nats', 'server.mjs')));

let server;
let shared; // one connection for the many stores of the shared behaviour tests
let streams = 0;

before(async () => {
  server = await startNats();
  shared = await connect({ servers: server.url });
});

after(async () => {
  await shared?.close();
  await server?.close();
});

/** Names of a fresh stream, subject prefix and snapshot bucket. */
function fresh() {
  const n = ++streams;
  return { stream: `TEST_${n}`, subjectPrefix: `test${n}.events`, snapshotBucket: `TEST_${n}_SNAPSHOTS` };
}

const event = (actorId, version, extra = {}) => ({ eventType: 'Happened', actorId, version, data: { n: version }, ...extra });
const settle = (ms = 300) => new Promise((resolve) => setTimeout(resolve, ms));

/** Every raw message of a stream, as a plain client sees it. */
async function rawMessages(stream) {
  const jsm = await jetstreamManager(shared);
  const { state } = await jsm.streams.info(stream);
  const messages = [];
  for (let seq = state.first_seq; seq <= state.last_seq && state.messages > 0; seq++) {
    const message = await jsm.streams.getMessage(stream, { seq });
    if (message) messages.push({ seq, subject: message.subject, body: message.string(), headers: message.header });
  }
  return messages;
}

defineBehaviourTests(api, 'jetstream', () => openJetStream({ connection: shared, ...fresh() }), {
  multiActorBatches: false,
  settleMs: 300,
  maxEventBytes: 1024 * 1024, // nats-server's default max_payload
});

describe('jetstream: opening', () => {
  test('creates the stream with file storage on <prefix>.>, and the snapshot bucket', async () => {
    const names = fresh();
    const store = await openJetStream({ servers: server.url, ...names });
    assert.ok(store instanceof EventStore);
    const jsm = await jetstreamManager(shared);
    const info = await jsm.streams.info(names.stream);
    assert.deepEqual(info.config.subjects, [`${names.subjectPrefix}.>`]);
    assert.equal(info.config.storage, 'file');
    assert.ok(await jsm.streams.info(`KV_${names.snapshotBucket}`));
    await store.close();
  });

  test('the default names', async () => {
    const store = await openJetStream({ servers: server.url });
    const jsm = await jetstreamManager(shared);
    assert.deepEqual((await jsm.streams.info('AETHER_EVENTS')).config.subjects, ['aether.events.>']);
    assert.ok(await jsm.streams.info('KV_AETHER_SNAPSHOTS'));
    await store.close();
  });

  test('an existing stream that does not capture the subjects is a StorageError', async () => {
    const names = fresh();
    const jsm = await jetstreamManager(shared);
    await jsm.streams.add({ name: names.stream, subjects: ['elsewhere.>'] });
    await assert.rejects(openJetStream({ connection: shared, ...names }), (error) => error instanceof StorageError && /captures/.test(error.message));
  });

  test('no server at open is a StorageError with the client\'s error as cause', async () => {
    await assert.rejects(openJetStream({ servers: 'nats://127.0.0.1:1' }), (error) => {
      assert.ok(error instanceof StorageError);
      assert.ok(error.cause instanceof Error);
      return true;
    });
  });

  test('bad options are ValidationErrors', async () => {
    const cases = [
      [{}, 'servers'],
      [{ servers: 5 }, 'servers'],
      [{ servers: server.url, stream: 'a.b' }, 'stream'],
      [{ servers: server.url, subjectPrefix: 'a.*' }, 'subjectPrefix'],
      [{ servers: server.url, snapshotBucket: 'a b' }, 'snapshotBucket'],
    ];
    for (const [options, field] of cases) {
      await assert.rejects(openJetStream(options), (error) => error instanceof ValidationError && error.field === field);
    }
  });

  test('saves hear their acknowledgements under the connection\'s inbox prefix', async () => {
    const connection = await connect({ servers: server.url, inboxPrefix: 'acks.here' });
    const heard = [];
    const sniffer = shared.subscribe('acks.here.>', { callback: (_, message) => heard.push(JSON.parse(message.string())) });
    await shared.flush();
    const store = await openJetStream({ connection, ...fresh() });
    await Promise.all([1, 2, 3].map((n) => store.saveEvent(event(`a${n}`, 1))));
    await store.close();
    await connection.close();
    await shared.flush();
    sniffer.unsubscribe();
    assert.deepEqual(heard.filter((ack) => typeof ack.seq === 'number').map((ack) => ack.seq).sort(), [1, 2, 3]);
  });

  test('a save to a stream deleted after open is a StorageError saying that no server answers: jetstream is not enabled (not a timeout)', async () => {
    const names = fresh();
    const store = await openJetStream({ connection: shared, ...names });
    await store.saveEvent(event('a', 1));
    await (await jetstreamManager(shared)).streams.delete(names.stream);
    await assert.rejects(store.saveEvent(event('b', 1)), (error) => {
      assert.ok(error instanceof StorageError);
      assert.match(error.message, /jetstream is not enabled/);
      return true;
    });
    await store.close();
  });

  test('a given connection is left open by close', async () => {
    const connection = await connect({ servers: server.url });
    const store = await openJetStream({ connection, ...fresh() });
    await store.saveEvent(event('a', 1));
    await store.close();
    assert.equal(connection.isClosed(), false);
    await connection.close();
  });
});

describe('jetstream: layout', () => {
  test('one message per event on the actor\'s subject, a batch as one message, Nats-Msg-Id from actor, versions and ids', async () => {
    const names = fresh();
    const store = await openJetStream({ connection: shared, ...names });
    const single = await store.saveEvent(event('order.7 ü', 1, { id: 'event-1' }));
    const batch = await store.saveEvents([event('order.7 ü', 2), event('order.7 ü', 3)]);
    const messages = await rawMessages(names.stream);
    assert.equal(messages.length, 2);
    assert.equal(messages[0].subject, `${names.subjectPrefix}.order=2E7=20=C3=BC`);
    assert.deepEqual(JSON.parse(messages[0].body), single);
    const [singleId, batchId] = messages.map((message) => message.headers.get('Nats-Msg-Id'));
    assert.match(singleId, /^aether-[0-9a-f]{32}$/);
    assert.match(batchId, /^aether-[0-9a-f]{32}$/);
    assert.notEqual(singleId, batchId);
    // The version rule's expectation, kept by the server on each message: the subject's last sequence before it.
    assert.deepEqual(messages.map((message) => message.headers.get('Nats-Expected-Last-Subject-Sequence')), ['0', '1']);
    assert.deepEqual(JSON.parse(messages[1].body), batch);
    assert.deepEqual(await store.getEvents('order.7 ü'), [single, ...batch]);
  });

  test('a batch of several actors is a ValidationError naming the first event of a second actor, and stores nothing', async () => {
    const names = fresh();
    const store = await openJetStream({ connection: shared, ...names });
    await assert.rejects(store.saveEvents([event('a', 1), event('a', 2), event('b', 1)]), (error) => {
      assert.ok(error instanceof ValidationError);
      assert.equal(error.field, '[2].actorId');
      assert.match(error.message, /atomically/);
      return true;
    });
    assert.deepEqual(await rawMessages(names.stream), []);
  });

  test('an actor id too long for a subject is a ValidationError', async () => {
    const store = await openJetStream({ connection: shared, ...fresh() });
    await assert.rejects(store.saveEvent(event('x'.repeat(2000), 1)), (error) => error instanceof ValidationError && error.field === 'actorId');
    assert.equal(await store.getLatestVersion('x'.repeat(2000)), 0);
  });
});

describe('jetstream: global order', () => {
  test('two clients writing while a third subscribes from the middle: every event once, in position order, matching readAll', async () => {
    const names = fresh();
    const [left, right, reader] = await Promise.all([0, 1, 2].map(() => openJetStream({ servers: server.url, ...names })));
    await left.saveEvents([event('left', 1), event('left', 2)]);
    await right.saveEvent(event('right', 1));
    const middle = (await reader.readAll())[1].position;
    const heard = [];
    reader.subscribe((n) => heard.push(n), { after: middle });
    const write = async (store, actor, first) => {
      for (let version = first; version < first + 40; version += 2) await store.saveEvents([event(actor, version), event(actor, version + 1)]);
    };
    await Promise.all([write(left, 'left', 3), write(right, 'right', 2)]);
    const all = await reader.readAll({ after: middle });
    for (let waited = 0; heard.length < all.length && waited < 5000; waited += 20) await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(all.length, 81);
    assert.deepEqual(heard.map((n) => n.position), all.map((r) => r.position));
    assert.deepEqual(heard.map((n) => n.event), all.map((r) => r.event));
    const message = all.find((r) => r.event.actorId === 'left' && r.event.version === 3).position;
    assert.equal(all.find((r) => r.event.actorId === 'left' && r.event.version === 4).position, message + 1, 'a batch is one message: consecutive positions');
    assert.equal(message % 1_000_000, 0, 'the first event of a message sits at its sequence x 1,000,000');
    assert.equal(await reader.lastPosition(), all.at(-1).position);
    await Promise.all([left.close(), right.close(), reader.close()]);
  });
});

describe('jetstream: server resources', () => {
  test('reads leave no consumer behind on the server (getEvents, readAll, getLatestSnapshot, 100 each)', async () => {
    const names = fresh();
    const store = await openJetStream({ connection: shared, ...names });
    await store.saveEvents([event('a', 1), event('a', 2)]);
    await store.saveSnapshot({ actorId: 'a', version: 2, state: {} });
    for (let i = 0; i < 100; i++) {
      await store.getEvents('a');
      await store.readAll();
      await store.getLatestSnapshot('a');
    }
    const jsm = await jetstreamManager(shared);
    const count = async () => {
      let total = 0;
      for (const stream of [names.stream, `KV_${names.snapshotBucket}`]) total += (await jsm.streams.info(stream)).state.consumer_count;
      return total;
    };
    for (let waited = 0; (await count()) > 0 && waited < 3000; waited += 100) await settle(100);
    assert.equal(await count(), 0, 'consumers left on the server');
    await store.close();
  });
});

describe('jetstream: retries and the version rule', () => {
  test('a retried save resolves with the stored event, once, from any client and outside the dedupe window', async () => {
    const names = fresh();
    const store = await openJetStream({ connection: shared, ...names });
    const first = await store.saveEvent(event('a', 1, { id: 'fixed-id', data: { amount: 5 } }));
    const other = await openJetStream({ connection: shared, ...names }); // another client that never saw it
    assert.deepEqual(await other.saveEvent(event('a', 1, { id: 'fixed-id', data: { amount: 5 } })), first);
    const batch = await store.saveEvents([event('a', 2, { id: 'b-2' }), event('a', 3, { id: 'b-3' })]);
    await store.saveEvent(event('a', 4));
    // No longer the subject's last message: recognised by reading the events at those versions.
    assert.deepEqual(await other.saveEvents([event('a', 2, { id: 'b-2' }), event('a', 3, { id: 'b-3' })]), batch);
    assert.deepEqual(await other.saveEvent(event('a', 1, { id: 'fixed-id' })), first);
    await assert.rejects(other.saveEvent(event('a', 4, { id: 'fixed-id' })), VersionConflictError, 'an id at another version is no retry');
    const elsewhere = await other.saveEvent(event('b', 1, { id: 'fixed-id' }));
    assert.equal(elsewhere.actorId, 'b', 'the same id at another actor is another event');
    assert.equal((await rawMessages(names.stream)).length, 4);
  });

  test('ids of any length and with line breaks are stored like any other', async () => {
    const names = fresh();
    const store = await openJetStream({ connection: shared, ...names });
    const ids = ['line\r\nbreak', 'x'.repeat(100_000), 'ü\u0000'];
    for (const [i, id] of ids.entries()) {
      const stored = await store.saveEvent(event('ids', i + 1, { id }));
      assert.equal(stored.id, id);
      assert.deepEqual(await store.saveEvent(event('ids', i + 1, { id })), stored, 'a retry');
    }
    assert.deepEqual((await store.getEvents('ids')).map((e) => e.id), ids);
  });

  test('two clients can never both store a version; the loser learns the server\'s version', async () => {
    const names = fresh();
    const [left, right] = [await openJetStream({ servers: server.url, ...names }), await openJetStream({ servers: server.url, ...names })];
    for (let version = 1; version <= 30; version++) {
      const outcomes = await Promise.allSettled([left.saveEvent(event('race', version)), right.saveEvent(event('race', version))]);
      assert.equal(outcomes.filter((o) => o.status === 'fulfilled').length, 1, `round ${version}`);
      const loser = outcomes.find((o) => o.status === 'rejected').reason;
      assert.ok(loser instanceof VersionConflictError, String(loser));
      assert.equal(loser.currentVersion, version);
    }
    await Promise.all([left.close(), right.close()]);
  });

  test('two Node.js processes racing for the same versions: exactly one wins each of 200', async () => {
    const names = fresh();
    const worker = join(import.meta.dirname, 'jetstream-race-worker.mjs');
    const run = (name) => promisify(execFile)(process.execPath, [worker, server.url, names.stream, names.subjectPrefix, name, '200']);
    const [left, right] = (await Promise.all([run('left'), run('right')])).map(({ stdout }) => JSON.parse(stdout));
    const winners = [...left.won, ...right.won].sort((a, b) => a - b);
    assert.deepEqual(winners, Array.from({ length: 200 }, (_, i) => i + 1));
    const conflicts = [...left.conflicts, ...right.conflicts];
    for (const [attempted, current] of conflicts) assert.ok(current >= attempted);
    const store = await openJetStream({ connection: shared, ...names });
    const stored = new Map((await store.getEvents('race')).map((e) => [e.version, e.data.worker]));
    for (const version of left.won) assert.equal(stored.get(version), 'left');
    for (const version of right.won) assert.equal(stored.get(version), 'right');
    console.log(`# jetstream race: left won ${left.won.length}, right won ${right.won.length}, ${conflicts.length} conflicts`);
  });

  test('subscribers hear every client\'s events, in stream order', async () => {
    const names = fresh();
    const [listener, writer] = [await openJetStream({ servers: server.url, ...names }), await openJetStream({ servers: server.url, ...names })];
    const heard = [];
    listener.subscribe((n) => heard.push([n.event.actorId, n.event.version]));
    await settle(100);
    await writer.saveEvent(event('a', 1));
    await listener.saveEvent(event('b', 1));
    await writer.saveEvents([event('a', 2), event('a', 3)]);
    await settle();
    assert.deepEqual(heard, [['a', 1], ['b', 1], ['a', 2], ['a', 3]]);
    await Promise.all([listener.close(), writer.close()]);
  });
});

describe('jetstream: damaged data and failures', () => {
  test('a message that cannot be decoded is reported with its stream sequence and bytes', async () => {
    const names = fresh();
    const store = await openJetStream({ connection: shared, ...names });
    await store.saveEvent(event('a', 1));
    const js = jetstream(shared);
    const garbage = new TextEncoder().encode('not an event at all');
    const ack = await js.publish(`${names.subjectPrefix}.a`, garbage);
    await store.saveEvent(event('a', 2));
    assert.deepEqual((await store.getEvents('a')).map((e) => e.version), [1, 2]);
    const result = await store.getEventsWithErrors('a', 2);
    assert.deepEqual(result.events.map((e) => e.version), [2]);
    assert.equal(result.errors.length, 1, 'reported whatever fromVersion is');
    assert.equal(result.errors[0].sequenceNumber, ack.seq);
    assert.deepEqual(result.errors[0].rawData, garbage);
    assert.match(result.errors[0].error, /not a valid event/);
    assert.equal(result.hasErrors(), true);
  });

  test('a well-formed message out of version order (v2 after v5, from a raw publisher) is reported, never trusted', async () => {
    const names = fresh();
    const store = await openJetStream({ connection: shared, ...names });
    const stored = await store.saveEvents([1, 2, 3, 4, 5].map((version) => event('a', version)));
    const stray = { ...stored[1], id: 'stray' };
    const ack = await jetstream(shared).publish(`${names.subjectPrefix}.a`, new TextEncoder().encode(JSON.stringify(stray)));
    const other = await openJetStream({ connection: shared, ...names }); // a client that saw nothing of it
    assert.deepEqual((await other.getEvents('a')).map((e) => e.version), [1, 2, 3, 4, 5]);
    const result = await other.getEventsWithErrors('a');
    assert.equal(result.errors.length, 1);
    assert.equal(result.errors[0].sequenceNumber, ack.seq);
    assert.match(result.errors[0].error, /version order: version 2 is not above version 5/);
    assert.equal(await other.getLatestVersion('a'), 5);
    await assert.rejects(other.saveEvent(event('a', 3)), (error) => error instanceof VersionConflictError && error.currentVersion === 5);
    assert.equal((await other.saveEvent(event('a', 6))).version, 6);
    assert.deepEqual((await store.getEvents('a')).map((e) => e.version), [1, 2, 3, 4, 5, 6]);
  });

  test('snapshots live in the bucket under <token>.<version>; a damaged one is passed over', async () => {
    const names = fresh();
    const store = await openJetStream({ connection: shared, ...names });
    await store.saveEvents([event('order.7', 3), event('order.7', 12)]);
    await store.saveSnapshot({ actorId: 'order.7', version: 3, state: { n: 3 } });
    const bucket = await new Kvm(shared).open(names.snapshotBucket);
    assert.deepEqual(JSON.parse((await bucket.get('order=2E7.3')).string()).state, { n: 3 });
    await bucket.put('order=2E7.9', new TextEncoder().encode('{"actorId": "order.7", "vers'));
    assert.equal((await store.getLatestSnapshot('order.7')).version, 3);
    await store.saveSnapshot({ actorId: 'order.7', version: 12, state: { n: 12 } });
    assert.equal((await store.getLatestSnapshot('order.7')).version, 12);
  });

  test('a subscription resumes within seconds of a server restart, in order, each event once', async () => {
    const restartable = await startNats();
    try {
      const names = fresh();
      const [writer, listener] = [await openJetStream({ servers: restartable.url, ...names }), await openJetStream({ servers: restartable.url, ...names })];
      const heard = [];
      listener.subscribe((n) => heard.push([n.event.version, Date.now()]), { after: 0 });
      await writer.saveEvents([event('r', 1), event('r', 2)]);
      for (let waited = 0; heard.length < 2 && waited < 5000; waited += 20) await settle(20);
      await restartable.stop('SIGKILL');
      await restartable.start();
      let savedAt;
      for (let version = 3; version <= 5; ) {
        try {
          await writer.saveEvent(event('r', version, { id: `r-${version}` }));
          savedAt ??= Date.now();
          version += 1;
        } catch {
          await settle(100); // the client is still reconnecting
        }
      }
      for (let waited = 0; heard.length < 5 && waited < 30_000; waited += 50) await settle(50);
      assert.deepEqual(heard.map(([version]) => version), [1, 2, 3, 4, 5]);
      console.log(`# jetstream subscription after a restart: heard the first new event ${heard[2][1] - savedAt} ms after it was saved`);
      await Promise.all([writer.close(), listener.close()]);
    } finally {
      await restartable.close();
    }
  });

  test('the server restarted mid-burst: no acknowledged event lost, StorageError for the rest, then normal service', async () => {
    const restartable = await startNats();
    try {
      const names = fresh();
      const store = await openJetStream({ servers: restartable.url, ...names });
      const outcomes = [];
      let version = 1;
      let serverBackAt = Infinity;
      // Saves one after another until two seconds after the server is back.
      const burst = (async () => {
        while (Date.now() < serverBackAt + 2000) {
          try {
            await store.saveEvent(event('burst', version, { id: `burst-${version}` }));
            outcomes.push(['stored', version]);
            version += 1;
          } catch (error) {
            outcomes.push([error instanceof StorageError ? 'storage-error' : error.name, version]);
            if (!(error instanceof StorageError)) throw error;
          }
        }
      })();
      await new Promise((resolve) => setTimeout(resolve, 500));
      await restartable.stop('SIGKILL');
      await new Promise((resolve) => setTimeout(resolve, 1000));
      await restartable.start();
      serverBackAt = Date.now();
      await burst;
      const stored = outcomes.filter(([outcome]) => outcome === 'stored').map(([, v]) => v);
      const failed = outcomes.filter(([outcome]) => outcome !== 'stored');
      assert.ok(failed.every(([outcome]) => outcome === 'storage-error'), JSON.stringify(failed));
      const events = await store.getEvents('burst');
      const onServer = new Set(events.map((e) => e.version));
      for (const v of stored) assert.ok(onServer.has(v), `acknowledged version ${v} was lost`);
      assert.deepEqual(events.map((e) => e.version), Array.from({ length: events.length }, (_, i) => i + 1));
      const next = (await store.getLatestVersion('burst')) + 1;
      assert.equal((await store.saveEvent(event('burst', next))).version, next, 'normal service after the restart');
      console.log(`# jetstream restart: ${stored.length} acknowledged, all kept; ${failed.length} StorageError while the server was down`);
      await store.close();
    } finally {
      await restartable.close();
    }
  });
});

// Reads of one actor from a version start near it, on the server's subject filter,
// and return what a read of the whole subject returns.

const encoder = new TextEncoder();

/**
 * `connection` seen through a proxy that records what the store asks the server
 * and what it receives: the consumers it creates (their config), the stream
 * message requests it makes, and the stream messages delivered to its consumers.
 */
function watched(connection) {
  const seen = { consumers: [], messageGets: 0, delivered: 0 };
  const proxy = new Proxy(connection, {
    get(target, property) {
      if (property === 'request') {
        return (subject, data, options) => {
          if (subject.startsWith('$JS.API.CONSUMER.CREATE.')) seen.consumers.push(JSON.parse(new TextDecoder().decode(data)).config);
          if (subject.startsWith('$JS.API.STREAM.MSG.GET.')) seen.messageGets++;
          return target.request(subject, data, options);
        };
      }
      if (property === 'subscribe') {
        return (subject, options = {}) => {
          const { callback } = options;
          if (!callback) return target.subscribe(subject, options);
          return target.subscribe(subject, {
            ...options,
            callback: (error, message) => {
              if (message?.reply?.startsWith('$JS.ACK.')) seen.delivered++;
              callback(error, message);
            },
          });
        };
      }
      const value = Reflect.get(target, property, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  const reset = () => Object.assign(seen, { consumers: [], messageGets: 0, delivered: 0 });
  return { proxy, seen, reset };
}

/** What a read of `events` (all of one actor, ascending) from `fromVersion` returns. */
const from = (events, fromVersion) => events.filter((e) => e.version >= fromVersion);

describe('jetstream: reads of one actor from a version', () => {
  test('batches straddling the version, other actors between, damaged and stray messages before and after: the same events as a read of the whole subject', async () => {
    const names = fresh();
    const store = await openJetStream({ connection: shared, ...names });
    const js = jetstream(shared);
    const subject = `${names.subjectPrefix}.a`;
    const garbage = [];
    const stored = [];
    const raw = async (body) => garbage.push((await js.publish(subject, encoder.encode(body))).seq);
    let version = 0;
    for (let round = 0; round < 12; round++) {
      const size = 1 + (round % 4); // singles and batches of 2 to 4
      const batch = Array.from({ length: size }, () => event('a', ++version));
      stored.push(...(size === 1 ? [await store.saveEvent(batch[0])] : await store.saveEvents(batch)));
      await store.saveEvent(event(`other-${round % 3}`, Math.floor(round / 3) + 1));
      if (round === 2) await raw('not an event at all');
      // Well-formed but out of version order, and reaching into the next batch's versions: never a place to start from.
      if (round === 5) await raw(JSON.stringify([version - 1, version, version + 1].map((v) => ({ ...stored.at(-1), id: `stray-${v}`, version: v }))));
      if (round === 9) await raw('{"eventType":');
    }
    const whole = await store.getEventsWithErrors('a');
    assert.deepEqual(whole.events, stored);
    assert.equal(whole.errors.length, 3);
    for (let fromVersion = 0; fromVersion <= version + 2; fromVersion++) {
      assert.deepEqual(await store.getEvents('a', fromVersion), from(stored, fromVersion), `from ${fromVersion}`);
      const result = await store.getEventsWithErrors('a', fromVersion);
      assert.deepEqual(result.events, from(stored, fromVersion), `from ${fromVersion}, with errors`);
      assert.deepEqual(result.errors.map((error) => error.sequenceNumber), garbage, `every damaged or stray message reported, from ${fromVersion}`);
    }
    assert.equal(await store.getLatestVersion('a'), version);
    // The last message of the subject damaged: the latest version is still the last sound one.
    await raw('garbage at the end');
    const other = await openJetStream({ connection: shared, ...names });
    assert.equal(await other.getLatestVersion('a'), version);
    assert.deepEqual(await other.getEvents('a', version - 1), from(stored, version - 1));
    assert.equal((await other.saveEvent(event('a', version + 1))).version, version + 1);
    await Promise.all([store.close(), other.close()]);
  });

  test('a read from a version is filtered on the server and starts at the message before it: other actors\' messages and the actor\'s earlier ones are not delivered', async () => {
    const names = fresh();
    const writer = await openJetStream({ connection: shared, ...names });
    for (let version = 1; version <= 200; version++) {
      await Promise.all([writer.saveEvent(event('a', version)), writer.saveEvent(event('b', version)), writer.saveEvent(event('c', version))]);
    }
    const { proxy, seen, reset } = watched(shared);
    const reader = await openJetStream({ connection: proxy, ...names });
    const subject = `${names.subjectPrefix}.a`;

    reset();
    assert.deepEqual((await reader.getEvents('a', 191)).map((e) => e.version), Array.from({ length: 10 }, (_, i) => 191 + i));
    assert.equal(seen.consumers.length, 1);
    assert.equal(seen.consumers[0].filter_subject ?? seen.consumers[0].filter_subjects?.[0], subject, 'filtered on the server');
    assert.ok(seen.consumers[0].opt_start_seq > 1, 'not from the subject\'s first message');
    assert.equal(seen.delivered, 11, 'the message of version 190 and the 10 asked for');
    // 600 messages: a binary search takes 10 requests at most; each doubles at worst, plus the last message and a check.
    assert.ok(seen.messageGets <= 2 * 10 + 2, `${seen.messageGets} message requests`);

    reset();
    assert.equal(await reader.getLatestVersion('a'), 200);
    assert.deepEqual(seen.consumers, [], 'the latest version from the last message, without a consumer');
    assert.equal(seen.messageGets, 2, 'the last message, and the check that it follows the one it was published after');

    reset();
    assert.deepEqual(await reader.getEvents('a', 201), []);
    assert.deepEqual(seen.consumers, []);

    reset();
    assert.equal((await reader.getEvents('a')).length, 200);
    assert.equal(seen.consumers[0].opt_start_seq ?? 1, 1, 'from version 0: the whole subject');
    assert.equal(seen.delivered, 200);
    await Promise.all([writer.close(), reader.close()]);
  });

  test('messages published without the store\'s headers (other code, plain publishes) are read whole, and saves after them are anchors again', async () => {
    const names = fresh();
    const store = await openJetStream({ connection: shared, ...names });
    const js = jetstream(shared);
    const subject = `${names.subjectPrefix}.a`;
    const old = [];
    // As a plain publisher writes them: one event or a batch, no message id, no expected sequence.
    for (let version = 1; version <= 30; version += 3) {
      const batch = [version, version + 1, version + 2].map((v) => ({ ...event('a', v), id: `old-${v}`, timestamp: '2026-01-01T00:00:00Z' }));
      await js.publish(subject, encoder.encode(JSON.stringify(version % 2 ? batch : batch[0])));
      old.push(...(version % 2 ? batch : [batch[0]]));
      await js.publish(`${names.subjectPrefix}.b`, encoder.encode(JSON.stringify({ ...event('b', version), id: `b-${version}`, timestamp: '2026-01-01T00:00:00Z' })));
    }
    const { proxy, seen, reset } = watched(shared);
    const reader = await openJetStream({ connection: proxy, ...names });
    const expect = (events) => events.map(({ id, version }) => ({ id, version }));
    const read = async (fromVersion) => expect(await reader.getEvents('a', fromVersion));
    for (const fromVersion of [0, 5, 17, 29, 40]) {
      reset();
      assert.deepEqual(await read(fromVersion), expect(from(old, fromVersion)), `from ${fromVersion}`);
      if (fromVersion <= 29) assert.equal(seen.consumers[0].opt_start_seq ?? 1, 1, 'no anchor among plain messages: the whole subject');
    }
    const latest = old.at(-1).version;
    assert.equal(await reader.getLatestVersion('a'), latest);
    const saved = [];
    for (let version = latest + 1; version <= latest + 20; version++) saved.push(await store.saveEvent(event('a', version)));
    const all = [...expect(old), ...expect(saved)];
    for (const fromVersion of [1, 20, latest, latest + 1, latest + 2, latest + 15, latest + 21]) {
      reset();
      assert.deepEqual(await read(fromVersion), all.filter((e) => e.version >= fromVersion), `from ${fromVersion}`);
      if (fromVersion >= latest + 2 && fromVersion <= latest + 20) assert.equal(seen.delivered, latest + 21 - fromVersion + 1, `from ${fromVersion}: from the message before it`);
    }
    assert.equal(await reader.getLatestVersion('a'), latest + 20);
    await Promise.all([store.close(), reader.close()]);
  });

  test('a message saved after one that is not the message before it on the subject (two writers around a leader change) is never a place to start', async () => {
    const names = fresh();
    const store = await openJetStream({ connection: shared, ...names });
    const stored = [...(await store.saveEvents([1, 2, 3, 4, 5].map((v) => event('a', v)))), ...(await store.saveEvents([event('a', 6), event('a', 7)]))];
    // What the loser of such a race leaves: a save's headers, expecting the subject's first message to come,
    // and versions reaching past the winner's. (The server checks the expectation against another, empty subject.)
    const lost = headers();
    lost.set('Nats-Msg-Id', 'aether-00000000000000000000000000000001');
    lost.set('Nats-Expected-Last-Subject-Sequence', '0');
    lost.set('Nats-Expected-Last-Subject-Sequence-Subject', `${names.subjectPrefix}.nobody`);
    const body = JSON.stringify([6, 7, 8].map((v) => ({ ...stored[0], id: `lost-${v}`, version: v })));
    const ack = await jetstream(shared).publish(`${names.subjectPrefix}.a`, encoder.encode(body), { headers: lost });
    const reader = await openJetStream({ connection: shared, ...names });
    assert.equal(await reader.getLatestVersion('a'), 7, 'the lost message is out of version order');
    stored.push(...(await reader.saveEvents([event('a', 8), event('a', 9)])));
    for (const fromVersion of [0, 6, 8, 9, 10]) assert.deepEqual(await reader.getEvents('a', fromVersion), from(stored, fromVersion), `from ${fromVersion}`);
    assert.deepEqual((await reader.getEventsWithErrors('a', 9)).errors.map((error) => error.sequenceNumber), [ack.seq]);
    await Promise.all([store.close(), reader.close()]);
  });

  test('a retried save is recognised by a read from its version, past a damaged message', async () => {
    const names = fresh();
    const store = await openJetStream({ connection: shared, ...names, duplicateWindow: 100 });
    const first = await store.saveEvents([1, 2, 3].map((v) => ({ ...event('a', v), id: `a-${v}` })));
    await jetstream(shared).publish(`${names.subjectPrefix}.a`, encoder.encode('damaged'));
    const second = await store.saveEvents([4, 5].map((v) => ({ ...event('a', v), id: `a-${v}` })));
    await store.saveEvent(event('a', 6));
    await new Promise((resolve) => setTimeout(resolve, 300)); // past the duplicate window
    const other = await openJetStream({ connection: shared, ...names });
    assert.deepEqual(await other.saveEvents([4, 5].map((v) => ({ ...event('a', v), id: `a-${v}` }))), second);
    assert.deepEqual(await other.saveEvents([1, 2, 3].map((v) => ({ ...event('a', v), id: `a-${v}` }))), first);
    assert.equal(await other.getLatestVersion('a'), 6);
    await Promise.all([store.close(), other.close()]);
  });
});
