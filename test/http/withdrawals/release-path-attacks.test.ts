import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { beforeEach, test } from 'node:test';
import { sql } from 'kysely';
import { newId } from '../../../src/core/ids.ts';
import { signVerdict } from '../../../src/core/monitor/verdict.ts';
import { RELEASE_RULES } from '../../../src/core/risk/release-rules.ts';
import type { Rule } from '../../../src/core/risk/screening.ts';
import { signRelease } from '../../../src/core/withdrawals/attestation.ts';
import { proofHash } from '../../../src/core/withdrawals/digest.ts';
import type { Custody } from '../../../src/services/custody/handover.ts';
import { monitorPass } from '../../../src/services/monitor/pass.ts';
import { releaseOne } from '../../../src/services/withdrawals/release.ts';
import { settleBroadcast } from '../../../src/services/withdrawals/settlement.ts';
import type { HaltRow } from '../../../src/store/halts.ts';
import { findingsOf } from '../../../src/store/monitor.ts';
import {
  api,
  auditEntries,
  forgetRateLimits,
  operatorWithSession,
  signInAgain,
  stepUpToken,
} from '../../support/customers.ts';
import { eachEngine } from '../../support/each-engine.ts';
import { liftEveryHalt } from '../../support/halts.ts';
import { monitorOf } from '../../support/http.ts';
import {
  BTC_ADDRESS_2,
  balanceOf,
  confirmTotp,
  customerId,
  insertInSlices,
  insertPastWithdrawals,
  priceNow,
  type ReadyCustomer,
  readyCustomer,
  releaseDue,
  requestBtc,
  simulatedChain,
  withdrawalRow,
} from '../../support/withdrawals.ts';

const FIRST_USE_WINDOW_MS = 10 * 60_000;

for (const { engine, describeOn } of await eachEngine()) {
  describeOn(`the release path fails closed at its bounds and against forged rows, on ${engine}`, (on) => {
    const fresh = on.database();
    const running = on.app();
    beforeEach(async () => {
      await forgetRateLimits(running);
    });

    async function confirmed(customer: ReadyCustomer, amount: string, expected: string) {
      const requested = await requestBtc(running, customer, amount);
      assert.equal(requested.status, 201, JSON.stringify(requested.body));
      const done = await confirmTotp(running, customer, requested.body.id);
      assert.equal(done.status, 200, JSON.stringify(done.body));
      assert.equal(done.body.state, expected, JSON.stringify(done.body));
      return done.body as { id: string };
    }

    async function queued(customer: ReadyCustomer, amount = '0.1') {
      const requested = await requestBtc(running, customer, amount);
      assert.equal(requested.status, 201, JSON.stringify(requested.body));
      const done = await confirmTotp(running, customer, requested.body.id);
      assert.equal(done.status, 200, JSON.stringify(done.body));
      return done.body as { id: string; state: string; reason: string | null };
    }

    /** Withdrawal rows (with the proof rows the database requires), written straight in, as a busy history. */
    async function insertWithdrawals(
      accountId: string,
      destinationId: string,
      count: number,
      state: 'held_for_review' | 'queued',
    ) {
      const now = running.clock.now().getTime();
      await insertPastWithdrawals(
        fresh.database,
        accountId,
        destinationId,
        Array.from({ length: count }, (_, i) => ({
          id: newId(),
          at: new Date(now - 3_600_000 + i).toISOString(),
          state,
          amount: '66667',
        })),
      );
    }

    test('5,000 account halts, then a global halt: nothing is released, and every halt is listed page by page', async () => {
      const customer = await readyCustomer(running, 'many-halts@example.com');
      const w = await queued(customer);
      assert.equal(w.state, 'queued');
      const at = running.clock.now().getTime();
      const accountHalts: HaltRow[] = Array.from({ length: 5000 }, (_, i) => ({
        id: newId(),
        scope: 'account',
        asset: null,
        network: null,
        account_id: `other-account-${i}`,
        reason: 'incident: frozen account',
        created_by: 'test',
        created_at: new Date(at - 60_000 + i).toISOString(),
        lifted_at: null,
        lifted_by: null,
      }));
      await insertInSlices(accountHalts, (slice) =>
        fresh.database.db.insertInto('halts').values(slice).execute(),
      );
      const commander = await operatorWithSession(
        running,
        'bounds-commander@ops.example',
        'incident_commander',
      );
      const global = await api(running, 'POST', '/v1/operator/halts', {
        token: commander.token,
        body: { scope: 'global', reason: 'stop everything' },
      });
      assert.equal(global.status, 201, JSON.stringify(global.body));

      running.clock.advance(FIRST_USE_WINDOW_MS);
      const pass = await releaseDue(running.context, simulatedChain(running));
      assert.equal(pass.released, 0, JSON.stringify(pass));
      assert.equal(pass.halted, 1, JSON.stringify(pass));
      assert.equal((await withdrawalRow(running, w.id)).state, 'queued');

      let listed = 0;
      let cursor: string | undefined;
      for (let page = 0; page < 20; page++) {
        const query = `/v1/operator/halts?limit=500${cursor === undefined ? '' : `&starting_after=${cursor}`}`;
        const response = await api(running, 'GET', query, { token: commander.token });
        assert.equal(response.status, 200, JSON.stringify(response.body));
        listed += response.body.halts.length;
        cursor = response.body.halts.at(-1)?.id;
        if (!response.body.has_more) break;
      }
      assert.equal(listed, 5001, 'every active halt, the global one included, is listed');

      const lifted = await api(running, 'DELETE', `/v1/operator/halts/${global.body.id}`, {
        token: commander.token,
      });
      assert.equal(lifted.status, 200, JSON.stringify(lifted.body));
      const free = await releaseDue(running.context, simulatedChain(running));
      assert.equal(free.released, 1, 'the 5,000 halts for other accounts do not cover it');
      await fresh.database.db
        .updateTable('halts')
        .set({ lifted_at: running.clock.now().toISOString(), lifted_by: 'test' })
        .where('created_by', '=', 'test')
        .where('lifted_at', 'is', null)
        .execute();
    });

    test('an account with 1,500 withdrawals in 24 h is held by the daily USD limit (1,000 of them alone are under it)', async () => {
      const customer = await readyCustomer(running, 'busy-account@example.com');
      const accountId = await customerId(running, customer.email);
      // 66,667 sat is USD 40.0002 at USD 60,000: 1,000 of them are USD 40,000, 1,500 are USD 60,000.
      await insertWithdrawals(accountId, customer.destinationId, 1500, 'held_for_review');
      const w = await queued(customer, '0.0001');
      assert.equal(w.state, 'held_for_review', JSON.stringify(w));
      assert.match(w.reason ?? '', /daily limit of USD 50,?000/);
      assert.match(w.reason ?? '', /60,?00\d/);
    });

    test('a forged queued row with a self-consistent proof and no ledger hold is refused at release, audited as critical, and nothing reaches custody', async () => {
      const customer = await readyCustomer(running, 'forged-queued@example.com');
      const requested = await requestBtc(running, customer, '0.5');
      assert.equal(requested.status, 201, JSON.stringify(requested.body));
      const id = requested.body.id as string;
      const accountId = await customerId(running, customer.email);
      const factor = await fresh.database.db
        .selectFrom('mfa_factors')
        .select('id')
        .where('principal_id', '=', accountId)
        .where('method', '=', 'totp')
        .executeTakeFirstOrThrow();
      // The attacker writes what a real confirmation would have: evidence naming the customer's TOTP factor and a
      // step, hashed by the published formula, and the row moved to queued. No hold is placed.
      const evidence = {
        v: 1,
        withdrawal_id: id,
        digest: requested.body.digest,
        method: 'totp',
        factor_id: factor.id,
        step: 12345,
      };
      const proofId = `forged-${id}`;
      await fresh.database.db
        .insertInto('withdrawal_proofs')
        .values({
          id: proofId,
          withdrawal_id: id,
          account_id: accountId,
          digest: requested.body.digest,
          method: 'totp',
          factor_id: factor.id,
          evidence: JSON.stringify(evidence),
          proof_hash: proofHash(evidence),
          created_at: running.clock.now().toISOString(),
        })
        .execute();
      const now = running.clock.now().toISOString();
      await sql`update withdrawals set state = 'queued', proof_id = ${proofId}, release_after = ${now} where id = ${id}`.execute(
        fresh.database.db,
      );
      const chain = simulatedChain(running);
      const pass = await releaseDue(running.context, chain);
      assert.equal(pass.released, 0, JSON.stringify(pass));
      // The monitor found it first (the evidence holds no TOTP code to re-verify; the account's journal has no hold
      // for it, issue #13) and halted the account.
      const findings = await findingsOf(fresh.database, id);
      assert.deepEqual(findings.map((f) => f.check_name).sort(), ['hold_not_covered', 'totp']);
      assert.equal((await withdrawalRow(running, id)).state, 'queued', 'halted: not even looked at');
      const monitorHalt = await fresh.database.db
        .selectFrom('halts')
        .select(['id', 'created_by'])
        .where('account_id', '=', accountId)
        .where('lifted_at', 'is', null)
        .executeTakeFirstOrThrow();
      assert.equal(monitorHalt.created_by, 'system:monitor');
      // Lifted by a two-person resume (one commander alone may not), the releaser still refuses: the monitor's
      // verdict rejects, and there is no hold.
      await liftEveryHalt(running.context);
      assert.equal((await releaseDue(running.context, chain)).released, 0);
      const row = await withdrawalRow(running, id);
      assert.equal(row.state, 'held_for_review');
      assert.equal(row.attestation, null);
      assert.match(row.reason ?? '', /no ledger hold/);
      assert.match(row.reason ?? '', /monitor rejected it/);
      const refused = await auditEntries(running, 'withdrawal.release_refused');
      const entry = refused.find((e) => e.subject === `withdrawal:${id}`);
      assert.ok(entry, 'audited');
      assert.equal(JSON.parse(String(entry.data)).severity, 'critical');
      assert.equal((await chain.status(id)).status, 'unknown', 'nothing reached custody');
      assert.deepEqual(await balanceOf(running, customer.token), { available: '1', held: '0' });
      // The alarm can be cleared: an analyst rejects it; no hold is voided that was never placed.
      const analyst = await operatorWithSession(running, 'forgery-analyst@ops.example', 'risk_analyst');
      const rejected = await api(running, 'POST', `/v1/operator/withdrawals/${id}/review`, {
        token: analyst.token,
        body: { decision: 'reject', reason: 'forged row, see incident' },
      });
      assert.equal(rejected.status, 200, JSON.stringify(rejected.body));
      assert.equal(rejected.body.state, 'rejected');
      const ended = (await auditEntries(running, 'withdrawal.rejected')).find(
        (e) => e.subject === `withdrawal:${id}`,
      );
      assert.ok(ended);
      assert.equal(JSON.parse(String(ended.data)).severity, 'critical');
      assert.deepEqual(await balanceOf(running, customer.token), { available: '1', held: '0' });
    });

    test('a broadcast withdrawal that custody reports confirmed but that has no hold to post: errored and a critical alarm, not a silent stall', async () => {
      const customer = await readyCustomer(running, 'forged-broadcast@example.com');
      const requested = await requestBtc(running, customer, '0.2');
      const id = requested.body.id as string;
      const accountId = await customerId(running, customer.email);
      const evidence = {
        v: 1,
        withdrawal_id: id,
        digest: requested.body.digest,
        method: 'totp',
        factor_id: 'f',
        step: 1,
      };
      const proofId = `forged-${id}`;
      await fresh.database.db
        .insertInto('withdrawal_proofs')
        .values({
          id: proofId,
          withdrawal_id: id,
          account_id: accountId,
          digest: requested.body.digest,
          method: 'totp',
          factor_id: 'f',
          evidence: JSON.stringify(evidence),
          proof_hash: proofHash(evidence),
          created_at: running.clock.now().toISOString(),
        })
        .execute();
      const attestation = JSON.stringify(
        signRelease(
          running.context.releaseKey,
          {
            withdrawal_id: id,
            digest: requested.body.digest,
            proof_hash: proofHash(evidence),
            asset: 'BTC',
            network: 'bitcoin',
            amount: '20000000',
            destination: requested.body.destination,
            released_at: running.clock.now().toISOString(),
          },
          // An insider with the release key, but not the monitor's: the verdict is signed with a key of their own.
          signVerdict(generateKeyPairSync('ed25519').privateKey, {
            v: 1,
            withdrawal_id: id,
            account_id: accountId,
            digest: requested.body.digest,
            proof_hash: proofHash(evidence),
            asset: 'BTC',
            network: 'bitcoin',
            amount: '20000000',
            destination: requested.body.destination,
            verdict: 'approve',
            verified_at: running.clock.now().toISOString(),
          }),
        ),
      );
      await sql`update withdrawals set state = 'broadcast', proof_id = ${proofId}, attestation = ${attestation}, txid = ${'f'.repeat(64)} where id = ${id}`.execute(
        fresh.database.db,
      );
      const custody: Custody = {
        submit: async () => ({ kind: 'broadcast', txid: 'f'.repeat(64) }),
        status: async () => ({ status: 'confirmed', txid: 'f'.repeat(64) }),
      };
      assert.equal(await settleBroadcast(running.context, custody), 0);
      const row = await withdrawalRow(running, id);
      assert.equal(row.state, 'errored');
      assert.match(row.reason ?? '', /no ledger hold/);
      const alarms = await auditEntries(running, 'withdrawal.settlement_refused');
      const alarm = alarms.find((e) => e.subject === `withdrawal:${id}`);
      assert.ok(alarm, 'an alarm for an operator');
      assert.equal(JSON.parse(String(alarm.data)).severity, 'critical');
      assert.deepEqual(await balanceOf(running, customer.token), { available: '1', held: '0' });
    });

    test('a release rule that throws holds the withdrawal for review, with the error as its reason', async () => {
      const customer = await readyCustomer(running, 'rule-throws@example.com');
      const w = await queued(customer);
      running.clock.advance(FIRST_USE_WINDOW_MS);
      const broken: Rule<never> = {
        name: 'sanctions_list',
        version: 1,
        evaluate() {
          throw new Error('sanctions feed unreachable');
        },
      };
      const { result } = await releaseOne(running.context, w.id, [...RELEASE_RULES, broken]);
      assert.equal(result, 'held');
      const row = await withdrawalRow(running, w.id);
      assert.equal(row.state, 'held_for_review');
      assert.equal(row.attestation, null);
      assert.match(row.reason ?? '', /sanctions feed unreachable/);
      assert.deepEqual(await balanceOf(running, customer.token), { available: '0.8999', held: '0.1001' });
    });

    test("a hundred halted withdrawals do not stall anybody else: another customer's due withdrawal is released", async () => {
      const frozen = await readyCustomer(running, 'frozen-many@example.com');
      const frozenId = await customerId(running, frozen.email);
      await insertWithdrawals(frozenId, frozen.destinationId, 100, 'queued');
      const commander = await operatorWithSession(
        running,
        'stall-commander@ops.example',
        'incident_commander',
      );
      const halt = await api(running, 'POST', '/v1/operator/halts', {
        token: commander.token,
        body: { scope: 'account', account_id: frozenId, reason: 'account takeover' },
      });
      assert.equal(halt.status, 201, JSON.stringify(halt.body));
      const other = await readyCustomer(running, 'not-frozen@example.com');
      const w = await queued(other);
      running.clock.advance(FIRST_USE_WINDOW_MS);
      const pass = await releaseDue(running.context, simulatedChain(running));
      assert.equal(pass.released, 1, JSON.stringify(pass));
      assert.ok(pass.halted >= 50, JSON.stringify(pass));
      assert.equal((await withdrawalRow(running, w.id)).state, 'broadcast');
      await api(running, 'DELETE', `/v1/operator/halts/${halt.body.id}`, { token: commander.token });
      await fresh.database.db
        .deleteFrom('withdrawals')
        .where('account_id', '=', frozenId)
        .where('reason', '=', 'history')
        .execute();
    });

    test('a withdrawal released but not yet handed over when a halt returns is not handed over until the halt is lifted', async () => {
      const customer = await readyCustomer(running, 'released-then-halted@example.com');
      const w = await queued(customer);
      running.clock.advance(FIRST_USE_WINDOW_MS);
      // The monitor judged it; the releaser signed it and stopped before the hand-over (a crash, a node restart).
      await monitorPass(monitorOf(running.context));
      assert.equal((await releaseOne(running.context, w.id)).result, 'released');
      const commander = await operatorWithSession(
        running,
        'handover-commander@ops.example',
        'incident_commander',
      );
      const halt = await api(running, 'POST', '/v1/operator/halts', {
        token: commander.token,
        body: { scope: 'global', reason: 'stop everything' },
      });
      assert.equal(halt.status, 201, JSON.stringify(halt.body));
      const chain = simulatedChain(running);
      const pass = await releaseDue(running.context, chain);
      assert.equal(pass.submitted, 0, JSON.stringify(pass));
      assert.equal((await withdrawalRow(running, w.id)).state, 'released');
      assert.equal((await chain.status(w.id)).status, 'unknown', 'nothing reached custody');
      await api(running, 'DELETE', `/v1/operator/halts/${halt.body.id}`, { token: commander.token });
      await releaseDue(running.context, chain);
      assert.equal((await withdrawalRow(running, w.id)).state, 'broadcast');
    });

    test('with the halt control row deleted nothing is released, and a halt refuses to be set without it', async () => {
      const customer = await readyCustomer(running, 'no-control-row@example.com');
      const w = await queued(customer);
      running.clock.advance(FIRST_USE_WINDOW_MS);
      await fresh.database.db.deleteFrom('halt_control').execute();
      try {
        const pass = await releaseDue(running.context, simulatedChain(running));
        assert.equal(pass.released, 0, JSON.stringify(pass));
        assert.equal((await withdrawalRow(running, w.id)).state, 'queued');
        const commander = await operatorWithSession(
          running,
          'control-commander@ops.example',
          'incident_commander',
        );
        const halt = await api(running, 'POST', '/v1/operator/halts', {
          token: commander.token,
          body: { scope: 'global', reason: 'stop everything' },
        });
        assert.equal(halt.status, 500, 'a broken database is not a halt that seems to work');
      } finally {
        await fresh.database.db.insertInto('halt_control').values({ id: 1, version: 0 }).execute();
      }
      const pass = await releaseDue(running.context, simulatedChain(running));
      assert.equal(pass.released, 1, JSON.stringify(pass));
    });

    test('two USD 40,000 withdrawals carried through a time lock cannot leave on the same day: the daily limit holds the second at release', async () => {
      let customer = await readyCustomer(running, 'carried-through@example.com', '2');
      const proof = await stepUpToken(running, customer, 'address_book.add');
      const added = await api(running, 'POST', '/v1/address-book', {
        token: customer.token,
        body: { network: 'bitcoin', address: BTC_ADDRESS_2, label: 'New wallet', step_up_token: proof },
      });
      assert.equal(added.status, 201, JSON.stringify(added.body));
      const first = await confirmed({ ...customer, destinationId: added.body.id }, '0.67', 'time_locked');
      running.clock.set(new Date(Date.parse(added.body.usable_from) + 1000));
      customer = { ...customer, ...(await signInAgain(running, customer)) };
      await priceNow(running, 'BTC', '60000');
      // A day later the first no longer counts at request time, so screening queues the second.
      const second = await confirmed(customer, '0.67', 'queued');
      running.clock.advance(FIRST_USE_WINDOW_MS);
      await priceNow(running, 'BTC', '60000');
      // The first's time lock ends into a fresh first-use window; both are due once it has passed.
      await releaseDue(running.context, simulatedChain(running));
      running.clock.advance(FIRST_USE_WINDOW_MS);
      await priceNow(running, 'BTC', '60000');
      await releaseDue(running.context, simulatedChain(running));
      const states = [
        (await withdrawalRow(running, first.id)).state,
        (await withdrawalRow(running, second.id)).state,
      ];
      assert.equal(states.filter((state) => state === 'broadcast').length, 1, JSON.stringify(states));
      const held =
        (await withdrawalRow(running, first.id)).state === 'held_for_review' ? first.id : second.id;
      const row = await withdrawalRow(running, held);
      assert.equal(row.state, 'held_for_review');
      assert.match(row.reason ?? '', /released in 24 h with this one is over the daily limit/);
    });
  });
}
