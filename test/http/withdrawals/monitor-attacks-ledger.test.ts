import assert from 'node:assert/strict';
import { afterEach, before, test } from 'node:test';
import { treasuryAccount } from '../../../src/services/incidents/treasury.ts';
import { isOwnVerdict } from '../../../src/services/monitor/check.ts';
import { monitorPass } from '../../../src/services/monitor/pass.ts';
import {
  custodyAccount,
  customerAccount,
  PLATFORM_OWNER,
} from '../../../src/services/withdrawals/ledger-accounts.ts';
import { openAccount, transfer } from '../../../src/store/ledger/index.ts';
import { findingsOf, findVerdicts } from '../../../src/store/monitor.ts';
import { inTransaction } from '../../../src/store/transaction.ts';
import { api } from '../../support/customers.ts';
import { eachEngine } from '../../support/each-engine.ts';
import { liftEveryHalt } from '../../support/halts.ts';
import { monitorOf } from '../../support/http.ts';
import {
  confirmTotp,
  customerId,
  type ReadyCustomer,
  readyCustomer,
  releaseDue,
  requestBtc,
  simulatedChain,
  withdrawalRow,
} from '../../support/withdrawals.ts';

/**
 * Issue #13: an insider with write access to the ledger's tables gets money out past the monitor.
 *
 * 1. A balance raised directly (no transfer), and the rows the triggers wrote into the monitor's feeds deleted, so
 *    the incremental conservation check never sees it before the hourly recount.
 * 2. A balanced transfer from an account allowed to go negative (custody, treasury funding) into a customer's own
 *    balance: the journal is balanced, so recount and conservation agree, yet the money was invented.
 *
 * Each ends with a withdrawal the monitor must refuse at its verdict (a critical finding naming why, a halt, a
 * critical alert), so the releaser never releases it and custody never pays it.
 */
const BTC = 100_000_000n;

for (const { engine, describeOn } of await eachEngine()) {
  describeOn(`the monitor against an insider writing the ledger, on ${engine}`, (on) => {
    const running = on.app();
    const fresh = on.database();
    let customers = 0;
    const db = () => fresh.database.db;
    const monitor = () => monitorOf(running.context, 'global');

    afterEach(async () => {
      await liftEveryHalt(running.context);
    });

    async function customer(btc = '0.1'): Promise<ReadyCustomer & { accountId: string }> {
      customers += 1;
      const ready = await readyCustomer(running, `insider${customers}@example.com`, btc);
      return { ...ready, accountId: await customerId(running, ready.email) };
    }

    /** Requested and confirmed through the API (the hold placed on the stored balance), cancel window over. */
    async function dueWithdrawal(who: ReadyCustomer, amount: string): Promise<string> {
      const requested = await requestBtc(running, who, amount);
      assert.equal(requested.status, 201, JSON.stringify(requested.body));
      const confirmed = await confirmTotp(running, who, requested.body.id);
      assert.equal(confirmed.status, 200, JSON.stringify(confirmed.body));
      running.clock.advance(10 * 60_000);
      return requested.body.id as string;
    }

    /** What the insider deletes: every row the triggers wrote into the monitor's system feeds. */
    async function emptySystemFeeds() {
      await db().deleteFrom('monitor_ledger_feed').execute();
      await db().deleteFrom('monitor_chain_feed').execute();
    }

    /** The withdrawal was refused with `check` (critical, a halt by the monitor, an alert), and nothing released. */
    async function assertRefused(id: string, check: string, detail?: RegExp) {
      const released = await releaseDue(running.context, simulatedChain(running), monitor());
      assert.equal(released.released, 0, `nothing is released: ${JSON.stringify(released)}`);
      assert.notEqual((await withdrawalRow(running, id)).state, 'released');
      const findings = await findingsOf(fresh.database, id);
      const found = findings.find((f) => f.check_name === check);
      assert.ok(
        found,
        `${id}: ${JSON.stringify(findings.map((f) => [f.check_name, f.detail]))} has ${check}`,
      );
      if (detail !== undefined) assert.match(found.detail, detail);
      const verdicts = await findVerdicts(fresh.database.db, id);
      assert.ok(
        verdicts.reject !== undefined && isOwnVerdict(monitor(), verdicts.reject, id),
        'signed rejection',
      );
      assert.equal(verdicts.approve, undefined, 'never approved');
      const halt = await db()
        .selectFrom('halts')
        .select(['scope', 'created_by'])
        .where('lifted_at', 'is', null)
        .where('scope', '=', 'global')
        .executeTakeFirst();
      assert.equal(halt?.created_by, 'system:monitor');
      const alert = await db()
        .selectFrom('alerts')
        .select(['severity'])
        .where('kind', '=', `monitor.${check}`)
        .where('state', '<>', 'resolved')
        .executeTakeFirst();
      assert.equal(alert?.severity, 'critical');
      // Nor on a later pass, with the halt lifted: a rejection is final.
      await liftEveryHalt(running.context);
      running.clock.advance(10 * 60_000);
      const again = await releaseDue(running.context, simulatedChain(running), monitor());
      assert.equal(again.released, 0);
    }

    before(async () => {
      // Warm the code paths and leave the feeds empty and consistent.
      const warm = await customer('1');
      await dueWithdrawal(warm, '0.01');
      assert.equal((await releaseDue(running.context, simulatedChain(running), monitor())).released, 1);
      await monitorPass(monitor(), { sweep: true, recount: true });
    });

    test('genuine deposits, a cancelled hold coming back and a second withdrawal: approved, no finding', async () => {
      const who = await customer('0.3');
      const first = await requestBtc(running, who, '0.2');
      assert.equal(first.status, 201);
      assert.equal((await confirmTotp(running, who, first.body.id)).status, 200);
      const cancelled = await api(running, 'POST', `/v1/withdrawals/${first.body.id}/cancel`, {
        token: who.token,
      });
      assert.equal(cancelled.status, 200, JSON.stringify(cancelled.body));
      const id = await dueWithdrawal(who, '0.25');
      assert.equal((await releaseDue(running.context, simulatedChain(running), monitor())).released, 1);
      assert.ok(['released', 'broadcast'].includes((await withdrawalRow(running, id)).state));
      const findings = await db().selectFrom('monitor_findings').select(['check_name', 'detail']).execute();
      assert.deepEqual(findings, [], 'no false positive');
    });

    for (const source of ['custody', 'treasury_funding'] as const)
      test(`attack 2: a balanced transfer from ${source} into the customer's balance is refused, naming the transfer`, async () => {
        const victim = await customer('0.1');
        const transferId = `insider-${source}-${customers}`;
        await inTransaction(fresh.database, async (tx) => {
          const now = running.clock.now();
          const from =
            source === 'custody'
              ? await custodyAccount(tx, 'BTC', now)
              : await openAccount(
                  tx,
                  { ownerId: PLATFORM_OWNER, asset: 'BTC', kind: source, debitsMustNotExceedCredits: false },
                  now,
                );
          const to = await customerAccount(tx, victim.accountId, 'BTC', now);
          await transfer(
            tx,
            {
              id: transferId,
              debitAccountId: from.id,
              creditAccountId: to.id,
              asset: 'BTC',
              amount: BTC / 2n,
              code: 'deposit',
              reference: 'bitcoin:feedfacefeedface:0',
            },
            now,
          );
        });
        const id = await dueWithdrawal(victim, '0.5');
        // The journal is balanced: conservation and the recount agree with it.
        const report = await monitorPass(monitor(), { recount: true });
        assert.equal(report.ledgerRecount, 'ok');
        assert.equal(report.ledgerDiscrepancies, 0);
        await assertRefused(id, 'credit_unexplained', new RegExp(transferId));
      });

    test('attack 2: a "reimbursement" out of the treasury with no approved request behind it is refused', async () => {
      const victim = await customer('0.1');
      const transferId = `reimbursement:forged:${customers}`;
      await inTransaction(fresh.database, async (tx) => {
        const now = running.clock.now();
        const funding = await openAccount(
          tx,
          {
            ownerId: PLATFORM_OWNER,
            asset: 'BTC',
            kind: 'treasury_funding',
            debitsMustNotExceedCredits: false,
          },
          now,
        );
        const treasury = await treasuryAccount(tx, 'BTC', now);
        await transfer(
          tx,
          {
            id: `treasury-fund:${transferId}`,
            debitAccountId: funding.id,
            creditAccountId: treasury.id,
            asset: 'BTC',
            amount: BTC,
            code: 'treasury_funding',
          },
          now,
        );
        const to = await customerAccount(tx, victim.accountId, 'BTC', now);
        await transfer(
          tx,
          {
            id: transferId,
            debitAccountId: treasury.id,
            creditAccountId: to.id,
            asset: 'BTC',
            amount: BTC / 2n,
            code: 'reimbursement',
          },
          now,
        );
      });
      const id = await dueWithdrawal(victim, '0.5');
      await assertRefused(id, 'credit_unexplained', new RegExp(transferId));
    });
    test('attack 1: a balance raised around the ledger with its feed rows deleted is refused at the verdict', async () => {
      const victim = await customer('0.1');
      await inTransaction(fresh.database, async (tx) => {
        const account = await customerAccount(tx, victim.accountId, 'BTC', running.clock.now());
        await tx
          .updateTable('ledger_accounts')
          .set({ posted_credits: String(account.postedCredits + BTC / 2n) })
          .where('id', '=', account.id)
          .execute();
      });
      await emptySystemFeeds();
      const id = await dueWithdrawal(victim, '0.5');
      await assertRefused(id, 'journal_balance', /posted_credits/);
    });

    test('attack 1, with the withdrawal feed deleted too: the slow sweep still judges it, and refuses it', async () => {
      const victim = await customer('0.1');
      await inTransaction(fresh.database, async (tx) => {
        const account = await customerAccount(tx, victim.accountId, 'BTC', running.clock.now());
        await tx
          .updateTable('ledger_accounts')
          .set({ posted_credits: String(account.postedCredits + BTC / 2n) })
          .where('id', '=', account.id)
          .execute();
      });
      const id = await dueWithdrawal(victim, '0.5');
      await emptySystemFeeds();
      await db().deleteFrom('monitor_feed').execute();
      // Without the sweep nothing judges it, and without a verdict nothing releases it.
      const pass = await monitorPass(monitor());
      assert.equal(pass.checked, 0);
      assert.equal((await findVerdicts(fresh.database.db, id)).approve, undefined);
      await assertRefused(id, 'journal_balance');
    });
  });
}
