import { payments } from 'bitcoinjs-lib';
import { normalizeAddress } from '../../core/addresses/index.ts';
import type { ManualClock } from '../../core/clock.ts';
import { newId } from '../../core/ids.ts';
import { totpAt } from '../../core/mfa/totp.ts';
import { formatAmount } from '../../core/money/amount.ts';
import { getAsset } from '../../core/money/index.ts';
import { feeFor } from '../../core/withdrawals/fees.ts';
import type { ServiceContext } from '../../services/context.ts';
import type { Custody } from '../../services/custody/handover.ts';
import type { OperatorActor } from '../../services/identity/acting-operator.ts';
import { authenticate, issueSession } from '../../services/identity/sessions.ts';
import { MONITOR_ACTOR, type MonitorContext } from '../../services/monitor/check.ts';
import { monitorPass } from '../../services/monitor/pass.ts';
import { confirmWithdrawal } from '../../services/withdrawals/confirm.ts';
import { releaseDue } from '../../services/withdrawals/release.ts';
import { requestWithdrawal } from '../../services/withdrawals/request.ts';
import { insertBackdatedEntry } from '../../store/fault-injection.ts';
import { activeHaltOfScope } from '../../store/halts.ts';
import { findPrincipal } from '../../store/identity/principals.ts';
import { recordPrice } from '../../store/prices.ts';
import { inTransaction } from '../../store/transaction.ts';
import { findWithdrawal } from '../../store/withdrawals.ts';
import { forgeTotpApproval } from '../forged-approval.ts';
import type { SeededRandom } from '../seeded-random.ts';
import { type SimCustomer, seedPopulation } from './population.ts';
import { INCIDENT_2022 } from './scenario.ts';

/**
 * The replay up to the monitor's halt (the playbook phase is driven by the incident services afterwards):
 * prices of the day, the population, ordinary withdrawals through the real services (request, TOTP confirmation,
 * screening, the monitor's verdicts, release), then the attacker: for each of its accounts a real request with the
 * victim's stolen session, approved below the services without any second factor (src/simulation/forged-approval.ts),
 * one every FORGERY_GAP_MS of simulated time, the monitor running a pass after each. Steps run one after another
 * under the simulated clock, so a seed gives the same sequence.
 */

const FORGERY_GAP_MS = 250;
const GENUINE_SHARE = 20; // one customer in 20 makes an ordinary withdrawal before the attack
const MAX_MONITOR_PASSES = 200;

export interface AttackPhaseOptions {
  readonly accounts: number;
  readonly random: SeededRandom;
  readonly passwordHash: string;
  readonly progress?: (step: string, done: number, total: number) => void;
}

export interface AttackPhaseResult {
  readonly customers: readonly SimCustomer[];
  /** The accounts the attacker holds (their sessions and passwords, never their second factor). */
  readonly victims: readonly SimCustomer[];
  /** Ordinary withdrawals, and how many were released (or went further) before the attack. */
  readonly genuine: { readonly requested: number; readonly released: number };
  /** Forged withdrawals, in the order they were approved below the services. */
  readonly forged: readonly { readonly id: string; readonly accountId: string; readonly at: string }[];
  readonly firstForgedAt: string | null;
  /** When the monitor's first finding halted withdrawals (simulated time), or null. */
  readonly haltedAt: string | null;
  readonly detectionMs: number | null;
  /** Forged withdrawals that reached `released` or beyond: the replay expects none. */
  readonly forgedReleased: number;
}

export async function runAttackPhase(
  context: ServiceContext,
  clock: ManualClock,
  monitor: MonitorContext,
  custody: Custody,
  /** The two operators who record and approve the population's deposits. */
  depositors: { readonly recorder: OperatorActor; readonly approver: OperatorActor },
  options: AttackPhaseOptions,
): Promise<AttackPhaseResult> {
  const { random } = options;
  const progress = options.progress ?? (() => {});
  requestCount = 0; // a second replay in one process sends the same requests as the first
  clock.set(INCIDENT_2022.start);
  await recordDayPrices(context);
  const customers = await seedPopulation(
    context,
    depositors,
    random,
    options.accounts,
    options.passwordHash,
    (done) => progress('customers', done, options.accounts),
  );
  const victimCount = Math.min(INCIDENT_2022.attackerAccounts, Math.floor(customers.length / 2));
  const victims = customers.slice(0, victimCount);
  const others = customers.slice(victimCount);

  // Ordinary traffic: small BTC withdrawals by some of the others, confirmed with their authenticator.
  const genuineIds: string[] = [];
  for (const [k, customer] of others.entries()) {
    if (k % GENUINE_SHARE !== 0) continue;
    clock.advance(200 + random.int(1000));
    genuineIds.push(await genuineWithdrawal(context, customer));
    progress('ordinary withdrawals', genuineIds.length, Math.ceil(others.length / GENUINE_SHARE));
  }
  clock.advance(11 * 60_000); // past the first-use cancel window
  await monitorUntilQuiet(monitor);
  await releaseAllDue(context, custody);
  let released = 0;
  for (const id of genuineIds) if (await wasReleased(context, id)) released += 1;

  // The attack.
  clock.set(new Date(Date.parse(INCIDENT_2022.start) + INCIDENT_2022.attackAfterMs));
  await recordDayPrices(context);
  const drains = attackerAddresses(random);
  const forged: { id: string; accountId: string; at: string }[] = [];
  let haltedAt: string | null = null;
  for (const [k, victim] of victims.entries()) {
    clock.advance(FORGERY_GAP_MS);
    forged.push(await forgeDrain(context, victim, drains, k));
    const report = await monitorPass(monitor, { sweep: false });
    if (haltedAt === null && report.checked > 0 && (await globalHaltActive(context)))
      haltedAt = context.clock.now().toISOString();
    progress('forged approvals', forged.length, victims.length);
  }
  await monitorUntilQuiet(monitor);
  await releaseAllDue(context, custody);
  let forgedReleased = 0;
  for (const f of forged) if (await wasReleased(context, f.id)) forgedReleased += 1;
  const firstForgedAt = forged[0]?.at ?? null;
  return {
    customers,
    victims,
    genuine: { requested: genuineIds.length, released },
    forged,
    firstForgedAt,
    haltedAt,
    detectionMs:
      firstForgedAt === null || haltedAt === null ? null : Date.parse(haltedAt) - Date.parse(firstForgedAt),
    forgedReleased,
  };
}

async function recordDayPrices(context: ServiceContext): Promise<void> {
  for (const [asset, usdPrice] of Object.entries(INCIDENT_2022.prices)) {
    await recordPrice(context.database, {
      asset,
      at: context.clock.now(),
      usdPrice,
      source: 'replay-2022-01-17',
    });
  }
}

let requestCount = 0;

/** Each request from an address of its own (10.0.0.0/8): customers are many people, not one client to rate-limit. */
function meta(sessionId: string) {
  const n = requestCount++;
  return {
    ip: `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`,
    userAgent: 'drawbridge-replay',
    sessionId,
  };
}

async function genuineWithdrawal(context: ServiceContext, customer: SimCustomer): Promise<string> {
  const auth = await authenticate(context, customer.token);
  const amount = formatAmount((customer.holdings.BTC ?? 0n) / 10n + 1n, getAsset('BTC'));
  const requested = await requestWithdrawal(
    context,
    auth,
    { asset: 'BTC', network: 'bitcoin', amount, destination_id: customer.destinations.bitcoin },
    meta(auth.sessionId),
  );
  const again = await authenticate(context, customer.token);
  await confirmWithdrawal(
    context,
    again,
    requested.id,
    { proof: { method: 'totp', code: totpAt(customer.secret, context.clock.now()) } },
    meta(again.sessionId),
  );
  return requested.id;
}

/** A handful of attacker wallets on each chain, as in 2022 (many victims paying few addresses). */
function attackerAddresses(random: SeededRandom) {
  const btc = Array.from({ length: 5 }, () => {
    const address = payments.p2wpkh({ hash: random.bytes(20) }).address;
    if (address === undefined) throw new Error('assertion failed: a P2WPKH address');
    return normalizeAddress('bitcoin', address);
  });
  const eth = Array.from({ length: 5 }, () =>
    normalizeAddress('ethereum', `0x${random.bytes(20).toString('hex')}`),
  );
  return { btc, eth };
}

/**
 * One victim drained: the attacker's address put in the victim's book, dated three days back (below the services),
 * a real request with the stolen session for 90 % of the victim's ETH (else BTC), and the approval forged.
 */
async function forgeDrain(
  context: ServiceContext,
  victim: SimCustomer,
  drains: ReturnType<typeof attackerAddresses>,
  k: number,
): Promise<{ id: string; accountId: string; at: string }> {
  const eth = victim.holdings.ETH !== undefined;
  const asset = getAsset(eth ? 'ETH' : 'BTC');
  const network = eth ? 'ethereum' : 'bitcoin';
  const address = (eth ? drains.eth : drains.btc)[k % 5];
  if (address === undefined) throw new Error('assertion failed: an attacker address');
  const entryId = newId();
  await inTransaction(context.database, (tx) =>
    insertBackdatedEntry(tx, {
      id: entryId,
      account_id: victim.id,
      network,
      address: address.normalized,
      address_type: address.type,
      created_at: new Date(context.clock.now().getTime() - 3 * 24 * 60 * 60_000).toISOString(),
    }),
  );
  const held = victim.holdings[asset.code] ?? 0n;
  const unit = 10n ** BigInt(asset.decimals - 4);
  const fee = feeFor(context.withdrawals.fees, asset.code, network) ?? 0n;
  // Most of what is there, as the 2022 drains took: 90 % of the balance after the fee, in 1/10,000 coin steps.
  const amount = formatAmount((((held - fee) * 9n) / 10n / unit) * unit || unit, asset);
  // The attacker signs in as the victim: the 2022 bypass passed the second factor at sign-in too, so the session is
  // written below the services as well (a stolen AAL2 session).
  const token = await inTransaction(context.database, async (tx) => {
    const principal = await findPrincipal(tx, victim.id);
    if (principal === undefined) throw new Error('assertion failed: the victim exists');
    return (
      await issueSession(tx, context, principal, 2, null, { ip: '203.0.113.66', userAgent: 'attacker' })
    ).token;
  });
  const auth = await authenticate(context, token);
  const requested = await requestWithdrawal(
    context,
    auth,
    { asset: asset.code, network, amount, destination_id: entryId },
    meta(auth.sessionId),
  );
  const row = await findWithdrawal(context.database.db, requested.id);
  if (row === undefined) throw new Error('assertion failed: the request was stored');
  const now = context.clock.now();
  await forgeTotpApproval(context, row, victim.factorId, victim.secret);
  return { id: row.id, accountId: victim.id, at: now.toISOString() };
}

/** Releaser passes until one releases nothing (each releases a bounded batch); bounded itself. */
export async function releaseAllDue(context: ServiceContext, custody: Custody): Promise<void> {
  for (let pass = 0; pass < MAX_MONITOR_PASSES; pass += 1) {
    const counts = await releaseDue(context, custody);
    if (counts.released === 0) return;
  }
}

export async function monitorUntilQuiet(monitor: MonitorContext): Promise<void> {
  for (let pass = 0; pass < MAX_MONITOR_PASSES; pass += 1) {
    const report = await monitorPass(monitor, { sweep: pass === 0 });
    if (report.backlog === 0 || report.checked === 0) return;
  }
}

export async function wasReleased(context: ServiceContext, id: string): Promise<boolean> {
  const row = await findWithdrawal(context.database, id);
  return row !== undefined && ['released', 'broadcast', 'completed', 'errored'].includes(row.state);
}

/** Whether the monitor's global halt is in force (the replay has no operator halting by hand). */
async function globalHaltActive(context: ServiceContext): Promise<boolean> {
  return (await activeHaltOfScope(context.database, { scope: 'global' }, MONITOR_ACTOR)) !== undefined;
}
