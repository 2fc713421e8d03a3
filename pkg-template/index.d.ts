// Type declarations for aether-eventstore. Written by hand: they are the
// documented API (../README.md), checked by `tsc --strict` in the tests, with
// the DOM library and in a Node.js project without it.
//
// Naming, in short:
//   Event<TType, TData>   an event as the store returns it; a union of them narrows on `eventType`
//   NewEvent<E>           what `saveEvent` / `saveEvents` take for the event type E (no id or timestamp needed)
//   NewEventOf<E>         what a command's `decide` returns: a NewEvent without `actorId` and `version`
//   JsonData<T>           the constraint of `data` and `state` types: `TData extends JsonData<TData>`
//   JsonOf<T>             how `data` and `state` are typed (interfaces as type literals)
// E is always an event type (or a union of them), never a data type. Both new-event types
// distribute over a union E, so that a batch may mix the union's types.
// No DOM type is named unguarded: these declarations type-check without the DOM library.

// ---------------------------------------------------------------- JSON

/**
 * A JSON value, as stored in `data` and `state`: strings, finite numbers, booleans, `null`,
 * arrays (readonly ones too, e.g. `as const` data) and objects of JSON values.
 */
export type Json = string | number | boolean | null | readonly Json[] | JsonObject;

/**
 * A JSON object: what `Event` without type arguments has as `data`. A property whose value is
 * `undefined` is left out when stored (as `JSON.stringify` does), and reads as `undefined` when absent.
 */
export type JsonObject = { [key: string]: Json | undefined };

/**
 * The constraint of `data` and `state` types, written `TData extends JsonData<TData>`: it holds when
 * `T` is a JSON object type. A type literal, a `Record` or an `interface` whose values are JSON
 * passes, with optional properties, readonly arrays and `as const` data. Functions, `Date`, `Map`,
 * typed arrays, `bigint`, `symbol` and `undefined` in arrays anywhere inside, and an array or a
 * primitive as the whole object, do not. What the store also rejects at run time but types cannot
 * tell apart (NaN, class instances without methods, cycles, a function as the whole object) is a
 * `ValidationError`. (`object &` keeps primitives out, which a mapped type maps to themselves;
 * `as K` makes it map every key of an array, methods included, where a plain mapped type would
 * map an array to an array.)
 */
export type JsonData<T> = object & { [K in keyof T as K]: JsonMember<T[K]> };

/**
 * How `data` and `state` of the valid data type `T` are typed: `T` with each interface in it
 * turned into the same shape as a type literal (an interface has no implicit index signature), so
 * that an event with interface data is still an `Event`. For a type literal it is `T` again.
 * Generic code passes a value of its own type parameter `D` as `data as JsonOf<D>`.
 */
export type JsonOf<T> = { [K in keyof T]: JsonMember<T[K]> };

/** A property value: JSON, or `undefined` (left out when stored, as `JSON.stringify` does). */
type JsonMember<T> = T extends undefined ? T : JsonValue<T>;

/** A JSON value checked as in `JsonData`: `T` when it is one, else a type `T` is not assignable to. */
type JsonValue<T> = T extends Json
  ? T
  : T extends NotJson
    ? never
    : T extends readonly unknown[]
      ? { [K in keyof T]: JsonValue<T[K]> }
      : T extends object
        ? { [K in keyof T]: JsonMember<T[K]> }
        : never;

/** Objects that are not JSON, named so that errors say `not assignable to type 'never'` at once. */
type NotJson =
  | ((...args: never[]) => unknown)
  | (abstract new (...args: never[]) => unknown)
  | Date
  | RegExp
  | ReadonlyMap<unknown, unknown>
  | ReadonlySet<unknown>
  | ArrayBufferView
  | ArrayBufferLike;

// ---------------------------------------------------------------- Events

/**
 * An event as the store returns it. `Event` alone is any event; `Event<'Deposited', { amount: number }>`
 * is one type of event, and a union of such types narrows on `eventType`:
 *
 * @example
 * type Deposited = Event<'Deposited', { amount: number }>;
 * type Withdrawn = Event<'Withdrawn', { amount: number; reason?: string }>;
 * type AccountEvent = Deposited | Withdrawn;
 * for (const e of await store.getEvents<AccountEvent>('acct-1')) if (e.eventType === 'Withdrawn') e.data.reason;
 *
 * @typeParam TType - the `eventType`, a string literal type for one type of event.
 * @typeParam TData - the `data`: a type literal, `Record` or interface of JSON values (see `JsonData`).
 */
export interface Event<TType extends string = string, TData extends JsonData<TData> = JsonObject> {
  /** Given when saving, or a generated UUID v4. */
  id: string;
  /** What happened, e.g. `'OrderPlaced'`; non-empty. */
  eventType: TType;
  /** The actor whose stream holds the event; non-empty. */
  actorId: string;
  /** The command that caused the event; present only when given. */
  commandId?: string;
  /** The event's place in the actor's stream: a safe integer >= 1, strictly increasing. */
  version: number;
  /** The payload: a JSON object. */
  data: JsonOf<TData>;
  /** Tracing and auditing strings; present only when non-empty. */
  metadata?: Record<string, string>;
  /** RFC 3339 in UTC, e.g. `'2026-11-27T06:30:00.123Z'`. */
  timestamp: string;
}

/**
 * What `saveEvent` and `saveEvents` take for the event type `E`: `id` and `timestamp` are optional
 * (filled in by the store), `commandId` and `metadata` may be `null`. A union of event types gives
 * the union of their new events, so one batch may mix them.
 *
 * @example
 * const deposit: NewEvent<Deposited> = { eventType: 'Deposited', actorId: 'acct-1', version: 1, data: { amount: 5 } };
 */
export type NewEvent<E extends Event = Event> = E extends unknown
  ? {
      /** Optional: a UUID v4 is generated when absent. Reusing a stored event's id makes a retry idempotent. */
      id?: string;
      eventType: E['eventType'];
      /** Non-empty. */
      actorId: string;
      /** A safe integer strictly above the actor's latest version (gaps allowed). */
      version: number;
      data: E['data'];
      /** Absent, `null` and `''` are all stored as absent. */
      commandId?: string | null;
      /** Absent, `null` and `{}` are all stored as absent. */
      metadata?: Record<string, string> | null;
      /** RFC 3339 (any offset; stored in UTC keeping its precision) or a valid `Date`; default: now. */
      timestamp?: string | Date;
    }
  : never;

/**
 * What a command's `decide` returns (see `CommandHandler.handle`): a `NewEvent<E>` without
 * `actorId` and `version`, which the handler sets. A union of event types gives the union.
 */
export type NewEventOf<E extends Event = Event> = E extends unknown
  ? {
      /** Optional: a UUID v4 is generated when absent. */
      id?: string;
      eventType: E['eventType'];
      data: E['data'];
      /** Set by the handler: not given here. */
      actorId?: never;
      /** Set by the handler: not given here. */
      version?: never;
      /** Absent, `null` and `''` are all stored as absent; `handle`'s `options.commandId` sets it. */
      commandId?: string | null;
      /** Absent, `null` and `{}` are all stored as absent; `handle`'s `options.metadata` is added. */
      metadata?: Record<string, string> | null;
      /** RFC 3339 or a valid `Date`; default: now. */
      timestamp?: string | Date;
    }
  : never;

// ---------------------------------------------------------------- Snapshots

/** A point-in-time state of an actor. `TState` is a type literal, `Record` or interface of JSON values. */
export interface ActorSnapshot<TState extends JsonData<TState> = JsonObject> {
  /** The actor; non-empty. */
  actorId: string;
  /** The version of the last event folded into `state`: a safe integer >= 1. */
  version: number;
  /** The state: a JSON object. */
  state: JsonOf<TState>;
  /** RFC 3339 in UTC. */
  timestamp: string;
}

/** A snapshot to save: `timestamp` defaults to the time of saving. */
export interface NewSnapshot<TState extends JsonData<TState> = JsonObject> {
  /** The actor; non-empty. */
  actorId: string;
  /** A safe integer >= 1, at most the actor's latest version. */
  version: number;
  /** The state: a JSON object. */
  state: TState;
  /** RFC 3339 or a valid `Date`; default: now. */
  timestamp?: string | Date;
}

// ---------------------------------------------------------------- Reads

/** A stored record that could not be decoded. */
export interface ReplayError {
  /** The record's global sequence number in the database (a JetStream stream sequence). */
  sequenceNumber: number;
  /** The record's stored bytes. */
  rawData: Uint8Array;
  /** Why it could not be decoded. */
  error: string;
}

/** What `getEventsWithErrors` returns. */
export declare class ReplayResult<E extends Event = Event> {
  /** The events that could be decoded, ascending by version. */
  events: E[];
  /** The records that could not be decoded. */
  errors: ReplayError[];
  /** Whether any record could not be decoded. */
  hasErrors(): boolean;
}

/** An event with its position in the store's global order (see `readAll`). */
export interface Recorded<E extends Event = Event> {
  /** A safe integer >= 1, unique in the store, increasing in commit order; not necessarily dense. */
  position: number;
  /** The stored event. */
  event: E;
}

/** Options of `readAll`. */
export interface ReadAllOptions {
  /** Only events with a position above this one; default `0` (from the start). */
  after?: number;
  /** At most this many events, a safe integer >= 1; default `1000`. */
  limit?: number;
}

// ---------------------------------------------------------------- Notifications

/** The `eventType` of the notification subscribers receive after each stored event. */
export declare const EventTypeEventStored: 'EventStored';

/** What a subscriber receives for each stored event. */
export interface EventStoredNotification<E extends Event = Event> {
  /** Always `'EventStored'`. */
  eventType: typeof EventTypeEventStored;
  /** The stored event (deep-frozen: shared by every listener). */
  event: E;
  /** The event's position in the store's global order. */
  position: number;
}

/**
 * A subscriber: a function or an async function (its result is otherwise ignored, so that
 * `(n) => seen.push(n.event)` is one too). What it throws, or the rejection of the promise it
 * returns, is reported (`reportError`, else `console.error`) and affects neither the save nor
 * other listeners.
 */
export type EventStoredListener<E extends Event = Event> = (notification: EventStoredNotification<E>) => unknown;

/** Options of `subscribe`. */
export interface SubscribeOptions {
  /**
   * Catch up first: the listener receives every stored event with a position above this one,
   * then each new one. Without it, only events stored from now on.
   */
  after?: number;
}

// ---------------------------------------------------------------- Export and import

/** Options of `exportEvents`. */
export interface ExportOptions {
  /** Only events with a position above this one; default `0` (every event). */
  after?: number;
}

/**
 * A web `ReadableStream` (browsers, Node.js `stream/web`), described by the members the store
 * uses, so that these declarations need no DOM library.
 */
export interface ReadableStreamLike<T> {
  getReader(): {
    read(): PromiseLike<{ done?: boolean | undefined; value?: T | undefined }>;
    releaseLock(): void;
  };
}

/** What `importEvents` reads: JSON Lines text in chunks of any size (a line may span chunks). */
export type ImportSource =
  | string
  | Iterable<string>
  | AsyncIterable<string | Uint8Array>
  | ReadableStreamLike<string | Uint8Array>;

/** What `importEvents` resolves with. */
export interface ImportResult {
  /** Events stored by this import. */
  imported: number;
  /** Events already stored (same id, actor and version), passed over. */
  skipped: number;
}

// ---------------------------------------------------------------- Stores

/** The DOM's `IDBFactory` where the DOM library is loaded; else the members the store uses. */
type IDBFactoryType = typeof globalThis extends { indexedDB: infer F } ? F : { open(name: string, version?: number): unknown };

/** The DOM's `typeof IDBKeyRange` where the DOM library is loaded; else the members the store uses. */
type IDBKeyRangeType = typeof globalThis extends { IDBKeyRange: infer K }
  ? K
  : { bound(lower: unknown, upper: unknown, lowerOpen?: boolean, upperOpen?: boolean): unknown };

/** Options of `EventStore.openIndexedDb`. */
export interface IndexedDbOptions {
  /** The IndexedDB factory, e.g. from `fake-indexeddb` in Node.js; default: `globalThis.indexedDB`. */
  indexedDB?: IDBFactoryType;
  /** The key range class that goes with it; default: `globalThis.IDBKeyRange`. */
  IDBKeyRange?: IDBKeyRangeType;
  /**
   * The durability of write transactions. `'strict'` (default) resolves a save
   * once it is flushed to disk, surviving an OS crash or power loss; `'relaxed'`
   * and `'default'` (the browser's choice) resolve once the data is committed,
   * surviving a tab crash or reload, and are several times faster.
   */
  durability?: 'strict' | 'default' | 'relaxed';
}

/** Options of `EventStore.openDirectory`. */
export interface DirectoryOptions {
  /**
   * `'strict'` (default) resolves a save only after its bytes are flushed to disk (`fsync`),
   * concurrent saves sharing one flush; `'relaxed'` resolves once they are written.
   */
  durability?: 'strict' | 'relaxed';
}

/**
 * An append-only store of per-actor event streams with optimistic concurrency.
 * Every data method returns a Promise; after `close()` each rejects with `StorageError`.
 * The type parameters of reads (`getEvents<E>`, `readAll<E>`, `subscribe<E>`, ...) state what
 * the caller expects; the store does not check stored events against them.
 *
 * @example
 * const store = new EventStore();
 * await store.saveEvent({ eventType: 'OrderPlaced', actorId: 'order-7', version: 1, data: { total: 5 } });
 */
export declare class EventStore {
  /** An in-memory store. */
  constructor();

  /**
   * A store persisted in the IndexedDB database `name`, safe to share with other
   * tabs and instances. Rejects with `StorageError` where no IndexedDB is available.
   */
  static openIndexedDb(name: string, options?: IndexedDbOptions): Promise<EventStore>;

  /**
   * Node.js: a durable store in files under `directory` (created if missing), written by one
   * process at a time. Rejects with `StorageError` when another holds it, and in browsers.
   */
  static openDirectory(directory: string, options?: DirectoryOptions): Promise<EventStore>;

  /**
   * Stores `event` if its version is strictly above the actor's latest version, and resolves with
   * the stored event (`id` and `timestamp` filled in).
   * @typeParam E - the event type (or union); default `Event`.
   * @throws {VersionConflictError} when it is not; nothing is stored.
   * @throws {ValidationError} for bad input; nothing is stored.
   */
  saveEvent<E extends Event = Event>(event: NewEvent<E>): Promise<E>;

  /**
   * Stores every event or none, as if saved one after another. `[]` resolves to `[]`.
   * @typeParam E - the event type, or a union of them for a batch that mixes types.
   */
  saveEvents<E extends Event = Event>(events: readonly NewEvent<E>[]): Promise<E[]>;

  /** The actor's events with `version >= fromVersion`, ascending; `[]` for an unknown actor. */
  getEvents<E extends Event = Event>(actorId: string, fromVersion?: number): Promise<E[]>;

  /** The actor's latest version; `0` for an unknown actor. */
  getLatestVersion(actorId: string): Promise<number>;

  /** Like `getEvents`, and also the stored records that could not be decoded. */
  getEventsWithErrors<E extends Event = Event>(actorId: string, fromVersion?: number): Promise<ReplayResult<E>>;

  /** Stores a snapshot; one at the same version is replaced. */
  saveSnapshot<TState extends JsonData<TState>>(snapshot: NewSnapshot<TState>): Promise<ActorSnapshot<TState>>;

  /** The actor's snapshot with the highest version, or `null`. */
  getLatestSnapshot<TState extends JsonData<TState> = JsonObject>(actorId: string): Promise<ActorSnapshot<TState> | null>;

  /**
   * Calls `listener` once for each stored event, asynchronously and in position order, also for
   * events stored by other tabs, instances or clients of the same database or stream.
   * With `{ after }` it first catches up with the events stored after that position.
   * @returns the function that unsubscribes.
   */
  subscribe<E extends Event = Event>(listener: EventStoredListener<E>, options?: SubscribeOptions): () => void;

  /** The stored events with a position above `after`, ascending, at most `limit` of them. */
  readAll<E extends Event = Event>(options?: ReadAllOptions): Promise<Recorded<E>[]>;

  /** The position of the last stored event; `0` for an empty store. */
  lastPosition(): Promise<number>;

  /** The events as JSON Lines (one event and `'\n'` a line), in position order. */
  exportEvents(options?: ExportOptions): AsyncIterable<string>;

  /**
   * Stores the events of JSON Lines text (as `exportEvents` writes it) with their ids and
   * timestamps. Events already stored are skipped, so a repeated or resumed import is harmless.
   * A bad line stops the import: `ValidationError` (`field` starting with `line N: `) or
   * `VersionConflictError` (with `line`); the lines before it are stored.
   */
  importEvents(source: ImportSource): Promise<ImportResult>;

  /** Releases the store's resources. Closing an already closed store resolves at once. */
  close(): Promise<void>;
}

// ---------------------------------------------------------------- Commands

/** Options of a `CommandHandler`. */
export interface CommandHandlerOptions<S, E extends Event = Event> {
  /** The state of an actor without events (and without a snapshot). */
  initialState: () => S;
  /** The state after `event`. Called in version order, from the snapshot's state or `initialState()`. */
  evolve: (state: S, event: E) => S;
  /**
   * Save a snapshot of the new state whenever a save reaches or crosses a multiple of this
   * version. Only for a state that is a JSON object (`never` otherwise).
   */
  snapshotEvery?: [S] extends [JsonData<S>] ? number : never;
  /** Version conflicts retried by reloading and deciding again; default `3`. */
  maxRetries?: number;
}

/** What `CommandHandler.load` resolves with. */
export interface CommandState<S> {
  /** The actor's current state. */
  state: S;
  /** The version of its last event; `0` for a new actor. */
  version: number;
}

/** What `CommandHandler.handle` resolves with. */
export interface CommandResult<S, E extends Event = Event> extends CommandState<S> {
  /** The events stored by this command (`[]` when `decide` returned none). */
  events: E[];
}

/** Options of `CommandHandler.handle`, added to each event that `decide` returns. */
export interface HandleOptions {
  /** Metadata added to each event's own. */
  metadata?: Record<string, string>;
  /** The `commandId` of each event. */
  commandId?: string;
}

/**
 * The optimistic-concurrency loop: load an actor's state, decide on new events, save them as one
 * atomic batch at the next versions, and on a version conflict load and decide again.
 *
 * @example
 * const accounts = new CommandHandler<{ balance: number }, AccountEvent>({
 *   initialState: () => ({ balance: 0 }),
 *   evolve: (s, e) => ({ balance: e.eventType === 'Deposited' ? s.balance + e.data.amount : s.balance - e.data.amount }),
 * });
 * await accounts.handle(store, 'acct-1', (s) => (s.balance >= 5 ? [{ eventType: 'Withdrawn', data: { amount: 5 } }] : []));
 *
 * @typeParam S - the state.
 * @typeParam E - the actor's event type, or a union of them.
 */
export declare class CommandHandler<S, E extends Event = Event> {
  constructor(options: CommandHandlerOptions<S, E>);

  /** The latest snapshot's state (or `initialState()`), evolved over the events after it. */
  load(store: EventStore, actorId: string): Promise<CommandState<S>>;

  /**
   * Loads the actor, calls `decide(state)`, and saves the events it returns (which carry no
   * `actorId` and `version`: the handler sets them) as one batch at the next versions. On
   * `VersionConflictError` it retries up to `maxRetries` times, then rejects with the last
   * conflict. Errors thrown by `decide` reject unchanged. An empty array stores nothing.
   */
  handle(
    store: EventStore,
    actorId: string,
    decide: (state: S) => readonly NewEventOf<E>[] | PromiseLike<readonly NewEventOf<E>[]>,
    options?: HandleOptions,
  ): Promise<CommandResult<S, E>>;
}

// ---------------------------------------------------------------- Errors

/** A save whose version is not strictly above the actor's latest version. */
export declare class VersionConflictError extends Error {
  constructor(message: string, fields: { actorId: string; attemptedVersion: number; currentVersion: number });
  readonly name: 'VersionConflictError';
  readonly code: 'VERSION_CONFLICT';
  /** The actor of the rejected save. */
  actorId: string;
  /** The version that could not be saved. */
  attemptedVersion: number;
  /** The actor's latest version when the save was refused. */
  currentVersion: number;
  /** In an `importEvents` rejection: the 1-based line of the event. */
  line?: number;
}

/** Input that breaks the contract. `field` is its path, e.g. `'data.items[2].price'` or `'[1].eventType'`. */
export declare class ValidationError extends TypeError {
  constructor(message: string, options: { field: string; cause?: unknown });
  readonly name: 'ValidationError';
  readonly code: 'INVALID_INPUT';
  /** The path of the bad input. */
  field: string;
}

/** A storage failure, or a call on a closed store. `cause` is the underlying error, e.g. a DOMException. */
export declare class StorageError extends Error {
  constructor(message: string, options?: { cause?: unknown });
  readonly name: 'StorageError';
  readonly code: 'STORAGE';
  /** The underlying error. */
  cause?: unknown;
}

/** Whether `error` is a version conflict, also one thrown by another copy of this package. */
export declare function isVersionConflict(error: unknown): error is VersionConflictError;

// ---------------------------------------------------------------- Metadata helpers

/** Well-known metadata keys. */
export declare const MetadataKey: {
  readonly CorrelationId: 'correlationId';
  readonly CausationId: 'causationId';
  readonly UserId: 'userId';
  readonly TraceId: 'traceId';
  readonly SpanId: 'spanId';
};

/** Anything with optional metadata, such as a `NewEvent` being prepared. */
export interface WithMetadata {
  metadata?: Record<string, string> | null;
}

/** Sets `event.metadata[key] = value`, creating `metadata` when needed. */
export declare function setMetadata(event: WithMetadata, key: string, value: string): void;
/** `event.metadata[key]`, or `''` when absent. */
export declare function getMetadata(event: WithMetadata, key: string): string;
/** Copies `source.metadata` into `target.metadata`; a `null` or `undefined` source is a no-op. */
export declare function withMetadataFrom(target: WithMetadata, source: WithMetadata | null | undefined): void;
/** Sets the `correlationId` metadata. */
export declare function setCorrelationId(event: WithMetadata, id: string): void;
/** The `correlationId` metadata, or `''`. */
export declare function getCorrelationId(event: WithMetadata): string;
/** Sets the `causationId` metadata. */
export declare function setCausationId(event: WithMetadata, id: string): void;
/** The `causationId` metadata, or `''`. */
export declare function getCausationId(event: WithMetadata): string;
/** Sets the `userId` metadata. */
export declare function setUserId(event: WithMetadata, id: string): void;
/** The `userId` metadata, or `''`. */
export declare function getUserId(event: WithMetadata): string;
/** Sets the `traceId` metadata. */
export declare function setTraceId(event: WithMetadata, id: string): void;
/** The `traceId` metadata, or `''`. */
export declare function getTraceId(event: WithMetadata): string;
/** Sets the `spanId` metadata. */
export declare function setSpanId(event: WithMetadata, id: string): void;
/** The `spanId` metadata, or `''`. */
export declare function getSpanId(event: WithMetadata): string;

// Only the declarations marked `export` above are the package's; the rest are helpers.
export {};
