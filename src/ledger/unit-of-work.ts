// The batch executor behind the commit pipeline: one database transaction carries the ledger transfers
// of every unit in the batch, then each unit's own rows (payments, outbox events, idempotency records),
// written by named writers with one statement per writer per batch.
import { sqlState, type SqlClient } from '../store/database.ts';
import type { BatchExecutor } from '../store/commit-pipeline.ts';
import { applyBatch, type BatchState } from './engine.ts';
import type { Account, CreateTransferResult, Transfer } from './model.ts';
import * as store from './store.ts';
import { isUuid, pendingIdOf, type LedgerCommand } from './validate.ts';

export interface UnitWrite {
  writer: string;
  row: unknown;
}

export interface UnitOfWork<V = CreateTransferResult[]> {
  transfers: LedgerCommand[];
  /** Called inside the transaction once the ledger decided this unit's transfers. */
  finish?: (results: CreateTransferResult[]) => { value: V; writes?: UnitWrite[] };
}

/** Writes the rows of one kind for a whole batch inside its transaction. */
export type UnitWriter = (tx: SqlClient, rows: unknown[]) => Promise<void>;

/** Thrown to redo a batch on the slow path: some id of the batch was already stored. */
export class ExistingTransfersError extends Error {
  constructor() {
    super('a transfer of the batch already exists; the batch is redone with an existence check');
  }
}

/** Thrown to redo a batch on the slow path: decided in order, the batch differs from the fast guess. */
export class OptimisticBatchError extends Error {
  constructor() {
    super('the batch crosses a balance limit part-way; it is redone with accounts locked first');
  }
}

// Deadlock, serialization failure, unique violation (a concurrent writer of the same id), a CHECK
// constraint (a limit crossed by the fast path's deltas), numeric overflow (ditto): redo on the slow path.
const RETRYABLE_SQL_STATES = new Set(['40P01', '40001', '23505', '23514', '22003']);

const ACCOUNT_CACHE_SIZE_MAX = 1_000_000;

export function createUnitOfWorkExecutor(
  writers: Map<string, UnitWriter>,
): BatchExecutor<UnitOfWork<unknown>, unknown> {
  const cache = new AccountCache(ACCOUNT_CACHE_SIZE_MAX);
  return {
    weight: (unit) => Math.max(1, unit.transfers.length),
    isRetryable: (error) =>
      error instanceof ExistingTransfersError ||
      error instanceof OptimisticBatchError ||
      RETRYABLE_SQL_STATES.has(sqlState(error) ?? ''),
    async execute(tx, units, attempt) {
      // The first attempt assumes new ids (the common case) and lets the insert detect a duplicate;
      // a retry looks every id up first, as a duplicate or a concurrent writer was seen.
      const results = await applyLedger(tx, units.map((unit) => unit.transfers), attempt > 0, cache);
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
      for (const [name, rows] of writesByWriter) {
        const writer = writers.get(name);
        if (!writer) throw new Error(`no unit writer named ${name}`);
        await writer(tx, rows);
      }
      return values;
    },
  };
}

/** Per process: the fields of accounts that never change, and the balances this process last saw.
 * Balances here are only a guess (another process may have moved them since); the fast path uses them
 * to predict its decisions and checks every prediction against the real balances before committing. */
class AccountCache {
  private readonly accounts = new Map<string, { account: Account; balancesKnown: boolean }>();
  constructor(private readonly sizeMax: number) {}

  async load(tx: SqlClient, ids: string[]): Promise<{ accounts: Map<string, Account>; unknown: Set<string> }> {
    const missing = ids.filter((id) => !this.accounts.has(id));
    if (missing.length > 0) {
      if (this.accounts.size + missing.length > this.sizeMax) this.accounts.clear();
      for (const account of await store.loadAccountStatics(tx, missing)) {
        this.accounts.set(account.id, { account, balancesKnown: false });
      }
    }
    const accounts = new Map<string, Account>();
    const unknown = new Set<string>();
    for (const id of ids) {
      const entry = this.accounts.get(id);
      if (!entry) continue;
      accounts.set(id, { ...entry.account, flags: { ...entry.account.flags } });
      if (!entry.balancesKnown) unknown.add(id);
    }
    return { accounts, unknown };
  }

  remember(accounts: Iterable<Account>): void {
    for (const account of accounts) {
      const entry = this.accounts.get(account.id);
      if (entry) {
        Object.assign(entry.account, balancesOf(account));
        entry.balancesKnown = true;
      }
    }
  }
}

function balancesOf(account: Account | store.BalanceDelta): Omit<store.BalanceDelta, 'id'> {
  return {
    debitsPending: account.debitsPending,
    debitsPosted: account.debitsPosted,
    creditsPending: account.creditsPending,
    creditsPosted: account.creditsPosted,
  };
}

interface BatchInputs {
  units: LedgerCommand[][];
  transferIds: string[];
  pendingIds: string[];
  pendings: Map<string, Transfer>;
  accountIds: string[];
}

async function gatherInputs(tx: SqlClient, units: LedgerCommand[][]): Promise<BatchInputs> {
  const commands = units.flat();
  const transferIds = unique(commands.map((command) => command.id).filter(isUuid));
  const pendingIds = unique(commands.map(pendingIdOf).filter(isUuid));
  const pendings = await store.loadTransfers(tx, pendingIds);
  const accountIds = new Set<string>();
  for (const command of commands) {
    if ('debitAccountId' in command && isUuid(command.debitAccountId)) accountIds.add(command.debitAccountId);
    if ('creditAccountId' in command && isUuid(command.creditAccountId)) accountIds.add(command.creditAccountId);
  }
  for (const pending of pendings.values()) {
    accountIds.add(pending.debitAccountId);
    accountIds.add(pending.creditAccountId);
  }
  return { units, transferIds, pendingIds, pendings, accountIds: [...accountIds].sort() };
}

async function applyLedger(
  tx: SqlClient,
  units: LedgerCommand[][],
  checkExisting: boolean,
  cache: AccountCache,
): Promise<CreateTransferResult[][]> {
  if (units.every((unit) => unit.length === 0)) return units.map(() => []);
  const inputs = await gatherInputs(tx, units);
  return checkExisting ? applySlow(tx, inputs, cache) : applyFast(tx, inputs, cache);
}

/** The slow path: lock every account first (in id order), look every id up, then decide in order. */
async function applySlow(tx: SqlClient, inputs: BatchInputs, cache: AccountCache): Promise<CreateTransferResult[][]> {
  const { now, accounts } = await store.lockAccounts(tx, inputs.accountIds);
  const outcome = applyBatch(inputs.units, {
    now,
    accounts,
    pendings: inputs.pendings,
    resolutions: await store.loadResolutions(tx, inputs.pendingIds),
    existing: await store.loadTransfers(tx, inputs.transferIds),
  });
  const inserted = await store.insertTransfers(tx, outcome.created);
  if (inserted !== outcome.created.length) throw new ExistingTransfersError();
  await store.openHolds(tx, outcome.openedHolds);
  await store.closeHolds(tx, outcome.closedHolds);
  await store.updateBalances(
    tx,
    [...outcome.touchedAccounts].sort().map((id) => accounts.get(id)!),
  );
  cache.remember(accounts.values());
  return outcome.results;
}

/** The fast path, for the common batch of new ids. It decides from the balances this process last saw
 * (limits unchecked for accounts it has not seen), inserts, adds the balance deltas in one statement
 * that locks the accounts in id order and returns their new balances, then replays the batch in order
 * from the real balances as they were before it. If the replay decides anything differently (another
 * process moved a balance, an id existed), the transaction is rolled back and the batch is redone on
 * the slow path; the CHECK constraints stop any limit crossed by the deltas before that. */
async function applyFast(tx: SqlClient, inputs: BatchInputs, cache: AccountCache): Promise<CreateTransferResult[][]> {
  const guess = await cache.load(tx, inputs.accountIds);
  const resolutions = await store.loadResolutions(tx, inputs.pendingIds);
  // Expiry decisions need the database clock; other batches take it from the balance update.
  const clock = inputs.pendingIds.length > 0 ? await store.selectNow(tx) : new Date();
  const guessed = new Map([...guess.accounts].map(([id, account]) => [id, balancesOf(account)]));
  const optimistic = applyBatch(inputs.units, {
    now: clock,
    accounts: guess.accounts,
    pendings: inputs.pendings,
    resolutions,
    existing: null,
    limitsUnchecked: guess.unknown,
  });
  await assertNoHiddenDuplicates(tx, optimistic.results.flat());
  const inserted = await store.insertTransfers(tx, optimistic.created);
  if (inserted !== optimistic.created.length) throw new ExistingTransfersError();
  // Every account of the batch is updated (by zero when the guess moved nothing on it), so the update
  // locks them all and returns the real balance of each, and the replay below is exact.
  const deltas = [...guess.accounts.keys()].sort().map((id) => {
    const final = guess.accounts.get(id)!;
    const start = guessed.get(id)!;
    return {
      id,
      debitsPending: final.debitsPending - start.debitsPending,
      debitsPosted: final.debitsPosted - start.debitsPosted,
      creditsPending: final.creditsPending - start.creditsPending,
      creditsPosted: final.creditsPosted - start.creditsPosted,
    };
  });
  const { now, balances } =
    deltas.length > 0 ? await store.addBalanceDeltas(tx, deltas) : { now: clock, balances: new Map<string, store.BalanceDelta>() };
  const real = await cache.load(tx, inputs.accountIds);
  for (const delta of deltas) {
    const after = balances.get(delta.id)!;
    Object.assign(real.accounts.get(delta.id)!, {
      debitsPending: after.debitsPending - delta.debitsPending,
      debitsPosted: after.debitsPosted - delta.debitsPosted,
      creditsPending: after.creditsPending - delta.creditsPending,
      creditsPosted: after.creditsPosted - delta.creditsPosted,
    });
  }
  const exact = applyBatch(inputs.units, { now, accounts: real.accounts, pendings: inputs.pendings, resolutions, existing: null });
  if (!sameResults(exact.results, optimistic.results)) throw new OptimisticBatchError();
  for (const transfer of optimistic.created) {
    transfer.createdAt = now;
    if (transfer.expiresAt !== null) transfer.expiresAt = new Date(now.getTime() + transfer.timeoutSeconds * 1000);
  }
  await store.openHolds(tx, optimistic.openedHolds);
  await store.closeHolds(tx, optimistic.closedHolds);
  cache.remember(real.accounts.values());
  return optimistic.results;
}

function sameResults(a: CreateTransferResult[][], b: CreateTransferResult[][]): boolean {
  return a.every((unit, i) => unit.every((result, j) => result.result === b[i]![j]!.result));
}

/** On the fast path a failed transfer might be the retry of a stored one, which must answer `exists`. */
async function assertNoHiddenDuplicates(tx: SqlClient, results: CreateTransferResult[]): Promise<void> {
  const failedIds = results
    .filter((result) => result.result !== 'created' && result.result !== 'exists' && isUuid(result.id))
    .map((result) => result.id);
  if ((await store.findExistingIds(tx, unique(failedIds))).length > 0) throw new ExistingTransfersError();
}

function unique<T>(values: T[]): T[] {
  return [...new Set(values)];
}

export type { Transfer };
