// The batch executor behind the commit pipeline: one database transaction carries the ledger transfers
// of every unit in the batch, then each unit's own rows (payments, outbox events, ...), written by named
// writers for the whole batch at once; writers made of statements share one round trip.
import { randomUUID } from 'node:crypto';
import { sqlState, type SqlClient } from '../store/database.ts';
import type { BatchExecutor } from '../store/commit-pipeline.ts';
import { applyBatch, assignBalances } from './engine.ts';
import type { Account, CreateTransferResult, Transfer, TransferFailureCode } from './model.ts';
import * as store from './store.ts';
import { isUuid, pendingIdOf, validateTransfer, type LedgerCommand } from './validate.ts';

export interface UnitWrite {
  writer: string;
  row: unknown;
}

export interface UnitOfWork<V = CreateTransferResult[]> {
  transfers: LedgerCommand[];
  /** Called inside the transaction once the ledger decided this unit's transfers. */
  finish?: (results: CreateTransferResult[]) => { value: V; writes?: UnitWrite[] };
}

/** One data-modifying statement of a writer, with its parameters numbered from the `first` it was
 * given. `expectedRows`: how many rows it must return (its SQL then ends in `RETURNING 1`), checked
 * after it ran, `mismatch` making the error; null when nothing is checked. */
export interface WriterStatement {
  sql: string;
  params: unknown[];
  expectedRows: number | null;
  mismatch?: () => Error;
}

/** Writes the rows of one kind for a whole batch inside its transaction. A writer that can say its
 * work as statements (`statements`) shares one round trip with the batch's other such writers: their
 * statements run as the data-modifying parts of one `WITH` statement (see `runStatements`). */
export type UnitWriter = ((tx: SqlClient, rows: unknown[]) => Promise<void>) & {
  statements?: (rows: unknown[], first: number) => WriterStatement[];
  /** Runs after every other writer of the batch, whatever the order of its units: for a check over what
   * the batch wrote (the loyalty spend guard reads the earn lots and claw-backs of the same batch). */
  last?: boolean;
};

/** A writer made of statements: run alone it sends them in one round trip too. */
export function statementWriter(statements: (rows: unknown[], first: number) => WriterStatement[]): UnitWriter {
  return Object.assign((tx: SqlClient, rows: unknown[]) => runStatements(tx, statements(rows, 1)), { statements });
}

/**
 * Runs writer statements in one round trip: one alone as it is, several as the data-modifying
 * parts of a `WITH` statement (they see the same snapshot, so none may read what another writes;
 * foreign keys between them are checked at the end of the statement). Then checks each one's count.
 */
export async function runStatements(tx: SqlClient, statements: WriterStatement[]): Promise<void> {
  if (statements.length === 0) return;
  if (statements.length === 1) {
    const [only] = statements;
    const { rowCount } = await tx.query(only!.sql, only!.params);
    check(only!, rowCount);
    return;
  }
  const counted = statements.flatMap((statement, index) => (statement.expectedRows === null ? [] : [index]));
  const { rows } = await tx.query<Record<string, number>>(
    `WITH ${statements.map((statement, index) => `s${index} AS (${statement.sql})`).join(',\n')}
     SELECT ${counted.length === 0 ? '1 AS none' : counted.map((index) => `(SELECT count(*) FROM s${index})::int AS c${index}`).join(', ')}`,
    statements.flatMap((statement) => statement.params),
  );
  for (const index of counted) check(statements[index]!, Number(rows[0]![`c${index}`]));
}

function check(statement: WriterStatement, rows: number): void {
  if (statement.expectedRows !== null && rows !== statement.expectedRows) {
    throw statement.mismatch?.() ?? new Error(`a writer statement touched ${rows} rows instead of ${statement.expectedRows}`);
  }
}

/** Thrown to redo a batch on the slow path: some id of the batch was already stored. */
export class ExistingTransfersError extends Error {
  constructor() {
    super('a transfer of the batch already exists; the batch is redone with an existence check');
  }
}

// Deadlock and serialization failure (from the rows of units' writers; batches never wait for each other
// on accounts, as they hold the ledger lock), unique violation (an id already stored, found by the
// insert): redo the batch with the next strategy.
const RETRYABLE_SQL_STATES = new Set(['40P01', '40001', '23505']);

const ACCOUNT_CACHE_SIZE_MAX = 1_000_000;

/** An account's balances are written back to its row once this many of its transfers came after the
 * row's checkpoint (as far as this process knows: it counts its own, and reads the rest when it loads
 * the account). Readers add those transfers to the row (the view `ledger_balances`), so the number
 * bounds what a read of a balance sums; a hot account is written back about once per batch. */
export const FLUSH_AFTER_TRANSFERS = 32;

/** The longest a batch, holding the ledger lock, waits for a row lock of another transaction. */
const LOCK_WAIT_MAX_MS = 5_000;
/** The longest a batch may sit between two statements before PostgreSQL ends it. */
const IDLE_MAX_MS = 60_000;

export function createUnitOfWorkExecutor(
  writers: Map<string, UnitWriter>,
): BatchExecutor<UnitOfWork<unknown>, unknown> & { peek(id: string): Account | null; observe(accounts: Account[]): void } {
  const cache = new AccountCache(ACCOUNT_CACHE_SIZE_MAX);
  return {
    peek: (id) => cache.peek(id),
    observe: (accounts) => cache.observe(accounts),
    weight: (unit) => Math.max(1, unit.transfers.length),
    keys: (unit) =>
      unit.transfers.flatMap((command) => {
        const pendingId = pendingIdOf(command);
        return pendingId === undefined ? [String(command.id)] : [String(command.id), String(pendingId)];
      }),
    // Every batch holds the ledger lock from BEGIN to its end: batches commit one at a time. Since every
    // other batch waits for it, a batch does not wait long for anything else (a unit's row held by a
    // slow transaction fails the batch, which is split), nor sit idle (a stalled process's batch is
    // ended by the server, and the lock with it).
    // The head is read in the same round trip, right after the lock.
    transaction: {
      advisoryLock: store.LEDGER_LOCK_KEY,
      lockTimeoutMs: LOCK_WAIT_MAX_MS,
      idleTimeoutMs: IDLE_MAX_MS,
      openingQuery: store.HEAD_QUERY,
    },
    isRetryable: (error) => error instanceof ExistingTransfersError || RETRYABLE_SQL_STATES.has(sqlState(error) ?? ''),
    async execute(tx, units, attempt) {
      const results = await applyLedger(tx, units.map((unit) => unit.transfers), strategyFor(attempt), cache);
      const values: unknown[] = [];
      const writesByWriter = new Map<string, unknown[]>();
      units.forEach((unit, index) => {
        const unitResults = results[index]!;
        if (!unit.finish) {
          values.push(unitResults);
          return;
        }
        const finished = unit.finish(unitResults);
        values.push(finished.value);
        for (const write of finished.writes ?? []) {
          const rows = writesByWriter.get(write.writer) ?? [];
          rows.push(write.row);
          writesByWriter.set(write.writer, rows);
        }
      });
      // Writers made of statements share one round trip, before the others (which may read it).
      const combined: WriterStatement[] = [];
      const others: Array<[UnitWriter, unknown[]]> = [];
      for (const [name, rows] of writesByWriter) {
        const writer = writers.get(name);
        if (!writer) throw new Error(`no unit writer named ${name}`);
        if (writer.statements && !writer.last) {
          const first = combined.reduce((count, statement) => count + statement.params.length, 0) + 1;
          combined.push(...writer.statements(rows, first));
        } else {
          others.push([writer, rows]);
        }
      }
      await runStatements(tx, combined);
      for (const [writer, rows] of others) if (!writer.last) await writer(tx, rows);
      for (const [writer, rows] of others) if (writer.last) await writer(tx, rows);
      return values;
    },
  };
}

interface CacheEntry {
  account: Account;
  /** The cache's epoch when these balances were exact; older epochs (and -1) are not trusted. */
  epoch: number;
  /** The account's transfers after its row's checkpoint, as far as this process knows. */
  unflushed: number;
}

/**
 * Per process: accounts with the fields that never change (asset, kind, flags, limit, metadata) and the
 * balances this process last knew. Balances are trusted only while nobody else committed: `token` is
 * the ledger head this process's own last batch left, and while the head still carries it (checked
 * under the ledger lock), every entry of the current epoch is exact. When the head moved, the epoch
 * moves on and every account is read again (from `ledger_balances`) before a batch decides from it.
 */
class AccountCache {
  private readonly accounts = new Map<string, CacheEntry>();
  private epoch = 0;
  /** The head token the exact entries stand at; null when unknown (nothing is trusted). */
  token: string | null = null;
  constructor(private readonly sizeMax: number) {}

  /** The head is `token`, which this process did not leave: nothing it remembers is trusted any more. */
  reset(token: string): void {
    this.epoch += 1;
    this.token = token;
  }

  /** Copies of the batch's accounts with their exact balances (reading those not known exactly), and
   * what each has after its checkpoint; an id that does not exist is absent. Runs under the ledger lock. */
  async load(tx: SqlClient, ids: string[]): Promise<{ accounts: Map<string, Account>; unflushed: Map<string, number> }> {
    const stale = ids.filter((id) => this.accounts.get(id)?.epoch !== this.epoch);
    if (stale.length > 0) {
      if (this.accounts.size + stale.length > this.sizeMax) {
        this.accounts.clear();
        return this.load(tx, ids);
      }
      for (const { account, unflushed } of await store.loadBalances(tx, stale)) {
        this.accounts.set(account.id, { account, epoch: this.epoch, unflushed });
      }
    }
    const accounts = new Map<string, Account>();
    const unflushed = new Map<string, number>();
    for (const id of ids) {
      const entry = this.accounts.get(id);
      if (!entry) continue;
      accounts.set(id, copyAccount(entry.account));
      unflushed.set(id, entry.unflushed);
    }
    return { accounts, unflushed };
  }

  /** The account as this process last knew it, or null when it has not met it: an estimate. */
  peek(id: string): Account | null {
    const entry = this.accounts.get(id);
    return entry ? { ...entry.account } : null;
  }

  /** Accounts read outside a batch (created or looked up): kept for `peek`, but not trusted by a batch
   * (the read may predate another process's commit that this process has not seen). */
  observe(accounts: Account[]): void {
    for (const account of accounts) {
      if (this.accounts.has(account.id)) continue;
      if (this.accounts.size >= this.sizeMax) this.accounts.clear();
      this.accounts.set(account.id, { account: { ...account }, epoch: -1, unflushed: 0 });
    }
  }

  /** A batch's accounts as it left them (exact under the lock), once its statement ran: the head now
   * carries `token`. If the transaction does not commit, the head keeps the old token, so the next
   * batch finds it moved and reads everything again. */
  remember(accounts: Map<string, Account>, unflushed: Map<string, number>, token: string): void {
    for (const [id, account] of accounts) {
      const entry = this.accounts.get(id);
      if (!entry) continue;
      assignBalances(entry.account, account);
      entry.epoch = this.epoch;
      entry.unflushed = unflushed.get(id) ?? entry.unflushed;
    }
    this.token = token;
  }
}

/** A working copy of an account (explicit fields: faster than a spread, and this runs per account per batch). */
function copyAccount(account: Account): Account {
  return {
    id: account.id,
    asset: account.asset,
    kind: account.kind,
    flags: account.flags,
    overdraftLimit: account.overdraftLimit,
    debitsPending: account.debitsPending,
    debitsPosted: account.debitsPosted,
    creditsPending: account.creditsPending,
    creditsPosted: account.creditsPosted,
    metadata: account.metadata,
    createdAt: account.createdAt,
  };
}

interface BatchInputs {
  units: LedgerCommand[][];
  staticFailures: Map<LedgerCommand, TransferFailureCode | null>;
  transferIds: string[];
  pendingIds: string[];
  pendings: Map<string, Transfer>;
  accountIds: string[];
}

async function gatherInputs(tx: SqlClient, units: LedgerCommand[][]): Promise<BatchInputs> {
  const staticFailures = new Map<LedgerCommand, TransferFailureCode | null>();
  const transferIds = new Set<string>();
  const pendingIdSet = new Set<string>();
  const accountIds = new Set<string>();
  for (const unit of units) {
    for (const command of unit) {
      const failure = validateTransfer(command);
      staticFailures.set(command, failure);
      // Commands that fail their static checks never reach the database.
      if (failure !== null) continue;
      transferIds.add(command.id);
      const pendingId = pendingIdOf(command);
      if (pendingId !== undefined) pendingIdSet.add(pendingId);
      if ('debitAccountId' in command && command.debitAccountId !== undefined) accountIds.add(command.debitAccountId);
      if ('creditAccountId' in command && command.creditAccountId !== undefined) accountIds.add(command.creditAccountId);
    }
  }
  const pendingIds = [...pendingIdSet];
  const pendings = await store.loadTransfers(tx, pendingIds);
  for (const pending of pendings.values()) {
    accountIds.add(pending.debitAccountId);
    accountIds.add(pending.creditAccountId);
  }
  return { units, staticFailures, transferIds: [...transferIds], pendingIds, pendings, accountIds: [...accountIds] };
}

/** How a batch is carried out: the first attempt does not look its ids up (new ids are the common
 * case, and the primary key catches a duplicate); a retry looks every id up first. */
export type BatchStrategy = 'insert_first' | 'insert_first_checked';

export function strategyFor(attempt: number): BatchStrategy {
  return attempt === 0 ? 'insert_first' : 'insert_first_checked';
}

/**
 * Decides and writes the batch's transfers. The transaction holds the ledger lock, so no other batch
 * of any process commits until this one ends: balances known exactly now stay exact. The head, read
 * with the lock, tells whether this process's cache is exact (its own last batch left the head: the
 * common case, and always with one process) or must be read afresh for this batch's accounts.
 */
async function applyLedger(tx: SqlClient, units: LedgerCommand[][], strategy: BatchStrategy, cache: AccountCache): Promise<CreateTransferResult[][]> {
  if (units.every((unit) => unit.length === 0)) return units.map(() => []);
  const head = store.openingHead(tx);
  if (head.token !== cache.token) cache.reset(head.token);
  const inputs = await gatherInputs(tx, units);
  const { accounts, unflushed } = await cache.load(tx, inputs.accountIds);
  const existing = strategy === 'insert_first_checked' ? await store.loadTransfers(tx, inputs.transferIds) : null;
  const outcome = applyBatch(inputs.units, {
    now: head.now,
    accounts,
    staticFailures: inputs.staticFailures,
    pendings: inputs.pendings,
    resolutions: await store.loadResolutions(tx, inputs.pendingIds),
    existing,
  });
  if (existing === null) await assertNoHiddenDuplicates(tx, outcome.results);
  // Each account's transfers after its checkpoint, with this batch's; those with enough are written back.
  for (const transfer of outcome.created) {
    unflushed.set(transfer.debitAccountId, (unflushed.get(transfer.debitAccountId) ?? 0) + 1);
    unflushed.set(transfer.creditAccountId, (unflushed.get(transfer.creditAccountId) ?? 0) + 1);
  }
  const flush: Account[] = [];
  for (const id of outcome.touchedAccounts) {
    if (unflushed.get(id)! >= FLUSH_AFTER_TRANSFERS) {
      flush.push(accounts.get(id)!);
      unflushed.set(id, 0);
    }
  }
  const created = outcome.created;
  const token = randomUUID();
  // The statement checks the head again (a guard: under the lock it cannot have moved).
  const { written, moved, now } = await store.commitBatch(tx, created, flush, head.token, token);
  if (!written) throw new Error('the ledger head moved while this transaction held the ledger lock');
  for (const transfer of created) {
    transfer.createdAt = now;
    if (transfer.expiresAt !== null) transfer.expiresAt = new Date(now.getTime() + transfer.timeoutSeconds * 1000);
  }
  for (const hold of outcome.openedHolds) hold.expiresAt = new Date(now.getTime() + hold.timeoutSeconds * 1000);
  cache.remember(accounts, unflushed, moved ? token : head.token);
  await store.openHolds(tx, outcome.openedHolds);
  await store.closeHolds(tx, outcome.closedHolds);
  return outcome.results;
}

/** On the fast path a failed transfer might be the retry of a stored one, which must answer `exists`. */
async function assertNoHiddenDuplicates(tx: SqlClient, units: CreateTransferResult[][]): Promise<void> {
  const failedIds = new Set<string>();
  for (const results of units) {
    for (const result of results) {
      if (result.result !== 'created' && result.result !== 'exists' && isUuid(result.id)) failedIds.add(result.id);
    }
  }
  if (failedIds.size > 0 && (await store.findExistingIds(tx, [...failedIds])).length > 0) throw new ExistingTransfersError();
}
