import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, test } from 'node:test';
import {
  AUDIT_HASH_DOMAIN,
  type AuditHashInput,
  auditCanonicalJson,
  auditDataJson,
  auditEntryHash,
  GENESIS_PREV_HASH,
  isAuditHash,
} from '../../../src/core/audit-hash.ts';

const ENTRY: AuditHashInput = {
  seq: 1,
  id: '01890a5d-ac96-774b-bcce-b302099a8057',
  at: '2026-01-01T00:00:00.000Z',
  actor: 'account:alice',
  action: 'withdrawal.confirmed',
  subject: 'withdrawal:w1',
  data: { asset: 'BTC', amount: '150000', note: 'café ✓', nested: { z: [1, true, null], a: 1e21 } },
  prev_hash: GENESIS_PREV_HASH,
};

// Written out by hand: RFC 8785 sorts keys by UTF-16 code units and prints 1e21 as 1e+21.
const CANONICAL =
  '{"action":"withdrawal.confirmed","actor":"account:alice","at":"2026-01-01T00:00:00.000Z",' +
  '"data":{"amount":"150000","asset":"BTC","nested":{"a":1e+21,"z":[1,true,null]},"note":"café ✓"},' +
  '"id":"01890a5d-ac96-774b-bcce-b302099a8057",' +
  '"prev_hash":"0000000000000000000000000000000000000000000000000000000000000000","seq":1,' +
  '"subject":"withdrawal:w1"}';

// Also checked outside Node: printf 'drawbridge/audit/v1\n%s' "$CANONICAL" | sha256sum
const KNOWN_DIGEST = 'ead866264720896a18ecec96a76a13807c4d001401a4cfcdda50521d3f77d981';

describe('audit hash: anyone can reproduce it from the stored row', () => {
  test('the canonical form is RFC 8785 JSON of exactly the hashed fields', () => {
    assert.equal(auditCanonicalJson(ENTRY), CANONICAL);
  });

  test('a fixed entry has a stable, known digest', () => {
    assert.equal(auditEntryHash(ENTRY), KNOWN_DIGEST);
    const independent = createHash('sha256').update(`${AUDIT_HASH_DOMAIN}${CANONICAL}`, 'utf8').digest('hex');
    assert.equal(independent, KNOWN_DIGEST);
    assert.equal(AUDIT_HASH_DOMAIN, 'drawbridge/audit/v1\n');
  });

  test('key order and extra properties of the input do not change the digest', () => {
    const reordered = {
      prev_hash: ENTRY.prev_hash,
      data: { nested: { a: 1e21, z: [1, true, null] }, note: 'café ✓', amount: '150000', asset: 'BTC' },
      subject: ENTRY.subject,
      action: ENTRY.action,
      actor: ENTRY.actor,
      at: ENTRY.at,
      id: ENTRY.id,
      seq: ENTRY.seq,
      hash: 'not hashed',
    };
    assert.equal(auditEntryHash(reordered), KNOWN_DIGEST);
  });

  test('changing any hashed field changes the digest', () => {
    const variants: AuditHashInput[] = [
      { ...ENTRY, seq: 2 },
      { ...ENTRY, id: '01890a5d-ac96-774b-bcce-b302099a8058' },
      { ...ENTRY, at: '2026-01-01T00:00:00.001Z' },
      { ...ENTRY, actor: 'account:mallory' },
      { ...ENTRY, action: 'withdrawal.cancelled' },
      { ...ENTRY, subject: 'withdrawal:w2' },
      { ...ENTRY, data: { ...ENTRY.data, amount: '150001' } },
      { ...ENTRY, prev_hash: 'f'.repeat(64) },
    ];
    const digests = new Set(variants.map(auditEntryHash));
    assert.equal(digests.size, variants.length);
    assert.equal(digests.has(KNOWN_DIGEST), false);
  });

  test('a field value cannot be shifted into another field to forge the same digest', () => {
    const shifted = { ...ENTRY, actor: 'account:alice","action":"x', action: 'withdrawal.confirmed' };
    assert.notEqual(auditEntryHash(shifted), KNOWN_DIGEST);
  });

  test('values JSON cannot carry are refused, not silently altered', () => {
    assert.throws(() => auditEntryHash({ ...ENTRY, data: { x: Number.NaN } }));
    assert.throws(() => auditEntryHash({ ...ENTRY, data: { x: '\ud800' } }));
    assert.throws(() => auditEntryHash({ ...ENTRY, seq: 0 }));
    assert.throws(() => auditEntryHash({ ...ENTRY, seq: 1.5 }));
  });

  test('stored data is its canonical JSON and hashes the same after a round trip', () => {
    const text = auditDataJson(ENTRY.data);
    assert.equal(
      text,
      '{"amount":"150000","asset":"BTC","nested":{"a":1e+21,"z":[1,true,null]},"note":"café ✓"}',
    );
    assert.equal(auditEntryHash({ ...ENTRY, data: JSON.parse(text) }), KNOWN_DIGEST);
  });

  test('hash format', () => {
    assert.equal(isAuditHash(KNOWN_DIGEST), true);
    assert.equal(isAuditHash(GENESIS_PREV_HASH), true);
    assert.equal(isAuditHash(KNOWN_DIGEST.toUpperCase()), false);
    assert.equal(isAuditHash(KNOWN_DIGEST.slice(1)), false);
  });
});
