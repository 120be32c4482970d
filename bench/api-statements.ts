// Counting of the SQL statements a process sends to PostgreSQL, per kind, with the time each takes from
// send to answer, by wrapping pg's Client.prototype.query in that process (bench/api-server.ts uses it
// for the "where the time goes" part of bench:api). Nothing here runs until installStatementCounter().
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import type { GcFigures } from './gc-meter.ts';

export interface StatementStats {
  /** Statements by kind (kindOf), e.g. "INSERT payments": how many, and their summed milliseconds. */
  statements: Record<string, { count: number; milliseconds: number }>;
  cpuUserMs: number;
  cpuSystemMs: number;
  elapsedMs: number;
  /** How late the server's event loop ran its timers (monitorEventLoopDelay), in milliseconds. */
  eventLoopDelay: { p50Ms: number; p99Ms: number; maxMs: number };
  /** Garbage collection pauses: how many, their sum and the longest, in milliseconds; the longest
   * scavenge (young generation), and how many mark-compacts (old generation) with the longest. */
  gc: GcFigures;
}

/** A statement's kind: its verb and the table it works on ("SELECT customers", "INSERT payments",
 * "WITH taken: INSERT idempotency_keys"), so that the counts say which step of a request sent it. */
export function kindOf(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  const cte = /^WITH (\w+) AS/i.exec(flat);
  const body = cte ? flat.slice(cte[0].length) : flat;
  const verb = /\b(SELECT|INSERT|UPDATE|DELETE)\b/i.exec(body)?.[1]?.toUpperCase();
  if (!verb) return flat.split(' ')[0]!.toUpperCase().slice(0, 30);
  const table =
    verb === 'INSERT' ? /INSERT INTO (\w+)/i.exec(body)?.[1]
    : verb === 'UPDATE' ? /UPDATE (\w+)/i.exec(body)?.[1]
    : /\bFROM (\w+)/i.exec(body)?.[1];
  return `${cte ? `WITH ${cte[1]}: ` : ''}${verb} ${table ?? '?'}`;
}

/** Installs the counter; returns the live table of counts by kind (clear it to start over). */
export function installStatementCounter(): Map<string, { count: number; milliseconds: number }> {
  const statements = new Map<string, { count: number; milliseconds: number }>();
  // Most statements are the same few texts: each is classified once (the counter's own cost is in the
  // server's CPU figures).
  const kinds = new Map<string, string>();
  const clientPrototype = pg.Client.prototype as unknown as { query: (...args: unknown[]) => unknown };
  const originalQuery = clientPrototype.query;
  clientPrototype.query = function countedQuery(this: unknown, ...args: unknown[]) {
    const first = args[0] as string | { text?: string } | undefined;
    const text = typeof first === 'string' ? first : (first?.text ?? '(prepared)');
    let kind = kinds.get(text);
    if (kind === undefined) {
      if (kinds.size >= 10_000) kinds.clear();
      kind = kindOf(text);
      kinds.set(text, kind);
    }
    const started = performance.now();
    const record = () => {
      const entry = statements.get(kind) ?? { count: 0, milliseconds: 0 };
      entry.count += 1;
      entry.milliseconds += performance.now() - started;
      statements.set(kind, entry);
    };
    // pg.Pool's own query() passes a callback; direct client use gets a promise.
    const callback = args.at(-1);
    if (typeof callback === 'function') {
      args[args.length - 1] = (...results: unknown[]) => {
        record();
        return (callback as (...values: unknown[]) => unknown)(...results);
      };
      return originalQuery.apply(this, args);
    }
    const result = originalQuery.apply(this, args) as { then?: (onDone: () => void, onFail: () => void) => unknown } | undefined;
    if (result && typeof result.then === 'function') result.then(record, record);
    else record();
    return result;
  };
  return statements;
}
