// A worker thread does not inherit the parent's `--import tsx` hooks: register them, then load the TypeScript.
import { register } from 'tsx/esm/api';

register();
await import('./support-load-worker.ts');
