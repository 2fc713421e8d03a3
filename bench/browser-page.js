// Runs in headless Chromium (bench/browser.mjs drives it): IndexedDB workloads
// for aether-eventstore, Dexie and raw IndexedDB, each on a fresh database.
import { EventStore } from 'aether-eventstore';
import Dexie from 'dexie';
import { fillForGlobalOrder, measureGlobalOrder } from './global-order-workload.js';

/** The peers use the browser's default durability; aether-eventstore is measured with the same and with its own default, 'strict'. */
const openAether = (name, durability = 'default') => EventStore.openIndexedDb(name, { durability });

let databases = 0;
const freshName = (prefix) => `${prefix}-${Date.now()}-${++databases}`;

/** The i-th event of a workload: round-robin over 100 actors, each at its next version. */
function workloadEvent(i, actors = 100) {
  return {
    eventType: 'Deposited',
    actorId: `account-${i % actors}`,
    version: Math.floor(i / actors) + 1,
    data: { amount: i, currency: 'EUR', note: 'coffee beans', tags: ['groceries', 'weekly'] },
  };
}

/** What Dexie and raw IndexedDB store: the event with an id and a timestamp, as a structured-clone object. */
const record = (event) => ({ id: crypto.randomUUID(), ...event, timestamp: new Date().toISOString() });

function openRaw(name) {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open(name, 1);
    request.onupgradeneeded = () => {
      const events = request.result.createObjectStore('events', { autoIncrement: true });
      events.createIndex('actorVersion', ['actorId', 'version'], { unique: true });
    };
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

function rawAdd(db, events) {
  return new Promise((resolve, reject) => {
    const tx = db.transaction('events', 'readwrite');
    for (const event of events) tx.objectStore('events').add(record(event));
    tx.oncomplete = resolve;
    tx.onabort = () => reject(tx.error);
  });
}

function openDexie(name) {
  const db = new Dexie(name);
  db.version(1).stores({ events: '++seq, &[actorId+version]' });
  return db;
}

async function timed(run) {
  const started = performance.now();
  await run();
  return performance.now() - started;
}

/** Each workload returns milliseconds per store: { [store]: ms }. */
const workloads = {
  async sequential({ count }) {
    const aether = await openAether(freshName('seq-aether'));
    const strict = await openAether(freshName('seq-strict'), 'strict');
    const raw = await openRaw(freshName('seq-raw'));
    const dexie = openDexie(freshName('seq-dexie'));
    await dexie.open();
    const result = {
      'aether-eventstore': await timed(async () => {
        for (let i = 0; i < count; i++) await aether.saveEvent(workloadEvent(i));
      }),
      'aether-eventstore, strict durability': await timed(async () => {
        for (let i = 0; i < count; i++) await strict.saveEvent(workloadEvent(i));
      }),
      'raw IndexedDB (a transaction per event)': await timed(async () => {
        for (let i = 0; i < count; i++) await rawAdd(raw, [workloadEvent(i)]);
      }),
      'Dexie add': await timed(async () => {
        for (let i = 0; i < count; i++) await dexie.table('events').add(record(workloadEvent(i)));
      }),
    };
    await aether.close();
    await strict.close();
    raw.close();
    dexie.close();
    return result;
  },

  async concurrent({ count }) {
    const aether = await openAether(freshName('con-aether'));
    const strict = await openAether(freshName('con-strict'), 'strict');
    const raw = await openRaw(freshName('con-raw'));
    const dexie = openDexie(freshName('con-dexie'));
    await dexie.open();
    const events = Array.from({ length: count }, (_, i) => workloadEvent(i));
    const result = {
      'aether-eventstore': await timed(() => Promise.all(events.map((event) => aether.saveEvent(event)))),
      'aether-eventstore, strict durability': await timed(() => Promise.all(events.map((event) => strict.saveEvent(event)))),
      'raw IndexedDB (a transaction per event)': await timed(() => Promise.all(events.map((event) => rawAdd(raw, [event])))),
      'Dexie add': await timed(() => Promise.all(events.map((event) => dexie.table('events').add(record(event))))),
    };
    if ((await aether.getLatestVersion('account-0')) !== Math.ceil(count / 100)) throw new Error('aether lost saves');
    await aether.close();
    await strict.close();
    raw.close();
    dexie.close();
    return result;
  },

  async batch({ count }) {
    const aether = await openAether(freshName('batch-aether'));
    const strict = await openAether(freshName('batch-strict'), 'strict');
    const raw = await openRaw(freshName('batch-raw'));
    const dexie = openDexie(freshName('batch-dexie'));
    await dexie.open();
    const events = Array.from({ length: count }, (_, i) => workloadEvent(i));
    const result = {
      'aether-eventstore': await timed(() => aether.saveEvents(events)),
      'aether-eventstore, strict durability': await timed(() => strict.saveEvents(events)),
      'raw IndexedDB (one transaction)': await timed(() => rawAdd(raw, events)),
      'Dexie bulkAdd': await timed(() => dexie.table('events').bulkAdd(events.map(record))),
    };
    await aether.close();
    await strict.close();
    raw.close();
    dexie.close();
    return result;
  },

  async readAfterReopen({ count }) {
    const events = Array.from({ length: count }, (_, i) => workloadEvent(i, 1));
    const names = { aether: freshName('read-aether'), raw: freshName('read-raw'), dexie: freshName('read-dexie') };
    const writer = await openAether(names.aether);
    for (let i = 0; i < count; i += 1000) await writer.saveEvents(events.slice(i, i + 1000));
    await writer.close();
    const rawWriter = await openRaw(names.raw);
    await rawAdd(rawWriter, events);
    rawWriter.close();
    const dexieWriter = openDexie(names.dexie);
    await dexieWriter.table('events').bulkAdd(events.map(record));
    dexieWriter.close();

    let read = {};
    const result = {
      'aether-eventstore': await timed(async () => {
        const store = await openAether(names.aether);
        read.aether = (await store.getEvents('account-0')).length;
        await store.close();
      }),
      'raw IndexedDB getAll': await timed(async () => {
        const db = await openRaw(names.raw);
        const range = IDBKeyRange.bound(['account-0', -Infinity], ['account-0', Infinity]);
        read.raw = await new Promise((resolve) => {
          const request = db.transaction('events').objectStore('events').index('actorVersion').getAll(range);
          request.onsuccess = () => resolve(request.result.length);
        });
        db.close();
      }),
      'Dexie between().toArray()': await timed(async () => {
        const db = openDexie(names.dexie);
        read.dexie = (
          await db.table('events').where('[actorId+version]').between(['account-0', Dexie.minKey], ['account-0', Dexie.maxKey]).toArray()
        ).length;
        db.close();
      }),
    };
    for (const [store, n] of Object.entries(read)) if (n !== count) throw new Error(`${store} read ${n} of ${count}`);
    return result;
  },

  async open({ count }) {
    const name = freshName('open-aether');
    const writer = await openAether(name);
    for (let i = 0; i < count; i += 1000) {
      await writer.saveEvents(Array.from({ length: Math.min(1000, count - i) }, (_, j) => workloadEvent(i + j)));
    }
    await writer.close();
    let store;
    const ms = await timed(async () => {
      store = await openAether(name);
    });
    if ((await store.getLatestVersion('account-0')) !== Math.ceil(count / 100)) throw new Error('the database is incomplete');
    await store.close();
    return { 'aether-eventstore': ms };
  },
};

/** Microseconds per event of readAll, a catch-up subscription and getEvents, on one filled database. */
workloads.globalOrder = async (plan) => {
  const store = await openAether(freshName('global-order'));
  await fillForGlobalOrder(store, plan);
  const result = await measureGlobalOrder(store, plan);
  await store.close();
  return result;
};

window.runWorkload = (name, params) => workloads[name](params);
window.benchReady = true;
