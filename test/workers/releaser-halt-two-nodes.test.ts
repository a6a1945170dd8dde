import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Kysely } from 'kysely';
import { totpAt } from '../../src/core/mfa/totp.ts';
import { sealAudit } from '../../src/store/audit/index.ts';
import type { Schema } from '../../src/store/schema.ts';
import { runCli } from '../support/cli.ts';
import { eachEngine } from '../support/each-engine.ts';
import { freshDatabase } from '../support/engines.ts';
import type { RunningApp } from '../support/http.ts';
import {
  type ChildNode,
  countEvents,
  countInState,
  eventually,
  freePort,
  queueRound,
  readyPayers,
  seedingApp,
  sharedKeys,
  startNode,
  startReleaser,
  stopNode,
} from './releaser-world.ts';

const PAYERS = 6;
/** Rounds queued before the nodes start and made due all at once, so both are busy releasing when the halt lands. */
const BACKLOG_ROUNDS = 10;
const QUIET_AFTER_HALT_MS = 1_500;
const HALTS = 3;

for (const { engine, describeOn } of await eachEngine()) {
  const reason =
    engine === 'sqlite' ? 'one SQLite file is one node: there is no second node to race' : undefined;
  describeOn(`two Drawbridge nodes on one ${engine} under continuous load`, { skip: reason }, () => {
    test('a halt set through node A: no withdrawal released by node B (or A) after the halt call returned', async () => {
      const fresh = await freshDatabase(engine);
      const keys = sharedKeys();
      const nodes: ChildNode[] = [];
      let running: RunningApp | undefined;
      let feeding = true;
      let feeder: Promise<void> = Promise.resolve();
      try {
        const db = fresh.database.db;
        running = await seedingApp(fresh.database, keys);
        const seeding = running;
        const payers = await readyPayers(seeding, PAYERS);
        for (let round = 0; round < BACKLOG_ROUNDS; round += 1) await queueRound(seeding, payers);
        await setReleaseAfter(db, new Date(Date.now() + 10 * 60_000));

        const port = await freePort();
        const env = {
          ...fresh.env,
          ...keys.env,
          SIMULATED_BLOCK_MS: '50',
          SIMULATED_CONFIRMATIONS: '2',
          PUBLIC_URL: 'http://localhost:8080',
        };
        const nodeA = startNode(
          ['bin/drawbridge.mjs', 'serve'],
          { ...env, PORT: String(port) },
          /Server listening at/,
        );
        nodes.push(nodeA);
        const nodeB = startReleaser(env);
        nodes.push(nodeB);
        const created = await runCli(
          ['operator', 'create', '--email', 'commander@ops.example', '--role', 'incident_commander'],
          env,
        );
        await Promise.all([nodeA.ready, nodeB.ready]);
        assert.equal(created.code, 0, created.stderr);
        const operator = JSON.parse(created.stdout) as {
          email: string;
          password: string;
          otpauth_uri: string;
        };
        const secret = new URL(operator.otpauth_uri).searchParams.get('secret');
        assert.ok(secret);
        const nodeAUrl = `http://127.0.0.1:${port}`;
        const login = await callNode('POST', `${nodeAUrl}/v1/operator/login`, undefined, {
          email: operator.email,
          password: operator.password,
          proof: { method: 'totp', code: totpAt(secret, new Date()) },
        });
        assert.equal(login.status, 200, JSON.stringify(login.body));

        const token = login.body.token as string;

        await setReleaseAfter(db, new Date());
        feeder = (async () => {
          while (feeding) await queueRound(seeding, payers);
        })();
        // Several halts, each lifted once it has been watched: each one is another chance to catch a late release.
        for (let cycle = 0; cycle < HALTS; cycle += 1) {
          const before = await countEvents(fresh.database, 'released');
          await eventually(`releases under way (halt ${cycle + 1})`, async () => {
            return (await countEvents(fresh.database, 'released')) >= before + 4;
          });

          const halt = await callNode('POST', `${nodeAUrl}/v1/operator/halts`, token, {
            scope: 'global',
            reason: `incident drill ${cycle + 1}: stop everything`,
          });
          const haltReturnedAt = new Date();
          assert.equal(halt.status, 201, JSON.stringify(halt.body));
          const releasedWhenHaltReturned = await releasedIds(db);
          assert.ok(releasedWhenHaltReturned.size > before, 'releases happened before the halt');
          await new Promise((resolve) => setTimeout(resolve, QUIET_AFTER_HALT_MS));

          const late = await db
            .selectFrom('withdrawal_events')
            .select(['withdrawal_id', 'at'])
            .where('to_state', '=', 'released')
            .where('at', '>', haltReturnedAt.toISOString())
            .execute();
          assert.deepEqual(late, [], `released after the halt returned at ${haltReturnedAt.toISOString()}`);
          // The audit trail agrees: once sealed, every release it records is one that had happened when the halt
          // call returned.
          await sealAudit(fresh.database);
          const auditedReleases = await db
            .selectFrom('audit_log')
            .select('subject')
            .where('action', '=', 'withdrawal.released')
            .execute();
          const auditedAfterHalt = auditedReleases
            .map((row) => row.subject.replace(/^withdrawal:/, ''))
            .filter((id) => !releasedWhenHaltReturned.has(id));
          assert.deepEqual(auditedAfterHalt, [], 'a release audited after the halt');
          assert.deepEqual(
            await releasedIds(db),
            releasedWhenHaltReturned,
            'nothing released since the halt',
          );
          assert.ok(
            (await countInState(fresh.database, 'queued')) > 0,
            'due withdrawals kept coming and wait',
          );

          const lifted = await callNode('DELETE', `${nodeAUrl}/v1/operator/halts/${halt.body.id}`, token);
          assert.equal(lifted.status, 200, JSON.stringify(lifted.body));
        }
        feeding = false;
        await feeder;
      } finally {
        feeding = false;
        await feeder.catch(() => {});
        for (const node of nodes) await stopNode(node);
        await running?.close();
        await fresh.drop();
      }
    });
  });
}

async function releasedIds(db: Kysely<Schema>): Promise<Set<string>> {
  const rows = await db
    .selectFrom('withdrawal_events')
    .select('withdrawal_id')
    .where('to_state', '=', 'released')
    .execute();
  return new Set(rows.map((r) => r.withdrawal_id));
}

/** Moves the cancel window of everything queued: the backlog waits for the nodes, then comes due at once. */
async function setReleaseAfter(db: Kysely<Schema>, at: Date): Promise<void> {
  await db
    .updateTable('withdrawals')
    .set({ release_after: at.toISOString() })
    .where('state', '=', 'queued')
    .execute();
}

async function callNode(method: string, url: string, token: string | undefined, body?: unknown) {
  const response = await fetch(url, {
    method,
    headers: {
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    signal: AbortSignal.timeout(20_000),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}
