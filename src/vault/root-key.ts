// The vault's root key: 32 bytes the purpose keys derive from (card fingerprints, request digests,
// client secrets, receipt keys, webhook secrets), stored in `vault_keys` sealed by the master key like a
// card. A master key rotation re-wraps it (rewrap.ts) and changes nothing derived from it: fingerprints
// keep matching, client secrets and receipt URLs keep working, stored webhook secrets keep opening.
//
// A new installation draws it at random, so that a master key retired after a rotation opens nothing.
// An installation that predates the stored root (merchants or cards exist, no row) derived everything
// from its master key of version 1, so its root starts as that key's bytes, which keeps every derived
// value as it was; without version 1 configured such an installation is refused (and nothing stored).
import { randomBytes } from 'node:crypto';
import type { SqlClient } from '../store/database.ts';
import { createKeyring, seal, unseal, VAULT_KEY_BYTES, VaultIntegrityError, type Keyring, type SealedData } from './crypto.ts';

/** The master key version whose bytes an installation that predates the stored root derived from. */
const LEGACY_ROOT_VERSION = 1;

/** Associated data of the root's seal. */
export const ROOT_KEY_CONTEXT = 'vault-key|root';

/** The stored root cannot be opened (or a legacy one created) with the configured master keys: the
 * process must not start. */
export class VaultRootKeyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'VaultRootKeyError';
  }
}

interface RootRow {
  key_version: number;
  wrapped_key: Uint8Array;
  ciphertext: Uint8Array;
}

async function readRoot(db: SqlClient): Promise<SealedData | null> {
  const { rows } = await db.query<RootRow>(`SELECT key_version, wrapped_key, ciphertext FROM vault_keys WHERE purpose = 'root'`);
  const row = rows[0];
  return row ? { keyVersion: row.key_version, wrappedKey: Buffer.from(row.wrapped_key), ciphertext: Buffer.from(row.ciphertext) } : null;
}

function openRoot(keyring: Keyring, sealed: SealedData): Buffer {
  if (!keyring.keyOf(sealed.keyVersion)) {
    throw new VaultRootKeyError(
      `the vault root key is wrapped by master key version ${sealed.keyVersion}, which is not configured: ` +
        `add it to VAULT_PREVIOUS_MASTER_KEYS (configured: ${keyring.versions.join(', ')})`,
    );
  }
  try {
    return unseal(keyring, sealed, ROOT_KEY_CONTEXT);
  } catch (error) {
    if (!(error instanceof VaultIntegrityError)) throw error;
    throw new VaultRootKeyError(
      `the vault root key does not open with the configured master key of version ${sealed.keyVersion}: ` +
        'is that VAULT_MASTER_KEY (or VAULT_PREVIOUS_MASTER_KEYS entry) the key this database was set up with?',
    );
  }
}

/** The stored root, created on first use (several processes starting at once agree on one). */
export async function loadRootKey(db: SqlClient, keyring: Keyring): Promise<Buffer> {
  const stored = await readRoot(db);
  if (stored) return openRoot(keyring, stored);
  const { rows } = await db.query<{ legacy: boolean }>(
    `SELECT EXISTS (SELECT 1 FROM merchants) OR EXISTS (SELECT 1 FROM vault_cards) AS legacy`,
  );
  const legacy = rows[0]!.legacy;
  let root: Buffer;
  if (legacy) {
    // Only version 1 made what exists: another key as the root would silently change every derived
    // value, and once stored it would win over version 1 added back later. Refuse and store nothing.
    const first = keyring.keyOf(LEGACY_ROOT_VERSION);
    if (!first) {
      throw new VaultRootKeyError(
        `this installation predates the stored vault root key (merchants or cards exist, no root), so its root ` +
          `must start as master key version ${LEGACY_ROOT_VERSION}, which is not configured: add version ` +
          `${LEGACY_ROOT_VERSION} to VAULT_PREVIOUS_MASTER_KEYS (${LEGACY_ROOT_VERSION}:<the original VAULT_MASTER_KEY>) ` +
          `(configured: ${keyring.versions.join(', ')})`,
      );
    }
    root = Buffer.from(first);
  } else {
    root = randomBytes(VAULT_KEY_BYTES);
  }
  const sealed = seal(keyring, root, ROOT_KEY_CONTEXT);
  root.fill(0);
  await db.query(
    `INSERT INTO vault_keys (purpose, key_version, wrapped_key, ciphertext) VALUES ('root', $1, $2, $3) ON CONFLICT (purpose) DO NOTHING`,
    [sealed.keyVersion, sealed.wrappedKey, sealed.ciphertext],
  );
  return openRoot(keyring, (await readRoot(db))!);
}

/** The keyring of the master keys `keys` gives with the installation's stored root, or null while none
 * is stored (an installation whose vault never opened): for a report, which must not create the root.
 * `keys` is called only once a root is found (loading them may create a development key file), and the
 * root is read once. */
export async function openStoredKeyring(db: SqlClient, keys: () => Map<number, Buffer>, currentVersion: number): Promise<Keyring | null> {
  const stored = await readRoot(db);
  if (!stored) return null;
  const masterKeys = keys();
  return withRoot(masterKeys, currentVersion, openRoot(createKeyring(masterKeys, currentVersion), stored));
}

/** The keyring of these master keys with the installation's stored root. */
export async function openKeyring(db: SqlClient, keys: Map<number, Buffer>, currentVersion: number): Promise<Keyring> {
  return withRoot(keys, currentVersion, await loadRootKey(db, createKeyring(keys, currentVersion)));
}

/** The keyring of these master keys with `root`, whose bytes are then wiped (the keyring keeps a copy). */
function withRoot(keys: Map<number, Buffer>, currentVersion: number, root: Buffer): Keyring {
  try {
    return createKeyring(keys, currentVersion, root);
  } finally {
    root.fill(0);
  }
}

/** Re-seals the root under the current master key when an older one wraps it; returns whether it did. */
export async function rewrapRootKey(db: SqlClient, keyring: Keyring): Promise<boolean> {
  const stored = await readRoot(db);
  if (!stored || stored.keyVersion === keyring.currentVersion) return false;
  const root = openRoot(keyring, stored);
  const sealed = seal(keyring, root, ROOT_KEY_CONTEXT);
  root.fill(0);
  const { rowCount } = await db.query(
    `UPDATE vault_keys SET key_version = $1, wrapped_key = $2, ciphertext = $3, rewrapped_at = now()
     WHERE purpose = 'root' AND key_version = $4`,
    [sealed.keyVersion, sealed.wrappedKey, sealed.ciphertext, stored.keyVersion],
  );
  return rowCount === 1;
}
