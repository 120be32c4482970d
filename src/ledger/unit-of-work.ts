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

// Deadlock and serialization failure (not expected: locks are taken in id order), unique violation (a
// concurrent writer of the same id): redo the batch with every id looked up.
const RETRYABLE_SQL_STATES = new Set(['40P01', '40001', '23505']);

const ACCOUNT_CACHE_SIZE_MAX = 1_000_000;

export function createUnitOfWorkExecutor(
  writers: Map<string, UnitWriter>,
): BatchExecutor<UnitOfWork<unknown>, unknown> {
  const cache = new AccountCache(ACCOUNT_CACHE_SIZE_MAX);
  return {
    weight: (unit) => Math.max(1, unit.transfers.length),
    isRetryable: (error) =>
      error instanceof ExistingTransfersError || RETRYABLE_SQL_STATES.has(sqlState(error) ?? ''),
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

/** Per process: the fields of accounts that never change (asset, kind, flags, limit, metadata), so that
 * a batch reads and locks only the balances. Accounts are never deleted, so an entry never goes stale. */
class AccountCache {
  private readonly accounts = new Map<string, Account>();
  constructor(private readonly sizeMax: number) {}

  /** The batch's accounts with zero balances; an id that does not exist is absent. */
  async load(tx: SqlClient, ids: string[]): Promise<Map<string, Account>> {
    const missing = ids.filter((id) => !this.accounts.has(id));
    if (missing.length > 0) {
      if (this.accounts.size + missing.length > this.sizeMax) this.accounts.clear();
      for (const account of await store.loadAccountStatics(tx, missing)) this.accounts.set(account.id, account);
    }
    const found = new Map<string, Account>();
    for (const id of ids) {
      const account = this.accounts.get(id);
      if (account) found.set(id, { ...account });
    }
    return found;
  }
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

/** One batch: lock its accounts in id order and read their balances, decide every transfer in order,
 * insert the created ones, write the balances. The first attempt does not look the ids up (new ids are
 * the common case); the insert finds any that exists, and the batch is then redone with the lookup. */
async function applyLedger(
  tx: SqlClient,
  units: LedgerCommand[][],
  checkExisting: boolean,
  cache: AccountCache,
): Promise<CreateTransferResult[][]> {
  if (units.every((unit) => unit.length === 0)) return units.map(() => []);
  const inputs = await gatherInputs(tx, units);
  const accounts = await cache.load(tx, inputs.accountIds);
  const now = await store.selectNow(tx);
  const balances = await store.lockBalances(tx, [...accounts.keys()]);
  for (const [id, account] of accounts) Object.assign(account, balances.get(id));
  const outcome = applyBatch(inputs.units, {
    now,
    accounts,
    pendings: inputs.pendings,
    resolutions: await store.loadResolutions(tx, inputs.pendingIds),
    existing: checkExisting ? await store.loadTransfers(tx, inputs.transferIds) : null,
  });
  if (!checkExisting) await assertNoHiddenDuplicates(tx, outcome.results.flat());
  const inserted = await store.insertTransfers(tx, outcome.created);
  if (inserted !== outcome.created.length) throw new ExistingTransfersError();
  await store.openHolds(tx, outcome.openedHolds);
  await store.closeHolds(tx, outcome.closedHolds);
  await store.updateBalances(
    tx,
    [...outcome.touchedAccounts].sort().map((id) => accounts.get(id)!),
  );
  return outcome.results;
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
