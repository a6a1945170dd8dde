import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Secret } from 'otpauth';
import {
  hotp,
  matchTotpStep,
  newTotpSecret,
  type TotpAlgorithm,
  totpAt,
  totpQrSvg,
  totpUri,
} from '../../../src/core/mfa/totp.ts';

const SEEDS: Record<TotpAlgorithm, Buffer> = {
  SHA1: Buffer.from('12345678901234567890', 'ascii'),
  SHA256: Buffer.from('12345678901234567890123456789012', 'ascii'),
  SHA512: Buffer.from('1234567890123456789012345678901234567890123456789012345678901234', 'ascii'),
};

// RFC 6238 Appendix B: [unix seconds, SHA1, SHA256, SHA512], 8 digits, 30 s steps.
const RFC6238: readonly [number, string, string, string][] = [
  [59, '94287082', '46119246', '90693936'],
  [1111111109, '07081804', '68084774', '25091201'],
  [1111111111, '14050471', '67062674', '99943326'],
  [1234567890, '89005924', '91819424', '93441116'],
  [2000000000, '69279037', '90698825', '38618901'],
  [20000000000, '65353130', '77737706', '47863826'],
];

// RFC 4226 Appendix D: counter 0..9 with the SHA1 seed, 6 digits.
const RFC4226 = [
  '755224',
  '287082',
  '359152',
  '969429',
  '338314',
  '254676',
  '287922',
  '162583',
  '399871',
  '520489',
];

function base32(bytes: Uint8Array): string {
  return new Secret({ buffer: Uint8Array.from(bytes).buffer }).base32;
}

const AT = new Date('2026-03-01T12:00:10.000Z');
const STEP = Math.floor(AT.getTime() / 1000 / 30);

describe('TOTP and HOTP against the RFC vectors (the code path the service uses)', () => {
  test('RFC 4226 Appendix D: all ten HOTP values', () => {
    RFC4226.forEach((expected, counter) => {
      assert.equal(hotp(SEEDS.SHA1, counter), expected, `counter ${counter}`);
      assert.equal(hotp(base32(SEEDS.SHA1), counter), expected, `counter ${counter} from base32`);
    });
  });

  test('RFC 4226 Appendix D values match the step they were made for, and no other', () => {
    RFC4226.forEach((code, counter) => {
      const at = new Date(counter * 30_000 + 29_999);
      assert.equal(matchTotpStep(base32(SEEDS.SHA1), code, at, { window: 0 }), counter);
      const late = new Date((counter + 2) * 30_000);
      assert.equal(matchTotpStep(base32(SEEDS.SHA1), code, late, { window: 1 }), null);
    });
  });

  test('RFC 6238 Appendix B: SHA1, SHA256 and SHA512 at the six times', () => {
    const algorithms: TotpAlgorithm[] = ['SHA1', 'SHA256', 'SHA512'];
    for (const [seconds, ...codes] of RFC6238) {
      algorithms.forEach((algorithm, i) => {
        const at = new Date(seconds * 1000);
        const expected = codes[i]!;
        assert.equal(
          totpAt(SEEDS[algorithm], at, { digits: 8, algorithm }),
          expected,
          `${algorithm} @${seconds}`,
        );
        const step = matchTotpStep(base32(SEEDS[algorithm]), expected, at, {
          digits: 8,
          algorithm,
          window: 0,
        });
        assert.equal(step, Math.floor(seconds / 30), `${algorithm} @${seconds} matches its exact step`);
      });
    }
  });
});

describe('TOTP replay and window attacks', () => {
  // Fixed, so a one-in-a-million code collision cannot make a run flaky.
  const secret = base32(Buffer.from('drawbridge-totp-test-secret!', 'ascii'));

  test('a current code matches the exact current step', () => {
    assert.equal(matchTotpStep(secret, totpAt(secret, AT), AT), STEP);
  });

  test('a code one step old or new is accepted within the default window, reporting its own step', () => {
    assert.equal(matchTotpStep(secret, totpAt(secret, new Date(AT.getTime() - 30_000)), AT), STEP - 1);
    assert.equal(matchTotpStep(secret, totpAt(secret, new Date(AT.getTime() + 30_000)), AT), STEP + 1);
  });

  test('a code two steps too old or too new is refused', () => {
    assert.equal(matchTotpStep(secret, totpAt(secret, new Date(AT.getTime() - 60_000)), AT), null);
    assert.equal(matchTotpStep(secret, totpAt(secret, new Date(AT.getTime() + 60_000)), AT), null);
  });

  test('with window 0 the previous step is refused', () => {
    const previous = totpAt(secret, new Date(AT.getTime() - 30_000));
    assert.equal(matchTotpStep(secret, previous, AT, { window: 0 }), null);
  });

  test('a code replayed one step later still reports its original step, so step > last used refuses it', () => {
    const code = totpAt(secret, AT);
    const used = matchTotpStep(secret, code, AT);
    const replayed = matchTotpStep(secret, code, new Date(AT.getTime() + 30_000));
    assert.equal(replayed, used);
    assert.equal(matchTotpStep(secret, code, new Date(AT.getTime() + 30_000), { afterStep: STEP }), null);
  });

  test('a code made with another secret does not match', () => {
    const other = base32(SEEDS.SHA256);
    assert.equal(matchTotpStep(other, totpAt(secret, AT), AT), null);
  });

  test('7-digit, 5-digit and non-ASCII-digit codes are refused before any computation', () => {
    const code = totpAt(secret, AT);
    const malformed = [
      `${code}0`,
      code.slice(1),
      '12345a',
      ' 12345',
      '12345\n',
      '١٢٣٤٥٦', // Arabic-Indic digits
      '１２３４５６', // full-width digits
      '+12345',
      '',
    ];
    for (const bad of malformed) {
      assert.equal(matchTotpStep(secret, bad, AT), null, JSON.stringify(bad));
      // A broken secret would throw if it were read: it is not, because the code was refused first.
      assert.equal(matchTotpStep('not base32!', bad, AT), null, JSON.stringify(bad));
    }
    assert.equal(matchTotpStep(secret, 123456 as unknown as string, AT), null);
  });

  test('a malformed or short secret is INVALID_INPUT, not a crash', () => {
    assert.throws(() => matchTotpStep('not base32!', '123456', AT), {
      code: 'INVALID_INPUT',
      field: 'totpSecret',
    });
    assert.throws(() => matchTotpStep('GEZDGNBV', '123456', AT), {
      code: 'INVALID_INPUT',
      field: 'totpSecret',
    });
  });
});

describe('TOTP enrolment', () => {
  test('a new secret is 160 random bits in base32', () => {
    const a = newTotpSecret();
    assert.match(a, /^[A-Z2-7]{32}$/);
    assert.notEqual(a, newTotpSecret());
  });

  test('the otpauth URI names Drawbridge, SHA1, 6 digits and 30 s', () => {
    const secret = newTotpSecret();
    const uri = new URL(totpUri({ secretBase32: secret, issuer: 'Drawbridge', label: 'alice@example.com' }));
    assert.equal(uri.protocol, 'otpauth:');
    assert.equal(uri.host, 'totp');
    assert.equal(decodeURIComponent(uri.pathname), '/Drawbridge:alice@example.com');
    assert.equal(uri.searchParams.get('secret'), secret);
    assert.equal(uri.searchParams.get('issuer'), 'Drawbridge');
    assert.equal(uri.searchParams.get('algorithm'), 'SHA1');
    assert.equal(uri.searchParams.get('digits'), '6');
    assert.equal(uri.searchParams.get('period'), '30');
  });

  test('a label that would forge the issuer prefix is refused', () => {
    assert.throws(() => totpUri({ secretBase32: newTotpSecret(), label: 'Evil:alice' }), {
      code: 'INVALID_INPUT',
      field: 'label',
    });
  });

  test('the QR code is an SVG document, and only otpauth URIs are drawn', async () => {
    const svg = await totpQrSvg(totpUri({ secretBase32: newTotpSecret(), label: 'alice' }));
    assert.match(svg, /^<svg[^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    await assert.rejects(totpQrSvg('https://evil.example/'), { code: 'INVALID_INPUT', field: 'uri' });
  });
});
