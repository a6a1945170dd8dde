import { randomBytes } from 'node:crypto';
import { DomainError, invalidInput } from '../../core/errors.ts';
import { normalizeEmail } from '../../core/identity/email.ts';
import { OPERATOR_ROLES, type OperatorRole as RoleOfMatrix } from '../../core/identity/operator-roles.ts';
import { newTotpSecret, totpUri } from '../../core/mfa/totp.ts';
import { insertFactor, setFactorSecret } from '../../store/identity/factors.ts';
import {
  anyOperator,
  anyOperatorLocked,
  findPrincipalByEmail,
  insertPrincipal,
} from '../../store/identity/principals.ts';
import type { OperatorRole } from '../../store/schema-identity.ts';
import { inTransaction } from '../../store/transaction.ts';
import { audit } from '../audit.ts';
import type { ServiceContext } from '../context.ts';
import { actorName, authorize, type BootstrapActor, type OperatorActor } from './acting-operator.ts';
import { hashPassword } from './passwords.ts';
import { sealedTotpSecret } from './second-factor.ts';

export { OPERATOR_ROLES };

// The roles the matrix knows are the roles the schema stores; this fails to compile if they ever differ.
const SAME_ROLES: [OperatorRole] extends [RoleOfMatrix]
  ? [RoleOfMatrix] extends [OperatorRole]
    ? true
    : never
  : never = true;
void SAME_ROLES;

export function parseRole(input: unknown): OperatorRole {
  if (typeof input === 'string' && (OPERATOR_ROLES as readonly string[]).includes(input))
    return input as OperatorRole;
  throw invalidInput('role', `must be one of ${OPERATOR_ROLES.join(', ')}`);
}

/** Whether the installation has an operator yet (until it does, the first one is made without one). */
export async function operatorsExist(context: ServiceContext): Promise<boolean> {
  return anyOperator(context.database);
}

/**
 * Creates an operator with a generated password and an enrolled TOTP: MFA is mandatory for operators, so the
 * account never exists without it. The password and the otpauth URI are shown once, to whoever ran the command.
 * An admin creates operators; the first one of an installation is made by a bootstrap actor, refused as soon as
 * any operator exists.
 */
export async function createOperator(
  context: ServiceContext,
  actor: OperatorActor | BootstrapActor,
  input: { email: unknown; role: unknown },
) {
  if (actor.kind !== 'bootstrap') authorize(actor, 'operator.create');
  const email = normalizeEmail(input.email);
  const role = parseRole(input.role);
  const password = randomBytes(18).toString('base64url');
  const passwordHash = await hashPassword(password);
  const secret = newTotpSecret();
  return inTransaction(context.database, async (tx) => {
    if (actor.kind === 'bootstrap') {
      if (await anyOperatorLocked(context.database, tx)) {
        throw new DomainError('FORBIDDEN', 'operators exist: only an admin creates another');
      }
    }
    if ((await findPrincipalByEmail(tx, 'operator', email)) !== undefined) {
      throw new DomainError('ALREADY_EXISTS', `an operator ${email} already exists`, { field: 'email' });
    }
    const now = context.clock.now().toISOString();
    const principal = await insertPrincipal(tx, { kind: 'operator', email, passwordHash, role, now });
    const factor = await insertFactor(
      tx,
      principal,
      {
        principal_id: principal.id,
        method: 'totp',
        status: 'active',
        label: 'Operator authenticator',
        activated_at: now,
      },
      now,
    );
    const { sealed, binding } = sealedTotpSecret(context, factor.id, principal.id, secret);
    await setFactorSecret(tx, factor.id, sealed, binding);
    await audit(tx, context, {
      actor: actorName(actor),
      action: 'operator.created',
      subject: `operator:${principal.id}`,
      data: { email, role },
    });
    return {
      id: principal.id,
      email,
      role,
      password,
      otpauth_uri: totpUri({ secretBase32: secret, issuer: 'Drawbridge operators', label: email }),
    };
  });
}
