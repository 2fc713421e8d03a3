// A projection: a read model across actors (sales per product, over every
// order), kept beside its checkpoint, the position of the last event it
// handled. It stops, orders go on being placed, and when it starts again it
// resumes from its checkpoint: no event missed, none counted twice.
//
// The event store is IndexedDB (fake-indexeddb here, as in Node.js; the same
// code runs in a browser). The read model and its checkpoint are saved together,
// in one write, so that they always agree.
//
// Run with `npm run build && node examples/projection.mjs`.

import { IDBFactory, IDBKeyRange } from 'fake-indexeddb';
import { EventStore } from '../pkg/index.mjs';

const indexedDB = new IDBFactory(); // one "browser profile", shared by every open below
const openStore = () => EventStore.openIndexedDb('shop', { indexedDB, IDBKeyRange });

/** Where the read model lives: here a JSON text, as it would be in localStorage or a file. */
let saved = JSON.stringify({ checkpoint: 0, salesBySku: {} });

/** Runs the projection until `stop()` is called; resolves with the stop function. */
async function startProjection(store) {
  const model = JSON.parse(saved); // the read model and its checkpoint, as last saved together
  console.log(`  projection starts after position ${model.checkpoint}`);
  const unsubscribe = store.subscribe(
    ({ event, position }) => {
      if (event.eventType === 'OrderPlaced') {
        for (const { sku, qty } of event.data.lines) model.salesBySku[sku] = (model.salesBySku[sku] ?? 0) + qty;
      }
      model.checkpoint = position;
      saved = JSON.stringify(model);
    },
    { after: model.checkpoint },
  );
  return unsubscribe;
}

async function placeOrders(store, from, count) {
  for (let n = from; n < from + count; n++) {
    const lines = [{ sku: ['apple', 'pear', 'fig'][n % 3], qty: 1 + (n % 4) }];
    await store.saveEvent({ eventType: 'OrderPlaced', actorId: `order-${n}`, version: 1, data: { lines } });
  }
}

const store = await openStore();
let stop = await startProjection(store);
await placeOrders(store, 0, 30);
await new Promise((resolve) => setTimeout(resolve, 50));
console.log('  after 30 orders:', saved);

stop(); // the projection goes down; orders go on
await placeOrders(store, 30, 25);
console.log('  while it was down, 25 more orders were placed');
await store.close();

const reopened = await openStore(); // a restart: new store, read model from where it was saved
stop = await startProjection(reopened);
await placeOrders(reopened, 55, 5);
await new Promise((resolve) => setTimeout(resolve, 50));
stop();

// Check it against the read model computed from scratch over every event.
const truth = {};
for (const { event } of await reopened.readAll({ limit: 10_000 })) {
  for (const { sku, qty } of event.data.lines) truth[sku] = (truth[sku] ?? 0) + qty;
}
const model = JSON.parse(saved);
console.log('  after the restart and 5 more:', saved);
if (JSON.stringify(model.salesBySku) === JSON.stringify(truth) && model.checkpoint === (await reopened.lastPosition())) {
  console.log('The read model equals a recount of all 60 orders: nothing missed, nothing twice.');
} else {
  console.log(`MISMATCH: a recount gives ${JSON.stringify(truth)}`);
  process.exitCode = 1;
}
await reopened.close();
