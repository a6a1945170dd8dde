import { sealAudit } from '../store/audit/index.ts';
import type { SealedEntry } from '../store/audit/seal-audit.ts';
import type { Database } from '../store/database.ts';
import { auditLevel, type DomainLog } from './domain-log.ts';
import { type PollLoop, startPollLoop } from './poll-loop.ts';

/**
 * Chains audit journal entries into the hash-chained log a moment after they commit. Every node runs one;
 * sealing is serialised in the database, so two nodes never fork the chain (src/store/audit/seal-audit.ts).
 */
export function startAuditSealer(
  database: Database,
  options: { interval_ms: number; onError: (error: unknown) => void; log?: DomainLog },
): PollLoop {
  const { log } = options;
  // Each sealed entry is one domain log line: the audit log is the record of every security-relevant event.
  const onSealed =
    log === undefined
      ? undefined
      : (entry: SealedEntry) =>
          log[auditLevel(entry.action, entry.data)](
            {
              domain: 'audit',
              action: entry.action,
              subject: entry.subject,
              actor: entry.actor,
              at: entry.at,
              seq: entry.seq,
              data: JSON.parse(entry.data) as unknown,
            },
            entry.action,
          );
  return startPollLoop({
    name: 'audit-sealer',
    interval_ms: options.interval_ms,
    onError: options.onError,
    tick: async () => {
      await sealAudit(database, undefined, onSealed);
    },
  });
}
