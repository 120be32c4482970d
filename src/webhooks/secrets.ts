// Signing secrets: generated in the Standard Webhooks format, stored sealed (they must be usable to
// sign, so a digest would not do), and used to sign every delivery.
import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';

/** 24 random bytes (192 bits), as Standard Webhooks recommends (24 to 64). */
const SECRET_BYTES = 24;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const SEALED_VERSION = 'v1';

/** `whsec_` and the base64 of fresh random bytes, the format `new Webhook(secret)` reads. */
export function generateSecret(): string {
  return `whsec_${randomBytes(SECRET_BYTES).toString('base64')}`;
}

export interface SecretBox {
  /** Seals `secret` for the endpoint `endpointId`; the result opens only with the same id. */
  seal(secret: string, endpointId: string): string;
  open(sealed: string, endpointId: string): string;
}

/** AES-256-GCM with a fresh IV per seal; the endpoint id is the additional data, so a sealed secret
 * copied onto another endpoint's row does not open. */
export function createSecretBox(key: Buffer): SecretBox {
  if (key.length !== 32) throw new Error('the webhook secret encryption key must be 32 bytes');
  return {
    seal(secret, endpointId) {
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      cipher.setAAD(Buffer.from(endpointId, 'utf8'));
      const sealed = Buffer.concat([cipher.update(secret, 'utf8'), cipher.final()]);
      return `${SEALED_VERSION}.${Buffer.concat([iv, cipher.getAuthTag(), sealed]).toString('base64url')}`;
    },
    open(sealed, endpointId) {
      const [version, body] = sealed.split('.');
      if (version !== SEALED_VERSION || !body) throw new Error('unknown sealed secret format');
      const bytes = Buffer.from(body, 'base64url');
      const decipher = createDecipheriv('aes-256-gcm', key, bytes.subarray(0, IV_BYTES));
      decipher.setAAD(Buffer.from(endpointId, 'utf8'));
      decipher.setAuthTag(bytes.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
      return Buffer.concat([decipher.update(bytes.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]).toString('utf8');
    },
  };
}

export interface SignedHeaders {
  'webhook-id': string;
  'webhook-timestamp': string;
  'webhook-signature': string;
}

/** The Standard Webhooks headers of one attempt: one `v1,<signature>` per secret, space-separated, so
 * that during a rotation a receiver holding either secret verifies the message. */
export function signedHeaders(secrets: string[], messageId: string, timestamp: Date, payload: string): SignedHeaders {
  if (secrets.length === 0) throw new Error('a delivery needs at least one secret to sign with');
  return {
    'webhook-id': messageId,
    'webhook-timestamp': String(Math.floor(timestamp.getTime() / 1000)),
    'webhook-signature': secrets.map((secret) => new Webhook(secret).sign(messageId, timestamp, payload)).join(' '),
  };
}

/** Seeds the development key: a known value, so development data needs no setup and holds no secret. */
const DEVELOPMENT_KEY_SEED = 'micropay development webhook secret key: not secret, never for production';

/** The key that seals endpoint secrets: WEBHOOK_SECRET_ENCRYPTION_KEY if set, else derived from the
 * vault's master key (HKDF, its own purpose label), else in development a fixed development key. */
export function webhookSecretKey(options: { explicit: Buffer | undefined; vaultMasterKey: Buffer | undefined; production: boolean }): Buffer {
  if (options.explicit) return options.explicit;
  if (options.vaultMasterKey) return Buffer.from(hkdfSync('sha256', options.vaultMasterKey, Buffer.alloc(0), 'micropay/webhook-secrets/v1', 32));
  if (options.production) throw new Error('production mode needs WEBHOOK_SECRET_ENCRYPTION_KEY or VAULT_MASTER_KEY');
  return createHash('sha256').update(DEVELOPMENT_KEY_SEED).digest();
}
