import { createRequire } from 'node:module';

/** The package's version, from its package.json found by the package's own name (wherever this module runs from). */
export const VERSION: string = (
  createRequire(import.meta.url)('drawbridge/package.json') as { version: string }
).version;
