import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { invalidInput } from '../../core/errors.ts';
import { confirmDestructive } from '../confirm.ts';
import { printJson, withOperator } from '../context.ts';

const ID = /^[A-Za-z0-9-]{1,64}$/;

function ruleSetId(id: string): string {
  if (!ID.test(id)) throw invalidInput('id', 'is not a rule set id');
  return id;
}

/** The configuration in a JSON file, read and parsed before anything is opened (the service validates it). */
async function configFrom(file: string | undefined): Promise<unknown> {
  if (file === undefined) throw invalidInput('file', 'give --file <config.json>');
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw invalidInput('file', `cannot be read (${(error as Error).message})`);
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw invalidInput('file', `is not JSON (${(error as Error).message})`);
  }
}

/**
 * `drawbridge rules list|show|create --file F|shadow|activate|retire|disagreements`: the services behind
 * /v1/operator/rule-sets, run as an authenticated operator whose role the service checks (rules.read, rules.manage,
 * rules.activate in src/core/identity/operator-roles.ts).
 */
export function registerRules(program: Command): void {
  const rules = program
    .command('rules')
    .description('risk rule sets: versioned configuration of the screening rules');
  rules
    .command('list')
    .description('every rule set, newest first, and which one decides now')
    .action(async () => {
      const { listRuleSets } = await import('../../services/risk/rule-sets.ts');
      printJson(
        await withOperator(
          'rules list',
          async (context, actor) => {
            const first = await listRuleSets(context, actor, { limit: 200 });
            const sets = [...first.rule_sets];
            let more = first.has_more;
            while (more) {
              const page = await listRuleSets(context, actor, {
                limit: 200,
                starting_after: sets.at(-1)?.id,
              });
              sets.push(...page.rule_sets);
              more = page.has_more;
            }
            return { rule_sets: sets, in_force: first.in_force };
          },
          { read: true },
        ),
      );
    });
  rules
    .command('show')
    .description('one rule set (or "builtin")')
    .argument('<id>', 'the rule set id')
    .action(async (id: string) => {
      const { getRuleSet } = await import('../../services/risk/rule-sets.ts');
      printJson(
        await withOperator('rules show', (context, actor) => getRuleSet(context, actor, ruleSetId(id)), {
          read: true,
        }),
      );
    });
  rules
    .command('create')
    .description('a draft rule set from a JSON configuration ({"description": …, "rules": [...]})')
    .option('--file <path>', 'the configuration, JSON')
    .action(async (options: { file?: string }) => {
      const config = await configFrom(options.file);
      const { parseRuleSetConfig } = await import('../../core/risk/rule-sets.ts');
      // Checked before the database is opened: a bad configuration changes nothing (the service checks it again).
      parseRuleSetConfig(config);
      const { createRuleSet } = await import('../../services/risk/rule-sets.ts');
      printJson(
        await withOperator('rules create', (context, actor) => createRuleSet(context, actor, config)),
      );
    });
  for (const [name, move, what] of [
    ['shadow', 'shadow', 'run a draft beside the active set, enforcing nothing'],
    ['activate', 'activate', 'make a draft or shadow set the one that decides (the active one is retired)'],
    ['retire', 'retire', 'retire a draft or shadow set'],
  ] as const) {
    rules
      .command(name)
      .description(what)
      .argument('<id>', 'the rule set id')
      .option('--yes', 'do not ask for confirmation')
      .action(async (id: string, options: { yes?: boolean }) => {
        const checked = ruleSetId(id);
        const { moveRuleSetState } = await import('../../services/risk/rule-sets.ts');
        printJson(
          await withOperator(
            `rules ${name}`,
            (context, actor) => moveRuleSetState(context, actor, checked, move),
            {
              ...(move === 'activate'
                ? {
                    confirm: () =>
                      confirmDestructive('changes which rules decide every withdrawal', options.yes),
                  }
                : {}),
            },
          ),
        );
      });
  }
  rules
    .command('disagreements')
    .description('where a set (in shadow) decided otherwise than what was enforced, every page')
    .argument('<id>', 'the rule set id')
    .action(async (id: string) => {
      const checked = ruleSetId(id);
      const { listDisagreements } = await import('../../services/risk/rule-sets.ts');
      printJson(
        await withOperator(
          'rules disagreements',
          async (context, actor) => {
            const all = [];
            let page = await listDisagreements(context, actor, checked, { limit: 200 });
            all.push(...page.disagreements);
            while (page.has_more) {
              page = await listDisagreements(context, actor, checked, {
                limit: 200,
                starting_after: all.at(-1)?.id,
              });
              all.push(...page.disagreements);
            }
            return { disagreements: all };
          },
          { read: true },
        ),
      );
    });
}
