// Refunds as the merchant API shows them, the rule that reverses the platform fee pro rata, and their
// JSON form (amounts as integers in minor units).
import { amountJson } from '../payments/model.ts';

export const REFUND_STATUSES = ['pending', 'succeeded', 'failed', 'canceled'] as const;
export type RefundStatus = (typeof REFUND_STATUSES)[number];

export const REFUND_REASONS = [
  'requested_by_customer',
  'duplicate',
  'fraudulent',
  'product_not_received',
  'product_unacceptable',
  'accidental_purchase',
  'other',
] as const;
export type RefundReason = (typeof REFUND_REASONS)[number];

/** Why a buyer's request waits for the merchant instead of completing at once. */
export const PENDING_REASONS = [
  'over_automatic_limit',
  'outside_automatic_window',
  'buyer_standing',
  'risk_review',
  'merchant_balance_insufficient',
] as const;
export type PendingReason = (typeof PENDING_REASONS)[number];

export const FAILURE_REASONS = ['merchant_balance_insufficient', 'refund_blocked'] as const;
export type FailureReason = (typeof FAILURE_REASONS)[number];

export interface Refund {
  id: string;
  merchantId: string;
  livemode: boolean;
  paymentId: string;
  buyerId: string;
  amount: bigint;
  currency: string;
  feeReversed: bigint;
  reason: RefundReason;
  description: string | null;
  status: RefundStatus;
  initiatedBy: 'merchant' | 'buyer';
  automatic: boolean;
  pendingReason: PendingReason | null;
  failureReason: FailureReason | null;
  cancellationReason: string | null;
  riskDecisionId: string | null;
  metadata: Record<string, string> | null;
  version: number;
  createdAt: Date;
  updatedAt: Date;
}

/**
 * The part of the platform fee to give back with a refund of `amount`, when `refundedBefore` of the
 * `captured` amount was already refunded. It is computed on cumulative totals: after any sequence of
 * refunds the fee reversed so far is `floor(fee × refunded / captured)`, so rounding never gives back
 * more than the fee taken, and refunding everything gives back all of it.
 */
export function feeReversalFor(fee: bigint, captured: bigint, refundedBefore: bigint, amount: bigint): bigint {
  if (captured <= 0n || fee <= 0n) return 0n;
  const reversedBefore = (fee * refundedBefore) / captured;
  const reversedAfter = (fee * (refundedBefore + amount)) / captured;
  return reversedAfter - reversedBefore;
}

export function refundJson(refund: Refund) {
  return {
    id: refund.id,
    object: 'refund' as const,
    livemode: refund.livemode,
    payment: refund.paymentId,
    amount: amountJson(refund.amount),
    currency: refund.currency,
    fee_reversed: amountJson(refund.feeReversed),
    reason: refund.reason,
    description: refund.description,
    status: refund.status,
    initiated_by: refund.initiatedBy,
    automatic: refund.automatic,
    pending_reason: refund.pendingReason,
    failure_reason: refund.failureReason,
    cancellation_reason: refund.cancellationReason,
    risk_decision: refund.riskDecisionId,
    metadata: refund.metadata ?? {},
    created: Math.floor(refund.createdAt.getTime() / 1000),
  };
}

export type RefundJson = ReturnType<typeof refundJson>;
