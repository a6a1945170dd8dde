#!/usr/bin/env node
// Runs every *.test.ts under src/ and test/ (or those whose path contains one of the arguments) with node's own test
// runner, on JavaScript that tsc compiled once into .test-build/ (tsconfig.build-tests.json, incremental).
//
// Why compiled and not through tsx: every test file is a process of its own, and loading the app's module graph
// through tsx's loader hooks costs about 2 s of CPU more per process than loading the same code compiled
// (measured: importing test/support/http.ts, 3.7 s CPU through tsx against 1.7 s compiled), which was a sixth of
// the suite. tsc's emit is also the typecheck. .test-build/ mirrors the source tree: compiled .js beside symlinks
// to every other file (fixtures, .mjs workers, the .ts sources that tests start as child processes through tsx),
// and the files above it a test reads (README.md, docs, web), with a package.json whose exports name the compiled
// entry points (`drawbridge/attestation` imported by a compiled test is the compiled file). The test of the package
// itself (what an integrator installs: the real package.json and its .ts entry points) runs from source through
// tsx, in a run of its own; the totals of both runs are printed last.
//
// Node 20's runner has no glob support of its own, hence this file.
import { spawn, spawnSync } from 'node:child_process';
import {
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join, relative } from 'node:path';

const BUILD = '.test-build';
const TREES = ['src', 'test', 'bench', 'scripts'];
const ABOVE = ['README.md', 'docs', 'web'];
/** Run from source through tsx: the package as an integrator installs it. */
const FROM_SOURCE = ['test/integrators/attestation-package.test.ts'];

function walk(dir, out) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (name === 'node_modules') continue;
    if (statSync(path).isDirectory()) walk(path, out);
    else out.push(path);
  }
  return out;
}

/** A symlink at `link` to `target` (relative), unless one already points there. */
function link(target, at) {
  mkdirSync(dirname(at), { recursive: true });
  const wanted = relative(dirname(at), target);
  if (existsSync(at) || isLink(at)) {
    if (isLink(at) && readlinkSync(at) === wanted) return;
    throw new Error(`${at} exists and is not a link to ${target}: remove ${BUILD}/ and run again`);
  }
  symlinkSync(wanted, at);
}

function isLink(path) {
  try {
    return lstatSync(path).isSymbolicLink();
  } catch {
    return false;
  }
}

const compiled = spawnSync(
  process.execPath,
  ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build-tests.json'],
  {
    stdio: 'inherit',
  },
);
if (compiled.status !== 0) {
  console.error('tsc failed: the tests were not run');
  console.log('ℹ pass 0\nℹ fail 1');
  process.exit(1);
}
// Every source file beside its compiled twin: fixtures, .mjs workers, .d.ts files, and the .ts sources that tests
// start as child processes through tsx.
for (const tree of TREES) for (const file of walk(tree, [])) link(file, join(BUILD, file));
for (const name of ABOVE) link(name, join(BUILD, name));
const manifest = JSON.parse(readFileSync('package.json', 'utf8'));
const compiledExports = Object.fromEntries(
  Object.entries(manifest.exports).map(([key, target]) => [key, target.replace(/\.ts$/, '.js')]),
);
writeFileSync(
  join(BUILD, 'package.json'),
  `${JSON.stringify({ name: manifest.name, version: manifest.version, type: manifest.type, exports: compiledExports }, null, 2)}\n`,
);

const filter = process.argv.slice(2);
const files = walk('test', walk('src', []))
  .filter((file) => file.endsWith('.test.ts'))
  .filter((file) => filter.length === 0 || filter.some((f) => file.includes(f)))
  .sort();
const fromSource = files.filter((file) => FROM_SOURCE.includes(file));
const fromBuild = files
  .filter((file) => !FROM_SOURCE.includes(file))
  .map((file) => join(BUILD, file.replace(/\.ts$/, '.js')));

/** Runs node's test runner on `files`, passing its output through; its pass and fail counts and exit status. */
function runTests(files, loader) {
  const args = [
    ...loader,
    '--test',
    `--test-concurrency=${process.env.TEST_CONCURRENCY ?? 2}`,
    '--test-reporter=spec',
    ...files,
  ];
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { stdio: ['inherit', 'pipe', 'inherit'] });
    let tail = '';
    child.stdout.on('data', (chunk) => {
      process.stdout.write(chunk);
      tail = (tail + chunk.toString('utf8')).slice(-4096);
    });
    child.on('close', (status) => {
      const count = (name) => Number(tail.match(new RegExp(`^ℹ ${name} (\\d+)`, 'm'))?.[1] ?? 0);
      resolve({ status: status ?? 1, pass: count('pass'), fail: count('fail') });
    });
  });
}

const runs = [];
if (fromSource.length > 0) runs.push(await runTests(fromSource, ['--import', 'tsx']));
if (fromBuild.length > 0) runs.push(await runTests(fromBuild, []));
const pass = runs.reduce((sum, run) => sum + run.pass, 0);
const fail = runs.reduce((sum, run) => sum + run.fail, 0);
const status = runs.some((run) => run.status !== 0) ? 1 : 0;
if (runs.length > 1)
  console.log(
    `\nall test files (${files.length}):\nℹ pass ${pass}\nℹ fail ${fail === 0 && status !== 0 ? 1 : fail}`,
  );
process.exit(status);
