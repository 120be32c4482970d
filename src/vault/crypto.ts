// Envelope encryption of card data with AES-256-GCM. Each card gets its own random data key; the card
// data is encrypted with it, and the data key is encrypted ("wrapped") with the master key, the
// key-encryption key. A record names the master key version that wrapped it, so several versions can be
// configured at once during a rotation; `micropay vault rewrap` re-seals records of older versions under
// the current one (see rewrap.ts). Keys for other purposes (fingerprints, digests, client secrets,
// receipts, webhook secrets) derive from the vault's root key, which is stored wrapped like a record
// and survives rotations unchanged (see root-key.ts).
// Both encryptions bind the record's identity as associated data: a ciphertext moved to another record
// or altered in any bit fails to decrypt instead of yielding wrong data.
import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes } from 'node:crypto';

export const VAULT_KEY_BYTES = 32;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const CIPHER = 'aes-256-gcm';
const HKDF_SALT = 'micropay-vault';
/** Characters of a fingerprint (base64url of its first 12 bytes: 96 bits, enough to never collide by chance). */
export const FINGERPRINT_LENGTH = 16;

/** The master keys by version, and keys derived from them for purposes other than wrapping. */
export interface Keyring {
  /** The version new records are wrapped with. */
  readonly currentVersion: number;
  keyOf(version: number): Buffer | undefined;
  /** Every version the keyring holds, the current one first, then the others newest first. */
  readonly versions: readonly number[];
  /** What the purpose keys derive from: the same across master key rotations (root-key.ts). */
  readonly root: Buffer;
  /** HMAC key of card fingerprints. */
  readonly fingerprintKey: Buffer;
  /** HMAC key of digests of requests that carry card data (so no stored digest can be reversed by guessing). */
  readonly requestDigestKey: Buffer;
}

export interface SealedData {
  keyVersion: number;
  /** nonce | encrypted data key | tag */
  wrappedKey: Buffer;
  /** nonce | encrypted data | tag */
  ciphertext: Buffer;
}

/** Thrown when stored card data does not decrypt: it was altered, moved, or the master key is not the one that wrapped it. */
export class VaultIntegrityError extends Error {
  constructor(what: string) {
    super(`vault record does not decrypt: ${what}`);
    this.name = 'VaultIntegrityError';
  }
}

function derive(masterKey: Buffer, purpose: string): Buffer {
  return Buffer.from(hkdfSync('sha256', masterKey, HKDF_SALT, purpose, VAULT_KEY_BYTES));
}

/** A keyring's versions as it lists them: the current one first, then the others newest first. */
export function keyVersions(versions: Iterable<number>, currentVersion: number): number[] {
  return [currentVersion, ...[...versions].filter((version) => version !== currentVersion).sort((a, b) => b - a)];
}

/**
 * `keys` holds every master key still needed to open records, by version; `currentVersion` wraps new
 * ones. `root` is what fingerprint, digest and the other purpose keys derive from; without one (unit
 * tests) it is the key of the lowest version, which is what an installation's stored root starts as.
 */
export function createKeyring(keys: Map<number, Buffer>, currentVersion: number, root?: Buffer): Keyring {
  const current = keys.get(currentVersion);
  if (!current) throw new Error(`the keyring has no key of its current version ${currentVersion}`);
  for (const [version, key] of keys) {
    if (key.length !== VAULT_KEY_BYTES) throw new Error(`master key version ${version} is not ${VAULT_KEY_BYTES} bytes`);
  }
  const copies = new Map([...keys].map(([version, key]) => [version, Buffer.from(key)]));
  const rootKey = Buffer.from(root ?? copies.get(Math.min(...copies.keys()))!);
  if (rootKey.length !== VAULT_KEY_BYTES) throw new Error(`the root key is not ${VAULT_KEY_BYTES} bytes`);
  return {
    currentVersion,
    keyOf: (version) => copies.get(version),
    versions: keyVersions(copies.keys(), currentVersion),
    root: rootKey,
    fingerprintKey: derive(rootKey, 'card-fingerprint-v1'),
    requestDigestKey: derive(rootKey, 'request-digest-v1'),
  };
}

function encrypt(key: Buffer, plaintext: Buffer, associated: string): Buffer {
  const nonce = randomBytes(NONCE_BYTES);
  const cipher = createCipheriv(CIPHER, key, nonce, { authTagLength: TAG_BYTES });
  cipher.setAAD(Buffer.from(associated, 'utf8'));
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([nonce, body, cipher.getAuthTag()]);
}

function decrypt(key: Buffer, sealed: Buffer, associated: string, what: string): Buffer {
  if (sealed.length < NONCE_BYTES + TAG_BYTES) throw new VaultIntegrityError(`${what} is truncated`);
  const nonce = sealed.subarray(0, NONCE_BYTES);
  const tag = sealed.subarray(sealed.length - TAG_BYTES);
  const body = sealed.subarray(NONCE_BYTES, sealed.length - TAG_BYTES);
  const decipher = createDecipheriv(CIPHER, key, nonce, { authTagLength: TAG_BYTES });
  decipher.setAAD(Buffer.from(associated, 'utf8'));
  decipher.setAuthTag(tag);
  try {
    return Buffer.concat([decipher.update(body), decipher.final()]);
  } catch {
    throw new VaultIntegrityError(`${what} failed authentication`);
  }
}

/** Encrypts `plaintext` under a fresh data key wrapped by the current master key; `context` names the record. */
export function seal(keyring: Keyring, plaintext: Buffer, context: string): SealedData {
  const keyVersion = keyring.currentVersion;
  const dataKey = randomBytes(VAULT_KEY_BYTES);
  try {
    return {
      keyVersion,
      wrappedKey: encrypt(keyring.keyOf(keyVersion)!, dataKey, `micropay.vault.key|${context}|v${keyVersion}`),
      ciphertext: encrypt(dataKey, plaintext, `micropay.vault.data|${context}|v${keyVersion}`),
    };
  } finally {
    dataKey.fill(0);
  }
}

/** Decrypts what `seal` made for the same `context`; throws `VaultIntegrityError` on any mismatch. */
export function unseal(keyring: Keyring, sealed: SealedData, context: string): Buffer {
  const masterKey = keyring.keyOf(sealed.keyVersion);
  if (!masterKey) throw new VaultIntegrityError(`master key version ${sealed.keyVersion} is not configured`);
  const dataKey = decrypt(masterKey, sealed.wrappedKey, `micropay.vault.key|${context}|v${sealed.keyVersion}`, 'the wrapped data key');
  try {
    return decrypt(dataKey, sealed.ciphertext, `micropay.vault.data|${context}|v${sealed.keyVersion}`, 'the card data');
  } finally {
    dataKey.fill(0);
  }
}

/** A keyed fingerprint of a card number within `scope`: equal for equal numbers, useless without the key. */
export function fingerprint(keyring: Keyring, scope: string, cardNumber: string): string {
  return createHmac('sha256', keyring.fingerprintKey).update(`${scope}\n${cardNumber}`).digest('base64url').slice(0, FINGERPRINT_LENGTH);
}

/** A keyed digest of secret request fields, for comparing requests without storing what can be reversed. */
export function secretDigest(keyring: Keyring, parts: string[]): string {
  return createHmac('sha256', keyring.requestDigestKey).update(parts.join('\n')).digest('base64url');
}
