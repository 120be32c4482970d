// One page of a merchant's objects: scoped to the merchant and mode, filtered by exact column values,
// after a cursor (the id of the last object of the previous page), newest first unless asked otherwise.
// Table and column names come from code, never from a request; values are always parameters.
import type { SqlClient } from './database.ts';

export interface MerchantPageQuery {
  table: string;
  /** The selected columns, as in `SELECT <columns>`. */
  columns: string;
  scope: { merchantId: string; livemode: boolean };
  limit: number;
  startingAfter?: string;
  /** Column → value; an undefined value does not filter. */
  filters?: Record<string, string | undefined>;
  oldestFirst?: boolean;
}

const IDENTIFIER = /^[a-z_]+$/;

export async function merchantPage<R>(db: SqlClient, query: MerchantPageQuery): Promise<{ rows: R[]; hasMore: boolean }> {
  const filters = Object.entries(query.filters ?? {});
  for (const name of [query.table, ...filters.map(([column]) => column)]) {
    if (!IDENTIFIER.test(name)) throw new Error(`not an identifier: ${name}`);
  }
  const direction = query.oldestFirst ? { compare: '>', order: 'ASC' } : { compare: '<', order: 'DESC' };
  const conditions = filters.map(([column], index) => `AND ($${index + 5}::text IS NULL OR ${column} = $${index + 5})`);
  const { rows } = await db.query<R>(
    `SELECT ${query.columns} FROM ${query.table}
     WHERE merchant_id = $1 AND livemode = $2
       AND ($3::text IS NULL OR seq ${direction.compare} (SELECT seq FROM ${query.table} WHERE id = $3 AND merchant_id = $1 AND livemode = $2))
       ${conditions.join('\n       ')}
     ORDER BY seq ${direction.order} LIMIT $4`,
    [query.scope.merchantId, query.scope.livemode, query.startingAfter ?? null, query.limit + 1, ...filters.map(([, value]) => value ?? null)],
  );
  return { rows: rows.slice(0, query.limit), hasMore: rows.length > query.limit };
}
