import type { Command } from 'commander';
import { printJson, withOperator } from '../context.ts';
import { terminal } from '../terminal.ts';

/**
 * `drawbridge incident losses|reimburse|report|treasury`: the money side of the incident playbook, the same services
 * as /v1/operator/incidents/{id}/losses|reimbursements|report and /v1/operator/treasury, run as the authenticated
 * operator (the services check the role; a reimbursement needs a second operator to approve).
 */
export function registerIncidentMoney(incident: Command): void {
  incident
    .command('losses')
    .description("an incident's losses: prevented, lost and in doubt, per asset and in USD")
    .argument('<id>', 'the incident id')
    .action(async (id: string) => {
      const { incidentLosses } = await import('../../services/incidents/losses.ts');
      printJson(
        await withOperator('incident losses', (context, actor) => incidentLosses(context, actor, id), {
          read: true,
        }),
      );
    });

  const reimburse = incident
    .command('reimburse')
    .description('pay back unauthorized losses: request, approve (a second operator), pay, status');
  reimburse
    .command('request')
    .description('request reimbursement of the unauthorized withdrawals that completed (each amount + fee)')
    .argument('<id>', 'the incident id')
    .requiredOption('--reason <text>', 'why (3..500 characters)')
    .option('--withdrawal <id...>', 'only these withdrawals (default: every eligible one)')
    .action(async (id: string, o: { reason: string; withdrawal?: string[] }) => {
      const { requestReimbursement } = await import('../../services/incidents/reimbursement.ts');
      printJson(
        await withOperator('incident reimburse request', (context, actor) =>
          requestReimbursement(context, actor, id, {
            reason: o.reason,
            ...(o.withdrawal === undefined ? {} : { withdrawal_ids: o.withdrawal }),
          }),
        ),
      );
    });
  reimburse
    .command('approve')
    .description("approve another operator's reimbursement request (never your own)")
    .argument('<id>', 'the incident id')
    .argument('<reimbursement>', 'the reimbursement request id')
    .action(async (id: string, reimbursementId: string) => {
      const { approveReimbursement } = await import('../../services/incidents/reimbursement.ts');
      printJson(
        await withOperator('incident reimburse approve', (context, actor) =>
          approveReimbursement(context, actor, id, reimbursementId),
        ),
      );
    });
  reimburse
    .command('pay')
    .description('pay an approved request in batches until done (progress on stderr)')
    .argument('<id>', 'the incident id')
    .argument('<reimbursement>', 'the reimbursement request id')
    .option('--batch <n>', 'withdrawals per batch (1-500)', '100')
    .action(async (id: string, reimbursementId: string, o: { batch: string }) => {
      const { executeReimbursement, MAX_REQUEST_ITEMS } = await import(
        '../../services/incidents/reimbursement.ts'
      );
      printJson(
        await withOperator('incident reimburse pay', async (context, actor) => {
          // Bounded: a request holds at most MAX_REQUEST_ITEMS withdrawals and every batch pays at least one.
          for (let round = 0; round <= MAX_REQUEST_ITEMS; round += 1) {
            const progress = await executeReimbursement(context, actor, id, reimbursementId, {
              batch_size: o.batch,
            });
            terminal().err(`paid ${progress.paid}/${progress.total}\n`);
            if (progress.remaining === 0 || progress.paid_now === 0) return progress;
          }
          throw new Error('reimbursement did not finish within its bound');
        }),
      );
    });
  reimburse
    .command('status')
    .description("an incident's reimbursement requests and their reconciliation against the losses")
    .argument('<id>', 'the incident id')
    .action(async (id: string) => {
      const { reimbursementStatus } = await import('../../services/incidents/reimbursement.ts');
      printJson(
        await withOperator(
          'incident reimburse status',
          (context, actor) => reimbursementStatus(context, actor, id),
          {
            read: true,
          },
        ),
      );
    });

  incident
    .command('report')
    .description('the incident report, from one consistent snapshot')
    .argument('<id>', 'the incident id')
    .option('--format <format>', 'json, md or html', 'md')
    .action(async (id: string, o: { format: string }) => {
      const { renderedIncidentReport } = await import('../../services/incidents/report.ts');
      const rendered = await withOperator(
        'incident report',
        (context, actor) => renderedIncidentReport(context, actor, id, o.format),
        { read: true },
      );
      if (typeof rendered.body === 'string') terminal().out(rendered.body);
      else printJson(rendered.body);
    });

  const treasury = incident
    .command('treasury')
    .description('the platform treasury reimbursements are paid from');
  treasury
    .command('show')
    .description("the treasury's balance in every asset")
    .action(async () => {
      const { treasuryBalances } = await import('../../services/incidents/treasury.ts');
      printJson(
        await withOperator('incident treasury show', (context, actor) => treasuryBalances(context, actor), {
          read: true,
        }),
      );
    });
  treasury
    .command('fund')
    .description('move platform money into the treasury (admin; audited)')
    .requiredOption('--asset <code>', 'the asset (e.g. BTC)')
    .requiredOption('--amount <decimal>', 'the amount as a decimal string')
    .requiredOption('--reason <text>', 'why (3..500 characters)')
    .action(async (o: { asset: string; amount: string; reason: string }) => {
      const { fundTreasury } = await import('../../services/incidents/treasury.ts');
      printJson(
        await withOperator('incident treasury fund', (context, actor) =>
          fundTreasury(context, actor, { asset: o.asset, amount: o.amount, reason: o.reason }),
        ),
      );
    });
}
