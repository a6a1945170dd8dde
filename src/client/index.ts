/**
 * A typed client for Drawbridge's HTTP API (`drawbridge/client`): openapi-fetch over the types that
 * `npm run client` generates from the server's OpenAPI document (schema.d.ts beside this file, checked in and
 * kept in step with the routes by test/integrators/client-up-to-date.test.ts).
 *
 *   const drawbridge = createDrawbridgeClient('https://drawbridge.example', token);
 *   const { data, error } = await drawbridge.POST('/v1/withdrawals', { body: { asset: 'BTC', ... } });
 *
 * Every path, body and answer is typed; an error answer comes back as `error` (an RFC 9457 problem), never thrown.
 */
import createClient, { type Client } from 'openapi-fetch';
import type { components, paths } from './schema.d.ts';

export type { components, paths };
export type DrawbridgeClient = Client<paths>;

/** A client for the server at `baseUrl`; with `token` (a session token from a login) every request carries it. */
export function createDrawbridgeClient(baseUrl: string, token?: string): DrawbridgeClient {
  return createClient<paths>({
    baseUrl: baseUrl.replace(/\/+$/, ''),
    headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
  });
}
