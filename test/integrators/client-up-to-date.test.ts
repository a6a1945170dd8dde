import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { CLIENT_DIR, generatedClientFiles } from '../../scripts/generate-client.ts';

test('the checked-in OpenAPI document and client types are what `npm run client` makes of the routes now', async () => {
  const fresh = await generatedClientFiles();
  for (const [name, contents] of Object.entries(fresh)) {
    const checkedIn = readFileSync(join(CLIENT_DIR, name), 'utf8');
    // assert.equal on ~1 MB strings prints both; say which file and where they part.
    if (checkedIn !== contents) {
      let at = 0;
      while (at < checkedIn.length && checkedIn[at] === contents[at]) at++;
      const line = checkedIn.slice(0, at).split('\n').length;
      assert.fail(
        `src/client/${name} is out of date from line ${line} on: run \`npm run client\` and commit what it wrote`,
      );
    }
  }
});
