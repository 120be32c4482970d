// Top-ups and payment methods as the merchant API shows them. A top-up funds a buyer's wallet from a
// card: `processing` while the processor decides, `requires_action` while the buyer completes a 3-D
// Secure challenge, then `succeeded` (the wallet is credited) or `failed` (with a failure code).
import { amountJson } from '../payments/model.ts';
import type { CardBrand } from '../vault/card.ts';

export const TOP_UP_STATUSES = ['processing', 'requires_action', 'succeeded', 'failed'] as const;
export type TopUpStatus = (typeof TOP_UP_STATUSES)[number];

export interface PaymentMethod {
  id: string;
  merchantId: string;
  livemode: boolean;
  customerId: string;
  brand: CardBrand;
  last4: string;
  expMonth: number;
  expYear: number;
  fingerprint: string;
  createdAt: Date;
}

export interface TopUp {
  id: string;
  merchantId: string;
  livemode: boolean;
  customerId: string;
  buyerId: string;
  paymentMethodId: string;
  amount: bigint;
  currency: string;
  status: TopUpStatus;
  processorAuthorizationId: string | null;
  threeDSecureUrl: string | null;
  failureCode: string | null;
  failureMessage: string | null;
  riskDecisionId: string | null;
  metadata: Record<string, string> | null;
  version: number;
  createdAt: Date;
  updatedAt: Date;
}

export function paymentMethodJson(method: PaymentMethod) {
  return {
    id: method.id,
    object: 'payment_method' as const,
    type: 'card' as const,
    livemode: method.livemode,
    customer: method.customerId,
    card: {
      brand: method.brand,
      last4: method.last4,
      exp_month: method.expMonth,
      exp_year: method.expYear,
      fingerprint: method.fingerprint,
    },
    created: Math.floor(method.createdAt.getTime() / 1000),
  };
}

export function topUpJson(topUp: TopUp) {
  return {
    id: topUp.id,
    object: 'top_up' as const,
    livemode: topUp.livemode,
    customer: topUp.customerId,
    amount: amountJson(topUp.amount),
    currency: topUp.currency,
    status: topUp.status,
    payment_method: topUp.paymentMethodId,
    next_action: topUp.status === 'requires_action' && topUp.threeDSecureUrl ? { type: 'three_d_secure' as const, url: topUp.threeDSecureUrl } : null,
    failure_code: topUp.failureCode,
    failure_message: topUp.failureMessage,
    risk_decision: topUp.riskDecisionId,
    metadata: topUp.metadata ?? {},
    created: Math.floor(topUp.createdAt.getTime() / 1000),
  };
}

export type TopUpJson = ReturnType<typeof topUpJson>;
