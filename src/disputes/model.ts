// Disputes as the merchant API shows them, and their JSON form (amounts as integers in minor units).
import { amountJson } from '../payments/model.ts';

export const DISPUTE_STATUSES = ['needs_response', 'under_review', 'won', 'lost'] as const;
export type DisputeStatus = (typeof DISPUTE_STATUSES)[number];

/** A dispute still waiting for the operator's decision. */
export const OPEN_DISPUTE_STATUSES: readonly DisputeStatus[] = ['needs_response', 'under_review'];

export const DISPUTE_REASONS = [
  'fraudulent',
  'duplicate',
  'product_not_received',
  'product_unacceptable',
  'subscription_canceled',
  'credit_not_processed',
  'unrecognized',
  'general',
] as const;
export type DisputeReason = (typeof DISPUTE_REASONS)[number];

/** Bounds of the evidence a merchant submits. */
export const EVIDENCE_TEXT_LENGTH_MAX = 20_000;
export const EVIDENCE_URIS_MAX = 10;
export const EVIDENCE_URI_LENGTH_MAX = 500;

export interface DisputeEvidence {
  text: string;
  uris: string[];
}

export interface Dispute {
  id: string;
  merchantId: string;
  livemode: boolean;
  paymentId: string;
  buyerId: string;
  amount: bigint;
  currency: string;
  reason: DisputeReason;
  description: string | null;
  status: DisputeStatus;
  /** Taken from the merchant's balance by a hold when the dispute opened (at most `amount`). */
  amountHeld: bigint;
  /** On a lost dispute: what the merchant paid (the hold and any later balance), and what the platform advanced. */
  amountFromMerchant: bigint;
  amountFromPlatform: bigint;
  evidence: DisputeEvidence | null;
  evidenceSubmittedAt: Date | null;
  closedAt: Date | null;
  version: number;
  createdAt: Date;
  updatedAt: Date;
}

const seconds = (date: Date | null) => (date ? Math.floor(date.getTime() / 1000) : null);

export function disputeJson(dispute: Dispute) {
  return {
    id: dispute.id,
    object: 'dispute' as const,
    livemode: dispute.livemode,
    merchant: dispute.merchantId,
    payment: dispute.paymentId,
    amount: amountJson(dispute.amount),
    currency: dispute.currency,
    reason: dispute.reason,
    description: dispute.description,
    status: dispute.status,
    amount_held: amountJson(dispute.amountHeld),
    amount_from_merchant: amountJson(dispute.amountFromMerchant),
    amount_from_platform: amountJson(dispute.amountFromPlatform),
    evidence: dispute.evidence,
    evidence_submitted_at: seconds(dispute.evidenceSubmittedAt),
    closed_at: seconds(dispute.closedAt),
    created: seconds(dispute.createdAt)!,
  };
}

export type DisputeJson = ReturnType<typeof disputeJson>;
