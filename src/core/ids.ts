import { AsyncLocalStorage } from 'node:async_hooks';
import { V7Generator } from 'uuidv7';
import { secureRandomUint32 } from './random.ts';

const generator = new V7Generator({ nextUint32: secureRandomUint32 });

/**
 * Another source of ids for the work run inside `withIdSource` only (the 2022 replay, so that a seed gives the same
 * report). Scoped to that work's asynchronous context: everything else, and everything once it returns, takes ids
 * from the secure generator. Nothing in production calls it (test/core/ids.test.ts checks who does).
 */
const scoped = new AsyncLocalStorage<() => string>();

/** Time-ordered ids (UUIDv7, RFC 9562): index-friendly and sortable by creation. */
export function newId(): string {
  const source = scoped.getStore();
  return source === undefined ? generator.generate().toString() : source();
}

/** Runs `work` with its ids from `source` (see `scoped`). */
export function withIdSource<T>(source: () => string, work: () => Promise<T>): Promise<T> {
  return scoped.run(source, work);
}

/**
 * UUIDv7 ids on a simulated clock with a seeded generator: the same seed and the same steps give the same ids. For
 * simulations only: predictable by design.
 */
export function simulatedIds(now: () => number, nextUint32: () => number): () => string {
  const simulated = new V7Generator({ nextUint32 });
  return () => simulated.generateOrResetCore(now(), 10_000).toString();
}

const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export function isUuid(value: string): boolean {
  return UUID_PATTERN.test(value);
}
