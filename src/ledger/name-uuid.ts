// Name-based UUIDs, version 5 (RFC 9562): SHA-1 of the namespace's 16 bytes and the name's UTF-8, with
// the version and variant bits set, so the same name always gives the same id. The ledger names
// accounts and transfers this way (`ledgerId`), and a hold's expiry after the hold (`expiryIdFor`).
import { hash as digest } from 'node:crypto';

const SCRATCH_NAME_BYTES = 1024;
const sha1 = (input: Buffer): Buffer => digest('sha1', input, 'buffer');

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The function naming UUIDs in `namespace` (itself a UUID), with the namespace's bytes kept. */
export function nameBasedUuid(namespace: string): (name: string) => string {
  if (!UUID.test(namespace)) throw new Error(`a UUID namespace is a UUID: ${namespace}`);
  const namespaceBytes = Buffer.from(namespace.replaceAll('-', ''), 'hex');
  // The namespace and the name hashed from one buffer kept for the purpose (one-shot `hash`, no hasher
  // object per id); a name too long for it takes a buffer of its own.
  const scratch = Buffer.alloc(16 + SCRATCH_NAME_BYTES);
  namespaceBytes.copy(scratch);
  return (name) => {
    const input = Buffer.byteLength(name, 'utf8') <= SCRATCH_NAME_BYTES
      ? scratch.subarray(0, 16 + scratch.write(name, 16, 'utf8'))
      : Buffer.concat([namespaceBytes, Buffer.from(name, 'utf8')]);
    const hash = sha1(input);
    hash[6] = (hash[6]! & 0x0f) | 0x50;
    hash[8] = (hash[8]! & 0x3f) | 0x80;
    const hex = hash.toString('hex', 0, 16);
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
  };
}
