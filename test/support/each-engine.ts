import { after, before, describe } from 'node:test';
import type { AppDeps } from '../../src/http/app.ts';
import type { Engine } from '../../src/store/database.ts';
import { type FreshDatabase, freshDatabase, testEngines } from './engines.ts';
import { type RunningApp, startApp } from './http.ts';

/**
 * "This suite on each engine", the one way a test file says it:
 *
 *   for (const { engine, describeOn } of await eachEngine()) {
 *     describeOn(`identity smoke on ${engine}`, (on) => {
 *       const running = on.app(); // the app on a fresh database, for every test of the suite
 *       test('…', async () => { … running … });
 *     });
 *   }
 *
 * The engines and their skips are testEngines()': under CI=true an unreachable PostgreSQL fails the suite, else
 * skips it with the reason; ONLY_ENGINE narrows the list. What the suite asks its fixture for (`on.database()`,
 * `on.app()`) is made before the suite's own `before` hooks run, and taken down after its own `after` hooks: the
 * app closed, then the database dropped. A suite that asks for nothing gets nothing, and a test that wants a
 * database of its own still makes it with freshDatabase(engine). (A loop rather than one call taking a callback:
 * the tests keep the indentation they had under `for … of await testEngines()`.)
 */
export interface EngineUnderTest {
  readonly engine: Engine;
  /** Why this engine is skipped here, or undefined when it runs. */
  readonly skip: string | undefined;
  /** node:test's describe(title, { skip }, body), with `on` giving the suite its database and app. */
  describeOn(title: string, body: (on: EngineSuite) => void): void;
  /** The same, also skipped for `options.skip` (this engine's own reason wins). */
  describeOn(title: string, options: { skip?: string | undefined }, body: (on: EngineSuite) => void): void;
}

export type SuiteDatabaseOptions = Parameters<typeof freshDatabase>[1];
export type SuiteAppOptions = Omit<AppDeps, 'context'>;

/** What one suite on one engine may ask for; each call is made at most once per suite. */
export interface EngineSuite {
  readonly engine: Engine;
  /** The suite's migrated, empty database (shared by its tests); read it inside hooks and tests. */
  database(options?: SuiteDatabaseOptions): SuiteDatabase;
  /** startApp() on the suite's database: the real app on a loopback port; read it inside hooks and tests. */
  app(options?: SuiteAppOptions): RunningApp;
}

export type SuiteDatabase = Pick<FreshDatabase, 'database' | 'env'>;

export async function eachEngine(): Promise<readonly EngineUnderTest[]> {
  return (await testEngines()).map(({ engine, skip }) => ({
    engine,
    skip,
    describeOn(
      title: string,
      ...rest: [(on: EngineSuite) => void] | [{ skip?: string | undefined }, (on: EngineSuite) => void]
    ) {
      const [options, body] = rest.length === 1 ? [{}, rest[0]] : rest;
      describe(title, { skip: skip ?? options.skip }, () => {
        const suite = new Suite(engine, title);
        before(() => suite.setUp());
        body(suite);
        after(() => suite.tearDown());
      });
    },
  }));
}

class Suite implements EngineSuite {
  #databaseOptions: SuiteDatabaseOptions | undefined;
  #appOptions: SuiteAppOptions | undefined;
  #fresh: FreshDatabase | undefined;
  #running: RunningApp | undefined;

  constructor(
    readonly engine: Engine,
    private readonly title: string,
  ) {}

  database(options: SuiteDatabaseOptions = {}): SuiteDatabase {
    this.#databaseOptions = this.#once(this.#databaseOptions, options, 'on.database()');
    return readThrough(['database', 'env'], () => this.#ready(this.#fresh, 'on.database()'));
  }

  app(options: SuiteAppOptions = {}): RunningApp {
    this.#appOptions = this.#once(this.#appOptions, options, 'on.app()');
    const running = readThrough<RunningApp>(['app', 'url', 'clock', 'context'], () =>
      this.#ready(this.#running, 'on.app()'),
    );
    const close = () =>
      Promise.reject(new Error(`${this.title}: the fixture closes on.app() after the suite`));
    return Object.defineProperty(running, 'close', { value: close });
  }

  async setUp(): Promise<void> {
    if (this.#databaseOptions === undefined && this.#appOptions === undefined) return;
    this.#fresh = await freshDatabase(this.engine, this.#databaseOptions ?? {});
    if (this.#appOptions !== undefined) {
      this.#running = await startApp(this.#fresh.database, this.#appOptions);
    }
  }

  async tearDown(): Promise<void> {
    const running = this.#running;
    const fresh = this.#fresh;
    this.#running = undefined;
    this.#fresh = undefined;
    try {
      await running?.close();
    } finally {
      await fresh?.drop();
    }
  }

  #once<T>(asked: T | undefined, options: T, what: string): T {
    if (asked !== undefined) throw new Error(`${this.title}: ${what} is asked for twice`);
    return options;
  }

  #ready<T>(value: T | undefined, what: string): T {
    if (value === undefined) {
      throw new Error(
        `${this.title}: ${what} is made before the suite's first test; read it in a hook or a test`,
      );
    }
    return value;
  }
}

/** An object whose `keys` read `current()`'s, at the time they are read. */
function readThrough<T extends object>(keys: readonly (keyof T)[], current: () => T): T {
  const view = {} as T;
  for (const key of keys) Object.defineProperty(view, key, { enumerable: true, get: () => current()[key] });
  return view;
}
