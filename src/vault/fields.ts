// Sensitive fields other than cards (a merchant's bank account number) sealed at rest with the vault's
// envelope encryption: a fresh data key per value, wrapped by the master key, the record's identity
// bound in as associated data. A sealed value is one text: `sealed:v1:<key version>:<wrapped>:<data>`.
import { seal, unseal, type Keyring } from './crypto.ts';

export interface FieldSealer {
  seal(plaintext: string, context: string): string;
  /** The plaintext of a sealed value; a value stored before sealing existed is returned as it is. */
  unseal(stored: string, context: string): string;
  /** The value sealed under the current master key, or null when it already is (rewrap.ts); a value
   * stored before sealing existed gets sealed. */
  reseal(stored: string, context: string): string | null;
  /** How every value sealed under the current master key starts (for finding the others in SQL). */
  readonly currentPrefix: string;
}

/** How every sealed value starts, before its master key version. */
export const SEALED_PREFIX = 'sealed:v1:';
const PREFIX = SEALED_PREFIX;

/** The master key version a stored value is sealed with; null for a value stored before sealing existed. */
function sealedVersionOf(stored: string): number | null {
  if (!stored.startsWith(PREFIX)) return null;
  return Number(stored.slice(PREFIX.length).split(':', 1)[0]);
}

export function createFieldSealer(keyring: Keyring): FieldSealer {
  const sealer: FieldSealer = {
    currentPrefix: `${PREFIX}${keyring.currentVersion}:`,
    seal(plaintext, context) {
      const sealed = seal(keyring, Buffer.from(plaintext, 'utf8'), `field|${context}`);
      return `${PREFIX}${sealed.keyVersion}:${sealed.wrappedKey.toString('base64url')}:${sealed.ciphertext.toString('base64url')}`;
    },
    reseal(stored, context) {
      if (sealedVersionOf(stored) === keyring.currentVersion) return null;
      return sealer.seal(sealer.unseal(stored, context), context);
    },
    unseal(stored, context) {
      if (!stored.startsWith(PREFIX)) return stored;
      const [version, wrapped, data] = stored.slice(PREFIX.length).split(':');
      const plaintext = unseal(
        keyring,
        { keyVersion: Number(version), wrappedKey: Buffer.from(wrapped ?? '', 'base64url'), ciphertext: Buffer.from(data ?? '', 'base64url') },
        `field|${context}`,
      );
      return plaintext.toString('utf8');
    },
  };
  return sealer;
}
