// The group-commit queue on its own, over a real embedded database: batching, backpressure, retries
// and the split that keeps one bad unit from failing its neighbours.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createTestStore, type TestStore } from '../../test/support/stores.ts';
import { createCommitPipeline, PipelineClosedError, PipelineOverloadedError, type BatchExecutor } from './commit-pipeline.ts';

interface Unit {
  value: number;
  fail?: boolean;
}

describe('commit pipeline', () => {
  let store: TestStore;
  before(async () => {
    store = await createTestStore('pglite');
    await store.db.query('CREATE TABLE pipeline_rows (value integer PRIMARY KEY)');
  });
  after(() => store.drop());

  function executor(log: number[][], options: { retryOnce?: boolean } = {}): BatchExecutor<Unit, number> {
    let retried = false;
    return {
      weight: () => 1,
      isRetryable: (error) => (error as Error).message === 'transient',
      async execute(tx, units) {
        log.push(units.map((unit) => unit.value));
        if (options.retryOnce && !retried) {
          retried = true;
          throw new Error('transient');
        }
        await tx.query('INSERT INTO pipeline_rows SELECT unnest($1::int[])', [units.map((unit) => unit.value)]);
        if (units.some((unit) => unit.fail)) throw new Error('bad unit');
        return units.map((unit) => unit.value * 2);
      },
    };
  }

  const options = { batchWeightMax: 100, queueWeightMax: 1000, batchesInFlightMax: 1, retriesMax: 2 };

  it('groups concurrent units into few transactions and answers each', async () => {
    const log: number[][] = [];
    const pipeline = createCommitPipeline(store.db, executor(log), options);
    const results = await Promise.all(Array.from({ length: 250 }, (_, i) => pipeline.submit({ value: i + 1 })));
    assert.deepEqual(results, Array.from({ length: 250 }, (_, i) => (i + 1) * 2));
    assert.ok(log.length <= 4, `250 units took ${log.length} batches`);
    assert.ok(log.every((batch) => batch.length <= 100));
    const stored = await store.db.query<{ count: bigint }>('SELECT count(*)::int8 AS count FROM pipeline_rows');
    assert.equal(stored.rows[0]!.count, 250n);
    await pipeline.close();
  });

  it('splits a failing batch so that only the bad unit fails, and writes nothing of it', async () => {
    const log: number[][] = [];
    const pipeline = createCommitPipeline(store.db, executor(log), options);
    const outcomes = await Promise.allSettled([1001, 1002, 1003].map((value) => pipeline.submit({ value, fail: value === 1002 })));
    assert.deepEqual(outcomes.map((outcome) => outcome.status), ['fulfilled', 'rejected', 'fulfilled']);
    const stored = await store.db.query<{ value: number }>('SELECT value FROM pipeline_rows WHERE value > 1000 ORDER BY value');
    assert.deepEqual(stored.rows.map((row) => row.value), [1001, 1003]);
  });

  it('retries a retryable failure in a new transaction', async () => {
    const log: number[][] = [];
    const pipeline = createCommitPipeline(store.db, executor(log, { retryOnce: true }), options);
    assert.equal(await pipeline.submit({ value: 2001 }), 4002);
    assert.equal(pipeline.stats().retries, 1);
  });

  it('prepares each attempt before its transaction, waits for its turn, releases it however it ends, and hands off before answering', async () => {
    const events: string[] = [];
    let attempts = 0;
    const base = executor([], { retryOnce: true });
    const pipeline = createCommitPipeline(
      store.db,
      {
        ...base,
        prepare: (units, attempt) => {
          events.push(`prepare ${units[0]!.value} attempt ${attempt}`);
          return { attempt: attempts++ };
        },
        turn: async (prepared) => {
          events.push(`turn ${(prepared as { attempt: number }).attempt}`);
        },
        async execute(tx, units, attempt, prepared) {
          events.push(`execute ${(prepared as { attempt: number }).attempt}`);
          return base.execute(tx, units, attempt);
        },
        release: (prepared) => {
          events.push(`release ${(prepared as { attempt: number }).attempt}`);
        },
        handOff: async () => {
          events.push('hand off');
        },
      },
      options,
    );
    const answered = pipeline.submit({ value: 4001 }).then((result) => {
      events.push('answered');
      return result;
    });
    assert.equal(await answered, 8002);
    assert.deepEqual(events, [
      'prepare 4001 attempt 0',
      'turn 0',
      'execute 0',
      'release 0',
      'prepare 4001 attempt 1',
      'turn 1',
      'execute 1',
      'release 1',
      'hand off',
      'answered',
    ]);
    await pipeline.close();
  });

  it('starts the next batch before the callers of a batch that committed run', async () => {
    const events: string[] = [];
    let releaseFirst = () => {};
    const firstHeld = new Promise<void>((resolve) => {
      releaseFirst = resolve;
    });
    const pipeline = createCommitPipeline<Unit, number>(
      store.db,
      {
        weight: () => 1,
        isRetryable: () => false,
        // Called as an attempt starts, before its transaction opens.
        prepare(units) {
          events.push(`batch ${units.map((unit) => unit.value).join(',')} started`);
          return undefined;
        },
        async execute(tx, units) {
          if (units[0]!.value === 1) await firstHeld;
          await tx.query('SELECT 1');
          return units.map((unit) => unit.value);
        },
      },
      options,
    );
    const first = pipeline.submit({ value: 1 }).then(() => events.push('caller 1 answered'));
    // Queued while the first batch is in flight: it is the next batch.
    await new Promise((resolve) => setImmediate(resolve));
    const second = pipeline.submit({ value: 2 }).then(() => events.push('caller 2 answered'));
    releaseFirst();
    await Promise.all([first, second]);
    assert.deepEqual(events, ['batch 1 started', 'batch 2 started', 'caller 1 answered', 'caller 2 answered']);
    await pipeline.close();
  });

  it('refuses work beyond the queue bound at once, and after close', async () => {
    const log: number[][] = [];
    const pipeline = createCommitPipeline(store.db, executor(log), { ...options, queueWeightMax: 10 });
    const submitted = Array.from({ length: 30 }, (_, i) => pipeline.submit({ value: 3001 + i }));
    const outcomes = await Promise.allSettled(submitted);
    const refused = outcomes.filter((outcome) => outcome.status === 'rejected');
    assert.ok(refused.length > 0);
    assert.ok(refused.every((outcome) => (outcome as PromiseRejectedResult).reason instanceof PipelineOverloadedError));
    await pipeline.close();
    await assert.rejects(pipeline.submit({ value: 1 }), PipelineClosedError);
  });
});
