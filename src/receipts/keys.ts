// The receipts' keys, derived with HKDF from the vault's root key (src/vault/root-key.ts) so that no key
// is stored: the Ed25519 signing keys, one per generation (info `receipt-signing-v<generation>`,
// signing-keys.ts keeps which generations exist), whose public halves are published as a JWKS, and the
// key of receipt URLs (info `receipt-url-v1`). The root survives master key rotations, so receipts
// signed and URLs made before a rotation keep verifying and resolving after it, also once the old master
// key has left the configuration. Rotating the signing key (a new generation) leaves URLs unchanged.
import { createCipheriv, createDecipheriv, createHash, createHmac, createPrivateKey, createPublicKey, hkdfSync, type KeyObject } from 'node:crypto';
import type { JWK } from 'jose';

const SALT = 'micropay-vault';
/** PKCS#8 DER of an Ed25519 private key, up to its 32-byte seed (RFC 8410). */
const ED25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
const TOKEN_PREFIX = 'rct_';
const IV_BYTES = 12;
const TAG_BYTES = 16;
/** Longest token accepted before decoding (the object reference inside is short). */
const TOKEN_CHARS_MAX = 190;

export const RECEIPT_OBJECT_TYPES = ['payment', 'top_up', 'refund'] as const;
export type ReceiptObjectType = (typeof RECEIPT_OBJECT_TYPES)[number];

/** What a receipt URL's token carries, sealed: enough to fetch the object with its merchant's scope. */
export interface ReceiptReference {
  objectType: ReceiptObjectType;
  objectId: string;
  merchantId: string;
  livemode: boolean;
}

/** One generation of the receipt signing key. */
export interface ReceiptSigningKey {
  generation: number;
  signingKey: KeyObject;
  publicKey: KeyObject;
  /** The JWK thumbprint (RFC 7638) of the public key. */
  kid: string;
  /** The public key as a JWK with `kid`, `alg` and `use`. */
  publicJwk: JWK;
}

/** The key of receipt URLs: seals an object's reference into a token, and opens it. */
export interface ReceiptUrlKey {
  tokenOf(reference: ReceiptReference): string;
  /** The reference sealed in `token`, or null for a token this key did not make. */
  open(token: string): ReceiptReference | null;
}

/** The signing key of `generation` (1, the first, is what every installation signed with before
 * rotation existed). */
export function receiptSigningKeyOf(root: Buffer, generation: number): ReceiptSigningKey {
  if (!Number.isInteger(generation) || generation < 1) throw new Error(`receipt signing key generation ${generation} is not a positive integer`);
  const seed = Buffer.from(hkdfSync('sha256', root, SALT, `receipt-signing-v${generation}`, 32));
  const signingKey = createPrivateKey({ key: Buffer.concat([ED25519_PKCS8_PREFIX, seed]), format: 'der', type: 'pkcs8' });
  const publicKey = createPublicKey(signingKey);
  const x = publicKey.export({ format: 'jwk' }).x as string;
  // The JWK thumbprint (RFC 7638): SHA-256 of the required members in lexical order.
  const kid = createHash('sha256').update(JSON.stringify({ crv: 'Ed25519', kty: 'OKP', x })).digest('base64url');
  return { generation, signingKey, publicKey, kid, publicJwk: { kty: 'OKP', crv: 'Ed25519', x, kid, alg: 'EdDSA', use: 'sig' } };
}

/** The key of receipt URLs of the keyring's root. */
export function receiptUrlKeyOf(root: Buffer): ReceiptUrlKey {
  const urlKey = Buffer.from(hkdfSync('sha256', root, SALT, 'receipt-url-v1', 64));
  const encryptionKey = urlKey.subarray(0, 32);
  const ivKey = urlKey.subarray(32);
  return {
    tokenOf(reference) {
      const plain = Buffer.from([reference.objectType, reference.livemode ? '1' : '0', reference.merchantId, reference.objectId].join('|'));
      // A synthetic IV (an HMAC of the plaintext) makes the token deterministic: the same object always
      // has the same URL, and the only thing the determinism reveals is that two URLs are equal.
      const iv = createHmac('sha256', ivKey).update(plain).digest().subarray(0, IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', encryptionKey, iv);
      const sealed = Buffer.concat([cipher.update(plain), cipher.final()]);
      return TOKEN_PREFIX + Buffer.concat([iv, sealed, cipher.getAuthTag()]).toString('base64url');
    },
    open(token) {
      if (!token.startsWith(TOKEN_PREFIX) || token.length > TOKEN_CHARS_MAX) return null;
      const body = token.slice(TOKEN_PREFIX.length);
      if (!/^[A-Za-z0-9_-]+$/.test(body)) return null;
      const bytes = Buffer.from(body, 'base64url');
      // Only the canonical encoding is accepted, so that one receipt has exactly one URL.
      if (bytes.length <= IV_BYTES + TAG_BYTES || bytes.toString('base64url') !== body) return null;
      try {
        const decipher = createDecipheriv('aes-256-gcm', encryptionKey, bytes.subarray(0, IV_BYTES));
        decipher.setAuthTag(bytes.subarray(bytes.length - TAG_BYTES));
        const plain = Buffer.concat([decipher.update(bytes.subarray(IV_BYTES, bytes.length - TAG_BYTES)), decipher.final()]).toString('utf8');
        const [objectType, live, merchantId, objectId, ...rest] = plain.split('|');
        if (rest.length > 0 || !RECEIPT_OBJECT_TYPES.includes(objectType as ReceiptObjectType) || !merchantId || !objectId) return null;
        return { objectType: objectType as ReceiptObjectType, livemode: live === '1', merchantId, objectId };
      } catch {
        return null;
      }
    },
  };
}
