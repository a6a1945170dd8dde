import { Agent, request } from 'node:http';

/*
 * A keep-alive JSON client bound to one loopback source address. Each bench client speaks from its own
 * 127.0.0.x address, so the per-IP MFA rate limit (30 a minute) sees many callers, as it would in production,
 * instead of every request arriving from 127.0.0.1.
 */

const MAX_RESPONSE_BYTES = 1 << 20;

export interface JsonResponse {
  readonly status: number;
  // biome-ignore lint/suspicious/noExplicitAny: benchmarks read arbitrary JSON answers
  readonly body: any;
  readonly ms: number;
}

export interface LoopbackClient {
  call(
    method: 'GET' | 'POST',
    path: string,
    options?: { token?: string; body?: unknown },
  ): Promise<JsonResponse>;
  close(): void;
}

export function loopbackClient(baseUrl: string, localAddress: string): LoopbackClient {
  const url = new URL(baseUrl);
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  return {
    call(method, path, options = {}) {
      const payload = options.body === undefined ? undefined : JSON.stringify(options.body);
      const headers: Record<string, string> = {};
      if (payload !== undefined) {
        headers['content-type'] = 'application/json';
        headers['content-length'] = String(Buffer.byteLength(payload));
      }
      if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
      const started = performance.now();
      return new Promise<JsonResponse>((resolve, reject) => {
        const outgoing = request(
          { host: url.hostname, port: url.port, path, method, headers, agent, localAddress },
          (incoming) => {
            const chunks: Buffer[] = [];
            let size = 0;
            incoming.on('data', (chunk: Buffer) => {
              size += chunk.length;
              if (size > MAX_RESPONSE_BYTES) incoming.destroy(new Error('response too large'));
              else chunks.push(chunk);
            });
            incoming.on('error', reject);
            incoming.on('end', () => {
              const text = Buffer.concat(chunks).toString('utf8');
              let body: unknown = text;
              try {
                body = text === '' ? undefined : JSON.parse(text);
              } catch {
                // not JSON: keep the text for the error message
              }
              resolve({ status: incoming.statusCode ?? 0, body, ms: performance.now() - started });
            });
          },
        );
        outgoing.on('error', reject);
        outgoing.end(payload);
      });
    },
    close: () => agent.destroy(),
  };
}

/** The source address of client `index`: 127.0.0.10, 127.0.0.11, ... (all of 127/8 is loopback on Linux). */
export function clientAddress(index: number): string {
  if (!Number.isInteger(index) || index < 0 || index > 200) throw new RangeError('client index 0..200');
  return `127.0.0.${10 + index}`;
}
