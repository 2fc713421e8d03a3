// The IndexedDB store in Node.js through fake-indexeddb: the shared behaviour,
// then persistence, multi-instance safety, freshness, notifications, group
// commit, lazy loading, corrupt records and injected faults.
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as api from 'aether-eventstore';
import { startSync } from 'aether-eventstore/sync';
import defineBehaviourTests from './behaviour.cjs';
import { createOldLayout } from './indexeddb-old-layouts.mjs';

const { EventStore, StorageError, ValidationError, VersionConflictError } = api;
// fake-indexeddb is a dev dependency of the repository, not of this consumer.
const requireDev = createRequire(join(process.env.AETHER_DEV_MODULES ?? process.cwd(), 'noop.js'));
const { IDBFactory, IDBKeyRange, IDBObjectStore, IDBDatabase } = requireDev('fake-indexeddb');

let databases = 0;
/** A fresh factory (an empty IndexedDB world) and a database name in it. */
function world() {
  return { indexedDB: new IDBFactory(), IDBKeyRange, name: `db-${++databases}` };
}
const open = ({ indexedDB, name }) => EventStore.openIndexedDb(name, { indexedDB, IDBKeyRange });
const event = (actorId, version, extra = {}) => ({ eventType: 'Happened', actorId, version, data: { n: version }, ...extra });
const settle = () => new Promise((resolve) => setTimeout(resolve, 5));

/** Reads every raw record of one of a database's stores (its events store unless named), with its key. */
async function rawRecords(indexedDB, name, storeName = 'events') {
  const db = await new Promise((resolve, reject) => {
    const request = indexedDB.open(name);
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
  const tx = db.transaction(storeName);
  const store = tx.objectStore(storeName);
  const [keys, values] = await Promise.all(
    [store.getAllKeys(), store.getAll()].map(
      (request) => new Promise((resolve) => { request.onsuccess = () => resolve(request.result); }),
    ),
  );
  db.close();
  return keys.map((key, i) => ({ key, value: values[i] }));
}

/** Replaces one stored record (identified by the key inside `value`), as corruption or foreign code would. */
async function rewriteRecord(indexedDB, name, storeName, value) {
  const db = await new Promise((resolve) => {
    const request = indexedDB.open(name);
    request.onsuccess = () => resolve(request.result);
  });
  await new Promise((resolve, reject) => {
    const tx = db.transaction(storeName, 'readwrite');
    tx.objectStore(storeName).put(value);
    tx.oncomplete = resolve;
    tx.onabort = () => reject(tx.error);
  });
  db.close();
}

/** The bytes of each event a stored record (layout 4) holds: `events` split at `ends`. */
function recordPayloads(record) {
  const { keys, events, ends } = record;
  if (keys.length === 1) return [events];
  return keys.map((_, i) => events.subarray(i === 0 ? 0 : ends[i - 1] + 1, ends[i]));
}

/** Events' bytes as a record holds them: `events` comma-separated, event `i` ending at `ends[i]`. */
function joined(payloads) {
  const events = new Uint8Array(payloads.reduce((total, bytes) => total + bytes.length + 1, -1));
  const ends = [];
  let at = 0;
  payloads.forEach((bytes, i) => {
    events.set(bytes, at);
    at += bytes.length;
    ends.push(at);
    if (i < payloads.length - 1) events[at++] = 0x2c;
  });
  return { events, ends };
}

/** A stored record with the bytes of some of its events replaced (`replaced`: index -> bytes), as damage would. */
function withEvents(record, replaced) {
  return { ...record, ...joined(recordPayloads(record).map((bytes, i) => replaced[i] ?? bytes)) };
}

/** Writes the sync ledger's records as layouts 2 and 3 did, in `tx`, and resolves once it has committed. */
function ledgerWritten(tx, { pending = [], rejected = [], remotePosition }) {
  const encoder = new TextEncoder();
  for (const e of pending) tx.objectStore('pending').add({ actorId: e.actorId, version: e.version, id: e.id, event: encoder.encode(JSON.stringify(e)) });
  for (const { event: e, reason } of rejected) tx.objectStore('rejected').add({ event: encoder.encode(JSON.stringify(e)), reason });
  if (remotePosition !== undefined) tx.objectStore('sync').add({ remotePosition }, 'state');
  return new Promise((resolve, reject) => {
    tx.oncomplete = resolve;
    tx.onabort = () => reject(tx.error);
  });
}

/** How many events stored records hold. */
const eventCount = (records) => records.reduce((total, { value }) => total + value.keys.length, 0);

defineBehaviourTests(api, 'indexeddb', () => open(world()));

describe('indexeddb: opening', () => {
  test('without an IndexedDB it rejects with StorageError', async () => {
    assert.equal(globalThis.indexedDB, undefined);
    await assert.rejects(EventStore.openIndexedDb('db'), (error) => error instanceof StorageError && error.cause instanceof Error);
  });

  test('the name must be a non-empty string', async () => {
    for (const name of ['', undefined, 7]) {
      await assert.rejects(
        EventStore.openIndexedDb(name, { indexedDB: new IDBFactory(), IDBKeyRange }),
        (error) => error instanceof ValidationError && error.field === 'name',
      );
    }
  });

  test('durability is strict, default or relaxed', async () => {
    await assert.rejects(
      EventStore.openIndexedDb('db', { indexedDB: new IDBFactory(), IDBKeyRange, durability: 'fast' }),
      (error) => error instanceof ValidationError && error.field === 'durability',
    );
    for (const durability of ['strict', 'default', 'relaxed']) {
      const store = await EventStore.openIndexedDb(`durability-${durability}`, { indexedDB: new IDBFactory(), IDBKeyRange, durability });
      await store.saveEvent(event('a', 1));
      assert.equal(await store.getLatestVersion('a'), 1);
      await store.close();
    }
  });

  test('returns an EventStore, and opening reads no data (lazy loading)', async (t) => {
    const w = world();
    const writer = await open(w);
    await writer.saveEvents(Array.from({ length: 200 }, (_, i) => event(`actor-${i % 20}`, Math.floor(i / 20) + 1)));
    await writer.close();
    const transactions = t.mock.method(IDBDatabase.prototype, 'transaction');
    const store = await open(w);
    assert.ok(store instanceof EventStore);
    assert.equal(transactions.mock.callCount(), 0, 'opening starts no transaction');
    assert.equal((await store.getEvents('actor-3')).length, 10);
    assert.equal(transactions.mock.callCount(), 1, 'one read transaction for one stream');
    await store.close();
  });
});

describe('indexeddb: durability and sharing', () => {
  test('events and snapshots persist across close and reopen', async () => {
    const w = world();
    const first = await open(w);
    const saved = await first.saveEvents([event('a', 1), event('a', 2, { metadata: { userId: 'u' } }), event('b', 7)]);
    const snapshot = await first.saveSnapshot({ actorId: 'a', version: 2, state: { total: 3 } });
    await first.close();
    const again = await open(w);
    assert.deepEqual(await again.getEvents('a'), saved.slice(0, 2));
    assert.deepEqual(await again.getEvents('b'), [saved[2]]);
    assert.equal(await again.getLatestVersion('b'), 7);
    assert.deepEqual(await again.getLatestSnapshot('a'), snapshot);
    await again.close();
  });

  test('a record holds the events of one commit under the position of its last; positions follow commit order', async () => {
    const w = world();
    const store = await open(w);
    await store.saveEvent(event('a', 1));
    await store.saveEvents([event('b', 1), event('a', 2)]);
    // Saves queued together are one commit: one record, the refused one left out.
    await Promise.allSettled([store.saveEvent(event('c', 1)), store.saveEvent(event('a', 2)), store.saveEvent(event('b', 2))]);
    const records = await rawRecords(w.indexedDB, w.name);
    assert.deepEqual(records.map((r) => r.key), [1, 3, 5]);
    assert.deepEqual(
      records.map((r) => [r.value.sequenceNumber, r.value.keys]),
      [[1, [['a', 1]]], [3, [['b', 1], ['a', 2]]], [5, [['c', 1], ['b', 2]]]],
    );
    assert.ok(records[1].value.events instanceof Uint8Array);
    assert.deepEqual(recordPayloads(records[1].value).map((bytes) => JSON.parse(new TextDecoder().decode(bytes)).actorId), ['b', 'a']);
    const all = await store.readAll();
    assert.deepEqual(all.map((e) => [e.position, e.event.actorId, e.event.version]), [[1, 'a', 1], [2, 'b', 1], [3, 'a', 2], [4, 'c', 1], [5, 'b', 2]]);
    for (const after of [0, 1, 2, 3, 4]) {
      assert.deepEqual(await store.readAll({ after, limit: 2 }), all.slice(after, after + 2), `a page after ${after}, inside a record or not`);
    }
    assert.deepEqual((await store.getEvents('b')).map((e) => e.version), [1, 2]);
    assert.deepEqual((await store.getEvents('a', 2)).map((e) => e.version), [2]);
    assert.equal(await store.lastPosition(), 5);
    await store.close();
  });

  test('a commit whose position another store took first is written again: every position once, in commit order', async () => {
    const w = world();
    const [left, right] = [await open(w), await open(w)];
    for (let i = 1; i <= 5; i++) {
      await left.saveEvent(event('left', i));
      await right.saveEvents([event('right', 2 * i - 1), event('right', 2 * i)]);
    }
    const all = await left.readAll();
    assert.deepEqual(all.map((e) => e.position), Array.from({ length: 15 }, (_, i) => i + 1));
    assert.deepEqual(all.map((e) => e.event.actorId), Array.from({ length: 15 }, (_, i) => (i % 3 === 0 ? 'left' : 'right')));
    assert.deepEqual((await right.getEvents('left')).map((e) => e.version), [1, 2, 3, 4, 5]);
    await Promise.all([left.close(), right.close()]);
  });

  test('two stores on one database never both store a version; the loser learns the true version', async () => {
    const w = world();
    const [left, right] = [await open(w), await open(w)];
    for (let version = 1; version <= 50; version++) {
      const results = await Promise.allSettled([
        left.saveEvent(event('race', version, { data: { by: 'left' } })),
        right.saveEvent(event('race', version, { data: { by: 'right' } })),
      ]);
      const winners = results.filter((r) => r.status === 'fulfilled');
      assert.equal(winners.length, 1, `round ${version}`);
      const loser = results.find((r) => r.status === 'rejected').reason;
      assert.ok(loser instanceof VersionConflictError);
      assert.equal(loser.currentVersion, version);
    }
    const events = await left.getEvents('race');
    assert.deepEqual(events.map((e) => e.version), Array.from({ length: 50 }, (_, i) => i + 1));
    assert.deepEqual(await right.getEvents('race'), events);
    await left.close();
    await right.close();
  });

  test('a store never returns stale data after another store commits', async () => {
    const w = world();
    const [writer, reader] = [await open(w), await open(w)];
    assert.equal(await reader.getLatestVersion('a'), 0);
    for (let version = 1; version <= 5; version++) {
      await writer.saveEvent(event('a', version));
      assert.equal(await reader.getLatestVersion('a'), version);
      assert.equal((await reader.getEvents('a')).length, version);
    }
    await assert.rejects(reader.saveEvent(event('a', 5)), (error) => error instanceof VersionConflictError && error.currentVersion === 5);
    await writer.close();
    await reader.close();
  });

  test('a store that saved an actor last still learns of the other store\'s saves of it, gaps too', async () => {
    const w = world();
    const [left, right] = [await open(w), await open(w)];
    await left.saveEvent(event('a', 1));
    await left.saveEvent(event('b', 1));
    await right.saveEvent(event('a', 2));
    await right.saveEvent(event('a', 5));
    for (const version of [3, 2, 5]) {
      await assert.rejects(left.saveEvent(event('a', version)), (error) => error instanceof VersionConflictError && error.currentVersion === 5);
    }
    assert.equal((await left.saveEvent(event('a', 6))).version, 6);
    assert.equal((await left.saveEvent(event('b', 2))).version, 2, 'and its other actors after the other store saved');
    await right.saveEvents([event('b', 3), event('c', 1)]);
    await assert.rejects(left.saveEvent(event('b', 3)), (error) => error instanceof VersionConflictError && error.currentVersion === 3);
    assert.deepEqual((await right.getEvents('a')).map((e) => e.version), [1, 2, 5, 6]);
    assert.deepEqual((await left.readAll()).map((r) => [r.position, r.event.actorId, r.event.version]), [
      [1, 'a', 1], [2, 'b', 1], [3, 'a', 2], [4, 'a', 5], [5, 'a', 6], [6, 'b', 2], [7, 'b', 3], [8, 'c', 1],
    ]);
    await left.close();
    await right.close();
  });

  test('a save retried by another instance resolves with the stored event and notifies no one', async () => {
    const w = world();
    const [first, second] = [await open(w), await open(w)];
    const heard = [];
    first.subscribe((n) => heard.push(['first', n.event.id]));
    second.subscribe((n) => heard.push(['second', n.event.id]));
    const stored = await first.saveEvent(event('a', 1, { id: 'event-1' }));
    const [again, concurrent] = await Promise.all([second.saveEvent(event('a', 1, { id: 'event-1' })), second.saveEvent(event('a', 1, { id: 'event-1' }))]);
    assert.deepEqual(again, stored);
    assert.deepEqual(concurrent, stored);
    const [batchOnce, batchTwice] = await Promise.all([
      first.saveEvents([event('a', 2, { id: 'e2' }), event('a', 3, { id: 'e3' })]),
      first.saveEvents([event('a', 2, { id: 'e2' }), event('a', 3, { id: 'e3' })]),
    ]);
    assert.deepEqual(batchTwice, batchOnce, 'a retry within the same group commit');
    await settle();
    assert.deepEqual(heard.filter(([, id]) => id === 'event-1').sort(), [['first', 'event-1'], ['second', 'event-1']]);
    assert.equal(heard.length, 6, 'each stored event heard once by each store');
    assert.equal(eventCount(await rawRecords(w.indexedDB, w.name)), 3);
    await Promise.all([first.close(), second.close()]);
  });

  test('subscribers hear commits made by other stores on the same database', async () => {
    const w = world();
    const [writer, listener, elsewhere] = [await open(w), await open(w), await open(world())];
    const heard = [];
    listener.subscribe((n) => heard.push([n.eventType, n.event.actorId, n.event.version]));
    const unrelated = [];
    elsewhere.subscribe((n) => unrelated.push(n));
    await writer.saveEvent(event('a', 1));
    await writer.saveEvents([event('a', 2), event('b', 1)]);
    await writer.saveEvent(event('a', 2)).catch(() => {});
    await settle();
    assert.deepEqual(heard, [['EventStored', 'a', 1], ['EventStored', 'a', 2], ['EventStored', 'b', 1]]);
    assert.deepEqual(unrelated, [], 'another database stays silent');
    await Promise.all([writer.close(), listener.close(), elsewhere.close()]);
  });
});

describe('indexeddb: global order across instances', () => {
  test('two writer instances and a subscriber from the middle: every event once, in position order, matching readAll', async () => {
    const w = world();
    const [left, right, reader] = [await open(w), await open(w), await open(w)];
    await Promise.all([left.saveEvent(event('left', 1)), right.saveEvent(event('right', 1))]);
    const middle = await reader.lastPosition();
    const heard = [];
    reader.subscribe((n) => heard.push(n), { after: middle });
    const write = async (store, actor) => {
      for (let version = 2; version <= 60; version += 2) {
        await store.saveEvents([event(actor, version), event(actor, version + 1)]);
      }
    };
    await Promise.all([write(left, 'left'), write(right, 'right')]);
    const all = await reader.readAll({ after: middle });
    for (let waited = 0; heard.length < all.length && waited < 2000; waited += 10) await new Promise((resolve) => setTimeout(resolve, 10));
    assert.equal(all.length, 120);
    assert.deepEqual(heard.map((n) => n.position), all.map((r) => r.position));
    assert.deepEqual(heard.map((n) => n.event), all.map((r) => r.event));
    for (const actor of ['left', 'right']) {
      const versions = all.filter((r) => r.event.actorId === actor).map((r) => r.event.version);
      assert.deepEqual(versions, Array.from({ length: 60 }, (_, i) => i + 2), `${actor}'s events in version order`);
    }
    await Promise.all([left.close(), right.close(), reader.close()]);
  });
});

describe('indexeddb: commands', () => {
  test('60 commands racing from two instances on one database all land, gapless, each decided on the state it saved over', async () => {
    const w = world();
    const [left, right] = [await open(w), await open(w)];
    const handler = new api.CommandHandler({
      initialState: () => ({ count: 0 }),
      evolve: (state, e) => ({ count: state.count + 1, last: e.data.issuer }),
      maxRetries: 100,
    });
    let decisions = 0;
    const results = await Promise.all(
      Array.from({ length: 60 }, (_, i) =>
        handler.handle(i % 2 ? left : right, 'account', (state) => {
          decisions += 1;
          return [{ eventType: 'Counted', data: { issuer: i, seen: state.count } }];
        }),
      ),
    );
    const events = await left.getEvents('account');
    assert.deepEqual(events.map((e) => e.version), Array.from({ length: 60 }, (_, i) => i + 1), 'gapless');
    for (const e of events) assert.equal(e.data.seen, e.version - 1, `version ${e.version} was decided on the state before it`);
    assert.deepEqual(new Set(events.map((e) => e.data.issuer)).size, 60, 'every command landed once');
    assert.deepEqual(results.map((r) => r.version).sort((a, b) => a - b), events.map((e) => e.version));
    console.log(`# commands: 60 landed after ${decisions} decisions (${decisions - 60} retried on conflicts)`);
    await Promise.all([left.close(), right.close()]);
  });
});

describe('indexeddb: group commit', () => {
  test('concurrent saves share transactions, each keeping its own outcome', async (t) => {
    const store = await open(world());
    const transactions = t.mock.method(IDBDatabase.prototype, 'transaction');
    const outcomes = await Promise.allSettled([
      ...Array.from({ length: 100 }, (_, i) => store.saveEvent(event('a', i + 1))),
      store.saveEvent(event('a', 50)), // a conflict: rejects alone
      store.saveEvents([event('b', 1), event('a', 5)]), // a conflicting batch: none of it is stored
      store.saveEvents([event('c', 1), event('c', 2)]),
    ]);
    const writes = transactions.mock.calls.filter((call) => call.arguments[1] === 'readwrite').length;
    assert.ok(writes <= 2, `${writes} write transactions for 103 saves`);
    assert.deepEqual(outcomes.slice(0, 100).map((o) => o.status), Array(100).fill('fulfilled'));
    assert.ok(outcomes[100].reason instanceof VersionConflictError);
    assert.equal(outcomes[100].reason.currentVersion, 100);
    assert.ok(outcomes[101].reason instanceof VersionConflictError);
    assert.equal(outcomes[102].status, 'fulfilled');
    assert.equal(await store.getLatestVersion('a'), 100);
    assert.equal(await store.getLatestVersion('b'), 0);
    assert.equal(await store.getLatestVersion('c'), 2);
    await store.close();
  });

  test('close waits for queued saves', async () => {
    const w = world();
    const store = await open(w);
    const saves = Array.from({ length: 10 }, (_, i) => store.saveEvent(event('a', i + 1)));
    await store.close();
    await Promise.all(saves);
    const again = await open(w);
    assert.equal(await again.getLatestVersion('a'), 10);
    await again.close();
  });
});

describe('indexeddb: corrupt records', () => {
  test('an event that cannot be decoded is reported with its sequence number and bytes, and left out of getEvents', async () => {
    const w = world();
    const store = await open(w);
    await store.saveEvents([event('a', 1), event('a', 2), event('a', 3), event('b', 1)]);
    const [record] = await rawRecords(w.indexedDB, w.name);
    const garbage = new TextEncoder().encode('{"id": "half a rec');
    const wrongVersion = new TextDecoder().decode(recordPayloads(record.value)[2]).replace('"version":3', '"version":9');
    await rewriteRecord(w.indexedDB, w.name, 'events', withEvents(record.value, { 1: garbage, 2: new TextEncoder().encode(wrongVersion) }));

    const events = await store.getEvents('a');
    assert.deepEqual(events.map((e) => e.version), [1]);
    const result = await store.getEventsWithErrors('a');
    assert.deepEqual(result.events, events);
    assert.equal(result.hasErrors(), true);
    assert.deepEqual(result.errors.map((e) => e.sequenceNumber), [2, 3], 'the positions of the damaged events');
    assert.deepEqual(result.errors[0].rawData, garbage);
    assert.ok(result.errors[1].rawData instanceof Uint8Array);
    assert.equal(new TextDecoder().decode(result.errors[1].rawData), wrongVersion);
    for (const error of result.errors) assert.equal(typeof error.error, 'string');
    assert.match(result.errors[1].error, /indexed as/);
    assert.deepEqual((await store.getEventsWithErrors('a', 3)).errors.map((e) => e.sequenceNumber), [3]);
    assert.equal((await store.getEventsWithErrors('b')).hasErrors(), false, 'a sound event beside damaged ones');
    assert.deepEqual((await store.readAll()).map((r) => [r.position, r.event.version]), [[1, 1], [4, 1]]);
    // The damaged events still hold their versions: the store keeps going after them.
    assert.equal(await store.getLatestVersion('a'), 3);
    await store.saveEvent(event('a', 4));
    assert.deepEqual((await store.getEvents('a')).map((e) => e.version), [1, 4]);
    await store.close();
  });

  test('a record that does not split into its events reports each of them; other records are read', async () => {
    const w = world();
    const store = await open(w);
    await store.saveEvent(event('a', 1));
    await store.saveEvents([event('a', 2), event('b', 1)]);
    await store.saveEvent(event('a', 3));
    const records = await rawRecords(w.indexedDB, w.name);
    for (const damaged of [{ ends: [3, 2] }, { ends: undefined }, { events: 'not bytes' }, { events: undefined }]) {
      await rewriteRecord(w.indexedDB, w.name, 'events', { ...records[1].value, ...damaged });
      const result = await store.getEventsWithErrors('a');
      assert.deepEqual(result.events.map((e) => e.version), [1, 3], JSON.stringify(damaged));
      assert.deepEqual(result.errors.map((e) => e.sequenceNumber), [2]);
      assert.ok(result.errors[0].rawData instanceof Uint8Array);
      assert.deepEqual((await store.getEventsWithErrors('b')).errors.map((e) => e.sequenceNumber), [3]);
      assert.deepEqual((await store.readAll()).map((r) => r.position), [1, 4]);
      assert.deepEqual((await store.readAll({ limit: 2 })).map((r) => r.position), [1, 4], 'reads on past the damage to the limit');
      assert.equal(await store.getLatestVersion('b'), 1);
    }
    await store.close();
  });

  test('crafted records are checked, never trusted: versions that are no versions, extra fields', async () => {
    const w = world();
    const store = await open(w);
    await store.saveEvent(event('a', 1));
    const [good] = await rawRecords(w.indexedDB, w.name);
    const goodEvent = JSON.parse(new TextDecoder().decode(good.value.events));
    // Records without a key get the next ones from the key generator, as foreign code would write them.
    const crafted = (version, extra = {}) => ({ keys: [['a', version]], heads: [['a', version]], events: new TextEncoder().encode(JSON.stringify({ ...goodEvent, version, ...extra })) });
    for (const record of [crafted(1e300), crafted(-3), crafted(2, { sneaky: true })]) {
      await rewriteRecord(w.indexedDB, w.name, 'events', record);
    }
    assert.equal(await store.getLatestVersion('a'), 2, 'neither 1e300 nor -3; the record at 2 holds its version');
    const result = await store.getEventsWithErrors('a');
    assert.deepEqual(result.events.map((e) => e.version), [1]);
    assert.equal(result.errors.length, 3, 'each crafted record is reported');
    assert.ok(result.errors.some((error) => /sneaky/.test(error.error)), 'an extra top-level field is named');
    // Records at keys that are no positions hold none, and give none to the next commit.
    for (const sequenceNumber of ['foreign', 1e300, -3]) await rewriteRecord(w.indexedDB, w.name, 'events', { ...crafted(7), keys: [], heads: [], sequenceNumber });
    assert.equal((await store.saveEvent(event('a', 3))).version, 3, 'the actor is not blocked');
    assert.deepEqual((await store.readAll()).map((r) => [r.position, r.event.version]), [[1, 1], [5, 3]]);
    assert.equal(await store.lastPosition(), 5);
    await store.close();
  });

  test('CommandHandler saves above a damaged newest event, which still holds its version', async () => {
    const w = world();
    const store = await open(w);
    await store.saveEvents([event('a', 1), event('a', 2)]);
    const [record] = await rawRecords(w.indexedDB, w.name);
    await rewriteRecord(w.indexedDB, w.name, 'events', withEvents(record.value, { 1: new TextEncoder().encode('damaged') }));
    let decisions = 0;
    const handler = new api.CommandHandler({ initialState: () => ({ n: 0 }), evolve: (state) => ({ n: state.n + 1 }), maxRetries: 1 });
    const result = await handler.handle(store, 'a', (state) => {
      decisions += 1;
      return [{ eventType: 'Counted', data: { seen: state.n } }];
    });
    assert.equal(result.version, 3);
    assert.equal(decisions, 2, 'one conflict with the damaged event, then above it');
    assert.deepEqual((await store.getEvents('a')).map((e) => e.version), [1, 3]);
    await store.close();
  });

  test('a damaged snapshot is passed over for the one before it', async () => {
    const w = world();
    const store = await open(w);
    await store.saveEvents([event('a', 1), event('a', 2)]);
    await store.saveSnapshot({ actorId: 'a', version: 1, state: { n: 1 } });
    await store.saveSnapshot({ actorId: 'a', version: 2, state: { n: 2 } });
    await rewriteRecord(w.indexedDB, w.name, 'snapshots', { actorId: 'a', version: 2, snapshot: 'not json' });
    assert.deepEqual((await store.getLatestSnapshot('a')).state, { n: 1 });
    await store.close();
  });
});

/** Resolves with an IDBRequest's result (an open request: once it succeeds). */
const requested = (request) =>
  new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });

/**
 * Writes a database the way layout 1 (this package before the sync ledger) did:
 * its upgrade step and records as its saves wrote them. Resolves
 * with the open connection, which closes on `versionchange` as layout 1's code does
 * unless `closesOnVersionChange` is false (a tab that never lets go).
 */
async function layoutOneDatabase({ indexedDB, name }, { events = [], snapshots = [], closesOnVersionChange = true }) {
  const opening = indexedDB.open(name, 1);
  opening.onupgradeneeded = () => createOldLayout(opening.result, 1);
  const db = await requested(opening);
  const encoder = new TextEncoder();
  const tx = db.transaction(['events', 'snapshots'], 'readwrite');
  for (const e of events) tx.objectStore('events').add({ actorId: e.actorId, version: e.version, event: encoder.encode(JSON.stringify(e)) });
  for (const s of snapshots) tx.objectStore('snapshots').put({ actorId: s.actorId, version: s.version, snapshot: encoder.encode(JSON.stringify(s)) });
  await new Promise((resolve, reject) => {
    tx.oncomplete = resolve;
    tx.onabort = () => reject(tx.error);
  });
  db.versionChanges = 0;
  db.onversionchange = () => {
    db.versionChanges += 1;
    if (closesOnVersionChange) db.close();
  };
  return db;
}

describe('indexeddb: a damaged pending record', () => {
  test('is set aside and reported, and sync goes on: another device\'s event takes its version', { timeout: 20_000 }, async (t) => {
    const w = world();
    const store = await open(w);
    const remote = new EventStore();
    let online = false;
    const connect = async () => {
      if (!online) throw new StorageError('the remote cannot be reached (test switch)');
      return { ...Object.fromEntries(['saveEvents', 'getEvents', 'getLatestVersion', 'readAll', 'lastPosition', 'subscribe'].map((name) => [name, (...args) => remote[name](...args)])), close: async () => {} };
    };
    const sync = startSync(store, connect);
    // Stopped after the test, passed, failed or timed out, so that the file ends.
    t.after(async () => {
      await sync.stop();
      await store.close();
    });
    const a1 = await store.saveEvent(event('a', 1));
    await store.saveEvent(event('b', 1));
    const [, damaged] = await rawRecords(w.indexedDB, w.name, 'pending');
    assert.equal(damaged.value.actorId, 'b');
    const garbage = new TextEncoder().encode('{"id": not json');
    await rewriteRecord(w.indexedDB, w.name, 'pending', { ...damaged.value, event: garbage });
    // Another device saved b's first event meanwhile.
    const theirs = await remote.saveEvent(event('b', 1, { id: 'their-b-1' }));

    online = true;
    await sync.flushed();
    assert.deepEqual(await store.getEvents('b'), [theirs], 'the remote event is confirmed at the damaged record\'s version');
    assert.deepEqual(await store.getEvents('a'), [a1]);
    assert.deepEqual(await remote.getEvents('a'), [a1], 'the sound pending event was pushed');
    assert.deepEqual(await sync.pendingEvents(), []);
    const ledger = EventStore[Symbol.for('aether-eventstore.internals')].backendOf(store);
    const [report, ...more] = await ledger.syncLedgerErrors();
    assert.deepEqual(more, []);
    assert.deepEqual([report.actorId, report.version, report.rawData], ['b', 1, garbage]);
    assert.equal(typeof report.error, 'string');
    const { events, errors } = await store.getEventsWithErrors('b');
    assert.deepEqual(events, [theirs]);
    assert.deepEqual(errors.map((error) => [error.sequenceNumber, error.rawData]), [[0, garbage]], 'reported with no position');
    assert.deepEqual((await store.getEventsWithErrors('b', 2)).errors, [], 'below the versions asked for');
    assert.equal((await store.getEventsWithErrors('a')).hasErrors(), false);
  });
});

describe('indexeddb: layout 4 over a layout 1 database', () => {
  const stamp = '2026-02-03T04:05:06.789Z';
  const events = [
    { id: 'e1', eventType: 'Added', actorId: 'list', version: 1, data: { item: 'milk' }, timestamp: stamp },
    { id: 'e2', eventType: 'Added', actorId: 'other', version: 3, data: {}, metadata: { userId: 'u' }, timestamp: stamp },
    { id: 'e3', eventType: 'Added', actorId: 'list', version: 2, data: { item: 'eggs' }, timestamp: stamp },
  ];
  const snapshots = [{ actorId: 'list', version: 2, state: { items: ['milk', 'eggs'] }, timestamp: stamp }];

  test('opens with every event, position and snapshot intact, and keeps working, synced or not', async () => {
    const w = world();
    (await layoutOneDatabase(w, { events, snapshots })).close();
    const store = await open(w);
    assert.deepEqual(await store.getEvents('list'), [events[0], events[2]]);
    assert.deepEqual(await store.readAll(), events.map((e, i) => ({ position: i + 1, event: e })));
    assert.equal(await store.lastPosition(), 3);
    assert.equal(await store.getLatestVersion('other'), 3);
    assert.deepEqual(await store.getLatestSnapshot('list'), snapshots[0]);
    assert.deepEqual(await store.saveEvent(events[2]), events[2], 'a retry of a layout 1 event');
    const saved = await store.saveEvent(event('list', 3));
    assert.equal(await store.lastPosition(), 4);
    const internals = EventStore[Symbol.for('aether-eventstore.internals')];
    const ledger = internals.backendOf(store);
    assert.equal(await ledger.syncState(), null, 'not synced: the upgrade adds no mark');
    await ledger.syncStart();
    const pending = await store.saveEvent(event('list', 4));
    assert.deepEqual(await store.getEvents('list', 3), [saved, pending]);
    await store.close();

    const db = await requested(w.indexedDB.open(w.name));
    assert.equal(db.version, 4);
    assert.deepEqual([...db.objectStoreNames].sort(), ['events', 'pending', 'rejected', 'snapshots', 'sync']);
    db.close();
    const again = await open(w);
    assert.deepEqual(await again.getEvents('list'), [events[0], events[2], saved, pending]);
    assert.equal(await again.lastPosition(), 4);
    assert.deepEqual(JSON.parse(await internals.backendOf(again).pendingEvents()), [pending]);
    await again.close();
  });

  test('a synced database deleted by another tab comes back unsynced: saves are confirmed again', async () => {
    const w = world();
    const store = await open(w);
    const ledger = EventStore[Symbol.for('aether-eventstore.internals')].backendOf(store);
    await ledger.syncStart();
    await store.saveEvent(event('a', 1));
    assert.equal(await store.lastPosition(), 0);
    await requested(w.indexedDB.deleteDatabase(w.name));
    await store.saveEvent(event('a', 1));
    assert.equal(await store.lastPosition(), 1);
    assert.equal(await ledger.syncState(), null);
    await store.close();
  });

  test('another tab holding layout 1 open lets go on versionchange, as layout 1 does: the upgrade goes through', async () => {
    const w = world();
    const old = await layoutOneDatabase(w, { events });
    const store = await open(w);
    assert.equal(old.versionChanges, 1);
    assert.deepEqual(await store.getEvents('other'), [events[1]]);
    await store.close();
  });

  test('a tab that never lets go of layout 1: StorageError saying so, not a wait forever; once it closes, the upgrade goes through', async () => {
    const w = world();
    const old = await layoutOneDatabase(w, { events, closesOnVersionChange: false });
    await assert.rejects(open(w), (error) => error instanceof StorageError && /blocked/.test(error.message));
    old.close();
    // The blocked request upgrades once the old connection is gone, then lets go of the database itself.
    const store = await open(w);
    assert.deepEqual(await store.readAll(), events.map((e, i) => ({ position: i + 1, event: e })));
    await store.close();
  });
});

/**
 * Writes a database the way layout 2 (this package before records of several
 * events) did: its upgrade steps and records as its saves and its
 * syncCommit wrote them. `events` are `[position, event]`: positions need not
 * follow one another (a key generator may skip), and must be kept as they are.
 */
async function layoutTwoDatabase({ indexedDB, name }, { events = [], damaged = [], pending = [], rejected = [], remotePosition }) {
  const opening = indexedDB.open(name, 2);
  opening.onupgradeneeded = () => createOldLayout(opening.result, 2);
  const db = await requested(opening);
  const encoder = new TextEncoder();
  const tx = db.transaction(['events', 'pending', 'rejected', 'sync'], 'readwrite');
  for (const [sequenceNumber, e] of events) tx.objectStore('events').add({ sequenceNumber, actorId: e.actorId, version: e.version, event: encoder.encode(JSON.stringify(e)) });
  for (const [sequenceNumber, actorId, version, bytes] of damaged) tx.objectStore('events').add({ sequenceNumber, actorId, version, event: bytes });
  await ledgerWritten(tx, { pending, rejected, remotePosition });
  db.close();
}

describe('indexeddb: layout 4 over a layout 2 database', () => {
  const stamp = '2026-02-03T04:05:06.789Z';
  const events = [
    [1, { id: 'e1', eventType: 'Added', actorId: 'list', version: 1, data: { item: 'milk' }, timestamp: stamp }],
    [2, { id: 'e2', eventType: 'Added', actorId: 'other', version: 3, data: {}, metadata: { userId: 'u' }, timestamp: stamp }],
    [7, { id: 'e3', eventType: 'Added', actorId: 'list', version: 2, data: { item: 'eggs' }, timestamp: stamp }],
  ];
  const garbage = new TextEncoder().encode('{"half a');
  const pending = [{ id: 'p1', eventType: 'Added', actorId: 'list', version: 3, data: { item: 'tea' }, timestamp: stamp }];
  const rejected = [{ event: { id: 'r1', eventType: 'Added', actorId: 'list', version: 3, data: {}, timestamp: stamp }, reason: 'conflict' }];

  test('keeps every event at its position with its id and timestamp, damage still reported, and the sync ledger', async () => {
    const w = world();
    await layoutTwoDatabase(w, { events, damaged: [[9, 'other', 4, garbage]], pending, rejected, remotePosition: 5 });
    const store = await open(w);
    const internals = EventStore[Symbol.for('aether-eventstore.internals')];
    const ledger = internals.backendOf(store);
    assert.deepEqual(await store.readAll(), events.map(([position, e]) => ({ position, event: e })));
    assert.equal(await store.lastPosition(), 9);
    assert.deepEqual(await store.getEvents('list'), [events[0][1], events[2][1], pending[0]]);
    const other = await store.getEventsWithErrors('other');
    assert.deepEqual(other.events, [events[1][1]]);
    assert.deepEqual(other.errors.map((e) => [e.sequenceNumber, e.rawData]), [[9, garbage]]);
    assert.equal(await store.getLatestVersion('other'), 4, 'the damaged event holds its version');
    assert.deepEqual(await ledger.syncState(), { remotePosition: 5 });
    assert.deepEqual(JSON.parse(await ledger.pendingEvents()), pending);
    assert.deepEqual(JSON.parse(await ledger.rejectedEvents()), rejected);
    assert.deepEqual(await store.saveEvent(events[2][1]), events[2][1], 'a retry of a layout 2 event');
    await assert.rejects(store.saveEvent(event('list', 3)), VersionConflictError, 'the pending event holds version 3');

    // The remote confirms the pending event: it is stored after every migrated position.
    await ledger.syncCommit({ confirmed: JSON.stringify(pending), dropped: [], pending: '[]', rejected: '[]', remotePosition: 6 });
    assert.deepEqual((await store.readAll({ after: 7 })).map((r) => [r.position, r.event.id]), [[10, 'p1']]);
    assert.deepEqual(JSON.parse(await ledger.pendingEvents()), []);
    await store.close();

    const db = await requested(w.indexedDB.open(w.name));
    assert.equal(db.version, 4);
    assert.deepEqual([...db.objectStoreNames].sort(), ['events', 'pending', 'rejected', 'snapshots', 'sync']);
    db.close();
    const records = await rawRecords(w.indexedDB, w.name);
    const migrated = [[1, [['list', 1]]], [2, [['other', 3]]], [7, [['list', 2]]], [9, [['other', 4]]], [10, [['list', 3]]]];
    assert.deepEqual(records.map((r) => [r.key, r.value.keys]), [...migrated, [2 ** 53, undefined]], 'and the seal of a synced store');
    assert.deepEqual(records.map((r) => [r.key, r.value.heads]), [...migrated, [2 ** 53, undefined]]);
  });

  test('a database of layout 2 with nothing in it opens, and saves start at position 1', async () => {
    const w = world();
    await layoutTwoDatabase(w, {});
    const store = await open(w);
    await store.saveEvents([event('a', 1), event('a', 2)]);
    assert.deepEqual((await store.readAll()).map((r) => r.position), [1, 2]);
    await store.close();
  });
});

/**
 * Writes a database the way layout 3 (records of the events of one commit, an
 * index entry for every event) did: `records` are `[position, events]`, the
 * position that of the record's last event.
 */
async function layoutThreeDatabase({ indexedDB, name }, { records = [], pending = [], remotePosition }) {
  const opening = indexedDB.open(name, 3);
  opening.onupgradeneeded = () => createOldLayout(opening.result, 3);
  const db = await requested(opening);
  const encoder = new TextEncoder();
  const tx = db.transaction(['events', 'pending', 'rejected', 'sync'], 'readwrite');
  for (const [sequenceNumber, events] of records) {
    const { events: bytes, ends } = joined(events.map((e) => encoder.encode(JSON.stringify(e))));
    tx.objectStore('events').add({ sequenceNumber, keys: events.map((e) => [e.actorId, e.version]), events: bytes, ends: Uint32Array.from(ends) });
  }
  await ledgerWritten(tx, { pending, remotePosition });
  db.close();
}

describe('indexeddb: layout 4 over a layout 3 database', () => {
  const stamp = '2026-02-03T04:05:06.789Z';
  const added = (actorId, version, id) => ({ id, eventType: 'Added', actorId, version, data: { n: version }, timestamp: stamp });
  const [a1, a2, b1, a3, b2] = [added('a', 1, 'e1'), added('a', 2, 'e2'), added('b', 1, 'e3'), added('a', 3, 'e4'), added('b', 2, 'e5')];
  const records = [[1, [a1]], [4, [a2, b1, a3]], [5, [b2]]];

  test('a synced one keeps its events, positions and pending events, is sealed, and saves stay pending', async () => {
    const w = world();
    const p4 = added('a', 4, 'p1');
    await layoutThreeDatabase(w, { records, pending: [p4], remotePosition: 3 });
    const store = await open(w);
    const ledger = EventStore[Symbol.for('aether-eventstore.internals')].backendOf(store);
    assert.deepEqual(await store.readAll(), [a1, a2, b1, a3, b2].map((event, i) => ({ position: i + 1, event })));
    assert.deepEqual(await store.getEvents('a'), [a1, a2, a3, p4]);
    assert.deepEqual(await store.getEvents('a', 3), [a3, p4]);
    assert.deepEqual(await store.getEvents('b', 2), [b2]);
    assert.equal(await store.getLatestVersion('a'), 4);
    assert.equal(await store.getLatestVersion('b'), 2);
    assert.deepEqual(await store.saveEvent(a2), a2, 'a retry of an event inside a record of several');
    await assert.rejects(store.saveEvent(event('b', 2)), VersionConflictError);
    const [b3, c1] = await store.saveEvents([event('b', 3), event('c', 1)]);
    const c2 = await store.saveEvent(event('c', 2));
    assert.deepEqual(JSON.parse(await ledger.pendingEvents()), [p4, b3, c1, c2]);
    assert.equal(await store.lastPosition(), 5);
    await store.close();
    const raw = await rawRecords(w.indexedDB, w.name);
    assert.deepEqual(raw.map((r) => [r.key, r.value.heads]), [[1, [['a', 1]]], [4, [['a', 3], ['b', 1]]], [5, [['b', 2]]], [2 ** 53, undefined]]);
  });

  test('an unsynced one takes saves at the next positions, one by one and in batches', async () => {
    const w = world();
    await layoutThreeDatabase(w, { records });
    const store = await open(w);
    const a4 = await store.saveEvent(event('a', 4));
    const [b3, c1] = await store.saveEvents([event('b', 3), event('c', 1)]);
    await assert.rejects(store.saveEvent(event('a', 3)), (error) => error instanceof VersionConflictError && error.currentVersion === 4);
    assert.deepEqual((await store.readAll({ after: 5 })).map((r) => [r.position, r.event]), [[6, a4], [7, b3], [8, c1]]);
    assert.deepEqual(await store.getEvents('b'), [b1, b2, b3]);
    await store.close();
    assert.equal((await rawRecords(w.indexedDB, w.name)).length, 5, 'no seal');
  });
});

describe('indexeddb: faults', () => {
  test('quota exceeded: StorageError with the DOMException as cause, nothing of the batch stored', async (t) => {
    const w = world();
    const store = await open(w);
    await store.saveEvent(event('a', 1));
    let adds = 0;
    const add = IDBObjectStore.prototype.add;
    t.mock.method(IDBObjectStore.prototype, 'add', function (...args) {
      if (++adds === 1) throw new DOMException('The quota has been exceeded.', 'QuotaExceededError');
      return add.apply(this, args);
    });
    await assert.rejects(store.saveEvents([event('a', 2), event('a', 3), event('a', 4)]), (error) => {
      assert.ok(error instanceof StorageError);
      assert.equal(error.cause.name, 'QuotaExceededError');
      assert.match(error.message, /QuotaExceededError/);
      return true;
    });
    t.mock.restoreAll();
    assert.equal(await store.getLatestVersion('a'), 1);
    assert.equal((await rawRecords(w.indexedDB, w.name)).length, 1);
    await store.saveEvent(event('a', 2));
    assert.equal(await store.getLatestVersion('a'), 2);
    await store.close();
  });

  test('an aborted transaction fails every save of its group with StorageError and stores none', async (t) => {
    const w = world();
    const store = await open(w);
    // The transaction aborts (as the browser may abort one) after its write (one record for the group) was queued.
    let adds = 0;
    const add = IDBObjectStore.prototype.add;
    t.mock.method(IDBObjectStore.prototype, 'add', function (...args) {
      const request = add.apply(this, args);
      if (++adds === 1) this.transaction.abort();
      return request;
    });
    const outcomes = await Promise.allSettled([store.saveEvent(event('a', 1)), store.saveEvents([event('b', 1), event('b', 2)])]);
    t.mock.restoreAll();
    for (const outcome of outcomes) {
      assert.equal(outcome.status, 'rejected');
      assert.ok(outcome.reason instanceof StorageError);
      assert.equal(outcome.reason.cause.name, 'AbortError');
    }
    assert.deepEqual(await rawRecords(w.indexedDB, w.name), []);
    assert.equal(await store.getLatestVersion('a'), 0);
    await store.close();
  });

  test('a database upgraded by another tab: the store lets it happen, then reports StorageError', async () => {
    const w = world();
    const store = await open(w);
    await store.saveEvent(event('a', 1));
    const upgraded = await new Promise((resolve, reject) => {
      const request = w.indexedDB.open(w.name, 5); // a layout after this code's (4)
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
      request.onblocked = () => reject(new Error('the store blocked the upgrade'));
    });
    await assert.rejects(store.getEvents('a'), (error) => error instanceof StorageError && error.cause?.name === 'VersionError');
    await assert.rejects(store.saveEvent(event('a', 2)), (error) => error instanceof StorageError);
    upgraded.close();
    await store.close();
  });

  test('a database deleted by another tab: the store lets it happen and starts afresh', async () => {
    const w = world();
    const store = await open(w);
    await store.saveEvent(event('a', 1));
    await store.saveEvents([event('b', 1), event('b', 2), event('b', 3)]);
    await new Promise((resolve, reject) => {
      const request = w.indexedDB.deleteDatabase(w.name);
      request.onsuccess = resolve;
      request.onerror = () => reject(request.error);
      request.onblocked = () => reject(new Error('the store blocked the deletion'));
    });
    assert.equal(await store.getLatestVersion('a'), 0);
    await store.saveEvent(event('a', 1));
    assert.equal(await store.getLatestVersion('a'), 1);
    await store.saveEvent(event('a', 2));
    assert.deepEqual((await store.readAll()).map((r) => r.position), [1, 2], 'positions from 1 again, not after the deleted ones');
    await store.close();
  });
});
