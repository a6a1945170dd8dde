import { join, resolve } from 'node:path';
import { invalidInput } from './core/errors.ts';

/** Everything Drawbridge reads from the environment, parsed once at start. */
export interface Config {
  readonly host: string;
  readonly port: number;
  readonly dataDir: string;
  readonly databaseUrl: string | undefined;
  readonly sqlitePath: string;
  readonly logLevel: string;
  readonly bodyLimitBytes: number;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const dataDir = resolve(env.DRAWBRIDGE_DATA_DIR ?? './data');
  return Object.freeze({
    host: env.HOST ?? '127.0.0.1',
    port: parsePort(env.PORT ?? '8080'),
    dataDir,
    databaseUrl: env.DATABASE_URL === '' ? undefined : env.DATABASE_URL,
    sqlitePath: join(dataDir, 'drawbridge.db'),
    logLevel: env.LOG_LEVEL ?? 'info',
    bodyLimitBytes: parsePositiveInt('BODY_LIMIT_BYTES', env.BODY_LIMIT_BYTES ?? '65536'),
  });
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
