import { randomBytes } from 'node:crypto';
import { ManualClock } from '../core/clock.ts';
import { assert } from '../core/errors.ts';
import { MFA_POLICY_ACTIONS } from '../core/identity/actions.ts';
import { totpAt } from '../core/mfa/totp.ts';
import { anyPrincipalExists, insertPrincipal, updatePrincipal } from '../store/identity/principals.ts';
import { recordSetting } from '../store/identity/settings-history.ts';
import { inTransaction } from '../store/transaction.ts';
import { addAddress } from './address-book.ts';
import type { RequestMeta, ServiceContext } from './context.ts';
import { depositApprovedBy } from './deposits.ts';
import { bootstrap } from './identity/acting-operator.ts';
import { login } from './identity/login.ts';
import { confirmTotpEnrolment, startTotpEnrolment } from './identity/mfa-enrolment.ts';
import { createOperator } from './identity/operators.ts';
import { hashPassword } from './identity/passwords.ts';
import { authenticate } from './identity/sessions.ts';
import { MFA_POLICY_SETTING_PREFIX } from './identity/signup.ts';
import { stepUp } from './identity/step-up.ts';

export const DEMO_CUSTOMER_EMAIL = 'demo@drawbridge.local';
export const DEMO_ADMIN_EMAIL = 'admin@drawbridge.local';
export const DEMO_COMMANDER_EMAIL = 'commander@drawbridge.local';
export const DEMO_COOLED_ADDRESS = 'bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4';
export const DEMO_FRESH_ADDRESS = '0x52908400098527886E0F7030069857D2E4169EE7';

const DAY_MS = 24 * 60 * 60_000;
const SEED_META: RequestMeta = { ip: '127.0.0.1', userAgent: 'drawbridge demo seed' };

export interface DemoCredentials {
  readonly customer: {
    readonly email: string;
    readonly password: string;
    readonly totp_secret: string;
    readonly recovery_codes: readonly string[];
    readonly cooled_destination_id: string;
    readonly cooling_destination_id: string;
  };
  readonly operators: readonly {
    readonly email: string;
    readonly role: string;
    readonly password: string;
    readonly totp_secret: string;
  }[];
}

/**
 * The embedded default's demo, on an empty database only: the customer's history is written as if it had happened
 * over the last three days, through the same services a customer uses (sign-in, authenticator enrolment, step-up,
 * address book), so no production default is shortened and nothing is special-cased: the enrolment's 24 h
 * security lock and the first address's 24 h cooling are simply over by now, and the second address, added now,
 * cools as any would. Funds are credited by the demo admin; prices come from the simulated price source.
 */
export async function seedDemo(context: ServiceContext): Promise<DemoCredentials | undefined> {
  if (await anyPrincipalExists(context.database)) return undefined;
  const now = context.clock.now();
  const past = new ManualClock(new Date(now.getTime() - 3 * DAY_MS));
  const then = { ...context, clock: past };

  // Operators first: the admin is the installation's first operator (a bootstrap actor, refused once any exists).
  const adminCreated = await createOperator(then, bootstrap('demo'), {
    email: DEMO_ADMIN_EMAIL,
    role: 'admin',
  });
  const admin = { kind: 'operator', id: adminCreated.id, role: adminCreated.role } as const;
  const commanderCreated = await createOperator(then, admin, {
    email: DEMO_COMMANDER_EMAIL,
    role: 'incident_commander',
  });
  const commander = { kind: 'operator', id: commanderCreated.id, role: commanderCreated.role } as const;

  const password = randomBytes(12).toString('base64url');
  const passwordHash = await hashPassword(password);
  const customer = await inTransaction(context.database, async (tx) => {
    const at = past.now().toISOString();
    const principal = await insertPrincipal(tx, {
      kind: 'customer',
      email: DEMO_CUSTOMER_EMAIL,
      passwordHash,
      role: null,
      now: at,
    });
    await updatePrincipal(tx, principal.id, { email_verified_at: at });
    for (const action of MFA_POLICY_ACTIONS) {
      await recordSetting(tx, {
        principalId: principal.id,
        setting: `${MFA_POLICY_SETTING_PREFIX}${action}`,
        value: 'required',
        effectiveAt: at,
      });
    }
    return principal;
  });
  for (const [asset, network, amount, txid] of [
    ['BTC', 'bitcoin', '1.5', 'demo0000btc'],
    ['ETH', 'ethereum', '20', 'demo0000eth'],
    ['USDC', 'ethereum', '25000', 'demo000usdc'],
  ] as const) {
    await depositApprovedBy(
      then,
      { recorder: admin, approver: commander },
      {
        account_id: customer.id,
        asset,
        network,
        amount,
        txid,
        output_index: 0,
      },
    );
  }

  // Three days ago: the customer signs in and enrols an authenticator (its 24 h security lock starts then).
  const first = await login(then, 'customer', { email: DEMO_CUSTOMER_EMAIL, password }, SEED_META);
  const firstAuth = await authenticate(then, first.token);
  const enrolment = await startTotpEnrolment(then, firstAuth, {});
  const secret = new URL(enrolment.otpauth_uri).searchParams.get('secret');
  assert(secret !== null, 'an otpauth URI names its secret');
  const enrolled = await confirmTotpEnrolment(
    then,
    firstAuth,
    enrolment.factor_id,
    { code: totpAt(secret, past.now()) },
    SEED_META,
  );

  // Two days ago: a withdrawal address is added with a fresh code; its 24 h cooling ended yesterday.
  past.advance(DAY_MS);
  const cooled = await addDestination(then, secret, password, {
    network: 'bitcoin',
    address: DEMO_COOLED_ADDRESS,
    label: 'Cold wallet',
  });
  // Just now: a second address, still cooling, to see what that looks like.
  past.set(new Date(now.getTime() - 2 * 60_000));
  const cooling = await addDestination(then, secret, password, {
    network: 'ethereum',
    address: DEMO_FRESH_ADDRESS,
    label: 'New exchange account',
  });
  return {
    customer: {
      email: DEMO_CUSTOMER_EMAIL,
      password,
      totp_secret: secret,
      recovery_codes: enrolled.recovery_codes ?? [],
      cooled_destination_id: cooled,
      cooling_destination_id: cooling,
    },
    operators: [adminCreated, commanderCreated].map((operator) => ({
      email: operator.email,
      role: operator.role,
      password: operator.password,
      totp_secret: new URL(operator.otpauth_uri).searchParams.get('secret') ?? '',
    })),
  };
}

/** Signs in with password and code (a minute later, so each code is a new step), steps up and adds the address. */
async function addDestination(
  context: ServiceContext & { clock: ManualClock },
  secret: string,
  password: string,
  entry: { network: string; address: string; label: string },
): Promise<string> {
  const session = await login(
    context,
    'customer',
    {
      email: DEMO_CUSTOMER_EMAIL,
      password,
      proof: { method: 'totp', code: totpAt(secret, context.clock.now()) },
    },
    SEED_META,
  );
  const auth = await authenticate(context, session.token);
  context.clock.advance(60_000);
  const { step_up_token } = await stepUp(
    context,
    auth,
    { action: 'address_book.add', proof: { method: 'totp', code: totpAt(secret, context.clock.now()) } },
    SEED_META,
  );
  const added = await addAddress(context, auth, { ...entry, step_up_token }, SEED_META);
  return added.id;
}
