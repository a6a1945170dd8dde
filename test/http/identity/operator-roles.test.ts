import assert from 'node:assert/strict';
import { beforeEach, test } from 'node:test';
import { sealAudit } from '../../../src/store/audit/index.ts';
import {
  api,
  customerWithTotp,
  freshRateWindows,
  nextTotp,
  operatorWithSession,
  principalRow,
} from '../../support/customers.ts';
import { eachEngine } from '../../support/each-engine.ts';

for (const { engine, describeOn } of await eachEngine()) {
  describeOn(`operators on ${engine}`, (on) => {
    const running = on.app();
    beforeEach(() => freshRateWindows(running));

    const operatorLogin = (body: Record<string, unknown>) =>
      api(running, 'POST', '/v1/operator/login', { body });

    test('operator sign-in needs the password and a TOTP code, always', async () => {
      const operator = await operatorWithSession(running, 'always-mfa@ops.example', 'support');
      const noCode = await operatorLogin({ email: operator.email, password: operator.password });
      assert.equal(noCode.status, 401);
      assert.equal(noCode.body.code, 'MFA_REQUIRED');
      const wrongCode = await operatorLogin({
        email: operator.email,
        password: operator.password,
        proof: { method: 'totp', code: '000000' },
      });
      assert.equal(wrongCode.status, 401);
      assert.equal(wrongCode.body.code, 'INVALID_CREDENTIALS');
      const wrongPassword = await operatorLogin({
        email: operator.email,
        password: 'a wrong operator password',
        proof: { method: 'totp', code: nextTotp(running, operator.secret) },
      });
      assert.equal(wrongPassword.status, 401);
      const good = await operatorLogin({
        email: operator.email,
        password: operator.password,
        proof: { method: 'totp', code: nextTotp(running, operator.secret) },
      });
      assert.equal(good.status, 200, JSON.stringify(good.body));
      assert.equal(good.body.aal, 2);

      const asCustomer = await api(running, 'POST', '/v1/auth/login', {
        body: {
          email: operator.email,
          password: operator.password,
          proof: { method: 'totp', code: nextTotp(running, operator.secret) },
        },
      });
      assert.equal(asCustomer.status, 401, 'an operator is not a customer');
      const { id } = await principalRow(running, operator.email, 'operator');
      assert.equal(id, operator.id);
    });

    test('a customer session is refused on operator routes and an operator session on customer routes', async () => {
      const customer = await customerWithTotp(running, 'not-an-operator@example.com');
      const operator = await operatorWithSession(running, 'not-a-customer@ops.example', 'admin');
      const { id } = await principalRow(running, customer.email);
      for (const [path, body] of [
        ['/v1/operator/security/revoke-sessions', { customer_id: id }],
        ['/v1/operator/security/revoke-mfa', { all: true }],
        [`/v1/operator/customers/${id}/unlock`, { reason: 'I unlock myself' }],
      ] as const) {
        const refused = await api(running, 'POST', path, { token: customer.token, body });
        assert.equal(refused.status, 403, `${path}: ${JSON.stringify(refused.body)}`);
        assert.equal(refused.body.code, 'FORBIDDEN');
      }
      const customerLogin = await operatorLogin({
        email: customer.email,
        password: 'correct horse battery staple',
        proof: { method: 'totp', code: nextTotp(running, customer.secret) },
      });
      assert.equal(customerLogin.status, 401, 'a customer cannot sign in as an operator');

      for (const [method, path, body] of [
        ['GET', '/v1/account/sessions', undefined],
        ['GET', '/v1/mfa/factors', undefined],
        ['POST', '/v1/account/lock', undefined],
        ['POST', '/v1/mfa/totp', {}],
        ['PUT', '/v1/account/anti-phishing-code', { code: 'operator-code' }],
      ] as const) {
        const refused = await api(running, method, path, { token: operator.token, body });
        assert.equal(refused.status, 403, `${path}: ${JSON.stringify(refused.body)}`);
        assert.equal(refused.body.code, 'FORBIDDEN');
      }
      const stillWorks = await api(running, 'GET', '/v1/account/sessions', { token: customer.token });
      assert.equal(stillWorks.status, 200);
    });

    test('support cannot revoke everything; an incident commander can', async () => {
      const customer = await customerWithTotp(running, 'revoked-by-ic@example.com');
      const { id } = await principalRow(running, customer.email);
      const support = await operatorWithSession(running, 'support-role@ops.example', 'support');
      const analyst = await operatorWithSession(running, 'analyst-role@ops.example', 'risk_analyst');
      const commander = await operatorWithSession(
        running,
        'commander-role@ops.example',
        'incident_commander',
      );

      for (const [path, body] of [
        ['/v1/operator/security/revoke-sessions', { all: true }],
        ['/v1/operator/security/revoke-mfa', { all: true }],
        ['/v1/operator/security/revoke-mfa', { customer_id: id }],
      ] as const) {
        const refused = await api(running, 'POST', path, { token: support.token, body });
        assert.equal(refused.status, 403, `${path}: ${JSON.stringify(refused.body)}`);
        assert.equal(refused.body.role, 'support');
      }
      const analystAll = await api(running, 'POST', '/v1/operator/security/revoke-sessions', {
        token: analyst.token,
        body: { all: true },
      });
      assert.equal(analystAll.status, 403);
      const stillIn = await api(running, 'GET', '/v1/account/sessions', { token: customer.token });
      assert.equal(stillIn.status, 200, 'the refused revocations changed nothing');

      const both = await api(running, 'POST', '/v1/operator/security/revoke-sessions', {
        token: support.token,
        body: { all: true, customer_id: id },
      });
      assert.equal(both.status, 403, 'all:true decides the role needed');

      const one = await api(running, 'POST', '/v1/operator/security/revoke-sessions', {
        token: support.token,
        body: { customer_id: id },
      });
      assert.equal(one.status, 200, JSON.stringify(one.body));
      const everyone = await api(running, 'POST', '/v1/operator/security/revoke-sessions', {
        token: commander.token,
        body: { all: true },
      });
      assert.equal(everyone.status, 200, JSON.stringify(everyone.body));
      const gone = await api(running, 'GET', '/v1/account/sessions', { token: customer.token });
      assert.equal(gone.status, 401);
      for (const operator of [support, analyst, commander]) {
        const ok = await api(running, 'POST', '/v1/operator/security/revoke-sessions', {
          token: operator.token,
          body: { customer_id: id },
        });
        assert.equal(ok.status, 200, 'operators are not logged out by revoking every customer session');
      }
    });

    test('every operator action lands in the audit log', async () => {
      const customer = await customerWithTotp(running, 'audited@example.com');
      const { id } = await principalRow(running, customer.email);
      const commander = await operatorWithSession(running, 'audited-ic@ops.example', 'incident_commander');
      await api(running, 'POST', '/v1/account/lock', { token: customer.token });
      const calls = [
        ['/v1/operator/security/revoke-sessions', { customer_id: id }, 'security.revoke_sessions'],
        ['/v1/operator/security/revoke-mfa', { customer_id: id }, 'security.revoke_mfa'],
        [`/v1/operator/customers/${id}/unlock`, { reason: 'audited unlock' }, 'account.unlocked'],
        ['/v1/operator/security/revoke-mfa', { all: true, method: 'recovery' }, 'security.revoke_all_mfa'],
        ['/v1/operator/security/revoke-sessions', { all: true }, 'security.revoke_all_sessions'],
      ] as const;
      for (const [path, body] of calls) {
        const done = await api(running, 'POST', path, { token: commander.token, body });
        assert.equal(done.status, 200, `${path}: ${JSON.stringify(done.body)}`);
      }
      await sealAudit(running.context.database);
      const entries = await running.context.database.db
        .selectFrom('audit_log')
        .select(['actor', 'action', 'subject'])
        .where('actor', '=', `operator:${commander.id}`)
        .orderBy('seq')
        .execute();
      assert.deepEqual(
        entries.map((e) => e.action),
        ['login.succeeded', ...calls.map((c) => c[2])],
      );
      assert.deepEqual(
        entries.slice(1, 4).map((e) => e.subject),
        [`customer:${id}`, `customer:${id}`, `customer:${id}`],
      );
      await sealAudit(running.context.database);
      const created = await running.context.database.db
        .selectFrom('audit_log')
        .select(['actor'])
        .where('action', '=', 'operator.created')
        .where('subject', '=', `operator:${commander.id}`)
        .execute();
      assert.equal(created.length, 1);
    });
  });
}
