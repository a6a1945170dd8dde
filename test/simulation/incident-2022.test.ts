import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { replayIncident2022 } from '../../src/simulation/incident-2022/replay.ts';

// The replay always runs on the embedded SQLite database of its own --out directory (it must never write into a
// configured installation), so this test has no PostgreSQL twin.
test('the 2022 replay (attack phase): every forgery is approved without a second factor, detected at once, none released', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'replay-2022-'));
  try {
    const result = await replayIncident2022({ accounts: '12', seed: '42', outDir: join(dir, 'run') });
    assert.equal(result.attacker_accounts, 6);
    assert.equal(result.forged_approvals, 6);
    assert.equal(result.forged_released, 0);
    assert.ok(result.ordinary_withdrawals.released >= 1);
    assert.notEqual(result.detection_ms, null);
    assert.ok(
      (result.detection_ms ?? Number.POSITIVE_INFINITY) <= 1000,
      `detected in ${result.detection_ms} ms`,
    );
    assert.equal(result.first_forged_at, '2022-01-17T03:00:00.250Z');
    const written = JSON.parse(readFileSync(join(dir, 'run', 'attack-phase.json'), 'utf8'));
    assert.equal(written.forged_released, 0);
    await assert.rejects(replayIncident2022({ accounts: '12', outDir: join(dir, 'run') }), {
      code: 'ALREADY_EXISTS',
    });
    await assert.rejects(replayIncident2022({ accounts: '1', outDir: join(dir, 'other') }), {
      field: 'accounts',
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
