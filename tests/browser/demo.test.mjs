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

/** Waits until the list and the inspector both show `version` (the inspector renders after the list). */
const atVersion = (page, version) =>
  page.waitForFunction(
    (v) => document.querySelector('#summary').textContent.includes(`version ${v} `) && document.querySelector('#timeline').dataset.latest === String(v),
    version,
  );

const hasItem = (page, name) =>
  page.waitForFunction((n) => [...document.querySelectorAll('#items li span')].some((s) => s.textContent === n), name);

const itemRow = (page, name) => page.locator('#items li', { hasText: name });

/** The inspector's cards, top to bottom: version, type, correlationId, whether grouped with others of its command. */
const cards = (page) =>
  page.locator('#timeline .event:not(.corrupt)').evaluateAll((nodes) =>
    nodes.map((node) => ({
      version: node.querySelector('.version').textContent,
      type: node.querySelector('.type').textContent,
      correlation: node.dataset.correlation,
      grouped: node.classList.contains('grouped'),
      colour: node.style.getPropertyValue('--group'),
    })),
  );

/** Two tabs on one list; `stale` stops applying the other tab's changes once both show `ready`. */
async function staleAndWriter(context, list, ready) {
  const [writer, stale] = [await openApp(context, list), await openApp(context, list)];
  await addItem(writer, ready);
  await hasItem(stale, ready);
  await stale.uncheck('#live');
  return { writer, stale };
}

test('demo: items added are events that survive a reload, with snapshots and an inspector', async () => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await openApp(context);
  for (const name of ['milk', 'eggs', 'bread', 'butter', 'coffee', 'apples']) await addItem(page, name);
  await itemRow(page, 'eggs').getByRole('checkbox').check();
  await atVersion(page, 7);
  await page.reload();
  await page.waitForSelector('body[data-ready="true"]');
  assert.deepEqual(await itemNames(page), ['milk', 'eggs', 'bread', 'butter', 'coffee', 'apples']);
  assert.equal(await page.locator('#items li.checked span').textContent(), 'eggs');
  assert.equal(await page.locator('#timeline .event').count(), 7);
  assert.match(await page.locator('#timeline .snapshot').textContent(), /Snapshot at v5/);
  // The check of "eggs" is drawn as caused by the event that added it.
  assert.equal(await page.locator('#timeline svg path[marker-end]').count(), 1);

  // The screenshot: several items, a command of several events, a snapshot, a paged inspector.
  await addItem(page, 'pasta, rice, tomatoes'); // v8-v10, snapshot at v10
  await itemRow(page, 'milk').getByRole('checkbox').check(); // v11
  await atVersion(page, 11);
  await page.click('#clear'); // removes milk and eggs: v12-v13
  await atVersion(page, 13);
  await itemRow(page, 'coffee').getByRole('checkbox').check(); // v14
  await atVersion(page, 14);
  assert.deepEqual(await itemNames(page), ['bread', 'butter', 'coffee', 'apples', 'pasta', 'rice', 'tomatoes']);
  const shown = await cards(page);
  assert.deepEqual(shown.map((card) => card.version), ['v14', 'v13', 'v12', 'v11', 'v10', 'v9', 'v8', 'v7', 'v6', 'v5']);
  assert.match(await page.locator('#timeline .snapshot').textContent(), /Snapshot at v10: 9 items/);
  assert.match(await page.locator('#older').textContent(), /v4 and before/);
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

test('demo: "Damage a record" asks for confirmation; a damaged record is flagged by the inspector and the list goes on', async () => {
  const context = await browser.newContext();
  const page = await openApp(context);
  await addItem(page, 'first');
  await addItem(page, 'second');
  // It asks first: cancelling leaves every record as it was.
  await page.click('#corrupt');
  await page.waitForSelector('#confirm-damage[open]');
  assert.match(await page.locator('#confirm-damage').textContent(), /newest stored event of Groceries/);
  await page.locator('#confirm-damage button', { hasText: 'Cancel' }).click();
  await page.waitForSelector('#confirm-damage:not([open])', { state: 'attached' });
  await page.waitForTimeout(200);
  assert.equal(await page.locator('#timeline .event.corrupt').count(), 0);
  assert.deepEqual(await itemNames(page), ['first', 'second']);
  // Confirmed, it damages the newest record.
  await page.click('#corrupt');
  await page.click('#damage-confirm');
  await page.waitForSelector('#timeline .event.corrupt');
  assert.match(await page.locator('#timeline .event.corrupt').textContent(), /Corrupt record/);
  assert.deepEqual(await itemNames(page), ['first']);
  await addItem(page, 'third');
  assert.deepEqual(await itemNames(page), ['first', 'third']);
  assert.deepEqual(page.errors, []);
  await context.close();
});

test('demo: reapplying a tick that the other tab also made keeps the item ticked', async () => {
  const context = await browser.newContext();
  const { writer, stale } = await staleAndWriter(context, 'groceries', 'milk');
  await itemRow(writer, 'milk').getByRole('checkbox').check();
  await atVersion(writer, 2);
  await itemRow(stale, 'milk').getByRole('checkbox').click(); // decided on this tab's view: milk unticked, version 1
  await stale.waitForSelector('#conflict:not([hidden])');
  assert.match(await stale.locator('#conflict-text').textContent(), /at version 2, and your change was made on version 1/);
  await stale.click('#retry'); // decided again on version 2, where milk is ticked: nothing to do
  await stale.waitForSelector('#conflict', { state: 'hidden' });
  assert.match(await stale.locator('#note').textContent(), /Nothing to do: “milk” is already ticked/);
  await atVersion(stale, 2);
  assert.equal(await itemRow(stale, 'milk').getByRole('checkbox').isChecked(), true);
  assert.equal(await itemRow(writer, 'milk').getByRole('checkbox').isChecked(), true);
  assert.deepEqual((await cards(stale)).map((card) => card.type), ['ItemChecked', 'ItemAdded']);
  // A reapplied tick of an item the other tab left unticked still ticks it.
  await writer.locator('#item').fill('bread');
  await writer.click('#add button');
  await atVersion(writer, 3);
  await itemRow(stale, 'milk').getByRole('checkbox').click(); // untick, on version 2
  await stale.waitForSelector('#conflict:not([hidden])');
  await stale.click('#retry');
  await stale.waitForSelector('#conflict', { state: 'hidden' });
  await atVersion(stale, 4);
  assert.equal(await itemRow(stale, 'milk').getByRole('checkbox').isChecked(), false);
  await stale.check('#live');
  await writer.waitForFunction(() => !document.querySelector('#items li:first-child input').checked);
  assert.deepEqual([...writer.errors, ...stale.errors], []);
  await context.close();
});

test('demo: retrying the removal of an item already removed clears the conflict', async () => {
  const context = await browser.newContext();
  const { writer, stale } = await staleAndWriter(context, 'hardware', 'soap');
  await writer.click('#items li button[title="remove soap"]');
  await writer.waitForFunction(() => document.querySelectorAll('#items li').length === 0);
  await stale.click('#items li button[title="remove soap"]');
  await stale.waitForSelector('#conflict:not([hidden])');
  await stale.click('#retry');
  await stale.waitForSelector('#conflict', { state: 'hidden' });
  assert.match(await stale.locator('#note').textContent(), /Nothing to do: “soap” was already removed/);
  assert.deepEqual(await itemNames(stale), []);
  await atVersion(stale, 2);
  assert.deepEqual((await cards(stale)).map((card) => card.type), ['ItemRemoved', 'ItemAdded']);
  assert.deepEqual([...writer.errors, ...stale.errors], []);
  await context.close();
});

test('demo: with live sync on, two tabs adding at the same moment both succeed with no conflict banner', async () => {
  const context = await browser.newContext();
  const [left, right] = [await openApp(context, 'hardware'), await openApp(context, 'hardware')];
  // Hold the left tab's next save until the right tab has saved: the left one is then
  // refused by a version conflict, as when two tabs save at the same moment.
  await left.evaluate(async () => {
    const { EventStore } = await import('/pkg/index.js');
    const save = EventStore.prototype.saveEvents;
    let release;
    const gate = new Promise((resolve) => (release = resolve));
    window.releaseSave = release;
    window.saveHeld = new Promise((resolve) => {
      EventStore.prototype.saveEvents = async function (events) {
        EventStore.prototype.saveEvents = save;
        resolve();
        await gate;
        return save.call(this, events);
      };
    });
  });
  await left.fill('#item', 'nails');
  await left.click('#add button');
  await left.evaluate(() => window.saveHeld);
  await addItem(right, 'glue');
  await hasItem(left, 'glue');
  await left.evaluate(() => window.releaseSave());
  await hasItem(left, 'nails');
  await hasItem(right, 'nails');
  assert.deepEqual(await itemNames(left), ['glue', 'nails']);
  assert.deepEqual(await itemNames(right), ['glue', 'nails']);
  assert.equal(await left.locator('#conflict').isHidden(), true);
  assert.match(await left.locator('#note').textContent(), /Another tab saved first: your change was decided again/);
  assert.deepEqual((await cards(left)).map((card) => card.version), ['v2', 'v1']);
  assert.deepEqual([...left.errors, ...right.errors], []);
  await context.close();
});

test('demo: the inspector shows a page of the newest events, with a control to show older ones', async () => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await openApp(context);
  const names = (from) => Array.from({ length: 25 }, (_, i) => `item ${from + i}`).join(', ');
  await addItem(page, names(1));
  await addItem(page, names(26));
  await atVersion(page, 50);
  assert.equal((await itemNames(page)).length, 50);
  let shown = await cards(page);
  assert.deepEqual(shown.map((card) => card.version), Array.from({ length: 10 }, (_, i) => `v${50 - i}`));
  const height = await page.locator('#timeline').evaluate((node) => node.getBoundingClientRect().height);
  assert.ok(height < 1000, `the inspector is ${height} px tall`);
  assert.match(await page.locator('#older').textContent(), /v40 and before/);
  await page.click('#older');
  await page.waitForFunction(() => document.querySelectorAll('#timeline .event').length === 20);
  shown = await cards(page);
  assert.deepEqual([shown[0].version, shown.at(-1).version], ['v50', 'v31']);
  // New events keep the page's size and stay newest first.
  await addItem(page, 'one more');
  await page.waitForFunction(() => document.querySelector('#timeline .event .version').textContent === 'v51');
  assert.equal(await page.locator('#timeline .event').count(), 20);
  assert.deepEqual(page.errors, []);
  await context.close();
});

test('demo: a command of several events is one batch, coloured as one group and explained in the legend', async () => {
  const context = await browser.newContext();
  const page = await openApp(context, 'hardware');
  await addItem(page, 'screws, hinges, glue'); // one command: three events, one correlationId
  await addItem(page, 'tape');
  await atVersion(page, 4);
  await itemRow(page, 'screws').getByRole('checkbox').check();
  await atVersion(page, 5);
  await itemRow(page, 'glue').getByRole('checkbox').check();
  await atVersion(page, 6);
  assert.equal(await page.locator('#clear').textContent(), 'Clear 2 ticked');
  await page.click('#clear');
  await atVersion(page, 8);
  assert.deepEqual(await itemNames(page), ['hinges', 'tape']);
  const shown = await cards(page);
  assert.deepEqual(
    shown.map((card) => `${card.version} ${card.type}`),
    ['v8 ItemRemoved', 'v7 ItemRemoved', 'v6 ItemChecked', 'v5 ItemChecked', 'v4 ItemAdded', 'v3 ItemAdded', 'v2 ItemAdded', 'v1 ItemAdded'],
  );
  const [cleared, added] = [shown.slice(0, 2), shown.slice(5, 8)];
  for (const group of [cleared, added]) {
    assert.equal(new Set(group.map((card) => card.correlation)).size, 1);
    assert.equal(new Set(group.map((card) => card.colour)).size, 1);
    assert.ok(group.every((card) => card.grouped));
  }
  assert.notEqual(cleared[0].correlation, added[0].correlation);
  // A command of one event is not a group: grey, whatever its correlationId.
  const singles = shown.slice(2, 5);
  assert.ok(singles.every((card) => !card.grouped && card.colour === singles[0].colour));
  assert.ok(!singles.some((card) => card.colour === added[0].colour || card.colour === cleared[0].colour));
  assert.match(await page.locator('#timeline .event.grouped .batch').first().textContent(), /clear ticked · 2 of 2/);
  assert.match(await page.locator('.legend').textContent(), /one atomic batch, and its events share a colour and a correlationId/);
  assert.deepEqual(page.errors, []);
  await context.close();
});
