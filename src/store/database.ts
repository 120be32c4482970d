// One interface over the two stores: PGlite (embedded, in process) and PostgreSQL (through `pg`).
// Both parse int8 to bigint, uuid to string, jsonb to objects and timestamptz to Date.
import { mkdirSync } from 'node:fs';
import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';

export interface QueryResult<R> {
  rows: R[];
  rowCount: number;
}

/** How a statement is sent. `prepared`: as the named prepared statement of that name on each
 * PostgreSQL connection (parsed, analysed and, once PostgreSQL settles on a generic plan, planned once
 * per connection), for a hot statement whose text never changes and whose plan does not depend on the
 * tables' statistics (docs/performance.md, bench:api, eighteenth session). PGlite ignores it. */
export interface QueryOptions {
  prepared?: string;
}

export interface SqlClient {
  query<R = Record<string, unknown>>(sql: string, params?: unknown[], options?: QueryOptions): Promise<QueryResult<R>>;
  /** Rows as arrays in column order: cheaper to parse than objects, for the ledger's hot statements. */
  queryArrays<R extends unknown[] = unknown[]>(sql: string, params?: unknown[]): Promise<R[]>;
  /** Whether a Buffer parameter reaches the server as a binary value (PostgreSQL through `pg`), so that
   * arrays can be sent in the binary format of src/store/binary-array.ts; PGlite takes text only. */
  readonly binaryArrays?: boolean;
  /** In a transaction opened with `TransactionOptions.openingQuery`: that query's rows. */
  readonly opening?: Array<Record<string, unknown>>;
}

export type StoreKind = 'pglite' | 'postgres';

export interface TransactionOptions {
  /** A transaction-scoped advisory lock (`pg_advisory_xact_lock`) to take before `work` runs, in the
   * same round trip as `BEGIN` on PostgreSQL; held until the transaction ends. */
  advisoryLock?: bigint;
  /** After the advisory lock: how long any later lock wait of the transaction may last (`lock_timeout`;
   * beyond it the statement fails with 55P03). PostgreSQL only: PGlite has one connection. */
  lockTimeoutMs?: number;
  /** How long the transaction may sit idle between statements before the server ends it and its
   * locks (`idle_in_transaction_session_timeout`): for a process that stalls while holding a lock that
   * everyone needs. PostgreSQL only. */
  idleTimeoutMs?: number;
  /** A query without parameters run last in the opening round trip (after the lock); its rows are the
   * transaction client's `opening`. */
  openingQuery?: string;
}

/** The statements that open a PostgreSQL transaction with `options`, as one simple-protocol string
 * (one round trip). Numbers and the key are checked to be integers, so nothing else reaches the SQL. */
function beginSql(options: TransactionOptions): string {
  const statements = ['BEGIN'];
  if (options.advisoryLock !== undefined) statements.push(`SELECT pg_advisory_xact_lock(${lockKey(options.advisoryLock)})`);
  if (options.lockTimeoutMs !== undefined) statements.push(`SET LOCAL lock_timeout = ${milliseconds(options.lockTimeoutMs)}`);
  if (options.idleTimeoutMs !== undefined) {
    statements.push(`SET LOCAL idle_in_transaction_session_timeout = ${milliseconds(options.idleTimeoutMs)}`);
  }
  if (options.openingQuery !== undefined) statements.push(options.openingQuery);
  return statements.join('; ');
}

function milliseconds(value: number): number {
  if (!Number.isSafeInteger(value) || value < 1) throw new RangeError('a timeout is a positive integer of milliseconds');
  return value;
}

export interface Database extends SqlClient {
  readonly kind: StoreKind;
  /**
   * Statements whose commit does not wait for its WAL flush (`synchronous_commit = off`, PostgreSQL; on
   * PGlite, the database itself). Only for a write whose loss in a crash is harmless because whatever
   * is acknowledged on the strength of it commits later with a flush, which carries this write too (the
   * WAL is flushed in order): an Idempotency-Key reservation, which the request's own commit follows.
   */
  readonly unflushed: SqlClient;
  /**
   * One connection of its own (PostgreSQL; on PGlite, the database itself): its statements and
   * transactions run one after another, in the order they were sent. On PostgreSQL a statement is
   * written to the server at once, behind those before it (pipelining), so no round trip separates one
   * from the next; a transaction holds back what is sent after it until it ends. For work that must
   * reach the server in the order it was formed: the ledger's batches (docs/ledger.md, "The serial
   * connection").
   */
  readonly serial: SerialClient;
  /** Runs `work` in one database transaction: committed when it resolves, rolled back when it throws. */
  transaction<T>(work: (tx: SqlClient) => Promise<T>, options?: TransactionOptions): Promise<T>;
  close(): Promise<void>;
}

export type SerialClient = SqlClient & Pick<Database, 'transaction'>;

export interface DatabaseOptions {
  /** A postgres:// URL selects PostgreSQL; otherwise the embedded database lives in `dataDir`. */
  databaseUrl?: string;
  dataDir?: string;
  /** Connections in the PostgreSQL pool. */
  poolSize?: number;
}

const INT8_OID = 20;
const parseInt8 = (value: string): bigint => BigInt(value);

export async function openDatabase(options: DatabaseOptions): Promise<Database> {
  if (options.databaseUrl) return openPostgres(options.databaseUrl, options.poolSize ?? 10);
  if (!options.dataDir) throw new Error('openDatabase needs a databaseUrl or a dataDir');
  return openPglite(options.dataDir);
}

async function openPglite(dataDir: string): Promise<Database> {
  mkdirSync(dataDir, { recursive: true });
  const lite = await PGlite.create(`${dataDir}/pgdata`, { parsers: { [INT8_OID]: parseInt8 } });
  const asResult = <R>(result: { rows: unknown[]; affectedRows?: number }): QueryResult<R> => ({
    rows: result.rows as R[],
    rowCount: result.affectedRows ?? result.rows.length,
  });
  const client: SqlClient = {
    async query<R>(sql: string, params?: unknown[]) {
      return asResult<R>(await lite.query(sql, params));
    },
    async queryArrays<R extends unknown[]>(sql: string, params?: unknown[]) {
      return (await lite.query(sql, params, { rowMode: 'array' })).rows as R[];
    },
  };
  const transaction = <T>(work: (tx: SqlClient) => Promise<T>, options: TransactionOptions = {}): Promise<T> =>
    lite.transaction(async (tx) => {
      if (options.advisoryLock !== undefined) await tx.query(`SELECT pg_advisory_xact_lock(${lockKey(options.advisoryLock)})`);
      const opening = options.openingQuery === undefined ? undefined : (await tx.query<Record<string, unknown>>(options.openingQuery)).rows;
      return work({
        opening,
        query: async <R>(sql: string, params?: unknown[]) => asResult<R>(await tx.query(sql, params)),
        queryArrays: async <R extends unknown[]>(sql: string, params?: unknown[]) =>
          (await tx.query(sql, params, { rowMode: 'array' })).rows as R[],
      });
    });
  return {
    kind: 'pglite',
    ...client,
    // PGlite runs with fsync off: no commit waits for a flush.
    unflushed: client,
    // One connection, whose queries and transactions PGlite runs in the order they were sent.
    serial: { ...client, transaction },
    transaction,
    close: () => lite.close(),
  };
}

async function openPostgres(databaseUrl: string, poolSize: number): Promise<Database> {
  const types = {
    getTypeParser: (oid: number, format?: 'text' | 'binary') =>
      oid === INT8_OID ? parseInt8 : pg.types.getTypeParser(oid, format),
  };
  const pool = new pg.Pool({ connectionString: databaseUrl, max: poolSize, types: types as pg.CustomTypesConfig });
  // A broken idle connection must not crash the process; the next query gets a fresh one.
  pool.on('error', () => undefined);
  const unflushedPool = new pg.Pool({
    connectionString: databaseUrl,
    max: Math.min(2, poolSize),
    types: types as pg.CustomTypesConfig,
    options: '-c synchronous_commit=off',
  });
  unflushedPool.on('error', () => undefined);
  const asResult = <R>(result: pg.QueryResult): QueryResult<R> => ({
    rows: result.rows as R[],
    rowCount: result.rowCount ?? result.rows.length,
  });
  // The statements of a pool or of one checked-out connection.
  const on = (target: pg.Pool | pg.ClientBase): SqlClient => ({
    binaryArrays: true,
    query: async <R>(sql: string, params?: unknown[], options?: QueryOptions) =>
      asResult<R>(await target.query(options?.prepared ? { name: options.prepared, text: sql, values: params } : { text: sql, values: params })),
    queryArrays: async <R extends unknown[]>(sql: string, params?: unknown[]) =>
      (await target.query({ text: sql, values: params, rowMode: 'array' })).rows as R[],
  });
  // `work` in a transaction on `client`, which is the transaction's alone until it ends; `broke` hears of
  // a connection that broke meanwhile, which is then not to be used again.
  async function transactionOn<T>(
    client: pg.ClientBase,
    work: (tx: SqlClient) => Promise<T>,
    options: TransactionOptions,
    broke: (error: unknown) => void,
  ): Promise<T> {
    // A connection that breaks during the transaction emits 'error'; without a listener that would end the
    // process. The failing query rejects as well, which is how the caller learns of it.
    let broken: unknown = null;
    const onError = (error: unknown) => {
      broken = error;
    };
    client.on('error', onError);
    try {
      // Without parameters `pg` uses the simple protocol, which runs several statements in one round trip.
      const opened = (await client.query(beginSql(options))) as pg.QueryResult | pg.QueryResult[];
      const results = Array.isArray(opened) ? opened : [opened];
      const value = await work({
        ...on(client),
        opening: options.openingQuery === undefined ? undefined : (results[results.length - 1]!.rows as Array<Record<string, unknown>>),
      });
      await client.query('COMMIT');
      return value;
    } catch (error) {
      await client.query('ROLLBACK').catch((rollbackError: unknown) => {
        broken ??= rollbackError;
      });
      throw error;
    } finally {
      client.off('error', onError);
      if (broken) broke(broken);
    }
  }
  const serial = openSerial({ connectionString: databaseUrl, types: types as pg.CustomTypesConfig }, on, transactionOn);
  await pool.query('SELECT 1');
  return {
    kind: 'postgres',
    ...on(pool),
    unflushed: on(unflushedPool),
    serial,
    async transaction<T>(work: (tx: SqlClient) => Promise<T>, options: TransactionOptions = {}) {
      const client = await pool.connect();
      let broken: unknown = null;
      try {
        return await transactionOn(client, work, options, (error) => {
          broken = error;
        });
      } finally {
        // A broken connection is destroyed rather than returned to the pool.
        client.release(broken ? (broken as Error) : undefined);
      }
    },
    close: async () => {
      await Promise.all([pool.end(), unflushedPool.end(), serial.end()]);
    },
  };
}

interface SerialJob {
  /** Whether the job has the connection to itself until it settles (a transaction). */
  exclusive: boolean;
  run(client: pg.Client): Promise<unknown>;
  fail(error: unknown): void;
}

/**
 * The serial connection of a PostgreSQL database (`Database.serial`): one `pg` client in pipeline mode,
 * opened on first use and opened again after it broke. A statement is written to the server the moment
 * it is sent, behind whatever was written before it, so the server starts it as soon as the one before
 * ends, without waiting for a round trip through this process (whose event loop may be busy). A
 * transaction is written behind what came before it too, but holds back whatever is sent after it
 * until it has ended: those would otherwise run inside it. Jobs leave the queue in the order they were
 * sent, by one synchronous loop, so nothing overtakes anything.
 */
function openSerial(
  config: pg.ClientConfig,
  on: (target: pg.ClientBase) => SqlClient,
  transactionOn: <T>(
    client: pg.ClientBase,
    work: (tx: SqlClient) => Promise<T>,
    options: TransactionOptions,
    broke: (error: unknown) => void,
  ) => Promise<T>,
): SerialClient & { end(): Promise<void> } {
  const queue: SerialJob[] = [];
  let client: pg.Client | null = null;
  /** The connection being opened, if one is. */
  let connecting: pg.Client | null = null;
  let held = false;

  function pump(): void {
    while (queue.length > 0 && !held && !connecting) {
      if (client === null) {
        connect();
        return;
      }
      const job = queue.shift()!;
      const running = job.run(client);
      if (job.exclusive) {
        held = true;
        void running.finally(() => {
          held = false;
          pump();
        });
      }
    }
  }

  function connect(): void {
    const fresh = new pg.Client({ ...config, pipeline: true } as pg.ClientConfig);
    connecting = fresh;
    // A broken connection rejects what was written on it; the next job opens a new one.
    const forget = () => {
      if (client === fresh) client = null;
    };
    fresh.on('error', forget);
    fresh.on('end', forget);
    fresh.connect().then(
      () => {
        connecting = null;
        client = fresh;
        pump();
      },
      (error: unknown) => {
        connecting = null;
        for (const job of queue.splice(0)) job.fail(error);
      },
    );
  }

  function send<T>(exclusive: boolean, run: (client: pg.Client) => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      queue.push({ exclusive, run: (connection) => run(connection).then(resolve, reject), fail: reject });
      pump();
    });
  }

  return {
    binaryArrays: true,
    query: (sql, params, options) => send(false, (connection) => on(connection).query(sql, params, options)),
    queryArrays: (sql, params) => send(false, (connection) => on(connection).queryArrays(sql, params)),
    transaction: (work, options = {}) =>
      send(true, (connection) =>
        transactionOn(connection, work, options, () => {
          if (client === connection) client = null;
          connection.end().catch(() => undefined);
        }),
      ),
    end: async () => {
      // A connection still being opened is ended too, rather than left open.
      await Promise.all([client?.end(), connecting?.end().catch(() => undefined)]);
    },
  };
}

/** An advisory lock key as an SQL literal (a bigint, checked to be one, so nothing else reaches the SQL). */
function lockKey(key: bigint): string {
  if (typeof key !== 'bigint' || key < -(2n ** 63n) || key >= 2n ** 63n) throw new RangeError('an advisory lock key is an int8');
  return key.toString();
}

/** PostgreSQL's SQLSTATE of a driver error, when it has one. */
export function sqlState(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}
