// The JetStream store in headless Chromium over WebSocket, built with Vite as an
// app would be, and a Node.js client over TCP writing to the same actor.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { build } from 'vite';
import { startNats } from '../nats/server.mjs';
import { collectPageErrors, consumerDir, launchChromium, serveDirectory } from './harness.mjs';

// The package and its NATS peers as the consumer project installed them.
const consumerRequire = createRequire(join(consumerDir(), 'package.json'));
const { openJetStream } = consumerRequire('aether-eventstore/jetstream');

let nats;
let browser;
let site;

before(async () => {
  nats = await startNats();
  const root = join(consumerDir(), 'jetstream-app');
  mkdirSync(root, { recursive: true });
  writeFileSync(join(root, 'index.html'), '<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,"><script type="module" src="./main.js"></script>\n');
  writeFileSync(
    join(root, 'main.js'),
    "import { openJetStream } from 'aether-eventstore/jetstream';\nwindow.openJetStream = openJetStream;\nwindow.ready = true;\n",
  );
  await build({ root, logLevel: 'warn', configFile: false, build: { outDir: join(root, 'dist') } });
  site = await serveDirectory(join(root, 'dist'));
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await site?.close();
  await nats?.close();
});

test('chromium over WebSocket and Node.js over TCP write one actor and read each other\'s events', async () => {
  const names = { stream: 'BROWSER', subjectPrefix: 'browser.events', snapshotBucket: 'BROWSER_SNAPSHOTS' };
  const page = await browser.newPage();
  const errors = collectPageErrors(page);
  await page.goto(`${site.url}/`);
  await page.waitForFunction(() => window.ready === true);
  await page.evaluate(
    async ({ servers, names }) => {
      window.store = await window.openJetStream({ servers, ...names });
      window.heard = [];
      window.store.subscribe((n) => window.heard.push([n.event.version, n.event.data.from]));
      await window.store.saveEvent({ eventType: 'Wrote', actorId: 'shared', version: 1, data: { from: 'browser' } });
    },
    { servers: nats.wsUrl, names },
  );

  const node = await openJetStream({ servers: nats.url, ...names });
  assert.deepEqual((await node.getEvents('shared')).map((e) => [e.version, e.data.from]), [[1, 'browser']]);
  await node.saveEvent({ eventType: 'Wrote', actorId: 'shared', version: 2, data: { from: 'node' } });
  await assert.rejects(node.saveEvent({ eventType: 'Wrote', actorId: 'shared', version: 2, data: { from: 'node' } }), (error) => error.code === 'VERSION_CONFLICT');

  const seen = await page.evaluate(async () => {
    const conflict = await window.store
      .saveEvent({ eventType: 'Wrote', actorId: 'shared', version: 2, data: { from: 'browser' } })
      .then(() => null, (error) => [error.name, error.currentVersion]);
    await new Promise((resolve) => setTimeout(resolve, 300));
    return {
      events: (await window.store.getEvents('shared')).map((e) => [e.version, e.data.from]),
      conflict,
      heard: window.heard,
    };
  });
  assert.deepEqual(seen.events, [[1, 'browser'], [2, 'node']]);
  assert.deepEqual(seen.conflict, ['VersionConflictError', 2]);
  assert.deepEqual(seen.heard, [[1, 'browser'], [2, 'node']]);
  await page.evaluate(() => window.store.close());
  await node.close();
  // nats-server 2.9 answers the client's WebSocket close with a status code
  // Chromium calls reserved, and logs it; the close itself completes.
  assert.deepEqual(errors.filter((error) => !/broken close frame/.test(error)), []);
});
