// `npm run bench`: every store on the same workloads in one run, then the
// ratios against the project's targets. `--tiny` runs every workload at a toy
// size (npm test does, so that the benchmark cannot rot); its figures mean nothing.

import { gzipSync } from 'node:zlib';
import { readFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runMemoryBench } from './memory.mjs';
import { runBrowserBench } from './browser.mjs';
import { runJetStreamBench } from './jetstream.mjs';
import { runDirectoryBench } from './directory.mjs';
import { runGlobalOrderBench } from './global-order.mjs';
import { runSyncBench } from './sync.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const tiny = process.argv.includes('--tiny');

const plan = tiny
  ? {
      memory: { sizes: [1000, 2000, 4000], readSize: 2000, batchEvents: 2000, latestCalls: 2000 },
      browser: { sequential: 20, concurrent: 100, batch: 100, read: 500, open: 2000, repeat: 1, globalOrder: { actors: 20, perActor: 10 } },
      jetstream: { sequential: 20, concurrent: 50, readActors: 2, readEach: 50 },
      globalOrder: { actors: 20, perActor: 10 },
      directory: { sequential: 20, concurrent: 100, opens: [2000], stream: 200, repeat: 1 },
      sync: { latencySaves: 20, pushEvents: 200, pushActors: [10, 1] },
    }
  : {
      memory: { sizes: [10_000, 100_000, 1_000_000], readSize: 100_000, batchEvents: 100_000, latestCalls: 100_000 },
      browser: { sequential: 300, concurrent: 1000, batch: 1000, read: 10_000, open: 100_000, repeat: 5, globalOrder: { actors: 1000, perActor: 100 } },
      jetstream: { sequential: 2000, concurrent: 2000, readActors: 10, readEach: 1000 },
      globalOrder: { actors: 1000, perActor: 100 },
      directory: { sequential: 1000, concurrent: 1000, opens: [100_000, 1_000_000], stream: 10_000, repeat: 3 },
      sync: { latencySaves: 1000, pushEvents: 10_000, pushActors: [100, 1] },
    };

const AETHER = 'aether-eventstore';
const format = (value) => (value >= 100 ? Math.round(value).toLocaleString('en') : value.toFixed(2));

function printTable(rows) {
  console.log('| workload | store | result |\n| --- | --- | ---: |');
  for (const row of rows) console.log(`| ${row.workload} | ${row.store} | ${format(row.value)} ${row.unit} |`);
}

function packageSize() {
  const files = ['aether_eventstore_bg.wasm', 'index.js'];
  return files.map((file) => {
    const bytes = readFileSync(join(root, 'pkg', file));
    return { file, raw: bytes.length, gzip: gzipSync(bytes, { level: 9 }).length };
  });
}

console.log(`# aether-eventstore benchmark${tiny ? ' (tiny smoke run: the figures mean nothing)' : ''}`);
console.log(`machine: ${cpus()[0].model}, ${cpus().length} cores, ${Math.round(totalmem() / 2 ** 30)} GiB; Node.js ${process.version}\n`);

const memory = await runMemoryBench(plan.memory);
printTable(memory);
console.log();
const browser = await runBrowserBench(plan.browser);
printTable(browser);
console.log();
const natsRows = await runJetStreamBench(plan.jetstream);
printTable(natsRows);
console.log();
const directoryRows = await runDirectoryBench(plan.directory);
printTable(directoryRows);
console.log();
const syncRows = await runSyncBench(plan.sync);
printTable(syncRows);
console.log();
const orderRows = [...(await runGlobalOrderBench(plan.globalOrder)), ...browser.filter((row) => row.unit === 'µs/event')];
printTable(orderRows);
console.log();
const sizes = packageSize();
const allRows = [...memory, ...browser, ...natsRows, ...orderRows];
console.log('| file | bytes | gzip |\n| --- | ---: | ---: |');
for (const { file, raw, gzip } of sizes) console.log(`| ${file} | ${raw.toLocaleString('en')} | ${gzip.toLocaleString('en')} |`);
console.log();

const find = (rows, workload, store, how = '') => {
  const row = rows.find((r) => r.workload.startsWith(workload) && r.store.startsWith(store) && r.workload.includes(how));
  if (!row) throw new Error(`no result for ${workload} / ${store} ${how}`);
  return row.value;
};
const [small, middle, large] = plan.memory.sizes.map((size) => `append, ${size.toLocaleString('en')} events`);
const gzipTotal = sizes.reduce((sum, { gzip }) => sum + gzip, 0);
const targets = [
  ['in-memory append vs Emmett (100k-size run)', find(memory, middle, 'emmett') / find(memory, middle, AETHER), '>=', 3],
  ['in-memory append vs hand-written JSON store', find(memory, middle, 'hand-written') / find(memory, middle, AETHER), '>=', 1],
  ['full-stream reads vs hand-written JSON store', find(memory, 'read every', 'hand-written') / find(memory, 'read every', AETHER), '>=', 1],
  ['cost per event at the largest size / at the smallest', find(memory, large, AETHER) / find(memory, small, AETHER), '<=', 1.5],
  ['IndexedDB: concurrent saves vs a transaction per event', find(browser, `${plan.browser.concurrent} concurrent`, AETHER) / find(browser, `${plan.browser.concurrent} concurrent`, 'raw'), '>=', 10],
  ['IndexedDB: concurrent saves vs Dexie add', find(browser, `${plan.browser.concurrent} concurrent`, AETHER) / find(browser, `${plan.browser.concurrent} concurrent`, 'Dexie'), '>=', 1],
  ['in-memory memory per stored event vs hand-written JSON store', find(memory, 'memory per stored event', AETHER) / find(memory, 'memory per stored event', 'hand-written'), '<=', 1],
  ['IndexedDB: sequential awaited saves vs Dexie add', find(browser, 'sequential awaited', AETHER) / find(browser, 'sequential awaited', 'Dexie'), '>=', 1],
  [`IndexedDB: saveEvents(${plan.browser.batch}) vs Dexie bulkAdd`, find(browser, 'one batch', AETHER) / find(browser, 'one batch', 'Dexie'), '>=', 1],
  [`IndexedDB: read ${plan.browser.read.toLocaleString('en')} events of an actor vs Dexie`, find(browser, 'read ', 'Dexie') / find(browser, 'read ', AETHER), '>=', 1],
  [`JetStream: ${plan.jetstream.concurrent} concurrent saves vs plain publish`, find(natsRows, `${plan.jetstream.concurrent} concurrent`, AETHER) / find(natsRows, `${plan.jetstream.concurrent} concurrent`, 'plain'), '>=', 0.6],
  ['IndexedDB: open a large database (ms)', find(browser, 'open a database', AETHER), '<', 50],
  [`directory: ${plan.directory.concurrent} concurrent saves vs a plain appendFile + fsync loop`, find(directoryRows, `${plan.directory.concurrent} concurrent`, `${AETHER} (strict)`) / find(directoryRows, `${plan.directory.concurrent} concurrent`, 'plain loop'), '>=', 1],
  [`directory: open ${plan.directory.opens.at(-1).toLocaleString('en')} events (ms)`, find(directoryRows, `open a directory of ${plan.directory.opens.at(-1).toLocaleString('en')}`, AETHER), '<', 2000],
  ['package size, wasm + JS gzip (KB)', gzipTotal / 1024, '<=', 100],
  ...['memory', 'IndexedDB (Chromium)', 'directory', 'JetStream'].flatMap((backend) => [
    [`${backend}: readAll per event / getEvents per event`, find(allRows, 'every one', backend, 'readAll') / find(allRows, 'every one', backend, 'getEvents'), '<=', 1],
    [`${backend}: catch-up subscription per event / getEvents per event`, find(allRows, 'every one', backend, 'catch-up') / find(allRows, 'every one', backend, 'getEvents'), '<=', 1],
  ]),
];
console.log('| target | measured | goal | met |\n| --- | ---: | ---: | :---: |');
for (const [name, value, op, goal] of targets) {
  const met = op === '>=' ? value >= goal : op === '<=' ? value <= goal : value < goal;
  console.log(`| ${name} | ${value.toFixed(2)} | ${op} ${goal} | ${met ? 'yes' : 'no'} |`);
}
