import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync } from 'node:crypto';
import { afterEach, before, test } from 'node:test';
import { sql } from 'kysely';
import { withdrawalChallenge } from '../../../src/core/mfa/passkey-challenge.ts';
import { totpAt } from '../../../src/core/mfa/totp.ts';
import { signVerdict } from '../../../src/core/monitor/verdict.ts';
import { signRelease } from '../../../src/core/withdrawals/attestation.ts';
import { proofHash } from '../../../src/core/withdrawals/digest.ts';
import { monitorPass } from '../../../src/services/monitor/pass.ts';
import { sealAudit } from '../../../src/store/audit/index.ts';
import { ENROLMENT_READ_CAP, findingsOf, findVerdicts } from '../../../src/store/monitor.ts';
import { startMonitor } from '../../../src/workers/monitor.ts';
import { tamperAuditLog } from '../../store/audit/audit-fixtures.ts';
import { api, stepUpToken } from '../../support/customers.ts';
import { eachEngine } from '../../support/each-engine.ts';
import { forgeApproval } from '../../support/forged-approvals.ts';
import { liftEveryHalt } from '../../support/halts.ts';
import { monitorOf, TEST_ORIGIN } from '../../support/http.ts';
import { SoftAuthenticator } from '../../support/soft-authenticator.ts';
import {
  BTC_ADDRESS_2,
  confirmPasskey,
  confirmTotp,
  customerId,
  passkeyChallengeFor,
  type ReadyCustomer,
  readyCustomer,
  readyPasskeyCustomer,
  releaseDue,
  requestBtc,
  simulatedChain,
  simulatedTransport,
  withdrawalRow,
} from '../../support/withdrawals.ts';

/**
 * The 2022 bypass, and what a forger with write access to the tables does next: approved withdrawals written
 * below the services (a hold placed, a proof row whose hash is right, the cancel window already over), with
 * evidence that satisfies every constraint but not the cryptography. The independent monitor, running as its
 * worker runs, must flag each within a second, halt, and no forged withdrawal may reach custody.
 */
const DETECTION_BUDGET_MS = 1000;

for (const { engine, describeOn } of await eachEngine()) {
  describeOn(`the independent monitor against forged approvals, on ${engine}`, (on) => {
    const running = on.app();
    const fresh = on.database();
    let customers = 0;

    const monitor = () => monitorOf(running.context, 'global');

    afterEach(async () => {
      await liftEveryHalt(running.context);
    });

    async function customer(): Promise<ReadyCustomer & { accountId: string }> {
      customers += 1;
      const ready = await readyCustomer(running, `forged${customers}@example.com`);
      return { ...ready, accountId: await customerId(running, ready.email) };
    }

    async function factorOf(accountId: string, method: 'totp' | 'recovery' | 'passkey') {
      return fresh.database.db
        .selectFrom('mfa_factors')
        .selectAll()
        .where('principal_id', '=', accountId)
        .where('method', '=', method)
        .where('status', '=', 'active')
        .orderBy('created_at')
        .executeTakeFirstOrThrow();
    }

    /**
     * Requests a withdrawal through the API (a genuine row and digest), then, below the services in one
     * transaction, places its hold, writes a proof whose evidence `evidenceFor` makes (its hash recomputed) and
     * moves it to queued with the cancel window over. Answers the withdrawal id and when the forgery committed.
     */
    async function inject(
      who: ReadyCustomer & { accountId: string },
      method: 'totp' | 'recovery_code' | 'passkey',
      factorId: string,
      evidenceFor: (w: { id: string; digest: string; nonce: string }) => Record<string, unknown>,
    ): Promise<{ id: string; committedAt: number }> {
      const requested = await requestBtc(running, who, '0.1');
      assert.equal(requested.status, 201, JSON.stringify(requested.body));
      const row = await withdrawalRow(running, requested.body.id);
      await forgeApproval(running.context, {
        withdrawal: row,
        method,
        factorId,
        evidence: evidenceFor(row),
      });
      return { id: row.id, committedAt: Date.now() };
    }

    /** Runs the monitor's worker until `id` has a finding; answers the checks found and how long it took. */
    async function detected(id: string, committedAt: number) {
      const errors: unknown[] = [];
      const worker = startMonitor(monitor(), { onError: (error) => errors.push(error) });
      try {
        for (;;) {
          const findings = await findingsOf(fresh.database, id);
          if (findings.length > 0) {
            const elapsed = Date.now() - committedAt;
            return { checks: findings.map((f) => f.check_name), elapsed };
          }
          if (Date.now() - committedAt > 10_000) assert.fail(`no finding for ${id} after 10 s`);
          await new Promise((resolve) => setTimeout(resolve, 10));
        }
      } finally {
        await worker.stop();
        assert.deepEqual(errors, []);
      }
    }

    /** Flagged within the budget, a global halt by the monitor in force, an alert raised; nothing released. */
    async function assertCaught(id: string, committedAt: number, check: string) {
      const { checks, elapsed } = await detected(id, committedAt);
      assert.ok(checks.includes(check), `${id}: ${JSON.stringify(checks)} should include ${check}`);
      assert.ok(elapsed < DETECTION_BUDGET_MS, `flagged after ${elapsed} ms`);
      const halt = await fresh.database.db
        .selectFrom('halts')
        .select(['scope', 'created_by'])
        .where('lifted_at', 'is', null)
        .where('scope', '=', 'global')
        .executeTakeFirst();
      assert.equal(halt?.created_by, 'system:monitor', 'the monitor halted everything');
      assert.ok((await findVerdicts(fresh.database, id)).reject, 'the monitor signed a rejection');
      const chain = simulatedChain(running);
      assert.equal((await releaseDue(running.context, chain, monitor())).released, 0, 'halted');
      // Even with the halt lifted by an operator, the releaser refuses it: the monitor's verdict rejects.
      await liftEveryHalt(running.context);
      await releaseDue(running.context, chain, monitor());
      const row = await withdrawalRow(running, id);
      assert.equal(row.state, 'held_for_review', `${id} is ${row.state}`);
      assert.equal(row.attestation, null);
      assert.equal((await chain.status(id)).status, 'unknown', 'nothing reached custody');
      const audited = await fresh.database.db
        .selectFrom('audit_journal')
        .select('data')
        .where('action', '=', 'monitor.finding')
        .where('subject', '=', `withdrawal:${id}`)
        .execute();
      assert.ok(audited.length > 0, 'the finding is in the audit log');
    }

    before(async () => {
      // Warm the code paths the first detection would otherwise pay for (tsx compiles on first use).
      const warm = await customer();
      const requested = await requestBtc(running, warm, '0.01');
      assert.equal((await confirmTotp(running, warm, requested.body.id)).status, 200);
      running.clock.advance(10 * 60_000);
      assert.equal((await releaseDue(running.context, simulatedChain(running), monitor())).released, 1);
    });

    test('genuine confirmations by TOTP, recovery code and passkey are approved by the monitor and released', async () => {
      const who = await customer();
      const byTotp = await requestBtc(running, who, '0.1');
      assert.equal((await confirmTotp(running, who, byTotp.body.id)).status, 200);
      const byRecovery = await requestBtc(running, who, '0.1');
      const recovered = await api(running, 'POST', `/v1/withdrawals/${byRecovery.body.id}/confirm`, {
        token: who.token,
        body: { proof: { method: 'recovery_code', code: who.recoveryCodes[0] } },
      });
      assert.equal(recovered.status, 200, JSON.stringify(recovered.body));
      const authenticator = new SoftAuthenticator();
      const passkeyCustomer = await readyPasskeyCustomer(
        running,
        `genuine-passkey${customers}@example.com`,
        authenticator,
      );
      const byPasskey = await requestBtc(running, passkeyCustomer, '0.1');
      const challenge = await passkeyChallengeFor(running, passkeyCustomer.token, byPasskey.body.id);
      const assertion = authenticator.getAssertion(challenge.options, TEST_ORIGIN);
      const confirmed = await confirmPasskey(
        running,
        passkeyCustomer.token,
        byPasskey.body.id,
        challenge.challenge_id,
        assertion,
      );
      assert.equal(confirmed.status, 200, JSON.stringify(confirmed.body));
      running.clock.advance(10 * 60_000);
      const pass = await releaseDue(running.context, simulatedChain(running), monitor());
      const found = await fresh.database.db.selectFrom('monitor_findings').selectAll().execute();
      assert.equal(pass.released, 3, JSON.stringify({ pass, found }));
      for (const id of [byTotp.body.id, byRecovery.body.id, byPasskey.body.id]) {
        assert.deepEqual(await findingsOf(fresh.database, id), [], 'no false positive');
        assert.equal((await findVerdicts(fresh.database, id)).reject, undefined);
        assert.ok((await findVerdicts(fresh.database, id)).approve);
        assert.equal((await withdrawalRow(running, id)).state, 'broadcast');
      }
    });

    test('with the monitor down nothing is released, and past its lag an alert says why', async () => {
      const who = await customer();
      const requested = await requestBtc(running, who, '0.1');
      assert.equal((await confirmTotp(running, who, requested.body.id)).status, 200);
      // Due (the first-use window is 10 minutes) and a minute more: past the monitor's allowed lag of 30 s.
      running.clock.advance(11 * 60_000);
      const chain = simulatedChain(running);
      const { releaseDue: releaserAlone } = await import('../../../src/services/withdrawals/release.ts');
      const waiting = await releaserAlone(running.context, chain);
      assert.equal(waiting.released, 0, JSON.stringify(waiting));
      assert.equal(waiting.awaiting_monitor, 1);
      const lagging = await fresh.database.db
        .selectFrom('alerts')
        .select(['kind', 'state'])
        .where('kind', '=', 'monitor.lagging')
        .where('state', '<>', 'resolved')
        .executeTakeFirst();
      assert.ok(lagging, 'due for a minute with no verdict: the monitor is lagging, and operators are told');
      assert.equal((await withdrawalRow(running, requested.body.id)).state, 'queued');
      // Back up, the monitor judges it and the next pass releases it.
      assert.equal((await releaseDue(running.context, chain, monitor())).released, 1);
    });

    test("past the read bound on an account's enrolment entries, the key counts as not found: refused, not waved through", async () => {
      const who = await customer();
      // Anyone who can append to the journal can bury the genuine entry: the monitor then refuses (fail closed).
      const now = running.clock.now().toISOString();
      const rows = Array.from({ length: ENROLMENT_READ_CAP + 1 }, (_, i) => ({
        id: `flood-${who.accountId}-${i}`,
        at: now,
        actor: 'someone',
        action: 'mfa.totp_enrolled',
        subject: `customer:${who.accountId}`,
        data: '{}',
      }));
      for (let i = 0; i < rows.length; i += 200)
        await fresh.database.db
          .insertInto('audit_journal')
          .values(rows.slice(i, i + 200))
          .execute();
      const requested = await requestBtc(running, who, '0.1');
      assert.equal((await confirmTotp(running, who, requested.body.id)).status, 200);
      running.clock.advance(11 * 60_000);
      assert.equal((await releaseDue(running.context, simulatedChain(running), monitor())).released, 0);
      const checks = (await findingsOf(fresh.database, requested.body.id)).map((f) => f.check_name);
      assert.deepEqual(checks, ['factor_key']);
    });

    test('a wrong TOTP code: flagged, halted, never released', async () => {
      const who = await customer();
      const factor = await factorOf(who.accountId, 'totp');
      const step = Math.floor(running.clock.now().getTime() / 30_000);
      const right = totpAt(who.secret, running.clock.now());
      const wrong = right === '000000' ? '000001' : '000000';
      const { id, committedAt } = await inject(who, 'totp', factor.id, () => ({ step, code: wrong }));
      await assertCaught(id, committedAt, 'totp');
    });

    test('a valid code for a step already used at login: flagged as a claim for another purpose', async () => {
      const who = await customer();
      const factor = await factorOf(who.accountId, 'totp');
      const claim = await fresh.database.db
        .selectFrom('totp_claims')
        .select(['step', 'purpose'])
        .where('principal_id', '=', who.accountId)
        .where('purpose', '=', 'login')
        .orderBy('step', 'desc')
        .executeTakeFirstOrThrow();
      const step = Number(claim.step);
      const code = totpAt(who.secret, new Date(step * 30_000));
      // Dated in that step, so the code is right for its time: only the claim tells it was used already.
      running.clock.set(new Date(step * 30_000 + 1000));
      const { id, committedAt } = await inject(who, 'totp', factor.id, () => ({ step, code }));
      await assertCaught(id, committedAt, 'totp_claim');
    });

    test("a valid code from a revoked factor (its secret leaked, the account's second factors revoked): flagged", async () => {
      const who = await customer();
      const factor = await factorOf(who.accountId, 'totp');
      // The account's second factors are revoked (its epoch moves on); the attacker still holds the old secret and
      // writes a withdrawal whose code, claim and proof are all right for that factor.
      await fresh.database.db
        .updateTable('principals')
        .set({ mfa_epoch: sql`mfa_epoch + 1` })
        .where('id', '=', who.accountId)
        .execute();
      running.clock.advance(60_000); // a step no login or enrolment of this customer claimed
      const at = running.clock.now();
      const step = Math.floor(at.getTime() / 30_000);
      const code = totpAt(who.secret, at);
      const { id, committedAt } = await inject(who, 'totp', factor.id, () => ({ step, code }));
      await fresh.database.db
        .insertInto('totp_claims')
        .values({
          principal_id: who.accountId,
          step,
          purpose: `withdrawal:${id}`,
          factor_id: factor.id,
          session_id: null,
          ip: null,
          claimed_at: at.toISOString(),
        })
        .execute();
      await assertCaught(id, committedAt, 'factor_revoked');
    });

    test('a recovery code that does not match the factor: flagged', async () => {
      const who = await customer();
      const factor = await factorOf(who.accountId, 'recovery');
      const codeHash = createHash('sha256').update('AAAA-BBBB-CCCC', 'ascii').digest('hex');
      const { id, committedAt } = await inject(who, 'recovery_code', factor.id, () => ({
        code_hash: codeHash,
      }));
      await assertCaught(id, committedAt, 'recovery_code');
    });

    test('a passkey assertion signed by a key swapped into the factor table: flagged, its binding no longer verifies', async () => {
      // The attacker registers a passkey of their own on an account of their own, then copies its key and id over
      // the victim's factor row.
      const attackerKey = new SoftAuthenticator();
      const attacker = await readyPasskeyCustomer(
        running,
        `swap-attacker${customers}@example.com`,
        attackerKey,
      );
      const victimKey = new SoftAuthenticator();
      const victim = await readyPasskeyCustomer(running, `swap-victim${customers}@example.com`, victimKey);
      const victimId = await customerId(running, victim.email);
      const attackerFactor = await factorOf(await customerId(running, attacker.email), 'passkey');
      const victimFactor = await factorOf(victimId, 'passkey');
      // Factor rows are never deleted (migration 0055): the attacker moves their own credential id aside instead.
      await fresh.database.db
        .updateTable('mfa_factors')
        .set({ credential_id: `moved-${attackerFactor.credential_id}` })
        .where('id', '=', attackerFactor.id)
        .execute();
      await fresh.database.db
        .updateTable('mfa_factors')
        .set({ public_key: attackerFactor.public_key, credential_id: `${attackerFactor.credential_id}` })
        .where('id', '=', victimFactor.id)
        .execute();
      const { id, committedAt } = await inject(
        { ...victim, accountId: victimId },
        'passkey',
        victimFactor.id,
        (w) => {
          const challenge = withdrawalChallenge(w.digest, w.nonce);
          const assertion = attackerKey.getAssertion(
            { challenge, rpId: 'localhost', allowCredentials: [], userVerification: 'required' },
            TEST_ORIGIN,
          );
          return { challenge, sign_count: 1, assertion, nonce: w.nonce };
        },
      );
      await assertCaught(id, committedAt, 'factor_binding');
    });

    test('evidence copied from another withdrawal, its proof hash recomputed: flagged', async () => {
      const who = await customer();
      const genuine = await requestBtc(running, who, '0.1');
      assert.equal((await confirmTotp(running, who, genuine.body.id)).status, 200);
      const source = await withdrawalRow(running, genuine.body.id);
      const proof = await fresh.database.db
        .selectFrom('withdrawal_proofs')
        .selectAll()
        .where('id', '=', String(source.proof_id))
        .executeTakeFirstOrThrow();
      const copied = JSON.parse(proof.evidence) as Record<string, unknown>;
      const { id, committedAt } = await inject(who, 'totp', proof.factor_id, () => ({
        step: copied.step,
        code: copied.code,
      }));
      await assertCaught(id, committedAt, 'totp_claim');
    });

    test('an attestation that does not match: a row moved to released with one signed by another key', async () => {
      const who = await customer();
      const requested = await requestBtc(running, who, '0.1');
      assert.equal((await confirmTotp(running, who, requested.body.id)).status, 200);
      const row = await withdrawalRow(running, requested.body.id);
      const forger = generateKeyPairSync('ed25519').privateKey;
      const terms = {
        withdrawal_id: row.id,
        digest: row.digest,
        proof_hash: 'b'.repeat(64),
        asset: 'BTC',
        network: 'bitcoin',
        amount: row.amount,
        destination: row.destination_address,
      };
      const attestation = signRelease(
        forger,
        { ...terms, released_at: running.clock.now().toISOString() },
        signVerdict(forger, {
          v: 1,
          ...terms,
          account_id: row.account_id,
          verdict: 'approve',
          verified_at: running.clock.now().toISOString(),
        }),
      );
      await sql`update withdrawals set state = 'released', attestation = ${JSON.stringify(attestation)},
        released_at = ${running.clock.now().toISOString()} where id = ${row.id}`.execute(fresh.database.db);
      const committedAt = Date.now();
      const { checks, elapsed } = await detected(row.id, committedAt);
      assert.ok(checks.includes('attestation'), JSON.stringify(checks));
      assert.ok(elapsed < DETECTION_BUDGET_MS, `flagged after ${elapsed} ms`);
      // The custody signer refuses the instruction too: neither signature is Drawbridge's.
      const answer = await simulatedTransport(running).send({
        withdrawal_id: row.id,
        asset: 'BTC',
        network: 'bitcoin',
        amount: row.amount,
        destination: row.destination_address,
        attestation,
      });
      assert.equal(answer.kind, 'refused');
    });

    test('a row moved to released while its destination still cools: flagged as not cooled at release', async () => {
      const who = await customer();
      const proof = await stepUpToken(running, who, 'address_book.add');
      const added = await api(running, 'POST', '/v1/address-book', {
        token: who.token,
        body: { network: 'bitcoin', address: BTC_ADDRESS_2, label: 'Fresh', step_up_token: proof },
      });
      assert.equal(added.status, 201, JSON.stringify(added.body));
      const requested = await requestBtc(running, { ...who, destinationId: added.body.id }, '0.1');
      const confirmed = await confirmTotp(running, who, requested.body.id);
      assert.equal(confirmed.body.state, 'time_locked', JSON.stringify(confirmed.body));
      await sql`update withdrawals set state = 'released', attestation = ${'{}'},
        released_at = ${running.clock.now().toISOString()} where id = ${requested.body.id}`.execute(
        fresh.database.db,
      );
      const { checks } = await detected(requested.body.id, Date.now());
      assert.ok(checks.includes('destination_not_cooled'), JSON.stringify(checks));
      assert.ok(checks.includes('attestation'), JSON.stringify(checks));
    });

    test("a monitor verdict row forged without the monitor's key: refused by the releaser and by the custody signer", async () => {
      const who = await customer();
      const factor = await factorOf(who.accountId, 'totp');
      const forger = generateKeyPairSync('ed25519').privateKey;
      const step = Math.floor(running.clock.now().getTime() / 30_000);
      const { id } = await inject(who, 'totp', factor.id, () => ({ step, code: '123456' }));
      const row = await withdrawalRow(running, id);
      const proof = await fresh.database.db
        .selectFrom('withdrawal_proofs')
        .select('proof_hash')
        .where('id', '=', String(row.proof_id))
        .executeTakeFirstOrThrow();
      const statement = {
        v: 1 as const,
        withdrawal_id: id,
        account_id: row.account_id,
        digest: row.digest,
        proof_hash: proof.proof_hash,
        asset: 'BTC',
        network: 'bitcoin',
        amount: row.amount,
        destination: row.destination_address,
        verdict: 'approve' as const,
        verified_at: running.clock.now().toISOString(),
      };
      const forged = signVerdict(forger, statement);
      await fresh.database.db
        .insertInto('monitor_verdicts')
        .values({
          withdrawal_id: id,
          verdict: 'approve',
          statement: JSON.stringify(forged.statement),
          signature: forged.signature,
          key_id: forged.key_id,
          at: statement.verified_at,
        })
        .execute();
      // Before the monitor looks: the releaser alone refuses the forged verdict, as an integrity failure.
      const chain = simulatedChain(running);
      const { releaseOne } = await import('../../../src/services/withdrawals/release.ts');
      assert.equal((await releaseOne(running.context, id)).result, 'held');
      const held = await withdrawalRow(running, id);
      assert.match(held.reason ?? '', /signature does not verify under the monitor's key/);
      // And the custody signer, handed an instruction that carries it, refuses it as well.
      const attestation = signRelease(
        running.context.releaseKey,
        {
          withdrawal_id: id,
          digest: row.digest,
          proof_hash: proof.proof_hash,
          asset: 'BTC',
          network: 'bitcoin',
          amount: row.amount,
          destination: row.destination_address,
          released_at: running.clock.now().toISOString(),
        },
        forged,
      );
      const answer = await simulatedTransport(running).send({
        withdrawal_id: id,
        asset: 'BTC',
        network: 'bitcoin',
        amount: row.amount,
        destination: row.destination_address,
        attestation,
      });
      assert.equal(answer.kind, 'refused');
      assert.equal((await chain.status(id)).status, 'unknown');
      // The monitor, when it looks, reports the forged verdict and replaces it with its own rejection.
      await releaseDue(running.context, chain, monitor());
      const checks = (await findingsOf(fresh.database, id)).map((f) => f.check_name);
      assert.ok(checks.includes('verdict_forged'), JSON.stringify(checks));
      assert.ok((await findVerdicts(fresh.database, id)).reject, 'the monitor signed a rejection');
    });

    test('a sealed audit entry rewritten (triggers dropped by an owner): the sweep finds the broken chain and halts everything', async () => {
      await sealAudit(fresh.database);
      const last = await fresh.database.db
        .selectFrom('audit_log')
        .select('seq')
        .orderBy('seq', 'desc')
        .executeTakeFirstOrThrow();
      await tamperAuditLog(
        fresh.database,
        `update audit_log set actor = 'someone-else' where seq = ${Number(last.seq)}`,
      );
      const report = await monitorPass(monitor(), { sweep: true });
      assert.equal(report.auditChain, 'broken');
      const findings = await findingsOf(fresh.database, 'audit_log');
      assert.deepEqual(
        findings.map((f) => f.check_name),
        ['audit_chain'],
      );
      assert.match(findings[0]?.detail ?? '', new RegExp(`broken at entry ${Number(last.seq)}`));
      const halt = await fresh.database.db
        .selectFrom('halts')
        .select('created_by')
        .where('scope', '=', 'global')
        .where('lifted_at', 'is', null)
        .executeTakeFirst();
      assert.equal(halt?.created_by, 'system:monitor');
    });

    test('rows committed out of order (a lower feed entry after a higher one) are both checked', {
      skip: engine === 'postgres' ? undefined : 'SQLite has one writer: nothing commits out of order',
    }, async () => {
      const who = await customer();
      const first = await requestBtc(running, who, '0.1');
      const second = await requestBtc(running, who, '0.1');
      // A proof row and the move to queued, in the caller's transaction: the cryptography is missing.
      const forge = async (id: string, tx: typeof fresh.database.db) => {
        const row = await withdrawalRow(running, id);
        const evidence = { v: 1, withdrawal_id: id, digest: row.digest, method: 'totp', factor_id: 'f' };
        await tx
          .insertInto('withdrawal_proofs')
          .values({
            id: `forged-${id}`,
            withdrawal_id: id,
            account_id: row.account_id,
            digest: row.digest,
            method: 'totp',
            factor_id: 'f',
            evidence: JSON.stringify(evidence),
            proof_hash: proofHash(evidence),
            created_at: running.clock.now().toISOString(),
          })
          .execute();
        await sql`update withdrawals set state = 'queued', proof_id = ${`forged-${id}`},
          release_after = ${running.clock.now().toISOString()} where id = ${id}`.execute(tx);
      };
      // The first transaction takes the lower feed entry and commits last.
      let releaseFirst: () => void = () => {};
      const firstHeld = new Promise<void>((resolve) => {
        releaseFirst = resolve;
      });
      let firstWrote: () => void = () => {};
      const firstWritten = new Promise<void>((resolve) => {
        firstWrote = resolve;
      });
      const slow = fresh.database.db.transaction().execute(async (tx) => {
        await forge(first.body.id, tx);
        firstWrote();
        await firstHeld;
      });
      await firstWritten;
      await forge(second.body.id, fresh.database.db);
      const seqs = await fresh.database.db
        .selectFrom('monitor_feed')
        .select(['seq', 'withdrawal_id'])
        .execute();
      assert.deepEqual(
        seqs.map((s) => s.withdrawal_id),
        [second.body.id],
        'only the second is visible while the first is open',
      );
      const worker = startMonitor(monitor(), { onError: (error) => assert.fail(String(error)) });
      try {
        const until = Date.now() + 5000;
        while ((await findingsOf(fresh.database, second.body.id)).length === 0) {
          assert.ok(Date.now() < until, 'the second is flagged');
          await new Promise((resolve) => setTimeout(resolve, 10));
        }
        releaseFirst();
        await slow;
        const committedAt = Date.now();
        while ((await findingsOf(fresh.database, first.body.id)).length === 0) {
          assert.ok(
            Date.now() - committedAt < DETECTION_BUDGET_MS,
            'the first, committed later, is flagged too',
          );
          await new Promise((resolve) => setTimeout(resolve, 10));
        }
      } finally {
        releaseFirst();
        await worker.stop();
      }
    });
  });
}
