// A device killed mid-push (sync-jetstream.test.mjs): a directory store synced
// to a JetStream stream. With `save`, it saves events (batches and singles
// over several actors) while the sync pushes them, printing each acknowledged
// save's ids as a JSON line; without, it only syncs. The parent kills it with
// SIGKILL at a random instant.
//
// Usage: node sync-push-worker.mjs <directory> <nats url> <stream name> <save|resume>
import { EventStore } from 'aether-eventstore';
import { openJetStream } from 'aether-eventstore/jetstream';
import { startSync } from 'aether-eventstore/sync';

const [directory, servers, stream, mode] = process.argv.slice(2);
const ACTORS = 8;
const local = await EventStore.openDirectory(directory);
const sync = startSync(local, () => openJetStream({ servers, stream, subjectPrefix: `${stream}.events`, snapshotBucket: `${stream}_SNAPSHOTS` }));
console.log(JSON.stringify('ready'));
if (mode === 'save') {
  for (let round = 1; ; round++) {
    const actorId = `device-${round % ACTORS}`;
    const version = (await local.getLatestVersion(actorId)) + 1;
    const events = Array.from({ length: 1 + (round % 3) }, (_, i) => ({
      id: `${actorId}-${version + i}`,
      eventType: 'Counted',
      actorId,
      version: version + i,
      data: { round },
    }));
    const stored = await local.saveEvents(events);
    console.log(JSON.stringify({ acknowledged: stored.map((event) => event.id) }));
  }
} else {
  await sync.flushed();
  console.log(JSON.stringify('flushed'));
  await new Promise(() => {}); // until killed
}
