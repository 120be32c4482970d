// A real HTTP receiver for webhook tests: node:http on an ephemeral loopback port, recording every
// request (headers and raw body) and answering with the status the test chooses.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedWebhook {
  headers: Record<string, string>;
  body: string;
  receivedAtMs: number;
}

export interface WebhookReceiver {
  url: string;
  received: ReceivedWebhook[];
  /** How to answer the `index`-th request (0-based): a status, or a status with a body and a delay;
   * 200 unless replaced. */
  respond: (request: ReceivedWebhook, index: number) => number | Answer | Promise<number | Answer>;
  /** Resolves once `count` requests have arrived, or rejects after `timeoutMs`. */
  waitFor(count: number, timeoutMs?: number): Promise<ReceivedWebhook[]>;
  close(): Promise<void>;
}

export interface Answer {
  status: number;
  body?: string;
  delayMs?: number;
}

const BODY_BYTES_MAX = 1024 * 1024;

export async function startWebhookReceiver(respond?: WebhookReceiver['respond']): Promise<WebhookReceiver> {
  const received: ReceivedWebhook[] = [];
  const waiters = new Set<() => void>();
  const receiver: WebhookReceiver = {
    url: '',
    received,
    respond: respond ?? (() => 200),
    waitFor(count, timeoutMs = 5000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (received.length < count) return false;
          waiters.delete(check);
          clearTimeout(timer);
          resolve(received.slice());
          return true;
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`the receiver got ${received.length} requests, not ${count}, within ${timeoutMs} ms`));
        }, timeoutMs);
        if (!check()) waiters.add(check);
      });
    },
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= BODY_BYTES_MAX) chunks.push(chunk);
    });
    request.on('end', async () => {
      const headers: Record<string, string> = {};
      for (const [name, value] of Object.entries(request.headers)) if (typeof value === 'string') headers[name] = value;
      const webhook = { headers, body: Buffer.concat(chunks).toString('utf8'), receivedAtMs: Date.now() };
      const index = received.length;
      received.push(webhook);
      for (const waiter of [...waiters]) waiter();
      const chosen = await receiver.respond(webhook, index);
      const answer = typeof chosen === 'number' ? { status: chosen } : chosen;
      if (answer.delayMs) await new Promise((resolve) => setTimeout(resolve, answer.delayMs));
      if (response.destroyed) return;
      const body = answer.body ?? (answer.status >= 200 && answer.status < 300 ? 'ok' : `failing on purpose (${answer.status})`);
      response.writeHead(answer.status, { 'content-type': 'text/plain' }).end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/webhooks`;
  return receiver;
}

/** Polls `probe` until it returns a value other than undefined, or fails after `timeoutMs`. */
export async function eventually<T>(probe: () => Promise<T | undefined>, timeoutMs = 5000, what = 'condition'): Promise<Exclude<T, undefined>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value as Exclude<T, undefined>;
    if (Date.now() > deadline) throw new Error(`${what} not reached within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
