import type { Command } from 'commander';
import { invalidInput } from '../../core/errors.ts';
import { confirmDestructive } from '../confirm.ts';
import { printJson, withOperator, withServices } from '../context.ts';
import { terminal } from '../terminal.ts';

interface SetOptions {
  readonly global?: boolean;
  readonly asset?: string;
  readonly network?: string;
  readonly account?: string;
  readonly reason?: string;
  readonly breakGlass?: boolean;
}

/** The flags as the body of POST /v1/operator/halts: exactly one scope, or the reason why not. */
function haltRequest(options: SetOptions): Record<string, unknown> {
  const scopes = [options.global === true, options.asset !== undefined, options.account !== undefined];
  if (scopes.filter(Boolean).length !== 1)
    throw invalidInput('scope', 'give exactly one of --global, --asset <code> or --account <id>');
  if (options.network !== undefined && options.asset === undefined)
    throw invalidInput('network', 'only narrows an --asset halt');
  if (options.global === true) return { scope: 'global' };
  if (options.asset !== undefined)
    return {
      scope: 'asset',
      asset: options.asset,
      ...(options.network === undefined ? {} : { network: options.network }),
    };
  return { scope: 'account', account_id: options.account };
}

/**
 * `drawbridge halt set|list|lift`: the same services as /v1/operator/halts, run as an authenticated operator whose
 * role the service checks. `set` returns only once every node will refuse to release what the halt covers (DESIGN
 * invariant 4); `set --break-glass --reason` halts without an operator, audited as critical.
 */
export function registerHalt(program: Command): void {
  const halt = program
    .command('halt')
    .description('stop withdrawals: all, one asset[/network], or one account');
  halt
    .command('set')
    .description('halt releases now; prints the halt')
    .option('--global', 'every withdrawal')
    .option('--asset <code>', 'one asset (e.g. BTC)')
    .option('--network <network>', 'with --asset: only on this network')
    .option('--account <id>', "one customer's withdrawals")
    .option('--reason <text>', 'why (3..500 characters), kept with the halt and in the audit log')
    .option(
      '--break-glass',
      'halt without operator credentials (needs --reason); audited as critical under break-glass:<os user>',
    )
    .action(async (options: SetOptions) => {
      const { parseHalt, parseReason, setHalt } = await import('../../services/halts.ts');
      // Checked before the database is opened: bad input changes nothing (the service checks it again).
      const request = { ...haltRequest(options), reason: options.reason };
      parseHalt(request);
      parseReason(options.reason);
      if (options.breakGlass === true) {
        const { breakGlass } = await import('../../services/identity/acting-operator.ts');
        const { osUser } = await import('../operator-auth.ts');
        const actor = breakGlass(osUser());
        terminal().err(
          `break glass: halting without an operator, audited as critical under break-glass:${actor.name}\n`,
        );
        printJson(await withServices((context) => setHalt(context, actor, request)));
        return;
      }
      printJson(
        await withOperator('halt set', (context, actor) => setHalt(context, actor, request), {
          hint: 'or halt with --break-glass --reason (audited as critical)',
        }),
      );
    });
  halt
    .command('list')
    .description('the active halts, oldest first, every page')
    .action(async () => {
      const { listActiveHalts, HALT_PAGE_MAX } = await import('../../services/halts.ts');
      printJson(
        await withOperator(
          'halt list',
          async (context, actor) => {
            const halts = [];
            let page = await listActiveHalts(context, actor, { limit: HALT_PAGE_MAX });
            halts.push(...page.halts);
            while (page.has_more) {
              page = await listActiveHalts(context, actor, {
                limit: HALT_PAGE_MAX,
                starting_after: halts.at(-1)?.id,
              });
              halts.push(...page.halts);
            }
            return { halts };
          },
          { read: true },
        ),
      );
    });
  halt
    .command('lift')
    .description('lift one active halt')
    .argument('<id>', 'the halt id (from `halt list`)')
    .option('--yes', 'do not ask for confirmation')
    .action(async (id: string, options: { yes?: boolean }) => {
      if (id.length > 64) throw invalidInput('id', 'is not a halt id');
      const { liftHalt } = await import('../../services/halts.ts');
      printJson(
        await withOperator('halt lift', (context, actor) => liftHalt(context, actor, id), {
          confirm: () =>
            confirmDestructive('lets the withdrawals the halt holds be released again', options.yes),
        }),
      );
    });
}
