import { COOLING_SETTING } from '../core/address-book/cooling.ts';
import type { HaltTarget } from '../core/halts/halt-scope.ts';
import { type AddressBookEntry, entryFromRow } from './address-book.ts';
import { compiledOnce, rowsOf } from './compiled-query.ts';
import { type SettingValue, settingFromRow } from './identity/settings-history.ts';
import { amountFromRow } from './ledger/rows.ts';
import type { Tx } from './transaction.ts';

/** What a new withdrawal request is weighed against (core/withdrawals/request-checks.ts), read as one statement. */
export interface RequestSubject {
  /** The address-book entry of this account, removed ones included; undefined when it is not theirs. */
  readonly entry: AddressBookEntry | undefined;
  readonly cooling: SettingValue | undefined;
  /** The customer's available balance in the asset (posted credits - posted debits - pending debits), 0 without one. */
  readonly available: bigint;
  /** The oldest active halt covering the withdrawal; a missing halt control row reads as a global halt. */
  readonly halt: { readonly id: string; readonly scope: string; readonly reason: string } | undefined;
}

/**
 * The entry with, asked of it, the account's balance in the asset, its cooling setting at `at` and the first active
 * halt covering (asset, network, account): one statement of index look-ups, so a request costs no more round trips
 * than before. An advisory read (nothing is locked): the hold at confirmation and the releaser decide.
 */
export async function readRequestSubject(
  tx: Tx,
  target: HaltTarget & { readonly destinationId: string },
  at: Date,
): Promise<RequestSubject> {
  const [row] = await rowsOf(
    tx,
    selectRequestSubject.statement(
      tx,
      target.accountId,
      target.destinationId,
      target.asset,
      target.network,
      at.toISOString(),
    ),
  );
  if (row === undefined) return { entry: undefined, cooling: undefined, available: 0n, halt: undefined };
  const { posted_credits, posted_debits, pending_debits, cooling_value, cooling_at, halt_id, halt_scope } =
    row;
  const haltReason = row.halt_reason;
  const controlRows = Number(row.control_rows);
  return {
    entry: entryFromRow(row),
    cooling:
      cooling_value === null || cooling_at === null
        ? undefined
        : settingFromRow({ value: cooling_value, effective_at: cooling_at }),
    available:
      posted_credits === null || posted_debits === null || pending_debits === null
        ? 0n
        : amountFromRow(posted_credits) - amountFromRow(posted_debits) - amountFromRow(pending_debits),
    halt:
      controlRows !== 1
        ? { id: 'halt-control-missing', scope: 'global', reason: 'the halt control row is missing' }
        : halt_id === null
          ? undefined
          : { id: halt_id, scope: halt_scope ?? 'global', reason: haltReason ?? '' },
  };
}

const selectRequestSubject = compiledOnce(
  5,
  (tx: Tx, _engine, accountId: string, destinationId: string, asset: string, network: string, at: string) =>
    tx
      .selectFrom('address_book_entries as e')
      .select([
        'e.id',
        'e.account_id',
        'e.network',
        'e.address',
        'e.address_type',
        'e.label',
        'e.cooling_ms',
        'e.created_at',
        'e.removed_at',
      ])
      .select((eb) => {
        const balance = (column: 'posted_credits' | 'posted_debits' | 'pending_debits') =>
          eb
            .selectFrom('ledger_accounts as a')
            .select(`a.${column}`)
            .where('a.owner_id', '=', accountId)
            .where('a.asset', '=', asset)
            .where('a.kind', '=', 'customer');
        const cooling = (column: 'value' | 'effective_at') =>
          eb
            .selectFrom('security_settings_history as s')
            .select(`s.${column}`)
            .where('s.principal_id', '=', accountId)
            .where('s.setting', '=', COOLING_SETTING)
            .where('s.effective_at', '<=', at)
            .orderBy('s.effective_at', 'desc')
            .orderBy('s.id', 'desc')
            .limit(1);
        // haltCovers (core/halts/halt-scope.ts) in SQL, as coveringHalt (store/halts.ts) asks it.
        const halt = (column: 'id' | 'scope' | 'reason') =>
          eb
            .selectFrom('halts as h')
            .select(`h.${column}`)
            .where('h.lifted_at', 'is', null)
            .where((h) =>
              h.or([
                h('h.scope', '=', 'global'),
                h.and([
                  h('h.scope', '=', 'asset'),
                  h('h.asset', '=', asset),
                  h.or([h('h.network', 'is', null), h('h.network', '=', network)]),
                ]),
                h.and([h('h.scope', '=', 'account'), h('h.account_id', '=', accountId)]),
              ]),
            )
            .orderBy('h.created_at')
            .orderBy('h.id')
            .limit(1);
        return [
          balance('posted_credits').as('posted_credits'),
          balance('posted_debits').as('posted_debits'),
          balance('pending_debits').as('pending_debits'),
          cooling('value').as('cooling_value'),
          cooling('effective_at').as('cooling_at'),
          halt('id').as('halt_id'),
          halt('scope').as('halt_scope'),
          halt('reason').as('halt_reason'),
          eb
            .selectFrom('halt_control')
            .select((c) => c.fn.countAll().as('n'))
            .where('id', '=', 1)
            .as('control_rows'),
        ];
      })
      .where('e.id', '=', destinationId)
      .where('e.account_id', '=', accountId),
);
