import type { ServiceContext } from '../services/context.ts';
import type { Custody } from '../services/custody/handover.ts';
import { expireUnconfirmed } from '../services/withdrawals/expiry.ts';
import { releaseDue } from '../services/withdrawals/release.ts';
import { settleBroadcast } from '../services/withdrawals/settlement.ts';
import { type PollLoop, startPollLoop } from './poll-loop.ts';

/** Unconfirmed requests expired per tick; more wait for the next (an expiry decides no money). */
const EXPIRY_BATCH = 200;

/** Expires unconfirmed requests, releases due withdrawals and settles confirmed ones; safe on any number of nodes (see releaseOne). */
export function startReleaser(
  context: ServiceContext,
  custody: Custody,
  options: { interval_ms: number; onError: (error: unknown) => void },
): PollLoop {
  return startPollLoop({
    name: 'releaser',
    interval_ms: options.interval_ms,
    onError: options.onError,
    tick: async () => {
      await expireUnconfirmed(context, EXPIRY_BATCH);
      await releaseDue(context, custody);
      await settleBroadcast(context, custody);
    },
  });
}
