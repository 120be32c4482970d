// Verifying a webhook delivery: Micropay signs each one with Standard Webhooks headers
// (`webhook-id`, `webhook-timestamp`, `webhook-signature`), and this checks the signature and the
// timestamp (within five minutes) with the `standardwebhooks` package before anything trusts the body.
import { Webhook } from 'standardwebhooks';
import { MicropayError } from './errors.ts';

/** An event as delivered: what happened (`type`, e.g. `payment.succeeded`) to which object. */
export interface WebhookEvent<Data = Record<string, unknown>> {
  id: string;
  object: 'event';
  type: string;
  livemode: boolean;
  /** Unix seconds. */
  created: number;
  /** The object as the API shows it after the change (a payment, a refund, ...). */
  data: { object: Data };
}

/** Headers as Node's `IncomingHttpHeaders`, a fetch `Headers`, or a plain object. */
export type WebhookHeaders = Headers | Record<string, string | string[] | undefined>;

const SIGNED_HEADERS = ['webhook-id', 'webhook-timestamp', 'webhook-signature'] as const;

function signedHeaders(headers: WebhookHeaders): Record<string, string> {
  const read = (name: string): string | undefined => {
    if (headers instanceof Headers) return headers.get(name) ?? undefined;
    const found = Object.entries(headers).find(([key]) => key.toLowerCase() === name)?.[1];
    return Array.isArray(found) ? found.join(' ') : found;
  };
  const picked: Record<string, string> = {};
  for (const name of SIGNED_HEADERS) {
    const value = read(name);
    if (value === undefined) throw invalid(`The ${name} header is missing.`);
    picked[name] = value;
  }
  return picked;
}

function invalid(message: string, cause?: unknown): MicropayError {
  return new MicropayError({ type: 'webhook_verification_error', code: 'webhook_signature_invalid', message, status: null, cause });
}

export const webhooks = {
  /**
   * Checks a delivery and returns its event. `payload` is the raw body exactly as received (not
   * re-serialised JSON). `secret` is the endpoint's `whsec_...` secret; during a secret rotation pass
   * both, old and new, and a delivery signed by either is accepted.
   * Throws MicropayError `webhook_signature_invalid` when the signature or timestamp does not check out.
   */
  verify<Data = Record<string, unknown>>(payload: string | Buffer, headers: WebhookHeaders, secret: string | readonly string[]): WebhookEvent<Data> {
    const picked = signedHeaders(headers);
    const secrets = typeof secret === 'string' ? [secret] : secret;
    if (secrets.length === 0) throw invalid('No webhook secret was given.');
    let lastError: unknown;
    for (const candidate of secrets) {
      try {
        return new Webhook(candidate).verify(payload, picked) as WebhookEvent<Data>;
      } catch (error) {
        lastError = error;
      }
    }
    throw invalid(`The webhook could not be verified: ${lastError instanceof Error ? lastError.message : String(lastError)}.`, lastError);
  },
};
