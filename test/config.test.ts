import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { loadConfig } from '../src/config.ts';
import { DomainError } from '../src/core/errors.ts';
import { DEFAULT_FEES, feeFor } from '../src/core/withdrawals/fees.ts';

function refusal(env: NodeJS.ProcessEnv): { field: string | undefined; reason: string } {
  try {
    loadConfig(env);
  } catch (error) {
    assert.ok(error instanceof DomainError, String(error));
    return { field: error.field, reason: error.message };
  }
  assert.fail(`the configuration was accepted: ${JSON.stringify(env)}`);
}

describe('WITHDRAWAL_FEES', () => {
  test('unset or empty: the default fee table', () => {
    assert.equal(loadConfig({}).withdrawalFees, DEFAULT_FEES);
    assert.equal(loadConfig({ WITHDRAWAL_FEES: '' }).withdrawalFees, DEFAULT_FEES);
  });

  test('each fee in the asset’s decimal unit, parsed exactly to base units; only the pairs listed are offered', () => {
    const fees = loadConfig({
      WITHDRAWAL_FEES:
        'BTC:bitcoin=0.0001, ETH:ethereum=0.000000000000000001,USDC:ethereum=1.5,LTC:litecoin=0',
    }).withdrawalFees;
    assert.deepEqual(fees, {
      'BTC/bitcoin': 10_000n,
      'ETH/ethereum': 1n,
      'USDC/ethereum': 1_500_000n,
      'LTC/litecoin': 0n,
    });
    assert.equal(feeFor(fees, 'BTC', 'bitcoin-testnet'), undefined, 'not listed: not offered');
    assert.ok(Object.isFrozen(fees));
    assert.deepEqual(
      loadConfig({ WITHDRAWAL_FEES: 'ETH:ethereum=123456789.123456789012345678' }).withdrawalFees,
      { 'ETH/ethereum': 123_456_789_123_456_789_012_345_678n },
      'no float anywhere',
    );
  });

  test('bad tables are refused at start with one line naming the variable and the entry', () => {
    const cases: [string, RegExp][] = [
      ['BTC=0.0001', /"BTC=0.0001" is not ASSET:network=fee/],
      ['BTC:bitcoin', /"BTC:bitcoin" is not ASSET:network=fee/],
      ['BTC:bitcoin=', /"BTC:bitcoin=".*empty/],
      ['btc:bitcoin=0.1', /unknown asset "btc"/],
      ['DOGE:dogecoin=1', /unknown asset "DOGE"/],
      ['BTC:dogecoin=1', /unknown network "dogecoin"/],
      ['BTC:ethereum=0.1', /BTC is not carried on ethereum/],
      ['BTC:bitcoin=0.000000001', /9 decimals; at most 8/],
      ['BTC:bitcoin=1e4', /exponent/],
      ['BTC:bitcoin=-1', /negative/],
      ['BTC:bitcoin=0x10', /not decimal/],
      ['BTC:bitcoin=1,000', /is not ASSET:network=fee/],
      ['BTC:bitcoin=0.1,BTC:bitcoin=0.2', /lists BTC on bitcoin twice/],
      ['BTC:bitcoin=0.1,', /entry "" is not ASSET:network=fee/],
      ['BTC:bitcoin=0.1 ETH:ethereum=0.1', /is not ASSET:network=fee/],
      ['BTC:bitcoin=0.1\nETH:ethereum=0.1', /is not ASSET:network=fee/],
      [`BTC:bitcoin=${'9'.repeat(80)}`, /longer than 64 characters/],
    ];
    for (const [value, reason] of cases) {
      const refused = refusal({ WITHDRAWAL_FEES: value });
      assert.equal(refused.field, 'WITHDRAWAL_FEES', JSON.stringify({ value, refused }));
      assert.match(refused.reason, reason, JSON.stringify({ value, refused }));
      assert.ok(!refused.reason.includes('\n'), `one line: ${JSON.stringify(refused.reason)}`);
      assert.ok(refused.reason.length < 200, refused.reason);
    }
  });
});

describe('CONFIRMATION_WINDOW_SECONDS', () => {
  test('5 minutes by default; seconds when set', () => {
    assert.equal(loadConfig({}).confirmationWindowMs, 300_000);
    assert.equal(loadConfig({ CONFIRMATION_WINDOW_SECONDS: '120' }).confirmationWindowMs, 120_000);
    assert.equal(loadConfig({ CONFIRMATION_WINDOW_SECONDS: '3600' }).confirmationWindowMs, 3_600_000);
  });

  test('anything but whole seconds from 30 to 3600 is refused, naming the variable', () => {
    for (const value of ['', '0', '-5', '29', '3601', '1.5', '300s', ' 300', '5e2', '99999999999']) {
      const refused = refusal({ CONFIRMATION_WINDOW_SECONDS: value });
      assert.equal(refused.field, 'CONFIRMATION_WINDOW_SECONDS', JSON.stringify({ value, refused }));
    }
  });
});

describe('a bad value anywhere', () => {
  test('is one refusal naming the variable, in plain words', () => {
    const cases: [NodeJS.ProcessEnv, string, RegExp][] = [
      [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL', /must be one of fatal, error/],
      [{ DATABASE_URL: 'mysql://db/x' }, 'DATABASE_URL', /postgres:\/\/ URL \(mysql is not supported\)/],
      [{ PORT: '99999' }, 'PORT', /from 1 to 65535/],
      [{ PORT: '80a' }, 'PORT', /whole number/],
      [{ COOKIE_SECURE: 'yes' }, 'COOKIE_SECURE', /true or false/],
      [{ SMTP_URL: 'http://mail' }, 'SMTP_URL', /smtp:\/\//],
      [{ PUBLIC_URL: 'ftp://x' }, 'PUBLIC_URL', /http\(s\) URL/],
      [{ PRICE_SOURCE: 'coingecko' }, 'PRICE_SOURCE', /simulated, http, none/],
      [{ LOG_FORMAT: 'xml' }, 'LOG_FORMAT', /json, pretty/],
    ];
    for (const [env, field, reason] of cases) {
      const refused = refusal(env);
      assert.equal(refused.field, field, JSON.stringify(env));
      assert.match(refused.reason, reason, JSON.stringify(env));
    }
  });

  test('`drawbridge config` shows every variable, where it came from, and masks secrets and passwords', async () => {
    const { describeConfig } = await import('../src/config.ts');
    const shown = describeConfig({
      DATABASE_URL: 'postgres://app:hunter2@db.internal:5432/drawbridge',
      DRAWBRIDGE_TOTP_KEY: 'c2VjcmV0',
      PORT: '9090',
    });
    assert.deepEqual(shown.PORT, { value: 9090, from: 'environment', about: 'the port to listen on' });
    assert.equal(shown.LOG_LEVEL?.from, 'default');
    assert.equal(shown.DRAWBRIDGE_TOTP_KEY?.value, '********');
    assert.equal(shown.DATABASE_URL?.value, 'postgres://app:****@db.internal:5432/drawbridge');
    assert.doesNotMatch(JSON.stringify(shown), /hunter2|c2VjcmV0/);
    assert.equal(shown.DEV_MAILBOX?.value, null);
  });
});

describe('DRAWBRIDGE_TEST_CLOCK (the browser tests move the server clock)', () => {
  test('off by default', () => {
    assert.equal(loadConfig({}).testClock, false);
  });

  test('refused without NODE_ENV=test, and beside DATABASE_URL: it would let anyone skip a cooling period', () => {
    assert.equal(refusal({ DRAWBRIDGE_TEST_CLOCK: 'true' }).field, 'DRAWBRIDGE_TEST_CLOCK');
    assert.equal(
      refusal({ DRAWBRIDGE_TEST_CLOCK: 'true', NODE_ENV: 'production' }).field,
      'DRAWBRIDGE_TEST_CLOCK',
    );
    assert.equal(
      refusal({ DRAWBRIDGE_TEST_CLOCK: 'true', NODE_ENV: 'test', DATABASE_URL: 'postgres://x@127.0.0.1/db' })
        .field,
      'DRAWBRIDGE_TEST_CLOCK',
    );
    assert.equal(loadConfig({ DRAWBRIDGE_TEST_CLOCK: 'true', NODE_ENV: 'test' }).testClock, true);
  });
});

describe('PUBLIC_URL', () => {
  test('defaults to http://localhost:$PORT: a browser refuses an IP address as the WebAuthn relying-party id', () => {
    const config = loadConfig({ PORT: '9090' });
    assert.equal(config.publicUrl, 'http://localhost:9090');
    assert.equal(config.rpId, 'localhost');
    assert.deepEqual(config.rpOrigins, ['http://localhost:9090']);
  });
});
