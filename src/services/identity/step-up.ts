import { DomainError, invalidInput } from '../../core/errors.ts';
import { isStepUpAction, type StepUpAction } from '../../core/identity/actions.ts';
import { authenticationOptions } from '../../core/mfa/passkey.ts';
import { actionChallenge, newChallenge } from '../../core/mfa/passkey-challenge.ts';
import { currentFactors } from '../../store/identity/factors.ts';
import { consumeOneTimeToken, issueOneTimeToken } from '../../store/identity/one-time-tokens.ts';
import { findPrincipal } from '../../store/identity/principals.ts';
import { inTransaction, type Tx } from '../../store/transaction.ts';
import { audit } from '../audit.ts';
import type { RequestMeta, ServiceContext } from '../context.ts';
import { enforceRateLimits } from './rate-limit.ts';
import { checkSecondFactor, parseProof } from './second-factor.ts';
import type { Authenticated } from './sessions.ts';

export const STEP_UP_TTL_MS = 5 * 60_000;
export const PASSKEY_CHALLENGE_TTL_MS = 5 * 60_000;

export function parseStepUpAction(input: unknown, field = 'action'): StepUpAction {
  if (typeof input !== 'string' || !isStepUpAction(input))
    throw invalidInput(field, 'is not an action that takes a step-up proof');
  return input;
}

/**
 * Issues a passkey challenge for one purpose ("login", "step_up:<action>", "withdrawal:<id>"). The challenge id
 * is a single-use token; the challenge itself is random, or derived from the action so the signed assertion
 * names what it approved.
 */
export async function issuePasskeyChallenge(
  tx: Tx,
  context: ServiceContext,
  principalId: string,
  purpose: string,
  challenge: string,
) {
  const principal = await findPrincipal(tx, principalId);
  if (principal === undefined) throw new DomainError('NOT_FOUND', 'no such account');
  const passkeys = await currentFactors(tx, principal, 'passkey');
  const issued = await issueOneTimeToken(tx, {
    principalId,
    purpose: `webauthn:${purpose}`,
    data: { challenge },
    now: context.clock.now(),
    ttlMs: PASSKEY_CHALLENGE_TTL_MS,
  });
  const options = await authenticationOptions({
    rp: context.settings.relyingParty,
    allowCredentialIds: passkeys.flatMap((p) => (p.credential_id === null ? [] : [p.credential_id])),
    challenge,
  });
  return { challenge_id: issued.token, expires_at: issued.row.expires_at, options };
}

export async function stepUpPasskeyChallenge(
  context: ServiceContext,
  auth: Authenticated,
  actionInput: unknown,
) {
  const action = parseStepUpAction(actionInput);
  return inTransaction(context.database, async (tx) => {
    const nonce = newChallenge();
    return issuePasskeyChallenge(
      tx,
      context,
      auth.principalId,
      `step_up:${action}`,
      actionChallenge(action, nonce),
    );
  });
}

/** A fresh second factor naming one action, exchanged for a single-use step-up token valid for 5 minutes. */
export async function stepUp(
  context: ServiceContext,
  auth: Authenticated,
  input: { action: unknown; proof: unknown },
  meta: RequestMeta,
): Promise<{ step_up_token: string; action: StepUpAction; expires_at: string }> {
  const action = parseStepUpAction(input.action);
  const proof = parseProof(input.proof);
  await enforceRateLimits(context, [
    ['mfa_per_ip', meta.ip],
    ['mfa_per_account', auth.principalId],
  ]);
  const outcome = await inTransaction(context.database, async (tx) => {
    const check = await checkSecondFactor(
      tx,
      context,
      auth.principalId,
      proof,
      { name: `step_up:${action}` },
      { ...meta, sessionId: auth.sessionId },
    );
    if (!check.ok) return { error: check.error, token: undefined };
    const issued = await issueOneTimeToken(tx, {
      principalId: auth.principalId,
      purpose: `step_up:${action}`,
      data: { method: check.method, factor_id: check.factorId, session_id: auth.sessionId },
      now: context.clock.now(),
      ttlMs: STEP_UP_TTL_MS,
    });
    await audit(tx, context, {
      actor: `${auth.kind}:${auth.principalId}`,
      action: 'mfa.step_up',
      subject: `${auth.kind}:${auth.principalId}`,
      data: { for_action: action, method: check.method },
    });
    return {
      error: undefined,
      token: { step_up_token: issued.token, action, expires_at: issued.row.expires_at },
    };
  });
  if (outcome.error !== undefined) throw outcome.error;
  return outcome.token;
}

/**
 * Spends a step-up token for exactly the action it names, inside the transaction that performs the action.
 * A proof for one action presented for another is refused and stays unspent.
 */
export async function consumeStepUp(
  tx: Tx,
  context: ServiceContext,
  auth: Authenticated,
  action: StepUpAction,
  token: unknown,
): Promise<void> {
  if (typeof token !== 'string' || token.length === 0) {
    throw new DomainError('STEP_UP_REQUIRED', `this action needs a step-up proof for "${action}"`, {
      field: 'step_up_token',
      details: { action },
    });
  }
  const consumed = await consumeOneTimeToken(tx, token, `step_up:${action}`, context.clock.now());
  // Throwing rolls the caller's transaction back, so a proof refused here is not spent.
  if (!consumed.ok) {
    const reason =
      consumed.reason === 'wrong_purpose'
        ? `the step-up proof is not for "${action}"`
        : `the step-up proof is ${consumed.reason === 'unknown' ? 'not valid' : consumed.reason}`;
    throw new DomainError('STEP_UP_REQUIRED', reason, { field: 'step_up_token', details: { action } });
  }
  // A proof belongs to the session that made it: a second session (a stolen cookie) cannot spend it.
  const madeIn = (JSON.parse(consumed.row.data) as { session_id?: unknown }).session_id;
  if (consumed.row.principal_id !== auth.principalId || madeIn !== auth.sessionId) {
    throw new DomainError('STEP_UP_REQUIRED', 'the step-up proof was made in another session', {
      field: 'step_up_token',
      details: { action },
    });
  }
}
