// Fills one in-memory store until WebAssembly memory cannot grow, in its own
// process (for capacity.test.mjs), then checks that everything stored reads
// back, that the store still takes saves that fit, and that another store works.
// Prints one JSON line of figures.
import { EventStore, StorageError } from 'aether-eventstore';

const EVENT_BYTES = 16 * 1024 * 1024;
const blob = (i) => String.fromCharCode(97 + (i % 26)).repeat(EVENT_BYTES);
const store = new EventStore();
let stored = 0;
let refusal;
const started = Date.now();
for (let i = 0; ; i++) {
  try {
    await store.saveEvent({ eventType: 'Filled', actorId: `big-${i}`, version: 1, data: { i, blob: blob(i) } });
    stored += 1;
  } catch (error) {
    refusal = error;
    break;
  }
}
const filledMs = Date.now() - started;
const lastPosition = await store.lastPosition();
let intact = 0;
for (let i = 0; i < stored; i++) {
  const [event] = await store.getEvents(`big-${i}`);
  if (event?.data.i === i && event.data.blob.length === EVENT_BYTES && event.data.blob[7] === blob(i)[0]) intact += 1;
}
const small = await store.saveEvent({ eventType: 'Small', actorId: 'after', version: 1, data: { fits: true } }).then(
  (event) => event.data.fits,
  (error) => String(error),
);
const refusedAgain = await store.saveEvent({ eventType: 'Filled', actorId: 'again', version: 1, data: { blob: blob(0) } }).then(
  () => 'stored',
  (error) => error.name,
);
const other = new EventStore();
await other.saveEvent({ eventType: 'Elsewhere', actorId: 'x', version: 1, data: {} });
console.log(
  JSON.stringify({
    stored,
    storedBytes: stored * EVENT_BYTES,
    filledMs,
    refusal: { name: refusal?.name, isStorageError: refusal instanceof StorageError, message: refusal?.message },
    intact,
    lastPosition,
    small,
    refusedAgain,
    otherStore: (await other.getEvents('x')).length,
    notStored: (await store.getEvents(`big-${stored}`)).length,
  }),
);
