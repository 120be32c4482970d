// Object ids: a type prefix and 128 random bits in base62 (`pay_4fQ...`), so that an id says what it is
// and cannot be guessed. Ledger ids are UUIDs derived from object ids so that a retry lands on the same
// transfer.
import { randomFillSync, hash } from 'node:crypto';
import { nameBasedUuid } from '../ledger/name-uuid.ts';

const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** Random bytes drawn from the system's CSPRNG a page at a time (one call per page instead of one per id). */
const pool = Buffer.alloc(4096);
let poolAt = pool.length;

function randomByte(): number {
  if (poolAt === pool.length) {
    randomFillSync(pool);
    poolAt = 0;
  }
  const byte = pool[poolAt]!;
  poolAt += 1;
  return byte;
}

/** Bytes at or above this are drawn again, so that each of the 62 digits is equally likely. */
const UNBIASED_BELOW = 62 * 4;

/** Random base62 text carrying at least `bytes` × 8 bits: ceil(bits / log2(62)) digits, each drawn
 * uniformly (rejection sampling of random bytes, not a modulo of a big number). */
export function randomBase62(bytes: number): string {
  const length = Math.ceil((bytes * 8) / Math.log2(62));
  let text = '';
  while (text.length < length) {
    const byte = randomByte();
    if (byte < UNBIASED_BELOW) text += ALPHABET[byte % 62]!;
  }
  return text;
}

export type IdPrefix = 'mer' | 'key' | 'buy' | 'cus' | 'pay' | 'rsk' | 'evt' | 'ref' | 'dp' | 'po' | 'top' | 'we' | 'whd' | 'card' | 'rev'
  // buyer identity and checkout (docs/api/buyers.md, docs/api/checkout.md)
  | 'pkey' | 'bdev' | 'bses' | 'otp' | 'preg' | 'pauth' | 'chl' | 'msg'
  // support tickets and their messages (docs/api/support.md)
  | 'tkt' | 'tmsg'
  // staff users, passkeys, invitations, sessions and ceremonies (docs/api/staff.md)
  | 'stf' | 'spk' | 'sinv' | 'sses' | 'sreg' | 'sauth' | 'sadd' | 'sae'
  // evidence files of disputes (docs/api/refunds-and-disputes.md)
  | 'dpf';

export function newId(prefix: IdPrefix): string {
  return `${prefix}_${randomBase62(16)}`;
}

/** An id derived from `seed` (from an Idempotency-Key, so a re-run request lands on the same object),
 * or a random one when there is no seed. */
export function idFor(prefix: IdPrefix, seed: string | undefined): string {
  if (seed === undefined) return newId(prefix);
  return `${prefix}_${hash('sha256', `${seed}:${prefix}`, 'hex').slice(0, 26)}`;
}

/** Whether `id` looks like an id of this prefix (cheap check before a lookup). */
export function isId(id: string, prefix: IdPrefix): boolean {
  return id.length <= 64 && id.startsWith(`${prefix}_`) && /^[0-9A-Za-z]+$/.test(id.slice(prefix.length + 1));
}

export const LEDGER_NAMESPACE = '0b8a6f2e-3c1d-4e5f-9a7b-6c5d4e3f2a10';

/** The UUID of a ledger account or transfer named by `name` (e.g. `pay_x:settle`): a name-based UUID,
 * version 5, in the ledger's namespace, so the same name always gives the same id. */
export const ledgerId = nameBasedUuid(LEDGER_NAMESPACE);
