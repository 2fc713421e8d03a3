// Checked by `tsc --strict --noEmit` against the installed package's declarations, with the DOM
// library (tsconfig.json): correct use compiles, and each `@ts-expect-error` line must fail to.
// Unions of event types: typecheck-unions.mts; a Node.js project without DOM: tsconfig.node.json.
import {
  CommandHandler,
  EventStore,
  EventTypeEventStored,
  MetadataKey,
  ValidationError,
  VersionConflictError,
  isVersionConflict,
  setCorrelationId,
  getCorrelationId,
  withMetadataFrom,
  type Event,
  type NewEvent,
  type ActorSnapshot,
  type ReplayResult,
  type Recorded,
} from 'aether-eventstore';
import { openJetStream, type JetStreamOptions } from 'aether-eventstore/jetstream';

type OrderPlaced = Event<'OrderPlaced', { total: number; items: { sku: string }[] }>;

export async function typedUse(): Promise<number> {
  const store: EventStore = new EventStore();
  const draft: NewEvent<OrderPlaced> = { eventType: 'OrderPlaced', actorId: 'order-7', version: 1, data: { total: 5, items: [] } };
  setCorrelationId(draft, 'c-1');
  const correlation: string = getCorrelationId(draft);
  withMetadataFrom(draft, null);
  const stored: OrderPlaced = await store.saveEvent(draft);
  const total: number = stored.data.total;
  const events: OrderPlaced[] = await store.getEvents<OrderPlaced>('order-7', 1);
  const untyped: Event = await store.saveEvent({ eventType: 'T', actorId: 'a', version: 1, data: {} });
  const anyEvents: Event[] = await store.getEvents('order-7');
  const replay: ReplayResult = await store.getEventsWithErrors('order-7');
  const broken: boolean = replay.hasErrors() && replay.errors[0].rawData instanceof Uint8Array;
  const snapshot: ActorSnapshot<{ n: number }> | null = await store.getLatestSnapshot<{ n: number }>('order-7');
  await store.saveSnapshot({ actorId: 'order-7', version: 1, state: { n: 1 }, timestamp: new Date() });
  const unsubscribe: () => void = store.subscribe((n) => {
    const type: 'EventStored' = n.eventType;
    void type;
    void n.event.version;
    void n.position;
  });
  unsubscribe();
  store.subscribe<OrderPlaced>(async (n) => void n.event.data.items, { after: await store.lastPosition() })();
  const recorded: Recorded<OrderPlaced>[] = await store.readAll<OrderPlaced>({ after: 0, limit: 10 });
  const lines: string[] = [];
  for await (const line of store.exportEvents({ after: 0 })) lines.push(line);
  const { imported, skipped } = await store.importEvents(lines);
  await store.importEvents(new ReadableStream<string>());
  await store.importEvents(new Response('{}\n').body!);
  const orders = new CommandHandler<{ count: number }, OrderPlaced>({
    initialState: () => ({ count: 0 }),
    evolve: (state) => ({ count: state.count + 1 }),
  });
  const handled = await orders.handle(store, 'order-8', () => [{ eventType: 'OrderPlaced', data: { total: 1, items: [] } }]);
  try {
    await store.saveEvent({ ...draft, version: 1 });
  } catch (error) {
    if (isVersionConflict(error)) {
      const current: number = error.currentVersion;
      void current;
    }
    if (error instanceof VersionConflictError) void error.attemptedVersion;
    if (error instanceof ValidationError) void error.field.length;
  }
  const idb: Promise<EventStore> = EventStore.openIndexedDb('db', { indexedDB: undefined });
  void idb.catch(() => {});
  void EventStore.openIndexedDb('db', { indexedDB, IDBKeyRange, durability: 'relaxed' }).catch(() => {});
  void EventStore.openDirectory('data', { durability: 'strict' }).catch(() => {});
  const key: 'correlationId' = MetadataKey.CorrelationId;
  const eventStored: 'EventStored' = EventTypeEventStored;
  await store.close();
  void [correlation, events, untyped, anyEvents, broken, snapshot, key, eventStored, recorded, imported, skipped, handled];
  return total + (await store.getLatestVersion('order-7'));
}

export async function onJetStream(): Promise<EventStore> {
  const options: JetStreamOptions = {
    servers: ['nats://127.0.0.1:4222'],
    stream: 'ORDERS',
    subjectPrefix: 'orders.events',
    snapshotBucket: 'ORDER_SNAPSHOTS',
    replicas: 3,
  };
  const store: EventStore = await openJetStream(options);
  // @ts-expect-error servers are URLs
  await openJetStream({ servers: 4222 });
  // @ts-expect-error replicas is a number
  await openJetStream({ replicas: '3' });
  return store;
}

export async function misuse(store: EventStore): Promise<void> {
  // @ts-expect-error version must be a number
  await store.saveEvent({ eventType: 'T', actorId: 'a', version: '1', data: {} });
  // @ts-expect-error data is required
  await store.saveEvent({ eventType: 'T', actorId: 'a', version: 1 });
  // @ts-expect-error data must be a JSON object
  await store.saveEvent({ eventType: 'T', actorId: 'a', version: 1, data: { when: () => 1 } });
  // @ts-expect-error metadata values are strings
  await store.saveEvent({ eventType: 'T', actorId: 'a', version: 1, data: {}, metadata: { n: 1 } });
  // @ts-expect-error a data type is not an event type: use Event<'Type', Data>
  await store.getEvents<{ total: number }>('a');
  // @ts-expect-error IndexedDB factories are IDBFactory objects (the DOM library is loaded here)
  await EventStore.openIndexedDb('db', { indexedDB: { open: () => null } });
  // @ts-expect-error getLatestVersion resolves to a number
  const wrong: string = await store.getLatestVersion('a');
  void wrong;
}
