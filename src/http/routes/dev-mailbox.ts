import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { normalizeEmail } from '../../core/identity/email.ts';
import type { ServiceContext } from '../../services/context.ts';
import { listMailbox } from '../../store/outbox.ts';
import { PROBLEM_RESPONSES } from '../schemas.ts';

const MAILBOX_LIMIT = 50;

/**
 * The embedded default's mailbox: the emails that would have been sent, read straight from the outbox. It shows
 * anyone's mail, so it exists only when DEV_MAILBOX is on: by default only in the embedded default (SQLite, no
 * SMTP_URL), and never with DATABASE_URL (src/config.ts refuses DEV_MAILBOX=true there).
 */
export function registerDevMailboxRoutes(app: FastifyInstance, context: ServiceContext) {
  app.get(
    '/v1/dev/mailbox',
    {
      schema: {
        tags: ['development'],
        summary: 'Emails written to the outbox for one address (development only)',
        description:
          'Exists only with DEV_MAILBOX on (by default only in the embedded default, SQLite without ' +
          "SMTP_URL; never with DATABASE_URL) and needs no session, since it shows anyone's mail. The " +
          'newest 50 emails written to the outbox for `to`, with text, HTML and delivery status: where a ' +
          'development client finds its verification link, reset code or lock link.',
        querystring: Type.Object({ to: Type.String({ maxLength: 254 }) }, { additionalProperties: false }),
        response: {
          200: Type.Object({
            messages: Type.Array(
              Type.Object({
                id: Type.String(),
                event: Type.String(),
                subject: Type.String(),
                text: Type.String(),
                html: Type.String(),
                status: Type.String(),
                created_at: Type.String(),
              }),
            ),
          }),
          ...PROBLEM_RESPONSES,
        },
      },
    },
    async (request) => {
      const to = normalizeEmail((request.query as { to: string }).to, 'to');
      const rows = await listMailbox(context.database, to, MAILBOX_LIMIT);
      return {
        messages: rows.map((r) => ({
          id: r.id,
          event: r.event,
          subject: r.subject,
          text: r.body_text,
          html: r.body_html,
          status: r.status,
          created_at: r.created_at,
        })),
      };
    },
  );
}
