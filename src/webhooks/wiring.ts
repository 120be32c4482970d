// From the configuration to the webhook service and worker, for the composition root (runtime.ts).
import type { Config } from '../config/config.ts';
import type { Logger } from '../log/logger.ts';
import type { Database } from '../store/database.ts';
import type { Keyring } from '../vault/crypto.ts';
import { createSecretBox, webhookSecretKey, type SecretBox } from './secrets.ts';
import { createWebhookService, type WebhookService } from './service.ts';
import { attemptsMaxOf, startWebhookWorker, type WebhookWorker } from './worker.ts';

/** Without an explicit key, endpoint secrets are sealed with a key derived from the vault's root (which
 * survives master key rotations), or in development without a vault key, a fixed development key. */
function secretBoxOf(config: Config, keyring: Keyring): SecretBox {
  return createSecretBox(
    webhookSecretKey({
      explicit: config.webhooks.secretEncryptionKey,
      vaultMasterKey: config.vault?.masterKey ? keyring.root : undefined,
      production: config.mode === 'production',
    }),
  );
}

export function createWebhookServiceFromConfig(config: Config, db: Database, keyring: Keyring): WebhookService {
  return createWebhookService({
    db,
    secretBox: secretBoxOf(config, keyring),
    privateTargets: config.webhooks.privateTargets,
    attemptsMax: attemptsMaxOf(config.webhooks),
  });
}

export function startWebhookWorkerFromConfig(config: Config, db: Database, logger: Logger, keyring: Keyring): WebhookWorker {
  return startWebhookWorker({ db, secretBox: secretBoxOf(config, keyring), logger, options: config.webhooks });
}
