import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sql } from 'kysely';
import { customerWithTotp, principalIdOf } from '../support/customers.ts';
import { eachEngine } from '../support/each-engine.ts';

// A writer of rows cannot undo a revocation by epoch (migration 0055): the counters only go up, a factor keeps the
// epochs it was enrolled under, and neither a factor nor a principal row can be deleted or replaced to start over.
const REFUSED = /epochs only go up/;

for (const { engine, describeOn } of await eachEngine()) {
  describeOn(`revocation epochs cannot be put back, on ${engine}`, (on) => {
    const running = on.app();
    let customers = 0;

    async function customerFactor() {
      customers += 1;
      const email = `epochs${customers}@example.com`;
      await customerWithTotp(running, email);
      const principalId = await principalIdOf(running, email);
      const factor = await running.context.database.db
        .selectFrom('mfa_factors')
        .select(['id', 'global_epoch', 'method_epoch', 'principal_epoch'])
        .where('principal_id', '=', principalId)
        .where('method', '=', 'totp')
        .executeTakeFirstOrThrow();
      return { principalId, factor };
    }

    test('the global counters only go up; the row is never deleted', async () => {
      const { db } = running.context.database;
      await db
        .updateTable('security_epochs')
        .set({ mfa_epoch: sql`mfa_epoch + 1` })
        .where('id', '=', 1)
        .execute();
      await assert.rejects(
        db.updateTable('security_epochs').set({ mfa_epoch: 0 }).where('id', '=', 1).execute(),
        REFUSED,
      );
      await assert.rejects(
        db.updateTable('security_epochs').set({ session_epoch: -1 }).where('id', '=', 1).execute(),
        REFUSED,
      );
      await assert.rejects(db.deleteFrom('security_epochs').execute(), REFUSED);
      if (engine === 'sqlite') {
        // A text or a blob compares above every integer on SQLite: refused by its type.
        await assert.rejects(
          sql`update security_epochs set totp_epoch = 'x' where id = 1`.execute(db),
          REFUSED,
        );
        await assert.rejects(
          sql`insert or replace into security_epochs (id, session_epoch, mfa_epoch, totp_epoch, passkey_epoch, recovery_epoch)
              values (1, 0, 0, 0, 0, 0)`.execute(db),
          REFUSED,
        );
      } else {
        await assert.rejects(sql`truncate security_epochs cascade`.execute(db), REFUSED);
      }
    });

    test("a customer's own counters only go up, and the customer's row stays", async () => {
      const { db } = running.context.database;
      const { principalId } = await customerFactor();
      await db
        .updateTable('principals')
        .set({ mfa_epoch: sql`mfa_epoch + 1` })
        .where('id', '=', principalId)
        .execute();
      await assert.rejects(
        db.updateTable('principals').set({ mfa_epoch: 0 }).where('id', '=', principalId).execute(),
        REFUSED,
      );
      await assert.rejects(db.deleteFrom('principals').where('id', '=', principalId).execute(), REFUSED);
      // Other columns change as before.
      await db.updateTable('principals').set({ mfa_failures: 0 }).where('id', '=', principalId).execute();
    });

    test('a factor keeps the epochs it was enrolled under, and is never deleted or replaced', async () => {
      const { db } = running.context.database;
      const { factor } = await customerFactor();
      for (const column of ['global_epoch', 'method_epoch', 'principal_epoch'] as const) {
        await assert.rejects(
          db
            .updateTable('mfa_factors')
            .set({ [column]: sql`${sql.ref(column)} + 1` })
            .where('id', '=', factor.id)
            .execute(),
          REFUSED,
          column,
        );
      }
      await assert.rejects(db.deleteFrom('mfa_factors').where('id', '=', factor.id).execute(), REFUSED);
      // Activation stamps the current epochs on a pending factor: an active one never becomes pending again, so it
      // cannot be activated a second time under the epochs of now.
      await assert.rejects(
        db.updateTable('mfa_factors').set({ status: 'pending' }).where('id', '=', factor.id).execute(),
        REFUSED,
      );
      await assert.rejects(
        db
          .updateTable('mfa_factors')
          .set({ status: 'active', global_epoch: sql`global_epoch + 1` })
          .where('id', '=', factor.id)
          .execute(),
        REFUSED,
      );
      if (engine === 'sqlite') {
        const row = await sql<
          Record<string, unknown>
        >`select * from mfa_factors where id = ${factor.id}`.execute(db);
        const columns = Object.keys(row.rows[0] ?? {});
        const values = columns.map((c) => (c === 'global_epoch' ? 99 : row.rows[0]?.[c]));
        await assert.rejects(
          sql`insert or replace into mfa_factors (${sql.join(columns.map((c) => sql.ref(c)))})
              values (${sql.join(values)})`.execute(db),
          REFUSED,
        );
      }
      // Its other columns still change (a label, its status on removal).
      await db.updateTable('mfa_factors').set({ label: 'renamed' }).where('id', '=', factor.id).execute();
      const after = await db
        .selectFrom('mfa_factors')
        .select(['global_epoch', 'method_epoch', 'principal_epoch', 'label'])
        .where('id', '=', factor.id)
        .executeTakeFirstOrThrow();
      assert.deepEqual(after, {
        global_epoch: factor.global_epoch,
        method_epoch: factor.method_epoch,
        principal_epoch: factor.principal_epoch,
        label: 'renamed',
      });
    });
  });
}
