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
   * The replicas (1 to 5) of the stream and the snapshot bucket, when the store creates them;
   * default 1 on a lone server, 3 on a cluster (a server that reports a cluster name).
   * A replicated stream, created or existing, needs nats-server 2.10.19 or later (the fixes of
   * nats-server issues 4320 and 5644); on an older server, at open or after a reconnection to one,
   * the store refuses with `StorageError`, saying why and which version is needed.
   */
  replicas?: number;
  /**
   * The created stream's duplicate window in milliseconds: a retried save within it is dropped by
   * the server, one after it is recognised by reading the actor's events. Default: the server's (2 minutes).
   */
  duplicateWindow?: number;
  /**
   * The most bytes the created stream may hold. A full stream refuses saves with `StorageError`;
   * it never drops events. Default: no limit.
   */
  maxBytes?: number;
  /**
   * How long in milliseconds a snapshot is kept in the created bucket; an expired one is simply
   * not found (the state is rebuilt from the events). Default: kept for ever.
   */
  snapshotMaxAge?: number;
}

/**
 * The whole EventStore API on a JetStream stream. Rejects with `StorageError`
 * (the client's error as `cause`) when the server cannot be reached or the
 * stream cannot be set up, or when the stream is replicated and the server is
 * older than 2.10.19, and with `ValidationError` (`field` naming the option) for
 * bad options. The settings options apply to a stream or bucket that the store
 * creates: an existing one is used as it is, never changed.
 */
export declare function openJetStream(options: JetStreamOptions): Promise<EventStore>;
