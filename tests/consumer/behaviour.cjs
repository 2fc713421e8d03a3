// The behaviour of API.md that every kind of store shares, run against the
// installed package: the in-memory store through `import` (esm.test.mjs) and
// `require` (cjs.test.js), and the IndexedDB store (indexeddb.test.mjs).
'use strict';

const { describe, test } = require('node:test');
const assert = require('node:assert/strict');

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const MILLISECOND_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/**
 * @param api the package's exports
 * @param label prefixes every suite's name
 * @param open resolves with a fresh, empty store of the kind under test
 * @param capabilities where the kinds of store differ: `multiActorBatches` (JetStream
 *   commits one actor atomically), `settleMs` (how long notifications may take to arrive),
 *   `maxEventBytes` (the largest event the storage takes; JetStream's default is 1 MB)
 */
module.exports = function defineBehaviourTests(
  api,
  label,
  open = async () => new api.EventStore(),
  { multiActorBatches = true, settleMs = 0, maxEventBytes = Infinity } = {},
) {
  /** Resolves once notifications of the commits made so far have been delivered. */
  const settle = () => new Promise((resolve) => setTimeout(resolve, settleMs));
  const { VersionConflictError, ValidationError, StorageError, isVersionConflict } = api;
  const event = (actorId, version, extra = {}) => ({ eventType: 'Happened', actorId, version, data: { n: version }, ...extra });

  async function rejectsWith(promise, Class, check = () => {}) {
    await assert.rejects(promise, (error) => {
      assert.ok(error instanceof Class, `expected ${Class.name}, got ${error?.name}: ${error?.message}`);
      assert.ok(error instanceof Error);
      check(error);
      return true;
    });
  }

  describe(`${label}: saving and reading events`, () => {
    test('saveEvent fills in id and timestamp and returns the stored event', async () => {
      const store = await open();
      const stored = await store.saveEvent({ eventType: 'OrderPlaced', actorId: 'order-7', version: 1, data: { total: 5 } });
      assert.match(stored.id, UUID_V4);
      assert.match(stored.timestamp, MILLISECOND_UTC);
      assert.ok(Math.abs(Date.parse(stored.timestamp) - Date.now()) < 60_000);
      assert.deepEqual(stored, {
        id: stored.id,
        eventType: 'OrderPlaced',
        actorId: 'order-7',
        version: 1,
        data: { total: 5 },
        timestamp: stored.timestamp,
      });
      assert.deepEqual(await store.getEvents('order-7'), [stored]);
    });

    test('every filled-in id is a UUID v4 of its own, its random hex digits all in use', async () => {
      const store = await open();
      const saved = await Promise.all(
        Array.from({ length: 600 }, (_, i) => store.saveEvent({ eventType: 'Counted', actorId: `counter-${i}`, version: 1, data: {} })),
      );
      const ids = saved.map((event) => event.id);
      for (const id of ids) assert.match(id, UUID_V4);
      assert.equal(new Set(ids).size, ids.length);
      // Each position that is random takes many values over 600 ids: no digit is stuck.
      for (let at = 0; at < 36; at++) {
        if ([8, 13, 14, 18, 23].includes(at)) continue; // the dashes and the version digit
        const seen = new Set(ids.map((id) => id[at]));
        assert.ok(seen.size >= (at === 19 ? 4 : 12), `digit ${at} takes ${seen.size} values`);
      }
      assert.deepEqual((await store.getEvents('counter-599')).map((e) => e.id), [ids[599]]);
    });

    test('a given id, commandId, metadata and timestamp are kept, the timestamp in UTC', async () => {
      const store = await open();
      const stored = await store.saveEvent(
        event('a', 1, {
          id: 'event-1',
          commandId: 'command-1',
          metadata: { correlationId: 'c', userId: 'u' },
          timestamp: '2026-11-27T08:30:00.123456789+02:00',
        }),
      );
      assert.equal(stored.id, 'event-1');
      assert.equal(stored.commandId, 'command-1');
      assert.deepEqual(stored.metadata, { correlationId: 'c', userId: 'u' });
      assert.equal(stored.timestamp, '2026-11-27T06:30:00.123456789Z');
      const fromDate = await store.saveEvent(event('a', 2, { timestamp: new Date('2026-01-02T03:04:05.678Z') }));
      assert.equal(fromDate.timestamp, '2026-01-02T03:04:05.678Z');
    });

    test('empty optional fields are stored as absent', async () => {
      const store = await open();
      for (const [version, empty] of [[1, ''], [2, null], [3, undefined]]) {
        const stored = await store.saveEvent(event('a', version, { commandId: empty, metadata: empty === '' ? {} : empty }));
        assert.ok(!('commandId' in stored), `commandId ${empty}`);
        assert.ok(!('metadata' in stored), `metadata for ${empty}`);
      }
      for (const read of await store.getEvents('a')) assert.deepEqual(Object.keys(read), ['id', 'eventType', 'actorId', 'version', 'data', 'timestamp']);
    });

    /** Inputs whose stored form differs from them in some way: empty optional fields, timestamps, escapes, numbers, odd keys. */
    const inputShapes = () => [
      { commandId: '', metadata: {} },
      { commandId: null, metadata: null },
      { commandId: 'c-1', metadata: { __proto__: 'kept', userId: 'ann' } },
      { timestamp: new Date(Date.UTC(2026, 10, 29, 1, 2, 3, 4)) },
      { timestamp: '2026-11-29T10:00:00.123456789+05:30' },
      { id: 'quote " backslash \\ tab \t é 😀' },
      { id: '12 34 2026-11-29T10:00:00.000Z 5 ' },
      { data: { zero: -0, big: 1e21, small: 5e-324, nested: [{ a: [] }, null, 'x'] } },
      { data: JSON.parse('{"__proto__": {"polluted": true}, "constructor": 1}') },
      { eventType: 'Größe 😀', commandId: 'ü 😀', metadata: { note: 'ü "q" \\ 😀', empty: '' }, data: { text: 'line\nbreak \u0001 \u2028 ü😀' } },
      { data: { deep: { a: { b: { c: [1, { d: 'é', e: [[[]]] }] } } }, '': 'empty key', 'ü😀': 1.5 } },
      {
        // Every character class a JSON string escapes or encodes in 1-4 bytes, numbers at their edges, keys in JavaScript's order.
        data: {
          controls: Array.from({ length: 32 }, (_, code) => String.fromCharCode(code)).join(''),
          escaped: '"\\/\'',
          edges: '\u007f\u0080\u07ff\u0800\ud7ff\ue000\uffff\u2028\u2029',
          astral: '😀\u{10000}\u{10ffff}',
          numbers: [0, -0, 1, -1.5, 0.1, 1e21, 1e-7, 5e-324, 1.7976931348623157e308, 2 ** 53 + 2, -123456789.125],
          order: { 2: 'two', 1: 'one', b: 'b', a: 'a', 'k "\n😀': true, '': null },
          nested: [[], {}, [[{ x: [false, true, null] }]]],
        },
      },
      // Larger than a save's first input area (4 KiB).
      { data: { long: `${'é'.repeat(3000)}${'x'.repeat(5000)}😀` } },
    ];

    test('what a save returns is exactly what reads return later, for every shape of input', async () => {
      const store = await open();
      const shapes = inputShapes();
      for (const [i, shape] of shapes.entries()) {
        const saved = await store.saveEvent(event('shapes', i + 1, shape));
        const [read] = await store.getEvents('shapes', i + 1);
        assert.deepEqual(saved, read, `shape ${i}`);
        assert.deepEqual(Object.keys(saved), Object.keys(read), `shape ${i}: the same fields in the same order`);
      }
      assert.equal({}.polluted, undefined);
    });

    test('what saveEvents returns is exactly what reads return later, for every shape of input, and shares nothing with the input', async () => {
      const store = await open();
      const shared = { items: [{ n: 1 }] };
      const shapes = [...inputShapes(), { data: shared }, { data: { first: shared, again: shared } }];
      const batch = shapes.map((shape, i) => event('shapes', i + 1, shape));
      const saved = await store.saveEvents(batch);
      const read = await store.getEvents('shapes');
      assert.deepEqual(saved, read);
      for (const [i, event] of saved.entries()) {
        assert.deepEqual(Object.keys(event), Object.keys(read[i]), `shape ${i}: the same fields in the same order`);
      }
      assert.equal({}.polluted, undefined);
      const last = saved.length - 1;
      assert.notEqual(saved[last - 1].data, shared);
      assert.notEqual(saved[last].data.first, shared);
      assert.notEqual(saved[last].data.first, saved[last].data.again);
      assert.notEqual(saved[last].data.first, saved[last - 1].data);
      shared.items[0].n = 2;
      assert.equal(saved[last - 1].data.items[0].n, 1, 'the input changed after saving leaves the answer as stored');
      assert.equal(saved[last].data.again.items[0].n, 1, 'the input changed after saving leaves the answer as stored');
      assert.deepEqual(await store.saveEvents(batch.slice(5, 7)), read.slice(5, 7), 'a retry resolves with the stored events');
    });

    test('getEvents reads ascending from a version; unknown actors are empty', async () => {
      const store = await open();
      for (const version of [1, 2, 5, 9]) await store.saveEvent(event('a', version));
      await store.saveEvent(event('b', 1));
      const versions = async (from) => (await store.getEvents('a', from)).map((e) => e.version);
      assert.deepEqual(await versions(), [1, 2, 5, 9]);
      assert.deepEqual(await versions(0), [1, 2, 5, 9]);
      assert.deepEqual(await versions(2), [2, 5, 9]);
      assert.deepEqual(await versions(3), [5, 9]);
      assert.deepEqual(await versions(10), []);
      assert.deepEqual(await store.getEvents('nobody'), []);
      assert.equal(await store.getLatestVersion('a'), 9);
      assert.equal(await store.getLatestVersion('b'), 1);
      assert.equal(await store.getLatestVersion('nobody'), 0);
    });

    test('a new actor may start at any version, and gaps are allowed', async () => {
      const store = await open();
      await store.saveEvent(event('a', 5));
      await store.saveEvent(event('a', 100));
      assert.equal(await store.getLatestVersion('a'), 100);
    });

    test('every data method returns a Promise', async () => {
      const store = await open();
      const results = [
        store.saveEvent(event('a', 1)),
        store.saveEvents([]),
        store.getEvents('a'),
        store.getLatestVersion('a'),
        store.getEventsWithErrors('a'),
        store.saveSnapshot({ actorId: 'a', version: 1, state: {} }),
        store.getLatestSnapshot('a'),
        store.saveEvent(null),
      ];
      for (const result of results) assert.ok(result instanceof Promise);
      await Promise.allSettled(results);
    });
  });

  describe(`${label}: version conflicts`, () => {
    test('a version not above the latest is a VersionConflictError and stores nothing', async () => {
      const store = await open();
      await store.saveEvent(event('order-7', 1));
      await store.saveEvent(event('order-7', 3));
      for (const attempted of [3, 2, 1]) {
        await rejectsWith(store.saveEvent(event('order-7', attempted)), VersionConflictError, (error) => {
          assert.equal(error.name, 'VersionConflictError');
          assert.equal(error.code, 'VERSION_CONFLICT');
          assert.equal(error.actorId, 'order-7');
          assert.equal(error.attemptedVersion, attempted);
          assert.equal(error.currentVersion, 3);
          assert.equal(error.message, `version conflict: actor "order-7" has version 3, cannot save version ${attempted}`);
          assert.equal(typeof error.stack, 'string');
          assert.ok(isVersionConflict(error));
        });
      }
      assert.deepEqual((await store.getEvents('order-7')).map((e) => e.version), [1, 3]);
    });

    test('isVersionConflict answers for any value, also for a conflict from another copy', () => {
      for (const value of [null, undefined, 42, 'VERSION_CONFLICT', {}, new Error('x'), new ValidationError('x', { field: 'f' })]) {
        assert.equal(isVersionConflict(value), false);
      }
      const foreign = Object.assign(new Error('version conflict'), { name: 'VersionConflictError', code: 'VERSION_CONFLICT' });
      assert.equal(isVersionConflict(foreign), true);
    });

    test('the optimistic concurrency loop: reload and retry after a conflict', async () => {
      const store = await open();
      const append = async (data) => {
        for (;;) {
          const version = (await store.getLatestVersion('counter')) + 1;
          try {
            return await store.saveEvent({ eventType: 'Incremented', actorId: 'counter', version, data });
          } catch (error) {
            if (!isVersionConflict(error)) throw error;
          }
        }
      };
      await Promise.all(Array.from({ length: 20 }, (_, i) => append({ i })));
      assert.deepEqual((await store.getEvents('counter')).map((e) => e.version), Array.from({ length: 20 }, (_, i) => i + 1));
    });
  });

  describe(`${label}: saveEvents`, () => {
    test('stores every event and returns them', async () => {
      const store = await open();
      const batch = multiActorBatches ? [event('a', 1), event('b', 1), event('a', 2)] : [event('a', 1), event('a', 2), event('a', 5)];
      const stored = await store.saveEvents(batch);
      assert.deepEqual(stored.map((e) => [e.actorId, e.version]), batch.map((e) => [e.actorId, e.version]));
      for (const e of stored) assert.match(e.id, UUID_V4);
      assert.deepEqual(await store.getEvents('a'), stored.filter((e) => e.actorId === 'a'));
      assert.deepEqual(await store.saveEvents([]), []);
    });

    test('a conflict anywhere, counting earlier events of the batch, stores nothing', async () => {
      const store = await open();
      await store.saveEvent(event('a', 1));
      const within = multiActorBatches ? [event('b', 1), event('a', 2), event('a', 2)] : [event('a', 2), event('a', 2)];
      await rejectsWith(store.saveEvents(within), VersionConflictError, (error) => {
        assert.equal(error.actorId, 'a');
        assert.equal(error.attemptedVersion, 2);
        assert.equal(error.currentVersion, 2);
      });
      const stale = multiActorBatches ? [event('b', 1), event('a', 1)] : [event('a', 1), event('a', 2)];
      await rejectsWith(store.saveEvents(stale), VersionConflictError, (error) => {
        assert.equal(error.currentVersion, 1);
      });
      assert.equal(await store.getLatestVersion('b'), 0);
      assert.equal(await store.getLatestVersion('a'), 1);
    });

    test('an invalid event rejects the batch with a field that starts with its index', async () => {
      const store = await open();
      const cases = [
        [[event('a', 1), { actorId: 'a', version: 2, data: {} }], '[1].eventType'],
        [[event('a', 1), event('a', 2, { data: { when: new Date() } })], '[1].data.when'],
        [[event('a', 1), 'not an event'], '[1]'],
        [[event('a', 0)], '[0].version'],
        [[event('a', 1), event('b', 1, { metadata: { k: 1 } })], '[1].metadata.k'],
      ];
      for (const [batch, field] of cases) {
        await rejectsWith(store.saveEvents(batch), ValidationError, (error) => assert.equal(error.field, field));
      }
      await rejectsWith(store.saveEvents('nope'), ValidationError);
      assert.equal(await store.getLatestVersion('a'), 0);
    });
  });

  describe(`${label}: idempotent retries`, () => {
    test('saving a stored event again resolves with the stored event, stores nothing and notifies no one', async () => {
      const store = await open();
      const heard = [];
      store.subscribe((n) => heard.push(n.event.id));
      const first = await store.saveEvent(event('a', 1, { id: 'event-1', timestamp: '2026-01-01T00:00:00Z' }));
      const retried = await store.saveEvent(event('a', 1, { id: 'event-1' }));
      assert.deepEqual(retried, first, 'the stored event, with its own timestamp');
      const dataChanged = await store.saveEvent(event('a', 1, { id: 'event-1', data: { other: true } }));
      assert.deepEqual(dataChanged, first, 'the same id at the same actor and version is the retry, whatever else it holds');
      await store.saveEvent(event('a', 2));
      assert.deepEqual(await store.saveEvent(event('a', 1, { id: 'event-1' })), first, 'also when it is no longer the latest');
      await settle();
      assert.deepEqual(heard.length, 2, 'notified once per stored event');
      assert.deepEqual((await store.getEvents('a')).map((e) => e.version), [1, 2]);
    });

    test('a retried batch resolves with the stored events; a partly stored one is a conflict', async () => {
      const store = await open();
      const batch = [event('a', 1, { id: 'e1' }), event('a', 2, { id: 'e2' })];
      const stored = await store.saveEvents(batch);
      assert.deepEqual(await store.saveEvents(batch), stored);
      assert.deepEqual(await store.saveEvent(batch[1]), stored[1], 'one event of a stored batch');
      await rejectsWith(store.saveEvents([batch[1], event('a', 3, { id: 'e3' })]), VersionConflictError, (error) => {
        assert.equal(error.attemptedVersion, 2);
        assert.equal(error.currentVersion, 2);
      });
      assert.deepEqual(await store.getEvents('a'), stored);
    });

    test('another id at a stored version is a conflict, and so is the id at another actor or version', async () => {
      const store = await open();
      await store.saveEvent(event('a', 1, { id: 'event-1' }));
      await rejectsWith(store.saveEvent(event('a', 1, { id: 'event-2' })), VersionConflictError);
      await rejectsWith(store.saveEvent(event('a', 1)), VersionConflictError, (error) => assert.equal(error.currentVersion, 1));
      const elsewhere = await store.saveEvent(event('b', 1, { id: 'event-1' }));
      assert.equal(elsewhere.actorId, 'b', 'reusing an id elsewhere is not the store\'s concern');
      assert.equal((await store.saveEvent(event('a', 2, { id: 'event-1' }))).version, 2);
    });
  });

  describe(`${label}: strict input`, () => {
    const cases = [
      ['metaData', 'metadata'],
      ['type', 'eventType'],
      ['expectedVersion', 'version'],
      ['actor', 'actorId'],
      ['payload', 'data'],
      ['timeStamp', 'timestamp'],
    ];
    for (const [field, meant] of cases) {
      test(`an unknown field "${field}" is a ValidationError naming it and suggesting "${meant}"`, async () => {
        const store = await open();
        await rejectsWith(store.saveEvent(event('a', 1, { [field]: { correlationId: 'c' } })), ValidationError, (error) => {
          assert.equal(error.field, field);
          assert.match(error.message, new RegExp(`did you mean "${meant}"`));
        });
        assert.equal(await store.getLatestVersion('a'), 0);
      });
    }

    test('an unknown field is named beside a contract field that the event inherits', async () => {
      const store = await open();
      class Added {
        get eventType() {
          return 'Added';
        }
      }
      const input = Object.assign(new Added(), { actorId: 'a', version: 1, data: {}, typo: 1 });
      await rejectsWith(store.saveEvent(input), ValidationError, (error) => assert.equal(error.field, 'typo'));
      await rejectsWith(store.saveEvents([input]), ValidationError, (error) => assert.equal(error.field, '[0].typo'));
      assert.equal(await store.getLatestVersion('a'), 0);
      delete input.typo;
      assert.equal((await store.saveEvent(input)).eventType, 'Added', 'an inherited field is read');
    });

    test('unknown fields in batches and snapshots are named too; undefined ones are absent', async () => {
      const store = await open();
      await rejectsWith(store.saveEvents([event('a', 1), event('a', 2, { colour: 'red' })]), ValidationError, (error) => {
        assert.equal(error.field, '[1].colour');
        assert.match(error.message, /not a field of an event/);
      });
      assert.equal(await store.getLatestVersion('a'), 0);
      await store.saveEvent(event('a', 1, { note: undefined }));
      await rejectsWith(store.saveSnapshot({ actorId: 'a', version: 1, data: {} }), ValidationError, (error) => {
        assert.equal(error.field, 'data');
        assert.match(error.message, /did you mean "state"/);
      });
      await rejectsWith(store.saveSnapshot({ actorId: 'a', version: 1, state: {}, 'odd key': 1 }), ValidationError, (error) =>
        assert.equal(error.field, '["odd key"]'),
      );
      assert.equal(await store.getLatestSnapshot('a'), null);
    });

    test('a timestamp that is RFC 3339 but not once in UTC (year 10000) is refused', async () => {
      const store = await open();
      await rejectsWith(store.saveEvent(event('a', 1, { timestamp: '9999-12-31T23:59:59.5-00:01' })), ValidationError, (error) =>
        assert.equal(error.field, 'timestamp'),
      );
      await rejectsWith(store.saveSnapshot({ actorId: 'a', version: 1, state: {}, timestamp: '9999-12-31T23:59:59.5-00:01' }), ValidationError);
      const latest = await store.saveEvent(event('a', 1, { timestamp: '9999-12-31T23:59:59.5+00:01' }));
      assert.equal(latest.timestamp, '9999-12-31T23:58:59.5Z');
      assert.deepEqual(await store.getEvents('a'), [latest]);
    });
  });

  describe(`${label}: CommandHandler`, () => {
    const counter = (options = {}) =>
      new api.CommandHandler({
        initialState: () => ({ count: 0, seen: [] }),
        evolve: (state, e) => ({ count: state.count + (e.data.by ?? 0), seen: [...state.seen, e.version] }),
        ...options,
      });

    test('load folds the events after the latest snapshot into its state; a new actor is the initial state at 0', async () => {
      const store = await open();
      const handler = counter();
      assert.deepEqual(await handler.load(store, 'c'), { state: { count: 0, seen: [] }, version: 0 });
      await store.saveEvents([1, 2, 3].map((v) => event('c', v, { data: { by: 10 } })));
      await store.saveSnapshot({ actorId: 'c', version: 2, state: { count: 100, seen: ['snapshot'] } });
      assert.deepEqual(await handler.load(store, 'c'), { state: { count: 110, seen: ['snapshot', 3] }, version: 3 });
    });

    test('handle saves what decide returns as one batch at the next versions, with the command\'s metadata and id', async () => {
      const store = await open();
      const handler = counter();
      await store.saveEvent(event('c', 4, { data: { by: 1 } }));
      const result = await handler.handle(
        store,
        'c',
        (state) => [
          { eventType: 'Added', data: { by: state.count + 1 } },
          { eventType: 'Added', data: { by: 5 }, metadata: { userId: 'own' }, commandId: 'own-command' },
        ],
        { metadata: { userId: 'u', correlationId: 'c-1' }, commandId: 'cmd-1' },
      );
      assert.deepEqual(result.events.map((e) => [e.version, e.actorId, e.data.by, e.commandId, e.metadata]), [
        [5, 'c', 2, 'cmd-1', { userId: 'u', correlationId: 'c-1' }],
        [6, 'c', 5, 'own-command', { userId: 'own', correlationId: 'c-1' }],
      ]);
      assert.deepEqual(result.state, { count: 8, seen: [4, 5, 6] });
      assert.equal(result.version, 6);
      assert.deepEqual(await store.getEvents('c'), [...(await store.getEvents('c', 0)).slice(0, 1), ...result.events]);
      const nothing = await handler.handle(store, 'c', () => []);
      assert.deepEqual(nothing, { state: { count: 8, seen: [4, 5, 6] }, version: 6, events: [] });
      assert.equal(await store.getLatestVersion('c'), 6);
    });

    test('on a conflict it loads and decides again on the new state; after maxRetries it rejects with the conflict', async () => {
      const store = await open();
      const decisions = [];
      let interfere = 2;
      const decide = async (state) => {
        decisions.push(state.count);
        if (interfere-- > 0) await store.saveEvent(event('c', (await store.getLatestVersion('c')) + 1, { data: { by: 100 } }));
        return [{ eventType: 'Added', data: { by: 1 } }];
      };
      const result = await counter().handle(store, 'c', decide);
      assert.deepEqual(decisions, [0, 100, 200], 'each decision on the state it would have saved over');
      assert.equal(result.version, 3);
      assert.equal(result.state.count, 201);
      interfere = 1;
      await rejectsWith(counter({ maxRetries: 0 }).handle(store, 'c', decide), VersionConflictError, (error) => assert.equal(error.attemptedVersion, 4));
      assert.equal(await store.getLatestVersion('c'), 4, 'only the interfering event');
    });

    test('errors of decide reject handle unchanged; decided events may not set actorId or version', async () => {
      const store = await open();
      const failure = new Error('insufficient funds');
      await assert.rejects(counter().handle(store, 'c', () => { throw failure; }), (error) => error === failure);
      await rejectsWith(counter().handle(store, 'c', () => [{ eventType: 'A', actorId: 'other', data: {} }]), ValidationError, (error) =>
        assert.equal(error.field, '[0].actorId'),
      );
      await rejectsWith(counter().handle(store, 'c', () => [{ eventType: 'A', data: {} }, { eventType: 'A', version: 9, data: {} }]), ValidationError, (error) =>
        assert.equal(error.field, '[1].version'),
      );
      await rejectsWith(counter().handle(store, 'c', () => 'nope'), ValidationError, (error) => assert.equal(error.field, 'decide'));
      await rejectsWith(counter().handle(store, 'c', () => [{ eventType: 'A', data: {}, metaData: {} }]), ValidationError, (error) =>
        assert.equal(error.field, '[0].metaData'),
      );
      assert.equal(await store.getLatestVersion('c'), 0);
      const valid = { initialState: () => ({}), evolve: (state) => state };
      for (const [options, field] of [
        [{ ...valid, initialState: undefined }, 'initialState'],
        [{ ...valid, evolve: 'no' }, 'evolve'],
        [{ ...valid, snapshotEvery: 0 }, 'snapshotEvery'],
        [{ ...valid, maxRetries: -1 }, 'maxRetries'],
        [null, 'options'],
      ]) {
        assert.throws(() => new api.CommandHandler(options), (error) => error instanceof ValidationError && error.field === field);
      }
    });

    test('snapshotEvery saves a snapshot of the new state whenever the version reaches or crosses a multiple of it', async () => {
      const store = await open();
      const handler = counter({ snapshotEvery: 3 });
      const add = (n) => handler.handle(store, 'c', () => Array.from({ length: n }, () => ({ eventType: 'Added', data: { by: 1 } })));
      await add(2);
      assert.equal(await store.getLatestSnapshot('c'), null);
      await add(1);
      assert.deepEqual((await store.getLatestSnapshot('c')).state, { count: 3, seen: [1, 2, 3] });
      await add(4); // 4..7 crosses 6
      const snapshot = await store.getLatestSnapshot('c');
      assert.equal(snapshot.version, 7);
      assert.deepEqual(snapshot.state, { count: 7, seen: [1, 2, 3, 4, 5, 6, 7] });
      assert.deepEqual(await handler.load(store, 'c'), { state: snapshot.state, version: 7 });
    });
  });

  describe(`${label}: global order`, () => {
    /** Saves events of several actors: singles and a batch (one actor's, where batches span one actor). */
    async function fill(store) {
      await store.saveEvent(event('a', 1));
      await store.saveEvent(event('b', 1));
      await store.saveEvents(multiActorBatches ? [event('a', 2), event('c', 1), event('a', 3)] : [event('a', 2), event('a', 3), event('a', 4)]);
      await store.saveEvent(event('b', 2));
    }
    const keys = (recorded) => recorded.map(({ event: e }) => `${e.actorId}${e.version}`);
    const committed = multiActorBatches ? ['a1', 'b1', 'a2', 'c1', 'a3', 'b2'] : ['a1', 'b1', 'a2', 'a3', 'a4', 'b2'];

    test('readAll returns every event once in commit order, positions increasing, a batch with nothing between', async () => {
      const store = await open();
      assert.equal(await store.lastPosition(), 0);
      assert.deepEqual(await store.readAll(), []);
      await fill(store);
      const all = await store.readAll();
      assert.deepEqual(keys(all), committed);
      for (const { position } of all) assert.ok(Number.isSafeInteger(position) && position >= 1);
      for (let i = 1; i < all.length; i++) assert.ok(all[i].position > all[i - 1].position, 'increasing');
      const batch = all.slice(2, 5).map((r) => r.position);
      assert.ok(batch[1] - batch[0] === 1 && batch[2] - batch[1] === 1, `the batch's positions are consecutive: ${batch}`);
      assert.equal(await store.lastPosition(), all.at(-1).position);
      assert.deepEqual(all.find((r) => r.event.actorId === 'b' && r.event.version === 2).event, (await store.getEvents('b'))[1]);
    });

    test('readAll pages with after and limit; bad arguments are ValidationErrors', async () => {
      const store = await open();
      await fill(store);
      const all = await store.readAll();
      const pages = [];
      for (let after = 0; ; ) {
        const page = await store.readAll({ after, limit: 4 });
        if (page.length === 0) break;
        assert.ok(page.length <= 4);
        pages.push(...page);
        after = page.at(-1).position;
      }
      assert.deepEqual(pages, all);
      assert.deepEqual(await store.readAll({ after: all[2].position, limit: 2 }), all.slice(3, 5));
      assert.deepEqual(await store.readAll({ after: all.at(-1).position }), []);
      for (const [options, field] of [[{ after: -1 }, 'after'], [{ after: 1.5 }, 'after'], [{ after: '3' }, 'after'], [{ limit: 0 }, 'limit'], [{ limit: 2 ** 53 }, 'limit'], ['all', 'options']]) {
        await rejectsWith(store.readAll(options), ValidationError, (error) => assert.equal(error.field, field));
      }
    });

    test('notifications carry the position; subscribe({ after }) catches up, then goes live, each event once, in order', async () => {
      const store = await open();
      await fill(store);
      const all = await store.readAll();
      const live = [];
      store.subscribe((n) => live.push(n.position));
      const fromMiddle = [];
      const unsubscribe = store.subscribe((n) => fromMiddle.push([n.position, `${n.event.actorId}${n.event.version}`]), { after: all[2].position });
      const fromStart = [];
      store.subscribe((n) => fromStart.push(n.position), { after: 0 });
      await store.saveEvent(event('d', 1));
      await store.saveEvents([event('d', 2), event('d', 3)]);
      await settle();
      await new Promise((resolve) => setTimeout(resolve, 50));
      const after = await store.readAll();
      assert.equal(after.length, all.length + 3);
      assert.deepEqual(fromStart, after.map((r) => r.position));
      assert.deepEqual(fromMiddle, after.slice(3).map((r) => [r.position, `${r.event.actorId}${r.event.version}`]));
      assert.deepEqual(live, after.slice(all.length).map((r) => r.position));
      unsubscribe();
      assert.throws(() => store.subscribe(() => {}, { after: -1 }), (error) => error instanceof ValidationError && error.field === 'after');
    });
  });

  describe(`${label}: export and import`, () => {
    test('exportEvents writes JSON Lines in position order; importEvents into an empty store gives the same events per actor', async () => {
      const source = await open();
      await source.saveEvents(multiActorBatches ? [event('a', 1, { metadata: { userId: 'u' }, commandId: 'c' }), event('b', 5)] : [event('a', 1, { metadata: { userId: 'u' }, commandId: 'c' })]);
      await source.saveEvent(event('b', 6, { timestamp: '2026-01-02T03:04:05.123456789+01:00', data: { text: 'line\nbreak ü 😀', n: 1.5e300 } }));
      await source.saveEvent(event('a', 2));
      const lines = [];
      for await (const line of source.exportEvents()) lines.push(line);
      assert.ok(lines.every((line) => line.endsWith('\n') && !line.slice(0, -1).includes('\n')));
      const all = await source.readAll();
      assert.deepEqual(lines.map((line) => JSON.parse(line)), all.map((r) => r.event));
      const tail = [];
      for await (const line of source.exportEvents({ after: all[0].position })) tail.push(line);
      assert.deepEqual(tail, lines.slice(1));

      const target = await open();
      assert.deepEqual(await target.importEvents(lines.join('')), { imported: lines.length, skipped: 0 });
      for (const actor of ['a', 'b']) assert.deepEqual(await target.getEvents(actor), await source.getEvents(actor));
      assert.deepEqual(await target.importEvents(lines), { imported: 0, skipped: lines.length }, 'importing again skips what is stored');
      assert.deepEqual((await target.readAll()).map((r) => r.event), all.map((r) => r.event));
    });

    test('text arrives in chunks of any size, as strings or bytes; blank lines are ignored', async () => {
      const store = await open();
      const events = [event('a', 1, { id: 'e1', timestamp: '2026-01-01T00:00:00Z', data: { s: 'ü😀' } }), event('a', 2, { id: 'e2', timestamp: '2026-01-01T00:00:01Z' })];
      const text = `\n${events.map((e) => JSON.stringify(e)).join('\r\n\n')}\n\n`;
      const bytes = new TextEncoder().encode(text);
      async function* byteByByte() {
        for (const byte of bytes) yield new Uint8Array([byte]);
      }
      assert.deepEqual(await store.importEvents(byteByByte()), { imported: 2, skipped: 0 });
      assert.deepEqual(await store.importEvents(text.match(/[\s\S]{1,7}/g)), { imported: 0, skipped: 2 });
      const stream = new ReadableStream({ start(controller) { controller.enqueue(bytes.slice(0, 9)); controller.enqueue(bytes.slice(9)); controller.close(); } });
      assert.deepEqual(await store.importEvents(stream), { imported: 0, skipped: 2 });
      assert.deepEqual((await store.getEvents('a')).map((e) => [e.id, e.data]), [['e1', { s: 'ü😀' }], ['e2', { n: 2 }]]);
    });

    test('a bad line stops the import with an error naming it; the lines before it are stored, none after', async () => {
      const store = await open();
      const line = (e) => JSON.stringify(e);
      const text = [line(event('a', 1)), '', line(event('a', 2)), line({ ...event('a', 3), data: { price: 'x' }, metaData: {} }), line(event('a', 4))].join('\n');
      await rejectsWith(store.importEvents(text), ValidationError, (error) => {
        assert.equal(error.field, 'line 4: metaData');
        assert.match(error.message, /^line 4: /);
      });
      assert.deepEqual((await store.getEvents('a')).map((e) => e.version), [1, 2]);
      await rejectsWith(store.importEvents(`${line(event('a', 3))}\n{"eventType": "T", "actorId": "a", "version": 2, "data": {}}\n${line(event('a', 9))}`), VersionConflictError, (error) => {
        assert.equal(error.line, 2);
        assert.equal(error.currentVersion, 3);
      });
      assert.deepEqual((await store.getEvents('a')).map((e) => e.version), [1, 2, 3]);
      await rejectsWith(store.importEvents('{"eventType": "T", "actorId"'), ValidationError, (error) => assert.match(error.field, /^line 1: /));
      await rejectsWith(store.importEvents(42), ValidationError, (error) => assert.equal(error.field, 'source'));
    });
  });

  describe(`${label}: getEventsWithErrors`, () => {
    test('returns the same events as getEvents and no errors for the memory store', async () => {
      const store = await open();
      await store.saveEvents([event('a', 1), event('a', 2)]);
      const result = await store.getEventsWithErrors('a', 2);
      assert.deepEqual(result.events, await store.getEvents('a', 2));
      assert.deepEqual(result.errors, []);
      assert.equal(result.hasErrors(), false);
      assert.deepEqual((await store.getEventsWithErrors('nobody')).events, []);
    });
  });

  describe(`${label}: snapshots`, () => {
    test('the highest version is the latest; the same version replaces', async () => {
      const store = await open();
      await store.saveEvents([event('a', 3), event('a', 5), event('a', 8)]);
      assert.equal(await store.getLatestSnapshot('a'), null);
      const saved = await store.saveSnapshot({ actorId: 'a', version: 5, state: { total: 5 } });
      assert.match(saved.timestamp, MILLISECOND_UTC);
      assert.deepEqual(saved, { actorId: 'a', version: 5, state: { total: 5 }, timestamp: saved.timestamp });
      await store.saveSnapshot({ actorId: 'a', version: 3, state: { total: 3 } });
      assert.deepEqual(await store.getLatestSnapshot('a'), saved);
      await store.saveSnapshot({ actorId: 'a', version: 5, state: { total: 55 }, timestamp: new Date(0) });
      assert.deepEqual(await store.getLatestSnapshot('a'), {
        actorId: 'a',
        version: 5,
        state: { total: 55 },
        timestamp: '1970-01-01T00:00:00.000Z',
      });
      await store.saveSnapshot({ actorId: 'a', version: 8, state: {} });
      assert.equal((await store.getLatestSnapshot('a')).version, 8);
      assert.equal(await store.getLatestSnapshot('b'), null);
    });

    test('a snapshot above the actor\'s latest version, or of an actor with no events, is a ValidationError on version', async () => {
      const store = await open();
      await rejectsWith(store.saveSnapshot({ actorId: 'a', version: 1, state: {} }), ValidationError, (error) => {
        assert.equal(error.field, 'version');
        assert.match(error.message, /no events/);
      });
      await store.saveEvents([event('a', 1), event('a', 2)]);
      await rejectsWith(store.saveSnapshot({ actorId: 'a', version: 3, state: {} }), ValidationError, (error) => {
        assert.equal(error.field, 'version');
        assert.match(error.message, /latest version is 2/);
      });
      assert.equal(await store.getLatestSnapshot('a'), null);
      assert.equal((await store.saveSnapshot({ actorId: 'a', version: 2, state: { n: 2 } })).version, 2);
    });

    test('invalid snapshots are ValidationErrors naming the field', async () => {
      const store = await open();
      const cases = [
        [{ version: 1, state: {} }, 'actorId'],
        [{ actorId: 'a', version: 0, state: {} }, 'version'],
        [{ actorId: 'a', version: 1.5, state: {} }, 'version'],
        [{ actorId: 'a', version: 1, state: [] }, 'state'],
        [{ actorId: 'a', version: 1 }, 'state'],
        [{ actorId: 'a', version: 1, state: { m: new Map() } }, 'state.m'],
        [{ actorId: 'a', version: 1, state: {}, timestamp: 'later' }, 'timestamp'],
        [null, ''],
      ];
      for (const [snapshot, field] of cases) {
        await rejectsWith(store.saveSnapshot(snapshot), ValidationError, (error) => assert.equal(error.field, field));
      }
      assert.equal(await store.getLatestSnapshot('a'), null);
    });
  });

  describe(`${label}: notifications`, () => {
    test('listeners hear EventStored for every stored event, in commit order, after the call', async () => {
      const store = await open();
      const heard = [];
      let saving = false;
      store.subscribe((notification) => {
        assert.equal(saving, false, 'a listener must not run inside saveEvent');
        heard.push(notification);
      });
      saving = true;
      const pending = store.saveEvent(event('a', 1));
      saving = false;
      await pending;
      if (multiActorBatches) {
        await store.saveEvents([event('a', 2), event('b', 1)]);
      } else {
        await store.saveEvents([event('a', 2)]);
        await store.saveEvents([event('b', 1)]);
      }
      await store.saveEvent(event('a', 2)).catch(() => {});
      await settle();
      assert.deepEqual(heard.map((n) => [n.eventType, n.event.actorId, n.event.version]), [
        [api.EventTypeEventStored, 'a', 1],
        ['EventStored', 'a', 2],
        ['EventStored', 'b', 1],
      ]);
      assert.match(heard[0].event.id, UUID_V4);
    });

    /** Runs `body(reported)` with `globalThis.reportError` collecting what the store reports, and no unhandled rejection allowed. */
    async function collectingReports(t, body) {
      t.mock.method(console, 'error', () => {});
      const hadReportError = 'reportError' in globalThis;
      const originalReportError = globalThis.reportError;
      const reported = [];
      globalThis.reportError = (error) => reported.push(error);
      const unhandled = [];
      const onUnhandled = (reason) => unhandled.push(reason);
      process.on('unhandledRejection', onUnhandled);
      try {
        await body(reported);
        await new Promise((resolve) => setTimeout(resolve, 20));
        assert.deepEqual(unhandled, []);
      } finally {
        process.off('unhandledRejection', onUnhandled);
        if (hadReportError) globalThis.reportError = originalReportError;
        else delete globalThis.reportError;
      }
    }

    test('a throwing listener affects neither the save nor the other listeners; unsubscribe stops delivery', (t) =>
      collectingReports(t, async (reported) => {
        const store = await open();
        const heard = [];
        store.subscribe(() => {
          throw new Error('listener failure');
        });
        const unsubscribe = store.subscribe((n) => heard.push(n.event.version));
        await store.saveEvent(event('a', 1));
        await settle();
        unsubscribe();
        await store.saveEvent(event('a', 2));
        await settle();
        assert.deepEqual(heard, [1]);
        assert.equal(reported.length, 2);
        assert.equal(reported[0].message, 'listener failure');
        assert.equal(await store.getLatestVersion('a'), 2);
      }));

    test('an async listener whose promise rejects is reported, never an unhandled rejection', (t) =>
      collectingReports(t, async (reported) => {
        const store = await open();
        const heard = [];
        store.subscribe(async () => {
          await Promise.resolve();
          throw new Error('async listener failure');
        });
        store.subscribe((n) => heard.push(n.event.version));
        await store.saveEvent(event('a', 1));
        await settle();
        await new Promise((resolve) => setTimeout(resolve, 20));
        assert.deepEqual(heard, [1]);
        assert.deepEqual(reported.map((error) => error.message), ['async listener failure']);
      }));

    test('subscribe needs a function', async () => {
      const store = await open();
      assert.throws(() => store.subscribe('nope'), (error) => error instanceof ValidationError && error.field === 'listener');
    });
  });

  describe(`${label}: immutability`, () => {
    test('mutating returned or passed objects never changes the store', async () => {
      const store = await open();
      const input = event('a', 1, { data: { items: [{ price: 1 }] }, metadata: { userId: 'u' } });
      const stored = await store.saveEvent(input);
      input.data.items[0].price = 99;
      input.metadata.userId = 'changed';
      stored.data.items.push('x');
      const read = await store.getEvents('a');
      read[0].data.items[0].price = 42;
      const notified = [];
      store.subscribe((n) => notified.push(n));
      await store.saveEvent(event('a', 2));
      await settle();
      assert.throws(() => {
        'use strict';
        notified[0].event.data.n = 0;
      }, TypeError);
      const again = await store.getEvents('a');
      assert.deepEqual(again[0].data, { items: [{ price: 1 }] });
      assert.deepEqual(again[0].metadata, { userId: 'u' });
      assert.equal(again[1].data.n, 2);
    });

    test('notifications are deep-frozen, live and caught up, to the last nested array and object', async () => {
      const store = await open();
      /** The paths in `value` to an object or array that is not frozen. */
      const unfrozen = (value, path = 'notification') => {
        if (typeof value !== 'object' || value === null) return [];
        const own = Object.isFrozen(value) ? [] : [path];
        return own.concat(...Object.keys(value).map((key) => unfrozen(value[key], `${path}.${key}`)));
      };
      const nested = { data: { rows: [[{ x: [1, { y: {} }] }], []], empty: {} }, metadata: { trace: 't' } };
      const live = [];
      store.subscribe((n) => live.push(n));
      await store.saveEvent(event('a', 1, nested));
      await store.saveEvents([event('a', 2, nested), event('a', 3, nested)]);
      await settle();
      const caughtUp = [];
      await new Promise((resolve) => {
        const unsubscribe = store.subscribe(
          (n) => {
            caughtUp.push(n);
            if (caughtUp.length === 3) {
              unsubscribe();
              resolve();
            }
          },
          { after: 0 },
        );
      });
      assert.equal(live.length, 3);
      for (const n of [...live, ...caughtUp]) {
        assert.deepEqual(unfrozen(n), []);
        assert.deepEqual(n.event.data, nested.data);
        assert.deepEqual(Object.keys(n), ['eventType', 'event', 'position']);
      }
      assert.throws(() => {
        'use strict';
        caughtUp[0].event.data.rows[0][0].x[1].y.z = 1;
      }, TypeError);
      assert.deepEqual((await store.getEvents('a'))[0].data, nested.data);
    });
  });

  describe(`${label}: JSON values`, () => {
    test('__proto__ and constructor keys are ordinary data, never touching a prototype', async () => {
      const store = await open();
      const data = JSON.parse('{"__proto__": {"polluted": true}, "constructor": {"prototype": {"polluted": true}}}');
      const metadata = JSON.parse('{"__proto__": "m", "constructor": "c"}');
      await store.saveEvent(event('a', 1, { data, metadata }));
      const [read] = await store.getEvents('a');
      assert.ok(Object.hasOwn(read.data, '__proto__'));
      assert.deepEqual(Object.getOwnPropertyDescriptor(read.data, '__proto__').value, { polluted: true });
      assert.deepEqual(read.data.constructor, { prototype: { polluted: true } });
      assert.equal(Object.getOwnPropertyDescriptor(read.metadata, '__proto__').value, 'm');
      assert.equal({}.polluted, undefined);
      assert.equal(Object.prototype.polluted, undefined);
    });

    test('undefined properties are left out, -0 becomes 0, null-prototype objects are accepted', async () => {
      const store = await open();
      const bare = Object.assign(Object.create(null), { x: 1 });
      const stored = await store.saveEvent(event('a', 1, { data: { gone: undefined, zero: -0, bare, list: [null, true, 'ü😀', 1.5e300] } }));
      assert.deepEqual(stored.data, { zero: 0, bare: { x: 1 }, list: [null, true, 'ü😀', 1.5e300] });
      assert.ok(Object.is(stored.data.zero, 0));
    });

    test('a large event round-trips', async () => {
      const store = await open();
      const items = Array.from({ length: 20_000 }, (_, i) => ({ sku: `sku-${i}`, qty: i, tags: ['a', 'b'] }));
      await store.saveEvent(event('big', 1, { data: { items } }));
      assert.deepEqual((await store.getEvents('big'))[0].data.items, items);
    });
  });

  describe(`${label}: bad input`, () => {
    class Order {
      constructor() {
        this.id = 1;
      }
    }
    const cyclic = { a: {} };
    cyclic.a.back = cyclic;
    let deep = { leaf: true };
    for (let i = 0; i < 100_000; i++) deep = { deep };
    const throwingGetter = Object.defineProperty({}, 'boom', { enumerable: true, get() { throw new Error('getter failed'); } });
    const throwingProxy = new Proxy({}, { ownKeys() { throw new Error('trap failed'); } });

    const cases = [
      ['an event that is null', null, ''],
      ['an event that is a number', 42, ''],
      ['an event that is a string', 'event', ''],
      ['an event that is an array', [], ''],
      ['a missing actorId', { eventType: 'T', version: 1, data: {} }, 'actorId'],
      ['an empty actorId', { eventType: 'T', actorId: '', version: 1, data: {} }, 'actorId'],
      ['a numeric actorId', { eventType: 'T', actorId: 7, version: 1, data: {} }, 'actorId'],
      ['a missing eventType', { actorId: 'a', version: 1, data: {} }, 'eventType'],
      ['an empty eventType', { eventType: '', actorId: 'a', version: 1, data: {} }, 'eventType'],
      ['a missing version', { eventType: 'T', actorId: 'a', data: {} }, 'version'],
      ...[['a string', '1'], ['NaN', NaN], ['1.5', 1.5], ['0', 0], ['-1', -1], ['2**53', 2 ** 53], ['Infinity', Infinity], ['a BigInt', 1n]].map(
        ([name, version]) => [`version ${name}`, { eventType: 'T', actorId: 'a', version, data: {} }, 'version'],
      ),
      ['a non-string metadata value', event('a', 1, { metadata: { userId: 5 } }), 'metadata.userId'],
      ['metadata that is not an object', event('a', 1, { metadata: 'm' }), 'metadata'],
      ['a timestamp that is not RFC 3339', event('a', 1, { timestamp: '27/11/2026' }), 'timestamp'],
      ['an invalid Date timestamp', event('a', 1, { timestamp: new Date('nope') }), 'timestamp'],
      ['a numeric timestamp', event('a', 1, { timestamp: 1_700_000_000_000 }), 'timestamp'],
      ['a non-string commandId', event('a', 1, { commandId: 3 }), 'commandId'],
      ['missing data', { eventType: 'T', actorId: 'a', version: 1 }, 'data'],
      ['null data', event('a', 1, { data: null }), 'data'],
      ['array data', event('a', 1, { data: [1] }), 'data'],
      ['string data', event('a', 1, { data: 'x' }), 'data'],
      ['a function in data', event('a', 1, { data: { f() {} } }), 'data.f'],
      ['a symbol in data', event('a', 1, { data: { s: Symbol('s') } }), 'data.s'],
      ['a BigInt in data', event('a', 1, { data: { big: 10n } }), 'data.big'],
      ['NaN in data', event('a', 1, { data: { items: [{ price: 1 }, { price: 2 }, { price: NaN }] } }), 'data.items[2].price'],
      ['Infinity in data', event('a', 1, { data: { x: -Infinity } }), 'data.x'],
      ['undefined in an array', event('a', 1, { data: { list: [1, undefined] } }), 'data.list[1]'],
      ['a hole in an array', event('a', 1, { data: { list: [1, , 3] } }), 'data.list[1]'], // eslint-disable-line no-sparse-arrays
      ['a Date in data', event('a', 1, { data: { when: new Date() } }), 'data.when'],
      ['a Map in data', event('a', 1, { data: { m: new Map() } }), 'data.m'],
      ['a Set in data', event('a', 1, { data: { s: new Set() } }), 'data.s'],
      ['a typed array in data', event('a', 1, { data: { bytes: new Uint8Array(2) } }), 'data.bytes'],
      ['a class instance in data', event('a', 1, { data: { order: new Order() } }), 'data.order'],
      ['a boxed string in data', event('a', 1, { data: { s: new String('x') } }), 'data.s'], // eslint-disable-line no-new-wrappers
      ['a cycle in data', event('a', 1, { data: cyclic }), 'data.a.back'],
      ['a lone surrogate in a string', event('a', 1, { data: { text: 'a\uD800b' } }), 'data.text'],
      ['a lone surrogate in a key', event('a', 1, { data: { ['k\uDC00']: 1 } }), 'data["k\\udc00"]'],
      ['a key that is not an identifier', event('a', 1, { data: { 'unit price': NaN } }), 'data["unit price"]'],
      ['a lone surrogate in actorId', { eventType: 'T', actorId: '\uD800', version: 1, data: {} }, 'actorId'],
      ['a throwing getter', event('a', 1, { data: { nested: throwingGetter } }), 'data.nested.boom'],
      ['a throwing proxy', event('a', 1, { data: { p: throwingProxy } }), 'data.p'],
    ];
    for (const [name, input, field] of cases) {
      test(`${name} is a ValidationError for "${field}" and stores nothing`, async () => {
        const store = await open();
        await rejectsWith(store.saveEvent(input), ValidationError, (error) => {
          assert.ok(error instanceof TypeError);
          assert.equal(error.name, 'ValidationError');
          assert.equal(error.code, 'INVALID_INPUT');
          assert.equal(error.field, field);
          assert.ok(error.message.length > field.length);
        });
        assert.equal(await store.getLatestVersion('a'), 0);
        assert.deepEqual(await store.getEvents('a'), []);
        assert.equal((await store.saveEvent(event('a', 1))).version, 1, 'the store is still usable');
      });
    }

    test('nesting deeper than the documented limit of 100 levels is an error, not a stack overflow', async () => {
      const store = await open();
      const nest = (levels) => {
        let value = {};
        for (let i = 1; i < levels; i++) value = { v: value };
        return value;
      };
      await store.saveEvent(event('a', 1, { data: nest(100) }));
      await rejectsWith(store.saveEvent(event('a', 2, { data: nest(101) })), ValidationError, (error) => {
        assert.match(error.field, /^data(\.v){100}$/);
      });
      await rejectsWith(store.saveEvent(event('a', 2, { data: deep })), ValidationError);
      assert.equal(await store.getLatestVersion('a'), 1);
    });

    test('read arguments are checked', async () => {
      const store = await open();
      await rejectsWith(store.getEvents(7), ValidationError, (error) => assert.equal(error.field, 'actorId'));
      await rejectsWith(store.getEvents('a', '1'), ValidationError, (error) => assert.equal(error.field, 'fromVersion'));
      await rejectsWith(store.getEvents('a', 1.5), ValidationError, (error) => assert.equal(error.field, 'fromVersion'));
      await rejectsWith(store.getLatestVersion(undefined), ValidationError, (error) => assert.equal(error.field, 'actorId'));
      await rejectsWith(store.getLatestSnapshot(null), ValidationError, (error) => assert.equal(error.field, 'actorId'));
    });
  });

  describe(`${label}: hostile input`, () => {
    test('a 10 MB data object round-trips, or is refused by the storage with StorageError', async () => {
      const store = await open();
      const data = { blob: 'x'.repeat(10 * 1024 * 1024), list: Array.from({ length: 1000 }, (_, i) => i) };
      if (maxEventBytes > 11 * 1024 * 1024) {
        await store.saveEvent(event('big', 1, { data }));
        const [read] = await store.getEvents('big');
        assert.equal(read.data.blob.length, data.blob.length);
        assert.deepEqual(read.data.list, data.list);
      } else {
        await rejectsWith(store.saveEvent(event('big', 1, { data })), StorageError);
        assert.deepEqual(await store.getEvents('big'), []);
      }
      const next = (await store.getLatestVersion('big')) + 1;
      assert.equal((await store.saveEvent(event('big', next))).version, next, 'the store is still usable');
    });

    test('very long actor ids', async () => {
      const store = await open();
      const actorId = 'actor-'.repeat(100); // 600 characters
      await store.saveEvent(event(actorId, 1));
      assert.equal(await store.getLatestVersion(actorId), 1);
      assert.equal((await store.getEvents(actorId))[0].actorId, actorId);
    });

    test('frozen objects and well-behaved proxies are read like plain objects', async () => {
      const store = await open();
      const frozen = Object.freeze({ a: Object.freeze([1, 2]), b: 'text' });
      const proxied = new Proxy({ x: 1, y: [true] }, {});
      const stored = await store.saveEvent(Object.freeze(event('a', 1, { data: { frozen, proxied } })));
      assert.deepEqual(stored.data, { frozen: { a: [1, 2], b: 'text' }, proxied: { x: 1, y: [true] } });
    });

    /** `{ data, reads }`: `data.amount` is a getter giving `first` at its first read and `later` after; `reads()` counts them. */
    function shifty(first, later) {
      let reads = 0;
      const data = {
        get amount() {
          reads += 1;
          return reads === 1 ? first : later;
        },
      };
      return { data, reads: () => reads };
    }

    test('each property is read once: a getter cannot show one value to the check and another to the store', async () => {
      const store = await open();
      const { data, reads } = shifty(5, () => 'not JSON');
      const stored = await store.saveEvent(event('a', 1, { data }));
      assert.equal(reads(), 1);
      assert.deepEqual(stored.data, { amount: 5 });
    });

    test('a value refused at its first read stays refused, whatever a getter gives the next time', async () => {
      const store = await open();
      const { data } = shifty(() => 'not JSON', 5);
      await rejectsWith(store.saveEvent(event('a', 1, { data })), ValidationError);
      assert.equal(await store.getLatestVersion('a'), 0);
    });

    test('symbol keys and non-enumerable properties are left out, as JSON.stringify does', async () => {
      const store = await open();
      const data = { kept: 1, [Symbol('hidden')]: 2 };
      Object.defineProperty(data, 'secret', { value: 3, enumerable: false });
      assert.deepEqual((await store.saveEvent(event('a', 1, { data }))).data, { kept: 1 });
    });
  });

  describe(`${label}: close`, () => {
    test('close lets the saves already made settle, and stores them; later calls reject with StorageError', async () => {
      const store = await open();
      const saves = Array.from({ length: 50 }, (_, i) => store.saveEvent(event(`close-${i}`, 1)));
      for (const save of saves) save.catch(() => {}); // looked at below
      await store.close();
      const outcomes = await Promise.allSettled(saves);
      assert.deepEqual(outcomes.filter((o) => o.status === 'rejected').map((o) => String(o.reason)), [], 'every save made before close is stored');
      await rejectsWith(store.saveEvent(event('close-0', 2)), StorageError);
    });

    test('after close every method rejects with StorageError; closing again is harmless', async () => {
      const store = await open();
      await store.saveEvent(event('a', 1));
      assert.equal(await store.close(), undefined);
      await store.close();
      const calls = [
        () => store.saveEvent(event('a', 2)),
        () => store.saveEvents([event('a', 2)]),
        () => store.getEvents('a'),
        () => store.getEventsWithErrors('a'),
        () => store.getLatestVersion('a'),
        () => store.saveSnapshot({ actorId: 'a', version: 1, state: {} }),
        () => store.getLatestSnapshot('a'),
      ];
      for (const call of calls) {
        await rejectsWith(call(), StorageError, (error) => {
          assert.equal(error.name, 'StorageError');
          assert.equal(error.code, 'STORAGE');
        });
      }
      assert.throws(() => store.subscribe(() => {}), StorageError);
    });
  });

  describe(`${label}: metadata helpers`, () => {
    test('set and get each well-known key, creating metadata when needed', () => {
      const { MetadataKey } = api;
      assert.deepEqual({ ...MetadataKey }, {
        CorrelationId: 'correlationId',
        CausationId: 'causationId',
        UserId: 'userId',
        TraceId: 'traceId',
        SpanId: 'spanId',
      });
      for (const name of ['CorrelationId', 'CausationId', 'UserId', 'TraceId', 'SpanId']) {
        const draft = event('a', 1);
        assert.equal(api[`get${name}`](draft), '');
        api[`set${name}`](draft, `${name}-value`);
        assert.equal(api[`get${name}`](draft), `${name}-value`);
        assert.deepEqual(draft.metadata, { [MetadataKey[name]]: `${name}-value` });
      }
      const draft = { metadata: null };
      assert.equal(api.getMetadata(draft, 'x'), '');
      assert.equal(api.getMetadata(draft, 'toString'), '');
      api.setMetadata(draft, 'x', 'y');
      assert.equal(api.getMetadata(draft, 'x'), 'y');
    });

    test('withMetadataFrom copies metadata; a null source is a no-op', async () => {
      const cause = { metadata: { correlationId: 'c', traceId: 't' } };
      const next = event('a', 1, { metadata: { userId: 'u' } });
      api.withMetadataFrom(next, cause);
      assert.deepEqual(next.metadata, { userId: 'u', correlationId: 'c', traceId: 't' });
      const untouched = event('a', 2);
      api.withMetadataFrom(untouched, null);
      api.withMetadataFrom(untouched, { metadata: undefined });
      assert.equal(untouched.metadata, undefined);
      const store = await open();
      assert.deepEqual((await store.saveEvent(next)).metadata, next.metadata);
    });
  });
};
