import type { Command } from 'commander';
import { printJson, withOperator } from '../context.ts';

/** `drawbridge customer list|show`: the same services as GET /v1/operator/customers, as an operator. */
export function registerCustomer(program: Command): void {
  const customer = program.command('customer').description('customer accounts, for operators');
  customer
    .command('list')
    .description('customers, newest first')
    .option('--email <start>', 'whose email starts with this')
    .option('--limit <n>', 'how many (1-200)', '50')
    .option('--starting-after <id>', 'the last id of the page before')
    .action(async (o: { email?: string; limit: string; startingAfter?: string }) => {
      const { searchCustomers } = await import('../../services/identity/customers.ts');
      printJson(
        await withOperator(
          'customer list',
          (context, actor) =>
            searchCustomers(context, actor, {
              email: o.email,
              limit: o.limit,
              starting_after: o.startingAfter,
            }),
          { read: true },
        ),
      );
    });
  customer
    .command('show')
    .description('one customer: account, balances, second factors')
    .argument('<id>', 'the customer id')
    .action(async (id: string) => {
      const { getCustomer } = await import('../../services/identity/customers.ts');
      printJson(
        await withOperator('customer show', (context, actor) => getCustomer(context, actor, id), {
          read: true,
        }),
      );
    });
}
