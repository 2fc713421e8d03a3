// The sync ledger (what aether-eventstore/sync drives in a local store), run
// against every local backend that has one: memory, IndexedDB (fake-indexeddb)
// and the directory store. A backend without `syncStart` is skipped with a
// message. The ledger is reached through the package's internals; every rule of
// sync mode and of `syncCommit` is checked, with the store left unchanged by
// every `syncCommit` that throws.
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { EventStore, StorageError, ValidationError, VersionConflictError } from 'aether-eventstore';

// fake-indexeddb is a dev dependency of the repository, not of this consumer.
const requireDev = createRequire(join(process.env.AETHER_DEV_MODULES ?? process.cwd(), 'noop.js'));
const { IDBFactory, IDBKeyRange } = requireDev('fake-indexeddb');

const internals = EventStore[Symbol.for('aether-eventstore.internals')];
/** The backend under a store: where the ledger's methods are. */
const ledgerOf = (store) => internals?.backendOf?.(store);

const base = mkdtempSync(join(tmpdir(), 'aether-sync-ledger-'));
after(() => rmSync(base, { recursive: true, force: true }));
let worlds = 0;

/**
 * Each kind of local store: `world()` is fresh empty storage whose `open()`
 * opens a store on it (again, for a durable kind; while another is open too, for a shared one).
 */
const kinds = [
  {
    label: 'memory',
    world: () => {
      let opened = false;
      return {
        open: async () => {
          assert.equal(opened, false, 'a memory store cannot be opened twice');
          opened = true;
          return new EventStore();
        },
      };
    },
  },
  {
    label: 'indexeddb',
    durable: true,
    shared: true,
    world: () => {
      const indexedDB = new IDBFactory();
      const name = `ledger-${++worlds}`;
      return { open: () => EventStore.openIndexedDb(name, { indexedDB, IDBKeyRange }) };
    },
  },
  {
    label: 'directory',
    durable: true,
    world: () => {
      const directory = join(base, `store-${++worlds}`);
      return { open: () => EventStore.openDirectory(directory) };
    },
  },
];

/** Why a kind's tests are skipped, or `false`: its backend must have the ledger. */
async function skipReason({ world }) {
  if (typeof internals?.backendOf !== 'function') return 'the package internals have no backendOf yet';
  const store = await world().open();
  const ledger = ledgerOf(store);
  await store.close();
  return typeof ledger?.syncStart === 'function' ? false : 'this backend has no sync ledger (syncStart) yet';
}
const skips = await Promise.all(kinds.map(skipReason));

const event = (actorId, version, extra = {}) => ({ eventType: 'Happened', actorId, version, data: { n: version }, ...extra });
let ids = 0;
/** An event as the remote holds it: with its own id and timestamp. */
const remoteEvent = (actorId, version, extra = {}) =>
  event(actorId, version, { id: `remote-${++ids}`, timestamp: '2026-03-04T05:06:07.089Z', data: { remote: true }, ...extra });
const settle = () => new Promise((resolve) => setTimeout(resolve, 10));
const json = (value) => JSON.stringify(value);

/** Calls the ledger's method; its JSON text results parsed. */
async function pending(store, actorId) {
  return JSON.parse(await ledgerOf(store).pendingEvents(actorId));
}
async function rejected(store) {
  return JSON.parse(await ledgerOf(store).rejectedEvents());
}
/** The ledger's sync state: `null`, or its remote position as `{ remotePosition }` (other fields a backend may add are not compared). */
async function syncState(store) {
  const state = await ledgerOf(store).syncState();
  return state && { remotePosition: state.remotePosition };
}
async function syncStart(store) {
  const state = await ledgerOf(store).syncStart();
  return { remotePosition: state.remotePosition };
}
/** `syncCommit` with JSON text made from values (a backend may also throw synchronously: a rejection here). */
async function commit(store, { confirmed = [], dropped = [], pending: added = [], rejected: rejections = [], remotePosition } = {}) {
  const change = { confirmed: json(confirmed), dropped, pending: json(added), rejected: json(rejections) };
  if (remotePosition !== undefined) change.remotePosition = remotePosition;
  await ledgerOf(store).syncCommit(change);
}

/** Everything a store shows of the actors, to compare before and after a refused change. */
async function everything(store, actors) {
  return {
    all: await store.readAll({ limit: 1_000_000 }),
    lastPosition: await store.lastPosition(),
    pending: await pending(store),
    rejected: await rejected(store),
    state: await syncState(store),
    streams: await Promise.all(actors.map((actorId) => store.getEvents(actorId))),
    latest: await Promise.all(actors.map((actorId) => store.getLatestVersion(actorId))),
    snapshots: await Promise.all(actors.map((actorId) => store.getLatestSnapshot(actorId))),
  };
}

/** Asserts that `change` is refused (by `check`) and changes nothing the store shows. */
async function refusedUnchanged(store, actors, change, check) {
  const before = await everything(store, actors);
  const heard = { pending: 0, committed: 0 };
  const ledger = ledgerOf(store);
  ledger.onPending = () => heard.pending++;
  const unsubscribe = store.subscribe(() => heard.committed++);
  await assert.rejects(commit(store, change), check);
  await settle();
  unsubscribe();
  ledger.onPending = null;
  assert.deepEqual(await everything(store, actors), before, 'the refused change stored nothing');
  assert.deepEqual(heard, { pending: 0, committed: 0 }, 'nor did anyone hear of it');
}

const isPendingChanged = (error) => error?.name === 'PendingChangedError' && error instanceof Error;
const isStorageError = (error) => error instanceof StorageError;

/**
 * A synced store holding confirmed a1, a2 (position 1, 2) and b1 (3), pending
 * a3, a4, c1 (in that local order), and snapshots of a at 2 and of c at 1.
 */
async function scenario(store) {
  const confirmed = await store.saveEvents([event('a', 1), event('a', 2), event('b', 1)]);
  await ledgerOf(store).syncStart();
  const local = [await store.saveEvent(event('a', 3)), await store.saveEvent(event('a', 4)), await store.saveEvent(event('c', 1))];
  await store.saveSnapshot({ actorId: 'a', version: 2, state: { at: 2 } });
  await store.saveSnapshot({ actorId: 'c', version: 1, state: { at: 1 } });
  return { confirmed, local };
}
const ACTORS = ['a', 'b', 'c', 'd'];

kinds.forEach((kind, k) => {
  const skip = skips[k];
  if (skip) console.log(`# ${kind.label}: sync ledger tests skipped: ${skip}`);
  /** A fresh store of this kind, closed after the test. */
  async function fresh(t) {
    const world = kind.world();
    const store = await world.open();
    t.after(() => store.close());
    return { store, world };
  }

  describe(`${kind.label}: sync mode`, { skip }, () => {
    test('before syncStart nothing changes: no state, nothing pending, saves get positions', async (t) => {
      const { store } = await fresh(t);
      assert.equal(await syncState(store), null);
      assert.deepEqual(await pending(store), []);
      assert.deepEqual(await rejected(store), []);
      await store.saveEvent(event('a', 1));
      assert.equal(await store.lastPosition(), 1);
      assert.deepEqual(await pending(store), []);
      assert.equal(typeof ledgerOf(store).syncKey, 'string');
    });

    test('syncStart marks the store synced at remote position 0; a second call returns the state', async (t) => {
      const { store } = await fresh(t);
      assert.deepEqual(await syncStart(store), { remotePosition: 0 });
      assert.deepEqual(await syncState(store), { remotePosition: 0 });
      await commit(store, { remotePosition: 7 });
      assert.deepEqual(await syncStart(store), { remotePosition: 7 });
      assert.deepEqual(await syncState(store), { remotePosition: 7 });
    });

    test('saves are pending: no position, no subscriber hears them, onPending does; reads show confirmed then pending', async (t) => {
      const { store } = await fresh(t);
      const [a1] = await store.saveEvents([event('a', 1)]);
      await ledgerOf(store).syncStart();
      const heard = [];
      store.subscribe((notice) => heard.push(notice));
      let pendingCalls = 0;
      ledgerOf(store).onPending = () => pendingCalls++;
      const a2 = await store.saveEvent(event('a', 2));
      const [a3, b1] = await store.saveEvents([event('a', 3), event('b', 1)]);
      await settle();
      assert.deepEqual(heard, []);
      assert.equal(pendingCalls, 2);
      assert.equal(await store.lastPosition(), 1);
      assert.deepEqual(await store.readAll(), [{ position: 1, event: a1 }]);
      const exported = [];
      for await (const line of store.exportEvents()) exported.push(JSON.parse(line));
      assert.deepEqual(exported, [a1]);
      assert.deepEqual(await store.getEvents('a'), [a1, a2, a3]);
      assert.deepEqual(await store.getEvents('a', 2), [a2, a3]);
      assert.deepEqual(await store.getEvents('a', 3), [a3]);
      const withErrors = await store.getEventsWithErrors('a');
      assert.deepEqual(withErrors.events, [a1, a2, a3]);
      assert.deepEqual(withErrors.errors, []);
      assert.equal(await store.getLatestVersion('a'), 3);
      assert.equal(await store.getLatestVersion('b'), 1);
      assert.deepEqual(await pending(store), [a2, a3, b1], 'all pending events, in local order');
      assert.deepEqual(await pending(store, 'a'), [a2, a3]);
      assert.deepEqual(await pending(store, 'nobody'), []);
    });

    test('pending events are in local order; an actor\'s in version order', async (t) => {
      const { store } = await fresh(t);
      await ledgerOf(store).syncStart();
      const saved = [];
      for (const [actorId, version] of [['x', 1], ['y', 1], ['x', 2], ['z', 5], ['y', 2], ['x', 7]]) {
        saved.push(await store.saveEvent(event(actorId, version)));
      }
      assert.deepEqual(await pending(store), saved);
      assert.deepEqual(await pending(store, 'x'), [saved[0], saved[2], saved[5]]);
    });

    test('the version rule counts confirmed and pending events', async (t) => {
      const { store } = await fresh(t);
      await store.saveEvents([event('a', 1), event('a', 2)]);
      await ledgerOf(store).syncStart();
      await assert.rejects(store.saveEvent(event('a', 2)), (error) => error instanceof VersionConflictError && error.currentVersion === 2);
      await store.saveEvent(event('a', 3));
      for (const version of [1, 2, 3]) {
        await assert.rejects(
          store.saveEvent(event('a', version)),
          (error) => error instanceof VersionConflictError && error.currentVersion === 3 && error.attemptedVersion === version,
        );
      }
      await store.saveEvent(event('a', 5));
      assert.deepEqual((await store.getEvents('a')).map((e) => e.version), [1, 2, 3, 5]);
    });

    test('retries are recognised among confirmed and pending events', async (t) => {
      const { store } = await fresh(t);
      const [a1] = await store.saveEvents([event('a', 1, { id: 'id-1' })]);
      await ledgerOf(store).syncStart();
      const a2 = await store.saveEvent(event('a', 2, { id: 'id-2' }));
      let pendingCalls = 0;
      ledgerOf(store).onPending = () => pendingCalls++;
      assert.deepEqual(await store.saveEvent(event('a', 1, { id: 'id-1' })), a1, 'a confirmed event retried');
      assert.deepEqual(await store.saveEvent(event('a', 2, { id: 'id-2' })), a2, 'a pending event retried');
      assert.deepEqual(await store.saveEvents([event('a', 1, { id: 'id-1' }), event('a', 2, { id: 'id-2' })]), [a1, a2], 'a batch over both');
      const backend = ledgerOf(store);
      assert.deepEqual(await backend.saveEvent({ json: json(event('a', 2, { id: 'id-2' })) }), { stored: json(a2), retried: true });
      assert.equal(pendingCalls, 0, 'a retry changes nothing');
      await assert.rejects(store.saveEvent(event('a', 2, { id: 'other' })), VersionConflictError);
      assert.deepEqual(await pending(store), [a2]);
    });

    test('a batch is pending all or nothing', async (t) => {
      const { store } = await fresh(t);
      await store.saveEvents([event('b', 1)]);
      await ledgerOf(store).syncStart();
      await assert.rejects(store.saveEvents([event('a', 1), event('a', 2), event('b', 1)]), VersionConflictError);
      await assert.rejects(store.saveEvents([event('a', 1), event('a', 1)]), VersionConflictError);
      await assert.rejects(store.saveEvents([event('a', 1), { actorId: 'a', version: 2 }]), ValidationError);
      assert.deepEqual(await pending(store), []);
      assert.equal(await store.getLatestVersion('a'), 0);
      const stored = await store.saveEvents([event('a', 1), event('b', 2), event('a', 2)]);
      assert.deepEqual(await pending(store), stored);
    });

    test('concurrent pending saves each keep their own outcome', async (t) => {
      const { store } = await fresh(t);
      await ledgerOf(store).syncStart();
      const outcomes = await Promise.allSettled([
        ...Array.from({ length: 20 }, (_, i) => store.saveEvent(event('a', i + 1))),
        store.saveEvent(event('a', 5)),
        store.saveEvents([event('b', 1), event('a', 3)]),
      ]);
      assert.deepEqual(outcomes.slice(0, 20).map((o) => o.status), Array(20).fill('fulfilled'));
      assert.ok(outcomes[20].reason instanceof VersionConflictError);
      assert.ok(outcomes[21].reason instanceof VersionConflictError);
      assert.deepEqual((await pending(store)).map((e) => `${e.actorId}${e.version}`), Array.from({ length: 20 }, (_, i) => `a${i + 1}`));
    });

    test('saveSnapshot counts pending events', async (t) => {
      const { store } = await fresh(t);
      await store.saveEvents([event('a', 1)]);
      await ledgerOf(store).syncStart();
      await store.saveEvents([event('a', 2), event('a', 3)]);
      await store.saveSnapshot({ actorId: 'a', version: 3, state: { n: 3 } });
      await assert.rejects(store.saveSnapshot({ actorId: 'a', version: 4, state: {} }), (error) => error instanceof ValidationError && error.field === 'version');
      assert.equal((await store.getLatestSnapshot('a')).version, 3);
    });
  });

  describe(`${kind.label}: syncCommit`, { skip }, () => {
    test('on a store never synced it is refused', async (t) => {
      const { store } = await fresh(t);
      await assert.rejects(commit(store, { confirmed: [remoteEvent('a', 1)] }), StorageError);
      assert.equal(await store.lastPosition(), 0);
      assert.equal(await syncState(store), null);
    });

    test('confirms pending events: moved in order, next positions, their stored JSON, subscribers and onPending hear it', async (t) => {
      const { store } = await fresh(t);
      const { confirmed, local } = await scenario(store);
      const heard = [];
      store.subscribe((notice) => heard.push(notice), { after: 3 });
      let pendingCalls = 0;
      ledgerOf(store).onPending = () => pendingCalls++;
      const recorded = [];
      // The backend's own notice, as the feed gets it (the feed's listener set aside while this test listens).
      const backend = ledgerOf(store);
      const feedListener = backend.onCommitted;
      backend.onCommitted = (entries) => {
        if (entries !== undefined) recorded.push(...JSON.parse(entries));
        feedListener?.(entries);
      };
      await commit(store, { confirmed: [local[0], local[2]] });
      await settle();
      backend.onCommitted = feedListener;
      const expected = [
        { position: 4, event: local[0] },
        { position: 5, event: local[2] },
      ];
      assert.deepEqual(recorded, expected);
      assert.deepEqual(await store.readAll({ after: 3 }), expected);
      assert.deepEqual(
        heard.map((n) => ({ position: n.position, event: n.event })),
        expected,
      );
      assert.equal(pendingCalls, 1);
      assert.deepEqual(await pending(store), [local[1]]);
      assert.deepEqual(await store.getEvents('a'), [confirmed[0], confirmed[1], local[0], local[1]]);
      assert.equal(await store.lastPosition(), 5);
      // The moved event is confirmed now: a retry of it still resolves with it.
      assert.deepEqual(await store.saveEvent(local[0]), local[0]);
    });

    test('an event already confirmed (same id) is skipped; a new remote event is appended as the remote holds it', async (t) => {
      const { store } = await fresh(t);
      const { confirmed, local } = await scenario(store);
      const b2 = remoteEvent('b', 2, { metadata: { userId: 'u' }, timestamp: '2026-03-04T06:06:07.089+01:00' });
      const d1 = remoteEvent('d', 1);
      await commit(store, { confirmed: [confirmed[0], confirmed[2], b2, d1] });
      const all = await store.readAll();
      assert.equal(all.length, 5);
      assert.deepEqual(all.slice(3).map((r) => r.position), [4, 5]);
      assert.deepEqual(all[3].event, { ...b2, timestamp: '2026-03-04T05:06:07.089Z' }, 'normalised as the core stores it');
      assert.deepEqual(all[4].event, d1);
      assert.deepEqual(await pending(store), local);
      // Again: everything is already there.
      let pendingCalls = 0;
      ledgerOf(store).onPending = () => pendingCalls++;
      await commit(store, { confirmed: [b2, d1] });
      assert.equal(await store.lastPosition(), 5);
      assert.equal(pendingCalls, 0);
    });

    test('an event confirmed twice in one change is stored once; another at its version is a divergence', async (t) => {
      const { store } = await fresh(t);
      const { local } = await scenario(store);
      const d1 = remoteEvent('d', 1);
      const d2 = remoteEvent('d', 2);
      await commit(store, { confirmed: [d1, local[0], d2, d1, local[0]] });
      assert.deepEqual((await store.readAll({ after: 3 })).map((r) => r.event), [d1, local[0], d2]);
      const before = await everything(store, ['a', 'b', 'c', 'd', 'e']);
      const e1 = remoteEvent('e', 1);
      await assert.rejects(commit(store, { confirmed: [e1, { ...e1, id: 'another' }] }), (error) => isStorageError(error) && /diverged/.test(error.message));
      assert.deepEqual(await everything(store, ['a', 'b', 'c', 'd', 'e']), before, 'nothing of the refused change stored');
    });

    test('drops pending events and the snapshots taken at or above the lowest dropped version', async (t) => {
      const { store } = await fresh(t);
      const { local } = await scenario(store);
      await commit(store, { dropped: [{ actorId: 'a', version: 4 }] });
      assert.deepEqual(await pending(store), [local[0], local[2]]);
      assert.equal((await store.getLatestSnapshot('a')).version, 2, 'a snapshot below the dropped versions stays');
      await commit(store, { dropped: [{ actorId: 'a', version: 3 }, { actorId: 'c', version: 1 }] });
      assert.deepEqual(await pending(store), []);
      assert.equal(await store.getLatestVersion('a'), 2);
      assert.equal(await store.getLatestVersion('c'), 0);
      assert.equal((await store.getLatestSnapshot('a')).version, 2);
      assert.equal(await store.getLatestSnapshot('c'), null, 'the snapshot at the dropped version is gone');
      await store.saveEvents([event('a', 3), event('a', 4)]); // the versions are free again
      await store.saveSnapshot({ actorId: 'a', version: 4, state: { at: 4 } });
      await commit(store, { dropped: [{ actorId: 'a', version: 3 }, { actorId: 'a', version: 4 }] });
      const left = await store.getLatestSnapshot('a');
      assert.ok(left === null || left.version === 2, `a snapshot above the dropped versions is gone (left: ${json(left)})`);
    });

    test('a rebase: pending events dropped, the remote\'s confirmed, the same events pending again after them', async (t) => {
      const { store } = await fresh(t);
      const { confirmed, local } = await scenario(store);
      const r3 = remoteEvent('a', 3);
      const renumbered = [{ ...local[0], version: 4 }, { ...local[1], version: 5 }];
      const reason = 'the remote took version 3';
      await commit(store, {
        dropped: [{ actorId: 'a', version: 3 }, { actorId: 'a', version: 4 }],
        confirmed: [r3],
        pending: renumbered,
        rejected: [{ event: local[1], reason }],
        remotePosition: 42,
      });
      assert.deepEqual(await store.getEvents('a'), [confirmed[0], confirmed[1], r3, ...renumbered]);
      assert.deepEqual(await pending(store), [local[2], ...renumbered], 'the new pending events at the end of local order');
      assert.deepEqual(await rejected(store), [{ event: local[1], reason }]);
      assert.deepEqual(await syncState(store), { remotePosition: 42 });
      assert.equal((await store.getLatestSnapshot('a')).version, 2);
      assert.deepEqual((await store.readAll({ after: 3 })).map((r) => r.event), [r3]);
    });

    test('rejected entries are appended, oldest first; the remote position is kept when not given', async (t) => {
      const { store } = await fresh(t);
      await ledgerOf(store).syncStart();
      const x = event('x', 1, { id: 'x1', timestamp: '2026-01-01T00:00:00.000Z' });
      const y = event('y', 1, { id: 'y1', timestamp: '2026-01-01T00:00:00.000Z' });
      let pendingCalls = 0;
      ledgerOf(store).onPending = () => pendingCalls++;
      await commit(store, { rejected: [{ event: x, reason: 'too large' }], remotePosition: 3 });
      await commit(store, { rejected: [{ event: y, reason: 'not permitted: "y"' }] });
      assert.deepEqual(await rejected(store), [
        { event: x, reason: 'too large' },
        { event: y, reason: 'not permitted: "y"' },
      ]);
      assert.equal(pendingCalls, 2);
      assert.deepEqual(await syncState(store), { remotePosition: 3 });
      await commit(store, {});
      assert.deepEqual(await syncState(store), { remotePosition: 3 });
      assert.equal(pendingCalls, 2, 'an empty change changes nothing');
    });

    test('new pending events must be above the actor\'s latest version after the drops and moves', async (t) => {
      const { store } = await fresh(t);
      const { local } = await scenario(store);
      await commit(store, { dropped: [{ actorId: 'a', version: 4 }], pending: [{ ...local[1], version: 4 }, event('e', 1, { id: 'e1' })] });
      assert.deepEqual((await pending(store)).map((e) => `${e.actorId}${e.version}`), ['a3', 'c1', 'a4', 'e1']);
      await commit(store, { confirmed: [local[0]], pending: [event('a', 5, { id: 'a5' })] });
      assert.deepEqual((await pending(store, 'a')).map((e) => e.version), [4, 5]);
    });

    describe('PendingChangedError, and nothing stored', () => {
      test('dropping an event that is not pending, or the same one twice', async (t) => {
        const { store } = await fresh(t);
        await scenario(store);
        await refusedUnchanged(store, ACTORS, { dropped: [{ actorId: 'a', version: 3 }, { actorId: 'a', version: 9 }] }, isPendingChanged);
        await refusedUnchanged(store, ACTORS, { dropped: [{ actorId: 'a', version: 1 }] }, isPendingChanged); // confirmed, not pending
        await refusedUnchanged(store, ACTORS, { dropped: [{ actorId: 'c', version: 1 }, { actorId: 'c', version: 1 }] }, isPendingChanged);
      });

      test('confirming another event at a pending event\'s version', async (t) => {
        const { store } = await fresh(t);
        const { local } = await scenario(store);
        await refusedUnchanged(store, ACTORS, { confirmed: [local[0], remoteEvent('a', 4)] }, isPendingChanged);
      });

      test('moving a pending event above another pending one of its actor', async (t) => {
        const { store } = await fresh(t);
        const { local } = await scenario(store);
        // a4 confirmed while a3 stays pending would leave a pending event below a confirmed one.
        await refusedUnchanged(store, ACTORS, { confirmed: [local[1]] }, isPendingChanged);
        await refusedUnchanged(store, ACTORS, { confirmed: [local[2], local[1]] }, isPendingChanged);
        await commit(store, { confirmed: [local[0], local[1]] });
        assert.deepEqual((await pending(store)).map((e) => `${e.actorId}${e.version}`), ['c1']);
      });

      test('appending a confirmed event above a pending one of its actor', async (t) => {
        const { store } = await fresh(t);
        const { local } = await scenario(store);
        await refusedUnchanged(store, ACTORS, { confirmed: [remoteEvent('a', 5)] }, isPendingChanged);
        await refusedUnchanged(store, ACTORS, { confirmed: [local[0], remoteEvent('a', 5)] }, isPendingChanged);
        await refusedUnchanged(store, ACTORS, { confirmed: [remoteEvent('c', 2)] }, isPendingChanged);
      });

      test('a new pending event not above the actor\'s latest version', async (t) => {
        const { store } = await fresh(t);
        const { local } = await scenario(store);
        await refusedUnchanged(store, ACTORS, { pending: [event('a', 4, { id: 'n' })] }, isPendingChanged); // a pending 4
        await refusedUnchanged(store, ACTORS, { pending: [event('b', 1, { id: 'n' })] }, isPendingChanged); // a confirmed 1
        await refusedUnchanged(store, ACTORS, { pending: [event('d', 2, { id: 'n' }), event('d', 2, { id: 'm' })] }, isPendingChanged);
        await refusedUnchanged(
          store,
          ACTORS,
          { dropped: [{ actorId: 'a', version: 4 }], confirmed: [local[0], remoteEvent('b', 2)], pending: [event('b', 2, { id: 'n' })] },
          isPendingChanged,
        );
      });
    });

    describe('StorageError and ValidationError, and nothing stored', () => {
      test('another confirmed event at a version: the local store diverged from the remote', async (t) => {
        const { store } = await fresh(t);
        const { local } = await scenario(store);
        await refusedUnchanged(
          store,
          ACTORS,
          { dropped: [{ actorId: 'c', version: 1 }], confirmed: [local[0], remoteEvent('b', 1)], rejected: [{ event: local[2], reason: 'r' }], remotePosition: 9 },
          (error) => isStorageError(error) && /diverged/.test(error.message),
        );
      });

      test('invalid events: the core refuses them', async (t) => {
        const { store } = await fresh(t);
        const { local } = await scenario(store);
        const valid = { dropped: [{ actorId: 'c', version: 1 }], confirmed: [local[0]], remotePosition: 9 };
        await refusedUnchanged(store, ACTORS, { ...valid, pending: [{ actorId: 'z', version: 1, id: 'z1' }] }, ValidationError);
        await refusedUnchanged(store, ACTORS, { ...valid, confirmed: [local[0], { ...remoteEvent('d', 1), version: 0 }] }, ValidationError);
      });
    });
  });

  describe(`${kind.label}: sync ledger at scale`, { skip }, () => {
    test('10,000 pending events confirmed in chunks of 100', async (t) => {
      const { store } = await fresh(t);
      await ledgerOf(store).syncStart();
      const local = [];
      for (let i = 0; i < 100; i++) {
        // 100 saves of 100 events, over 10 actors interleaved.
        const batch = Array.from({ length: 100 }, (_, j) => {
          const n = i * 100 + j;
          return event(`actor-${n % 10}`, Math.floor(n / 10) + 1);
        });
        local.push(...(await store.saveEvents(batch)));
      }
      assert.equal((await pending(store)).length, 10_000);
      let pendingCalls = 0;
      ledgerOf(store).onPending = () => pendingCalls++;
      for (let i = 0; i < 10_000; i += 100) await commit(store, { confirmed: local.slice(i, i + 100), remotePosition: i + 100 });
      assert.equal(pendingCalls, 100);
      assert.deepEqual(await pending(store), []);
      const all = await store.readAll({ limit: 20_000 });
      assert.deepEqual(
        all.map((r) => r.position),
        Array.from({ length: 10_000 }, (_, i) => i + 1),
      );
      assert.deepEqual(
        all.map((r) => r.event),
        local,
      );
      assert.deepEqual(await syncState(store), { remotePosition: 10_000 });
    });
  });

  describe(`${kind.label}: durability of the ledger`, { skip: skip || (!kind.durable && 'not a durable kind of store') }, () => {
    test('reopened, the store is still synced with its pending, confirmed and rejected events and remote position', async () => {
      const world = kind.world();
      let store = await world.open();
      const { confirmed, local } = await scenario(store);
      const r = remoteEvent('d', 1);
      await commit(store, { confirmed: [local[0], r], dropped: [{ actorId: 'c', version: 1 }], rejected: [{ event: local[2], reason: 'gone' }], remotePosition: 5 });
      const before = await everything(store, ACTORS);
      await store.close();
      store = await world.open();
      try {
        assert.deepEqual(await everything(store, ACTORS), before);
        assert.deepEqual(await store.readAll(), [...confirmed, local[0], r].map((e, i) => ({ position: i + 1, event: e })));
        assert.deepEqual(await pending(store), [local[1]]);
        const a5 = await store.saveEvent(event('a', 5));
        assert.equal(await store.lastPosition(), 5, 'a save after reopening is pending too');
        assert.deepEqual(await pending(store), [local[1], a5]);
        assert.deepEqual(await store.saveEvent(local[1]), local[1], 'a retry of a pending event, after reopening');
      } finally {
        await store.close();
      }
    });
  });

  describe(`${kind.label}: two instances on one database`, { skip: skip || (!kind.shared && 'one instance per store') }, () => {
    /** Two stores open on one fresh database, closed after the test. */
    async function twoInstances(t) {
      const world = kind.world();
      const stores = [await world.open(), await world.open()];
      t.after(() => Promise.all(stores.map((store) => store.close())));
      return stores;
    }

    test('a save in one instance after syncStart in the other is pending; the mark is seen by both', async (t) => {
      const [left, right] = await twoInstances(t);
      assert.equal(ledgerOf(left).syncKey, ledgerOf(right).syncKey, 'one database, one key');
      const other = await kind.world().open();
      assert.notEqual(ledgerOf(other).syncKey, ledgerOf(left).syncKey);
      await other.close();
      await right.saveEvent(event('a', 1)); // before: confirmed, and this instance saw no mark
      await ledgerOf(left).syncStart();
      const a2 = await right.saveEvent(event('a', 2));
      assert.equal(await right.lastPosition(), 1);
      assert.deepEqual(await pending(left), [a2]);

      assert.deepEqual(await syncState(right), { remotePosition: 0 });
      await assert.rejects(left.saveEvent(event('a', 2)), (error) => error instanceof VersionConflictError && error.currentVersion === 2);
      assert.deepEqual(await left.saveEvent(a2), a2, 'a retry of the other instance\'s pending event');
    });

    test('a batch in one instance after syncStart in the other is pending too', async (t) => {
      const world = kind.world();
      const [left, right] = [await world.open(), await world.open()];
      t.after(() => Promise.all([left.close(), right.close()]));
      await right.saveEvents([event('a', 1), event('b', 1)]); // before: confirmed, and this instance saw no mark
      await ledgerOf(left).syncStart();
      const batch = await right.saveEvents([event('a', 2), event('c', 1)]);
      assert.equal(await right.lastPosition(), 2);
      assert.deepEqual(await pending(left), batch);
    });

    test('onPending is heard across instances: saves and syncCommits of the other', async (t) => {
      const [left, right] = await twoInstances(t);
      await ledgerOf(left).syncStart();
      const heard = (store) =>
        new Promise((resolve) => {
          ledgerOf(store).onPending = () => {
            ledgerOf(store).onPending = null;
            resolve();
          };
        });
      let hearing = heard(left);
      const a1 = await right.saveEvent(event('a', 1));
      await hearing;
      hearing = heard(right);
      const notices = [];
      right.subscribe((notice) => notices.push(notice));
      await commit(left, { confirmed: [a1] });
      await hearing;
      for (let i = 0; i < 50 && notices.length === 0; i++) await settle();
      assert.deepEqual(notices.map((n) => [n.position, n.event]), [[1, a1]], 'the other instance\'s subscribers hear the confirmed event');
      hearing = heard(left);
      await commit(right, { rejected: [{ event: a1, reason: 'r' }] });
      await hearing;
    });

    test('a syncCommit prepared before the other instance changed the pending events is refused', async (t) => {
      const [left, right] = await twoInstances(t);
      await ledgerOf(left).syncStart();
      const a1 = await left.saveEvent(event('a', 1));
      const seen = await pending(left); // what the engine read
      await ledgerOf(right).syncCommit({ confirmed: '[]', dropped: [{ actorId: 'a', version: 1 }], pending: '[]', rejected: '[]' });
      await right.saveEvent(event('a', 1, { id: 'another' }));
      assert.deepEqual(seen, [a1]);
      await refusedUnchanged(left, ['a'], { confirmed: seen }, isPendingChanged);
    });
  });
});
