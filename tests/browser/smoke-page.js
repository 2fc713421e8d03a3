// Runs in the browser, loaded by a page with an import map and no bundler.
// Exercises the installed package and reports what it saw as window.smokeResult.
import {
  EventStore,
  VersionConflictError,
  ValidationError,
  StorageError,
  isVersionConflict,
} from 'aether-eventstore';

async function run() {
  const store = new EventStore();
  const heard = [];
  store.subscribe((n) => heard.push(n.event.version));
  const first = await store.saveEvent({ eventType: 'Placed', actorId: 'order-7', version: 1, data: { total: 5 } });
  await store.saveEvents([
    { eventType: 'Paid', actorId: 'order-7', version: 2, data: {} },
    { eventType: 'Shipped', actorId: 'order-7', version: 3, data: {}, timestamp: new Date(0) },
  ]);
  let conflict = null;
  try {
    await store.saveEvent({ eventType: 'Late', actorId: 'order-7', version: 2, data: {} });
  } catch (error) {
    conflict = {
      isClass: error instanceof VersionConflictError,
      isVersionConflict: isVersionConflict(error),
      message: error.message,
      currentVersion: error.currentVersion,
    };
  }
  let invalid = null;
  try {
    await store.saveEvent({ eventType: 'Bad', actorId: 'order-7', version: 4, data: { when: new Date() } });
  } catch (error) {
    invalid = { isClass: error instanceof ValidationError, isTypeError: error instanceof TypeError, field: error.field };
  }
  await store.saveSnapshot({ actorId: 'order-7', version: 3, state: { total: 5 } });
  const snapshot = await store.getLatestSnapshot('order-7');
  const events = await store.getEvents('order-7', 2);
  const latest = await store.getLatestVersion('order-7');
  await new Promise((resolve) => setTimeout(resolve, 0));
  await store.close();
  let closed = null;
  try {
    await store.getEvents('order-7');
  } catch (error) {
    closed = error instanceof StorageError;
  }
  return {
    idLength: first.id.length,
    versions: events.map((e) => e.version),
    timestamps: events.map((e) => e.timestamp),
    latest,
    conflict,
    invalid,
    snapshotVersion: snapshot.version,
    heard,
    closed,
  };
}

run().then(
  (result) => {
    window.smokeResult = result;
  },
  (error) => {
    window.smokeResult = { failed: String(error?.stack ?? error) };
  },
);
