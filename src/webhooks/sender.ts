// One HTTP POST of a webhook: a deadline for the whole attempt, redirects not followed, the answer's
// body read only up to a bound, private targets refused where the policy says so.
import http from 'node:http';
import https from 'node:https';
import { publicOnlyLookup, refusedLiteral } from './targets.ts';

export interface SendRequest {
  url: URL;
  headers: Record<string, string>;
  body: string;
  /** Refuse private, loopback and link-local targets (see targets.ts). */
  publicOnly: boolean;
}

export interface SendResult {
  /** The HTTP status, or null when no answer came. */
  status: number | null;
  /** The start of the answer's body, at most `responseBodyBytesMax` bytes. */
  body: string | null;
  latencyMs: number;
  /** Why no answer came (timeout, refused connection, ...), or null. */
  error: string | null;
}

export interface Sender {
  send(request: SendRequest): Promise<SendResult>;
  close(): void;
}

export interface SenderOptions {
  timeoutMs: number;
  responseBodyBytesMax: number;
  /** Sockets per target host at most. */
  socketsPerHostMax: number;
}

export const USER_AGENT = 'Micropay-Webhooks/1';

function errorText(error: unknown): string {
  const candidate = error as { code?: unknown; message?: unknown } | null;
  const code = typeof candidate?.code === 'string' ? candidate.code : 'request_failed';
  const message = typeof candidate?.message === 'string' ? candidate.message : String(error);
  return `${code}: ${message}`.slice(0, 500);
}

export function createSender(options: SenderOptions): Sender {
  const agentOptions = { keepAlive: true, maxSockets: options.socketsPerHostMax, maxTotalSockets: options.socketsPerHostMax * 16 };
  const agents = {
    open: { http: new http.Agent(agentOptions), https: new https.Agent(agentOptions) },
    publicOnly: {
      http: new http.Agent({ ...agentOptions, lookup: publicOnlyLookup as never }),
      https: new https.Agent({ ...agentOptions, lookup: publicOnlyLookup as never }),
    },
  };

  function send(request: SendRequest): Promise<SendResult> {
    const started = performance.now();
    const elapsed = () => Math.round(performance.now() - started);
    if (request.publicOnly && refusedLiteral(request.url)) {
      return Promise.resolve({ status: null, body: null, latencyMs: 0, error: `private_address_refused: ${request.url.hostname} is a private address` });
    }
    const family = request.publicOnly ? agents.publicOnly : agents.open;
    const secure = request.url.protocol === 'https:';
    return new Promise<SendResult>((resolve) => {
      let settled = false;
      const finish = (result: SendResult) => {
        if (settled) return;
        settled = true;
        clearTimeout(deadline);
        resolve(result);
      };
      const outgoing = (secure ? https : http).request(request.url, {
        method: 'POST',
        agent: secure ? family.https : family.http,
        headers: {
          'content-type': 'application/json',
          'content-length': String(Buffer.byteLength(request.body)),
          'user-agent': USER_AGENT,
          ...request.headers,
        },
      });
      const deadline = setTimeout(() => {
        outgoing.destroy(Object.assign(new Error(`no complete answer within ${options.timeoutMs} ms`), { code: 'timeout' }));
      }, options.timeoutMs);
      outgoing.on('error', (error) => finish({ status: null, body: null, latencyMs: elapsed(), error: errorText(error) }));
      outgoing.on('response', (response) => {
        const chunks: Buffer[] = [];
        let kept = 0;
        const done = () => {
          // Stored as text: NUL, which PostgreSQL cannot store, becomes U+FFFD like any invalid byte.
          const body = Buffer.concat(chunks).toString('utf8').replaceAll('\u0000', '\uFFFD');
          finish({ status: response.statusCode ?? null, body: body.length > 0 ? body : null, latencyMs: elapsed(), error: null });
        };
        response.on('data', (chunk: Buffer) => {
          if (kept >= options.responseBodyBytesMax) return;
          const room = options.responseBodyBytesMax - kept;
          chunks.push(chunk.length > room ? chunk.subarray(0, room) : chunk);
          kept += Math.min(chunk.length, room);
          // Enough is kept: the rest of a large answer is not waited for.
          if (kept >= options.responseBodyBytesMax) {
            done();
            response.destroy();
          }
        });
        response.on('end', done);
        response.on('error', done);
        response.on('aborted', done);
      });
      outgoing.end(request.body);
    });
  }

  return {
    send,
    close() {
      for (const agent of [agents.open.http, agents.open.https, agents.publicOnly.http, agents.publicOnly.https]) agent.destroy();
    },
  };
}
