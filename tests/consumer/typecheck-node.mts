// A Node.js project without the DOM library (tsconfig.node.json: `lib: ["es2022"]`, no @types):
// the main entry's declarations must type-check there, with no DOM type leaking out of them.
// Checked by `tsc --strict --noEmit`; each `@ts-expect-error` line must fail to compile.
import {
  CommandHandler,
  EventStore,
  StorageError,
  ValidationError,
  VersionConflictError,
  getCorrelationId,
  isVersionConflict,
  setCorrelationId,
  type Event,
  type ImportResult,
  type IndexedDbOptions,
  type NewEvent,
  type ReadableStreamLike,
} from 'aether-eventstore';
import { startSync, type ConflictDecision, type Rejection, type Sync, type SyncStatus } from 'aether-eventstore/sync';

// @ts-expect-error this project really has no DOM library
export type NoDom = IDBFactory;

type Placed = Event<'OrderPlaced', { total: number; lines: readonly { sku: string; qty: number }[] }>;

export async function inNode(directory: string): Promise<number> {
  const store = await EventStore.openDirectory(directory, { durability: 'relaxed' });
  const strict: EventStore = await EventStore.openDirectory(directory);
  const draft: NewEvent<Placed> = { eventType: 'OrderPlaced', actorId: 'order-7', version: 1, data: { total: 5, lines: [] } };
  setCorrelationId(draft, 'c-1');
  const placed: Placed = await store.saveEvent(draft);
  const correlation: string = getCorrelationId(placed);

  // IndexedDB in Node.js: a factory and key range such as fake-indexeddb's, typed by what the store uses.
  const fake: IndexedDbOptions = {
    indexedDB: { open: (name: string, version?: number) => ({ name, version }) },
    IDBKeyRange: { bound: (lower: unknown, upper: unknown) => [lower, upper] },
    durability: 'relaxed',
  };
  await EventStore.openIndexedDb('orders', fake).catch((error: unknown) => error instanceof StorageError);
  // @ts-expect-error not an IndexedDB factory
  await EventStore.openIndexedDb('orders', { indexedDB: 'indexedDB' });
  // @ts-expect-error directories have strict or relaxed durability
  await EventStore.openDirectory(directory, { durability: 'default' });

  // Import from text, chunks of bytes, and anything shaped like a web ReadableStream.
  const text = async function* (): AsyncGenerator<string | Uint8Array> {
    yield '{"eventType":"OrderPlaced",';
    yield new Uint8Array([10]);
  };
  const results: ImportResult[] = [await store.importEvents(text()), await store.importEvents(['line\n'])];
  const chunks = ['{}\n'];
  const stream: ReadableStreamLike<string> = {
    getReader: () => ({
      read: async () => (chunks.length > 0 ? { done: false, value: chunks.shift() } : { done: true }),
      releaseLock: () => {},
    }),
  };
  results.push(await store.importEvents(stream));
  for await (const line of store.exportEvents()) void line.length;

  const counter = new CommandHandler<{ n: number }, Placed>({
    initialState: () => ({ n: 0 }),
    evolve: (state, e) => ({ n: state.n + e.data.lines.length }),
    snapshotEvery: 50,
  });
  const { version } = await counter.handle(store, 'order-7', () => [
    { eventType: 'OrderPlaced', data: { total: 1, lines: [{ sku: 'a', qty: 1 }] } },
  ]);

  try {
    await store.saveEvent({ ...draft, version: 1 });
  } catch (error) {
    if (isVersionConflict(error)) void error.currentVersion;
    if (error instanceof VersionConflictError) void error.attemptedVersion;
    if (error instanceof ValidationError) void error.field;
  }
  await Promise.all([store.close(), strict.close()]);
  void [correlation, results];
  return version + (await store.lastPosition());
}

type ItemAdded = Event<'ItemAdded', { item: string }>;

/** aether-eventstore/sync type-checks without the DOM library too. */
export async function synced(local: EventStore, remote: EventStore): Promise<number> {
  const sync: Sync<ItemAdded> = startSync<ItemAdded>(local, async () => remote, {
    onConflict: ({ actorId, pending, remote: won }): ConflictDecision =>
      pending.length > 3 ? 'discard' : [{ eventType: 'ItemAdded', actorId, version: won[won.length - 1].version + 1, data: { item: pending[0].data.item } }],
    filter: (actorId) => actorId.startsWith('list-'),
  });
  const status: SyncStatus = sync.status;
  const stop: () => void = sync.onStatus((next: SyncStatus) => next === 'online');
  stop();
  sync.onChange(() => undefined)();
  const pending: ItemAdded[] = await sync.pendingEvents('list-1');
  const rejections: Rejection<ItemAdded>[] = await sync.rejections();
  const reason: string = rejections[0].reason;
  await sync.flushed();
  await sync.stop();
  startSync(local, remote);
  // @ts-expect-error onConflict answers 'rebase', 'discard' or events
  startSync(local, remote, { onConflict: () => 'merge' });
  // @ts-expect-error the remote is a store or a function resolving to one
  startSync(local, 'nats://127.0.0.1:4222');
  // @ts-expect-error status is one of four
  const wrong: SyncStatus = 'syncing';
  return pending.length + reason.length + (status === 'offline' ? 1 : 0) + wrong.length;
}
