import { sql } from 'kysely';
import { alertCounts } from './alerts.ts';
import type { Database } from './database.ts';
import { containmentProgress } from './incident-containment.ts';
import { incidentCounts } from './incidents.ts';
import { newestPriceTimes, systemFeedBacklogs } from './monitor-feeds.ts';

export interface DomainGauges {
  /** Withdrawals in each state that is not final, and the age in seconds of the oldest in it. */
  readonly withdrawals: readonly { state: string; count: number; oldestAgeSeconds: number }[];
  readonly outbox: readonly { channel: string; status: string; count: number }[];
  /** Journal entries not yet chained, and how long the oldest has waited (the sealer's lag). */
  readonly unsealed: { count: number; oldestAgeSeconds: number };
  readonly activeHalts: number;
  /** Incidents not closed, by status and severity. */
  readonly openIncidents: readonly { status: string; severity: string; count: number }[];
  /** Containments still running (a crashed one shows here until resumed) and what they cancelled so far. */
  readonly containments: { running: number; cancelled: number };
  /** Incident reimbursements not paid yet, by their request's status (requested: awaiting a second operator). */
  readonly unpaidReimbursements: readonly { status: string; count: number }[];
  /** Deposits entered by hand and not yet approved by a second operator, and the age of the oldest. */
  readonly depositsAwaitingApproval: { count: number; oldestAgeSeconds: number };
  /** Alerts not resolved, by state (open, acknowledged), severity and kind. */
  readonly openAlerts: readonly { state: string; severity: string; kind: string; count: number }[];
  /** Every alert ever raised (a deduplicated raise bumps an alert, it is not a new one), by severity and kind. */
  readonly alertsRaised: readonly { severity: string; kind: string; count: number }[];
  /**
   * The independent monitor's feed: entries not yet checked, and how long the oldest has waited by the wall clock
   * (the database's trigger stamps it), which is the monitor's lag. Its findings so far, by check.
   */
  readonly monitor: {
    readonly backlog: number;
    readonly lagSeconds: number;
    readonly findings: readonly { check: string; count: number }[];
    /** The ledger and chain feeds (migration 0041): entries not yet accounted for, and the oldest one's age. */
    readonly systemFeeds: readonly { feed: 'ledger' | 'chain'; count: number; lagSeconds: number }[];
  };
  /** The newest price point's age per asset: past the staleness limit, that asset's withdrawals are held. */
  readonly priceAges: readonly { asset: string; ageSeconds: number }[];
}

const OPEN_STATES = [
  'awaiting_confirmation',
  'held_for_review',
  'time_locked',
  'queued',
  'released',
  'broadcast',
  'errored',
];

/**
 * What operators watch, read at scrape time: a few grouped counts over indexed columns. Final states (completed,
 * cancelled, rejected, expired) and delivered messages are not counted: they only grow.
 */
export async function readDomainGauges(database: Database, now: Date): Promise<DomainGauges> {
  const db = database.db;
  const at = now.getTime();
  const age = (oldest: string | null) =>
    oldest === null ? 0 : Math.max(0, (at - Date.parse(oldest)) / 1000);
  const withdrawals = await db
    .selectFrom('withdrawals')
    .select([
      'state',
      sql<string | number>`count(*)`.as('n'),
      sql<string | null>`min(updated_at)`.as('oldest'),
    ])
    .where('state', 'in', OPEN_STATES as never)
    .groupBy('state')
    .execute();
  const outbox = await db
    .selectFrom('outbox')
    .select(['channel', 'status', sql<string | number>`count(*)`.as('n')])
    .where('status', 'in', ['pending', 'failed', 'held'])
    .groupBy(['channel', 'status'])
    .execute();
  const unsealed = await db
    .selectFrom('audit_journal')
    .select([sql<string | number>`count(*)`.as('n'), sql<string | null>`min(at)`.as('oldest')])
    .executeTakeFirstOrThrow();
  const halts = await db
    .selectFrom('halts')
    .select(sql<string | number>`count(*)`.as('n'))
    .where('lifted_at', 'is', null)
    .executeTakeFirstOrThrow();
  const alerts = await alertCounts(database);
  const feed = await db
    .selectFrom('monitor_feed')
    .select([sql<string | number>`count(*)`.as('n'), sql<string | null>`min(at)`.as('oldest')])
    .executeTakeFirstOrThrow();
  const findings = await db
    .selectFrom('monitor_findings')
    .select(['check_name', sql<string | number>`count(*)`.as('n')])
    .groupBy('check_name')
    .execute();
  const systemFeeds = await systemFeedBacklogs(database);
  const prices = await newestPriceTimes(database);
  const unpaid = await db
    .selectFrom('incident_reimbursement_items as i')
    .innerJoin('incident_reimbursements as r', 'r.id', 'i.reimbursement_id')
    .select(['r.status', sql<string | number>`count(*)`.as('n')])
    .where('i.paid_at', 'is', null)
    .groupBy('r.status')
    .execute();
  const deposits = await db
    .selectFrom('deposit_requests')
    .select([sql<string | number>`count(*)`.as('n'), sql<string | null>`min(recorded_at)`.as('oldest')])
    .where('approved_by', 'is', null)
    .where('rejected_at', 'is', null)
    .executeTakeFirstOrThrow();
  const wall = Date.now();
  const wallAge = (oldest: string | null) =>
    oldest === null ? 0 : Math.max(0, (wall - Date.parse(oldest)) / 1000);
  return {
    monitor: {
      backlog: Number(feed.n),
      lagSeconds: wallAge(feed.oldest),
      findings: findings.map((row) => ({ check: row.check_name, count: Number(row.n) })),
      systemFeeds: (['ledger', 'chain'] as const).map((name) => ({
        feed: name,
        count: systemFeeds[name].count,
        lagSeconds: wallAge(systemFeeds[name].oldestAt),
      })),
    },
    // Prices are stamped by the injected clock (their source's time), so their age is measured on it.
    priceAges: [...prices].map(([asset, at]) => ({ asset, ageSeconds: age(at) })),
    openAlerts: alerts.unresolved,
    alertsRaised: alerts.raised,
    withdrawals: withdrawals.map((row) => ({
      state: row.state,
      count: Number(row.n),
      oldestAgeSeconds: age(row.oldest),
    })),
    outbox: outbox.map((row) => ({ channel: row.channel, status: row.status, count: Number(row.n) })),
    unsealed: { count: Number(unsealed.n), oldestAgeSeconds: age(unsealed.oldest) },
    activeHalts: Number(halts.n),
    openIncidents: await incidentCounts(db),
    containments: await containmentProgress(db),
    unpaidReimbursements: unpaid.map((row) => ({ status: row.status, count: Number(row.n) })),
    depositsAwaitingApproval: { count: Number(deposits.n), oldestAgeSeconds: age(deposits.oldest) },
  };
}
