// Reading the event outbox: events as the API and webhooks show them, each merchant's and mode's own.
import type { SqlClient } from '../store/database.ts';
import type { EventRecord } from './model.ts';

export interface EventScope {
  merchantId: string;
  livemode: boolean;
}

export interface EventStore {
  get(scope: EventScope, id: string): Promise<EventRecord | null>;
  /** Newest first; `type` is an exact type or a prefix ending in `.*` (`payment.*`). */
  list(scope: EventScope, options: { limit: number; startingAfter?: string; type?: string }): Promise<{ data: EventRecord[]; hasMore: boolean }>;
}

export interface EventRow {
  id: string;
  merchant_id: string;
  livemode: boolean;
  type: string;
  data: { object: Record<string, unknown> };
  created_at: Date;
}

export const EVENT_COLUMNS = 'id, merchant_id, livemode, type, data, created_at';

export function eventOf(row: EventRow): EventRecord {
  return { id: row.id, merchantId: row.merchant_id, livemode: row.livemode, type: row.type, data: row.data, createdAt: row.created_at };
}

/** `payment.*` matches every type starting with `payment.`; anything else matches itself only. */
function typeFilter(type: string | undefined): { exact: string | null; prefix: string | null } {
  if (type === undefined) return { exact: null, prefix: null };
  if (type.endsWith('.*')) return { exact: null, prefix: type.slice(0, -1) };
  return { exact: type, prefix: null };
}

export function createEventStore(db: SqlClient): EventStore {
  return {
    async get(scope, id) {
      const { rows } = await db.query<EventRow>(
        `SELECT ${EVENT_COLUMNS} FROM events WHERE id = $1 AND merchant_id = $2 AND livemode = $3`,
        [id, scope.merchantId, scope.livemode],
      );
      return rows[0] ? eventOf(rows[0]) : null;
    },

    async list(scope, { limit, startingAfter, type }) {
      const filter = typeFilter(type);
      const { rows } = await db.query<EventRow>(
        `SELECT ${EVENT_COLUMNS} FROM events
         WHERE merchant_id = $1 AND livemode = $2
           AND ($3::text IS NULL OR seq < (SELECT seq FROM events WHERE id = $3 AND merchant_id = $1 AND livemode = $2))
           AND ($4::text IS NULL OR type = $4)
           AND ($5::text IS NULL OR starts_with(type, $5))
         ORDER BY seq DESC LIMIT $6`,
        [scope.merchantId, scope.livemode, startingAfter ?? null, filter.exact, filter.prefix, limit + 1],
      );
      return { data: rows.slice(0, limit).map(eventOf), hasMore: rows.length > limit };
    },
  };
}
