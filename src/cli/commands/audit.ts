import type { Command } from 'commander';

// Filled in by the audit-chain work (issue 2, item 6).
export function registerAudit(_program: Command): void {}
