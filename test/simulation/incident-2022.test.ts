import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { replayIncident2022 } from '../../src/simulation/incident-2022/replay.ts';

// The replay always runs on the embedded SQLite database of its own --out directory (it must never write into a
// configured installation), so this test has no PostgreSQL twin.
test('the 2022 replay end to end: forgeries detected at once, none released, the playbook run by two operators, every check passes, and the same seed gives the same report', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'replay-2022-'));
  try {
    const first = await replayIncident2022({ accounts: '12', seed: '42', outDir: join(dir, 'run') });
    assert.equal(first.attacker_accounts, 6);
    assert.equal(first.forged_approvals, 6);
    assert.equal(first.forged_released, 0);
    assert.ok(first.ordinary_withdrawals.released >= 1);
    assert.ok(
      (first.detection_ms ?? Number.POSITIVE_INFINITY) <= 1000,
      `detected in ${first.detection_ms} ms`,
    );
    assert.equal(first.first_forged_at, '2022-01-17T03:00:00.250Z');
    assert.deepEqual(
      first.checks.filter((c) => !c.ok),
      [],
    );
    assert.equal(first.ok, true);
    assert.equal(first.report.accounts_affected, 6);
    assert.equal(first.report.usd_lost.usd, '0.00');
    assert.equal(first.report.share_prevented_usd_percent, '100.00');
    assert.ok(first.report.halt_duration_ms > 0);
    assert.match(first.text, /\| halt duration +\| \d+ h \d\d min +\| about 14 h/);
    assert.match(first.reimbursement, /^nothing to reimburse/);
    const written = JSON.parse(readFileSync(join(dir, 'run', 'replay.json'), 'utf8'));
    assert.equal(written.forged_released, 0);

    const again = await replayIncident2022({ accounts: '12', seed: '42', outDir: join(dir, 'again') });
    for (const format of ['json', 'md', 'html']) {
      assert.equal(
        readFileSync(join(dir, 'again', `incident-report.${format}`), 'utf8'),
        readFileSync(join(dir, 'run', `incident-report.${format}`), 'utf8'),
        `the ${format} report of the same seed`,
      );
    }
    assert.equal(again.incident_id, first.incident_id);

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
