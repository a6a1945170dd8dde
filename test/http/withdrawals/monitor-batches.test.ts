import assert from 'node:assert/strict';
import { afterEach, test } from 'node:test';
import { sql } from 'kysely';
import { totpAt } from '../../../src/core/mfa/totp.ts';
import { monitorPass } from '../../../src/services/monitor/pass.ts';
import { findingsOf, findVerdicts } from '../../../src/store/monitor.ts';
import { eachEngine } from '../../support/each-engine.ts';
import { forgeApproval } from '../../support/forged-approvals.ts';
import { liftEveryHalt } from '../../support/halts.ts';
import { monitorOf } from '../../support/http.ts';
import {
  confirmTotp,
  customerId,
  type ReadyCustomer,
  readyCustomer,
  requestBtc,
  withdrawalRow,
} from '../../support/withdrawals.ts';

/**
 * The monitor checks the withdrawals of its feed in batches, each batch one transaction
 * (src/services/monitor/pass.ts): a forged withdrawal in a batch of genuine ones is refused and halts while the
 * genuine ones are approved, and a check that throws in a batch costs the others nothing (they get their verdicts)
 * while its own feed entries stay for the next pass (fail closed).
 */
for (const { engine, describeOn } of await eachEngine()) {
  describeOn(`the monitor's batches, on ${engine}`, (on) => {
    const running = on.app();
    const fresh = on.database();
    let customers = 0;
    const monitor = () => monitorOf(running.context, 'account');

    afterEach(async () => {
      await liftEveryHalt(running.context);
    });

    async function customer(): Promise<ReadyCustomer & { accountId: string }> {
      customers += 1;
      const ready = await readyCustomer(running, `batch${customers}@example.com`);
      return { ...ready, accountId: await customerId(running, ready.email) };
    }

    async function genuine(count: number): Promise<string[]> {
      const ids: string[] = [];
      for (let n = 0; n < count; n += 1) {
        const who = await customer();
        const requested = await requestBtc(running, who, '0.1');
        assert.equal(requested.status, 201, JSON.stringify(requested.body));
        const confirmed = await confirmTotp(running, who, requested.body.id);
        assert.equal(confirmed.status, 200, JSON.stringify(confirmed.body));
        ids.push(requested.body.id);
      }
      return ids;
    }

    async function feedOf(id: string) {
      return fresh.database.db
        .selectFrom('monitor_feed')
        .select('seq')
        .where('withdrawal_id', '=', id)
        .execute();
    }

    test('a forged withdrawal in a batch of genuine ones: it is refused and halts its account, the others are approved', async () => {
      const before = await genuine(2);
      const forger = await customer();
      const factor = await fresh.database.db
        .selectFrom('mfa_factors')
        .select('id')
        .where('principal_id', '=', forger.accountId)
        .where('method', '=', 'totp')
        .where('status', '=', 'active')
        .executeTakeFirstOrThrow();
      const requested = await requestBtc(running, forger, '0.1');
      const row = await withdrawalRow(running, requested.body.id);
      const step = Math.floor(running.clock.now().getTime() / 30_000);
      const right = totpAt(forger.secret, running.clock.now());
      await forgeApproval(running.context, {
        withdrawal: row,
        method: 'totp',
        factorId: factor.id,
        evidence: { step, code: right === '000000' ? '000001' : '000000' },
      });
      const after = await genuine(2);
      const errors: unknown[] = [];
      const pass = await monitorPass(monitor(), { onError: (error) => errors.push(error) });
      assert.deepEqual(errors, []);
      assert.equal(pass.refused, 1, JSON.stringify(pass));
      assert.equal(pass.approved, 4, JSON.stringify(pass));
      assert.equal(pass.failed, 0);
      assert.equal(pass.backlog, 0);
      assert.deepEqual(
        (await findingsOf(fresh.database, row.id)).map((f) => f.check_name),
        ['totp'],
      );
      const forged = await findVerdicts(fresh.database, row.id);
      assert.ok(forged.reject, 'the forged one is rejected');
      assert.equal(forged.approve, undefined);
      const halt = await fresh.database.db
        .selectFrom('halts')
        .select(['scope', 'account_id', 'created_by'])
        .where('lifted_at', 'is', null)
        .executeTakeFirst();
      assert.equal(halt?.created_by, 'system:monitor');
      assert.equal(halt?.account_id, forger.accountId);
      for (const id of [...before, ...after]) {
        assert.deepEqual(await findingsOf(fresh.database, id), [], 'no false positive');
        const verdicts = await findVerdicts(fresh.database, id);
        assert.ok(verdicts.approve, `${id} approved`);
        assert.equal(verdicts.reject, undefined);
      }
    });

    test("one TOTP proof used by two withdrawals of one batch: the first is approved, the replay is refused, though the batch's reads were made before either was judged", async () => {
      const payer = await customer();
      const first = await requestBtc(running, payer, '0.1');
      assert.equal((await confirmTotp(running, payer, first.body.id)).status, 200);
      const proof = await fresh.database.db
        .selectFrom('withdrawal_proofs')
        .select(['factor_id', 'evidence'])
        .where('withdrawal_id', '=', first.body.id)
        .executeTakeFirstOrThrow();
      const used = JSON.parse(proof.evidence) as { step: number; code: string };
      // The same account's second withdrawal, approved below the services with the first one's step and code.
      const replay = await requestBtc(running, payer, '0.1');
      await forgeApproval(running.context, {
        withdrawal: await withdrawalRow(running, replay.body.id),
        method: 'totp',
        factorId: proof.factor_id!,
        evidence: { step: used.step, code: used.code },
      });
      const pass = await monitorPass(monitor());
      assert.equal(pass.batchesRetried, 0, 'both judged in one batch');
      assert.equal(pass.approved, 1, JSON.stringify(pass));
      assert.equal(pass.refused, 1, JSON.stringify(pass));
      assert.ok((await findVerdicts(fresh.database, first.body.id)).approve, 'the genuine one');
      const replayed = await findVerdicts(fresh.database, replay.body.id);
      assert.equal(replayed.approve, undefined, 'the replay is never approved');
      assert.ok(replayed.reject);
      assert.ok((await findingsOf(fresh.database, replay.body.id)).length > 0);
    });

    test('a check that throws in a batch: the others get their verdicts, its feed entries stay until it succeeds', async () => {
      const ids = await genuine(4);
      const broken = ids[2]!;
      // Fault injection below the services: the verdict write of one withdrawal fails.
      if (engine === 'sqlite')
        await sql
          .raw(
            `create trigger fault_verdict before insert on monitor_verdicts when new.withdrawal_id = '${broken}'
             begin select raise(abort, 'injected fault'); end`,
          )
          .execute(fresh.database.db);
      else {
        await sql
          .raw(
            `create function fault_verdict() returns trigger language plpgsql as $$
             begin if new.withdrawal_id = '${broken}' then raise exception 'injected fault'; end if; return new; end $$`,
          )
          .execute(fresh.database.db);
        await sql
          .raw(
            'create trigger fault_verdict before insert on monitor_verdicts for each row execute function fault_verdict()',
          )
          .execute(fresh.database.db);
      }
      const failedIds: string[] = [];
      const retried: (readonly string[])[] = [];
      const pass = await monitorPass(monitor(), {
        onError: (_error, id) => failedIds.push(id),
        onBatchError: (_error, batch) => retried.push(batch),
      });
      assert.deepEqual(failedIds, [broken]);
      assert.equal(pass.batchesRetried, 1, 'the batch that threw is said, not swallowed');
      assert.deepEqual(
        retried.map((batch) => [...batch].sort()),
        [[...ids].sort()],
      );
      assert.equal(pass.failed, 1, JSON.stringify(pass));
      assert.equal(pass.approved, 3, JSON.stringify(pass));
      assert.equal(pass.backlog, 1);
      assert.ok((await feedOf(broken)).length > 0, 'its feed entries stay');
      assert.deepEqual(await findVerdicts(fresh.database, broken), { approve: undefined, reject: undefined });
      for (const id of ids.filter((id) => id !== broken)) {
        assert.ok((await findVerdicts(fresh.database, id)).approve, `${id} approved`);
        assert.deepEqual(await feedOf(id), []);
      }
      // The fault gone, the next pass approves it.
      await sql
        .raw(`drop trigger fault_verdict${engine === 'sqlite' ? '' : ' on monitor_verdicts'}`)
        .execute(fresh.database.db);
      if (engine === 'postgres') await sql.raw('drop function fault_verdict()').execute(fresh.database.db);
      const again = await monitorPass(monitor());
      assert.equal(again.approved, 1, JSON.stringify(again));
      assert.equal(again.backlog, 0);
      assert.ok((await findVerdicts(fresh.database, broken)).approve);
      assert.deepEqual(await findingsOf(fresh.database, broken), []);
    });
  });
}
