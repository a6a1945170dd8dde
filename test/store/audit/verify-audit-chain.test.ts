import assert from 'node:assert/strict';
import { test } from 'node:test';
import { auditEntryHash, GENESIS_PREV_HASH } from '../../../src/core/audit-hash.ts';
import { ManualClock } from '../../../src/core/clock.ts';
import { readAuditHead, verifyAuditChain, verifyAuditChainFrom } from '../../../src/store/audit/index.ts';
import type { Database } from '../../../src/store/database.ts';
import { eachEngine } from '../../support/each-engine.ts';
import { freshDatabase } from '../../support/engines.ts';
import { appendEntries, tamperAuditLog } from './audit-fixtures.ts';

async function chainOf(database: Database, count: number) {
  return appendEntries(database, new ManualClock(), count);
}

for (const { engine, describeOn } of await eachEngine()) {
  describeOn(`audit chain verification on ${engine}`, () => {
    test('an empty chain verifies, its head is the genesis link', async () => {
      const fresh = await freshDatabase(engine);
      try {
        assert.deepEqual(await verifyAuditChain(fresh.database), {
          ok: true,
          entries: 0,
          head_hash: GENESIS_PREV_HASH,
        });
        assert.deepEqual(await readAuditHead(fresh.database), { seq: 0, hash: GENESIS_PREV_HASH });
      } finally {
        await fresh.drop();
      }
    });

    test('from a verified head, at most max_entries at a time: at the bound it stops intact and goes on from there', async () => {
      const fresh = await freshDatabase(engine);
      try {
        const entries = await chainOf(fresh.database, 5);
        const first = await verifyAuditChainFrom(fresh.database, { seq: 0, hash: GENESIS_PREV_HASH }, 2);
        assert.deepEqual(first, { ok: true, head: { seq: 2, hash: entries[1]!.hash }, checked: 2 });
        assert.ok(first.ok);
        const second = await verifyAuditChainFrom(fresh.database, first.head, 2);
        assert.deepEqual(second, { ok: true, head: { seq: 4, hash: entries[3]!.hash }, checked: 2 });
        assert.ok(second.ok);
        // Entry 5 is rewritten after the walk passed 4: the next step from the head finds it.
        await tamperAuditLog(fresh.database, `update audit_log set actor = 'x' where seq = 5`);
        assert.deepEqual(await verifyAuditChainFrom(fresh.database, second.head, 2), {
          ok: false,
          first_broken: { seq: 5, id: entries[4]!.id, reason: 'hash mismatch' },
        });
        // A head that is not the chain's (a forged checkpoint) does not link: refused, not skipped.
        assert.equal(
          (await verifyAuditChainFrom(fresh.database, { seq: 2, hash: 'f'.repeat(64) }, 10)).ok,
          false,
        );
      } finally {
        await fresh.drop();
      }
    });

    test('rewritten data is a hash mismatch at that entry, found across page boundaries', async () => {
      const fresh = await freshDatabase(engine);
      try {
        const entries = await chainOf(fresh.database, 25);
        assert.deepEqual(await verifyAuditChain(fresh.database, { page_rows: 10 }), {
          ok: true,
          entries: 25,
          head_hash: entries[24]!.hash,
        });
        await tamperAuditLog(fresh.database, `update audit_log set data = '{"amount":"1"}' where seq = 15`);
        assert.deepEqual(await verifyAuditChain(fresh.database, { page_rows: 10 }), {
          ok: false,
          entries_checked: 14,
          first_broken: { seq: 15, id: entries[14]!.id, reason: 'hash mismatch' },
        });
      } finally {
        await fresh.drop();
      }
    });

    test('a rewritten entry with a recomputed hash breaks the link of the next one', async () => {
      const fresh = await freshDatabase(engine);
      try {
        const entries = await chainOf(fresh.database, 10);
        const victim = entries[6]!;
        const forged = auditEntryHash({ ...victim, at: victim.at.toISOString(), data: { amount: '1' } });
        await tamperAuditLog(
          fresh.database,
          `update audit_log set data = '{"amount":"1"}', hash = '${forged}' where seq = 7`,
        );
        assert.deepEqual(await verifyAuditChain(fresh.database), {
          ok: false,
          entries_checked: 7,
          first_broken: { seq: 8, id: entries[7]!.id, reason: 'prev_hash does not link' },
        });
      } finally {
        await fresh.drop();
      }
    });

    test('a deleted middle entry is a sequence gap at the entry after it', async () => {
      const fresh = await freshDatabase(engine);
      try {
        const entries = await chainOf(fresh.database, 10);
        await tamperAuditLog(fresh.database, 'delete from audit_log where seq = 4');
        assert.deepEqual(await verifyAuditChain(fresh.database), {
          ok: false,
          entries_checked: 3,
          first_broken: { seq: 5, id: entries[4]!.id, reason: 'sequence gap' },
        });
      } finally {
        await fresh.drop();
      }
    });

    test('a deleted first entry is a sequence gap too', async () => {
      const fresh = await freshDatabase(engine);
      try {
        const entries = await chainOf(fresh.database, 3);
        await tamperAuditLog(fresh.database, 'delete from audit_log where seq = 1');
        assert.deepEqual(await verifyAuditChain(fresh.database), {
          ok: false,
          entries_checked: 0,
          first_broken: { seq: 2, id: entries[1]!.id, reason: 'sequence gap' },
        });
      } finally {
        await fresh.drop();
      }
    });

    test('a changed prev_hash does not link', async () => {
      const fresh = await freshDatabase(engine);
      try {
        const entries = await chainOf(fresh.database, 10);
        await tamperAuditLog(
          fresh.database,
          `update audit_log set prev_hash = '${'a'.repeat(64)}' where seq = 6`,
        );
        assert.deepEqual(await verifyAuditChain(fresh.database), {
          ok: false,
          entries_checked: 5,
          first_broken: { seq: 6, id: entries[5]!.id, reason: 'prev_hash does not link' },
        });
      } finally {
        await fresh.drop();
      }
    });

    test('a changed time, actor or data is a hash mismatch; unreadable data is refused at the write', async () => {
      const fresh = await freshDatabase(engine);
      try {
        await chainOf(fresh.database, 9);
        // The incident index (an expression over data's JSON, migration 0045) refuses data that is not JSON
        // outright, on both engines, even with the append-only triggers dropped.
        await assert.rejects(
          tamperAuditLog(fresh.database, `update audit_log set data = 'not json' where seq = 1`),
        );
        const edits = [
          [3, `update audit_log set at = '2020-01-01T00:00:00.000Z' where seq = 3`],
          [2, `update audit_log set actor = 'operator:nobody' where seq = 2`],
          [1, `update audit_log set data = '{"tampered":true}' where seq = 1`],
        ] as const;
        for (const [seq, statement] of edits) {
          await tamperAuditLog(fresh.database, statement);
          const report = await verifyAuditChain(fresh.database);
          assert.equal(report.ok, false);
          assert.deepEqual(!report.ok && [report.first_broken.seq, report.first_broken.reason], [
            seq,
            'hash mismatch',
          ]);
        }
      } finally {
        await fresh.drop();
      }
    });

    test('a truncated tail still verifies: only an anchored head reveals it', async () => {
      const fresh = await freshDatabase(engine);
      try {
        const entries = await chainOf(fresh.database, 5);
        const anchored = await readAuditHead(fresh.database);
        assert.deepEqual(anchored, { seq: 5, hash: entries[4]!.hash });
        await tamperAuditLog(fresh.database, 'delete from audit_log where seq = 5');
        // The documented limit of a hash chain on its own.
        assert.deepEqual(await verifyAuditChain(fresh.database), {
          ok: true,
          entries: 4,
          head_hash: entries[3]!.hash,
        });
        assert.notDeepEqual(await readAuditHead(fresh.database), anchored);
      } finally {
        await fresh.drop();
      }
    });
  });
}
