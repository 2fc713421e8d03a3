// Checked by `tsc --strict --noEmit` against the installed package's declarations:
// correct use compiles, and each `@ts-expect-error` line must fail to.
import {
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
} from 'aether-eventstore';
import { openJetStream, type JetStreamOptions } from 'aether-eventstore/jetstream';

type OrderPlaced = { total: number; items: { sku: string }[] };

export async function typedUse(): Promise<number> {
  const store: EventStore = new EventStore();
  const draft: NewEvent<OrderPlaced> = { eventType: 'OrderPlaced', actorId: 'order-7', version: 1, data: { total: 5, items: [] } };
  setCorrelationId(draft, 'c-1');
  const correlation: string = getCorrelationId(draft);
  withMetadataFrom(draft, null);
  const stored: Event<OrderPlaced> = await store.saveEvent(draft);
  const total: number = stored.data.total;
  const events: Event<OrderPlaced>[] = await store.getEvents<OrderPlaced>('order-7', 1);
  const replay: ReplayResult = await store.getEventsWithErrors('order-7');
  const broken: boolean = replay.hasErrors() && replay.errors[0].rawData instanceof Uint8Array;
  const snapshot: ActorSnapshot<{ n: number }> | null = await store.getLatestSnapshot<{ n: number }>('order-7');
  await store.saveSnapshot({ actorId: 'order-7', version: 1, state: { n: 1 }, timestamp: new Date() });
  const unsubscribe: () => void = store.subscribe((n) => {
    const type: 'EventStored' = n.eventType;
    void type;
    void n.event.version;
  });
  unsubscribe();
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
  const key: 'correlationId' = MetadataKey.CorrelationId;
  const eventStored: 'EventStored' = EventTypeEventStored;
  await store.close();
  void [correlation, events, broken, snapshot, key, eventStored];
  return total + (await store.getLatestVersion('order-7'));
}

export async function onJetStream(): Promise<EventStore> {
  const options: JetStreamOptions = { servers: ['nats://127.0.0.1:4222'], stream: 'ORDERS', subjectPrefix: 'orders.events' };
  const store: EventStore = await openJetStream(options);
  // @ts-expect-error servers are URLs
  await openJetStream({ servers: 4222 });
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
  // @ts-expect-error getLatestVersion resolves to a number
  const wrong: string = await store.getLatestVersion('a');
  void wrong;
}
