import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { sealAudit } from '../../src/store/audit/index.ts';
import type { Database } from '../../src/store/database.ts';
import { coveringHalt } from '../../src/store/halts.ts';
import { insertPrincipal } from '../../src/store/identity/principals.ts';
import { inTransaction } from '../../src/store/transaction.ts';
import { CLI_KEYS, type CliResult, cliContext, cliOperator, runCli } from '../support/cli.ts';
import { eachEngine } from '../support/each-engine.ts';
import { freshDatabase } from '../support/engines.ts';

function json(result: CliResult) {
  assert.equal(result.code, 0, result.stderr);
  return JSON.parse(result.stdout.trim());
}

/** The refusal the CLI prints on stderr for bad input (exit 2). */
function refusal(result: CliResult): { error: string; field?: string; reason: string } {
  assert.equal(result.code, 2, `exit 2 expected: ${result.stdout} ${result.stderr}`);
  return JSON.parse(result.stderr.trim());
}

async function covering(
  database: Database,
  withdrawal: { asset: string; network: string; account_id: string },
) {
  return inTransaction(database, (tx) =>
    coveringHalt(database, tx, {
      asset: withdrawal.asset,
      network: withdrawal.network,
      accountId: withdrawal.account_id,
    }),
  );
}

/** Customer accounts written straight into the database, for halts to name. */
async function customers(database: Database, count: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const principal = await insertPrincipal(database.db, {
      kind: 'customer',
      email: `halted-${i}-${Date.now()}@example.com`,
      passwordHash: 'unused',
      role: null,
      now: new Date().toISOString(),
    });
    ids.push(principal.id);
  }
  return ids;
}

async function countRows(database: Database, table: 'halts' | 'audit_log'): Promise<number> {
  const row = await database.db
    .selectFrom(table)
    .select((eb) => eb.fn.countAll<string | number>().as('n'))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

const KEYS = CLI_KEYS;

for (const { engine, describeOn } of await eachEngine()) {
  describeOn(`drawbridge halt on ${engine}`, () => {
    test('set (global, asset/network, account), list and lift: what the releaser reads, audited as the operator', async () => {
      const fresh = await freshDatabase(engine);
      try {
        const commander = await cliOperator(cliContext(fresh.database), 'incident_commander');
        const env = { ...fresh.env, ...KEYS, ...commander.env };
        const [acct7, acct1] = (await customers(fresh.database, 2)) as [string, string];
        const [global, asset, account] = await Promise.all([
          runCli(['halt', 'set', '--global', '--reason', 'incident 42: stop everything'], env),
          runCli(['halt', 'set', '--asset', 'BTC', '--network', 'bitcoin', '--reason', 'node upgrade'], env),
          runCli(['halt', 'set', '--account', acct7, '--reason', 'account takeover suspected'], env),
        ]);
        const globalHalt = json(global);
        assert.equal(globalHalt.scope, 'global');
        assert.equal(globalHalt.created_by, `operator:${commander.id}`);
        assert.equal(globalHalt.reason, 'incident 42: stop everything');
        assert.deepEqual(
          { scope: json(asset).scope, asset: json(asset).asset, network: json(asset).network },
          { scope: 'asset', asset: 'BTC', network: 'bitcoin' },
        );
        assert.deepEqual(
          { scope: json(account).scope, account_id: json(account).account_id },
          { scope: 'account', account_id: acct7 },
        );

        const listed = json(await runCli(['halt', 'list'], env));
        assert.deepEqual(
          new Set(listed.halts.map((h: { id: string }) => h.id)),
          new Set([globalHalt.id, json(asset).id, json(account).id]),
        );

        // Lifting lets money move again: without a terminal to ask on, it needs --yes, and nothing changes without.
        const unconfirmed = refusal(await runCli(['halt', 'lift', globalHalt.id], env));
        assert.equal(unconfirmed.field, '--yes');
        assert.match(unconfirmed.reason, /pass --yes/);
        assert.equal(json(await runCli(['halt', 'list'], env)).halts.length, 3, 'still halted');
        const lifted = json(await runCli(['halt', 'lift', globalHalt.id, '--yes'], env));
        assert.deepEqual(lifted, { id: globalHalt.id, lifted: true });
        const after = json(await runCli(['halt', 'list'], env));
        assert.deepEqual(
          new Set(after.halts.map((h: { id: string }) => h.id)),
          new Set([json(asset).id, json(account).id]),
        );
        const eth = { asset: 'ETH', network: 'ethereum', account_id: acct1 };
        assert.equal(
          await covering(fresh.database, eth),
          undefined,
          'the lifted global halt no longer covers ETH',
        );
        assert.equal((await covering(fresh.database, { ...eth, account_id: acct7 }))?.scope, 'account');
        assert.equal(
          (await covering(fresh.database, { asset: 'BTC', network: 'bitcoin', account_id: acct1 }))?.scope,
          'asset',
        );

        const again = refusal(await runCli(['halt', 'lift', globalHalt.id, '--yes'], env));
        assert.equal(again.error, 'NOT_FOUND');

        await sealAudit(fresh.database);
        const audited = await fresh.database.db
          .selectFrom('audit_log')
          .select(['action', 'actor'])
          .where('action', 'in', ['halt.set', 'halt.lifted'])
          .execute();
        assert.equal(audited.filter((a) => a.action === 'halt.set').length, 3);
        assert.equal(audited.filter((a) => a.action === 'halt.lifted').length, 1);
        assert.ok(audited.every((a) => a.actor === `operator:${commander.id}`));
      } finally {
        await fresh.drop();
      }
    });
  });
}

// Refused before the database is opened, so one engine shows it.
describe('drawbridge halt set refuses bad input', () => {
  test('bad input exits 2 with the reason and changes nothing (checked before the database is opened)', async () => {
    const fresh = await freshDatabase('sqlite');
    try {
      const env = { ...fresh.env, ...KEYS };
      const auditBefore = await countRows(fresh.database, 'audit_log');
      const [noScope, twoScopes, unknownAsset, noReason, networkAlone] = await Promise.all([
        runCli(['halt', 'set', '--reason', 'no scope given'], env),
        runCli(['halt', 'set', '--global', '--account', 'acct-1', '--reason', 'two scopes'], env),
        runCli(['halt', 'set', '--asset', 'NOPE', '--reason', 'unknown asset'], env),
        runCli(['halt', 'set', '--global'], env),
        runCli(['halt', 'set', '--global', '--network', 'bitcoin', '--reason', 'network without asset'], env),
      ]);
      assert.equal(refusal(noScope).field, 'scope');
      assert.match(refusal(noScope).reason, /exactly one of --global, --asset <code> or --account <id>/);
      assert.equal(refusal(twoScopes).field, 'scope');
      assert.equal(refusal(unknownAsset).field, 'asset');
      assert.equal((refusal(unknownAsset) as { flag?: string }).flag, '--asset', 'the flag that carried it');
      assert.equal(refusal(noReason).field, 'reason');
      assert.match(refusal(noReason).reason, /must say why/);
      assert.equal(refusal(networkAlone).field, 'network');
      assert.equal(await countRows(fresh.database, 'halts'), 0);
      assert.equal(await countRows(fresh.database, 'audit_log'), auditBefore);
    } finally {
      await fresh.drop();
    }
  });
});
