import { sql } from 'kysely';
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
  /** Rows without a stored price: their history price is read once for the whole set, after the pages. */
  const unpriced: { index: number; asset: string; at: string }[] = [];
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
      // The price stored at confirmation; one that does not parse counts as none (no fallback to history).
      const usdPrice = row.usd_price === null ? null : priceOf(row.usd_price);
      if (row.usd_price === null) unpriced.push({ index: facts.length, asset: row.asset, at: confirmedAt });
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
        priceOrigin: usdPrice === null ? null : 'confirmation',
        confirmedAt,
        priceAt: usdPrice === null ? null : (row.usd_price_at ?? confirmedAt),
        markedBy: row.marked_by,
        markedAt: row.marked_at,
      });
    }
    const last = rows.at(-1);
    if (last === undefined || rows.length < PAGE) break;
    after = last.withdrawal_id;
  }
  if (unpriced.length === 0) return facts;
  const prices = await historyPricesAt(tx, unpriced);
  for (const { index, asset, at } of unpriced) {
    const point = prices.get(priceKey(asset, at));
    const usdPrice = point === undefined ? null : priceOf(point.price);
    // Still none (no point within the staleness bound, or one that does not parse): kept, counted as unpriced.
    if (usdPrice === null) continue;
    facts[index] = { ...facts[index]!, usdPrice, priceOrigin: 'history', priceAt: point!.at };
  }
  return facts;
}

/** A stored price as a price; one that is not (zero, more than 18 decimals, garbage) counts as no price at all. */
function priceOf(text: string): Usd | null {
  try {
    return parseUsdPrice(text, 'usd_price');
  } catch {
    return null;
  }
}

/** Distinct (asset, time) pairs per history statement: 3 parameters each, well under either engine's limit. */
const HISTORY_CHUNK = 2000;

const priceKey = (asset: string, at: string) => `${asset}\u0000${at}`;

/**
 * The price in force at each (asset, time): the newest price-history point of that asset at or before the time and
 * at most MAX_PRICE_STALENESS_MS older, for a whole set of times in one statement per HISTORY_CHUNK distinct pairs
 * (each pair one descending probe of the price_points primary key, asset then at). Pairs without such a point are
 * absent from the answer.
 */
export async function historyPricesAt(
  tx: Tx,
  wanted: readonly { asset: string; at: string }[],
): Promise<Map<string, { price: string; at: string }>> {
  const pairs = new Map<string, { asset: string; at: string }>();
  for (const w of wanted) pairs.set(priceKey(w.asset, w.at), { asset: w.asset, at: w.at });
  const distinct = [...pairs.values()];
  const found = new Map<string, { price: string; at: string }>();
  for (let i = 0; i < distinct.length; i += HISTORY_CHUNK) {
    const chunk = distinct.slice(i, i + HISTORY_CHUNK);
    const rows = sql.join(
      chunk.map(
        (p) =>
          sql`(${p.asset}, ${p.at}, ${new Date(new Date(p.at).getTime() - MAX_PRICE_STALENESS_MS).toISOString()})`,
      ),
    );
    const result = await sql<{ asset: string; wanted_at: string; price_at: string; usd_price: string }>`
      with wanted (asset, wanted_at, oldest) as (values ${rows}),
      chosen as (
        select w.asset, w.wanted_at,
          (select p.at from price_points p
            where p.asset = w.asset and p.at <= w.wanted_at and p.at >= w.oldest
            order by p.at desc limit 1) as price_at
        from wanted w
      )
      select c.asset, c.wanted_at, c.price_at, p.usd_price
      from chosen c join price_points p on p.asset = c.asset and p.at = c.price_at`.execute(tx);
    for (const row of result.rows)
      found.set(priceKey(row.asset, row.wanted_at), { price: row.usd_price, at: row.price_at });
  }
  return found;
}
