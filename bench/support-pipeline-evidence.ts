import { sql } from 'kysely';
import type { ServiceContext } from '../src/services/context.ts';
import { conservationReport } from '../src/store/ledger/index.ts';
import { inTransaction } from '../src/store/transaction.ts';

/*
 * What the pipeline run leaves to look at: whether the books still balance, how many withdrawals the
 * tables hold, and the plans of the two confirm-path reads whose cost grows with that number.
 */

async function plan(context: ServiceContext, query: ReturnType<typeof sql>): Promise<string[]> {
  const { db, engine } = context.database;
  if (engine === 'sqlite') {
    const rows = await sql<{ detail: string }>`explain query plan ${query}`.execute(db);
    return rows.rows.map((row) => row.detail);
  }
  const rows = await sql<{ 'QUERY PLAN': string }>`explain ${query}`.execute(db);
  return rows.rows.map((row) => row['QUERY PLAN']);
}

export async function pipelineEvidence(
  context: ServiceContext,
  destinationId: string,
  roundsPerCustomer: number,
) {
  const report = await inTransaction(context.database, (tx) => conservationReport(tx));
  const counted = await context.database.db
    .selectFrom('withdrawals')
    .select((eb) => eb.fn.countAll<string | number>().as('n'))
    .executeTakeFirstOrThrow();
  const destinationUsedBefore = sql`select "id" from "withdrawals" where "destination_id" = ${destinationId} and "id" <> ${'none'} and "state" in ('queued', 'released', 'broadcast', 'completed') limit 1`;
  return {
    books_balance: report.ok,
    withdrawals_in_table: Number(counted.n),
    destination_used_before_plan: await plan(context, destinationUsedBefore),
    price_reads_in_last_confirm_per_customer: roundsPerCustomer,
  };
}
