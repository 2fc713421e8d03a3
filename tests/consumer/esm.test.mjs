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
