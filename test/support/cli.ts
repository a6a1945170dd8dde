import { spawn } from 'node:child_process';
import { capturingTerminal } from '../../src/cli/terminal.ts';
import { ManualClock } from '../../src/core/clock.ts';
import type { OperatorRole } from '../../src/core/identity/operator-roles.ts';
import { totpAt } from '../../src/core/mfa/totp.ts';
import type { ServiceContext } from '../../src/services/context.ts';
import { login } from '../../src/services/identity/login.ts';
import { createOperator } from '../../src/services/identity/operators.ts';
import type { Database } from '../../src/store/database.ts';
import { actingAs } from './actors.ts';
import { testContext } from './http.ts';

export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs `drawbridge <args>` as the binary does (cli/main.ts's runCommand: the same program, parsing, services and
 * exit codes) inside this test process, with `env` on top of this one's and `stdin` as its standard input. A
 * child process would cost seconds of module loading per command; `spawnCli` runs the real binary where the
 * process itself is under test (serve, signals, start-up refusals).
 */
export async function runCli(
  args: readonly string[],
  env: Record<string, string>,
  options: { readonly stdin?: string } = {},
): Promise<CliResult> {
  const { runCommand } = await import('../../src/cli/main.ts');
  const term = capturingTerminal({ ...process.env, ...env }, options.stdin ?? '');
  try {
    const code = await runCommand([process.execPath, 'drawbridge', ...args], term);
    return { code, stdout: term.stdout(), stderr: term.stderr() };
  } catch (error) {
    // What the binary does with a bug: the stack on stderr, exit 1.
    const trace = error instanceof Error ? (error.stack ?? error.message) : String(error);
    return { code: 1, stdout: term.stdout(), stderr: `${term.stderr()}${trace}\n` };
  }
}

/**
 * Runs the real `drawbridge` binary in a child process with `env` on top of this one's. 60 s: tsx compiles the
 * sources on a cold start; a hung CLI must fail the test, not stall it.
 */
export function spawnCli(args: readonly string[], env: Record<string, string>): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['bin/drawbridge.mjs', ...args], {
      env: { ...process.env, ...env },
      timeout: 60_000,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString('utf8');
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Keys the CLI child processes load from the environment; a context made with cliContext shares them. */
export const CLI_KEYS = {
  DRAWBRIDGE_TOTP_KEY: Buffer.alloc(32, 3).toString('base64'),
  RELEASE_SIGNING_KEY: Buffer.alloc(32, 5).toString('base64'),
};

/**
 * A service context on the CLI's database, with its TOTP key (`env.DRAWBRIDGE_TOTP_KEY`) and a clock at the real
 * time: operators made and signed in here can sign in, or use their session, from the CLI and from an app on it.
 */
export function cliContext(database: Database, env: Record<string, string> = CLI_KEYS): ServiceContext {
  const key = env.DRAWBRIDGE_TOTP_KEY;
  if (key === undefined) throw new Error('cliContext needs DRAWBRIDGE_TOTP_KEY');
  return { ...testContext(database, new ManualClock(new Date())), totpKey: Buffer.from(key, 'base64') };
}

export interface CliOperator {
  readonly id: string;
  readonly email: string;
  readonly role: OperatorRole;
  readonly password: string;
  /** The TOTP secret (base32). */
  readonly secret: string;
  /** An AAL2 session token, unless made with `signIn: false`. */
  readonly token: string;
  /** `DRAWBRIDGE_OPERATOR_TOKEN` for runCli, or {} without a session. */
  readonly env: Record<string, string>;
}

/** The authenticator code for `secret` now (what an operator types at the CLI's prompt). */
export function totpNow(secret: string): string {
  return totpAt(secret, new Date());
}

let operatorCount = 0;

/** An operator made through the service (as `drawbridge operator create` does), signed in unless told not to. */
export async function cliOperator(
  context: ServiceContext,
  role: OperatorRole,
  options: { readonly signIn?: boolean; readonly email?: string } = {},
): Promise<CliOperator> {
  operatorCount += 1;
  const email = options.email ?? `${role.replace('_', '-')}-${operatorCount}-${process.pid}@ops.example`;
  const created = await createOperator(context, actingAs('admin'), { email, role });
  const secret = new URL(created.otpauth_uri).searchParams.get('secret');
  if (secret === null) throw new Error('no TOTP secret in the otpauth URI');
  const made = { id: created.id, email, role, password: created.password, secret };
  if (options.signIn === false) return { ...made, token: '', env: {} };
  const session = await login(
    context,
    'operator',
    {
      email,
      password: created.password,
      proof: { method: 'totp', code: totpAt(secret, context.clock.now()) },
    },
    { ip: '127.0.0.1', userAgent: 'test' },
  );
  return { ...made, token: session.token, env: { DRAWBRIDGE_OPERATOR_TOKEN: session.token } };
}
