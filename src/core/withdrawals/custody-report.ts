/** What Drawbridge knows of a hand-over: sent (`submitted`), then broadcast, then confirmed or failed. */
export type HandoverStatus = 'submitted' | 'broadcast' | 'confirmed' | 'failed';

/** What custody can report: in a signed callback, or when a transport is asked. */
export type CustodyReport = Exclude<HandoverStatus, 'submitted'>;

export type Judgement =
  | { readonly kind: 'apply'; readonly status: CustodyReport; readonly txid: string | null }
  | { readonly kind: 'unchanged' }
  | { readonly kind: 'refuse'; readonly reason: string };

/**
 * What a report does to what we know. Custody status only moves forward (submitted, then broadcast, then
 * confirmed or failed); confirmed and failed are final; a txid, once known, never changes.
 */
export function judgeReport(
  current: { readonly status: HandoverStatus; readonly txid: string | null },
  report: { readonly status: CustodyReport; readonly txid?: string | undefined },
): Judgement {
  if (report.txid !== undefined && current.txid !== null && report.txid !== current.txid) {
    return {
      kind: 'refuse',
      reason: `txid ${report.txid} differs from the txid already reported (${current.txid})`,
    };
  }
  if (report.status === current.status) return { kind: 'unchanged' };
  if (current.status === 'confirmed' || current.status === 'failed') {
    return {
      kind: 'refuse',
      reason: `the transaction was already reported ${current.status}; ${report.status} would move it backwards`,
    };
  }
  const txid = current.txid ?? report.txid ?? null;
  if (report.status !== 'failed' && txid === null) {
    return { kind: 'refuse', reason: `${report.status} without a txid` };
  }
  return { kind: 'apply', status: report.status, txid };
}
