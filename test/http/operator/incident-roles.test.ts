import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { bulkAccountId, seedBulkAccounts } from '../../../bench/support-bulk-accounts.ts';
import {
  mayPerform,
  OPERATOR_ROLES,
  type OperatorAction,
  type OperatorRole,
} from '../../../src/core/identity/operator-roles.ts';
import type { ServiceContext } from '../../../src/services/context.ts';
import { freezeAccounts } from '../../../src/services/incidents/freeze.ts';
import { haltForIncident, requestResume } from '../../../src/services/incidents/halt-resume.ts';
import { openIncident } from '../../../src/services/incidents/incidents.ts';
import type { Database } from '../../../src/store/database.ts';
import { actingAs } from '../../support/actors.ts';
import { CLI_KEYS, cliContext, cliOperator, runCli } from '../../support/cli.ts';
import { api, type Operator, operatorWithSession } from '../../support/customers.ts';
import { eachEngine } from '../../support/each-engine.ts';
import { insertAwaitingWithdrawals } from '../../support/in-flight.ts';
import { seedOperator } from '../../support/incidents.ts';

/**
 * The role matrix for every incident action, walked through the API and through the CLI's own commands (parsed
 * in this process, credentials from the environment as an operator would give them): a role the matrix allows
 * gets through, every other is refused as FORBIDDEN and changes nothing.
 */

const ACCOUNT = bulkAccountId(0);
/** The account whose withdrawals are marked: ACCOUNT has none, so it can be unfrozen. */
const MARKED_ACCOUNT = bulkAccountId(1);

/** What one action needs in place (made by an admin through the services) and how each edge asks for it. */
interface Case {
  readonly permission: OperatorAction;
  readonly name: string;
  setUp(context: ServiceContext, database: Database): Promise<Record<string, string>>;
  api(ids: Record<string, string>): { method: string; path: string; body?: unknown };
  cli(ids: Record<string, string>): string[];
}

const admin = actingAs('admin', 'matrix-admin');

async function incidentOnly(context: ServiceContext) {
  const opened = await openIncident(context, admin, { title: 'Matrix walk', severity: 'high' });
  return { id: opened.id };
}

const CASES: readonly Case[] = [
  {
    permission: 'incident.open',
    name: 'open',
    setUp: async () => ({}),
    api: () => ({
      method: 'POST',
      path: '/v1/operator/incidents',
      body: { title: 'Opened', severity: 'low' },
    }),
    cli: () => ['open', '--title', 'Opened', '--severity', 'low'],
  },
  {
    permission: 'incident.read',
    name: 'show',
    setUp: incidentOnly,
    api: ({ id }) => ({ method: 'GET', path: `/v1/operator/incidents/${id}/timeline` }),
    cli: ({ id }) => ['timeline', id as string],
  },
  {
    permission: 'incident.manage',
    name: 'status',
    setUp: incidentOnly,
    api: ({ id }) => ({
      method: 'POST',
      path: `/v1/operator/incidents/${id}/status`,
      body: { status: 'contained' },
    }),
    cli: ({ id }) => ['status', id as string, '--to', 'contained'],
  },
  {
    permission: 'incident.mark',
    name: 'mark',
    setUp: async (context, database) => {
      const [withdrawal] = await insertAwaitingWithdrawals(database, {
        accountId: MARKED_ACCOUNT,
        count: 1,
        at: context.clock.now(),
      });
      return { ...(await incidentOnly(context)), withdrawal: withdrawal as string };
    },
    api: ({ id, withdrawal }) => ({
      method: 'POST',
      path: `/v1/operator/incidents/${id}/withdrawals/mark`,
      body: { withdrawal_ids: [withdrawal], classification: 'suspect' },
    }),
    cli: ({ id, withdrawal }) => [
      'mark',
      id as string,
      '--withdrawals',
      withdrawal as string,
      '--as',
      'suspect',
    ],
  },
  {
    permission: 'incident.halt',
    name: 'halt',
    setUp: incidentOnly,
    api: ({ id }) => ({
      method: 'POST',
      path: `/v1/operator/incidents/${id}/halts`,
      body: { scope: 'asset', asset: 'ETH', reason: 'matrix' },
    }),
    cli: ({ id }) => ['halt', id as string, '--asset', 'ETH', '--reason', 'matrix'],
  },
  {
    permission: 'incident.contain',
    name: 'contain',
    setUp: incidentOnly,
    api: ({ id }) => ({
      method: 'POST',
      path: `/v1/operator/incidents/${id}/containments`,
      body: { scope: 'asset', asset: 'ETH', reason: 'matrix' },
    }),
    cli: ({ id }) => ['contain', id as string, '--asset', 'ETH', '--reason', 'matrix', '--yes'],
  },
  {
    permission: 'incident.contain',
    name: 'freeze',
    setUp: incidentOnly,
    api: ({ id }) => ({
      method: 'POST',
      path: `/v1/operator/incidents/${id}/freeze`,
      body: { account_ids: [ACCOUNT], reason: 'matrix' },
    }),
    cli: ({ id }) => ['freeze', id as string, '--accounts', ACCOUNT, '--reason', 'matrix'],
  },
  {
    permission: 'incident.contain',
    name: 'unfreeze',
    setUp: async (context) => {
      const ids = await incidentOnly(context);
      await freezeAccounts(context, admin, ids.id, { account_ids: [ACCOUNT], reason: 'matrix' });
      return ids;
    },
    api: ({ id }) => ({
      method: 'POST',
      path: `/v1/operator/incidents/${id}/accounts/${ACCOUNT}/unfreeze`,
      body: { reason: 'matrix' },
    }),
    cli: ({ id }) => ['unfreeze', id as string, '--account', ACCOUNT, '--reason', 'matrix'],
  },
  {
    permission: 'incident.revoke',
    name: 'revoke',
    setUp: incidentOnly,
    api: ({ id }) => ({
      method: 'POST',
      path: `/v1/operator/incidents/${id}/revoke`,
      body: { sessions: true },
    }),
    cli: ({ id }) => ['revoke', id as string, '--sessions', '--yes'],
  },
  {
    permission: 'incident.resume_request',
    name: 'resume request',
    setUp: async (context) => {
      const ids = await incidentOnly(context);
      await haltForIncident(context, admin, ids.id, { scope: 'asset', asset: 'ETH', reason: 'matrix' });
      return ids;
    },
    api: ({ id }) => ({
      method: 'POST',
      path: `/v1/operator/incidents/${id}/resume-requests`,
      body: { reason: 'matrix' },
    }),
    cli: ({ id }) => ['resume', 'request', id as string, '--reason', 'matrix'],
  },
  {
    permission: 'incident.resume_approve',
    name: 'resume approve',
    setUp: async (context) => {
      const ids = await incidentOnly(context);
      await haltForIncident(context, admin, ids.id, { scope: 'asset', asset: 'ETH', reason: 'matrix' });
      // A real operator principal: the database takes a resume request from nobody else (migration 0045).
      const requester = await seedOperator(context, 'incident_commander');
      const asked = await requestResume(context, requester, ids.id, { reason: 'matrix' });
      return { ...ids, request: asked.id };
    },
    api: ({ id, request }) => ({
      method: 'POST',
      path: `/v1/operator/incidents/${id}/resume-requests/${request}/approve`,
    }),
    cli: ({ id, request }) => ['resume', 'approve', id as string, request as string, '--yes'],
  },
];

function expected(role: OperatorRole, permission: OperatorAction) {
  return mayPerform(role, permission);
}

/** Runs `drawbridge incident <args>` with `env`; its JSON answer, or the code of the refusal it printed. */
async function runIncidentCommand(args: readonly string[], env: Record<string, string>) {
  const result = await runCli(['incident', ...args], env);
  if (result.code === 0) return { ok: true as const, output: result.stdout };
  if (result.code === 2 || result.code === 3) {
    return {
      ok: false as const,
      code: (JSON.parse(result.stderr.trim().split('\n').at(-1) ?? '{}') as { error: string }).error,
    };
  }
  throw new Error(`drawbridge incident ${args.join(' ')} exited ${result.code}: ${result.stderr}`);
}

for (const { engine, describeOn } of await eachEngine()) {
  describeOn(`incident role matrix through the API on ${engine}`, (on) => {
    const running = on.app();
    const operators = new Map<OperatorRole, Operator>();

    before(async () => {
      await seedBulkAccounts(running.context.database, 0, 2, running.clock.now());
      for (const role of OPERATOR_ROLES)
        operators.set(role, await operatorWithSession(running, `matrix-${role}@ops.example`, role));
    });

    for (const action of CASES) {
      test(`${action.name} (${action.permission})`, async () => {
        for (const role of OPERATOR_ROLES) {
          const ids = await action.setUp(running.context, running.context.database);
          const call = action.api(ids);
          const answer = await api(running, call.method, call.path, {
            token: operators.get(role)?.token as string,
            ...(call.body === undefined ? {} : { body: call.body }),
          });
          if (expected(role, action.permission))
            assert.ok(answer.status < 300, `${role} may ${action.name}: ${JSON.stringify(answer.body)}`);
          else {
            assert.equal(
              answer.status,
              403,
              `${role} may not ${action.name}: ${JSON.stringify(answer.body)}`,
            );
            assert.equal(answer.body.code, 'FORBIDDEN');
          }
        }
      });
    }
  });

  describeOn(`incident role matrix through the CLI on ${engine}`, (on) => {
    const fresh = on.database();
    const env = new Map<OperatorRole, Record<string, string>>();
    let context: ServiceContext;

    before(async () => {
      context = cliContext(fresh.database);
      await seedBulkAccounts(fresh.database, 0, 2, context.clock.now());
      for (const role of OPERATOR_ROLES) {
        const operator = await cliOperator(context, role);
        env.set(role, { ...fresh.env, ...CLI_KEYS, ...operator.env });
      }
    });

    test('every incident command, as every role', async () => {
      for (const action of CASES) {
        for (const role of OPERATOR_ROLES) {
          const ids = await action.setUp(context, fresh.database);
          const result = await runIncidentCommand(action.cli(ids), env.get(role) as Record<string, string>);
          if (expected(role, action.permission))
            assert.ok(result.ok, `${role} may ${action.name}: ${JSON.stringify(result)}`);
          else assert.deepEqual(result, { ok: false, code: 'FORBIDDEN' }, `${role} may not ${action.name}`);
        }
      }
    });
  });
}
