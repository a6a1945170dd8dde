import type { Command } from 'commander';
import { invalidInput } from '../../core/errors.ts';
import { printJson, withOperator } from '../context.ts';

/**
 * `drawbridge alerts list|show|ack|resolve` and `drawbridge cases open|list|show|link|note|investigate|close`: the
 * same services as /v1/operator/alerts and /v1/operator/cases, run as the authenticated operator.
 */
export function registerAlerts(program: Command): void {
  const alerts = program.command('alerts').description('alerts raised by the monitor and other detectors');
  alerts
    .command('list')
    .description('alerts, newest first (as GET /v1/operator/alerts)')
    .option('--state <state>', 'open, acknowledged or resolved')
    .option('--kind <kind>', 'only of this kind')
    .option('--severity <severity>', 'info, warning or critical')
    .option('--limit <n>', 'how many (1-200)', '50')
    .option('--starting-after <id>', 'the last id of the page before')
    .action(async (o: Record<string, string | undefined>) => {
      const { listAlerts } = await import('../../services/alerts.ts');
      printJson(
        await withOperator(
          'alerts list',
          (context, actor) =>
            listAlerts(context, actor, {
              state: o.state,
              kind: o.kind,
              severity: o.severity,
              limit: o.limit,
              starting_after: o.startingAfter,
            }),
          { read: true },
        ),
      );
    });
  alerts
    .command('show')
    .description('one alert')
    .argument('<id>', 'the alert id')
    .action(async (id: string) => {
      const { getAlert } = await import('../../services/alerts.ts');
      printJson(
        await withOperator('alerts show', (context, actor) => getAlert(context, actor, id), { read: true }),
      );
    });
  alerts
    .command('ack')
    .description('acknowledge an open alert')
    .argument('<id>', 'the alert id')
    .action(async (id: string) => {
      const { acknowledgeAlert } = await import('../../services/alerts.ts');
      printJson(await withOperator('alerts ack', (context, actor) => acknowledgeAlert(context, actor, id)));
    });
  alerts
    .command('resolve')
    .description('resolve an acknowledged alert')
    .argument('<id>', 'the alert id')
    .requiredOption('--kind <kind>', 'true_positive, false_positive, duplicate or benign')
    .requiredOption('--note <text>', 'what was found (3..2000 characters)')
    .action(async (id: string, options: { kind?: string; note?: string }) => {
      const { resolveAlert } = await import('../../services/alerts.ts');
      printJson(
        await withOperator('alerts resolve', (context, actor) =>
          resolveAlert(context, actor, id, { kind: options.kind, note: options.note }),
        ),
      );
    });
}

export function registerCases(program: Command): void {
  const cases = program.command('cases').description('cases: investigations grouping alerts and withdrawals');
  cases
    .command('open')
    .description('open a case')
    .requiredOption('--title <text>', 'what it is about (3..200 characters)')
    .option('--note <text>', 'a first note (3..2000 characters)')
    .action(async (options: { title?: string; note?: string }) => {
      const { openCase } = await import('../../services/cases.ts');
      printJson(
        await withOperator('cases open', (context, actor) =>
          openCase(context, actor, {
            title: options.title,
            ...(options.note === undefined ? {} : { note: options.note }),
          }),
        ),
      );
    });
  cases
    .command('list')
    .description('cases, newest first')
    .option('--status <status>', 'open, investigating or closed')
    .option('--limit <n>', 'how many (1-200)', '50')
    .option('--starting-after <id>', 'the last id of the page before')
    .action(async (o: Record<string, string | undefined>) => {
      const { listCases } = await import('../../services/cases.ts');
      printJson(
        await withOperator(
          'cases list',
          (context, actor) =>
            listCases(context, actor, { status: o.status, limit: o.limit, starting_after: o.startingAfter }),
          { read: true },
        ),
      );
    });
  cases
    .command('show')
    .description('one case with its events')
    .argument('<id>', 'the case id')
    .action(async (id: string) => {
      const { getCase } = await import('../../services/cases.ts');
      printJson(
        await withOperator('cases show', (context, actor) => getCase(context, actor, id), { read: true }),
      );
    });
  cases
    .command('link')
    .description('link an alert or a withdrawal to a case')
    .argument('<id>', 'the case id')
    .option('--alert <id>', 'the alert to link')
    .option('--withdrawal <id>', 'the withdrawal to link')
    .action(async (id: string, options: { alert?: string; withdrawal?: string }) => {
      if ((options.alert === undefined) === (options.withdrawal === undefined))
        throw invalidInput('alert_id', 'give exactly one of --alert <id> or --withdrawal <id>');
      const { linkToCase } = await import('../../services/cases.ts');
      printJson(
        await withOperator('cases link', (context, actor) =>
          linkToCase(
            context,
            actor,
            id,
            options.alert === undefined ? { withdrawal_id: options.withdrawal } : { alert_id: options.alert },
          ),
        ),
      );
    });
  cases
    .command('note')
    .description('add a note to a case')
    .argument('<id>', 'the case id')
    .requiredOption('--note <text>', 'the note (3..2000 characters)')
    .action(async (id: string, options: { note?: string }) => {
      const { noteCase } = await import('../../services/cases.ts');
      printJson(
        await withOperator('cases note', (context, actor) =>
          noteCase(context, actor, id, { note: options.note }),
        ),
      );
    });
  cases
    .command('investigate')
    .description('move an open case to investigating')
    .argument('<id>', 'the case id')
    .option('--note <text>', 'why (3..2000 characters)')
    .action(async (id: string, options: { note?: string }) => {
      const { setCaseStatus } = await import('../../services/cases.ts');
      printJson(
        await withOperator('cases investigate', (context, actor) =>
          setCaseStatus(context, actor, id, {
            status: 'investigating',
            ...(options.note === undefined ? {} : { note: options.note }),
          }),
        ),
      );
    });
  cases
    .command('close')
    .description('close a case, saying how it ended')
    .argument('<id>', 'the case id')
    .requiredOption('--note <text>', 'how it ended (3..2000 characters)')
    .action(async (id: string, options: { note?: string }) => {
      const { closeCase } = await import('../../services/cases.ts');
      printJson(
        await withOperator('cases close', (context, actor) =>
          closeCase(context, actor, id, { note: options.note }),
        ),
      );
    });
}
