// Runs `drawbridge address check`, the way an operator or a script would (cli/main.ts's program, in-process).
import { runCli } from '../../support/cli.ts';

export interface CommandRun {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export async function runAddressCheck(args: readonly string[], input?: string): Promise<CommandRun> {
  const run = await runCli(['address', 'check', ...args], {}, { stdin: input ?? '' });
  return { status: run.code, stdout: run.stdout, stderr: run.stderr };
}

export type CheckLine = { valid: true; normalized: string; type: string } | { valid: false; reason: string };

/** Checks many addresses in one command (`--stdin`); answers come back in input order. */
export async function checkMany(network: string, addresses: readonly string[]): Promise<CheckLine[]> {
  for (const address of addresses) {
    if (address.includes('\n')) throw new Error(`a line-based batch cannot carry ${JSON.stringify(address)}`);
  }
  const run = await runAddressCheck(
    ['--network', network, '--stdin'],
    addresses.map((address) => `${address}\n`).join(''),
  );
  if (run.status !== 0 && run.status !== 1)
    throw new Error(`address check failed: ${run.status} ${run.stderr}`);
  const lines = run.stdout.split('\n').filter((line) => line !== '');
  if (lines.length !== addresses.length) {
    throw new Error(`expected ${addresses.length} answers, got ${lines.length}: ${run.stderr}`);
  }
  return lines.map((line) => JSON.parse(line) as CheckLine);
}
