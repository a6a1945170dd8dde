import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sql } from 'kysely';
import { auditEntryHash, GENESIS_PREV_HASH, type JsonObject } from '../../../src/core/audit-hash.ts';
import { ManualClock } from '../../../src/core/clock.ts';
import { DomainError } from '../../../src/core/errors.ts';
import {
  AUDIT_LIMITS,
  type AuditEntryInput,
  appendAudit,
  recordAudit,
  sealAudit,
  unsealedCount,
  verifyAuditChain,
} from '../../../src/store/audit/index.ts';
import type { Database } from '../../../src/store/database.ts';
import { inTransaction } from '../../../src/store/transaction.ts';
import { eachEngine } from '../../support/each-engine.ts';
import { freshDatabase } from '../../support/engines.ts';
import { appendEntries } from './audit-fixtures.ts';

const ENTRY: AuditEntryInput = {
  at: new Date('2026-01-01T00:00:00.000Z'),
  actor: 'operator:op1',
  action: 'incident.halt',
  subject: 'platform',
  data: { scope: 'global' },
};

async function storedRows(database: Database) {
  return database.db.selectFrom('audit_log').selectAll().orderBy('seq', 'asc').execute();
}

for (const { engine, describeOn } of await eachEngine()) {
  describeOn(`audit append on ${engine}`, () => {
    test('each entry links to the one before and its stored row hashes to its hash', async () => {
      const fresh = await freshDatabase(engine);
      try {
        const entries = await appendEntries(fresh.database, new ManualClock(), 5);
        assert.deepEqual(
          entries.map((e) => e.seq),
          [1, 2, 3, 4, 5],
        );
        assert.equal(entries[0]!.prev_hash, GENESIS_PREV_HASH);
        for (let i = 1; i < entries.length; i += 1) assert.equal(entries[i]!.prev_hash, entries[i - 1]!.hash);

        const rows = await storedRows(fresh.database);
        assert.equal(rows.length, 5);
        for (const [i, row] of rows.entries()) {
          const entry = entries[i]!;
          assert.equal(Number(row.seq), entry.seq);
          assert.equal(row.id, entry.id);
          assert.equal(row.at, entry.at.toISOString());
          assert.deepEqual(JSON.parse(row.data), entry.data);
          const recomputed = auditEntryHash({ ...row, seq: Number(row.seq), data: JSON.parse(row.data) });
          assert.equal(recomputed, row.hash);
          assert.equal(row.hash, entry.hash);
        }
        assert.deepEqual(await verifyAuditChain(fresh.database), {
          ok: true,
          entries: 5,
          head_hash: entries[4]!.hash,
        });
      } finally {
        await fresh.drop();
      }
    });

    test('an audit row commits or rolls back with the event it records, and a rollback burns no seq', async () => {
      const fresh = await freshDatabase(engine);
      try {
        await assert.rejects(
          inTransaction(fresh.database, async (tx) => {
            await appendAudit(tx, ENTRY);
            throw new Error('the event failed after its audit row was written');
          }),
          /the event failed/,
        );
        assert.equal(await unsealedCount(fresh.database), 0);
        assert.equal(await sealAudit(fresh.database), 0);
        assert.deepEqual(await storedRows(fresh.database), []);

        const entry = await inTransaction(fresh.database, (tx) => appendAudit(tx, ENTRY));
        assert.equal(await unsealedCount(fresh.database), 1);
        assert.equal(await sealAudit(fresh.database), 1);
        assert.equal(await unsealedCount(fresh.database), 0, 'a sealed entry leaves the journal');
        const rows = await storedRows(fresh.database);
        assert.equal(rows.length, 1);
        assert.equal(rows[0]!.id, entry.id);
        assert.equal(Number(rows[0]!.seq), 1);
        assert.equal(rows[0]!.prev_hash, GENESIS_PREV_HASH);
      } finally {
        await fresh.drop();
      }
    });

    test('50 concurrent appends from a pool of 10 connections, sealed by racing sealers, give a gapless, valid chain', async () => {
      const fresh = await freshDatabase(engine, { poolSize: 10 });
      try {
        const clock = new ManualClock();
        const sealers: Promise<number>[] = [];
        await Promise.all(
          Array.from({ length: 50 }, (_, i) =>
            inTransaction(fresh.database, async (tx) => {
              // Some work of the event's own before its audit row, so transactions overlap.
              await sql`select 1`.execute(tx);
              const entry = await appendAudit(tx, { ...ENTRY, at: clock.now(), data: { i } });
              if (i % 10 === 0) sealers.push(sealAudit(fresh.database));
              return entry;
            }),
          ),
        );
        const sealedByRacers = (await Promise.all(sealers)).reduce((a, b) => a + b, 0);
        const sealedAfter = await sealAudit(fresh.database);
        assert.equal(sealedByRacers + sealedAfter, 50, 'every entry sealed exactly once');
        assert.deepEqual(
          (await storedRows(fresh.database)).map((row) => Number(row.seq)),
          Array.from({ length: 50 }, (_, i) => i + 1),
        );
        const report = await verifyAuditChain(fresh.database);
        assert.equal(report.ok, true);
        assert.equal(report.ok && report.entries, 50);
        const data = (await storedRows(fresh.database)).map(
          (row) => (JSON.parse(row.data) as { i: number }).i,
        );
        assert.deepEqual(
          data.sort((a, b) => a - b),
          Array.from({ length: 50 }, (_, i) => i),
        );
      } finally {
        await fresh.drop();
      }
    });

    test("attack: a forged chain row with an unsealed entry's id does not let its journal row be deleted", async () => {
      const fresh = await freshDatabase(engine);
      try {
        await appendEntries(fresh.database, new ManualClock(), 2);
        const db = fresh.database.db;
        const pending = await inTransaction(fresh.database, (tx) => appendAudit(tx, ENTRY));
        // The hash has no key: anyone who can insert can append a well-linked row claiming the pending id.
        const head = await db
          .selectFrom('audit_log')
          .select(['seq', 'hash'])
          .orderBy('seq', 'desc')
          .executeTakeFirstOrThrow();
        const forged = {
          seq: Number(head.seq) + 1,
          id: pending.id,
          at: pending.at.toISOString(),
          actor: 'operator:alice',
          action: 'noop',
          subject: 'none',
        };
        const hash = auditEntryHash({ ...forged, data: {}, prev_hash: head.hash });
        await db
          .insertInto('audit_log')
          .values({ ...forged, data: '{}', prev_hash: head.hash, hash })
          .execute();
        await assert.rejects(
          sql`delete from audit_journal where id = ${pending.id}`.execute(db),
          /only removed once sealed/,
        );
        if (engine === 'sqlite') {
          // INSERT OR REPLACE would delete the conflicting row without firing DELETE triggers.
          await assert.rejects(
            sql`insert or replace into audit_journal (id, at, actor, action, subject, data)
              values (${pending.id}, ${forged.at}, 'operator:alice', 'noop', 'none', '{}')`.execute(db),
            /only removed once sealed/,
          );
          await assert.rejects(
            sql`insert or replace into audit_log (seq, id, at, actor, action, subject, data, prev_hash, hash)
              values (1, 'x', ${forged.at}, 'a', 'b', 'c', '{}', ${head.hash}, ${hash})`.execute(db),
            /append-only/,
          );
        }
        assert.equal(await unsealedCount(fresh.database), 1, 'the real entry is still waiting to be sealed');

        // The sealer is not stalled by it: later entries are sealed past it, and the chain says what happened.
        const later = await inTransaction(fresh.database, (tx) =>
          appendAudit(tx, { ...ENTRY, action: 'later' }),
        );
        await sealAudit(fresh.database);
        await sealAudit(fresh.database);
        const rows = await storedRows(fresh.database);
        assert.ok(
          rows.some((row) => row.id === later.id && row.action === 'later'),
          'the later entry is sealed',
        );
        const alarms = rows.filter((row) => row.action === 'audit.seal_blocked');
        assert.equal(alarms.length, 1, 'reported once, not on every pass');
        assert.equal(alarms[0]?.subject, `audit_journal:${pending.id}`);
        const alarm = JSON.parse(alarms[0]?.data ?? '{}') as Record<string, unknown>;
        assert.equal(alarm.severity, 'critical');
        assert.equal(alarm.taken_by_seq, forged.seq);
        assert.equal((alarm.entry as Record<string, unknown>).action, ENTRY.action);
        assert.equal(await unsealedCount(fresh.database), 1, 'the blocked entry stays in the journal');
        const verified = await verifyAuditChain(fresh.database);
        assert.equal(verified.ok, true, JSON.stringify(verified));
      } finally {
        await fresh.drop();
      }
    });

    test('bad input gets the field at fault and writes nothing', async () => {
      const fresh = await freshDatabase(engine);
      try {
        const big = 'x'.repeat(AUDIT_LIMITS.data_bytes);
        let deep: JsonObject = { leaf: true };
        for (let i = 0; i < AUDIT_LIMITS.data_depth + 1; i += 1) deep = { deep };
        const cases: Array<[string, Partial<Record<keyof AuditEntryInput, unknown>>]> = [
          ['at', { at: new Date('not a date') }],
          ['at', { at: '2026-01-01T00:00:00Z' }],
          ['actor', { actor: '' }],
          ['actor', { actor: 'a'.repeat(AUDIT_LIMITS.actor_chars + 1) }],
          ['action', { action: 'a'.repeat(AUDIT_LIMITS.action_chars + 1) }],
          ['action', { action: 'login\nFAKE LINE' }],
          ['subject', { subject: 42 }],
          ['subject', { subject: 'w\ud800' }],
          ['data', { data: [1, 2] }],
          ['data', { data: null }],
          ['data', { data: { note: big } }],
          ['data', { data: Object.fromEntries(Array.from({ length: 2001 }, (_, i) => [`k${i}`, i])) }],
          ['data/amount', { data: { amount: 10n } }],
          ['data/when', { data: { when: new Date(0) } }],
          ['data/missing', { data: { missing: undefined } }],
          ['data/ratio', { data: { ratio: Number.NaN } }],
          ['data/list/1', { data: { list: [1, Number.POSITIVE_INFINITY] } }],
        ];
        for (const [field, change] of cases) {
          await assert.rejects(
            recordAudit(fresh.database, { ...ENTRY, ...change } as AuditEntryInput),
            (error: unknown) =>
              error instanceof DomainError &&
              error.code === 'INVALID_INPUT' &&
              error.field?.startsWith(field) === true,
            `expected ${field} to be refused`,
          );
        }
        await assert.rejects(
          recordAudit(fresh.database, { ...ENTRY, data: deep }),
          (error: unknown) => error instanceof DomainError && error.code === 'INVALID_INPUT',
        );
        assert.deepEqual(await storedRows(fresh.database), []);
        // The limits are limits, not off by one: the largest allowed data is accepted.
        const fits = 'x'.repeat(AUDIT_LIMITS.data_bytes - '{"note":""}'.length);
        const entry = await recordAudit(fresh.database, { ...ENTRY, data: { note: fits } });
        assert.equal(entry.seq, 1);
      } finally {
        await fresh.drop();
      }
    });

    test('the database itself refuses to update or delete audit rows, or to drop an unsealed journal entry', async () => {
      const fresh = await freshDatabase(engine);
      try {
        await appendEntries(fresh.database, new ManualClock(), 3);
        const db = fresh.database.db;
        const pending = await inTransaction(fresh.database, (tx) => appendAudit(tx, ENTRY));
        await assert.rejects(
          sql`delete from audit_journal where id = ${pending.id}`.execute(db),
          /only removed once sealed/,
        );
        await assert.rejects(
          sql`update audit_journal set data = '{}' where id = ${pending.id}`.execute(db),
          /only removed once sealed/,
        );
        if (engine === 'postgres') {
          await assert.rejects(sql`truncate audit_journal`.execute(db), /append-only/);
        }
        assert.equal(await sealAudit(fresh.database), 1);
        await assert.rejects(sql`update audit_log set data = '{}' where seq = 2`.execute(db), /append-only/);
        await assert.rejects(sql`delete from audit_log where seq = 3`.execute(db), /append-only/);
        if (engine === 'postgres') {
          await assert.rejects(sql`truncate audit_log`.execute(db), /append-only/);
        }
        assert.equal((await storedRows(fresh.database)).length, 4);
        assert.equal((await verifyAuditChain(fresh.database)).ok, true);
      } finally {
        await fresh.drop();
      }
    });
  });
}
