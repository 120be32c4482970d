// The event outbox: each change writes its events in the same database transaction (a unit-of-work
// write), and the webhook worker delivers them later. An event's id is derived from the object and
// what happened to it, so a retried change cannot announce itself twice.
import { hash } from 'node:crypto';
import { statementWriter, type UnitWrite } from '../ledger/unit-of-work.ts';
import type { SqlClient } from '../store/database.ts';

export const EVENTS_WRITER = 'events';

export interface EventInput {
  merchantId: string;
  livemode: boolean;
  /** e.g. `payment.succeeded`. */
  type: string;
  /** The object as the API shows it, after the change. */
  object: Record<string, unknown>;
  /** What makes this occurrence unique for the object (a version, a refund id, ...). */
  occurrence: string;
}

export function eventId(objectId: string, type: string, occurrence: string): string {
  const digest = hash('sha256', `${objectId}|${type}|${occurrence}`, 'base64url');
  return `evt_${digest.slice(0, 24).replace(/[-_]/g, 'x')}`;
}

export function eventWrite(input: EventInput): UnitWrite {
  const objectId = String(input.object.id);
  return {
    writer: EVENTS_WRITER,
    row: {
      id: eventId(objectId, input.type, input.occurrence),
      merchant_id: input.merchantId,
      livemode: input.livemode,
      type: input.type,
      data: { object: input.object },
    },
  };
}

export const writeEvents = statementWriter((rows, first) => [
  {
    sql: `INSERT INTO events (id, merchant_id, livemode, type, data)
     SELECT id, merchant_id, livemode, type, data
     FROM jsonb_to_recordset($${first}::jsonb) AS r(id text, merchant_id text, livemode boolean, type text, data jsonb)
     ORDER BY id
     ON CONFLICT (id) DO NOTHING`,
    params: [JSON.stringify(rows)],
    expectedRows: null,
  },
]);

/** Writes events outside a unit of work (changes that do not move money), in the caller's transaction. */
export async function insertEvents(tx: SqlClient, events: EventInput[]): Promise<void> {
  if (events.length > 0) await writeEvents(tx, events.map((event) => eventWrite(event).row));
}
