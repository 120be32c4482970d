// How the composition root builds buyer identity from the configuration: the message gateway
// (MESSAGE_GATEWAY) and the key of code digests, derived from the vault's root key.
import { hkdfSync } from 'node:crypto';
import type { Config } from '../config/config.ts';
import {
  combineMessageGateways,
  createNoMessageGateway,
  createSandboxMessageGateway,
  createSmsMessageGateway,
  createSmtpMessageGateway,
  type MessageGateway,
  type MessageOutbox,
} from '../messages/gateway.ts';
import type { Database } from '../store/database.ts';
import type { Keyring } from '../vault/crypto.ts';
import { createBuyerIdentityService, type BuyerIdentityService } from './service.ts';

export interface BuyerIdentityWiring {
  buyerIdentity: BuyerIdentityService;
  messages: MessageGateway;
  /** The sandbox's outbox (shown at /sandbox/outbox); null with a real gateway or none. */
  outbox: MessageOutbox | null;
}

export function createBuyerIdentityFromConfig(
  config: Config,
  { db, keyring, onSignInCodeNotSent, onNoticeNotSent }: {
    db: Database;
    keyring: Keyring;
    onSignInCodeNotSent?: (error: unknown) => void;
    /** Hears of a notice to a buyer (a passkey added) the gateway did not take. */
    onNoticeNotSent?: (error: unknown) => void;
  },
): BuyerIdentityWiring {
  const sandbox = config.messages.gateway === 'sandbox' ? createSandboxMessageGateway({ db }) : null;
  const messages = sandbox ?? (config.messages.gateway === 'external' ? externalGateway(config.messages) : createNoMessageGateway());
  const digestKey = Buffer.from(hkdfSync('sha256', keyring.root, 'micropay-buyers', 'buyer-code-digest-v1', 32));
  return {
    buyerIdentity: createBuyerIdentityService({
      db,
      messages,
      settings: config.buyers,
      digestKey,
      // A remote relay's time and refusals would tell who has an account: its sign-in codes go after the answer.
      ...(config.messages.gateway === 'external' ? { signInCodesAfterAnswer: { onSignInCodeNotSent: onSignInCodeNotSent ?? (() => undefined) } } : {}),
      ...(onNoticeNotSent ? { onNoticeNotSent } : {}),
    }),
    messages,
    outbox: sandbox,
  };
}

/** Email through SMTP_URL and texts through SMS_URL, whichever are configured. */
function externalGateway(settings: Config['messages']): MessageGateway {
  const gateways: MessageGateway[] = [];
  if (settings.smtpUrl) gateways.push(createSmtpMessageGateway({ url: settings.smtpUrl, from: settings.from }));
  if (settings.smsUrl) gateways.push(createSmsMessageGateway({ url: settings.smsUrl, from: settings.smsFrom! }));
  return combineMessageGateways(gateways);
}
