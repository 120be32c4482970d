// The dashboard's calls to the Micropay API, all through the staff session (web/staff/session.ts): the
// signed-in user's token and the test/live switch are added there. Amounts arrive as integers in minor
// units and are only ever formatted (web/checkout/src/frame/format.ts), never computed with as floats.
import { send } from '../../staff/api.ts';
import { staffFetch } from '../../staff/session.ts';

export { get, newIdempotencyKey, type List, type Me } from '../../staff/api.ts';
export { downloadFile, fileToBase64 } from '../../staff/files.ts';

export interface Payment {
  id: string;
  livemode: boolean;
  customer: string | null;
  amount: number;
  currency: string;
  description: string | null;
  status: string;
  amount_captured: number;
  amount_refunded: number;
  application_fee_amount: number;
  risk_decision: string | null;
  line_items: Array<{ description: string; category: string; unit_amount: number; quantity: number }>;
  metadata: Record<string, string>;
  created: number;
}

export interface Refund {
  id: string;
  payment: string;
  amount: number;
  currency: string;
  fee_reversed: number;
  reason: string;
  description: string | null;
  status: string;
  initiated_by: string;
  automatic: boolean;
  created: number;
}

export interface Dispute {
  id: string;
  payment: string;
  amount: number;
  currency: string;
  reason: string;
  description: string | null;
  status: string;
  amount_held: number;
  evidence: { text: string; uris: string[] } | null;
  evidence_submitted_at: number | null;
  closed_at: number | null;
  created: number;
}

export interface EvidenceFile {
  id: string;
  dispute: string;
  filename: string;
  content_type: string;
  size: number;
  sha256: string;
  created: number;
}

export interface Payout {
  id: string;
  amount: number;
  currency: string;
  status: string;
  automatic: boolean;
  description: string | null;
  failure_message: string | null;
  paid_at: number | null;
  created: number;
}

export interface ApiKey {
  id: string;
  type: 'secret' | 'publishable';
  livemode: boolean;
  scope: 'write' | 'read';
  name: string | null;
  last4: string;
  secret?: string;
  created: number;
  expires_at: number | null;
  revoked: boolean;
}

export interface WebhookEndpoint {
  id: string;
  url: string;
  description: string | null;
  enabled_events: string[];
  status: string;
  disabled_reason: string | null;
  secret?: string;
  created: number;
}

export interface WebhookDelivery {
  id: string;
  endpoint: string;
  event: string;
  event_type: string;
  status: string;
  in_flight: boolean;
  attempts: number;
  next_attempt: number | null;
  last_attempt: number | null;
  response_status: number | null;
  latency_ms: number | null;
  error: string | null;
  created: number;
}

export interface LoyaltyProgram {
  earn: { per_amount: number; currency: string; points: number };
  bonus_categories: Record<string, number>;
  expiry_days: number | null;
  enabled: boolean;
  version: number;
  updated: number;
}

export interface SupportTicket {
  id: string;
  payment: string;
  subject: string;
  status: string;
  message_count: number;
  created: number;
  updated: number;
  closed_at: number | null;
  messages?: Array<{ id: string; author: 'buyer' | 'merchant'; body: string; created: number }>;
}

export interface StaffUser {
  id: string;
  email: string;
  name: string | null;
  role: string;
  status?: string;
  created?: number;
}

export interface BalanceHistory {
  currency: string;
  days: Array<{ date: string; available: number; pending: number }>;
}

export interface Balance {
  balances: Array<{ currency: string; available: number; pending: number }>;
}

/** A fresh Idempotency-Key per call unless one is given (a retried action passes its own). */
export const post = <T>(path: string, body: unknown = {}, idempotencyKey?: string) => send<T>('POST', path, body, idempotencyKey);
export const put = <T>(path: string, body: unknown) => send<T>('PUT', path, body);
export const remove = <T>(path: string) => staffFetch<T>(path, { method: 'DELETE' });
