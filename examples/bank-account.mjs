// A bank account kept as events: two tellers race to write the same account,
// the loser of each race reloads and retries (optimistic concurrency), and a
// snapshot every few events keeps replay short.
//
// Run with `npm run build && node examples/bank-account.mjs`.

import { EventStore, isVersionConflict, setCorrelationId } from '../pkg/index.mjs';

const store = new EventStore();
const account = 'account-42';
const SNAPSHOT_EVERY = 5;

store.subscribe(({ event }) => {
  console.log(`  stored  v${event.version} ${event.eventType.padEnd(9)} ${JSON.stringify(event.data)}`);
});

/** The balance: the latest snapshot's state plus the events after it. */
async function loadBalance() {
  const snapshot = await store.getLatestSnapshot(account);
  let balance = snapshot?.state.balance ?? 0;
  let version = snapshot?.version ?? 0;
  for (const event of await store.getEvents(account, version + 1)) {
    balance += event.eventType === 'Deposited' ? event.data.amount : -event.data.amount;
    version = event.version;
  }
  return { balance, version };
}

/** Applies one command, retrying on a version conflict with freshly loaded state. */
async function handle(teller, eventType, amount) {
  for (let attempt = 1; ; attempt++) {
    const { balance, version } = await loadBalance();
    if (eventType === 'Withdrawn' && amount > balance) {
      console.log(`  ${teller}: refused to withdraw ${amount}, balance is ${balance}`);
      return;
    }
    const event = { eventType, actorId: account, version: version + 1, data: { amount } };
    setCorrelationId(event, `${teller}-${eventType}-${amount}`);
    // Let the other teller interleave, as two browser tabs or requests would.
    await new Promise((resolve) => setTimeout(resolve, Math.random() * 3));
    try {
      await store.saveEvent(event);
      if (event.version % SNAPSHOT_EVERY === 0) {
        const state = await loadBalance();
        await store.saveSnapshot({ actorId: account, version: state.version, state: { balance: state.balance } });
        console.log(`  snapshot at v${state.version}: balance ${state.balance}`);
      }
      return;
    } catch (error) {
      if (!isVersionConflict(error)) throw error;
      console.log(`  ${teller}: ${error.message}; retry #${attempt}`);
    }
  }
}

console.log(`Opening ${account}:`);
await handle('alice', 'Deposited', 100);
console.log('Two tellers now work on it at the same time:');
await Promise.all([
  (async () => {
    for (const amount of [50, 25, 10, 40, 15]) await handle('alice', 'Deposited', amount);
  })(),
  (async () => {
    for (const amount of [30, 500, 20, 5, 60]) await handle('bob', 'Withdrawn', amount);
  })(),
]);

const { balance, version } = await loadBalance();
const events = await store.getEvents(account);
console.log(`\n${events.length} events, latest version ${version}, balance ${balance}.`);
console.log('Latest snapshot:', await store.getLatestSnapshot(account));
await store.close();
