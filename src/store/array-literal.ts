// PostgreSQL array literals built directly, for the ledger's batched statements: one string per column
// instead of the driver's per-element encoding, which showed up in profiles of the commit path.

/** For values that never need quoting: UUIDs, integers, bigints. null becomes SQL NULL. */
export function plainArrayLiteral(values: ReadonlyArray<string | number | bigint | null>): string {
  let literal = '{';
  for (let i = 0; i < values.length; i += 1) {
    if (i > 0) literal += ',';
    const value = values[i];
    literal += value === null || value === undefined ? 'NULL' : String(value);
  }
  return `${literal}}`;
}

/** For arbitrary text: every element quoted, backslashes and double quotes escaped. */
export function quotedArrayLiteral(values: ReadonlyArray<string | null>): string {
  let literal = '{';
  for (let i = 0; i < values.length; i += 1) {
    if (i > 0) literal += ',';
    const value = values[i];
    literal += value === null || value === undefined ? 'NULL' : `"${value.replace(/[\\"]/g, '\\$&')}"`;
  }
  return `${literal}}`;
}
