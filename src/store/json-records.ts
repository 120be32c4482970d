// A JSON array parameter read as rows to join with a table (`UPDATE t ... FROM <rows> WHERE t.id = r.id`).
// PostgreSQL estimates `jsonb_to_recordset` at 100 rows whatever it holds, and against that guess it
// hashes the whole table rather than probing its index: measured on `idempotency_keys`, every answer
// stored and every reservation scanned all the keys of the last 24 hours (docs/performance.md, bench:api,
// eighteenth session). A LIMIT of the number of rows actually sent tells the planner the true count;
// it never cuts anything, the array holds exactly that many.

/** `(SELECT * FROM jsonb_to_recordset($n::jsonb) AS r(...) LIMIT count) AS r`, for a FROM clause.
 * `definition` is the alias with its column list, as in `r(id text, version integer)`; `count` is the
 * number of rows, or the parameter that carries it (`'$4'`) in a statement prepared once for any count. */
export function jsonRecords(param: string, definition: string, count: number | `$${number}`): string {
  const valid = typeof count === 'number' ? Number.isSafeInteger(count) && count >= 0 : /^\$[1-9][0-9]*$/.test(count);
  if (!valid) throw new Error(`not a row count: ${count}`);
  const limit = typeof count === 'number' ? count : `${count}::bigint`;
  const alias = definition.slice(0, definition.indexOf('(')).trim();
  if (!/^[a-z_][a-z0-9_]*$/.test(alias)) throw new Error(`not an alias with columns: ${definition}`);
  return `(SELECT * FROM jsonb_to_recordset(${param}::jsonb) AS ${definition} LIMIT ${limit}) AS ${alias}`;
}
