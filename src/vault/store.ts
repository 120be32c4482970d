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
  if (!row) return null;
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
