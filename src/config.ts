import { join, resolve } from 'node:path';
import { checkWebhookUrl, destinationPolicy } from './adapters/webhooks/destination-policy.ts';
import { isWebhookSecret } from './adapters/webhooks/signing.ts';
import { DomainError, invalidInput } from './core/errors.ts';
import { DEFAULT_FEES, type FeeSchedule, parseFeeSchedule } from './core/withdrawals/fees.ts';

/** Which custody signer the releaser hands released withdrawals to. */
export type CustodyConfig =
  | { readonly signer: 'simulated' }
  | {
      readonly signer: 'webhook';
      /** The integrator's instruction endpoint, under the same policy as every webhook receiver. */
      readonly url: string;
      /** whsec_ secret signing the instructions we send. */
      readonly secret: string;
      /** whsec_ secret the integrator signs its status callbacks with (a different one). */
      readonly callbackSecret: string;
      readonly timeoutMs: number;
    };

/** Everything Drawbridge reads from the environment, parsed once at start. */
export interface Config {
  readonly host: string;
  readonly port: number;
  readonly dataDir: string;
  readonly databaseUrl: string | undefined;
  readonly sqlitePath: string;
  readonly logLevel: string;
  /** LOG_FORMAT: `json` (one pino line per event, for a log pipeline) or `pretty` (for a person); a terminal gets pretty. */
  readonly logFormat: 'json' | 'pretty';
  readonly bodyLimitBytes: number;
  /** A request's headers and body must have arrived within this (slow senders get a 408 and are closed). */
  readonly requestTimeoutMs: number;
  /** An idle keep-alive connection is closed after this. */
  readonly keepAliveTimeoutMs: number;
  /** Base URL customers reach the API at; links in emails point here. */
  readonly publicUrl: string;
  /** WebAuthn relying-party id (a registrable domain, or 127.0.0.1/localhost in development). */
  readonly rpId: string;
  readonly rpOrigins: readonly string[];
  readonly totpKey: string | undefined;
  readonly cookieSecure: boolean;
  /** Serve every customer's email at GET /v1/dev/mailbox: only ever on the embedded SQLite default. */
  readonly devMailbox: boolean;
  readonly sessionIdleMs: number;
  readonly sessionAbsoluteMs: number;
  readonly securityChangeLockMs: number;
  /** SMTP relay for customer email (smtp:// or smtps://); unset = the dev mailbox keeps emails in the database. */
  readonly smtpUrl: string | undefined;
  readonly mailFrom: string;
  /** Hosts webhook endpoints may point at (exact names); loopback only when allowLoopbackWebhooks. */
  readonly webhookAllowedHosts: readonly string[];
  readonly allowLoopbackWebhooks: boolean;
  readonly releaseSigningKey: string | undefined;
  readonly cancelWindowMs: number;
  readonly firstUseCancelWindowMs: number;
  /** Whole US dollars a customer may withdraw in 24 h before review. */
  readonly dailyLimitUsd: bigint;
  readonly simulatedConfirmations: number;
  readonly simulatedBlockMs: number;
  readonly custody: CustodyConfig;
  /** WITHDRAWAL_FEES: the fee of a withdrawal per asset and network, base units; a pair not listed is not offered. */
  readonly withdrawalFees: FeeSchedule;
  /** CONFIRMATION_WINDOW_SECONDS: how long a withdrawal waits for its bound proof before it expires. */
  readonly confirmationWindowMs: number;
  /** PRICE_SOURCE: `simulated` (prices that move a little every minute, for the embedded default) or `none`. */
  readonly priceSource: 'simulated' | 'none';
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const dataDir = resolve(env.DRAWBRIDGE_DATA_DIR ?? './data');
  const port = parsePort(env.PORT ?? '8080');
  const publicUrl = parseUrl('PUBLIC_URL', env.PUBLIC_URL ?? `http://127.0.0.1:${port}`);
  const webhookAllowedHosts = (env.WEBHOOK_ALLOWED_HOSTS ?? '')
    .split(',')
    .map((h) => h.trim())
    .filter((h) => h !== '');
  // Loopback receivers only make sense when everything runs on one machine: the embedded default (SQLite).
  const databaseUrl = env.DATABASE_URL === '' ? undefined : env.DATABASE_URL;
  const allowLoopbackWebhooks = parseBoolean(
    'ALLOW_LOOPBACK_WEBHOOKS',
    env.ALLOW_LOOPBACK_WEBHOOKS ?? (env.DATABASE_URL ? 'false' : 'true'),
  );
  return Object.freeze({
    host: env.HOST ?? '127.0.0.1',
    port,
    dataDir,
    databaseUrl,
    sqlitePath: join(dataDir, 'drawbridge.db'),
    logLevel: env.LOG_LEVEL ?? 'info',
    logFormat: parseLogFormat(env.LOG_FORMAT || (process.stdout.isTTY ? 'pretty' : 'json')),
    bodyLimitBytes: parsePositiveInt('BODY_LIMIT_BYTES', env.BODY_LIMIT_BYTES ?? '65536'),
    requestTimeoutMs: parsePositiveInt('REQUEST_TIMEOUT_SECONDS', env.REQUEST_TIMEOUT_SECONDS ?? '30') * 1000,
    keepAliveTimeoutMs:
      parsePositiveInt('KEEP_ALIVE_TIMEOUT_SECONDS', env.KEEP_ALIVE_TIMEOUT_SECONDS ?? '72') * 1000,
    publicUrl,
    rpId: env.WEBAUTHN_RP_ID ?? new URL(publicUrl).hostname,
    rpOrigins: (env.WEBAUTHN_ORIGINS ?? new URL(publicUrl).origin).split(',').map((o) => o.trim()),
    totpKey: env.DRAWBRIDGE_TOTP_KEY === '' ? undefined : env.DRAWBRIDGE_TOTP_KEY,
    cookieSecure: parseBoolean('COOKIE_SECURE', env.COOKIE_SECURE ?? 'true'),
    devMailbox: parseDevMailbox(env, databaseUrl),
    sessionIdleMs: parsePositiveInt('SESSION_IDLE_MINUTES', env.SESSION_IDLE_MINUTES ?? '30') * 60_000,
    sessionAbsoluteMs:
      parsePositiveInt('SESSION_ABSOLUTE_HOURS', env.SESSION_ABSOLUTE_HOURS ?? '12') * 3_600_000,
    securityChangeLockMs:
      parsePositiveInt('SECURITY_CHANGE_LOCK_HOURS', env.SECURITY_CHANGE_LOCK_HOURS ?? '24') * 3_600_000,
    smtpUrl: env.SMTP_URL === '' ? undefined : env.SMTP_URL,
    mailFrom: env.MAIL_FROM ?? 'Drawbridge <security@drawbridge.local>',
    webhookAllowedHosts,
    allowLoopbackWebhooks,
    releaseSigningKey: env.RELEASE_SIGNING_KEY === '' ? undefined : env.RELEASE_SIGNING_KEY,
    cancelWindowMs: parsePositiveInt('CANCEL_WINDOW_SECONDS', env.CANCEL_WINDOW_SECONDS ?? '120') * 1000,
    firstUseCancelWindowMs:
      parsePositiveInt('FIRST_USE_CANCEL_WINDOW_SECONDS', env.FIRST_USE_CANCEL_WINDOW_SECONDS ?? '600') *
      1000,
    dailyLimitUsd: BigInt(parsePositiveInt('DAILY_LIMIT_USD', env.DAILY_LIMIT_USD ?? '50000')),
    simulatedConfirmations: parsePositiveInt('SIMULATED_CONFIRMATIONS', env.SIMULATED_CONFIRMATIONS ?? '3'),
    simulatedBlockMs: parsePositiveInt('SIMULATED_BLOCK_MS', env.SIMULATED_BLOCK_MS ?? '1000'),
    custody: parseCustody(env, { allowedHosts: webhookAllowedHosts, allowLoopback: allowLoopbackWebhooks }),
    withdrawalFees:
      env.WITHDRAWAL_FEES === undefined || env.WITHDRAWAL_FEES === ''
        ? DEFAULT_FEES
        : parseFeeSchedule(env.WITHDRAWAL_FEES, 'WITHDRAWAL_FEES'),
    confirmationWindowMs: parseConfirmationWindow(env.CONFIRMATION_WINDOW_SECONDS ?? '300') * 1000,
    priceSource: parsePriceSource(env.PRICE_SOURCE || (databaseUrl === undefined ? 'simulated' : 'none')),
  });
}

function parseLogFormat(value: string): 'json' | 'pretty' {
  if (value !== 'json' && value !== 'pretty') throw invalidInput('LOG_FORMAT', 'must be json or pretty');
  return value;
}

function parsePriceSource(value: string): 'simulated' | 'none' {
  if (value !== 'simulated' && value !== 'none')
    throw invalidInput('PRICE_SOURCE', 'must be simulated or none');
  return value;
}

/**
 * The dev mailbox shows every customer's email (codes, lock links) to anyone who asks, unauthenticated. It is on
 * by default only in the embedded default (SQLite, no SMTP_URL). With DATABASE_URL it is never on: a PostgreSQL
 * deployment is a shared, reachable one, so DEV_MAILBOX=true there is refused rather than obeyed.
 */
function parseDevMailbox(env: NodeJS.ProcessEnv, databaseUrl: string | undefined): boolean {
  const given = env.DEV_MAILBOX === undefined || env.DEV_MAILBOX === '' ? undefined : env.DEV_MAILBOX;
  if (databaseUrl !== undefined) {
    if (given !== undefined && parseBoolean('DEV_MAILBOX', given)) {
      throw invalidInput(
        'DEV_MAILBOX',
        "cannot be on with DATABASE_URL: it shows every customer's codes and lock links to anyone",
      );
    }
    return false;
  }
  return parseBoolean('DEV_MAILBOX', given ?? (env.SMTP_URL ? 'false' : 'true'));
}

const CUSTODY_WEBHOOK_ONLY = [
  'CUSTODY_WEBHOOK_URL',
  'CUSTODY_WEBHOOK_SECRET',
  'CUSTODY_CALLBACK_SECRET',
  'CUSTODY_WEBHOOK_TIMEOUT_SECONDS',
] as const;

/**
 * CUSTODY_SIGNER=simulated (the default) or webhook. The webhook signer needs its URL (allowed by the webhook
 * destination policy) and two distinct whsec_ secrets; the webhook settings without it are refused rather than
 * ignored, since someone who set them believes real custody is wired. Secrets never appear in a message.
 */
function parseCustody(
  env: NodeJS.ProcessEnv,
  webhooks: { allowedHosts: readonly string[]; allowLoopback: boolean },
): CustodyConfig {
  const signer =
    env.CUSTODY_SIGNER === undefined || env.CUSTODY_SIGNER === '' ? 'simulated' : env.CUSTODY_SIGNER;
  const set = (name: (typeof CUSTODY_WEBHOOK_ONLY)[number]) => env[name] !== undefined && env[name] !== '';
  if (signer === 'simulated') {
    const stray = CUSTODY_WEBHOOK_ONLY.find(set);
    if (stray !== undefined) {
      throw invalidInput(
        stray,
        'is only used with CUSTODY_SIGNER=webhook (the simulated signer is configured)',
      );
    }
    return { signer: 'simulated' };
  }
  if (signer !== 'webhook') throw invalidInput('CUSTODY_SIGNER', 'must be simulated or webhook');
  for (const name of ['CUSTODY_WEBHOOK_URL', 'CUSTODY_WEBHOOK_SECRET', 'CUSTODY_CALLBACK_SECRET'] as const) {
    if (!set(name)) throw invalidInput(name, 'is required with CUSTODY_SIGNER=webhook');
  }
  let url: string;
  try {
    url = checkWebhookUrl(destinationPolicy(webhooks), env.CUSTODY_WEBHOOK_URL);
  } catch (error) {
    if (error instanceof DomainError && error.field === 'url') {
      throw invalidInput('CUSTODY_WEBHOOK_URL', error.message);
    }
    throw error;
  }
  const secret = env.CUSTODY_WEBHOOK_SECRET as string;
  const callbackSecret = env.CUSTODY_CALLBACK_SECRET as string;
  for (const [name, value] of [
    ['CUSTODY_WEBHOOK_SECRET', secret],
    ['CUSTODY_CALLBACK_SECRET', callbackSecret],
  ] as const) {
    if (!isWebhookSecret(value)) {
      throw invalidInput(
        name,
        'must be a Standard Webhooks secret: whsec_ and base64 of 24 to 64 random bytes',
      );
    }
  }
  if (secret === callbackSecret) {
    throw invalidInput(
      'CUSTODY_CALLBACK_SECRET',
      'must differ from CUSTODY_WEBHOOK_SECRET (one signs what we send, the other what we receive)',
    );
  }
  const timeoutSeconds = parsePositiveInt(
    'CUSTODY_WEBHOOK_TIMEOUT_SECONDS',
    env.CUSTODY_WEBHOOK_TIMEOUT_SECONDS ?? '10',
  );
  if (timeoutSeconds > 60) throw invalidInput('CUSTODY_WEBHOOK_TIMEOUT_SECONDS', 'must be at most 60');
  return { signer: 'webhook', url, secret, callbackSecret, timeoutMs: timeoutSeconds * 1000 };
}

/** A withdrawal's proof is bound to it for minutes, not hours: a day-old pending confirmation is a phishing aid. */
function parseConfirmationWindow(value: string): number {
  const seconds = parsePositiveInt('CONFIRMATION_WINDOW_SECONDS', value);
  if (seconds < 30 || seconds > 3600) {
    throw invalidInput('CONFIRMATION_WINDOW_SECONDS', 'must be from 30 to 3600 seconds');
  }
  return seconds;
}

function parsePort(value: string): number {
  const port = parsePositiveInt('PORT', value);
  if (port > 65535) throw invalidInput('PORT', 'must be at most 65535');
  return port;
}

function parsePositiveInt(name: string, value: string): number {
  if (!/^[0-9]{1,9}$/.test(value)) throw invalidInput(name, 'must be a positive integer');
  const parsed = Number(value);
  if (parsed < 1) throw invalidInput(name, 'must be a positive integer');
  return parsed;
}

function parseBoolean(name: string, value: string): boolean {
  if (value === 'true' || value === '1') return true;
  if (value === 'false' || value === '0') return false;
  throw invalidInput(name, 'must be true or false');
}

function parseUrl(name: string, value: string): string {
  try {
    const url = new URL(value);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('scheme');
    return url.origin;
  } catch {
    throw invalidInput(name, 'must be an http(s) URL');
  }
}
