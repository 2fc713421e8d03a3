// End-to-end tests of the demo app (www/) in headless Chromium, served with the
// built package as `npm run demo` serves it.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { serveDemo } from '../../scripts/serve-demo.mjs';
import { collectPageErrors, launchChromium } from './harness.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const artefacts = join(root, 'test-results');
let browser;
let server;

before(async () => {
  server = await serveDemo();
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await server?.close();
});

async function openApp(context, list = 'groceries') {
  const page = await context.newPage();
  page.errors = collectPageErrors(page);
  await page.goto(`${server.url}/?list=${list}`);
  await page.waitForSelector('body[data-ready="true"]');
  return page;
}

const itemNames = (page) => page.locator('#items li span').allTextContents();

async function addItem(page, name) {
  const before = (await itemNames(page)).length;
  await page.fill('#item', name);
  await page.click('#add button');
  await page.waitForFunction((count) => document.querySelectorAll('#items li').length > count, before);
}

test('demo: items added are events that survive a reload, with snapshots and an inspector', async () => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await openApp(context);
  for (const name of ['milk', 'eggs', 'bread', 'butter', 'coffee', 'apples']) await addItem(page, name);
  await page.locator('#items li', { hasText: 'eggs' }).getByRole('checkbox').check();
  await page.waitForFunction(() => document.querySelector('#summary').textContent.includes('version 7'));
  await page.reload();
  await page.waitForSelector('body[data-ready="true"]');
  assert.deepEqual(await itemNames(page), ['milk', 'eggs', 'bread', 'butter', 'coffee', 'apples']);
  assert.equal(await page.locator('#items li.checked span').textContent(), 'eggs');
  assert.equal(await page.locator('#timeline .event').count(), 7);
  assert.match(await page.locator('#timeline .snapshot').textContent(), /Snapshot at v5/);
  // The check of "eggs" is drawn as caused by the event that added it.
  assert.equal(await page.locator('#timeline svg path[marker-end]').count(), 1);
  mkdirSync(artefacts, { recursive: true });
  await page.screenshot({ path: join(artefacts, 'demo.png'), fullPage: true });
  assert.deepEqual(page.errors, []);
  await context.close();
});

test('demo: two tabs see each other\'s changes live', async () => {
  const context = await browser.newContext();
  const [left, right] = [await openApp(context, 'hardware'), await openApp(context, 'hardware')];
  await addItem(left, 'screws');
  await right.waitForFunction(() => [...document.querySelectorAll('#items li span')].some((s) => s.textContent === 'screws'));
  await addItem(right, 'hinges');
  await left.waitForFunction(() => [...document.querySelectorAll('#items li span')].some((s) => s.textContent === 'hinges'));
  assert.deepEqual(await itemNames(left), ['screws', 'hinges']);
  assert.deepEqual([...left.errors, ...right.errors], []);
  await context.close();
});

test('demo: after the first load it keeps working offline', async () => {
  const context = await browser.newContext();
  const page = await openApp(context);
  await page.evaluate(() => navigator.serviceWorker.ready);
  await page.waitForFunction(() => navigator.serviceWorker.controller !== null);
  await addItem(page, 'online item');
  await context.setOffline(true);
  await page.reload();
  await page.waitForSelector('body[data-ready="true"]');
  assert.equal(await page.locator('#network').textContent(), 'offline');
  await addItem(page, 'offline item');
  await page.reload();
  await page.waitForSelector('body[data-ready="true"]');
  assert.deepEqual(await itemNames(page), ['online item', 'offline item']);
  await context.setOffline(false);
  assert.deepEqual(page.errors, []);
  await context.close();
});

test('demo: a version conflict is shown, and the retry reloads and reapplies', async () => {
  const context = await browser.newContext();
  const [writer, stale] = [await openApp(context), await openApp(context)];
  await stale.uncheck('#live'); // this tab stops applying the other tab's changes
  await addItem(writer, 'tea');
  await stale.fill('#item', 'honey');
  await stale.click('#add button');
  await stale.waitForSelector('#conflict:not([hidden])');
  assert.match(await stale.locator('#conflict-text').textContent(), /at version 1, and your change was made on version 0/);
  await stale.click('#retry');
  await stale.waitForSelector('#conflict', { state: 'hidden' });
  await stale.check('#live');
  await stale.waitForFunction(() => document.querySelectorAll('#items li').length === 2);
  assert.deepEqual(await itemNames(stale), ['tea', 'honey']);
  await writer.waitForFunction(() => document.querySelectorAll('#items li').length === 2);
  assert.deepEqual([...writer.errors, ...stale.errors], []);
  await context.close();
});

test('demo: a damaged record is flagged by the inspector and the list goes on', async () => {
  const context = await browser.newContext();
  const page = await openApp(context);
  await addItem(page, 'first');
  await addItem(page, 'second');
  await page.click('#corrupt');
  await page.waitForSelector('#timeline .event.corrupt');
  assert.match(await page.locator('#timeline .event.corrupt').textContent(), /Corrupt record/);
  assert.deepEqual(await itemNames(page), ['first']);
  await addItem(page, 'third');
  assert.deepEqual(await itemNames(page), ['first', 'third']);
  assert.deepEqual(page.errors, []);
  await context.close();
});
