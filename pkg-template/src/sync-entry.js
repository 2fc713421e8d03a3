// `aether-eventstore/sync`: offline-first sync of a local store (memory,
// IndexedDB, files) with a remote one (JetStream, or any EventStore). It has no
// platform-specific parts: one entry serves browsers and Node.js.

export { Sync, startSync } from './sync/sync.js';
