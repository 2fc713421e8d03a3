// A bank account kept as events: two tellers handle commands on the same
// account at the same time. CommandHandler loads the account, decides on its
// current balance, saves at the next version, and when the other teller got
// there first it loads and decides again, so no withdrawal is ever decided on
// a stale balance. A snapshot every few events keeps loading short.
//
// Run with `npm run build && node examples/bank-account.mjs`.

import { CommandHandler, EventStore } from '../pkg/index.mjs';

const store = new EventStore();
const account = 'account-42';

store.subscribe(({ event }) => {
  console.log(`  stored  v${event.version} ${event.eventType.padEnd(9)} ${JSON.stringify(event.data)} by ${event.metadata.userId}`);
});

const accounts = new CommandHandler({
  initialState: () => ({ balance: 0 }),
  evolve: (state, event) => ({
    balance: state.balance + (event.eventType === 'Deposited' ? event.data.amount : -event.data.amount),
  }),
  snapshotEvery: 5,
  maxRetries: 10,
});

/** What a teller asks for, decided on the balance the account has when it is saved. */
async function command(teller, eventType, amount) {
  let decisions = 0;
  try {
    const { state, version } = await accounts.handle(
      store,
      account,
      async (state) => {
        decisions += 1;
        // Let the other teller interleave, as two browser tabs or requests would.
        await new Promise((resolve) => setTimeout(resolve, Math.random() * 3));
        if (eventType === 'Withdrawn' && amount > state.balance) {
          throw new RangeError(`cannot withdraw ${amount}, the balance is ${state.balance}`);
        }
        return [{ eventType, data: { amount } }];
      },
      { metadata: { userId: teller } },
    );
    const retried = decisions > 1 ? ` (decided ${decisions} times: the other teller wrote first)` : '';
    console.log(`  ${teller}: ${eventType} ${amount}, balance ${state.balance} at v${version}${retried}`);
  } catch (error) {
    if (!(error instanceof RangeError)) throw error;
    console.log(`  ${teller}: refused, ${error.message}`);
  }
}

console.log(`Opening ${account}:`);
await command('alice', 'Deposited', 100);
console.log('Two tellers now work on it at the same time:');
await Promise.all([
  (async () => {
    for (const amount of [50, 25, 10, 40, 15]) await command('alice', 'Deposited', amount);
  })(),
  (async () => {
    for (const amount of [30, 500, 20, 5, 60]) await command('bob', 'Withdrawn', amount);
  })(),
]);

const { state, version } = await accounts.load(store, account);
console.log(`\n${version} events, balance ${state.balance}.`);
console.log('Latest snapshot:', await store.getLatestSnapshot(account));
await store.close();
