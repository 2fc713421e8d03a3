// Loads the optional NATS client packages, saying how to install them if missing.

import { StorageError } from 'aether-eventstore';

const PACKAGES = '@nats-io/nats-core @nats-io/jetstream @nats-io/kv (and @nats-io/transport-node in Node.js)';

/** The client functions the backend needs, with `loadConnect()` choosing the transport. */
export async function loadNats(loadConnect) {
  try {
    const [core, jetstream, kv, connect] = await Promise.all([import('@nats-io/nats-core'), import('@nats-io/jetstream'), import('@nats-io/kv'), loadConnect()]);
    return {
      connect,
      createInbox: core.createInbox,
      headers: core.headers,
      jetstream: jetstream.jetstream,
      jetstreamManager: jetstream.jetstreamManager,
      StorageType: jetstream.StorageType,
      DiscardPolicy: jetstream.DiscardPolicy,
      Kvm: kv.Kvm,
    };
  } catch (error) {
    throw new StorageError(`the NATS client is missing: npm install ${PACKAGES}`, { cause: error });
  }
}
