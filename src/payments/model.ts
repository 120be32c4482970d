// Payments as the merchant API shows them, and their JSON form (amounts as integers in minor units).

export const LINE_ITEM_CATEGORIES = [
  'virtual_good',
  'article',
  'song',
  'in_app',
  'subscription_addon',
  'tip',
  'gift_card',
  'game_credit',
  'other',
] as const;

export type LineItemCategory = (typeof LINE_ITEM_CATEGORIES)[number];

export const PAYMENT_STATUSES = [
  'requires_confirmation',
  'requires_action',
  'processing',
  'requires_capture',
  'succeeded',
  'canceled',
  'failed',
] as const;

export type PaymentStatus = (typeof PAYMENT_STATUSES)[number];

export interface LineItem {
  description: string;
  category: LineItemCategory;
  /** Price of one unit, minor units. */
  unitAmount: bigint;
  quantity: number;
}

export interface PaymentError {
  code: string;
  message: string;
}

export interface Payment {
  id: string;
  merchantId: string;
  livemode: boolean;
  /** Null until a buyer pays the payment at the checkout (a payment created without a customer). */
  customerId: string | null;
  buyerId: string | null;
  amount: bigint;
  currency: string;
  description: string | null;
  lineItems: LineItem[];
  captureMethod: 'automatic' | 'manual';
  status: PaymentStatus;
  amountCaptured: bigint;
  amountRefunded: bigint;
  /** Loyalty points the buyer spent on this payment at the checkout (docs/loyalty.md). */
  pointsRedeemed: bigint;
  /** What those points were worth, minor units: the money moved is `amount - amountPaidInPoints`. */
  amountPaidInPoints: bigint;
  feeAmount: bigint;
  captureBefore: Date | null;
  riskDecisionId: string | null;
  lastError: PaymentError | null;
  cancellationReason: string | null;
  metadata: Record<string, string> | null;
  version: number;
  createdAt: Date;
  updatedAt: Date;
}

/** The buyer of a payment that has moved money (every such payment names one); a payment without a
 * buyer reaching here is a bug. */
export function payerOf(payment: Payment): string {
  if (payment.buyerId === null) throw new Error(`payment ${payment.id} has no buyer`);
  return payment.buyerId;
}

/** The money part of a payment: its amount less what loyalty points paid. */
export function moneyAmountOf(payment: Payment): bigint {
  return payment.amount - payment.amountPaidInPoints;
}

/** Amounts leave the server as JSON integers; they are always within 2^53 (the API refuses more). */
export function amountJson(amount: bigint): number {
  if (amount > BigInt(Number.MAX_SAFE_INTEGER) || amount < -BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new Error(`amount ${amount} is beyond what JSON integers carry exactly`);
  }
  return Number(amount);
}

export function lineItemsJson(items: LineItem[]) {
  return items.map((item) => ({ description: item.description, category: item.category, unit_amount: amountJson(item.unitAmount), quantity: item.quantity }));
}

export function paymentJson(payment: Payment) {
  return {
    id: payment.id,
    object: 'payment' as const,
    livemode: payment.livemode,
    customer: payment.customerId,
    amount: amountJson(payment.amount),
    currency: payment.currency,
    description: payment.description,
    line_items: lineItemsJson(payment.lineItems),
    capture_method: payment.captureMethod,
    status: payment.status,
    amount_captured: amountJson(payment.amountCaptured),
    amount_refunded: amountJson(payment.amountRefunded),
    points_redeemed: amountJson(payment.pointsRedeemed),
    amount_paid_in_points: amountJson(payment.amountPaidInPoints),
    application_fee_amount: amountJson(payment.feeAmount),
    capture_before: payment.captureBefore ? Math.floor(payment.captureBefore.getTime() / 1000) : null,
    risk_decision: payment.riskDecisionId,
    last_payment_error: payment.lastError,
    cancellation_reason: payment.cancellationReason,
    metadata: payment.metadata ?? {},
    created: Math.floor(payment.createdAt.getTime() / 1000),
  };
}

export type PaymentJson = ReturnType<typeof paymentJson>;
