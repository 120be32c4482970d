// API keys: created with a secret shown once, stored as a SHA-256 digest, scoped (write or read),
// per mode (test or live), rotatable with an overlap, revocable. `authenticate` turns a presented key
// into the principal a request acts as.
import { hash } from 'node:crypto';
import type { SqlClient } from '../store/database.ts';
import { newId, randomBase62 } from '../api/ids.ts';
import type { StaffIdentity } from '../staff/model.ts';

export type KeyKind = 'secret' | 'publishable' | 'operator';
export type KeyScope = 'write' | 'read';

/** Who a request acts as. A staff session (`mss_...`, src/staff/) is one of these two kinds too, with
 * `staff` set (and its user's id as `keyId`); an API key's principal has no `staff`. */
export type Principal =
  | { kind: 'operator'; keyId: string; scope: KeyScope; livemode: boolean; staff?: StaffIdentity }
  | { kind: 'merchant'; keyId: string; keyKind: 'secret' | 'publishable'; scope: KeyScope; livemode: boolean; merchantId: string; staff?: StaffIdentity };

export interface ApiKey {
  id: string;
  merchantId: string | null;
  kind: KeyKind;
  livemode: boolean;
  scope: KeyScope;
  last4: string;
  name: string | null;
  createdAt: Date;
  expiresAt: Date | null;
  revokedAt: Date | null;
}

export interface CreatedKey {
  key: ApiKey;
  /** The full secret: returned once, never stored. */
  secret: string;
}

export interface CreateKeyInput {
  merchantId: string | null;
  kind: KeyKind;
  livemode: boolean;
  scope?: KeyScope;
  name?: string | null;
}

export interface AuthService {
  createKey(input: CreateKeyInput): Promise<CreatedKey>;
  authenticate(secret: string): Promise<Principal | null>;
  /** The keys of `merchantId` (null: the operator's) in `livemode`; of both modes when `livemode` is omitted. */
  listKeys(merchantId: string | null, livemode?: boolean): Promise<ApiKey[]>;
  /** A key of `merchantId` in `livemode`: a key of another merchant or the other mode is null, as if absent. */
  getKey(id: string, merchantId: string | null, livemode: boolean): Promise<ApiKey | null>;
  /** Issues a replacement with the same kind, mode and scope; the old key keeps working `overlapSeconds`. */
  rollKey(id: string, merchantId: string | null, livemode: boolean, overlapSeconds: number): Promise<CreatedKey | null>;
  revokeKey(id: string, merchantId: string | null, livemode: boolean): Promise<ApiKey | null>;
}

/** How long a verified key is trusted without asking the database again (revocation reaches other
 * processes within this time; the process that revokes forgets at once). */
const AUTH_CACHE_TTL_MS = 10_000;
const AUTH_CACHE_SIZE_MAX = 10_000;
const SECRET_BYTES = 24;

function prefixOf(kind: KeyKind, livemode: boolean): string {
  if (kind === 'operator') return 'op_';
  return `${kind === 'secret' ? 'sk' : 'pk'}_${livemode ? 'live' : 'test'}_`;
}

function digestOf(secret: string): Buffer {
  return hash('sha256', secret, 'buffer');
}

interface KeyRow {
  id: string;
  merchant_id: string | null;
  kind: KeyKind;
  livemode: boolean;
  scope: KeyScope;
  last4: string;
  name: string | null;
  created_at: Date;
  expires_at: Date | null;
  revoked_at: Date | null;
}

const KEY_COLUMNS = 'id, merchant_id, kind, livemode, scope, last4, name, created_at, expires_at, revoked_at';

function keyOf(row: KeyRow): ApiKey {
  return {
    id: row.id,
    merchantId: row.merchant_id,
    kind: row.kind,
    livemode: row.livemode,
    scope: row.scope,
    last4: row.last4,
    name: row.name,
    createdAt: row.created_at,
    expiresAt: row.expires_at,
    revokedAt: row.revoked_at,
  };
}

function principalOf(key: ApiKey): Principal {
  if (key.kind === 'operator') return { kind: 'operator', keyId: key.id, scope: key.scope, livemode: key.livemode };
  return {
    kind: 'merchant',
    keyId: key.id,
    keyKind: key.kind,
    scope: key.scope,
    livemode: key.livemode,
    merchantId: key.merchantId!,
  };
}

export function createAuthService({ db }: { db: SqlClient }): AuthService {
  const cache = new Map<string, { principal: Principal | null; expiresAtMs: number; keyExpiresAtMs: number | null }>();

  async function insertKey(input: CreateKeyInput): Promise<CreatedKey> {
    const secret = prefixOf(input.kind, input.livemode) + randomBase62(SECRET_BYTES);
    const { rows } = await db.query<KeyRow>(
      `INSERT INTO api_keys (id, merchant_id, kind, livemode, scope, secret_digest, last4, name)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING ${KEY_COLUMNS}`,
      [
        newId('key'),
        input.merchantId,
        input.kind,
        input.livemode,
        input.kind === 'publishable' ? 'read' : (input.scope ?? 'write'),
        digestOf(secret),
        secret.slice(-4),
        input.name ?? null,
      ],
    );
    return { key: keyOf(rows[0]!), secret };
  }

  async function getKey(id: string, merchantId: string | null, livemode: boolean): Promise<ApiKey | null> {
    const { rows } = await db.query<KeyRow>(
      `SELECT ${KEY_COLUMNS} FROM api_keys WHERE id = $1 AND merchant_id IS NOT DISTINCT FROM $2 AND livemode = $3`,
      [id, merchantId, livemode],
    );
    return rows[0] ? keyOf(rows[0]) : null;
  }

  return {
    createKey: insertKey,

    async authenticate(secret) {
      if (secret.length > 200 || !/^(sk_|pk_|op_)/.test(secret)) return null;
      const digest = digestOf(secret);
      const cacheKey = digest.toString('base64');
      const nowMs = Date.now();
      const cached = cache.get(cacheKey);
      if (cached && cached.expiresAtMs > nowMs && (cached.keyExpiresAtMs === null || cached.keyExpiresAtMs > nowMs)) {
        return cached.principal;
      }
      const { rows } = await db.query<KeyRow>(
        `SELECT ${KEY_COLUMNS} FROM api_keys
         WHERE secret_digest = $1 AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now())`,
        [digest],
      );
      const key = rows[0] ? keyOf(rows[0]) : null;
      if (cache.size >= AUTH_CACHE_SIZE_MAX) cache.clear();
      const principal = key ? principalOf(key) : null;
      cache.set(cacheKey, {
        principal,
        expiresAtMs: nowMs + AUTH_CACHE_TTL_MS,
        keyExpiresAtMs: key?.expiresAt ? key.expiresAt.getTime() : null,
      });
      return principal;
    },

    async listKeys(merchantId, livemode) {
      const { rows } = await db.query<KeyRow>(
        `SELECT ${KEY_COLUMNS} FROM api_keys
         WHERE merchant_id IS NOT DISTINCT FROM $1 AND ($2::boolean IS NULL OR livemode = $2::boolean) ORDER BY seq`,
        [merchantId, livemode ?? null],
      );
      return rows.map(keyOf);
    },

    getKey,

    async rollKey(id, merchantId, livemode, overlapSeconds) {
      const old = await getKey(id, merchantId, livemode);
      if (!old || old.revokedAt) return null;
      const created = await insertKey({ merchantId, kind: old.kind, livemode: old.livemode, scope: old.scope, name: old.name });
      await db.query(
        `UPDATE api_keys SET expires_at = LEAST(COALESCE(expires_at, 'infinity'), now() + make_interval(secs => $2))
         WHERE id = $1`,
        [id, overlapSeconds],
      );
      cache.clear();
      return created;
    },

    async revokeKey(id, merchantId, livemode) {
      const { rows } = await db.query<KeyRow>(
        `UPDATE api_keys SET revoked_at = COALESCE(revoked_at, now())
         WHERE id = $1 AND merchant_id IS NOT DISTINCT FROM $2 AND livemode = $3 RETURNING ${KEY_COLUMNS}`,
        [id, merchantId, livemode],
      );
      cache.clear();
      return rows[0] ? keyOf(rows[0]) : null;
    },
  };
}
