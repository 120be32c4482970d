// The Micropay client: a thin layer over openapi-fetch typed by the generated `paths`, so every
// endpoint of the OpenAPI document can be called with checked parameters through `request()`, and the
// common ones have resource methods (`customers.create`, `payments.confirm`, ...).
//
// What it adds to plain fetch: the API key, an Idempotency-Key on every POST (one random UUID per
// logical call, the same on each of its retries), bounded retries of what is safe to retry (retry.ts),
// and failures thrown as MicropayError instead of returned. Amounts are numbers: integers in minor
// units of their currency, as the API takes them.
import createClient, { type Client, type ClientPathsWithMethod, type FetchResponse, type MaybeOptionalInit } from 'openapi-fetch';
import { connectionError, errorFromResponse, MicropayError } from './errors.ts';
import { RETRIES_MAX_ALLOWED, RETRY_DEFAULTS, retryingFetch, type FetchFunction, type RetryOptions } from './retry.ts';
import type { components, paths } from './schema.ts';

export const DEFAULT_BASE_URL = 'http://127.0.0.1:3000';

export interface MicropayOptions {
  /** A secret key (`sk_test_...`, `sk_live_...`), a publishable key, or the operator key. */
  apiKey: string;
  /** Where the API is, without the `/v1` (default http://127.0.0.1:3000, a local `micropay start`). */
  baseUrl?: string;
  /** Retries after the first attempt (default 2, at most 10; 0 turns retrying off). */
  maxRetries?: number;
  /** Wait before the first retry (default 250 ms), doubled for each next one up to `retryDelayMsMax` (default 4 s). */
  retryDelayMs?: number;
  retryDelayMsMax?: number;
  /** Each attempt is abandoned (and retried) after this long (default 30 s). */
  timeoutMs?: number;
  /** A fetch to send requests with (default the global fetch). */
  fetch?: FetchFunction;
}

/** Options of one call. */
export interface CallOptions {
  /** Use this Idempotency-Key instead of a new random one (to make a call safe to repeat across restarts). */
  idempotencyKey?: string;
  /** Cancels the call, retries included. */
  signal?: AbortSignal;
}

export type Schemas = components['schemas'];
export type Customer = Schemas['Customer'];
export type Wallet = Schemas['Wallet'];
export type Payment = Schemas['Payment'];
export type TopUp = Schemas['TopUp'];
export type Refund = Schemas['Refund'];
export type ApiList<T> = { object: 'list'; data: T[]; has_more: boolean };

export type HttpMethod = 'get' | 'post' | 'put' | 'patch' | 'delete';
/** The paths of the API that answer `Method`. */
export type PathsWith<Method extends HttpMethod> = ClientPathsWithMethod<Client<paths>, Method>;
type Operation<Path extends keyof paths, Method extends HttpMethod> = paths[Path][Method] & Record<string | number, any>;
type JsonMedia = `${string}/${string}`;
type RequiredKeys<T> = { [K in keyof T]-?: {} extends Pick<T, K> ? never : K }[keyof T];
/** Parameters of a call: `params` (path, query) and `body`, required when the operation requires them. */
type InitArguments<Init> = RequiredKeys<Init> extends never ? [init?: Init & CallOptions] : [init: Init & CallOptions];
/** What a successful call answers. */
export type ResponseOf<Path extends keyof paths, Method extends HttpMethod, Init = {}> = NonNullable<
  FetchResponse<Operation<Path, Method>, Init, JsonMedia>['data']
>;
type BodyOf<Path extends keyof paths, Method extends HttpMethod> = Operation<Path, Method> extends {
  requestBody?: { content: { 'application/json': infer Body } };
}
  ? Body
  : never;
type QueryOf<Path extends keyof paths, Method extends HttpMethod> = NonNullable<Operation<Path, Method>['parameters']['query']>;
/** List filters with `limit` as a number (the API reads it from the query string). */
type ListParams<Query> = Omit<Query, 'limit'> & { limit?: number };

export type CustomerCreateParams = BodyOf<'/v1/customers', 'post'>;
export type CustomerListParams = ListParams<QueryOf<'/v1/customers', 'get'>>;
export type PaymentCreateParams = BodyOf<'/v1/payments', 'post'>;
export type PaymentListParams = ListParams<QueryOf<'/v1/payments', 'get'>>;
export type PaymentCaptureParams = BodyOf<'/v1/payments/{id}/capture', 'post'>;
export type PaymentCancelParams = BodyOf<'/v1/payments/{id}/cancel', 'post'>;
export type TopUpCreateParams = BodyOf<'/v1/top_ups', 'post'>;
export type TopUpListParams = ListParams<QueryOf<'/v1/top_ups', 'get'>>;
export type RefundCreateParams = BodyOf<'/v1/refunds', 'post'>;
export type RefundListParams = ListParams<QueryOf<'/v1/refunds', 'get'>>;

function listQuery<Query extends { limit?: number }>(params: Query | undefined) {
  if (!params) return undefined;
  const { limit, ...rest } = params;
  return { ...rest, ...(limit === undefined ? {} : { limit: String(limit) }) };
}

export class Micropay {
  private readonly client: Client<paths>;

  readonly customers = {
    create: (params: CustomerCreateParams = {}, options?: CallOptions): Promise<Customer> =>
      this.request('post', '/v1/customers', { body: params, ...options }),
    retrieve: (id: string, options?: CallOptions): Promise<Customer> =>
      this.request('get', '/v1/customers/{id}', { params: { path: { id } }, ...options }),
    list: (params?: CustomerListParams, options?: CallOptions): Promise<ApiList<Customer>> =>
      this.request('get', '/v1/customers', { params: { query: listQuery(params) }, ...options }),
    /** The customer's wallet: balance per currency (available, pending, posted). */
    wallet: (id: string, options?: CallOptions): Promise<Wallet> =>
      this.request('get', '/v1/customers/{id}/wallet', { params: { path: { id } }, ...options }),
  };

  readonly payments = {
    /** Creates a payment; with `confirm: true` it is confirmed in the same request. */
    create: (params: PaymentCreateParams, options?: CallOptions): Promise<Payment> =>
      this.request('post', '/v1/payments', { body: params, ...options }),
    retrieve: (id: string, options?: CallOptions): Promise<Payment> =>
      this.request('get', '/v1/payments/{id}', { params: { path: { id } }, ...options }),
    list: (params?: PaymentListParams, options?: CallOptions): Promise<ApiList<Payment>> =>
      this.request('get', '/v1/payments', { params: { query: listQuery(params) }, ...options }),
    confirm: (id: string, options?: CallOptions): Promise<Payment> =>
      this.request('post', '/v1/payments/{id}/confirm', { params: { path: { id } }, body: {}, ...options }),
    /** Captures a held payment (capture_method `manual`), all of it or `amount_to_capture`. */
    capture: (id: string, params: PaymentCaptureParams = {}, options?: CallOptions): Promise<Payment> =>
      this.request('post', '/v1/payments/{id}/capture', { params: { path: { id } }, body: params, ...options }),
    cancel: (id: string, params: PaymentCancelParams = {}, options?: CallOptions): Promise<Payment> =>
      this.request('post', '/v1/payments/{id}/cancel', { params: { path: { id } }, body: params, ...options }),
  };

  readonly topUps = {
    /**
     * Funds a customer's wallet from a card: `card` in clear (tokenised on the way, never stored in
     * clear) or a saved `payment_method`. A decline is a `failed` top-up, not an error.
     */
    create: (params: TopUpCreateParams, options?: CallOptions): Promise<TopUp> =>
      this.request('post', '/v1/top_ups', { body: params, ...options }),
    retrieve: (id: string, options?: CallOptions): Promise<TopUp> =>
      this.request('get', '/v1/top_ups/{id}', { params: { path: { id } }, ...options }),
    list: (params?: TopUpListParams, options?: CallOptions): Promise<ApiList<TopUp>> =>
      this.request('get', '/v1/top_ups', { params: { query: listQuery(params) }, ...options }),
  };

  readonly refunds = {
    /** Refunds a succeeded payment, all that remains refundable or `amount`. */
    create: (params: RefundCreateParams, options?: CallOptions): Promise<Refund> =>
      this.request('post', '/v1/refunds', { body: params, ...options }),
    retrieve: (id: string, options?: CallOptions): Promise<Refund> =>
      this.request('get', '/v1/refunds/{id}', { params: { path: { id } }, ...options }),
    list: (params?: RefundListParams, options?: CallOptions): Promise<ApiList<Refund>> =>
      this.request('get', '/v1/refunds', { params: { query: listQuery(params) }, ...options }),
  };

  constructor(options: MicropayOptions) {
    if (!options.apiKey) throw new TypeError('Micropay: apiKey is required.');
    const retry: RetryOptions = {
      retriesMax: options.maxRetries ?? RETRY_DEFAULTS.retriesMax,
      delayMsFirst: options.retryDelayMs ?? RETRY_DEFAULTS.delayMsFirst,
      delayMsMax: options.retryDelayMsMax ?? RETRY_DEFAULTS.delayMsMax,
      attemptTimeoutMs: options.timeoutMs ?? RETRY_DEFAULTS.attemptTimeoutMs,
    };
    if (!Number.isInteger(retry.retriesMax) || retry.retriesMax < 0 || retry.retriesMax > RETRIES_MAX_ALLOWED) {
      throw new RangeError(`Micropay: maxRetries must be a whole number from 0 to ${RETRIES_MAX_ALLOWED}.`);
    }
    const send: FetchFunction = options.fetch ?? ((request) => globalThis.fetch(request));
    this.client = createClient<paths>({
      baseUrl: (options.baseUrl ?? DEFAULT_BASE_URL).replace(/\/+$/, ''),
      headers: { authorization: `Bearer ${options.apiKey}` },
      fetch: retryingFetch(send, retry),
    });
  }

  /**
   * Calls any endpoint of the API by method and path as the OpenAPI document names them, with typed
   * `params` (`path`, `query`) and `body`; resolves to the response body, throws MicropayError.
   * Endpoints without a resource method yet are reached this way, for example
   * `micropay.request('post', '/v1/refunds', { body: { payment: 'pay_...' } })`.
   */
  async request<Method extends HttpMethod, Path extends PathsWith<Method>>(
    method: Method,
    path: Path,
    ...[init]: InitArguments<MaybeOptionalInit<paths[Path], Method>>
  ): Promise<ResponseOf<Path, Method>> {
    const { idempotencyKey, signal, ...rest } = (init ?? {}) as CallOptions;
    const headers: Record<string, string> = {};
    if (method === 'post') headers['idempotency-key'] = idempotencyKey ?? globalThis.crypto.randomUUID();
    let outcome: { data?: unknown; error?: unknown; response: Response };
    try {
      outcome = await this.client.request(method, path as never, { ...(rest as object), headers, ...(signal ? { signal } : {}) } as never);
    } catch (error) {
      if (error instanceof MicropayError) throw error;
      if (signal?.aborted) throw error;
      throw connectionError(error);
    }
    if (outcome.response.ok) return outcome.data as ResponseOf<Path, Method>;
    throw errorFromResponse(outcome.response.status, outcome.error);
  }
}
