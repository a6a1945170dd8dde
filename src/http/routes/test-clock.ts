import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';

/** The clock the browser tests move (DRAWBRIDGE_TEST_CLOCK): registered only then, and left out of the OpenAPI. */
export interface MovableClock {
  now(): Date;
  advance(ms: number): void;
}

/** A week at most per call: enough for any cooling period or lock, and a typo cannot throw the clock years ahead. */
const MAX_ADVANCE_SECONDS = 7 * 24 * 3600;

/**
 * `GET /__test__/clock` reads the server's clock, `POST /__test__/clock {"advance_seconds": n}` moves it forward.
 * No session: the variable that enables it is refused outside NODE_ENV=test and with DATABASE_URL (src/config.ts).
 */
export function registerTestClockRoutes(app: FastifyInstance, clock: MovableClock) {
  app.get('/__test__/clock', { schema: { hide: true } }, async () => ({ now: clock.now().toISOString() }));
  app.post(
    '/__test__/clock',
    {
      schema: {
        hide: true,
        body: Type.Object(
          { advance_seconds: Type.Integer({ minimum: 0, maximum: MAX_ADVANCE_SECONDS }) },
          { additionalProperties: false },
        ),
      },
    },
    async (request) => {
      clock.advance((request.body as { advance_seconds: number }).advance_seconds * 1000);
      return { now: clock.now().toISOString() };
    },
  );
}
