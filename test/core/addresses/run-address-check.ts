// Runs the real `drawbridge address check` command, the way an operator or a script would.
import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const BIN = fileURLToPath(new URL('../../../bin/drawbridge.mjs', import.meta.url));
const TIMEOUT_MS = 60_000;

export interface CommandRun {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export function runAddressCheck(args: readonly string[], input?: string): CommandRun {
  const run = spawnSync(process.execPath, [BIN, 'address', 'check', ...args], {
    input: input ?? '',
    encoding: 'utf8',
    timeout: TIMEOUT_MS,
  });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

export type CheckLine = { valid: true; normalized: string; type: string } | { valid: false; reason: string };

/** Checks many addresses in one process (`--stdin`); answers come back in input order. */
export async function checkMany(network: string, addresses: readonly string[]): Promise<CheckLine[]> {
  for (const address of addresses) {
    if (address.includes('\n')) throw new Error(`a line-based batch cannot carry ${JSON.stringify(address)}`);
  }
  const child = spawn(process.execPath, [BIN, 'address', 'check', '--network', network, '--stdin'], {
    timeout: TIMEOUT_MS,
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  child.stdin.end(addresses.map((address) => `${address}\n`).join(''));
  const status = await new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', resolve);
  });
  if (status !== 0 && status !== 1) throw new Error(`address check failed: ${status} ${stderr}`);
  const lines = stdout.split('\n').filter((line) => line !== '');
  if (lines.length !== addresses.length) {
    throw new Error(`expected ${addresses.length} answers, got ${lines.length}: ${stderr}`);
  }
  return lines.map((line) => JSON.parse(line) as CheckLine);
}
