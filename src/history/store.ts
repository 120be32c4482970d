// The buyer's history in SQL: payments, top-ups and refunds of one buyer and mode as one list, newest
// first, ordered by (created_at, id) so that a cursor names one place in it. Every value is a parameter.
// The reach ($12: one merchant, or NULL for every merchant) is a condition of each table's own rows, so
// nothing outside it is read, not even as a cursor; the `merchant` filter ($3) only narrows within it.
import type { SqlClient } from '../store/database.ts';
import type { LineItemCategory } from '../payments/model.ts';
import { HIDDEN_PAYMENT_STATUS, type HistoryEntry, type HistoryEntryType, type HistoryFilters, type HistoryScope } from './model.ts';

interface EntryRow {
  id: string;
  type: HistoryEntryType;
  merchant_id: string;
  merchant_name: string;
  description: string | null;
  amount: bigint;
  currency: string;
  status: string;
  refunded_amount: bigint;
  line_items: Array<{ description?: string; category?: LineItemCategory }> | null;
  created_at: Date;
}

// A refund shows its own description or else its payment's, and its payment's line items (so that a
// search or a category finds the refunds of what it finds). The cursor is looked up among the buyer's
// own entries only: another buyer's id gives an empty page, never a position in someone else's history.
const ENTRIES_SQL = `
WITH entries AS (
  SELECT p.id, 'payment'::text AS type, p.merchant_id, p.description, p.amount, p.currency, p.status,
         p.amount_refunded AS refunded_amount, p.line_items, p.created_at
    FROM payments p
   WHERE p.buyer_id = $1 AND p.livemode = $2 AND p.status <> '${HIDDEN_PAYMENT_STATUS}'
     AND ($12::text IS NULL OR p.merchant_id = $12)
  UNION ALL
  SELECT t.id, 'top_up'::text, t.merchant_id, NULL::text, t.amount, t.currency, t.status,
         0::bigint, '[]'::jsonb, t.created_at
    FROM top_ups t
   WHERE t.buyer_id = $1 AND t.livemode = $2 AND ($12::text IS NULL OR t.merchant_id = $12)
  UNION ALL
  SELECT r.id, 'refund'::text, r.merchant_id, coalesce(r.description, p.description), r.amount, r.currency, r.status,
         0::bigint, p.line_items, r.created_at
    FROM refunds r JOIN payments p ON p.id = r.payment_id
   WHERE r.buyer_id = $1 AND r.livemode = $2 AND ($12::text IS NULL OR r.merchant_id = $12)
)
SELECT e.id, e.type, e.merchant_id, m.name AS merchant_name, e.description, e.amount, e.currency, e.status,
       e.refunded_amount, e.line_items, e.created_at
  FROM entries e JOIN merchants m ON m.id = e.merchant_id
 WHERE ($3::text IS NULL OR e.merchant_id = $3)
   AND ($4::text IS NULL OR e.line_items @> jsonb_build_array(jsonb_build_object('category', $4::text)))
   AND ($5::text IS NULL OR e.status = $5)
   AND ($6::text IS NULL OR e.type = $6)
   AND ($7::timestamptz IS NULL OR e.created_at >= $7::timestamptz)
   AND ($8::timestamptz IS NULL OR e.created_at < $8::timestamptz)
   AND ($9::text IS NULL
        OR e.description ILIKE $9
        OR m.name ILIKE $9
        OR EXISTS (SELECT 1 FROM jsonb_array_elements(e.line_items) AS item WHERE item->>'description' ILIKE $9))
   AND ($10::text IS NULL OR (e.created_at, e.id) < (
        SELECT c.created_at, c.id FROM (
          SELECT id, created_at FROM payments WHERE id = $10 AND buyer_id = $1 AND livemode = $2 AND ($12::text IS NULL OR merchant_id = $12)
          UNION ALL SELECT id, created_at FROM top_ups WHERE id = $10 AND buyer_id = $1 AND livemode = $2 AND ($12::text IS NULL OR merchant_id = $12)
          UNION ALL SELECT id, created_at FROM refunds WHERE id = $10 AND buyer_id = $1 AND livemode = $2 AND ($12::text IS NULL OR merchant_id = $12)
        ) AS c))
 ORDER BY e.created_at DESC, e.id DESC
 LIMIT $11`;

/** `%text%` for ILIKE, with the pattern characters of the text itself escaped. */
export function containsPattern(text: string): string {
  return `%${text.replace(/[\\%_]/g, (character) => `\\${character}`)}%`;
}

const isoOfSeconds = (value: number | undefined): string | null => (value === undefined ? null : new Date(value * 1000).toISOString());

function entryOf(row: EntryRow): HistoryEntry {
  const categories = [...new Set((row.line_items ?? []).map((item) => item.category).filter((category): category is LineItemCategory => typeof category === 'string'))];
  return {
    id: row.id,
    type: row.type,
    merchant: { id: row.merchant_id, name: row.merchant_name },
    description: row.description,
    amount: BigInt(row.amount),
    currency: row.currency,
    status: row.status,
    categories,
    createdAt: row.created_at,
    refundedAmount: BigInt(row.refunded_amount),
  };
}

export async function listHistoryEntries(
  db: SqlClient,
  scope: HistoryScope,
  filters: HistoryFilters,
  page: { limit: number; startingAfter?: string },
): Promise<{ data: HistoryEntry[]; hasMore: boolean }> {
  const { rows } = await db.query<EntryRow>(ENTRIES_SQL, [
    scope.buyerId,
    scope.livemode,
    filters.merchantId ?? null,
    filters.category ?? null,
    filters.status ?? null,
    filters.type ?? null,
    isoOfSeconds(filters.createdGte),
    // `created` is rounded down to the second, so "at most T" is "before T + 1".
    isoOfSeconds(filters.createdLte === undefined ? undefined : filters.createdLte + 1),
    filters.query === undefined ? null : containsPattern(filters.query),
    page.startingAfter ?? null,
    page.limit + 1,
    scope.merchantId,
  ]);
  return { data: rows.slice(0, page.limit).map(entryOf), hasMore: rows.length > page.limit };
}
