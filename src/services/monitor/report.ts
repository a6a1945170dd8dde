import type { HaltScope } from '../../core/halts/halt-scope.ts';
import { newId } from '../../core/ids.ts';
import { findAlert, setAlertDetails } from '../../store/alerts.ts';
import { activeHaltOfScope } from '../../store/halts.ts';
import { recordFinding } from '../../store/monitor.ts';
import type { Tx } from '../../store/transaction.ts';
import { raiseAlert } from '../alerts.ts';
import { audit } from '../audit.ts';
import type { ServiceContext } from '../context.ts';
import { placeHalt } from '../halts.ts';

/**
 * How the monitor reports a critical finding, in the transaction that found it: recorded (one row per subject and
 * check), audited as critical, a halt of `scope` unless the monitor's own is in force (never an operator's or an
 * incident's: one operator could lift that alone, or a resume approved without the finding), and a critical alert.
 *
 * Alerts are grouped by check: while `monitor.<check>` is not resolved, a finding on another withdrawal (or
 * ledger, or asset) bumps that one alert's occurrences and joins its sample of subjects (at most ALERT_SAMPLE), so
 * a 483-account incident pages once per kind of finding, not 483 times. Every finding is still recorded, one row
 * per subject, and audited: the sample is for the operator paged, the findings table is the list.
 */
export const ALERT_SAMPLE = 20;
/** The fingerprint of a check's grouped alert: one unresolved alert per kind. */
export const GROUPED = 'grouped';

export interface CriticalFinding {
  readonly check: string;
  /** What it is about: `withdrawal:<id>`, `ledger:<asset>`, `volume:<asset>`, `chain:<txid>`, `audit_log`. */
  readonly subject: string;
  /** The findings table's key for it (a withdrawal's id, or the subject for the system's findings). */
  readonly findingKey: string;
  readonly detail: string;
  readonly scope: HaltScope;
  /** Bounded fields the alert carries about the first finding (the rest are in the findings table). */
  readonly about?: Readonly<Record<string, string>>;
  readonly auditData?: Readonly<Record<string, string>>;
}

export async function reportCriticalFinding(
  tx: Tx,
  services: ServiceContext,
  actor: string,
  finding: CriticalFinding,
): Promise<void> {
  const at = services.clock.now().toISOString();
  await recordFinding(tx, {
    id: newId(),
    withdrawal_id: finding.findingKey,
    check_name: finding.check,
    severity: 'critical',
    detail: finding.detail.slice(0, 500),
    at,
  });
  await audit(tx, services, {
    actor,
    action: 'monitor.finding',
    subject: finding.subject,
    data: { check: finding.check, detail: finding.detail, ...finding.auditData, severity: 'critical' },
  });
  const scope = finding.scope;
  const halt =
    (await activeHaltOfScope(
      tx,
      scope.scope === 'asset' ? { scope: 'asset', asset: scope.asset } : scope,
      actor,
    )) ??
    (await placeHalt(tx, services, {
      by: actor,
      scope,
      reason: `monitor: ${finding.check} on ${finding.subject}: ${finding.detail}`.slice(0, 500),
    }));
  const member = finding.subject.slice(0, 200);
  const raised = await raiseAlert(tx, services, {
    kind: `monitor.${finding.check}`,
    severity: 'critical',
    fingerprint: GROUPED,
    title: `Monitor: ${finding.check}: ${finding.detail}`.slice(0, 200),
    subject: member,
    // Bounded: a row written with a huge field must not make the alert, and so the whole check, fail.
    details: {
      check: finding.check,
      halt_id: halt.id,
      ...finding.about,
      sample: [member],
      sample_max: ALERT_SAMPLE,
    },
  });
  if (!raised.created) await joinSample(tx, raised.id, member, halt.id);
}

/** Adds `member` to a grouped alert's sample, while the sample has room and does not hold it yet. */
async function joinSample(tx: Tx, alertId: string, member: string, haltId: string): Promise<void> {
  const alert = await findAlert(tx, alertId);
  if (alert === undefined) return;
  let details: Record<string, unknown>;
  try {
    details = JSON.parse(alert.details) as Record<string, unknown>;
  } catch {
    details = {};
  }
  const sample = Array.isArray(details.sample) ? (details.sample as unknown[]) : [];
  const halts = Array.isArray(details.other_halt_ids) ? (details.other_halt_ids as unknown[]) : [];
  const newHalt = details.halt_id !== haltId && !halts.includes(haltId) && halts.length < ALERT_SAMPLE;
  const newMember = !sample.includes(member) && sample.length < ALERT_SAMPLE;
  if (!newHalt && !newMember) return;
  await setAlertDetails(
    tx,
    alertId,
    JSON.stringify({
      ...details,
      sample: newMember ? [...sample, member] : sample,
      ...(newHalt ? { other_halt_ids: [...halts, haltId] } : {}),
    }),
  );
}
