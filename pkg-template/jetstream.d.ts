// Type declarations for aether-eventstore/jetstream, the EventStore on NATS JetStream.
// They use the NATS client's types, which need `esnext.disposable` in
// `compilerOptions.lib` and the DOM library or `@types/node` (for TextEncoder
// and WebSocket), or else `skipLibCheck`. The main entry needs none of these.
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
  /**
   * The replicas of a stream that the store creates; default 1 (3 on a cluster).
   * A replicated stream on a server too old to enforce the version rule in clustered streams
   * is refused with `StorageError`.
   */
  replicas?: number;
}

/**
 * The whole EventStore API on a JetStream stream. Rejects with `StorageError`
 * (the client's error as `cause`) when the server cannot be reached or the
 * stream cannot be set up, and with `ValidationError` for bad options.
 */
export declare function openJetStream(options: JetStreamOptions): Promise<EventStore>;
