// aether-eventstore/sync with a remote store in memory, whose reachability the
// test switches: pending and confirmed events, pulls, each answer to a
// conflict, what is refused, filters, stopping and starting again. The same
// against a real nats-server is in sync-jetstream.test.mjs.
import { afterEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { EventStore, StorageError, ValidationError } from 'aether-eventstore';
import { startSync } from 'aether-eventstore/sync';

/**
 * A remote in memory behind a switch: while `online` is false, connecting fails
 * as an unreachable server does. Each connection is a handle on the one store
 * (the sync closes the handles it opened, as it closes a JetStream store).
 */
function switchedRemote() {
  const store = new EventStore();
  const handle = () => {
    const methods = ['saveEvents', 'getEvents', 'getLatestVersion', 'readAll', 'lastPosition', 'subscribe'];
    return { ...Object.fromEntries(methods.map((name) => [name, (...args) => store[name](...args)])), close: async () => {} };
  };
  const remote = {
    store,
    online: true,
    connect: async () => {
      if (!remote.online) throw new StorageError('the remote cannot be reached (test switch)');
      return handle();
    },
  };
  return remote;
}

/** Every sync a test started: stopped after it, passed or failed, so that none keeps the file from ending. */
const running = [];
afterEach(() => Promise.all(running.splice(0).map((sync) => sync.stop())));

/** `startSync`, the sync remembered to be stopped after the test. */
function started(...args) {
  const sync = startSync(...args);
  running.push(sync);
  return sync;
}

const event = (actorId, version, extra = {}) => ({ eventType: 'Noted', actorId, version, data: { n: version }, ...extra });

/** The store's events of every actor in `actors`, version order. */
async function eventsOf(store, actors) {
  return (await Promise.all(actors.map((actorId) => store.getEvents(actorId)))).flat();
}

/** What readAll holds: the confirmed events, in position order. */
async function confirmed(store) {
  return (await store.readAll({ limit: 10_000 })).map((recorded) => recorded.event);
}

describe('sync: pending, then confirmed', () => {
  test('a local save is pending (read, not in readAll) until the remote accepts it, then confirmed unchanged', async () => {
    const remote = switchedRemote();
    remote.online = false;
    const local = new EventStore();
    const sync = started(local, remote.connect);
    const saved = await local.saveEvent(event('list-1', 1, { id: 'e-1', metadata: { userId: 'ann' } }));
    assert.deepEqual(await local.getEvents('list-1'), [saved], 'reads show the pending event');
    assert.equal(await local.getLatestVersion('list-1'), 1);
    assert.deepEqual(await local.readAll(), [], 'no position while pending');
    assert.equal(await local.lastPosition(), 0);
    assert.deepEqual(await sync.pendingEvents(), [saved]);
    assert.deepEqual(await sync.pendingEvents('list-1'), [saved]);
    assert.deepEqual(await sync.pendingEvents('other'), []);
    await assert.rejects(local.saveEvent(event('list-1', 1)), { name: 'VersionConflictError', currentVersion: 1 });
    assert.deepEqual(await local.saveEvent(event('list-1', 1, { id: 'e-1', metadata: { userId: 'ann' } })), saved, 'a retry of a pending event');

    const heard = [];
    local.subscribe((notice) => heard.push(notice), { after: 0 });
    remote.online = true;
    await sync.flushed();
    assert.equal(sync.status, 'online');
    assert.deepEqual(await sync.pendingEvents(), []);
    assert.deepEqual(await remote.store.getEvents('list-1'), [saved], 'the remote holds it as it was saved');
    assert.deepEqual(await local.getEvents('list-1'), [saved]);
    assert.deepEqual(await local.readAll(), [{ position: 1, event: saved }], 'confirmed: it has a position');
    await new Promise((resolve) => setTimeout(resolve, 10));
    assert.deepEqual(heard.map((notice) => notice.event), [saved], 'subscribers hear it once it is confirmed');
    await sync.stop();
    assert.equal(sync.status, 'stopped');
  });

  test('a batch stays atomic, and actors are pushed in local order with their ids (a remote store given as it is)', async () => {
    const remote = switchedRemote();
    const local = new EventStore();
    const sync = started(local, remote.store);
    await sync.flushed();
    assert.equal(sync.status, 'online', 'flushed() resolves once a round has reported how things stand');
    const batch = await local.saveEvents([event('a', 1), event('a', 2), event('b', 1)]);
    await assert.rejects(local.saveEvents([event('a', 3), event('b', 1)]), { name: 'VersionConflictError' });
    assert.equal((await sync.pendingEvents()).length, 3, 'the refused batch left nothing');
    await sync.flushed();
    assert.deepEqual(await eventsOf(remote.store, ['a', 'b']), [batch[0], batch[1], batch[2]]);
    await sync.stop();
  });

  test('another device\'s events are pulled as confirmed, and local subscribers hear them', async () => {
    const remote = switchedRemote();
    const other = new EventStore();
    const otherSync = started(other, remote.connect);
    const local = new EventStore();
    const sync = started(local, remote.connect);
    const heard = [];
    local.subscribe((notice) => heard.push(notice));
    const saved = await other.saveEvents([event('x', 1), event('x', 2)]);
    await otherSync.flushed();
    await sync.flushed();
    assert.deepEqual(await local.getEvents('x'), saved);
    assert.deepEqual((await local.readAll()).map((recorded) => recorded.event), saved);
    await new Promise((resolve) => setTimeout(resolve, 10));
    assert.deepEqual(heard.map((notice) => notice.event), saved);
    await Promise.all([sync.stop(), otherSync.stop()]);
  });
});

describe('sync: conflicts', () => {
  /**
   * Device A's two events on actor `list` are on the remote; device B, offline,
   * saved its own two at the same versions and one more. Returns both, with B
   * synced using `onConflict`, once B has flushed.
   */
  async function conflict(onConflict) {
    const remote = switchedRemote();
    const a = new EventStore();
    const syncA = started(a, remote.connect);
    const ofA = await a.saveEvents([event('list', 1, { id: 'a1' }), event('list', 2, { id: 'a2' })]);
    await syncA.flushed();
    remote.online = false;
    const b = new EventStore();
    const seen = [];
    const syncB = started(b, remote.connect, {
      onConflict: onConflict && ((c) => (seen.push(c), onConflict(c))),
    });
    const ofB = await b.saveEvents([event('list', 1, { id: 'b1' }), event('list', 2, { id: 'b2' }), event('list', 3, { id: 'b3' })]);
    await b.saveEvent(event('mine', 1, { id: 'm1' }));
    remote.online = true;
    await syncB.flushed();
    await syncA.flushed();
    return { remote, a, b, syncA, syncB, ofA, ofB, seen };
  }

  test('rebase (the default): the remote\'s events take their versions, the pending ones follow, same ids and data', async () => {
    const { remote, a, b, syncA, syncB, ofA, ofB } = await conflict(undefined);
    const rebased = ofB.map((e, i) => ({ ...e, version: 3 + i }));
    assert.deepEqual(await remote.store.getEvents('list'), [...ofA, ...rebased]);
    assert.deepEqual(await b.getEvents('list'), [...ofA, ...rebased]);
    assert.deepEqual(await a.getEvents('list'), [...ofA, ...rebased]);
    assert.deepEqual(await syncB.rejected(), []);
    assert.equal((await remote.store.getEvents('mine')).length, 1, 'the other actor is pushed as it was');
    await Promise.all([syncA.stop(), syncB.stop()]);
  });

  test('onConflict sees the losing pending events and the remote\'s that took their versions; "discard" keeps them in rejected()', async () => {
    const { remote, b, syncA, syncB, ofA, ofB, seen } = await conflict(() => 'discard');
    assert.equal(seen.length, 1);
    assert.equal(seen[0].actorId, 'list');
    assert.deepEqual(seen[0].pending, ofB);
    assert.deepEqual(seen[0].remote, ofA);
    assert.deepEqual(await remote.store.getEvents('list'), ofA);
    assert.deepEqual(await b.getEvents('list'), ofA);
    assert.deepEqual(await syncB.rejected(), ofB);
    const [first] = await syncB.rejections();
    assert.match(first.reason, /discard/);
    await Promise.all([syncA.stop(), syncB.stop()]);
  });

  test('events returned by onConflict replace the losing ones (decided again on the new state), which go to rejected()', async () => {
    const { remote, b, syncA, syncB, ofA, ofB } = await conflict(async ({ actorId, remote: won }) => [
      { eventType: 'Merged', actorId, version: won.at(-1).version + 1, id: 'merge-1', data: { over: won.map((e) => e.id) } },
    ]);
    const list = await remote.store.getEvents('list');
    assert.deepEqual(list.slice(0, 2), ofA);
    assert.equal(list.length, 3);
    assert.deepEqual([list[2].id, list[2].version, list[2].data], ['merge-1', 3, { over: ['a1', 'a2'] }]);
    assert.deepEqual(await b.getEvents('list'), list);
    assert.deepEqual(await syncB.rejected(), ofB);
    await Promise.all([syncA.stop(), syncB.stop()]);
  });

  test('an onConflict that throws, or answers what cannot replace the events, takes nothing silently: the events go to rejected()', async () => {
    const reported = [];
    const original = console.error;
    console.error = (...args) => reported.push(args);
    try {
      for (const answer of [
        () => {
          throw new Error('cannot decide');
        },
        () => 'merge',
        ({ actorId }) => [{ eventType: 'Merged', actorId, version: 2, data: {} }],
        () => [{ eventType: 'Merged', actorId: 'elsewhere', version: 9, data: {} }],
      ]) {
        const { remote, syncA, syncB, ofA, ofB } = await conflict(answer);
        assert.deepEqual(await remote.store.getEvents('list'), ofA);
        assert.deepEqual(await syncB.rejected(), ofB);
        assert.match((await syncB.rejections())[0].reason, /onConflict failed/);
        await Promise.all([syncA.stop(), syncB.stop()]);
      }
    } finally {
      console.error = original;
    }
    assert.equal(reported.length, 4, 'each failure is reported');
  });

  test('every event ever saved on either device is confirmed exactly once or rejected', async () => {
    const { a, b, syncA, syncB, ofA, ofB } = await conflict(() => 'discard');
    const everywhere = await confirmed(b);
    assert.deepEqual(await confirmed(a), everywhere);
    const ids = everywhere.map((e) => e.id);
    assert.equal(new Set(ids).size, ids.length, 'no event twice');
    const rejected = (await syncB.rejected()).map((e) => e.id);
    for (const e of [...ofA, ...ofB]) assert.equal(Number(ids.includes(e.id)) + Number(rejected.includes(e.id)), 1, e.id);
    await Promise.all([syncA.stop(), syncB.stop()]);
  });

  test('a conflict whose remote events arrive in two pull pages is decided once, on all of them', async () => {
    const remote = switchedRemote();
    // 499 events fill the first page of 500 but one: the remote's list events are at positions 500 and 501.
    const filler = Array.from({ length: 499 }, (_, i) => event('filler', i + 1));
    for (let first = 0; first < filler.length; first += 100) await remote.store.saveEvents(filler.slice(first, first + 100));
    const won = await remote.store.saveEvents([event('list', 1, { id: 'r1' }), event('list', 2, { id: 'r2' })]);
    remote.online = false;
    const b = new EventStore();
    const seen = [];
    const sync = started(b, remote.connect, { onConflict: (c) => (seen.push(c), 'rebase') });
    try {
      const [mine] = await b.saveEvents([event('list', 1, { id: 'b1' })]);
      remote.online = true;
      await sync.flushed();
      assert.equal(seen.length, 1, 'onConflict is called once');
      assert.deepEqual(seen[0].remote, won, 'with every remote event that took the versions');
      assert.deepEqual(seen[0].pending, [mine]);
      const list = [...won, { ...mine, version: 3 }];
      assert.deepEqual(await b.getEvents('list'), list);
      assert.deepEqual(await remote.store.getEvents('list'), list);
      assert.equal((await b.readAll({ limit: 1000 })).length, 502, 'each remote event confirmed once');
    } finally {
      await sync.stop();
    }
  });
});

describe('sync: what it refuses, filters, stopping', () => {
  test('startSync checks its arguments', () => {
    const local = new EventStore();
    assert.throws(() => startSync({}, local), (error) => error instanceof ValidationError && error.field === 'local');
    assert.throws(() => startSync(local, 'nats://x'), (error) => error instanceof ValidationError && error.field === 'remote');
    assert.throws(() => startSync(local, local, 5), (error) => error instanceof ValidationError && error.field === 'options');
    assert.throws(() => startSync(local, local, { onConflict: 'rebase' }), (error) => error instanceof ValidationError && error.field === 'onConflict');
  });

  test('a store that already holds events saved before sync is refused, and keeps working unsynced', async () => {
    const local = new EventStore();
    await local.saveEvent(event('old', 1));
    const sync = started(local, switchedRemote().connect);
    await assert.rejects(sync.flushed(), (error) => error instanceof StorageError && /importEvents/.test(error.message));
    assert.equal(sync.status, 'stopped');
    assert.ok(sync.lastError instanceof StorageError);
    await local.saveEvent(event('old', 2));
    assert.equal(await local.lastPosition(), 2, 'saves are not held, and not pending');
    await sync.stop();
  });

  test('the import into a synced store is how older events are pushed', async () => {
    const old = new EventStore();
    await old.saveEvents([event('old', 1), event('old', 2)]);
    const remote = switchedRemote();
    const local = new EventStore();
    const sync = started(local, remote.connect);
    assert.deepEqual(await local.importEvents(old.exportEvents()), { imported: 2, skipped: 0 });
    await sync.flushed();
    assert.deepEqual(await remote.store.getEvents('old'), await old.getEvents('old'));
    await sync.stop();
  });

  test('filter: actors left out are confirmed locally at once and never pushed', async () => {
    const remote = switchedRemote();
    const local = new EventStore();
    const sync = started(local, remote.connect, { filter: (actorId) => !actorId.startsWith('draft-') });
    await local.saveEvent(event('draft-1', 1));
    await local.saveEvent(event('list', 1));
    await sync.flushed();
    assert.deepEqual(await remote.store.getEvents('draft-1'), []);
    assert.equal((await remote.store.getEvents('list')).length, 1);
    assert.deepEqual((await confirmed(local)).map((e) => e.actorId).sort(), ['draft-1', 'list']);
    await sync.stop();
  });

  test('after stop(), saves stay pending; a new startSync pushes them', async () => {
    const remote = switchedRemote();
    const local = new EventStore();
    const sync = started(local, remote.connect);
    const statuses = [];
    sync.onStatus((status) => statuses.push(status));
    await sync.flushed();
    await sync.stop();
    assert.deepEqual(statuses.slice(-1), ['stopped']);
    await assert.rejects(sync.flushed(), StorageError);
    const later = await local.saveEvent(event('later', 1));
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.deepEqual(await remote.store.getEvents('later'), []);
    const again = started(local, remote.connect);
    await again.flushed();
    assert.deepEqual(await remote.store.getEvents('later'), [later]);
    await again.stop();
  });

  test('closing the local store ends its sync quietly', async () => {
    const local = new EventStore();
    const sync = started(local, switchedRemote().connect);
    await sync.flushed();
    const reported = [];
    const original = console.error;
    console.error = (...args) => reported.push(args);
    try {
      await local.close();
      await new Promise((resolve) => sync.onStatus((status) => status === 'stopped' && resolve()));
      await sync.stop();
    } finally {
      console.error = original;
    }
    assert.deepEqual(reported, []);
  });

  test('offline, saves do not cut the back-off short: a server that is down is not asked once per save', async () => {
    const remote = switchedRemote();
    remote.online = false;
    let attempts = 0;
    const local = new EventStore();
    const sync = started(local, () => (attempts++, remote.connect()));
    await new Promise((resolve) => sync.onStatus((status) => status === 'offline' && resolve()));
    const before = attempts;
    for (let version = 1; version <= 100; version++) await local.saveEvent(event('busy', version));
    assert.ok(attempts - before <= 2, `${attempts - before} attempts during 100 saves`);
    remote.online = true;
    await sync.flushed();
    assert.equal((await remote.store.getEvents('busy')).length, 100);
    await sync.stop();
  });

  test('offline, the actors the filter leaves out are confirmed here all the same', async () => {
    const remote = switchedRemote();
    remote.online = false;
    const local = new EventStore();
    const sync = started(local, remote.connect, { filter: (actorId) => actorId !== 'draft' });
    await new Promise((resolve) => sync.onStatus((status) => status === 'offline' && resolve()));
    const heard = new Promise((resolve) => local.subscribe(resolve));
    const [saved] = await local.saveEvents([event('draft', 1)]);
    assert.deepEqual((await heard).event, saved, 'confirmed: a position, and subscribers hear it');
    assert.equal(sync.status, 'offline', 'without reaching the remote');
    await sync.stop();
  });

  test('stop() resolves once its round has stopped: no call to the remote after it', async () => {
    const store = new EventStore();
    let inFlight = 0;
    let calls = 0;
    const slow = {
      ...Object.fromEntries(['getEvents', 'readAll', 'lastPosition', 'subscribe'].map((name) => [name, (...args) => store[name](...args)])),
      saveEvents: async (events) => {
        calls++;
        inFlight++;
        await new Promise((resolve) => setTimeout(resolve, 200));
        inFlight--;
        return store.saveEvents(events);
      },
      close: async () => {},
    };
    const local = new EventStore();
    const sync = started(local, slow);
    for (let version = 1; version <= 3; version++) await local.saveEvents([event('a', version), event(`b${version}`, 1)]);
    while (calls === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    await sync.stop();
    assert.equal(inFlight, 0, 'the push in flight settled before stop() resolved');
    const after = calls;
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(calls, after, 'and none began since');
  });

  test('a remote whose history no longer matches the confirmed events here stops the sync, and says why', async () => {
    const store = new EventStore();
    const stranger = { id: 'stranger', eventType: 'Happened', actorId: 'a', version: 1, data: {}, timestamp: '2026-11-29T00:00:00Z' };
    // A remote that, after the push, shows an event below the one confirmed here (what gapped versions racing can cause).
    const rewritten = {
      ...Object.fromEntries(['saveEvents', 'getEvents', 'lastPosition', 'subscribe'].map((name) => [name, (...args) => store[name](...args)])),
      readAll: async (options) => {
        const page = await store.readAll(options);
        return page.length > 0 ? [...page, { position: page.at(-1).position + 1, event: stranger }] : page;
      },
      close: async () => {},
    };
    const reported = [];
    const original = console.error;
    console.error = (...args) => reported.push(args.join(' '));
    try {
      const local = new EventStore();
      const sync = started(local, rewritten);
      const stopped = new Promise((resolve) => sync.onStatus((status) => status === 'stopped' && resolve()));
      await local.saveEvent(event('a', 2));
      await stopped;
      assert.match(String(sync.lastError?.message), /diverged/);
      await assert.rejects(sync.flushed(), StorageError);
      await sync.stop();
    } finally {
      console.error = original;
    }
    assert.ok(reported.some((line) => /no longer matches the remote/.test(line)));
  });

  test('two syncs of one store: one syncs at a time, the other takes over when it stops', async () => {
    const remote = switchedRemote();
    const local = new EventStore();
    const first = started(local, remote.connect);
    const second = started(local, remote.connect);
    await local.saveEvent(event('t', 1));
    await first.flushed();
    await first.stop();
    await local.saveEvent(event('t', 2));
    await second.flushed();
    assert.equal((await remote.store.getEvents('t')).length, 2);
    await second.stop();
  });
});
