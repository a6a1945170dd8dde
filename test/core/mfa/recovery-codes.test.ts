import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, test } from 'node:test';
import {
  hashRecoveryCode,
  newRecoveryCodes,
  normalizeRecoveryCode,
  RECOVERY_CODE_COUNT,
} from '../../../src/core/mfa/recovery-codes.ts';

const CODE_FORMAT = /^[0-9a-hjkmnp-tv-z]{4}(-[0-9a-hjkmnp-tv-z]{4}){3}$/;

describe('recovery codes', () => {
  test('ten distinct codes of 16 Crockford characters (80 bits each)', () => {
    const codes = newRecoveryCodes();
    assert.equal(codes.length, RECOVERY_CODE_COUNT);
    assert.equal(new Set(codes).size, RECOVERY_CODE_COUNT);
    for (const code of codes) assert.match(code, CODE_FORMAT);
  });

  test('two batches share nothing (the codes are random, not derived)', () => {
    const first = new Set(newRecoveryCodes());
    assert.ok(newRecoveryCodes().every((code) => !first.has(code)));
  });

  test('the stored hash is SHA-256 of the normalised code, so a leaked table holds no code', () => {
    const [code] = newRecoveryCodes();
    const canonical = code!.replaceAll('-', '').toUpperCase();
    assert.equal(hashRecoveryCode(code!), createHash('sha256').update(canonical).digest('hex'));
    assert.ok(!hashRecoveryCode(code!).includes(canonical.toLowerCase()));
  });

  test('case, dashes, spaces and look-alike letters do not change the hash', () => {
    const hash = hashRecoveryCode('0123-4567-89ab-cdef');
    assert.equal(hashRecoveryCode('0123456789ABCDEF'), hash);
    assert.equal(hashRecoveryCode(' 0123 4567 89ab cdef '), hash);
    assert.equal(hashRecoveryCode('o123-4567-89ab-cdef'), hash);
    assert.equal(normalizeRecoveryCode('il00-0000-0000-0000'), '1100000000000000');
  });

  test('junk is refused without hashing: wrong length, U, punctuation, non-ASCII, oversize, non-string', () => {
    const junk: unknown[] = [
      '0123-4567-89ab-cde',
      '0123-4567-89ab-cdef-0',
      '0123-4567-89ab-cdeu',
      '0123_4567_89ab_cdef',
      '0123-4567-89ab-cdeß',
      'ßßßßßßßß',
      '0123-4567-89ab-cdef\n',
      `${'-'.repeat(60)}0123456789abcdef`,
      '',
      null,
      12345678,
    ];
    for (const input of junk) {
      assert.equal(normalizeRecoveryCode(input), null, JSON.stringify(input));
      assert.throws(() => hashRecoveryCode(input as string), {
        code: 'INVALID_INPUT',
        field: 'recoveryCode',
      });
    }
  });
});
