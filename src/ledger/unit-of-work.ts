// The batch executor behind the commit pipeline: one database transaction carries the ledger transfers
// of every unit in the batch, then each unit's own rows (payments, outbox events, idempotency records),
// written by named writers with one statement per writer per batch.
import { sqlState, type SqlClient } from '../store/database.ts';
import type { BatchExecutor } from '../store/commit-pipeline.ts';
import { applyBatch, type BatchState } from './engine.ts';
import type { CreateTransferResult, Transfer } from './model.ts';
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

const RETRYABLE_SQL_STATES = new Set(['40P01', '40001', '23505']);

export function createUnitOfWorkExecutor(
  writers: Map<string, UnitWriter>,
): BatchExecutor<UnitOfWork<unknown>, unknown> {
  return {
    weight: (unit) => Math.max(1, unit.transfers.length),
    isRetryable: (error) =>
      error instanceof ExistingTransfersError || RETRYABLE_SQL_STATES.has(sqlState(error) ?? ''),
    async execute(tx, units, attempt) {
      // The first attempt assumes new ids (the common case) and lets the insert detect a duplicate;
      // a retry looks every id up first, as a duplicate or a concurrent writer was seen.
      const results = await applyLedger(tx, units.map((unit) => unit.transfers), attempt > 0);
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

async function applyLedger(
  tx: SqlClient,
  units: LedgerCommand[][],
  checkExisting: boolean,
): Promise<CreateTransferResult[][]> {
  const commands = units.flat();
  if (commands.length === 0) return units.map(() => []);
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
  const { now, accounts } = await store.lockAccounts(tx, [...accountIds].sort());
  const state: BatchState = {
    now,
    accounts,
    pendings,
    resolutions: await store.loadResolutions(tx, pendingIds),
    existing: checkExisting ? await store.loadTransfers(tx, transferIds) : null,
  };
  const outcome = applyBatch(units, state);
  if (!checkExisting) await assertNoHiddenDuplicates(tx, outcome.results.flat());
  const inserted = await store.insertTransfers(tx, outcome.created, now);
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
