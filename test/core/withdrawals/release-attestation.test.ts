import assert from 'node:assert/strict';
import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { describe, test } from 'node:test';
import { signVerdict, type VerdictStatement } from '../../../src/core/monitor/verdict.ts';
import {
  releaseAttestationRefusal,
  signRelease,
  verifyReleaseAttestation,
} from '../../../src/core/withdrawals/attestation.ts';

const release = generateKeyPairSync('ed25519');
const monitor = generateKeyPairSync('ed25519');
const keys = { release: release.publicKey, monitor: monitor.publicKey };
const pems = {
  release: release.publicKey.export({ format: 'pem', type: 'spki' }).toString(),
  monitor: monitor.publicKey.export({ format: 'pem', type: 'spki' }).toString(),
};

const payment = {
  withdrawal_id: 'w-1',
  asset: 'BTC',
  network: 'bitcoin',
  amount: '25000000',
  destination: 'bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4',
};
const statement = {
  ...payment,
  digest: 'd'.repeat(64),
  proof_hash: 'p'.repeat(64),
  released_at: '2026-11-27T12:00:00.000Z',
};
const verdictStatement: VerdictStatement = {
  v: 1,
  ...payment,
  account_id: 'a-1',
  digest: statement.digest,
  proof_hash: statement.proof_hash,
  verdict: 'approve',
  verified_at: '2026-11-27T11:59:59.000Z',
};
const verdict = signVerdict(monitor.privateKey, verdictStatement);
const genuine = signRelease(release.privateKey, statement, verdict);

describe('a custody signer verifies both signatures before it pays', () => {
  test('a genuine attestation verifies with key objects or PEMs, with and without the instruction', () => {
    assert.equal(verifyReleaseAttestation(keys, genuine, payment), true);
    assert.equal(verifyReleaseAttestation(pems, genuine, payment), true);
    assert.equal(verifyReleaseAttestation(keys, genuine), true);
    // It survives the JSON round trip it makes through the database and the wire.
    assert.equal(verifyReleaseAttestation(keys, JSON.parse(JSON.stringify(genuine)), payment), true);
  });

  test('without the monitor verdict, or with one the monitor did not sign, it is refused', () => {
    const { monitor: _dropped, ...withoutVerdict } = genuine;
    assert.match(releaseAttestationRefusal(keys, withoutVerdict, payment) ?? '', /no monitor verdict/);
    // The approval path alone, holding only the release key, forges a verdict with a key of its own.
    const forger = generateKeyPairSync('ed25519').privateKey;
    const forged = signRelease(release.privateKey, statement, signVerdict(forger, verdictStatement));
    assert.match(releaseAttestationRefusal(keys, forged, payment) ?? '', /signature does not verify/);
    // A rejecting verdict by the real monitor does not authorise anything either.
    const rejected = signVerdict(monitor.privateKey, { ...verdictStatement, verdict: 'reject' });
    assert.match(
      releaseAttestationRefusal(keys, signRelease(release.privateKey, statement, rejected), payment) ?? '',
      /monitor refused/,
    );
  });

  test("the monitor's verdict for another withdrawal, proof or payment is refused", () => {
    for (const field of ['withdrawal_id', 'digest', 'proof_hash', 'amount', 'destination'] as const) {
      const other = signVerdict(monitor.privateKey, {
        ...verdictStatement,
        [field]: `${verdictStatement[field]}0`,
      });
      const attestation = signRelease(release.privateKey, statement, other);
      assert.equal(verifyReleaseAttestation(keys, attestation, payment), false, field);
    }
  });

  test('a verdict swapped after signing is refused: the statement pins the one it was signed with', () => {
    const again = signVerdict(monitor.privateKey, {
      ...verdictStatement,
      verified_at: '2026-11-27T12:00:00.500Z',
    });
    assert.match(
      releaseAttestationRefusal(keys, { ...genuine, monitor: again }, payment) ?? '',
      /pins another monitor verdict/,
    );
  });

  test('an attestation signed by another release key is refused', () => {
    const other = generateKeyPairSync('ed25519').privateKey;
    assert.equal(verifyReleaseAttestation(keys, signRelease(other, statement, verdict), payment), false);
    // The two keys are not interchangeable: the monitor's key does not stand in for the release key.
    assert.equal(
      verifyReleaseAttestation({ release: keys.monitor, monitor: keys.monitor }, genuine, payment),
      false,
    );
  });

  test('an instruction that says something else than the signed statement is refused', () => {
    for (const field of ['withdrawal_id', 'asset', 'network', 'amount', 'destination'] as const) {
      const altered = { ...payment, [field]: `${payment[field]}x` };
      assert.equal(verifyReleaseAttestation(keys, genuine, altered), false, field);
    }
  });

  test('a statement altered after signing is refused, whichever field changed', () => {
    for (const field of Object.keys(genuine.statement) as (keyof typeof genuine.statement)[]) {
      if (field === 'v') continue;
      const altered = {
        ...genuine,
        statement: { ...genuine.statement, [field]: `${genuine.statement[field]}0` },
      };
      assert.equal(verifyReleaseAttestation(keys, altered), false, field);
    }
    const extraField = { ...genuine, statement: { ...genuine.statement, memo: 'pay twice' } };
    assert.equal(verifyReleaseAttestation(keys, extraField), false, 'an extra field');
    const flipped = Buffer.from(genuine.signature, 'base64url');
    flipped[0] = (flipped[0] ?? 0) ^ 1;
    assert.equal(
      verifyReleaseAttestation(keys, { ...genuine, signature: flipped.toString('base64url') }),
      false,
      'a flipped signature bit',
    );
  });

  test('malformed input is false, never an exception', () => {
    const s = genuine.statement;
    const malformed: unknown[] = [
      undefined,
      null,
      'attestation',
      42,
      [],
      {},
      { statement: s },
      { signature: genuine.signature },
      { statement: null, signature: genuine.signature },
      { ...genuine, statement: { ...s, v: 1 } },
      { ...genuine, statement: { ...s, amount: 25000000 } },
      { ...genuine, signature: 12 },
      { ...genuine, signature: '' },
      { ...genuine, signature: '!!!not base64!!!' },
      { ...genuine, statement: { ...s, released_at: undefined } },
      { ...genuine, monitor: null },
      { ...genuine, monitor: 'approve' },
      { ...genuine, monitor: { ...verdict, statement: { ...verdictStatement, v: 2 } } },
      { ...genuine, monitor: { ...verdict, signature: 7 } },
    ];
    for (const attestation of malformed) {
      assert.doesNotThrow(() => verifyReleaseAttestation(keys, attestation, payment));
      assert.equal(verifyReleaseAttestation(keys, attestation, payment), false, JSON.stringify(attestation));
    }
    const badKeys: unknown[] = [
      'not a pem',
      '',
      createPublicKey(generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey),
    ];
    for (const key of badKeys) {
      assert.equal(
        verifyReleaseAttestation({ release: key as string, monitor: keys.monitor }, genuine, payment),
        false,
      );
      assert.equal(
        verifyReleaseAttestation({ release: keys.release, monitor: key as string }, genuine, payment),
        false,
      );
    }
  });
});
