import { Readable } from 'node:stream';

/**
 * What a command talks to: its environment, standard input and output, and the exit code it leaves. A command
 * never touches `process` for these itself, so the same program runs as `drawbridge` (the process's own terminal)
 * and inside another program (a test, with a terminal of its own that collects the output).
 */
export interface Terminal {
  /** The environment the command reads its configuration from; `--data-dir` writes DRAWBRIDGE_DATA_DIR here. */
  readonly env: Record<string, string | undefined>;
  /** Standard input as bytes. */
  readonly stdin: AsyncIterable<Buffer | string>;
  /** A person is at the keyboard (prompts may be asked); false for scripts and pipes. */
  readonly interactive: boolean;
  /** Standard error is a terminal (progress may redraw one line). */
  readonly errIsTTY: boolean;
  out(text: string): void;
  err(text: string): void;
  /** The exit code a command leaves without failing (1 for "checked, and something is wrong"); 0 if unset. */
  exitCode: number | undefined;
}

/** The process's own terminal: what `bin/drawbridge.mjs` runs with. */
export function processTerminal(): Terminal {
  return {
    env: process.env,
    stdin: process.stdin,
    interactive: process.stdin.isTTY === true,
    errIsTTY: process.stderr.isTTY === true,
    out: (text) => void process.stdout.write(text),
    err: (text) => void process.stderr.write(text),
    exitCode: undefined,
  };
}

/** A terminal that collects what a command writes: for running a command inside another program. */
export function capturingTerminal(
  env: Record<string, string | undefined>,
  input = '',
): Terminal & { readonly stdout: () => string; readonly stderr: () => string } {
  let stdout = '';
  let stderr = '';
  return {
    env,
    stdin: Readable.from([Buffer.from(input, 'utf8')]),
    interactive: false,
    errIsTTY: false,
    out: (text) => {
      stdout += text;
    },
    err: (text) => {
      stderr += text;
    },
    exitCode: undefined,
    stdout: () => stdout,
    stderr: () => stderr,
  };
}

let current: Terminal | undefined;

/** The terminal of the command running now (the process's own outside `runCommand`). */
export function terminal(): Terminal {
  current ??= processTerminal();
  return current;
}

/** Runs `work` with `next` as the terminal; one command at a time, so callers queue (see cli/main.ts). */
export async function withTerminal<T>(next: Terminal, work: () => Promise<T>): Promise<T> {
  const before = current;
  current = next;
  try {
    return await work();
  } finally {
    current = before;
  }
}
