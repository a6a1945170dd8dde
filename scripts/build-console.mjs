#!/usr/bin/env node
// Builds the console (web/) into web/dist with Vite: run by `npm install` / `npm ci` (the prepare script) and by
// `npm start` when the bundle is missing (--if-missing). Without Vite installed (an install without dev
// dependencies) it says so and the server serves the API only.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const built = existsSync(`${root}web/dist/index.html`);
if (process.argv.includes('--if-missing') && built) process.exit(0);

let vite;
try {
  vite = await import('vite');
} catch {
  process.stderr.write(
    'the console is not built: Vite is not installed (npm install, with dev dependencies)\n',
  );
  process.exit(0);
}
const started = Date.now();
await vite.build({ configFile: `${root}web/vite.config.ts`, logLevel: 'warn' });
process.stderr.write(`console built into web/dist in ${Date.now() - started} ms\n`);
