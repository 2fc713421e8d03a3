// The object stores of the IndexedDB layouts before this one, for the tests
// that migrate databases written by older releases: in Node.js
// (indexeddb.test.mjs) and in Chromium (tests/browser/indexeddb.test.mjs, whose
// page imports this file from the consumer project).

/** The object stores of layout 1 or 2, created as those layouts' upgrade steps did (copied here). */
export function createOldLayout(db, layout) {
  const store = db.createObjectStore('events', { keyPath: 'sequenceNumber', autoIncrement: true });
  store.createIndex('actorVersion', ['actorId', 'version'], { unique: true });
  db.createObjectStore('snapshots', { keyPath: ['actorId', 'version'] });
  if (layout < 2) return;
  const pending = db.createObjectStore('pending', { keyPath: 'localOrder', autoIncrement: true });
  pending.createIndex('actorVersion', ['actorId', 'version'], { unique: true });
  db.createObjectStore('rejected', { autoIncrement: true });
  db.createObjectStore('sync');
}
