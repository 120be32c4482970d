// Time windows over append-ordered tables without a time index: rows get `seq` as they are inserted and
// `created_at` when their transaction started, so `seq` follows time closely. A binary search over
// `seq` on an index that leads with the filter's columns then `seq` finds a bound that every row of the
// window is above, reading one row per probe: a few milliseconds however long the history is.
import type { SqlClient } from './database.ts';

/** Rows may commit slightly out of `created_at` order (a group commit's transaction takes its time when
 * it starts, its `seq` when it inserts); this is far more than that can ever be. */
export const COMMIT_ORDER_SLACK_MS = 60 * 60 * 1000;
/** Probes of the binary search: enough for any 63-bit seq range. */
const SEQ_SEARCH_PROBES_MAX = 64;

/**
 * A `seq` that every row matching `filter` created at or after `before` is above; 0 when none is
 * older. `table` and `filter` are SQL written by the caller (never user input); `filter` names its
 * parameters from `$1` and `params` gives them.
 */
export async function seqBoundBefore(tx: SqlClient, table: string, filter: string, params: unknown[], before: Date): Promise<bigint> {
  const older = new Date(before.getTime() - COMMIT_ORDER_SLACK_MS);
  const range = await tx.query<{ low: string | null; high: string | null }>(
    `SELECT min(seq)::text AS low, max(seq)::text AS high FROM ${table} WHERE ${filter}`,
    params,
  );
  if (range.rows[0]?.low == null || range.rows[0].high == null) return 0n;
  let low = BigInt(range.rows[0].low);
  let high = BigInt(range.rows[0].high);
  let bound = 0n;
  const next = params.length + 1;
  for (let probe = 0; probe < SEQ_SEARCH_PROBES_MAX && low <= high; probe++) {
    const middle = (low + high) / 2n;
    // The text form is named apart from seq, so that ORDER BY seq is the index's order, not text's.
    const found = await tx.query<{ found: string; older: boolean }>(
      `SELECT seq::text AS found, created_at < $${next + 1}::timestamptz AS older FROM ${table}
       WHERE ${filter} AND seq >= $${next}::int8 ORDER BY seq LIMIT 1`,
      [...params, middle.toString(), older.toISOString()],
    );
    const row = found.rows[0];
    if (row && row.older) {
      bound = BigInt(row.found);
      low = bound + 1n;
    } else {
      high = middle - 1n;
    }
  }
  return bound;
}
