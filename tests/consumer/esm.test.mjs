// The package through `import`, as a Node.js ES module user loads it.
import { createRequire } from 'node:module';
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
