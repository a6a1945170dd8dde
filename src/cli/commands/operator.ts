import { type Command, Option } from 'commander';
import { printJson, withServices } from '../context.ts';

export function registerOperator(program: Command): void {
  const operator = program
    .command('operator')
    .description('operator accounts (support, risk, incident command)');
  operator
    .command('create')
    .description('create an operator with a generated password and an enrolled authenticator (shown once)')
    .requiredOption('--email <email>', "the operator's email")
    .addOption(
      new Option('--role <role>', 'what the operator may do')
        .choices(['support', 'risk_analyst', 'incident_commander', 'admin'])
        .makeOptionMandatory(),
    )
    .action(async (options: { email: string; role: string }) => {
      const { createOperator } = await import('../../services/identity/operators.ts');
      const created = await withServices((context) =>
        createOperator(context, { email: options.email, role: options.role }, 'cli'),
      );
      printJson(created);
    });
}

export function registerRevoke(program: Command): void {
  const revoke = program
    .command('revoke')
    .description('mass revocation, O(1) whatever the number of accounts (an epoch increment)');
  revoke
    .command('sessions')
    .description("end every customer session (--all) or one customer's (--customer <id>)")
    .option('--all', 'every customer')
    .option('--customer <id>', 'one customer')
    .action(async (options: { all?: boolean; customer?: string }) => {
      const { parseScope, revokeSessions } = await import('../../services/identity/revocation.ts');
      const scope = parseScope({ all: options.all, customer_id: options.customer });
      printJson(await withServices((context) => revokeSessions(context, { cli: true }, scope)));
    });
  revoke
    .command('mfa')
    .description("revoke every customer second factor (--all, optionally --method) or one customer's")
    .option('--all', 'every customer')
    .option('--customer <id>', 'one customer')
    .addOption(
      new Option('--method <method>', 'only this method (with --all)').choices([
        'totp',
        'passkey',
        'recovery',
      ]),
    )
    .action(async (options: { all?: boolean; customer?: string; method?: string }) => {
      const { parseMethod, parseScope, revokeMfa } = await import('../../services/identity/revocation.ts');
      const scope = parseScope({ all: options.all, customer_id: options.customer });
      printJson(
        await withServices((context) =>
          revokeMfa(context, { cli: true }, scope, parseMethod(options.method)),
        ),
      );
    });
}
