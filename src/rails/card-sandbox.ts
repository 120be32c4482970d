// SANDBOX card processor: a real HTTP server that behaves like a card acquirer's API, for development
// and tests. It never moves real money and keeps its state in memory. Test card numbers choose the
// outcome, like Stripe's (docs/api/top-ups.md lists them):
//
//   POST /v1/authorizations                 authorise (and capture) an amount on a card; Idempotency-Key
//                                           required: a repeat replays the first answer, a repeat with
//                                           other parameters is refused with 409
//   GET  /v1/authorizations/:id             one authorization
//   GET  /v1/authorizations?reference=...   authorizations of a merchant reference (for reconciliation)
//   POST /v1/authorizations/:id/confirm     finish an authorization after its 3-D Secure challenge
//   GET  /sandbox/3ds/:transaction_id       the challenge page the buyer is sent to
//   POST /sandbox/3ds/:transaction_id       complete it: `outcome=pass` or `outcome=fail`
//
// Card data it receives is used to decide and then dropped: it keeps only brand and last four digits,
// and compares repeated requests by a keyed digest, never the number.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createHmac, randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { pathToFileURL } from 'node:url';
import { randomBase62 } from '../api/ids.ts';
import { brandOf, luhnValid } from '../vault/card.ts';

export const SANDBOX_BODY_BYTES_MAX = 16 * 1024;
export const SANDBOX_AUTHORIZATIONS_MAX = 100_000;

type Scenario =
  | { kind: 'approve' }
  | { kind: 'decline'; code: DeclineCode }
  | { kind: 'challenge'; authenticationFails: boolean };

export type DeclineCode =
  | 'card_declined'
  | 'insufficient_funds'
  | 'expired_card'
  | 'incorrect_cvc'
  | 'processing_error'
  | 'invalid_number'
  | 'authentication_failed';

export const DECLINE_MESSAGES: Record<DeclineCode, string> = {
  card_declined: 'The card was declined by its issuer.',
  insufficient_funds: 'The card has insufficient funds.',
  expired_card: 'The card has expired.',
  incorrect_cvc: 'The security code is incorrect.',
  processing_error: 'The card could not be processed; try again.',
  invalid_number: 'The card number is not valid.',
  authentication_failed: 'The 3-D Secure authentication failed.',
};

/** The sandbox's test cards; any other valid number is approved. */
export const SANDBOX_TEST_CARDS: Record<string, Scenario> = {
  '4242424242424242': { kind: 'approve' },
  '5555555555554444': { kind: 'approve' },
  '378282246310005': { kind: 'approve' },
  '4000000000000002': { kind: 'decline', code: 'card_declined' },
  '4000000000009995': { kind: 'decline', code: 'insufficient_funds' },
  '4000000000000069': { kind: 'decline', code: 'expired_card' },
  '4000000000000127': { kind: 'decline', code: 'incorrect_cvc' },
  '4000000000000119': { kind: 'decline', code: 'processing_error' },
  '4000000000003220': { kind: 'challenge', authenticationFails: false },
  '4000008400001629': { kind: 'challenge', authenticationFails: true },
};

type AuthorizationStatus = 'authorized' | 'declined' | 'requires_challenge';

interface Authorization {
  id: string;
  reference: string;
  amount: number;
  currency: string;
  status: AuthorizationStatus;
  declineCode: DeclineCode | null;
  brand: string;
  last4: string;
  expMonth: number;
  expYear: number;
  challenge: { transactionId: string; status: 'pending' | 'passed' | 'failed'; authenticationFails: boolean } | null;
  created: number;
}

export interface SandboxFault {
  /** How many API requests (challenge pages excepted) the fault applies to. */
  count: number;
  /** `unavailable` answers 503 without acting; `delay` acts after `delayMs` (a slow processor). */
  kind: 'unavailable' | 'delay';
  delayMs?: number;
}

export interface CardSandbox {
  readonly url: string;
  /** For tests: makes the next requests fail or slow down, as a real processor sometimes does. */
  injectFault(fault: SandboxFault): void;
  /** Authorizations made so far (each Idempotency-Key counts once). */
  authorizationCount(): number;
  close(): Promise<void>;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export interface CardSandboxOptions {
  host?: string;
  /** 0 (the default) picks a free port. */
  port?: number;
  authorizationsMax?: number;
  /** Run on its own: the server keeps the process alive (otherwise it never does by itself). */
  standalone?: boolean;
}

export async function startCardSandbox(options: CardSandboxOptions = {}): Promise<CardSandbox> {
  const authorizationsMax = options.authorizationsMax ?? SANDBOX_AUTHORIZATIONS_MAX;
  const authorizations = new Map<string, Authorization>();
  const byKey = new Map<string, { digest: string; authorizationId: string }>();
  const byChallenge = new Map<string, string>();
  const digestKey = randomBytes(32);
  const faults: SandboxFault[] = [];
  const timers = new Set<NodeJS.Timeout>();
  let baseUrl = '';

  function remember(authorization: Authorization, key: string, digest: string): void {
    // Oldest first out, so memory stays bounded however long a development server runs.
    while (authorizations.size >= authorizationsMax) {
      const oldest = authorizations.values().next().value as Authorization;
      authorizations.delete(oldest.id);
      if (oldest.challenge) byChallenge.delete(oldest.challenge.transactionId);
    }
    while (byKey.size >= authorizationsMax) byKey.delete(byKey.keys().next().value as string);
    authorizations.set(authorization.id, authorization);
    byKey.set(key, { digest, authorizationId: authorization.id });
    if (authorization.challenge) byChallenge.set(authorization.challenge.transactionId, authorization.id);
  }

  function json(authorization: Authorization) {
    const challenge = authorization.challenge;
    return {
      id: authorization.id,
      object: 'authorization',
      status: authorization.status,
      amount: authorization.amount,
      currency: authorization.currency,
      reference: authorization.reference,
      captured: authorization.status === 'authorized',
      card: { brand: authorization.brand, last4: authorization.last4, exp_month: authorization.expMonth, exp_year: authorization.expYear },
      decline_code: authorization.declineCode,
      decline_message: authorization.declineCode ? DECLINE_MESSAGES[authorization.declineCode] : null,
      three_d_secure: challenge
        ? { transaction_id: challenge.transactionId, status: challenge.status, challenge_url: `${baseUrl}/sandbox/3ds/${challenge.transactionId}` }
        : null,
      created: authorization.created,
    };
  }

  function authorize(body: Record<string, unknown>, key: string): { status: number; body: unknown; replayed: boolean } {
    const input = parseAuthorization(body);
    const digest = createHmac('sha256', digestKey)
      .update([input.amount, input.currency, input.reference, input.number, input.expMonth, input.expYear].join('\n'))
      .digest('base64url');
    const seen = byKey.get(key);
    if (seen) {
      if (seen.digest !== digest) throw new HttpError(409, 'idempotency_conflict', 'This Idempotency-Key was used with other parameters.');
      const first = authorizations.get(seen.authorizationId);
      if (first) return { status: 200, body: json(first), replayed: true };
    }
    const now = new Date();
    const expired = input.expYear < now.getUTCFullYear() || (input.expYear === now.getUTCFullYear() && input.expMonth < now.getUTCMonth() + 1);
    let scenario: Scenario = SANDBOX_TEST_CARDS[input.number] ?? { kind: 'approve' };
    if (!luhnValid(input.number) || input.number.length < 12 || input.number.length > 19) scenario = { kind: 'decline', code: 'invalid_number' };
    else if (expired) scenario = { kind: 'decline', code: 'expired_card' };
    else if (scenario.kind === 'approve' && input.threeDSecure === 'required') scenario = { kind: 'challenge', authenticationFails: false };
    const authorization: Authorization = {
      id: `auth_${randomBase62(12)}`,
      reference: input.reference,
      amount: input.amount,
      currency: input.currency,
      status: scenario.kind === 'approve' ? 'authorized' : scenario.kind === 'decline' ? 'declined' : 'requires_challenge',
      declineCode: scenario.kind === 'decline' ? scenario.code : null,
      brand: brandOf(input.number),
      last4: input.number.slice(-4),
      expMonth: input.expMonth,
      expYear: input.expYear,
      challenge:
        scenario.kind === 'challenge'
          ? { transactionId: `tds_${randomBase62(12)}`, status: 'pending', authenticationFails: scenario.authenticationFails }
          : null,
      created: Math.floor(now.getTime() / 1000),
    };
    remember(authorization, key, digest);
    return { status: 201, body: json(authorization), replayed: false };
  }

  function confirm(id: string): unknown {
    const authorization = authorizations.get(id);
    if (!authorization) throw new HttpError(404, 'resource_missing', 'No such authorization.');
    const challenge = authorization.challenge;
    if (authorization.status === 'requires_challenge' && challenge && challenge.status !== 'pending') {
      authorization.status = challenge.status === 'passed' ? 'authorized' : 'declined';
      authorization.declineCode = challenge.status === 'passed' ? null : 'authentication_failed';
    }
    return json(authorization);
  }

  function completeChallenge(transactionId: string, outcome: string): Authorization {
    const authorization = authorizations.get(byChallenge.get(transactionId) ?? '');
    if (!authorization?.challenge) throw new HttpError(404, 'resource_missing', 'No such 3-D Secure transaction.');
    if (outcome !== 'pass' && outcome !== 'fail') throw new HttpError(400, 'invalid_request', 'outcome must be pass or fail.');
    const challenge = authorization.challenge;
    // The issuer of a card whose authentication always fails refuses even a correct answer.
    if (challenge.status === 'pending') challenge.status = outcome === 'pass' && !challenge.authenticationFails ? 'passed' : 'failed';
    return authorization;
  }

  async function route(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://sandbox');
    const method = request.method ?? 'GET';
    const challengeMatch = /^\/sandbox\/3ds\/(tds_[0-9A-Za-z]+)$/.exec(url.pathname);
    if (challengeMatch) {
      const transactionId = challengeMatch[1]!;
      if (method === 'GET') {
        if (!byChallenge.has(transactionId)) throw new HttpError(404, 'resource_missing', 'No such 3-D Secure transaction.');
        return sendHtml(response, 200, challengePage(transactionId));
      }
      if (method === 'POST') {
        const form = await readForm(request);
        const authorization = completeChallenge(transactionId, String(form.outcome ?? ''));
        const status = authorization.challenge!.status;
        if ((request.headers.accept ?? '').includes('application/json') || (request.headers['content-type'] ?? '').includes('json')) {
          return sendJson(response, 200, { transaction_id: transactionId, status });
        }
        return sendHtml(response, 200, `<!doctype html><title>3-D Secure</title><p>Authentication ${status}. You can close this page.</p>`);
      }
      throw new HttpError(405, 'method_not_allowed', 'Use GET or POST.');
    }
    if (!url.pathname.startsWith('/v1/')) throw new HttpError(404, 'route_not_found', 'No such endpoint.');
    if (!/^Bearer \S+$/.test(request.headers.authorization ?? '')) throw new HttpError(401, 'unauthorized', 'Send the processor API key as a bearer token.');
    // The request is read whole before any injected delay, as a slow processor has it even when the
    // caller stops waiting: the authorization is still made, and only the answer is lost.
    const body = method === 'POST' ? await readJson(request) : {};
    const fault = faults[0];
    if (fault) {
      fault.count -= 1;
      if (fault.count <= 0) faults.shift();
      if (fault.kind === 'unavailable') throw new HttpError(503, 'service_unavailable', 'The sandbox processor is unavailable (injected fault).');
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          timers.delete(timer);
          resolve();
        }, fault.delayMs ?? 0);
        timers.add(timer);
      });
    }
    const one = /^\/v1\/authorizations\/(auth_[0-9A-Za-z]+)(\/confirm)?$/.exec(url.pathname);
    if (url.pathname === '/v1/authorizations' && method === 'POST') {
      const key = request.headers['idempotency-key'];
      if (typeof key !== 'string' || key.length === 0 || key.length > 255) throw new HttpError(400, 'invalid_request', 'An Idempotency-Key header is required.');
      const result = authorize(body, key);
      if (result.replayed) response.setHeader('idempotent-replayed', 'true');
      return sendJson(response, result.status, result.body);
    }
    if (url.pathname === '/v1/authorizations' && method === 'GET') {
      const reference = url.searchParams.get('reference');
      if (!reference) throw new HttpError(400, 'invalid_request', 'reference is required.');
      const data = [...authorizations.values()].filter((authorization) => authorization.reference === reference).map(json);
      return sendJson(response, 200, { object: 'list', data });
    }
    if (one && method === 'GET' && !one[2]) {
      const authorization = authorizations.get(one[1]!);
      if (!authorization) throw new HttpError(404, 'resource_missing', 'No such authorization.');
      return sendJson(response, 200, json(authorization));
    }
    if (one && method === 'POST' && one[2]) {
      return sendJson(response, 200, confirm(one[1]!));
    }
    throw new HttpError(404, 'route_not_found', 'No such endpoint.');
  }

  const server: Server = createServer((request, response) => {
    route(request, response).catch((error: unknown) => {
      const known = error instanceof HttpError ? error : new HttpError(500, 'internal_error', 'The sandbox failed.');
      if (!response.headersSent) sendJson(response, known.status, { error: { code: known.code, message: known.message } });
    });
  });
  server.keepAliveTimeout = 5_000;
  // Inside Micropay the sandbox never keeps a process alive by itself; whoever started it closes it.
  if (!options.standalone) server.unref();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const address = server.address() as AddressInfo;
  baseUrl = `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`;

  return {
    url: baseUrl,
    injectFault(fault) {
      if (fault.count > 0) faults.push({ ...fault });
    },
    authorizationCount: () => byKey.size,
    async close() {
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

interface AuthorizationInput {
  amount: number;
  currency: string;
  reference: string;
  number: string;
  expMonth: number;
  expYear: number;
  threeDSecure: 'automatic' | 'required';
}

function parseAuthorization(body: Record<string, unknown>): AuthorizationInput {
  const card = (body.card ?? {}) as Record<string, unknown>;
  const threeDSecure = ((body.three_d_secure ?? {}) as Record<string, unknown>).mode ?? 'automatic';
  const invalid = (field: string) => new HttpError(400, 'invalid_request', `${field} is missing or invalid.`);
  if (!Number.isSafeInteger(body.amount) || (body.amount as number) <= 0) throw invalid('amount');
  if (typeof body.currency !== 'string' || !/^[A-Z]{3}$/.test(body.currency)) throw invalid('currency');
  if (typeof body.reference !== 'string' || body.reference.length === 0 || body.reference.length > 64) throw invalid('reference');
  if (typeof card.number !== 'string' || !/^[0-9]{1,19}$/.test(card.number)) throw invalid('card.number');
  if (!Number.isInteger(card.exp_month) || (card.exp_month as number) < 1 || (card.exp_month as number) > 12) throw invalid('card.exp_month');
  if (!Number.isInteger(card.exp_year) || (card.exp_year as number) < 2000 || (card.exp_year as number) > 2199) throw invalid('card.exp_year');
  if (card.cvc !== undefined && (typeof card.cvc !== 'string' || !/^[0-9]{3,4}$/.test(card.cvc))) throw invalid('card.cvc');
  if (threeDSecure !== 'automatic' && threeDSecure !== 'required') throw invalid('three_d_secure.mode');
  return {
    amount: body.amount as number,
    currency: body.currency,
    reference: body.reference,
    number: card.number,
    expMonth: card.exp_month as number,
    expYear: card.exp_year as number,
    threeDSecure,
  };
}

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > SANDBOX_BODY_BYTES_MAX) throw new HttpError(413, 'body_too_large', 'The request body is too large.');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

async function readJson(request: IncomingMessage): Promise<Record<string, unknown>> {
  const text = await readBody(request);
  if (text.length === 0) return {};
  try {
    const value: unknown = JSON.parse(text);
    if (value && typeof value === 'object' && !Array.isArray(value)) return value as Record<string, unknown>;
  } catch {
    // Answered below as an invalid request.
  }
  throw new HttpError(400, 'invalid_request', 'The body must be a JSON object.');
}

async function readForm(request: IncomingMessage): Promise<Record<string, unknown>> {
  if ((request.headers['content-type'] ?? '').includes('json')) return readJson(request);
  return Object.fromEntries(new URLSearchParams(await readBody(request)));
}

function sendJson(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  response.end(JSON.stringify(body));
}

/** The challenge pages run no script, load nothing and post only to themselves; they open in a window
 * of their own, never in a frame. */
const CHALLENGE_CSP = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

function sendHtml(response: ServerResponse, status: number, html: string): void {
  response.writeHead(status, {
    'content-type': 'text/html; charset=utf-8',
    'cache-control': 'no-store',
    'content-security-policy': CHALLENGE_CSP,
    'x-content-type-options': 'nosniff',
  });
  response.end(html);
}

function challengePage(transactionId: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>3-D Secure (sandbox)</title></head>
<body style="font-family: sans-serif; max-width: 28rem; margin: 3rem auto">
<h1>3-D Secure test page</h1>
<p>This is the Micropay sandbox card processor. A real issuer would ask the cardholder to confirm the
payment here. Transaction <code>${transactionId}</code>.</p>
<form method="post"><button name="outcome" value="pass">Complete authentication</button>
<button name="outcome" value="fail">Fail authentication</button></form>
</body></html>`;
}

// Run on its own (`node --import tsx src/rails/card-sandbox.ts [port] [host]`) to share one sandbox
// between several Micropay processes through CARD_SANDBOX_URL.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const sandbox = await startCardSandbox({ port: Number(process.argv[2] ?? 0), host: process.argv[3] ?? '127.0.0.1', standalone: true });
  process.stdout.write(`sandbox card processor listening at ${sandbox.url}\n`);
}
