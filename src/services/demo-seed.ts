import { randomBytes } from 'node:crypto';
import { MFA_POLICY_ACTIONS } from '../core/identity/actions.ts';
import { anyPrincipalExists, insertPrincipal } from '../store/identity/principals.ts';
import { recordSetting } from '../store/identity/settings-history.ts';
import { recordPrice } from '../store/prices.ts';
import { inTransaction } from '../store/transaction.ts';
import type { ServiceContext } from './context.ts';
import { creditDeposit } from './deposits.ts';
import { bootstrap } from './identity/acting-operator.ts';
import { createOperator } from './identity/operators.ts';
import { hashPassword } from './identity/passwords.ts';
import { MFA_POLICY_SETTING_PREFIX } from './identity/signup.ts';

export const DEMO_CUSTOMER_EMAIL = 'demo@drawbridge.local';
export const DEMO_OPERATOR_EMAIL = 'ops@drawbridge.local';

/**
 * The embedded default's demo: on an empty database, a verified customer with funds, an admin operator and
 * today's prices, so `npm start` gives something to try at once. Credentials are generated and returned (the
 * server logs them once); nothing is seeded when any account exists.
 */
export async function seedDemo(context: ServiceContext) {
  if (await anyPrincipalExists(context.database)) return undefined;
  const password = randomBytes(12).toString('base64url');
  const passwordHash = await hashPassword(password);
  const customer = await inTransaction(context.database, async (tx) => {
    const now = context.clock.now().toISOString();
    const principal = await insertPrincipal(tx, {
      kind: 'customer',
      email: DEMO_CUSTOMER_EMAIL,
      passwordHash,
      role: null,
      now,
    });
    await tx
      .updateTable('principals')
      .set({ email_verified_at: now })
      .where('id', '=', principal.id)
      .execute();
    for (const action of MFA_POLICY_ACTIONS) {
      await recordSetting(tx, {
        principalId: principal.id,
        setting: `${MFA_POLICY_SETTING_PREFIX}${action}`,
        value: 'required',
        effectiveAt: now,
      });
    }
    return principal;
  });
  const now = context.clock.now();
  for (const [asset, usdPrice] of [
    ['BTC', '60000'],
    ['ETH', '3000'],
    ['USDC', '1'],
    ['LTC', '80'],
  ] as const) {
    await recordPrice(context.database, { asset, at: now, usdPrice, source: 'demo' });
  }
  // The demo's admin is the installation's first operator (made by a bootstrap actor, refused once any exists);
  // the demo funds are credited by that admin, as an operator would credit them.
  const operator = await createOperator(context, bootstrap('demo'), {
    email: DEMO_OPERATOR_EMAIL,
    role: 'admin',
  });
  const admin = { kind: 'operator', id: operator.id, role: operator.role } as const;
  for (const [asset, network, amount, txid] of [
    ['BTC', 'bitcoin', '1.5', 'demo0000btc'],
    ['ETH', 'ethereum', '20', 'demo0000eth'],
    ['USDC', 'ethereum', '25000', 'demo000usdc'],
  ] as const) {
    await creditDeposit(context, admin, {
      account_id: customer.id,
      asset,
      network,
      amount,
      txid,
      output_index: 0,
    });
  }
  return {
    customer: { email: DEMO_CUSTOMER_EMAIL, password },
    operator: { email: operator.email, password: operator.password, otpauth_uri: operator.otpauth_uri },
  };
}
