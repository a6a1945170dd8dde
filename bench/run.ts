import { writeFileSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';
import { join } from 'node:path';
import { consoleBenchmark } from './console.ts';
import { identityBenchmark } from './identity.ts';
import { incidentBenchmark } from './incident.ts';
import { ledgerBenchmark } from './ledger.ts';
import type { Benchmark, Count, Figure, MeasureOptions } from './measure.ts';
import { outboxBenchmark } from './outbox.ts';
import { pipelineBenchmark } from './pipeline.ts';
import { riskBenchmark } from './risk.ts';

/*
 * `npm run bench [-- name...]`: runs each benchmark, prints one table, and writes
 * bench/results/<name>.json with the figures and the machine they were measured on.
 * BENCH_DURATION_MS and BENCH_WARMUP_MS shorten or lengthen every measured loop.
 */

const BENCHMARKS: readonly Benchmark[] = [
  ledgerBenchmark,
  outboxBenchmark,
  identityBenchmark,
  pipelineBenchmark,
  riskBenchmark,
  consoleBenchmark,
  incidentBenchmark,
];
const RESULTS_DIR = join(import.meta.dirname, 'results');

function milliseconds(name: string, fallback: number): number {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isInteger(value) || value < 100 || value > 600_000)
    throw new Error(`${name} must be 100..600000 ms`);
  return value;
}

const options: MeasureOptions = {
  warmupMs: milliseconds('BENCH_WARMUP_MS', 1000),
  durationMs: milliseconds('BENCH_DURATION_MS', 3000),
};
const wanted = process.argv.slice(2);
const selected = BENCHMARKS.filter((b) => wanted.length === 0 || wanted.includes(b.name));
if (selected.length === 0)
  throw new Error(
    `no benchmark named ${wanted.join(', ')}; known: ${BENCHMARKS.map((b) => b.name).join(', ')}`,
  );

const rows: string[][] = [['benchmark', 'engine', 'case', 'ours/s', 'floor/s', 'ratio', 'target']];
let belowTarget = 0;
for (const benchmark of selected) {
  const result = await benchmark.run(options);
  for (const figure of result.figures) {
    rows.push(tableRow(benchmark.name, figure));
    if (figure.ratio !== undefined && figure.target !== undefined && figure.ratio < figure.target)
      belowTarget += 1;
  }
  for (const count of result.counts ?? []) {
    rows.push(countRow(benchmark.name, count));
    if (count.atMost !== undefined && count.value > count.atMost) belowTarget += 1;
  }
  const machine = {
    cores: availableParallelism(),
    cpu: cpus()[0]?.model ?? 'unknown',
    platform: process.platform,
  };
  const file = join(RESULTS_DIR, `${benchmark.name}.json`);
  const body = {
    name: benchmark.name,
    date: new Date().toISOString(),
    node: process.version,
    machine,
    options,
    ...result,
  };
  writeFileSync(file, `${JSON.stringify(body, null, 2)}\n`);
  for (const note of result.notes) console.log(`note (${benchmark.name}): ${note}`);
}
printTable(rows);
if (belowTarget > 0) {
  console.log(`${belowTarget} figure(s) below target`);
  process.exitCode = 1;
}

function tableRow(name: string, figure: Figure): string[] {
  const rate = (value: number | undefined) => (value === undefined ? '-' : value.toFixed(0));
  const ratio = (value: number | undefined) => (value === undefined ? '-' : `${(value * 100).toFixed(0)}%`);
  return [
    name,
    figure.engine,
    figure.case,
    rate(figure.opsPerSecond),
    rate(figure.floorOpsPerSecond),
    ratio(figure.ratio),
    ratio(figure.target),
  ];
}

/** A count in the rate columns: the value, the floor's, the target's share of the value, and the target. */
function countRow(name: string, count: Count): string[] {
  const value = (v: number | undefined) => (v === undefined ? '-' : String(Number(v.toFixed(2))));
  return [
    name,
    count.engine,
    count.case,
    value(count.value),
    value(count.floorValue),
    count.atMost === undefined || count.value === 0
      ? '-'
      : `${((count.atMost / count.value) * 100).toFixed(0)}%`,
    count.atMost === undefined ? '-' : `<= ${count.atMost}`,
  ];
}

function printTable(table: readonly string[][]): void {
  const widths = table[0]!.map((_, column) => Math.max(...table.map((row) => row[column]!.length)));
  for (const row of table) console.log(row.map((cell, column) => cell.padEnd(widths[column]!)).join('  '));
}
