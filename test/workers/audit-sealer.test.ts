import assert from 'node:assert/strict';
import { test } from 'node:test';
import { appendAudit, unsealedCount, verifyAuditChain } from '../../src/store/audit/index.ts';
import { inTransaction } from '../../src/store/transaction.ts';
import { startAuditSealer } from '../../src/workers/audit-sealer.ts';
import { eachEngine } from '../support/each-engine.ts';
import { freshDatabase } from '../support/engines.ts';

for (const { engine, describeOn } of await eachEngine()) {
  describeOn(`the audit sealer on ${engine}`, () => {
    test('entries appended while two sealers run (two nodes) all reach the chain once, gapless', async () => {
      const fresh = await freshDatabase(engine, { poolSize: 6 });
      const errors: unknown[] = [];
      const sealers = [1, 2].map(() =>
        startAuditSealer(fresh.database, { interval_ms: 5, onError: (error) => errors.push(error) }),
      );
      try {
        await Promise.all(
          Array.from({ length: 60 }, (_, i) =>
            inTransaction(fresh.database, (tx) =>
              appendAudit(tx, {
                at: new Date(Date.UTC(2026, 0, 1, 0, 0, i)),
                actor: `customer:c${i % 4}`,
                action: 'withdrawal.requested',
                subject: `withdrawal:w${i}`,
                data: { i },
              }),
            ),
          ),
        );
        const deadline = Date.now() + 10_000;
        while ((await unsealedCount(fresh.database)) > 0) {
          assert.ok(Date.now() < deadline, 'the sealers left entries in the journal');
          await new Promise((resolve) => setTimeout(resolve, 10));
        }
        assert.deepEqual(errors, []);
        const report = await verifyAuditChain(fresh.database);
        assert.deepEqual(report.ok && report.entries, 60);
        const subjects = await fresh.database.db.selectFrom('audit_log').select('subject').execute();
        assert.equal(new Set(subjects.map((row) => row.subject)).size, 60, 'each entry sealed exactly once');
      } finally {
        for (const sealer of sealers) await sealer.stop();
        await fresh.drop();
      }
    });
  });
}
