import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { composeCustody, composeMonitor, composeServices } from '../../composition.ts';
import { loadConfig } from '../../config.ts';
import { ManualClock } from '../../core/clock.ts';
import { DomainError, invalidInput } from '../../core/errors.ts';
import { simulatedIds, withIdSource } from '../../core/ids.ts';
import { bootstrap, type OperatorActor } from '../../services/identity/acting-operator.ts';
import { createOperator } from '../../services/identity/operators.ts';
import { hashPassword } from '../../services/identity/passwords.ts';
import { openDatabase } from '../../store/database.ts';
import { migrateToLatest } from '../../store/migrate.ts';
import { seededRandom } from '../seeded-random.ts';
import { type AttackPhaseResult, runAttackPhase } from './attack-phase.ts';
import { checkLines, closingRows, textTable } from './closing-table.ts';
import { runPlaybookPhase } from './playbook-phase.ts';
import { DEFAULT_ACCOUNTS, INCIDENT_2022, MAX_ACCOUNTS } from './scenario.ts';

/**
 * `drawbridge simulate incident-2022`: a fresh embedded database under `outDir`, a simulated clock on 17 January
 * 2022, the attack phase (population, ordinary traffic, the attack, the monitor's halt) and the playbook phase
 * (incident, marking, freeze, containment, revocation, losses, reimbursement, two-person resume, the report), then
 * the checks and the closing table beside the 2022 figures.
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
    // Ids from the simulated clock and the seed (never the secure generator's), so a seed gives the same report.
    const idRandom = seededRandom(seed ^ 0x1d5eed);
    const ids = simulatedIds(
      () => clock.now().getTime(),
      () => idRandom.int(2 ** 32),
    );
    return await withIdSource(ids, async () => {
      const context = await composeServices(config, database, clock);
      const monitor = await composeMonitor(config, context);
      const custody = composeCustody(config, context, clock);
      // The first operator is made by the bootstrap, the others by that admin, as on a real installation.
      const created = await createOperator(context, bootstrap('replay'), {
        email: 'admin@replay.example',
        role: 'admin',
      });
      const admin: OperatorActor = { kind: 'operator', id: created.id, role: 'admin' };
      const commanderNamed = async (email: string): Promise<OperatorActor> => {
        const made = await createOperator(context, admin, { email, role: 'incident_commander' });
        return { kind: 'operator', id: made.id, role: 'incident_commander' };
      };
      const commander = await commanderNamed('commander@replay.example');
      const second = await commanderNamed('second-commander@replay.example');
      const progress = options.progress ?? (() => {});
      const attack = await runAttackPhase(
        context,
        clock,
        monitor,
        custody,
        { recorder: admin, approver: commander },
        {
          accounts,
          random: seededRandom(seed),
          passwordHash: await hashPassword('replay customer passphrase'),
          progress,
        },
      );
      const playbook = await runPlaybookPhase(
        context,
        clock,
        monitor,
        custody,
        { commander, second, admin },
        attack,
        outDir,
        progress,
      );
      const table = textTable(closingRows(playbook.report));
      const summary = {
        ...summaryOf(attack, accounts, seed),
        incident_id: playbook.incidentId,
        reimbursement: playbook.reimbursement,
        report: playbook.report.summary,
        checks: playbook.checks,
        files: playbook.files,
      };
      writeFileSync(join(outDir, 'replay.json'), `${JSON.stringify(summary, null, 2)}\n`);
      return {
        out: outDir,
        ...summary,
        ok: playbook.checks.every((c) => c.ok),
        text: `${table}\n\nReimbursement: ${playbook.reimbursement}.\n\n${checkLines(playbook.checks)}\n`,
      };
    });
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
  };
}
