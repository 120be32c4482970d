// Structured logs (pino). Fields that may carry secrets are redacted wherever they appear.
import pino, { type Logger } from 'pino';

export type { Logger };

export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["micropay-buyer-session"]',
  '*.password',
  '*.secret',
  '*.client_secret',
  '*.cardNumber',
  '*.card_number',
  '*.pan',
  '*.cvc',
  // Card data as the top-up and payment-method routes receive it, at any of the depths it could be logged.
  'card.number',
  'card.cvc',
  '*.card.number',
  '*.card.cvc',
  '*.*.card.number',
  '*.*.card.cvc',
];

/** Query parameters whose values are secrets (the checkout sends a payment's client secret in the URL). */
const SECRET_QUERY_PARAMETERS = /([?&]client_secret=)[^&#]*/g;
/** Path segments that are capabilities: whoever holds a receipt URL (`/receipts/rct_...[.json|.pdf]`,
 * docs/api/receipts.md) reads the receipt. The whole segment goes, whatever it starts with (the route
 * decodes it, so `%72ct_...` is the same token); the extension stays. */
const CAPABILITY_PATH_SEGMENTS = /(\/receipts\/)[^/?#.]+/g;

/** A URL as it may be logged: without secret query parameter values and capability path segments. */
export function loggableUrl(url: string): string {
  return url.replace(SECRET_QUERY_PARAMETERS, '$1[redacted]').replace(CAPABILITY_PATH_SEGMENTS, '$1[redacted]');
}

/** A request as Fastify logs it, with the secrets of its URL left out (`loggableUrl`). */
function requestSerializer(request: { method?: string; url?: string; host?: string; ip?: string; socket?: { remotePort?: number } }) {
  return {
    method: request.method,
    url: typeof request.url === 'string' ? loggableUrl(request.url) : request.url,
    host: request.host,
    remoteAddress: request.ip,
    remotePort: request.socket?.remotePort,
  };
}

/** `destination` is stdout unless given (tests capture the output to check what is logged). */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino({ level, redact: { paths: REDACTED_PATHS, censor: '[redacted]' }, serializers: { req: requestSerializer } }, destination);
}
