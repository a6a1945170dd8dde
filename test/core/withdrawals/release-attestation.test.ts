import assert from 'node:assert/strict';
import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { describe, test } from 'node:test';
import {
  type ReleaseStatement,
  signRelease,
  verifyReleaseAttestation,
} from '../../../src/core/withdrawals/attestation.ts';

const { privateKey } = generateKeyPairSync('ed25519');
const publicKey = createPublicKey(privateKey);
const publicPem = publicKey.export({ format: 'pem', type: 'spki' }).toString();

const statement: ReleaseStatement = {
  v: 1,
  withdrawal_id: 'w-1',
  digest: 'd'.repeat(64),
  proof_hash: 'p'.repeat(64),
  asset: 'BTC',
  network: 'bitcoin',
  amount: '25000000',
  destination: 'bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4',
  released_at: '2026-11-27T12:00:00.000Z',
};
const instruction = {
  withdrawal_id: 'w-1',
  asset: 'BTC',
  network: 'bitcoin',
  amount: '25000000',
  destination: 'bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4',
};
const genuine = signRelease(privateKey, statement);

describe('a custody signer verifies the release attestation before it pays', () => {
  test('a genuine attestation verifies with the key object or its PEM, with and without the instruction', () => {
    assert.equal(verifyReleaseAttestation(publicKey, genuine, instruction), true);
    assert.equal(verifyReleaseAttestation(publicPem, genuine, instruction), true);
    assert.equal(verifyReleaseAttestation(publicKey, genuine), true);
    // It survives the JSON round trip it makes through the database and the wire.
    assert.equal(verifyReleaseAttestation(publicKey, JSON.parse(JSON.stringify(genuine)), instruction), true);
  });

  test('an attestation signed by another key is refused', () => {
    const other = generateKeyPairSync('ed25519').privateKey;
    assert.equal(verifyReleaseAttestation(publicKey, signRelease(other, statement), instruction), false);
  });

  test('an instruction that says something else than the signed statement is refused', () => {
    for (const field of ['withdrawal_id', 'asset', 'network', 'amount', 'destination'] as const) {
      const altered = { ...instruction, [field]: `${instruction[field]}x` };
      assert.equal(verifyReleaseAttestation(publicKey, genuine, altered), false, field);
    }
  });

  test('a statement altered after signing is refused, whichever field changed', () => {
    for (const field of Object.keys(statement) as (keyof ReleaseStatement)[]) {
      if (field === 'v') continue;
      const altered = { ...genuine, statement: { ...statement, [field]: `${statement[field]}0` } };
      assert.equal(verifyReleaseAttestation(publicKey, altered), false, field);
    }
    const extraField = { ...genuine, statement: { ...statement, memo: 'pay twice' } };
    assert.equal(verifyReleaseAttestation(publicKey, extraField), false, 'an extra field');
    const flipped = Buffer.from(genuine.signature, 'base64url');
    flipped[0] = (flipped[0] ?? 0) ^ 1;
    assert.equal(
      verifyReleaseAttestation(publicKey, { ...genuine, signature: flipped.toString('base64url') }),
      false,
      'a flipped signature bit',
    );
  });

  test('malformed input is false, never an exception', () => {
    const malformed: unknown[] = [
      undefined,
      null,
      'attestation',
      42,
      [],
      {},
      { statement },
      { signature: genuine.signature },
      { statement: null, signature: genuine.signature },
      { statement: { ...statement, v: 2 }, signature: genuine.signature },
      { statement: { ...statement, amount: 25000000 }, signature: genuine.signature },
      { statement, signature: 12 },
      { statement, signature: '' },
      { statement, signature: '!!!not base64!!!' },
      { statement: { ...statement, released_at: undefined }, signature: genuine.signature },
    ];
    for (const attestation of malformed) {
      assert.doesNotThrow(() => verifyReleaseAttestation(publicKey, attestation, instruction));
      assert.equal(
        verifyReleaseAttestation(publicKey, attestation, instruction),
        false,
        JSON.stringify(attestation),
      );
    }
    const badKeys: unknown[] = [
      'not a pem',
      '',
      createPublicKey(generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey),
    ];
    for (const key of badKeys) {
      assert.equal(verifyReleaseAttestation(key as string, genuine, instruction), false);
    }
  });
});
