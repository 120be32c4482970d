// Env-gated (BENCH_TIMING=1) breakdown of where a batch's time goes: wraps a Database so that every
// statement run inside a transaction is timed, together with the gaps around the statements:
// - "(before 1st statement: connect, BEGIN, JS)": from transaction() being called to the first
//   statement being sent (the pool's connect, BEGIN and whatever JS the batch runs first),
// - "(JS between statements)": the engine's work between one statement's result and the next,
// - "(after last statement: JS, COMMIT, release)": from the last statement's result to the transaction's
//   promise settling (JS run after the last statement, then COMMIT and its WAL flush),
// and every statement outside a transaction, as "[outside tx] ..." on the pool or "[serial] ..." on the
// serial connection (`Database.serial`, where the ledger's batches written alone run).
// Statement times are measured by the client, so they include the driver encoding the parameters and
// decoding the rows. With BENCH_EXPLAIN=1 one transaction of each phase (the 10th) also runs every
// statement first under EXPLAIN (ANALYZE, BUFFERS, WAL) inside a savepoint that is rolled back, and
// prints the plans: the server's own time for each statement, to compare with the client's.
import { performance } from 'node:perf_hooks';
import type { Database, SqlClient, TransactionOptions } from '../src/store/database.ts';

interface Bucket {
  count: number;
  ms: number;
}

export interface StatementTimer {
  db: Database;
  reset(): void;
  /** A table of the buckets, slowest first, with the share of the wall time given. */
  report(wallMs: number): string;
}

function clip(text: string, length: number): string {
  return text.length > length ? `${text.slice(0, length - 3)}...` : text;
}

function label(sql: string): string {
  return clip(sql.replace(/\s+/g, ' ').trim(), 90);
}

const EXPLAIN_TRANSACTION = 10;

/** Whether a client's method sends a statement (query, queryArrays, ...): its first argument is SQL. */
const isStatementMethod = (name: string | symbol): name is string => typeof name === 'string' && name.startsWith('query');

type AnyMethod = (sql: string, ...rest: unknown[]) => Promise<unknown>;

/**
 * A stand-in for `client` whose statement methods (every method named query...) are passed through
 * `around`; everything else is the client's own. A Proxy rather than an object literal, so that it
 * keeps up with whatever methods the store's SqlClient has.
 */
function intercept<C extends object>(client: C, around: (sql: string, params: unknown, run: () => Promise<unknown>) => Promise<unknown>): C {
  return new Proxy(client, {
    get(target, property) {
      const value: unknown = Reflect.get(target, property, target);
      if (typeof value !== 'function') return value;
      if (!isStatementMethod(property)) return (value as (...args: unknown[]) => unknown).bind(target);
      const method = value as AnyMethod;
      return (sql: string, ...rest: unknown[]) => around(sql, rest[0], () => method.call(target, sql, ...rest));
    },
  });
}

export function timeStatements(db: Database, options: { explain?: (text: string) => void } = {}): StatementTimer {
  let transactions = 0;
  const buckets = new Map<string, Bucket>();
  const add = (name: string, ms: number) => {
    const bucket = buckets.get(name) ?? { count: 0, ms: 0 };
    bucket.count += 1;
    bucket.ms += ms;
    buckets.set(name, bucket);
  };

  // Statements outside any transaction, labelled with `where` they ran.
  const outside = <C extends object>(client: C, where: string): C =>
    intercept(client, async (sql, _params, run) => {
      const start = performance.now();
      try {
        return await run();
      } finally {
        add(`[${where}] ${label(sql)}`, performance.now() - start);
      }
    });

  // The transactions of `source`, each statement timed with the gaps around it.
  const timed =
    (source: Pick<Database, 'transaction'>) =>
    async <T>(work: (tx: SqlClient) => Promise<T>, transactionOptions?: TransactionOptions): Promise<T> => {
      transactions += 1;
      const explain = options.explain && transactions === EXPLAIN_TRANSACTION ? options.explain : null;
      const start = performance.now();
      let lastEnd = start;
      let first = true;
      try {
        return await source.transaction((tx) =>
          work(
            intercept(tx, async (sql, params, run) => {
              if (explain && !/^\s*SET\b/i.test(sql)) {
                await tx.query('SAVEPOINT bench_explain');
                const plan = await tx.query<Record<string, string>>(
                  `EXPLAIN (ANALYZE, BUFFERS, WAL) ${sql}`,
                  params as unknown[] | undefined,
                );
                await tx.query('ROLLBACK TO SAVEPOINT bench_explain');
                explain(
                  [
                    `  EXPLAIN ANALYZE of: ${label(sql)}`,
                    ...plan.rows.map((row) => `    ${clip(String(Object.values(row)[0]), 160)}`),
                  ].join('\n'),
                );
                lastEnd = performance.now();
              }
              const sent = performance.now();
              add(first ? '(before 1st statement: connect, BEGIN, JS)' : '(JS between statements)', sent - lastEnd);
              first = false;
              try {
                return await run();
              } finally {
                lastEnd = performance.now();
                add(label(sql), lastEnd - sent);
              }
            }),
          ),
          transactionOptions,
        );
      } finally {
        const end = performance.now();
        add('(after last statement: JS, COMMIT, release)', end - lastEnd);
        add('== transaction total', end - start);
      }
    };

  const withTimedTransactions = <C extends object>(client: C, source: Pick<Database, 'transaction'>, extra: Record<string, unknown> = {}): C =>
    new Proxy(client, {
      get(target, property) {
        if (property === 'transaction') return timed(source);
        if (typeof property === 'string' && property in extra) return extra[property];
        return Reflect.get(target, property, target);
      },
    });
  const serial = withTimedTransactions(outside(db.serial, 'serial'), db.serial);
  const wrapped: Database = withTimedTransactions(outside(db, 'outside tx'), db, { serial });

  return {
    db: wrapped,
    reset: () => {
      buckets.clear();
      transactions = 0;
    },
    report(wallMs) {
      const rows = [...buckets.entries()].sort((a, b) => b[1].ms - a[1].ms);
      const lines = rows.map(
        ([name, bucket]) =>
          `  ${bucket.ms.toFixed(0).padStart(8)} ms ${((bucket.ms / wallMs) * 100).toFixed(1).padStart(5)}%` +
          ` ${String(bucket.count).padStart(7)}x ${(bucket.ms / bucket.count).toFixed(3).padStart(8)} ms/each  ${name}`,
      );
      return [`  statement timing over ${wallMs.toFixed(0)} ms of wall time:`, ...lines].join('\n');
    },
  };
}
