// The page of tests/browser/sync.test.mjs, built with Vite as an app would be:
// one "device" (an IndexedDB store) synced with JetStream over WebSocket. The
// test drives it through `window.app`, which records what the test checks
// afterwards: every event saved here, each conflict and its answer, each
// status, and how many times this page opened the remote.

import { EventStore } from 'aether-eventstore';
import { openJetStream } from 'aether-eventstore/jetstream';
import { startSync } from 'aether-eventstore/sync';

const app = {
  /** Events saved in this page, as the store returned them, and replacements onConflict returned. */
  saved: [],
  /** Each conflict this page's syncer met: the actor, the ids on both sides, and the answer. */
  conflicts: [],
  /** Each status onStatus reported, in order. */
  statuses: [],
  /** How many times this page's remote function was called (each a connection to the server). */
  connects: 0,
  store: null,
  sync: null,
};

/** The answer to a conflict, by name: 'rebase', 'discard', or 'replace' (the pending events saved again, marked, after the remote's latest). */
function answer(how, conflict) {
  if (how !== 'replace') return how;
  const latest = conflict.remote.at(-1).version;
  const replacements = conflict.pending.map((event, i) => ({
    id: `${event.id}-again`,
    eventType: event.eventType,
    actorId: event.actorId,
    version: latest + 1 + i,
    data: { ...event.data, decidedAgain: true },
  }));
  app.saved.push(...replacements);
  return replacements;
}

/**
 * Opens the IndexedDB database `database` and syncs it with the JetStream
 * stream `names` at `servers`; `decisions` names the answer to a conflict per actor.
 */
app.start = async ({ database, servers, names, decisions = {} }) => {
  app.store = await EventStore.openIndexedDb(database);
  const remote = async () => {
    app.connects++;
    return openJetStream({ servers, ...names });
  };
  app.sync = startSync(app.store, remote, {
    onConflict(conflict) {
      const how = decisions[conflict.actorId] ?? 'rebase';
      app.conflicts.push({
        actorId: conflict.actorId,
        pending: conflict.pending.map((event) => event.id),
        remote: conflict.remote.map((event) => event.id),
        answer: how,
      });
      return answer(how, conflict);
    },
  });
  app.sync.onStatus((status) => app.statuses.push(status));
};

/** Opens the IndexedDB database `database` without syncing it here (a Service Worker syncs it). */
app.open = async (database) => {
  app.store = await EventStore.openIndexedDb(database);
};

/** Saves `events` (one batch) and records them. */
app.save = async (events) => {
  const stored = await app.store.saveEvents(events);
  app.saved.push(...stored);
  return stored;
};

/** Appends one event to each of `actors`, after the actor's latest version here. */
app.append = async (actors, data = {}) => {
  const stored = [];
  for (const actorId of actors) {
    const version = (await app.store.getLatestVersion(actorId)) + 1;
    stored.push(...(await app.save([{ eventType: 'Noted', actorId, version, data: { ...data, n: version } }])));
  }
  return stored;
};

/** What the test compares: confirmed events (readAll), pending, rejected with reasons, and what was recorded. */
app.report = async () => ({
  confirmed: (await app.store.readAll({ limit: 100_000 })).map((recorded) => recorded.event),
  pending: await app.sync.pendingEvents(),
  rejections: await app.sync.rejections(),
  saved: app.saved,
  conflicts: app.conflicts,
  statuses: app.statuses,
  connects: app.connects,
  status: app.sync.status,
});

window.app = app;
window.ready = true;
