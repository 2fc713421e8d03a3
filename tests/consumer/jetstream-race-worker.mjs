// One of two processes racing for the same versions of one actor on JetStream
// (jetstream.test.mjs starts them). Prints what it won and lost as JSON.
import { openJetStream } from 'aether-eventstore/jetstream';
import { isVersionConflict } from 'aether-eventstore';

const [servers, stream, subjectPrefix, worker, rounds] = process.argv.slice(2);
const store = await openJetStream({ servers, stream, subjectPrefix, snapshotBucket: `${stream}_SNAPSHOTS` });
const won = [];
const conflicts = [];
let version = 1;
while (version <= Number(rounds)) {
  try {
    await store.saveEvent({ eventType: 'Claimed', actorId: 'race', version, data: { worker } });
    won.push(version);
    version += 1;
  } catch (error) {
    if (!isVersionConflict(error)) throw error;
    conflicts.push([version, error.currentVersion]);
    version = error.currentVersion + 1;
  }
}
await store.close();
console.log(JSON.stringify({ won, conflicts }));
