import { createPublicKey } from 'node:crypto';
import { join, resolve } from 'node:path';
import { type CleanedEnv, cleanEnv, makeValidator } from 'envalid';
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
type MonitorConfig =
  | { readonly mode: 'embedded'; readonly signingKey: string | undefined; readonly maxLagMs: number }
  | {
      readonly mode: 'external';
      readonly publicKeyPem: string;
      readonly signingKey: string | undefined;
      readonly maxLagMs: number;
    };

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
  /**
   * The independent monitor (src/services/monitor). `embedded`: the server runs it and keeps its key, from
   * MONITOR_SIGNING_KEY or generated into the data directory. `external`: `drawbridge monitor` runs apart with the
   * key, and the server knows only MONITOR_PUBLIC_KEY, so nothing in the server's process can sign a verdict.
   */
  readonly monitor: MonitorConfig & {
    /** MONITOR_HALT_SCOPE: what a critical finding halts at once. */
    readonly haltScope: 'global' | 'asset' | 'account';
    /**
     * MONITOR_VOLUME_*: the withdrawn-volume circuit breaker. An asset whose volume released in the last window
     * exceeds `multiple` times the mean of the `baselineWindows` windows before, and is worth more than
     * `floorUsd` (exact USD, a decimal string), is halted.
     */
    readonly volumeBreaker: {
      readonly windowMs: number;
      readonly baselineWindows: number;
      readonly multiple: number;
      readonly floorUsd: string;
    };
  };
  readonly cancelWindowMs: number;
  readonly firstUseCancelWindowMs: number;
  /** Whole US dollars a customer may withdraw in 24 h before review. */
  readonly dailyLimitUsd: bigint;
  /**
   * REVIEW_TWO_ANALYST_USD: approving a held withdrawal worth more than this (exact USD, a decimal string) needs two
   * different operators; an unpriced one always does.
   */
  readonly reviewTwoAnalystUsd: string;
  readonly simulatedConfirmations: number;
  readonly simulatedBlockMs: number;
  readonly custody: CustodyConfig;
  /** WITHDRAWAL_FEES: the fee of a withdrawal per asset and network, base units; a pair not listed is not offered. */
  readonly withdrawalFees: FeeSchedule;
  /** CONFIRMATION_WINDOW_SECONDS: how long a withdrawal waits for its bound proof before it expires. */
  readonly confirmationWindowMs: number;
  /**
   * PRICE_SOURCE: `simulated` (prices that move a little every minute, for the embedded default), `http` (a JSON
   * ticker, asked every minute) or `none`.
   */
  readonly priceSource:
    | { readonly kind: 'simulated' | 'none' }
    | { readonly kind: 'http'; readonly url: string };
  /**
   * DRAWBRIDGE_TEST_CLOCK: the server's clock is the system clock plus an offset that `POST /__test__/clock` moves
   * forward, for the browser tests (a cooling period passes in a request). Only with NODE_ENV=test on the embedded
   * SQLite default; anything else refuses to start.
   */
  readonly testClock: boolean;
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/**
 * Every variable Drawbridge reads, as envalid specs: the parser and the default of each, said once. Defaults that
 * depend on the deployment (the embedded default without DATABASE_URL, or PostgreSQL) are decided from `raw`.
 * An empty value is read as unset. Each parser throws a plain Error whose message is the reason; the reporter
 * turns the first into one line naming the variable (see loadConfig).
 */
function variables(raw: Readonly<Record<string, string>>) {
  const embedded = raw.DATABASE_URL === undefined;
  return {
    DRAWBRIDGE_DATA_DIR: text({
      default: './data',
      desc: 'where the embedded database and generated keys live',
    }),
    HOST: text({ default: '127.0.0.1', desc: 'the address to listen on' }),
    PORT: wholeNumber(1, 65535)({ default: 8080, desc: 'the port to listen on' }),
    PUBLIC_URL: httpOrigin({
      default: undefined,
      desc: 'the base URL customers reach; links in emails point here',
    }),
    DATABASE_URL: postgresUrl({
      default: undefined,
      desc: 'PostgreSQL (postgres://...); unset: embedded SQLite',
    }),
    LOG_LEVEL: oneOf(LOG_LEVELS)({ default: 'info', desc: 'pino log level' }),
    LOG_FORMAT: oneOf(['json', 'pretty'] as const)({
      default: process.stdout.isTTY ? 'pretty' : 'json',
      desc: 'json lines for a log pipeline, or pretty for a person',
    }),
    BODY_LIMIT_BYTES: wholeNumber(1, 10_485_760)({ default: 65536, desc: 'largest request body' }),
    REQUEST_TIMEOUT_SECONDS: wholeNumber(
      1,
      3600,
    )({ default: 30, desc: 'headers and body must arrive within' }),
    KEEP_ALIVE_TIMEOUT_SECONDS: wholeNumber(
      1,
      3600,
    )({ default: 72, desc: 'idle keep-alive connections close' }),
    WEBAUTHN_RP_ID: text({
      default: undefined,
      desc: "passkeys' relying party id; default: PUBLIC_URL's host",
    }),
    WEBAUTHN_ORIGINS: text({
      default: undefined,
      desc: "origins passkeys are accepted from; default: PUBLIC_URL's",
    }),
    DRAWBRIDGE_TOTP_KEY: text({ default: undefined, desc: 'base64 AES-256 key sealing TOTP secrets' }),
    COOKIE_SECURE: boolean({ default: true, desc: 'session cookies only over https' }),
    DEV_MAILBOX: boolean({
      default: undefined,
      desc: 'serve every email at /v1/dev/mailbox (embedded only)',
    }),
    SESSION_IDLE_MINUTES: wholeNumber(1, 1440)({ default: 30, desc: 'a session ends after this idle' }),
    SESSION_ABSOLUTE_HOURS: wholeNumber(
      1,
      720,
    )({ default: 12, desc: 'a session ends after this in any case' }),
    SECURITY_CHANGE_LOCK_HOURS: wholeNumber(
      1,
      720,
    )({ default: 24, desc: 'withdrawals pause after a security change' }),
    SMTP_URL: smtpUrl({ default: undefined, desc: 'smtp:// or smtps:// relay for email' }),
    MAIL_FROM: text({ default: 'Drawbridge <security@drawbridge.local>', desc: 'the From of every email' }),
    WEBHOOK_ALLOWED_HOSTS: hostList({ default: [], desc: 'hosts webhook receivers may use (https)' }),
    ALLOW_LOOPBACK_WEBHOOKS: boolean({
      default: embedded,
      desc: 'also allow receivers on 127.0.0.1/localhost',
    }),
    RELEASE_SIGNING_KEY: text({ default: undefined, desc: 'base64 Ed25519 seed signing releases' }),
    MONITOR: oneOf(['embedded', 'external'] as const)({
      default: 'embedded',
      desc: 'embedded: the server runs the monitor; external: `drawbridge monitor` runs it apart',
    }),
    MONITOR_SIGNING_KEY: text({ default: undefined, desc: "base64 Ed25519 seed of the monitor's verdicts" }),
    MONITOR_PUBLIC_KEY: text({
      default: undefined,
      desc: "with MONITOR=external: the monitor's Ed25519 public key (SPKI PEM)",
    }),
    MONITOR_HALT_SCOPE: oneOf(['global', 'asset', 'account'] as const)({
      default: 'global',
      desc: "what the monitor halts on a critical finding: everything, the asset's or the account's withdrawals",
    }),
    MONITOR_MAX_LAG_SECONDS: wholeNumber(
      1,
      3600,
    )({
      default: 30,
      desc: 'a due withdrawal without a verdict for longer raises an alert',
    }),
    MONITOR_VOLUME_WINDOW_SECONDS: wholeNumber(
      60,
      604_800,
    )({ default: 3600, desc: 'the circuit breaker weighs the volume released in this last window' }),
    MONITOR_VOLUME_BASELINE_WINDOWS: wholeNumber(
      1,
      720,
    )({ default: 24, desc: 'against the mean of this many windows before it' }),
    MONITOR_VOLUME_MULTIPLE: wholeNumber(
      1,
      1000,
    )({ default: 5, desc: 'the window may reach this many times the baseline before the asset is halted' }),
    MONITOR_VOLUME_FLOOR_USD: usdText({
      default: '100000.00',
      desc: 'a window worth no more than this USD value never trips the breaker',
    }),
    CANCEL_WINDOW_SECONDS: wholeNumber(
      1,
      604_800,
    )({ default: 120, desc: 'a confirmed withdrawal waits this' }),
    FIRST_USE_CANCEL_WINDOW_SECONDS: wholeNumber(
      1,
      604_800,
    )({
      default: 600,
      desc: 'the first withdrawal to an address waits this',
    }),
    DAILY_LIMIT_USD: wholeNumber(1, 1_000_000_000)({ default: 50000, desc: 'USD per 24 h before review' }),
    REVIEW_TWO_ANALYST_USD: usdText({
      default: '10000.00',
      desc: 'approving a held withdrawal above this USD value takes two different operators',
    }),
    SIMULATED_CONFIRMATIONS: wholeNumber(1, 1000)({ default: 3, desc: 'the simulated chain confirms after' }),
    SIMULATED_BLOCK_MS: wholeNumber(
      1,
      3_600_000,
    )({ default: 1000, desc: 'the simulated chain makes a block every' }),
    CUSTODY_SIGNER: oneOf(['simulated', 'webhook'] as const)({
      default: 'simulated',
      desc: 'who signs releases',
    }),
    CUSTODY_WEBHOOK_URL: text({ default: undefined, desc: 'with webhook: where instructions are POSTed' }),
    CUSTODY_WEBHOOK_SECRET: text({ default: undefined, desc: 'with webhook: signs instructions' }),
    CUSTODY_CALLBACK_SECRET: text({ default: undefined, desc: 'with webhook: signs callbacks' }),
    CUSTODY_WEBHOOK_TIMEOUT_SECONDS: wholeNumber(
      1,
      60,
    )({ default: 10, desc: 'with webhook: an instruction waits' }),
    WITHDRAWAL_FEES: feeTable({ default: DEFAULT_FEES, desc: 'ASSET:network=fee,... in the asset unit' }),
    CONFIRMATION_WINDOW_SECONDS: wholeNumber(
      30,
      3600,
    )({ default: 300, desc: 'a request waits for its proof' }),
    PRICE_SOURCE: oneOf(['simulated', 'http', 'none'] as const)({
      default: embedded ? 'simulated' : 'none',
      desc: 'simulated demo prices, http (a JSON ticker at PRICE_SOURCE_URL), or none (you record them)',
    }),
    DRAWBRIDGE_TEST_CLOCK: boolean({
      default: false,
      desc: 'tests only (NODE_ENV=test, embedded): POST /__test__/clock moves the server clock forward',
    }),
    PRICE_SOURCE_URL: httpUrl({
      default: undefined,
      desc: 'with http: GET answers {"BTC": "60123.45", ...}',
    }),
  };
}

type Variables = ReturnType<typeof variables>;
export type VariableName = keyof Variables;

/** Variables whose empty value means "not set" (an optional URL, key or list); any other empty value is refused. */
const EMPTY_IS_UNSET: ReadonlySet<string> = new Set([
  'DATABASE_URL',
  'PUBLIC_URL',
  'SMTP_URL',
  'DRAWBRIDGE_TOTP_KEY',
  'RELEASE_SIGNING_KEY',
  'MONITOR_SIGNING_KEY',
  'MONITOR_PUBLIC_KEY',
  'WITHDRAWAL_FEES',
  'DEV_MAILBOX',
  'WEBHOOK_ALLOWED_HOSTS',
  'CUSTODY_SIGNER',
  'CUSTODY_WEBHOOK_URL',
  'CUSTODY_WEBHOOK_SECRET',
  'CUSTODY_CALLBACK_SECRET',
  'CUSTODY_WEBHOOK_TIMEOUT_SECONDS',
  'PRICE_SOURCE',
  'LOG_FORMAT',
]);

/** The environment's values for our variables (nothing else is read). */
function ourValues(env: NodeJS.ProcessEnv): Record<string, string> {
  const values: Record<string, string> = {};
  for (const name of Object.keys(variables({}))) {
    const value = env[name];
    if (value === undefined || (value === '' && EMPTY_IS_UNSET.has(name))) continue;
    values[name] = value;
  }
  return values;
}

/**
 * Parses the environment once at start. Anything wrong is one DomainError naming the variable (the CLI prints
 * it as one line and exits), before anything is created on disk.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const raw = ourValues(env);
  const specs = variables(raw);
  const e = cleanEnv(raw, specs, {
    reporter: ({ errors }) => {
      // The first wrong variable in the order above, said in the parser's own words.
      const name = (Object.keys(specs) as VariableName[]).find((n) => errors[n] !== undefined);
      if (name !== undefined) throw invalidInput(name, errors[name]?.message ?? 'is not valid');
    },
  });
  const dataDir = resolve(e.DRAWBRIDGE_DATA_DIR);
  // localhost, not 127.0.0.1: a browser refuses an IP address as a WebAuthn relying-party id, so passkeys work on
  // the embedded default's own URL (the server still listens on HOST).
  const publicUrl = e.PUBLIC_URL ?? `http://localhost:${e.PORT}`;
  const databaseUrl = e.DATABASE_URL;
  const testClock = testClockOf(e.DRAWBRIDGE_TEST_CLOCK, env.NODE_ENV, databaseUrl);
  return Object.freeze({
    host: e.HOST,
    port: e.PORT,
    dataDir,
    databaseUrl,
    sqlitePath: join(dataDir, 'drawbridge.db'),
    logLevel: e.LOG_LEVEL,
    logFormat: e.LOG_FORMAT,
    bodyLimitBytes: e.BODY_LIMIT_BYTES,
    requestTimeoutMs: e.REQUEST_TIMEOUT_SECONDS * 1000,
    keepAliveTimeoutMs: e.KEEP_ALIVE_TIMEOUT_SECONDS * 1000,
    publicUrl,
    rpId: e.WEBAUTHN_RP_ID ?? new URL(publicUrl).hostname,
    rpOrigins: (e.WEBAUTHN_ORIGINS ?? new URL(publicUrl).origin).split(',').map((o) => o.trim()),
    totpKey: e.DRAWBRIDGE_TOTP_KEY,
    cookieSecure: e.COOKIE_SECURE,
    devMailbox: devMailbox(e.DEV_MAILBOX, databaseUrl, e.SMTP_URL),
    sessionIdleMs: e.SESSION_IDLE_MINUTES * 60_000,
    sessionAbsoluteMs: e.SESSION_ABSOLUTE_HOURS * 3_600_000,
    securityChangeLockMs: e.SECURITY_CHANGE_LOCK_HOURS * 3_600_000,
    smtpUrl: e.SMTP_URL,
    mailFrom: e.MAIL_FROM,
    webhookAllowedHosts: e.WEBHOOK_ALLOWED_HOSTS,
    allowLoopbackWebhooks: e.ALLOW_LOOPBACK_WEBHOOKS,
    releaseSigningKey: e.RELEASE_SIGNING_KEY,
    monitor: {
      ...monitorOf(e.MONITOR, e.MONITOR_SIGNING_KEY, e.MONITOR_PUBLIC_KEY, e.MONITOR_MAX_LAG_SECONDS),
      haltScope: e.MONITOR_HALT_SCOPE,
      volumeBreaker: {
        windowMs: e.MONITOR_VOLUME_WINDOW_SECONDS * 1000,
        baselineWindows: e.MONITOR_VOLUME_BASELINE_WINDOWS,
        multiple: e.MONITOR_VOLUME_MULTIPLE,
        floorUsd: e.MONITOR_VOLUME_FLOOR_USD,
      },
    },
    cancelWindowMs: e.CANCEL_WINDOW_SECONDS * 1000,
    firstUseCancelWindowMs: e.FIRST_USE_CANCEL_WINDOW_SECONDS * 1000,
    dailyLimitUsd: BigInt(e.DAILY_LIMIT_USD),
    reviewTwoAnalystUsd: e.REVIEW_TWO_ANALYST_USD,
    simulatedConfirmations: e.SIMULATED_CONFIRMATIONS,
    simulatedBlockMs: e.SIMULATED_BLOCK_MS,
    custody: custodyOf(e),
    withdrawalFees: e.WITHDRAWAL_FEES,
    confirmationWindowMs: e.CONFIRMATION_WINDOW_SECONDS * 1000,
    priceSource: priceSourceOf(e.PRICE_SOURCE, e.PRICE_SOURCE_URL),
    testClock,
  });
}

/**
 * A clock anyone on the port can move forward would let a caller skip every cooling period and lock, so it is on
 * only when asked for under NODE_ENV=test on the embedded SQLite default, and refused loudly otherwise.
 */
function testClockOf(given: boolean, nodeEnv: string | undefined, databaseUrl: string | undefined): boolean {
  if (!given) return false;
  if (nodeEnv !== 'test')
    throw invalidInput('DRAWBRIDGE_TEST_CLOCK', 'is for tests only: it needs NODE_ENV=test');
  if (databaseUrl !== undefined)
    throw invalidInput('DRAWBRIDGE_TEST_CLOCK', 'cannot be on with DATABASE_URL (tests only, embedded)');
  return true;
}

/**
 * The effective configuration, for `drawbridge config`: each variable with its value (secrets and the passwords
 * of URLs masked), whether it came from the environment or is the default, and what it is for. Validates first,
 * so a bad value is refused here exactly as at start.
 */
export function describeConfig(env: NodeJS.ProcessEnv = process.env) {
  loadConfig(env);
  const raw = ourValues(env);
  const specs = variables(raw);
  const e = cleanEnv(raw, specs);
  return Object.fromEntries(
    (Object.keys(specs) as VariableName[]).map((name) => {
      const spec = specs[name] as { desc?: string };
      const value = e[name] as unknown;
      return [
        name,
        {
          value: value === undefined ? null : SECRETS.has(name) ? '********' : shown(value),
          from: raw[name] === undefined ? 'default' : 'environment',
          about: spec.desc ?? '',
        },
      ];
    }),
  );
}

function shown(value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'string' && /^[a-z]+:\/\/[^/]*@/.test(value)) {
    const url = new URL(value);
    if (url.password !== '') url.password = '****';
    return url.toString();
  }
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, shown(v)]));
  }
  return value;
}

// The parsers. Each says what is wrong in a few words; the reporter names the variable.

/** Shown masked by `drawbridge config`: keys, signing secrets, and URLs that carry a password. */
const SECRETS: ReadonlySet<string> = new Set([
  'DRAWBRIDGE_TOTP_KEY',
  'RELEASE_SIGNING_KEY',
  'MONITOR_SIGNING_KEY',
  'CUSTODY_WEBHOOK_SECRET',
  'CUSTODY_CALLBACK_SECRET',
]);

const text = makeValidator<string>((input) => {
  if (input.includes('\0')) throw new Error('must not contain a NUL byte');
  return input;
});

function wholeNumber(min: number, max: number) {
  return makeValidator<number>((input) => {
    if (!/^[0-9]{1,10}$/.test(input)) throw new Error('must be a whole number');
    const value = Number(input);
    if (value < min || value > max) throw new Error(`must be from ${min} to ${max}`);
    return value;
  });
}

/** Exact US dollars as a decimal string ("10000.00"), at most 2 decimals; kept as text, never a JS number. */
const usdText = makeValidator<string>((input) => {
  if (!/^(0|[1-9][0-9]{0,14})(\.[0-9]{1,2})?$/.test(input))
    throw new Error('must be a USD amount as a decimal string, like 10000.00 (at most 2 decimals)');
  return input;
});

function oneOf<const T extends readonly string[]>(choices: T) {
  return makeValidator<T[number]>((input) => {
    if (!(choices as readonly string[]).includes(input))
      throw new Error(`must be one of ${choices.join(', ')}`);
    return input as T[number];
  });
}

const boolean = makeValidator<boolean>((input) => {
  if (input === 'true' || input === '1') return true;
  if (input === 'false' || input === '0') return false;
  throw new Error('must be true or false');
});

/**
 * A URL of one of `schemes`, refused in `expected`'s words otherwise (a scheme not allowed is named, after
 * neutralising it), and given back as `keep` says: the whole text, its normalised form, or its origin.
 */
function urlOf(schemes: readonly string[], expected: string, keep: 'text' | 'href' | 'origin') {
  return makeValidator<string>((input) => {
    let url: URL;
    try {
      url = new URL(input);
    } catch {
      throw new Error(`must be ${expected}`);
    }
    if (!schemes.includes(url.protocol)) {
      const given = url.protocol.replace(/[^a-z0-9+.-]/gi, '');
      throw new Error(`must be ${expected} (${given} is not supported)`);
    }
    return keep === 'origin' ? url.origin : keep === 'href' ? url.toString() : input;
  });
}

const httpOrigin = urlOf(['http:', 'https:'], 'an http(s) URL', 'origin');
const httpUrl = urlOf(['http:', 'https:'], 'an http(s) URL', 'href');
const postgresUrl = urlOf(['postgres:', 'postgresql:'], 'a postgres:// URL', 'text');
const smtpUrl = urlOf(['smtp:', 'smtps:'], 'an smtp:// or smtps:// URL', 'text');

const hostList = makeValidator<readonly string[]>((input) =>
  input
    .split(',')
    .map((h) => h.trim())
    .filter((h) => h !== ''),
);

const feeTable = makeValidator<FeeSchedule>((input) => {
  try {
    return parseFeeSchedule(input, 'WITHDRAWAL_FEES');
  } catch (error) {
    if (error instanceof DomainError) throw new Error(error.message);
    throw error;
  }
});

function monitorOf(
  mode: 'embedded' | 'external',
  signingKey: string | undefined,
  publicKey: string | undefined,
  maxLagSeconds: number,
): MonitorConfig {
  const maxLagMs = maxLagSeconds * 1000;
  if (mode === 'embedded') {
    if (publicKey !== undefined)
      throw invalidInput('MONITOR_PUBLIC_KEY', 'is only for MONITOR=external (embedded, the key is its own)');
    return { mode, signingKey, maxLagMs };
  }
  if (publicKey === undefined)
    throw invalidInput('MONITOR_PUBLIC_KEY', "is required with MONITOR=external: the monitor's public key");
  try {
    const key = createPublicKey(publicKey);
    if (key.asymmetricKeyType !== 'ed25519') throw new Error('not Ed25519');
  } catch {
    throw invalidInput('MONITOR_PUBLIC_KEY', 'must be an Ed25519 public key in SPKI PEM');
  }
  return { mode, publicKeyPem: publicKey, signingKey, maxLagMs };
}

function priceSourceOf(kind: 'simulated' | 'http' | 'none', url: string | undefined): Config['priceSource'] {
  if (kind !== 'http') {
    if (url !== undefined) throw invalidInput('PRICE_SOURCE_URL', 'is only used with PRICE_SOURCE=http');
    return { kind };
  }
  if (url === undefined) throw invalidInput('PRICE_SOURCE_URL', 'is required with PRICE_SOURCE=http');
  return { kind, url };
}

function devMailbox(
  given: boolean | undefined,
  databaseUrl: string | undefined,
  smtp: string | undefined,
): boolean {
  if (databaseUrl !== undefined) {
    if (given === true) {
      throw invalidInput(
        'DEV_MAILBOX',
        "cannot be on with DATABASE_URL: it shows every customer's codes and lock links to anyone",
      );
    }
    return false;
  }
  return given ?? smtp === undefined;
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
function custodyOf(e: CleanedEnv<Variables>): CustodyConfig {
  const given = (name: (typeof CUSTODY_WEBHOOK_ONLY)[number]) =>
    name === 'CUSTODY_WEBHOOK_TIMEOUT_SECONDS'
      ? e.CUSTODY_WEBHOOK_TIMEOUT_SECONDS !== 10
      : e[name] !== undefined;
  if (e.CUSTODY_SIGNER === 'simulated') {
    const stray = CUSTODY_WEBHOOK_ONLY.find(given);
    if (stray !== undefined) {
      throw invalidInput(
        stray,
        'is only used with CUSTODY_SIGNER=webhook (the simulated signer is configured)',
      );
    }
    return { signer: 'simulated' };
  }
  const {
    CUSTODY_WEBHOOK_URL: target,
    CUSTODY_WEBHOOK_SECRET: secret,
    CUSTODY_CALLBACK_SECRET: callbackSecret,
  } = e;
  if (target === undefined)
    throw invalidInput('CUSTODY_WEBHOOK_URL', 'is required with CUSTODY_SIGNER=webhook');
  if (secret === undefined)
    throw invalidInput('CUSTODY_WEBHOOK_SECRET', 'is required with CUSTODY_SIGNER=webhook');
  if (callbackSecret === undefined) {
    throw invalidInput('CUSTODY_CALLBACK_SECRET', 'is required with CUSTODY_SIGNER=webhook');
  }
  let url: string;
  try {
    url = checkWebhookUrl(
      destinationPolicy({ allowedHosts: e.WEBHOOK_ALLOWED_HOSTS, allowLoopback: e.ALLOW_LOOPBACK_WEBHOOKS }),
      target,
    );
  } catch (error) {
    if (error instanceof DomainError && error.field === 'url') {
      throw invalidInput('CUSTODY_WEBHOOK_URL', error.message);
    }
    throw error;
  }
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
  return {
    signer: 'webhook',
    url,
    secret,
    callbackSecret,
    timeoutMs: e.CUSTODY_WEBHOOK_TIMEOUT_SECONDS * 1000,
  };
}
