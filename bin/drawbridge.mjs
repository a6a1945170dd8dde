#!/usr/bin/env node
// Runs the TypeScript sources directly through tsx, so there is no build step to forget.
import { register } from 'tsx/esm/api';

register();
const { runCommand } = await import('../src/cli/main.ts');
const { processTerminal } = await import('../src/cli/terminal.ts');
const code = await runCommand(process.argv, processTerminal());
// A refusal ends the process at once; a command that succeeded (or serves) ends when its work does.
if (code === 0) process.exitCode = 0;
else process.exit(code);
