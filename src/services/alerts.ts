// Placeholder until the alerts service lands (being written on branch h-review): audits only.
import type { Tx } from '../store/transaction.ts';
import { audit } from './audit.ts';
import type { ServiceContext } from './context.ts';

export async function raiseAlert(
  tx: Tx,
  context: ServiceContext,
  input: {
    kind: string;
    severity: 'info' | 'warning' | 'critical';
    fingerprint: string;
    title: string;
    subject?: string;
    details?: Record<string, unknown>;
  },
): Promise<{ id: string; created: boolean }> {
  await audit(tx, context, {
    actor: 'system:alerts',
    action: 'alert.raised',
    subject: input.subject ?? 'alerts',
    data: { kind: input.kind, fingerprint: input.fingerprint, title: input.title },
  });
  return { id: input.fingerprint, created: true };
}
