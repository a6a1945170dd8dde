import type { Command } from 'commander';

// Filled in by the address-validation work (issue 2, item 4).
export function registerAddress(_program: Command): void {}
