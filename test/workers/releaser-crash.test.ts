import assert from 'node:assert/strict';
import { createPublicKey } from 'node:crypto';
import { test } from 'node:test';
import { verifyReleaseAttestation } from '../../src/core/withdrawals/attestation.ts';
import { sealAudit, verifyAuditChain } from '../../src/store/audit/index.ts';
import { conservationReport } from '../../src/store/ledger/index.ts';
import { eachEngine } from '../support/each-engine.ts';
import { freshDatabase } from '../support/engines.ts';
import type { RunningApp } from '../support/http.ts';
import {
  type ChildNode,
  countEvents,
  countInState,
  eventually,
  queueRound,
  readyPayers,
  SPENT_SATS,
  seedingApp,
  sharedKeys,
  startReleaser,
  stopNode,
} from './releaser-world.ts';

const CUSTOMERS = 8;
const ROUNDS = 10;
const WITHDRAWALS = CUSTOMERS * ROUNDS;

for (const { engine, describeOn } of await eachEngine()) {
  describeOn(`the releaser killed with SIGKILL in the middle of releasing under load, on ${engine}`, () => {
    test('after restart no withdrawal is released twice, none is stuck, and the ledger balances', async () => {
      const fresh = await freshDatabase(engine);
      const keys = sharedKeys();
      const children: ChildNode[] = [];
      let running: RunningApp | undefined;
      try {
        running = await seedingApp(fresh.database, keys);
        const customers = await readyPayers(running, CUSTOMERS);
        const ids: string[] = [];
        for (let round = 0; round < ROUNDS; round += 1) {
          ids.push(...(await queueRound(running, customers)));
        }
        assert.equal(await countInState(fresh.database, 'queued'), WITHDRAWALS);
        const env = { ...fresh.env, ...keys.env };
        const db = fresh.database.db;

        const first = startReleaser(env);
        children.push(first);
        await first.ready;
        await eventually(
          'a first share released',
          async () => (await countEvents(fresh.database, 'released')) >= WITHDRAWALS / 5,
        );
        await stopNode(first, 'SIGKILL');
        const completedAtKill = await countInState(fresh.database, 'completed');
        assert.ok(completedAtKill < WITHDRAWALS, 'the first releaser was stopped mid-way');

        const second = startReleaser(env);
        children.push(second);
        await second.ready;
        await eventually(
          'every withdrawal completed',
          async () => (await countInState(fresh.database, 'completed')) === WITHDRAWALS,
          60_000,
        );

        const rows = await db
          .selectFrom('withdrawals')
          .select(['id', 'state', 'attestation', 'amount'])
          .execute();
        assert.deepEqual(new Set(rows.map((r) => r.id)), new Set(ids));
        const publicKey = {
          release: createPublicKey(running.context.releaseKey),
          monitor: running.context.monitorPublicKey,
        };
        for (const row of rows) {
          assert.equal(row.state, 'completed');
          assert.ok(row.attestation, `${row.id} carries its attestation`);
          assert.ok(verifyReleaseAttestation(publicKey, JSON.parse(row.attestation)), `${row.id} attested`);
        }
        for (const to of ['released', 'broadcast', 'completed'] as const) {
          const events = await db
            .selectFrom('withdrawal_events')
            .select(['withdrawal_id', (eb) => eb.fn.countAll<string | number>().as('n')])
            .where('to_state', '=', to)
            .groupBy('withdrawal_id')
            .execute();
          assert.equal(events.length, WITHDRAWALS, `every withdrawal reached ${to}`);
          for (const event of events) assert.equal(Number(event.n), 1, `${event.withdrawal_id} ${to} once`);
        }
        const chain = await db.selectFrom('simulated_chain_txs').select('withdrawal_id').execute();
        assert.equal(chain.length, WITHDRAWALS, 'one chain transaction per withdrawal, none paid twice');
        assert.deepEqual(new Set(chain.map((c) => c.withdrawal_id)), new Set(ids));

        const posts = await db
          .selectFrom('ledger_transfers')
          .select('pending_id')
          .where('pending_id', 'is not', null)
          .execute();
        assert.equal(posts.length, WITHDRAWALS, 'each hold resolved exactly once');
        assert.deepEqual(new Set(posts.map((p) => p.pending_id)), new Set(ids));
        const report = await conservationReport(db);
        assert.equal(
          report.ok,
          true,
          JSON.stringify(report.discrepancies, (_k, v) => String(v)),
        );
        const balances = await db
          .selectFrom('ledger_accounts')
          .select(['posted_credits', 'posted_debits', 'pending_debits'])
          .where('kind', '=', 'customer')
          .execute();
        assert.equal(balances.length, CUSTOMERS);
        for (const account of balances) {
          assert.equal(BigInt(account.pending_debits), 0n, 'nothing still held');
          const available = BigInt(account.posted_credits) - BigInt(account.posted_debits);
          assert.equal(available, 100_000_000n - BigInt(ROUNDS) * SPENT_SATS);
        }

        await sealAudit(fresh.database);
        const audit = await verifyAuditChain(fresh.database);
        assert.equal(audit.ok, true, JSON.stringify(audit));
        const released = await db
          .selectFrom('audit_log')
          .select((eb) => eb.fn.countAll<string | number>().as('n'))
          .where('action', '=', 'withdrawal.released')
          .executeTakeFirstOrThrow();
        assert.equal(Number(released.n), WITHDRAWALS);
      } finally {
        for (const child of children) await stopNode(child);
        await running?.close();
        await fresh.drop();
      }
    });
  });
}
