// A payment's client secret: what the merchant's page hands to the embeddable checkout so that the buyer's
// browser may read and pay that one payment with the merchant's publishable key. It is derived from the
// payment id with a key of its own (HKDF of the vault's root key), never stored: anyone holding the
// root key can recompute it, and nobody else can guess it.
import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';
import type { Keyring } from '../vault/crypto.ts';

const KEY_BYTES = 32;
/** Characters of the HMAC kept (base64url: 144 bits). */
const TAG_LENGTH = 24;

export interface ClientSecrets {
  of(paymentId: string): string;
  /** Whether `secret` is the client secret of `paymentId`, compared in constant time. */
  matches(paymentId: string, secret: string): boolean;
}

export function createClientSecrets(key: Buffer): ClientSecrets {
  if (key.length !== KEY_BYTES) throw new Error(`a client-secret key is ${KEY_BYTES} bytes`);
  const of = (paymentId: string) => `${paymentId}_secret_${createHmac('sha256', key).update(paymentId).digest('base64url').slice(0, TAG_LENGTH)}`;
  return {
    of,
    matches(paymentId, secret) {
      const expected = Buffer.from(of(paymentId));
      const given = Buffer.from(secret);
      return given.length === expected.length && timingSafeEqual(given, expected);
    },
  };
}

/** The client-secret key of the keyring's root (info `payment-client-secret-v1`): the same across
 * master key rotations, so a page holding a client secret keeps it. */
export function clientSecretsFromKeyring(keyring: Keyring): ClientSecrets {
  return createClientSecrets(Buffer.from(hkdfSync('sha256', keyring.root, 'micropay-vault', 'payment-client-secret-v1', KEY_BYTES)));
}
