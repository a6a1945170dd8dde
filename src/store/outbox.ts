import { newId } from '../core/ids.ts';
import type { RenderedEmail } from '../core/notifications/security-email.ts';
import { compiledInsert } from './compiled-query.ts';
import type { OutboxTable } from './schema-identity.ts';
import { type Queryable, queryable, type Tx, writeBehind } from './transaction.ts';

export type OutboxRow = Readonly<OutboxTable>;

/** Written in the caller's transaction, so the message exists if and only if its event committed. */
export interface EmailInput {
  recipient: string;
  accountId: string | null;
  event: string;
  security: boolean;
  email: RenderedEmail;
  payload: Record<string, unknown>;
  now: string;
}

export async function enqueueEmail(tx: Tx, input: EmailInput): Promise<OutboxRow> {
  const row = emailOutboxRow(input);
  await insertOutboxRow.run(tx, row);
  return row;
}

/** Every column of an outbox row, in the order the insert names them. */
export const OUTBOX_COLUMNS = [
  'id',
  'channel',
  'recipient',
  'account_id',
  'event',
  'security',
  'subject',
  'body_text',
  'body_html',
  'payload',
  'status',
  'attempts',
  'next_attempt_at',
  'delivered_at',
  'last_error',
  'created_at',
] as const;
const insertOutboxRow = compiledInsert('outbox', OUTBOX_COLUMNS);

/** The insert of one outbox row, for a caller that sends it with other statements (`together`). */
export function outboxInsert(tx: Tx, row: OutboxTable) {
  return insertOutboxRow.statement(tx, row);
}

/** Queues outbox rows in the caller's transaction; they leave with its next statement (writeBehind). */
export async function queueOutbox(tx: Tx, rows: readonly OutboxTable[]): Promise<void> {
  await writeBehind(tx, ...rows.map((row) => insertOutboxRow.statement(tx, row)));
}

/** The outbox row of an email, for a caller that batches the insert. */
export function emailOutboxRow(input: EmailInput): OutboxTable {
  return {
    id: newId(),
    channel: 'email',
    recipient: input.recipient,
    account_id: input.accountId,
    event: input.event,
    security: input.security ? 1 : 0,
    subject: input.email.subject,
    body_text: input.email.text,
    body_html: input.email.html,
    payload: JSON.stringify(input.payload),
    status: 'pending',
    attempts: 0,
    next_attempt_at: input.now,
    delivered_at: null,
    last_error: null,
    created_at: input.now,
  };
}

/** The dev mailbox: what would have been emailed to `recipient`, newest first. */
export async function listMailbox(on: Queryable, recipient: string, limit: number): Promise<OutboxRow[]> {
  return queryable(on)
    .selectFrom('outbox')
    .selectAll()
    .where('channel', '=', 'email')
    .where('recipient', '=', recipient)
    .orderBy('created_at', 'desc')
    .orderBy('id', 'desc')
    .limit(limit)
    .execute();
}
