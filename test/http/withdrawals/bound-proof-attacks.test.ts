import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { beforeEach, test } from 'node:test';
import { sql } from 'kysely';
import { verifyAssertionEvidence } from '../../../src/core/mfa/passkey.ts';
import { withdrawalChallenge } from '../../../src/core/mfa/passkey-challenge.ts';
import { signVerdict } from '../../../src/core/monitor/verdict.ts';
import { signRelease } from '../../../src/core/withdrawals/attestation.ts';
import { withdrawalDigest } from '../../../src/core/withdrawals/digest.ts';
import { monitorPass } from '../../../src/services/monitor/pass.ts';
import { api, auditEntries, forgetRateLimits, nextTotp } from '../../support/customers.ts';
import { eachEngine } from '../../support/each-engine.ts';
import { monitorOf, TEST_ORIGIN } from '../../support/http.ts';
import { SoftAuthenticator } from '../../support/soft-authenticator.ts';
import {
  balanceOf,
  confirmPasskey,
  confirmTotp,
  passkeyChallengeFor,
  readyCustomer,
  readyPasskeyCustomer,
  releaseDue,
  requestBtc,
  simulatedChain,
  simulatedTransport,
  withdrawalRow,
} from '../../support/withdrawals.ts';

const FIRST_USE_WINDOW_MS = 10 * 60_000;

for (const { engine, describeOn } of await eachEngine()) {
  describeOn(`a withdrawal is approved only by a proof bound to it, on ${engine}`, (on) => {
    const fresh = on.database();
    const running = on.app();
    beforeEach(async () => {
      await forgetRateLimits(running);
    });

    async function requested(customer: { token: string; destinationId: string }, amount: string) {
      const response = await requestBtc(running, customer, amount);
      assert.equal(response.status, 201, JSON.stringify(response.body));
      return response.body as { id: string; digest: string; nonce: string };
    }

    test('confirm withdrawal B with the passkey assertion made for A: refused, whichever challenge id it comes with', async () => {
      const authenticator = new SoftAuthenticator();
      const customer = await readyPasskeyCustomer(running, 'swap-passkey@example.com', authenticator);
      const a = await requested(customer, '0.1');
      const b = await requested(customer, '0.2');
      assert.notEqual(a.digest, b.digest, 'another amount, another digest');

      const challengeA = await passkeyChallengeFor(running, customer.token, a.id);
      const assertionForA = authenticator.getAssertion(challengeA.options, TEST_ORIGIN);
      // A's challenge id on B's confirmation: the challenge was issued for A only.
      const withAsChallenge = await confirmPasskey(
        running,
        customer.token,
        b.id,
        challengeA.challenge_id,
        assertionForA,
      );
      assert.equal(withAsChallenge.status, 401, JSON.stringify(withAsChallenge.body));
      // B's own challenge id, A's signature: the signed challenge is derived from A's digest, not B's.
      const challengeB = await passkeyChallengeFor(running, customer.token, b.id);
      assert.notEqual(challengeB.options.challenge, challengeA.options.challenge);
      const withBsChallenge = await confirmPasskey(
        running,
        customer.token,
        b.id,
        challengeB.challenge_id,
        assertionForA,
      );
      assert.equal(withBsChallenge.status, 401, JSON.stringify(withBsChallenge.body));
      const rowB = await withdrawalRow(running, b.id);
      assert.equal(rowB.state, 'awaiting_confirmation');
      assert.equal(rowB.proof_id, null);
      assert.deepEqual(await balanceOf(running, customer.token), { available: '1', held: '0' });

      // The same assertion still confirms the withdrawal it was made for.
      const confirmedA = await confirmPasskey(
        running,
        customer.token,
        a.id,
        challengeA.challenge_id,
        assertionForA,
      );
      assert.equal(confirmedA.status, 200, JSON.stringify(confirmedA.body));
      assert.equal(confirmedA.body.state, 'queued');
    });

    test('one TOTP code used for two withdrawals in the same time step: the second is refused', async () => {
      const customer = await readyCustomer(running, 'totp-twice@example.com');
      const a = await requested(customer, '0.1');
      const b = await requested(customer, '0.1');
      const code = nextTotp(running, customer.secret);
      const proof = { proof: { method: 'totp', code } };
      const first = await api(running, 'POST', `/v1/withdrawals/${a.id}/confirm`, {
        token: customer.token,
        body: proof,
      });
      assert.equal(first.status, 200, JSON.stringify(first.body));
      const second = await api(running, 'POST', `/v1/withdrawals/${b.id}/confirm`, {
        token: customer.token,
        body: proof,
      });
      // The same session typing the code it just used is told so (a replay from elsewhere: totp-same-code.test.ts).
      assert.equal(second.status, 409, JSON.stringify(second.body));
      assert.equal(second.body.code, 'TOTP_ALREADY_USED');
      assert.equal((await withdrawalRow(running, b.id)).state, 'awaiting_confirmation');
      assert.deepEqual(await balanceOf(running, customer.token), { available: '0.8999', held: '0.1001' });
      // The next step's code confirms B.
      const later = await confirmTotp(running, customer, b.id);
      assert.equal(later.status, 200, JSON.stringify(later.body));
    });

    test('change the amount after the challenge: the proof approves the digest, not the altered row, and nothing is held for it', async () => {
      const customer = await readyCustomer(running, 'tamper-amount@example.com');
      const w = await requested(customer, '0.1');
      await sql`update withdrawals set amount = ${'90000000'} where id = ${w.id}`.execute(fresh.database.db);
      const confirmed = await confirmTotp(running, customer, w.id);
      assert.equal(confirmed.status, 409, JSON.stringify(confirmed.body));
      const row = await withdrawalRow(running, w.id);
      assert.equal(row.state, 'cancelled');
      assert.equal(row.proof_id, null);
      assert.deepEqual(await balanceOf(running, customer.token), { available: '1', held: '0' });
      const refused = await auditEntries(running, 'withdrawal.integrity_refused');
      assert.ok(refused.some((e) => e.subject === `withdrawal:${w.id}`));

      // A new withdrawal of that other amount gets its own digest; the old digest is no use for it.
      const other = await requested(customer, '0.9');
      assert.notEqual(other.digest, w.digest);
      const terms = await withdrawalRow(running, other.id);
      assert.equal(
        withdrawalDigest({
          withdrawal_id: terms.id,
          account_id: terms.account_id,
          asset: terms.asset,
          network: terms.network,
          amount: terms.amount,
          fee: terms.fee,
          destination: terms.destination_address,
          nonce: terms.nonce,
        }),
        other.digest,
        'anyone can reproduce the digest from the terms',
      );
    });

    test('change the amount or destination of a confirmed withdrawal in the database: the releaser refuses it', async () => {
      const customer = await readyCustomer(running, 'tamper-queued@example.com');
      const amount = await requested(customer, '0.1');
      const destination = await requested(customer, '0.1');
      for (const w of [amount, destination]) {
        const confirmed = await confirmTotp(running, customer, w.id);
        assert.equal(confirmed.body.state, 'queued', JSON.stringify(confirmed.body));
      }
      // The monitor has judged them (it follows confirmations within a poll); the rows are changed afterwards.
      await monitorPass(monitorOf(running.context));
      await sql`update withdrawals set amount = ${'90000000'} where id = ${amount.id}`.execute(
        fresh.database.db,
      );
      await sql`update withdrawals set destination_address = ${'1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2'} where id = ${destination.id}`.execute(
        fresh.database.db,
      );
      running.clock.advance(FIRST_USE_WINDOW_MS);
      const chain = simulatedChain(running);
      await releaseDue(running.context, chain);
      const refused = await auditEntries(running, 'withdrawal.release_refused');
      for (const w of [amount, destination]) {
        const row = await withdrawalRow(running, w.id);
        assert.equal(row.state, 'held_for_review', `${w.id} must not be released`);
        assert.equal(row.attestation, null);
        assert.match(row.reason ?? '', /digest does not match/);
        assert.ok(refused.some((e) => e.subject === `withdrawal:${w.id}`));
        assert.equal((await chain.status(w.id)).status, 'unknown', 'nothing reached the chain');
      }
    });

    test('a replayed passkey assertion is refused on the same and on another withdrawal; the stored one re-verifies as evidence', async () => {
      const authenticator = new SoftAuthenticator();
      const customer = await readyPasskeyCustomer(running, 'replay-passkey@example.com', authenticator);
      const a = await requested(customer, '0.1');
      const b = await requested(customer, '0.1');
      const challengeA = await passkeyChallengeFor(running, customer.token, a.id);
      const assertion = authenticator.getAssertion(challengeA.options, TEST_ORIGIN);
      const first = await confirmPasskey(running, customer.token, a.id, challengeA.challenge_id, assertion);
      assert.equal(first.status, 200, JSON.stringify(first.body));

      const again = await confirmPasskey(running, customer.token, a.id, challengeA.challenge_id, assertion);
      assert.equal(again.status, 409, JSON.stringify(again.body));
      const challengeB = await passkeyChallengeFor(running, customer.token, b.id);
      const onB = await confirmPasskey(running, customer.token, b.id, challengeB.challenge_id, assertion);
      assert.equal(onB.status, 401, JSON.stringify(onB.body));
      assert.equal((await withdrawalRow(running, b.id)).state, 'awaiting_confirmation');
      const proofs = await fresh.database.db
        .selectFrom('withdrawal_proofs')
        .select('withdrawal_id')
        .where('withdrawal_id', 'in', [a.id, b.id])
        .execute();
      assert.deepEqual(
        proofs.map((p) => p.withdrawal_id),
        [a.id],
        'one proof, for A only',
      );

      // Evidence anyone can check: the stored assertion, the stored public key, the challenge from the digest.
      const rowA = await withdrawalRow(running, a.id);
      assert.ok(rowA.proof_id);
      const proof = await fresh.database.db
        .selectFrom('withdrawal_proofs')
        .selectAll()
        .where('id', '=', rowA.proof_id)
        .executeTakeFirstOrThrow();
      assert.equal(proof.method, 'passkey');
      assert.equal(proof.withdrawal_id, a.id);
      const evidence = JSON.parse(proof.evidence) as { assertion: unknown; digest: string; nonce: string };
      const factor = await fresh.database.db
        .selectFrom('mfa_factors')
        .select(['credential_id', 'public_key'])
        .where('id', '=', proof.factor_id)
        .executeTakeFirstOrThrow();
      assert.ok(factor.credential_id && factor.public_key);
      const credential = { id: factor.credential_id, publicKey: factor.public_key };
      const rp = running.context.settings.relyingParty;
      const verified = await verifyAssertionEvidence({
        response: evidence.assertion,
        expectedChallenge: withdrawalChallenge(rowA.digest, rowA.nonce),
        rp,
        credential,
      });
      assert.equal(verified.counter, 1);
      const rowB = await withdrawalRow(running, b.id);
      await assert.rejects(
        verifyAssertionEvidence({
          response: evidence.assertion,
          expectedChallenge: withdrawalChallenge(rowB.digest, rowB.nonce),
          rp,
          credential,
        }),
        'the evidence does not verify for another withdrawal',
      );
    });

    test('a withdrawal forced past confirmation in the database without its own proof is refused by the database', async () => {
      const customer = await readyCustomer(running, 'force-state@example.com');
      const confirmedOne = await requested(customer, '0.1');
      const unconfirmed = await requested(customer, '0.1');
      assert.equal((await confirmTotp(running, customer, confirmedOne.id)).status, 200);
      const db = fresh.database.db;
      for (const state of ['screening', 'queued', 'released', 'completed']) {
        await assert.rejects(
          sql`update withdrawals set state = ${state} where id = ${unconfirmed.id}`.execute(db),
          /withdrawals_proof_required|CHECK constraint failed/,
          `${state} without a proof`,
        );
      }
      const proofId = (await withdrawalRow(running, confirmedOne.id)).proof_id;
      assert.ok(proofId);
      await assert.rejects(
        sql`update withdrawals set state = 'queued', proof_id = ${proofId} where id = ${unconfirmed.id}`.execute(
          db,
        ),
        /withdrawals_bound_proof|FOREIGN KEY constraint failed/,
        "another withdrawal's proof",
      );
      // Nor can a stored proof be re-pointed at other terms while a withdrawal relies on it.
      await assert.rejects(
        sql`update withdrawal_proofs set digest = ${unconfirmed.digest} where id = ${proofId}`.execute(db),
        /withdrawals_bound_proof|FOREIGN KEY constraint failed/,
      );
      assert.equal((await withdrawalRow(running, unconfirmed.id)).state, 'awaiting_confirmation');
    });

    test('the releaser refuses a queued withdrawal whose stored proof evidence was altered', async () => {
      const customer = await readyCustomer(running, 'alter-evidence@example.com');
      const w = await requested(customer, '0.1');
      assert.equal((await confirmTotp(running, customer, w.id)).status, 200);
      await monitorPass(monitorOf(running.context));
      const row = await withdrawalRow(running, w.id);
      assert.ok(row.proof_id);
      const proof = await fresh.database.db
        .selectFrom('withdrawal_proofs')
        .select('evidence')
        .where('id', '=', row.proof_id)
        .executeTakeFirstOrThrow();
      const evidence = JSON.parse(proof.evidence) as { step: number };
      const altered = JSON.stringify({ ...evidence, step: evidence.step + 1 });
      await sql`update withdrawal_proofs set evidence = ${altered} where id = ${row.proof_id}`.execute(
        fresh.database.db,
      );
      running.clock.advance(FIRST_USE_WINDOW_MS);
      const chain = simulatedChain(running);
      await releaseDue(running.context, chain);
      const after = await withdrawalRow(running, w.id);
      assert.equal(after.state, 'held_for_review');
      assert.match(after.reason ?? '', /evidence was altered/);
      assert.equal((await chain.status(w.id)).status, 'unknown');
      const refused = await auditEntries(running, 'withdrawal.release_refused');
      assert.ok(refused.some((e) => e.subject === `withdrawal:${w.id}`));
    });

    test('the simulated custody signer pays a real attestation and refuses a forged or altered one', async () => {
      const chain = simulatedTransport(running);
      const statement = {
        withdrawal_id: 'custody-probe-1',
        digest: 'a'.repeat(64),
        proof_hash: 'b'.repeat(64),
        asset: 'BTC',
        network: 'bitcoin',
        amount: '10000000',
        destination: 'bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4',
        released_at: running.clock.now().toISOString(),
      };
      const { withdrawal_id, asset, network, amount, destination } = statement;
      const instruction = { withdrawal_id, asset, network, amount, destination };
      const { released_at: _releasedAt, ...verdictTerms } = statement;
      const verdictStatement = {
        v: 1 as const,
        ...verdictTerms,
        account_id: 'probe',
        verdict: 'approve' as const,
        verified_at: statement.released_at,
      };
      const verdict = signVerdict(monitorOf(running.context).signingKey, verdictStatement);
      const genuine = signRelease(running.context.releaseKey, statement, verdict);
      const forged = signRelease(generateKeyPairSync('ed25519').privateKey, statement, verdict);
      const forgedVerdict = signRelease(
        running.context.releaseKey,
        statement,
        signVerdict(generateKeyPairSync('ed25519').privateKey, verdictStatement),
      );
      const refusals = [
        { why: 'signed by another key', ...instruction, attestation: forged },
        {
          why: "a monitor verdict forged without the monitor's key",
          ...instruction,
          attestation: forgedVerdict,
        },
        { why: 'amount changed after signing', ...instruction, amount: '90000000', attestation: genuine },
        {
          why: 'destination changed after signing',
          ...instruction,
          destination: '1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2',
          attestation: genuine,
        },
        {
          why: 'statement changed under the signature',
          ...instruction,
          amount: '90000000',
          attestation: { ...genuine, statement: { ...genuine.statement, amount: '90000000' } },
        },
        { why: 'no attestation', ...instruction, attestation: undefined as never },
      ];
      for (const { why, ...attempt } of refusals) {
        assert.equal((await chain.send(attempt)).kind, 'refused', why);
      }
      assert.equal((await chain.poll(withdrawal_id)).status, 'unknown', 'nothing was broadcast');
      const paid = await chain.send({ ...instruction, attestation: genuine });
      assert.ok(paid.kind === 'broadcast', JSON.stringify(paid));
      assert.match(paid.txid, /^[0-9a-f]{64}$/);
      assert.deepEqual(await chain.send({ ...instruction, attestation: genuine }), paid, 'idempotent per id');
      assert.equal((await chain.poll(withdrawal_id)).status, 'broadcast');
    });
  });
}
