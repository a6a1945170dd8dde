// `npm run client`: builds the app in-process (no port, no database file), takes its OpenAPI document and writes
//   src/client/openapi.json   the document, as GET /openapi.json serves it
//   src/client/schema.d.ts    its types, by openapi-typescript, for the typed client in src/client/index.ts
// Both are checked in; test/integrators/client-up-to-date.test.ts regenerates them and fails when they differ, so
// after changing a route schema run `npm run client` and commit what it wrote.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import openapiTS, { astToString, COMMENT_HEADER, type OpenAPI3 } from 'openapi-typescript';
import { selfReportedAttestation } from '../src/adapters/device-attestation.ts';
import { ManualClock } from '../src/core/clock.ts';
import { usdFromWholeDollars } from '../src/core/money/usd.ts';
import { DEFAULT_FEES } from '../src/core/withdrawals/fees.ts';
import { buildApp } from '../src/http/app.ts';
import { DEFAULT_SECURITY_SETTINGS } from '../src/services/context.ts';
import { openDatabase } from '../src/store/database.ts';

export const CLIENT_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'src', 'client');

/**
 * The document of the routes an integrator can meet: every route of a production server, the custody callback
 * included (it exists with CUSTODY_SIGNER=webhook), the dev mailbox not (never on in production). Registering the
 * routes reads nothing, so an empty in-memory database and throwaway keys do.
 */
export async function openApiDocument(): Promise<OpenAPI3> {
  const database = openDatabase({ engine: 'sqlite', path: ':memory:' });
  try {
    const app = await buildApp({
      logLevel: 'silent',
      devMailbox: false,
      custodyCallbackSecret: `whsec_${randomBytes(32).toString('base64')}`,
      context: {
        database,
        clock: new ManualClock('2026-01-01T00:00:00.000Z'),
        settings: DEFAULT_SECURITY_SETTINGS,
        totpKey: randomBytes(32),
        deviceAttestation: selfReportedAttestation,
        releaseKey: generateKeyPairSync('ed25519').privateKey,
        monitorPublicKey: generateKeyPairSync('ed25519').publicKey,
        monitorMaxLagMs: 30_000,
        withdrawals: {
          confirmationWindowMs: 5 * 60_000,
          cancelWindowMs: 2 * 60_000,
          firstUseCancelWindowMs: 10 * 60_000,
          dailyLimitUsd: usdFromWholeDollars(50_000n),
          reviewTwoAnalystUsd: usdFromWholeDollars(10_000n),
          fees: DEFAULT_FEES,
        },
      },
    });
    try {
      await app.ready();
      // A copy through JSON: what a client fetching /openapi.json would get, without the in-memory references.
      return JSON.parse(JSON.stringify(app.swagger())) as OpenAPI3;
    } finally {
      await app.close();
    }
  } finally {
    await database.close();
  }
}

/** The two generated files' contents, by file name. */
export async function generatedClientFiles(): Promise<Record<'openapi.json' | 'schema.d.ts', string>> {
  const document = await openApiDocument();
  const schema = astToString(await openapiTS(document, { silent: true }));
  return {
    'openapi.json': `${JSON.stringify(document, null, 2)}\n`,
    'schema.d.ts': `${COMMENT_HEADER.replace(
      'Do not make direct changes to the file.',
      'Do not make direct changes to the file: run `npm run client` (scripts/generate-client.ts).',
    )}${schema}`,
  };
}

export async function writeClientFiles(dir = CLIENT_DIR): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const written: string[] = [];
  for (const [name, contents] of Object.entries(await generatedClientFiles())) {
    const path = join(dir, name);
    await writeFile(path, contents);
    written.push(path);
  }
  return written;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  for (const path of await writeClientFiles(process.argv[2] ?? CLIENT_DIR)) console.log(`wrote ${path}`);
}
