// A receipt as signed and shown: built on demand from the stored payment, top-up or refund (no copy is
// kept), amounts as integers in minor units beside their formatted form.

export const RECEIPT_KINDS = ['payment', 'tip', 'top_up', 'refund'] as const;
export type ReceiptKind = (typeof RECEIPT_KINDS)[number];

export interface ReceiptItem {
  description: string;
  category: string;
  quantity: number;
  unit_amount: number;
  amount: number;
  amount_formatted: string;
}

export interface ReceiptRefund {
  id: string;
  amount: number;
  amount_formatted: string;
  created: number;
}

export interface Receipt {
  object: 'receipt';
  id: string;
  kind: ReceiptKind;
  /** The payment, top-up or refund the receipt is for. */
  source: { object: 'payment' | 'top_up' | 'refund'; id: string };
  livemode: boolean;
  merchant: { id: string; name: string };
  customer: string | null;
  items: ReceiptItem[];
  /** The loyalty points that paid part of a payment, and what they were worth in its currency; null when none did. */
  points: { redeemed: number; amount: number; amount_formatted: string } | null;
  /** The money moved: for a payment, the items' total less what points paid. */
  amount: number;
  currency: string;
  amount_formatted: string;
  /** How the money moved: `wallet` (a payment from the buyer's balance, a refund to it) or `card` with brand and last 4. */
  method: { type: 'wallet' } | { type: 'card'; brand: string; last4: string };
  /** For a refund, the payment it gives back. */
  payment: string | null;
  created: number;
  /** Succeeded refunds of a payment, oldest first (empty for top-ups and refunds). */
  refunds: ReceiptRefund[];
  amount_refunded: number;
  amount_refunded_formatted: string;
}
