// The migration runner's statement splitter: statements end at a `;` that ends a line, except inside
// a dollar-quoted function body, which is kept whole.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { splitStatements } from './migrate.ts';

describe('splitStatements', () => {
  it('splits at a semicolon that ends a line and drops comment lines', () => {
    assert.deepEqual(splitStatements('-- a table\nCREATE TABLE t (a int);\n\nINSERT INTO t VALUES (1);\n'), [
      'CREATE TABLE t (a int)',
      'INSERT INTO t VALUES (1)',
    ]);
  });

  it('keeps a function body whole', () => {
    const body = `CREATE FUNCTION f() RETURNS int LANGUAGE plpgsql AS $$
BEGIN
  PERFORM 1;
  RETURN 2;
END
$$`;
    assert.deepEqual(splitStatements(`${body};\nSELECT f();\n`), [body, 'SELECT f()']);
  });
});
