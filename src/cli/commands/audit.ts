import type { Command } from 'commander';
import {
  blockedJournalEntries,
  readAuditHead,
  sealAudit,
  unsealedCount,
  verifyAuditChain,
} from '../../store/audit/index.ts';
import { printJson, withDatabase, withOperator } from '../context.ts';
import { terminal } from '../terminal.ts';

export function registerAudit(program: Command): void {
  const audit = program.command('audit').description('the hash-chained audit log');

  audit
    .command('search')
    .description('sealed entries, newest first (as GET /v1/operator/audit), as an operator')
    .option('--action <action>', 'an action, or a family such as withdrawal.*')
    .option('--actor <actor>', 'e.g. operator:<id>')
    .option('--subject <subject>', 'e.g. withdrawal:<id>')
    .option('--from <time>', 'at or after (ISO-8601)')
    .option('--until <time>', 'before (ISO-8601)')
    .option('--limit <n>', 'how many (1-500)', '50')
    .option('--starting-after <id>', 'the last entry id of the page before')
    .action(async (o: Record<string, string | undefined>) => {
      const { searchAuditLog } = await import('../../services/audit-search.ts');
      printJson(
        await withOperator(
          'audit search',
          (context, actor) =>
            searchAuditLog(context, actor, {
              action: o.action,
              actor: o.actor,
              subject: o.subject,
              from: o.from,
              until: o.until,
              limit: o.limit,
              starting_after: o.startingAfter,
            }),
          { read: true },
        ),
      );
    });

  audit
    .command('verify')
    .description(
      'seal the journal, then recompute every hash and link of the audit chain; exit 1 if it is broken',
    )
    .action(async () => {
      const report = await withDatabase(async (database) => {
        // An entry that cannot be sealed (its id taken by a row forged into the chain) stays in the journal while
        // the sealer goes on past it: the chain can verify, but the log is not whole. Say so, with the backlog.
        let sealingFailed: string | undefined;
        try {
          await sealAudit(database);
        } catch (error) {
          sealingFailed = error instanceof Error ? error.message : String(error);
        }
        const chain = await verifyAuditChain(database);
        const blocked = await blockedJournalEntries(database);
        if (sealingFailed === undefined && blocked.length === 0) return chain;
        return {
          ...chain,
          ok: false as const,
          ...(sealingFailed === undefined ? {} : { sealing_failed: sealingFailed }),
          ...(blocked.length === 0 ? {} : { sealing_blocked: blocked }),
          unsealed: await unsealedCount(database),
        };
      });
      printJson(report);
      // exitCode, not exit(): stdout is flushed and the database closed before the process ends.
      if (!report.ok) terminal().exitCode = 1;
    });

  audit
    .command('head')
    .description(
      'seal the journal, then print the newest entry (seq, hash) to anchor outside the database against truncation',
    )
    .action(async () => {
      const head = await withDatabase(async (database) => {
        await sealAudit(database);
        return readAuditHead(database);
      });
      printJson({ head_seq: head.seq, head_hash: head.hash });
    });
}
