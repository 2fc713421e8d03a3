// The installed package inside a module Service Worker and a module Web Worker
// in headless Chromium: the worker imports the package (no top-level await, no
// init() call), opens the IndexedDB store and saves; the page, on the same
// database, reads the event and hears its notification.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { collectPageErrors, consumerDir, launchChromium, serveDirectory } from './harness.mjs';

let browser;
let server;

/** What both workers run: on a message, open the database, save one event, reply with it. */
const workerScript = (kind) => `
import { EventStore, VersionConflictError } from '/node_modules/aether-eventstore/index.js';

async function save(database) {
  const store = await EventStore.openIndexedDb(database);
  const stored = await store.saveEvent({ eventType: 'SavedIn', actorId: 'worker-log', version: 1, data: { by: '${kind}' } });
  const conflict = await store.saveEvent({ eventType: 'SavedIn', actorId: 'worker-log', version: 1, data: {} }).catch((error) => error);
  await store.close();
  return { stored, conflictIsClass: conflict instanceof VersionConflictError };
}

${kind === 'service worker' ? 'self.onmessage' : 'onmessage'} = async ({ data, ports }) => {
  const reply = ports?.[0] ?? self;
  try {
    reply.postMessage(await save(data.database));
  } catch (error) {
    reply.postMessage({ failed: String(error?.stack ?? error) });
  }
};
`;

before(async () => {
  const root = join(consumerDir(), 'workers');
  mkdirSync(root, { recursive: true });
  writeFileSync(join(root, 'sw.js'), workerScript('service worker'));
  writeFileSync(join(root, 'worker.js'), workerScript('web worker'));
  writeFileSync(
    join(root, 'index.html'),
    `<!doctype html>
<meta charset="utf-8">
<link rel="icon" href="data:,">
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

/** Opens the test page with a store on `database` whose listener records what it hears. */
async function pageListeningTo(context, database) {
  const page = await context.newPage();
  page.errors = collectPageErrors(page);
  await page.goto(`${server.url}/workers/`);
  await page.waitForFunction(() => window.aether !== undefined);
  await page.evaluate(async (database) => {
    window.heard = [];
    window.store = await window.aether.EventStore.openIndexedDb(database);
    window.store.subscribe((n) => window.heard.push({ position: n.position, event: n.event }));
  }, database);
  return page;
}

async function expectSavedAndHeard(page, result, kind) {
  assert.equal(result.failed, undefined, result.failed);
  assert.equal(result.stored.data.by, kind);
  assert.equal(result.conflictIsClass, true, 'the error classes work inside the worker');
  await page.waitForFunction(() => window.heard.length > 0, null, { timeout: 10_000 });
  const { heard, read } = await page.evaluate(async () => ({ heard: window.heard, read: await window.store.getEvents('worker-log') }));
  assert.deepEqual(read, [result.stored], 'the page reads what the worker saved');
  assert.deepEqual(heard.map((n) => n.event), [result.stored], 'and hears its notification');
  console.log(`# ${kind}: saved ${result.stored.id}; the page read it and heard it at position ${heard[0].position}`);
  await page.evaluate(() => window.store.close());
  assert.deepEqual(page.errors, []);
}

test('chromium: a module Service Worker imports the package, opens the IndexedDB store and saves', async () => {
  const context = await browser.newContext();
  const page = await pageListeningTo(context, 'from-service-worker');
  const result = await page.evaluate(async () => {
    const registration = await navigator.serviceWorker.register('/workers/sw.js', { type: 'module', scope: '/workers/' });
    const worker = registration.installing ?? registration.waiting ?? registration.active;
    if (worker.state !== 'activated') {
      await new Promise((resolve) => worker.addEventListener('statechange', () => worker.state === 'activated' && resolve()));
    }
    const channel = new MessageChannel();
    const reply = new Promise((resolve) => {
      channel.port1.onmessage = ({ data }) => resolve(data);
    });
    worker.postMessage({ database: 'from-service-worker' }, [channel.port2]);
    return reply;
  });
  await expectSavedAndHeard(page, result, 'service worker');
  await context.close();
});

test('chromium: a module Web Worker imports the package, opens the IndexedDB store and saves', async () => {
  const context = await browser.newContext();
  const page = await pageListeningTo(context, 'from-web-worker');
  const result = await page.evaluate(async () => {
    const worker = new Worker('/workers/worker.js', { type: 'module' });
    const reply = new Promise((resolve, reject) => {
      worker.onmessage = ({ data }) => resolve(data);
      worker.onerror = (event) => reject(new Error(event.message));
    });
    worker.postMessage({ database: 'from-web-worker' });
    return reply;
  });
  await expectSavedAndHeard(page, result, 'web worker');
  await context.close();
});

test('chromium: openDirectory is for Node.js: in a browser it rejects with StorageError', async () => {
  const page = await browser.newPage();
  await page.goto(`${server.url}/workers/`);
  await page.waitForFunction(() => window.aether !== undefined);
  const outcome = await page.evaluate(() =>
    window.aether.EventStore.openDirectory('/tmp/events').then(
      () => 'opened',
      (error) => ({ isStorageError: error instanceof window.aether.StorageError, message: error.message }),
    ),
  );
  assert.equal(outcome.isStorageError, true, JSON.stringify(outcome));
  assert.match(outcome.message, /Node\.js/);
  await page.close();
});
