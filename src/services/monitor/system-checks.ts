import { GENESIS_PREV_HASH } from '../../core/audit-hash.ts';
import { newId } from '../../core/ids.ts';
import { type AuditHead, verifyAuditChainFrom } from '../../store/audit/index.ts';
import { activeHaltOfScope } from '../../store/halts.ts';
import { recordFinding } from '../../store/monitor.ts';
import { inTransaction } from '../../store/transaction.ts';
import { raiseAlert } from '../alerts.ts';
import { audit } from '../audit.ts';
import { placeHalt } from '../halts.ts';
import { MONITOR_ACTOR, type MonitorContext } from './check.ts';

/** Audit entries the monitor verifies per sweep; the rest wait for the next (a long chain is walked in steps). */
export const AUDIT_ENTRIES_PER_SWEEP = 5000;

/**
 * The last audit entry this monitor process verified, kept in its memory, never in the database: a checkpoint a
 * writer could move would let them skip what they changed. A new process starts from the genesis.
 */
const verifiedHeads = new WeakMap<MonitorContext, AuditHead | 'broken'>();

/**
 * The audit chain from the last entry this monitor verified, at most AUDIT_ENTRIES_PER_SWEEP further. A broken
 * link is a critical finding (once per process): recorded, audited, a global halt, a critical alert.
 */
export async function checkAuditChain(monitor: MonitorContext): Promise<'ok' | 'broken'> {
  const from = verifiedHeads.get(monitor) ?? { seq: 0, hash: GENESIS_PREV_HASH };
  if (from === 'broken') return 'broken';
  const result = await verifyAuditChainFrom(monitor.services.database, from, AUDIT_ENTRIES_PER_SWEEP);
  if (result.ok) {
    verifiedHeads.set(monitor, result.head);
    return 'ok';
  }
  verifiedHeads.set(monitor, 'broken');
  const { seq, id, reason } = result.first_broken;
  await reportSystemFinding(monitor, {
    check: 'audit_chain',
    subject: 'audit_log',
    detail: `the audit chain is broken at entry ${seq} (${id}): ${reason}`,
  });
  return 'broken';
}

/** A finding about the system, not one withdrawal: recorded, audited as critical, a global halt, an alert. */
async function reportSystemFinding(
  monitor: MonitorContext,
  finding: { check: string; subject: string; detail: string },
): Promise<void> {
  const { services } = monitor;
  await inTransaction(services.database, async (tx) => {
    const at = services.clock.now().toISOString();
    await recordFinding(tx, {
      id: newId(),
      withdrawal_id: finding.subject,
      check_name: finding.check,
      severity: 'critical',
      detail: finding.detail.slice(0, 500),
      at,
    });
    await audit(tx, services, {
      actor: MONITOR_ACTOR,
      action: 'monitor.finding',
      subject: finding.subject,
      data: { check: finding.check, detail: finding.detail, severity: 'critical' },
    });
    const halt =
      (await activeHaltOfScope(tx, { scope: 'global' })) ??
      (await placeHalt(tx, services, {
        by: MONITOR_ACTOR,
        scope: { scope: 'global' },
        reason: `monitor: ${finding.check}: ${finding.detail}`.slice(0, 500),
      }));
    await raiseAlert(tx, services, {
      kind: `monitor.${finding.check}`,
      severity: 'critical',
      fingerprint: finding.subject,
      title: `Monitor: ${finding.detail}`.slice(0, 200),
      subject: finding.subject,
      details: { check: finding.check, halt_id: halt.id },
    });
  });
}
