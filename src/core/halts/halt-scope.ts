import type { Network } from '../networks.ts';

/** What a halt stops: every withdrawal, one asset (on every network or on one), or one account's. */
export type HaltScope =
  | { readonly scope: 'global' }
  | { readonly scope: 'asset'; readonly asset: string; readonly network: Network | null }
  | { readonly scope: 'account'; readonly accountId: string };

/** A halt as stored: the scope's fields flat, null where a scope does not use them. */
export interface HaltScopeFields {
  readonly scope: 'global' | 'asset' | 'account';
  readonly asset: string | null;
  readonly network: string | null;
  readonly account_id: string | null;
}

/** What a halt is weighed against: the withdrawal about to be released. */
export interface HaltTarget {
  readonly asset: string;
  readonly network: string;
  readonly accountId: string;
}

/**
 * The covering rule, the one definition: a global halt covers everything; an asset halt covers that asset on its
 * network, or on every network when it names none; an account halt covers that account. The store's query
 * (src/store/halts.ts `coveringHalt`) is this rule in SQL, and a property test holds the two together.
 */
export function haltCovers(halt: HaltScopeFields, target: HaltTarget): boolean {
  switch (halt.scope) {
    case 'global':
      return true;
    case 'asset':
      return halt.asset === target.asset && (halt.network === null || halt.network === target.network);
    case 'account':
      return halt.account_id === target.accountId;
  }
}

export function haltFields(scope: HaltScope): HaltScopeFields {
  return {
    scope: scope.scope,
    asset: scope.scope === 'asset' ? scope.asset : null,
    network: scope.scope === 'asset' ? scope.network : null,
    account_id: scope.scope === 'account' ? scope.accountId : null,
  };
}
