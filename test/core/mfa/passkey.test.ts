import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, test } from 'node:test';
import {
  authenticationOptions,
  type RegisteredPasskey,
  type RelyingParty,
  registrationOptions,
  SIGN_COUNTER_NOT_INCREASED,
  verifyAssertionEvidence,
  verifyAuthentication,
  verifyRegistration,
} from '../../../src/core/mfa/passkey.ts';
import {
  actionChallenge,
  newChallenge,
  withdrawalChallenge,
} from '../../../src/core/mfa/passkey-challenge.ts';
import { SoftAuthenticator } from '../../support/soft-authenticator.ts';

const RP: RelyingParty = {
  id: 'drawbridge.test',
  name: 'Drawbridge',
  origins: ['https://app.drawbridge.test'],
};
const ORIGIN = RP.origins[0]!;
const DIGEST = createHash('sha256').update('withdrawal 1: 0.5 BTC to bc1q...').digest('hex');
const OTHER_DIGEST = createHash('sha256').update('withdrawal 1: 5 BTC to bc1q-attacker').digest('hex');
const NONCE = 'n0nce-0190f6c2-0000';

async function enrolled(options: { zeroCounter?: boolean } = {}) {
  const authenticator = new SoftAuthenticator(options);
  const challenge = newChallenge();
  const creation = await registrationOptions({ rp: RP, userId: 'account-1', userName: 'alice', challenge });
  const passkey = await verifyRegistration({
    response: authenticator.createCredential(creation, ORIGIN),
    expectedChallenge: challenge,
    rp: RP,
  });
  return { authenticator, passkey };
}

async function assertionFor(
  authenticator: SoftAuthenticator,
  passkey: RegisteredPasskey,
  challenge: string,
  origin = ORIGIN,
  extra: { counter?: number; userVerified?: boolean; crossOrigin?: boolean } = {},
) {
  const request = await authenticationOptions({
    rp: RP,
    allowCredentialIds: [passkey.credentialId],
    challenge,
  });
  return authenticator.getAssertion(request, origin, extra);
}

const unauthenticated = { code: 'UNAUTHENTICATED' };

describe('passkey enrolment and withdrawal signing', () => {
  test('register, then sign a withdrawal digest: the assertion verifies and the counter moves on', async () => {
    const { authenticator, passkey } = await enrolled();
    assert.equal(passkey.counter, 0);
    assert.deepEqual(passkey.transports, ['internal']);
    const challenge = withdrawalChallenge(DIGEST, NONCE);
    const response = await assertionFor(authenticator, passkey, challenge);
    const { newCounter, userVerified } = await verifyAuthentication({
      response,
      expectedChallenge: challenge,
      rp: RP,
      credential: passkey,
    });
    assert.equal(newCounter, 1);
    assert.equal(userVerified, true);
    const next = await assertionFor(authenticator, passkey, withdrawalChallenge(DIGEST, 'another-nonce-1'));
    const again = await verifyAuthentication({
      response: next,
      expectedChallenge: withdrawalChallenge(DIGEST, 'another-nonce-1'),
      rp: RP,
      credential: { ...passkey, counter: newCounter },
    });
    assert.equal(again.newCounter, 2);
  });

  test('options demand user verification and carry our challenge unchanged', async () => {
    const challenge = withdrawalChallenge(DIGEST, NONCE);
    const request = await authenticationOptions({ rp: RP, allowCredentialIds: [], challenge });
    assert.equal(request.challenge, challenge);
    assert.equal(request.userVerification, 'required');
    assert.equal(request.rpId, RP.id);
    const creation = await registrationOptions({ rp: RP, userId: 'a', userName: 'alice', challenge });
    assert.equal(creation.challenge, challenge);
    assert.equal(creation.authenticatorSelection?.userVerification, 'required');
    assert.equal(creation.attestation, 'none');
  });

  test('a stored assertion is evidence: anyone with the public key re-verifies it against the digest', async () => {
    const { authenticator, passkey } = await enrolled();
    const challenge = withdrawalChallenge(DIGEST, NONCE);
    const response = await assertionFor(authenticator, passkey, challenge);
    const stored = JSON.parse(JSON.stringify(response));
    await verifyAuthentication({ response, expectedChallenge: challenge, rp: RP, credential: passkey });
    const evidence = { id: passkey.id, publicKey: passkey.publicKey };
    assert.deepEqual(
      await verifyAssertionEvidence({
        response: stored,
        expectedChallenge: challenge,
        rp: RP,
        credential: evidence,
      }),
      { counter: 1 },
    );
    const changed = withdrawalChallenge(OTHER_DIGEST, NONCE);
    await assert.rejects(
      verifyAssertionEvidence({ response: stored, expectedChallenge: changed, rp: RP, credential: evidence }),
      unauthenticated,
    );
  });
});

describe('passkey attacks', () => {
  test('a replayed assertion (same counter) is refused as a cloned authenticator or replay', async () => {
    const { authenticator, passkey } = await enrolled();
    const challenge = withdrawalChallenge(DIGEST, NONCE);
    const response = await assertionFor(authenticator, passkey, challenge);
    const { newCounter } = await verifyAuthentication({
      response,
      expectedChallenge: challenge,
      rp: RP,
      credential: passkey,
    });
    await assert.rejects(
      verifyAuthentication({
        response,
        expectedChallenge: challenge,
        rp: RP,
        credential: { ...passkey, counter: newCounter },
      }),
      { code: 'UNAUTHENTICATED', details: { reason: SIGN_COUNTER_NOT_INCREASED } },
    );
  });

  test('a cloned authenticator presenting an older counter is refused', async () => {
    const { authenticator, passkey } = await enrolled();
    const challenge = withdrawalChallenge(DIGEST, NONCE);
    const response = await assertionFor(authenticator, passkey, challenge, ORIGIN, { counter: 3 });
    await assert.rejects(
      verifyAuthentication({
        response,
        expectedChallenge: challenge,
        rp: RP,
        credential: { ...passkey, counter: 7 },
      }),
      { code: 'UNAUTHENTICATED', details: { reason: SIGN_COUNTER_NOT_INCREASED } },
    );
  });

  test('an authenticator that always reports 0 is accepted (the counter rule only binds non-zero counters)', async () => {
    const { authenticator, passkey } = await enrolled({ zeroCounter: true });
    const challenge = withdrawalChallenge(DIGEST, NONCE);
    for (let i = 0; i < 2; i++) {
      const response = await assertionFor(authenticator, passkey, challenge);
      const { newCounter } = await verifyAuthentication({
        response,
        expectedChallenge: challenge,
        rp: RP,
        credential: passkey,
      });
      assert.equal(newCounter, 0);
    }
  });

  test('an assertion made for another challenge (a changed amount or destination) is refused', async () => {
    const { authenticator, passkey } = await enrolled();
    const signed = await assertionFor(authenticator, passkey, withdrawalChallenge(OTHER_DIGEST, NONCE));
    await assert.rejects(
      verifyAuthentication({
        response: signed,
        expectedChallenge: withdrawalChallenge(DIGEST, NONCE),
        rp: RP,
        credential: passkey,
      }),
      unauthenticated,
    );
    const stepUp = await assertionFor(authenticator, passkey, actionChallenge('address.add', NONCE));
    await assert.rejects(
      verifyAuthentication({
        response: stepUp,
        expectedChallenge: withdrawalChallenge(DIGEST, NONCE),
        rp: RP,
        credential: passkey,
      }),
      unauthenticated,
    );
  });

  test('an assertion from another origin (a phishing site) is refused', async () => {
    const { authenticator, passkey } = await enrolled();
    const challenge = withdrawalChallenge(DIGEST, NONCE);
    const phished = await assertionFor(authenticator, passkey, challenge, 'https://drawbridge-login.example');
    await assert.rejects(
      verifyAuthentication({ response: phished, expectedChallenge: challenge, rp: RP, credential: passkey }),
      unauthenticated,
    );
  });

  test('an assertion made inside a cross-origin frame is refused', async () => {
    const { authenticator, passkey } = await enrolled();
    const challenge = withdrawalChallenge(DIGEST, NONCE);
    const framed = await assertionFor(authenticator, passkey, challenge, ORIGIN, { crossOrigin: true });
    await assert.rejects(
      verifyAuthentication({ response: framed, expectedChallenge: challenge, rp: RP, credential: passkey }),
      unauthenticated,
    );
  });

  test('an assertion without user verification (presence only) is refused', async () => {
    const { authenticator, passkey } = await enrolled();
    const challenge = withdrawalChallenge(DIGEST, NONCE);
    const response = await assertionFor(authenticator, passkey, challenge, ORIGIN, { userVerified: false });
    await assert.rejects(
      verifyAuthentication({ response, expectedChallenge: challenge, rp: RP, credential: passkey }),
      unauthenticated,
    );
  });

  test("another passkey's assertion is refused for this credential", async () => {
    const victim = await enrolled();
    const attacker = await enrolled();
    const challenge = withdrawalChallenge(DIGEST, NONCE);
    const response = await assertionFor(attacker.authenticator, attacker.passkey, challenge);
    await assert.rejects(
      verifyAuthentication({ response, expectedChallenge: challenge, rp: RP, credential: victim.passkey }),
      { code: 'UNAUTHENTICATED', message: /another passkey/ },
    );
    const relabelled = { ...response, id: victim.passkey.id, rawId: victim.passkey.id };
    await assert.rejects(
      verifyAuthentication({
        response: relabelled,
        expectedChallenge: challenge,
        rp: RP,
        credential: victim.passkey,
      }),
      unauthenticated,
    );
  });

  test('authenticator data edited after signing (a raised counter) breaks the signature', async () => {
    const { authenticator, passkey } = await enrolled();
    const challenge = withdrawalChallenge(DIGEST, NONCE);
    const response = await assertionFor(authenticator, passkey, challenge);
    const authData = Buffer.from(response.response.authenticatorData, 'base64url');
    authData.writeUInt32BE(1000, 33);
    const edited = {
      ...response,
      response: { ...response.response, authenticatorData: authData.toString('base64url') },
    };
    await assert.rejects(
      verifyAuthentication({ response: edited, expectedChallenge: challenge, rp: RP, credential: passkey }),
      unauthenticated,
    );
  });

  test('a registration for another challenge or from another origin is refused', async () => {
    const authenticator = new SoftAuthenticator();
    const challenge = newChallenge();
    const creation = await registrationOptions({ rp: RP, userId: 'account-1', userName: 'alice', challenge });
    await assert.rejects(
      verifyRegistration({
        response: authenticator.createCredential(creation, ORIGIN),
        expectedChallenge: newChallenge(),
        rp: RP,
      }),
      unauthenticated,
    );
    await assert.rejects(
      verifyRegistration({
        response: authenticator.createCredential(creation, 'https://evil.example'),
        expectedChallenge: challenge,
        rp: RP,
      }),
      unauthenticated,
    );
  });
});

describe('malformed passkey responses are INVALID_INPUT naming the field, never a crash', () => {
  test('garbage base64url, bad JSON, bad CBOR, wrong shapes and oversized fields', async () => {
    const { authenticator, passkey } = await enrolled();
    const challenge = withdrawalChallenge(DIGEST, NONCE);
    const good = await assertionFor(authenticator, passkey, challenge);
    const cases: [unknown, string][] = [
      [null, 'response'],
      ['a string', 'response'],
      [{ ...good, id: '!!!' }, 'response/id'],
      [{ ...good, rawId: 'AAAA' }, 'response/rawId'],
      [{ ...good, type: 'password' }, 'response/type'],
      [{ ...good, response: [] }, 'response/response'],
      [
        { ...good, response: { ...good.response, clientDataJSON: '%%%' } },
        'response/response/clientDataJSON',
      ],
      [
        { ...good, response: { ...good.response, clientDataJSON: 'bm90IGpzb24' } },
        'response/response/clientDataJSON',
      ],
      [
        { ...good, response: { ...good.response, clientDataJSON: 'W10' } },
        'response/response/clientDataJSON',
      ],
      [
        { ...good, response: { ...good.response, authenticatorData: 'AAAA' } },
        'response/response/authenticatorData',
      ],
      [
        { ...good, response: { ...good.response, signature: 'A'.repeat(17 * 1024) } },
        'response/response/signature',
      ],
      [{ ...good, response: { ...good.response, signature: 12 } }, 'response/response/signature'],
      [
        { ...good, response: { ...good.response, userHandle: 'A'.repeat(100) } },
        'response/response/userHandle',
      ],
    ];
    for (const [response, field] of cases) {
      await assert.rejects(
        verifyAuthentication({ response, expectedChallenge: challenge, rp: RP, credential: passkey }),
        { code: 'INVALID_INPUT', field },
        field,
      );
    }
  });

  test('a registration with an attestation object that is not CBOR', async () => {
    const authenticator = new SoftAuthenticator();
    const challenge = newChallenge();
    const creation = await registrationOptions({ rp: RP, userId: 'account-1', userName: 'alice', challenge });
    const good = authenticator.createCredential(creation, ORIGIN);
    for (const attestationObject of ['_w', 'oA', Buffer.from('not cbor at all').toString('base64url')]) {
      await assert.rejects(
        verifyRegistration({
          response: { ...good, response: { ...good.response, attestationObject } },
          expectedChallenge: challenge,
          rp: RP,
        }),
        { code: 'INVALID_INPUT' },
        attestationObject,
      );
    }
  });
});

describe('challenges derived from what is approved', () => {
  test('the withdrawal challenge is base64url(SHA-256(tag, digest, nonce)), reproducible by anyone', () => {
    const expected = createHash('sha256')
      .update(`drawbridge/webauthn-challenge/v1\n${DIGEST}\n${NONCE}`)
      .digest('base64url');
    assert.equal(withdrawalChallenge(DIGEST, NONCE), expected);
    assert.notEqual(withdrawalChallenge(OTHER_DIGEST, NONCE), expected);
    assert.notEqual(withdrawalChallenge(DIGEST, `${NONCE}x`), expected);
    assert.notEqual(actionChallenge('withdrawal', NONCE), expected);
  });

  test('ambiguous inputs are refused: upper-case hex, a newline in the nonce, an odd action name', () => {
    assert.throws(() => withdrawalChallenge(DIGEST.toUpperCase(), NONCE), {
      code: 'INVALID_INPUT',
      field: 'digest',
    });
    assert.throws(() => withdrawalChallenge(DIGEST, `${NONCE}\n${DIGEST}`), {
      code: 'INVALID_INPUT',
      field: 'nonce',
    });
    assert.throws(() => actionChallenge('Remove MFA\n', NONCE), { code: 'INVALID_INPUT', field: 'action' });
  });
});
