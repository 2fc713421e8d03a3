// The child of directory.test.mjs's crash test: opens the directory store given
// as argument and saves singles and batches as fast as it can, from several
// concurrent writers (so that commits group saves), until it is killed. Before
// each save it reports what it intends to store, and once the save resolved,
// that it was acknowledged, one JSON line each on stdout (a pipe: written
// synchronously, so a report made is a report the parent gets).
import { randomUUID } from 'node:crypto';
import { EventStore } from 'aether-eventstore';

const [directory, durability = 'strict'] = process.argv.slice(2);
const store = await EventStore.openDirectory(directory, { durability });
const say = (message) => process.stdout.write(`${JSON.stringify(message)}\n`);
const WRITERS = 4;

async function writer(w) {
  // Each writer owns two actors, so that no save of it conflicts with another writer's.
  const actors = [`writer-${w}`, `writer-${w}-other`];
  const latest = await Promise.all(actors.map((actorId) => store.getLatestVersion(actorId)));
  for (let n = 0; ; n++) {
    const size = n % 3 === 0 ? 1 : 2 + (n % 5);
    const events = Array.from({ length: size }, (_, i) => {
      const a = size > 2 && i === size - 1 ? 1 : 0; // larger batches end with an event of the other actor
      latest[a] += 1;
      return { id: randomUUID(), eventType: 'Ticked', actorId: actors[a], version: latest[a], data: { w, n, i, pad: 'x'.repeat((n * 37) % 300) } };
    });
    say({ intent: events.map(({ id, actorId, version }) => ({ id, actorId, version })) });
    if (size === 1) await store.saveEvent(events[0]);
    else await store.saveEvents(events);
    say({ ack: events.map((event) => event.id) });
    if (w === 0 && n % 10 === 9) await store.saveSnapshot({ actorId: actors[0], version: latest[0], state: { n } });
  }
}

say({ ready: process.pid });
await Promise.all(Array.from({ length: WRITERS }, (_, w) => writer(w)));
