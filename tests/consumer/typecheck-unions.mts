// Typed events: a union of event types narrows on `eventType`; interface, readonly and `as const`
// data; mixed batches; commands; global order. Checked by `tsc --strict --noEmit` against the
// installed package's declarations twice: with the DOM library (tsconfig.json) and in a Node.js
// project without it, with exactOptionalPropertyTypes (tsconfig.node.json). So it uses no DOM type.
// Correct use compiles, and each `@ts-expect-error` line must fail to (tsc reports unused ones).
import {
  CommandHandler,
  EventStore,
  type ActorSnapshot,
  type Event,
  type EventStoredNotification,
  type Json,
  type JsonData,
  type JsonOf,
  type NewEvent,
  type NewEventOf,
  type Recorded,
  type ReplayResult,
} from 'aether-eventstore';

// ---------------------------------------------------------------- event types

type Deposited = Event<'Deposited', { amount: number }>;

/** Interface data (no implicit index signature), with a nested interface, an optional field and a readonly array. */
interface WithdrawalData {
  amount: number;
  reason?: string;
  approvedBy: Approver;
  tags: readonly string[];
}
interface Approver {
  name: string;
  level: 1 | 2;
}
type Withdrawn = Event<'Withdrawn', WithdrawalData>;

/** Without data type: any JSON object. */
type Closed = Event<'Closed'>;

type AccountEvent = Deposited | Withdrawn | Closed;

/** `as const` data: readonly tuples and literal types. */
const limits = { daily: 500, currencies: ['EUR', 'USD'] } as const;
type LimitsSet = Event<'LimitsSet', typeof limits>;

/** A recursive interface. */
interface Category {
  name: string;
  children: Category[];
}
type Categorized = Event<'Categorized', Category>;

// Each one is an `Event`, interface data included.
const anyEvents: Event[] = [] as (AccountEvent | LimitsSet | Categorized)[];
void anyEvents;

// ---------------------------------------------------------------- reading: narrowing on eventType

export async function balance(store: EventStore, actorId: string): Promise<number> {
  let total = 0;
  for (const e of await store.getEvents<AccountEvent>(actorId)) {
    if (e.eventType === 'Deposited') {
      total += e.data.amount;
      // @ts-expect-error `reason` belongs to Withdrawn, not to the Deposited this is narrowed to
      void e.data.reason;
    } else if (e.eventType === 'Withdrawn') {
      total -= e.data.amount;
      const reason: string | undefined = e.data.reason;
      const approver: string = e.data.approvedBy.name;
      const level: 1 | 2 = e.data.approvedBy.level;
      const tags: readonly string[] = e.data.tags;
      // @ts-expect-error a Withdrawn has no `currency`
      void e.data.currency;
      // @ts-expect-error the tags are a readonly array
      e.data.tags.push('late');
      void [reason, approver, level, tags];
    } else {
      const type: 'Closed' = e.eventType;
      const anything: Json | undefined = e.data['note'];
      void [type, anything];
    }
    // @ts-expect-error 'Deposit' is no event type of the union
    if (e.eventType === 'Deposit') total = 0;
  }
  return total;
}

/** Exhaustive: a new member of the union would make `unhandled` an error. */
export function describe(e: AccountEvent): string {
  switch (e.eventType) {
    case 'Deposited':
      return `+${e.data.amount}`;
    case 'Withdrawn':
      return `-${e.data.amount} (${e.data.reason ?? 'no reason'})`;
    case 'Closed':
      return 'closed';
    default: {
      const unhandled: never = e;
      return unhandled;
    }
  }
}

/** Generic code over any union of events. */
export function ofType<E extends Event, T extends E['eventType']>(events: readonly E[], type: T): Extract<E, { eventType: T }>[] {
  return events.filter((e): e is Extract<E, { eventType: T }> => e.eventType === type);
}

export async function reads(store: EventStore): Promise<void> {
  const events = await store.getEvents<AccountEvent>('acct-1', 2);
  const withdrawals: Withdrawn[] = ofType(events, 'Withdrawn');
  const approvers: string[] = withdrawals.map((w) => w.data.approvedBy.name);

  const replay: ReplayResult<AccountEvent> = await store.getEventsWithErrors<AccountEvent>('acct-1');
  const replayed: AccountEvent[] = replay.events;

  const limitEvents = await store.getEvents<LimitsSet>('acct-1');
  const daily: 500 | undefined = limitEvents[0]?.data.daily;
  const currency: 'EUR' | 'USD' | undefined = limitEvents[0]?.data.currencies[1];

  const tree = await store.getEvents<Categorized>('catalog');
  const grandchild: string | undefined = tree[0]?.data.children[0]?.children[0]?.name;

  // @ts-expect-error a data type is not an event type: use Event<'Type', Data>
  await store.getEvents<{ amount: number }>('acct-1');
  // @ts-expect-error getEvents resolves to events of the given type
  const wrong: Deposited[] = await store.getEvents<AccountEvent>('acct-1');
  void [approvers, replayed, daily, currency, grandchild, wrong];
}

// ---------------------------------------------------------------- writing: typed and mixed batches

export async function writes(store: EventStore): Promise<AccountEvent[]> {
  const deposit: NewEvent<Deposited> = { eventType: 'Deposited', actorId: 'acct-1', version: 1, data: { amount: 10 } };
  const approver: Approver = { name: 'ada', level: 2 };
  const withdrawal: NewEvent<Withdrawn> = {
    eventType: 'Withdrawn',
    actorId: 'acct-1',
    version: 2,
    data: { amount: 3, approvedBy: approver, tags: ['atm'] },
    commandId: null,
    metadata: null,
    timestamp: '2026-11-27T06:30:00.123+01:00',
  };
  // A mixed batch of the union.
  const saved: AccountEvent[] = await store.saveEvents<AccountEvent>([
    deposit,
    withdrawal,
    { eventType: 'Closed', actorId: 'acct-1', version: 3, data: { by: 'owner' } },
  ]);
  // A batch built up as a union of new events.
  const batch: NewEvent<AccountEvent>[] = [deposit];
  batch.push({ eventType: 'Closed', actorId: 'acct-2', version: 1, data: {} });
  await store.saveEvents(batch);
  // The event type inferred from the result's type.
  const one: Deposited = await store.saveEvent({ eventType: 'Deposited', actorId: 'acct-3', version: 1, data: { amount: 1 } });
  // `as const` data, readonly arrays.
  await store.saveEvent<LimitsSet>({ eventType: 'LimitsSet', actorId: 'acct-1', version: 4, data: limits });
  const tags = ['a', 'b'] as const;
  await store.saveEvent<Withdrawn>({
    eventType: 'Withdrawn',
    actorId: 'acct-1',
    version: 5,
    data: { amount: 1, approvedBy: approver, tags },
  });
  // Untyped: any event type, any JSON data; resolves to an `Event`.
  const untyped: Event = await store.saveEvent({ eventType: 'T', actorId: 'a', version: 1, data: { list: [1, 'x', null, { deep: true }] } });

  // @ts-expect-error a Deposited's data has an `amount`
  await store.saveEvents<AccountEvent>([{ eventType: 'Deposited', actorId: 'a', version: 1, data: { reason: 'gift' } }]);
  // @ts-expect-error 'Refunded' is no event type of the union
  await store.saveEvents<AccountEvent>([{ eventType: 'Refunded', actorId: 'a', version: 1, data: {} }]);
  // @ts-expect-error the amount is a number
  await store.saveEvent<Deposited>({ eventType: 'Deposited', actorId: 'a', version: 1, data: { amount: '10' } });
  // @ts-expect-error a Deposited has the eventType 'Deposited'
  await store.saveEvent<Deposited>({ eventType: 'Withdrawn', actorId: 'a', version: 1, data: { amount: 10 } });
  // @ts-expect-error a Withdrawn needs who approved it
  await store.saveEvent<Withdrawn>({ eventType: 'Withdrawn', actorId: 'a', version: 1, data: { amount: 1, tags: [] } });
  // @ts-expect-error a new event of one type is not one of another
  const mislabeled: NewEvent<Withdrawn> = deposit;
  // @ts-expect-error the result of a save is the event type given
  const wrongResult: Withdrawn = await store.saveEvent<Deposited>(deposit);
  // @ts-expect-error `as const` data is readonly: it does not fit mutable data types
  await store.saveEvent<Event<'LimitsSet', { daily: number; currencies: string[] }>>({ eventType: 'LimitsSet', actorId: 'a', version: 1, data: limits });
  void [one, untyped, mislabeled, wrongResult];
  return saved;
}

// ---------------------------------------------------------------- what is not JSON

// @ts-expect-error a function is not JSON
type WithFunction = Event<'F', { run: () => void }>;
// @ts-expect-error a Date is not JSON (store its ISO string)
type WithDate = Event<'D', { at: Date }>;
// @ts-expect-error a Map is not JSON
type WithMap = Event<'M', { byId: Map<string, number> }>;
// @ts-expect-error a typed array is not JSON
type WithBytes = Event<'U', { bytes: Uint8Array }>;
// @ts-expect-error bigint is not JSON
type WithBigInt = Event<'B', { n: bigint }>;
// @ts-expect-error a symbol is not JSON
type WithSymbol = Event<'S', { s: symbol }>;
// @ts-expect-error undefined in an array is not JSON
type WithHole = Event<'H', { xs: (number | undefined)[] }>;
// @ts-expect-error unknown values may be anything
type WithUnknown = Event<'K', Record<string, unknown>>;
// @ts-expect-error data is an object, not an array
type WithArray = Event<'A', string[]>;
// @ts-expect-error data is an object, not a string
type WithString = Event<'S', string>;
/** An interface with a method. */
interface Priced {
  price: number;
  total(): number;
}
// @ts-expect-error an interface with a method is not JSON
type WithMethod = Event<'P', Priced>;
// @ts-expect-error an interface nesting a Date is not JSON
type WithNestedDate = Event<'N', { inner: { at: Date } }>;
// @ts-expect-error an event type is a string
type WithNumberType = Event<42, { n: number }>;
export type NotJson = [WithFunction, WithDate, WithMap, WithBytes, WithBigInt, WithSymbol, WithHole, WithUnknown];
export type NotObjects = [WithArray, WithString, WithMethod, WithNestedDate, WithNumberType];

/** `JsonData` is the constraint to use in generic code of one's own. */
export function eventOf<T extends string, D extends JsonData<D>>(eventType: T, data: D): { eventType: T; data: D } {
  return { eventType, data };
}
eventOf('Withdrawn', { amount: 1, approvedBy: { name: 'ada', level: 1 }, tags: [] } satisfies WithdrawalData);
// @ts-expect-error not JSON
eventOf('Dated', { at: new Date() });

/** Generic saves: a value of a data type parameter is passed as `JsonOf<D>`. */
export function saveFirst<T extends string, D extends JsonData<D>>(
  store: EventStore,
  eventType: T,
  actorId: string,
  data: D,
): Promise<Event<T, D>> {
  return store.saveEvent<Event<T, D>>({ eventType, actorId, version: 1, data: data as JsonOf<D> });
}

export async function untypedMisuse(store: EventStore): Promise<void> {
  // @ts-expect-error a Date inside data is not JSON
  await store.saveEvent({ eventType: 'T', actorId: 'a', version: 1, data: { at: new Date() } });
  // @ts-expect-error undefined in an array is not JSON
  await store.saveEvent({ eventType: 'T', actorId: 'a', version: 1, data: { xs: [1, undefined] } });
  // @ts-expect-error bigint is not JSON
  await store.saveEvent({ eventType: 'T', actorId: 'a', version: 1, data: { n: 1n } });
  // @ts-expect-error an array is not a JSON object
  await store.saveEvent({ eventType: 'T', actorId: 'a', version: 1, data: [1, 2] });
}

// ---------------------------------------------------------------- snapshots

/** A state interface. */
interface AccountState {
  balance: number;
  owner: Approver;
  history: readonly number[];
}

export async function snapshots(store: EventStore): Promise<number> {
  const state: AccountState = { balance: 5, owner: { name: 'ada', level: 1 }, history: [5] };
  const saved: ActorSnapshot<AccountState> = await store.saveSnapshot({ actorId: 'acct-1', version: 2, state });
  const latest = await store.getLatestSnapshot<AccountState>('acct-1');
  const owner: string | undefined = latest?.state.owner.name;
  const anySnapshot: ActorSnapshot | null = latest;
  // @ts-expect-error a snapshot's state is JSON
  await store.saveSnapshot({ actorId: 'a', version: 1, state: { at: new Date() } });
  // @ts-expect-error a snapshot's state is an object
  await store.saveSnapshot({ actorId: 'a', version: 1, state: 5 });
  void [owner, anySnapshot];
  return saved.state.balance;
}

// ---------------------------------------------------------------- commands

interface Account {
  balance: number;
  closed: boolean;
}

const accounts = new CommandHandler<Account, AccountEvent>({
  initialState: () => ({ balance: 0, closed: false }),
  evolve: (state, e) => {
    switch (e.eventType) {
      case 'Deposited':
        return { ...state, balance: state.balance + e.data.amount };
      case 'Withdrawn':
        return { ...state, balance: state.balance - e.data.amount };
      case 'Closed':
        return { ...state, closed: true };
    }
  },
  snapshotEvery: 100,
  maxRetries: 5,
});

export async function commands(store: EventStore): Promise<number> {
  const loaded: { state: Account; version: number } = await accounts.load(store, 'acct-1');
  const result = await accounts.handle(
    store,
    'acct-1',
    (state) =>
      state.balance >= 5
        ? [{ eventType: 'Withdrawn', data: { amount: 5, approvedBy: { name: 'ada', level: 1 }, tags: [] } }]
        : [],
    { commandId: 'cmd-1', metadata: { userId: 'u-1' } },
  );
  const stored: AccountEvent[] = result.events;
  const state: Account = result.state;
  const version: number = result.version;
  // An async decide, a mixed batch, an id and timestamp of one's own.
  await accounts.handle(store, 'acct-1', async (s) => [
    { eventType: 'Deposited', data: { amount: s.balance } },
    { eventType: 'Closed', data: {}, id: '0b0f7e36-37c1-4ab5-a2d1-0f3bd5a7f2a1', timestamp: '2026-11-27T06:30:00Z' },
  ]);
  // Events decided elsewhere.
  const decided: NewEventOf<AccountEvent>[] = [{ eventType: 'Deposited', data: { amount: 1 } }];
  await accounts.handle(store, 'acct-2', () => decided);

  // Inferred type parameters; a state that is no JSON object is fine without snapshots.
  const counter = new CommandHandler({
    initialState: () => new Map<string, number>(),
    evolve: (counts, e: Deposited) => counts.set(e.actorId, (counts.get(e.actorId) ?? 0) + e.data.amount),
  });
  const counts: Map<string, number> = (await counter.load(store, 'acct-1')).state;

  // @ts-expect-error decide returns events of the handler's types only
  await accounts.handle(store, 'acct-1', () => [{ eventType: 'Refunded', data: { amount: 1 } }]);
  // @ts-expect-error a decided Deposited needs its amount
  await accounts.handle(store, 'acct-1', () => [{ eventType: 'Deposited', data: {} }]);
  // @ts-expect-error the data of a decided Withdrawn is a Withdrawn's
  await accounts.handle(store, 'acct-1', async () => [{ eventType: 'Withdrawn', data: { amount: 1 } }]);
  // @ts-expect-error the handler sets actorId and version
  await accounts.handle(store, 'acct-1', () => [{ eventType: 'Closed', data: {}, actorId: 'acct-1', version: 2 }]);
  // @ts-expect-error metadata values are strings
  await accounts.handle(store, 'acct-1', () => [], { metadata: { attempt: 1 } });
  // @ts-expect-error evolve returns the state
  new CommandHandler<Account, AccountEvent>({ initialState: () => ({ balance: 0, closed: false }), evolve: () => 0 });
  // @ts-expect-error snapshots need a state that is a JSON object
  new CommandHandler({ initialState: () => new Map<string, number>(), evolve: (s) => s, snapshotEvery: 10 });
  // @ts-expect-error a handler's events are events
  new CommandHandler<Account, { eventType: 'Deposited' }>({ initialState: () => ({ balance: 0, closed: false }), evolve: (s) => s });
  void [loaded, stored, state, counts];
  return version;
}

// ---------------------------------------------------------------- global order, notifications

export async function projections(store: EventStore, other: EventStore): Promise<number> {
  const page: Recorded<AccountEvent>[] = await store.readAll<AccountEvent>({ after: 0, limit: 100 });
  let checkpoint = 0;
  for (const { position, event } of page) {
    if (event.eventType === 'Withdrawn') void event.data.approvedBy;
    checkpoint = position;
  }
  const everything: Recorded[] = await store.readAll();
  const last: number = await store.lastPosition();

  const seen: AccountEvent[] = [];
  const unsubscribe: () => void = store.subscribe<AccountEvent>(
    async (n) => {
      const position: number = n.position;
      const type: 'EventStored' = n.eventType;
      if (n.event.eventType === 'Deposited') await Promise.resolve(n.event.data.amount + position);
      void type;
    },
    { after: checkpoint },
  );
  store.subscribe<AccountEvent>((n) => seen.push(n.event));
  store.subscribe((n: EventStoredNotification) => void n.event.data);
  unsubscribe();

  const lines: string[] = [];
  for await (const line of store.exportEvents({ after: checkpoint })) lines.push(line);
  const { imported, skipped } = await other.importEvents(lines);
  await other.importEvents(lines.join(''));
  await other.importEvents(store.exportEvents());
  await other.importEvents(
    (async function* () {
      yield lines[0] ?? '';
      yield new Uint8Array([10]);
    })(),
  );

  // @ts-expect-error limit is a number
  await store.readAll({ limit: '10' });
  // @ts-expect-error readAll's options are after and limit
  await store.readAll({ from: 3 });
  // @ts-expect-error notifications carry events of the subscribed type: not every one has a reason
  store.subscribe<AccountEvent>((n) => void n.event.data.reason);
  // @ts-expect-error importEvents reads text, not events
  await other.importEvents([{ eventType: 'T' }]);
  void [everything, seen];
  return last + imported + skipped;
}
