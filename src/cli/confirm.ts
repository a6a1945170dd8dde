import { invalidInput } from '../core/errors.ts';

/**
 * A command that changes much at once (every customer's sessions or factors, a halt lifted) asks first: on a
 * terminal, the operator types "yes"; without one, `--yes` must be given. Asked before the database is opened.
 */
export async function confirmDestructive(what: string, yes: boolean | undefined): Promise<void> {
  if (yes === true) return;
  // The prompter lives with the operator's sign-in, which loads the identity services: only when asked.
  const { terminalPrompter } = await import('./operator-auth.ts');
  const prompter = terminalPrompter();
  if (!prompter.interactive) {
    throw invalidInput('--yes', `this ${what}; without a terminal to ask on, pass --yes to go ahead`);
  }
  const answer = await prompter.ask(`This ${what}. Type yes to go ahead: `, { hidden: false });
  if (answer.trim() !== 'yes') throw invalidInput('--yes', 'not confirmed: nothing was changed');
}
