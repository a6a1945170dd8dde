import { formatAmount, getAsset } from '../money/index.ts';
import { addUsd, subtractUsd, USD_ZERO, usdValue } from '../money/usd.ts';
import { type AffectedWithdrawalFacts, incidentLosses } from './losses.ts';
import { lossesView, usdView } from './losses-view.ts';
import { withdrawalOutcome } from './outcome.ts';

/**
 * The incident report, built from one snapshot's facts (the service reads them in one read transaction). Pure: the
 * same facts give the same report, byte for byte once rendered (report-render.ts). It states what the 2022 report
 * did not: the net loss after reimbursement, how long detection took, how long withdrawals were halted, and what is
 * still open.
 */

export interface ReportIncident {
  readonly id: string;
  readonly title: string;
  readonly severity: string;
  readonly status: string;
  readonly opened_at: string;
  readonly opened_by: string;
  readonly alert_id: string | null;
  readonly closed_at: string | null;
}

export interface ReportHalt {
  readonly id: string;
  readonly scope: string;
  readonly asset: string | null;
  readonly account_id: string | null;
  readonly reason: string;
  readonly created_by: string;
  readonly created_at: string;
  readonly lifted_at: string | null;
  readonly lifted_by: string | null;
}

export interface ReportAlert {
  readonly id: string;
  readonly kind: string;
  readonly severity: string;
  readonly title: string;
  readonly opened_at: string;
}

export interface ReportAuditEntry {
  readonly id: string;
  readonly at: string;
  readonly actor: string;
  readonly action: string;
  readonly subject: string;
  readonly sealed: boolean;
}

export interface ReportReimbursementAsset {
  readonly asset: string;
  readonly reimbursable: string;
  readonly requested: string;
  readonly paid: string;
  readonly booked_in_ledger: string;
  readonly outstanding: string;
  readonly reconciled: boolean;
}

export interface IncidentReportFacts {
  readonly incident: ReportIncident;
  readonly generatedAt: string;
  readonly affected: readonly (AffectedWithdrawalFacts & { readonly confirmedAt: string })[];
  readonly paidWithdrawalIds: ReadonlySet<string>;
  readonly reimbursement: {
    readonly assets: readonly ReportReimbursementAsset[];
    readonly reconciled: boolean;
    readonly awaitingApproval: number;
  };
  readonly alerts: readonly ReportAlert[];
  readonly halts: readonly ReportHalt[];
  readonly audit: readonly ReportAuditEntry[];
  readonly truncated: { readonly audit: boolean; readonly alerts: boolean; readonly halts: boolean };
  /** An operator actor's email ("operator:<id>" -> email), null when not known; the report names people by it. */
  readonly emailOf?: (actor: string) => string | null;
}

/** The open items list at most this many ids of each kind, and says how many there are. */
const LISTED = 100;

const ms = (iso: string) => Date.parse(iso);

export function buildIncidentReport(facts: IncidentReportFacts) {
  const losses = incidentLosses(facts.affected);
  const counted = facts.affected.filter((f) => f.classification !== 'legitimate');
  const detection = detectionOf(facts);
  const halts = facts.halts.map((h) => ({
    ...h,
    active: h.lifted_at === null,
    duration_ms: (h.lifted_at === null ? ms(facts.generatedAt) : ms(h.lifted_at)) - ms(h.created_at),
  }));
  const platformHalts = halts.filter((h) => h.scope !== 'account');
  const reimbursedUsd = addUsd(
    USD_ZERO,
    ...counted.flatMap((f) =>
      facts.paidWithdrawalIds.has(f.withdrawalId) && f.usdPrice !== null
        ? [usdValue(f.amount + f.fee, getAsset(f.asset), f.usdPrice)]
        : [],
    ),
  );
  const lostUsd = losses.usd.lost;
  const inDoubt = counted.filter((f) => withdrawalOutcome(f.state) === 'in_doubt').map((f) => f.withdrawalId);
  const unreimbursed = facts.reimbursement.assets.filter(
    (a) => a.outstanding !== formatAmount(0n, getAsset(a.asset)),
  );
  // A halt of withdrawals (global or asset) still in force, apart from accounts still frozen: freezes outlive the
  // incident by design, until each customer is dealt with, and must not read as a platform still halted.
  const activeHalts = platformHalts.filter((h) => h.active).map((h) => h.id);
  const accountsFrozen = halts.filter((h) => h.active && h.scope === 'account').length;
  const timeline = timelineOf(facts);
  const actions = actionsOf(facts.audit);
  return {
    format: 'drawbridge-incident-report/v1',
    generated_at: facts.generatedAt,
    incident: facts.incident,
    summary: {
      accounts_affected: losses.accountsAffected,
      withdrawals_counted: losses.counts.all,
      withdrawals_unauthorized: losses.byClassification.unauthorized,
      withdrawals_suspect: losses.byClassification.suspect,
      legitimate_excluded: losses.legitimateExcluded,
      usd_total: usdView(losses.usd.all),
      usd_prevented: usdView(losses.usd.prevented),
      usd_lost: usdView(lostUsd),
      usd_in_doubt: usdView(losses.usd.in_doubt),
      share_prevented_usd_percent: losses.sharePreventedUsd,
      usd_reimbursed: usdView(reimbursedUsd),
      /** What was lost and not (yet) paid back, at the prices of the time: the net loss to customers. */
      usd_lost_not_reimbursed: usdView(subtractUsd(lostUsd, reimbursedUsd)),
      time_to_detect_ms: detection.time_to_detect_ms,
      halt_duration_ms: unionDuration(platformHalts),
      halts_active: activeHalts.length,
      accounts_frozen: accountsFrozen,
      reconciled: facts.reimbursement.reconciled,
      unpriced_withdrawals: losses.unpriced.length,
    },
    detection,
    losses: lossesView(losses),
    reimbursement: { assets: facts.reimbursement.assets, reconciled: facts.reimbursement.reconciled },
    halts,
    timeline,
    actions,
    open_items: {
      in_doubt: { count: inDoubt.length, withdrawal_ids: inDoubt.slice(0, LISTED) },
      unreimbursed: unreimbursed.map((a) => ({ asset: a.asset, outstanding: a.outstanding })),
      active_halts: { count: activeHalts.length, halt_ids: activeHalts.slice(0, LISTED) },
      reimbursements_awaiting_approval: facts.reimbursement.awaitingApproval,
      unpriced: { count: losses.unpriced.length, withdrawal_ids: losses.unpriced.slice(0, LISTED) },
    },
    truncated: facts.truncated,
    operators: operatorsNamed(facts, timeline, actions),
  };
}

/** The email of every operator the report names (actor -> email), for the renderings and anyone reading the JSON. */
function operatorsNamed(
  facts: IncidentReportFacts,
  timeline: readonly { readonly actor: string }[],
  actions: readonly { readonly actor: string }[],
): Record<string, string> {
  const named: Record<string, string> = {};
  if (facts.emailOf === undefined) return named;
  const actors = [
    facts.incident.opened_by,
    ...facts.halts.flatMap((h) => (h.lifted_by === null ? [h.created_by] : [h.created_by, h.lifted_by])),
    ...timeline.map((e) => e.actor),
    ...actions.map((a) => a.actor),
  ];
  for (const actor of [...new Set(actors)].sort()) {
    const email = facts.emailOf(actor);
    if (email !== null) named[actor] = email;
  }
  return named;
}

export type IncidentReport = ReturnType<typeof buildIncidentReport>;

/**
 * From the first unauthorized withdrawal's confirmation to the first sign the platform saw it: the incident's alert
 * (or any alert of it), the first halt of it, or the incident's opening, whichever came first.
 */
function detectionOf(facts: IncidentReportFacts) {
  const firstUnauthorized = facts.affected
    .filter((f) => f.classification === 'unauthorized')
    .map((f) => f.confirmedAt)
    .sort()[0];
  const signs = [
    ...facts.alerts.map((a) => ({ at: a.opened_at, by: `alert ${a.kind} (${a.id})` })),
    ...facts.halts.map((h) => ({ at: h.created_at, by: `${h.scope} halt by ${h.created_by} (${h.id})` })),
    { at: facts.incident.opened_at, by: `incident opened by ${facts.incident.opened_by}` },
  ]
    .filter((s) => firstUnauthorized === undefined || s.at >= firstUnauthorized)
    .sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));
  const first = signs[0];
  return {
    first_unauthorized_confirmed_at: firstUnauthorized ?? null,
    detected_at: first?.at ?? null,
    detected_by: first?.by ?? null,
    time_to_detect_ms:
      firstUnauthorized === undefined || first === undefined ? null : ms(first.at) - ms(firstUnauthorized),
  };
}

/** The time withdrawals stood halted by at least one of `halts` (overlaps counted once). */
function unionDuration(halts: readonly { created_at: string; duration_ms: number }[]): number {
  const spans = halts
    .map((h) => [ms(h.created_at), ms(h.created_at) + h.duration_ms] as const)
    .sort((a, b) => a[0] - b[0]);
  let total = 0;
  let end = Number.NEGATIVE_INFINITY;
  for (const [start, stop] of spans) {
    if (stop <= end) continue;
    total += stop - Math.max(start, end);
    end = stop;
  }
  return total;
}

function timelineOf(facts: IncidentReportFacts) {
  const events: { at: string; kind: string; actor: string; what: string; subject: string }[] = [
    ...facts.alerts.map((a) => ({
      at: a.opened_at,
      kind: 'alert',
      actor: 'monitor',
      what: `${a.severity} alert: ${a.title}`,
      subject: `alert:${a.id}`,
    })),
    ...facts.halts.flatMap((h) => [
      {
        at: h.created_at,
        kind: 'halt',
        actor: h.created_by,
        what: `${h.scope} halt set: ${h.reason}`,
        subject: `halt:${h.id}`,
      },
      ...(h.lifted_at === null
        ? []
        : [
            {
              at: h.lifted_at,
              kind: 'halt_lifted',
              actor: h.lifted_by ?? 'unknown',
              what: `${h.scope} halt lifted`,
              subject: `halt:${h.id}`,
            },
          ]),
    ]),
    ...facts.audit.map((e) => ({
      at: e.at,
      kind: 'action',
      actor: e.actor,
      what: e.action,
      subject: e.subject,
    })),
  ];
  return events.sort((a, b) =>
    a.at !== b.at ? (a.at < b.at ? -1 : 1) : a.subject < b.subject ? -1 : a.subject > b.subject ? 1 : 0,
  );
}

/** Who did what: per actor, how many of each action, actors in order of their first action. */
function actionsOf(audit: readonly ReportAuditEntry[]) {
  const byActor = new Map<string, Map<string, number>>();
  for (const e of [...audit].sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0))) {
    const actions = byActor.get(e.actor) ?? new Map<string, number>();
    actions.set(e.action, (actions.get(e.action) ?? 0) + 1);
    byActor.set(e.actor, actions);
  }
  return [...byActor].map(([actor, actions]) => ({
    actor,
    actions: [...actions].map(([action, count]) => ({ action, count })),
  }));
}
