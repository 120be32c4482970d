// The batch executor behind the commit pipeline: one database transaction carries the ledger transfers
// of every unit in the batch, then each unit's own rows (payments, outbox events, ...), written by named
// writers for the whole batch at once; writers made of statements share one round trip.
import { randomUUID } from 'node:crypto';
import { sqlState, type Database, type SqlClient } from '../store/database.ts';
import type { BatchExecutor } from '../store/commit-pipeline.ts';
import { applyBatch, assignBalances, type BatchState } from './engine.ts';
import type { Account, CreateTransferResult, Transfer, TransferFailureCode, TransferKind } from './model.ts';
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

/** Writer statements as parts of a `WITH` statement (`s0`, `s1`, ...): the parts, the columns that
 * count the rows of those whose count is checked (`counted`, their indexes), and the parameters. */
function asWithParts(statements: WriterStatement[]): store.CommitExtras & { counted: number[] } {
  const counted = statements.flatMap((statement, index) => (statement.expectedRows === null ? [] : [index]));
  return {
    ctes: statements.map((statement, index) => `s${index} AS (${statement.sql})`),
    columns: counted.map((index) => `(SELECT count(*) FROM s${index})::int`),
    params: statements.flatMap((statement) => statement.params),
    counted,
  };
}

/** Checks each counted statement's row count, given in the order of `counted`. */
function checkCounts(statements: WriterStatement[], counted: number[], counts: unknown[]): void {
  counted.forEach((index, column) => check(statements[index]!, Number(counts[column])));
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
  const parts = asWithParts(statements);
  const rows = await tx.queryArrays(
    `WITH ${parts.ctes.join(',\n')}\nSELECT ${parts.columns.length === 0 ? '1' : parts.columns.join(', ')}`,
    parts.params,
  );
  checkCounts(statements, parts.counted, rows[0]!);
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

/** Accounts a warm-up reads per statement. PGlite runs every statement on its one connection, in turn
 * with the batches: smaller pages keep a request from waiting long behind one. */
const WARM_PAGE_ACCOUNTS = { postgres: 1_000, pglite: 250 } as const;

/** A batch's units finished (`UnitOfWork.finish`) from its results: each unit's value, the writers'
 * statements that ride in the ledger's statement (parameters numbered from the `first` they were
 * built with), and the writers that run after it. */
interface Finished {
  results: CreateTransferResult[][];
  first: number;
  values: unknown[];
  statements: WriterStatement[];
  others: Array<[UnitWriter, unknown[]]>;
}

function finishUnits(
  writers: Map<string, UnitWriter>,
  units: UnitOfWork<unknown>[],
  results: CreateTransferResult[][],
  first: number,
): Finished {
  const values: unknown[] = [];
  const others: Array<[UnitWriter, unknown[]]> = [];
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
  const statements: WriterStatement[] = [];
  for (const [name, rows] of writesByWriter) {
    const writer = writers.get(name);
    if (!writer) throw new Error(`no unit writer named ${name}`);
    if (writer.statements && !writer.last) {
      const next = first + statements.reduce((count, statement) => count + statement.params.length, 0);
      statements.push(...writer.statements(rows, next));
    } else {
      others.push([writer, rows]);
    }
  }
  return { results, first, values, statements, others };
}

export interface UnitOfWorkOptions {
  /** Whether a batch decided ahead of the lock may be written by one statement on its own, outside
   * any transaction (`commitAlone`), on the database's serial connection. Only when the pipeline runs
   * its transactions there too (`CommitPipelineOptions.serial`) or has one batch in flight: a
   * statement on a connection of its own could reach the lock before the batch it was decided after,
   * and fail its gate. */
  alone: boolean;
}

export function createUnitOfWorkExecutor(
  writers: Map<string, UnitWriter>,
  options: UnitOfWorkOptions = { alone: false },
): BatchExecutor<UnitOfWork<unknown>, unknown> & {
  peek(id: string): Account | null;
  observe(accounts: Account[]): void;
  decisionStats(): DecisionStats;
  warm(db: Database, accountsMax: number, stopped: () => boolean): Promise<number>;
} {
  const cache = new AccountCache(ACCOUNT_CACHE_SIZE_MAX);
  const chain = new DecisionChain(cache);
  return {
    peek: (id) => cache.peek(id),
    // The accounts most likely to be met soon, read in pages, each page with the head of its own
    // snapshot (`loadBalancesAtHead`), and taken in when exact where the cache stands (`AccountCache.warm`).
    async warm(db, accountsMax, stopped) {
      if (stopped()) return 0;
      const ids = await store.recentAccountIds(db, Math.min(accountsMax, ACCOUNT_CACHE_SIZE_MAX));
      let merged = 0;
      const pageSize = WARM_PAGE_ACCOUNTS[db.kind];
      for (let start = 0; start < ids.length && !stopped(); start += pageSize) {
        const page = cache.unknown(ids.slice(start, start + pageSize));
        if (page.length === 0) continue;
        // Never past the cache's size: a full cache is cleared, which would undo the warm-up.
        if (!cache.hasRoomFor(page.length)) break;
        const { token, balances } = await store.loadBalancesAtHead(db, page);
        merged += cache.warm(token, balances);
        chain.advance();
      }
      return merged;
    },
    decisionStats: () => ({ ...chain.stats }),
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
    // While the batch before it commits, a batch is decided from the cache as that batch leaves it, so
    // that its statement goes out the moment it holds the lock (see `DecisionChain`).
    prepare: (units, attempt, db) => chain.open(units.map((unit) => unit.transfers), strategyFor(attempt), db),
    turn: (ticket) => chain.turn(ticket as Ticket),
    release: (ticket) => chain.close(ticket as Ticket),
    handOff: () => chain.handOff(),
    direct(units, attempt, prepared, db) {
      const ticket = prepared as Ticket | undefined;
      if (!options.alone || attempt !== 0 || !ticket || ticket.empty) return null;
      const decision = ticket.decision;
      // Only what the one statement can say: no id to look up first.
      if (decision === null || decision.failedIds.length > 0) return null;
      const finished = finishUnits(writers, units, decision.results, decision.statement.params.length + 1);
      // Writers that are not statements need the transaction; they get these finished units there.
      ticket.finished = finished;
      if (finished.others.length > 0) return null;
      return commitAlone(db, chain, ticket, decision, finished);
    },
    async execute(tx, units, attempt, prepared) {
      const ticket = prepared as Ticket | undefined;
      const done: { finished: Finished | null } = { finished: null };
      // The units' writes, once the ledger decided their transfers. Writers made of statements go into
      // the ledger's own statement (one round trip for the whole batch), the others run after it (and
      // may read what it wrote), those marked `last` after every other.
      const writes = (results: CreateTransferResult[][], first: number): WriterStatement[] => {
        const kept = ticket?.finished;
        done.finished = kept && kept.results === results && kept.first === first ? kept : finishUnits(writers, units, results, first);
        return done.finished.statements;
      };
      const { results, written } = await applyLedger(tx, units.map((unit) => unit.transfers), strategyFor(attempt), chain, ticket, writes);
      // A batch without transfers sends no ledger statement: its writers' statements go alone.
      if (!written) await runStatements(tx, writes(results, 1));
      const { others, values } = done.finished!;
      for (const [writer, rows] of others) if (!writer.last) await writer(tx, rows);
      for (const [writer, rows] of others) if (writer.last) await writer(tx, rows);
      return values;
    },
  };
}

/** A batch's accounts as working copies, with each one's transfers after its checkpoint. */
interface LoadedAccounts {
  accounts: Map<string, Account>;
  unflushed: Map<string, number>;
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

  /** The heads the cache stood at in this epoch: every one of them was left by a decision of this
   * process on top of the one before, from the epoch's first. */
  private epochTokens = new Set<string>();

  /** The head is `token`, which this process did not leave: nothing it remembers is trusted any more. */
  reset(token: string): void {
    this.epoch += 1;
    this.token = token;
    this.epochTokens = new Set([token]);
  }

  /** Forgets every account (the cache is full): a new epoch at the same head. */
  private clear(): void {
    this.accounts.clear();
    if (this.token !== null) this.reset(this.token);
  }

  /**
   * Takes in accounts read outside the lock at the head `token` (`loadBalancesAtHead`), when they are
   * exact where the cache stands too: `token` is a head of this epoch, so the heads after it were left
   * by this process's own decisions, and none of those touched an account the cache does not know
   * exactly (a decision leaves every account it touched known exactly, until the epoch ends). If
   * another process committed after the read, the cache's head is not the database's, and the first
   * batch to hold the lock finds that out and starts a new epoch.
   */
  mergeRead(token: string | null, balances: Array<{ account: Account; unflushed: number }>): number {
    if (token === null || !this.epochTokens.has(token)) return 0;
    let merged = 0;
    for (const { account, unflushed } of balances) {
      if (this.accounts.get(account.id)?.epoch === this.epoch) continue;
      if (this.accounts.size >= this.sizeMax) return merged;
      this.accounts.set(account.id, { account, epoch: this.epoch, unflushed });
      merged += 1;
    }
    return merged;
  }

  /**
   * Takes in accounts read outside any batch at the head `token` (`warm`): as `mergeRead`, except that a
   * cache that stands nowhere yet (no batch of this process has held the lock) starts its epoch at that
   * head. Entries read at that head are exact there, and the first batch to hold the lock finds out
   * whether the head is still there, as it does for every epoch.
   */
  warm(token: string | null, balances: Array<{ account: Account; unflushed: number }>): number {
    if (token === null) return 0;
    if (this.token === null) this.reset(token);
    return this.mergeRead(token, balances);
  }

  /** Whether `count` more accounts fit before the cache is cleared. */
  hasRoomFor(count: number): boolean {
    return this.accounts.size + count <= this.sizeMax;
  }

  /** The ids among `ids` the cache does not know exactly. */
  unknown(ids: string[]): string[] {
    return ids.filter((id) => this.accounts.get(id)?.epoch !== this.epoch);
  }

  /** Copies of the batch's accounts with their exact balances (reading those not known exactly), and
   * what each has after its checkpoint; an id that does not exist is absent. Runs under the ledger lock. */
  async load(tx: SqlClient, ids: string[]): Promise<LoadedAccounts> {
    const stale = this.unknown(ids);
    if (stale.length > 0) {
      if (this.accounts.size + stale.length > this.sizeMax) {
        this.clear();
        return this.load(tx, ids);
      }
      for (const { account, unflushed } of await store.loadBalances(tx, stale)) {
        this.accounts.set(account.id, { account, epoch: this.epoch, unflushed });
      }
    }
    return this.copies(ids, false)!;
  }

  /** Like `load`, from the cache alone: null unless every account is known exactly at `token`. */
  loadCached(ids: string[]): LoadedAccounts | null {
    return this.copies(ids, true);
  }

  /** Working copies of the accounts of `ids` the cache holds (all of them known exactly, if `exactOnly`,
   * or null). */
  private copies(ids: string[], exactOnly: boolean): LoadedAccounts | null {
    const accounts = new Map<string, Account>();
    const unflushed = new Map<string, number>();
    for (const id of ids) {
      const entry = this.accounts.get(id);
      if (exactOnly && entry?.epoch !== this.epoch) return null;
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
      if (this.accounts.size >= this.sizeMax) this.clear();
      this.accounts.set(account.id, { account: { ...account }, epoch: -1, unflushed: 0 });
    }
  }

  /** A batch's accounts as it left them (exact under the lock), once its statement ran: the head now
   * carries `token`. If the transaction does not commit, the head keeps the old token, so the next
   * batch finds it moved and reads everything again. */
  remember(accounts: Map<string, Account>, unflushed: Map<string, number>, token: string): void {
    for (const [id, account] of accounts) {
      const entry = this.accounts.get(id);
      if (!entry) {
        // Forgotten meanwhile (the cache was full): every account a decision touched stays known.
        this.accounts.set(id, { account: copyAccount(account), epoch: this.epoch, unflushed: unflushed.get(id) ?? 0 });
        continue;
      }
      assignBalances(entry.account, account);
      entry.epoch = this.epoch;
      entry.unflushed = unflushed.get(id) ?? entry.unflushed;
    }
    this.token = token;
    this.epochTokens.add(token);
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

/** What a batch needs that its commands say: static failures, ids, accounts (without the accounts of
 * the holds it resolves, which are read from the database: `gatherInputs`). */
function staticInputs(units: LedgerCommand[][]): BatchInputs {
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
  return { units, staticFailures, transferIds: [...transferIds], pendingIds: [...pendingIdSet], pendings: new Map(), accountIds: [...accountIds] };
}

/** The static inputs with the holds the batch resolves, read under the lock, and their accounts. */
async function gatherInputs(tx: SqlClient, inputs: BatchInputs): Promise<BatchInputs> {
  const pendings = await store.loadTransfers(tx, inputs.pendingIds);
  const accountIds = new Set(inputs.accountIds);
  for (const pending of pendings.values()) {
    accountIds.add(pending.debitAccountId);
    accountIds.add(pending.creditAccountId);
  }
  return { ...inputs, pendings, accountIds: [...accountIds] };
}

/** How a batch is carried out: the first attempt does not look its ids up (new ids are the common
 * case, and the primary key catches a duplicate); a retry looks every id up first. */
export type BatchStrategy = 'insert_first' | 'insert_first_checked';

export function strategyFor(attempt: number): BatchStrategy {
  return attempt === 0 ? 'insert_first' : 'insert_first_checked';
}

/** A batch decided from balances exact at the head `baseToken`, with the statement that writes it. */
interface Decision {
  baseToken: string;
  results: CreateTransferResult[][];
  created: Transfer[];
  openedHolds: Transfer[];
  closedHolds: string[];
  statement: store.CommitStatement;
  /** Transfers that failed with an id that may be stored already (looked up before writing). */
  failedIds: string[];
}

/** A batch of this process on its way to the lock, in the order batches were formed. */
interface Ticket {
  units: LedgerCommand[][];
  /** `staticInputs(units)`, once it was needed. */
  inputs: BatchInputs | null;
  db: Database;
  /** Its unknown accounts are being read, or were (`readAhead`). */
  readingAhead: boolean;
  /** A batch without transfers: nothing to decide or send (applyLedger returns at once). */
  empty: boolean;
  /** Whether it may be decided ahead of the lock: a first attempt (a retry looks its ids up), not yet
   * found to need the lock. */
  ahead: boolean;
  decision: Decision | null;
  /** Its units finished from its decision's results when it was about to be written alone but needed
   * its transaction after all (`direct`): the transaction reuses them for the same results. */
  finished: Finished | null;
  /** Its statement went out, or it ended: a batch that committed before it may answer its callers. */
  sent: boolean;
  onSent: Array<() => void>;
  /** Its transaction holds the ledger lock (or it ended): the ticket behind it may open its own. */
  locked: boolean;
  onLocked: Array<() => void>;
}

/** How long a batch that committed waits for the next batch's statement to go out before it answers
 * its callers anyway (the next one may be waiting for another process's batch). */
const HAND_OFF_WAIT_MAX_MS = 2;

/** How the batches of a process were decided (`LedgerService.pipelineStats`). */
export interface DecisionStats {
  decidedAhead: number;
  decidedUnderLock: number;
  /** Decided ahead, then again under the lock. */
  redecided: number;
  /** Reads of accounts the cache did not know, made ahead of the lock. */
  readsAhead: number;
  /** Decided ahead and written by one statement on its own (`commitAlone`), counted in decidedAhead. */
  writtenAlone: number;
}

/**
 * Batches decided ahead of the lock. Every batch of this process gets a ticket when its transaction is
 * about to open; tickets are decided in that order, each from the cache as the one before it leaves it.
 * A ticket is decided at once when that needs nothing from the database (no hold is resolved, and every
 * account is in the cache, exact at the cache's head); otherwise it, and every ticket behind it, waits
 * until it holds the lock and is decided there, unless the accounts the cache lacks come back from a
 * read made ahead of the lock (`readAhead`) first. So while one batch's statement runs, the next batch is
 * already decided and its statement built, and goes out the moment the lock is granted. A decision
 * stands only if the head, read with the lock, is the one it was decided from (`baseToken`): if the
 * batch before it failed, or another process committed, it is decided again under the lock.
 */
class DecisionChain {
  private readonly tickets: Ticket[] = [];
  readonly stats: DecisionStats = { decidedAhead: 0, decidedUnderLock: 0, redecided: 0, readsAhead: 0, writtenAlone: 0 };
  constructor(readonly cache: AccountCache) {}

  open(units: LedgerCommand[][], strategy: BatchStrategy, db: Database): Ticket {
    const empty = units.every((unit) => unit.length === 0);
    const ticket: Ticket = {
      units,
      inputs: null,
      db,
      readingAhead: false,
      empty,
      ahead: strategy === 'insert_first',
      decision: null,
      finished: null,
      sent: empty,
      onSent: [],
      locked: false,
      onLocked: [],
    };
    this.tickets.push(ticket);
    this.advance();
    return ticket;
  }

  /** The ticket's attempt ended (committed or not). */
  close(ticket: Ticket): void {
    const index = this.tickets.indexOf(ticket);
    if (index >= 0) this.tickets.splice(index, 1);
    this.markSent(ticket);
    this.markLocked(ticket);
    this.advance();
  }

  /** Resolves once every ticket before this one holds the ledger lock or ended: batches of this process
   * then take the lock in the order they were formed (two backends asked at once may be granted it in
   * either order), which keeps the order of concurrent calls and the decisions made ahead valid. */
  async turn(ticket: Ticket): Promise<void> {
    while (true) {
      const before = this.tickets.slice(0, Math.max(0, this.tickets.indexOf(ticket))).find((other) => !other.locked);
      if (before === undefined) return;
      await new Promise<void>((resolve) => before.onLocked.push(resolve));
    }
  }

  markLocked(ticket: Ticket): void {
    if (ticket.locked) return;
    ticket.locked = true;
    for (const resolve of ticket.onLocked.splice(0)) resolve();
  }

  markSent(ticket: Ticket): void {
    if (ticket.sent) return;
    ticket.sent = true;
    for (const resolve of ticket.onSent.splice(0)) resolve();
  }

  /** The ticket was decided under the lock: the tickets behind it were decided from a cache that
   * did not stand where it now does, so they are decided again (when they can be without the lock). */
  decidedUnderLock(ticket: Ticket): void {
    const index = this.tickets.indexOf(ticket);
    for (const later of this.tickets.slice(index + 1)) later.decision = null;
    this.advance();
  }

  /** Decides the tickets that can be, in order, up to the first one that needs the lock. */
  advance(): void {
    let blocked = false;
    for (const ticket of this.tickets) {
      if (ticket.empty || ticket.decision !== null) continue;
      if (!ticket.ahead) {
        blocked = true; // decided under the lock, now or once it holds it
        continue;
      }
      // Behind a ticket that waits, the others are not decided, but their unknown accounts are read.
      const decision = blocked ? null : this.decideAhead(ticket);
      if (decision === null) {
        blocked = true;
        this.readAhead(ticket);
        continue;
      }
      ticket.decision = decision;
    }
  }

  /** The ticket's static inputs, worked out once whichever of deciding ahead, reading ahead and
   * deciding under the lock needs them first. */
  inputsOf(ticket: Ticket): BatchInputs {
    ticket.inputs ??= staticInputs(ticket.units);
    return ticket.inputs;
  }

  private decideAhead(ticket: Ticket): Decision | null {
    if (this.cache.token === null) return null;
    const inputs = this.inputsOf(ticket);
    if (inputs.pendingIds.length > 0) return null;
    const loaded = this.cache.loadCached(inputs.accountIds);
    if (!loaded) return null;
    // The clock only dates new transfers and holds; the statement dates them with the database's.
    const state = { now: new Date(), pendings: new Map<string, Transfer>(), resolutions: new Map<string, TransferKind>(), existing: null };
    try {
      return decide(inputs, loaded, state, this.cache, ticket.db);
    } catch {
      // Deciding throws before it changes the cache; under the lock the batch meets the same error
      // where a batch's errors are handled (split, the unit failed), not here, in whoever advanced.
      return null;
    }
  }

  /** Reads the accounts the cache does not know, once per ticket, without the lock: if they come back
   * exact where the cache stands (`AccountCache.mergeRead`), the chain goes on from this ticket, which
   * may then be decided before it holds the lock. PostgreSQL only: PGlite has one connection, where
   * the read would only wait for the batch in front of it. */
  private readAhead(ticket: Ticket): void {
    // The first ticket opens its transaction at once: reading ahead would only read twice.
    if (ticket.readingAhead || ticket.db.kind !== 'postgres' || this.tickets[0] === ticket || this.cache.token === null) return;
    ticket.readingAhead = true;
    const inputs = this.inputsOf(ticket);
    if (inputs.pendingIds.length > 0) return;
    const ids = this.cache.unknown(inputs.accountIds);
    if (ids.length === 0) return;
    this.stats.readsAhead += 1;
    store
      .loadBalancesAtHead(ticket.db, ids)
      .then(({ token, balances }) => {
        if (this.cache.mergeRead(token, balances) > 0) this.advance();
      })
      .catch(() => undefined); // the batch reads them under the lock instead
  }

  /** Resolves once the oldest batch still on its way has sent its statement (or ended), or after
   * HAND_OFF_WAIT_MAX_MS: a batch that committed lets the next one start before its callers run. */
  async handOff(): Promise<void> {
    const next = this.tickets[0];
    if (next === undefined || next.sent) return;
    let timer: NodeJS.Timeout | undefined;
    await new Promise<void>((resolve) => {
      next.onSent.push(resolve);
      timer = setTimeout(resolve, HAND_OFF_WAIT_MAX_MS);
    });
    clearTimeout(timer);
  }
}

/**
 * Writes a batch decided ahead of the lock by one statement on its own: no `BEGIN`, no `COMMIT`, one
 * round trip instead of three. The statement takes the ledger lock and the head row before anything
 * else (`store.runCommit` in mode `alone`), so its transfers get their seqs under the lock as in a
 * transaction; if the head is not the one the batch was decided from, it fails with a serialization
 * failure that undoes all of it (the writers' parts included), and the batch is redone under the lock
 * in a transaction. Its transfers are dated by the statement's own clock, which it answers: the units
 * were finished before it ran, from results whose times are not final yet (no finisher reads them).
 */
async function commitAlone(db: Database, chain: DecisionChain, ticket: Ticket, decision: Decision, finished: Finished): Promise<unknown[]> {
  chain.markLocked(ticket);
  const parts = asWithParts(finished.statements);
  const running = store.runCommit(db.serial, decision.statement, parts, { kind: 'alone', lockTimeoutMs: LOCK_WAIT_MAX_MS });
  chain.markSent(ticket);
  const { written, now, extras: counts } = await running;
  if (!written) throw new Error('a batch written alone passed the ledger gate but not its head check');
  checkCounts(finished.statements, parts.counted, counts);
  stampTimes(decision, now);
  chain.stats.decidedAhead += 1;
  chain.stats.writtenAlone += 1;
  return finished.values;
}

/**
 * Decides and writes the batch's transfers. The transaction holds the ledger lock, so no other batch
 * of any process commits until this one ends: balances known exactly now stay exact. The head, read
 * with the lock, tells whether the decision made ahead for the ticket stands (it was made from this
 * head), and otherwise whether this process's cache is exact (its own last batch left the head: the
 * common case, and always with one process) or must be read afresh for this batch's accounts.
 */
async function applyLedger(
  tx: SqlClient,
  units: LedgerCommand[][],
  strategy: BatchStrategy,
  chain: DecisionChain,
  ticket: Ticket | undefined,
  writes: (results: CreateTransferResult[][], first: number) => WriterStatement[],
): Promise<{ results: CreateTransferResult[][]; written: boolean }> {
  if (ticket) chain.markLocked(ticket);
  if (units.every((unit) => unit.length === 0)) return { results: units.map(() => []), written: false };
  const head = store.openingHead(tx);
  const cache = chain.cache;
  let decision = ticket?.decision?.baseToken === head.token && strategy === 'insert_first' ? ticket.decision : null;
  if (decision !== null) chain.stats.decidedAhead += 1;
  if (decision === null) {
    chain.stats.decidedUnderLock += 1;
    if (ticket?.decision) chain.stats.redecided += 1;
    // Decided here, under the lock. Until it is, the chain decides nothing ahead, so the cache stands
    // at the head until this batch decides.
    if (ticket) {
      ticket.decision = null;
      ticket.ahead = false;
    }
    if (head.token !== cache.token) cache.reset(head.token);
    const inputs = await gatherInputs(tx, ticket ? chain.inputsOf(ticket) : staticInputs(units));
    const loaded = await cache.load(tx, inputs.accountIds);
    const existing = strategy === 'insert_first_checked' ? await store.loadTransfers(tx, inputs.transferIds) : null;
    const resolutions = await store.loadResolutions(tx, inputs.pendingIds);
    if (cache.token !== head.token) throw new Error('the account cache moved while a batch was decided under the ledger lock');
    decision = decide(inputs, loaded, { now: head.now, pendings: inputs.pendings, resolutions, existing }, cache, tx);
    if (ticket) {
      ticket.decision = decision;
      chain.decidedUnderLock(ticket);
    }
  }
  if (decision.failedIds.length > 0 && strategy === 'insert_first') await assertNoHiddenDuplicates(tx, decision.failedIds);
  // The statement stamps the transfers with the transaction's clock, which the head's read gave.
  const now = head.now;
  stampTimes(decision, now);
  // The units' writes ride in the same statement, as parts of its WITH; if the head turns out to have
  // moved, the error below rolls them back with the rest.
  const extras = writes(decision.results, decision.statement.params.length + 1);
  const parts = asWithParts(extras);
  const running = store.runCommit(tx, decision.statement, parts);
  if (ticket) chain.markSent(ticket);
  const { written, now: stamped, extras: counts } = await running;
  if (!written) throw new Error('the ledger head moved while this transaction held the ledger lock');
  if (stamped.getTime() !== now.getTime()) throw new Error('the ledger statement ran on another clock than its transaction opened with');
  checkCounts(extras, parts.counted, counts);
  return { results: decision.results, written: true };
}

/** Dates a batch's new transfers, and the expiry of the holds it opens, by the clock its statement
 * runs on (`now()` there: the transaction's start, or the statement's when it runs alone). */
function stampTimes(decision: Decision, now: Date): void {
  for (const transfer of decision.created) {
    transfer.createdAt = now;
    if (transfer.expiresAt !== null) transfer.expiresAt = new Date(now.getTime() + transfer.timeoutSeconds * 1000);
  }
  for (const hold of decision.openedHolds) hold.expiresAt = new Date(now.getTime() + hold.timeoutSeconds * 1000);
}

/** Applies the batch to its accounts, picks the accounts to write back, builds the statement, and
 * leaves the cache as the batch leaves the ledger (if the batch does not commit, the head keeps
 * `baseToken`, and whoever decides next finds the head is not the cache's and reads everything again). */
function decide(
  inputs: BatchInputs,
  loaded: LoadedAccounts,
  state: Omit<BatchState, 'accounts' | 'staticFailures'>,
  cache: AccountCache,
  client: Pick<SqlClient, 'binaryArrays'>,
): Decision {
  const baseToken = cache.token!;
  const { accounts, unflushed } = loaded;
  const outcome = applyBatch(inputs.units, { ...state, accounts, staticFailures: inputs.staticFailures });
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
  const newToken = randomUUID();
  const statement = store.commitStatement(client, outcome.created, flush, baseToken, newToken, {
    opened: outcome.openedHolds,
    closed: outcome.closedHolds,
  });
  cache.remember(accounts, unflushed, statement.moves ? newToken : baseToken);
  return {
    baseToken,
    results: outcome.results,
    created: outcome.created,
    openedHolds: outcome.openedHolds,
    closedHolds: outcome.closedHolds,
    statement,
    failedIds: failedIdsOf(outcome.results),
  };
}

/** Ids of transfers that failed: on the fast path one might be the retry of a stored transfer, which
 * must answer `exists`. */
function failedIdsOf(units: CreateTransferResult[][]): string[] {
  const failedIds = new Set<string>();
  for (const results of units) {
    for (const result of results) {
      if (result.result !== 'created' && result.result !== 'exists' && isUuid(result.id)) failedIds.add(result.id);
    }
  }
  return [...failedIds];
}

async function assertNoHiddenDuplicates(tx: SqlClient, failedIds: string[]): Promise<void> {
  if ((await store.findExistingIds(tx, failedIds)).length > 0) throw new ExistingTransfersError();
}
