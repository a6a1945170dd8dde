import { sealAudit } from '../store/audit/index.ts';
import type { Database } from '../store/database.ts';
import { type PollLoop, startPollLoop } from './poll-loop.ts';

/**
 * Chains audit journal entries into the hash-chained log a moment after they commit. Every node runs one;
 * sealing is serialised in the database, so two nodes never fork the chain (src/store/audit/seal-audit.ts).
 */
export function startAuditSealer(
  database: Database,
  options: { interval_ms: number; onError: (error: unknown) => void },
): PollLoop {
  return startPollLoop({
    name: 'audit-sealer',
    interval_ms: options.interval_ms,
    onError: options.onError,
    tick: async () => {
      await sealAudit(database);
    },
  });
}
