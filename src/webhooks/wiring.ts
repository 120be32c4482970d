// From the configuration to the webhook service and worker, for the composition root (runtime.ts).
import type { Config } from '../config/config.ts';
import type { Logger } from '../log/logger.ts';
import type { Database } from '../store/database.ts';
import { createSecretBox, webhookSecretKey, type SecretBox } from './secrets.ts';
import { createWebhookService, type WebhookService } from './service.ts';
import { attemptsMaxOf, startWebhookWorker, type WebhookWorker } from './worker.ts';

function secretBoxOf(config: Config): SecretBox {
  return createSecretBox(
    webhookSecretKey({ explicit: config.webhooks.secretEncryptionKey, vaultMasterKey: config.vault?.masterKey, production: config.mode === 'production' }),
  );
}

export function createWebhookServiceFromConfig(config: Config, db: Database): WebhookService {
  return createWebhookService({
    db,
    secretBox: secretBoxOf(config),
    privateTargets: config.webhooks.privateTargets,
    attemptsMax: attemptsMaxOf(config.webhooks),
  });
}

export function startWebhookWorkerFromConfig(config: Config, db: Database, logger: Logger): WebhookWorker {
  return startWebhookWorker({ db, secretBox: secretBoxOf(config), logger, options: config.webhooks });
}
