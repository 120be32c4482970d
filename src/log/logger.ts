// Structured logs (pino). Fields that may carry secrets are redacted wherever they appear.
import pino, { type Logger } from 'pino';

export type { Logger };

export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["micropay-buyer-session"]',
  '*.password',
  '*.secret',
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

/** `destination` is stdout unless given (tests capture the output to check what is logged). */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino({ level, redact: { paths: REDACTED_PATHS, censor: '[redacted]' } }, destination);
}
