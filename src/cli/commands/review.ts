import type { Command } from 'commander';
import { printJson, withOperator } from '../context.ts';

/**
 * `drawbridge review list|show|approve|reject`: the review queue, the same services as /v1/operator/review-queue,
 * run as the authenticated operator (approving above REVIEW_TWO_ANALYST_USD takes two different operators).
 */
export function registerReview(program: Command): void {
  const review = program
    .command('review')
    .description('the review queue: withdrawals held for an operator, and their approvals');
  review
    .command('list')
    .description('withdrawals held for review, longest held first (as GET /v1/operator/review-queue)')
    .option('--limit <n>', 'how many (1-200)', '50')
    .option('--starting-after <id>', 'the last id of the page before')
    .action(async (o: { limit?: string; startingAfter?: string }) => {
      const { listReviewQueue } = await import('../../services/withdrawals/review-queue.ts');
      printJson(
        await withOperator(
          'review list',
          (context, actor) =>
            listReviewQueue(context, actor, { limit: o.limit, starting_after: o.startingAfter }),
          { read: true },
        ),
      );
    });
  review
    .command('show')
    .description('one withdrawal with its rules, USD value and approvals')
    .argument('<id>', 'the withdrawal id')
    .action(async (id: string) => {
      const { showReview } = await import('../../services/withdrawals/review-queue.ts');
      printJson(
        await withOperator('review show', (context, actor) => showReview(context, actor, id), { read: true }),
      );
    });
  review
    .command('approve')
    .description(
      'approve a held withdrawal; above REVIEW_TWO_ANALYST_USD a second, different operator must too',
    )
    .argument('<id>', 'the withdrawal id')
    .requiredOption('--reason <text>', 'why (3..500 characters), kept with the approval and in the audit log')
    .action(async (id: string, options: { reason?: string }) => {
      const { approveReview } = await import('../../services/withdrawals/review-queue.ts');
      printJson(
        await withOperator('review approve', (context, actor) =>
          approveReview(context, actor, id, { reason: options.reason }),
        ),
      );
    });
  review
    .command('reject')
    .description('reject a held withdrawal: it ends and its hold is voided')
    .argument('<id>', 'the withdrawal id')
    .requiredOption('--reason <text>', 'why (3..500 characters), kept in its history and the audit log')
    .action(async (id: string, options: { reason?: string }) => {
      const { rejectReview } = await import('../../services/withdrawals/review-queue.ts');
      printJson(
        await withOperator('review reject', (context, actor) =>
          rejectReview(context, actor, id, { reason: options.reason }),
        ),
      );
    });
}
