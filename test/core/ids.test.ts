import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { newId, simulatedIds, withIdSource } from '../../src/core/ids.ts';

/** The UUIDv7 timestamp (ms) an id carries. */
const msOf = (id: string) => Number.parseInt(id.replaceAll('-', '').slice(0, 12), 16);

test('ids come from the secure generator outside a simulation, also while one runs beside it, and after', async () => {
  const before = Date.now();
  const outside = newId();
  assert.ok(msOf(outside) >= before && msOf(outside) <= Date.now(), 'stamped with the wall clock');
  const fixed = simulatedIds(
    () => Date.parse('2022-01-17T00:00:00Z'),
    () => 7,
  );
  let release!: () => void;
  const gate = new Promise<void>((yes) => {
    release = yes;
  });
  const simulation = withIdSource(fixed, async () => {
    await gate;
    return [newId(), newId()];
  });
  // Work outside the simulation's context, while it is running, still gets secure ids.
  const beside = newId();
  assert.ok(msOf(beside) >= before, 'not the simulated clock');
  release();
  const [a, b] = await simulation;
  assert.equal(msOf(a as string), Date.parse('2022-01-17T00:00:00Z'));
  assert.ok((a as string) < (b as string));
  const after = [newId(), newId()];
  assert.ok(after.every((id) => msOf(id) >= before));
  assert.notEqual(after[0], after[1]);
  // 74 random bits each: two fresh ids of one millisecond share no more than their time and version.
  assert.notEqual(after[0]?.slice(15), after[1]?.slice(15));
});

test('only the simulation chooses another id source', () => {
  const users: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (path.endsWith('.ts') && readFileSync(path, 'utf8').includes('withIdSource')) users.push(path);
    }
  };
  walk('src');
  assert.deepEqual(users.sort(), ['src/core/ids.ts', 'src/simulation/incident-2022/replay.ts']);
});
