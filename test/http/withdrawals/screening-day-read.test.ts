import assert from 'node:assert/strict';
import { beforeEach, test } from 'node:test';
import { newId } from '../../../src/core/ids.ts';
import type { WithdrawalState } from '../../../src/core/withdrawals/states.ts';
import { rowsOf } from '../../../src/store/compiled-query.ts';
import { evaluationsOf } from '../../../src/store/rule-sets.ts';
import { confirmedSinceQuery, DAILY_TOTAL_READ_CAP } from '../../../src/store/withdrawals.ts';
import { forgetRateLimits } from '../../support/customers.ts';
import { eachEngine } from '../../support/each-engine.ts';
import {
  confirmTotp,
  customerId,
  insertPastWithdrawals,
  type PastWithdrawal,
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
      const insertPast = (accountId: string, destinationId: string, rows: readonly PastWithdrawal[]) =>
        insertPastWithdrawals(fresh.database, accountId, destinationId, rows);

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
