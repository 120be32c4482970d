// How the composition root builds top-ups from the configuration: the vault's keyring from the master
// key, the vault, and the service over the card rails the runtime opened.
import type { Config } from '../config/config.ts';
import type { Books } from '../books/service.ts';
import type { CustomerService } from '../customers/service.ts';
import type { LedgerService } from '../ledger/service.ts';
import type { Logger } from '../log/logger.ts';
import type { CardRails } from '../rails/card.ts';
import type { RiskHook } from '../risk/hook.ts';
import type { Database } from '../store/database.ts';
import type { Keyring } from '../vault/crypto.ts';
import { loadMasterKey } from '../vault/master-key.ts';
import { openKeyring, openStoredKeyring } from '../vault/root-key.ts';
import { createCardVault } from '../vault/service.ts';
import { createTopUpService, type TopUpService } from './service.ts';

export interface TopUpWiring {
  db: Database;
  ledger: LedgerService;
  books: Books;
  customers: CustomerService;
  risk: RiskHook;
  cards: CardRails;
  logger: Logger;
}

/** The vault's keyring: the configured master key (or the development key file) as the current
 * version, the previous ones, and the installation's root key read from the database. */
export async function openVaultKeyring(config: Config, db: Database, logger: Logger): Promise<Keyring> {
  return openKeyring(db, masterKeysOf(config, logger), config.vault.masterKeyVersion);
}

/** `openVaultKeyring` without creating the root: null while the installation has none. */
export async function openStoredVaultKeyring(config: Config, db: Database, logger: Logger): Promise<Keyring | null> {
  return openStoredKeyring(db, () => masterKeysOf(config, logger), config.vault.masterKeyVersion);
}

function masterKeysOf(config: Config, logger: Logger): Map<number, Buffer> {
  const masterKey = loadMasterKey({ configured: config.vault.masterKey, mode: config.mode, dataDir: config.dataDir, logger });
  const keys = new Map(config.vault.previousMasterKeys);
  keys.set(config.vault.masterKeyVersion, masterKey);
  return keys;
}

export function createTopUpServiceFromConfig(config: Config, wiring: TopUpWiring & { keyring: Keyring }): TopUpService {
  const { keyring } = wiring;
  return createTopUpService({
    db: wiring.db,
    ledger: wiring.ledger,
    books: wiring.books,
    customers: wiring.customers,
    risk: wiring.risk,
    vault: createCardVault({ db: wiring.db, keyring }),
    cards: wiring.cards,
    minimums: config.topUps.minimums,
  });
}
