// The SQL of staff identity (migration 0014): users, passkeys, invitations, sessions and ceremonies.
// Only the staff service uses it.
import type { SqlClient } from '../store/database.ts';
import { appOf, STAFF_LIST_MAX, type StaffInvitation, type StaffUser } from './model.ts';
import type { StaffRole } from './roles.ts';

interface UserRow {
  id: string;
  merchant_id: string | null;
  email: string;
  name: string | null;
  role: StaffRole;
  created_at: Date;
  disabled_at: Date | null;
}

interface InvitationRow {
  id: string;
  merchant_id: string | null;
  email: string;
  name: string | null;
  role: StaffRole;
  invited_by: string;
  created_at: Date;
  expires_at: Date;
  accepted_at: Date | null;
  revoked_at: Date | null;
  expired: boolean;
}

export interface PasskeyRow {
  id: string;
  user_id: string;
  credential_id: string;
  public_key: Uint8Array;
  counter: bigint;
  transports: string[];
  device_type: 'singleDevice' | 'multiDevice';
  backed_up: boolean;
  revoked_at: Date | null;
}

export type CeremonyKind = 'enrollment' | 'sign_in' | 'passkey';

export interface CeremonyRow {
  id: string;
  kind: CeremonyKind;
  challenge: string;
  invitation_id: string | null;
  user_id: string | null;
  expired: boolean;
}

export interface SessionRow {
  id: string;
  user_id: string;
  created_at: Date;
  expires_at: Date;
  last_used_at: Date;
}

const USER_COLUMNS = 'id, merchant_id, email, name, role, created_at, disabled_at';
const INVITATION_COLUMNS = 'id, merchant_id, email, name, role, invited_by, created_at, expires_at, accepted_at, revoked_at, expires_at <= now() AS expired';
const PASSKEY_COLUMNS = 'id, user_id, credential_id, public_key, counter, transports, device_type, backed_up, revoked_at';

export function userOf(row: UserRow): StaffUser {
  return {
    id: row.id,
    merchantId: row.merchant_id,
    app: appOf(row.merchant_id),
    email: row.email,
    name: row.name,
    role: row.role,
    createdAt: row.created_at,
    disabledAt: row.disabled_at,
  };
}

export function invitationOf(row: InvitationRow): StaffInvitation {
  return {
    id: row.id,
    merchantId: row.merchant_id,
    app: appOf(row.merchant_id),
    email: row.email,
    name: row.name,
    role: row.role,
    invitedBy: row.invited_by,
    createdAt: row.created_at,
    expiresAt: row.expires_at,
  };
}

export async function findUser(db: SqlClient, id: string, options: { lock?: boolean } = {}): Promise<StaffUser | null> {
  const { rows } = await db.query<UserRow>(`SELECT ${USER_COLUMNS} FROM staff_users WHERE id = $1${options.lock ? ' FOR UPDATE' : ''}`, [id]);
  return rows[0] ? userOf(rows[0]) : null;
}

export async function findActiveUserByEmail(db: SqlClient, merchantId: string | null, email: string): Promise<StaffUser | null> {
  const { rows } = await db.query<UserRow>(
    `SELECT ${USER_COLUMNS} FROM staff_users WHERE COALESCE(merchant_id, '') = COALESCE($1, '') AND email = $2 AND disabled_at IS NULL`,
    [merchantId, email],
  );
  return rows[0] ? userOf(rows[0]) : null;
}

export async function listUsers(db: SqlClient, merchantId: string | null): Promise<StaffUser[]> {
  const { rows } = await db.query<UserRow>(
    `SELECT ${USER_COLUMNS} FROM staff_users WHERE COALESCE(merchant_id, '') = COALESCE($1, '') ORDER BY seq LIMIT ${STAFF_LIST_MAX}`,
    [merchantId],
  );
  return rows.map(userOf);
}

/** Active users of the merchant (or the operator) with this role, locked: for the last-owner check. */
export async function lockActiveUsersWithRole(db: SqlClient, merchantId: string | null, role: StaffRole): Promise<string[]> {
  const { rows } = await db.query<{ id: string }>(
    `SELECT id FROM staff_users WHERE COALESCE(merchant_id, '') = COALESCE($1, '') AND role = $2 AND disabled_at IS NULL ORDER BY id FOR UPDATE`,
    [merchantId, role],
  );
  return rows.map((row) => row.id);
}

export async function insertUser(db: SqlClient, user: { id: string; merchantId: string | null; email: string; name: string | null; role: StaffRole }): Promise<StaffUser> {
  const { rows } = await db.query<UserRow>(
    `INSERT INTO staff_users (id, merchant_id, email, name, role) VALUES ($1, $2, $3, $4, $5) RETURNING ${USER_COLUMNS}`,
    [user.id, user.merchantId, user.email, user.name, user.role],
  );
  return userOf(rows[0]!);
}

export async function setRole(db: SqlClient, id: string, role: StaffRole): Promise<StaffUser> {
  const { rows } = await db.query<UserRow>(`UPDATE staff_users SET role = $2 WHERE id = $1 RETURNING ${USER_COLUMNS}`, [id, role]);
  return userOf(rows[0]!);
}

/** Disables the user and ends their sessions, in the caller's transaction. */
export async function disableUser(db: SqlClient, id: string): Promise<StaffUser> {
  const { rows } = await db.query<UserRow>(
    `UPDATE staff_users SET disabled_at = COALESCE(disabled_at, now()) WHERE id = $1 RETURNING ${USER_COLUMNS}`,
    [id],
  );
  await db.query('UPDATE staff_sessions SET ended_at = now() WHERE user_id = $1 AND ended_at IS NULL', [id]);
  return userOf(rows[0]!);
}

/** The live (unexpired) pending invitations of the team for an address, locked: a new invitation replaces them. */
export async function lockPendingInvitationsFor(db: SqlClient, merchantId: string | null, email: string): Promise<StaffInvitation[]> {
  const { rows } = await db.query<InvitationRow>(
    `SELECT ${INVITATION_COLUMNS} FROM staff_invitations
     WHERE COALESCE(merchant_id, '') = COALESCE($1, '') AND email = $2 AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > now()
     ORDER BY id FOR UPDATE`,
    [merchantId, email],
  );
  return rows.map(invitationOf);
}

export async function insertInvitation(
  db: SqlClient,
  invitation: { id: string; merchantId: string | null; email: string; name: string | null; role: StaffRole; tokenDigest: Buffer; invitedBy: string; ttlSeconds: number },
  options: { replacesOwnerInvitations: boolean },
): Promise<StaffInvitation> {
  // A new invitation replaces the pending ones for the same address; an owner's only when the inviter
  // may revoke it (one made meanwhile by an owner, which the inviter's check did not see, stays).
  await db.query(
    `UPDATE staff_invitations SET revoked_at = now()
     WHERE COALESCE(merchant_id, '') = COALESCE($1, '') AND email = $2 AND accepted_at IS NULL AND revoked_at IS NULL
       AND (role <> 'owner' OR $3)`,
    [invitation.merchantId, invitation.email, options.replacesOwnerInvitations],
  );
  const { rows } = await db.query<InvitationRow>(
    `INSERT INTO staff_invitations (id, merchant_id, email, name, role, token_digest, invited_by, expires_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, now() + make_interval(secs => $8)) RETURNING ${INVITATION_COLUMNS}`,
    [invitation.id, invitation.merchantId, invitation.email, invitation.name, invitation.role, invitation.tokenDigest, invitation.invitedBy, invitation.ttlSeconds],
  );
  return invitationOf(rows[0]!);
}

/** A pending invitation by its token's digest or its id (locked when asked); null when used, revoked or unknown. */
export async function findPendingInvitation(
  db: SqlClient,
  by: { tokenDigest: Buffer } | { id: string },
  options: { lock?: boolean } = {},
): Promise<(StaffInvitation & { expired: boolean }) | null> {
  const [column, value] = 'id' in by ? ['id', by.id] : ['token_digest', by.tokenDigest];
  const { rows } = await db.query<InvitationRow>(
    `SELECT ${INVITATION_COLUMNS} FROM staff_invitations WHERE ${column} = $1 AND accepted_at IS NULL AND revoked_at IS NULL${options.lock ? ' FOR UPDATE' : ''}`,
    [value],
  );
  return rows[0] ? { ...invitationOf(rows[0]), expired: rows[0].expired } : null;
}

export async function listPendingInvitations(db: SqlClient, merchantId: string | null): Promise<StaffInvitation[]> {
  const { rows } = await db.query<InvitationRow>(
    `SELECT ${INVITATION_COLUMNS} FROM staff_invitations
     WHERE COALESCE(merchant_id, '') = COALESCE($1, '') AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > now()
     ORDER BY seq LIMIT ${STAFF_LIST_MAX}`,
    [merchantId],
  );
  return rows.map(invitationOf);
}

export async function markInvitationAccepted(db: SqlClient, id: string, userId: string): Promise<void> {
  await db.query('UPDATE staff_invitations SET accepted_at = now(), accepted_user_id = $2 WHERE id = $1', [id, userId]);
}

export async function revokeInvitation(db: SqlClient, id: string, merchantId: string | null): Promise<boolean> {
  const result = await db.query(
    `UPDATE staff_invitations SET revoked_at = now()
     WHERE id = $1 AND COALESCE(merchant_id, '') = COALESCE($2, '') AND accepted_at IS NULL AND revoked_at IS NULL`,
    [id, merchantId],
  );
  return result.rowCount > 0;
}

/** `signsIn`: the registration also signs the person in (an enrollment), so the passkey is used now;
 * a passkey added to a signed-in account has not signed anyone in yet. */
export async function insertPasskey(db: SqlClient, passkey: Omit<PasskeyRow, 'revoked_at'>, options: { signsIn: boolean } = { signsIn: true }): Promise<void> {
  await db.query(
    `INSERT INTO staff_passkeys (id, user_id, credential_id, public_key, counter, transports, device_type, backed_up, last_used_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, CASE WHEN $9::boolean THEN now() END)`,
    [passkey.id, passkey.user_id, passkey.credential_id, passkey.public_key, passkey.counter, JSON.stringify(passkey.transports), passkey.device_type, passkey.backed_up, options.signsIn],
  );
}

export async function findPasskeyByCredential(db: SqlClient, credentialId: string): Promise<PasskeyRow | null> {
  const { rows } = await db.query<PasskeyRow>(`SELECT ${PASSKEY_COLUMNS} FROM staff_passkeys WHERE credential_id = $1`, [credentialId]);
  return rows[0] ?? null;
}

/** What the user's passkey list shows. */
export interface PasskeySummary {
  id: string;
  credentialId: string;
  deviceType: 'singleDevice' | 'multiDevice';
  backedUp: boolean;
  transports: string[];
  createdAt: Date;
  lastUsedAt: Date | null;
  revokedAt: Date | null;
}

const SUMMARY_COLUMNS = 'id, credential_id, device_type, backed_up, transports, created_at, last_used_at, revoked_at';

function summaryOf(row: { id: string; credential_id: string; device_type: 'singleDevice' | 'multiDevice'; backed_up: boolean; transports: string[]; created_at: Date; last_used_at: Date | null; revoked_at: Date | null }): PasskeySummary {
  return { id: row.id, credentialId: row.credential_id, deviceType: row.device_type, backedUp: row.backed_up, transports: row.transports, createdAt: row.created_at, lastUsedAt: row.last_used_at, revokedAt: row.revoked_at };
}

/** The user's active passkeys, oldest first; with `lock`, their rows are locked (the last-passkey check). */
export async function activePasskeys(db: SqlClient, userId: string, options: { lock?: boolean } = {}): Promise<PasskeySummary[]> {
  const { rows } = await db.query<Parameters<typeof summaryOf>[0]>(
    `SELECT ${SUMMARY_COLUMNS} FROM staff_passkeys WHERE user_id = $1 AND revoked_at IS NULL ORDER BY created_at, id${options.lock ? ' FOR UPDATE' : ''}`,
    [userId],
  );
  return rows.map(summaryOf);
}

/** One of the user's passkeys, revoked or not; null when it is not theirs. */
export async function passkeySummary(db: SqlClient, id: string, userId: string): Promise<PasskeySummary | null> {
  const { rows } = await db.query<Parameters<typeof summaryOf>[0]>(`SELECT ${SUMMARY_COLUMNS} FROM staff_passkeys WHERE id = $1 AND user_id = $2`, [id, userId]);
  return rows[0] ? summaryOf(rows[0]) : null;
}

export async function revokePasskey(db: SqlClient, id: string): Promise<PasskeySummary> {
  const { rows } = await db.query<Parameters<typeof summaryOf>[0]>(
    `UPDATE staff_passkeys SET revoked_at = now() WHERE id = $1 RETURNING ${SUMMARY_COLUMNS}`,
    [id],
  );
  return summaryOf(rows[0]!);
}

export async function recordPasskeyUse(db: SqlClient, id: string, counter: number, backedUp: boolean): Promise<void> {
  await db.query('UPDATE staff_passkeys SET counter = GREATEST(counter, $2), backed_up = $3, last_used_at = now() WHERE id = $1', [id, counter, backedUp]);
}

export async function insertSession(db: SqlClient, session: { id: string; tokenDigest: Buffer; userId: string; ttlSeconds: number }): Promise<Date> {
  const { rows } = await db.query<{ expires_at: Date }>(
    `INSERT INTO staff_sessions (id, token_digest, user_id, expires_at)
     VALUES ($1, $2, $3, now() + make_interval(secs => $4)) RETURNING expires_at`,
    [session.id, session.tokenDigest, session.userId, session.ttlSeconds],
  );
  return rows[0]!.expires_at;
}

/** The live session of a token with its (active) user: not ended, not past its end, not idle too long. */
export async function findLiveSession(db: SqlClient, tokenDigest: Buffer, idleSeconds: number): Promise<{ session: SessionRow; user: StaffUser } | null> {
  const { rows } = await db.query<SessionRow & { session_id: string; session_created_at: Date } & UserRow>(
    `SELECT s.id AS session_id, s.user_id, s.created_at AS session_created_at, s.expires_at, s.last_used_at, ${USER_COLUMNS.split(', ').map((column) => `u.${column}`).join(', ')}
     FROM staff_sessions s JOIN staff_users u ON u.id = s.user_id
     WHERE s.token_digest = $1 AND s.ended_at IS NULL AND s.expires_at > now()
       AND s.last_used_at > now() - make_interval(secs => $2) AND u.disabled_at IS NULL`,
    [tokenDigest, idleSeconds],
  );
  const row = rows[0];
  if (!row) return null;
  return {
    session: { id: row.session_id, user_id: row.user_id, created_at: row.session_created_at, expires_at: row.expires_at, last_used_at: row.last_used_at },
    user: userOf(row),
  };
}

export async function touchSession(db: SqlClient, id: string): Promise<void> {
  await db.query('UPDATE staff_sessions SET last_used_at = now() WHERE id = $1 AND ended_at IS NULL', [id]);
}

/** Ends the user's sessions other than `keptSessionId`. */
export async function endOtherSessions(db: SqlClient, userId: string, keptSessionId: string): Promise<void> {
  await db.query('UPDATE staff_sessions SET ended_at = now() WHERE user_id = $1 AND id <> $2 AND ended_at IS NULL', [userId, keptSessionId]);
}

export async function endSession(db: SqlClient, id: string): Promise<void> {
  await db.query('UPDATE staff_sessions SET ended_at = now() WHERE id = $1 AND ended_at IS NULL', [id]);
}

export async function insertCeremony(
  db: SqlClient,
  ceremony: { id: string; kind: CeremonyKind; challenge: string; invitationId: string | null; userId: string | null; clientDigest: string; ttlSeconds: number },
): Promise<void> {
  await db.query(
    `INSERT INTO staff_ceremonies (id, kind, challenge, invitation_id, user_id, client_digest, expires_at)
     VALUES ($1, $2, $3, $4, $5, $6, now() + make_interval(secs => $7))`,
    [ceremony.id, ceremony.kind, ceremony.challenge, ceremony.invitationId, ceremony.userId, ceremony.clientDigest, ceremony.ttlSeconds],
  );
}

/** Marks the ceremony used and returns it; null when unknown, of another kind, or used already. */
export async function consumeCeremony(db: SqlClient, id: string, kind: CeremonyKind): Promise<CeremonyRow | null> {
  const { rows } = await db.query<CeremonyRow>(
    `UPDATE staff_ceremonies SET used_at = now() WHERE id = $1 AND kind = $2 AND used_at IS NULL
     RETURNING id, kind, challenge, invitation_id, user_id, expires_at <= now() AS expired`,
    [id, kind],
  );
  return rows[0] ?? null;
}

export async function ceremoniesSince(db: SqlClient, clientDigest: string, windowSeconds: number): Promise<number> {
  const { rows } = await db.query<{ count: bigint }>(
    `SELECT count(*)::int8 AS count FROM staff_ceremonies WHERE client_digest = $1 AND created_at > now() - make_interval(secs => $2)`,
    [clientDigest, windowSeconds],
  );
  return Number(rows[0]?.count ?? 0n);
}

/** Deletes ceremonies that ended long ago (kept a day, past the rate limit's window) and sessions
 * 30 days past their end; returns how many. */
export async function sweepExpired(db: SqlClient, batchMax: number): Promise<number> {
  const ceremonies = await db.query(
    `DELETE FROM staff_ceremonies WHERE id IN (
       SELECT id FROM staff_ceremonies WHERE expires_at < now() - interval '1 day' ORDER BY expires_at LIMIT $1)`,
    [batchMax],
  );
  const sessions = await db.query(
    `DELETE FROM staff_sessions WHERE id IN (
       SELECT id FROM staff_sessions WHERE expires_at < now() - interval '30 days' ORDER BY expires_at LIMIT $1)`,
    [batchMax],
  );
  return ceremonies.rowCount + sessions.rowCount;
}
