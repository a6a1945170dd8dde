import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { ManualClock } from '../../../src/core/clock.ts';
import { DomainError } from '../../../src/core/errors.ts';
import { type Account, createLedger, type Ledger } from '../../../src/store/ledger/index.ts';
import { eachEngine } from '../../support/each-engine.ts';

/*
 * Random sequences of deposits, transfers, holds, posts, voids and retries, many of them doomed,
 * run against the ledger and against a ten-line model of it. After each sequence every account must
 * match the model, no customer may be below zero, and the conservation report must be clean.
 */

const CUSTOMERS = 3;
type Op =
  | { readonly t: 'deposit'; readonly to: number; readonly amount: bigint }
  | { readonly t: 'transfer'; readonly from: number; readonly to: number; readonly amount: bigint }
  | { readonly t: 'hold'; readonly from: number; readonly amount: bigint }
  | { readonly t: 'post' | 'void'; readonly hold: number }
  | { readonly t: 'retry'; readonly op: number };

const amount = fc.bigInt({ min: 0n, max: 400n });
const customer = fc.integer({ min: 0, max: CUSTOMERS - 1 });
const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ t: fc.constant('deposit' as const), to: customer, amount }),
  fc.record({ t: fc.constant('transfer' as const), from: customer, to: customer, amount }),
  fc.record({ t: fc.constant('hold' as const), from: customer, amount }),
  fc.record({ t: fc.constant('post' as const), hold: fc.nat(40) }),
  fc.record({ t: fc.constant('void' as const), hold: fc.nat(40) }),
  fc.record({ t: fc.constant('retry' as const), op: fc.nat(40) }),
);

interface Totals {
  postedDebits: bigint;
  postedCredits: bigint;
  pendingDebits: bigint;
  pendingCredits: bigint;
}
type Call =
  | {
      readonly kind: 'posted' | 'pending';
      readonly id: string;
      readonly from: number;
      readonly to: number;
      readonly amount: bigint;
    }
  | { readonly kind: 'post_pending' | 'void_pending'; readonly id: string; readonly pendingId: string };

/** What the ledger must answer, computed without a database. Account -1 is the custody account. */
class Model {
  readonly totals = new Map<number, Totals>();
  readonly transfers = new Map<string, Call>();
  readonly resolved = new Set<string>();

  of(account: number): Totals {
    let entry = this.totals.get(account);
    if (entry === undefined) {
      entry = { postedDebits: 0n, postedCredits: 0n, pendingDebits: 0n, pendingCredits: 0n };
      this.totals.set(account, entry);
    }
    return entry;
  }

  apply(call: Call): 'ok' | DomainError['code'] {
    if ('amount' in call) {
      if (call.amount <= 0n || call.from === call.to) return 'INVALID_INPUT';
      const existing = this.transfers.get(call.id);
      if (existing !== undefined)
        return JSON.stringify(existing, stringify) === JSON.stringify(call, stringify) ? 'ok' : 'CONFLICT';
      const from = this.of(call.from);
      if (call.from >= 0 && from.postedCredits - from.postedDebits - from.pendingDebits < call.amount) {
        return 'INSUFFICIENT_FUNDS';
      }
      if (call.kind === 'posted') {
        from.postedDebits += call.amount;
        this.of(call.to).postedCredits += call.amount;
      } else {
        from.pendingDebits += call.amount;
        this.of(call.to).pendingCredits += call.amount;
      }
    } else {
      const existing = this.transfers.get(call.id);
      if (existing !== undefined)
        return JSON.stringify(existing, stringify) === JSON.stringify(call, stringify) ? 'ok' : 'CONFLICT';
      const hold = this.transfers.get(call.pendingId);
      if (hold === undefined || hold.kind !== 'pending') return 'INVALID_INPUT';
      if (this.resolved.has(hold.id)) return 'ALREADY_RESOLVED';
      this.resolved.add(hold.id);
      this.of(hold.from).pendingDebits -= hold.amount;
      this.of(hold.to).pendingCredits -= hold.amount;
      if (call.kind === 'post_pending') {
        this.of(hold.from).postedDebits += hold.amount;
        this.of(hold.to).postedCredits += hold.amount;
      }
    }
    this.transfers.set(call.id, call);
    return 'ok';
  }
}

function stringify(_key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? value.toString() : value;
}

async function perform(
  ledger: Ledger,
  accounts: (index: number) => Account,
  call: Call,
): Promise<'ok' | string> {
  try {
    if ('amount' in call) {
      const input = {
        id: call.id,
        debitAccountId: accounts(call.from).id,
        creditAccountId: accounts(call.to).id,
        asset: 'BTC',
        amount: call.amount,
        code: call.kind === 'pending' ? 'withdrawal' : 'internal',
      };
      await (call.kind === 'pending' ? ledger.placeHold(input) : ledger.transfer(input));
    } else {
      const input = { id: call.id, pendingId: call.pendingId, code: 'resolution' };
      await (call.kind === 'post_pending' ? ledger.postHold(input) : ledger.voidHold(input));
    }
    return 'ok';
  } catch (error) {
    if (error instanceof DomainError) return error.code;
    throw error;
  }
}

for (const { engine, describeOn } of await eachEngine()) {
  describeOn(`ledger conservation under random operations on ${engine}`, (on) => {
    const fresh = on.database();

    test('no sequence of holds, posts, voids and transfers breaks the books', async () => {
      const ledger = createLedger(fresh.database, new ManualClock());
      let run = 0;
      await fc.assert(
        fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 30 }), async (ops) => {
          run += 1;
          const prefix = `r${run}`;
          const opened: Account[] = [];
          for (let i = 0; i < CUSTOMERS; i++) {
            opened.push(
              await ledger.openAccount({
                ownerId: `${prefix}-c${i}`,
                asset: 'BTC',
                kind: 'customer',
                debitsMustNotExceedCredits: true,
              }),
            );
          }
          const custody = await ledger.openAccount({
            ownerId: `${prefix}-platform`,
            asset: 'BTC',
            kind: 'custody',
            debitsMustNotExceedCredits: false,
          });
          const accounts = (index: number): Account => (index < 0 ? custody : opened[index]!);
          const model = new Model();
          const calls: Call[] = [];
          const holds: string[] = [];
          for (const [index, next] of ops.entries()) {
            const id = `${prefix}-${index}`;
            let call: Call;
            if (next.t === 'deposit')
              call = { kind: 'posted', id, from: -1, to: next.to, amount: next.amount };
            else if (next.t === 'transfer')
              call = { kind: 'posted', id, from: next.from, to: next.to, amount: next.amount };
            else if (next.t === 'hold')
              call = { kind: 'pending', id, from: next.from, to: -1, amount: next.amount };
            else if (next.t === 'retry')
              call = calls[next.op % Math.max(calls.length, 1)] ?? {
                kind: 'void_pending',
                id,
                pendingId: 'none',
              };
            else {
              const pendingId = holds.length === 0 ? `${prefix}-none` : holds[next.hold % holds.length]!;
              call = { kind: next.t === 'post' ? 'post_pending' : 'void_pending', id, pendingId };
            }
            calls.push(call);
            if (call.kind === 'pending' && call.id === id) holds.push(id);
            const expected = model.apply(call);
            const actual = await perform(ledger, accounts, call);
            assert.equal(actual, expected, `op ${index}: ${JSON.stringify(call, stringify)}`);
          }
          for (let i = -1; i < CUSTOMERS; i++) {
            const balance = await ledger.accountBalance(accounts(i).id);
            const want = model.of(i);
            assert.deepEqual(
              [balance.postedDebits, balance.postedCredits, balance.pendingDebits, balance.pendingCredits],
              [want.postedDebits, want.postedCredits, want.pendingDebits, want.pendingCredits],
            );
            if (i >= 0) assert.ok(balance.available >= 0n, `customer ${i} is overdrawn`);
          }
          const report = await ledger.conservationReport();
          assert.equal(report.ok, true, JSON.stringify(report.discrepancies, stringify));
        }),
        // Runs share one database, so a broken run stays broken: shrinking would blame later runs.
        { numRuns: 25, endOnFailure: true },
      );
    });
  });
}
