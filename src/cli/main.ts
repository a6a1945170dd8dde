import { Command, CommanderError } from 'commander';
import { DomainError } from '../core/errors.ts';
import { VERSION } from '../version.ts';
import { registerAddress } from './commands/address.ts';
import { registerAlerts, registerCases } from './commands/alerts.ts';
import { registerAudit } from './commands/audit.ts';
import { registerConfig } from './commands/config.ts';
import { registerCustomer } from './commands/customer.ts';
import { registerDeposit } from './commands/deposit.ts';
import { registerHalt } from './commands/halt.ts';
import { registerIncident } from './commands/incident.ts';
import { registerMigrate } from './commands/migrate.ts';
import { registerMonitor } from './commands/monitor.ts';
import { registerOperator, registerRevoke } from './commands/operator.ts';
import { registerReview } from './commands/review.ts';
import { registerRules } from './commands/rules.ts';
import { registerServe } from './commands/serve.ts';
import { registerSimulate } from './commands/simulate.ts';
import { registerTotp } from './commands/totp.ts';
import { registerWebhook } from './commands/webhook.ts';
import { registerWithdrawal } from './commands/withdrawal.ts';
import { type Terminal, withTerminal } from './terminal.ts';

/** Not signed in, or signed in but not allowed: exit 3, so a script tells it from bad input (exit 2). */
const AUTH_ERRORS: ReadonlySet<string> = new Set([
  'UNAUTHENTICATED',
  'INVALID_CREDENTIALS',
  'MFA_REQUIRED',
  'MFA_LOCKED',
  'ACCOUNT_LOCKED',
  'FORBIDDEN',
]);

/** The whole command line, built afresh for each run (commander keeps the parsed options on the commands). */
function buildProgram(term: Terminal): { program: Command; running: () => Command | undefined } {
  const program = new Command('drawbridge')
    .description('Drawbridge: withdrawal security for a custodial crypto platform')
    .version(VERSION, '-V, --version', 'print the version')
    .exitOverride()
    .configureOutput({ writeOut: (text) => term.out(text), writeErr: (text) => term.err(text) })
    .showHelpAfterError();

  registerServe(program);
  registerMigrate(program);
  registerMonitor(program);
  registerAddress(program);
  registerAudit(program);
  registerOperator(program);
  registerRevoke(program);
  registerWebhook(program);
  registerHalt(program);
  registerRules(program);
  registerDeposit(program);
  registerWithdrawal(program);
  registerReview(program);
  registerAlerts(program);
  registerCases(program);
  registerIncident(program);
  registerTotp(program);
  registerConfig(program);
  registerCustomer(program);
  registerSimulate(program);

  // Every command takes --data-dir (the embedded database and keys; DATABASE_URL still selects PostgreSQL), wherever
  // it is written on the line: it sets DRAWBRIDGE_DATA_DIR before the command reads its configuration.
  let running: Command | undefined;
  function withDataDir(command: Command): void {
    if (command.commands.length === 0) {
      command.option('--data-dir <dir>', 'the data directory (default ./data, or DRAWBRIDGE_DATA_DIR)');
      command.hook('preAction', (_, action) => {
        running = action;
        const dataDir = action.opts().dataDir;
        if (typeof dataDir === 'string') term.env.DRAWBRIDGE_DATA_DIR = dataDir;
      });
    }
    for (const sub of command.commands) withDataDir(sub);
  }
  for (const command of program.commands) withDataDir(command);
  return { program, running: () => running };
}

let queue: Promise<unknown> = Promise.resolve();

/**
 * Runs one command line (`argv` as process.argv: node and the script first) on `term`, and answers its exit code:
 * 0, 1 for "checked, and something is wrong", 2 for bad input, 3 for not signed in or not allowed. Commands run
 * one at a time in a process; anything but a refusal is thrown, as a bug.
 */
export function runCommand(argv: readonly string[], term: Terminal): Promise<number> {
  const run = queue.then(() => withTerminal(term, () => parseAndRun(argv, term)));
  queue = run.catch(() => undefined);
  return run;
}

async function parseAndRun(argv: readonly string[], term: Terminal): Promise<number> {
  const { program, running } = buildProgram(term);
  try {
    await program.parseAsync([...argv]);
    return term.exitCode ?? 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version exit 0; usage errors exit 2 (commander already printed the reason).
      return error.exitCode === 0 ? 0 : 2;
    }
    if (error instanceof DomainError) {
      // A service names its input (account_id); on the command line that is a flag (--account): say which.
      const flag = error.field === undefined ? undefined : flagFor(running(), error.field);
      term.err(
        `${JSON.stringify({
          error: error.code,
          field: error.field,
          ...(flag === undefined ? {} : { flag }),
          reason: error.message,
        })}\n`,
      );
      return AUTH_ERRORS.has(error.code) ? 3 : 2;
    }
    throw error;
  }
}

/** The command's flag that carries `field` (`account_id` is `--account` or `--account-id`), if it has one. */
function flagFor(command: Command | undefined, field: string): string | undefined {
  if (command === undefined || field.startsWith('-')) return field.startsWith('-') ? field : undefined;
  const wanted = field.replaceAll('_', '-');
  const names = [wanted, wanted.replace(/-id$/, '')];
  const option = command.options.find((o) => o.long !== undefined && names.includes(o.long.slice(2)));
  return option?.long;
}
