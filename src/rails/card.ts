// The card connector: talks to a card processor over HTTP (the sandbox in card-sandbox.ts, or the real
// acquirer at CARD_PROCESSOR_URL) with a timeout on every call and a bounded number of backed-off
// retries. Authorizations carry our top-up id as their Idempotency-Key and reference, so a retry after
// a timeout can never charge a card twice. Connectors never touch the ledger: they report what the
// processor decided, and the top-up service moves money.
//
// Test mode always uses the in-process sandbox, whatever the configuration, so a test key can never
// reach a real processor; live mode uses CARD_PROCESSOR_URL, and nothing else: without it live card
// processing is unavailable in every mode (never the sandbox, which would credit live wallets with no
// real money behind them).
import { startCardSandbox, type CardSandbox } from './card-sandbox.ts';

export const CARD_RETRY_BACKOFF_MS = 100;
const SANDBOX_API_KEY = 'sandbox';

export interface CardProcessorOptions {
  baseUrl: string;
  apiKey: string;
  /** Per attempt. */
  timeoutMs: number;
  /** Attempts after the first, for timeouts, network errors and 5xx/429 answers. */
  retriesMax: number;
  /** Wait before the first retry; doubled for each next one. */
  retryBackoffMs?: number;
}

export interface AuthorizationRequest {
  /** Our top-up id: the processor's reference and Idempotency-Key. */
  reference: string;
  amount: bigint;
  currency: string;
  card: { number: string; expMonth: number; expYear: number; cvc: string | null };
  /** `required` asks for a 3-D Secure challenge whatever the card (risk asked for one). */
  threeDSecure: 'automatic' | 'required';
}

export type ProcessorOutcome =
  | { status: 'authorized'; authorizationId: string }
  | { status: 'declined'; authorizationId: string; declineCode: string; declineMessage: string }
  | { status: 'requires_challenge'; authorizationId: string; challengeUrl: string; transactionId: string };

export type ProcessorUnavailable = { ok: false; reason: 'unavailable'; message: string };
export type ProcessorAnswer = { ok: true; outcome: ProcessorOutcome } | ProcessorUnavailable;

export interface CardProcessor {
  authorize(request: AuthorizationRequest): Promise<ProcessorAnswer>;
  /** Finishes an authorization whose 3-D Secure challenge the buyer completed (or still answers the challenge). */
  confirm(authorizationId: string): Promise<ProcessorAnswer>;
  /** What the processor holds for a reference, newest last; for reconciling a top-up whose answer was lost. */
  findByReference(reference: string): Promise<{ ok: true; outcomes: ProcessorOutcome[] } | ProcessorUnavailable>;
}

/** The processor refused a request as malformed or conflicting: a bug or a configuration error of ours. */
export class CardProcessorError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
  ) {
    super(`the card processor refused the request: ${status} ${code}`);
    this.name = 'CardProcessorError';
  }
}

interface AuthorizationJson {
  id: string;
  status: ProcessorOutcome['status'];
  decline_code: string | null;
  decline_message: string | null;
  three_d_secure: { transaction_id: string; challenge_url: string } | null;
}

function outcomeOf(body: AuthorizationJson): ProcessorOutcome {
  switch (body.status) {
    case 'authorized':
      return { status: 'authorized', authorizationId: body.id };
    case 'declined':
      return { status: 'declined', authorizationId: body.id, declineCode: body.decline_code ?? 'card_declined', declineMessage: body.decline_message ?? 'The card was declined.' };
    case 'requires_challenge':
      if (!body.three_d_secure) throw new Error('the processor asked for a challenge without a challenge URL');
      return { status: 'requires_challenge', authorizationId: body.id, challengeUrl: body.three_d_secure.challenge_url, transactionId: body.three_d_secure.transaction_id };
    default:
      throw new Error(`the processor answered an unknown authorization status: ${String((body as { status: unknown }).status)}`);
  }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export function createCardProcessor(options: CardProcessorOptions): CardProcessor {
  const backoffMs = options.retryBackoffMs ?? CARD_RETRY_BACKOFF_MS;

  /** One call with retries: an answer below 500 (other than 429) is final; the rest are retried. */
  async function send(method: 'GET' | 'POST', path: string, body?: unknown, idempotencyKey?: string): Promise<{ ok: true; status: number; json: unknown } | ProcessorUnavailable> {
    let problem = 'no attempt made';
    for (let attempt = 0; attempt <= options.retriesMax; attempt += 1) {
      if (attempt > 0) await sleep(backoffMs * 2 ** (attempt - 1));
      try {
        const response = await fetch(`${options.baseUrl}${path}`, {
          method,
          headers: {
            authorization: `Bearer ${options.apiKey}`,
            accept: 'application/json',
            ...(body === undefined ? {} : { 'content-type': 'application/json' }),
            ...(idempotencyKey === undefined ? {} : { 'idempotency-key': idempotencyKey }),
          },
          body: body === undefined ? undefined : JSON.stringify(body),
          signal: AbortSignal.timeout(options.timeoutMs),
        });
        const json: unknown = await response.json().catch(() => null);
        if (response.status >= 500 || response.status === 429) {
          problem = `the processor answered ${response.status}`;
          continue;
        }
        return { ok: true, status: response.status, json };
      } catch (error) {
        // Timeouts and network errors; their messages carry no request data.
        problem = (error as Error).name === 'TimeoutError' ? `no answer within ${options.timeoutMs} ms` : `network error: ${(error as Error).message}`;
      }
    }
    return { ok: false, reason: 'unavailable', message: `The card processor is unavailable (${problem}, after ${options.retriesMax + 1} attempts).` };
  }

  function final(answer: { status: number; json: unknown }): AuthorizationJson {
    if (answer.status >= 200 && answer.status < 300) return answer.json as AuthorizationJson;
    const code = (answer.json as { error?: { code?: string } } | null)?.error?.code ?? 'unknown';
    throw new CardProcessorError(answer.status, code);
  }

  return {
    async authorize(request) {
      const answer = await send(
        'POST',
        '/v1/authorizations',
        {
          amount: Number(request.amount),
          currency: request.currency,
          reference: request.reference,
          capture: true,
          card: {
            number: request.card.number,
            exp_month: request.card.expMonth,
            exp_year: request.card.expYear,
            ...(request.card.cvc === null ? {} : { cvc: request.card.cvc }),
          },
          three_d_secure: { mode: request.threeDSecure },
        },
        request.reference,
      );
      if (!answer.ok) return answer;
      return { ok: true, outcome: outcomeOf(final(answer)) };
    },

    async confirm(authorizationId) {
      const answer = await send('POST', `/v1/authorizations/${encodeURIComponent(authorizationId)}/confirm`, {});
      if (!answer.ok) return answer;
      return { ok: true, outcome: outcomeOf(final(answer)) };
    },

    async findByReference(reference) {
      const answer = await send('GET', `/v1/authorizations?reference=${encodeURIComponent(reference)}`);
      if (!answer.ok) return answer;
      if (answer.status !== 200) throw new CardProcessorError(answer.status, 'lookup_refused');
      return { ok: true, outcomes: (answer.json as { data: AuthorizationJson[] }).data.map(outcomeOf) };
    },
  };
}

export const LIVE_PROCESSOR_MISSING = 'No card processor is configured for live mode (CARD_PROCESSOR_URL); live card top-ups are unavailable.';

/** Live mode's processor when CARD_PROCESSOR_URL is unset: it never charges, and never credits. */
const UNCONFIGURED_LIVE_PROCESSOR: CardProcessor = {
  authorize: async () => ({ ok: false, reason: 'unavailable', message: LIVE_PROCESSOR_MISSING }),
  confirm: async () => ({ ok: false, reason: 'unavailable', message: LIVE_PROCESSOR_MISSING }),
  findByReference: async () => ({ ok: false, reason: 'unavailable', message: LIVE_PROCESSOR_MISSING }),
};

export interface CardRailsConfig {
  mode: 'development' | 'production';
  cardProcessor: { url: string | undefined; apiKey: string | undefined; sandboxUrl: string | undefined; timeoutMs: number; retriesMax: number };
}

export interface CardRails {
  /** Whether cards of this mode have a processor: test mode always (the sandbox), live mode only with
   * CARD_PROCESSOR_URL. */
  available(livemode: boolean): boolean;
  /** The processor of this mode; live mode without CARD_PROCESSOR_URL gets one that answers every call
   * as unavailable (callers check `available` first). */
  processorFor(livemode: boolean): CardProcessor;
  /** The sandbox this process started (none when CARD_SANDBOX_URL names a shared one). */
  readonly sandbox: CardSandbox | null;
  close(): Promise<void>;
}

/** The processors by mode. Several processes serving one installation share a sandbox through
 * CARD_SANDBOX_URL, since an authorization lives in the sandbox that made it (its 3-D Secure challenge
 * is confirmed there). */
export async function openCardRails(config: CardRailsConfig, options: { retryBackoffMs?: number } = {}): Promise<CardRails> {
  const { url, apiKey, sandboxUrl, timeoutMs, retriesMax } = config.cardProcessor;
  if (config.mode === 'production' && (url === undefined || apiKey === undefined)) {
    throw new Error('CARD_PROCESSOR_URL and CARD_PROCESSOR_API_KEY are required in production mode');
  }
  const sandbox = sandboxUrl === undefined ? await startCardSandbox() : null;
  const common = { timeoutMs, retriesMax, retryBackoffMs: options.retryBackoffMs };
  const test = createCardProcessor({ baseUrl: sandboxUrl ?? sandbox!.url, apiKey: SANDBOX_API_KEY, ...common });
  const live = url === undefined ? null : createCardProcessor({ baseUrl: url, apiKey: apiKey ?? SANDBOX_API_KEY, ...common });
  return {
    available: (livemode) => !livemode || live !== null,
    processorFor: (livemode) => (livemode ? (live ?? UNCONFIGURED_LIVE_PROCESSOR) : test),
    sandbox,
    close: async () => sandbox?.close(),
  };
}
