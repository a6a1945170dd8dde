import assert from 'node:assert/strict';
import { test } from 'node:test';
import { eachEngine } from '../support/each-engine.ts';

interface Media {
  schema?: { example?: unknown; examples?: unknown[] };
  example?: unknown;
  examples?: Record<string, unknown>;
}

interface Operation {
  summary?: string;
  description?: string;
  parameters?: { $ref?: string; name?: string }[];
  requestBody?: { content?: Record<string, Media> };
  responses?: Record<string, { content?: Record<string, unknown> }>;
  security?: unknown[];
}

/** Whether a media type shows at least one example (@fastify/swagger lifts a schema's one example to the media). */
function hasExample(media: Media | undefined): boolean {
  if (media === undefined) return false;
  return (
    media.example !== undefined ||
    Object.keys(media.examples ?? {}).length > 0 ||
    media.schema?.example !== undefined ||
    (media.schema?.examples ?? []).length > 0
  );
}

for (const { engine, describeOn } of await eachEngine()) {
  describeOn(`the API reference on ${engine}`, (on) => {
    const running = on.app();

    test('/docs serves the interactive reference from the package, with a policy that allows only its own files', async () => {
      const page = await fetch(`${running.url}/docs/`);
      assert.equal(page.status, 200);
      assert.match(page.headers.get('content-type') ?? '', /text\/html/);
      const html = await page.text();
      assert.match(html, /swagger-ui/i);
      const policy = page.headers.get('content-security-policy') ?? '';
      assert.match(policy, /script-src 'self'/);
      assert.doesNotMatch(policy, /unsafe-inline|unsafe-eval/);
      for (const src of html.matchAll(/<script[^>]*src="([^"]+)"/g)) {
        assert.doesNotMatch(src[1] ?? '', /^https?:/, 'nothing is fetched from elsewhere');
      }
    });

    test('every 4xx is declared as application/problem+json with the shared schema; changes document Idempotency-Key', async () => {
      const document = (await (await fetch(`${running.url}/openapi.json`)).json()) as {
        paths: Record<string, Record<string, Operation>>;
        components: { schemas: Record<string, unknown>; parameters: Record<string, { name: string }> };
      };
      assert.ok(document.components.schemas.Problem);
      assert.equal(document.components.parameters.IdempotencyKey?.name, 'Idempotency-Key');
      let problems = 0;
      for (const [path, operations] of Object.entries(document.paths)) {
        for (const [method, operation] of Object.entries(operations)) {
          assert.ok(operation.summary, `${method} ${path} has a summary`);
          for (const [status, response] of Object.entries(operation.responses ?? {})) {
            if (!status.startsWith('4')) continue;
            problems += 1;
            assert.deepEqual(
              Object.keys(response.content ?? {}),
              ['application/problem+json'],
              `${method} ${path} ${status}`,
            );
          }
          const mutating = method !== 'get';
          const authenticated = (operation.security ?? []).length > 0;
          const idempotent = (operation.parameters ?? []).some(
            (p) => p.$ref === '#/components/parameters/IdempotencyKey',
          );
          assert.equal(idempotent, mutating && authenticated, `${method} ${path} Idempotency-Key`);
        }
      }
      assert.ok(problems > 100);
    });

    test('every operation explains itself, and every request body comes with an example', async () => {
      const document = (await (await fetch(`${running.url}/openapi.json`)).json()) as {
        paths: Record<string, Record<string, Operation>>;
      };
      let bodies = 0;
      for (const [path, operations] of Object.entries(document.paths)) {
        for (const [method, operation] of Object.entries(operations)) {
          assert.ok((operation.description ?? '').trim().length > 0, `${method} ${path} has a description`);
          if (operation.requestBody === undefined) continue;
          bodies += 1;
          assert.ok(
            hasExample(operation.requestBody.content?.['application/json']),
            `${method} ${path} shows an example request body`,
          );
        }
      }
      assert.ok(bodies > 30);
    });
  });
}
