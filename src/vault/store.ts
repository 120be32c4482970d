// SQL of the card vault: encrypted card data by token. Nothing here is readable without the master key.
import type { SqlClient } from '../store/database.ts';
import type { SealedData } from './crypto.ts';

export interface VaultRecord extends SealedData {
  token: string;
  merchantId: string;
  livemode: boolean;
  fingerprint: string;
}

interface VaultRow {
  id: string;
  merchant_id: string;
  livemode: boolean;
  key_version: number;
  wrapped_key: Uint8Array;
  ciphertext: Uint8Array;
  fingerprint: string;
}

/** Stores a record; a retry with the same token keeps the first one (its ciphertext differs, its card does not). */
export async function insertVaultRecord(db: SqlClient, record: VaultRecord): Promise<void> {
  await db.query(
    `INSERT INTO vault_cards (id, merchant_id, livemode, key_version, wrapped_key, ciphertext, fingerprint)
     VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (id) DO NOTHING`,
    [record.token, record.merchantId, record.livemode, record.keyVersion, record.wrappedKey, record.ciphertext, record.fingerprint],
  );
}

export async function getVaultRecord(db: SqlClient, token: string): Promise<VaultRecord | null> {
  const { rows } = await db.query<VaultRow>(
    `SELECT id, merchant_id, livemode, key_version, wrapped_key, ciphertext, fingerprint FROM vault_cards WHERE id = $1`,
    [token],
  );
  const row = rows[0];
  return row ? recordOf(row) : null;
}

function recordOf(row: VaultRow): VaultRecord {
  return {
    token: row.id,
    merchantId: row.merchant_id,
    livemode: row.livemode,
    keyVersion: row.key_version,
    wrappedKey: Buffer.from(row.wrapped_key),
    ciphertext: Buffer.from(row.ciphertext),
    fingerprint: row.fingerprint,
  };
}

/** Records sealed under another version than `version`, in token order after `after` (rewrap.ts). */
export async function vaultRecordsNotUnder(db: SqlClient, version: number, after: string, limit: number): Promise<VaultRecord[]> {
  const { rows } = await db.query<VaultRow>(
    `SELECT id, merchant_id, livemode, key_version, wrapped_key, ciphertext, fingerprint FROM vault_cards
     WHERE key_version <> $1 AND id > $2 ORDER BY id LIMIT $3`,
    [version, after, limit],
  );
  return rows.map(recordOf);
}

/** Replaces records' seals, each only where it is still under the version it was read with; returns how many. */
export async function replaceVaultSeals(db: SqlClient, seals: Array<{ token: string; previousVersion: number; sealed: SealedData }>): Promise<number> {
  if (seals.length === 0) return 0;
  const { rowCount } = await db.query(
    `UPDATE vault_cards AS c SET key_version = n.version, wrapped_key = decode(n.wrapped, 'hex'), ciphertext = decode(n.ciphertext, 'hex')
     FROM unnest($1::text[], $2::int[], $3::text[], $4::text[], $5::int[]) AS n(id, version, wrapped, ciphertext, old_version)
     WHERE c.id = n.id AND c.key_version = n.old_version`,
    [
      seals.map((seal) => seal.token),
      seals.map((seal) => seal.sealed.keyVersion),
      seals.map((seal) => seal.sealed.wrappedKey.toString('hex')),
      seals.map((seal) => seal.sealed.ciphertext.toString('hex')),
      seals.map((seal) => seal.previousVersion),
    ],
  );
  return rowCount;
}
