// The batch executor behind the commit pipeline: one database transaction carries the ledger transfers
// of every unit in the batch, then each unit's own rows (payments, outbox events, ...), written by named
// writers for the whole batch at once; writers made of statements share one round trip.
import { sqlState, type SqlClient } from '../store/database.ts';
import type { BatchExecutor } from '../store/commit-pipeline.ts';
import { applyBatch, assignBalances, balancesOf, type BatchOutcome } from './engine.ts';
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

/** Thrown to redo a batch: decided from the real balances, it differs from the guess. */
export class GuessedBatchError extends Error {
  constructor() {
    super('the batch decided from real balances differs from the guess; it is redone');
  }
}

// Deadlock and serialization failure (rare: accounts and ids are locked in id order; two processes
// resolving two holds in opposite orders can still deadlock), unique violation (a concurrent writer of
// the same id): redo the batch with the next strategy.
const RETRYABLE_SQL_STATES = new Set(['40P01', '40001', '23505']);

const ACCOUNT_CACHE_SIZE_MAX = 1_000_000;

/** `attemptsMax`: the first attempt of a batch plus the pipeline's retries (its `retriesMax` + 1). */
export function createUnitOfWorkExecutor(
  writers: Map<string, UnitWriter>,
  attemptsMax: number,
): BatchExecutor<UnitOfWork<unknown>, unknown> & { peek(id: string): Account | null; observe(accounts: Account[]): void } {
  const cache = new AccountCache(ACCOUNT_CACHE_SIZE_MAX);
  // Batches of this process take their account locks in the order they started, so that with several
  // batches in flight, transfers are still decided in the order they were submitted.
  let lockTurn: Promise<void> = Promise.resolve();
  // ... and decide in that order too: a batch decides from the balances the previous one remembered.
  let decideTurn: Promise<void> = Promise.resolve();
  return {
    peek: (id) => cache.peek(id),
    observe: (accounts) => cache.observe(accounts),
    weight: (unit) => Math.max(1, unit.transfers.length),
    keys: (unit) =>
      unit.transfers.flatMap((command) => {
        const pendingId = pendingIdOf(command);
        return pendingId === undefined ? [String(command.id)] : [String(command.id), String(pendingId)];
      }),
    isRetryable: (error) =>
      error instanceof ExistingTransfersError ||
      error instanceof GuessedBatchError ||
      RETRYABLE_SQL_STATES.has(sqlState(error) ?? ''),
    async execute(tx, units, attempt) {
      const strategy = strategyFor(attempt, attemptsMax);
      const previous = lockTurn;
      const previousDecided = decideTurn;
      let release = () => {};
      let decided = () => {};
      lockTurn = new Promise<void>((resolve) => {
        release = resolve;
      });
      decideTurn = new Promise<void>((resolve) => {
        decided = resolve;
      });
      const turn: LockTurn = { wait: () => previous, release: () => release(), waitDecided: () => previousDecided, decided: () => decided() };
      let results: CreateTransferResult[][];
      try {
        results = await applyLedger(tx, units.map((unit) => unit.transfers), strategy, cache, turn);
      } finally {
        turn.decided();
        turn.release();
      }
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

/** Per process: the fields of accounts that never change (asset, kind, flags, limit, metadata), and the
 * balances this process last saw. Accounts are never deleted, so the fixed fields never go stale; the
 * balances are only a guess (another process may have moved them), which every batch checks. */
class AccountCache {
  private readonly accounts = new Map<string, { account: Account; balancesSeen: boolean }>();
  constructor(private readonly sizeMax: number) {}

  /** Copies of the batch's accounts with their last seen balances; an id that does not exist is absent. */
  async load(tx: SqlClient, ids: string[]): Promise<{ accounts: Map<string, Account>; unseen: Set<string> }> {
    const missing = ids.filter((id) => !this.accounts.has(id));
    if (missing.length > 0) {
      if (this.accounts.size + missing.length > this.sizeMax) this.accounts.clear();
      // Read with their current balances: a guess as good as a remembered one, which the batch's
      // compare-and-set confirms, so a first sight of an account does not force the locking path.
      for (const account of await store.loadAccountStatics(tx, missing)) {
        this.accounts.set(account.id, { account, balancesSeen: true });
      }
    }
    const accounts = new Map<string, Account>();
    const unseen = new Set<string>();
    for (const id of ids) {
      const entry = this.accounts.get(id);
      if (!entry) continue;
      accounts.set(id, copyAccount(entry.account));
      if (!entry.balancesSeen) unseen.add(id);
    }
    return { accounts, unseen };
  }

  /** The account as this process last saw it committed, or null when it was not seen or not trusted. */
  peek(id: string): Account | null {
    const entry = this.accounts.get(id);
    return entry && entry.balancesSeen ? { ...entry.account } : null;
  }

  /** Accounts read outside a batch (created or looked up): the first sight of an account, as `load`
   * would have read it. An account already met keeps what the batches remembered, which is never older. */
  observe(accounts: Account[]): void {
    for (const account of accounts) {
      if (this.accounts.has(account.id)) continue;
      if (this.accounts.size >= this.sizeMax) this.accounts.clear();
      this.accounts.set(account.id, { account: { ...account }, balancesSeen: true });
    }
  }

  /** The balances of these accounts are no longer trusted: the next batch naming them locks first. */
  forget(ids: Iterable<string>): void {
    for (const id of ids) {
      const entry = this.accounts.get(id);
      if (entry) entry.balancesSeen = false;
    }
  }

  remember(balances: Iterable<store.AccountBalances>): void {
    for (const balance of balances) {
      const entry = this.accounts.get(balance.id);
      if (!entry) continue;
      assignBalances(entry.account, balance);
      entry.balancesSeen = true;
    }
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
  return {
    units,
    staticFailures,
    transferIds: [...transferIds],
    pendingIds,
    pendings,
    accountIds: [...accountIds].sort(),
  };
}

/** How a batch is carried out; each retry of a batch takes the next, more careful strategy. */
export type BatchStrategy = 'insert_first' | 'insert_first_checked' | 'lock_first';

/** A retry looks ids up and guesses from the balances the failed attempt read, which nearly always
 * confirms; locking first is kept for the last attempt, as it can deadlock with another process that
 * inserts the same id first and then waits for our accounts. */
export function strategyFor(attempt: number, attemptsMax: number): BatchStrategy {
  if (attempt === 0) return 'insert_first';
  return attempt < attemptsMax - 1 ? 'insert_first_checked' : 'lock_first';
}

/** The place of a batch in its process's order of taking account locks. */
interface LockTurn {
  /** Resolves once the batch before this one has locked its accounts (or ended). */
  wait(): Promise<void>;
  /** Lets the next batch lock; called once this batch holds its locks, and again (harmlessly) at its end. */
  release(): void;
  /** Resolves once the batch before this one has remembered the balances it decided (or ended). */
  waitDecided(): Promise<void>;
  /** Lets the next batch decide; called once this batch remembered its outcome, and again at its end. */
  decided(): void;
}

async function applyLedger(
  tx: SqlClient,
  units: LedgerCommand[][],
  strategy: BatchStrategy,
  cache: AccountCache,
  turn: LockTurn,
): Promise<CreateTransferResult[][]> {
  if (units.every((unit) => unit.length === 0)) return units.map(() => []);
  const inputs = await gatherInputs(tx, units);
  return strategy === 'lock_first'
    ? applyLockFirst(tx, inputs, cache, turn)
    : applyInsertFirst(tx, inputs, cache, strategy, turn);
}

async function lockInTurn(tx: SqlClient, ids: string[], turn: LockTurn): ReturnType<typeof store.lockBalances> {
  await turn.wait();
  try {
    return await store.lockBalances(tx, ids);
  } finally {
    turn.release();
  }
}

/** Lock every account in id order and read its balance, look every id up, decide in order, write.
 * Always right; used when a faster attempt could not be confirmed. */
async function applyLockFirst(
  tx: SqlClient,
  inputs: BatchInputs,
  cache: AccountCache,
  turn: LockTurn,
): Promise<CreateTransferResult[][]> {
  const { accounts } = await cache.load(tx, inputs.accountIds);
  const { now, balances } = await lockInTurn(tx, [...accounts.keys()], turn);
  for (const [id, account] of accounts) assignBalances(account, balances.get(id)!);
  const outcome = applyBatch(inputs.units, {
    now,
    accounts,
    staticFailures: inputs.staticFailures,
    pendings: inputs.pendings,
    resolutions: await store.loadResolutions(tx, inputs.pendingIds),
    existing: await store.loadTransfers(tx, inputs.transferIds),
  });
  await store.insertTransfers(tx, outcome.created);
  await finishBatch(tx, outcome, accounts);
  cache.remember(accounts.values());
  return outcome.results;
}

/** The common case, new ids and enough funds, with the accounts locked for as short a time as possible
 * so that the next batch's insert runs while this one commits. Decide from the balances this process
 * last saw (limits unchecked on accounts it has not seen), insert the transfers (in id order, so two
 * batches inserting the same ids cannot deadlock), then lock the accounts in id order, replay the batch
 * from their real balances and write them. If the replay decides anything differently, or an id was
 * already stored, the transaction is rolled back and the next strategy redoes the batch. */
async function applyInsertFirst(
  tx: SqlClient,
  inputs: BatchInputs,
  cache: AccountCache,
  strategy: BatchStrategy,
  turn: LockTurn,
): Promise<CreateTransferResult[][]> {
  await turn.waitDecided();
  const guess = await cache.load(tx, inputs.accountIds);
  // A hold resolved by another process after this read collides with ours on the unique index.
  const resolutions = await store.loadResolutions(tx, inputs.pendingIds);
  // Expiry decisions need the database clock; a batch without resolutions takes it from the lock.
  const clock = inputs.pendingIds.length > 0 ? await store.selectNow(tx) : null;
  const existing = strategy === 'insert_first_checked' ? await store.loadTransfers(tx, inputs.transferIds) : null;
  const startingBalances = new Map<string, Omit<store.AccountBalances, 'id'>>();
  for (const [id, account] of guess.accounts) startingBalances.set(id, balancesOf(account));
  const guessed = applyBatch(inputs.units, {
    now: clock ?? new Date(),
    accounts: guess.accounts,
    staticFailures: inputs.staticFailures,
    pendings: inputs.pendings,
    resolutions,
    existing,
    limitsUnchecked: guess.unseen,
  });
  if (existing === null) await assertNoHiddenDuplicates(tx, guessed.results);
  const created = [...guessed.created].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  if (strategy === 'insert_first' && guess.unseen.size === 0) {
    return compareAndSet(tx, guessed, created, guess.accounts, startingBalances, cache, turn);
  }
  await store.insertTransfers(tx, created);
  const { now, balances } = await lockInTurn(tx, [...guess.accounts.keys()], turn);
  // The decisions are a function of the balances, the holds and the clock (the database's whenever a
  // hold is resolved): when every balance the guess started from is the real one, the guess is exact
  // and a replay would decide the same. Otherwise replay from the real balances.
  const guessWasExact =
    guess.unseen.size === 0 &&
    [...balances.values()].every((balance) => sameBalances(balance, startingBalances.get(balance.id)!));
  let final = guess.accounts;
  let outcome = guessed;
  if (!guessWasExact) {
    const real = await cache.load(tx, inputs.accountIds);
    for (const [id, account] of real.accounts) assignBalances(account, balances.get(id)!);
    outcome = applyBatch(inputs.units, {
      now,
      accounts: real.accounts,
      staticFailures: inputs.staticFailures,
      pendings: inputs.pendings,
      resolutions,
      existing,
    });
    if (!sameResults(outcome.results, guessed.results)) {
      cache.remember(balances.values());
      throw new GuessedBatchError();
    }
    final = real.accounts;
  }
  for (const transfer of guessed.created) {
    transfer.createdAt = now;
    if (transfer.expiresAt !== null) transfer.expiresAt = new Date(now.getTime() + transfer.timeoutSeconds * 1000);
  }
  for (const hold of outcome.openedHolds) {
    hold.expiresAt = new Date(now.getTime() + hold.timeoutSeconds * 1000);
  }
  await finishBatch(tx, outcome, final);
  cache.remember(final.values());
  return guessed.results;
}

/** The fast path when this process has seen every account's balance (always, when it is the only
 * writer): one statement inserts the transfers and writes the new balances wherever they are still the
 * ones the batch was decided from. If another process moved an account meanwhile, the batch is rolled
 * back and redone on the locking path with that account's real balance. */
async function compareAndSet(
  tx: SqlClient,
  guessed: BatchOutcome,
  created: Transfer[],
  accounts: Map<string, Account>,
  startingBalances: Map<string, Omit<store.AccountBalances, 'id'>>,
  cache: AccountCache,
  turn: LockTurn,
): Promise<CreateTransferResult[][]> {
  // Every account the batch read, changed or not: a refusal decided from a stale balance is as wrong as
  // a stale write. Ids are in order (gatherInputs sorts them), which is the order rows are locked in.
  const swaps: store.BalanceSwap[] = [];
  for (const account of accounts.values()) swaps.push({ id: account.id, before: startingBalances.get(account.id)!, after: account });
  // Remembered before the commit, so that a next batch in flight decides from this one's outcome; its
  // compare-and-set waits for this batch's row locks and checks the committed balances. If this batch
  // does not commit, the next one's compare fails and it is redone on the locking path.
  cache.remember(accounts.values());
  turn.decided();
  await turn.wait();
  let result: { swapped: number; now: Date };
  try {
    result = await store.insertAndSwapBalances(tx, created, swaps);
  } catch (error) {
    cache.forget(accounts.keys());
    throw error;
  } finally {
    turn.release();
  }
  if (result.swapped !== swaps.length) {
    cache.forget(accounts.keys());
    throw new GuessedBatchError();
  }
  const { now } = result;
  for (const transfer of guessed.created) {
    transfer.createdAt = now;
    if (transfer.expiresAt !== null) transfer.expiresAt = new Date(now.getTime() + transfer.timeoutSeconds * 1000);
  }
  for (const hold of guessed.openedHolds) hold.expiresAt = new Date(now.getTime() + hold.timeoutSeconds * 1000);
  await store.openHolds(tx, guessed.openedHolds);
  await store.closeHolds(tx, guessed.closedHolds);
  return guessed.results;
}

function sameBalances(a: store.AccountBalances, b: Omit<store.AccountBalances, 'id'>): boolean {
  return (
    a.debitsPending === b.debitsPending &&
    a.debitsPosted === b.debitsPosted &&
    a.creditsPending === b.creditsPending &&
    a.creditsPosted === b.creditsPosted
  );
}

async function finishBatch(tx: SqlClient, outcome: BatchOutcome, accounts: Map<string, Account>): Promise<void> {
  await store.openHolds(tx, outcome.openedHolds);
  await store.closeHolds(tx, outcome.closedHolds);
  await store.updateBalances(
    tx,
    [...outcome.touchedAccounts].sort().map((id) => accounts.get(id)!),
  );
}

function sameResults(a: CreateTransferResult[][], b: CreateTransferResult[][]): boolean {
  return a.every((unit, i) => unit.every((result, j) => result.result === b[i]![j]!.result));
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

