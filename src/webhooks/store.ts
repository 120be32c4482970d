// SQL of webhook endpoints, deliveries and attempts. Transactions that touch both an endpoint and its
// deliveries lock the endpoint first, so the worker, the API and a disabling never deadlock.
import type { SqlClient } from '../store/database.ts';
import type { EventRecord } from '../events/model.ts';
import type { DeliveryAttempt, DeliveryStatus, DisabledReason, WebhookDelivery, WebhookEndpoint } from './model.ts';

export interface Scope {
  merchantId: string;
  livemode: boolean;
}

interface EndpointRow {
  id: string;
  merchant_id: string;
  livemode: boolean;
  url: string;
  description: string | null;
  enabled_events: string[];
  status: WebhookEndpoint['status'];
  disabled_reason: DisabledReason | null;
  previous_secret_expires_at: Date | null;
  created_at: Date;
}

/** An endpoint with its sealed secrets, for signing. */
export interface EndpointSecrets {
  secretSealed: string;
  previousSecretSealed: string | null;
  previousSecretExpiresAt: Date | null;
}

const ENDPOINT_COLUMNS = 'id, merchant_id, livemode, url, description, enabled_events, status, disabled_reason, previous_secret_expires_at, created_at';

function endpointOf(row: EndpointRow): WebhookEndpoint {
  return {
    id: row.id,
    merchantId: row.merchant_id,
    livemode: row.livemode,
    url: row.url,
    description: row.description,
    enabledEvents: row.enabled_events,
    status: row.status,
    disabledReason: row.disabled_reason,
    previousSecretExpiresAt: row.previous_secret_expires_at,
    createdAt: row.created_at,
  };
}

export async function countEndpoints(tx: SqlClient, scope: Scope): Promise<number> {
  // One creation at a time per merchant and mode, so the limit holds across processes.
  await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`webhook_endpoints:${scope.merchantId}:${scope.livemode}`]);
  const { rows } = await tx.query<{ count: bigint }>(
    'SELECT count(*) AS count FROM webhook_endpoints WHERE merchant_id = $1 AND livemode = $2 AND deleted_at IS NULL',
    [scope.merchantId, scope.livemode],
  );
  return Number(rows[0]!.count);
}

export async function insertEndpoint(
  tx: SqlClient,
  endpoint: { id: string; scope: Scope; url: string; description: string | null; enabledEvents: string[]; secretSealed: string },
): Promise<boolean> {
  const { rowCount } = await tx.query(
    `INSERT INTO webhook_endpoints (id, merchant_id, livemode, url, description, enabled_events, secret_sealed)
     VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (id) DO NOTHING`,
    [endpoint.id, endpoint.scope.merchantId, endpoint.scope.livemode, endpoint.url, endpoint.description, endpoint.enabledEvents, endpoint.secretSealed],
  );
  return rowCount === 1;
}

/** The endpoint if it belongs to `scope` and is not deleted; `lock` takes its row lock (in a transaction). */
export async function getEndpoint(db: SqlClient, scope: Scope, id: string, options: { lock?: boolean } = {}): Promise<(WebhookEndpoint & EndpointSecrets) | null> {
  const { rows } = await db.query<EndpointRow & { secret_sealed: string; previous_secret_sealed: string | null }>(
    `SELECT ${ENDPOINT_COLUMNS}, secret_sealed, previous_secret_sealed FROM webhook_endpoints
     WHERE id = $1 AND merchant_id = $2 AND livemode = $3 AND deleted_at IS NULL ${options.lock ? 'FOR UPDATE' : ''}`,
    [id, scope.merchantId, scope.livemode],
  );
  const row = rows[0];
  if (!row) return null;
  return { ...endpointOf(row), secretSealed: row.secret_sealed, previousSecretSealed: row.previous_secret_sealed, previousSecretExpiresAt: row.previous_secret_expires_at };
}

export async function listEndpoints(db: SqlClient, scope: Scope, options: { limit: number; startingAfter?: string }): Promise<{ data: WebhookEndpoint[]; hasMore: boolean }> {
  const { rows } = await db.query<EndpointRow>(
    `SELECT ${ENDPOINT_COLUMNS} FROM webhook_endpoints
     WHERE merchant_id = $1 AND livemode = $2 AND deleted_at IS NULL
       AND ($3::text IS NULL OR seq > (SELECT seq FROM webhook_endpoints WHERE id = $3 AND merchant_id = $1 AND livemode = $2))
     ORDER BY seq LIMIT $4`,
    [scope.merchantId, scope.livemode, options.startingAfter ?? null, options.limit + 1],
  );
  return { data: rows.slice(0, options.limit).map(endpointOf), hasMore: rows.length > options.limit };
}

export interface EndpointChanges {
  url?: string;
  description?: string | null;
  enabledEvents?: string[];
}

export async function updateEndpoint(tx: SqlClient, id: string, changes: EndpointChanges): Promise<void> {
  await tx.query(
    `UPDATE webhook_endpoints SET url = coalesce($2, url),
       description = CASE WHEN $3::boolean THEN $4 ELSE description END,
       enabled_events = coalesce($5, enabled_events), updated_at = now()
     WHERE id = $1`,
    [id, changes.url ?? null, changes.description !== undefined, changes.description ?? null, changes.enabledEvents ?? null],
  );
}

/** Disables the endpoint (locked by the caller) and ends its pending deliveries as failed: they can be
 * retried by hand once it is enabled again. Returns false if it was already disabled. */
export async function disableEndpoint(tx: SqlClient, id: string, reason: DisabledReason): Promise<boolean> {
  const { rowCount } = await tx.query(
    `UPDATE webhook_endpoints SET status = 'disabled', disabled_reason = $2, disabled_at = now(), updated_at = now()
     WHERE id = $1 AND status = 'enabled'`,
    [id, reason],
  );
  if (rowCount === 0) return false;
  await failPendingDeliveries(tx, id, 'endpoint_disabled: the endpoint was disabled before this delivery succeeded');
  return true;
}

async function failPendingDeliveries(tx: SqlClient, endpointId: string, error: string): Promise<void> {
  await tx.query(
    `UPDATE webhook_deliveries SET status = 'failed', next_attempt_at = NULL, locked_until = NULL, error = $2, updated_at = now()
     WHERE endpoint_id = $1 AND status = 'pending'`,
    [endpointId, error],
  );
}

export async function enableEndpoint(tx: SqlClient, id: string): Promise<void> {
  await tx.query(
    `UPDATE webhook_endpoints SET status = 'enabled', disabled_reason = NULL, disabled_at = NULL, failing_since = NULL,
       exhausted_deliveries_in_row = 0, updated_at = now()
     WHERE id = $1 AND status = 'disabled'`,
    [id],
  );
}

export async function rotateSecret(tx: SqlClient, id: string, sealed: { current: string; previous: string | null }, overlapSeconds: number): Promise<void> {
  await tx.query(
    `UPDATE webhook_endpoints SET secret_sealed = $2, previous_secret_sealed = $3,
       previous_secret_expires_at = CASE WHEN $3::text IS NULL THEN NULL ELSE now() + make_interval(secs => $4) END, updated_at = now()
     WHERE id = $1`,
    [id, sealed.current, overlapSeconds > 0 ? sealed.previous : null, overlapSeconds],
  );
}

/** Deletes the endpoint as far as the merchant can tell: its secrets are erased at once, its pending
 * deliveries end, and the row goes with its log at the retention sweep. */
export async function deleteEndpoint(tx: SqlClient, id: string): Promise<void> {
  await tx.query(
    `UPDATE webhook_endpoints SET deleted_at = now(), secret_sealed = NULL, previous_secret_sealed = NULL,
       previous_secret_expires_at = NULL, updated_at = now()
     WHERE id = $1 AND deleted_at IS NULL`,
    [id],
  );
  await failPendingDeliveries(tx, id, 'endpoint_deleted: the endpoint was deleted before this delivery succeeded');
}

interface DeliveryRow {
  id: string;
  endpoint_id: string;
  event_id: string;
  event_type: string;
  livemode: boolean;
  status: DeliveryStatus;
  attempts: number;
  next_attempt_at: Date | null;
  locked_until: Date | null;
  last_attempt_at: Date | null;
  response_status: number | null;
  response_body: string | null;
  latency_ms: number | null;
  error: string | null;
  created_at: Date;
}

const DELIVERY_COLUMNS = `d.id, d.endpoint_id, d.event_id, d.event_type, d.livemode, d.status, d.attempts, d.next_attempt_at,
  d.locked_until, d.last_attempt_at, d.response_status, d.response_body, d.latency_ms, d.error, d.created_at`;

function deliveryOf(row: DeliveryRow): WebhookDelivery {
  return {
    id: row.id,
    endpointId: row.endpoint_id,
    eventId: row.event_id,
    eventType: row.event_type,
    livemode: row.livemode,
    status: row.status,
    attempts: row.attempts,
    nextAttemptAt: row.next_attempt_at,
    lockedUntil: row.locked_until,
    lastAttemptAt: row.last_attempt_at,
    responseStatus: row.response_status,
    responseBody: row.response_body,
    latencyMs: row.latency_ms,
    error: row.error,
    createdAt: row.created_at,
  };
}

export async function listDeliveries(
  db: SqlClient,
  endpointId: string,
  options: { limit: number; startingAfter?: string; status?: DeliveryStatus; eventId?: string },
): Promise<{ data: WebhookDelivery[]; hasMore: boolean }> {
  const { rows } = await db.query<DeliveryRow>(
    `SELECT ${DELIVERY_COLUMNS} FROM webhook_deliveries d
     WHERE d.endpoint_id = $1
       AND ($2::text IS NULL OR d.seq < (SELECT seq FROM webhook_deliveries WHERE id = $2 AND endpoint_id = $1))
       AND ($3::text IS NULL OR d.status = $3)
       AND ($4::text IS NULL OR d.event_id = $4)
     ORDER BY d.seq DESC LIMIT $5`,
    [endpointId, options.startingAfter ?? null, options.status ?? null, options.eventId ?? null, options.limit + 1],
  );
  return { data: rows.slice(0, options.limit).map(deliveryOf), hasMore: rows.length > options.limit };
}

/** The delivery if its endpoint belongs to `scope` and is not deleted. */
export async function getDelivery(db: SqlClient, scope: Scope, id: string): Promise<WebhookDelivery | null> {
  const { rows } = await db.query<DeliveryRow>(
    `SELECT ${DELIVERY_COLUMNS} FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id
     WHERE d.id = $1 AND e.merchant_id = $2 AND e.livemode = $3 AND e.deleted_at IS NULL`,
    [id, scope.merchantId, scope.livemode],
  );
  return rows[0] ? deliveryOf(rows[0]) : null;
}

export async function getDeliveryOf(db: SqlClient, endpointId: string, eventId: string): Promise<WebhookDelivery | null> {
  const { rows } = await db.query<DeliveryRow>(
    `SELECT ${DELIVERY_COLUMNS} FROM webhook_deliveries d WHERE d.endpoint_id = $1 AND d.event_id = $2`,
    [endpointId, eventId],
  );
  return rows[0] ? deliveryOf(rows[0]) : null;
}

export async function attemptsOf(db: SqlClient, deliveryId: string, limit: number): Promise<DeliveryAttempt[]> {
  const { rows } = await db.query<{ attempt: number; started_at: Date; response_status: number | null; response_body: string | null; latency_ms: number; error: string | null }>(
    `SELECT attempt, started_at, response_status, response_body, latency_ms, error FROM webhook_delivery_attempts
     WHERE delivery_id = $1 ORDER BY attempt DESC LIMIT $2`,
    [deliveryId, limit],
  );
  return rows.reverse().map((row) => ({
    attempt: row.attempt,
    startedAt: row.started_at,
    responseStatus: row.response_status,
    responseBody: row.response_body,
    latencyMs: row.latency_ms,
    error: row.error,
  }));
}

/** The delivery id of an (event, endpoint) pair: derived, so each pair has one delivery. */
const DELIVERY_ID_SQL = (endpoint: string, event: string) => `'whd_' || left(encode(sha256(convert_to(${endpoint} || '|' || ${event}, 'UTF8')), 'hex'), 26)`;

/** Creates the delivery of `eventId` to the endpoint (locked by the caller) if there is none, due now. */
export async function insertDelivery(tx: SqlClient, endpoint: WebhookEndpoint, eventId: string, attemptsMax: number): Promise<void> {
  await tx.query(
    `INSERT INTO webhook_deliveries (id, endpoint_id, event_id, merchant_id, livemode, event_type, attempts_max, next_attempt_at)
     SELECT ${DELIVERY_ID_SQL('$1::text', 'ev.id')}, $1, ev.id, ev.merchant_id, ev.livemode, ev.type, $3, now()
     FROM events ev WHERE ev.id = $2
     ON CONFLICT (event_id, endpoint_id) DO NOTHING`,
    [endpoint.id, eventId, attemptsMax],
  );
}

/** Makes a delivery due now: a waiting retry is brought forward; a finished delivery gets one more
 * attempt. A delivery with an attempt running is left alone. Returns false when it had no attempt left. */
export async function retryDelivery(tx: SqlClient, deliveryId: string, attemptsPerDeliveryMax: number): Promise<boolean> {
  const { rowCount } = await tx.query(
    `UPDATE webhook_deliveries SET
       attempts_max = CASE WHEN status = 'pending' THEN attempts_max ELSE attempts + 1 END,
       status = 'pending', next_attempt_at = now(), updated_at = now()
     WHERE id = $1 AND attempts < $2 AND (locked_until IS NULL OR locked_until < now())`,
    [deliveryId, attemptsPerDeliveryMax],
  );
  if (rowCount === 1) return true;
  const { rows } = await tx.query<{ attempts: number }>('SELECT attempts FROM webhook_deliveries WHERE id = $1', [deliveryId]);
  return (rows[0]?.attempts ?? 0) < attemptsPerDeliveryMax;
}

// The worker's statements.

/** The horizon of the fan-out: the oldest transaction that was running when the statement's snapshot
 * was taken, or the snapshot's xmax. Every event below it that will ever commit is visible now; events
 * at or above it wait. Transactions seen running in another database of the server are left out, so
 * that another application's long transaction does not hold webhooks back; one that cannot be placed
 * (finished since, prepared, or hidden for lack of privilege) counts, which only delays. */
const FAN_OUT_HORIZON_SQL = `coalesce(
  (SELECT min(running) FROM pg_snapshot_xip(pg_current_snapshot()) AS running
   WHERE NOT EXISTS (SELECT 1 FROM pg_stat_activity activity
                     WHERE activity.backend_xid = running::xid AND activity.datname IS DISTINCT FROM current_database())),
  pg_snapshot_xmax(pg_current_snapshot()))`;

/** Fans up to `batchMax` events out to the enabled endpoints that want them (one delivery per pair) and
 * moves the cursor past them. Only events below the horizon are taken, in (xid, seq) order, so an event
 * committed late by a transaction that started early is not passed by. One process fans out at a time
 * (the cursor row, SKIP LOCKED); the others go on to deliver. An endpoint receives the events created
 * after it. Returns how many events it took. */
export async function fanOut(db: SqlClient, batchMax: number, attemptsMax: number): Promise<number> {
  // Data-modifying parts of a WITH run to completion whether or not the final SELECT reads them.
  const { rows } = await db.query<{ events: bigint }>(
    `WITH cursor AS (
       -- LIMIT 1 tells the planner there is one row: a bare scan of the unanalysed one-row table is
       -- estimated at hundreds, which inflates every estimate above and makes PostgreSQL JIT-compile.
       SELECT xid, seq FROM webhook_fan_out_cursor LIMIT 1 FOR UPDATE SKIP LOCKED
     ), picked AS (
       -- LATERAL, so that the cursor is the start of the index scan rather than a filter after it.
       SELECT next.* FROM cursor CROSS JOIN (SELECT ${FAN_OUT_HORIZON_SQL} AS xid) AS horizon CROSS JOIN LATERAL (
         SELECT e.id, e.xid, e.seq, e.merchant_id, e.livemode, e.type, e.created_at FROM events e
         WHERE (e.xid, e.seq) > (cursor.xid, cursor.seq) AND e.xid < horizon.xid
         ORDER BY e.xid, e.seq LIMIT $1
       ) AS next
     ), advanced AS (
       UPDATE webhook_fan_out_cursor SET (xid, seq) = (SELECT xid, seq FROM picked ORDER BY xid DESC, seq DESC LIMIT 1)
       WHERE EXISTS (SELECT 1 FROM picked)
     ), inserted AS (
       INSERT INTO webhook_deliveries (id, endpoint_id, event_id, merchant_id, livemode, event_type, attempts_max, next_attempt_at)
       SELECT ${DELIVERY_ID_SQL('we.id', 'picked.id')}, we.id, picked.id, picked.merchant_id, picked.livemode, picked.type, $2, now()
       FROM picked JOIN webhook_endpoints we
         ON we.merchant_id = picked.merchant_id AND we.livemode = picked.livemode
        AND we.status = 'enabled' AND we.deleted_at IS NULL AND we.created_at <= picked.created_at
        AND EXISTS (
          SELECT 1 FROM unnest(we.enabled_events) AS selector
          WHERE selector = '*' OR selector = picked.type
             OR (right(selector, 2) = '.*' AND starts_with(picked.type, left(selector, -1))))
       ORDER BY picked.xid, picked.seq, we.seq
       ON CONFLICT (event_id, endpoint_id) DO NOTHING
     )
     SELECT count(*) AS events FROM picked`,
    [batchMax, attemptsMax],
  );
  return Number(rows[0]!.events);
}

/** Attempts beyond `attempts_max` allowed for deliveries whose last attempt was lost (its worker died
 * before recording it): the lost attempt may never have reached the receiver. */
export const LOST_ATTEMPTS_EXTRA = 3;
/** A due delivery may be claimed while it has attempts left; one whose last attempt was lost (still
 * leased, lease over) gets a few more. The sweep ends the others. */
const CLAIMABLE_SQL = `(attempts < attempts_max OR (locked_until IS NOT NULL AND attempts < attempts_max + ${LOST_ATTEMPTS_EXTRA}))`;

export interface ClaimedDelivery {
  id: string;
  attempt: number;
  attemptsMax: number;
  eventId: string;
  endpoint: { id: string; url: string; livemode: boolean; status: string; deleted: boolean } & EndpointSecrets;
  event: EventRecord;
}

/** Claims up to `limit` due deliveries for one attempt each, leasing them for `leaseSeconds`: the
 * attempt count is the claim's token, so a late answer after the lease was taken over changes nothing. */
export async function claimDue(db: SqlClient, limit: number, leaseSeconds: number): Promise<ClaimedDelivery[]> {
  const { rows } = await db.query<{
    id: string;
    attempts: number;
    attempts_max: number;
    event_id: string;
    endpoint_id: string;
    url: string;
    endpoint_livemode: boolean;
    endpoint_status: string;
    deleted: boolean;
    secret_sealed: string | null;
    previous_secret_sealed: string | null;
    previous_secret_expires_at: Date | null;
    event_merchant_id: string;
    type: string;
    data: { object: Record<string, unknown> };
    event_created_at: Date;
  }>(
    `WITH due AS (
       SELECT id FROM webhook_deliveries
       WHERE status = 'pending' AND next_attempt_at <= now() AND ${CLAIMABLE_SQL}
       ORDER BY next_attempt_at LIMIT $1 FOR UPDATE SKIP LOCKED
     ), claimed AS (
       UPDATE webhook_deliveries d SET attempts = d.attempts + 1, next_attempt_at = now() + make_interval(secs => $2),
         locked_until = now() + make_interval(secs => $2), updated_at = now()
       FROM due WHERE d.id = due.id
       RETURNING d.id, d.attempts, d.attempts_max, d.event_id, d.endpoint_id
     )
     SELECT c.id, c.attempts, c.attempts_max, c.event_id, c.endpoint_id, e.url, e.livemode AS endpoint_livemode,
       e.status AS endpoint_status, e.deleted_at IS NOT NULL AS deleted, e.secret_sealed, e.previous_secret_sealed,
       e.previous_secret_expires_at, ev.merchant_id AS event_merchant_id, ev.type, ev.data, ev.created_at AS event_created_at
     FROM claimed c JOIN webhook_endpoints e ON e.id = c.endpoint_id JOIN events ev ON ev.id = c.event_id`,
    [limit, leaseSeconds],
  );
  return rows.map((row) => ({
    id: row.id,
    attempt: row.attempts,
    attemptsMax: row.attempts_max,
    eventId: row.event_id,
    endpoint: {
      id: row.endpoint_id,
      url: row.url,
      livemode: row.endpoint_livemode,
      status: row.endpoint_status,
      deleted: row.deleted,
      secretSealed: row.secret_sealed ?? '',
      previousSecretSealed: row.previous_secret_sealed,
      previousSecretExpiresAt: row.previous_secret_expires_at,
    },
    event: { id: row.event_id, merchantId: row.event_merchant_id, livemode: row.endpoint_livemode, type: row.type, data: row.data, createdAt: row.event_created_at },
  }));
}

export interface AttemptOutcome {
  deliveryId: string;
  endpointId: string;
  attempt: number;
  startedAt: Date;
  succeeded: boolean;
  responseStatus: number | null;
  responseBody: string | null;
  latencyMs: number;
  error: string | null;
  /** When to try again, or null to give up (the delivery fails). Ignored on success. */
  retryInMs: number | null;
}

/** Records one attempt and moves the delivery on. Returns whether the delivery was still this attempt's
 * (false when its lease had been taken over or it was ended meanwhile; the attempt is logged anyway). */
export async function recordAttempt(tx: SqlClient, outcome: AttemptOutcome): Promise<boolean> {
  await tx.query(
    `INSERT INTO webhook_delivery_attempts (delivery_id, attempt, started_at, response_status, response_body, latency_ms, error)
     SELECT $1, $2, $3, $4, $5, $6, $7 WHERE EXISTS (SELECT 1 FROM webhook_deliveries WHERE id = $1)
     ON CONFLICT (delivery_id, attempt) DO NOTHING`,
    [outcome.deliveryId, outcome.attempt, outcome.startedAt, outcome.responseStatus, outcome.responseBody, outcome.latencyMs, outcome.error],
  );
  const status = outcome.succeeded ? 'succeeded' : outcome.retryInMs === null ? 'failed' : 'pending';
  const { rowCount } = await tx.query(
    `UPDATE webhook_deliveries SET status = $3::text,
       next_attempt_at = CASE WHEN $3::text = 'pending' THEN now() + make_interval(secs => $4::double precision / 1000) END,
       locked_until = NULL, last_attempt_at = $5, response_status = $6, response_body = $7, latency_ms = $8, error = $9,
       updated_at = now()
     WHERE id = $1 AND attempts = $2 AND status = 'pending'`,
    [outcome.deliveryId, outcome.attempt, status, outcome.retryInMs ?? 0, outcome.startedAt, outcome.responseStatus, outcome.responseBody, outcome.latencyMs, outcome.error],
  );
  return rowCount === 1;
}

export interface EndpointHealth {
  status: string;
  failingSince: Date | null;
  exhaustedDeliveriesInRow: number;
}

/** Locks the endpoint row (first, before any delivery row) and reads its health. */
export async function lockEndpointHealth(tx: SqlClient, endpointId: string): Promise<EndpointHealth | null> {
  const { rows } = await tx.query<{ status: string; failing_since: Date | null; exhausted_deliveries_in_row: number; deleted: boolean }>(
    `SELECT status, failing_since, exhausted_deliveries_in_row, deleted_at IS NOT NULL AS deleted FROM webhook_endpoints WHERE id = $1 FOR UPDATE`,
    [endpointId],
  );
  const row = rows[0];
  if (!row || row.deleted) return null;
  return { status: row.status, failingSince: row.failing_since, exhaustedDeliveriesInRow: row.exhausted_deliveries_in_row };
}

export async function markEndpointHealthy(tx: SqlClient, endpointId: string): Promise<void> {
  await tx.query(
    `UPDATE webhook_endpoints SET failing_since = NULL, exhausted_deliveries_in_row = 0
     WHERE id = $1 AND (failing_since IS NOT NULL OR exhausted_deliveries_in_row > 0)`,
    [endpointId],
  );
}

export async function markEndpointFailing(tx: SqlClient, endpointId: string, since: Date, exhausted: boolean): Promise<EndpointHealth> {
  const { rows } = await tx.query<{ status: string; failing_since: Date; exhausted_deliveries_in_row: number }>(
    `UPDATE webhook_endpoints SET failing_since = coalesce(failing_since, $2),
       exhausted_deliveries_in_row = exhausted_deliveries_in_row + CASE WHEN $3::boolean THEN 1 ELSE 0 END
     WHERE id = $1 RETURNING status, failing_since, exhausted_deliveries_in_row`,
    [endpointId, since, exhausted],
  );
  const row = rows[0]!;
  return { status: row.status, failingSince: row.failing_since, exhaustedDeliveriesInRow: row.exhausted_deliveries_in_row };
}

/** The endpoint as the API shows it, by id alone (for the event that announces its disabling). */
export async function endpointById(db: SqlClient, id: string): Promise<WebhookEndpoint | null> {
  const { rows } = await db.query<EndpointRow>(`SELECT ${ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE id = $1`, [id]);
  return rows[0] ? endpointOf(rows[0]) : null;
}

/** Ends due deliveries that may not be claimed any more (their attempts were lost), removes finished
 * deliveries older than the retention, then deleted endpoints with no delivery left. */
export async function sweep(db: SqlClient, retentionDays: number, batchMax: number): Promise<number> {
  const lost = await db.query(
    `UPDATE webhook_deliveries SET status = 'failed', next_attempt_at = NULL, locked_until = NULL, updated_at = now(),
       error = 'attempts_lost: the last attempts were interrupted before their answers were recorded'
     WHERE id = ANY (ARRAY(
       SELECT id FROM webhook_deliveries WHERE status = 'pending' AND next_attempt_at <= now() AND NOT ${CLAIMABLE_SQL}
       LIMIT $1))
       AND status = 'pending' AND NOT ${CLAIMABLE_SQL}`,
    [batchMax],
  );
  const deliveries = await db.query(
    `DELETE FROM webhook_deliveries WHERE id = ANY (ARRAY(
       SELECT id FROM webhook_deliveries WHERE status <> 'pending' AND updated_at < now() - make_interval(days => $1)
       ORDER BY updated_at LIMIT $2))
       AND status <> 'pending'`,
    [retentionDays, batchMax],
  );
  const endpoints = await db.query(
    `DELETE FROM webhook_endpoints we WHERE we.id = ANY (ARRAY(
       SELECT e.id FROM webhook_endpoints e WHERE e.deleted_at IS NOT NULL
         AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.endpoint_id = e.id) LIMIT $1))`,
    [batchMax],
  );
  return lost.rowCount + deliveries.rowCount + endpoints.rowCount;
}
