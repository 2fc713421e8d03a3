// The module Service Worker of tests/browser/sync.test.mjs, built with Vite (a
// Service Worker may not use import(), so the build inlines the package's
// dynamic imports). On 'start' it syncs an IndexedDB database with JetStream
// over WebSocket; on 'flushed' it waits until that database is flushed.

import { EventStore } from 'aether-eventstore';
import { openJetStream } from 'aether-eventstore/jetstream';
import { startSync } from 'aether-eventstore/sync';

let sync = null;
let connects = 0;

self.addEventListener('install', () => self.skipWaiting());
self.addEventListener('activate', (event) => event.waitUntil(self.clients.claim()));

async function handle({ command, database, servers, names }) {
  if (command === 'start') {
    const store = await EventStore.openIndexedDb(database);
    sync = startSync(store, async () => {
      connects++;
      return openJetStream({ servers, ...names });
    });
    // Once the database is marked synced, a page's saves on it are pending.
    await sync.pendingEvents();
    return { status: sync.status };
  }
  if (command === 'flushed') {
    await sync.flushed();
    return { pending: await sync.pendingEvents(), connects };
  }
  throw new Error(`unknown command ${command}`);
}

self.addEventListener('message', (event) => {
  const [reply] = event.ports;
  event.waitUntil(
    handle(event.data).then(
      (result) => reply.postMessage(result),
      (error) => reply.postMessage({ failed: String(error?.stack ?? error) }),
    ),
  );
});
