import { join } from 'node:path';
import { systemClock } from '../src/core/clock.ts';
import { assert } from '../src/core/errors.ts';
import type { Engine } from '../src/store/database.ts';
import { type Account, createLedger } from '../src/store/ledger/index.ts';
import { freshDatabase, testEngines } from '../test/support/engines.ts';
import { type FloorLoop, postgresFloor, sqliteFloor } from './ledger-floor.ts';
import {
  type Benchmark,
  type BenchmarkResult,
  compare,
  type Figure,
  type MeasureOptions,
} from './measure.ts';

/*
 * Hold-then-post pairs per second through src/store/ledger, one client, each hold and each post
 * its own transaction, beside the floor in ledger-floor.ts measured in the same run. The gap is
 * what Kysely and the ledger's own code cost per pair.
 */

const TARGET_RATIO = 0.5;
const FUNDING = 10n ** 30n;

export const ledgerBenchmark: Benchmark = {
  name: 'ledger',
  async run(options: MeasureOptions): Promise<BenchmarkResult> {
    const figures: Figure[] = [];
    const notes: string[] = [];
    for (const { engine, skip } of await testEngines()) {
      if (skip !== undefined) {
        notes.push(`${engine} skipped: ${skip}`);
        continue;
      }
      figures.push(await holdThenPost(engine, options));
    }
    return { figures, notes };
  },
};

async function holdThenPost(engine: Engine, options: MeasureOptions): Promise<Figure> {
  const fresh = await freshDatabase(engine, { poolSize: 2 });
  let floor: FloorLoop | undefined;
  try {
    const ledger = createLedger(fresh.database, systemClock);
    const open = async (owner: string): Promise<[Account, Account]> => {
      const customer = await ledger.openAccount({
        ownerId: owner,
        asset: 'BTC',
        kind: 'customer',
        debitsMustNotExceedCredits: true,
      });
      const custody = await ledger.openAccount({
        ownerId: `${owner}-platform`,
        asset: 'BTC',
        kind: 'custody',
        debitsMustNotExceedCredits: false,
      });
      await ledger.transfer({
        id: `${owner}-funding`,
        debitAccountId: custody.id,
        creditAccountId: customer.id,
        asset: 'BTC',
        amount: FUNDING,
        code: 'deposit',
      });
      return [customer, custody];
    };
    const [customer, custody] = await open('ours');
    const [floorCustomer, floorCustody] = await open('floor');
    floor =
      engine === 'sqlite'
        ? sqliteFloor(
            join(fresh.env.DRAWBRIDGE_DATA_DIR!, 'drawbridge.db'),
            floorCustomer.id,
            floorCustody.id,
          )
        : await postgresFloor(fresh.env.DATABASE_URL!, floorCustomer.id, floorCustody.id);

    const ours = async (n: number): Promise<void> => {
      await ledger.placeHold({
        id: `h${n}`,
        debitAccountId: customer.id,
        creditAccountId: custody.id,
        asset: 'BTC',
        amount: 1n,
        code: 'withdrawal',
      });
      await ledger.postHold({ id: `p${n}`, pendingId: `h${n}`, code: 'withdrawal_completed' });
    };
    const result = await compare(ours, floor.loop, options);
    const report = await ledger.conservationReport();
    assert(report.ok, `the benchmark broke the books: ${report.discrepancyCount} discrepancies`);
    return {
      engine,
      case: 'hold then post (pairs/s)',
      opsPerSecond: result.ours.opsPerSecond,
      floorOpsPerSecond: result.floor.opsPerSecond,
      ratio: result.ours.opsPerSecond / result.floor.opsPerSecond,
      target: TARGET_RATIO,
      iterations: result.ours.iterations,
      floorIterations: result.floor.iterations,
    };
  } finally {
    await floor?.close();
    await fresh.drop();
  }
}
