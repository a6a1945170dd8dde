import type { ServiceContext } from '../services/context.ts';
import { relayWithdrawalEvents } from '../services/withdrawals/event-relay.ts';
import type { DomainLog } from './domain-log.ts';
import { type PollLoop, startPollLoop } from './poll-loop.ts';

/** Tells integrators and customers about withdrawal events; safe on any number of nodes (rows are claimed). */
export function startEventRelay(
  context: ServiceContext,
  options: { interval_ms: number; onError: (error: unknown) => void; log?: DomainLog },
): PollLoop {
  const { log } = options;
  // One domain log line per withdrawal event: screening outcomes, time locks, releases, custody hand-overs.
  const onTold =
    log === undefined
      ? undefined
      : (type: string, data: Readonly<Record<string, unknown>>) =>
          log[type === 'withdrawal.errored' || type === 'withdrawal.rejected' ? 'warn' : 'info'](
            { domain: 'withdrawal', event: type, ...data },
            type,
          );
  return startPollLoop({
    name: 'event-relay',
    interval_ms: options.interval_ms,
    onError: options.onError,
    tick: () => relayWithdrawalEvents(context, onTold),
  });
}
