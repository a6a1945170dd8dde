import { payments } from 'bitcoinjs-lib';
import { normalizeAddress } from '../../core/addresses/index.ts';
import { formatAmount, getAsset } from '../../core/money/index.ts';
import type { Network } from '../../core/networks.ts';
import type { ServiceContext } from '../../services/context.ts';
import { depositApprovedBy } from '../../services/deposits.ts';
import type { OperatorActor } from '../../services/identity/acting-operator.ts';
import { issueSession } from '../../services/identity/sessions.ts';
import { insertEntry } from '../../store/address-book.ts';
import { insertPrincipal, updatePrincipal } from '../../store/identity/principals.ts';
import { inTransaction } from '../../store/transaction.ts';
import { insertEnrolledTotp } from '../enrolled-totp.ts';
import type { SeededRandom } from '../seeded-random.ts';

/**
 * The replay's customers, set up as they would be after months of use: verified, an authenticator enrolled (sealed,
 * bound and its fingerprint audited, as enrolment does), a BTC and an ETH address added three days ago (cooled), a
 * signed-in AAL2 session, and holdings credited through the deposit service. Written straight through the store for
 * speed (no argon2 per sign-up, no 24 h waits), as the benchmarks do.
 */

const DAY_MS = 24 * 60 * 60_000;
const BATCH = 64;

export interface SimCustomer {
  readonly id: string;
  readonly token: string;
  /** Base32 TOTP secret: what the customer's authenticator holds (the attacker never has it). */
  readonly secret: string;
  readonly factorId: string;
  readonly destinations: Readonly<Record<'bitcoin' | 'ethereum', string>>;
  /** Base units credited, per asset. */
  readonly holdings: Readonly<Record<string, bigint>>;
}

function btcAddress(random: SeededRandom): string {
  const address = payments.p2wpkh({ hash: random.bytes(20) }).address;
  if (address === undefined) throw new Error('assertion failed: a P2WPKH address');
  return normalizeAddress('bitcoin', address).normalized;
}

function ethAddress(random: SeededRandom): string {
  return normalizeAddress('ethereum', `0x${random.bytes(20).toString('hex')}`).normalized;
}

/** What a customer holds: everyone some BTC, most ETH, some LTC and USDC; a long tail of larger balances. */
function holdingsOf(random: SeededRandom): Record<string, bigint> {
  const whole = (asset: string, max: number) => {
    const decimals = getAsset(asset).decimals;
    // 0.01 to `max` whole coins, in steps of 1/10,000 of a coin, skewed toward small balances.
    const tenThousandths = BigInt(Math.floor(random.next() ** 3 * max * 10_000) + 100);
    return tenThousandths * 10n ** BigInt(decimals - 4);
  };
  const holdings: Record<string, bigint> = { BTC: whole('BTC', 5) };
  if (random.next() < 0.8) holdings.ETH = whole('ETH', 60);
  if (random.next() < 0.3) holdings.LTC = whole('LTC', 200);
  if (random.next() < 0.4) holdings.USDC = whole('USDC', 20_000);
  return holdings;
}

export async function seedPopulation(
  context: ServiceContext,
  depositors: { readonly recorder: OperatorActor; readonly approver: OperatorActor },
  random: SeededRandom,
  count: number,
  passwordHash: string,
  onProgress: (done: number) => void = () => {},
): Promise<SimCustomer[]> {
  const customers: SimCustomer[] = [];
  for (let first = 0; first < count; first += BATCH) {
    const batch = await inTransaction(context.database, async (tx) => {
      const made: SimCustomer[] = [];
      for (let i = first; i < Math.min(count, first + BATCH); i += 1) {
        const now = context.clock.now();
        const past = new Date(now.getTime() - 3 * DAY_MS);
        const principal = await insertPrincipal(tx, {
          kind: 'customer',
          email: `customer-${i}@replay.example`,
          passwordHash,
          role: null,
          now: past.toISOString(),
        });
        await updatePrincipal(tx, principal.id, { email_verified_at: past.toISOString() });
        const { factorId, secret } = await insertEnrolledTotp(tx, context, principal, past);
        const destinations: Record<'bitcoin' | 'ethereum', string> = { bitcoin: '', ethereum: '' };
        for (const network of ['bitcoin', 'ethereum'] as const satisfies readonly Network[]) {
          const address = network === 'bitcoin' ? btcAddress(random) : ethAddress(random);
          const entry = await insertEntry(tx, {
            accountId: principal.id,
            network,
            address,
            addressType: network === 'bitcoin' ? 'p2wpkh' : 'account',
            label: network === 'bitcoin' ? 'Cold wallet' : 'Hardware wallet',
            coolingMs: DAY_MS,
            createdAt: past,
          });
          destinations[network] = entry.id;
        }
        const session = await issueSession(tx, context, principal, 2, null, {
          ip: '198.51.100.7',
          userAgent: 'drawbridge-replay',
        });
        made.push({
          id: principal.id,
          token: session.token,
          secret,
          factorId,
          destinations,
          holdings: holdingsOf(random),
        });
      }
      return made;
    });
    for (const customer of batch) {
      for (const [asset, units] of Object.entries(customer.holdings)) {
        await depositApprovedBy(context, depositors, {
          account_id: customer.id,
          asset,
          network: asset === 'BTC' ? 'bitcoin' : asset === 'LTC' ? 'litecoin' : 'ethereum',
          amount: formatAmount(units, getAsset(asset)),
          txid: `replay${asset}${customer.id.replaceAll('-', '')}`,
          output_index: 0,
        });
      }
    }
    customers.push(...batch);
    onProgress(customers.length);
  }
  return customers;
}
