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
 * `drawbridge deposit`: credits a deposit seen on chain, as POST /v1/operator/deposits does, as an
 * authenticated operator (incident commander or admin).
 * Idempotent by (network, txid, vout): running it again prints the first credit with "credited": false.
 */
export function registerDeposit(program: Command): void {
  program
    .command('deposit')
    .description("credit a chain deposit to a customer's balance (idempotent by network, txid and vout)")
    .requiredOption('--account <id>', 'the customer account id')
    .requiredOption('--asset <code>', 'the asset (e.g. BTC)')
    .requiredOption('--network <network>', 'the chain the output is on (e.g. bitcoin)')
    .requiredOption('--amount <decimal>', 'the amount as a decimal string (e.g. 0.5)')
    .requiredOption('--txid <txid>', 'the transaction id')
    .requiredOption('--vout <index>', 'the output index in the transaction')
    .action(async (options: DepositOptions) => {
      const outputIndex = parseVout(options.vout);
      const { creditDeposit } = await import('../../services/deposits.ts');
      printJson(
        await withOperator('deposit', (context, actor) =>
          creditDeposit(context, actor, {
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
}
