import { type Command, Option } from 'commander';
import { DomainError } from '../../core/errors.ts';
import { confirmDestructive } from '../confirm.ts';
import { printJson, withOperator, withServices } from '../context.ts';
import { terminal } from '../terminal.ts';

export function registerOperator(program: Command): void {
  const operator = program
    .command('operator')
    .description('operator accounts (support, risk, incident command, admin) and CLI sign-in');
  operator
    .command('create')
    .description(
      'create an operator with a generated password and an enrolled authenticator (shown once); needs an admin, ' +
        'except for the first operator of an installation',
    )
    .requiredOption('--email <email>', "the operator's email")
    .addOption(
      new Option('--role <role>', 'what the operator may do')
        .choices(['support', 'risk_analyst', 'incident_commander', 'admin'])
        .makeOptionMandatory(),
    )
    .action(async (options: { email: string; role: string }) => {
      const { createOperator, operatorsExist } = await import('../../services/identity/operators.ts');
      const { bootstrap } = await import('../../services/identity/acting-operator.ts');
      const { asOperator, osUser, readCredentials, terminalPrompter } = await import('../operator-auth.ts');
      const input = { email: options.email, role: options.role };
      const created = await withServices(async (context) => {
        // The first operator is made without one (there is nobody to sign in as); every later one by an admin.
        if (!(await operatorsExist(context))) return createOperator(context, bootstrap(osUser()), input);
        const credentials = await readCredentials('operator create', terminal().env, terminalPrompter(), {
          hint: 'operators exist, so a new one is created by an admin',
        });
        return asOperator(context, credentials, (actor) => createOperator(context, actor, input));
      });
      printJson(created);
    });
  operator
    .command('login')
    .description(
      'sign in with email, password and TOTP (asked for on a terminal, else DRAWBRIDGE_OPERATOR_EMAIL, ' +
        '_PASSWORD, _TOTP); prints a session token for DRAWBRIDGE_OPERATOR_TOKEN',
    )
    .action(async () => {
      const { operatorSession, readCredentials, signInWithPassword, terminalPrompter } = await import(
        '../operator-auth.ts'
      );
      const credentials = await readCredentials('operator login', terminal().env, terminalPrompter(), {
        allowToken: false,
      });
      if (credentials.kind !== 'password') throw new Error('unreachable: login reads no token');
      printJson(
        await withServices(async (context) => {
          const issued = await signInWithPassword(context, credentials);
          const { actor } = await operatorSession(context, issued.token);
          return {
            token: issued.token,
            session_id: issued.sessionId,
            operator_id: actor.id,
            role: actor.role,
            expires_at: issued.expiresAt,
          };
        }),
      );
    });
  operator
    .command('logout')
    .description('end the session of DRAWBRIDGE_OPERATOR_TOKEN')
    .action(async () => {
      const { operatorSession, TOKEN_ENV } = await import('../operator-auth.ts');
      const { logout } = await import('../../services/identity/sessions.ts');
      const token = terminal().env[TOKEN_ENV];
      if (token === undefined || token === '')
        throw new DomainError('UNAUTHENTICATED', `operator logout ends a session: set ${TOKEN_ENV}`);
      printJson(
        await withServices(async (context) => {
          const { auth } = await operatorSession(context, token.trim());
          await logout(context, auth);
          return { session_id: auth.sessionId, ended: true };
        }),
      );
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
    .option('--yes', 'with --all: do not ask for confirmation')
    .action(async (options: { all?: boolean; customer?: string; yes?: boolean }) => {
      const { parseScope, revokeSessions } = await import('../../services/identity/revocation.ts');
      // Checked before the database is opened (and again by the service, after the role).
      const scope = { all: options.all, customer_id: options.customer };
      parseScope(scope);
      const confirm =
        options.all === true
          ? () => confirmDestructive('ends every customer session', options.yes)
          : undefined;
      printJson(
        await withOperator('revoke sessions', (context, actor) => revokeSessions(context, actor, scope), {
          ...(confirm === undefined ? {} : { confirm }),
        }),
      );
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
    .option('--yes', 'with --all: do not ask for confirmation')
    .action(async (options: { all?: boolean; customer?: string; method?: string; yes?: boolean }) => {
      const { parseMethod, parseScope, revokeMfa } = await import('../../services/identity/revocation.ts');
      const scope = { all: options.all, customer_id: options.customer };
      parseScope(scope);
      const method = parseMethod(options.method);
      const confirm =
        options.all === true
          ? () => confirmDestructive("revokes every customer's second factors (each re-enrols)", options.yes)
          : undefined;
      printJson(
        await withOperator('revoke mfa', (context, actor) => revokeMfa(context, actor, scope, method), {
          ...(confirm === undefined ? {} : { confirm }),
        }),
      );
    });
}
