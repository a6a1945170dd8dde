import assert from 'node:assert/strict';
import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { before, test } from 'node:test';
import { signVerdict } from '../../../src/core/monitor/verdict.ts';
import { signRelease } from '../../../src/core/withdrawals/attestation.ts';
import { CustodyHandover } from '../../../src/services/custody/handover.ts';
import { settleBroadcast } from '../../../src/services/withdrawals/settlement.ts';
import { findHandoff } from '../../../src/store/custody-callbacks.ts';
import { conservationReport } from '../../../src/store/ledger/index.ts';
import { startMonitor } from '../../../src/workers/monitor.ts';
import { startReleaser } from '../../../src/workers/releaser.ts';
import { auditEntries } from '../../support/customers.ts';
import { eachEngine } from '../../support/each-engine.ts';
import { monitorOf } from '../../support/http.ts';
import {
  balanceOf,
  confirmTotp,
  readyCustomer,
  releaseDue,
  requestBtc,
  withdrawalRow,
} from '../../support/withdrawals.ts';
import { InMemoryHsm } from './one-file-adapter.ts';

const FIRST_USE_WINDOW_MS = 10 * 60_000;

async function waitFor(what: string, condition: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > until) assert.fail(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

for (const { engine, describeOn } of await eachEngine()) {
  describeOn(`a custody adapter in one file (an in-memory HSM) on ${engine}`, (on) => {
    const running = on.app();
    let pinnedPem: { release: string; monitor: string };
    let customers = 0;

    before(() => {
      pinnedPem = {
        release: createPublicKey(running.context.releaseKey)
          .export({ type: 'spki', format: 'pem' })
          .toString(),
        monitor: running.context.monitorPublicKey.export({ type: 'spki', format: 'pem' }).toString(),
      };
    });

    function custodyOver(hsm: InMemoryHsm): CustodyHandover {
      return new CustodyHandover({
        database: running.context.database,
        clock: running.clock,
        transport: hsm,
      });
    }

    async function queued(amount = '0.25') {
      customers += 1;
      const customer = await readyCustomer(running, `hsm${customers}@example.com`);
      const requested = await requestBtc(running, customer, amount);
      assert.equal(requested.status, 201, JSON.stringify(requested.body));
      const confirmed = await confirmTotp(running, customer, requested.body.id);
      assert.equal(confirmed.body.state, 'queued', JSON.stringify(confirmed.body));
      return { customer, id: requested.body.id as string };
    }

    test('released, accepted, signed, broadcast and confirmed through the real releaser and settlement', async () => {
      const hsm = new InMemoryHsm(pinnedPem);
      const custody = custodyOver(hsm);
      const { customer, id } = await queued();
      running.clock.advance(FIRST_USE_WINDOW_MS);

      const first = await releaseDue(running.context, custody);
      assert.equal(first.released, 1);
      assert.equal(first.pending, 1, 'accepted, the txid still to come');
      assert.equal((await withdrawalRow(running, id)).state, 'released');
      assert.deepEqual(
        hsm.received.map((r) => [r.key, r.verdict]),
        [[`custody_${id}`, 'accepted']],
      );
      assert.equal(hsm.received[0]?.instruction.amount, '25000000', 'base units');

      // The HSM has not signed yet: the next pass asks it, and does not send the instruction again.
      const waiting = await releaseDue(running.context, custody);
      assert.equal(waiting.pending, 1);
      assert.equal(hsm.received.length, 1, 'an accepted instruction is not sent again');

      hsm.signPending();
      const signed = await releaseDue(running.context, custody);
      assert.equal(signed.pending, 0);
      const broadcast = await withdrawalRow(running, id);
      assert.equal(broadcast.state, 'broadcast');
      assert.match(String(broadcast.txid), /^[0-9a-f]{64}$/);
      assert.equal(await settleBroadcast(running.context, custody), 0, 'broadcast is not settled');

      hsm.confirmBroadcast();
      assert.equal(await settleBroadcast(running.context, custody), 1);
      const done = await withdrawalRow(running, id);
      assert.equal(done.state, 'completed');
      assert.equal(done.txid, broadcast.txid);
      assert.equal(hsm.signedCount, 1, 'signed once');
      const record = await findHandoff(running.context.database.db, id);
      assert.equal(record?.status, 'confirmed', 'the hand-over record says what the HSM said');
      assert.equal(record?.txid, broadcast.txid);
      assert.deepEqual(await balanceOf(running, customer.token), { available: '0.7499', held: '0' });
      const report = await conservationReport(running.context.database.db);
      assert.equal(report.ok, true, JSON.stringify(report.discrepancies));
      const completed = await auditEntries(running, 'withdrawal.completed');
      assert.ok(completed.some((e) => e.subject === `withdrawal:${id}`));
    });

    test('the releaser worker drives it to completed while the HSM signs and the chain confirms', async () => {
      const hsm = new InMemoryHsm(pinnedPem);
      const { customer, id } = await queued('0.1');
      running.clock.advance(FIRST_USE_WINDOW_MS);
      const errors: unknown[] = [];
      const releaser = startReleaser(running.context, custodyOver(hsm), {
        interval_ms: 10,
        onError: (error) => errors.push(error),
      });
      const monitor = startMonitor(monitorOf(running.context), {
        interval_ms: 10,
        onError: (error) => errors.push(error),
      });
      try {
        await waitFor('the instruction', async () => hsm.received.length === 1);
        hsm.signPending();
        await waitFor('broadcast', async () => (await withdrawalRow(running, id)).state === 'broadcast');
        hsm.confirmBroadcast();
        await waitFor('completed', async () => (await withdrawalRow(running, id)).state === 'completed');
      } finally {
        await releaser.stop();
        await monitor.stop();
      }
      assert.deepEqual(errors, []);
      assert.equal(hsm.received.length, 1);
      assert.deepEqual(await balanceOf(running, customer.token), { available: '0.8999', held: '0' });
    });

    test('attack: the HSM later confirms another txid than it broadcast: not recorded, errored for an operator, the hold kept', async () => {
      const hsm = new InMemoryHsm(pinnedPem);
      const custody = custodyOver(hsm);
      const { customer, id } = await queued('0.25');
      running.clock.advance(FIRST_USE_WINDOW_MS);
      await releaseDue(running.context, custody);
      hsm.signPending();
      await releaseDue(running.context, custody);
      const broadcast = await withdrawalRow(running, id);
      assert.equal(broadcast.state, 'broadcast');
      hsm.poll = async () => ({ status: 'confirmed', txid: 'e'.repeat(64) });
      assert.equal(await settleBroadcast(running.context, custody), 0);
      const row = await withdrawalRow(running, id);
      assert.equal(row.state, 'errored');
      assert.match(String(row.reason), /not the broadcast/);
      const record = await findHandoff(running.context.database.db, id);
      assert.deepEqual(
        [record?.status, record?.txid],
        ['broadcast', broadcast.txid],
        'the record keeps its txid',
      );
      assert.deepEqual(await balanceOf(running, customer.token), { available: '0.7499', held: '0.2501' });
    });

    test('it signs nothing without a valid attestation: refused, errored for an operator, the hold kept', async () => {
      // An HSM provisioned with some other key: Drawbridge's genuine attestation is not valid for it.
      const elsewhere = new InMemoryHsm({
        release: createPublicKey(generateKeyPairSync('ed25519').privateKey),
        monitor: running.context.monitorPublicKey,
      });
      const { customer, id } = await queued('0.25');
      running.clock.advance(FIRST_USE_WINDOW_MS);
      const pass = await releaseDue(running.context, custodyOver(elsewhere));
      assert.equal(pass.released, 1);
      const row = await withdrawalRow(running, id);
      assert.equal(row.state, 'errored');
      assert.equal(row.reason, 'custody refused: HSM: no valid release attestation for this instruction');
      assert.equal(elsewhere.signedCount, 0);
      assert.deepEqual(await balanceOf(running, customer.token), { available: '0.7499', held: '0.2501' });

      // The right key, but an instruction altered after signing, signed by another key, or unattested.
      const hsm = new InMemoryHsm(pinnedPem);
      const terms = {
        withdrawal_id: id,
        digest: row.digest,
        proof_hash: 'b'.repeat(64),
        asset: 'BTC',
        network: 'bitcoin',
        amount: row.amount,
        destination: row.destination_address,
        released_at: running.clock.now().toISOString(),
      };
      const { asset, network, amount, destination } = terms;
      const verdict = signVerdict(monitorOf(running.context).signingKey, {
        v: 1,
        ...terms,
        account_id: row.account_id,
        verdict: 'approve',
        verified_at: terms.released_at,
      });
      const genuine = signRelease(running.context.releaseKey, terms, verdict);
      const { monitor: _withoutVerdict, ...unverdicted } = genuine;
      const attempts = [
        { withdrawal_id: id, asset, network, amount: '90000000', destination, attestation: genuine },
        {
          withdrawal_id: id,
          asset,
          network,
          amount,
          destination,
          attestation: signRelease(generateKeyPairSync('ed25519').privateKey, terms, verdict),
        },
        // The release key alone: a verdict forged without the monitor's key, or none at all.
        {
          withdrawal_id: id,
          asset,
          network,
          amount,
          destination,
          attestation: signRelease(
            running.context.releaseKey,
            terms,
            signVerdict(generateKeyPairSync('ed25519').privateKey, verdict.statement),
          ),
        },
        { withdrawal_id: id, asset, network, amount, destination, attestation: unverdicted as never },
        { withdrawal_id: id, asset, network, amount, destination, attestation: undefined as never },
      ];
      for (const attempt of attempts) {
        assert.equal((await hsm.send(attempt, `custody_${id}`)).kind, 'refused', JSON.stringify(attempt));
      }
      assert.equal(hsm.signedCount, 0);
      assert.equal((await hsm.poll(id)).status, 'unknown', 'nothing was signed');
    });
  });
}
