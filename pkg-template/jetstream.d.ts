// Type declarations for aether-eventstore/jetstream, the EventStore on NATS JetStream.
import type { NatsConnection } from '@nats-io/nats-core';
import type { EventStore } from 'aether-eventstore';

/** Options of `openJetStream`. */
export interface JetStreamOptions {
  /** `nats://host:port` in Node.js; `ws://` or `wss://` in browsers (and in Node.js 22+). */
  servers?: string | string[];
  /** An open connection to use instead of `servers`; the store does not close it. */
  connection?: NatsConnection;
  /** The stream, created with file storage if missing; default `'AETHER_EVENTS'`. */
  stream?: string;
  /** Each actor's events live on `<subjectPrefix>.<token>`; default `'aether.events'`. */
  subjectPrefix?: string;
  /** The key-value bucket of snapshots; default `'AETHER_SNAPSHOTS'`. */
  snapshotBucket?: string;
}

/**
 * The whole EventStore API on a JetStream stream. Rejects with `StorageError`
 * (the client's error as `cause`) when the server cannot be reached or the
 * stream cannot be set up, and with `ValidationError` for bad options.
 */
export declare function openJetStream(options: JetStreamOptions): Promise<EventStore>;
