import type { Command } from 'commander';
import { invalidInput } from '../../core/errors.ts';
import { printJson, withOperator } from '../context.ts';

interface ReviewOptions {
  readonly approve?: boolean;
  readonly reject?: boolean;
  readonly reason?: string;
}

interface ResolveOptions {
  readonly paid?: boolean;
  readonly notPaid?: boolean;
  readonly txid?: string;
  readonly reason?: string;
}

/** Exactly one of two flags, or the reason why not (checked before anything is opened). */
function oneOf(field: string, a: [string, boolean | undefined], b: [string, boolean | undefined]): string {
  if ((a[1] === true) === (b[1] === true))
    throw invalidInput(field, `give exactly one of --${a[0]} or --${b[0]}`);
  return a[1] === true ? a[0] : b[0];
}

/**
 * `drawbridge withdrawal review|resolve`: an operator's decisions on one withdrawal, the same services as
 * POST /v1/operator/withdrawals/{id}/review and /resolve, run as the authenticated operator.
 */
export function registerWithdrawal(program: Command): void {
  const withdrawal = program
    .command('withdrawal')
    .description("withdrawals: search, show, an operator's decisions");
  withdrawal
    .command('list')
    .description('search withdrawals, newest first (as GET /v1/operator/withdrawals)')
    .option('--state <state>', 'only in this state (e.g. held_for_review)')
    .option('--asset <asset>', 'only of this asset (e.g. BTC)')
    .option('--account <id>', "only this customer's")
    .option('--from <time>', 'created at or after (ISO-8601)')
    .option('--until <time>', 'created before (ISO-8601)')
    .option('--limit <n>', 'how many (1-200)', '50')
    .option('--starting-after <id>', 'the last id of the page before')
    .action(async (o: Record<string, string | undefined>) => {
      const { searchWithdrawals } = await import('../../services/withdrawals/query.ts');
      printJson(
        await withOperator(
          'withdrawal list',
          (context, actor) =>
            searchWithdrawals(context, actor, {
              state: o.state,
              asset: o.asset,
              account_id: o.account,
              created_from: o.from,
              created_until: o.until,
              limit: o.limit,
              starting_after: o.startingAfter,
            }),
          { read: true },
        ),
      );
    });
  withdrawal
    .command('show')
    .description('one withdrawal with its history')
    .argument('<id>', 'the withdrawal id')
    .action(async (id: string) => {
      const { operatorWithdrawal } = await import('../../services/withdrawals/query.ts');
      printJson(
        await withOperator('withdrawal show', (context, actor) => operatorWithdrawal(context, actor, id), {
          read: true,
        }),
      );
    });
  withdrawal
    .command('review')
    .description(
      'decide a withdrawal held for review (risk analyst): --approve queues it again, --reject ends it',
    )
    .argument('<id>', 'the withdrawal id')
    .option('--approve', 'back to the queue with a fresh cancel window; every release rule is weighed again')
    .option('--reject', 'end it and void its hold')
    .requiredOption('--reason <text>', 'why (3..500 characters), kept in its history and the audit log')
    .action(async (id: string, options: ReviewOptions) => {
      const decision = oneOf('decision', ['approve', options.approve], ['reject', options.reject]);
      const { decideReview } = await import('../../services/withdrawals/operator-decisions.ts');
      printJson(
        await withOperator('withdrawal review', (context, actor) =>
          decideReview(context, actor, id, { decision, reason: options.reason }),
        ),
      );
    });
  withdrawal
    .command('resolve')
    .description('resolve an errored withdrawal after checking the chain (incident commander)')
    .argument('<id>', 'the withdrawal id')
    .option('--paid', 'it was paid: complete it and post its hold (needs --txid)')
    .option('--not-paid', 'it was not paid: cancel it and void its hold')
    .option('--txid <txid>', 'with --paid: the transaction found on chain')
    .requiredOption('--reason <text>', 'what the chain showed (3..500 characters)')
    .action(async (id: string, options: ResolveOptions) => {
      const outcome = oneOf('outcome', ['paid', options.paid], ['not-paid', options.notPaid]);
      const { resolveErrored } = await import('../../services/withdrawals/operator-decisions.ts');
      printJson(
        await withOperator('withdrawal resolve', (context, actor) =>
          resolveErrored(context, actor, id, {
            outcome: outcome === 'paid' ? 'paid' : 'not_paid',
            reason: options.reason,
            ...(options.txid === undefined ? {} : { txid: options.txid }),
          }),
        ),
      );
    });
}
