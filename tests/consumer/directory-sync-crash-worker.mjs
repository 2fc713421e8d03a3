// The child of directory-sync.test.mjs's crash test: opens the directory store
// given as argument, makes it synced, and until it is killed: writers save
// pending events (singles and batches) while a syncer applies syncCommits as
// the sync engine would: it moves chunks of pending events (in local order) to
// confirmed, appends "remote" events with a new remote position, and rebases
// its own actor (drops its top pending events, saves new ones at their
// versions, and rejects the dropped ones). Before each save or syncCommit it
// reports what it intends, and once it resolved, that it was acknowledged, one
// JSON line each on stdout (written synchronously: a report made is a report
// the parent gets).
import { randomUUID } from 'node:crypto';
import { EventStore } from 'aether-eventstore';

const [directory, durability = 'strict'] = process.argv.slice(2);
const store = await EventStore.openDirectory(directory, { durability });
const ledger = EventStore[Symbol.for('aether-eventstore.internals')].backendOf(store);
const say = (message) => process.stdout.write(`${JSON.stringify(message)}\n`);
const WRITERS = 3;
const REBASED = 'rebased';
const REMOTE = 'remote';

await ledger.syncStart();
let remotePosition = ledger.syncState().remotePosition;
const newEvent = (actorId, version, data) => ({ id: randomUUID(), eventType: 'Ticked', actorId, version, data, timestamp: new Date().toISOString() });

async function writer(w) {
  const actors = [`writer-${w}`, `writer-${w}-other`];
  const latest = await Promise.all(actors.map((actorId) => store.getLatestVersion(actorId)));
  for (let n = 0; ; n++) {
    const size = n % 3 === 0 ? 1 : 2 + (n % 4);
    const events = Array.from({ length: size }, (_, i) => {
      const a = size > 2 && i === size - 1 ? 1 : 0;
      latest[a] += 1;
      return { id: randomUUID(), eventType: 'Ticked', actorId: actors[a], version: latest[a], data: { w, n, i, pad: 'x'.repeat((n * 37) % 200) } };
    });
    say({ intent: events.map(({ id }) => id) });
    if (size === 1) await store.saveEvent(events[0]);
    else await store.saveEvents(events);
    say({ ack: events.map(({ id }) => id) });
  }
}

/** One syncCommit, reported; PendingChangedError (a writer saved meanwhile) is tried again by the caller. */
async function commit(kind, change, report) {
  const id = randomUUID();
  say({ commitIntent: { id, kind, ...report } });
  try {
    await ledger.syncCommit(change);
  } catch (error) {
    if (error?.name !== 'PendingChangedError') throw error;
    say({ commitRefused: id });
    return;
  }
  say({ commitAck: id });
}

async function syncer() {
  for (let n = 0; ; n++) {
    if (n % 5 === 1) {
      // Remote events of another device, with the remote position after them.
      let version = await store.getLatestVersion(REMOTE);
      const events = Array.from({ length: 1 + (n % 3) }, () => newEvent(REMOTE, ++version, { n }));
      remotePosition += events.length;
      await commit('remote', { confirmed: JSON.stringify(events), dropped: [], pending: '[]', rejected: '[]', remotePosition }, { appended: events.map((e) => e.id), remotePosition });
    } else if (n % 5 === 3) {
      // This actor's own pending events, some of them rebased: the top ones dropped, saved again under new ids, and rejected.
      const latest = await store.getLatestVersion(REBASED);
      const saved = [newEvent(REBASED, latest + 1, { n }), newEvent(REBASED, latest + 2, { n })];
      say({ intent: saved.map(({ id }) => id) });
      await store.saveEvents(saved);
      say({ ack: saved.map(({ id }) => id) });
      const top = JSON.parse(ledger.pendingEvents(REBASED)).slice(-2);
      const again = top.map((event) => newEvent(REBASED, event.version, { n, again: true }));
      await commit(
        'rebase',
        {
          confirmed: '[]',
          dropped: top.map(({ actorId, version }) => ({ actorId, version })),
          pending: JSON.stringify(again),
          rejected: JSON.stringify(top.map((event) => ({ event, reason: 'rebased in the crash test' }))),
        },
        { dropped: top.map((e) => e.id), added: again.map((e) => e.id) },
      );
    } else {
      // A chunk of pending events, in local order, confirmed.
      const chunk = JSON.parse(ledger.pendingEvents()).slice(0, 1 + (n % 40));
      if (chunk.length === 0) {
        await new Promise((resolve) => setImmediate(resolve));
        continue;
      }
      await commit('move', { confirmed: JSON.stringify(chunk), dropped: [], pending: '[]', rejected: '[]' }, { moved: chunk.map((e) => e.id) });
    }
  }
}

say({ ready: process.pid });
await Promise.all([...Array.from({ length: WRITERS }, (_, w) => writer(w)), syncer()]);
