import { systemClock } from './src/core/clock.ts';
import { createLedger } from './src/store/ledger/index.ts';
import { freshDatabase } from './test/support/engines.ts';
const fresh = await freshDatabase('sqlite');
const ledger = createLedger(fresh.database, systemClock);
const a = await ledger.openAccount({ ownerId: 'a', asset: 'BTC', kind: 'customer', debitsMustNotExceedCredits: true });
const c = await ledger.openAccount({ ownerId: 'p', asset: 'BTC', kind: 'custody', debitsMustNotExceedCredits: false });
await ledger.transfer({ id: 'd', debitAccountId: c.id, creditAccountId: a.id, asset: 'BTC', amount: 10n**20n, code: 'deposit' });
const t0 = performance.now();
let n = 0;
while (performance.now() - t0 < 4000) {
  await ledger.placeHold({ id: `h${n}`, debitAccountId: a.id, creditAccountId: c.id, asset: 'BTC', amount: 1n, code: 'withdrawal' });
  await ledger.postHold({ id: `p${n}`, pendingId: `h${n}`, code: 'withdrawal_completed' });
  n++;
}
console.log(n / 4, 'pairs/s');
await fresh.drop();
