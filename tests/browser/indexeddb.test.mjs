// The IndexedDB store in real headless Chromium: two pages of one browser
// context share an origin, hence a database, as two tabs do.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { collectPageErrors, consumerDir, launchChromium, serveDirectory } from './harness.mjs';

let browser;
let server;
let context;
let databases = 0;

before(async () => {
  const root = join(consumerDir(), 'idb-page');
  mkdirSync(root, { recursive: true });
  writeFileSync(
    join(root, 'index.html'),
    `<!doctype html>
<meta charset="utf-8">
<link rel="icon" href="data:,">
<title>aether-eventstore IndexedDB test page</title>
<script type="importmap">{ "imports": { "aether-eventstore": "/node_modules/aether-eventstore/index.js" } }</script>
<script type="module">
  import * as aether from 'aether-eventstore';
  window.aether = aether;
</script>
`,
  );
  server = await serveDirectory(consumerDir());
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await server?.close();
});

/** A fresh browser context (its own origin storage) with `count` pages on the test page. */
async function openTabs(count) {
  context = await browser.newContext();
  const pages = [];
  for (let i = 0; i < count; i++) {
    const page = await context.newPage();
    page.errors = collectPageErrors(page);
    await page.goto(`${server.url}/idb-page/`);
    await page.waitForFunction(() => window.aether !== undefined);
    pages.push(page);
  }
  return pages;
}

async function closeTabs(pages) {
  for (const page of pages) assert.deepEqual(page.errors, [], 'the page logged no errors');
  await context.close();
}

const databaseName = () => `browser-db-${++databases}`;

test('chromium: events and snapshots persist across a reload', async () => {
  const [page] = await openTabs(1);
  const name = databaseName();
  const saved = await page.evaluate(async (name) => {
    const store = await window.aether.EventStore.openIndexedDb(name);
    const events = await store.saveEvents([
      { eventType: 'Added', actorId: 'list', version: 1, data: { item: 'milk' } },
      { eventType: 'Added', actorId: 'list', version: 2, data: { item: 'eggs' } },
    ]);
    await store.saveSnapshot({ actorId: 'list', version: 2, state: { items: ['milk', 'eggs'] } });
    await store.close();
    return events;
  }, name);
  await page.reload();
  await page.waitForFunction(() => window.aether !== undefined);
  const read = await page.evaluate(async (name) => {
    const store = await window.aether.EventStore.openIndexedDb(name);
    const result = { events: await store.getEvents('list'), snapshot: await store.getLatestSnapshot('list') };
    await store.close();
    return result;
  }, name);
  assert.deepEqual(read.events, saved);
  assert.deepEqual(read.snapshot.state, { items: ['milk', 'eggs'] });
  await closeTabs([page]);
});

test('chromium: two tabs racing for the same versions: exactly one wins each of 200', async () => {
  const pages = await openTabs(2);
  const name = databaseName();
  const rounds = 200;
  const race = (page, tab) =>
    page.evaluate(
      async ({ name, tab, rounds }) => {
        const { EventStore, isVersionConflict } = window.aether;
        const store = await EventStore.openIndexedDb(name);
        const won = [];
        const conflicts = [];
        // Each tab claims the next version; a loser moves on past the version it lost to.
        let version = 1;
        while (version <= rounds) {
          try {
            await store.saveEvent({ eventType: 'Claimed', actorId: 'race', version, data: { tab } });
            won.push(version);
            version += 1;
          } catch (error) {
            if (!isVersionConflict(error)) throw error;
            conflicts.push([version, error.currentVersion]);
            version = error.currentVersion + 1;
          }
        }
        await store.close();
        return { won, conflicts };
      },
      { name, tab, rounds },
    );
  const [left, right] = await Promise.all([race(pages[0], 'left'), race(pages[1], 'right')]);
  const winners = [...left.won, ...right.won].sort((a, b) => a - b);
  assert.deepEqual(winners, Array.from({ length: rounds }, (_, i) => i + 1), 'each version won exactly once');
  const conflicts = [...left.conflicts, ...right.conflicts];
  for (const [attempted, current] of conflicts) assert.ok(current >= attempted);
  assert.ok(conflicts.length > 0, 'the tabs did race');
  const stored = await pages[0].evaluate(async (name) => {
    const store = await window.aether.EventStore.openIndexedDb(name);
    const events = await store.getEvents('race');
    await store.close();
    return events.map((e) => [e.version, e.data.tab]);
  }, name);
  const byVersion = new Map(stored);
  assert.equal(stored.length, rounds);
  for (const version of left.won) assert.equal(byVersion.get(version), 'left');
  for (const version of right.won) assert.equal(byVersion.get(version), 'right');
  console.log(`# race: left won ${left.won.length}, right won ${right.won.length} of ${rounds}, ${conflicts.length} conflicts`);
  await closeTabs(pages);
});

test('chromium: two tabs racing with gaps between versions: every stored version above all before it', async () => {
  const pages = await openTabs(2);
  const name = databaseName();
  const race = (page, tab) =>
    page.evaluate(
      async ({ name, tab }) => {
        const { EventStore, isVersionConflict } = window.aether;
        const store = await EventStore.openIndexedDb(name);
        const won = [];
        let conflicts = 0;
        // Versions may skip: each save claims one to three versions past the last it knows of.
        let version = 1;
        for (let attempt = 0; attempt < 150; attempt++) {
          try {
            await store.saveEvent({ eventType: 'Claimed', actorId: 'race', version, data: { tab } });
            won.push(version);
            version += 1 + Math.floor(Math.random() * 3);
          } catch (error) {
            if (!isVersionConflict(error)) throw error;
            if (!(error.currentVersion >= version)) throw new Error(`refused ${version} below the latest ${error.currentVersion}`);
            conflicts += 1;
            version = error.currentVersion + 1 + Math.floor(Math.random() * 3);
          }
        }
        await store.close();
        return { won, conflicts };
      },
      { name, tab },
    );
  const [left, right] = await Promise.all([race(pages[0], 'left'), race(pages[1], 'right')]);
  assert.ok(left.conflicts + right.conflicts > 0, 'the tabs did race');
  const stored = await pages[0].evaluate(async (name) => {
    const store = await window.aether.EventStore.openIndexedDb(name);
    const all = await store.readAll({ limit: 1000 });
    await store.close();
    return all.map(({ event }) => [event.version, event.data.tab]);
  }, name);
  // In commit order, each version is above every one committed before it: the version rule held in every transaction.
  assert.ok(stored.every(([version], i) => i === 0 || version > stored[i - 1][0]), JSON.stringify(stored));
  assert.deepEqual(stored.filter(([, tab]) => tab === 'left').map(([version]) => version), left.won);
  assert.deepEqual(stored.filter(([, tab]) => tab === 'right').map(([version]) => version), right.won);
  await closeTabs(pages);
});

test('chromium: a tab hears the events another tab commits, in order', async () => {
  const [writer, listener] = await openTabs(2);
  const name = databaseName();
  await listener.evaluate(async (name) => {
    window.heard = [];
    window.listenerStore = await window.aether.EventStore.openIndexedDb(name);
    window.listenerStore.subscribe((n) => window.heard.push([n.eventType, n.event.version, n.event.data.text]));
  }, name);
  await writer.evaluate(async (name) => {
    const store = await window.aether.EventStore.openIndexedDb(name);
    await store.saveEvent({ eventType: 'Said', actorId: 'chat', version: 1, data: { text: 'hello' } });
    await store.saveEvents([
      { eventType: 'Said', actorId: 'chat', version: 2, data: { text: 'from' } },
      { eventType: 'Said', actorId: 'chat', version: 3, data: { text: 'the other tab' } },
    ]);
    await store.close();
  }, name);
  await listener.waitForFunction(() => window.heard.length >= 3, null, { timeout: 10_000 });
  const heard = await listener.evaluate(() => window.heard);
  assert.deepEqual(heard, [
    ['EventStored', 1, 'hello'],
    ['EventStored', 2, 'from'],
    ['EventStored', 3, 'the other tab'],
  ]);
  await listener.evaluate(() => window.listenerStore.close());
  await closeTabs([writer, listener]);
});

test('chromium: two writer tabs and a subscriber tab from the middle: every event once, in position order, matching readAll', async () => {
  const [left, right, reader] = await openTabs(3);
  const name = databaseName();
  const write = (page, actor, from, to) =>
    page.evaluate(
      async ({ name, actor, from, to }) => {
        const store = window.writer ?? (window.writer = await window.aether.EventStore.openIndexedDb(name));
        const saves = [];
        for (let version = from; version <= to; version += 2) {
          saves.push(store.saveEvents([
            { eventType: 'Wrote', actorId: actor, version, data: {} },
            { eventType: 'Wrote', actorId: actor, version: version + 1, data: {} },
          ]));
          if (saves.length % 20 === 0) await Promise.all(saves.splice(0)); // bursts, as a busy tab writes
        }
        await Promise.all(saves);
      },
      { name, actor, from, to },
    );
  await write(left, 'left', 1, 100);
  const middle = await reader.evaluate(async (name) => {
    window.store = await window.aether.EventStore.openIndexedDb(name);
    const middle = (await window.store.readAll({ limit: 50 })).at(-1).position;
    window.heard = [];
    window.store.subscribe((n) => window.heard.push(n.position), { after: middle });
    // The channel's messages as they arrive, to count those that come out of commit order.
    window.notices = [];
    new BroadcastChannel(`aether-eventstore:${name}`).onmessage = (message) => window.notices.push(message.data.committed);
    return middle;
  }, name);
  await Promise.all([write(left, 'left', 101, 3100), write(right, 'right', 1, 3000)]);
  const expected = await reader.evaluate(async (after) => (await window.store.readAll({ after, limit: 100_000 })).map((r) => r.position), middle);
  await reader.waitForFunction((count) => window.heard.length >= count, expected.length, { timeout: 30_000 });
  const { heard, notices } = await reader.evaluate(() => ({ heard: window.heard, notices: window.notices }));
  assert.equal(expected.length, 6050);
  assert.deepEqual(heard, expected);
  const inversions = notices.filter((position, i) => i > 0 && position < notices[i - 1]).length;
  console.log(`# chromium cross-tab: ${heard.length} events heard in position order; ${notices.length} channel messages, ${inversions} arrived out of commit order (the feed reads what is new, so none was delivered out of order)`);
  await Promise.all([left, right, reader].map((page) => page.evaluate(() => (window.writer ?? window.store).close())));
  await closeTabs([left, right, reader]);
});

test('chromium: 1000 concurrent saves are all committed and read back by another tab', async () => {
  const [writer, reader] = await openTabs(2);
  const name = databaseName();
  const outcome = await writer.evaluate(async (name) => {
    const store = await window.aether.EventStore.openIndexedDb(name);
    const saves = [];
    for (let i = 0; i < 1000; i++) {
      saves.push(store.saveEvent({ eventType: 'Counted', actorId: `counter-${i % 10}`, version: Math.floor(i / 10) + 1, data: { i } }));
    }
    const results = await Promise.allSettled(saves);
    await store.close();
    return results.filter((r) => r.status === 'fulfilled').length;
  }, name);
  assert.equal(outcome, 1000);
  const read = await reader.evaluate(async (name) => {
    const store = await window.aether.EventStore.openIndexedDb(name);
    const counts = [];
    for (let actor = 0; actor < 10; actor++) {
      const events = await store.getEvents(`counter-${actor}`);
      counts.push([events.length, await store.getLatestVersion(`counter-${actor}`)]);
    }
    await store.close();
    return counts;
  }, name);
  assert.deepEqual(read, Array(10).fill([100, 100]));
  await closeTabs([writer, reader]);
});

test('chromium: a tab closed in the middle of a burst leaves only whole committed batches', async () => {
  const [doomed, survivor] = await openTabs(2);
  const name = databaseName();
  await doomed.evaluate(async (name) => {
    const store = await window.aether.EventStore.openIndexedDb(name);
    window.committed = 0;
    // Not awaited: the burst goes on while the test closes the tab.
    (async () => {
      for (let batch = 0; batch < 400; batch++) {
        const events = Array.from({ length: 10 }, (_, i) => ({
          eventType: 'Part',
          actorId: `batch-${batch % 4}`,
          version: Math.floor(batch / 4) * 10 + i + 1,
          data: { batch, part: i },
        }));
        store.saveEvents(events).then(() => window.committed++, () => {});
        await new Promise((resolve) => setTimeout(resolve, 0));
      }
    })();
  }, name);
  await doomed.waitForFunction(() => window.committed >= 20, null, { timeout: 10_000, polling: 1 });
  await doomed.close();
  const read = await survivor.evaluate(async (name) => {
    const store = await window.aether.EventStore.openIndexedDb(name);
    const streams = [];
    for (let actor = 0; actor < 4; actor++) {
      const result = await store.getEventsWithErrors(`batch-${actor}`);
      streams.push({ events: result.events.map((e) => [e.version, e.data.batch, e.data.part]), errors: result.errors.length });
    }
    await store.close();
    return streams;
  }, name);
  let batches = 0;
  for (const { events, errors } of read) {
    assert.equal(errors, 0);
    assert.equal(events.length % 10, 0, 'only whole batches');
    events.forEach(([version, batch, part], i) => {
      assert.equal(version, i + 1, 'no gaps: batches commit in order');
      assert.equal(part, i % 10);
      assert.equal(batch, Math.floor(i / 10) * 4 + (batch % 4));
    });
    batches += events.length / 10;
  }
  console.log(`# burst: ${batches} of 400 batches were committed before the tab closed`);
  assert.ok(batches > 0);
  survivor.errors.length = 0;
  await closeTabs([survivor]);
});

test('chromium: another tab upgrading, then deleting, the database: the store steps aside and reports it', async () => {
  const [tab, other] = await openTabs(2);
  const name = databaseName();
  await tab.evaluate(async (name) => {
    window.store = await window.aether.EventStore.openIndexedDb(name);
    await window.store.saveEvent({ eventType: 'Added', actorId: 'list', version: 1, data: {} });
  }, name);
  // The other tab upgrades the layout; the store must not block it.
  await other.evaluate(
    (name) =>
      new Promise((resolve, reject) => {
        const request = indexedDB.open(name, 5); // a layout after this code's (4)
        request.onsuccess = () => {
          request.result.close();
          resolve();
        };
        request.onerror = () => reject(request.error);
        request.onblocked = () => reject(new Error('the store blocked the upgrade'));
      }),
    name,
  );
  const afterUpgrade = await tab.evaluate(() =>
    window.store.getEvents('list').then(
      () => 'resolved',
      (error) => [error.name, error.cause?.name],
    ),
  );
  assert.deepEqual(afterUpgrade, ['StorageError', 'VersionError']);
  // Deleting the database is not blocked either, and the store then starts afresh.
  await other.evaluate(
    (name) =>
      new Promise((resolve, reject) => {
        const request = indexedDB.deleteDatabase(name);
        request.onsuccess = resolve;
        request.onerror = () => reject(request.error);
        request.onblocked = () => reject(new Error('the store blocked the deletion'));
      }),
    name,
  );
  const afterDelete = await tab.evaluate(async () => {
    const versions = [await window.store.getLatestVersion('list')];
    await window.store.saveEvent({ eventType: 'Added', actorId: 'list', version: 1, data: {} });
    versions.push(await window.store.getLatestVersion('list'));
    await window.store.close();
    return versions;
  });
  assert.deepEqual(afterDelete, [0, 1]);
  await closeTabs([tab, other]);
});

/**
 * Writes, in `page`, a database the way layout 1 or 2 did: its upgrade steps
 * (tests/consumer/indexeddb-old-layouts.mjs) and `records` (`{ sequenceNumber?, actorId, version, text }`,
 * `text` the event's bytes as a string) as its saves wrote them.
 */
function writeOldLayout(page, name, layout, records) {
  return page.evaluate(
    async ([name, layout, records]) => {
      const { createOldLayout } = await import('/indexeddb-old-layouts.mjs');
      const opening = indexedDB.open(name, layout);
      opening.onupgradeneeded = () => createOldLayout(opening.result, layout);
      const db = await new Promise((resolve, reject) => {
        opening.onsuccess = () => resolve(opening.result);
        opening.onerror = () => reject(opening.error);
      });
      const tx = db.transaction('events', 'readwrite');
      for (const { text, ...record } of records) tx.objectStore('events').add({ ...record, event: new TextEncoder().encode(text) });
      await new Promise((resolve) => (tx.oncomplete = resolve));
      db.close();
    },
    [name, layout, records],
  );
}

test('chromium: layout 4 over a layout 1 database: a pending save, read back by both tabs, confirmed by syncCommit', async () => {
  const [tab, other] = await openTabs(2);
  const name = databaseName();
  // A database as layout 1 wrote it (its upgrade step and one record), held open by the other tab's store.
  const confirmed = { id: 'e1', eventType: 'Added', actorId: 'list', version: 1, data: { item: 'milk' }, timestamp: '2026-02-03T04:05:06.789Z' };
  await writeOldLayout(tab, name, 1, [{ actorId: 'list', version: 1, text: JSON.stringify(confirmed) }]);
  await other.evaluate(async (name) => {
    window.store = await window.aether.EventStore.openIndexedDb(name);
  }, name);
  const saved = await tab.evaluate(async (name) => {
    const { EventStore } = window.aether;
    const store = await EventStore.openIndexedDb(name);
    window.store = store;
    await EventStore[Symbol.for('aether-eventstore.internals')].backendOf(store).syncStart();
    return store.saveEvent({ eventType: 'Added', actorId: 'list', version: 2, data: { item: 'eggs' } });
  }, name);
  // The other tab's store opened before the mark was written: its save is pending too.
  const read = await other.evaluate(async () => {
    const { store } = window;
    const ledger = window.aether.EventStore[Symbol.for('aether-eventstore.internals')].backendOf(store);
    let heard = false;
    ledger.onPending = () => (heard = true); // called as the save's commit settles it
    const mine = await store.saveEvent({ eventType: 'Added', actorId: 'list', version: 3, data: { item: 'tea' } });
    return {
      mine,
      events: await store.getEvents('list'),
      pending: JSON.parse(await ledger.pendingEvents()),
      lastPosition: await store.lastPosition(),
      heard,
    };
  });
  assert.deepEqual(read.events, [confirmed, saved, read.mine]);
  assert.deepEqual(read.pending, [saved, read.mine]);
  assert.equal(read.lastPosition, 1);
  assert.equal(read.heard, true, 'onPending heard the save');
  const afterCommit = await tab.evaluate(async (pending) => {
    const { store } = window;
    const ledger = window.aether.EventStore[Symbol.for('aether-eventstore.internals')].backendOf(store);
    await ledger.syncCommit({ confirmed: JSON.stringify(pending), dropped: [], pending: '[]', rejected: '[]', remotePosition: 3 });
    return { pending: JSON.parse(await ledger.pendingEvents()), state: await ledger.syncState() };
  }, [saved, read.mine]);
  assert.deepEqual(afterCommit, { pending: [], state: { remotePosition: 3 } });
  const all = await other.evaluate(async () => {
    const all = await window.store.readAll();
    await window.store.close();
    return all;
  });
  assert.deepEqual(all, [confirmed, saved, read.mine].map((event, i) => ({ position: i + 1, event })));
  await tab.evaluate(() => window.store.close());
  await closeTabs([tab, other]);
});

test('chromium: layout 4 over a layout 2 database: positions, ids and damage kept; two tabs then save in commit order', async () => {
  const [tab, other] = await openTabs(2);
  const name = databaseName();
  // A database as layout 2 wrote it (its upgrade steps and records), positions 1, 2 and 5, a damaged record at 6.
  const stamp = '2026-02-03T04:05:06.789Z';
  const written = [
    [1, { id: 'e1', eventType: 'Added', actorId: 'list', version: 1, data: { item: 'milk' }, timestamp: stamp }],
    [2, { id: 'e2', eventType: 'Added', actorId: 'other', version: 1, data: {}, timestamp: stamp }],
    [5, { id: 'e3', eventType: 'Added', actorId: 'list', version: 2, data: { item: 'eggs' }, timestamp: stamp }],
  ];
  await writeOldLayout(tab, name, 2, [
    ...written.map(([sequenceNumber, event]) => ({ sequenceNumber, actorId: event.actorId, version: event.version, text: JSON.stringify(event) })),
    { sequenceNumber: 6, actorId: 'other', version: 2, text: '{"half' },
  ]);
  const opened = await tab.evaluate(async (name) => {
    window.store = await window.aether.EventStore.openIndexedDb(name);
    const damaged = await window.store.getEventsWithErrors('other');
    return {
      all: await window.store.readAll(),
      list: await window.store.getEvents('list'),
      other: damaged.events,
      errors: damaged.errors.map((error) => error.sequenceNumber),
      latest: await window.store.getLatestVersion('other'),
    };
  }, name);
  assert.deepEqual(opened, {
    all: written.map(([position, event]) => ({ position, event })),
    list: [written[0][1], written[2][1]],
    other: [written[1][1]],
    errors: [6],
    latest: 2,
  });
  await other.evaluate(async (name) => {
    window.store = await window.aether.EventStore.openIndexedDb(name);
  }, name);
  // Both tabs save at once, one by one and in batches: every position once, above the migrated ones, in commit order.
  const saves = (tab, actorId) =>
    tab.evaluate(async (actorId) => {
      const saves = [];
      for (let version = 1; version <= 60; version += 3) {
        saves.push(window.store.saveEvent({ eventType: 'Counted', actorId, version, data: {} }));
        saves.push(window.store.saveEvents([1, 2].map((i) => ({ eventType: 'Counted', actorId, version: version + i, data: {} }))));
      }
      await Promise.all(saves);
    }, actorId);
  await Promise.all([saves(tab, 'left'), saves(other, 'right')]);
  const after = await other.evaluate(async () => {
    const all = await window.store.readAll({ after: 5 });
    const ends = [await window.store.getEvents('left'), await window.store.getEvents('right')].map((events) => events.length);
    await window.store.close();
    return { positions: all.map((entry) => entry.position), order: all.map((entry) => [entry.event.actorId, entry.event.version]), ends };
  });
  assert.equal(after.positions.length, 120);
  assert.ok(after.positions[0] > 6, 'new positions come after the migrated ones');
  assert.ok(after.positions.every((position, i) => i === 0 || position > after.positions[i - 1]), 'strictly increasing');
  for (const actorId of ['left', 'right']) {
    const versions = after.order.filter(([actor]) => actor === actorId).map(([, version]) => version);
    assert.deepEqual(versions, Array.from({ length: 60 }, (_, i) => i + 1), `${actorId}: in version order`);
  }
  assert.deepEqual(after.ends, [60, 60]);
  await tab.evaluate(() => window.store.close());
  await closeTabs([tab, other]);
});

test('chromium: quota exceeded in the middle of a burst: whole saves only, StorageError with the DOMException', async () => {
  const [tab] = await openTabs(1);
  const outcome = await tab.evaluate(async (name) => {
    // A wrapping factory over the real one: after 2 records (a commit each), every add fails as a full disk would.
    let adds = 0;
    const bind = (target, overrides) =>
      new Proxy(target, {
        get(object, key) {
          if (key in overrides) return overrides[key];
          const value = Reflect.get(object, key, object);
          return typeof value === 'function' ? value.bind(object) : value;
        },
        set: (object, key, value) => Reflect.set(object, key, value, object),
      });
    const wrapStore = (store) =>
      bind(store, {
        add(...args) {
          if (++adds > 2) throw new DOMException('The quota has been exceeded.', 'QuotaExceededError');
          return store.add(...args);
        },
      });
    const wrapTransaction = (tx) => bind(tx, { objectStore: (storeName) => wrapStore(tx.objectStore(storeName)) });
    const wrapDatabase = (db) => bind(db, { transaction: (...args) => wrapTransaction(db.transaction(...args)) });
    const factory = bind(indexedDB, {
      open(...args) {
        const request = indexedDB.open(...args);
        return bind(request, {
          get result() {
            return wrapDatabase(request.result);
          },
        });
      },
    });
    const store = await window.aether.EventStore.openIndexedDb(name, { indexedDB: factory });
    const batches = [];
    for (let batch = 0; batch < 40; batch++) {
      const events = Array.from({ length: 10 }, (_, i) => ({ eventType: 'Part', actorId: 'burst', version: batch * 10 + i + 1, data: { batch } }));
      batches.push(store.saveEvents(events).then(() => 'stored', (error) => `${error.name}/${error.cause?.name}`));
      await new Promise((resolve) => setTimeout(resolve, 0));
    }
    const results = await Promise.all(batches);
    const versions = (await store.getEvents('burst')).map((event) => event.version);
    await store.close();
    return { results, versions };
  }, databaseName());
  const stored = outcome.results.filter((result) => result === 'stored').length;
  assert.ok(stored >= 1 && stored < 40, `${stored} batches stored`);
  assert.ok(outcome.results.slice(stored).every((result) => result === 'StorageError/QuotaExceededError'));
  assert.deepEqual(outcome.versions, Array.from({ length: stored * 10 }, (_, i) => i + 1), 'only whole batches are on disk');
  await closeTabs([tab]);
});
