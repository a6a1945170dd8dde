import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ManualClock } from '../../core/clock.ts';
import type { IncidentReport } from '../../core/incidents/report.ts';
import { listAlerts } from '../../services/alerts.ts';
import type { ServiceContext } from '../../services/context.ts';
import type { Custody } from '../../services/custody/handover.ts';
import type { OperatorActor } from '../../services/identity/acting-operator.ts';
import { markFromMonitorFindings } from '../../services/incidents/affected.ts';
import { driveContainment, startContainment } from '../../services/incidents/containment.ts';
import { freezeAccounts } from '../../services/incidents/freeze.ts';
import { approveResume, requestResume } from '../../services/incidents/halt-resume.ts';
import { openIncident, setIncidentStatus } from '../../services/incidents/incidents.ts';
import { incidentLosses } from '../../services/incidents/losses.ts';
import {
  approveReimbursement,
  executeReimbursement,
  requestReimbursement,
} from '../../services/incidents/reimbursement.ts';
import { incidentReport, renderedIncidentReport } from '../../services/incidents/report.ts';
import { revokeForIncident } from '../../services/incidents/revoke.ts';
import { fundTreasury } from '../../services/incidents/treasury.ts';
import type { MonitorContext } from '../../services/monitor/check.ts';
import { sealAudit, verifyAuditChain } from '../../store/audit/index.ts';
import { conservationReport, ownerBalances } from '../../store/ledger/index.ts';
import { inReadSnapshot } from '../../store/transaction.ts';
import type { AttackPhaseResult } from './attack-phase.ts';
import { monitorUntilQuiet, releaseAllDue, wasReleased } from './attack-phase.ts';

/**
 * The replay's second phase: the playbook, driven as operators would drive it, through the same services the API and
 * the CLI call, as two real operators (an incident commander and a second commander), each step at a simulated
 * moment a few minutes after the one before. Then the checks the replay must show, and the report written.
 */

/** How long an operator takes over each step, in simulated time (the replay's own assumption, not a measurement). */
const STEP_MS = {
  page: 4 * 60_000,
  open: 3 * 60_000,
  mark: 2 * 60_000,
  freeze: 2 * 60_000,
  contain: 3 * 60_000,
  revoke: 2 * 60_000,
  losses: 10 * 60_000,
  reimburse: 15 * 60_000,
  resume: 20 * 60_000,
};

export interface PlaybookOperators {
  /** Opens the incident, runs it, requests the reimbursement and the resume. */
  readonly commander: OperatorActor;
  /** A second, different operator: approves the reimbursement and the resume. */
  readonly second: OperatorActor;
  /** Funds the treasury (admin only). */
  readonly admin: OperatorActor;
}

export interface Check {
  readonly name: string;
  readonly ok: boolean;
  readonly detail: string;
}

export interface PlaybookPhaseResult {
  readonly incidentId: string;
  readonly report: IncidentReport;
  readonly reimbursement: string;
  readonly checks: readonly Check[];
  readonly files: readonly string[];
}

export async function runPlaybookPhase(
  context: ServiceContext,
  clock: ManualClock,
  monitor: MonitorContext,
  custody: Custody,
  operators: PlaybookOperators,
  attack: AttackPhaseResult,
  outDir: string,
  progress: (step: string, done: number, total: number) => void = () => {},
): Promise<PlaybookPhaseResult> {
  const { commander, second, admin } = operators;
  const step = async <T>(name: string, ms: number, work: () => Promise<T>): Promise<T> => {
    clock.advance(ms);
    const value = await work();
    progress(name, 1, 1);
    return value;
  };

  // The commander is paged by the monitor's critical alert and opens the incident from it.
  const alert = (
    await listAlerts(context, commander, { severity: 'critical', state: 'open', limit: 1 })
  ).alerts.at(-1);
  if (alert === undefined) throw new Error('assertion failed: the monitor raised a critical alert');
  const monitorHaltId = typeof alert.details.halt_id === 'string' ? alert.details.halt_id : null;
  const incident = await step('incident opened', STEP_MS.page + STEP_MS.open, () =>
    openIncident(context, commander, {
      title: 'Withdrawals approved without the customer\u2019s second factor',
      severity: 'critical',
      alert_id: alert.id,
    }),
  );
  await step('forged withdrawals marked from the monitor', STEP_MS.mark, async () => {
    let cursor: string | undefined;
    for (;;) {
      const page = await markFromMonitorFindings(
        context,
        commander,
        incident.id,
        cursor === undefined ? {} : { starting_after: cursor },
      );
      if (!page.has_more || page.cursor === null) return;
      cursor = page.cursor;
    }
  });
  await step('affected accounts frozen', STEP_MS.freeze, () =>
    freezeAccounts(context, commander, incident.id, {
      affected: true,
      reason: 'withdrawals approved without a second factor',
    }),
  );
  clock.advance(STEP_MS.contain);
  const containment = await startContainment(context, commander, incident.id, {
    scope: 'all',
    reason: 'cancel everything in flight until the bypass is understood',
  });
  await driveContainment(context, commander, containment.id, {
    onProgress: (view) =>
      progress(
        'in flight cancelled',
        view.cancelled,
        view.status === 'done' ? view.cancelled : view.cancelled + 1,
      ),
  });
  await step('all sessions and second factors revoked', STEP_MS.revoke, () =>
    revokeForIncident(context, commander, incident.id, { sessions: true, mfa: true }),
  );
  await setIncidentStatus(context, commander, incident.id, {
    status: 'contained',
    note: 'halted, frozen, contained, revoked',
  });

  const losses = await step('losses counted', STEP_MS.losses, () =>
    incidentLosses(context, commander, incident.id),
  );
  const lostAssets = losses.assets.filter((a) => a.reimbursable.count > 0);
  let reimbursement: string;
  if (lostAssets.length === 0) {
    reimbursement = `nothing to reimburse: ${losses.counts.all} unauthorized withdrawals, none released, so none lost (no treasury funding needed)`;
    progress('reimbursement: nothing lost', 1, 1);
  } else {
    clock.advance(STEP_MS.reimburse);
    for (const a of lostAssets)
      await fundTreasury(context, admin, {
        asset: a.asset,
        amount: a.reimbursable.total,
        reason: `reimbursement of incident ${incident.id}`,
      });
    const request = await requestReimbursement(context, commander, incident.id, {
      reason: 'customers drained without their second factor',
    });
    await approveReimbursement(context, second, incident.id, request.id);
    for (;;) {
      const paid = await executeReimbursement(context, second, incident.id, request.id, { batch_size: 200 });
      progress('reimbursed', paid.paid, paid.total);
      if (paid.remaining === 0) break;
    }
    reimbursement = `${request.withdrawals} withdrawals reimbursed: ${request.totals.map((t) => `${t.total} ${t.asset}`).join(', ')}`;
  }

  // The resume: the commander asks for the monitor's halt to be lifted, the second commander agrees.
  clock.advance(STEP_MS.resume);
  const resume = await requestResume(context, commander, incident.id, {
    reason: 'contained: forged withdrawals cancelled, accounts frozen, every second factor revoked',
    ...(monitorHaltId === null ? {} : { halt_ids: [monitorHaltId] }),
  });
  await approveResume(context, second, incident.id, resume.id);
  progress('resumed by two operators', 1, 1);
  // Withdrawals flow again: the workers take one more step each.
  await monitorUntilQuiet(monitor);
  await releaseAllDue(context, custody);
  await setIncidentStatus(context, commander, incident.id, {
    status: 'resolved',
    note: 'withdrawals resumed; affected accounts stay frozen until their owners re-enrol',
  });

  await sealAudit(context.database, () => clock.now());
  const report = await incidentReport(context, commander, incident.id);
  const files: string[] = [];
  for (const format of ['json', 'md', 'html'] as const) {
    const rendered = await renderedIncidentReport(context, commander, incident.id, format);
    const file = join(outDir, `incident-report.${format}`);
    writeFileSync(
      file,
      typeof rendered.body === 'string' ? rendered.body : `${JSON.stringify(rendered.body, null, 2)}\n`,
    );
    files.push(file);
  }
  const checks = await finalChecks(context, attack, report, files.length);
  return { incidentId: incident.id, report, reimbursement, checks, files };
}

async function finalChecks(
  context: ServiceContext,
  attack: AttackPhaseResult,
  report: IncidentReport,
  written: number,
): Promise<Check[]> {
  const detection = attack.detectionMs;
  let released = 0;
  for (const f of attack.forged) if (await wasReleased(context, f.id)) released += 1;
  // Whole: every account the attacker held has exactly what it deposited (no hold left, nothing lost unpaid).
  const short: string[] = [];
  for (const victim of attack.victims) {
    const balances = await ownerBalances(context.database, victim.id, 'customer', 10);
    for (const [asset, units] of Object.entries(victim.holdings)) {
      const balance = balances.find((b) => b.asset === asset);
      if (balance === undefined || balance.available !== units || balance.pendingDebits !== 0n)
        short.push(`${victim.id} ${asset}`);
    }
  }
  const conservation = await inReadSnapshot(context.database, (tx) => conservationReport(tx));
  const chain = await verifyAuditChain(context.database);
  return [
    {
      name: 'detection within 1 s (simulated) of the first forged approval',
      ok: detection !== null && detection <= 1000,
      detail: detection === null ? 'not detected' : `${detection} ms`,
    },
    {
      name: 'no forged withdrawal released',
      ok: released === 0,
      detail: `${released} of ${attack.forged.length} released`,
    },
    {
      name: 'every customer whole',
      ok: short.length === 0 && report.summary.usd_lost_not_reimbursed.usd === '0.00',
      detail:
        short.length === 0
          ? `${attack.victims.length} affected accounts hold what they deposited; net loss USD ${report.summary.usd_lost_not_reimbursed.usd}`
          : `${short.length} balances short, e.g. ${short.slice(0, 3).join('; ')}`,
    },
    {
      name: 'ledger conservation ok',
      ok: conservation.ok,
      detail: `${conservation.accounts} accounts, ${conservation.transfers} transfers, ${conservation.discrepancyCount} discrepancies`,
    },
    {
      name: 'audit chain valid',
      ok: chain.ok,
      detail: chain.ok
        ? `${chain.entries} entries`
        : `broken at seq ${chain.first_broken.seq}: ${chain.first_broken.reason}`,
    },
    { name: 'report written (md, json, html)', ok: written === 3, detail: `${written} files` },
  ];
}
