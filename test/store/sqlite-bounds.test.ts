import assert from 'node:assert/strict';
import { test } from 'node:test';
import { boundsWrittenIn } from '../../src/store/sqlite-bounds.ts';

test('LIMIT and OFFSET values are written into the text, every other placeholder is left a parameter', () => {
  const text = 'select * from (select a from t where b = ? limit ?) where c > ? order by c limit ? offset ?';
  assert.deepEqual(boundsWrittenIn(text, ['x', 5, 'y', 10, 20]), {
    text: 'select * from (select a from t where b = ? limit 5) where c > ? order by c limit 10 offset 20',
    parameters: ['x', 'y'],
  });
  // The same values give the very same text (one cached statement per set of values).
  assert.equal(
    boundsWrittenIn(text, ['z', 5, 'w', 10, 20]).text,
    boundsWrittenIn(text, ['x', 5, 'y', 10, 20]).text,
  );
  assert.equal(boundsWrittenIn(text, ['x', 5n, 'y', 10, 0]).text.endsWith('limit 10 offset 0'), true);
});

test('a value that is not a whole number leaves the statement as it is', () => {
  const text = 'select a from t limit ?';
  for (const value of [-1, 1.5, '3', null, Number.MAX_SAFE_INTEGER + 1, 2n ** 60n]) {
    assert.deepEqual(boundsWrittenIn(text, [value]), { text, parameters: [value] }, String(value));
  }
});

test('a question mark inside quotes is not a placeholder; a count that does not match changes nothing', () => {
  const text = `select 'limit ?' as q, "limit ?" from t where a = ? limit ?`;
  assert.deepEqual(boundsWrittenIn(text, ['v', 7]), {
    text: `select 'limit ?' as q, "limit ?" from t where a = ? limit 7`,
    parameters: ['v'],
  });
  assert.deepEqual(boundsWrittenIn(text, ['v']), { text, parameters: ['v'] });
  const none = 'select a from t where b = ?';
  assert.deepEqual(boundsWrittenIn(none, [1]), { text: none, parameters: [1] });
});

test('past its caches (64 sets of values a statement, 1,000 statements) every text is still the right one', () => {
  for (let limit = 0; limit < 200; limit++) {
    const text = `select a from t${limit % 3} where b = ? limit ?`;
    assert.deepEqual(boundsWrittenIn(text, ['v', limit]), {
      text: `select a from t${limit % 3} where b = ? limit ${limit}`,
      parameters: ['v'],
    });
  }
  for (let n = 0; n < 1100; n++) {
    const text = `select a from u${n} limit ?`;
    assert.equal(boundsWrittenIn(text, [n]).text, `select a from u${n} limit ${n}`);
  }
  // The first texts, cached before the clearing, still come back right.
  assert.equal(boundsWrittenIn('select a from u0 limit ?', [7]).text, 'select a from u0 limit 7');
});
