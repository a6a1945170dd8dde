import type { JsonObject } from '../core/audit-hash.ts';
import { appendAudit } from '../store/audit/index.ts';
import type { Tx } from '../store/transaction.ts';
import type { ServiceContext } from './context.ts';

export interface AuditInput {
  readonly actor: string;
  readonly action: string;
  readonly subject: string;
  readonly data?: JsonObject;
  readonly at?: Date;
}

/** Records an audit entry inside the caller's transaction (commits with the event or not at all); sealed into the chain shortly after. */
export async function audit(tx: Tx, context: ServiceContext, entry: AuditInput): Promise<void> {
  await appendAudit(tx, journalEntry(context, entry));
}

function journalEntry(context: ServiceContext, entry: AuditInput) {
  return {
    at: entry.at ?? context.clock.now(),
    actor: entry.actor,
    action: entry.action,
    subject: entry.subject,
    data: entry.data ?? {},
  };
}
