// The console's calls to the Micropay API, all through the staff session (web/staff/session.ts), which
// adds the signed-in operator's token and the test/live switch. Amounts arrive as integers in minor
// units (ledger sums as decimal strings) and are only ever formatted, never computed with as floats.
export { get, newIdempotencyKey, send, type List, type Me } from '../../staff/api.ts';
export { downloadFile } from '../../staff/files.ts';

export type Verdict = 'allow' | 'challenge' | 'review' | 'block';

export interface Reason {
  code: string;
  message: string;
}

export interface Review {
  id: string;
  livemode: boolean;
  status: 'open' | 'claimed' | 'approved' | 'rejected';
  subject_type: string;
  subject: string;
  merchant: string | null;
  buyer: string | null;
  amount: number;
  currency: string;
  reasons: Reason[];
  risk_decision: string;
  claimed_by: string | null;
  claimed_at: number | null;
  decided_at: number | null;
  note: string | null;
  created: number;
}

export interface Decision {
  id: string;
  action: string;
  decision: Verdict;
  score: number | null;
  segment: string | null;
  reasons: Reason[];
  signals: Record<string, unknown> | null;
  shadow: Array<{ rule: string; version: number; action: Verdict }>;
  created: number;
}

export interface Rule {
  id: string;
  version: number;
  source: string;
  action: Verdict;
  mode: 'live' | 'shadow' | 'disabled';
  position: number;
  description: string | null;
  created: number;
}

export interface Backtest {
  action: Verdict;
  decisions: number;
  matched: number;
  labelled_fraud: number;
  fraud_matched: number;
  labelled_good: number;
  good_matched: number;
  matched_by_recorded_decision: Record<Verdict, number>;
  match_rate: number | null;
  precision: number | null;
  recall: number | null;
  false_positive_rate: number | null;
}

export interface MetricsFigures {
  decisions: Record<Verdict | 'total', number>;
  challenge_rate: number | null;
  fraud_labelled: number;
  fraud_labelled_value_usd_cents: number;
  fraud_caught: number;
  fraud_caught_value_usd_cents: number;
  fraud_value_caught_rate: number | null;
}

export interface Metrics {
  livemode: boolean;
  days: number;
  data: Array<MetricsFigures & { date: string }>;
  totals: MetricsFigures;
}

export interface Dispute {
  id: string;
  livemode: boolean;
  merchant: string;
  payment: string;
  amount: number;
  currency: string;
  reason: string;
  description: string | null;
  status: 'needs_response' | 'under_review' | 'won' | 'lost';
  amount_held: number;
  evidence: { text: string; uris: string[] } | null;
  evidence_submitted_at: number | null;
  closed_at: number | null;
  created: number;
}

export interface EvidenceFile {
  id: string;
  filename: string;
  content_type: string;
  size: number;
}

export interface Merchant {
  id: string;
  name: string;
  fee_bps: number;
  fee_fixed: Record<string, number>;
  status: string;
  metadata: Record<string, string>;
  created: number;
}

/** Figures of one UTC day or of the window (amounts in minor units of the currency). */
export interface VolumeFigures {
  /** Payments captured (a count). */
  payments: number;
  /** The amount captured. */
  volume: number;
  /** The amount refunded of those payments, as of now. */
  refunded: number;
  /** Platform fees. */
  fees: number;
  /** Payments that failed (a count). */
  failed: number;
}

export interface MerchantVolume {
  object: 'merchant_volume';
  merchant: string;
  livemode: boolean;
  days: number;
  /** One per currency paid in during the window, biggest volume first; `days` oldest first, today last. */
  currencies: Array<{ currency: string; totals: VolumeFigures; days: Array<VolumeFigures & { date: string }> }>;
}

export interface LedgerHealth {
  ok: boolean;
  checked_at: number;
  duration_ms: number;
  cached: boolean;
  accounts_checked: number;
  transfers_checked: number;
  drift_count: number;
  drift: Array<{ account: string; field: string; stored: string; computed: string }>;
  asset_imbalance: Array<{ asset: string; debits_minus_credits: string }>;
  limit_violation_count: number;
  limit_violations: string[];
  assets: Array<{
    asset: string;
    transfers: number;
    posted: string;
    pending: string;
    debits_posted: string;
    credits_posted: string;
    debits_pending: string;
    credits_pending: string;
    balanced: boolean;
  }>;
}
