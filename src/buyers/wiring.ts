// How the composition root builds buyer identity from the configuration: the message gateway
// (MESSAGE_GATEWAY) and the key of code digests, derived from the vault's master key.
import { hkdfSync } from 'node:crypto';
import type { Config } from '../config/config.ts';
import { createNoMessageGateway, createSandboxMessageGateway, type MessageGateway, type MessageOutbox } from '../messages/gateway.ts';
import type { Database } from '../store/database.ts';
import type { Keyring } from '../vault/crypto.ts';
import { createBuyerIdentityService, type BuyerIdentityService } from './service.ts';

export interface BuyerIdentityWiring {
  buyerIdentity: BuyerIdentityService;
  messages: MessageGateway;
  /** The sandbox's outbox (shown at /sandbox/outbox); null with a real gateway or none. */
  outbox: MessageOutbox | null;
}

export function createBuyerIdentityFromConfig(config: Config, { db, keyring }: { db: Database; keyring: Keyring }): BuyerIdentityWiring {
  const sandbox = config.messages.gateway === 'sandbox' ? createSandboxMessageGateway({ db }) : null;
  const messages = sandbox ?? createNoMessageGateway();
  const masterKey = keyring.keyOf(keyring.currentVersion)!;
  const digestKey = Buffer.from(hkdfSync('sha256', masterKey, 'micropay-buyers', 'buyer-code-digest-v1', 32));
  return {
    buyerIdentity: createBuyerIdentityService({ db, messages, settings: config.buyers, digestKey }),
    messages,
    outbox: sandbox,
  };
}
