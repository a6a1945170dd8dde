import type { Command } from 'commander';
import { invalidInput } from '../../core/errors.ts';
import { confirmDestructive } from '../confirm.ts';
import { printJson, withOperator } from '../context.ts';
import { terminal } from '../terminal.ts';
import { registerIncidentMoney } from './incident-money.ts';

/**
 * `drawbridge incident …`: the incident playbook, the same services as /v1/operator/incidents, run as the
 * authenticated operator whose role each service checks. `incident` is exported as one commander Command so
 * further subcommands (losses, reimburse, report, treasury) can be attached to it before registerIncident adds it.
 */

/** A comma- or space-separated list of ids on the command line. */
function idList(value: string | undefined): string[] | undefined {
  if (value === undefined) return undefined;
  return value.split(/[\s,]+/).filter((id) => id.length > 0);
}

function haltBody(options: {
  global?: boolean;
  asset?: string;
  network?: string;
  account?: string;
  reason?: string;
}): Record<string, unknown> {
  const scopes = [options.global === true, options.asset !== undefined, options.account !== undefined];
  if (scopes.filter(Boolean).length !== 1)
    throw invalidInput('scope', 'give exactly one of --global, --asset <code> or --account <id>');
  const scope = options.global === true ? 'global' : options.asset !== undefined ? 'asset' : 'account';
  return {
    scope,
    ...(options.asset === undefined ? {} : { asset: options.asset }),
    ...(options.network === undefined ? {} : { network: options.network }),
    ...(options.account === undefined ? {} : { account_id: options.account }),
    reason: options.reason,
  };
}

const progress = (view: { cancelled: number; batches: number; status: string; cursor: string | null }) => {
  terminal().err(
    `contain: ${view.cancelled} cancelled in ${view.batches} batches (${view.status}, cursor ${view.cursor ?? '-'})\n`,
  );
};

function registerIncidentRecords(incident: Command): void {
  incident
    .command('open')
    .description('open an incident (by hand, or --alert <id>)')
    .requiredOption('--title <text>', 'what it is (3..200 characters)')
    .requiredOption('--severity <severity>', 'low, medium, high or critical')
    .option('--alert <id>', 'the alert it comes from')
    .action(async (o: { title?: string; severity?: string; alert?: string }) => {
      const { openIncident } = await import('../../services/incidents/incidents.ts');
      printJson(
        await withOperator('incident open', (context, actor) =>
          openIncident(context, actor, {
            title: o.title,
            severity: o.severity,
            ...(o.alert === undefined ? {} : { alert_id: o.alert }),
          }),
        ),
      );
    });
  incident
    .command('list')
    .description('incidents, newest first')
    .option('--status <status>', 'open, contained, resolved or closed')
    .option('--limit <n>', 'how many (1-200)', '50')
    .option('--starting-after <id>', 'the last id of the page before')
    .action(async (o: Record<string, string | undefined>) => {
      const { listIncidents } = await import('../../services/incidents/incidents.ts');
      printJson(
        await withOperator(
          'incident list',
          (context, actor) =>
            listIncidents(context, actor, {
              status: o.status,
              limit: o.limit,
              starting_after: o.startingAfter,
            }),
          { read: true },
        ),
      );
    });
  incident
    .command('show')
    .description('one incident, with its halts, downtime and resume requests')
    .argument('<id>', 'the incident id')
    .action(async (id: string) => {
      const { getIncident } = await import('../../services/incidents/incidents.ts');
      const { incidentDowntime } = await import('../../services/incidents/halt-resume.ts');
      printJson(
        await withOperator(
          'incident show',
          async (context, actor) => ({
            ...(await getIncident(context, actor, id)),
            downtime: await incidentDowntime(context, actor, id),
          }),
          { read: true },
        ),
      );
    });
  incident
    .command('status')
    .description("move an incident's status on (contained, resolved, closed)")
    .argument('<id>', 'the incident id')
    .requiredOption('--to <status>', 'contained, resolved or closed')
    .option('--note <text>', 'why (3..2000 characters); closing needs one')
    .action(async (id: string, o: { to?: string; note?: string }) => {
      const { setIncidentStatus } = await import('../../services/incidents/incidents.ts');
      printJson(
        await withOperator('incident status', (context, actor) =>
          setIncidentStatus(context, actor, id, {
            status: o.to,
            ...(o.note === undefined ? {} : { note: o.note }),
          }),
        ),
      );
    });
  incident
    .command('timeline')
    .description("an incident's alerts, halts and actions in time order")
    .argument('<id>', 'the incident id')
    .option('--limit <n>', 'how many entries (1-1000)', '200')
    .option('--starting-after <cursor>', 'the cursor of the page before')
    .action(async (id: string, o: { limit?: string; startingAfter?: string }) => {
      const { incidentTimeline } = await import('../../services/incidents/timeline.ts');
      printJson(
        await withOperator(
          'incident timeline',
          (context, actor) =>
            incidentTimeline(context, actor, id, { limit: o.limit, starting_after: o.startingAfter }),
          { read: true },
        ),
      );
    });
}

function registerIncidentContainment(incident: Command): void {
  incident
    .command('halt')
    .description(
      'halt withdrawals for the incident now: --global, --asset <code> [--network] or --account <id>',
    )
    .argument('<id>', 'the incident id')
    .option('--global', 'every withdrawal')
    .option('--asset <code>', 'one asset')
    .option('--network <network>', 'with --asset: only on this network')
    .option('--account <id>', "one customer's withdrawals")
    .requiredOption('--reason <text>', 'why (3..500 characters)')
    .action(async (id: string, o: Parameters<typeof haltBody>[0]) => {
      const body = haltBody(o);
      const { haltForIncident } = await import('../../services/incidents/halt-resume.ts');
      printJson(
        await withOperator('incident halt', (context, actor) => haltForIncident(context, actor, id, body)),
      );
    });
  incident
    .command('contain')
    .description('cancel every withdrawal not yet released: --all, --asset <code> or --accounts <ids>')
    .argument('<id>', 'the incident id')
    .option('--all', 'every withdrawal not yet released')
    .option('--asset <code>', 'one asset')
    .option('--accounts <ids>', 'comma-separated account ids')
    .option('--batch-size <n>', 'withdrawals per transaction (1-1000)', '200')
    .option('--reason <text>', 'why (3..500 characters)', 'contained by the incident playbook')
    .option('--yes', 'do not ask for confirmation')
    .action(
      async (
        id: string,
        o: {
          all?: boolean;
          asset?: string;
          accounts?: string;
          batchSize?: string;
          reason?: string;
          yes?: boolean;
        },
      ) => {
        const scopes = [o.all === true, o.asset !== undefined, o.accounts !== undefined];
        if (scopes.filter(Boolean).length !== 1)
          throw invalidInput('scope', 'give exactly one of --all, --asset <code> or --accounts <ids>');
        const input = {
          scope: o.all === true ? 'all' : o.asset !== undefined ? 'asset' : 'accounts',
          ...(o.asset === undefined ? {} : { asset: o.asset }),
          ...(o.accounts === undefined ? {} : { account_ids: idList(o.accounts) }),
          reason: o.reason,
        };
        const { driveContainment, parseBatchSize, startContainment } = await import(
          '../../services/incidents/containment.ts'
        );
        const batchSize = parseBatchSize(o.batchSize);
        printJson(
          await withOperator(
            'incident contain',
            async (context, actor) => {
              const started = await startContainment(context, actor, id, input);
              if (started.resumed) terminal().err(`contain: resuming ${started.id} from ${started.cursor}\n`);
              return driveContainment(context, actor, started.id, { batchSize, onProgress: progress });
            },
            {
              confirm: () =>
                confirmDestructive('cancels every withdrawal not yet released in the scope', o.yes),
            },
          ),
        );
      },
    );
  incident
    .command('freeze')
    .description(
      'freeze accounts (--accounts <ids> or --affected): an account halt and a lock each, no email each',
    )
    .argument('<id>', 'the incident id')
    .option('--accounts <ids>', 'comma-separated account ids')
    .option('--affected', 'every account the incident affected')
    .requiredOption('--reason <text>', 'why (3..500 characters)')
    .action(async (id: string, o: { accounts?: string; affected?: boolean; reason?: string }) => {
      if ((o.accounts === undefined) === (o.affected !== true))
        throw invalidInput('account_ids', 'give exactly one of --accounts <ids> or --affected');
      const body =
        o.affected === true
          ? { affected: true, reason: o.reason }
          : { account_ids: idList(o.accounts), reason: o.reason };
      const { freezeAccounts } = await import('../../services/incidents/freeze.ts');
      printJson(
        await withOperator('incident freeze', (context, actor) => freezeAccounts(context, actor, id, body)),
      );
    });
  incident
    .command('unfreeze')
    .description('unfreeze one account the incident froze')
    .argument('<id>', 'the incident id')
    .requiredOption('--account <id>', 'the account')
    .requiredOption('--reason <text>', 'why (3..500 characters)')
    .action(async (id: string, o: { account?: string; reason?: string }) => {
      const { unfreezeAccount } = await import('../../services/incidents/freeze.ts');
      printJson(
        await withOperator('incident unfreeze', (context, actor) =>
          unfreezeAccount(context, actor, id, o.account, { reason: o.reason }),
        ),
      );
    });
  incident
    .command('revoke')
    .description('revoke every customer --sessions and/or --mfa, and/or --operator-sessions (all but yours)')
    .argument('<id>', 'the incident id')
    .option('--sessions', 'end every customer session')
    .option('--mfa', 'revoke every customer second factor')
    .option('--operator-sessions', "end every other operator's session")
    .option('--yes', 'do not ask for confirmation')
    .action(
      async (
        id: string,
        o: { sessions?: boolean; mfa?: boolean; operatorSessions?: boolean; yes?: boolean },
      ) => {
        const body = {
          sessions: o.sessions === true,
          mfa: o.mfa === true,
          operator_sessions: o.operatorSessions === true,
        };
        if (!body.sessions && !body.mfa && !body.operator_sessions)
          throw invalidInput('sessions', 'choose at least one of --sessions, --mfa or --operator-sessions');
        const { revokeForIncident } = await import('../../services/incidents/revoke.ts');
        printJson(
          await withOperator(
            'incident revoke',
            (context, actor) => revokeForIncident(context, actor, id, body),
            {
              confirm: () => confirmDestructive('signs out and/or revokes second factors everywhere', o.yes),
            },
          ),
        );
      },
    );
}

function registerIncidentAffected(incident: Command): void {
  incident
    .command('mark')
    .description('mark withdrawals (--withdrawals <ids> --as <classification>) or --from-monitor')
    .argument('<id>', 'the incident id')
    .option('--withdrawals <ids>', 'comma-separated withdrawal ids')
    .option('--as <classification>', 'unauthorized, suspect or legitimate')
    .option('--note <text>', 'why (3..2000 characters)')
    .option(
      '--from-monitor',
      'mark every withdrawal the monitor flagged since the incident opened as unauthorized',
    )
    .action(
      async (id: string, o: { withdrawals?: string; as?: string; note?: string; fromMonitor?: boolean }) => {
        if (o.fromMonitor === true) {
          if (o.withdrawals !== undefined) throw invalidInput('withdrawal_ids', 'not with --from-monitor');
          const { markFromMonitorFindings } = await import('../../services/incidents/affected.ts');
          printJson(
            await withOperator('incident mark', async (context, actor) => {
              let total = { flagged: 0, marked: 0 };
              let cursor: string | undefined;
              for (;;) {
                const page = await markFromMonitorFindings(context, actor, id, {
                  ...(cursor === undefined ? {} : { starting_after: cursor }),
                });
                total = { flagged: total.flagged + page.flagged, marked: total.marked + page.marked };
                if (!page.has_more || page.cursor === null) return { incident_id: id, ...total };
                cursor = page.cursor;
              }
            }),
          );
          return;
        }
        if (o.withdrawals === undefined)
          throw invalidInput('withdrawal_ids', 'give --withdrawals <ids> or --from-monitor');
        const { markWithdrawals } = await import('../../services/incidents/affected.ts');
        printJson(
          await withOperator('incident mark', (context, actor) =>
            markWithdrawals(context, actor, id, {
              withdrawal_ids: idList(o.withdrawals),
              classification: o.as,
              ...(o.note === undefined ? {} : { note: o.note }),
            }),
          ),
        );
      },
    );
  incident
    .command('affected')
    .description("an incident's affected withdrawals with their outcome (or --accounts: the accounts)")
    .argument('<id>', 'the incident id')
    .option('--accounts', 'list the affected accounts instead')
    .option('--classification <c>', 'only unauthorized, suspect or legitimate')
    .option('--limit <n>', 'how many (1-1000)', '100')
    .option('--starting-after <id>', 'the last id of the page before')
    .action(
      async (
        id: string,
        o: { accounts?: boolean; classification?: string; limit?: string; startingAfter?: string },
      ) => {
        const { listAffectedAccounts, listAffectedWithdrawals } = await import(
          '../../services/incidents/affected.ts'
        );
        const page = { limit: o.limit, starting_after: o.startingAfter };
        printJson(
          await withOperator(
            'incident affected',
            (context, actor): Promise<unknown> =>
              o.accounts === true
                ? listAffectedAccounts(context, actor, id, page)
                : listAffectedWithdrawals(context, actor, id, { ...page, classification: o.classification }),
            { read: true },
          ),
        );
      },
    );
}

function registerIncidentResume(incident: Command): void {
  const resume = incident
    .command('resume')
    .description('lift halts: one operator requests, another approves');
  resume
    .command('request')
    .description("ask for the incident's halts (or --halts <ids>) to be lifted")
    .argument('<id>', 'the incident id')
    .requiredOption('--reason <text>', 'why it is safe (3..500 characters)')
    .option('--halts <ids>', "comma-separated halt ids (the incident's, its freezes, or the monitor's)")
    .action(async (id: string, o: { reason?: string; halts?: string }) => {
      const { requestResume } = await import('../../services/incidents/halt-resume.ts');
      printJson(
        await withOperator('incident resume request', (context, actor) =>
          requestResume(context, actor, id, {
            reason: o.reason,
            ...(o.halts === undefined ? {} : { halt_ids: idList(o.halts) }),
          }),
        ),
      );
    });
  resume
    .command('approve')
    .description("approve another operator's resume request: its halts are lifted")
    .argument('<id>', 'the incident id')
    .argument('<request-id>', 'the resume request id')
    .option('--yes', 'do not ask for confirmation')
    .action(async (id: string, requestId: string, o: { yes?: boolean }) => {
      const { approveResume } = await import('../../services/incidents/halt-resume.ts');
      printJson(
        await withOperator(
          'incident resume approve',
          (context, actor) => approveResume(context, actor, id, requestId),
          {
            confirm: () => confirmDestructive('lets the halted withdrawals be released again', o.yes),
          },
        ),
      );
    });
}

const DESCRIPTION =
  'the incident playbook: open, halt, contain, freeze, revoke, mark, losses, reimburse and resume (two operators), report';

/** The `drawbridge incident` command, made under `program` so it inherits its output and error settings. */
export function registerIncident(program: Command): Command {
  const incident = program.command('incident').description(DESCRIPTION);
  registerIncidentRecords(incident);
  registerIncidentContainment(incident);
  registerIncidentAffected(incident);
  registerIncidentResume(incident);
  registerIncidentMoney(incident);
  return incident;
}
