/*
 * SQLite re-prepares, on every run, a statement whose LIMIT or OFFSET is a bound parameter (the planner weighs the
 * value; better-sqlite3 builds SQLite with STAT4). Preparing costs more than running a short statement: the factor
 * lookup took 14.6 us a run with `limit ?` against 4.4 us with `limit 100`, and the fan-in count, whose subquery
 * ends in `limit ?`, 24.6 us against 8.3 us (each run alone on a benchmark's database). Kysely writes every
 * `.limit(n)` and `.offset(n)` as a parameter, subqueries included. So a statement is run as the statement with those
 * whole numbers written in; each distinct set of them is one more cached statement. The rows are the same: a bound
 * LIMIT and a written one mean the same thing.
 */

/** The statement's text around its placeholders, and which placeholders are a LIMIT's or an OFFSET's. */
interface Bounds {
  readonly parts: readonly string[];
  readonly slots: readonly number[];
  /** The text with the bounds written in, by the bounds' values ("10001,0"). */
  readonly written: Map<string, string>;
}

const MAX_VARIANTS = 64;
const MAX_TEXTS = 1000;
const boundsByText = new Map<string, Bounds | null>();

/** The placeholders of `text` (a `?` outside quotes), as the text between them; null when a bound is not among them. */
function boundsOf(text: string): Bounds | null {
  if (!text.includes('limit ?') && !text.includes('offset ?')) return null;
  const parts: string[] = [];
  let start = 0;
  let quote: string | undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quote !== undefined) {
      if (c === quote) quote = undefined; // a doubled quote closes and reopens: the same state in the end
    } else if (c === "'" || c === '"' || c === '`') {
      quote = c;
    } else if (c === '?') {
      parts.push(text.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(text.slice(start));
  const slots: number[] = [];
  for (let k = 0; k < parts.length - 1; k++) {
    if (/ (limit|offset) $/.test(parts[k] as string)) slots.push(k);
  }
  return slots.length === 0 ? null : { parts, slots, written: new Map() };
}

function wholeNumber(value: unknown): string | undefined {
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return String(value);
  if (typeof value === 'bigint' && value >= 0n && value <= BigInt(Number.MAX_SAFE_INTEGER))
    return value.toString();
  return undefined;
}

/**
 * `text` and `parameters` with every LIMIT and OFFSET placeholder whose value is a whole number written into the
 * text (and taken out of the parameters); as they are when there is none, or when a value is anything else.
 */
export function boundsWrittenIn(
  text: string,
  parameters: readonly unknown[],
): { readonly text: string; readonly parameters: readonly unknown[] } {
  let bounds = boundsByText.get(text);
  if (bounds === undefined) {
    bounds = boundsOf(text);
    if (boundsByText.size >= MAX_TEXTS) boundsByText.clear();
    boundsByText.set(text, bounds);
  }
  if (bounds === null || bounds.parts.length - 1 !== parameters.length) return { text, parameters };
  const values: string[] = [];
  for (const slot of bounds.slots) {
    const value = wholeNumber(parameters[slot]);
    if (value === undefined) return { text, parameters };
    values.push(value);
  }
  const key = values.join(',');
  let written = bounds.written.get(key);
  if (written === undefined) {
    let out = bounds.parts[0] as string;
    let next = 0;
    for (let k = 1; k < bounds.parts.length; k++) {
      out += (bounds.slots[next] === k - 1 ? values[next++] : '?') + (bounds.parts[k] as string);
    }
    written = out;
    if (bounds.written.size >= MAX_VARIANTS) bounds.written.clear();
    bounds.written.set(key, written);
  }
  const slots = new Set(bounds.slots);
  return { text: written, parameters: parameters.filter((_, i) => !slots.has(i)) };
}
