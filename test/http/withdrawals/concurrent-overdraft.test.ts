import assert from 'node:assert/strict';
import { test } from 'node:test';
import { conservationReport } from '../../../src/store/ledger/index.ts';
import { api, forgetRateLimits, principalRow } from '../../support/customers.ts';
import { eachEngine } from '../../support/each-engine.ts';
import { TEST_ORIGIN } from '../../support/http.ts';
import { SoftAuthenticator } from '../../support/soft-authenticator.ts';
import {
  balanceOf,
  confirmPasskey,
  passkeyChallengeFor,
  priceNow,
  readyPasskeyCustomer,
  requestBtc,
} from '../../support/withdrawals.ts';

// The MFA rate limit allows 10 second-factor checks per account per minute, so the 100 confirmations race in
// ten rounds of ten, a minute apart. Each round asks for 3.3 BTC against 1 BTC: exactly three can be held.
const ROUNDS = 10;
const PER_ROUND = 10;
const AMOUNT = '0.3299'; // + 0.0001 fee = 0.33 held each

for (const { engine, describeOn } of await eachEngine()) {
  describeOn(`concurrent confirmations beyond the balance, on ${engine}`, (on) => {
    const fresh = on.database();
    const running = on.app();

    test('100 withdrawals confirmed in parallel against one balance never hold more than it has', async () => {
      // A synced passkey reports counter 0 each time, so parallel assertions do not refuse each other.
      const authenticator = new SoftAuthenticator({ zeroCounter: true });
      const customer = await readyPasskeyCustomer(running, 'overdraft@example.com', authenticator);
      running.clock.advance(1000);
      await priceNow(running, 'BTC', '1000'); // keeps the daily USD limit out of this story
      let confirmedTotal = 0;
      for (let round = 0; round < ROUNDS; round += 1) {
        await forgetRateLimits(running);
        const attempts = await Promise.all(
          Array.from({ length: PER_ROUND }, async () => {
            const requested = await requestBtc(running, customer, AMOUNT);
            assert.equal(requested.status, 201, JSON.stringify(requested.body));
            const challenge = await passkeyChallengeFor(running, customer.token, requested.body.id);
            const assertion = authenticator.getAssertion(challenge.options, TEST_ORIGIN);
            return { id: requested.body.id as string, challengeId: challenge.challenge_id, assertion };
          }),
        );
        const answers = await Promise.all(
          attempts.map((a) => confirmPasskey(running, customer.token, a.id, a.challengeId, a.assertion)),
        );
        const confirmed = attempts.filter((_, i) => answers[i]?.status === 200);
        for (const answer of answers) {
          assert.ok(answer.status < 500, JSON.stringify(answer.body));
          if (answer.status !== 200) {
            assert.equal(answer.body.code, 'INSUFFICIENT_FUNDS', JSON.stringify(answer.body));
            // Said in the customer's terms: the asset's unit, named; no ledger account id, no base units.
            assert.match(
              answer.body.detail,
              /^amount: 0\.3299 BTC plus the 0\.0001 BTC fee is more than the 0\.\d+ BTC available$/,
            );
            assert.equal(answer.body.account_id, undefined);
            assert.equal(answer.body.required, '0.33');
            assert.match(answer.body.available, /^0\.\d+$/);
          }
        }
        assert.equal(confirmed.length, 3, `round ${round}: three holds of 0.33 fit in 1 BTC`);
        assert.deepEqual(await balanceOf(running, customer.token), { available: '0.01', held: '0.99' });

        const ids = attempts.map((a) => a.id);
        const rows = await fresh.database.db
          .selectFrom('withdrawals')
          .select(['id', 'state', 'proof_id'])
          .where('id', 'in', ids)
          .execute();
        const holds = await fresh.database.db
          .selectFrom('ledger_transfers')
          .select(['id', 'amount'])
          .where('id', 'in', ids)
          .execute();
        for (const [i, attempt] of attempts.entries()) {
          const row = rows.find((r) => r.id === attempt.id);
          const hold = holds.find((h) => h.id === attempt.id);
          if (answers[i]?.status === 200) {
            assert.ok(row?.proof_id, 'a confirmed withdrawal has its proof');
            assert.equal(String(hold?.amount), '33000000', 'and its hold');
          } else {
            assert.equal(row?.state, 'awaiting_confirmation', 'a refused confirmation changed nothing');
            assert.equal(row?.proof_id, null);
            assert.equal(hold, undefined);
          }
        }
        confirmedTotal += confirmed.length;
        // Cancelling voids the holds, so the next round races for the whole balance again.
        for (const { id } of confirmed) {
          const cancelled = await api(running, 'POST', `/v1/withdrawals/${id}/cancel`, {
            token: customer.token,
          });
          assert.equal(cancelled.status, 200, JSON.stringify(cancelled.body));
        }
        assert.deepEqual(await balanceOf(running, customer.token), { available: '1', held: '0' });
        running.clock.advance(61_000);
      }
      assert.equal(confirmedTotal, 3 * ROUNDS);
      assert.equal((await principalRow(running, customer.email)).mfa_failures, 0);
      const report = await conservationReport(fresh.database.db);
      assert.equal(report.ok, true, JSON.stringify(report.discrepancies));
    });
  });
}
