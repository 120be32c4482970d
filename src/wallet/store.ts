// SQL the wallet reads across every merchant of one buyer and mode: spending per day and currency (for
// the chart), and the merchants the buyer is a customer of (for points per merchant). Every value is a
// parameter; `merchantId` null means every merchant (the wallet key's reach, src/wallet/reach.ts).
import type { SqlClient } from '../store/database.ts';

export interface SpendingDay {
  /** The UTC day, YYYY-MM-DD. */
  date: string;
  currency: string;
  /** Captured by the buyer's succeeded payments created that day. */
  spent: bigint;
  /** Refunded to the buyer by refunds that succeeded, created that day. */
  refunded: bigint;
}

// Payments read through payments_buyer_created and refunds through refunds_buyer_created (migration 0011).
const SPENDING_SQL = `
WITH moves AS (
  SELECT p.created_at, p.currency, p.amount_captured AS spent, 0::bigint AS refunded
    FROM payments p
   WHERE p.buyer_id = $1 AND p.livemode = $2 AND p.status = 'succeeded' AND p.created_at >= $3::timestamptz
     AND ($4::text IS NULL OR p.merchant_id = $4)
  UNION ALL
  SELECT r.created_at, r.currency, 0::bigint, r.amount
    FROM refunds r
   WHERE r.buyer_id = $1 AND r.livemode = $2 AND r.status = 'succeeded' AND r.created_at >= $3::timestamptz
     AND ($4::text IS NULL OR r.merchant_id = $4)
)
SELECT to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS date, currency, sum(spent)::bigint AS spent, sum(refunded)::bigint AS refunded
  FROM moves
 GROUP BY 1, 2
 ORDER BY 1, 2
 LIMIT $5`;

/** At most this many (day, currency) rows: a year of days in a few currencies. */
export const SPENDING_ROWS_MAX = 366 * 8;

export async function spendingByDay(db: SqlClient, scope: { buyerId: string; livemode: boolean; merchantId: string | null }, since: Date): Promise<SpendingDay[]> {
  const { rows } = await db.query<{ date: string; currency: string; spent: bigint | string; refunded: bigint | string }>(SPENDING_SQL, [
    scope.buyerId,
    scope.livemode,
    since.toISOString(),
    scope.merchantId,
    SPENDING_ROWS_MAX,
  ]);
  return rows.map((row) => ({ date: row.date, currency: row.currency, spent: BigInt(row.spent), refunded: BigInt(row.refunded) }));
}

/** The merchants the buyer is a customer of in this mode (within the reach), by name; at most `limit`. */
export async function buyerMerchants(db: SqlClient, scope: { buyerId: string; livemode: boolean; merchantId: string | null }, limit: number): Promise<Array<{ id: string; name: string }>> {
  const { rows } = await db.query<{ id: string; name: string }>(
    `SELECT m.id, m.name FROM customers c JOIN merchants m ON m.id = c.merchant_id
      WHERE c.buyer_id = $1 AND c.livemode = $2 AND ($3::text IS NULL OR c.merchant_id = $3)
      ORDER BY m.name, m.id LIMIT $4`,
    [scope.buyerId, scope.livemode, scope.merchantId, limit],
  );
  return rows;
}
