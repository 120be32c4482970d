// JSON schemas of the top-up and payment-method routes: they validate requests (unknown fields
// refused), shape responses (nothing undeclared leaves the server, which also keeps card data in) and
// make the OpenAPI document.
import { AMOUNT_SCHEMA, CURRENCY_SCHEMA, METADATA_SCHEMA } from '../payments/schemas.ts';
import { CARD_BRANDS } from '../vault/card.ts';
import { TOP_UP_STATUSES } from './model.ts';

export const CARD_INPUT_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  description: 'Card data, accepted only to be tokenised: never stored in clear, logged or returned.',
  properties: {
    number: { type: 'string', minLength: 1, maxLength: 32, description: 'The card number; spaces and dashes are ignored.' },
    exp_month: { type: 'integer', minimum: 1, maximum: 12 },
    exp_year: { type: 'integer', minimum: 0, maximum: 2199, description: 'Four digits, or two (20YY).' },
    cvc: { type: 'string', minLength: 1, maxLength: 4, description: 'Checked and sent to the processor with this request only; never stored.' },
  },
  required: ['number', 'exp_month', 'exp_year'],
} as const;

export const PAYMENT_METHOD_SCHEMA = {
  $id: 'PaymentMethod',
  type: 'object',
  properties: {
    id: { type: 'string', description: 'The vault token (`card_...`).' },
    object: { type: 'string', enum: ['payment_method'] },
    type: { type: 'string', enum: ['card'] },
    livemode: { type: 'boolean' },
    customer: { type: 'string' },
    card: {
      type: 'object',
      properties: {
        brand: { type: 'string', enum: [...CARD_BRANDS] },
        last4: { type: 'string' },
        exp_month: { type: 'integer' },
        exp_year: { type: 'integer' },
        fingerprint: { type: 'string', description: 'Equal for the same card number at this merchant; a keyed digest, not reversible.' },
      },
      required: ['brand', 'last4', 'exp_month', 'exp_year', 'fingerprint'],
    },
    created: { type: 'integer', description: 'Unix seconds.' },
  },
  required: ['id', 'object', 'type', 'livemode', 'customer', 'card', 'created'],
} as const;

export const TOP_UP_SCHEMA = {
  $id: 'TopUp',
  type: 'object',
  properties: {
    id: { type: 'string' },
    object: { type: 'string', enum: ['top_up'] },
    livemode: { type: 'boolean' },
    customer: { type: 'string' },
    amount: { type: 'integer' },
    currency: { type: 'string' },
    status: { type: 'string', enum: [...TOP_UP_STATUSES] },
    payment_method: { type: 'string' },
    next_action: {
      anyOf: [
        { type: 'null' },
        {
          type: 'object',
          properties: { type: { type: 'string', enum: ['three_d_secure'] }, url: { type: 'string', description: 'Send the buyer here to complete the challenge.' } },
          required: ['type', 'url'],
        },
      ],
    },
    failure_code: { type: ['string', 'null'] },
    failure_message: { type: ['string', 'null'] },
    risk_decision: { type: ['string', 'null'] },
    metadata: { type: 'object', additionalProperties: { type: 'string' } },
    created: { type: 'integer', description: 'Unix seconds.' },
  },
  required: ['id', 'object', 'livemode', 'customer', 'amount', 'currency', 'status', 'payment_method', 'next_action', 'failure_code', 'failure_message', 'created'],
} as const;

export const CREATE_PAYMENT_METHOD_BODY = {
  type: 'object',
  additionalProperties: false,
  properties: {
    customer: { type: 'string', maxLength: 64 },
    card: CARD_INPUT_SCHEMA,
  },
  required: ['customer', 'card'],
} as const;

export const CREATE_TOP_UP_BODY = {
  type: 'object',
  additionalProperties: false,
  description: 'Give either `payment_method` (a saved card) or `card` (tokenised on the way).',
  properties: {
    customer: { type: 'string', maxLength: 64 },
    amount: AMOUNT_SCHEMA,
    currency: CURRENCY_SCHEMA,
    payment_method: { type: 'string', maxLength: 64 },
    card: CARD_INPUT_SCHEMA,
    metadata: METADATA_SCHEMA,
  },
  required: ['customer', 'amount', 'currency'],
} as const;
