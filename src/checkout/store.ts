// SQL of the checkout: how each checkout payment was confirmed (written with the money's movement by
// the `checkout_authentications` unit writer, or alone for a failed attempt), and the single-use
// challenges of passkey confirmations.
import type { UnitWrite } from '../ledger/unit-of-work.ts';
import type { SqlClient } from '../store/database.ts';
import type { ExemptHistory } from './exemption.ts';

export const CHECKOUT_AUTHENTICATIONS_WRITER = 'checkout_authentications';

export type AuthenticationMethod = 'exempt' | 'tra' | 'passkey' | 'spc' | 'otp';

export interface AuthenticationRecord {
  paymentId: string;
  buyerId: string;
  livemode: boolean;
  currency: string;
  amount: bigint;
  method: AuthenticationMethod;
  outcome: 'succeeded' | 'failed';
}

function rowOf(record: AuthenticationRecord) {
  return {
    payment_id: record.paymentId,
    buyer_id: record.buyerId,
    livemode: record.livemode,
    currency: record.currency,
    amount: record.amount.toString(),
    method: record.method,
    outcome: record.outcome,
  };
}

const INSERT = `INSERT INTO checkout_authentications (payment_id, buyer_id, livemode, currency, amount, method, outcome)
  SELECT payment_id, buyer_id, livemode, currency, amount::bigint, method, outcome
  FROM jsonb_to_recordset($1::jsonb) AS r(payment_id text, buyer_id text, livemode boolean, currency text,
    amount text, method text, outcome text)`;

/** The unit-of-work write recording a successful confirmation with the payment's money movement. */
export function authenticationWrite(record: AuthenticationRecord): UnitWrite {
  return { writer: CHECKOUT_AUTHENTICATIONS_WRITER, row: rowOf(record) };
}

export async function writeAuthentications(tx: SqlClient, rows: unknown[]): Promise<void> {
  await tx.query(INSERT, [JSON.stringify(rows)]);
}

/** Records an attempt that moved nothing (a failed confirmation). */
export async function insertAuthentication(db: SqlClient, record: AuthenticationRecord): Promise<void> {
  await db.query(INSERT, [JSON.stringify([rowOf(record)])]);
}

/** Exempt payments of the buyer in `currency` since their last strong confirmation in any currency. */
export async function exemptHistory(db: SqlClient, buyerId: string, currency: string): Promise<ExemptHistory> {
  const { rows } = await db.query<{ count: number; total: bigint | string }>(
    `SELECT count(*)::int AS count, coalesce(sum(amount), 0)::bigint AS total FROM checkout_authentications
     WHERE buyer_id = $1 AND currency = $2 AND method = 'exempt' AND outcome = 'succeeded'
       AND id > coalesce((SELECT max(id) FROM checkout_authentications
                          WHERE buyer_id = $1 AND method IN ('passkey', 'spc', 'otp') AND outcome = 'succeeded'), 0)`,
    [buyerId, currency],
  );
  return { count: rows[0]!.count, total: BigInt(rows[0]!.total) };
}

export interface ChallengeRecord {
  id: string;
  paymentId: string;
  buyerId: string;
  challenge: string;
  expiresAt: Date;
}

export async function insertChallenge(db: SqlClient, record: ChallengeRecord): Promise<void> {
  await db.query(
    'INSERT INTO payment_challenges (id, payment_id, buyer_id, challenge, expires_at) VALUES ($1, $2, $3, $4, $5)',
    [record.id, record.paymentId, record.buyerId, record.challenge, record.expiresAt.toISOString()],
  );
}

export type ChallengeUse =
  | { kind: 'fresh'; challenge: string }
  | { kind: 'expired' }
  | { kind: 'used' }
  /** Unknown, or made for another payment or buyer. */
  | { kind: 'foreign' };

/** Uses up a challenge of this payment and buyer (single use: a second use is refused, whatever the
 * first one's outcome). A challenge of another payment is left alone. */
export async function useChallenge(db: SqlClient, id: string, paymentId: string, buyerId: string): Promise<ChallengeUse> {
  const used = await db.query<{ challenge: string; expired: boolean }>(
    `UPDATE payment_challenges SET used_at = now()
     WHERE id = $1 AND payment_id = $2 AND buyer_id = $3 AND used_at IS NULL
     RETURNING challenge, expires_at <= now() AS expired`,
    [id, paymentId, buyerId],
  );
  const row = used.rows[0];
  if (row) return row.expired ? { kind: 'expired' } : { kind: 'fresh', challenge: row.challenge };
  const { rows } = await db.query<{ used: boolean }>(
    'SELECT used_at IS NOT NULL AS used FROM payment_challenges WHERE id = $1 AND payment_id = $2 AND buyer_id = $3',
    [id, paymentId, buyerId],
  );
  return rows[0]?.used ? { kind: 'used' } : { kind: 'foreign' };
}

/** A recorded risk decision's verdict and reasons (read-only: to say again why a payment waits for the
 * buyer or was refused, when the buyer asks twice). */
export async function recordedDecision(db: SqlClient, decisionId: string): Promise<{ decision: string; reasons: Array<{ code: string; message: string }> } | null> {
  const { rows } = await db.query<{ decision: string; reasons: Array<{ code: string; message: string }> }>('SELECT decision, reasons FROM risk_decisions WHERE id = $1', [decisionId]);
  return rows[0] ?? null;
}
