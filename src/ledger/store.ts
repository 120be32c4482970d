// SQL of the ledger. Batched statements take parallel arrays through unnest(), so one statement
// carries a whole batch whatever its size. Values are passed as text where a driver might otherwise
// guess a type, and cast in SQL.
import { seqBoundBefore } from '../store/seq-bound.ts';
import { plainArrayLiteral, quotedArrayLiteral } from '../store/array-literal.ts';
import { int2Array, int4Array, int8Array, textArray, uuidArray } from '../store/binary-array.ts';
import type { SqlClient } from '../store/database.ts';
import type { Account, AccountKind, Asset, AssetKind, Transfer, TransferKind } from './model.ts';

const KIND_CODES: Record<TransferKind, number> = {
  posted: 0,
  pending: 1,
  post_pending: 2,
  void_pending: 3,
  expire_pending: 4,
};
const KIND_NAMES = Object.fromEntries(Object.entries(KIND_CODES).map(([name, code]) => [code, name])) as Record<
  number,
  TransferKind
>;

// Timestamps are kept to the millisecond, the precision of a JavaScript Date, so that what a caller is
// told and what is stored are the same instant.
const NOW_MS = `date_trunc('milliseconds', now())`;

export const FLAG_DEBITS_MUST_NOT_EXCEED_CREDITS = 1;
export const FLAG_CREDITS_MUST_NOT_EXCEED_DEBITS = 2;

export const TRANSFER_COLUMNS = `id, debit_account_id, credit_account_id, asset, amount, kind, pending_id, pending_amount,
  timeout_seconds, expires_at, code, metadata, created_at`;
const ACCOUNT_COLUMNS = `id, asset, kind, flags, overdraft_limit, debits_pending, debits_posted, credits_pending,
  credits_posted, metadata, created_at`;

export interface TransferRow {
  id: string;
  debit_account_id: string;
  credit_account_id: string;
  asset: string;
  amount: bigint;
  kind: number;
  pending_id: string | null;
  pending_amount: bigint | null;
  timeout_seconds: number;
  expires_at: Date | null;
  code: number;
  metadata: Record<string, unknown> | null;
  created_at: Date;
}

interface AccountRow {
  id: string;
  asset: string;
  kind: string;
  flags: number;
  overdraft_limit: bigint;
  debits_pending: bigint;
  debits_posted: bigint;
  credits_pending: bigint;
  credits_posted: bigint;
  metadata: Record<string, unknown> | null;
  created_at: Date;
}

export function transferFromRow(row: TransferRow): Transfer {
  return {
    id: row.id,
    debitAccountId: row.debit_account_id,
    creditAccountId: row.credit_account_id,
    asset: row.asset,
    amount: row.amount,
    kind: KIND_NAMES[row.kind]!,
    pendingId: row.pending_id,
    pendingAmount: row.pending_amount,
    timeoutSeconds: row.timeout_seconds,
    expiresAt: row.expires_at,
    code: row.code,
    metadata: row.metadata,
    createdAt: row.created_at,
  };
}

function accountFromRow(row: AccountRow): Account {
  return {
    id: row.id,
    asset: row.asset,
    kind: row.kind as AccountKind,
    flags: {
      debitsMustNotExceedCredits: row.flags === FLAG_DEBITS_MUST_NOT_EXCEED_CREDITS,
      creditsMustNotExceedDebits: row.flags === FLAG_CREDITS_MUST_NOT_EXCEED_DEBITS,
    },
    overdraftLimit: row.overdraft_limit,
    debitsPending: row.debits_pending,
    debitsPosted: row.debits_posted,
    creditsPending: row.credits_pending,
    creditsPosted: row.credits_posted,
    metadata: row.metadata,
    createdAt: row.created_at,
  };
}

export async function loadTransfers(tx: SqlClient, ids: string[]): Promise<Map<string, Transfer>> {
  const found = new Map<string, Transfer>();
  if (ids.length === 0) return found;
  const result = await tx.query<TransferRow>(
    `SELECT ${TRANSFER_COLUMNS} FROM ledger_transfers WHERE id = ANY($1::uuid[])`,
    [ids],
  );
  for (const row of result.rows) found.set(row.id, transferFromRow(row));
  return found;
}

export async function findExistingIds(tx: SqlClient, ids: string[]): Promise<string[]> {
  if (ids.length === 0) return [];
  const result = await tx.query<{ id: string }>('SELECT id FROM ledger_transfers WHERE id = ANY($1::uuid[])', [ids]);
  return result.rows.map((row) => row.id);
}

/** The advisory lock every ledger batch takes first and holds until it ends ("micropay" in ASCII): batches
 * commit one at a time across every process sharing the database, so a batch decided under it from
 * exact balances stays right until it commits (docs/ledger.md, "How a batch commits"). */
export const LEDGER_LOCK_KEY = 0x6d6963726f706179n;

/** The token of the last batch committed (random, new for each batch that writes), with the
 * transaction's clock (the database's, to the millisecond). */
export interface LedgerHead {
  token: string;
  now: Date;
}

/** The ledger head and the transaction's clock: a batch's transaction reads it in its opening round
 * trip, right after taking the ledger lock (`TransactionOptions.openingQuery`). */
export const HEAD_QUERY = `SELECT token, ${NOW_MS} AS now FROM ledger_head`;

/** The head as the batch's transaction read it when it opened (with HEAD_QUERY, under the ledger lock,
 * so it cannot move until this transaction ends). */
export function openingHead(tx: SqlClient): LedgerHead {
  const row = tx.opening?.[0];
  if (!row) throw new Error('a ledger batch runs in a transaction opened with the ledger lock and HEAD_QUERY');
  return { token: row.token as string, now: row.now as Date };
}

export async function loadResolutions(tx: SqlClient, pendingIds: string[]): Promise<Map<string, TransferKind>> {
  const found = new Map<string, TransferKind>();
  if (pendingIds.length === 0) return found;
  const result = await tx.query<{ pending_id: string; kind: number }>(
    'SELECT pending_id, kind FROM ledger_transfers WHERE pending_id = ANY($1::uuid[])',
    [pendingIds],
  );
  for (const row of result.rows) found.set(row.pending_id, KIND_NAMES[row.kind]!);
  return found;
}

/** How a batched statement's array parameters are encoded: binary where the client sends Buffers as
 * binary values (PostgreSQL), text literals otherwise (PGlite). The SQL is the same either way. */
interface ArrayEncoding {
  uuid(values: ReadonlyArray<string | null>): unknown;
  int8(values: ReadonlyArray<bigint | number | null>): unknown;
  int4(values: ReadonlyArray<number | null>): unknown;
  int2(values: ReadonlyArray<number | null>): unknown;
  text(values: ReadonlyArray<string | null>): unknown;
}

const BINARY_ARRAYS: ArrayEncoding = { uuid: uuidArray, int8: int8Array, int4: int4Array, int2: int2Array, text: textArray };
const TEXT_ARRAYS: ArrayEncoding = {
  uuid: plainArrayLiteral,
  int8: plainArrayLiteral,
  int4: plainArrayLiteral,
  int2: plainArrayLiteral,
  text: quotedArrayLiteral,
};

export function arrayEncoding(client: Pick<SqlClient, 'binaryArrays'>): ArrayEncoding {
  return client.binaryArrays ? BINARY_ARRAYS : TEXT_ARRAYS;
}

/** The multi-row insert of `transfers`, with its parameters numbered from `$first`, inserting only when
 * `gate` (an SQL condition) holds, and returning each row's seq. An id or a hold resolution already
 * stored fails the statement with a unique violation (SQLSTATE 23505), which the caller turns into a
 * retry that looks ids up: cheaper for the common case than ON CONFLICT, which costs every row an extra
 * index probe and WAL record. The creation and expiry times come from the database clock at the start
 * of the transaction. */
function insertStatement(client: Pick<SqlClient, 'binaryArrays'>, transfers: Transfer[], first: number, gate: string): { sql: string; params: unknown[] } {
  const $ = (offset: number) => `$${first + offset}`;
  return {
    sql: `INSERT INTO ledger_transfers (id, debit_account_id, credit_account_id, asset, amount, kind, pending_id,
       pending_amount, timeout_seconds, expires_at, code, metadata, created_at)
     SELECT t.id, t.debit_account_id, t.credit_account_id, t.asset, t.amount, t.kind, t.pending_id,
       t.pending_amount, t.timeout_seconds,
       CASE WHEN t.kind = 1 AND t.timeout_seconds > 0 THEN ${NOW_MS} + t.timeout_seconds * interval '1 second' END,
       t.code, t.metadata::jsonb, ${NOW_MS}
     FROM unnest(${$(0)}::uuid[], ${$(1)}::uuid[], ${$(2)}::uuid[], ${$(3)}::text[], ${$(4)}::int8[], ${$(5)}::int2[],
       ${$(6)}::uuid[], ${$(7)}::int8[], ${$(8)}::int4[], ${$(9)}::int4[], ${$(10)}::text[])
       AS t(id, debit_account_id, credit_account_id, asset, amount, kind, pending_id, pending_amount,
            timeout_seconds, code, metadata)
     WHERE ${gate}
     RETURNING seq`,
    params: insertColumns(client, transfers),
  };
}

/** One statement that writes a whole batch (built before it runs: a batch may be decided before its
 * transaction holds the lock, see unit-of-work.ts); `moves`: whether it moves the head when it writes.
 * Its parts: the data-modifying `ctes` of a `WITH` (none when it only checks the head) and the two
 * `columns` it answers, whether the head matched and the transaction's clock; `runCommit` may add the
 * batch's other writes to the same statement. */
export interface CommitStatement {
  ctes: string[];
  columns: [string, string];
  params: unknown[];
  moves: boolean;
}

/**
 * The statement that writes one batch, if the ledger head is still `expectedToken` (nothing committed by
 * anyone since the balances the batch was decided from): inserts its transfers, writes back the
 * balances of `flush` as they stand after the batch (with the seq they stand at: the batch's last
 * transfer, or the head's when it inserted none), keeps the index of open holds (`holds`), and moves
 * the head to `token`. Otherwise it writes nothing and answers `written: false`. A batch with nothing to write (every transfer refused) only
 * checks the head, and leaves it (`moved: false`), so other processes' caches stay valid. Runs under the
 * ledger lock (LEDGER_LOCK_KEY); the head is read FOR UPDATE all the same, so that without the lock
 * the statement would still write nothing once another batch had moved the head.
 */
export function commitStatement(
  client: Pick<SqlClient, 'binaryArrays'>,
  transfers: Transfer[],
  flush: Account[],
  expectedToken: string,
  token: string,
  holds: { opened: Transfer[]; closed: string[] } = { opened: [], closed: [] },
): CommitStatement {
  if (transfers.length === 0 && flush.length === 0) {
    return { ctes: [], columns: ['(SELECT count(*) FROM ledger_head WHERE token = $1::uuid)', NOW_MS], params: [expectedToken], moves: false };
  }
  const encode = arrayEncoding(client);
  const n = flush.length;
  const ids = new Array<string>(n);
  const balances = Array.from({ length: 4 }, () => new Array<bigint>(n));
  for (let i = 0; i < n; i += 1) {
    const account = flush[i]!;
    ids[i] = account.id;
    balances[0]![i] = account.debitsPending;
    balances[1]![i] = account.debitsPosted;
    balances[2]![i] = account.creditsPending;
    balances[3]![i] = account.creditsPosted;
  }
  const params: unknown[] = [expectedToken, token];
  const at = (value: unknown) => `$${params.push(value)}`;
  const flushCte =
    n === 0
      ? []
      : [`flushed AS (
       UPDATE ledger_accounts AS a
       SET checkpoint_debits_pending = u.debits_pending, checkpoint_debits_posted = u.debits_posted,
           checkpoint_credits_pending = u.credits_pending, checkpoint_credits_posted = u.credits_posted,
           balance_seq = coalesce((SELECT max(seq) FROM inserted), (SELECT seq FROM head))
       FROM unnest(${at(encode.uuid(ids))}::uuid[], ${balances.map((column) => `${at(encode.int8(column))}::int8[]`).join(', ')})
         AS u(id, debits_pending, debits_posted, credits_pending, credits_posted)
       WHERE a.id = u.id AND EXISTS (SELECT 1 FROM head)
     )`];
  const insert =
    transfers.length > 0 ? insertStatement(client, transfers, params.length + 1, 'EXISTS (SELECT 1 FROM head)') : null;
  if (insert) params.push(...insert.params);
  // The index of open holds (what the expiry worker scans): holds opened with a timeout go in, expiring
  // when their transfer's expires_at says (the same clock), and resolved ones come out. The two lists
  // never share a hold (applyBatch leaves out a hold opened and resolved by the same batch), which
  // matters here: the parts of one statement do not see each other's rows.
  const { opened, closed } = holds;
  const holdCtes = [
    ...(opened.length === 0
      ? []
      : [`opened_holds AS (
       INSERT INTO ledger_open_holds (pending_id, expires_at)
       SELECT h.id, ${NOW_MS} + h.timeout_seconds * interval '1 second'
       FROM unnest(${at(encode.uuid(opened.map((hold) => hold.id)))}::uuid[], ${at(encode.int4(opened.map((hold) => hold.timeoutSeconds)))}::int4[])
         AS h(id, timeout_seconds)
       WHERE EXISTS (SELECT 1 FROM head)
       ON CONFLICT DO NOTHING
     )`]),
    ...(closed.length === 0
      ? []
      : [`closed_holds AS (
       DELETE FROM ledger_open_holds
       WHERE pending_id = ANY(${at(encode.uuid(closed))}::uuid[]) AND EXISTS (SELECT 1 FROM head)
     )`]),
  ];
  return {
    ctes: [
      HEAD_CTE,
      `inserted AS (${insert ? insert.sql : 'SELECT NULL::int8 AS seq WHERE false'})`,
      ...flushCte,
      ...holdCtes,
      `moved AS (
       UPDATE ledger_head SET token = $2::uuid, seq = coalesce((SELECT max(seq) FROM inserted), seq)
       WHERE token = $1::uuid
       RETURNING 1
     )`,
    ],
    columns: ['(SELECT count(*) FROM moved)', NOW_MS],
    params,
    moves: true,
  };
}

const HEAD_CTE = 'head AS (SELECT seq FROM ledger_head WHERE token = $1::uuid FOR UPDATE)';

/** How a commit statement runs: in a transaction that holds the ledger lock (`locked`), or on its own,
 * outside any transaction (`alone`): it then takes the lock and the head first, through
 * `ledger_enter` (migration 0030), which fails the statement with a serialization failure (40001),
 * undoing every part of it, when the head is not the expected one; `lockTimeoutMs` bounds its later
 * lock waits as the transaction's `lock_timeout` does. */
export type CommitMode = { kind: 'locked' } | { kind: 'alone'; lockTimeoutMs: number };

/** The `head` part of a statement run alone: the gate, evaluated once (MATERIALIZED) by the first
 * reference to it, which is the statement's first column, before any part that writes. */
function aloneHeadCte(lockTimeoutMs: number): string {
  if (!Number.isInteger(lockTimeoutMs) || lockTimeoutMs < 0) throw new RangeError('lockTimeoutMs is a whole number of milliseconds');
  return `head AS MATERIALIZED (SELECT ledger_enter($1::uuid, ${BigInt.asIntN(64, LEDGER_LOCK_KEY)}, ${lockTimeoutMs}) AS seq)`;
}

/** More data-modifying statements for a commit statement's round trip (the batch's writers): each
 * `sql` one `WITH` part, its parameters numbered after the commit statement's; `columns` what the
 * statement answers for them after its own two. */
export interface CommitExtras {
  ctes: string[];
  columns: string[];
  params: unknown[];
}

/** Runs a statement of `commitStatement`, with `extras` in the same statement: whether the head was still
 * the expected one (and so the batch written), whether the head moved, the batch's time (the
 * transaction's start, by the database clock; for a statement run alone, its own start), and the
 * extras' columns. */
export async function runCommit(
  client: SqlClient,
  statement: CommitStatement,
  extras: CommitExtras = { ctes: [], columns: [], params: [] },
  mode: CommitMode = { kind: 'locked' },
): Promise<{ written: boolean; moved: boolean; now: Date; extras: unknown[] }> {
  const alone = mode.kind === 'alone';
  const ctes = alone
    ? [aloneHeadCte(mode.lockTimeoutMs), ...statement.ctes.filter((cte) => cte !== HEAD_CTE), ...extras.ctes]
    : [...statement.ctes, ...extras.ctes];
  const columns = [...(alone ? ['(SELECT count(*) FROM head)'] : []), ...statement.columns, ...extras.columns];
  const sql = `${ctes.length > 0 ? `WITH ${ctes.join(',\n')}\n` : ''}SELECT ${columns.join(', ')}`;
  const params = extras.params.length > 0 ? [...statement.params, ...extras.params] : statement.params;
  const rows = await client.queryArrays<unknown[]>(sql, params);
  const [matched, now, ...rest] = rows[0]!.slice(alone ? 1 : 0) as [bigint, Date, ...unknown[]];
  const written = Number(matched) === 1;
  return { written, moved: written && statement.moves, now, extras: rest };
}

/** Accounts with their balances as they stand (the view `ledger_balances`: the checkpoint in the row
 * plus the transfers after it), and how many transfers after the checkpoint each has (`unflushed`). */
export async function loadBalances(tx: SqlClient, ids: string[]): Promise<Array<{ account: Account; unflushed: number }>> {
  if (ids.length === 0) return [];
  return (await loadBalancesAtHead(tx, ids)).balances;
}

/** `loadBalances` with the head token of the same snapshot: outside the ledger lock, the balances are
 * exact as of that head. */
export async function loadBalancesAtHead(
  client: SqlClient,
  ids: string[],
): Promise<{ token: string | null; balances: Array<{ account: Account; unflushed: number }> }> {
  const result = await client.query<AccountRow & { unflushed: number; head_token: string }>(
    `SELECT (SELECT token FROM ledger_head) AS head_token, ${ACCOUNT_COLUMNS}, unflushed FROM ledger_balances WHERE id = ANY($1::uuid[])`,
    [arrayEncoding(client).uuid(ids)],
  );
  return {
    token: result.rows[0]?.head_token ?? null,
    balances: result.rows.map((row) => ({ account: accountFromRow(row), unflushed: row.unflushed })),
  };
}

/** Up to `limit` account ids, those most likely to be met soon first: the most recently written back
 * (an account is written back after every few dozen of its transfers), then the most recently created. */
export async function recentAccountIds(client: SqlClient, limit: number): Promise<string[]> {
  if (limit <= 0) return [];
  const result = await client.query<{ id: string }>(
    'SELECT id FROM ledger_accounts ORDER BY balance_seq DESC, created_at DESC LIMIT $1',
    [limit],
  );
  return result.rows.map((row) => row.id);
}

/** The column arrays of the transfers' insert, in the order of TRANSFER_COLUMNS less expires_at (the
 * statement derives it) and created_at, encoded for `client`. */
function insertColumns(client: Pick<SqlClient, 'binaryArrays'>, transfers: Transfer[]): unknown[] {
  const encode = arrayEncoding(client);
  const column = <T>(pick: (transfer: Transfer) => T) => transfers.map(pick);
  return [
    encode.uuid(column((t) => t.id)),
    encode.uuid(column((t) => t.debitAccountId)),
    encode.uuid(column((t) => t.creditAccountId)),
    encode.text(column((t) => t.asset)),
    encode.int8(column((t) => t.amount)),
    encode.int2(column((t) => KIND_CODES[t.kind])),
    encode.uuid(column((t) => t.pendingId)),
    encode.int8(column((t) => t.pendingAmount)),
    encode.int4(column((t) => t.timeoutSeconds)),
    encode.int4(column((t) => t.code)),
    encode.text(column((t) => (t.metadata === null ? null : JSON.stringify(t.metadata)))),
  ];
}

/** The parameters of a raw insert through unnest() (the benchmark's ceiling), in the order of
 * TRANSFER_COLUMNS less created_at, encoded as the ledger's own statements encode them for `client`. */
export function transferColumns(client: SqlClient, transfers: Transfer[]): unknown[] {
  const columns = insertColumns(client, transfers);
  const expiresAt = quotedArrayLiteral(transfers.map((t) => (t.expiresAt === null ? null : t.expiresAt.toISOString())));
  return [...columns.slice(0, 9), expiresAt, ...columns.slice(9)];
}

export async function dueHolds(db: SqlClient, limit: number): Promise<string[]> {
  const result = await db.query<{ pending_id: string }>(
    'SELECT pending_id FROM ledger_open_holds WHERE expires_at <= now() ORDER BY expires_at LIMIT $1',
    [limit],
  );
  return result.rows.map((row) => row.pending_id);
}

/** Accounts with their balances as they stand (the view `ledger_balances`), in the order of `ids`. */
export async function getAccounts(db: SqlClient, ids: string[]): Promise<Account[]> {
  if (ids.length === 0) return [];
  const result = await db.query<AccountRow>(
    `SELECT ${ACCOUNT_COLUMNS} FROM ledger_balances WHERE id = ANY($1::uuid[])`,
    [ids],
  );
  const byId = new Map(result.rows.map((row) => [row.id, accountFromRow(row)]));
  return ids.flatMap((id) => (byId.has(id) ? [byId.get(id)!] : []));
}

/** Inserts the accounts that do not exist yet and reads the others, in one statement: every row
 * stored for the ids, with whether this call inserted it. An account a concurrent transaction
 * committed after the statement began is neither inserted nor seen; it is read again after. */
export async function insertOrGetAccounts(
  db: SqlClient,
  rows: Array<{ id: string; asset: string; kind: string; flags: number; overdraftLimit: bigint; metadata: string | null }>,
): Promise<{ accounts: Map<string, Account>; inserted: Set<string> }> {
  if (rows.length === 0) return { accounts: new Map(), inserted: new Set() };
  const result = await db.query<AccountRow & { inserted: boolean }>(
    `WITH input AS (
       SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::int4[], $5::int8[], $6::text[])
         AS a(id, asset, kind, flags, overdraft_limit, metadata)
     ), inserted AS (
       INSERT INTO ledger_accounts (id, asset, kind, flags, overdraft_limit, metadata)
       SELECT id, asset, kind, flags, overdraft_limit, metadata::jsonb FROM input
       ON CONFLICT (id) DO NOTHING
       RETURNING id, asset, kind, flags, overdraft_limit, checkpoint_debits_pending AS debits_pending,
         checkpoint_debits_posted AS debits_posted, checkpoint_credits_pending AS credits_pending,
         checkpoint_credits_posted AS credits_posted, metadata, created_at
     )
     SELECT ${ACCOUNT_COLUMNS}, true AS inserted FROM inserted
     UNION ALL
     SELECT ${ACCOUNT_COLUMNS}, false AS inserted FROM ledger_balances
     WHERE id IN (SELECT id FROM input) AND id NOT IN (SELECT id FROM inserted)`,
    [
      rows.map((row) => row.id),
      rows.map((row) => row.asset),
      rows.map((row) => row.kind),
      rows.map((row) => row.flags),
      rows.map((row) => row.overdraftLimit.toString()),
      rows.map((row) => row.metadata),
    ],
  );
  const accounts = new Map(result.rows.map((row) => [row.id, accountFromRow(row)]));
  const inserted = new Set(result.rows.filter((row) => row.inserted).map((row) => row.id));
  const unseen = [...new Set(rows.map((row) => row.id))].filter((id) => !accounts.has(id));
  for (const account of await getAccounts(db, unseen)) accounts.set(account.id, account);
  return { accounts, inserted };
}

export async function listAssets(db: SqlClient): Promise<Asset[]> {
  const result = await db.query<{ code: string; kind: AssetKind; exponent: number }>(
    'SELECT code, kind, exponent FROM ledger_assets ORDER BY code',
  );
  return result.rows.map((row) => ({ code: row.code, kind: row.kind, exponent: row.exponent }));
}

export async function insertAsset(db: SqlClient, asset: Asset): Promise<void> {
  await db.query('INSERT INTO ledger_assets (code, kind, exponent) VALUES ($1, $2, $3) ON CONFLICT (code) DO NOTHING', [
    asset.code,
    asset.kind,
    asset.exponent,
  ]);
}

/** One page of an account's transfers, newest first, after the transfer whose seq is `beforeSeq`. */
export async function accountHistory(
  db: SqlClient,
  accountId: string,
  beforeSeq: bigint | null,
  limit: number,
): Promise<Array<{ seq: bigint; transfer: Transfer }>> {
  const bound = beforeSeq === null ? '9223372036854775807' : beforeSeq.toString();
  const result = await db.query<TransferRow & { seq: bigint }>(
    `(SELECT seq, ${TRANSFER_COLUMNS} FROM ledger_transfers
       WHERE debit_account_id = $1 AND seq < $2::int8 ORDER BY seq DESC LIMIT $3)
     UNION ALL
     (SELECT seq, ${TRANSFER_COLUMNS} FROM ledger_transfers
       WHERE credit_account_id = $1 AND seq < $2::int8 ORDER BY seq DESC LIMIT $3)
     ORDER BY seq DESC LIMIT $3`,
    [accountId, bound, limit],
  );
  return result.rows.map((row) => ({ seq: row.seq, transfer: transferFromRow(row) }));
}

export async function transferSeq(db: SqlClient, id: string): Promise<bigint | null> {
  const result = await db.query<{ seq: bigint }>('SELECT seq FROM ledger_transfers WHERE id = $1::uuid', [id]);
  return result.rows[0]?.seq ?? null;
}

// How each kind of transfer moves the four balance fields of its debit and credit accounts.
const PENDING_DELTA = `CASE kind WHEN 1 THEN amount WHEN 0 THEN 0 WHEN 2 THEN -pending_amount ELSE -pending_amount END`;
const POSTED_DELTA = `CASE kind WHEN 0 THEN amount WHEN 2 THEN amount ELSE 0 END`;

/** Balances computed from the transfers alone, per account, as numeric sums (which cannot overflow);
 * `filter` selects the transfers, with ACCOUNT standing for the account column of each side. */
export function balanceEffectsSql(filter: string): string {
  return `SELECT account_id, sum(debits_pending) AS debits_pending, sum(debits_posted) AS debits_posted,
      sum(credits_pending) AS credits_pending, sum(credits_posted) AS credits_posted
    FROM (
      SELECT debit_account_id AS account_id, ${PENDING_DELTA} AS debits_pending, ${POSTED_DELTA} AS debits_posted,
        0 AS credits_pending, 0 AS credits_posted
      FROM ledger_transfers WHERE ${filter.replaceAll('ACCOUNT', 'debit_account_id')}
      UNION ALL
      SELECT credit_account_id, 0, 0, ${PENDING_DELTA}, ${POSTED_DELTA}
      FROM ledger_transfers WHERE ${filter.replaceAll('ACCOUNT', 'credit_account_id')}
    ) AS effects GROUP BY account_id`;
}

type AccountColumn = 'debit_account_id' | 'credit_account_id';

/** A `seq` that every transfer of the account (on `column`'s side) committed at or after `before` is
 * above, over the (account, seq) index (src/store/seq-bound.ts). */
function transferSeqBoundBefore(tx: SqlClient, column: AccountColumn, accountId: string, before: Date): Promise<bigint> {
  return seqBoundBefore(tx, 'ledger_transfers', `${column} = $1::uuid`, [accountId], before);
}

/** The balance effects on one account of the transfers committed since `since`, per UTC day
 * (YYYY-MM-DD), as numeric sums in text. Each side's scan starts after a seq bound (transferSeqBoundBefore), so
 * its cost follows the days asked for, not the account's whole history. */
export async function dailyBalanceEffects(
  tx: SqlClient,
  accountId: string,
  since: Date,
): Promise<Array<Record<'day' | 'debits_pending' | 'debits_posted' | 'credits_pending' | 'credits_posted', string>>> {
  const debitAfter = await transferSeqBoundBefore(tx, 'debit_account_id', accountId, since);
  const creditAfter = await transferSeqBoundBefore(tx, 'credit_account_id', accountId, since);
  const result = await tx.query<Record<'day' | 'debits_pending' | 'debits_posted' | 'credits_pending' | 'credits_posted', string>>(
    `SELECT day, sum(debits_pending)::text AS debits_pending, sum(debits_posted)::text AS debits_posted,
        sum(credits_pending)::text AS credits_pending, sum(credits_posted)::text AS credits_posted
     FROM (
       SELECT to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS day, ${PENDING_DELTA} AS debits_pending,
         ${POSTED_DELTA} AS debits_posted, 0 AS credits_pending, 0 AS credits_posted
       FROM ledger_transfers WHERE debit_account_id = $1::uuid AND seq > $3::int8 AND created_at >= $2::timestamptz
       UNION ALL
       SELECT to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD'), 0, 0, ${PENDING_DELTA}, ${POSTED_DELTA}
       FROM ledger_transfers WHERE credit_account_id = $1::uuid AND seq > $4::int8 AND created_at >= $2::timestamptz
     ) AS effects GROUP BY day`,
    [accountId, since.toISOString(), debitAfter.toString(), creditAfter.toString()],
  );
  return result.rows;
}
