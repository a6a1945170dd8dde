import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DomainError } from '../../../src/core/errors.ts';
import {
  mayPerform,
  OPERATOR_PERMISSIONS,
  OPERATOR_ROLES,
  type OperatorAction,
} from '../../../src/core/identity/operator-roles.ts';
import {
  actingOperator,
  actorName,
  authorize,
  breakGlass,
  consoleName,
} from '../../../src/services/identity/acting-operator.ts';
import type { Authenticated } from '../../../src/services/identity/sessions.ts';
import { actingAs } from '../../support/actors.ts';

const ACTIONS = Object.keys(OPERATOR_PERMISSIONS) as OperatorAction[];

function forbidden(work: () => unknown): DomainError {
  try {
    work();
  } catch (error) {
    assert.ok(error instanceof DomainError);
    assert.equal(error.code, 'FORBIDDEN');
    return error;
  }
  assert.fail('expected FORBIDDEN');
}

describe('the operator role matrix', () => {
  test('support only reads and helps one customer; admin may do everything', () => {
    assert.deepEqual(ACTIONS.filter((action) => mayPerform('support', action)).sort(), [
      'account.unlock',
      'alerts.read',
      'audit.read',
      'cases.read',
      'customer.read',
      'deposit.view',
      'halt.list',
      'incident.read',
      'revoke.sessions_customer',
      'rules.read',
      'withdrawal.cancel',
      'withdrawal.read',
    ]);
    assert.deepEqual(
      ACTIONS.filter((action) => !mayPerform('admin', action)),
      [],
    );
  });

  test('incidents: support only reads; an analyst opens and marks; the commander halts, contains, revokes, resumes', () => {
    const who = (action: OperatorAction) => OPERATOR_ROLES.filter((role) => mayPerform(role, action));
    assert.deepEqual(who('incident.read'), OPERATOR_ROLES);
    for (const action of ['incident.open', 'incident.mark'] as const)
      assert.deepEqual(who(action), ['risk_analyst', 'incident_commander', 'admin'], action);
    for (const action of [
      'incident.manage',
      'incident.halt',
      'incident.contain',
      'incident.revoke',
      'incident.resume_request',
      'incident.resume_approve',
    ] as const)
      assert.deepEqual(who(action), ['incident_commander', 'admin'], action);
  });

  test('incident money: support reads losses and reports but never pays or funds; only an admin funds the treasury', () => {
    for (const action of [
      'incident.reimburse_request',
      'incident.reimburse_approve',
      'treasury.fund',
    ] as const) {
      assert.equal(mayPerform('support', action), false, action);
      assert.equal(mayPerform('risk_analyst', action), false, action);
    }
    assert.deepEqual(
      OPERATOR_ROLES.filter((role) => mayPerform(role, 'treasury.fund')),
      ['admin'],
    );
  });

  test('alerts and cases: every role reads them; a risk analyst, an incident commander and an admin act on them', () => {
    for (const action of ['alerts.read', 'cases.read'] as const) {
      assert.deepEqual(
        OPERATOR_ROLES.filter((role) => mayPerform(role, action)),
        OPERATOR_ROLES,
      );
    }
    for (const action of ['alerts.manage', 'cases.manage'] as const) {
      assert.deepEqual(
        OPERATOR_ROLES.filter((role) => mayPerform(role, action)),
        ['risk_analyst', 'incident_commander', 'admin'],
      );
    }
  });

  test('halting: a risk analyst and an incident commander set halts; only the commander lifts and contains', () => {
    assert.ok(mayPerform('risk_analyst', 'halt.set'));
    assert.ok(!mayPerform('risk_analyst', 'halt.lift'));
    assert.ok(mayPerform('incident_commander', 'halt.lift'));
    for (const action of ['revoke.sessions_all', 'revoke.mfa_all', 'deposit.credit'] as const) {
      assert.deepEqual(
        OPERATOR_ROLES.filter((role) => mayPerform(role, action)),
        ['incident_commander', 'admin'],
        action,
      );
    }
    for (const action of ['operator.create', 'operator.unlock', 'webhook.manage', 'webhook.list'] as const) {
      assert.deepEqual(
        OPERATOR_ROLES.filter((role) => mayPerform(role, action)),
        ['admin'],
        action,
      );
    }
  });

  test('authorize refuses a role outside the row, and anything that is not an operator, with FORBIDDEN', () => {
    assert.deepEqual(
      authorize(actingAs('incident_commander', 'ic-1'), 'halt.lift'),
      actingAs('incident_commander', 'ic-1'),
    );
    const refused = forbidden(() => authorize(actingAs('support'), 'halt.set'));
    assert.match(refused.message, /halt\.set needs one of the roles risk_analyst, incident_commander, admin/);
    assert.deepEqual(refused.details, { action: 'halt.set', role: 'support' });
    forbidden(() => authorize(breakGlass('root'), 'halt.lift'));
    forbidden(() => authorize({ cli: true } as never, 'halt.set'));
    forbidden(() => authorize({ kind: 'operator', id: 'x', role: 'superuser' } as never, 'halt.set'));
  });

  test('the acting operator of a session: an operator at AAL2 only', () => {
    const session: Authenticated = {
      sessionId: 's',
      principalId: 'op-1',
      kind: 'operator',
      role: 'risk_analyst',
      aal: 2,
      csrfHash: 'h',
    };
    assert.deepEqual(actingOperator(session), { kind: 'operator', id: 'op-1', role: 'risk_analyst' });
    assert.match(forbidden(() => actingOperator({ ...session, aal: 1 })).message, /second factor/);
    forbidden(() => actingOperator({ ...session, kind: 'customer', role: null }));
  });

  test('audit names: operator:<id>, break-glass:<os user> (plain names only, else "cli")', () => {
    assert.equal(actorName(actingAs('admin', 'op-7')), 'operator:op-7');
    assert.equal(actorName(breakGlass('alice')), 'break-glass:alice');
    assert.equal(actorName(breakGlass(undefined)), 'break-glass:cli');
    assert.equal(consoleName('evil:operator:x'), 'cli');
    assert.equal(consoleName('a'.repeat(65)), 'cli');
  });
});
