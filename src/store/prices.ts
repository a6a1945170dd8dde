import { Kysely, type Selectable } from 'kysely';
import { toTimestamp } from '../core/clock.ts';
import { DomainError, invalidInput } from '../core/errors.ts';
import { type AssetCode, getAsset } from '../core/money/assets.ts';
import { formatUsdExact, parseUsdPrice, type Usd, usdValue } from '../core/money/usd.ts';
import { compiledOnce, rowsOf } from './compiled-query.ts';
import type { Database } from './database.ts';
import type { PricePointsTable, Schema } from './schema.ts';

/**
 * USD price history, one point per asset and instant. Valuation fails closed (DESIGN invariant 7):
 * no point at or before the instant, or only a stale one, is PRICE_UNAVAILABLE, never a zero or a
 * guess, so a USD limit can never pass for want of a price.
 */

export const DEFAULT_MAX_PRICE_STALENESS_MS = 24 * 60 * 60 * 1000;

/** Staleness above a week would let a crash-era price value today's withdrawals. */
export const MAX_PRICE_STALENESS_MS = 7 * 24 * 60 * 60 * 1000;

const MAX_SOURCE_LENGTH = 64;

// toTimestamp output sorts as text only while it has the fixed 24-character form of years 0000-9999.
const EARLIEST_MS = Date.parse('1970-01-01T00:00:00.000Z');
const LATEST_MS = Date.parse('9999-12-31T23:59:59.999Z');

export interface PricePoint {
  readonly asset: AssetCode;
  readonly at: Date;
  readonly usdPrice: Usd;
  readonly source: string;
}

export interface NewPricePoint {
  readonly asset: string;
  readonly at: Date;
  /** USD per whole coin as decimal text, e.g. "64123.45"; stored in canonical form. */
  readonly usdPrice: string;
  readonly source: string;
}

export interface PriceLookupOptions {
  /** How old the newest point at or before the instant may be; 24 h by default. */
  readonly maxStaleness_ms?: number;
}

export interface UsdValuation {
  readonly usd: Usd;
  /** The point the value was computed from, for audit records and loss reports. */
  readonly price: PricePoint;
}

/** A database, or a transaction (which is a Kysely handle too), so services can price inside theirs. */
export type PriceHandle = Database | Kysely<Schema>;

function queries(handle: PriceHandle): Kysely<Schema> {
  return handle instanceof Kysely ? handle : handle.db;
}

/**
 * Records a point. Retrying the same point is a no-op (the feed may deliver twice); a different
 * price or source for the same asset and instant is a CONFLICT, because history must not be
 * rewritten under a valuation that already used it.
 */
export async function recordPrice(handle: PriceHandle, point: NewPricePoint): Promise<PricePoint> {
  const asset = getAsset(point.asset).code;
  const at = checkedInstant(point.at, 'at');
  const usdPrice = parseUsdPrice(point.usdPrice);
  const source = checkedSource(point.source);
  const row = { asset, at: toTimestamp(at), usd_price: formatUsdExact(usdPrice), source };
  const db = queries(handle);
  await db
    .insertInto('price_points')
    .values(row)
    .onConflict((conflict) => conflict.columns(['asset', 'at']).doNothing())
    .execute();
  const stored = await db
    .selectFrom('price_points')
    .selectAll()
    .where('asset', '=', asset)
    .where('at', '=', row.at)
    .executeTakeFirstOrThrow();
  if (stored.usd_price !== row.usd_price || stored.source !== row.source) {
    throw new DomainError('CONFLICT', `${asset} already has a different price at ${row.at}`, {
      field: 'usdPrice',
      details: { asset, at: row.at, recorded: stored.usd_price, source: stored.source },
    });
  }
  return { asset, at, usdPrice, source };
}

/** The newest point at or before `at`, if it is fresh enough; otherwise PRICE_UNAVAILABLE. */
export async function priceAt(
  handle: PriceHandle,
  assetCode: string,
  at: Date,
  options: PriceLookupOptions = {},
): Promise<PricePoint> {
  const tx = queries(handle);
  return priceFromRow((await rowsOf(tx, priceQuery(tx, assetCode, at)))[0], assetCode, at, options);
}

/** The statement priceAt runs, for a caller that batches it with others (store/transaction.ts `together`). */
export function priceQuery(handle: PriceHandle, assetCode: string, at: Date) {
  const asset = getAsset(assetCode).code;
  return selectPrice.statement(queries(handle), asset, toTimestamp(checkedInstant(at, 'at')));
}

const selectPrice = compiledOnce(2, (tx: Kysely<Schema>, _engine, asset: string, at: string) =>
  tx
    .selectFrom('price_points')
    .select(['asset', 'at', 'usd_price', 'source'])
    .where('asset', '=', asset)
    .where('at', '<=', at)
    .orderBy('at', 'desc')
    .limit(1),
);

/** What priceAt makes of the row priceQuery found: the point, or PRICE_UNAVAILABLE when none or stale. */
export function priceFromRow(
  row: Selectable<PricePointsTable> | undefined,
  assetCode: string,
  at: Date,
  options: PriceLookupOptions = {},
): PricePoint {
  const asset = getAsset(assetCode).code;
  const instant = checkedInstant(at, 'at');
  const maxStaleness_ms = checkedStaleness(options.maxStaleness_ms);
  if (row === undefined) {
    throw new DomainError('PRICE_UNAVAILABLE', `no ${asset} price at or before ${toTimestamp(instant)}`, {
      details: { asset, at: toTimestamp(instant) },
    });
  }
  const pointAt = new Date(row.at);
  const age_ms = instant.getTime() - pointAt.getTime();
  if (age_ms > maxStaleness_ms) {
    throw new DomainError(
      'PRICE_UNAVAILABLE',
      `the newest ${asset} price before ${toTimestamp(instant)} is ${row.at}, older than ${maxStaleness_ms} ms`,
      { details: { asset, at: toTimestamp(instant), newest: row.at, maxStaleness_ms } },
    );
  }
  return { asset, at: pointAt, usdPrice: parseUsdPrice(row.usd_price), source: row.source };
}

/** `units` base units of `asset` in USD at the price in force at `at`, exactly; fails closed. */
export async function valueInUsd(
  handle: PriceHandle,
  assetCode: string,
  units: bigint,
  at: Date,
  options: PriceLookupOptions = {},
): Promise<UsdValuation> {
  const asset = getAsset(assetCode);
  const price = await priceAt(handle, asset.code, at, options);
  return { usd: usdValue(units, asset, price.usdPrice), price };
}

function checkedInstant(at: Date, field: string): Date {
  if (!(at instanceof Date) || Number.isNaN(at.getTime())) throw invalidInput(field, 'not a valid instant');
  const ms = at.getTime();
  if (ms < EARLIEST_MS || ms > LATEST_MS) throw invalidInput(field, 'must be between 1970 and 9999');
  return new Date(ms);
}

function checkedSource(source: string): string {
  if (typeof source !== 'string' || source.length === 0 || source.length > MAX_SOURCE_LENGTH) {
    throw invalidInput('source', `a price source is 1 to ${MAX_SOURCE_LENGTH} characters`);
  }
  if (!/^[\x21-\x7e]+$/.test(source)) throw invalidInput('source', 'a price source is printable ASCII');
  return source;
}

function checkedStaleness(value: number | undefined): number {
  if (value === undefined) return DEFAULT_MAX_PRICE_STALENESS_MS;
  if (!Number.isSafeInteger(value) || value < 0 || value > MAX_PRICE_STALENESS_MS) {
    throw invalidInput(
      'maxStaleness_ms',
      `staleness is a whole number of ms up to ${MAX_PRICE_STALENESS_MS}`,
    );
  }
  return value;
}
