import type { Command } from 'commander';
import { invalidInput } from '../../core/errors.ts';
import { printJson, withOperator } from '../context.ts';

interface DepositOptions {
  readonly account: string;
  readonly asset: string;
  readonly network: string;
  readonly amount: string;
  readonly txid: string;
  readonly vout: string;
}

/** An output index as the service takes it; refused here rather than turned into NaN or a float. */
function parseVout(value: string): number {
  if (!/^[0-9]{1,7}$/.test(value)) throw invalidInput('vout', 'must be an integer 0..1000000');
  return Number(value);
}

/**
 * `drawbridge deposit record|approve|reject|list`: a deposit entered by hand, as the API's /v1/operator/deposits routes
 * take it, as an authenticated operator (incident commander or admin): one operator records the chain output, a
 * second approves it and only then is it credited. `record` is idempotent by (network, txid, vout): running it
 * again prints what was recorded.
 */
export function registerDeposit(program: Command): void {
  const deposit = program
    .command('deposit')
    .description(
      'deposits entered by hand: one operator records a chain output, a second approves its credit',
    );
  deposit
    .command('record')
    .description('record a chain deposit for a customer, credited once a second operator approves it')
    .requiredOption('--account <id>', 'the customer account id')
    .requiredOption('--asset <code>', 'the asset (e.g. BTC)')
    .requiredOption('--network <network>', 'the chain the output is on (e.g. bitcoin)')
    .requiredOption('--amount <decimal>', 'the amount as a decimal string (e.g. 0.5)')
    .requiredOption('--txid <txid>', 'the transaction id')
    .requiredOption('--vout <index>', 'the output index in the transaction')
    .action(async (options: DepositOptions) => {
      const outputIndex = parseVout(options.vout);
      const { recordDeposit } = await import('../../services/deposits.ts');
      printJson(
        await withOperator('deposit record', (context, actor) =>
          recordDeposit(context, actor, {
            account_id: options.account,
            asset: options.asset,
            network: options.network,
            amount: options.amount,
            txid: options.txid,
            output_index: outputIndex,
          }),
        ),
      );
    });
  deposit
    .command('approve')
    .description('approve a deposit another operator recorded: it is credited')
    .argument('<id>', 'the deposit id (from `deposit list`)')
    .action(async (id: string) => {
      const { approveDeposit } = await import('../../services/deposits.ts');
      printJson(
        await withOperator('deposit approve', (context, actor) => approveDeposit(context, actor, id)),
      );
    });
  deposit
    .command('reject')
    .description('reject a recorded deposit that must not be credited (a mistyped or made-up entry)')
    .argument('<id>', 'the deposit id (from `deposit list`)')
    .requiredOption('--reason <text>', 'why (3..500 characters)')
    .action(async (id: string, options: { reason: string }) => {
      const { rejectDeposit } = await import('../../services/deposits.ts');
      printJson(
        await withOperator('deposit reject', (context, actor) =>
          rejectDeposit(context, actor, id, { reason: options.reason }),
        ),
      );
    });
  deposit
    .command('list')
    .description('the deposits awaiting a second operator, oldest first (at most 500)')
    .action(async () => {
      const { depositsAwaitingApproval } = await import('../../services/deposits.ts');
      printJson(
        await withOperator(
          'deposit list',
          (context, actor) => depositsAwaitingApproval(context, actor, { limit: 500 }),
          {
            read: true,
          },
        ),
      );
    });
}
