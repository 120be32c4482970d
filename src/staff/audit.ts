// The staff audit log (docs/api/staff.md, "Audit log"): who changed what, when, from where, and whether
// it worked. The API plumbing records one event per non-GET request made with a staff session (refused
// and failed ones too) and the sign-in routes one per sign-in (src/api/http.ts). A request that reaches
// its handler is written ahead: its event is inserted with outcome `unknown` before the handler runs
// (the request is refused if that fails) and completed when the answer leaves, so a change never
// happens without its line, even if the process is killed in between (the line then stays `unknown`). Reads are not recorded. A team reads its own log:
// a merchant's owners and admins, the operator's admins (permission `audit:read`); an operator may also
// read a merchant's. Kept STAFF_AUDIT_RETENTION_DAYS, then deleted by the maintenance worker.
import type { SqlClient } from '../store/database.ts';
import { newId } from '../api/ids.ts';
import type { StaffRole } from './roles.ts';

/** How long audit events are kept: 400 days, so a year's review always finds the whole year. */
export const STAFF_AUDIT_RETENTION_DAYS = 400;

/** `unknown`: the request started and no answer was recorded (still running, or the process stopped). */
export type AuditOutcome = 'succeeded' | 'refused' | 'failed' | 'unknown';

/** The person an event is about: set on the request once their session (or their sign-in) is known. */
export interface AuditActor {
  userId: string;
  email: string;
  role: StaffRole;
  /** The merchant whose staff the person is; null for the operator's staff. */
  merchantId: string | null;
  livemode: boolean;
}

/** What is known of a request before it runs. */
export interface AuditEventStart {
  actor: AuditActor;
  /** `METHOD /route/pattern`, e.g. `POST /v1/refunds/:id/approve`. */
  action: string;
  /** The path called, without its query string. */
  path: string;
  requestId: string;
  ipAddress: string | null;
}

export interface AuditEventInput extends AuditEventStart {
  statusCode: number;
  errorCode: string | null;
}

/** How the API plumbing writes the log (src/api/http.ts). */
export interface AuditLog {
  /** Writes an event ahead of the request it describes (outcome `unknown`); returns its id. */
  begin(start: AuditEventStart): Promise<string>;
  /** Completes an event written ahead with the answer's status. */
  end(id: string, statusCode: number, errorCode: string | null): Promise<void>;
  /** Writes a complete event (a request refused before its handler, a sign-in). */
  record(event: AuditEventInput): Promise<void>;
}

export function createAuditLog(db: SqlClient): AuditLog {
  return {
    begin: (start) => insertAuditEvent(db, start, null, null),
    async end(id, statusCode, errorCode) {
      await db.query(`UPDATE staff_audit_events SET outcome = $2, status_code = $3, error_code = $4 WHERE id = $1 AND outcome = 'unknown'`, [
        id,
        outcomeOf(statusCode),
        statusCode,
        errorCode,
      ]);
    },
    async record(event) {
      await insertAuditEvent(db, event, event.statusCode, event.errorCode);
    },
  };
}

export interface AuditEvent {
  id: string;
  merchantId: string | null;
  livemode: boolean;
  userId: string;
  email: string;
  role: string;
  action: string;
  path: string;
  outcome: AuditOutcome;
  /** null while the outcome is `unknown`. */
  statusCode: number | null;
  errorCode: string | null;
  requestId: string;
  ipAddress: string | null;
  createdAt: Date;
}

export function outcomeOf(statusCode: number): AuditOutcome {
  if (statusCode >= 500) return 'failed';
  return statusCode >= 400 ? 'refused' : 'succeeded';
}

async function insertAuditEvent(db: SqlClient, input: AuditEventStart, statusCode: number | null, errorCode: string | null): Promise<string> {
  const { actor } = input;
  const id = newId('sae');
  await db.query(
    `INSERT INTO staff_audit_events (id, merchant_id, livemode, user_id, email, role, action, path, outcome, status_code, error_code, request_id, ip_address)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
    [
      id, actor.merchantId, actor.livemode, actor.userId, actor.email, actor.role, input.action.slice(0, 300),
      input.path.slice(0, 500), statusCode === null ? 'unknown' : outcomeOf(statusCode), statusCode, errorCode, input.requestId, input.ipAddress,
    ],
  );
  return id;
}

interface AuditRow {
  id: string;
  merchant_id: string | null;
  livemode: boolean;
  user_id: string;
  email: string;
  role: string;
  action: string;
  path: string;
  outcome: AuditOutcome;
  status_code: number | null;
  error_code: string | null;
  request_id: string;
  ip_address: string | null;
  created_at: Date;
}

/** One team's events newest first (`merchantId` null: the operator's team), optionally one person's;
 * `startingAfter` names the last event of the previous page (of the same team). */
export async function listAuditEvents(
  db: SqlClient,
  filter: { merchantId: string | null; userId?: string; startingAfter?: string; limit: number },
): Promise<{ data: AuditEvent[]; hasMore: boolean }> {
  const { rows } = await db.query<AuditRow>(
    `SELECT id, merchant_id, livemode, user_id, email, role, action, path, outcome, status_code, error_code, request_id, ip_address, created_at
     FROM staff_audit_events
     WHERE merchant_id IS NOT DISTINCT FROM $1::text
       AND ($2::text IS NULL OR user_id = $2)
       AND ($3::text IS NULL OR seq < (SELECT seq FROM staff_audit_events WHERE id = $3 AND merchant_id IS NOT DISTINCT FROM $1::text))
     ORDER BY seq DESC LIMIT $4`,
    [filter.merchantId, filter.userId ?? null, filter.startingAfter ?? null, filter.limit + 1],
  );
  const data = rows.slice(0, filter.limit).map((row) => ({
    id: row.id,
    merchantId: row.merchant_id,
    livemode: row.livemode,
    userId: row.user_id,
    email: row.email,
    role: row.role,
    action: row.action,
    path: row.path,
    outcome: row.outcome,
    statusCode: row.status_code,
    errorCode: row.error_code,
    requestId: row.request_id,
    ipAddress: row.ip_address,
    createdAt: row.created_at,
  }));
  return { data, hasMore: rows.length > filter.limit };
}

/** Deletes events past the retention period, oldest first; returns how many. */
export async function sweepAuditEvents(db: SqlClient, batchMax: number, retentionDays = STAFF_AUDIT_RETENTION_DAYS): Promise<number> {
  const { rowCount } = await db.query(
    `DELETE FROM staff_audit_events WHERE seq = ANY (ARRAY(
       SELECT seq FROM staff_audit_events WHERE created_at < now() - make_interval(days => $1) ORDER BY created_at LIMIT $2))`,
    [retentionDays, batchMax],
  );
  return rowCount;
}
