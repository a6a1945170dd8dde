import { randomBytes } from 'node:crypto';
import { seal } from '../../adapters/secret-box.ts';
import { DomainError, invalidInput } from '../../core/errors.ts';
import { normalizeEmail } from '../../core/identity/email.ts';
import { newTotpSecret, totpUri } from '../../core/mfa/totp.ts';
import { insertFactor } from '../../store/identity/factors.ts';
import { findPrincipalByEmail, insertPrincipal } from '../../store/identity/principals.ts';
import type { OperatorRole } from '../../store/schema-identity.ts';
import { inTransaction } from '../../store/transaction.ts';
import { audit } from '../audit.ts';
import type { ServiceContext } from '../context.ts';
import { hashPassword } from './passwords.ts';
import { totpAssociatedData } from './second-factor.ts';
import type { Authenticated } from './sessions.ts';

export const OPERATOR_ROLES: readonly OperatorRole[] = [
  'support',
  'risk_analyst',
  'incident_commander',
  'admin',
];

export function parseRole(input: unknown): OperatorRole {
  if (typeof input === 'string' && (OPERATOR_ROLES as readonly string[]).includes(input))
    return input as OperatorRole;
  throw invalidInput('role', `must be one of ${OPERATOR_ROLES.join(', ')}`);
}

/**
 * Creates an operator with a generated password and an enrolled TOTP: MFA is mandatory for operators, so the
 * account never exists without it. The password and the otpauth URI are shown once, to whoever ran the command.
 */
export async function createOperator(
  context: ServiceContext,
  input: { email: unknown; role: unknown },
  createdBy: string,
) {
  const email = normalizeEmail(input.email);
  const role = parseRole(input.role);
  const password = randomBytes(18).toString('base64url');
  const passwordHash = await hashPassword(password);
  const secret = newTotpSecret();
  return inTransaction(context.database, async (tx) => {
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
    await tx
      .updateTable('mfa_factors')
      .set({ secret: seal(context.totpKey, Buffer.from(secret, 'utf8'), totpAssociatedData(factor.id)) })
      .where('id', '=', factor.id)
      .execute();
    await audit(tx, context, {
      actor: createdBy,
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

const ROLE_RANK: Record<OperatorRole, number> = {
  support: 1,
  risk_analyst: 2,
  incident_commander: 3,
  admin: 4,
};

/** Operator actions need an operator session at AAL2 and one of the allowed roles (admin may do anything). */
export function requireOperator(auth: Authenticated, allowed: readonly OperatorRole[]): OperatorRole {
  if (auth.kind !== 'operator' || auth.role === null)
    throw new DomainError('FORBIDDEN', 'this needs an operator session');
  if (auth.aal < 2) throw new DomainError('FORBIDDEN', 'operators act only with a second factor');
  if (auth.role !== 'admin' && !allowed.includes(auth.role)) {
    throw new DomainError('FORBIDDEN', `this needs one of the roles ${allowed.join(', ')}`, {
      details: { role: auth.role },
    });
  }
  return auth.role;
}

export function roleRank(role: OperatorRole): number {
  return ROLE_RANK[role];
}
