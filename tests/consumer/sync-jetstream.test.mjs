// aether-eventstore/sync against a real nats-server (JetStream on loopback):
// two devices apart while the server is down, writing to the same actor and to
// their own, converge once it is back, whatever onConflict answers; a device
// killed mid-push and started again loses nothing and duplicates nothing.
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { EventStore } from 'aether-eventstore';
import { openJetStream } from 'aether-eventstore/jetstream';
import { startSync } from 'aether-eventstore/sync';
import { killedAtRandom, readEverything, testFolder } from './directory-helpers.mjs';

const requireDev = createRequire(join(process.env.AETHER_DEV_MODULES ?? process.cwd(), 'noop.js'));
const { IDBFactory, IDBKeyRange } = requireDev('fake-indexeddb');
const { startNats } = await import(pathToFileURL(join(process.env.AETHER_REPO ?? process.cwd(), 'tests', 'nats', 'server.mjs')));

const folder = testFolder('aether-sync-');
let server;
let streams = 0;
const opened = new Set();

before(async () => {
  server = await startNats();
});

after(async () => {
  await Promise.all([...opened].map((closable) => closable.close().catch(() => {})));
  await server?.close();
});

/** Names of a fresh stream, and the function that opens a JetStream store on it (what a device's sync connects with). */
function freshRemote() {
  const stream = `SYNC_${++streams}`;
  const names = { stream, subjectPrefix: `${stream}.events`, snapshotBucket: `${stream}_SNAPSHOTS` };
  return { stream, open: () => openJetStream({ servers: server.url, ...names }) };
}

/** A device: an IndexedDB store of its own (fake-indexeddb), synced to the remote. */
async function device(remote, options) {
  const store = await EventStore.openIndexedDb('device', { indexedDB: new IDBFactory(), IDBKeyRange });
  opened.add(store);
  const sync = startSync(store, remote.open, options);
  opened.add({ close: () => sync.stop() });
  return { store, sync, saved: [] };
}

/** Saves on a device and remembers what it saved. */
async function save(device, events) {
  const stored = await device.store.saveEvents(events);
  device.saved.push(...stored);
  return stored;
}

/** Per actor, the events in version order: what "the same events" means across stores, whose positions differ. */
function byActor(events) {
  const actors = new Map();
  for (const event of events) actors.set(event.actorId, [...(actors.get(event.actorId) ?? []), event]);
  for (const list of actors.values()) list.sort((a, b) => a.version - b.version);
  return Object.fromEntries([...actors].sort(([a], [b]) => (a < b ? -1 : 1)));
}

const confirmedOf = async (store) => (await readEverything(store)).map((recorded) => recorded.event);

/** Each device flushed after the others, until a whole pass changes nothing. */
async function flushAll(devices) {
  for (let pass = 0; pass < 2; pass++) for (const { sync } of devices) await sync.flushed();
}

describe('sync over JetStream: two devices apart, then together', () => {
  for (const policy of ['rebase', 'discard', 'decide again']) {
    test(`both write to one actor and to their own while the server is down; after flushed() they equal the server (${policy})`, async (t) => {
      const remote = freshRemote();
      const onConflict =
        policy === 'decide again'
          ? ({ actorId, pending, remote: won }) =>
              pending.map((event, i) => ({ ...event, id: `${event.id}-again`, version: won.at(-1).version + 1 + i, data: { ...event.data, over: won.at(-1).id } }))
          : () => policy;
      const a = await device(remote, { onConflict });
      const b = await device(remote, { onConflict });
      await save(a, [{ id: 'a-1', eventType: 'Added', actorId: 'list', version: 1, data: { item: 'milk' } }]);
      await flushAll([a, b]);
      assert.deepEqual(byActor(await confirmedOf(b.store)), byActor(await confirmedOf(a.store)), 'together before the outage');

      await server.stop('SIGKILL');
      for (let i = 0; i < 3; i++) {
        await save(a, [{ id: `a-list-${i}`, eventType: 'Added', actorId: 'list', version: 2 + i, data: { item: `a${i}` } }]);
        await save(b, [{ id: `b-list-${i}`, eventType: 'Added', actorId: 'list', version: 2 + i, data: { item: `b${i}` } }]);
      }
      await save(a, [1, 2, 3, 4].map((version) => ({ id: `a-own-${version}`, eventType: 'Noted', actorId: 'a-notes', version, data: {} })));
      await save(b, [1, 2].map((version) => ({ id: `b-own-${version}`, eventType: 'Noted', actorId: 'b-notes', version, data: {} })));
      assert.equal((await a.sync.pendingEvents()).length, 7);
      assert.equal((await b.sync.pendingEvents()).length, 5);
      await server.start();
      await flushAll([a, b]);

      const reader = await remote.open();
      opened.add(reader);
      const onServer = byActor(await confirmedOf(reader));
      const confirmedA = await confirmedOf(a.store);
      const confirmedB = await confirmedOf(b.store);
      assert.deepEqual(byActor(confirmedA), onServer, 'device A equals the server, event for event');
      assert.deepEqual(byActor(confirmedB), onServer, 'device B equals the server, event for event');
      assert.deepEqual(await a.sync.pendingEvents(), []);
      assert.deepEqual(await b.sync.pendingEvents(), []);

      // Every event ever saved on a device: confirmed exactly once, or in that device's rejected().
      const serverIds = Object.values(onServer).flat().map((event) => event.id);
      assert.equal(new Set(serverIds).size, serverIds.length, 'no event twice on the server');
      const outcome = { rejected: {} };
      for (const [name, d] of [['A', a], ['B', b]]) {
        const rejected = (await d.sync.rejected()).map((event) => event.id);
        outcome.rejected[name] = rejected.length;
        for (const event of d.saved) {
          assert.equal(Number(serverIds.includes(event.id)) + Number(rejected.includes(event.id)), 1, `${name}: ${event.id}`);
        }
      }
      const list = onServer.list;
      assert.deepEqual(list.map((event) => event.version), list.map((_, i) => i + 1), 'the shared actor stays gapless');
      if (policy === 'rebase') assert.equal(list.length, 7, 'rebase keeps every item: 1 + 3 + 3');
      if (policy === 'discard') assert.equal(list.length, 4, 'the loser\'s three are discarded');
      if (policy === 'decide again') assert.ok(list.some((event) => event.id.endsWith('-again')), 'the losing events were decided again');
      t.diagnostic(
        `${policy}: apart A saved ${a.saved.length - 1}, B ${b.saved.length}; server list ${list.length} events, ` +
          `${Object.values(onServer).flat().length} in all; rejected A ${outcome.rejected.A}, B ${outcome.rejected.B}; ` +
          `confirmed A ${confirmedA.length}, B ${confirmedB.length}`,
      );
      await Promise.all([a.sync.stop(), b.sync.stop()]);
    });
  }
});

describe('sync over JetStream: what the server can never accept', () => {
  test('an event larger than the server takes goes to rejected() with its reason, and the queue goes on', async () => {
    const remote = freshRemote();
    const d = await device(remote);
    const [small] = await save(d, [{ id: 'ok-1', eventType: 'Noted', actorId: 'doc', version: 1, data: {} }]);
    const [huge] = await save(d, [{ id: 'huge-2', eventType: 'Attached', actorId: 'doc', version: 2, data: { blob: 'x'.repeat(1_200_000) } }]);
    const [after] = await save(d, [{ id: 'ok-3', eventType: 'Noted', actorId: 'doc', version: 3, data: {} }]);
    await d.sync.flushed();
    const [rejection] = await d.sync.rejections();
    assert.equal(rejection.event.id, huge.id);
    assert.match(rejection.reason, /refused by the remote.*payload/i);
    const reader = await remote.open();
    opened.add(reader);
    assert.deepEqual(await reader.getEvents('doc'), [small, after], 'the events around it reached the server');
    assert.deepEqual(await d.store.getEvents('doc'), [small, after], 'and are confirmed here; the refused one is no longer pending');
    await d.sync.stop();
  });
});

describe('sync over JetStream: a device killed mid-push', () => {
  test('killed at random instants while saving and pushing, started again: nothing lost, nothing twice', async (t) => {
    const remote = freshRemote();
    const directory = folder.freshDirectory();
    const worker = join(import.meta.dirname ?? new URL('.', import.meta.url).pathname, 'sync-push-worker.mjs');
    const acknowledged = new Set();
    const kills = 5;
    for (let kill = 0; kill < kills; kill++) {
      const output = await killedAtRandom(worker, [directory, server.url, remote.stream, kill < 3 ? 'save' : 'resume'], folder.children, 200, 800);
      for (const line of output.split('\n')) {
        const ids = line.startsWith('{"acknowledged"') ? JSON.parse(line).acknowledged : [];
        for (const id of ids) acknowledged.add(id);
      }
    }
    const local = await EventStore.openDirectory(directory);
    opened.add(local);
    const sync = startSync(local, remote.open);
    opened.add({ close: () => sync.stop() });
    await sync.flushed();
    const reader = await remote.open();
    opened.add(reader);
    const onServer = await confirmedOf(reader);
    const ids = onServer.map((event) => event.id);
    assert.equal(new Set(ids).size, ids.length, 'no event twice on the server');
    for (const id of acknowledged) assert.ok(ids.includes(id), `acknowledged ${id} reached the server`);
    assert.deepEqual(byActor(await confirmedOf(local)), byActor(onServer), 'the device equals the server');
    assert.deepEqual(await sync.rejected(), [], 'nothing refused: no one else writes');
    t.diagnostic(`${kills} kills; ${acknowledged.size} events acknowledged; ${onServer.length} on the server`);
    await sync.stop();
    await local.close();
  });
});
