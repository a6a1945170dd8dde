import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { loadKey, open, SealedValueError, seal } from '../../src/adapters/secret-box.ts';

const KEY = randomBytes(32);
const AAD = 'totp-secret/0190f6c2-0000-7000-8000-000000000001/1';
const BASE64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

describe('secret box: sealed TOTP seeds at rest', () => {
  test('what is sealed opens with the same key and associated data', () => {
    const sealed = seal(KEY, 'JBSWY3DPEHPK3PXP', AAD);
    assert.match(sealed, /^v1\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{22}$/);
    assert.equal(open(KEY, sealed, AAD).toString('utf8'), 'JBSWY3DPEHPK3PXP');
    assert.equal(open(KEY, seal(KEY, '', AAD), AAD).byteLength, 0);
  });

  test('sealing the same secret twice gives different values (fresh IV)', () => {
    assert.notEqual(seal(KEY, 'same', AAD), seal(KEY, 'same', AAD));
  });

  test('flipping any bit of any byte of IV, ciphertext or tag fails', () => {
    const [version, ...parts] = seal(KEY, 'JBSWY3DPEHPK3PXP', AAD).split('.');
    for (let p = 0; p < parts.length; p++) {
      const bytes = Buffer.from(parts[p]!, 'base64url');
      for (let i = 0; i < bytes.length; i++) {
        for (let bit = 0; bit < 8; bit++) {
          const tampered = Buffer.from(bytes);
          tampered[i]! ^= 1 << bit;
          const copy = [...parts];
          copy[p] = tampered.toString('base64url');
          assert.throws(() => open(KEY, [version, ...copy].join('.'), AAD), SealedValueError);
        }
      }
    }
  });

  test('changing any character of the sealed string fails (no malleable encoding)', () => {
    const sealed = seal(KEY, 'JBSWY3DPEHPK3PXP', AAD);
    for (let i = 0; i < sealed.length; i++) {
      for (const replacement of [BASE64URL[(BASE64URL.indexOf(sealed[i]!) + 1) % 64]!, '.', '=', '+']) {
        if (replacement === sealed[i]) continue;
        const tampered = sealed.slice(0, i) + replacement + sealed.slice(i + 1);
        assert.throws(() => open(KEY, tampered, AAD), SealedValueError, `position ${i} -> ${replacement}`);
      }
    }
  });

  test('truncation, extension and an unknown version fail', () => {
    const sealed = seal(KEY, 'JBSWY3DPEHPK3PXP', AAD);
    assert.throws(() => open(KEY, sealed.slice(0, -1), AAD), SealedValueError);
    assert.throws(() => open(KEY, `${sealed}A`, AAD), SealedValueError);
    assert.throws(() => open(KEY, `${sealed}.AAAA`, AAD), SealedValueError);
    assert.throws(() => open(KEY, sealed.replace(/^v1/, 'v2'), AAD), SealedValueError);
    assert.throws(() => open(KEY, '', AAD), SealedValueError);
  });

  test("another row's associated data fails: a sealed seed cannot be moved to another account", () => {
    const sealed = seal(KEY, 'JBSWY3DPEHPK3PXP', AAD);
    assert.throws(() => open(KEY, sealed, AAD.replace(/1$/, '2')), SealedValueError);
    assert.throws(() => open(KEY, sealed, ''), SealedValueError);
  });

  test('another key fails', () => {
    assert.throws(() => open(randomBytes(32), seal(KEY, 'x', AAD), AAD), SealedValueError);
  });
});

describe('secret box: loading the key', () => {
  const dirs: string[] = [];
  after(async () => {
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });
  async function freshDir(): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), 'drawbridge-key-'));
    dirs.push(dir);
    return dir;
  }

  test('the key file is created with mode 0600 and reused on the second load', async () => {
    const dataDir = join(await freshDir(), 'nested', 'data');
    const first = await loadKey({ dataDir, fileName: 'secret-box.key' });
    assert.equal(first.byteLength, 32);
    if (process.platform !== 'win32') {
      assert.equal((await stat(join(dataDir, 'secret-box.key'))).mode & 0o777, 0o600);
    }
    const second = await loadKey({ dataDir, fileName: 'secret-box.key' });
    assert.ok(first.equals(second));
    assert.deepEqual(await readdir(dataDir), ['secret-box.key']);
  });

  test('loads racing to create the key all get the same key and leave one file', async () => {
    const dataDir = await freshDir();
    const keys = await Promise.all(
      Array.from({ length: 8 }, () => loadKey({ dataDir, fileName: 'race.key' })),
    );
    for (const key of keys) assert.ok(key.equals(keys[0]!));
    assert.deepEqual(await readdir(dataDir), ['race.key']);
  });

  test('an environment value wins over the file and must be exactly 32 bytes', async () => {
    const dataDir = await freshDir();
    const key = randomBytes(32);
    const loaded = await loadKey({ envValue: key.toString('base64'), dataDir, fileName: 'k' });
    assert.ok(loaded.equals(key));
    assert.deepEqual(await readdir(dataDir), []);
    for (const bad of [
      randomBytes(31).toString('base64'),
      randomBytes(33).toString('base64'),
      'not base64!',
    ]) {
      await assert.rejects(loadKey({ envValue: bad, dataDir, fileName: 'k' }), {
        code: 'INVALID_INPUT',
        field: 'envValue',
      });
    }
  });

  test('a damaged key file is refused, never silently replaced', async () => {
    const dataDir = await freshDir();
    await writeFile(join(dataDir, 'bad.key'), 'c2hvcnQ=\n', { mode: 0o600 });
    await assert.rejects(loadKey({ dataDir, fileName: 'bad.key' }), { code: 'INVALID_INPUT' });
    assert.equal(await readFile(join(dataDir, 'bad.key'), 'ascii'), 'c2hvcnQ=\n');
  });

  test('other key lengths (an Ed25519 seed) and no path escapes through the file name', async () => {
    const dataDir = await freshDir();
    const seed = await loadKey({ dataDir, fileName: 'release-signing.key', length_bytes: 32 });
    assert.equal(seed.byteLength, 32);
    const long = await loadKey({ dataDir, fileName: 'long.key', length_bytes: 64 });
    assert.equal(long.byteLength, 64);
    await assert.rejects(loadKey({ dataDir, fileName: '../escape.key' }), { field: 'fileName' });
  });
});
