// `micropay vault rewrap`: after a master key rotation (docs/operations.md, "Rotating the vault master
// key"), re-seals everything an older master key wraps under the current one: the root key, the cards,
// and the sealed fields other modules store (passed in as `fields`). A card is opened with its old
// version and sealed afresh (a new data key); the plaintext lives in this process's memory for the
// moment it takes and is zeroed. Each write is conditional on the record still being what was read, so
// the command can run while servers serve, be interrupted, and be run again: it resumes with what is
// left. When `vault status` shows nothing under an old version, that key can leave the configuration.
import type { SqlClient } from '../store/database.ts';
import { seal, unseal, type Keyring } from './crypto.ts';
import { rewrapRootKey } from './root-key.ts';
import { contextOf } from './service.ts';
import * as store from './store.ts';

export interface RewrapProgress {
  kind: string;
  done: number;
  failed: number;
}

/** A kind of sealed field: one pass over at most `limit` rows after the cursor `after` ('' to start). */
export interface SealedFieldRewrap {
  kind: string;
  pass(after: string, limit: number): Promise<{ rewrapped: number; failed: number; last: string | null }>;
}

export interface RewrapResult {
  root: boolean;
  /** Records re-sealed, by kind (`cards`, then each field kind). */
  rewrapped: Record<string, number>;
  /** Records that did not open (altered, or their version is not configured), by kind: left as they are. */
  failed: Record<string, number>;
}

/** One pass over the cards not sealed under the current version, after the token `after`. */
async function rewrapCards(db: SqlClient, keyring: Keyring, after: string, limit: number): Promise<{ rewrapped: number; failed: number; last: string | null }> {
  const records = await store.vaultRecordsNotUnder(db, keyring.currentVersion, after, limit);
  const seals: Parameters<typeof store.replaceVaultSeals>[1] = [];
  let failed = 0;
  for (const record of records) {
    const context = contextOf(record.token, { merchantId: record.merchantId, livemode: record.livemode });
    let plaintext: Buffer;
    try {
      plaintext = unseal(keyring, record, context);
    } catch {
      failed += 1;
      continue;
    }
    seals.push({ token: record.token, previousVersion: record.keyVersion, sealed: seal(keyring, plaintext, context) });
    plaintext.fill(0);
  }
  return { rewrapped: await store.replaceVaultSeals(db, seals), failed, last: records.at(-1)?.token ?? null };
}

/** Records by master key version: the root's version, cards per version. */
export async function vaultVersions(db: SqlClient): Promise<{ root: number | null; cards: Record<string, number> }> {
  const root = await db.query<{ key_version: number }>(`SELECT key_version FROM vault_keys WHERE purpose = 'root'`);
  const { rows } = await db.query<{ key_version: number; count: string }>(
    `SELECT key_version, count(*)::text AS count FROM vault_cards GROUP BY key_version ORDER BY key_version`,
  );
  return { root: root.rows[0]?.key_version ?? null, cards: Object.fromEntries(rows.map((row) => [String(row.key_version), Number(row.count)])) };
}

export async function rewrapVault(
  db: SqlClient,
  keyring: Keyring,
  options: { fields: SealedFieldRewrap[]; batchSize: number; onProgress?: (progress: RewrapProgress) => void },
): Promise<RewrapResult> {
  const result: RewrapResult = { root: await rewrapRootKey(db, keyring), rewrapped: {}, failed: {} };
  const kinds: SealedFieldRewrap[] = [{ kind: 'cards', pass: (after, limit) => rewrapCards(db, keyring, after, limit) }, ...options.fields];
  for (const { kind, pass } of kinds) {
    let after = '';
    let done = 0;
    let failed = 0;
    for (;;) {
      const step = await pass(after, options.batchSize);
      done += step.rewrapped;
      failed += step.failed;
      options.onProgress?.({ kind, done, failed });
      if (step.last === null) break;
      after = step.last;
    }
    result.rewrapped[kind] = done;
    result.failed[kind] = failed;
  }
  return result;
}
