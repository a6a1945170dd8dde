import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, test } from 'node:test';
import { withdrawalChallenge } from '../../../src/core/mfa/passkey-challenge.ts';
import {
  proofHash,
  WITHDRAWAL_DIGEST_TAG,
  type WithdrawalTerms,
  withdrawalDigest,
} from '../../../src/core/withdrawals/digest.ts';

const terms: WithdrawalTerms = {
  withdrawal_id: '01a21e3d-c640-72a9-a396-4bfed2ba8756',
  account_id: '01a21e3d-0000-7000-8000-000000000001',
  asset: 'BTC',
  network: 'bitcoin',
  amount: '25000000',
  fee: '10000',
  destination: 'bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4',
  nonce: 'n0nce-n0nce-n0nce',
};

describe('the withdrawal digest binds every term the customer approves', () => {
  test('anyone can reproduce it: SHA-256 over the tag and the RFC 8785 JSON of the terms', () => {
    // RFC 8785 sorts keys by code unit and has no whitespace; written out by hand here on purpose.
    const canonical =
      '{"account_id":"01a21e3d-0000-7000-8000-000000000001","amount":"25000000",' +
      '"asset":"BTC","destination":"bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4","fee":"10000",' +
      '"network":"bitcoin","nonce":"n0nce-n0nce-n0nce","v":1,' +
      '"withdrawal_id":"01a21e3d-c640-72a9-a396-4bfed2ba8756"}';
    const expected = createHash('sha256').update(`${WITHDRAWAL_DIGEST_TAG}\n${canonical}`).digest('hex');
    assert.equal(withdrawalDigest(terms), expected);
    assert.equal(withdrawalDigest({ ...terms }), expected, 'deterministic');
  });

  test('changing any one term changes the digest, and so the passkey challenge derived from it', () => {
    const digest = withdrawalDigest(terms);
    const challenge = withdrawalChallenge(digest, terms.nonce);
    for (const field of Object.keys(terms) as (keyof WithdrawalTerms)[]) {
      const changed = withdrawalDigest({ ...terms, [field]: `${terms[field]}1` });
      assert.notEqual(changed, digest, field);
      assert.notEqual(withdrawalChallenge(changed, terms.nonce), challenge, field);
    }
    // The amount is compared as text of base units: "25000000" and "025000000" are different terms.
    assert.notEqual(withdrawalDigest({ ...terms, amount: '025000000' }), digest);
  });

  test('the proof hash pins the exact evidence', () => {
    const evidence = { v: 1, withdrawal_id: terms.withdrawal_id, digest: withdrawalDigest(terms), step: 1 };
    assert.equal(proofHash(evidence), proofHash({ ...evidence }));
    assert.notEqual(proofHash(evidence), proofHash({ ...evidence, step: 2 }));
  });
});
