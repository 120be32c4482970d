// A merchant's payment volume per UTC day and currency (docs/api/merchants.md, "Volume"), for the
// operator's console: payments captured, amount captured, refunded and platform fees, and payments
// that failed (blocked by risk, or declined and not paid since: insufficient funds, points). Read from the payments table over its (merchant, mode, seq) index: a seq bound found by
// binary search (src/store/seq-bound.ts) keeps the scan to the window, however long the history.
import type { SqlClient } from '../store/database.ts';
import { seqBoundBefore } from '../store/seq-bound.ts';
import { lastUtcDays } from '../ledger/service.ts';

/** The longest window one request asks for. */
export const VOLUME_DAYS_MAX = 90;

export interface VolumeFigures {
  payments: number;
  volume: bigint;
  refunded: bigint;
  fees: bigint;
  failed: number;
}

export interface CurrencyVolume {
  currency: string;
  totals: VolumeFigures;
  /** One per UTC day, oldest first, today last. */
  days: Array<{ date: string } & VolumeFigures>;
}

const empty = (): VolumeFigures => ({ payments: 0, volume: 0n, refunded: 0n, fees: 0n, failed: 0 });

export async function merchantVolume(db: SqlClient, input: { merchantId: string; livemode: boolean; days: number; now?: Date }): Promise<CurrencyVolume[]> {
  const dates = lastUtcDays(input.now ?? new Date(), input.days);
  // The window starts at midnight UTC of its first day (a YYYY-MM-DD date parses as UTC midnight).
  const since = new Date(dates[0]!);
  const after = await seqBoundBefore(db, 'payments', 'merchant_id = $1 AND livemode = $2', [input.merchantId, input.livemode], since);
  const { rows } = await db.query<{ day: string; currency: string; payments: string; volume: string; refunded: string; fees: string; failed: string }>(
    `SELECT to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS day, currency,
       count(*) FILTER (WHERE amount_captured > 0)::text AS payments,
       coalesce(sum(amount_captured), 0)::text AS volume,
       coalesce(sum(amount_refunded), 0)::text AS refunded,
       coalesce(sum(fee_amount) FILTER (WHERE amount_captured > 0), 0)::text AS fees,
       count(*) FILTER (WHERE amount_captured = 0 AND (status = 'failed' OR last_error IS NOT NULL))::text AS failed
     FROM payments
     WHERE merchant_id = $1 AND livemode = $2 AND seq > $3::int8 AND created_at >= $4::timestamptz
     GROUP BY 1, 2`,
    [input.merchantId, input.livemode, after.toString(), since.toISOString()],
  );
  const dayIndex = new Map(dates.map((date, index) => [date, index]));
  const byCurrency = new Map<string, CurrencyVolume>();
  for (const row of rows) {
    let entry = byCurrency.get(row.currency);
    if (!entry) {
      entry = { currency: row.currency, totals: empty(), days: dates.map((date) => ({ date, ...empty() })) };
      byCurrency.set(row.currency, entry);
    }
    const index = dayIndex.get(row.day);
    if (index === undefined) continue;
    const day = entry.days[index]!;
    const figures: VolumeFigures = { payments: Number(row.payments), volume: BigInt(row.volume), refunded: BigInt(row.refunded), fees: BigInt(row.fees), failed: Number(row.failed) };
    for (const target of [day, entry.totals]) {
      target.payments += figures.payments;
      target.volume += figures.volume;
      target.refunded += figures.refunded;
      target.fees += figures.fees;
      target.failed += figures.failed;
    }
  }
  return [...byCurrency.values()].sort((a, b) => (a.totals.volume === b.totals.volume ? a.currency.localeCompare(b.currency) : a.totals.volume > b.totals.volume ? -1 : 1));
}
