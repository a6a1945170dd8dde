import type { IncidentReport } from './report.ts';

/**
 * The incident report for people: Markdown and a self-contained HTML page (no script, no external resource). Pure
 * and deterministic. Everything that came from input (titles, reasons, actors, subjects) is escaped: an incident
 * titled `<script>` is shown as text, in both.
 */

function duration(ms: number | null): string {
  if (ms === null) return 'unknown';
  const seconds = Math.round(ms / 1000);
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  return `${h} h ${String(m).padStart(2, '0')} min ${String(s).padStart(2, '0')} s (${ms} ms)`;
}

/** Markdown's active characters (and HTML's, which Markdown passes through) escaped; newlines flattened. */
export function escapeMarkdown(text: string): string {
  return text.replace(/[\r\n]+/g, ' ').replace(/[\\`*_{}[\]()#+!|<>&~-]/g, (c) => `\\${c}`);
}

export function escapeHtml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

/** An operator actor inside a sentence ("global halt by operator:<id> (<halt id>)"). */
const OPERATOR_ACTOR = /operator:[0-9a-f-]{36}/g;

interface Section {
  readonly title: string;
  readonly paragraphs?: readonly string[];
  readonly table?: { readonly head: readonly string[]; readonly rows: readonly (readonly string[])[] };
}

/** The report as titled sections of plain text: one source for both renderings. */
function sections(report: IncidentReport): Section[] {
  const s = report.summary;
  const i = report.incident;
  const yesNo = (b: boolean) => (b ? 'yes' : 'NO');
  // An operator by email where the report knows it, otherwise as recorded ("operator:<id>", "system:monitor").
  const who = (actor: string) =>
    Object.hasOwn(report.operators, actor) ? (report.operators[actor] as string) : actor;
  return [
    {
      title: 'Incident',
      table: {
        head: ['Field', 'Value'],
        rows: [
          ['Id', i.id],
          ['Title', i.title],
          ['Severity', i.severity],
          ['Status', i.status],
          ['Opened', `${i.opened_at} by ${who(i.opened_by)}`],
          ['Closed', i.closed_at ?? 'not closed'],
          ['Report generated', report.generated_at],
        ],
      },
    },
    {
      title: 'Summary',
      table: {
        head: ['Figure', 'Value'],
        rows: [
          ['Accounts affected', String(s.accounts_affected)],
          [
            'Withdrawals counted (unauthorized / suspect)',
            `${s.withdrawals_counted} (${s.withdrawals_unauthorized} / ${s.withdrawals_suspect})`,
          ],
          ['Withdrawals found legitimate (excluded)', String(s.legitimate_excluded)],
          ['Total attempted, USD', s.usd_total.usd],
          ['Prevented (stopped before release), USD', s.usd_prevented.usd],
          ['Lost (completed on chain), USD', s.usd_lost.usd],
          ['In doubt (released, not settled), USD', s.usd_in_doubt.usd],
          [
            'Share prevented (by USD value)',
            s.share_prevented_usd_percent === null ? 'n/a' : `${s.share_prevented_usd_percent} %`,
          ],
          ['Reimbursed to customers, USD', s.usd_reimbursed.usd],
          ['Lost and not reimbursed, USD', s.usd_lost_not_reimbursed.usd],
          ['Time to detect', duration(s.time_to_detect_ms)],
          ['Withdrawals halted (global and asset halts)', duration(s.halt_duration_ms)],
          ['Halts of withdrawals still active (global and asset)', String(s.halts_active)],
          ['Accounts still frozen', String(s.accounts_frozen)],
          ['Reimbursements reconciled with the ledger', yesNo(s.reconciled)],
          ['Withdrawals without a price (not in USD figures)', String(s.unpriced_withdrawals)],
        ],
      },
      paragraphs: [
        'USD at the price stored when each withdrawal was confirmed (else the price history), rounded to the cent; exact figures are in the JSON report.',
      ],
    },
    {
      title: 'Losses by asset',
      table: {
        head: ['Asset', 'Prevented', 'Lost', 'In doubt', 'All', 'All, USD'],
        rows: report.losses.assets.map((a) => [
          a.asset,
          `${a.prevented.total} (${a.prevented.count})`,
          `${a.lost.total} (${a.lost.count})`,
          `${a.in_doubt.total} (${a.in_doubt.count})`,
          `${a.all.total} (${a.all.count})`,
          a.all.usd,
        ]),
      },
      paragraphs: ['Amounts include the network fee the customer paid; counts of withdrawals in brackets.'],
    },
    {
      title: 'Reimbursement',
      table: {
        head: ['Asset', 'Reimbursable', 'Requested', 'Paid', 'Booked in ledger', 'Outstanding', 'Reconciled'],
        rows: report.reimbursement.assets.map((a) => [
          a.asset,
          a.reimbursable,
          a.requested,
          a.paid,
          a.booked_in_ledger,
          a.outstanding,
          yesNo(a.reconciled),
        ]),
      },
    },
    {
      title: 'Detection',
      paragraphs: [
        `First unauthorized withdrawal confirmed: ${report.detection.first_unauthorized_confirmed_at ?? 'none'}.`,
        `Detected: ${report.detection.detected_at ?? 'not recorded'}${report.detection.detected_by === null ? '' : ` (${report.detection.detected_by.replace(OPERATOR_ACTOR, who)})`}.`,
      ],
    },
    {
      title: 'Halts',
      table: {
        head: ['Scope', 'Set', 'By', 'Lifted', 'Duration', 'Reason'],
        rows: report.halts.map((h) => [
          h.scope === 'global'
            ? 'global'
            : h.scope === 'asset'
              ? `asset ${h.asset ?? ''}`
              : `account ${h.account_id ?? ''}`,
          h.created_at,
          who(h.created_by),
          h.lifted_at === null
            ? 'ACTIVE'
            : `${h.lifted_at} by ${h.lifted_by === null ? '' : who(h.lifted_by)}`,
          duration(h.duration_ms),
          h.reason,
        ]),
      },
    },
    {
      title: 'Timeline',
      table: {
        head: ['When', 'Who', 'What', 'About'],
        rows: report.timeline.map((e) => [e.at, who(e.actor), e.what, e.subject]),
      },
    },
    {
      title: 'Actions and who took them',
      table: {
        head: ['Actor', 'Actions'],
        rows: report.actions.map((a) => [
          who(a.actor),
          a.actions.map((x) => `${x.action} ×${x.count}`).join(', '),
        ]),
      },
    },
    {
      title: 'Open items',
      paragraphs: [
        `Withdrawals in doubt (released, outcome unknown): ${report.open_items.in_doubt.count}${listed(report.open_items.in_doubt.withdrawal_ids)}.`,
        `Losses not yet reimbursed: ${report.open_items.unreimbursed.length === 0 ? 'none' : report.open_items.unreimbursed.map((u) => `${u.outstanding} ${u.asset}`).join(', ')}.`,
        `Halts still active: ${report.open_items.active_halts.count}${listed(report.open_items.active_halts.halt_ids)}.`,
        `Reimbursement requests awaiting a second operator: ${report.open_items.reimbursements_awaiting_approval}.`,
        `Withdrawals without a price: ${report.open_items.unpriced.count}${listed(report.open_items.unpriced.withdrawal_ids)}.`,
        ...(report.truncated.audit || report.truncated.alerts || report.truncated.halts
          ? ['Some lists were cut at their bound (see "truncated" in the JSON report).']
          : []),
      ],
    },
  ];
}

function listed(ids: readonly string[]): string {
  return ids.length === 0 ? '' : ` (${ids.join(', ')})`;
}

export function renderReportMarkdown(report: IncidentReport): string {
  const lines = [`# Incident report: ${escapeMarkdown(report.incident.title)}`, ''];
  for (const section of sections(report)) {
    lines.push(`## ${section.title}`, '');
    if (section.table !== undefined) {
      lines.push(
        `| ${section.table.head.join(' | ')} |`,
        `|${section.table.head.map(() => ' --- |').join('')}`,
      );
      for (const row of section.table.rows) lines.push(`| ${row.map(escapeMarkdown).join(' | ')} |`);
      if (section.table.rows.length === 0)
        lines.push(`| none |${' |'.repeat(section.table.head.length - 1)}`);
      lines.push('');
    }
    for (const p of section.paragraphs ?? []) lines.push(escapeMarkdown(p), '');
  }
  return `${lines.join('\n').trimEnd()}\n`;
}

export function renderReportHtml(report: IncidentReport): string {
  const e = escapeHtml;
  const body: string[] = [`<h1>Incident report: ${e(report.incident.title)}</h1>`];
  for (const section of sections(report)) {
    body.push(`<h2>${e(section.title)}</h2>`);
    if (section.table !== undefined) {
      body.push('<table>', `<tr>${section.table.head.map((h) => `<th>${e(h)}</th>`).join('')}</tr>`);
      for (const row of section.table.rows)
        body.push(`<tr>${row.map((c) => `<td>${e(c)}</td>`).join('')}</tr>`);
      if (section.table.rows.length === 0)
        body.push(`<tr><td colspan="${section.table.head.length}">none</td></tr>`);
      body.push('</table>');
    }
    for (const p of section.paragraphs ?? []) body.push(`<p>${e(p)}</p>`);
  }
  return [
    '<!doctype html>',
    '<html lang="en"><head><meta charset="utf-8">',
    `<title>${e(`Incident report: ${report.incident.title}`)}</title>`,
    '<style>body{font-family:sans-serif;max-width:70em;margin:2em auto}table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #999;padding:.3em .6em;text-align:left;vertical-align:top}</style>',
    '</head><body>',
    ...body,
    '</body></html>',
    '',
  ].join('\n');
}
