// The buyer API as the wallet calls it: the installation's wallet publishable key (it sets the mode)
// and the buyer's session, kept in the same storage slots as the checkout frame's (same origin), so a
// buyer who signed in at a checkout is signed in here too.
import { createSessionStore, modeOf } from '../../checkout/src/frame/storage.ts';

const BUYER_SESSION_HEADER = 'micropay-buyer-session';
const REQUEST_TIMEOUT_MS = 20_000;

export interface ApiErrorBody {
  code: string;
  message: string;
  param?: string;
}

export class WalletApiError extends Error {
  constructor(
    readonly status: number,
    readonly error: ApiErrorBody,
  ) {
    super(error.message);
  }
}

export interface Buyer {
  id: string;
  email: string | null;
  phone: string | null;
  display_name: string | null;
  passkeys: number;
}
export interface Balance {
  currency: string;
  available: number;
  pending: number;
  posted: number;
}
export interface HistoryEntry {
  id: string;
  type: 'payment' | 'top_up' | 'refund';
  merchant: { id: string; name: string } | null;
  description: string | null;
  amount: number;
  currency: string;
  status: string;
  categories: string[];
  created: number;
  refunded_amount: number;
}
import type { Device } from '../../checkout/src/frame/api.ts';

export type { Device };
export interface Passkey {
  id: string;
  device_type: string;
  backed_up: boolean;
  created: number;
  last_used: number | null;
}
export interface Refund {
  id: string;
  amount: number;
  currency: string;
  status: string;
  automatic: boolean;
  pending_reason: string | null;
}
export interface TicketMessage {
  id: string;
  author: 'buyer' | 'merchant';
  body: string;
  created: number;
}
export interface Ticket {
  id: string;
  merchant: string;
  payment: string;
  subject: string;
  status: 'open' | 'answered' | 'closed';
  message_count: number;
  created: number;
  updated: number;
  closed_at: number | null;
  messages?: TicketMessage[];
}
export interface Dispute {
  id: string;
  amount: number;
  currency: string;
  status: string;
  reason: string;
}
export interface TopUp {
  id: string;
  status: 'succeeded' | 'requires_action' | 'processing' | 'failed';
  amount: number;
  currency: string;
  next_action: { type: string; url?: string } | null;
  failure_code: string | null;
  failure_message: string | null;
}
export interface SpendingDay {
  date: string;
  currency: string;
  spent: number;
  refunded: number;
}
export interface PointsBalance {
  balance: number;
  upcoming_expiries: Array<{ points: number; expires_at: number }>;
}
export interface MerchantPoints {
  merchant: { id: string; name: string };
  points: PointsBalance;
}
export interface Badge {
  id: string;
  code: string;
  name: string;
  description: string;
  merchant: { id: string; name: string } | null;
  earned_at: number;
  revoked_at: number | null;
}
export interface CodeRequest {
  code_request: string;
  channel: 'email' | 'sms';
  sent_to: string;
  expires_at: number;
}
export interface SavedCard {
  id: string;
  card: { brand: string; last4: string; exp_month: number; exp_year: number };
}
export interface CardBody {
  number: string;
  exp_month: number;
  exp_year: number;
  cvc: string;
}
export interface ReceiptLinks {
  url: string;
  json_url: string;
  pdf_url: string;
}
interface List<T> {
  data: T[];
  has_more: boolean;
}
export interface HistoryFilters {
  merchant?: string;
  category?: string;
  type?: string;
  status?: string;
  q?: string;
  from?: string;
  to?: string;
}

/** The publishable key the server wrote into the page (docs/wallet.md). */
export function pageKey(): string {
  return document.querySelector<HTMLMetaElement>('meta[name="micropay-publishable-key"]')?.content.trim() ?? '';
}

/** The history filters as query parameters (dates are whole days in the browser's time zone). */
export function historyQuery(filters: HistoryFilters): URLSearchParams {
  const query = new URLSearchParams();
  if (filters.merchant) query.set('merchant', filters.merchant);
  if (filters.category) query.set('category', filters.category);
  if (filters.type) query.set('type', filters.type);
  if (filters.status) query.set('status', filters.status);
  if (filters.q?.trim()) query.set('q', filters.q.trim());
  if (filters.from) query.set('created[gte]', String(Math.floor(new Date(`${filters.from}T00:00:00`).getTime() / 1000)));
  if (filters.to) query.set('created[lte]', String(Math.floor(new Date(`${filters.to}T23:59:59`).getTime() / 1000)));
  return query;
}

export function createWalletApi(publishableKey: string) {
  const sessions = createSessionStore(modeOf(publishableKey));

  async function send(method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown, idempotencyKey?: string): Promise<Response> {
    const headers: Record<string, string> = { authorization: `Bearer ${publishableKey}` };
    const session = sessions.session();
    if (session) headers[BUYER_SESSION_HEADER] = session.token;
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (method === 'POST') headers['idempotency-key'] = idempotencyKey ?? crypto.randomUUID();
    const response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      credentials: 'omit',
    });
    if (response.ok) return response;
    let error: ApiErrorBody = { code: 'network_error', message: `The request failed (${response.status}).` };
    try {
      error = ((await response.json()) as { error?: ApiErrorBody }).error ?? error;
    } catch {
      // Not JSON: keep the generic message.
    }
    if (error.code === 'buyer_session_required') sessions.saveSession(null);
    throw new WalletApiError(response.status, error);
  }
  const call = async <T,>(method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown, idempotencyKey?: string): Promise<T> =>
    (await send(method, path, body, idempotencyKey)).json() as Promise<T>;

  interface SignedIn {
    session: { token: string; expires_at: number };
    device: { id: string };
  }
  function remember(result: SignedIn): void {
    sessions.saveSession(result.session);
    sessions.saveDevice(result.device.id);
  }

  return {
    signedIn: () => sessions.session() !== null,
    remember,
    device: () => sessions.device(),
    forget: () => sessions.saveSession(null),
    sendSignInCode: (email: string) => call<CodeRequest>('POST', '/v1/buyer/codes', { email }),
    verifySignInCode: (codeRequest: string, code: string) => {
      const device = sessions.device();
      return call<SignedIn>('POST', '/v1/buyer/codes/verify', { code_request: codeRequest, code, ...(device ? { device } : {}) });
    },
    registrationOptions: (body: { email?: string; phone?: string; display_name?: string }) =>
      call<{ registration: string; options: Record<string, unknown> }>('POST', '/v1/buyer/passkeys/registration/options', body),
    registrationVerify: (registration: string, credential: unknown) =>
      call<SignedIn>('POST', '/v1/buyer/passkeys/registration/verify', { registration, credential }),
    authenticationOptions: () => call<{ authentication: string; options: Record<string, unknown> }>('POST', '/v1/buyer/passkeys/authentication/options', {}),
    authenticationVerify: (authentication: string, credential: unknown) => {
      const device = sessions.device();
      return call<SignedIn>('POST', '/v1/buyer/passkeys/authentication/verify', { authentication, credential, ...(device ? { device } : {}) });
    },
    me: () => call<Buyer>('GET', '/v1/buyer/me'),
    wallet: () => call<{ balances: Balance[] }>('GET', '/v1/buyer/wallet'),
    history: (filters: HistoryFilters, startingAfter?: string) => {
      const query = historyQuery(filters);
      query.set('limit', '20');
      if (startingAfter) query.set('starting_after', startingAfter);
      return call<List<HistoryEntry>>('GET', `/v1/buyer/history?${query}`);
    },
    historyCsv: async (filters: HistoryFilters) => (await send('GET', `/v1/buyer/history.csv?${historyQuery(filters)}`)).blob(),
    receipt: (id: string) => call<ReceiptLinks>('GET', `/v1/buyer/receipts/${encodeURIComponent(id)}`),
    requestRefund: (paymentId: string, body: { amount?: number; description?: string }) =>
      call<Refund>('POST', `/v1/buyer/payments/${encodeURIComponent(paymentId)}/refund_requests`, body),
    openDispute: (paymentId: string, body: { reason: string; description?: string }) =>
      call<Dispute>('POST', `/v1/buyer/payments/${encodeURIComponent(paymentId)}/disputes`, body),
    openTicket: (body: { payment: string; subject: string; message: string }) => call<Ticket>('POST', '/v1/buyer/tickets', body),
    tickets: () => call<List<Ticket>>('GET', '/v1/buyer/tickets?limit=100'),
    ticket: (id: string) => call<Ticket>('GET', `/v1/buyer/tickets/${encodeURIComponent(id)}`),
    replyToTicket: (id: string, message: string) => call<Ticket>('POST', `/v1/buyer/tickets/${encodeURIComponent(id)}/messages`, { message }),
    spending: (days: number) => call<{ since: string; days: SpendingDay[] }>('GET', `/v1/buyer/spending?days=${days}`),
    merchantPoints: () => call<List<MerchantPoints>>('GET', '/v1/buyer/merchant_points'),
    badges: () => call<List<Badge>>('GET', '/v1/buyer/badges?limit=100'),
    /** The idempotency key is the caller's: a retry after a lost answer cannot charge twice. */
    savedCards: () => call<List<SavedCard>>('GET', '/v1/buyer/payment_methods'),
    topUp: (body: { amount: number; currency: string; card?: CardBody; payment_method?: string }, idempotencyKey: string) => call<TopUp>('POST', '/v1/buyer/top_ups', body, idempotencyKey),
    confirmTopUp: (id: string) => call<TopUp>('POST', `/v1/buyer/top_ups/${encodeURIComponent(id)}/confirm`, {}),
    devices: () => call<List<Device>>('GET', '/v1/buyer/devices'),
    revokeDevice: (id: string) => call<Device>('DELETE', `/v1/buyer/devices/${encodeURIComponent(id)}`),
    passkeys: () => call<List<Passkey>>('GET', '/v1/buyer/passkeys'),
    removePasskey: (id: string) => call<unknown>('DELETE', `/v1/buyer/passkeys/${encodeURIComponent(id)}`),
    signOut: async () => {
      try {
        await call<unknown>('POST', '/v1/buyer/sign_out', {});
      } finally {
        sessions.saveSession(null);
      }
    },
  };
}

export type WalletApi = ReturnType<typeof createWalletApi>;
