import { connect, type Socket } from 'node:net';

/** What came back on a raw connection until the server closed it (or the wait ran out). */
export interface RawAnswer {
  readonly text: string;
  /** Whether the server closed the connection within the wait. */
  readonly closed: boolean;
  readonly elapsedMs: number;
}

export interface ParsedAnswer {
  readonly status: number;
  readonly headers: Record<string, string>;
  // biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary JSON answers
  readonly body: any;
}

/** The port of an app's "http://127.0.0.1:port" address. */
export function portOf(url: string): number {
  return Number(new URL(url).port);
}

/** A connection to 127.0.0.1:port, open. */
export function openSocket(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => resolve(socket));
    socket.once('error', reject);
  });
}

/** Everything the server sends on `socket` until it closes it, or until `waitMs` have passed. */
export function collect(socket: Socket, waitMs: number): Promise<RawAnswer> {
  const started = Date.now();
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let done = false;
    const finish = (closed: boolean) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve({ text: Buffer.concat(chunks).toString('latin1'), closed, elapsedMs: Date.now() - started });
    };
    const timer = setTimeout(() => finish(false), waitMs);
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.once('close', () => finish(true));
    // A reset after the answer is still a close; the answer read so far is kept.
    socket.on('error', () => {});
  });
}

/** Sends `bytes` as they are (no HTTP client in between) and reads the answer until the server closes. */
export async function rawExchange(port: number, bytes: string | Buffer, waitMs = 5000): Promise<RawAnswer> {
  const socket = await openSocket(port);
  const answer = collect(socket, waitMs);
  socket.write(bytes);
  const result = await answer;
  socket.destroy();
  return result;
}

/** The first HTTP/1.1 response in `text`: status, headers (lower-cased names) and its body, parsed as JSON. */
export function parseAnswer(text: string): ParsedAnswer {
  const end = text.indexOf('\r\n\r\n');
  if (end < 0) throw new Error(`no complete HTTP response in ${JSON.stringify(text)}`);
  const [statusLine, ...lines] = text.slice(0, end).split('\r\n');
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine ?? '')?.[1]);
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  const length = Number(headers['content-length'] ?? text.length - end - 4);
  const raw = Buffer.from(text.slice(end + 4), 'latin1')
    .subarray(0, length)
    .toString('utf8');
  let body: unknown = raw;
  try {
    body = JSON.parse(raw);
  } catch {
    // not JSON: kept as text, and the test says so
  }
  return { status, headers, body };
}
