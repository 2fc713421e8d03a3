// IndexedDB workloads in headless Chromium, driven from Node.js.

import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { launchChromium, serveDirectory } from '../tests/browser/harness.mjs';
import { globalOrderRows } from './global-order.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

/**
 * Runs the Chromium workloads.
 * @param {{ sequential: number, concurrent: number, batch: number, read: number, open: number, repeat: number, globalOrder: { actors: number, perActor: number } }} plan
 * @returns {Promise<{ workload: string, store: string, value: number, unit: string }[]>}
 */
export async function runBrowserBench(plan) {
  const pageDir = mkdtempSync(join(tmpdir(), 'aether-bench-'));
  writeFileSync(
    join(pageDir, 'index.html'),
    `<!doctype html>
<meta charset="utf-8">
<link rel="icon" href="data:,">
<script type="importmap">{ "imports": {
  "aether-eventstore": "/pkg/index.js",
  "dexie": "/node_modules/dexie/dist/dexie.mjs"
} }</script>
<script type="module" src="/bench/browser-page.js"></script>
`,
  );
  // Serve the repository, with the page at /bench-page/.
  const server = await serveDirectory(root, { '/bench-page/index.html': join(pageDir, 'index.html') });
  const browser = await launchChromium();
  const rows = [];
  try {
    const page = await browser.newPage();
    page.on('pageerror', (error) => console.error('bench page:', error.message));
    await page.goto(`${server.url}/bench-page/index.html`);
    await page.waitForFunction(() => window.benchReady === true);
    const runOnce = (name, params) => page.evaluate(({ name, params }) => window.runWorkload(name, params), { name, params });
    // Warm up every code path (JIT, wasm tiers) on small runs whose figures are dropped.
    for (const name of ['sequential', 'concurrent', 'batch']) await runOnce(name, { count: 50 });
    /** The median of `repeat` runs, per store: IndexedDB timings vary a lot from run to run. */
    const run = async (name, params, repeat = plan.repeat) => {
      const runs = [];
      for (let i = 0; i < repeat; i++) runs.push(await runOnce(name, params));
      return Object.fromEntries(Object.keys(runs[0]).map((store) => [store, median(runs.map((timings) => timings[store]))]));
    };
    const perSecond = (workload, count, timings) => {
      for (const [store, ms] of Object.entries(timings)) rows.push({ workload, store, value: (count / ms) * 1000, unit: 'saves/s' });
    };
    perSecond(`sequential awaited saves (${plan.sequential})`, plan.sequential, await run('sequential', { count: plan.sequential }));
    perSecond(`${plan.concurrent} concurrent saves`, plan.concurrent, await run('concurrent', { count: plan.concurrent }));
    perSecond(`one batch of ${plan.batch}`, plan.batch, await run('batch', { count: plan.batch }));
    for (const [store, ms] of Object.entries(await run('readAfterReopen', { count: plan.read }))) {
      rows.push({ workload: `read ${plan.read.toLocaleString('en')} events of one actor after reopening`, store, value: ms, unit: 'ms' });
    }
    const order = await runOnce('globalOrder', plan.globalOrder);
    rows.push(...globalOrderRows('IndexedDB (Chromium)', plan.globalOrder, order));
    for (const [store, ms] of Object.entries(await run('open', { count: plan.open }, 1))) {
      rows.push({ workload: `open a database of ${plan.open.toLocaleString('en')} events`, store, value: ms, unit: 'ms' });
    }
  } finally {
    await browser.close();
    await server.close();
    rmSync(pageDir, { recursive: true, force: true });
  }
  return rows;
}
