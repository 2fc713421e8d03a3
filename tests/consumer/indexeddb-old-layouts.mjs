// The object stores of the IndexedDB layouts before this one, for the tests
// that migrate databases written by older releases: in Node.js
// (indexeddb.test.mjs) and in Chromium (tests/browser/indexeddb.test.mjs, whose
// page imports this file from the consumer project).

/** The object stores of layout 1, 2 or 3, created as those layouts' upgrade steps left them (copied here). */
export function createOldLayout(db, layout) {
  const store = db.createObjectStore('events', { keyPath: 'sequenceNumber', autoIncrement: true });
  // Layout 3: records of one commit's events, every event's [actorId, version] in `keys`, all indexed.
  if (layout < 3) store.createIndex('actorVersion', ['actorId', 'version'], { unique: true });
  else store.createIndex('actorVersion', 'keys', { unique: true, multiEntry: true });
  db.createObjectStore('snapshots', { keyPath: ['actorId', 'version'] });
  if (layout < 2) return;
  const pending = db.createObjectStore('pending', { keyPath: 'localOrder', autoIncrement: true });
  pending.createIndex('actorVersion', ['actorId', 'version'], { unique: true });
  db.createObjectStore('rejected', { autoIncrement: true });
  db.createObjectStore('sync');
}
