import { type DomainGauges, readDomainGauges } from '../store/domain-gauges.ts';
import type { ServiceContext } from './context.ts';

export type { DomainGauges };

/** What operators watch on /metrics: open withdrawals by state and age, the outbox, the sealer's lag, halts. */
export function domainGauges(context: ServiceContext): Promise<DomainGauges> {
  return readDomainGauges(context.database, context.clock.now());
}
