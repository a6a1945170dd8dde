import assert from 'node:assert/strict';
import { afterEach, before, test } from 'node:test';
import { usdFromWholeDollars } from '../../../src/core/money/usd.ts';
import type { MonitorContext } from '../../../src/services/monitor/check.ts';
import { monitorPass } from '../../../src/services/monitor/pass.ts';
import { customerAccount, inFlightAccount } from '../../../src/services/withdrawals/ledger-accounts.ts';
import { settleBroadcast } from '../../../src/services/withdrawals/settlement.ts';
import { findingsOf } from '../../../src/store/monitor.ts';
import { inTransaction } from '../../../src/store/transaction.ts';
import { startMonitor } from '../../../src/workers/monitor.ts';
import { eachEngine } from '../../support/each-engine.ts';
import { forgeApproval } from '../../support/forged-approvals.ts';
import { liftEveryHalt } from '../../support/halts.ts';
import { monitorOf } from '../../support/http.ts';
import {
  BTC_ADDRESS,
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
 * The monitor's checks of the system as a whole, each against an attacker who writes rows directly: a balance or a
 * transfer written around the ledger, a payment on the chain that nothing released, a burst of withdrawals beyond
 * the asset's rolling baseline. Each is flagged (by the real worker within a second, where the issue asks it),
 * halts, raises one critical alert per kind, and nothing more is released.
 */
const DETECTION_BUDGET_MS = 1000;

for (const { engine, describeOn } of await eachEngine()) {
  describeOn(`the monitor's system checks, on ${engine}`, (on) => {
    const running = on.app();
    const fresh = on.database();
    let customers = 0;
    const db = () => fresh.database.db;

    afterEach(async () => {
      await liftEveryHalt(running.context);
    });

    async function customer(btc = '1'): Promise<ReadyCustomer & { accountId: string }> {
      customers += 1;
      const ready = await readyCustomer(running, `system${customers}@example.com`, btc);
      return { ...ready, accountId: await customerId(running, ready.email) };
    }

    /** Requested and confirmed through the API, cancel window over: due for release. */
    async function dueWithdrawal(who: ReadyCustomer, amount: string): Promise<string> {
      const requested = await requestBtc(running, who, amount);
      assert.equal(requested.status, 201, JSON.stringify(requested.body));
      const confirmed = await confirmTotp(running, who, requested.body.id);
      assert.equal(confirmed.status, 200, JSON.stringify(confirmed.body));
      return requested.body.id as string;
    }

    /** Runs the monitor's worker until `key` has a finding of `check`; answers how long after `since` it came. */
    async function flaggedBy(monitor: MonitorContext, key: string, check: string, since: number) {
      const errors: unknown[] = [];
      const worker = startMonitor(monitor, { onError: (error) => errors.push(error) });
      try {
        for (;;) {
          const findings = await findingsOf(fresh.database, key);
          if (findings.some((f) => f.check_name === check)) return Date.now() - since;
          if (Date.now() - since > 10_000) assert.fail(`no ${check} finding for ${key} after 10 s`);
          await new Promise((resolve) => setTimeout(resolve, 10));
        }
      } finally {
        await worker.stop();
        assert.deepEqual(errors, []);
      }
    }

    async function activeHalt(scope: 'global' | 'asset') {
      return db()
        .selectFrom('halts')
        .select(['scope', 'asset', 'created_by'])
        .where('lifted_at', 'is', null)
        .where('scope', '=', scope)
        .executeTakeFirst();
    }

    async function criticalAlerts(kind: string) {
      return db()
        .selectFrom('alerts')
        .selectAll()
        .where('kind', '=', kind)
        .where('state', '<>', 'resolved')
        .execute();
    }

    /** A withdrawal due for release stays unreleased: the halt holds it. */
    async function nothingReleased(id: string) {
      running.clock.advance(10 * 60_000);
      const pass = await releaseDue(
        running.context,
        simulatedChain(running),
        monitorOf(running.context, 'global'),
      );
      assert.equal(pass.released, 0, JSON.stringify(pass));
      assert.equal((await withdrawalRow(running, id)).state, 'queued');
    }

    before(async () => {
      // Warm the code paths (tsx compiles on first use) and leave the feeds empty and consistent.
      const warm = await customer();
      await dueWithdrawal(warm, '0.01');
      running.clock.advance(10 * 60_000);
      assert.equal(
        (await releaseDue(running.context, simulatedChain(running), monitorOf(running.context))).released,
        1,
      );
    });

    test('genuine deposits, holds, releases and settlement add up: no ledger or chain finding', async () => {
      const who = await customer();
      const id = await dueWithdrawal(who, '0.1');
      running.clock.advance(10 * 60_000);
      const monitor = monitorOf(running.context, 'global');
      assert.equal((await releaseDue(running.context, simulatedChain(running), monitor)).released, 1);
      running.clock.advance(60 * 60_000);
      assert.ok((await settleBroadcast(running.context, simulatedChain(running))) >= 1);
      assert.equal((await withdrawalRow(running, id)).state, 'completed');
      const report = await monitorPass(monitor, { sweep: true, recount: true });
      assert.equal(report.ledgerRecount, 'ok');
      assert.equal(report.ledgerDiscrepancies, 0);
      const found = await db()
        .selectFrom('monitor_findings')
        .select(['withdrawal_id', 'check_name'])
        .execute();
      assert.deepEqual(found, [], 'no false positive');
      assert.equal(await activeHalt('global'), undefined);
    });

    test('a balance raised directly in the database is flagged within 1 s by the incremental check, halts, and pages once', async () => {
      const victim = await customer();
      const queued = await dueWithdrawal(victim, '0.01');
      const since = Date.now();
      await inTransaction(fresh.database, async (tx) => {
        const account = await customerAccount(tx, victim.accountId, 'BTC', running.clock.now());
        await tx
          .updateTable('ledger_accounts')
          .set({ posted_credits: String(account.postedCredits + 500_000_000n) })
          .where('id', '=', account.id)
          .execute();
      });
      const elapsed = await flaggedBy(
        monitorOf(running.context, 'global'),
        'ledger:BTC',
        'ledger_conservation',
        since,
      );
      assert.ok(elapsed < DETECTION_BUDGET_MS, `flagged after ${elapsed} ms`);
      const [finding] = (await findingsOf(fresh.database, 'ledger:BTC')).filter(
        (f) => f.check_name === 'ledger_conservation',
      );
      assert.match(finding?.detail ?? '', /posted_credits moved by 500000000 with no transfer/);
      assert.equal((await activeHalt('global'))?.created_by, 'system:monitor');
      const alerts = await criticalAlerts('monitor.ledger_conservation');
      assert.equal(alerts.length, 1);
      assert.equal(alerts[0]?.severity, 'critical');
      await nothingReleased(queued);
      // The slow sweep's full recount sees it too, and keeps seeing it.
      const report = await monitorPass(monitorOf(running.context, 'global'), { recount: true });
      assert.equal(report.ledgerRecount, 'discrepancies');
      await inTransaction(fresh.database, async (tx) => {
        const account = await customerAccount(tx, victim.accountId, 'BTC', running.clock.now());
        await tx
          .updateTable('ledger_accounts')
          .set({ posted_credits: String(account.postedCredits - 500_000_000n) })
          .where('id', '=', account.id)
          .execute();
      });
      await monitorPass(monitorOf(running.context, 'global'));
    });

    test('a chain payment for a withdrawal never released is flagged within 1 s, halts, and the withdrawal stays unreleased', async () => {
      const victim = await customer();
      const queued = await dueWithdrawal(victim, '0.02');
      const since = Date.now();
      const row = await withdrawalRow(running, queued);
      const now = running.clock.now();
      await db()
        .insertInto('simulated_chain_txs')
        .values({
          txid: 'f'.repeat(64),
          withdrawal_id: queued,
          network: 'bitcoin',
          destination: BTC_ADDRESS,
          amount: row.amount,
          broadcast_at: now.toISOString(),
          confirms_at: now.toISOString(),
        })
        .execute();
      const elapsed = await flaggedBy(
        monitorOf(running.context, 'global'),
        queued,
        'chain_payment_unreleased',
        since,
      );
      assert.ok(elapsed < DETECTION_BUDGET_MS, `flagged after ${elapsed} ms`);
      assert.equal((await activeHalt('global'))?.created_by, 'system:monitor');
      assert.equal((await criticalAlerts('monitor.chain_payment_unreleased')).length, 1);
      await nothingReleased(queued);
    });

    test('a chain payment for no withdrawal at all, and one paying another amount than released, are both flagged', async () => {
      const who = await customer();
      const id = await dueWithdrawal(who, '0.03');
      running.clock.advance(10 * 60_000);
      const monitor = monitorOf(running.context, 'global');
      await releaseDue(running.context, simulatedChain(running), monitor);
      assert.equal((await withdrawalRow(running, id)).state, 'broadcast');
      const now = running.clock.now().toISOString();
      await db()
        .insertInto('simulated_chain_txs')
        .values([
          {
            txid: 'e'.repeat(64),
            withdrawal_id: 'no-such-withdrawal',
            network: 'bitcoin',
            destination: BTC_ADDRESS,
            amount: '100000000',
            broadcast_at: now,
            confirms_at: now,
          },
        ])
        .execute();
      // The genuine payment's row rewritten (the append-only guard is the chain's, not ours: a real chain cannot be
      // rewritten, the simulated one is a table): as if custody had paid more than was released.
      await db().deleteFrom('simulated_chain_txs').where('withdrawal_id', '=', id).execute();
      await db()
        .insertInto('simulated_chain_txs')
        .values({
          txid: 'd'.repeat(64),
          withdrawal_id: id,
          network: 'bitcoin',
          destination: BTC_ADDRESS,
          amount: '99000000',
          broadcast_at: now,
          confirms_at: now,
        })
        .execute();
      await monitorPass(monitor);
      const unknown = await findingsOf(fresh.database, `chain:${'e'.repeat(64)}`);
      assert.deepEqual(
        unknown.map((f) => f.check_name),
        ['chain_payment_unreleased'],
      );
      const wrongAmount = await findingsOf(fresh.database, id);
      assert.ok(
        wrongAmount.some(
          (f) =>
            f.check_name === 'chain_payment_unreleased' && /paid 99000000, not its amount/.test(f.detail),
        ),
        JSON.stringify(wrongAmount),
      );
      // Two payments, one kind of finding: one alert, both in its sample.
      const alerts = await criticalAlerts('monitor.chain_payment_unreleased');
      assert.equal(alerts.length, 1, JSON.stringify(alerts));
      const details = JSON.parse(String(alerts[0]?.details)) as { sample: string[] };
      assert.ok(details.sample.includes(`withdrawal:${id}`), JSON.stringify(details));
      assert.ok(details.sample.includes(`chain:${'e'.repeat(64)}`), JSON.stringify(details));
      assert.ok(Number(alerts[0]?.occurrences) >= 2);
    });

    test('the withdrawn-volume breaker: ordinary hourly traffic does not trip it, a burst halts BTC and pages; nothing more is released', async () => {
      const who = await customer();
      const monitor: MonitorContext = {
        ...monitorOf(running.context, 'global'),
        volumeBreaker: {
          window_ms: 60 * 60_000,
          baselineWindows: 2,
          multiple: 5,
          floorUsd: usdFromWholeDollars(100n),
        },
      };
      const chain = simulatedChain(running);
      const release = async (amounts: readonly string[], by = monitorOf(running.context, 'global')) => {
        const ids: string[] = [];
        for (const amount of amounts) ids.push(await dueWithdrawal(who, amount));
        running.clock.advance(10 * 60_000);
        assert.equal((await releaseDue(running.context, chain, by)).released, amounts.length);
        return ids;
      };
      // Ordinary traffic, 0.02 BTC (USD 1,200, above the floor) an hour for three hours: released through the
      // pipeline, then dated an hour apart (a session would not outlive hours of the test clock).
      const ordinary = [
        ...(await release(['0.02'])),
        ...(await release(['0.02'])),
        ...(await release(['0.02'])),
      ];
      const now = running.clock.now().getTime();
      for (const [i, id] of ordinary.entries())
        await db()
          .updateTable('withdrawals')
          .set({ released_at: new Date(now - (140 - 60 * i) * 60_000).toISOString() })
          .where('id', '=', id)
          .execute();
      const quiet = await monitorPass(monitor, { sweep: true });
      assert.deepEqual(quiet.volumeTripped, [], 'ordinary traffic does not trip it');
      // The burst: 0.3 BTC more within the hour, against a baseline of 0.02 an hour.
      await release(['0.1', '0.1', '0.1'], monitor);
      const burst = await monitorPass(monitor, { sweep: true });
      assert.deepEqual(burst.volumeTripped, ['BTC']);
      const halt = await activeHalt('asset');
      assert.equal(halt?.asset, 'BTC');
      assert.equal(halt?.created_by, 'system:monitor');
      const alerts = await criticalAlerts('monitor.volume_breaker');
      assert.equal(alerts.length, 1);
      assert.equal(alerts[0]?.severity, 'critical');
      assert.equal((await findingsOf(fresh.database, 'volume:BTC'))[0]?.check_name, 'volume_breaker');
      // Judged once: the asset is halted, a second sweep adds no finding, halt or page.
      assert.deepEqual((await monitorPass(monitor, { sweep: true })).volumeTripped, []);
      const [next] = await (async () => [await dueWithdrawal(who, '0.01')])();
      running.clock.advance(10 * 60_000);
      assert.equal((await releaseDue(running.context, chain, monitor)).released, 0);
      assert.equal((await withdrawalRow(running, next as string)).state, 'queued');
      // Resumed by two operators: the burst before the resume no longer counts, the queued one goes.
      await liftEveryHalt(running.context);
      running.clock.advance(1000);
      assert.equal((await releaseDue(running.context, chain, monitor)).released, 1);
      assert.deepEqual((await monitorPass(monitor, { sweep: true })).volumeTripped, []);
    });

    test('a mass forgery pages once: 24 forged approvals give 24 findings and one critical alert, 24 occurrences, a sample of 20', async () => {
      const forged: string[] = [];
      for (let c = 0; c < 3; c += 1) {
        const victim = await customer();
        const factor = await db()
          .selectFrom('mfa_factors')
          .select('id')
          .where('principal_id', '=', victim.accountId)
          .where('method', '=', 'totp')
          .where('status', '=', 'active')
          .executeTakeFirstOrThrow();
        for (let i = 0; i < 8; i += 1) {
          const requested = await requestBtc(running, victim, '0.01');
          assert.equal(requested.status, 201, JSON.stringify(requested.body));
          const row = await withdrawalRow(running, requested.body.id);
          await forgeApproval(running.context, {
            withdrawal: row,
            method: 'totp',
            factorId: factor.id,
            evidence: { step: 1, code: '000000' },
          });
          forged.push(row.id);
        }
      }
      await monitorPass(monitorOf(running.context, 'global'));
      for (const id of forged)
        assert.ok((await findingsOf(fresh.database, id)).length > 0, `every forgery has its finding: ${id}`);
      const alerts = await db()
        .selectFrom('alerts')
        .selectAll()
        .where('kind', 'like', 'monitor.%')
        .where('state', '<>', 'resolved')
        .where('kind', '<>', 'monitor.price_stale')
        .execute();
      const totp = alerts.filter((a) => a.kind === 'monitor.totp');
      assert.equal(totp.length, 1, JSON.stringify(alerts.map((a) => a.kind)));
      assert.equal(Number(totp[0]?.occurrences), forged.length);
      const details = JSON.parse(String(totp[0]?.details)) as { sample: string[]; sample_max: number };
      assert.equal(details.sample.length, 20);
      assert.equal(details.sample_max, 20);
      assert.ok(details.sample.every((member) => forged.includes(member.replace('withdrawal:', ''))));
      const pages = await db()
        .selectFrom('audit_journal')
        .select('data')
        .where('action', '=', 'alert.raised')
        .where('data', 'like', '%monitor.totp%')
        .execute();
      assert.equal(pages.length, 1, 'paged once');
      assert.equal((await activeHalt('global'))?.created_by, 'system:monitor');
    });

    test('a stale price raises one warning alert per asset (deduplicated), and no halt', async () => {
      const monitor = monitorOf(running.context, 'global');
      running.clock.advance(25 * 60 * 60_000);
      const first = await monitorPass(monitor, { sweep: true });
      assert.deepEqual(first.stalePrices, ['BTC']);
      await monitorPass(monitor, { sweep: true });
      const alerts = await db()
        .selectFrom('alerts')
        .selectAll()
        .where('kind', '=', 'monitor.price_stale')
        .where('state', '<>', 'resolved')
        .execute();
      assert.equal(alerts.length, 1);
      assert.equal(alerts[0]?.severity, 'warning');
      assert.equal(alerts[0]?.fingerprint, 'BTC');
      assert.equal(Number(alerts[0]?.occurrences), 2);
      assert.equal(await activeHalt('global'), undefined);
      const metrics = await (await fetch(`${running.url}/metrics`)).text();
      assert.match(metrics, /drawbridge_price_age_seconds\{asset="BTC"\} (\d+)/);
      assert.ok(Number(/drawbridge_price_age_seconds\{asset="BTC"\} (\d+)/.exec(metrics)?.[1]) > 24 * 3600);
      assert.match(metrics, /drawbridge_monitor_system_feed_backlog\{feed="ledger"\} 0/);
      assert.match(metrics, /drawbridge_monitor_system_feed_backlog\{feed="chain"\} 0/);
      assert.match(metrics, /drawbridge_monitor_findings_total\{check="volume_breaker"\} 1/);
    });

    test('a transfer row inserted without its balances is flagged within 1 s, and with MONITOR_HALT_SCOPE=asset halts BTC', async () => {
      const victim = await customer();
      const queued = await dueWithdrawal(victim, '0.01');
      const since = Date.now();
      await inTransaction(fresh.database, async (tx) => {
        const now = running.clock.now();
        const balance = await customerAccount(tx, victim.accountId, 'BTC', now);
        const inFlight = await inFlightAccount(tx, victim.accountId, 'BTC', now);
        await tx
          .insertInto('ledger_transfers')
          .values({
            id: `forged-transfer-${customers}`,
            kind: 'posted',
            debit_account_id: inFlight.id,
            credit_account_id: balance.id,
            asset: 'BTC',
            amount: '300000000',
            pending_id: null,
            code: 'deposit',
            reference: null,
            created_at: now.toISOString(),
          })
          .execute();
      });
      const monitor = monitorOf(running.context, 'asset');
      const elapsed = await flaggedBy(monitor, 'ledger:BTC', 'ledger_conservation', since);
      assert.ok(elapsed < DETECTION_BUDGET_MS, `flagged after ${elapsed} ms`);
      const halt = await activeHalt('asset');
      assert.equal(halt?.asset, 'BTC');
      assert.equal(halt?.created_by, 'system:monitor');
      await nothingReleased(queued);
    });
  });
}
