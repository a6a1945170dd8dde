// The command as an operator runs it: one JSON line, and an exit code a script can branch on.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { spawnCli } from '../../support/cli.ts';
import { runAddressCheck } from './run-address-check.ts';

describe('drawbridge address check', async () => {
  test('a valid address prints one JSON line with its normal form and exits 0', async () => {
    const run = await runAddressCheck(['--network', 'bitcoin', 'BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4']);
    assert.equal(run.status, 0, run.stderr);
    assert.equal(
      run.stdout,
      '{"valid":true,"normalized":"bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4","type":"p2wpkh"}\n',
    );
  });

  test('a testnet address checked as bitcoin prints the reason and exits 1 (the real binary)', async () => {
    const run = await spawnCli(
      [
        'address',
        'check',
        '--network',
        'bitcoin',
        'tb1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3q0sl5k7',
      ],
      {},
    );
    assert.equal(run.code, 1, run.stderr);
    assert.deepEqual(JSON.parse(run.stdout), {
      valid: false,
      reason: 'this is a bitcoin-testnet address, not a bitcoin address',
    });
    assert.equal(run.stdout.split('\n').length, 2, 'exactly one line');
  });

  test('an unknown network is a usage error: exit 2, reason on stderr, nothing on stdout', async () => {
    const run = await runAddressCheck(['--network', 'dogecoin', 'DH5yaieqoZN36fDVciNyRueRGvGLR3mr7L']);
    assert.equal(run.status, 2);
    assert.equal(run.stdout, '');
    assert.match(run.stderr, /dogecoin/);
  });

  test('a missing network or a missing address is a usage error', async () => {
    assert.equal((await runAddressCheck(['1FsSia9rv4NeEwvJ2GvXrX7LyxYspbN2mo'])).status, 2);
    assert.equal((await runAddressCheck(['--network', 'bitcoin'])).status, 2);
  });

  test('--stdin answers each line in order, CRLF or LF, and exits 1 when any is refused', async () => {
    const run = await runAddressCheck(
      ['--network', 'ethereum', '--stdin'],
      '0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed\r\n\n0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed\n',
    );
    assert.equal(run.status, 1, run.stderr);
    const lines = run.stdout
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line));
    assert.deepEqual(lines, [
      { valid: true, normalized: '0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed', type: 'account' },
      { valid: false, reason: 'address is empty' },
      { valid: true, normalized: '0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed', type: 'account' },
    ]);
  });

  test('--stdin refuses more input than its bound instead of reading on', async () => {
    const run = await runAddressCheck(['--network', 'bitcoin', '--stdin'], 'x\n'.repeat(10_001));
    assert.equal(run.status, 2);
    assert.equal(run.stdout, '');
    assert.match(run.stderr, /more than 10000 lines/);
  });
});
