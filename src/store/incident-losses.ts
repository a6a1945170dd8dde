import { DomainError } from '../core/errors.ts';
import type { AffectedWithdrawalFacts } from '../core/incidents/losses.ts';
import { parseUsdPrice, type Usd } from '../core/money/usd.ts';
import { MAX_PRICE_STALENESS_MS } from './prices.ts';
import type { IncidentClassification } from './schema-incidents.ts';
import type { Tx } from './transaction.ts';

/** Affected withdrawals are read in pages of this many, in withdrawal id order. */
const PAGE = 1000;
/**
 * At most this many affected withdrawals per incident (2022: a few thousand). Reaching it fails closed: losses from
 * a partial read would understate them, so the read is refused (LIMIT_REACHED) rather than cut short.
 */
export const MAX_AFFECTED_WITHDRAWALS = 200_000;

export interface AffectedWithdrawalRow extends AffectedWithdrawalFacts {
  /** When it was confirmed (its move into screening), else when it was requested. */
  readonly confirmedAt: string;
  /** When the price used was quoted; null when unpriced. */
  readonly priceAt: string | null;
  readonly markedBy: string;
  readonly markedAt: string;
}

/**
 * The account is the withdrawal's own (not the marking's copy): reimbursement pays back whoever the money left.
 *
 * Every withdrawal marked as affected by `incidentId` with what its losses need: terms, state, classification and
 * a USD price. The price is the one stored on the withdrawal at confirmation; without one, the newest point of the
 * price history at or before its confirmation and at most a week older (MAX_PRICE_STALENESS_MS); else none
 * (`usdPrice` null, counted as unpriced). Read it inside one snapshot (inReadSnapshot) for consistent totals.
 */
export async function affectedWithdrawalFacts(tx: Tx, incidentId: string): Promise<AffectedWithdrawalRow[]> {
  const facts: AffectedWithdrawalRow[] = [];
  let after = '';
  for (;;) {
    const rows = await tx
      .selectFrom('incident_withdrawals as iw')
      .innerJoin('withdrawals as w', 'w.id', 'iw.withdrawal_id')
      .select([
        'iw.withdrawal_id',
        'iw.classification',
        'iw.marked_by',
        'iw.marked_at',
        'w.account_id',
        'w.asset',
        'w.network',
        'w.amount',
        'w.fee',
        'w.state',
        'w.usd_price',
        'w.usd_price_at',
        'w.created_at',
      ])
      .select((eb) =>
        eb
          .selectFrom('withdrawal_events as e')
          .select((e) => e.fn.min<string>('e.at').as('at'))
          .whereRef('e.withdrawal_id', '=', 'w.id')
          .where('e.to_state', '=', 'screening')
          .as('confirmed_at'),
      )
      .where('iw.incident_id', '=', incidentId)
      .where('iw.withdrawal_id', '>', after)
      .orderBy('iw.withdrawal_id')
      .limit(PAGE)
      .execute();
    for (const row of rows) {
      if (facts.length >= MAX_AFFECTED_WITHDRAWALS) {
        throw new DomainError(
          'LIMIT_REACHED',
          `incident ${incidentId} has more than ${MAX_AFFECTED_WITHDRAWALS} affected withdrawals; its losses are not counted from a partial read`,
          { details: { incident_id: incidentId, max: MAX_AFFECTED_WITHDRAWALS } },
        );
      }
      const confirmedAt = row.confirmed_at ?? row.created_at;
      const stored =
        row.usd_price === null ? null : { price: row.usd_price, at: row.usd_price_at ?? confirmedAt };
      const fallback = stored === null ? await historyPrice(tx, row.asset, confirmedAt) : null;
      const price = stored ?? fallback;
      const usdPrice = price === null ? null : priceOf(price.price);
      facts.push({
        withdrawalId: row.withdrawal_id,
        accountId: row.account_id,
        asset: row.asset,
        network: row.network,
        amount: BigInt(String(row.amount)),
        fee: BigInt(String(row.fee)),
        classification: row.classification as IncidentClassification,
        state: row.state,
        usdPrice,
        priceOrigin: usdPrice === null ? null : stored !== null ? 'confirmation' : 'history',
        confirmedAt,
        priceAt: usdPrice === null ? null : (price?.at ?? null),
        markedBy: row.marked_by,
        markedAt: row.marked_at,
      });
    }
    const last = rows.at(-1);
    if (last === undefined || rows.length < PAGE) return facts;
    after = last.withdrawal_id;
  }
}

/** A stored price as a price; one that is not (zero, more than 18 decimals, garbage) counts as no price at all. */
function priceOf(text: string): Usd | null {
  try {
    return parseUsdPrice(text, 'usd_price');
  } catch {
    return null;
  }
}

async function historyPrice(
  tx: Tx,
  asset: string,
  at: string,
): Promise<{ price: string; at: string } | null> {
  const oldest = new Date(new Date(at).getTime() - MAX_PRICE_STALENESS_MS).toISOString();
  const row = await tx
    .selectFrom('price_points')
    .select(['usd_price', 'at'])
    .where('asset', '=', asset)
    .where('at', '<=', at)
    .where('at', '>=', oldest)
    .orderBy('at', 'desc')
    .limit(1)
    .executeTakeFirst();
  return row === undefined ? null : { price: row.usd_price, at: row.at };
}
