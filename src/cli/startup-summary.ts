import type { Config } from '../config.ts';
import type { DemoCredentials } from '../services/demo-seed.ts';

/**
 * What a person starting the server needs to know, in a few lines: where the data is, who signs, where mail goes,
 * the URL, and for a demo just seeded its credentials and the first things to try. Written to stderr, so stdout
 * stays the log stream; never a secret but the demo's own credentials, shown once.
 */
export function startupSummary(input: {
  readonly version: string;
  readonly config: Config;
  readonly url: string;
  readonly demo: DemoCredentials | undefined;
  /** Whether the console's bundle is built and served at `/`. */
  readonly console?: boolean;
}): string {
  const { config, url, demo } = input;
  const database =
    config.databaseUrl === undefined
      ? `SQLite at ${config.sqlitePath}`
      : `PostgreSQL at ${postgresWhere(config.databaseUrl)}`;
  const custody =
    config.custody.signer === 'simulated'
      ? `simulated chain and signer (${config.simulatedConfirmations} confirmations, a block every ${config.simulatedBlockMs} ms)`
      : `webhook signer at ${new URL(config.custody.url).origin}`;
  const mail = config.devMailbox
    ? `dev mailbox (every email at ${url}/v1/dev/mailbox?to=<address>)`
    : config.smtpUrl === undefined
      ? 'SMTP_URL unset: emails wait in the outbox'
      : `SMTP via ${new URL(config.smtpUrl).host}`;
  const lines = [
    `Drawbridge ${input.version} on ${url}`,
    `  database  ${database}`,
    `  custody   ${custody}`,
    `  monitor   ${
      config.monitor.mode === 'embedded'
        ? `independent monitor running here (its own key; a critical finding halts ${config.monitor.haltScope === 'global' ? 'every withdrawal' : `the ${config.monitor.haltScope}`})`
        : 'external (drawbridge monitor); this server holds only its public key'
    }`,
    `  mail      ${mail}`,
    `  prices    ${
      config.priceSource.kind === 'simulated'
        ? 'simulated source, refreshed every minute'
        : config.priceSource.kind === 'http'
          ? `${new URL(config.priceSource.url).origin}, asked every minute`
          : 'recorded by you (PRICE_SOURCE=none)'
    }`,
    `  API       ${url}/openapi.json`,
    input.console === true
      ? `  console   ${url}/ (customers) and ${url}/operator (operators)`
      : '  console   not built (npm run build:console): the API only',
  ];
  if (config.testClock)
    lines.push('  clock     TEST CLOCK: POST /__test__/clock moves it (NODE_ENV=test only)');
  if (demo !== undefined) {
    const { customer } = demo;
    lines.push(
      '',
      'A demo was seeded (its credentials are shown this once):',
      `  customer   ${customer.email}  password ${customer.password}`,
      `             authenticator secret ${customer.totp_secret} (add it to an app, or: npx drawbridge totp ${customer.totp_secret})`,
      `             address "Cold wallet" ${customer.cooled_destination_id} has cooled; "New exchange account" cools for 24 h`,
      ...demo.operators.map(
        (o) =>
          `  ${o.role.padEnd(10)} ${o.email}  password ${o.password}  authenticator secret ${o.totp_secret}`,
      ),
      '',
      'Try (the README walks through each step):',
      `  1. sign in:   curl -s ${url}/v1/auth/login -H 'content-type: application/json' \\`,
      `                  -d '{"email":"${customer.email}","password":"${customer.password}","proof":{"method":"totp","code":"'$(npx drawbridge totp ${customer.totp_secret})'"}}'`,
      `  2. withdraw:  POST ${url}/v1/withdrawals {"asset":"BTC","network":"bitcoin","amount":"0.01","destination_id":"${customer.cooled_destination_id}"}`,
      '                then POST /v1/withdrawals/{id}/confirm with a code bound to it',
      `  3. watch it:  GET ${url}/v1/withdrawals/{id} (queued, released, broadcast, completed) and the dev mailbox`,
    );
  }
  return `${lines.join('\n')}\n`;
}

/** host:port/database of a PostgreSQL URL, never its password. */
function postgresWhere(databaseUrl: string): string {
  try {
    const parsed = new URL(databaseUrl);
    return `${parsed.host}${parsed.pathname}`;
  } catch {
    return '(DATABASE_URL)';
  }
}
