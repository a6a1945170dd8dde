import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

/**
 * The links in emails ("lock my account", "confirm my email") are opened by people and fetched by mail scanners
 * and link previews alike. So a GET or HEAD of a link changes nothing and spends nothing: it answers a small page
 * whose form POSTs the link's token back, and only that POST acts. The token in the form is the credential (no
 * cookie is involved), so a forged cross-site POST needs the very token it would spend. The page has no script,
 * within the API's Content-Security-Policy.
 */

export const FORM_CONTENT_TYPE = 'application/x-www-form-urlencoded';

/** An email link's form body is one token: a few hundred bytes are plenty. */
const FORM_BODY_LIMIT_BYTES = 2048;

/**
 * Registers the email links' routes in a scope of their own, the only one that parses form bodies: every other
 * route keeps refusing them (415), so a cross-site form can never reach a JSON route.
 */
export function emailLinkRoutes(app: FastifyInstance, routes: (scope: FastifyInstance) => void): void {
  void app.register(async (scope) => {
    scope.addContentTypeParser(
      FORM_CONTENT_TYPE,
      { parseAs: 'string', bodyLimit: FORM_BODY_LIMIT_BYTES },
      (_request, body, done) => {
        done(null, Object.fromEntries(new URLSearchParams(body as string)));
      },
    );
    routes(scope);
  });
}

/** Whether the POST came from the page's form and wants a page back (not an API client asking for JSON). */
export function wantsPage(request: FastifyRequest): boolean {
  const type = request.headers['content-type'] ?? '';
  const accept = request.headers.accept ?? '';
  return type.toLowerCase().startsWith(FORM_CONTENT_TYPE) && !/\bjson\b/i.test(accept);
}

const PAGE_POLICY = "default-src 'none'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** One small HTML page: a heading and paragraphs of text, and optionally the form that acts. */
export function sendPage(
  reply: FastifyReply,
  page: {
    readonly title: string;
    readonly paragraphs: readonly string[];
    readonly form?: { readonly action: string; readonly token: string; readonly button: string };
    /** A way on: a link within this origin (a path). */
    readonly link?: { readonly href: `/${string}`; readonly text: string };
  },
) {
  const form =
    page.form === undefined
      ? ''
      : `<form method="post" action="${escapeHtml(page.form.action)}">` +
        `<input type="hidden" name="token" value="${escapeHtml(page.form.token)}">` +
        `<button type="submit">${escapeHtml(page.form.button)}</button></form>`;
  const link =
    page.link === undefined
      ? ''
      : `<p><a href="${escapeHtml(page.link.href)}">${escapeHtml(page.link.text)}</a></p>`;
  const body = page.paragraphs.map((p) => `<p>${escapeHtml(p)}</p>`).join('') + link;
  // The page carries a single-use token: kept out of caches and of search engines. Its policy allows nothing but
  // posting its form back to this origin, over the scheme the page came by (no upgrade to https on a plain-HTTP
  // development server, where the upgraded post would go nowhere).
  reply
    .header('cache-control', 'no-store')
    .header('x-robots-tag', 'noindex')
    .header('content-security-policy', PAGE_POLICY);
  reply.type('text/html; charset=utf-8');
  return reply.send(
    `<!doctype html><html lang="en"><head><meta charset="utf-8">` +
      `<meta name="viewport" content="width=device-width, initial-scale=1">` +
      `<title>${escapeHtml(page.title)}</title></head>` +
      `<body><h1>${escapeHtml(page.title)}</h1>${body}${form}</body></html>`,
  );
}
