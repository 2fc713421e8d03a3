// The package through `import`, as a Node.js ES module user loads it.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as api from 'aether-eventstore';
import defineBehaviourTests from './behaviour.cjs';

defineBehaviourTests(api, 'esm');

test('esm: import and require share one instance of the classes', () => {
  const required = createRequire(import.meta.url)('aether-eventstore');
  assert.equal(required.EventStore, api.EventStore);
  assert.equal(required.VersionConflictError, api.VersionConflictError);
});

test('esm: the exports are the documented ones', () => {
  assert.deepEqual(Object.keys(api).sort(), [
    'CommandHandler', 'EventStore', 'EventTypeEventStored', 'MetadataKey', 'ReplayResult', 'StorageError', 'ValidationError',
    'VersionConflictError', 'getCausationId', 'getCorrelationId', 'getMetadata', 'getSpanId', 'getTraceId',
    'getUserId', 'isVersionConflict', 'setCausationId', 'setCorrelationId', 'setMetadata', 'setSpanId',
    'setTraceId', 'setUserId', 'withMetadataFrom',
  ]);
  assert.equal(api.EventTypeEventStored, 'EventStored');
});

test('esm: new EventStore() takes no arguments: a name is a ValidationError, not a quiet in-memory store', () => {
  for (const args of [['my-db'], [{ name: 'my-db' }], [undefined]]) {
    assert.throws(
      () => new api.EventStore(...args),
      (error) => error instanceof api.ValidationError && error.field === 'arguments' && /openIndexedDb/.test(error.message),
    );
  }
  assert.ok(new api.EventStore() instanceof api.EventStore);
});

test('esm: the package ships a README for users, source maps for browsers, and says it needs Node.js 20', () => {
  const require = createRequire(import.meta.url);
  const root = dirname(require.resolve('aether-eventstore/package.json'));
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  for (const section of ['## Quick starts', '## The API', '## Errors', '## Backends', '## Service Workers', '## Bundlers', '## TypeScript']) {
    assert.ok(readme.includes(section), section);
  }
  for (const internal of ['cargo', 'fuzz', 'wasm-bindgen-cli', 'npm run bench']) assert.ok(!readme.includes(internal), `no "${internal}" for users`);
  const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  assert.equal(manifest.engines.node, '>=20');
  for (const bundle of ['index.js', 'jetstream.js']) {
    const map = JSON.parse(readFileSync(join(root, `${bundle}.map`), 'utf8'));
    assert.equal(map.version, 3);
    assert.ok(map.sourcesContent.some((text) => text.includes('class EventStore') || text.includes('openJetStream')));
    assert.match(readFileSync(join(root, bundle), 'utf8'), new RegExp(`sourceMappingURL=${bundle}\\.map`));
  }
});

test('esm: in-memory saves without id or timestamp, while the WebAssembly memory grows and for events of every size, answer what reads give', async () => {
  const store = new api.EventStore();
  const ids = new Set();
  // Up to 400,000 characters of data: past the largest event written straight into the core's memory.
  const sizes = [0, 1, 100, 5000, 100_000, 400_000];
  for (let i = 0; i < 600; i++) {
    const text = 'é😀x'.repeat(sizes[i % sizes.length] / 4);
    const saved = await store.saveEvent({ eventType: 'Grown', actorId: `a${i % 7}`, version: Math.floor(i / 7) + 1, data: { i, text } });
    const [read] = await store.getEvents(`a${i % 7}`, saved.version);
    assert.deepEqual(saved, read);
    assert.equal(saved.data.text, text);
    ids.add(saved.id);
  }
  assert.equal(ids.size, 600, 'every id new');
  await assert.rejects(
    store.saveEvent({ eventType: 'Grown', actorId: 'a0', version: 1, data: {} }),
    (error) => error instanceof api.VersionConflictError && error.currentVersion === 86,
  );
  await assert.rejects(store.saveEvent({ eventType: 'Grown', actorId: 'a0', version: 99, data: { n: NaN } }), (error) => error.field === 'data.n');
  await assert.rejects(store.saveEvent({ eventType: 'Grown', actorId: 'a0', version: 99, datum: {} }), (error) => error.field === 'datum');
  assert.equal(await store.getLatestVersion('a0'), 86);
});

test('esm: getLatestVersion follows every kind of in-memory save, read before and after each', async () => {
  const store = new api.EventStore();
  const latest = async (expected) => {
    for (const actorId of ['a', 'b', 'c']) assert.equal(await store.getLatestVersion(actorId), expected[actorId], actorId);
  };
  const event = (actorId, version, extra = {}) => ({ eventType: 'T', actorId, version, data: {}, ...extra });
  await latest({ a: 0, b: 0, c: 0 });
  await store.saveEvent(event('a', 1));
  await latest({ a: 1, b: 0, c: 0 });
  await store.saveEvent(event('a', 3, { id: 'given', timestamp: '2026-01-01T00:00:00Z' }));
  await latest({ a: 3, b: 0, c: 0 });
  await store.saveEvent(event('a', 3, { id: 'given', timestamp: '2026-01-01T00:00:00Z' })); // a retry
  await assert.rejects(store.saveEvent(event('a', 2)), api.VersionConflictError);
  await assert.rejects(store.saveEvents([event('b', 1), event('a', 3)]), api.VersionConflictError);
  await latest({ a: 3, b: 0, c: 0 });
  await store.saveEvents([event('b', 1), event('a', 4), event('b', 7)]);
  await latest({ a: 4, b: 7, c: 0 });
  const other = new api.EventStore();
  await other.saveEvents([event('c', 2), event('a', 9)]);
  const lines = [];
  for await (const line of other.exportEvents()) lines.push(line);
  assert.deepEqual(await store.importEvents(lines), { imported: 2, skipped: 0 });
  await latest({ a: 9, b: 7, c: 2 });
  assert.equal(await store.getLatestVersion('\ud800'), 0, 'an ill-formed actor id is read as the core reads it');
  await assert.rejects(store.getLatestVersion(7), (error) => error instanceof api.ValidationError && error.field === 'actorId');
});

test('esm: in-memory batches small and past the largest written straight into the core answer what reads give', async () => {
  const store = new api.EventStore();
  const big = 'é😀x'.repeat(100_000);
  for (const [first, text] of [[1, 'ü'], [4, big], [7, '']]) {
    const batch = [0, 1, 2].map((i) => ({ eventType: 'Batched', actorId: 'b', version: first + i, data: { text, i } }));
    const saved = await store.saveEvents(batch);
    assert.deepEqual(saved, await store.getEvents('b', first));
    assert.equal(saved[2].data.text, text);
    assert.deepEqual(await store.saveEvents(saved.slice(1)), saved.slice(1), 'a retry of stored events');
  }
  await assert.rejects(store.saveEvents([{ eventType: 'Batched', actorId: 'b', version: 10, data: { n: 1 } }, { eventType: 'Batched', actorId: 'b', version: 10, data: {} }]), api.VersionConflictError);
  assert.equal(await store.getLatestVersion('b'), 9);
});
