import assert from 'node:assert/strict';
import { test } from 'node:test';
import { balancesOf } from '../../src/services/deposits.ts';
import { sealAudit } from '../../src/store/audit/index.ts';
import { insertPrincipal } from '../../src/store/identity/principals.ts';
import { inTransaction } from '../../src/store/transaction.ts';
import { CLI_KEYS, type CliResult, cliContext, cliOperator, runCli } from '../support/cli.ts';
import { eachEngine } from '../support/each-engine.ts';
import { freshDatabase } from '../support/engines.ts';
import { testContext } from '../support/http.ts';

function json(result: CliResult) {
  assert.equal(result.code, 0, result.stderr);
  return JSON.parse(result.stdout.trim());
}

/** The refusal the CLI prints on stderr for bad input (exit 2). */
function refusal(result: CliResult): { error: string; field?: string; reason: string } {
  assert.equal(result.code, 2, `exit 2 expected: ${result.stdout} ${result.stderr}`);
  return JSON.parse(result.stderr.trim());
}

const KEYS = CLI_KEYS;

const TXID = 'f4184fc596403b9d638783cf57adfe4c75c605f6356fbc91338530e9831e9e16';

for (const { engine, describeOn } of await eachEngine()) {
  describeOn(`drawbridge deposit on ${engine}`, () => {
    test('one operator records, a second approves and only then is it credited, once; other details are refused', async () => {
      const fresh = await freshDatabase(engine);
      try {
        const commander = await cliOperator(cliContext(fresh.database), 'incident_commander');
        const admin = await cliOperator(cliContext(fresh.database), 'admin');
        const env = { ...fresh.env, ...KEYS, ...commander.env };
        const adminEnv = { ...fresh.env, ...KEYS, ...admin.env };
        const customer = await inTransaction(fresh.database, (tx) =>
          insertPrincipal(tx, {
            kind: 'customer',
            email: 'depositor@example.com',
            passwordHash: 'not-used-here',
            role: null,
            now: new Date().toISOString(),
          }),
        );
        const args = (amount: string, vout = '1', account = customer.id) => [
          'deposit',
          'record',
          '--account',
          account,
          '--asset',
          'BTC',
          '--network',
          'bitcoin',
          '--amount',
          amount,
          '--txid',
          TXID,
          '--vout',
          vout,
        ];
        const balances = async () => (await balancesOf(testContext(fresh.database), customer.id)).balances;
        const first = json(await runCli(args('0.5'), env));
        assert.equal(first.state, 'pending_approval');
        assert.equal(first.amount, '0.5');
        assert.deepEqual(await balances(), []);
        const [again, otherAmount, badVout] = await Promise.all([
          runCli(args('0.5'), env),
          runCli(args('0.6'), env),
          runCli(args('0.5', '1.5'), env),
        ]);
        assert.deepEqual(json(again), first);
        assert.equal(refusal(otherAmount).error, 'CONFLICT');
        assert.equal(refusal(badVout).field, 'vout');
        const listed = json(await runCli(['deposit', 'list'], adminEnv));
        assert.deepEqual(
          listed.deposits.map((d: { id: string }) => d.id),
          [first.id],
        );
        assert.equal(refusal(await runCli(['deposit', 'approve', first.id], env)).error, 'SAME_OPERATOR');
        assert.deepEqual(await balances(), []);
        const approved = json(await runCli(['deposit', 'approve', first.id], adminEnv));
        assert.equal(approved.credited, true);
        assert.equal(approved.approved_by, admin.id);
        assert.deepEqual(json(await runCli(['deposit', 'approve', first.id], adminEnv)), {
          ...approved,
          credited: false,
        });
        assert.deepEqual(await balances(), [{ asset: 'BTC', available: '0.5', held: '0' }]);
        await sealAudit(fresh.database);
        const trail = await fresh.database.db
          .selectFrom('audit_log')
          .select(['actor', 'action'])
          .where('action', 'in', ['deposit.recorded', 'deposit.credited'])
          .orderBy('seq')
          .execute();
        assert.deepEqual(trail, [
          { actor: `operator:${commander.id}`, action: 'deposit.recorded' },
          { actor: `operator:${admin.id}`, action: 'deposit.credited' },
        ]);
      } finally {
        await fresh.drop();
      }
    });
  });
}
