// The buyer's purchase history: one entry per payment (tips are payments with a `tip` line item), top-up
// and refund of the signed-in buyer, across every merchant of the mode through the wallet key, else at the
// key's merchant only (src/wallet/reach.ts). Amounts are bigint minor units.
import { LINE_ITEM_CATEGORIES, PAYMENT_STATUSES, amountJson, type LineItemCategory } from '../payments/model.ts';
import { REFUND_STATUSES } from '../refunds/model.ts';
import { TOP_UP_STATUSES } from '../top-ups/model.ts';

export const HISTORY_ENTRY_TYPES = ['payment', 'top_up', 'refund'] as const;
export type HistoryEntryType = (typeof HISTORY_ENTRY_TYPES)[number];

/** A payment still waiting for `confirm` is the merchant's draft, not something the buyer did: not shown. */
export const HIDDEN_PAYMENT_STATUS = 'requires_confirmation';

/** Every status an entry can have (a payment's, a top-up's or a refund's). */
export const HISTORY_STATUSES = [
  ...new Set<string>([...PAYMENT_STATUSES.filter((status) => status !== HIDDEN_PAYMENT_STATUS), ...TOP_UP_STATUSES, ...REFUND_STATUSES]),
].sort();

export { LINE_ITEM_CATEGORIES };

export interface HistoryEntry {
  id: string;
  type: HistoryEntryType;
  merchant: { id: string; name: string } | null;
  description: string | null;
  amount: bigint;
  currency: string;
  status: string;
  /** The distinct line-item categories (a refund has its payment's; a top-up has none). */
  categories: LineItemCategory[];
  createdAt: Date;
  /** What was refunded of a payment; zero for top-ups and refunds. */
  refundedAmount: bigint;
}

export interface HistoryFilters {
  merchantId?: string;
  category?: LineItemCategory;
  status?: string;
  type?: HistoryEntryType;
  /** Unix seconds, inclusive on both ends (an entry's `created` is its time rounded down to the second). */
  createdGte?: number;
  createdLte?: number;
  /** Case-insensitive search in the description, the line items' descriptions and the merchant's name. */
  query?: string;
}

export interface HistoryScope {
  buyerId: string;
  livemode: boolean;
  /** The one merchant the request reaches (a merchant's key), or null for every merchant (the wallet key). */
  merchantId: string | null;
}

export const seconds = (date: Date): number => Math.floor(date.getTime() / 1000);

export function historyEntryJson(entry: HistoryEntry) {
  return {
    id: entry.id,
    object: 'history_entry' as const,
    type: entry.type,
    merchant: entry.merchant,
    description: entry.description,
    amount: amountJson(entry.amount),
    currency: entry.currency,
    status: entry.status,
    categories: entry.categories,
    created: seconds(entry.createdAt),
    refunded_amount: amountJson(entry.refundedAmount),
  };
}
