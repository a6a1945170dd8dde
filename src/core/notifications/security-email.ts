/**
 * Every email to a customer carries their anti-phishing code, what happened, when, from which device and IP,
 * and a "lock my account" link (DESIGN invariant 8): a page whose one button locks, so opening it alone (a mail
 * scanner) changes nothing. Rendering is pure; the outbox stores the result.
 */
export interface EmailContext {
  readonly event: string;
  readonly headline: string;
  readonly lines: readonly string[];
  readonly at: Date;
  readonly antiPhishingCode: string | undefined;
  readonly device: string | undefined;
  readonly ip: string | undefined;
  readonly lockUrl: string;
  readonly actionUrl?: { readonly label: string; readonly url: string } | undefined;
}

export interface RenderedEmail {
  readonly subject: string;
  readonly text: string;
  readonly html: string;
}

const NO_CODE =
  'not set (set one in your security settings: genuine Drawbridge emails will then show it here)';

function escapeHtml(value: string): string {
  return value
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');
}

export function renderSecurityEmail(context: EmailContext): RenderedEmail {
  const code = context.antiPhishingCode ?? NO_CODE;
  const when = context.at.toISOString();
  const facts = [
    `Anti-phishing code: ${code}`,
    `What happened: ${context.headline}`,
    `When: ${when}`,
    `Device: ${context.device ?? 'unknown'}`,
    `IP address: ${context.ip ?? 'unknown'}`,
  ];
  const textParts = [
    ...facts,
    '',
    ...context.lines,
    ...(context.actionUrl === undefined ? [] : ['', `${context.actionUrl.label}: ${context.actionUrl.url}`]),
    '',
    `This wasn't you? Lock your account now (the link opens a page whose one button ends every session and stops withdrawals): ${context.lockUrl}`,
  ];
  const html = [
    '<!doctype html><html><body style="font-family:sans-serif">',
    `<p style="padding:8px;border:2px solid #0a5">Anti-phishing code: <strong>${escapeHtml(code)}</strong></p>`,
    `<h2>${escapeHtml(context.headline)}</h2>`,
    '<ul>',
    `<li>When: ${escapeHtml(when)}</li>`,
    `<li>Device: ${escapeHtml(context.device ?? 'unknown')}</li>`,
    `<li>IP address: ${escapeHtml(context.ip ?? 'unknown')}</li>`,
    '</ul>',
    ...context.lines.map((line) => `<p>${escapeHtml(line)}</p>`),
    ...(context.actionUrl === undefined
      ? []
      : [`<p><a href="${escapeHtml(context.actionUrl.url)}">${escapeHtml(context.actionUrl.label)}</a></p>`]),
    `<p><a href="${escapeHtml(context.lockUrl)}" style="color:#b00;font-weight:bold">This wasn't me: lock my account</a></p>`,
    '</body></html>',
  ].join('\n');
  return { subject: `Drawbridge: ${context.headline}`, text: textParts.join('\n'), html };
}
