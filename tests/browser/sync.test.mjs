// aether-eventstore/sync in headless Chromium against a real nats-server
// (JetStream, WebSocket on loopback): two devices (two browser contexts, each
// its own IndexedDB) apart and back together; two tabs of one device (one
// syncer at a time, take-over when it closes); a Service Worker that syncs
// what a page saves. The page is tests/browser/sync-page.js, built with Vite.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isDeepStrictEqual } from 'node:util';
import { build } from 'vite';
import { startNats } from '../nats/server.mjs';
import { collectPageErrors, consumerDir, launchChromium, serveDirectory } from './harness.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const consumerRequire = createRequire(join(consumerDir(), 'package.json'));
const { openJetStream } = consumerRequire('aether-eventstore/jetstream');

/** Each wait for the browser is bounded; none of them is an assertion on time. */
const WAIT = { timeout: 60_000 };

let nats;
let browser;
let site;

before(async () => {
  nats = await startNats();
  const root = join(consumerDir(), 'sync-app');
  const outDir = join(root, 'dist');
  mkdirSync(root, { recursive: true });
  copyFileSync(join(here, 'sync-page.js'), join(root, 'main.js'));
  copyFileSync(join(here, 'sync-sw.js'), join(root, 'sw.js'));
  writeFileSync(join(root, 'index.html'), '<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,"><script type="module" src="./main.js"></script>\n');
  await build({ root, logLevel: 'warn', configFile: false, build: { outDir } });
  // The Service Worker: one file at the root (its scope), the package's dynamic imports inlined.
  await build({
    root,
    logLevel: 'warn',
    configFile: false,
    build: { outDir, emptyOutDir: false, rollupOptions: { input: join(root, 'sw.js'), output: { entryFileNames: 'sw.js', codeSplitting: false } } },
  });
  site = await serveDirectory(outDir);
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await site?.close();
  await nats?.close();
});

/** A page of `context` on the app, syncing `database` with the stream `names`. */
async function openDevice(context, { database, names, decisions }) {
  const page = await context.newPage();
  page.errors = collectPageErrors(page);
  await page.goto(`${site.url}/`);
  await page.waitForFunction(() => window.ready === true);
  await page.evaluate((options) => window.app.start(options), { database, servers: nats.wsUrl, names, decisions });
  return page;
}

const streamNames = (name) => ({ stream: `SYNC_${name}`, subjectPrefix: `sync.${name.toLowerCase()}`, snapshotBucket: `SYNC_${name}_SNAPSHOTS` });

/** Every event the server holds on the stream, in position order, read by Node.js over TCP. */
async function serverEvents(names) {
  const store = await openJetStream({ servers: nats.url, ...names });
  try {
    return (await store.readAll({ limit: 100_000 })).map((recorded) => recorded.event);
  } finally {
    await store.close();
  }
}

/** Events by actor, each actor's in the order given (readAll's order is each actor's version order). */
function byActor(events) {
  const actors = {};
  for (const event of events) (actors[event.actorId] ??= []).push(event);
  return actors;
}

const report = (page) => page.evaluate(() => window.app.report());
const flushed = (page) => page.evaluate(() => window.app.sync.flushed());
const append = (page, actors, data) => page.evaluate(([actors, data]) => window.app.append(actors, data), [actors, data]);
const waitForStatus = (page, status) => page.waitForFunction((status) => window.app.sync.status === status, status, WAIT);

/** Reads `read()` again until it deep-equals `expected` (within WAIT), then asserts that it does. */
async function eventually(read, expected, message) {
  const deadline = Date.now() + WAIT.timeout;
  let value = await read();
  while (!isDeepStrictEqual(value, expected) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    value = await read();
  }
  assert.deepEqual(value, expected, message);
}

/**
 * What a page logged as an error, without what the network outage makes
 * Chromium log (a WebSocket refused while offline) and nats-server's
 * WebSocket close frame that Chromium calls broken.
 */
const unexpectedErrors = (page) => page.errors.filter((error) => !/ERR_INTERNET_DISCONNECTED|broken close frame/.test(error));

test('chromium: two devices apart (one offline) write the same actors and others; back together, both converge on the server', { timeout: 180_000 }, async () => {
  const names = streamNames('DEVICES');
  // On device B a conflict on `list` is rebased, on `notes` discarded, on `cart` decided again (replaced).
  const decisions = { list: 'rebase', notes: 'discard', cart: 'replace' };
  const contextA = await browser.newContext();
  const contextB = await browser.newContext();
  const a = await openDevice(contextA, { database: 'device', names, decisions });
  const b = await openDevice(contextB, { database: 'device', names, decisions });
  await Promise.all([waitForStatus(a, 'online'), waitForStatus(b, 'online')]);

  // Together: A writes, both flush; B holds A's events as confirmed.
  const shared = ['list', 'notes', 'cart'];
  await append(a, shared, { by: 'A', together: true });
  await append(a, ['list'], { by: 'A', together: true });
  await flushed(a);
  await flushed(b);
  const together = (await report(a)).confirmed;
  assert.equal(together.length, 4);
  assert.deepEqual((await report(b)).confirmed, together, 'B pulled what A wrote');

  // Apart. In this Chromium, context.setOffline(true) does cut B's established
  // WebSocket, though it does not close it: no frame goes either way (the
  // server sees nothing of B, B's requests time out) and new connections fail
  // with ERR_INTERNET_DISCONNECTED; the held frames flow once B is back
  // online, as after a network outage. A stays online throughout.
  await contextB.setOffline(true);
  const fromB = [
    ...(await append(b, ['list', 'list', 'list', 'notes', 'cart', 'cart'], { by: 'B', apart: true })),
    ...(await append(b, ['b-diary', 'b-diary'], { by: 'B', apart: true })),
  ];
  await waitForStatus(b, 'offline');
  const fromA = [
    ...(await append(a, ['list', 'list', 'notes', 'cart'], { by: 'A', apart: true })),
    ...(await append(a, ['a-diary', 'a-diary', 'a-diary'], { by: 'A', apart: true })),
  ];
  await flushed(a);
  const apart = await report(b);
  assert.deepEqual(
    apart.pending.map((event) => event.id),
    fromB.map((event) => event.id),
    'offline, B\'s saves are pending, in local order',
  );
  assert.deepEqual(apart.confirmed, together, 'and B\'s confirmed events are those it had before');
  assert.equal((await serverEvents(names)).filter((event) => event.data.by === 'B').length, 0, 'the server got nothing from B');

  // Together again.
  await contextB.setOffline(false);
  await flushed(b);
  await flushed(a);
  await flushed(b);
  // flushed() may resolve as the round's last commit lands, a moment before the round reports its status.
  await waitForStatus(b, 'online');

  const server = await serverEvents(names);
  const [ofA, ofB] = [await report(a), await report(b)];
  for (const [device, state] of [['A', ofA], ['B', ofB]]) {
    assert.deepEqual(state.pending, [], `${device}: nothing pending`);
    assert.deepEqual(byActor(state.confirmed), byActor(server), `${device}: its confirmed events are the server's, event for event`);
    const read = await (device === 'A' ? a : b).evaluate((actors) => Promise.all(actors.map((actorId) => window.app.store.getEvents(actorId))), Object.keys(byActor(server)));
    assert.deepEqual(read.flat(), Object.values(byActor(server)).flat(), `${device}: its reads show the same`);
  }
  assert.equal(new Set(server.map((event) => event.id)).size, server.length, 'no id twice on the server');
  for (const [device, state] of [['A', ofA], ['B', ofB]]) {
    const rejected = new Set(state.rejections.map((rejection) => rejection.event.id));
    for (const saved of state.saved) {
      const confirmed = server.filter((event) => event.id === saved.id);
      assert.ok(
        (confirmed.length === 1) !== rejected.has(saved.id) && confirmed.length <= 1,
        `${device}: ${saved.id} (${saved.actorId} v${saved.version}) is confirmed once (${confirmed.length}) or rejected (${rejected.has(saved.id)}), not both`,
      );
      if (confirmed.length === 1) {
        // The same event, save for the version of one that a conflict rebased (checked below).
        const { version: _version, timestamp, ...kept } = confirmed[0];
        const { version: _given, timestamp: givenTimestamp, ...given } = saved;
        assert.deepEqual(kept, given, `${device}: ${saved.id} is confirmed as it was saved`);
        if (givenTimestamp) assert.equal(timestamp, givenTimestamp, `${device}: ${saved.id} kept its timestamp`);
      }
    }
  }

  // What each answer made of B's events: list rebased after A's, notes dropped, cart decided again.
  const idsOf = (events) => events.map((event) => event.id);
  const onServer = byActor(server);
  const [bList, bNotes, bCart] = [fromB.slice(0, 3), fromB.slice(3, 4), fromB.slice(4, 6)];
  const [aList, aNotes, aCart] = [fromA.slice(0, 2), fromA.slice(2, 3), fromA.slice(3, 4)];
  assert.deepEqual(ofA.conflicts, [], 'A, always online, met no conflict');
  assert.deepEqual(
    ofB.conflicts.map(({ actorId, answer, pending, remote }) => ({ actorId, answer, pending, remote })).sort((x, y) => x.actorId.localeCompare(y.actorId)),
    [
      { actorId: 'cart', answer: 'replace', pending: idsOf(bCart), remote: idsOf(aCart) },
      { actorId: 'list', answer: 'rebase', pending: idsOf(bList), remote: idsOf(aList) },
      { actorId: 'notes', answer: 'discard', pending: idsOf(bNotes), remote: idsOf(aNotes) },
    ],
    'B met one conflict per shared actor, with the events that lost their versions and those that took them',
  );
  assert.deepEqual(onServer.list.map((event) => [event.id, event.version]), [
    ...onServer.list.slice(0, 2).map((event) => [event.id, event.version]),
    ...aList.map((event) => [event.id, event.version]),
    ...bList.map((event, i) => [event.id, aList.at(-1).version + 1 + i]),
  ], 'list: B\'s events rebased after A\'s, same ids');
  assert.deepEqual(idsOf(onServer.notes).slice(-1), idsOf(aNotes), 'notes: B\'s event discarded');
  assert.deepEqual(idsOf(onServer.cart).slice(-3), [...idsOf(aCart), ...bCart.map((event) => `${event.id}-again`)], 'cart: B\'s events replaced');
  assert.deepEqual(
    ofB.rejections.map((rejection) => [rejection.event.id, rejection.reason]),
    [...bNotes.map((event) => [event.id, 'conflict: discarded (onConflict answered "discard")']), ...bCart.map((event) => [event.id, 'conflict: replaced by the events onConflict returned'])],
    'B\'s rejected() holds what the conflicts took out, with the reasons',
  );
  assert.deepEqual(ofA.rejections, []);
  assert.ok(ofB.statuses.includes('offline') && ofB.statuses.at(-1) === 'online', `B went offline and came back: ${ofB.statuses.join(' → ')}`);

  console.log(
    `# two devices: apart, A wrote ${fromA.length} events (${aList.length} list, ${aNotes.length} notes, ${aCart.length} cart, 3 a-diary), ` +
      `B wrote ${fromB.length} offline (${bList.length} list, ${bNotes.length} notes, ${bCart.length} cart, 2 b-diary); ` +
      `conflicts on B: ${ofB.conflicts.map((c) => `${c.actorId} ${c.answer} (${c.pending.length} pending vs ${c.remote.length} remote)`).join(', ')}; ` +
      `final: server ${server.length} events, A ${ofA.confirmed.length} confirmed, B ${ofB.confirmed.length} confirmed, B rejected ${ofB.rejections.length}; ` +
      `B's statuses: ${ofB.statuses.join(' → ')}`,
  );
  for (const page of [a, b]) assert.deepEqual(unexpectedErrors(page), []);
  await Promise.all([a.evaluate(() => window.app.sync.stop()), b.evaluate(() => window.app.sync.stop())]);
  await Promise.all([contextA.close(), contextB.close()]);
});

test('chromium: two tabs of one device sync one at a time; both tabs\' saves are pushed; the other takes over when the syncing tab closes', { timeout: 120_000 }, async () => {
  const names = streamNames('TABS');
  const context = await browser.newContext();
  const first = await openDevice(context, { database: 'tabs', names });
  await waitForStatus(first, 'online');
  const second = await openDevice(context, { database: 'tabs', names });
  // The second tab never connects, yet shows the status of the one that syncs.
  await waitForStatus(second, 'online');
  const syncLocks = () =>
    second.evaluate(async () => {
      const ours = (lock) => lock.name.startsWith('aether-eventstore-sync:');
      const { held, pending } = await navigator.locks.query();
      return { held: held.filter(ours).length, waiting: pending.filter(ours).length };
    });
  // The second tab asks for the lock once it has checked the database's sync mark: soon, not at once.
  await eventually(syncLocks, { held: 1, waiting: 1 }, 'one tab holds the database\'s sync lock, the other waits for it');

  const saved = [
    ...(await append(first, ['tab-log'], { tab: 1 })),
    ...(await append(second, ['tab-log', 'second-tab'], { tab: 2 })),
    ...(await append(first, ['tab-log'], { tab: 1 })),
  ];
  assert.deepEqual(saved.map((event) => [event.actorId, event.version]), [['tab-log', 1], ['tab-log', 2], ['second-tab', 1], ['tab-log', 3]], 'each tab saves after the other\'s events');
  await flushed(second); // answered through the one that syncs
  await flushed(first);
  assert.deepEqual(byActor(await serverEvents(names)), byActor(saved), 'the server holds both tabs\' saves, as saved');
  const before = [await report(first), await report(second)];
  assert.deepEqual(before.map((state) => state.connects), [1, 0], 'only the first tab ever connected to the server');
  assert.deepEqual(before[1].statuses, ['online'], 'the second tab\'s status mirrored the first\'s');
  for (const state of before) assert.deepEqual(byActor(state.confirmed), byActor(saved));

  // The syncing tab closes: the browser releases its lock, and the second tab takes over.
  assert.deepEqual(first.errors, []);
  await first.close();
  await second.waitForFunction(() => window.app.connects === 1, null, WAIT);
  assert.deepEqual(await syncLocks(), { held: 1, waiting: 0 });
  const later = await append(second, ['tab-log', 'second-tab'], { tab: 2, after: 'take-over' });
  await flushed(second);
  const server = await serverEvents(names);
  assert.deepEqual(byActor(server), byActor([...saved, ...later]), 'what the second tab saved after the take-over is pushed');
  const after = await report(second);
  assert.deepEqual(byActor(after.confirmed), byActor(server));
  assert.deepEqual(after.pending, []);
  assert.equal(after.status, 'online');
  console.log(`# two tabs: ${saved.length} events saved in both tabs pushed by the first; after it closed, the second took over and pushed ${later.length}; server ${server.length} events`);
  assert.deepEqual(unexpectedErrors(second), []);
  await second.evaluate(() => window.app.sync.stop());
  await context.close();
});

test('chromium: a module Service Worker syncs the database with JetStream over WebSocket; a page\'s save is pushed', { timeout: 120_000 }, async () => {
  const names = streamNames('WORKER');
  const context = await browser.newContext();
  const page = await context.newPage();
  page.errors = collectPageErrors(page);
  await page.goto(`${site.url}/`);
  await page.waitForFunction(() => window.ready === true);
  const started = await page.evaluate(async (message) => {
    const registration = await navigator.serviceWorker.register('/sw.js', { type: 'module' });
    const worker = registration.installing ?? registration.waiting ?? registration.active;
    if (worker.state !== 'activated') {
      await new Promise((resolve) => worker.addEventListener('statechange', () => worker.state === 'activated' && resolve()));
    }
    window.askWorker = (data) => {
      const channel = new MessageChannel();
      const reply = new Promise((resolve) => {
        channel.port1.onmessage = ({ data }) => resolve(data);
      });
      worker.postMessage(data, [channel.port2]);
      return reply;
    };
    return window.askWorker(message);
  }, { command: 'start', database: 'worker', servers: nats.wsUrl, names });
  assert.equal(started.failed, undefined, started.failed);

  // The page saves on the database the worker syncs (marked synced: the save is pending).
  const saved = await page.evaluate(async () => {
    await window.app.open('worker');
    return window.app.append(['from-page', 'from-page']);
  });
  const done = await page.evaluate(() => window.askWorker({ command: 'flushed' }));
  assert.equal(done.failed, undefined, done.failed);
  assert.deepEqual(done, { pending: [], connects: 1 });
  assert.deepEqual(await serverEvents(names), saved, 'the worker pushed the page\'s saves');
  const confirmed = await page.evaluate(async () => (await window.app.store.readAll()).map((recorded) => recorded.event));
  assert.deepEqual(confirmed, saved, 'and the page reads them as confirmed');
  console.log(`# service worker: pushed the page's ${saved.length} events`);
  assert.deepEqual(unexpectedErrors(page), []);
  await context.close();
});
