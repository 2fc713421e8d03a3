// `aether-eventstore/jetstream` for browsers and bundlers: NATS over WebSocket
// (ws:// or wss://). The NATS packages are optional peer dependencies.

import { ValidationError } from 'aether-eventstore';
import { openJetStreamWith } from './jetstream/backend.js';
import { loadNats } from './jetstream/load.js';

/** An EventStore on a NATS JetStream stream (see README: "Running on JetStream"). */
export function openJetStream(options = {}) {
  return openJetStreamWith(options, (servers) => {
    if (servers.some((server) => !/^wss?:\/\//i.test(server))) {
      throw new ValidationError('servers must be ws:// or wss:// URLs: browsers reach NATS over WebSocket', { field: 'servers' });
    }
    return loadNats(async () => (await import('@nats-io/nats-core')).wsconnect);
  });
}
