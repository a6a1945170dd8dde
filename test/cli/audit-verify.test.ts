import assert from 'node:assert/strict';
import { test } from 'node:test';
import { auditEntryHash } from '../../src/core/audit-hash.ts';
import { ManualClock } from '../../src/core/clock.ts';
import { type AuditEntry, appendAudit, unsealedCount } from '../../src/store/audit/index.ts';
import { inTransaction } from '../../src/store/transaction.ts';
import { appendEntries, tamperAuditLog } from '../store/audit/audit-fixtures.ts';
import { type CliResult, runCli } from '../support/cli.ts';
import { eachEngine } from '../support/each-engine.ts';
import { type FreshDatabase, freshDatabase } from '../support/engines.ts';

function onlyJsonLine(result: CliResult): unknown {
  const lines = result.stdout.trim().split('\n');
  assert.equal(lines.length, 1, `one JSON line expected, got: ${result.stdout} ${result.stderr}`);
  return JSON.parse(lines[0]!);
}

for (const { engine, describeOn } of await eachEngine()) {
  describeOn(`drawbridge audit verify on ${engine}`, () => {
    async function chainOf20(): Promise<{ fresh: FreshDatabase; entries: AuditEntry[] }> {
      const fresh = await freshDatabase(engine);
      const entries = await appendEntries(fresh.database, new ManualClock(), 20);
      return { fresh, entries };
    }

    test('an untouched chain verifies: exit 0, and the head can be printed for anchoring', async () => {
      const { fresh, entries } = await chainOf20();
      try {
        const result = await runCli(['audit', 'verify'], fresh.env);
        assert.equal(result.code, 0, result.stderr);
        assert.deepEqual(onlyJsonLine(result), { ok: true, entries: 20, head_hash: entries[19]!.hash });

        const head = await runCli(['audit', 'head'], fresh.env);
        assert.equal(head.code, 0, head.stderr);
        assert.deepEqual(onlyJsonLine(head), { head_seq: 20, head_hash: entries[19]!.hash });
      } finally {
        await fresh.drop();
      }
    });

    test('entries still in the journal are sealed by verify before it walks the chain', async () => {
      const { fresh } = await chainOf20();
      try {
        await inTransaction(fresh.database, (tx) =>
          appendAudit(tx, {
            at: new Date('2026-02-01T00:00:00.000Z'),
            actor: 'operator:op1',
            action: 'incident.halt',
            subject: 'platform',
            data: { scope: 'global' },
          }),
        );
        assert.equal(await unsealedCount(fresh.database), 1);
        const result = await runCli(['audit', 'verify'], fresh.env);
        assert.equal(result.code, 0, result.stderr);
        const report = onlyJsonLine(result) as { ok: boolean; entries: number };
        assert.deepEqual([report.ok, report.entries], [true, 21]);
        assert.equal(await unsealedCount(fresh.database), 0);
      } finally {
        await fresh.drop();
      }
    });

    test('an entry that cannot be sealed (its id forged into the chain) fails verify, naming it and the row that took its id', async () => {
      const { fresh, entries } = await chainOf20();
      try {
        const pending = await inTransaction(fresh.database, (tx) =>
          appendAudit(tx, {
            at: new Date('2026-02-01T00:00:00.000Z'),
            actor: 'operator:mallory',
            action: 'withdrawal.released',
            subject: 'withdrawal:w1',
            data: {},
          }),
        );
        const head = entries[19]!;
        const forged = {
          seq: 21,
          id: pending.id,
          at: '2026-02-01T00:00:00.000Z',
          actor: 'operator:alice',
          action: 'noop',
          subject: 'none',
        };
        const hash = auditEntryHash({ ...forged, data: {}, prev_hash: head.hash });
        await fresh.database.db
          .insertInto('audit_log')
          .values({ ...forged, data: '{}', prev_hash: head.hash, hash })
          .execute();
        const result = await runCli(['audit', 'verify'], fresh.env);
        assert.equal(result.code, 1, result.stderr);
        const report = onlyJsonLine(result) as {
          ok: boolean;
          unsealed: number;
          sealing_blocked: { id: string; taken_by_seq: number }[];
          sealing_failed?: string;
        };
        assert.equal(report.ok, false);
        assert.equal(report.unsealed, 1, 'the real entry waits in the journal, not erased');
        assert.deepEqual(report.sealing_blocked, [{ id: pending.id, taken_by_seq: 21 }]);
        assert.equal(report.sealing_failed, undefined, 'the sealer went on past it');
      } finally {
        await fresh.drop();
      }
    });

    test('data of entry 7 of 20 edited in the database: exit 1, names seq 7', async () => {
      const { fresh, entries } = await chainOf20();
      try {
        await tamperAuditLog(
          fresh.database,
          `update audit_log set data = '{"amount":"7000","asset":"ETH","index":7}' where seq = 7`,
        );
        const result = await runCli(['audit', 'verify'], fresh.env);
        assert.equal(result.code, 1, result.stderr);
        assert.deepEqual(onlyJsonLine(result), {
          ok: false,
          entries_checked: 6,
          first_broken: { seq: 7, id: entries[6]!.id, reason: 'hash mismatch' },
        });
      } finally {
        await fresh.drop();
      }
    });

    test('a deleted middle row: exit 1, named as a sequence gap', async () => {
      const { fresh, entries } = await chainOf20();
      try {
        await tamperAuditLog(fresh.database, 'delete from audit_log where seq = 10');
        const result = await runCli(['audit', 'verify'], fresh.env);
        assert.equal(result.code, 1, result.stderr);
        assert.deepEqual(onlyJsonLine(result), {
          ok: false,
          entries_checked: 9,
          first_broken: { seq: 11, id: entries[10]!.id, reason: 'sequence gap' },
        });
      } finally {
        await fresh.drop();
      }
    });

    test('a changed prev_hash: exit 1, named as a broken link', async () => {
      const { fresh, entries } = await chainOf20();
      try {
        await tamperAuditLog(
          fresh.database,
          `update audit_log set prev_hash = '${'0'.repeat(64)}' where seq = 12`,
        );
        const result = await runCli(['audit', 'verify'], fresh.env);
        assert.equal(result.code, 1, result.stderr);
        assert.deepEqual(onlyJsonLine(result), {
          ok: false,
          entries_checked: 11,
          first_broken: { seq: 12, id: entries[11]!.id, reason: 'prev_hash does not link' },
        });
      } finally {
        await fresh.drop();
      }
    });
  });
}
