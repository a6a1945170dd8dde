import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { bech32 } from 'bech32';
import { sql } from 'kysely';
import { seal } from '../../../src/adapters/secret-box.ts';
import { newId } from '../../../src/core/ids.ts';
import { totpAt } from '../../../src/core/mfa/totp.ts';
import { fanInKey } from '../../../src/core/risk/rule-sets.ts';
import type { RequestMeta } from '../../../src/services/context.ts';
import { depositApprovedBy } from '../../../src/services/deposits.ts';
import { totpAssociatedData } from '../../../src/services/identity/second-factor.ts';
import { type Authenticated, authenticate } from '../../../src/services/identity/sessions.ts';
import {
  createRuleSet,
  getRuleSet,
  listDisagreements,
  listRuleSets,
  moveRuleSetState,
} from '../../../src/services/risk/rule-sets.ts';
import { confirmWithdrawal } from '../../../src/services/withdrawals/confirm.ts';
import { requestWithdrawal } from '../../../src/services/withdrawals/request.ts';
import {
  keepRuleSetTerms,
  RULE_SET_TERMS_TRIGGERS,
} from '../../../src/store/migrations/0059-rule-set-second-operator.ts';
import { evaluationsOf, fanInLockKeyOf } from '../../../src/store/rule-sets.ts';
import { actingAs } from '../../support/actors.ts';
import { api, auditActionsAbout, operatorWithSession } from '../../support/customers.ts';
import { eachEngine } from '../../support/each-engine.ts';
import type { RunningApp } from '../../support/http.ts';
import {
  customerId,
  priceNow,
  type ReadyCustomer,
  readyCustomer,
  withdrawalRow,
} from '../../support/withdrawals.ts';

const HARD = [
  { predicate: 'destination_cooled', action: 'time_lock' },
  { predicate: 'security_change_lock', action: 'time_lock' },
];
const AMOUNT = '0.001';
const analyst = actingAs('risk_analyst');
/** The second operator of maker-checker: a set is activated by someone other than its author. */
const checker = actingAs('risk_analyst', 'test-risk_analyst-checker');

/** A fresh, valid bech32 (P2WPKH) address no one has paid. */
function freshAddress(): string {
  return bech32.encode('bc', [0, ...bech32.toWords(randomBytes(20))]);
}

interface Payer {
  readonly auth: Authenticated;
  readonly destinationId: string;
}

/**
 * `count` customers cloned from `template` straight in the database (the same TOTP secret, sealed as it is, a
 * cooled address-book entry each) and funded through the deposit service: sign-up through the routes costs an
 * Argon2 hash each, and the sessions are not what is under test (a service call's session is unknown to the store,
 * so no device is judged).
 */
async function clonePayers(
  running: RunningApp,
  template: ReadyCustomer,
  count: number,
  address: (index: number) => string,
): Promise<Payer[]> {
  const db = running.context.database.db;
  const templateId = await customerId(running, template.email);
  const principal = await db
    .selectFrom('principals')
    .selectAll()
    .where('id', '=', templateId)
    .executeTakeFirstOrThrow();
  const factors = await db
    .selectFrom('mfa_factors')
    .selectAll()
    .where('principal_id', '=', templateId)
    .execute();
  const longAgo = new Date(running.clock.now().getTime() - 30 * 24 * 60 * 60_000).toISOString();
  const payers: Payer[] = [];
  const tag = randomBytes(4).toString('hex');
  for (let start = 0; start < count; start += 100) {
    const batch = Array.from({ length: Math.min(100, count - start) }, (_, k) => start + k);
    const rows = batch.map((index) => ({
      principal: {
        ...principal,
        id: newId(),
        email: `clone-${tag}-${index}@example.com`,
        created_at: longAgo,
      },
      index,
    }));
    await db
      .insertInto('principals')
      .values(rows.map((r) => r.principal))
      .execute();
    await db
      .insertInto('mfa_factors')
      .values(
        rows.flatMap((r) =>
          factors.map((f) => {
            const id = newId();
            // The sealed secret is bound to its factor's id: sealed again for the clone's.
            const secret =
              f.method === 'totp' && f.secret !== null
                ? seal(running.context.totpKey, template.secret, totpAssociatedData(id))
                : f.secret;
            return { ...f, id, principal_id: r.principal.id, secret };
          }),
        ),
      )
      .execute();
    const entries = rows.map((r) => ({
      id: newId(),
      account_id: r.principal.id,
      network: 'bitcoin',
      address: address(r.index),
      address_type: 'p2wpkh',
      label: 'clone',
      cooling_ms: 0,
      created_at: longAgo,
      removed_at: null,
    }));
    await db.insertInto('address_book_entries').values(entries).execute();
    for (const [k, r] of rows.entries()) {
      await depositApprovedBy(
        running.context,
        { recorder: actingAs('admin'), approver: actingAs('incident_commander') },
        {
          account_id: r.principal.id,
          asset: 'BTC',
          network: 'bitcoin',
          amount: '1',
          txid: `clone${tag}${r.index}`,
          output_index: 0,
        },
      );
      payers.push({
        auth: {
          sessionId: `service-${r.index}`,
          principalId: r.principal.id,
          kind: 'customer',
          role: null,
          aal: 2,
          csrfHash: '',
        },
        destinationId: entries[k]?.id as string,
      });
    }
  }
  return payers;
}

let ips = 0;
/** Each confirmation from its own address: the per-IP MFA rate limit is not under test. */
function meta(): RequestMeta {
  ips += 1;
  return { ip: `10.${(ips >> 16) & 255}.${(ips >> 8) & 255}.${ips & 255}`, userAgent: 'rule-engine-test' };
}

async function requestOne(running: RunningApp, payer: Payer): Promise<string> {
  const { id } = await requestWithdrawal(
    running.context,
    payer.auth,
    { asset: 'BTC', network: 'bitcoin', amount: AMOUNT, destination_id: payer.destinationId },
    meta(),
  );
  return id;
}

async function confirmOne(running: RunningApp, payer: Payer, id: string, secret: string) {
  const proof = { method: 'totp', code: totpAt(secret, running.clock.now()) };
  return confirmWithdrawal(running.context, payer.auth, id, { proof }, meta());
}

async function payOnce(running: RunningApp, payer: Payer, secret: string) {
  return confirmOne(running, payer, await requestOne(running, payer), secret);
}

/** Runs `write` with the database's guard on rule-set terms lifted (a set from an older catalogue), then puts it back. */
async function withoutTermsGuard(running: RunningApp, engine: string, write: () => Promise<unknown>) {
  const db = running.context.database.db;
  if (engine === 'postgres') {
    await sql`alter table rule_sets disable trigger rule_sets_terms_kept`.execute(db);
    try {
      await write();
    } finally {
      await sql`alter table rule_sets enable trigger rule_sets_terms_kept`.execute(db);
    }
    return;
  }
  for (const trigger of RULE_SET_TERMS_TRIGGERS.sqlite)
    await sql`drop trigger ${sql.raw(trigger)}`.execute(db);
  try {
    await write();
  } finally {
    await keepRuleSetTerms(db, 'sqlite');
  }
}

async function activeSet(running: RunningApp, rules: unknown[], description = 'test') {
  const set = await createRuleSet(running.context, analyst, { description, rules: [...HARD, ...rules] });
  await moveRuleSetState(running.context, checker, set.id, 'activate');
  return set;
}

for (const { engine, describeOn } of await eachEngine()) {
  describeOn(`the rule engine on ${engine}`, (on) => {
    const running = on.app();
    let template: ReadyCustomer;

    test('setup: a template customer', async () => {
      template = await readyCustomer(running, `rules-${engine}@example.com`, '2');
    });

    test('while no set was ever activated the built-in set decides, and each evaluation is recorded with its facts', async () => {
      const listed = await listRuleSets(running.context, actingAs('support'));
      assert.deepEqual(listed.in_force, { id: 'builtin', version: 0 });
      const [payer] = await clonePayers(running, template, 1, () => freshAddress());
      assert.ok(payer);
      running.clock.advance(30_000);
      const done = await payOnce(running, payer, template.secret);
      assert.equal(done.state, 'queued', String(done.reason));
      const [evaluation, ...more] = await evaluationsOf(running.context.database, done.id);
      assert.equal(more.length, 0, 'one record for the active set, no shadow');
      assert.ok(evaluation);
      assert.equal(evaluation.rule_set_id, 'builtin');
      assert.equal(evaluation.mode, 'active');
      assert.equal(evaluation.outcome, 'approve');
      const facts = JSON.parse(evaluation.facts);
      assert.equal(facts.amountWithFee, '110000', 'base units as a string');
      assert.equal(typeof facts.usdValue, 'string');
      const results = JSON.parse(evaluation.results) as { rule: string; numbers?: Record<string, string> }[];
      assert.equal(results.find((r) => r.rule === 'fan_in')?.numbers?.accounts, '1');
      const row = await withdrawalRow(running, done.id);
      assert.equal(row.session_id, payer.auth.sessionId, 'the confirming session is kept on the withdrawal');
    });

    test('activating is audited, retires the set before it, and the database refuses a second active set', async () => {
      const first = await activeSet(running, [
        { predicate: 'fan_in', action: 'reject', params: { min_accounts: 20, window_seconds: 600 } },
      ]);
      assert.ok((await auditActionsAbout(running, `rule_set:${first.id}`)).includes('rule_set.activated'));
      const second = await activeSet(running, [
        { predicate: 'fan_in', action: 'reject', params: { min_accounts: 20, window_seconds: 600 } },
      ]);
      assert.equal((await getRuleSet(running.context, analyst, first.id)).state, 'retired');
      assert.equal((await getRuleSet(running.context, analyst, second.id)).state, 'active');
      const listed = await listRuleSets(running.context, analyst);
      assert.deepEqual(listed.in_force, { id: second.id, version: second.version });
      // Around the service: the partial unique index refuses a second active row.
      await assert.rejects(
        running.context.database.db
          .updateTable('rule_sets')
          .set({ state: 'active' })
          .where('id', '=', first.id)
          .execute(),
        /unique|duplicate/i,
      );
      // The active set is retired only by activating another.
      await assert.rejects(moveRuleSetState(running.context, analyst, second.id, 'retire'), {
        code: 'WRONG_STATE',
      });
      // Support may read but not activate.
      const draft = await createRuleSet(running.context, analyst, { rules: HARD });
      // Maker-checker: its author cannot switch it on, an admin author neither; a second operator can.
      await assert.rejects(moveRuleSetState(running.context, analyst, draft.id, 'activate'), {
        code: 'SAME_OPERATOR',
      });
      const adminsOwn = await createRuleSet(running.context, actingAs('admin'), { rules: HARD });
      await assert.rejects(moveRuleSetState(running.context, actingAs('admin'), adminsOwn.id, 'activate'), {
        code: 'SAME_OPERATOR',
      });
      assert.equal((await getRuleSet(running.context, analyst, draft.id)).state, 'draft');
      assert.deepEqual((await listRuleSets(running.context, analyst)).in_force.id, second.id);
      // Around the service, as an insider or a bug would write it: the database refuses an activation by the
      // author or by nobody, and a set written straight into active.
      const db = running.context.database.db;
      for (const activated_by of ['operator:test-risk_analyst', null])
        await assert.rejects(
          db.transaction().execute(async (tx) => {
            await tx.updateTable('rule_sets').set({ state: 'retired' }).where('id', '=', second.id).execute();
            await tx
              .updateTable('rule_sets')
              .set({ state: 'active', activated_by, activated_at: new Date().toISOString() })
              .where('id', '=', draft.id)
              .execute();
          }),
          /activated by an operator other than its author/,
        );
      await assert.rejects(
        db
          .insertInto('rule_sets')
          .values({
            id: '01a23ab8-8768-78e9-be18-f7c8ae4f11c9',
            version: 9_999,
            state: 'active',
            description: 'forged',
            config: JSON.stringify({ rules: HARD }),
            created_by: 'operator:someone',
            created_at: new Date().toISOString(),
            shadowed_at: null,
            activated_at: new Date().toISOString(),
            activated_by: 'operator:someone-else',
            retired_at: null,
            updated_at: new Date().toISOString(),
          })
          .execute(),
        /written as a draft/,
      );
      assert.equal((await getRuleSet(running.context, analyst, second.id)).state, 'active');
      await assert.rejects(moveRuleSetState(running.context, actingAs('support'), draft.id, 'activate'), {
        code: 'FORBIDDEN',
      });
      // A refused configuration leaves the running set as it was.
      await assert.rejects(
        createRuleSet(running.context, analyst, {
          rules: [
            ...HARD,
            { predicate: 'fan_in', action: 'reject', params: { min_accounts: 2, window_seconds: 0 } },
          ],
        }),
        { code: 'INVALID_INPUT', field: 'rules/2/params/window_seconds' },
      );
      assert.deepEqual((await listRuleSets(running.context, analyst)).in_force, {
        id: second.id,
        version: second.version,
      });
    });

    test('fan-in: 50 accounts paying one fresh address within 10 minutes, the 20th and after are rejected with a critical result', async () => {
      await activeSet(running, [
        { predicate: 'fan_in', action: 'reject', params: { min_accounts: 20, window_seconds: 600 } },
      ]);
      const target = freshAddress();
      const payers = await clonePayers(running, template, 51, () => target);
      running.clock.advance(30_000);
      const states: string[] = [];
      const ids: string[] = [];
      for (const payer of payers.slice(0, 50)) {
        running.clock.advance(10_000); // 50 in 500 s
        const done = await payOnce(running, payer, template.secret);
        states.push(done.state);
        ids.push(done.id);
      }
      assert.deepEqual(states.slice(0, 19), Array(19).fill('queued'));
      assert.deepEqual(states.slice(19), Array(31).fill('rejected'));
      const rejected = await evaluationsOf(running.context.database, ids[19] as string);
      const fanIn = (
        JSON.parse(rejected[0]?.results ?? '[]') as {
          rule: string;
          critical?: boolean;
          numbers?: Record<string, string>;
        }[]
      ).find((r) => r.rule === 'fan_in');
      assert.equal(fanIn?.critical, true);
      assert.equal(fanIn?.numbers?.accounts, '20');
      assert.ok(
        (await auditActionsAbout(running, `withdrawal:${ids[19]}`)).includes('withdrawal.screening_critical'),
        'the critical result is audited',
      );
      // And one critical alert for the destination, raised once and counted for every rejected payer.
      const alerts = await running.context.database.db
        .selectFrom('alerts')
        .select(['kind', 'severity', 'occurrences', 'fingerprint'])
        .where('kind', '=', 'screening.fan_in')
        .execute();
      assert.equal(alerts.length, 1, JSON.stringify(alerts));
      assert.equal(alerts[0]?.severity, 'critical');
      assert.equal(Number(alerts[0]?.occurrences), 31);
      assert.equal(alerts[0]?.fingerprint, `bitcoin:${target}`);
      // Past the window the destination counts afresh (only the last 10 minutes matter).
      running.clock.advance(11 * 60_000);
      const last = payers[50];
      assert.ok(last);
      assert.equal((await payOnce(running, last, template.secret)).state, 'queued');
    });

    test('1,000 legitimate withdrawals to distinct addresses all pass: no false positive', {
      timeout: 240_000,
    }, async () => {
      await activeSet(running, [
        { predicate: 'fan_in', action: 'reject', params: { min_accounts: 3, window_seconds: 3600 } },
        { predicate: 'velocity_count', action: 'review', params: { max_count: 10 } },
        { predicate: 'near_full_drain', action: 'time_lock', params: { percent: 90, lock_seconds: 86400 } },
        { predicate: 'daily_usd_limit', action: 'review', params: { limit_usd: '10000.00' } },
      ]);
      await priceNow(running, 'BTC', '60000');
      const payers = await clonePayers(running, template, 1000, () => freshAddress());
      running.clock.advance(30_000);
      const states = new Map<string, number>();
      const concurrency = engine === 'postgres' ? 8 : 1;
      for (let start = 0; start < payers.length; start += concurrency) {
        const done = await Promise.all(
          payers.slice(start, start + concurrency).map((payer) => payOnce(running, payer, template.secret)),
        );
        for (const d of done) states.set(d.state, (states.get(d.state) ?? 0) + 1);
      }
      assert.deepEqual(Object.fromEntries(states), { queued: 1000 });
    });

    test('a shadow set records and enforces nothing: its outcome differs, the withdrawal follows the active set, the disagreement is listed', async () => {
      await priceNow(running, 'BTC', '60000');
      await activeSet(running, [
        { predicate: 'fan_in', action: 'reject', params: { min_accounts: 20, window_seconds: 600 } },
      ]);
      const strict = await createRuleSet(running.context, analyst, {
        description: 'stricter fan-in',
        rules: [
          ...HARD,
          { predicate: 'fan_in', action: 'reject', params: { min_accounts: 2, window_seconds: 600 } },
        ],
      });
      const shadow = await moveRuleSetState(running.context, analyst, strict.id, 'shadow');
      assert.equal(shadow.state, 'shadow');
      const target = freshAddress();
      const payers = await clonePayers(running, template, 3, () => target);
      running.clock.advance(30_000);
      const done = [];
      for (const payer of payers) done.push(await payOnce(running, payer, template.secret));
      assert.deepEqual(
        done.map((d) => d.state),
        ['queued', 'queued', 'queued'],
        'the shadow would reject the 2nd and 3rd; the active set decides',
      );
      const listed = await listDisagreements(running.context, actingAs('support'), strict.id);
      assert.deepEqual(
        listed.disagreements.map((d) => [d.withdrawal_id, d.outcome, d.enforced_outcome, d.mode]),
        [
          [done[1]?.id, 'reject', 'approve', 'shadow'],
          [done[2]?.id, 'reject', 'approve', 'shadow'],
        ],
      );
      const paged = await listDisagreements(running.context, analyst, strict.id, { limit: 1 });
      assert.equal(paged.has_more, true);
      const next = await listDisagreements(running.context, analyst, strict.id, {
        limit: 1,
        starting_after: paged.disagreements[0]?.id,
      });
      assert.equal(next.disagreements[0]?.withdrawal_id, done[2]?.id);
      // Both evaluations of one withdrawal, on the same facts.
      const both = await evaluationsOf(running.context.database, done[1]?.id as string);
      assert.deepEqual(both.map((e) => e.mode).sort(), ['active', 'shadow']);
      assert.equal(both[0]?.facts, both[1]?.facts);
      await moveRuleSetState(running.context, analyst, strict.id, 'retire');
    });

    test('fail closed: a rule that throws, a missing price and facts that cannot be read each hold, never approve', async () => {
      await activeSet(running, [
        { predicate: 'new_device', action: 'time_lock', params: { device_min_age_seconds: 86400 } },
        { predicate: 'daily_usd_limit', action: 'review', params: { limit_usd: '10000.00' } },
      ]);
      await priceNow(running, 'BTC', '60000');
      const db = running.context.database.db;
      // A real session whose device sighting is not a time: the new_device rule throws.
      const auth = await authenticate(running.context, template.token);
      const deviceId = newId();
      const templateId = await customerId(running, template.email);
      await db
        .insertInto('devices')
        .values({
          id: deviceId,
          principal_id: templateId,
          device_key: 'broken',
          user_agent: 'x',
          platform: 'ios',
          integrity: 'ok',
          integrity_source: 'self_reported',
          first_seen_at: 'not a time',
          last_seen_at: 'not a time',
        })
        .execute();
      await db
        .updateTable('sessions')
        .set({ device_id: deviceId })
        .where('id', '=', auth.sessionId)
        .execute();
      const payer: Payer = { auth, destinationId: template.destinationId };
      running.clock.advance(30_000);
      const thrown = await payOnce(running, payer, template.secret);
      assert.equal(thrown.state, 'held_for_review');
      const [record] = await evaluationsOf(running.context.database, thrown.id);
      assert.match(record?.results ?? '', /new_device.*the rule failed/);
      assert.equal(
        (await withdrawalRow(running, thrown.id)).device_id,
        deviceId,
        'the device is kept on the withdrawal',
      );

      // No fresh price: the daily limit cannot be checked.
      const [unpriced, unreadable] = await clonePayers(running, template, 2, () => freshAddress());
      assert.ok(unpriced && unreadable);
      await db.deleteFrom('price_points').execute();
      running.clock.advance(30_000);
      const noPrice = await payOnce(running, unpriced, template.secret);
      assert.equal(noPrice.state, 'held_for_review');
      assert.match(noPrice.reason ?? '', /no USD price/);

      // A price row that cannot be read: the facts cannot be gathered.
      await db
        .insertInto('price_points')
        .values({
          asset: 'BTC',
          at: running.clock.now().toISOString(),
          usd_price: 'sixty thousand',
          source: 'test',
        })
        .execute();
      running.clock.advance(30_000);
      const noFacts = await payOnce(running, unreadable, template.secret);
      assert.equal(noFacts.state, 'held_for_review');
      const [factsRecord] = await evaluationsOf(running.context.database, noFacts.id);
      assert.match(factsRecord?.results ?? '', /could not gather its facts/);
      await db.deleteFrom('price_points').execute();
      await priceNow(running, 'BTC', '60000');
    });

    test('an active set whose stored configuration cannot be read holds every withdrawal', async () => {
      const set = await activeSet(running, []);
      // A set stored by an older catalogue: the database keeps a set's configuration, so the guard is lifted for
      // this one write, as only a migration could.
      await withoutTermsGuard(running, engine, () =>
        running.context.database.db
          .updateTable('rule_sets')
          .set({
            config: JSON.stringify({ rules: [{ predicate: 'destination_cooled', action: 'approve' }] }),
          })
          .where('id', '=', set.id)
          .execute(),
      );
      const [payer] = await clonePayers(running, template, 1, () => freshAddress());
      assert.ok(payer);
      running.clock.advance(30_000);
      const done = await payOnce(running, payer, template.secret);
      assert.equal(done.state, 'held_for_review');
      assert.match(done.reason ?? '', /rule set cannot be read/);
    });

    test('over HTTP: a bad configuration is a 400 naming the field, the lifecycle routes work, the hits are counted', async () => {
      const analystHttp = await operatorWithSession(
        running,
        `rules-analyst-${engine}@ops.example`,
        'risk_analyst',
      );
      const support = await operatorWithSession(running, `rules-support-${engine}@ops.example`, 'support');
      const bad = await api(running, 'POST', '/v1/operator/rule-sets', {
        token: analystHttp.token,
        body: {
          rules: [...HARD, { predicate: 'daily_usd_limit', action: 'review', params: { limit_usd: 10000 } }],
        },
      });
      assert.equal(bad.status, 400, JSON.stringify(bad.body));
      assert.equal(bad.body.field, '/body/rules/2/params/limit_usd');
      const refused = await api(running, 'POST', '/v1/operator/rule-sets', {
        token: support.token,
        body: { rules: HARD },
      });
      assert.equal(refused.status, 403, JSON.stringify(refused.body));
      const created = await api(running, 'POST', '/v1/operator/rule-sets', {
        token: analystHttp.token,
        body: { description: 'http', rules: HARD },
      });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      const shadowed = await api(running, 'POST', `/v1/operator/rule-sets/${created.body.id}/shadow`, {
        token: analystHttp.token,
      });
      assert.equal(shadowed.status, 200, JSON.stringify(shadowed.body));
      assert.equal(shadowed.body.state, 'shadow');
      const again = await api(running, 'POST', `/v1/operator/rule-sets/${created.body.id}/shadow`, {
        token: analystHttp.token,
      });
      assert.equal(again.status, 409, JSON.stringify(again.body));
      const listed = await api(running, 'GET', `/v1/operator/rule-sets/${created.body.id}/disagreements`, {
        token: support.token,
      });
      assert.equal(listed.status, 200, JSON.stringify(listed.body));
      assert.deepEqual(listed.body.disagreements, []);
      const builtin = await api(running, 'GET', '/v1/operator/rule-sets/builtin', { token: support.token });
      assert.equal(builtin.status, 200, JSON.stringify(builtin.body));
      assert.ok(builtin.body.config.rules.some((r: { predicate: string }) => r.predicate === 'fan_in'));
      const retired = await api(running, 'POST', `/v1/operator/rule-sets/${created.body.id}/retire`, {
        token: analystHttp.token,
      });
      assert.equal(retired.status, 200, JSON.stringify(retired.body));
      const metrics = await (await fetch(`${running.url}/metrics`)).text();
      assert.match(
        metrics,
        /drawbridge_rule_hits_total\{rule="fan_in",outcome="reject",mode="active"\} [1-9]/,
      );
      assert.match(
        metrics,
        /drawbridge_rule_hits_total\{rule="fan_in",outcome="reject",mode="shadow"\} [1-9]/,
      );
    });

    test('on PostgreSQL concurrent confirmations to one address cannot all slip under the fan-in threshold', {
      skip: engine === 'postgres' ? undefined : 'SQLite has one writer at a time',
    }, async () => {
      await activeSet(running, [
        { predicate: 'fan_in', action: 'reject', params: { min_accounts: 5, window_seconds: 600 } },
      ]);
      await priceNow(running, 'BTC', '60000');
      const target = freshAddress();
      const payers = await clonePayers(running, template, 16, () => target);
      running.clock.advance(30_000);
      const ids: string[] = [];
      for (const payer of payers) ids.push(await requestOne(running, payer));
      const done = await Promise.all(
        payers.map((payer, i) => confirmOne(running, payer, ids[i] as string, template.secret)),
      );
      const queued = done.filter((d) => d.state === 'queued').length;
      assert.equal(queued, 4, `exactly min_accounts - 1 pass, not ${queued}`);
      assert.equal(done.filter((d) => d.state === 'rejected').length, 12);
    });

    test('a rule-set change applies from the very next confirmation: the set this process holds is never used after it, whoever wrote the change', async () => {
      await priceNow(running, 'BTC', '60000');
      const lax = [{ predicate: 'daily_usd_limit', action: 'review', params: { limit_usd: '10000.00' } }];
      const strict = [{ predicate: 'daily_usd_limit', action: 'review', params: { limit_usd: '1.00' } }];
      const payers = await clonePayers(running, template, 4, () => freshAddress());
      running.clock.advance(30_000);
      const [first, second, third, fourth] = payers;
      assert.ok(first && second && third && fourth);
      const laxSet = await activeSet(running, lax, 'lax');
      // Confirmed under the lax set: this process now holds it.
      assert.equal((await payOnce(running, first, template.secret)).state, 'queued');
      // Through the service: a stricter set activated decides the next confirmation.
      const strictSet = await activeSet(running, strict, 'strict');
      const held = await payOnce(running, second, template.secret);
      assert.equal(held.state, 'held_for_review', String(held.reason));
      assert.equal((await evaluationsOf(running.context.database, held.id))[0]?.rule_set_id, strictSet.id);
      // Around the services: the set in force cannot be rewritten (what a second operator checked is what decides),
      // nor deleted.
      const db = running.context.database.db;
      await assert.rejects(
        db
          .updateTable('rule_sets')
          .set({ config: JSON.stringify({ rules: [...HARD, ...lax] }) })
          .where('id', '=', strictSet.id)
          .execute(),
        /terms, author and activation are kept/,
      );
      await assert.rejects(
        db
          .updateTable('rule_sets')
          .set({ activated_by: 'operator:someone-else' })
          .where('id', '=', strictSet.id)
          .execute(),
        /terms, author and activation are kept/,
      );
      await assert.rejects(db.deleteFrom('rule_sets').where('id', '=', strictSet.id).execute(), /are kept/);
      // A change of the set in force made around this process (another process's activation, written as raw rows)
      // is seen by the next confirmation here too.
      const flip = async (retire: string, activate: string) => {
        await db.updateTable('rule_sets').set({ state: 'retired' }).where('id', '=', retire).execute();
        await db.updateTable('rule_sets').set({ state: 'active' }).where('id', '=', activate).execute();
      };
      await flip(strictSet.id, laxSet.id);
      assert.equal((await payOnce(running, third, template.secret)).state, 'queued');
      await flip(laxSet.id, strictSet.id);
      assert.equal((await payOnce(running, fourth, template.secret)).state, 'held_for_review');
      // The revision a process keys its copy by only goes forward: it cannot be put back, nor removed.
      await assert.rejects(
        db
          .updateTable('rule_set_revision')
          .set((eb) => ({ revision: eb('revision', '-', 1) }))
          .execute(),
        /only goes up/,
      );
      await assert.rejects(db.deleteFrom('rule_set_revision').execute(), /only goes up/);
      assert.notEqual(laxSet.id, strictSet.id);
    });

    test('the revision cannot be put back to a key this process cached a laxer set under (SQLite: a BLOB compares above any integer)', async () => {
      await priceNow(running, 'BTC', '60000');
      const lax = [{ predicate: 'daily_usd_limit', action: 'review', params: { limit_usd: '10000.00' } }];
      const strict = [{ predicate: 'daily_usd_limit', action: 'review', params: { limit_usd: '1.00' } }];
      const [first, second] = await clonePayers(running, template, 2, () => freshAddress());
      running.clock.advance(30_000);
      assert.ok(first && second);
      await activeSet(running, lax, 'lax');
      assert.equal((await payOnce(running, first, template.secret)).state, 'queued');
      const db = running.context.database.db;
      const cached = await db.selectFrom('rule_set_revision').selectAll().executeTakeFirstOrThrow();
      // The insider writes the stricter set, then puts the revision row back to the key the lax set is held under.
      await activeSet(running, strict, 'strict');
      await assert.rejects(
        (engine === 'sqlite'
          ? sql`update rule_set_revision set revision = cast(${String(cached.revision)} as blob), nonce = ${cached.nonce} where id = 1`
          : sql`update rule_set_revision set revision = ${String(cached.revision)}, nonce = ${cached.nonce} where id = 1`
        ).execute(db),
        /only goes up/,
      );
      assert.equal((await payOnce(running, second, template.secret)).state, 'held_for_review');
      await activeSet(running, strict, 'strict-again');
    });

    test('the revision moves by exactly one: it cannot be pushed to the top of its range to block later changes', async () => {
      const db = running.context.database.db;
      const top = engine === 'postgres' ? 2147483647 : 9223372036854775807n;
      await assert.rejects(
        sql`update rule_set_revision set revision = ${top} where id = 1`.execute(db),
        /only goes up/,
      );
      const before = await db.selectFrom('rule_set_revision').select('revision').executeTakeFirstOrThrow();
      await activeSet(
        running,
        [{ predicate: 'daily_usd_limit', action: 'review', params: { limit_usd: '1.00' } }],
        'tighter',
      );
      const after = await db.selectFrom('rule_set_revision').select('revision').executeTakeFirstOrThrow();
      assert.ok(BigInt(after.revision) > BigInt(before.revision));
    });

    test('PostgreSQL computes the fan-in lock key of a withdrawal as core does', {
      skip: engine !== 'postgres' && 'the advisory lock exists only on PostgreSQL',
    }, async () => {
      const [payer] = await clonePayers(running, template, 1, () => freshAddress());
      assert.ok(payer);
      const id = await requestOne(running, payer);
      const row = await withdrawalRow(running, id);
      const key = await fanInLockKeyOf(running.context.database.db, id);
      assert.equal(key, fanInKey(row.network, row.destination_address).lock);
    });
  });
}
