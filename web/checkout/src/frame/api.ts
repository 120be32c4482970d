// The frame's client of the buyer and checkout endpoints (docs/api/buyers.md, docs/api/checkout.md).
// The frame is served from Micropay's origin, so these are same-origin requests. Each carries the
// merchant's publishable key and, once the buyer signed in, the buyer session header.
import type { CheckoutPayment } from '../shared/protocol.ts';
import type { SessionStore } from './storage.ts';

const BUYER_SESSION_HEADER = 'Micropay-Buyer-Session';
const REQUEST_TIMEOUT_MS = 20_000;

export interface ApiErrorBody {
  type?: string;
  code: string;
  message: string;
  param?: string | null;
  request_id?: string;
}

export class CheckoutApiError extends Error {
  readonly code: string;
  readonly status: number;
  readonly body: unknown;
  constructor(status: number, error: ApiErrorBody, body: unknown) {
    super(error.message);
    this.code = error.code;
    this.status = status;
    this.body = body;
  }
}

export type PaymentMethod =
  | { type: 'wallet'; available: number | string; recommended: boolean }
  | { type: 'card'; id: string; brand: string; last4: string; recommended: boolean };

/** The buyer's loyalty points at this merchant and what they can pay of this payment (docs/api/checkout.md). */
export interface PointsOffer {
  balance: number | string;
  spendable: number | string;
  value_minor_per_point: number | string;
  minimum_points: number | string;
  redeemable_points: number | string;
  redeemable_value: number | string;
}

export interface CheckoutView {
  object: 'checkout';
  payment: CheckoutPayment;
  payee: { name: string };
  buyer: null | {
    id: string;
    display_name: string | null;
    wallet: { available: number | string; currency: string };
    payment_methods: PaymentMethod[];
    /** Null when the merchant's program does not redeem points in this currency. */
    points?: PointsOffer | null;
  };
}

export type NextAction =
  | { type: 'passkey'; reason: string }
  | { type: 'top_up'; minimum: number | string; suggested: number | string }
  | { type: string; [key: string]: unknown };

export interface CheckoutResult {
  object: 'checkout_result';
  status: 'succeeded' | 'requires_action' | 'processing' | 'failed' | 'requires_payment_method' | string;
  payment: CheckoutPayment;
  next_action: NextAction | null;
  message: string | null;
  support?: string | { email?: string; url?: string } | null;
}

/** A browser the buyer signed in on (docs/api/buyers.md). */
export interface Device {
  id: string;
  name: string;
  current: boolean;
  created: number;
  last_seen: number;
  revoked: boolean;
}

export interface SessionAnswer {
  buyer: { id: string; email: string | null; phone: string | null; display_name: string | null };
  session: { token: string; expires_at: number | string | null };
  device: { id: string; name?: string };
}

export interface CodeRequest {
  code_request: string;
  channel: string;
  sent_to: string;
  expires_at: number | string;
}

export interface AuthenticationChallenge {
  challenge: string;
  expires_at: number | string;
  options: Record<string, unknown>;
  spc?: {
    rp_id: string;
    credential_ids: string[];
    payee_name: string;
    payee_origin: string;
    total: { currency: string; value: string };
    instrument: { display_name: string; icon: string };
  } | null;
}

export interface TopUp {
  id: string;
  status: 'succeeded' | 'requires_action' | 'processing' | 'failed' | string;
  amount: number | string;
  currency: string;
  next_action: { type: string; url?: string } | null;
  failure_code: string | null;
  failure_message: string | null;
}

export interface CheckoutApiOptions {
  publishableKey: string;
  paymentId: string;
  clientSecret: string;
  sessions: SessionStore;
}

function randomKey(): string {
  return crypto.randomUUID();
}

export function createCheckoutApi(options: CheckoutApiOptions) {
  const { publishableKey, paymentId, clientSecret, sessions } = options;
  const payment = encodeURIComponent(paymentId);

  async function call<T>(method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown, idempotencyKey?: string): Promise<T> {
    const headers: Record<string, string> = { authorization: `Bearer ${publishableKey}`, accept: 'application/json' };
    const session = sessions.session();
    if (session) headers[BUYER_SESSION_HEADER] = session.token;
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (method === 'POST') headers['idempotency-key'] = idempotencyKey ?? randomKey();
    const response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      credentials: 'omit',
    });
    const text = await response.text();
    let parsed: unknown = null;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      parsed = null;
    }
    if (response.ok) return parsed as T;
    // A declined or blocked checkout may come back with a non-2xx status and the result as its body.
    if (parsed && typeof parsed === 'object' && (parsed as { object?: unknown }).object === 'checkout_result') return parsed as T;
    const error = (parsed as { error?: ApiErrorBody } | null)?.error ?? { code: 'network_error', message: `The request failed (${response.status}).` };
    if (error.code === 'buyer_session_required') sessions.saveSession(null);
    throw new CheckoutApiError(response.status, error, parsed);
  }

  return {
    view: () => call<CheckoutView>('GET', `/v1/checkout/payments/${payment}?client_secret=${encodeURIComponent(clientSecret)}`),
    confirm: (device: Record<string, unknown>, idempotencyKey?: string, pointsToRedeem = 0) =>
      call<CheckoutResult>(
        'POST',
        `/v1/checkout/payments/${payment}/confirm`,
        { client_secret: clientSecret, device, ...(pointsToRedeem > 0 ? { points_to_redeem: pointsToRedeem } : {}) },
        idempotencyKey,
      ),
    authentication: () => call<AuthenticationChallenge>('POST', `/v1/checkout/payments/${payment}/authentication`, { client_secret: clientSecret }),
    authenticateWithPasskey: (challenge: string, credential: unknown) =>
      call<CheckoutResult>('POST', `/v1/checkout/payments/${payment}/authenticate`, { client_secret: clientSecret, challenge, credential }),
    authenticateWithCode: (codeRequest: string, code: string) =>
      call<CheckoutResult>('POST', `/v1/checkout/payments/${payment}/authenticate`, { client_secret: clientSecret, code_request: codeRequest, code }),
    sendPaymentCode: () => call<CodeRequest>('POST', `/v1/checkout/payments/${payment}/codes`, { client_secret: clientSecret }),
    createTopUp: (body: { amount: number | string; card?: Record<string, unknown>; payment_method?: string }, idempotencyKey: string) =>
      call<TopUp>('POST', '/v1/checkout/top_ups', { client_secret: clientSecret, payment: paymentId, ...body }, idempotencyKey),
    confirmTopUp: (topUpId: string) =>
      call<TopUp>('POST', `/v1/checkout/top_ups/${encodeURIComponent(topUpId)}/confirm`, { client_secret: clientSecret, payment: paymentId }),

    registrationOptions: (body: { email?: string; phone?: string; display_name?: string }) =>
      call<{ registration: string; options: Record<string, unknown> }>('POST', '/v1/buyer/passkeys/registration/options', body),
    registrationVerify: (registration: string, credential: unknown) =>
      call<SessionAnswer>('POST', '/v1/buyer/passkeys/registration/verify', { registration, credential }),
    authenticationOptions: () => call<{ authentication: string; options: Record<string, unknown> }>('POST', '/v1/buyer/passkeys/authentication/options', {}),
    // The device name is left to the server, which derives it from the user agent.
    authenticationVerify: (authentication: string, credential: unknown, device: string | null) =>
      call<SessionAnswer>('POST', '/v1/buyer/passkeys/authentication/verify', { authentication, credential, ...(device ? { device } : {}) }),
    sendSignInCode: (address: { email?: string; phone?: string }) => call<CodeRequest>('POST', '/v1/buyer/codes', address),
    verifySignInCode: (codeRequest: string, code: string) => call<SessionAnswer>('POST', '/v1/buyer/codes/verify', { code_request: codeRequest, code }),
    signOut: () => call<unknown>('POST', '/v1/buyer/sign_out', {}),
    devices: () => call<{ data: Device[] }>('GET', '/v1/buyer/devices'),
    revokeDevice: (id: string) => call<Device>('DELETE', `/v1/buyer/devices/${encodeURIComponent(id)}`),
  };
}

export type CheckoutApi = ReturnType<typeof createCheckoutApi>;
