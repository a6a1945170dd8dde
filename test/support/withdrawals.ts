import assert from 'node:assert/strict';
import { createPublicKey, randomBytes } from 'node:crypto';
import type { PublicKeyCredentialRequestOptionsJSON } from '@simplewebauthn/server';
import { SimulatedChain } from '../../src/adapters/custody/simulated-chain.ts';
import { newId } from '../../src/core/ids.ts';
import { ATTESTED, type WithdrawalState } from '../../src/core/withdrawals/states.ts';
import type { ServiceContext } from '../../src/services/context.ts';
import { type Custody, CustodyHandover } from '../../src/services/custody/handover.ts';
import { depositApprovedBy } from '../../src/services/deposits.ts';
import { monitorPass } from '../../src/services/monitor/pass.ts';
import { releaseDue as releaseDueAlone } from '../../src/services/withdrawals/release.ts';
import type { Database } from '../../src/store/database.ts';
import { findPrincipalByEmail } from '../../src/store/identity/principals.ts';
import { recordPrice } from '../../src/store/prices.ts';
import { simulatedChainStore } from '../../src/store/simulated-chain.ts';
import { actingAs } from './actors.ts';
import {
  api,
  type Customer,
  customerWithTotp,
  nextTotp,
  registerSoftPasskey,
  signInAgain,
  stepUpToken,
} from './customers.ts';
import { monitorOf, type RunningApp } from './http.ts';
import type { SoftAuthenticator } from './soft-authenticator.ts';

export const BTC_ADDRESS = 'bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4';
export const BTC_ADDRESS_2 = '1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2';

/**
 * One pass of the releaser after one pass of the independent monitor, as the embedded default's workers run them:
 * what the releaser's own `releaseDue` does once every withdrawal due has its verdict.
 */
export async function releaseDue(context: ServiceContext, custody: Custody, monitor = monitorOf(context)) {
  // Until the feed is empty, as the monitor's loop gets it between two releaser passes (bounded: a check that
  // keeps failing leaves its entries, and the releaser then finds no verdict, which is the point).
  for (let pass = 0; pass < 50; pass += 1) {
    const report = await monitorPass(monitor, { sweep: pass === 0 });
    if (report.backlog === 0 || report.checked === 0) break;
  }
  return releaseDueAlone(context, custody);
}

/** The simulated chain as a transport: what its signer answers, without Drawbridge's hand-over records. */
export function simulatedTransport(running: RunningApp, confirmations = 3, blockMs = 1000): SimulatedChain {
  return new SimulatedChain({
    state: simulatedChainStore(running.context.database),
    clock: running.clock,
    keys: { release: createPublicKey(running.context.releaseKey), monitor: running.context.monitorPublicKey },
    confirmations,
    blockMs,
  });
}

/** Custody as the embedded default runs it: the hand-over service over the simulated chain. */
export function simulatedChain(running: RunningApp, confirmations = 3, blockMs = 1000): CustodyHandover {
  return new CustodyHandover({
    database: running.context.database,
    clock: running.clock,
    transport: simulatedTransport(running, confirmations, blockMs),
  });
}

export async function customerId(running: RunningApp, email: string): Promise<string> {
  const principal = await findPrincipalByEmail(running.context.database.db, 'customer', email);
  assert.ok(principal);
  return principal.id;
}

export async function deposit(
  running: RunningApp,
  email: string,
  asset: string,
  network: string,
  amount: string,
  txid: string,
) {
  return depositApprovedBy(
    running.context,
    { recorder: actingAs('admin'), approver: actingAs('incident_commander') },
    {
      account_id: await customerId(running, email),
      asset,
      network,
      amount,
      txid,
      output_index: 0,
    },
  );
}

export async function priceNow(running: RunningApp, asset: string, usdPrice: string) {
  await recordPrice(running.context.database, { asset, at: running.clock.now(), usdPrice, source: 'test' });
}

/** A funded customer with TOTP, one cooled BTC address and the security-change lock of the enrolment over. */
export async function readyCustomer(running: RunningApp, email: string, btc = '1') {
  const customer = await customerWithTotp(running, email);
  await deposit(running, email, 'BTC', 'bitcoin', btc, `dep${email.replace(/[^a-z0-9]/g, '')}0001`);
  const proof = await stepUpToken(running, customer, 'address_book.add');
  const added = await api(running, 'POST', '/v1/address-book', {
    token: customer.token,
    body: { network: 'bitcoin', address: BTC_ADDRESS, label: 'Cold wallet', step_up_token: proof },
  });
  assert.equal(added.status, 201, JSON.stringify(added.body));
  running.clock.advance(24 * 60 * 60_000 + 1000);
  // The session would have gone idle: log in again with a fresh code.
  const relogin = await api(running, 'POST', '/v1/auth/login', {
    body: {
      email,
      password: 'correct horse battery staple',
      proof: { method: 'totp', code: nextTotp(running, customer.secret) },
    },
  });
  assert.equal(relogin.status, 200, JSON.stringify(relogin.body));
  await priceNow(running, 'BTC', '60000');
  return {
    ...customer,
    token: relogin.body.token as string,
    destinationId: added.body.id as string,
  } satisfies Customer & {
    destinationId: string;
  };
}

export async function requestBtc(
  running: RunningApp,
  customer: { token: string; destinationId: string },
  amount: string,
) {
  return api(running, 'POST', '/v1/withdrawals', {
    token: customer.token,
    body: { asset: 'BTC', network: 'bitcoin', amount, destination_id: customer.destinationId },
  });
}

export async function confirmTotp(
  running: RunningApp,
  customer: { token: string; secret: string },
  id: string,
) {
  return api(running, 'POST', `/v1/withdrawals/${id}/confirm`, {
    token: customer.token,
    body: { proof: { method: 'totp', code: nextTotp(running, customer.secret) } },
  });
}

export type ReadyCustomer = Awaited<ReturnType<typeof readyCustomer>>;

/** A withdrawal's row straight from the database (what the API does not show, such as proof_id). */
export async function withdrawalRow(running: RunningApp, id: string) {
  const row = await running.context.database.db
    .selectFrom('withdrawals')
    .selectAll()
    .where('id', '=', id)
    .executeTakeFirst();
  assert.ok(row, `no withdrawal ${id}`);
  return row;
}

/** Available and held of one asset, as the customer sees them. */
export async function balanceOf(running: RunningApp, token: string, asset = 'BTC') {
  const response = await api(running, 'GET', '/v1/balances', { token });
  assert.equal(response.status, 200, JSON.stringify(response.body));
  const line = (response.body.balances as { asset: string; available: string; held: string }[]).find(
    (b) => b.asset === asset,
  );
  assert.ok(line, `no ${asset} balance`);
  return { available: line.available, held: line.held };
}

/**
 * A ready customer who also registers a passkey held by `authenticator` (with a TOTP step-up for mfa.enroll),
 * then waits out the 24 h security-change lock the enrolment starts, signs in again and refreshes the price.
 */
export async function readyPasskeyCustomer(
  running: RunningApp,
  email: string,
  authenticator: SoftAuthenticator,
  btc = '1',
) {
  const customer = await readyCustomer(running, email, btc);
  const stepUp = await stepUpToken(running, customer, 'mfa.enroll');
  const { credentialId } = await registerSoftPasskey(running, customer.token, authenticator, stepUp);
  running.clock.advance(24 * 60 * 60_000 + 1000);
  const again = await signInAgain(running, customer);
  await priceNow(running, 'BTC', '60000');
  return { ...customer, token: again.token, credentialId };
}

/** POST /v1/withdrawals/:id/passkey-challenge, asserted to succeed. */
export async function passkeyChallengeFor(running: RunningApp, token: string, id: string) {
  const response = await api(running, 'POST', `/v1/withdrawals/${id}/passkey-challenge`, { token });
  assert.equal(response.status, 200, JSON.stringify(response.body));
  return response.body as {
    challenge_id: string;
    expires_at: string;
    options: PublicKeyCredentialRequestOptionsJSON;
  };
}

export async function confirmPasskey(
  running: RunningApp,
  token: string,
  id: string,
  challengeId: string,
  response: unknown,
  headers: Record<string, string> = {},
) {
  return api(running, 'POST', `/v1/withdrawals/${id}/confirm`, {
    token,
    headers,
    body: { proof: { method: 'passkey', challenge_id: challengeId, response } },
  });
}

/** Rows written in slices, so neither engine's parameter limit is met. */
export async function insertInSlices<T>(rows: readonly T[], insert: (slice: T[]) => Promise<unknown>) {
  for (let i = 0; i < rows.length; i += 200) await insert(rows.slice(i, i + 200));
}

/** A past withdrawal written straight in: when, its state, and (by default 1) its amount in base units. */
export interface PastWithdrawal {
  readonly id: string;
  readonly at: string;
  readonly state: WithdrawalState;
  readonly amount?: string;
}

/**
 * Past BTC withdrawal rows of one account to one destination, with the proof rows the database requires, written
 * straight in as a busy history would be (a queued one is due at its own time; one past release is attested).
 */
export async function insertPastWithdrawals(
  database: Database,
  accountId: string,
  destinationId: string,
  rows: readonly PastWithdrawal[],
) {
  const full = rows.map((row) => ({ ...row, digest: randomBytes(32).toString('hex'), proofId: newId() }));
  await insertInSlices(full, (slice) =>
    database.db
      .insertInto('withdrawal_proofs')
      .values(
        slice.map((h) => ({
          id: h.proofId,
          withdrawal_id: h.id,
          account_id: accountId,
          digest: h.digest,
          method: 'totp' as const,
          factor_id: 'history',
          evidence: '{}',
          proof_hash: randomBytes(32).toString('hex'),
          created_at: h.at,
        })),
      )
      .execute(),
  );
  await insertInSlices(full, (slice) =>
    database.db
      .insertInto('withdrawals')
      .values(
        slice.map((h) => ({
          id: h.id,
          account_id: accountId,
          asset: 'BTC',
          network: 'bitcoin',
          amount: h.amount ?? '1',
          fee: '0',
          destination_id: destinationId,
          destination_address: 'bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4',
          destination_label: 'Cold wallet',
          nonce: 'n',
          digest: h.digest,
          summary: 'history',
          state: h.state,
          proof_id: h.proofId,
          confirm_failures: 0,
          expires_at: h.at,
          release_after: h.state === 'queued' ? h.at : null,
          time_locked_until: null,
          first_use: 0,
          screening: null,
          attestation: ATTESTED.includes(h.state) ? '{}' : null,
          txid: null,
          reason: 'history',
          move_id: null,
          released_at: null,
          created_at: h.at,
          updated_at: h.at,
        })),
      )
      .execute(),
  );
}
