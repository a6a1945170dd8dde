import { createHash } from 'node:crypto';
import type { OperatorRole } from '../../src/core/identity/operator-roles.ts';
import { newId } from '../../src/core/ids.ts';
import type { WithdrawalState } from '../../src/core/withdrawals/states.ts';
import type { ServiceContext } from '../../src/services/context.ts';
import type { OperatorActor } from '../../src/services/identity/acting-operator.ts';
import { insertPrincipal } from '../../src/store/identity/principals.ts';
import type { IncidentClassification } from '../../src/store/schema-incidents.ts';
import { inTransaction } from '../../src/store/transaction.ts';

/**
 * Incidents and the withdrawals affected by them, written straight into the tables (the incidents service is another
 * branch's; these are its rows as it would write them), for the loss, reimbursement and report tests.
 */

export async function seedCustomer(
  context: ServiceContext,
  email = `c-${newId()}@example.com`,
): Promise<string> {
  return inTransaction(context.database, async (tx) => {
    const principal = await insertPrincipal(tx, {
      kind: 'customer',
      email,
      passwordHash: 'x',
      role: null,
      now: context.clock.now().toISOString(),
    });
    return principal.id;
  });
}

export interface SeededWithdrawal {
  readonly accountId: string;
  readonly asset: string;
  readonly network: string;
  /** Base units. */
  readonly amount: bigint;
  readonly fee: bigint;
  readonly state: WithdrawalState;
  /** USD per coin stored at confirmation; null for none. */
  readonly usdPrice?: string | null;
  readonly createdAt?: string;
}

export async function seedWithdrawal(context: ServiceContext, w: SeededWithdrawal): Promise<string> {
  const id = newId();
  const digest = createHash('sha256').update(id).digest('hex');
  const at = w.createdAt ?? context.clock.now().toISOString();
  await inTransaction(context.database, async (tx) => {
    const entry = newId();
    await tx
      .insertInto('address_book_entries')
      .values({
        id: entry,
        account_id: w.accountId,
        network: w.network,
        address: `addr-${entry}`,
        address_type: 'test',
        label: 'attacker',
        cooling_ms: 0,
        created_at: at,
        removed_at: null,
      })
      .execute();
    await tx
      .insertInto('withdrawals')
      .values({
        id,
        account_id: w.accountId,
        asset: w.asset,
        network: w.network,
        amount: w.amount.toString(),
        fee: w.fee.toString(),
        destination_id: entry,
        destination_address: `addr-${entry}`,
        destination_label: 'attacker',
        nonce: newId(),
        digest,
        summary: 'test',
        state: 'awaiting_confirmation',
        proof_id: null,
        confirm_failures: 0,
        expires_at: at,
        release_after: null,
        time_locked_until: null,
        first_use: 0,
        screening: null,
        attestation: null,
        txid: null,
        reason: null,
        move_id: null,
        released_at: null,
        usd_value: null,
        usd_price: w.usdPrice ?? null,
        usd_price_at: w.usdPrice == null ? null : at,
        usd_price_source: w.usdPrice == null ? null : 'test',
        session_id: null,
        device_id: null,
        created_at: at,
        updated_at: at,
      })
      .execute();
    // The database wants a bound proof past confirmation and an attestation from release on: a stand-in of each.
    await tx
      .insertInto('withdrawal_proofs')
      .values({
        id: `proof-${id}`,
        withdrawal_id: id,
        account_id: w.accountId,
        digest,
        method: 'totp',
        factor_id: 'test',
        evidence: '{}',
        proof_hash: createHash('sha256').update(`proof-${id}`).digest('hex'),
        created_at: at,
      })
      .execute();
    await tx
      .updateTable('withdrawals')
      .set({ state: w.state, proof_id: `proof-${id}`, attestation: 'test' })
      .where('id', '=', id)
      .execute();
    await tx
      .insertInto('withdrawal_events')
      .values({
        id: newId(),
        withdrawal_id: id,
        at,
        from_state: 'awaiting_confirmation',
        to_state: 'screening',
        actor: 'test',
        reason: null,
        relayed_at: at,
      })
      .execute();
  });
  return id;
}

export async function seedIncident(
  context: ServiceContext,
  input: { title?: string; openedBy?: string; alertId?: string | null; openedAt?: string } = {},
): Promise<string> {
  const id = newId();
  const at = input.openedAt ?? context.clock.now().toISOString();
  await context.database.db
    .insertInto('incidents')
    .values({
      id,
      title: input.title ?? 'Withdrawals approved without a second factor',
      severity: 'critical',
      status: 'open',
      alert_id: input.alertId ?? null,
      opened_by: input.openedBy ?? 'monitor',
      opened_at: at,
      updated_at: at,
      closed_by: null,
      closed_at: null,
    })
    .execute();
  return id;
}

export async function markAffected(
  context: ServiceContext,
  incidentId: string,
  withdrawalId: string,
  accountId: string,
  classification: IncidentClassification,
): Promise<void> {
  await context.database.db
    .insertInto('incident_withdrawals')
    .values({
      incident_id: incidentId,
      withdrawal_id: withdrawalId,
      account_id: accountId,
      classification,
      marked_by: 'monitor',
      marked_at: context.clock.now().toISOString(),
      note: null,
    })
    .onConflict((c) => c.columns(['incident_id', 'withdrawal_id']).doUpdateSet({ classification }))
    .execute();
}

/** A customer with one affected withdrawal, marked: the usual unit of these tests. */
export async function seedAffected(
  context: ServiceContext,
  incidentId: string,
  w: Omit<SeededWithdrawal, 'accountId'> & { accountId?: string },
  classification: IncidentClassification = 'unauthorized',
): Promise<{ accountId: string; withdrawalId: string }> {
  const accountId = w.accountId ?? (await seedCustomer(context));
  const withdrawalId = await seedWithdrawal(context, { ...w, accountId });
  await markAffected(context, incidentId, withdrawalId, accountId, classification);
  return { accountId, withdrawalId };
}

/** An operator principal of `role`, as the acting operator a service receives (requests reference principals). */
export async function seedOperator(context: ServiceContext, role: OperatorRole): Promise<OperatorActor> {
  return inTransaction(context.database, async (tx) => {
    const principal = await insertPrincipal(tx, {
      kind: 'operator',
      email: `op-${newId()}@drawbridge.example`,
      passwordHash: 'x',
      role,
      now: context.clock.now().toISOString(),
    });
    return { kind: 'operator', id: principal.id, role };
  });
}
