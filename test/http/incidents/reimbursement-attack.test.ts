import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { sql } from 'kysely';
import { DomainError } from '../../../src/core/errors.ts';
import type { OperatorActor } from '../../../src/services/identity/acting-operator.ts';
import {
  approveReimbursement,
  executeReimbursement,
  requestReimbursement,
} from '../../../src/services/incidents/reimbursement.ts';
import { fundTreasury } from '../../../src/services/incidents/treasury.ts';
import { monitorPass } from '../../../src/services/monitor/pass.ts';
import { settleBroadcast } from '../../../src/services/withdrawals/settlement.ts';
import { inTransaction } from '../../../src/store/transaction.ts';
import { signInAgain } from '../../support/customers.ts';
import { eachEngine } from '../../support/each-engine.ts';
import { monitorOf } from '../../support/http.ts';
import { markAffected, seedIncident, seedOperator } from '../../support/incidents.ts';
import {
  balanceOf,
  confirmTotp,
  customerId,
  priceNow,
  type ReadyCustomer,
  readyCustomer,
  releaseDue,
  requestBtc,
  simulatedChain,
  withdrawalRow,
} from '../../support/withdrawals.ts';

/**
 * The attacker's tests (an insider who can write rows): money out through the reimbursement path, around the
 * four-eyed request and approval. Migration 0050's triggers and the items digest stop each.
 */
for (const { engine, describeOn } of await eachEngine()) {
  describeOn(`reimbursement against an insider writing rows, on ${engine}`, (on) => {
    const running = on.app();
    const ctx = () => running.context;
    const db = () => running.context.database.db;
    let commander: OperatorActor;
    let second: OperatorActor;
    let admin: OperatorActor;
    let n = 0;

    async function customer(btc = '1'): Promise<ReadyCustomer & { accountId: string }> {
      n += 1;
      const ready = await readyCustomer(running, `money${n}@example.com`, btc);
      return { ...ready, accountId: await customerId(running, ready.email) };
    }

    before(async () => {
      commander = await seedOperator(ctx(), 'incident_commander');
      second = await seedOperator(ctx(), 'incident_commander');
      admin = await seedOperator(ctx(), 'admin');
      await fundTreasury(ctx(), admin, { asset: 'BTC', amount: '100', reason: 'incident float' });
    });

    /** A genuine withdrawal through the API, settled on the chain, three days ago; the customer signed in again. */
    async function genuineCompleted(first: ReadyCustomer & { accountId: string }, amount: string) {
      const who = { ...first, ...(await signInAgain(running, first)) };
      await priceNow(running, 'BTC', '60000');
      const requested = await requestBtc(running, who, amount);
      assert.equal(requested.status, 201, JSON.stringify(requested.body));
      assert.equal((await confirmTotp(running, who, requested.body.id)).status, 200);
      running.clock.advance(10 * 60_000);
      await releaseDue(running.context, simulatedChain(running), monitorOf(running.context, 'global'));
      running.clock.advance(2 * 60 * 60_000);
      await settleBroadcast(running.context, simulatedChain(running));
      assert.equal((await withdrawalRow(running, requested.body.id)).state, 'completed');
      return requested.body.id as string;
    }
    async function again(who: ReadyCustomer & { accountId: string }) {
      running.clock.advance(3 * 86_400_000);
      await priceNow(running, 'BTC', '60000');
      await monitorPass(monitorOf(running.context, 'global'), { sweep: true });
      return { ...who, ...(await signInAgain(running, who)) };
    }

    /** The item the service would write for `withdrawalId` (amount + fee), for the insider to insert by hand. */
    async function itemFor(
      withdrawalId: string,
      reimbursementId: string,
      incidentId: string,
      accountId: string,
    ) {
      const w = await withdrawalRow(running, withdrawalId);
      return {
        withdrawal_id: withdrawalId,
        reimbursement_id: reimbursementId,
        incident_id: incidentId,
        account_id: accountId,
        asset: 'BTC',
        units: (BigInt(String(w.amount)) + BigInt(String(w.fee))).toString(),
        transfer_id: null,
        paid_at: null,
      };
    }
    /** A victim's lost withdrawal and a thief's own genuine one, both completed; an incident marking the first. */
    async function victimAndThief() {
      const victim = await customer('0.3');
      const thief = await customer('0.6');
      const lost = await genuineCompleted(victim, '0.2');
      const own = await genuineCompleted(thief, '0.5');
      const incident = await seedIncident(ctx());
      await markAffected(ctx(), incident, lost, victim.accountId, 'unauthorized');
      return { victim, thief: await again(thief), own, incident };
    }
    async function paidNow(incident: string, request: string): Promise<number | string> {
      try {
        return (await executeReimbursement(ctx(), commander, incident, request)).paid_now;
      } catch (error) {
        return error instanceof DomainError ? error.code : String(error);
      }
    }

    test('an item appended to an already approved reimbursement is refused by the database; the batch pays only what was approved', async () => {
      const { thief, own, incident } = await victimAndThief();
      const request = await requestReimbursement(ctx(), commander, incident, { reason: 'pay back' });
      await approveReimbursement(ctx(), second, incident, request.id);
      // The insider: their own genuine withdrawal marked unauthorized, its item added to the approved request.
      await markAffected(ctx(), incident, own, thief.accountId, 'unauthorized');
      const item = await itemFor(own, request.id, incident, thief.accountId);
      await assert.rejects(
        db().insertInto('incident_reimbursement_items').values(item).execute(),
        /added only to a request not yet approved/,
      );
      // Nor can an approved item be pointed at the thief's account or made larger.
      await assert.rejects(
        sql`update incident_reimbursement_items set account_id = ${thief.accountId}, units = '9999999' where reimbursement_id = ${request.id}`.execute(
          db(),
        ),
        /only its payment is recorded/,
      );
      assert.equal(await paidNow(incident, request.id), 1);
      // Nothing came back to the thief: a second 0.5 BTC withdrawal on a 0.6 BTC deposit is refused.
      const out = await requestBtc(running, thief, '0.5');
      assert.equal(out.status, 409, JSON.stringify(await balanceOf(running, thief.token)));
    });

    test('a request row written already approved, naming two customers, is refused by the database; pay finds nothing', async () => {
      const accomplice = await customer('0.01');
      const { thief, own, incident } = await victimAndThief();
      await markAffected(ctx(), incident, own, thief.accountId, 'unauthorized');
      const id = crypto.randomUUID();
      const now = running.clock.now().toISOString();
      const row = {
        id,
        incident_id: incident,
        reason: 'forged',
        requested_by: thief.accountId,
        requested_at: now,
      };
      await assert.rejects(
        db()
          .insertInto('incident_reimbursements')
          .values({
            ...row,
            status: 'approved',
            approved_by: accomplice.accountId,
            approved_at: now,
            items_digest: 'x',
          })
          .execute(),
        /inserted as requested by an operator with the role/,
      );
      // Written as requested by a customer: refused too; by a real commander, then "approved" by a customer: refused.
      await assert.rejects(
        db()
          .insertInto('incident_reimbursements')
          .values({ ...row, status: 'requested' })
          .execute(),
        /inserted as requested by an operator/,
      );
      await db()
        .insertInto('incident_reimbursements')
        .values({ ...row, status: 'requested', requested_by: commander.id })
        .execute();
      await db()
        .insertInto('incident_reimbursement_items')
        .values(await itemFor(own, id, incident, thief.accountId))
        .execute();
      const support = await seedOperator(ctx(), 'support');
      for (const approver of [accomplice.accountId, support.id, commander.id]) {
        await assert.rejects(
          sql`update incident_reimbursements set status = 'approved', approved_by = ${approver}, approved_at = ${now}, items_digest = 'x' where id = ${id}`.execute(
            db(),
          ),
          /then only approved by another|four_eyes/,
          approver,
        );
      }
      assert.equal(await paidNow(incident, id), 'WRONG_STATE');
      // Approved by a second commander by hand, with a made-up digest: the batch checks the items and pays nothing.
      await sql`update incident_reimbursements set status = 'approved', approved_by = ${second.id}, approved_at = ${now}, items_digest = 'x' where id = ${id}`.execute(
        db(),
      );
      assert.equal(await paidNow(incident, id), 'CONFLICT');
    });

    test('an item added to a request awaiting approval, for a withdrawal marked after the request, makes the approval a 409', async () => {
      const { thief, own, incident } = await victimAndThief();
      const request = await requestReimbursement(ctx(), commander, incident, { reason: 'pay back' });
      running.clock.advance(60_000);
      await markAffected(ctx(), incident, own, thief.accountId, 'unauthorized');
      await db()
        .insertInto('incident_reimbursement_items')
        .values(await itemFor(own, request.id, incident, thief.accountId))
        .execute();
      await assert.rejects(approveReimbursement(ctx(), second, incident, request.id), (error: unknown) => {
        assert.ok(error instanceof DomainError && error.code === 'CONFLICT');
        assert.deepEqual(error.details, { not_eligible: [own] });
        return true;
      });
    });

    test('the items digest: an item slipped in past the triggers after approval is refused before any batch pays', async () => {
      const { thief, own, incident } = await victimAndThief();
      const request = await requestReimbursement(ctx(), commander, incident, { reason: 'pay back' });
      await approveReimbursement(ctx(), second, incident, request.id);
      await markAffected(ctx(), incident, own, thief.accountId, 'unauthorized');
      const item = await itemFor(own, request.id, incident, thief.accountId);
      // Only the owner of the schema can do this; the service must not rely on the triggers alone.
      await inTransaction(running.context.database, async (tx) => {
        if (engine === 'postgres') {
          await sql`alter table incident_reimbursement_items disable trigger incident_reimbursement_items_guard`.execute(
            tx,
          );
        } else {
          await sql`drop trigger incident_reimbursement_items_insert`.execute(tx);
        }
        await tx.insertInto('incident_reimbursement_items').values(item).execute();
      });
      assert.equal(await paidNow(incident, request.id), 'CONFLICT');
    });
  });
}
