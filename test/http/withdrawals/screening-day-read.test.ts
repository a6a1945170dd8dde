import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { beforeEach, test } from 'node:test';
import { newId } from '../../../src/core/ids.ts';
import { ATTESTED, type WithdrawalState } from '../../../src/core/withdrawals/states.ts';
import { rowsOf } from '../../../src/store/compiled-query.ts';
import { evaluationsOf } from '../../../src/store/rule-sets.ts';
import { confirmedSinceQuery, DAILY_TOTAL_READ_CAP } from '../../../src/store/withdrawals.ts';
import { forgetRateLimits } from '../../support/customers.ts';
import { eachEngine } from '../../support/each-engine.ts';
import {
  BTC_ADDRESS,
  confirmTotp,
  customerId,
  type ReadyCustomer,
  readyCustomer,
  requestBtc,
} from '../../support/withdrawals.ts';

/*
 * Screening's read of the account's withdrawals of the last 24 h (store/withdrawals.ts confirmedSinceQuery, read by
 * every confirmation; answered from the covering index of migration 0057): which rows it takes at its window's edge,
 * and that at its bound the daily limit holds the withdrawal instead of totalling fewer rows than there are.
 */

const DAY_MS = 24 * 60 * 60_000;

/** Rows written in slices, so neither engine's parameter limit is met. */
async function insertInSlices<T>(rows: readonly T[], insert: (slice: T[]) => Promise<unknown>) {
  for (let i = 0; i < rows.length; i += 200) await insert(rows.slice(i, i + 200));
}

interface PastWithdrawal {
  readonly id: string;
  readonly at: string;
  readonly state: WithdrawalState;
}

for (const { engine, describeOn } of await eachEngine()) {
  describeOn(
    `screening's read of the day's withdrawals, at its window's edge and at its bound, on ${engine}`,
    (on) => {
      const fresh = on.database();
      const running = on.app();
      beforeEach(async () => {
        await forgetRateLimits(running);
      });

      /** Past withdrawal rows of 1 sat each (with the proof rows the database requires), written straight in. */
      async function insertPast(accountId: string, destinationId: string, rows: readonly PastWithdrawal[]) {
        const full = rows.map((row) => ({
          ...row,
          digest: randomBytes(32).toString('hex'),
          proofId: newId(),
        }));
        await insertInSlices(full, (slice) =>
          fresh.database.db
            .insertInto('withdrawal_proofs')
            .values(
              slice.map((h) => ({
                id: h.proofId,
                withdrawal_id: h.id,
                account_id: accountId,
                digest: h.digest,
                method: 'totp' as const,
                factor_id: 'history',
                evidence: '{}',
                proof_hash: randomBytes(32).toString('hex'),
                created_at: h.at,
              })),
            )
            .execute(),
        );
        await insertInSlices(full, (slice) =>
          fresh.database.db
            .insertInto('withdrawals')
            .values(
              slice.map((h) => ({
                id: h.id,
                account_id: accountId,
                asset: 'BTC',
                network: 'bitcoin',
                amount: '1',
                fee: '0',
                destination_id: destinationId,
                destination_address: BTC_ADDRESS,
                destination_label: 'Cold wallet',
                nonce: 'n',
                digest: h.digest,
                summary: 'history',
                state: h.state,
                proof_id: h.proofId,
                confirm_failures: 0,
                expires_at: h.at,
                release_after: null,
                time_locked_until: null,
                first_use: 0,
                screening: null,
                attestation: ATTESTED.includes(h.state) ? '{}' : null,
                txid: null,
                reason: 'history',
                move_id: null,
                released_at: null,
                created_at: h.at,
                updated_at: h.at,
              })),
            )
            .execute(),
        );
      }

      async function customerOf(email: string): Promise<{ customer: ReadyCustomer; accountId: string }> {
        const customer = await readyCustomer(running, email);
        return { customer, accountId: await customerId(running, email) };
      }

      test("the window: a withdrawal at exactly 24 h before is totalled, one a millisecond older is not; cancelled, expired and rejected ones, other accounts' and the one excepted are not", async () => {
        const { customer, accountId } = await customerOf('day-window@example.com');
        const other = await customerOf('day-window-other@example.com');
        const now = running.clock.now().getTime();
        const since = new Date(now - DAY_MS).toISOString();
        const at = (msAgo: number) => new Date(now - msAgo).toISOString();
        const row = (msAgo: number, state: WithdrawalState): PastWithdrawal => ({
          id: newId(),
          at: at(msAgo),
          state,
        });
        const edge = row(DAY_MS, 'held_for_review');
        const older = row(DAY_MS + 1, 'completed');
        const counted = [
          row(3_600_000, 'queued'),
          row(1_800_000, 'completed'),
          row(60_000, 'time_locked'),
          row(30_000, 'released'),
        ];
        const excepted = row(20_000, 'held_for_review');
        const notCounted = [
          row(3_000_000, 'cancelled'),
          row(2_000_000, 'expired'),
          row(1_000_000, 'rejected'),
        ];
        await insertPast(accountId, customer.destinationId, [
          edge,
          older,
          ...counted,
          excepted,
          ...notCounted,
        ]);
        await insertPast(other.accountId, other.customer.destinationId, [row(10_000, 'queued')]);
        const read = await rowsOf(
          fresh.database.db,
          confirmedSinceQuery(fresh.database.db, accountId, since, excepted.id),
        );
        assert.deepEqual(
          read.map((r) => r.created_at),
          [edge, ...counted].map((r) => r.at),
          'oldest first, from exactly 24 h ago, only the states that hold or paid',
        );
        assert.deepEqual(
          read.map((r) => [r.asset, String(r.amount)]),
          [edge, ...counted].map(() => ['BTC', '1']),
        );
      });

      test(`at the bound: ${DAILY_TOTAL_READ_CAP} earlier withdrawals in the day are totalled; with one more the daily limit holds the withdrawal (the total is not known), never approves`, async () => {
        const { customer, accountId } = await customerOf('day-bound@example.com');
        const now = running.clock.now().getTime();
        // Within the last hour, 1 sat each: their total is far under the daily limit.
        await insertPast(
          accountId,
          customer.destinationId,
          Array.from({ length: DAILY_TOTAL_READ_CAP }, (_, i) => ({
            id: newId(),
            at: new Date(now - 3_600_000 + i).toISOString(),
            state: 'held_for_review' as const,
          })),
        );
        const dailyRuleOf = async (id: string) => {
          const [active] = (await evaluationsOf(fresh.database.db, id)).filter((e) => e.mode === 'active');
          assert.ok(active !== undefined, 'the confirmation was evaluated');
          const results = JSON.parse(active.results) as { rule: string; outcome: string; reason: string }[];
          const daily = results.find((r) => r.rule === 'daily_usd_limit');
          assert.ok(daily !== undefined, JSON.stringify(results));
          return daily;
        };
        const confirmOne = async () => {
          const requested = await requestBtc(running, customer, '0.0001');
          assert.equal(requested.status, 201, JSON.stringify(requested.body));
          const done = await confirmTotp(running, customer, requested.body.id as string);
          assert.equal(done.status, 200, JSON.stringify(done.body));
          return done.body as { id: string; state: string; reason: string | null };
        };

        const atCap = await confirmOne();
        const totalled = await dailyRuleOf(atCap.id);
        assert.equal(
          totalled.outcome,
          'approve',
          `${DAILY_TOTAL_READ_CAP} rows are totalled: ${totalled.reason}`,
        );

        // The confirmation above is one more of the day's (it holds): the next one has the cap and one more before it.
        const overCap = await confirmOne();
        const held = await dailyRuleOf(overCap.id);
        assert.equal(held.outcome, 'review');
        assert.match(held.reason, /too many to total/);
        assert.equal(overCap.state, 'held_for_review', JSON.stringify(overCap));
      });
    },
  );
}
