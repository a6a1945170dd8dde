import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { runCli, spawnCli } from '../support/cli.ts';

test('a bad configuration stops the start with one line naming the variable, and creates nothing on disk', async () => {
  const parent = mkdtempSync(join(tmpdir(), 'drawbridge-config-'));
  try {
    const dataDir = join(parent, 'data');
    const result = await spawnCli(['serve'], {
      DRAWBRIDGE_DATA_DIR: dataDir,
      LOG_LEVEL: 'loud',
      DATABASE_URL: '',
    });
    assert.equal(result.code, 2, result.stderr);
    const lines = result.stderr.trim().split('\n');
    assert.equal(lines.length, 1, result.stderr);
    assert.deepEqual(JSON.parse(lines[0] ?? ''), {
      error: 'INVALID_INPUT',
      field: 'LOG_LEVEL',
      reason: 'must be one of fatal, error, warn, info, debug, trace, silent',
    });
    assert.equal(existsSync(dataDir), false, 'no data directory before the configuration is valid');
  } finally {
    rmSync(parent, { recursive: true, force: true });
  }
});

test('`drawbridge config` prints the effective configuration without opening a database', async () => {
  const parent = mkdtempSync(join(tmpdir(), 'drawbridge-config-'));
  try {
    const dataDir = join(parent, 'data');
    const result = await runCli(['config'], {
      DRAWBRIDGE_DATA_DIR: dataDir,
      RELEASE_SIGNING_KEY: 'c2VlZA==',
      DATABASE_URL: '',
    });
    assert.equal(result.code, 0, result.stderr);
    const shown = JSON.parse(result.stdout) as Record<string, { value: unknown; from: string }>;
    assert.equal(shown.DRAWBRIDGE_DATA_DIR?.value, dataDir);
    assert.equal(shown.RELEASE_SIGNING_KEY?.value, '********');
    assert.equal(existsSync(dataDir), false);
  } finally {
    rmSync(parent, { recursive: true, force: true });
  }
});

test('a read command never creates a database: it names where it looked, and says which database it read', async () => {
  const parent = mkdtempSync(join(tmpdir(), 'drawbridge-read-'));
  try {
    const dataDir = join(parent, 'data');
    const result = await runCli(['customer', 'list', '--data-dir', dataDir], {
      DATABASE_URL: '',
      DRAWBRIDGE_OPERATOR_TOKEN: 'x'.repeat(43),
    });
    assert.equal(result.code, 2, result.stderr);
    const refused = JSON.parse(result.stderr.trim().split('\n').at(-1) ?? '') as {
      field: string;
      reason: string;
    };
    assert.equal(refused.field, '--data-dir');
    assert.match(refused.reason, new RegExp(`no database at ${dataDir}`));
    assert.equal(existsSync(dataDir), false);
  } finally {
    rmSync(parent, { recursive: true, force: true });
  }
});
