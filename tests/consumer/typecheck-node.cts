// The CommonJS declarations (index.d.cts), from a CommonJS module of the Node.js project
// without the DOM library (tsconfig.node.json).
import { CommandHandler, EventStore, type Event, type Recorded } from 'aether-eventstore';

type Tick = Event<'Tick', { n: number }>;

export async function fromCommonJs(): Promise<number> {
  const store = new EventStore();
  const tick: Tick = await store.saveEvent({ eventType: 'Tick', actorId: 'clock', version: 1, data: { n: 1 } });
  const all: Recorded<Tick>[] = await store.readAll<Tick>({ limit: 10 });
  const clock = new CommandHandler<number, Tick>({ initialState: () => 0, evolve: (n, e) => n + e.data.n });
  const { state } = await clock.load(store, 'clock');
  // @ts-expect-error a Tick's n is a number
  await store.saveEvent<Tick>({ eventType: 'Tick', actorId: 'clock', version: 2, data: { n: 'two' } });
  await store.close();
  return tick.data.n + all.length + state;
}
