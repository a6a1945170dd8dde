import type { ScreeningDecision } from '../../core/risk/screening.ts';

/** One rule's result at a committed confirmation: what the metrics count (rule and outcome). */
export interface RuleHit {
  readonly rule: string;
  readonly outcome: string;
  readonly mode: 'active' | 'shadow';
}

type Listener = (hits: readonly RuleHit[]) => void;

const listeners = new Set<Listener>();

/** Subscribes to rule hits (the HTTP metrics do, per app); returns the unsubscribe. */
export function onRuleHits(listener: Listener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/** Tells the listeners what a committed screening found; a listener that throws is ignored. */
export function reportRuleHits(active: ScreeningDecision, shadow: ScreeningDecision | undefined): void {
  if (listeners.size === 0) return;
  const hits: RuleHit[] = [
    ...active.results.map((r) => ({ rule: r.rule, outcome: r.outcome, mode: 'active' as const })),
    ...(shadow?.results ?? []).map((r) => ({ rule: r.rule, outcome: r.outcome, mode: 'shadow' as const })),
  ];
  for (const listener of listeners) {
    try {
      listener(hits);
    } catch {
      // metrics never fail a withdrawal
    }
  }
}
