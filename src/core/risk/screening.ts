/**
 * Screening: rules are data with names and versions; each returns an outcome with its reason, and the merge of
 * what fired decides. A rule that throws holds the withdrawal for review: fail closed (DESIGN invariant 7),
 * unlike engines where an erroring rule scores zero. The same merge decides at confirmation (screening rules)
 * and again at release (release rules, src/core/risk/release-rules.ts).
 *
 * `wait` is "not now, leave it where it is" (a halt at release); it changes no state and yields to anything
 * stronger, so a halted withdrawal whose proof is broken is still held and reported.
 */
export type RuleOutcome = 'approve' | 'wait' | 'time_lock' | 'review' | 'reject';

export interface RuleResult {
  readonly rule: string;
  readonly version: number;
  readonly outcome: RuleOutcome;
  readonly reason: string;
  /** For time_lock: when the lock ends (ISO-8601). */
  readonly until?: string;
  /** An integrity failure (a row changed around the services): audited as critical for an operator. */
  readonly critical?: boolean;
  /** The numbers the rule weighed (counts, thresholds, amounts), as decimal strings: kept with the evaluation. */
  readonly numbers?: Readonly<Record<string, string>>;
}

export interface Rule<Facts> {
  readonly name: string;
  readonly version: number;
  evaluate(facts: Facts): Omit<RuleResult, 'rule' | 'version'>;
}

export interface ScreeningDecision {
  readonly outcome: RuleOutcome;
  readonly until: string | undefined;
  readonly results: readonly RuleResult[];
}

const SEVERITY: Record<RuleOutcome, number> = { approve: 0, wait: 1, time_lock: 2, review: 3, reject: 4 };

export function screen<Facts>(rules: readonly Rule<Facts>[], facts: Facts): ScreeningDecision {
  const results: RuleResult[] = rules.map((rule) => {
    try {
      const result = rule.evaluate(facts);
      // An answer that is not an outcome (a promise, a typo, nothing) holds: never read as approve.
      if (typeof result !== 'object' || result === null || !Object.hasOwn(SEVERITY, result.outcome)) {
        return {
          rule: rule.name,
          version: rule.version,
          outcome: 'review' as const,
          reason: 'the rule gave no outcome: held',
        };
      }
      return { rule: rule.name, version: rule.version, ...result };
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      return {
        rule: rule.name,
        version: rule.version,
        outcome: 'review',
        reason: `the rule failed (${message}): held`,
      };
    }
  });
  if (results.length === 0) {
    return {
      outcome: 'review',
      until: undefined,
      results: [{ rule: 'no_rules', version: 1, outcome: 'review', reason: 'no rule ran' }],
    };
  }
  let outcome: RuleOutcome = 'approve';
  for (const result of results) if (SEVERITY[result.outcome] > SEVERITY[outcome]) outcome = result.outcome;
  const until =
    outcome === 'time_lock'
      ? results
          .filter((r) => r.outcome === 'time_lock' && r.until !== undefined)
          .map((r) => r.until as string)
          .sort()
          .at(-1)
      : undefined;
  if (outcome === 'time_lock' && until === undefined) {
    return {
      outcome: 'review',
      until: undefined,
      results: [
        ...results,
        { rule: 'merge', version: 1, outcome: 'review', reason: 'a time lock without an end' },
      ],
    };
  }
  return { outcome, until, results };
}

/** The decision when the rules could not run at all (the facts unreadable, the screener down): held, with why. */
export function heldBecause(rule: string, error: unknown, what: string): ScreeningDecision {
  const message = error instanceof Error ? error.message : String(error);
  return {
    outcome: 'review',
    until: undefined,
    results: [{ rule, version: 1, outcome: 'review', reason: `${what} (${message}): held` }],
  };
}
