import type { ServiceContext } from '../services/context.ts';
import { relayWithdrawalEvents } from '../services/withdrawals/event-relay.ts';
import { type PollLoop, startPollLoop } from './poll-loop.ts';

/** Tells integrators and customers about withdrawal events; safe on any number of nodes (rows are claimed). */
export function startEventRelay(
  context: ServiceContext,
  options: { interval_ms: number; onError: (error: unknown) => void },
): PollLoop {
  return startPollLoop({
    name: 'event-relay',
    interval_ms: options.interval_ms,
    onError: options.onError,
    tick: () => relayWithdrawalEvents(context),
  });
}
