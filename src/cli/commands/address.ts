import { type Command, Option } from 'commander';
import type { AddressCheck } from '../../core/addresses/index.ts';
import { NETWORKS, type Network } from '../../core/networks.ts';
import { printJson } from '../context.ts';
import { terminal } from '../terminal.ts';

/**
 * `drawbridge address check --network <network> <address>`: one JSON line, exit 0 when we would
 * pay to the address and 1 when not. The hidden `--stdin` checks one address per input line (one
 * JSON line each, exit 1 if any is refused), so a test suite can run thousands of vectors through
 * the real command in one process.
 */
const STDIN_BYTES_MAX = 1024 * 1024;
const STDIN_LINES_MAX = 10_000;

interface CheckOptions {
  readonly network: Network;
  readonly stdin?: boolean;
}

export function registerAddress(program: Command): void {
  const address = program.command('address').description('withdrawal destination addresses');
  address
    .command('check')
    .description('say whether an address is one we will pay to on a network, and its canonical form')
    .addOption(
      new Option('--network <network>', 'the chain the address is for')
        .choices(NETWORKS)
        .makeOptionMandatory(),
    )
    .addOption(new Option('--stdin', 'check one address per line of standard input').hideHelp())
    .argument('[address]', 'the address to check')
    .action(async function (this: Command, input: string | undefined, options: CheckOptions) {
      if ((input === undefined) === (options.stdin !== true)) {
        this.error('error: give exactly one address, or --stdin', { exitCode: 2 });
      }
      // Loaded on use: the address libraries are the heaviest imports of the CLI.
      const { checkAddress } = await import('../../core/addresses/index.ts');
      const checks =
        input === undefined
          ? (await readLines(this)).map((line) => checkAddress(options.network, line))
          : [checkAddress(options.network, input)];
      for (const check of checks) printJson(check);
      terminal().exitCode = checks.every((check: AddressCheck) => check.valid) ? 0 : 1;
    });
}

/** Standard input split into lines (LF or CRLF), refused past the byte or line limit. */
async function readLines(command: Command): Promise<string[]> {
  const chunks: Buffer[] = [];
  let bytes = 0;
  for await (const chunk of terminal().stdin) {
    const buffer = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
    bytes += buffer.length;
    if (bytes > STDIN_BYTES_MAX) command.error(`error: standard input exceeds ${STDIN_BYTES_MAX} bytes`);
    chunks.push(buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  const lines = text.split('\n').map((line) => (line.endsWith('\r') ? line.slice(0, -1) : line));
  if (text.endsWith('\n')) lines.pop();
  if (lines.length > STDIN_LINES_MAX)
    command.error(`error: more than ${STDIN_LINES_MAX} lines on standard input`);
  return lines;
}
