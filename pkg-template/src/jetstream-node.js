// `aether-eventstore/jetstream` for Node.js: nats:// over TCP
// (@nats-io/transport-node), or ws:// where Node.js has a WebSocket (22+ or a shim).
// The NATS packages are optional peer dependencies, loaded on first use.

import { openJetStreamWith } from './jetstream/backend.js';
import { loadNats } from './jetstream/load.js';

/** An EventStore on a NATS JetStream stream (see README: "Running on JetStream"). */
export function openJetStream(options = {}) {
  return openJetStreamWith(options, (servers) =>
    loadNats(async () => {
      const websocket = servers.length > 0 && servers.every((server) => /^wss?:\/\//i.test(server));
      return websocket ? (await import('@nats-io/nats-core')).wsconnect : (await import('@nats-io/transport-node')).connect;
    }),
  );
}
