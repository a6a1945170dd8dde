import { factorKeyFingerprint } from '../core/mfa/factor-key.ts';
import { newTotpSecret } from '../core/mfa/totp.ts';
import { audit } from '../services/audit.ts';
import type { ServiceContext } from '../services/context.ts';
import { sealedTotpSecret } from '../services/identity/second-factor.ts';
import { insertFactor, setFactorSecret } from '../store/identity/factors.ts';
import type { Principal } from '../store/identity/principals.ts';
import type { Tx } from '../store/transaction.ts';

/**
 * An active authenticator for a customer made straight through the store (the replay's population, the benchmarks'
 * customers), as enrolment leaves it: the secret sealed and bound, and its fingerprint in the audit log, both of
 * which the monitor checks. `at` is when it was enrolled.
 */
export async function insertEnrolledTotp(
  tx: Tx,
  context: ServiceContext,
  principal: Principal,
  at: Date,
): Promise<{ readonly factorId: string; readonly secret: string }> {
  const secret = newTotpSecret();
  const factor = await insertFactor(
    tx,
    principal,
    {
      principal_id: principal.id,
      method: 'totp',
      status: 'active',
      label: 'Authenticator app',
      activated_at: at.toISOString(),
    },
    at.toISOString(),
  );
  const { sealed, binding } = sealedTotpSecret(context, factor.id, principal.id, secret);
  await setFactorSecret(tx, factor.id, sealed, binding);
  await audit(tx, context, {
    actor: `customer:${principal.id}`,
    action: 'mfa.totp_enrolled',
    subject: `customer:${principal.id}`,
    at,
    data: {
      factor_id: factor.id,
      key_sha256: factorKeyFingerprint({ method: 'totp', secretBase32: secret }),
    },
  });
  return { factorId: factor.id, secret };
}
