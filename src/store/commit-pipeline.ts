// Group commit: units of work from many concurrent callers are gathered into batches, and each batch
// is carried out in ONE database transaction. A caller's promise settles only after its batch has
// committed, so an acknowledgement always means durable.
//
// Failures are handled by the batch's executor classifying them:
// - `retry`: run the same batch again in a new transaction (deadlock, a concurrent writer of the same
//   id, a fast path that needs the slow one), at most `retriesMax` times;
// - otherwise the batch is split and each unit runs alone, so one bad unit cannot fail its neighbours.
import type { Database, SqlClient, TransactionOptions } from './database.ts';

export interface BatchExecutor<U, R> {
  /** Carries out the units inside `tx`; returns one result per unit, in order. `prepared` is what
   * `prepare` answered for this attempt. */
  execute(tx: SqlClient, units: U[], attempt: number, prepared?: unknown): Promise<R[]>;
  /** Called for each attempt just before its transaction opens (while the batches before it may still
   * be committing): work that does not need the transaction can be done there. */
  prepare?(units: U[], attempt: number, db: Database): unknown;
  /** Awaited before the prepared attempt's transaction opens: the executor may hold it back (the
   * ledger opens a batch's transaction once the batches before it hold the ledger lock, so that they
   * take it in the order they were formed). */
  turn?(prepared: unknown): Promise<void>;
  /** Called after `turn`: carries out the prepared attempt without opening a transaction (one
   * autocommit statement, atomic on its own) when the executor can, or answers null for `execute` in
   * a transaction. */
  direct?(units: U[], attempt: number, prepared: unknown, db: Database): Promise<R[]> | null;
  /** Called when an attempt that was prepared ends, however it ends. */
  release?(prepared: unknown): void;
  /** Awaited after a batch committed and before its callers get their results: the executor may let
   * the next batch, whose transaction was waiting for this one, send its work first. */
  handOff?(): Promise<void>;
  /** Whether an error thrown by `execute` is worth retrying the whole batch for. */
  isRetryable(error: unknown): boolean;
  /** The size of a unit, counted against `batchWeightMax` (for the ledger: its transfers). */
  weight(unit: U): number;
  /** What a unit reads or writes that a batch in flight may also hold (for the ledger: transfer and
   * hold ids). A unit sharing a key with a batch in flight waits for that batch, and so does every
   * unit queued behind it, so that dependent work is decided in the order it was submitted. */
  keys?(unit: U): string[];
  /** How each batch's transaction is opened (the ledger's takes its advisory lock). */
  transaction?: TransactionOptions;
}

export interface CommitPipelineOptions {
  batchWeightMax: number;
  /** Weight waiting in the queue beyond which new units are refused at once. */
  queueWeightMax: number;
  /** Batches committing at the same time: on distinct connections, or queued on one (`serial`). */
  batchesInFlightMax: number;
  retriesMax: number;
  /** Whether the batches' transactions run on the database's serial connection (`Database.serial`),
   * one after another in the order they open, instead of on connections of the pool. */
  serial?: boolean;
}

export class PipelineOverloadedError extends Error {
  readonly code = 'ledger_overloaded';
  constructor() {
    super('the commit pipeline queue is full; retry later');
  }
}

export class PipelineClosedError extends Error {
  readonly code = 'ledger_closed';
  constructor() {
    super('the commit pipeline is closed');
  }
}

interface Waiting<U, R> {
  unit: U;
  weight: number;
  keys: string[];
  resolve: (result: R) => void;
  reject: (error: unknown) => void;
}

export interface CommitPipeline<U, R> {
  submit(unit: U): Promise<R>;
  /** Waits for every queued unit to commit, then refuses new ones. */
  close(): Promise<void>;
  stats(): { batches: number; units: number; retries: number; splits: number; queued: number };
}

export function createCommitPipeline<U, R>(
  db: Database,
  executor: BatchExecutor<U, R>,
  options: CommitPipelineOptions,
): CommitPipeline<U, R> {
  const queue: Array<Waiting<U, R>> = [];
  let queuedWeight = 0;
  let inFlight = 0;
  let closed = false;
  let drained: (() => void) | null = null;
  let scheduled = false;
  const counters = { batches: 0, units: 0, retries: 0, splits: 0 };
  // Keys held by the batches in flight, with how many batches hold each.
  const keysInFlight = new Map<string, number>();
  const transactions = options.serial ? db.serial : db;

  function schedule(): void {
    while (inFlight < options.batchesInFlightMax && queue.length > 0) {
      // Share what waits across the free slots: callers that wait for their answer before sending more
      // would otherwise fall into one batch at a time, with nothing overlapping its commit.
      const freeSlots = options.batchesInFlightMax - inFlight;
      const batch = takeBatch(Math.min(options.batchWeightMax, Math.ceil(queuedWeight / freeSlots)));
      if (batch.length === 0) return; // the head of the queue waits for a batch in flight
      const keys = batch.flatMap((waiting) => waiting.keys);
      for (const key of keys) keysInFlight.set(key, (keysInFlight.get(key) ?? 0) + 1);
      inFlight += 1;
      // The batch's slot is freed as soon as it committed (before its callers run: see runBatch), or
      // when it ends otherwise; once, either way.
      let freed = false;
      const free = () => {
        if (freed) return;
        freed = true;
        for (const key of keys) {
          const holders = keysInFlight.get(key)! - 1;
          if (holders === 0) keysInFlight.delete(key);
          else keysInFlight.set(key, holders);
        }
        inFlight -= 1;
        schedule();
      };
      void runBatch(batch, free).finally(() => {
        free();
        if (inFlight === 0 && queue.length === 0 && drained) drained();
      });
    }
  }

  function takeBatch(weightMax: number): Array<Waiting<U, R>> {
    const batch: Array<Waiting<U, R>> = [];
    let weight = 0;
    while (queue.length > 0 && (batch.length === 0 || weight + queue[0]!.weight <= weightMax)) {
      if (queue[0]!.keys.some((key) => keysInFlight.has(key))) break;
      const next = queue.shift()!;
      weight += next.weight;
      batch.push(next);
    }
    queuedWeight -= weight;
    return batch;
  }

  async function runBatch(batch: Array<Waiting<U, R>>, free: () => void): Promise<void> {
    counters.batches += 1;
    counters.units += batch.length;
    try {
      const results = await executeWithRetries(batch.map((waiting) => waiting.unit));
      // Committed: the next batch is formed and sent before this one's callers run, so that the
      // database works on it while they do (their code would otherwise run first, every batch).
      free();
      if (executor.handOff) await executor.handOff();
      batch.forEach((waiting, index) => waiting.resolve(results[index]!));
    } catch (error) {
      if (batch.length === 1) {
        batch[0]!.reject(error);
        return;
      }
      counters.splits += 1;
      for (const waiting of batch) {
        try {
          const [result] = await executeWithRetries([waiting.unit]);
          waiting.resolve(result!);
        } catch (unitError) {
          waiting.reject(unitError);
        }
      }
    }
  }

  async function executeWithRetries(units: U[]): Promise<R[]> {
    for (let attempt = 0; ; attempt += 1) {
      const prepared = executor.prepare?.(units, attempt, db);
      try {
        if (prepared !== undefined && executor.turn) await executor.turn(prepared);
        const direct = executor.direct?.(units, attempt, prepared, db);
        if (direct) return await direct;
        return await transactions.transaction((tx) => executor.execute(tx, units, attempt, prepared), executor.transaction);
      } catch (error) {
        if (attempt >= options.retriesMax || !executor.isRetryable(error)) throw error;
        counters.retries += 1;
      } finally {
        if (prepared !== undefined) executor.release?.(prepared);
      }
    }
  }

  return {
    submit(unit: U): Promise<R> {
      if (closed) return Promise.reject(new PipelineClosedError());
      const weight = executor.weight(unit);
      if (queuedWeight + weight > options.queueWeightMax && queue.length > 0) {
        return Promise.reject(new PipelineOverloadedError());
      }
      return new Promise<R>((resolve, reject) => {
        queue.push({ unit, weight, keys: options.batchesInFlightMax > 1 ? (executor.keys?.(unit) ?? []) : [], resolve, reject });
        queuedWeight += weight;
        // Callers that submit in the same tick share the next batch instead of the first one running alone.
        if (!scheduled) {
          scheduled = true;
          queueMicrotask(() => {
            scheduled = false;
            schedule();
          });
        }
      });
    },
    async close(): Promise<void> {
      closed = true;
      if (inFlight === 0 && queue.length === 0) return;
      await new Promise<void>((resolve) => {
        drained = resolve;
      });
    },
    stats: () => ({ ...counters, queued: queue.length }),
  };
}
