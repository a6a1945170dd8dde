import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { composeCustody, composeMonitor, composeServices } from '../../composition.ts';
import { loadConfig } from '../../config.ts';
import { ManualClock } from '../../core/clock.ts';
import { DomainError, invalidInput } from '../../core/errors.ts';
import { bootstrap, type OperatorActor } from '../../services/identity/acting-operator.ts';
import { createOperator } from '../../services/identity/operators.ts';
import { hashPassword } from '../../services/identity/passwords.ts';
import { openDatabase } from '../../store/database.ts';
import { migrateToLatest } from '../../store/migrate.ts';
import { seededRandom } from '../seeded-random.ts';
import { type AttackPhaseResult, runAttackPhase } from './attack-phase.ts';
import { DEFAULT_ACCOUNTS, INCIDENT_2022, MAX_ACCOUNTS } from './scenario.ts';

/**
 * `drawbridge simulate incident-2022`: a fresh embedded database under `outDir`, a simulated clock on 17 January
 * 2022, and the replay's first phase (population, ordinary traffic, the attack, the monitor's halt). The playbook
 * phase (incident, containment, revocation, losses, reimbursement, resume, report) is not here yet.
 */

export interface ReplayOptions {
  readonly accounts?: unknown;
  readonly seed?: unknown;
  readonly outDir?: unknown;
  readonly progress?: (step: string, done: number, total: number) => void;
}

function wholeNumber(field: string, value: unknown, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  const n = typeof value === 'string' && /^[0-9]{1,9}$/.test(value) ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < min || n > max) {
    throw invalidInput(field, `must be a whole number ${min}..${max}`);
  }
  return n;
}

export async function replayIncident2022(options: ReplayOptions) {
  const accounts = wholeNumber('accounts', options.accounts, DEFAULT_ACCOUNTS, 2, MAX_ACCOUNTS);
  const seed = wholeNumber('seed', options.seed, 1, 0, 2 ** 31 - 1);
  if (options.outDir !== undefined && typeof options.outDir !== 'string')
    throw invalidInput('out', 'must be a path');
  const outDir = resolve(options.outDir ?? 'incident-2022');
  const dataDir = join(outDir, 'data');
  if (existsSync(join(dataDir, 'drawbridge.db'))) {
    throw new DomainError(
      'ALREADY_EXISTS',
      `${outDir} already holds a replay: the replay starts from a fresh database`,
      {
        field: 'out',
      },
    );
  }
  mkdirSync(dataDir, { recursive: true });
  // The embedded default, never a configured PostgreSQL: the replay must not write into a real installation.
  const config = loadConfig({ DRAWBRIDGE_DATA_DIR: dataDir, MONITOR_HALT_SCOPE: 'global' });
  const database = openDatabase({ engine: 'sqlite', path: config.sqlitePath, backgroundCheckpoints: false });
  try {
    await migrateToLatest(database);
    const clock = new ManualClock(INCIDENT_2022.start);
    const context = await composeServices(config, database, clock);
    const monitor = await composeMonitor(config, context);
    const custody = composeCustody(config, context, clock);
    const created = await createOperator(context, bootstrap('replay'), {
      email: 'admin@replay.example',
      role: 'admin',
    });
    const admin: OperatorActor = { kind: 'operator', id: created.id, role: 'admin' };
    const result = await runAttackPhase(context, clock, monitor, custody, admin, {
      accounts,
      random: seededRandom(seed),
      passwordHash: await hashPassword('replay customer passphrase'),
      ...(options.progress === undefined ? {} : { progress: options.progress }),
    });
    const summary = summaryOf(result, accounts, seed);
    writeFileSync(join(outDir, 'attack-phase.json'), `${JSON.stringify(summary, null, 2)}\n`);
    return { out: outDir, ...summary };
  } finally {
    await database.close();
  }
}

function summaryOf(result: AttackPhaseResult, accounts: number, seed: number) {
  return {
    seed,
    accounts,
    attacker_accounts: result.victims.length,
    ordinary_withdrawals: result.genuine,
    forged_approvals: result.forged.length,
    first_forged_at: result.firstForgedAt,
    halted_at: result.haltedAt,
    detection_ms: result.detectionMs,
    forged_released: result.forgedReleased,
    published_2022: INCIDENT_2022.published,
    not_yet: 'the playbook phase (incident, containment, revocation, losses, reimbursement, resume, report)',
  };
}
