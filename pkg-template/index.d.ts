// Type declarations for aether-eventstore. Written by hand: they are the
// documented API (../README.md), checked by `tsc --strict` in the tests.

/** A JSON value, as stored in `data`, `state` and returned from the store. */
export type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

/** A JSON object. */
export type JsonObject = { [key: string]: Json };

/** An event as the store returns it. */
export interface Event<TData extends JsonObject = JsonObject> {
  /** Given when saving, or a generated UUID v4. */
  id: string;
  /** What happened, e.g. `'OrderPlaced'`; non-empty. */
  eventType: string;
  /** The actor whose stream holds the event; non-empty. */
  actorId: string;
  /** The command that caused the event; present only when given. */
  commandId?: string;
  /** The event's position in the actor's stream: a safe integer >= 1, strictly increasing. */
  version: number;
  /** The payload: a JSON object. */
  data: TData;
  /** Tracing and auditing strings; present only when non-empty. */
  metadata?: Record<string, string>;
  /** RFC 3339 in UTC, e.g. `'2026-11-27T06:30:00.123Z'`. */
  timestamp: string;
}

/** An event to save: `id` and `timestamp` are optional and filled in by the store. */
export type NewEvent<TData extends JsonObject = JsonObject> = Omit<
  Event<TData>,
  'id' | 'timestamp' | 'commandId' | 'metadata'
> & {
  id?: string;
  /** RFC 3339 (any offset; stored in UTC keeping its precision) or a valid `Date`. */
  timestamp?: string | Date;
  /** Absent, `null` and `''` are all stored as absent. */
  commandId?: string | null;
  /** Absent, `null` and `{}` are all stored as absent. */
  metadata?: Record<string, string> | null;
};

/** A point-in-time state of an actor. */
export interface ActorSnapshot<TState extends JsonObject = JsonObject> {
  actorId: string;
  /** The version of the last event folded into `state`: a safe integer >= 1. */
  version: number;
  state: TState;
  /** RFC 3339 in UTC. */
  timestamp: string;
}

/** A snapshot to save: `timestamp` defaults to the time of saving. */
export type NewSnapshot<TState extends JsonObject = JsonObject> = Omit<ActorSnapshot<TState>, 'timestamp'> & {
  timestamp?: string | Date;
};

/** A stored record that could not be decoded. */
export interface ReplayError {
  /** The record's global sequence number in the database. */
  sequenceNumber: number;
  /** The record's stored bytes. */
  rawData: Uint8Array;
  /** Why it could not be decoded. */
  error: string;
}

/** What `getEventsWithErrors` returns. */
export declare class ReplayResult<TData extends JsonObject = JsonObject> {
  /** The events that could be decoded, ascending by version. */
  events: Event<TData>[];
  /** The records that could not be decoded. */
  errors: ReplayError[];
  /** Whether any record could not be decoded. */
  hasErrors(): boolean;
}

/** The `eventType` of the notification subscribers receive after each stored event. */
export declare const EventTypeEventStored: 'EventStored';

/** What a subscriber receives: the stored event (deep-frozen). */
export interface EventStoredNotification<TData extends JsonObject = JsonObject> {
  eventType: typeof EventTypeEventStored;
  event: Readonly<Event<TData>>;
}

/** Options of `EventStore.openIndexedDb`. */
export interface IndexedDbOptions {
  /** The IndexedDB factory; default: `globalThis.indexedDB`. */
  indexedDB?: IDBFactory;
  /** The key range class; default: `globalThis.IDBKeyRange`. */
  IDBKeyRange?: typeof IDBKeyRange;
  /**
   * The durability of write transactions. `'strict'` (default) resolves a save
   * once it is flushed to disk, surviving an OS crash or power loss; `'relaxed'`
   * and `'default'` (the browser's choice) resolve once the data is committed,
   * surviving a tab crash or reload, and are several times faster.
   */
  durability?: 'strict' | 'default' | 'relaxed';
}

/**
 * An append-only store of per-actor event streams with optimistic concurrency.
 * Every data method returns a Promise; after `close()` each rejects with `StorageError`.
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
   * Stores `event` if its version is strictly above the actor's latest version.
   * @throws {VersionConflictError} when it is not; nothing is stored.
   * @throws {ValidationError} for bad input; nothing is stored.
   */
  saveEvent<TData extends JsonObject>(event: NewEvent<TData>): Promise<Event<TData>>;

  /** Stores every event or none, as if saved one after another. `[]` resolves to `[]`. */
  saveEvents<TData extends JsonObject>(events: NewEvent<TData>[]): Promise<Event<TData>[]>;

  /** The actor's events with `version >= fromVersion`, ascending; `[]` for an unknown actor. */
  getEvents<TData extends JsonObject = JsonObject>(actorId: string, fromVersion?: number): Promise<Event<TData>[]>;

  /** The actor's latest version; `0` for an unknown actor. */
  getLatestVersion(actorId: string): Promise<number>;

  /** Like `getEvents`, and also the stored records that could not be decoded. */
  getEventsWithErrors<TData extends JsonObject = JsonObject>(
    actorId: string,
    fromVersion?: number,
  ): Promise<ReplayResult<TData>>;

  /** Stores a snapshot; one at the same version is replaced. */
  saveSnapshot<TState extends JsonObject>(snapshot: NewSnapshot<TState>): Promise<ActorSnapshot<TState>>;

  /** The actor's snapshot with the highest version, or `null`. */
  getLatestSnapshot<TState extends JsonObject = JsonObject>(actorId: string): Promise<ActorSnapshot<TState> | null>;

  /**
   * Calls `listener` once for each stored event, asynchronously and in commit order.
   * A listener that throws affects neither the save nor other listeners.
   * @returns the function that unsubscribes.
   */
  subscribe(listener: (notification: EventStoredNotification) => void): () => void;

  /** Releases the store's resources. Closing an already closed store resolves at once. */
  close(): Promise<void>;
}

/** A save whose version is not strictly above the actor's latest version. */
export declare class VersionConflictError extends Error {
  constructor(message: string, fields: { actorId: string; attemptedVersion: number; currentVersion: number });
  readonly name: 'VersionConflictError';
  readonly code: 'VERSION_CONFLICT';
  actorId: string;
  attemptedVersion: number;
  currentVersion: number;
}

/** Input that breaks the contract. `field` is its path, e.g. `'data.items[2].price'` or `'[1].eventType'`. */
export declare class ValidationError extends TypeError {
  constructor(message: string, options: { field: string; cause?: unknown });
  readonly name: 'ValidationError';
  readonly code: 'INVALID_INPUT';
  field: string;
}

/** A storage failure, or a call on a closed store. `cause` is the underlying error, e.g. a DOMException. */
export declare class StorageError extends Error {
  constructor(message: string, options?: { cause?: unknown });
  readonly name: 'StorageError';
  readonly code: 'STORAGE';
  cause?: unknown;
}

/** Whether `error` is a version conflict, also one thrown by another copy of this package. */
export declare function isVersionConflict(error: unknown): error is VersionConflictError;

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
export declare function setCorrelationId(event: WithMetadata, id: string): void;
export declare function getCorrelationId(event: WithMetadata): string;
export declare function setCausationId(event: WithMetadata, id: string): void;
export declare function getCausationId(event: WithMetadata): string;
export declare function setUserId(event: WithMetadata, id: string): void;
export declare function getUserId(event: WithMetadata): string;
export declare function setTraceId(event: WithMetadata, id: string): void;
export declare function getTraceId(event: WithMetadata): string;
export declare function setSpanId(event: WithMetadata, id: string): void;
export declare function getSpanId(event: WithMetadata): string;
