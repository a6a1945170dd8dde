import { createHmac } from 'node:crypto';
import { normalizeEmail } from '../../core/identity/email.ts';
import { newOpaqueToken } from '../../core/identity/opaque-token.ts';
import { authenticationOptions } from '../../core/mfa/passkey.ts';
import { newChallenge } from '../../core/mfa/passkey-challenge.ts';
import { currentFactors } from '../../store/identity/factors.ts';
import { findPrincipalByEmail } from '../../store/identity/principals.ts';
import { inTransaction } from '../../store/transaction.ts';
import type { RequestMeta, ServiceContext } from '../context.ts';
import { enforceRateLimits } from './rate-limit.ts';
import { issuePasskeyChallenge, PASSKEY_CHALLENGE_TTL_MS } from './step-up.ts';

const DECOY_CREDENTIAL_TAG = 'drawbridge/decoy-passkey-id/v1';

/**
 * Passkey sign-in needs a challenge before the customer is signed in. A known, verified customer with passkeys
 * gets a real one (purpose "login", single-use, 5 minutes). Anyone else (unknown email, unverified, no passkey)
 * gets a decoy of the same shape: a challenge id that was never stored and one credential id derived from the
 * email with a server key, so it is the same on every call, as a real customer's would be. The answer thus
 * tells nobody whether an account exists; the login that follows fails like any wrong credential.
 */
export async function loginPasskeyChallenge(
  context: ServiceContext,
  input: { email?: unknown },
  meta: RequestMeta,
) {
  const email = normalizeEmail(input.email);
  // Bounds the challenge rows an anonymous caller can make us write.
  await enforceRateLimits(context, [['login_per_ip', meta.ip]]);
  return inTransaction(context.database, async (tx) => {
    const principal = await findPrincipalByEmail(tx, 'customer', email);
    const real =
      principal !== undefined &&
      principal.email_verified_at !== null &&
      (await currentFactors(tx, principal, 'passkey')).length > 0;
    if (real) return issuePasskeyChallenge(tx, context, principal.id, 'login', newChallenge());
    const expiresAt = new Date(context.clock.now().getTime() + PASSKEY_CHALLENGE_TTL_MS).toISOString();
    const options = await authenticationOptions({
      rp: context.settings.relyingParty,
      allowCredentialIds: [decoyCredentialId(context.totpKey, email)],
      challenge: newChallenge(),
    });
    return { challenge_id: newOpaqueToken(), expires_at: expiresAt, options };
  });
}

function decoyCredentialId(key: Buffer, email: string): string {
  return createHmac('sha256', key).update(`${DECOY_CREDENTIAL_TAG}\n${email}`, 'utf8').digest('base64url');
}
