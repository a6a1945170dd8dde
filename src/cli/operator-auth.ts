import { userInfo } from 'node:os';
import { Writable } from 'node:stream';
import { DomainError } from '../core/errors.ts';
import type { RequestMeta, ServiceContext } from '../services/context.ts';
import { actingOperator, type OperatorActor } from '../services/identity/acting-operator.ts';
import { login } from '../services/identity/login.ts';
import {
  type Authenticated,
  authenticate,
  type IssuedSession,
  logout,
} from '../services/identity/sessions.ts';
import { terminal } from './terminal.ts';

/**
 * How a CLI command runs as an operator: an operator session token in DRAWBRIDGE_OPERATOR_TOKEN (from
 * `drawbridge operator login` or POST /v1/operator/login), else email, password and TOTP code from
 * DRAWBRIDGE_OPERATOR_EMAIL, _PASSWORD and _TOTP, asked for on a terminal when missing. A sign-in with a
 * password makes a session for the one command and ends it afterwards.
 */
export const TOKEN_ENV = 'DRAWBRIDGE_OPERATOR_TOKEN';
export const EMAIL_ENV = 'DRAWBRIDGE_OPERATOR_EMAIL';
export const PASSWORD_ENV = 'DRAWBRIDGE_OPERATOR_PASSWORD';
export const TOTP_ENV = 'DRAWBRIDGE_OPERATOR_TOTP';

export type CliCredentials =
  | { readonly kind: 'token'; readonly token: string }
  | { readonly kind: 'password'; readonly email: string; readonly password: string; readonly totp: string };

/** Asks the person at the terminal; `interactive` is false when nobody is there to answer (stdin not a TTY). */
export interface Prompter {
  readonly interactive: boolean;
  ask(question: string, options: { readonly hidden: boolean }): Promise<string>;
}

/** What a CLI sign-in is recorded with (login rate limits, the session row, the audit entry). */
export const CLI_REQUEST_META: RequestMeta = { ip: 'cli', userAgent: 'drawbridge-cli' };

function present(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const value = env[name];
  return value === undefined || value === '' ? undefined : value;
}

/**
 * The credentials a command runs with, read before the database is opened: the token when set, else email,
 * password and TOTP from the environment, asking on a terminal for any that is missing. Without a terminal a
 * missing one is UNAUTHENTICATED, in one line naming the variables (and `hint`, another way in, if any).
 */
export async function readCredentials(
  command: string,
  env: NodeJS.ProcessEnv,
  prompter: Prompter,
  options: { readonly hint?: string; readonly allowToken?: boolean } = {},
): Promise<CliCredentials> {
  const token = present(env, TOKEN_ENV);
  if (token !== undefined && options.allowToken !== false) return { kind: 'token', token: token.trim() };
  const wanted = [
    [EMAIL_ENV, 'Operator email: ', false],
    [PASSWORD_ENV, 'Password: ', true],
    [TOTP_ENV, 'Authenticator code: ', true],
  ] as const;
  const missing = wanted.filter(([name]) => present(env, name) === undefined).map(([name]) => name);
  if (missing.length > 0 && !prompter.interactive) {
    const other =
      options.allowToken === false ? '' : `${TOKEN_ENV} (from \`drawbridge operator login\`), or `;
    throw new DomainError(
      'UNAUTHENTICATED',
      `${command} runs as an operator: set ${other}${EMAIL_ENV}, ${PASSWORD_ENV} and ${TOTP_ENV} ` +
        `(missing: ${missing.join(', ')}), or run it on a terminal to be asked${options.hint === undefined ? '' : `; ${options.hint}`}`,
    );
  }
  const values: string[] = [];
  for (const [name, question, hidden] of wanted) {
    const value = present(env, name) ?? (await prompter.ask(question, { hidden }));
    if (value.length === 0)
      throw new DomainError('UNAUTHENTICATED', `${command} runs as an operator: no ${name}`);
    values.push(value);
  }
  const [email = '', password = '', totp = ''] = values;
  return { kind: 'password', email: email.trim(), password, totp: totp.replace(/\s+/g, '') };
}

/** Signs in with email, password and TOTP: the same login (rate limits, lockout, audit) as POST /v1/operator/login. */
export function signInWithPassword(
  context: ServiceContext,
  credentials: Extract<CliCredentials, { kind: 'password' }>,
): Promise<IssuedSession> {
  return login(
    context,
    'operator',
    {
      email: credentials.email,
      password: credentials.password,
      proof: { method: 'totp', code: credentials.totp },
    },
    CLI_REQUEST_META,
  );
}

/** The operator session a token names, refused unless it is an operator's at AAL2. */
export async function operatorSession(
  context: ServiceContext,
  token: string,
): Promise<{ auth: Authenticated; actor: OperatorActor }> {
  const auth = await authenticate(context, token);
  if (auth.kind !== 'operator')
    throw new DomainError('FORBIDDEN', `${TOKEN_ENV} is a customer session, not an operator's`);
  return { auth, actor: actingOperator(auth) };
}

/**
 * Runs `work` as the operator the credentials name. A password sign-in's session lives for this command only:
 * it is ended afterwards, whatever `work` did.
 */
export async function asOperator<T>(
  context: ServiceContext,
  credentials: CliCredentials,
  work: (actor: OperatorActor) => Promise<T>,
): Promise<T> {
  if (credentials.kind === 'token') return work((await operatorSession(context, credentials.token)).actor);
  const issued = await signInWithPassword(context, credentials);
  const { auth, actor } = await operatorSession(context, issued.token);
  let result: T;
  try {
    result = await work(actor);
  } catch (error) {
    await logout(context, auth).catch(() => {});
    throw error;
  }
  await logout(context, auth);
  return result;
}

/** The OS user running the command, for "break-glass:<user>" and "bootstrap:<user>"; undefined if unknown. */
export function osUser(): string | undefined {
  try {
    return userInfo().username;
  } catch {
    return undefined;
  }
}

/** Questions on stderr (stdout is the command's JSON answer); a hidden answer is not echoed. */
export function terminalPrompter(): Prompter {
  return {
    interactive: terminal().interactive,
    async ask(question, { hidden }) {
      const { createInterface } = await import('node:readline/promises');
      let muted = false;
      const output = new Writable({
        write(chunk: Buffer, _encoding, done) {
          if (!muted) process.stderr.write(chunk);
          done();
        },
      });
      const rl = createInterface({ input: process.stdin, output, terminal: true });
      rl.on('SIGINT', () => {
        rl.close();
        process.stderr.write('\n');
        process.exit(130);
      });
      try {
        const answer = rl.question(question);
        muted = hidden;
        const value = await answer;
        if (hidden) process.stderr.write('\n');
        return value;
      } finally {
        rl.close();
      }
    },
  };
}
