import { type Migration, type MigrationProvider, Migrator, sql } from 'kysely';
import type { Database } from './database.ts';
import * as ledger from './migrations/0001-ledger.ts';
import * as audit from './migrations/0002-audit.ts';
import * as prices from './migrations/0003-prices.ts';
import * as idempotency from './migrations/0004-idempotency.ts';
import * as outbox from './migrations/0005-outbox.ts';
import * as identity from './migrations/0006-identity.ts';
import * as addressBook from './migrations/0008-address-book.ts';
import * as withdrawals from './migrations/0009-withdrawals.ts';
import * as webhooks from './migrations/0010-webhooks.ts';
import * as custodyCallbacks from './migrations/0011-custody-callbacks.ts';
import * as auditJournal from './migrations/0012-audit-journal.ts';
import * as withdrawalsByDestination from './migrations/0013-withdrawals-by-destination.ts';
import * as custodyAccepted from './migrations/0014-custody-accepted.ts';
import * as activeHalts from './migrations/0015-active-halts.ts';
import * as withdrawalMoveId from './migrations/0016-withdrawal-move-id.ts';
import * as withdrawalReleasedAt from './migrations/0017-withdrawal-released-at.ts';
import * as withdrawalEventRelay from './migrations/0018-withdrawal-event-relay.ts';
import * as withdrawalExpired from './migrations/0019-withdrawal-expired.ts';
import * as auditSearch from './migrations/0020-audit-search.ts';
import * as totpStepClaimant from './migrations/0021-totp-step-claimant.ts';
import * as withdrawalValuation from './migrations/0022-withdrawal-valuation.ts';
import * as totpClaims from './migrations/0023-totp-claims.ts';
import * as monitor from './migrations/0024-monitor.ts';
import * as reviewApprovals from './migrations/0025-review-approvals.ts';
import * as alerts from './migrations/0026-alerts.ts';
import * as cases from './migrations/0027-cases.ts';
import * as ruleSets from './migrations/0028-rule-sets.ts';
import * as withdrawalFanIn from './migrations/0029-withdrawal-fan-in.ts';
import * as monitorHardening from './migrations/0035-monitor-hardening.ts';
import * as ruleSetRevision from './migrations/0036-rule-set-revision.ts';
import * as incidents from './migrations/0040-incidents.ts';
import * as monitorLedgerChain from './migrations/0041-monitor-ledger-chain.ts';
import * as incidentPlaybook from './migrations/0045-incident-playbook.ts';
import * as incidentReimbursements from './migrations/0050-incident-reimbursements.ts';
import * as monitorJournal from './migrations/0051-monitor-journal.ts';
import * as epochsForward from './migrations/0055-epochs-forward.ts';
import * as auditJournalSubject from './migrations/0056-audit-journal-subject.ts';
import * as withdrawalsAccountDay from './migrations/0057-withdrawals-account-day.ts';
import * as ruleSetSecondOperator from './migrations/0059-rule-set-second-operator.ts';
import * as depositSecondOperator from './migrations/0060-deposit-second-operator.ts';

/**
 * One ordered list of migrations for both engines. A migration that needs engine-specific SQL
 * receives the engine; everything else is written once with Kysely's schema builder.
 */
const MIGRATIONS = [
  ['0001-ledger', ledger],
  ['0002-audit', audit],
  ['0003-prices', prices],
  ['0004-idempotency', idempotency],
  ['0005-outbox', outbox],
  ['0006-identity', identity],
  ['0008-address-book', addressBook],
  ['0009-withdrawals', withdrawals],
  ['0010-webhooks', webhooks],
  ['0011-custody-callbacks', custodyCallbacks],
  ['0012-audit-journal', auditJournal],
  ['0013-withdrawals-by-destination', withdrawalsByDestination],
  ['0014-custody-accepted', custodyAccepted],
  ['0015-active-halts', activeHalts],
  ['0016-withdrawal-move-id', withdrawalMoveId],
  ['0017-withdrawal-released-at', withdrawalReleasedAt],
  ['0018-withdrawal-event-relay', withdrawalEventRelay],
  ['0019-withdrawal-expired', withdrawalExpired],
  ['0020-audit-search', auditSearch],
  ['0021-totp-step-claimant', totpStepClaimant],
  ['0022-withdrawal-valuation', withdrawalValuation],
  ['0023-totp-claims', totpClaims],
  ['0024-monitor', monitor],
  ['0025-review-approvals', reviewApprovals],
  ['0026-alerts', alerts],
  ['0027-cases', cases],
  ['0028-rule-sets', ruleSets],
  ['0029-withdrawal-fan-in', withdrawalFanIn],
  ['0035-monitor-hardening', monitorHardening],
  ['0036-rule-set-revision', ruleSetRevision],
  ['0040-incidents', incidents],
  ['0041-monitor-ledger-chain', monitorLedgerChain],
  ['0045-incident-playbook', incidentPlaybook],
  ['0050-incident-reimbursements', incidentReimbursements],
  ['0051-monitor-journal', monitorJournal],
  ['0055-epochs-forward', epochsForward],
  ['0056-audit-journal-subject', auditJournalSubject],
  ['0057-withdrawals-account-day', withdrawalsAccountDay],
  ['0059-rule-set-second-operator', ruleSetSecondOperator],
  ['0060-deposit-second-operator', depositSecondOperator],
] as const;

function provider(database: Database): MigrationProvider {
  return {
    async getMigrations() {
      const migrations: Record<string, Migration> = {};
      for (const [name, module] of MIGRATIONS) {
        migrations[name] = { up: (db) => module.up(db, database.engine) };
      }
      return migrations;
    },
  };
}

export interface MigrationReport {
  readonly applied: readonly string[];
}

const CATALOG_RACE_CODES = new Set(['3F000', '42P01', '42703']);

/** Brings the schema up to date. Safe to run from several nodes at once (Kysely takes a lock). */
export async function migrateToLatest(database: Database): Promise<MigrationReport> {
  return migrateWithRetries(database, undefined);
}

/** Applies the migrations up to and including `name` only: for tests of a later migration on an older schema. */
export async function migrateUpTo(database: Database, name: MigrationName): Promise<MigrationReport> {
  return migrateWithRetries(database, name);
}

export type MigrationName = (typeof MIGRATIONS)[number][0];

async function migrateWithRetries(
  database: Database,
  upTo: MigrationName | undefined,
): Promise<MigrationReport> {
  // Kysely's migrator lists tables and their columns across every schema; a schema dropped at that moment
  // elsewhere on the same PostgreSQL database (tests, tenants) makes it fail with 3F000, 42P01 or (a column of a
  // table being dropped, met by pg_get_serial_sequence) 42703. Nothing was applied then: try again.
  for (let attempt = 1; ; attempt++) {
    try {
      return await migrateOnce(database, upTo);
    } catch (error) {
      const code = (error as { code?: string }).code;
      if (attempt >= 5 || !CATALOG_RACE_CODES.has(code ?? '')) throw error;
      await new Promise((resolve) => setTimeout(resolve, 50 * attempt));
    }
  }
}

async function migrateOnce(database: Database, upTo: MigrationName | undefined): Promise<MigrationReport> {
  // Kysely looks for its own tables in every schema; pinning it to ours keeps several schemas on one PostgreSQL
  // database (tests, tenants) from seeing each other's migration state.
  const schema =
    database.engine === 'postgres'
      ? (await sql<{ s: string }>`select current_schema() as s`.execute(database.db)).rows[0]?.s
      : undefined;
  const migrator = new Migrator({
    db: database.db,
    provider: provider(database),
    ...(schema === undefined ? {} : { migrationTableSchema: schema }),
  });
  const { error, results } = await (upTo === undefined
    ? migrator.migrateToLatest()
    : migrator.migrateTo(upTo));
  if (error !== undefined) throw error;
  return { applied: (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName) };
}
