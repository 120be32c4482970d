// Opens a fresh, migrated database of either kind for a test: PGlite in a temporary folder, or a new
// PostgreSQL database on the local server (TEST_DATABASE_ADMIN_URL, default the local `postgres`).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { openDatabase, type Database, type StoreKind } from '../../src/store/database.ts';
import { migrate } from '../../src/store/migrate.ts';

export const STORE_KINDS: StoreKind[] = ['pglite', 'postgres'];

export const ADMIN_URL = process.env.TEST_DATABASE_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export interface TestStore {
  kind: StoreKind;
  db: Database;
  /** How another process opens the same store: `databaseUrl` for PostgreSQL, `dataDir` for PGlite. */
  location: { databaseUrl?: string; dataDir?: string };
  /** Closes the connection (if still open) and removes the database or folder. */
  drop(): Promise<void>;
}

/** Creates an empty migrated store; `open: false` leaves it closed (for a child process to own). */
export async function createTestStore(kind: StoreKind, options: { open?: boolean } = {}): Promise<TestStore> {
  let location: TestStore['location'];
  let cleanup: () => Promise<void>;
  if (kind === 'pglite') {
    const dataDir = mkdtempSync(join(tmpdir(), 'micropay-test-'));
    location = { dataDir };
    cleanup = async () => rmSync(dataDir, { recursive: true, force: true });
  } else {
    const name = `micropay_test_${randomBytes(6).toString('hex')}`;
    const admin = await openDatabase({ databaseUrl: ADMIN_URL, poolSize: 1 });
    await admin.query(`CREATE DATABASE ${name}`);
    await admin.close();
    location = { databaseUrl: ADMIN_URL.replace(/\/[^/]*$/, `/${name}`) };
    cleanup = async () => {
      const dropper = await openDatabase({ databaseUrl: ADMIN_URL, poolSize: 1 });
      await dropper.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await dropper.close();
    };
  }
  let db = await openDatabase(location);
  await migrate(db);
  let open = true;
  if (options.open === false) {
    await db.close();
    open = false;
  }
  return {
    kind,
    get db() {
      if (!open) throw new Error('this test store was created closed');
      return db;
    },
    location,
    async drop() {
      if (open) await db.close().catch(() => undefined);
      open = false;
      await cleanup();
    },
  } as TestStore;
}
