import SQLite from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
const db = new Kysely<any>({ dialect: new SqliteDialect({ database: new SQLite(':memory:') }) });
const N = 20000;
let t = performance.now();
for (let i = 0; i < N; i++) {
  db.updateTable('ledger_accounts').set((eb: any) => ({
    posted_debits: eb.case().when('id', '=', 'a').then('1').else(eb.ref('posted_debits')).end(),
    posted_credits: eb.case().when('id', '=', 'b').then('1').else(eb.ref('posted_credits')).end(),
    pending_debits: eb.case().when('id', '=', 'a').then('1').else(eb.ref('pending_debits')).end(),
    pending_credits: eb.case().when('id', '=', 'b').then('1').else(eb.ref('pending_credits')).end(),
  })).where('id', 'in', ['a', 'b']).compile();
}
console.log('case update build+compile µs', ((performance.now() - t) * 1000 / N).toFixed(1));
t = performance.now();
for (let i = 0; i < N; i++) db.selectFrom('ledger_accounts').selectAll().where('id', 'in', ['a', 'b']).orderBy('id').compile();
console.log('select build+compile µs', ((performance.now() - t) * 1000 / N).toFixed(1));
t = performance.now();
for (let i = 0; i < N; i++) db.insertInto('ledger_transfers').values({ id: 'x', kind: 'pending', debit_account_id: 'a', credit_account_id: 'b', asset: 'BTC', amount: '1', pending_id: null, code: 'c', reference: null, created_at: 'z' }).onConflict((oc: any) => oc.doNothing()).compile();
console.log('insert build+compile µs', ((performance.now() - t) * 1000 / N).toFixed(1));
const h = new SQLite(':memory:');
h.exec('create table ledger_accounts (id text primary key, posted_debits text, posted_credits text, pending_debits text, pending_credits text)');
t = performance.now();
for (let i = 0; i < N; i++) h.prepare('select * from "ledger_accounts" where "id" in (?, ?) order by "id"');
console.log('prepare µs', ((performance.now() - t) * 1000 / N).toFixed(1));
