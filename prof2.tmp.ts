import SQLite from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import { systemClock } from './src/core/clock.ts';
import { createLedger } from './src/store/ledger/index.ts';
import { freshDatabase } from './test/support/engines.ts';
const fresh = await freshDatabase('sqlite');
const handle = new SQLite(fresh.env.DRAWBRIDGE_DATA_DIR + '/drawbridge.db');
handle.pragma('journal_mode = WAL'); handle.pragma('synchronous = NORMAL'); handle.pragma('foreign_keys = ON');
const cache = new Map<string, SQLite.Statement>();
const cached = {
  close: () => handle.close(),
  prepare(sql: string) {
    let s = cache.get(sql);
    if (s === undefined) { s = handle.prepare(sql); cache.set(sql, s); }
    return s;
  },
};
const mode = process.argv[2];
const db = new Kysely<any>({ dialect: new SqliteDialect({ database: mode === 'cache' ? cached as any : handle }) });
const ledger = createLedger({ engine: 'sqlite', db, close: () => db.destroy() } as any, systemClock);
const a = await ledger.openAccount({ ownerId: 'a', asset: 'BTC', kind: 'customer', debitsMustNotExceedCredits: true });
const c = await ledger.openAccount({ ownerId: 'p', asset: 'BTC', kind: 'custody', debitsMustNotExceedCredits: false });
await ledger.transfer({ id: 'd', debitAccountId: c.id, creditAccountId: a.id, asset: 'BTC', amount: 10n**20n, code: 'deposit' });
for (const round of [1, 2]) {
const t0 = performance.now();
let n = 0;
while (performance.now() - t0 < 2000) {
  await ledger.placeHold({ id: `h${round}-${n}`, debitAccountId: a.id, creditAccountId: c.id, asset: 'BTC', amount: 1n, code: 'withdrawal' });
  await ledger.postHold({ id: `p${round}-${n}`, pendingId: `h${round}-${n}`, code: 'withdrawal_completed' });
  n++;
}
console.log(mode, n / 2, 'pairs/s');
}
await db.destroy();
await fresh.drop();
