import { invalidInput } from '../../core/errors.ts';
import { parseIdField } from '../../core/list-query.ts';
import { bumpGlobalMfaEpoch, bumpGlobalSessionEpoch } from '../../store/identity/epochs.ts';
import { bumpOtherOperatorSessionEpochs } from '../../store/incident-halts.ts';
import { inTransaction } from '../../store/transaction.ts';
import type { ServiceContext } from '../context.ts';
import { type Actor, actorName, authorize } from '../identity/acting-operator.ts';
import { incidentAudit, incidentToActOn } from './incidents.ts';

function flag(input: unknown, field: string): boolean {
  if (input === undefined || input === false) return false;
  if (input === true) return true;
  throw invalidInput(field, 'must be true or false');
}

/**
 * Revokes, for an incident, every customer session (`sessions`) and/or every customer second factor (`mfa`), each
 * one epoch increment whatever the number of accounts (DESIGN invariant 9); and, as a separate choice
 * (`operator_sessions`), every operator's session but the acting commander's (one epoch per operator: there are
 * few). After an MFA revocation a customer re-enrols only through a link sent to their verified email or with a
 * recovery code (services/identity/mfa-enrolment.ts).
 */
export async function revokeForIncident(
  context: ServiceContext,
  operator: Actor,
  incidentIdInput: unknown,
  input: { sessions?: unknown; mfa?: unknown; operator_sessions?: unknown },
) {
  const acting = authorize(operator, 'incident.revoke');
  const incidentId = parseIdField('id', incidentIdInput);
  const sessions = flag(input.sessions, 'sessions');
  const mfa = flag(input.mfa, 'mfa');
  const operatorSessions = flag(input.operator_sessions, 'operator_sessions');
  if (!sessions && !mfa && !operatorSessions)
    throw invalidInput('sessions', 'choose at least one of sessions, mfa or operator_sessions');
  const actor = actorName(acting);
  return inTransaction(context.database, async (tx) => {
    await incidentToActOn(context.database, tx, incidentId);
    const done: { session_epoch?: number; mfa_epoch?: number; operators_signed_out?: number } = {};
    if (sessions) {
      done.session_epoch = await bumpGlobalSessionEpoch(tx);
      await incidentAudit(tx, context, {
        actor,
        action: 'security.revoke_all_sessions',
        incidentId,
        subject: 'platform',
        data: { session_epoch: done.session_epoch },
      });
    }
    if (mfa) {
      const epochs = await bumpGlobalMfaEpoch(tx, undefined);
      done.mfa_epoch = epochs.mfa_epoch;
      await incidentAudit(tx, context, {
        actor,
        action: 'security.revoke_all_mfa',
        incidentId,
        subject: 'platform',
        data: { method: 'all', epochs: { ...epochs } },
      });
    }
    if (operatorSessions) {
      done.operators_signed_out = await bumpOtherOperatorSessionEpochs(tx, acting.id);
      await incidentAudit(tx, context, {
        actor,
        action: 'security.revoke_operator_sessions',
        incidentId,
        subject: 'operators',
        data: { kept: actor, operators: done.operators_signed_out },
      });
    }
    return { incident_id: incidentId, sessions, mfa, operator_sessions: operatorSessions, ...done };
  });
}
