import { sql } from 'kysely';
import type { AnyDb, MigrationEngine } from './column-types.ts';

/**
 * The monitor's per-withdrawal journal read (src/store/monitor-journal.ts): every transfer of the withdrawing
 * account, and for each credit the evidence behind it, in one statement. The transfers come by the ledger's own
 * debit and credit indexes (0001); the evidence is joined by the transfer's id, so these two indexes make each
 * join a lookup, not a scan: a credited deposit (its chain output) and a paid reimbursement item (its approved
 * request). Partial on the item, whose transfer_id is null until paid.
 */
export async function up(db: AnyDb, _engine: MigrationEngine): Promise<void> {
  await db.schema.createIndex('deposits_by_transfer').on('deposits').column('transfer_id').execute();
  await db.schema
    .createIndex('incident_reimbursement_items_by_transfer')
    .on('incident_reimbursement_items')
    .column('transfer_id')
    .where(sql.ref('transfer_id'), 'is not', null)
    .execute();
}
