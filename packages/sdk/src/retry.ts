// A fetch that retries what is safe to retry, a bounded number of times with exponential backoff:
// network failures and timeouts, 503 (overloaded, or our 5xx released the Idempotency-Key), 429, and
// 409 `idempotency_key_in_use` (the first attempt of this very call is still running on the server).
// Every attempt sends the same request, Idempotency-Key included, so a POST whose answer was lost is
// replayed by the server instead of being done twice.

export interface RetryOptions {
  /** Retries after the first attempt; 0 turns retrying off. */
  retriesMax: number;
  /** Wait before the first retry; each later one waits twice as long, up to `delayMsMax`. */
  delayMsFirst: number;
  delayMsMax: number;
  /** Each attempt is abandoned after this long (and retried like a network failure). */
  attemptTimeoutMs: number;
}

export const RETRY_DEFAULTS: RetryOptions = { retriesMax: 2, delayMsFirst: 250, delayMsMax: 4000, attemptTimeoutMs: 30_000 };
/** A bound on what a caller may ask for, so that a mistaken option cannot retry for hours. */
export const RETRIES_MAX_ALLOWED = 10;

export type FetchFunction = (request: Request) => Promise<Response>;

/** The wait before retry number `retry` (0-based): exponential, capped, with jitter so that many
 * clients failed by one incident do not come back in step. A `Retry-After` in seconds wins if larger. */
export function retryDelayMs(options: RetryOptions, retry: number, retryAfterHeader?: string | null): number {
  const exponential = Math.min(options.delayMsMax, options.delayMsFirst * 2 ** retry);
  const jittered = exponential / 2 + Math.random() * (exponential / 2);
  const retryAfterSeconds = retryAfterHeader ? Number(retryAfterHeader) : Number.NaN;
  if (Number.isFinite(retryAfterSeconds) && retryAfterSeconds > 0) {
    return Math.min(options.delayMsMax, Math.max(jittered, retryAfterSeconds * 1000));
  }
  return jittered;
}

async function isRetryable(response: Response): Promise<boolean> {
  if (response.status === 503 || response.status === 429) return true;
  if (response.status !== 409) return false;
  const body = (await response
    .clone()
    .json()
    .catch(() => null)) as { error?: { code?: unknown } } | null;
  return body?.error?.code === 'idempotency_key_in_use';
}

const sleep = (milliseconds: number, signal: AbortSignal | null) =>
  new Promise<void>((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, milliseconds);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });

export function retryingFetch(send: FetchFunction, options: RetryOptions): FetchFunction {
  return async (request) => {
    // The caller's own cancellation stops everything; only our per-attempt timeout is retried.
    const callerSignal = request.signal;
    for (let retry = 0; ; retry += 1) {
      // A timer of our own rather than AbortSignal.timeout(), whose timer does not keep the process
      // alive: a caller awaiting only this call would see the process exit instead of a retry.
      const attemptTimeout = new AbortController();
      const timer = setTimeout(
        () => attemptTimeout.abort(new DOMException(`no answer within ${options.attemptTimeoutMs} ms`, 'TimeoutError')),
        options.attemptTimeoutMs,
      );
      let response: Response | null = null;
      let failure: unknown = null;
      try {
        response = await send(new Request(request.clone(), { signal: AbortSignal.any([callerSignal, attemptTimeout.signal]) }));
      } catch (error) {
        if (callerSignal.aborted) throw error;
        failure = error;
      } finally {
        clearTimeout(timer);
      }
      const again = retry < options.retriesMax && (response === null || (await isRetryable(response)));
      if (!again) {
        if (response) return response;
        throw failure;
      }
      await response?.body?.cancel().catch(() => undefined);
      await sleep(retryDelayMs(options, retry, response?.headers.get('retry-after')), callerSignal);
    }
  };
}
