// Where the vault's master key comes from: `VAULT_MASTER_KEY` (required in production mode), or in
// development a key generated once into `<dataDir>/vault-master.key` (mode 0600) and reused, so a
// newcomer needs no setup and cards tokenised yesterday still open today. Losing that file makes the
// development vault's cards unreadable, which is the point of a key.
import { chmodSync, linkSync, mkdirSync, readFileSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { Logger } from '../log/logger.ts';
import { VAULT_KEY_BYTES } from './crypto.ts';

export const VAULT_MASTER_KEY_FILE = 'vault-master.key';

export interface MasterKeyOptions {
  /** The decoded `VAULT_MASTER_KEY`, when set. */
  configured: Buffer | undefined;
  mode: 'development' | 'production';
  dataDir: string;
  logger?: Logger;
}

export function decodeMasterKey(text: string): Buffer | null {
  const trimmed = text.trim();
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(trimmed)) return null;
  const key = Buffer.from(trimmed, 'base64');
  return key.length === VAULT_KEY_BYTES ? key : null;
}

export function loadMasterKey(options: MasterKeyOptions): Buffer {
  if (options.configured) return options.configured;
  if (options.mode === 'production') throw new Error('VAULT_MASTER_KEY is required in production mode');
  mkdirSync(options.dataDir, { recursive: true });
  const path = join(options.dataDir, VAULT_MASTER_KEY_FILE);
  if (!readable(path)) createKeyFile(path);
  const mode = statSync(path).mode & 0o777;
  if ((mode & 0o077) !== 0) {
    options.logger?.warn({ path, mode: mode.toString(8) }, 'the vault master key file is readable by other users; chmod 600 it');
  }
  const key = decodeMasterKey(readFileSync(path, 'utf8'));
  if (!key) throw new Error(`${path} does not hold a base64 key of ${VAULT_KEY_BYTES} bytes`);
  return key;
}

function readable(path: string): boolean {
  try {
    statSync(path);
    return true;
  } catch {
    return false;
  }
}

/** Writes a new key to a private temporary file and links it into place: the link either creates the
 * file whole or fails because another process (a parallel test, a second start) got there first, in
 * which case its key is the one used. */
function createKeyFile(path: string): void {
  const temporary = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  writeFileSync(temporary, `${randomBytes(VAULT_KEY_BYTES).toString('base64')}\n`, { mode: 0o600, flag: 'wx' });
  chmodSync(temporary, 0o600);
  try {
    linkSync(temporary, path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  } finally {
    unlinkSync(temporary);
  }
}
