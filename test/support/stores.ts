// Opens a fresh, migrated database of either kind for a test: PGlite in a temporary folder, or a new
// PostgreSQL database on the local server (TEST_DATABASE_ADMIN_URL, default the local `postgres`).
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createHash, randomBytes } from 'node:crypto';
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

const MIGRATIONS_DIR = fileURLToPath(new URL('../../src/store/migrations/', import.meta.url));
const MIGRATE_SOURCE = fileURLToPath(new URL('../../src/store/migrate.ts', import.meta.url));
let pgliteTemplate: Promise<string> | null = null;

/**
 * A migrated PGlite data folder to copy (a fresh PGlite's initdb and the migrations take seconds; a
 * copy takes milliseconds). Built once per set of migrations, shared by the test processes through the
 * temporary folder: its name is a digest of the migrations and the runner, and it appears by an atomic
 * rename, so a process sees either none or a complete one.
 */
function migratedPgliteTemplate(): Promise<string> {
  pgliteTemplate ??= (async () => {
    const digest = createHash('sha256');
    for (const name of readdirSync(MIGRATIONS_DIR).sort()) digest.update(name).update(readFileSync(join(MIGRATIONS_DIR, name)));
    digest.update(readFileSync(MIGRATE_SOURCE));
    const root = join(tmpdir(), 'micropay-pglite-templates');
    const template = join(root, digest.digest('hex').slice(0, 24));
    try {
      readdirSync(template);
      return template;
    } catch {
      // Not built yet: build it below.
    }
    mkdirSync(root, { recursive: true });
    const building = mkdtempSync(join(root, 'building-'));
    const db = await openDatabase({ dataDir: building });
    await migrate(db);
    await db.close();
    try {
      renameSync(building, template);
    } catch {
      // Another test process got there first: use its copy.
      rmSync(building, { recursive: true, force: true });
    }
    return template;
  })();
  return pgliteTemplate;
}

/** Creates an empty migrated store; `open: false` leaves it closed (for a child process to own). */
export async function createTestStore(kind: StoreKind, options: { open?: boolean } = {}): Promise<TestStore> {
  let location: TestStore['location'];
  let cleanup: () => Promise<void>;
  if (kind === 'pglite') {
    const dataDir = mkdtempSync(join(tmpdir(), 'micropay-test-'));
    cpSync(await migratedPgliteTemplate(), dataDir, { recursive: true });
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
  // A PGlite copy of the template is migrated already; a closed store need not be opened at all.
  const opened = kind === 'pglite' && options.open === false ? null : await openDatabase(location);
  if (opened && kind === 'postgres') await migrate(opened);
  let db = opened!;
  let open = opened !== null;
  if (opened && options.open === false) {
    await opened.close();
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
