import type { IncidentReport } from '../../core/incidents/report.ts';
import type { Check } from './playbook-phase.ts';
import { INCIDENT_2022 } from './scenario.ts';

/** The replay's figures beside the ones published in January 2022, as rows of text (the CLI prints them). */

function hours(ms: number): string {
  const minutes = Math.round(ms / 60_000);
  return `${Math.floor(minutes / 60)} h ${String(minutes % 60).padStart(2, '0')} min`;
}

function assetRow(report: IncidentReport, code: string): string {
  const asset = report.losses.assets.find((a) => a.asset === code);
  if (asset === undefined) return `0 ${code}`;
  return `${asset.all.total} attempted, ${asset.lost.total} taken`;
}

export function closingRows(report: IncidentReport): [string, string, string][] {
  const s = report.summary;
  const published = INCIDENT_2022.published;
  const other = report.losses.assets.filter((a) => a.asset !== 'BTC' && a.asset !== 'ETH');
  return [
    ['', 'replay', 'January 2022 (published)'],
    ['accounts affected', String(s.accounts_affected), String(published.accounts)],
    ['ETH', assetRow(report, 'ETH'), `${published.eth_taken} taken`],
    ['BTC', assetRow(report, 'BTC'), `${published.btc_taken} taken`],
    [
      'other coins, USD taken',
      other.length === 0 ? '0.00' : other.map((a) => `${a.lost.usd} (${a.asset})`).join(', '),
      published.other_usd,
    ],
    ['USD attempted / taken', `${s.usd_total.usd} / ${s.usd_lost.usd}`, `about ${published.total_usd} taken`],
    [
      'time to detect',
      s.time_to_detect_ms === null ? 'not detected' : `${s.time_to_detect_ms} ms`,
      'not stated',
    ],
    ['halt duration', hours(s.halt_duration_ms), `about ${published.halt_hours} h`],
    ['share prevented (USD)', `${s.share_prevented_usd_percent} %`, published.share_prevented],
    ['reimbursed, USD', s.usd_reimbursed.usd, 'all losses (amount not stated)'],
    ['net loss to customers, USD', s.usd_lost_not_reimbursed.usd, published.net_loss],
  ];
}

/** Rows as an aligned text table. */
export function textTable(rows: readonly (readonly string[])[]): string {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  const line = (r: readonly string[]) => `| ${r.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join(' | ')} |`;
  return [
    line(rows[0] ?? []),
    `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`,
    ...rows.slice(1).map(line),
  ].join('\n');
}

export function checkLines(checks: readonly Check[]): string {
  return checks.map((c) => `${c.ok ? 'ok  ' : 'FAIL'} ${c.name}: ${c.detail}`).join('\n');
}
