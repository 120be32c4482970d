// Idempotency-Key: the first request with a key reserves it (a row with a lease), runs, and stores its
// response, errors included; a repeat within 24 hours gets that response replayed, a repeat with other
// parameters is refused, and one arriving while the first still runs is told to retry. The unique row
// makes this hold across server processes. Objects a keyed request creates get ids derived from the key
// (`seed`), so that a request re-run after a crash (its lease expired, no response stored) lands on the
// same objects instead of creating new ones.
import { hash } from 'node:crypto';
import type { SqlClient } from '../store/database.ts';
import { jsonRecords } from '../store/json-records.ts';
import { createMicroBatcher } from '../store/micro-batch.ts';
import { statementWriter, type UnitWrite } from '../ledger/unit-of-work.ts';

export const IDEMPOTENCY_KEY_LENGTH_MAX = 255;
export const IDEMPOTENCY_RETENTION_HOURS = 24;
/** How long a running request holds its key before another process may take the request over. */
export const IDEMPOTENCY_LEASE_SECONDS = 60;
const RESERVE_ROUNDS_MAX = 8;

export type Reservation =
  /** `resumed`: the key was reserved before by a request that never answered (its lease ran out); what
   * it created may exist. `seed` is the same for both runs. */
  | { kind: 'reserved'; seed: string; resumed: boolean }
  | { kind: 'replay'; status: number; body: unknown }
  | { kind: 'reused' }
  | { kind: 'in_use' };

export interface IdempotencyStore {
  reserve(owner: string, key: string, requestDigest: string): Promise<Reservation>;
  complete(owner: string, key: string, status: number, body: unknown): Promise<void>;
  /** Ends the lease of a key whose request failed on our side (5xx), so that a retry resumes it at once. */
  release(owner: string, key: string): Promise<void>;
  /** Deletes records past the retention period; returns how many. */
  sweep(limit: number): Promise<number>;
}

/** A request's answer as stored for replays: its body as a value, or already as JSON text (`bodyJson`). */
export type StoredAnswer = { owner: string; key: string; status: number } & ({ body: unknown } | { bodyJson: string });

/** Answers as the JSON array `storeAnswersSql` reads, a body given as JSON text taken as it is. */
function answersJson(answers: StoredAnswer[]): string {
  const items = answers.map((answer) => {
    const body = 'bodyJson' in answer ? answer.bodyJson : JSON.stringify(answer.body ?? null);
    return `{"owner":${JSON.stringify(answer.owner)},"key":${JSON.stringify(answer.key)},"status":${JSON.stringify(answer.status)},"body":${body}}`;
  });
  return `[${items.join(',')}]`;
}

/** Stores `count` answers (parameter `$first`: a JSON array of StoredAnswer) on their keys' records. */
export function storeAnswersSql(first: number, count: number): string {
  return `UPDATE idempotency_keys AS k SET state = 'done', response_status = a.status, response_body = a.body
     FROM ${jsonRecords(`$${first}`, 'a(owner text, key text, status integer, body jsonb)', count)}
     WHERE k.owner = a.owner AND k.key = a.key`;
}

export const IDEMPOTENCY_ANSWERS_WRITER = 'idempotency_answers';

/** The group commit's writer of answers: a keyed request whose success is decided in the commit that
 * makes its effect stores its answer in that same transaction (`answerWrite`), so the effect and the
 * answer become durable together and nothing is left to store after it (docs/api/conventions.md). */
export const writeIdempotencyAnswers = statementWriter((rows, first) => [
  { sql: storeAnswersSql(first, rows.length), params: [answersJson(rows as StoredAnswer[])], expectedRows: null },
]);

export function answerWrite(answer: StoredAnswer): UnitWrite {
  return { writer: IDEMPOTENCY_ANSWERS_WRITER, row: answer };
}

export function requestDigest(method: string, path: string, body: unknown): string {
  return hash('sha256', `${method} ${path}\n${JSON.stringify(body ?? null)}`, 'base64url');
}

export function isValidIdempotencyKey(key: string): boolean {
  return key.length >= 1 && key.length <= IDEMPOTENCY_KEY_LENGTH_MAX && /^[\x21-\x7e]+$/.test(key);
}

interface KeyRow {
  owner: string;
  key: string;
  request_digest: string;
  state: 'running' | 'done';
  response_status: number | null;
  response_body: unknown;
  taken: boolean;
  inserted: boolean;
  /** The reservation's start in microseconds since the epoch: part of the seed, so a key reused after
   * its record expired creates new objects while a resumed request lands on the old ones. */
  started_us: string;
}

interface ReserveInput {
  owner: string;
  key: string;
  digest: string;
}

/** Reservations and answers of concurrent requests share statements (see micro-batch.ts). One statement
 * of each in flight: the requests arriving while it runs share the next one. With four in flight, a
 * bench:api run sent 0.60 statements per payment and PostgreSQL spent 0.87 ms of CPU per payment; with
 * one, 0.44 statements and 0.75 ms, at the same throughput and latency (docs/performance.md). */
const BATCH_OPTIONS = { batchMax: 500, inFlightMax: 1 };

/** One statement for a batch of distinct keys (parameters: the keys as JSON, the lease in seconds, the
 * retention in hours, the number of keys): insert new reservations, or take over an expired record or
 * an abandoned lease (same parameters only); and report what is there for the others. Each key is
 * looked up by the primary key whatever the table's size or statistics (see jsonRecords), so the
 * statement is prepared once per connection (RESERVE_STATEMENT): its generic plan is the custom one. */
export const RESERVE_SQL = `WITH input AS (
       SELECT * FROM ${jsonRecords('$1', 'r(owner text, key text, digest text)', '$4')}
     ), taken AS (
       INSERT INTO idempotency_keys AS k (owner, key, request_digest, state, locked_until)
       SELECT owner, key, digest, 'running', now() + make_interval(secs => $2) FROM input ORDER BY owner, key
       ON CONFLICT (owner, key) DO UPDATE
         SET request_digest = EXCLUDED.request_digest, state = 'running', response_status = NULL,
             response_body = NULL, locked_until = EXCLUDED.locked_until,
             created_at = CASE WHEN k.created_at < now() - make_interval(hours => $3) THEN now() ELSE k.created_at END
         WHERE k.created_at < now() - make_interval(hours => $3)
            OR (k.state = 'running' AND k.locked_until < now() AND k.request_digest = EXCLUDED.request_digest)
       RETURNING k.owner, k.key, k.request_digest, k.state, k.response_status, k.response_body, true AS taken,
         (k.xmax = 0) AS inserted, (extract(epoch FROM k.created_at) * 1000000)::bigint::text AS started_us
     )
     SELECT * FROM taken
     UNION ALL
     SELECT k.owner, k.key, k.request_digest, k.state, k.response_status, k.response_body, false, false, ''
     FROM input i CROSS JOIN LATERAL (
       -- OFFSET 0 keeps this a lookup by the primary key for each input row (see jsonRecords).
       SELECT k.owner, k.key, k.request_digest, k.state, k.response_status, k.response_body
       FROM idempotency_keys k WHERE k.owner = i.owner AND k.key = i.key OFFSET 0
     ) k
     WHERE NOT EXISTS (SELECT 1 FROM taken t WHERE t.owner = k.owner AND t.key = k.key)`;
const RESERVE_STATEMENT = 'micropay_idempotency_reserve';

/** `reservations`: where reservations are written, which may be a client whose commits do not wait for
 * their WAL flush (`Database.unflushed`): a reservation lost in a crash was acknowledged to nobody,
 * and the request's own commit, flushed, carries it to disk before the request's effect is durable
 * (docs/api/conventions.md). Answers and releases are written through `db`. */
export function createIdempotencyStore(db: SqlClient, reservations: SqlClient = db): IdempotencyStore {
  async function reserveBatch(inputs: ReserveInput[]): Promise<Map<string, KeyRow>> {
    const { rows } = await reservations.query<KeyRow>(
      RESERVE_SQL,
      [JSON.stringify(inputs), IDEMPOTENCY_LEASE_SECONDS, IDEMPOTENCY_RETENTION_HOURS, inputs.length],
      { prepared: RESERVE_STATEMENT },
    );
    return new Map(rows.map((row) => [`${row.owner}\n${row.key}`, row]));
  }

  function reservationOf(row: KeyRow, digest: string): Reservation {
    if (row.taken) {
      const seed = hash('sha256', `${row.owner}\n${row.key}\n${row.started_us}`, 'base64url');
      return { kind: 'reserved', seed, resumed: !row.inserted };
    }
    if (row.request_digest !== digest) return { kind: 'reused' };
    if (row.state === 'done') return { kind: 'replay', status: row.response_status!, body: row.response_body };
    return { kind: 'in_use' };
  }

  async function reserveMany(inputs: ReserveInput[]): Promise<Reservation[]> {
    const answers: Array<Reservation | undefined> = new Array(inputs.length);
    let pending = inputs.map((input, index) => ({ input, index, name: `${input.owner}\n${input.key}` }));
    // A row committed by a concurrent request after a statement's snapshot is neither taken nor seen;
    // such keys are asked again with a fresh snapshot.
    for (let round = 0; pending.length > 0; round += 1) {
      if (round >= RESERVE_ROUNDS_MAX) throw new Error('idempotency reservation found no row after retries');
      const first = new Map<string, (typeof pending)[number]>();
      for (const entry of pending) if (!first.has(entry.name)) first.set(entry.name, entry);
      const rows = await reserveBatch([...first.values()].map((entry) => entry.input));
      const unanswered: typeof pending = [];
      for (const entry of pending) {
        const row = rows.get(entry.name);
        if (!row) {
          unanswered.push(entry);
        } else if (first.get(entry.name) === entry || !row.taken) {
          answers[entry.index] = reservationOf(row, entry.input.digest);
        } else {
          // The same key twice in one batch: the first runs, the others find it running.
          answers[entry.index] = row.request_digest === entry.input.digest ? { kind: 'in_use' } : { kind: 'reused' };
        }
      }
      pending = unanswered;
    }
    return answers as Reservation[];
  }

  const reserve = createMicroBatcher(reserveMany, BATCH_OPTIONS);
  const complete = createMicroBatcher(async (answers: StoredAnswer[]) => {
    await db.query(storeAnswersSql(1, answers.length), [answersJson(answers)]);
    return answers.map(() => undefined);
  }, BATCH_OPTIONS);

  return {
    reserve: (owner, key, digest) => reserve({ owner, key, digest }),
    complete: (owner, key, status, body) => complete({ owner, key, status, body }),

    async release(owner, key) {
      // The lease ends now: a retry with the same parameters takes the request over as a resumption,
      // with the same seed, so it lands on whatever the failed run created.
      await db.query(
        `UPDATE idempotency_keys SET locked_until = now() - interval '1 millisecond'
         WHERE owner = $1 AND key = $2 AND state = 'running'`,
        [owner, key],
      );
    },

    async sweep(limit) {
      const { rowCount } = await db.query(
        `DELETE FROM idempotency_keys WHERE ctid = ANY (ARRAY(
           SELECT ctid FROM idempotency_keys WHERE created_at < now() - make_interval(hours => $1) LIMIT $2))`,
        [IDEMPOTENCY_RETENTION_HOURS, limit],
      );
      return rowCount;
    },
  };
}
