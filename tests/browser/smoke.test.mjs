// The installed package in headless Chromium: a plain <script type="module">
// with an import map and no bundler, and a Vite production build.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'vite';
import { collectPageErrors, consumerDir, launchChromium, serveDirectory } from './harness.mjs';

const here = dirname(fileURLToPath(import.meta.url));
let browser;

before(async () => {
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
});

const expected = {
  idLength: 36,
  versions: [2, 3],
  timestamps: [undefined, '1970-01-01T00:00:00.000Z'],
  latest: 3,
  conflict: {
    isClass: true,
    isVersionConflict: true,
    message: 'version conflict: actor "order-7" has version 3, cannot save version 2',
    currentVersion: 3,
  },
  invalid: { isClass: true, isTypeError: true, field: 'data.when' },
  snapshotVersion: 3,
  heard: [1, 2, 3],
  closed: true,
};

async function runSmokePage(url) {
  const page = await browser.newPage();
  const errors = collectPageErrors(page);
  await page.goto(url);
  await page.waitForFunction(() => window.smokeResult !== undefined, null, { timeout: 20_000 });
  const result = await page.evaluate(() => window.smokeResult);
  await page.close();
  assert.deepEqual(errors, []);
  assert.equal(result.failed, undefined, result.failed);
  assert.match(result.timestamps[0], /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
  assert.deepEqual({ ...result, timestamps: [undefined, result.timestamps[1]] }, expected);
}

test('browser: <script type="module"> with an import map, no bundler', async () => {
  const root = join(consumerDir(), 'browser');
  mkdirSync(root, { recursive: true });
  cpSync(join(here, 'smoke-page.js'), join(root, 'smoke-page.js'));
  writeFileSync(
    join(root, 'index.html'),
    `<!doctype html>
<meta charset="utf-8">
<link rel="icon" href="data:,">
<title>aether-eventstore smoke test</title>
<script type="importmap">{ "imports": { "aether-eventstore": "/node_modules/aether-eventstore/index.js" } }</script>
<script type="module" src="/browser/smoke-page.js"></script>
`,
  );
  const server = await serveDirectory(consumerDir());
  try {
    await runSmokePage(`${server.url}/browser/`);
  } finally {
    await server.close();
  }
});

test('browser: a Vite production build', async () => {
  const root = join(consumerDir(), 'vite-app');
  mkdirSync(root, { recursive: true });
  cpSync(join(here, 'smoke-page.js'), join(root, 'main.js'));
  writeFileSync(
    join(root, 'index.html'),
    `<!doctype html>
<meta charset="utf-8">
<link rel="icon" href="data:,">
<title>aether-eventstore in Vite</title>
<script type="module" src="./main.js"></script>
`,
  );
  await build({ root, logLevel: 'warn', configFile: false, build: { outDir: join(root, 'dist') } });
  const server = await serveDirectory(join(root, 'dist'));
  try {
    await runSmokePage(`${server.url}/`);
  } finally {
    await server.close();
  }
});
