// Which receipt signing key generations exist (table `receipt_signing_keys`), and a per-process view of
// them that signs with the current one and publishes the rest. Rotation adds a generation that is
// published at once and signs from a later moment (`publishAheadSeconds`), so that every process and
// every verifier's cached JWKS (max-age 300 s) knows the new key before any receipt is signed with it.
// Retiring a generation removes it from the JWKS: receipts it signed no longer verify (what a leaked key
// calls for). Each process re-reads the table every `refreshIntervalMs`.
import type { Database, SqlClient } from '../store/database.ts';
import { sqlState } from '../store/database.ts';
import { receiptSigningKeyOf, type ReceiptSigningKey } from './keys.ts';

export interface SigningKeyGeneration {
  generation: number;
  createdAt: Date;
  signsFrom: Date;
  retiredAt: Date | null;
}

export type GenerationState = 'signing' | 'published_ahead' | 'verifying' | 'retired';

/** The default time a new generation is published before it signs: three times the JWKS's max-age. */
export const PUBLISH_AHEAD_SECONDS_DEFAULT = 900;
export const PUBLISH_AHEAD_SECONDS_MAX = 30 * 86_400;

export class SigningKeyError extends Error {
  constructor(
    readonly code: 'generation_unknown' | 'generation_retired' | 'generation_signing' | 'publish_ahead_invalid',
    message: string,
  ) {
    super(message);
    this.name = 'SigningKeyError';
  }
}

interface Row {
  generation: number;
  created_at: Date;
  signs_from: Date;
  retired_at: Date | null;
}

const toGeneration = (row: Row): SigningKeyGeneration => ({
  generation: row.generation,
  createdAt: row.created_at,
  signsFrom: row.signs_from,
  retiredAt: row.retired_at,
});

export async function listGenerations(db: SqlClient): Promise<SigningKeyGeneration[]> {
  const { rows } = await db.query<Row>('SELECT generation, created_at, signs_from, retired_at FROM receipt_signing_keys ORDER BY generation');
  return rows.map(toGeneration);
}

/** The generation that signs at `now`: the newest published one whose `signsFrom` has passed; when none
 * has (cannot happen through rotate and retire), the published one that signs first. */
export function signingGeneration(generations: SigningKeyGeneration[], now: Date): SigningKeyGeneration | null {
  const published = generations.filter((generation) => generation.retiredAt === null);
  const due = published.filter((generation) => generation.signsFrom.getTime() <= now.getTime());
  if (due.length > 0) return due.reduce((newest, generation) => (generation.generation > newest.generation ? generation : newest));
  return published.reduce<SigningKeyGeneration | null>((first, generation) => (!first || generation.signsFrom < first.signsFrom ? generation : first), null);
}

export function stateOf(generation: SigningKeyGeneration, signing: SigningKeyGeneration | null, now: Date): GenerationState {
  if (generation.retiredAt !== null) return 'retired';
  if (signing?.generation === generation.generation) return 'signing';
  return generation.signsFrom.getTime() > now.getTime() ? 'published_ahead' : 'verifying';
}

/** Adds the next generation, published now and signing `publishAheadSeconds` from now. */
export async function rotateSigningKey(db: Database, publishAheadSeconds: number): Promise<SigningKeyGeneration> {
  if (!Number.isInteger(publishAheadSeconds) || publishAheadSeconds < 0 || publishAheadSeconds > PUBLISH_AHEAD_SECONDS_MAX) {
    throw new SigningKeyError('publish_ahead_invalid', `publish-ahead must be a whole number of seconds from 0 to ${PUBLISH_AHEAD_SECONDS_MAX}`);
  }
  for (let attempt = 0; ; attempt += 1) {
    try {
      const { rows } = await db.query<Row>(
        `INSERT INTO receipt_signing_keys (generation, signs_from)
         SELECT coalesce(max(generation), 0) + 1, now() + make_interval(secs => $1) FROM receipt_signing_keys
         RETURNING generation, created_at, signs_from, retired_at`,
        [publishAheadSeconds],
      );
      return toGeneration(rows[0]!);
    } catch (error) {
      // Two rotations at once both chose the same number: the later one takes the next.
      if (sqlState(error) !== '23505' || attempt >= 3) throw error;
    }
  }
}

/** Retires `generation`: only one that a newer published generation has replaced as the signer. */
export async function retireSigningKey(db: Database, generation: number): Promise<SigningKeyGeneration> {
  return db.transaction(async (tx) => {
    // One retirement at a time, so that two cannot together leave nothing to sign with.
    await tx.query('LOCK TABLE receipt_signing_keys IN SHARE ROW EXCLUSIVE MODE');
    const generations = await listGenerations(tx);
    const target = generations.find((candidate) => candidate.generation === generation);
    if (!target) throw new SigningKeyError('generation_unknown', `there is no receipt signing key generation ${generation}`);
    if (target.retiredAt !== null) throw new SigningKeyError('generation_retired', `generation ${generation} was retired at ${target.retiredAt.toISOString()}`);
    const { rows: clock } = await tx.query<{ now: Date }>('SELECT now() AS now');
    const signing = signingGeneration(generations, clock[0]!.now);
    if (!signing || signing.generation <= generation) {
      throw new SigningKeyError(
        'generation_signing',
        `generation ${generation} still signs receipts: rotate first (micropay receipt rotate-key), and retire it once the new generation signs`,
      );
    }
    const { rows } = await tx.query<Row>(
      `UPDATE receipt_signing_keys SET retired_at = now() WHERE generation = $1 RETURNING generation, created_at, signs_from, retired_at`,
      [generation],
    );
    return toGeneration(rows[0]!);
  });
}

/** This process's view of the generations: what signs now and what the JWKS publishes. */
export interface ReceiptSigner {
  signing(now?: Date): ReceiptSigningKey;
  published(): ReceiptSigningKey[];
  /** Re-reads the generations (also done every `refreshIntervalMs`). */
  refresh(): Promise<void>;
  close(): void;
}

export async function openReceiptSigner(
  db: Database,
  root: Buffer,
  options: { refreshIntervalMs: number; onRefreshError?: (error: unknown) => void },
): Promise<ReceiptSigner> {
  const derived = new Map<number, ReceiptSigningKey>();
  const keyOf = (generation: number) => {
    let key = derived.get(generation);
    if (!key) {
      key = receiptSigningKeyOf(root, generation);
      derived.set(generation, key);
    }
    return key;
  };
  let generations = await listGenerations(db);
  const refresh = async () => {
    generations = await listGenerations(db);
  };
  let timer: NodeJS.Timeout | null = null;
  if (options.refreshIntervalMs > 0) {
    timer = setInterval(() => {
      // A failed read keeps the last view; the next interval tries again.
      refresh().catch((error: unknown) => options.onRefreshError?.(error));
    }, options.refreshIntervalMs);
    timer.unref();
  }
  return {
    signing(now = new Date()) {
      const current = signingGeneration(generations, now);
      if (!current) throw new Error('no receipt signing key generation is published');
      return keyOf(current.generation);
    },
    published() {
      return generations.filter((generation) => generation.retiredAt === null).map((generation) => keyOf(generation.generation));
    },
    refresh,
    close() {
      if (timer) clearInterval(timer);
    },
  };
}
