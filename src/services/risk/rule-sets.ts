import { DomainError, invalidInput } from '../../core/errors.ts';
import { newId } from '../../core/ids.ts';
import { pageLimit } from '../../core/paging.ts';
import { defaultRuleSetConfig, parseRuleSetConfig, type RuleSetConfig } from '../../core/risk/rule-sets.ts';
import {
  disagreementsPage,
  findEvaluation,
  findRuleSet,
  findRuleSetInState,
  insertRuleSet,
  lockRuleSet,
  moveRuleSet,
  type RuleEvaluationRow,
  type RuleSetRow,
  ruleSetsPage,
} from '../../store/rule-sets.ts';
import type { RuleSetState } from '../../store/schema-withdrawals.ts';
import { inTransaction, type Tx } from '../../store/transaction.ts';
import { audit } from '../audit.ts';
import type { ServiceContext } from '../context.ts';
import { actorName, authorize, type OperatorActor } from '../identity/acting-operator.ts';
import { BUILTIN_RULE_SET_ID } from '../withdrawals/screening.ts';

/** A rule set as the API and the CLI show it. */
export interface RuleSetView {
  readonly id: string;
  readonly version: number;
  readonly state: RuleSetState;
  readonly description: string;
  readonly config: RuleSetConfig;
  readonly created_by: string;
  readonly created_at: string;
  readonly shadowed_at: string | null;
  readonly activated_at: string | null;
  readonly activated_by: string | null;
  readonly retired_at: string | null;
}

export function viewRuleSet(row: RuleSetRow): RuleSetView {
  return {
    id: row.id,
    version: row.version,
    state: row.state,
    description: row.description,
    config: JSON.parse(row.config) as RuleSetConfig,
    created_by: row.created_by,
    created_at: row.created_at,
    shadowed_at: row.shadowed_at,
    activated_at: row.activated_at,
    activated_by: row.activated_by,
    retired_at: row.retired_at,
  };
}

const RULE_SET_PAGE = { default: 50, max: 200 };
const ID = /^[A-Za-z0-9-]{1,64}$/;

function notFoundRuleSet(id: string): DomainError {
  return new DomainError('NOT_FOUND', `no rule set ${id}`, { details: { id } });
}

/** Whether a failure is the database refusing a second active (or shadow) set: the partial unique indexes. */
function isUniqueViolation(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === '23505' || code === 'SQLITE_CONSTRAINT_UNIQUE';
}

/** Creates a draft from a configuration; the configuration is validated in core, a refusal names its field. */
export async function createRuleSet(
  context: ServiceContext,
  actor: OperatorActor,
  input: unknown,
): Promise<RuleSetView> {
  authorize(actor, 'rules.manage');
  const config = parseRuleSetConfig(input);
  const by = actorName(actor);
  const at = context.clock.now().toISOString();
  try {
    return await inTransaction(context.database, async (tx) => {
      const row = await insertRuleSet(tx, {
        id: newId(),
        state: 'draft',
        description: config.description,
        config: JSON.stringify(config),
        created_by: by,
        created_at: at,
        shadowed_at: null,
        activated_at: null,
        activated_by: null,
        retired_at: null,
        updated_at: at,
      });
      await audit(tx, context, {
        actor: by,
        action: 'rule_set.created',
        subject: `rule_set:${row.id}`,
        data: { version: row.version, rules: config.rules.length },
      });
      return viewRuleSet(row);
    });
  } catch (error) {
    if (isUniqueViolation(error))
      throw new DomainError('CONFLICT', 'another rule set was created at the same moment; try again');
    throw error;
  }
}

/** Every rule set, newest version first, a page at a time, with which set decides now. */
export async function listRuleSets(
  context: ServiceContext,
  actor: OperatorActor,
  input: { limit?: unknown; starting_after?: unknown } = {},
): Promise<{
  rule_sets: RuleSetView[];
  has_more: boolean;
  in_force: { id: string; version: number };
}> {
  authorize(actor, 'rules.read');
  const limit = pageLimit(input.limit, RULE_SET_PAGE);
  let before: number | undefined;
  if (input.starting_after !== undefined) {
    if (typeof input.starting_after !== 'string' || !ID.test(input.starting_after))
      throw invalidInput('starting_after', 'is not the id of a rule set');
    const last = await findRuleSet(context.database, input.starting_after);
    if (last === undefined) throw invalidInput('starting_after', 'is not the id of a rule set');
    before = last.version;
  }
  const page = await ruleSetsPage(context.database, limit, before);
  const active = await inTransaction(context.database, (tx) => findRuleSetInState(tx, 'active'));
  return {
    rule_sets: page.sets.map(viewRuleSet),
    has_more: page.hasMore,
    in_force:
      active === undefined
        ? { id: BUILTIN_RULE_SET_ID, version: 0 }
        : { id: active.id, version: active.version },
  };
}

/** One rule set; `builtin` is the built-in set that runs while none was ever activated. */
export async function getRuleSet(
  context: ServiceContext,
  actor: OperatorActor,
  id: string,
): Promise<RuleSetView> {
  authorize(actor, 'rules.read');
  if (id === BUILTIN_RULE_SET_ID) {
    const config = defaultRuleSetConfig(context.withdrawals.dailyLimitUsd);
    const active = await inTransaction(context.database, (tx) => findRuleSetInState(tx, 'active'));
    return {
      id: BUILTIN_RULE_SET_ID,
      version: 0,
      state: active === undefined ? 'active' : 'retired',
      description: config.description,
      config,
      created_by: 'system',
      created_at: '1970-01-01T00:00:00.000Z',
      shadowed_at: null,
      activated_at: null,
      activated_by: null,
      retired_at: null,
    };
  }
  if (!ID.test(id)) throw notFoundRuleSet(id);
  const row = await findRuleSet(context.database, id);
  if (row === undefined) throw notFoundRuleSet(id);
  return viewRuleSet(row);
}

export type RuleSetMove = 'shadow' | 'activate' | 'retire';

/**
 * Moves a rule set: a draft into shadow (the shadow before it is retired), a draft or shadow set to active (the
 * active one before it is retired, in the same transaction; by an operator other than its author), a draft or
 * shadow set to retired. The active set is
 * retired only by activating another: something always decides. Every move is audited; the database itself refuses
 * a second active or shadow set.
 */
export async function moveRuleSetState(
  context: ServiceContext,
  actor: OperatorActor,
  id: string,
  move: RuleSetMove,
): Promise<RuleSetView> {
  authorize(actor, move === 'activate' ? 'rules.activate' : 'rules.manage');
  if (!ID.test(id)) throw notFoundRuleSet(id);
  const by = actorName(actor);
  try {
    return await inTransaction(context.database, async (tx) => {
      const at = context.clock.now().toISOString();
      const row = await lockRuleSet(tx, id);
      if (row === undefined) throw notFoundRuleSet(id);
      const wrong = (why: string) =>
        new DomainError('WRONG_STATE', `the rule set is ${row.state}: ${why}`, {
          details: { state: row.state },
        });
      if (move === 'shadow') {
        if (row.state !== 'draft') throw wrong('only a draft goes into shadow');
        const previous = await findRuleSetInState(tx, 'shadow');
        if (previous !== undefined) await retire(tx, context, previous, by, at, 'replaced in shadow');
        await moved(tx, row, 'shadow', { shadowed_at: at, updated_at: at });
        await audit(tx, context, {
          actor: by,
          action: 'rule_set.shadowed',
          subject: `rule_set:${id}`,
          data: { version: row.version, replaced: previous?.id ?? null },
        });
        return viewRuleSet({ ...row, state: 'shadow', shadowed_at: at, updated_at: at });
      }
      if (move === 'activate') {
        if (row.state !== 'draft' && row.state !== 'shadow')
          throw wrong('only a draft or shadow set is activated');
        // Maker-checker: whoever wrote the set cannot switch it on (the database refuses it as well).
        if (row.created_by === by)
          throw new DomainError(
            'SAME_OPERATOR',
            'a rule set is activated by an operator other than the one who wrote it: ask a second risk analyst or admin',
            { details: { created_by: row.created_by } },
          );
        // The configuration is checked again: a set stored by an older catalogue must not start deciding.
        parseRuleSetConfig(JSON.parse(row.config));
        const previous = await findRuleSetInState(tx, 'active');
        if (previous !== undefined) await retire(tx, context, previous, by, at, 'replaced by an activation');
        await moved(tx, row, 'active', { activated_at: at, activated_by: by, updated_at: at });
        await audit(tx, context, {
          actor: by,
          action: 'rule_set.activated',
          subject: `rule_set:${id}`,
          data: {
            version: row.version,
            from_state: row.state,
            previous: previous?.id ?? BUILTIN_RULE_SET_ID,
            previous_version: previous?.version ?? 0,
          },
        });
        return viewRuleSet({ ...row, state: 'active', activated_at: at, activated_by: by, updated_at: at });
      }
      if (row.state === 'active') throw wrong('activate another set to retire this one');
      if (row.state === 'retired') throw wrong('it is retired already');
      await retire(tx, context, row, by, at, 'retired');
      return viewRuleSet({ ...row, state: 'retired', retired_at: at, updated_at: at });
    });
  } catch (error) {
    if (isUniqueViolation(error))
      throw new DomainError('CONFLICT', 'another rule set was moved at the same moment; try again');
    throw error;
  }
}

async function moved(
  tx: Tx,
  row: RuleSetRow,
  to: RuleSetState,
  changes: Parameters<typeof moveRuleSet>[4],
): Promise<void> {
  if (!(await moveRuleSet(tx, row.id, row.state, to, changes)))
    throw new DomainError('CONFLICT', 'the rule set changed at the same moment; try again');
}

async function retire(
  tx: Tx,
  context: ServiceContext,
  row: RuleSetRow,
  by: string,
  at: string,
  why: string,
): Promise<void> {
  await moved(tx, row, 'retired', { retired_at: at, updated_at: at });
  await audit(tx, context, {
    actor: by,
    action: 'rule_set.retired',
    subject: `rule_set:${row.id}`,
    data: { version: row.version, from_state: row.state, reason: why },
  });
}

export interface EvaluationView {
  readonly id: string;
  readonly withdrawal_id: string;
  readonly rule_set_id: string;
  readonly rule_set_version: number;
  readonly mode: 'active' | 'shadow';
  readonly outcome: string;
  readonly enforced_outcome: string;
  readonly results: unknown;
  readonly facts: unknown;
  readonly at: string;
}

export function viewEvaluation(row: RuleEvaluationRow): EvaluationView {
  return {
    id: row.id,
    withdrawal_id: row.withdrawal_id,
    rule_set_id: row.rule_set_id,
    rule_set_version: Number(row.rule_set_version),
    mode: row.mode,
    outcome: row.outcome,
    enforced_outcome: row.enforced_outcome,
    results: JSON.parse(row.results),
    facts: JSON.parse(row.facts),
    at: row.at,
  };
}

/** Where a rule set (in shadow, or once) decided otherwise than what was enforced, oldest first, a page at a time. */
export async function listDisagreements(
  context: ServiceContext,
  actor: OperatorActor,
  id: string,
  input: { limit?: unknown; starting_after?: unknown } = {},
): Promise<{ disagreements: EvaluationView[]; has_more: boolean }> {
  authorize(actor, 'rules.read');
  const limit = pageLimit(input.limit, RULE_SET_PAGE);
  if (!ID.test(id) || (await findRuleSet(context.database, id)) === undefined) throw notFoundRuleSet(id);
  let after: { at: string; id: string } | undefined;
  if (input.starting_after !== undefined) {
    const last =
      typeof input.starting_after === 'string' && ID.test(input.starting_after)
        ? await findEvaluation(context.database, input.starting_after)
        : undefined;
    if (last === undefined || last.rule_set_id !== id)
      throw invalidInput('starting_after', 'is not the id of one of this set’s disagreements');
    after = { at: last.at, id: last.id };
  }
  const page = await disagreementsPage(context.database, id, limit, after);
  return { disagreements: page.evaluations.map(viewEvaluation), has_more: page.hasMore };
}
