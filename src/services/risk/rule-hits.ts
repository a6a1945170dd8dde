import type { ScreeningDecision } from '../../core/risk/screening.ts';
import type { ServiceContext } from '../context.ts';

/** One rule's result at a committed confirmation: what the metrics count (rule and outcome). */
export interface RuleHit {
  readonly rule: string;
  readonly outcome: string;
  readonly mode: 'active' | 'shadow';
}

type Listener = (hits: readonly RuleHit[]) => void;

/** By service context: several apps in one process (tests, the multi-node demo) each count their own. */
const listeners = new WeakMap<ServiceContext, Set<Listener>>();

/** Subscribes to the rule hits of one context (the HTTP metrics do, per app); returns the unsubscribe. */
export function onRuleHits(context: ServiceContext, listener: Listener): () => void {
  let set = listeners.get(context);
  if (set === undefined) {
    set = new Set();
    listeners.set(context, set);
  }
  set.add(listener);
  return () => set.delete(listener);
}

/** Tells the listeners what a committed screening found; a listener that throws is ignored. */
export function reportRuleHits(
  context: ServiceContext,
  active: ScreeningDecision,
  shadow: ScreeningDecision | undefined,
): void {
  const subscribed = listeners.get(context);
  if (subscribed === undefined || subscribed.size === 0) return;
  const hits: RuleHit[] = [
    ...active.results.map((r) => ({ rule: r.rule, outcome: r.outcome, mode: 'active' as const })),
    ...(shadow?.results ?? []).map((r) => ({ rule: r.rule, outcome: r.outcome, mode: 'shadow' as const })),
  ];
  for (const listener of subscribed) {
    try {
      listener(hits);
    } catch {
      // metrics never fail a withdrawal
    }
  }
}
