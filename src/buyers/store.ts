// The SQL of buyer identity: buyers' addresses, passkeys, devices, sessions, ceremonies and one-time
// codes (migration 0008; 0025 and 0026 record through which key a session or a code was asked for).
// Only the buyer identity service uses it.
import type { SqlClient } from '../store/database.ts';
import type { BuyerProfile, BuyerSession } from './model.ts';

export interface PasskeyRow {
  id: string;
  buyer_id: string;
  credential_id: string;
  public_key: Uint8Array;
  counter: bigint;
  transports: string[];
  device_type: 'singleDevice' | 'multiDevice';
  backed_up: boolean;
  created_at: Date;
  last_used_at: Date | null;
  revoked_at: Date | null;
}

export interface DeviceRow {
  id: string;
  buyer_id: string;
  name: string;
  created_at: Date;
  last_seen_at: Date;
  revoked_at: Date | null;
}

export interface CeremonyRow {
  id: string;
  kind: 'registration' | 'authentication';
  livemode: boolean;
  challenge: string;
  buyer_id: string;
  session_id: string | null;
  email: string | null;
  phone: string | null;
  display_name: string | null;
  expired: boolean;
}

export interface CodeRow {
  id: string;
  buyer_id: string | null;
  livemode: boolean;
  purpose: 'sign_in' | 'payment';
  binding: string;
  code_digest: string;
  attempts: number;
  expired: boolean;
  used_at: Date | null;
  /** The merchant whose key asked for the code (null for payment codes, and codes from before migration 0026). */
  merchant_id: string | null;
  /** Asked for through the platform's wallet key. */
  wallet: boolean;
}

interface BuyerRow {
  id: string;
  livemode: boolean;
  email: string | null;
  phone: string | null;
  display_name: string | null;
  created_at: Date;
}

const PASSKEY_COLUMNS = 'id, buyer_id, credential_id, public_key, counter, transports, device_type, backed_up, created_at, last_used_at, revoked_at';
const DEVICE_COLUMNS = 'id, buyer_id, name, created_at, last_seen_at, revoked_at';
/** Devices and passkeys listed per buyer at most. */
export const BUYER_LIST_MAX = 100;

function profileOf(row: BuyerRow): BuyerProfile {
  return { id: row.id, livemode: row.livemode, email: row.email, phone: row.phone, displayName: row.display_name, createdAt: row.created_at };
}

export async function findBuyer(db: SqlClient, id: string): Promise<BuyerProfile | null> {
  const { rows } = await db.query<BuyerRow>('SELECT id, livemode, email, phone, display_name, created_at FROM buyers WHERE id = $1', [id]);
  return rows[0] ? profileOf(rows[0]) : null;
}

export async function findBuyerByAddress(db: SqlClient, livemode: boolean, field: 'email' | 'phone', address: string): Promise<BuyerProfile | null> {
  const { rows } = await db.query<BuyerRow>(
    `SELECT id, livemode, email, phone, display_name, created_at FROM buyers WHERE livemode = $1 AND ${field === 'email' ? 'email' : 'phone'} = $2`,
    [livemode, address],
  );
  return rows[0] ? profileOf(rows[0]) : null;
}

export async function insertBuyer(db: SqlClient, buyer: { id: string; livemode: boolean; email: string | null; phone: string | null; displayName: string | null }): Promise<void> {
  await db.query('INSERT INTO buyers (id, livemode, email, phone, display_name) VALUES ($1, $2, $3, $4, $5)', [
    buyer.id, buyer.livemode, buyer.email, buyer.phone, buyer.displayName,
  ]);
}

export async function countPasskeys(db: SqlClient, buyerId: string): Promise<number> {
  const { rows } = await db.query<{ count: bigint }>('SELECT count(*)::int8 AS count FROM buyer_passkeys WHERE buyer_id = $1 AND revoked_at IS NULL', [buyerId]);
  return Number(rows[0]?.count ?? 0n);
}

export async function livePasskeys(db: SqlClient, buyerId: string): Promise<PasskeyRow[]> {
  const { rows } = await db.query<PasskeyRow>(
    `SELECT ${PASSKEY_COLUMNS} FROM buyer_passkeys WHERE buyer_id = $1 AND revoked_at IS NULL ORDER BY created_at DESC LIMIT ${BUYER_LIST_MAX}`,
    [buyerId],
  );
  return rows;
}

/** Any passkey with this credential id, revoked or not (a credential id is registered once). */
export async function findPasskeyByCredential(db: SqlClient, credentialId: string): Promise<(PasskeyRow & { livemode: boolean }) | null> {
  const { rows } = await db.query<PasskeyRow & { livemode: boolean }>(
    `SELECT ${PASSKEY_COLUMNS.split(', ').map((column) => `p.${column}`).join(', ')}, b.livemode
     FROM buyer_passkeys p JOIN buyers b ON b.id = p.buyer_id WHERE p.credential_id = $1`,
    [credentialId],
  );
  return rows[0] ?? null;
}

export async function insertPasskey(db: SqlClient, passkey: Omit<PasskeyRow, 'created_at' | 'last_used_at' | 'revoked_at'>): Promise<void> {
  await db.query(
    `INSERT INTO buyer_passkeys (id, buyer_id, credential_id, public_key, counter, transports, device_type, backed_up, last_used_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, now())`,
    [passkey.id, passkey.buyer_id, passkey.credential_id, passkey.public_key, passkey.counter, JSON.stringify(passkey.transports), passkey.device_type, passkey.backed_up],
  );
}

export async function recordPasskeyUse(db: SqlClient, id: string, counter: number, backedUp: boolean): Promise<void> {
  await db.query('UPDATE buyer_passkeys SET counter = GREATEST(counter, $2), backed_up = $3, last_used_at = now() WHERE id = $1', [id, counter, backedUp]);
}

export async function revokePasskey(db: SqlClient, buyerId: string, id: string): Promise<boolean> {
  const result = await db.query('UPDATE buyer_passkeys SET revoked_at = now() WHERE id = $1 AND buyer_id = $2 AND revoked_at IS NULL', [id, buyerId]);
  return result.rowCount > 0;
}

/** Ends the buyer's sessions other than `keptSessionId`. */
export async function endOtherSessions(db: SqlClient, buyerId: string, keptSessionId: string): Promise<void> {
  await db.query('UPDATE buyer_sessions SET ended_at = now() WHERE buyer_id = $1 AND id <> $2 AND ended_at IS NULL', [buyerId, keptSessionId]);
}

export async function insertDevice(db: SqlClient, device: { id: string; buyerId: string; name: string }): Promise<DeviceRow> {
  const { rows } = await db.query<DeviceRow>(`INSERT INTO buyer_devices (id, buyer_id, name) VALUES ($1, $2, $3) RETURNING ${DEVICE_COLUMNS}`, [device.id, device.buyerId, device.name]);
  return rows[0]!;
}

/** The buyer's device `id` if it is not revoked, marked as seen now. */
export async function touchDevice(db: SqlClient, buyerId: string, id: string): Promise<DeviceRow | null> {
  const { rows } = await db.query<DeviceRow>(
    `UPDATE buyer_devices SET last_seen_at = now() WHERE id = $1 AND buyer_id = $2 AND revoked_at IS NULL RETURNING ${DEVICE_COLUMNS}`,
    [id, buyerId],
  );
  return rows[0] ?? null;
}

export async function findDevice(db: SqlClient, id: string): Promise<DeviceRow | null> {
  const { rows } = await db.query<DeviceRow>(`SELECT ${DEVICE_COLUMNS} FROM buyer_devices WHERE id = $1`, [id]);
  return rows[0] ?? null;
}

export async function listDevices(db: SqlClient, buyerId: string): Promise<DeviceRow[]> {
  const { rows } = await db.query<DeviceRow>(
    `SELECT ${DEVICE_COLUMNS} FROM buyer_devices WHERE buyer_id = $1 ORDER BY last_seen_at DESC, id LIMIT ${BUYER_LIST_MAX}`,
    [buyerId],
  );
  return rows;
}

/** Revokes the buyer's device and ends its sessions, in one transaction; false if it is not theirs or already revoked. */
export async function revokeDevice(db: SqlClient, buyerId: string, id: string): Promise<boolean> {
  const result = await db.query('UPDATE buyer_devices SET revoked_at = now() WHERE id = $1 AND buyer_id = $2 AND revoked_at IS NULL', [id, buyerId]);
  if (result.rowCount === 0) return false;
  await db.query('UPDATE buyer_sessions SET ended_at = now() WHERE device_id = $1 AND ended_at IS NULL', [id]);
  return true;
}

export async function insertSession(
  db: SqlClient,
  session: { id: string; tokenDigest: Buffer; buyerId: string; deviceId: string; livemode: boolean; ttlSeconds: number; wallet: boolean; merchantId: string | null },
): Promise<Date> {
  const { rows } = await db.query<{ expires_at: Date }>(
    `INSERT INTO buyer_sessions (id, token_digest, buyer_id, device_id, livemode, expires_at, wallet, merchant_id)
     VALUES ($1, $2, $3, $4, $5, now() + make_interval(secs => $6), $7, $8) RETURNING expires_at`,
    [session.id, session.tokenDigest, session.buyerId, session.deviceId, session.livemode, session.ttlSeconds, session.wallet, session.merchantId],
  );
  return rows[0]!.expires_at;
}

export async function findLiveSession(db: SqlClient, tokenDigest: Buffer, livemode: boolean): Promise<(BuyerSession & { deviceLastSeenAt: Date }) | null> {
  const { rows } = await db.query<{
    id: string; buyer_id: string; device_id: string; livemode: boolean; expires_at: Date; wallet: boolean; merchant_id: string | null; created_at: Date; last_seen_at: Date;
  }>(
    `SELECT s.id, s.buyer_id, s.device_id, s.livemode, s.expires_at, s.wallet, s.merchant_id, s.created_at, d.last_seen_at
     FROM buyer_sessions s JOIN buyer_devices d ON d.id = s.device_id
     WHERE s.token_digest = $1 AND s.livemode = $2 AND s.ended_at IS NULL AND s.expires_at > now() AND d.revoked_at IS NULL`,
    [tokenDigest, livemode],
  );
  const row = rows[0];
  if (!row) return null;
  return {
    id: row.id, buyerId: row.buyer_id, deviceId: row.device_id, livemode: row.livemode, expiresAt: row.expires_at, wallet: row.wallet,
    merchantId: row.merchant_id, signedInAt: row.created_at, deviceLastSeenAt: row.last_seen_at,
  };
}

export async function endSession(db: SqlClient, id: string): Promise<void> {
  await db.query('UPDATE buyer_sessions SET ended_at = now() WHERE id = $1 AND ended_at IS NULL', [id]);
}

export async function insertCeremony(db: SqlClient, ceremony: Omit<CeremonyRow, 'expired'> & { ttlSeconds: number }): Promise<void> {
  await db.query(
    `INSERT INTO webauthn_ceremonies (id, kind, livemode, challenge, buyer_id, session_id, email, phone, display_name, expires_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, now() + make_interval(secs => $10))`,
    [ceremony.id, ceremony.kind, ceremony.livemode, ceremony.challenge, ceremony.buyer_id, ceremony.session_id, ceremony.email, ceremony.phone, ceremony.display_name, ceremony.ttlSeconds],
  );
}

/** Marks the ceremony used and returns it, so that it is used once whatever its outcome; null when it is
 * unknown, of another kind or mode, or already used. */
export async function consumeCeremony(db: SqlClient, id: string, kind: CeremonyRow['kind'], livemode: boolean): Promise<CeremonyRow | null> {
  const { rows } = await db.query<CeremonyRow>(
    `UPDATE webauthn_ceremonies SET used_at = now()
     WHERE id = $1 AND kind = $2 AND livemode = $3 AND used_at IS NULL
     RETURNING id, kind, livemode, challenge, buyer_id, session_id, email, phone, display_name, (expires_at <= now()) AS expired`,
    [id, kind, livemode],
  );
  return rows[0] ?? null;
}

export async function codesSentSince(db: SqlClient, addressDigest: string, seconds: number): Promise<number> {
  const { rows } = await db.query<{ count: bigint }>(
    'SELECT count(*)::int8 AS count FROM buyer_codes WHERE address_digest = $1 AND created_at > now() - make_interval(secs => $2)',
    [addressDigest, seconds],
  );
  return Number(rows[0]?.count ?? 0n);
}

export async function insertCode(
  db: SqlClient,
  code: {
    id: string; buyerId: string | null; livemode: boolean; purpose: CodeRow['purpose']; binding: string; channel: 'email' | 'sms'; addressDigest: string; codeDigest: string;
    ttlSeconds: number; merchantId: string | null; wallet: boolean;
  },
): Promise<Date> {
  const { rows } = await db.query<{ expires_at: Date }>(
    `INSERT INTO buyer_codes (id, buyer_id, livemode, purpose, binding, channel, address_digest, code_digest, expires_at, merchant_id, wallet)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, now() + make_interval(secs => $9), $10, $11) RETURNING expires_at`,
    [code.id, code.buyerId, code.livemode, code.purpose, code.binding, code.channel, code.addressDigest, code.codeDigest, code.ttlSeconds, code.merchantId, code.wallet],
  );
  return rows[0]!.expires_at;
}

export async function lockCode(db: SqlClient, id: string): Promise<CodeRow | null> {
  const { rows } = await db.query<CodeRow>(
    `SELECT id, buyer_id, livemode, purpose, binding, code_digest, attempts, (expires_at <= now()) AS expired, used_at, merchant_id, wallet
     FROM buyer_codes WHERE id = $1 FOR UPDATE`,
    [id],
  );
  return rows[0] ?? null;
}

export async function recordCodeAttempt(db: SqlClient, id: string, correct: boolean): Promise<void> {
  await db.query(
    correct ? 'UPDATE buyer_codes SET used_at = now() WHERE id = $1' : 'UPDATE buyer_codes SET attempts = attempts + 1 WHERE id = $1',
    [id],
  );
}

/** Deletes ceremonies and codes that expired over a day ago (they only matter while they can be used,
 * and codes for the hourly rate limit); returns how many. */
export async function sweepExpired(db: SqlClient, batchMax: number): Promise<number> {
  const ceremonies = await db.query(
    `DELETE FROM webauthn_ceremonies WHERE id IN (SELECT id FROM webauthn_ceremonies WHERE expires_at < now() - interval '1 day' LIMIT $1)`,
    [batchMax],
  );
  const codes = await db.query(
    `DELETE FROM buyer_codes WHERE id IN (SELECT id FROM buyer_codes WHERE expires_at < now() - interval '1 day' LIMIT $1)`,
    [batchMax],
  );
  return ceremonies.rowCount + codes.rowCount;
}
