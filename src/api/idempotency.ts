// Idempotency-Key: the first request with a key reserves it (a row with a lease), runs, and stores its
// response, errors included; a repeat within 24 hours gets that response replayed, a repeat with other
// parameters is refused, and one arriving while the first still runs is told to retry. The unique row
// makes this hold across server processes. Objects a keyed request creates get ids derived from the key
// (`seed`), so that a request re-run after a crash (its lease expired, no response stored) lands on the
// same objects instead of creating new ones.
import { createHash } from 'node:crypto';
import type { SqlClient } from '../store/database.ts';

export const IDEMPOTENCY_KEY_LENGTH_MAX = 255;
export const IDEMPOTENCY_RETENTION_HOURS = 24;
/** How long a running request holds its key before another process may take the request over. */
export const IDEMPOTENCY_LEASE_SECONDS = 60;
const RESERVE_ATTEMPTS_MAX = 3;

export type Reservation =
  | { kind: 'reserved'; seed: string }
  | { kind: 'replay'; status: number; body: unknown }
  | { kind: 'reused' }
  | { kind: 'in_use' };

export interface IdempotencyStore {
  reserve(owner: string, key: string, requestDigest: string): Promise<Reservation>;
  complete(owner: string, key: string, status: number, body: unknown): Promise<void>;
  /** Releases a key whose request failed before it could answer (a crash of ours, not the caller's error). */
  release(owner: string, key: string): Promise<void>;
  /** Deletes records past the retention period; returns how many. */
  sweep(limit: number): Promise<number>;
}

export function requestDigest(method: string, path: string, body: unknown): string {
  return createHash('sha256').update(`${method} ${path}\n${JSON.stringify(body ?? null)}`).digest('base64url');
}

export function isValidIdempotencyKey(key: string): boolean {
  return key.length >= 1 && key.length <= IDEMPOTENCY_KEY_LENGTH_MAX && /^[\x21-\x7e]+$/.test(key);
}

interface KeyRow {
  request_digest: string;
  state: 'running' | 'done';
  response_status: number | null;
  response_body: unknown;
  taken: boolean;
}

export function createIdempotencyStore(db: SqlClient): IdempotencyStore {
  return {
    async reserve(owner, key, digest) {
      const seed = createHash('sha256').update(`${owner}\n${key}`).digest('base64url');
      // One statement: insert a new reservation, or take over an expired record or an abandoned lease
      // (same parameters only); otherwise report what is there.
      // A row committed by a concurrent request after this statement's snapshot is neither taken nor
      // seen; the statement is then run again with a fresh snapshot, which sees it.
      for (let attempt = 0; attempt < RESERVE_ATTEMPTS_MAX; attempt += 1) {
      const { rows } = await db.query<KeyRow>(
        `WITH taken AS (
           INSERT INTO idempotency_keys AS k (owner, key, request_digest, state, locked_until)
           VALUES ($1, $2, $3, 'running', now() + make_interval(secs => $4))
           ON CONFLICT (owner, key) DO UPDATE
             SET request_digest = EXCLUDED.request_digest, state = 'running', response_status = NULL,
                 response_body = NULL, locked_until = EXCLUDED.locked_until, created_at = now()
             WHERE k.created_at < now() - make_interval(hours => $5)
                OR (k.state = 'running' AND k.locked_until < now() AND k.request_digest = EXCLUDED.request_digest)
           RETURNING request_digest, state, response_status, response_body, true AS taken
         )
         SELECT * FROM taken
         UNION ALL
         SELECT request_digest, state, response_status, response_body, false AS taken
         FROM idempotency_keys WHERE owner = $1 AND key = $2 AND NOT EXISTS (SELECT 1 FROM taken)`,
        [owner, key, digest, IDEMPOTENCY_LEASE_SECONDS, IDEMPOTENCY_RETENTION_HOURS],
      );
      const row = rows[0];
      if (!row) continue;
      if (row.taken) return { kind: 'reserved', seed };
      if (row.request_digest !== digest) return { kind: 'reused' };
      if (row.state === 'done') return { kind: 'replay', status: row.response_status!, body: row.response_body };
      return { kind: 'in_use' };
      }
      throw new Error('idempotency reservation found no row after retries');
    },

    async complete(owner, key, status, body) {
      await db.query(
        `UPDATE idempotency_keys SET state = 'done', response_status = $3, response_body = $4
         WHERE owner = $1 AND key = $2`,
        [owner, key, status, JSON.stringify(body)],
      );
    },

    async release(owner, key) {
      await db.query(`DELETE FROM idempotency_keys WHERE owner = $1 AND key = $2 AND state = 'running'`, [owner, key]);
    },

    async sweep(limit) {
      const { rowCount } = await db.query(
        `DELETE FROM idempotency_keys WHERE ctid = ANY (ARRAY(
           SELECT ctid FROM idempotency_keys WHERE created_at < now() - make_interval(hours => $1) LIMIT $2))`,
        [IDEMPOTENCY_RETENTION_HOURS, limit],
      );
      return rowCount;
    },
  };
}
