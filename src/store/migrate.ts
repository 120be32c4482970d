// A small migration runner: numbered SQL files applied in order, each in its own transaction,
// recorded in `schema_migrations`. The same files run on PGlite and PostgreSQL.
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Database, SqlClient } from './database.ts';

const MIGRATIONS_DIR = fileURLToPath(new URL('./migrations/', import.meta.url));
// Several processes may start at once against one PostgreSQL; this lock lets one of them migrate.
const MIGRATION_LOCK_KEY = 7_340_001n;

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export function listMigrations(): Migration[] {
  return readdirSync(MIGRATIONS_DIR)
    .filter((file) => /^\d{4}_[a-z0-9_]+\.sql$/.test(file))
    .sort()
    .map((file) => ({
      version: Number(file.slice(0, 4)),
      name: file.slice(5, -4),
      sql: readFileSync(MIGRATIONS_DIR + file, 'utf8'),
    }));
}

/** Applies the migrations not applied yet; returns the versions it applied. */
export async function migrate(db: Database): Promise<number[]> {
  await db.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version integer PRIMARY KEY,
    name text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
  )`);
  const applied: number[] = [];
  for (const migration of listMigrations()) {
    const done = await db.transaction(async (tx) => {
      const seen = await tx.query('SELECT 1 FROM schema_migrations WHERE version = $1', [migration.version]);
      if (seen.rows.length > 0) return false;
      for (const statement of splitStatements(migration.sql)) await tx.query(statement);
      await tx.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [migration.version, migration.name]);
      return true;
    }, { advisoryLock: MIGRATION_LOCK_KEY });
    if (done) applied.push(migration.version);
  }
  return applied;
}

/** The migrations of this release that the database has not applied (all of them on a new database). */
export async function pendingMigrations(db: SqlClient): Promise<Migration[]> {
  const table = await db.query<{ name: string | null }>(`SELECT to_regclass('schema_migrations')::text AS name`);
  if (table.rows[0]?.name === null || table.rows[0]?.name === undefined) return listMigrations();
  const { rows } = await db.query<{ version: number }>('SELECT version FROM schema_migrations');
  const applied = new Set(rows.map((row) => Number(row.version)));
  return listMigrations().filter((migration) => !applied.has(migration.version));
}

/** A command that works on existing data met a database this release has migrations for: it changes
 * nothing (no migration either: an operation should not upgrade the schema as a side effect). */
export class MigrationsPendingError extends Error {
  constructor(readonly pending: Migration[]) {
    super(
      `the database is behind this release: ${pending.length === 1 ? 'migration' : 'migrations'} ` +
        `${pending.map((migration) => `${String(migration.version).padStart(4, '0')}_${migration.name}`).join(', ')} ` +
        `${pending.length === 1 ? 'is' : 'are'} not applied (nothing was changed). Run "micropay migrate" first.`,
    );
  }
}

/** Refuses (MigrationsPendingError) a database with migrations of this release not applied. */
export async function assertMigrated(db: SqlClient): Promise<void> {
  const pending = await pendingMigrations(db);
  if (pending.length > 0) throw new MigrationsPendingError(pending);
}

/** Splits a migration into statements at a `;` that ends a line, except inside a dollar-quoted body
 * (`$$ ... $$`, a function's), which is kept whole. */
export function splitStatements(sql: string): string[] {
  const statements: string[] = [];
  let current = '';
  sql
    .replace(/^\s*--.*$/gm, '')
    .split('$$')
    .forEach((part, index) => {
      if (index % 2 === 1) {
        current += `$$${part}$$`;
        return;
      }
      const [first, ...rest] = part.split(/;\s*$/m);
      current += first;
      for (const next of rest) {
        statements.push(current);
        current = next;
      }
    });
  statements.push(current);
  return statements.map((statement) => statement.trim()).filter((statement) => statement.length > 0);
}
