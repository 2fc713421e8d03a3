// Export and import between every kind of store: a store's export imported
// into an empty store of any backend gives the same events per actor; and
// events that Go's encoding/json marshalled from the seed's Event type (real Go,
// any offset, nanoseconds) import as they are.
import { execFile } from 'node:child_process';
import { createReadStream, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { EventStore } from 'aether-eventstore';
import { openJetStream } from 'aether-eventstore/jetstream';

const repo = process.env.AETHER_REPO ?? process.cwd();
const requireDev = createRequire(join(process.env.AETHER_DEV_MODULES ?? process.cwd(), 'noop.js'));
const { IDBFactory, IDBKeyRange } = requireDev('fake-indexeddb');
const { startNats } = await import(pathToFileURL(join(repo, 'tests', 'nats', 'server.mjs')));

let server;
let opened = 0;
const stores = [];
const directories = [];

before(async () => {
  server = await startNats();
});

after(async () => {
  await Promise.all(stores.map((store) => store.close()));
  await server?.close();
  for (const dir of directories) rmSync(dir, { recursive: true, force: true });
});

/** How to open an empty store of each kind. */
const backends = {
  memory: async () => new EventStore(),
  indexeddb: () => EventStore.openIndexedDb(`db-${++opened}`, { indexedDB: new IDBFactory(), IDBKeyRange }),
  directory: () => {
    const dir = mkdtempSync(join(tmpdir(), 'aether-import-'));
    directories.push(dir);
    return EventStore.openDirectory(dir);
  },
  jetstream: () => {
    const n = ++opened;
    return openJetStream({ servers: server.url, stream: `IMPORT_${n}`, subjectPrefix: `import${n}`, snapshotBucket: `IMPORT_${n}_SNAPSHOTS` });
  },
};

async function open(kind) {
  const store = await backends[kind]();
  stores.push(store);
  return store;
}

/** A store's events, actor by actor. */
async function byActor(store, actors) {
  return Object.fromEntries(await Promise.all(actors.map(async (actor) => [actor, await store.getEvents(actor)])));
}

async function exported(store) {
  let text = '';
  for await (const line of store.exportEvents()) text += line;
  return text;
}

const ACTORS = ['order-1', 'order-2', 'cart ü'];

/** Events of several actors, interleaved, with every optional field and precise timestamps. */
async function fill(store) {
  for (let version = 1; version <= 4; version++) {
    for (const [i, actorId] of ACTORS.entries()) {
      await store.saveEvent({
        eventType: version % 2 ? 'Added' : 'Removed',
        actorId,
        version: version * (i + 1),
        data: { sku: `sku-${version}`, price: version * 1.25, tags: ['a', { nested: null }], text: 'line\nbreak "quoted" ü😀' },
        ...(version === 2 ? { metadata: { correlationId: `c-${i}` }, commandId: `cmd-${version}` } : {}),
        ...(version === 3 ? { timestamp: '2026-03-04T05:06:07.123456789-07:00' } : {}),
      });
    }
  }
  await store.saveEvents([1, 2].map((n) => ({ eventType: 'Batched', actorId: 'order-1', version: 10 + n, data: { n } })));
}

describe('export and import between every pair of backends', () => {
  for (const from of Object.keys(backends)) {
    for (const to of Object.keys(backends)) {
      test(`${from} -> ${to}: the same events per actor, and a second import skips them all`, async () => {
        const source = await open(from);
        await fill(source);
        const text = await exported(source);
        const target = await open(to);
        assert.deepEqual(await target.importEvents(text), { imported: 14, skipped: 0 });
        assert.deepEqual(await byActor(target, ACTORS), await byActor(source, ACTORS));
        assert.deepEqual(await target.importEvents(text), { imported: 0, skipped: 14 });
        assert.equal(await exported(target), text, 'exported again, the same lines');
      });
    }
  }

  test('in Node.js, a backup is a file, and restoring it takes a file stream', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'aether-backup-'));
    try {
      const store = await open('memory');
      await fill(store);
      const file = join(dir, 'backup.jsonl');
      writeFileSync(file, await exported(store));
      const restored = await open('indexeddb');
      assert.deepEqual(await restored.importEvents(createReadStream(file, { highWaterMark: 64 })), { imported: 14, skipped: 0 });
      assert.deepEqual(await byActor(restored, ACTORS), await byActor(store, ACTORS));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/** What a Go timestamp is stored as: in UTC, with the fraction of seconds it had. */
function inUtc(text) {
  const fraction = /T\d\d:\d\d:\d\d(\.\d+)/.exec(text)?.[1] ?? '';
  const whole = new Date(text.replace(/\.\d+/, '')).toISOString().replace('.000Z', '');
  return `${whole}${fraction}Z`;
}

describe('events marshalled by Go from the seed\'s Event type', () => {
  let lines;
  before(async () => {
    const { stdout } = await promisify(execFile)('go', ['run', join(repo, 'tests', 'go', 'marshal', 'main.go')]);
    lines = stdout.trim().split('\n');
  });

  for (const kind of Object.keys(backends)) {
    test(`${kind}: import as they are, timestamps in UTC with their nanoseconds`, async () => {
      assert.equal(lines.length, 12);
      const store = await open(kind);
      assert.deepEqual(await store.importEvents(`${lines.join('\n')}\n`), { imported: 12, skipped: 0 });
      for (const line of lines) {
        const marshalled = JSON.parse(line);
        const [stored] = await store.getEvents(marshalled.actorId, marshalled.version);
        assert.deepEqual(stored, { ...marshalled, timestamp: inUtc(marshalled.timestamp) });
      }
      const offsets = lines.map((line) => JSON.parse(line).timestamp.slice(-6));
      assert.ok(new Set(offsets).size >= 3, `several offsets: ${offsets}`);
    });
  }
});
