// JSON schemas of the payment routes: they validate requests (unknown fields refused), shape responses
// (nothing undeclared leaves the server) and make the OpenAPI document.
import { LINE_ITEM_CATEGORIES, PAYMENT_STATUSES } from './model.ts';

/** Amounts in minor units: positive integers up to 2^53 - 1, exact in JSON. */
/** The line items of a payment as answered (shared by the payment and the checkout's view). */
export const LINE_ITEMS_JSON_SCHEMA = {
  type: 'array',
  items: {
    type: 'object',
    properties: {
      description: { type: 'string' },
      category: { type: 'string', enum: [...LINE_ITEM_CATEGORIES] },
      unit_amount: { type: 'integer' },
      quantity: { type: 'integer' },
    },
    required: ['description', 'category', 'unit_amount', 'quantity'],
  },
} as const;

export const AMOUNT_SCHEMA = { type: 'integer', minimum: 1, maximum: Number.MAX_SAFE_INTEGER } as const;
export const CURRENCY_SCHEMA = { type: 'string', pattern: '^[A-Z]{3}$', description: 'ISO 4217 code, upper case.' } as const;
export const METADATA_SCHEMA = {
  type: 'object',
  maxProperties: 20,
  propertyNames: { maxLength: 40 },
  additionalProperties: { type: 'string', maxLength: 500 },
} as const;
export const ID_PARAMS_SCHEMA = {
  type: 'object',
  properties: { id: { type: 'string', maxLength: 64 } },
  required: ['id'],
} as const;

export const PAYMENT_SCHEMA = {
  $id: 'Payment',
  type: 'object',
  properties: {
    id: { type: 'string' },
    object: { type: 'string', enum: ['payment'] },
    livemode: { type: 'boolean' },
    customer: { type: ['string', 'null'], description: 'Null until a buyer pays the payment at the checkout.' },
    amount: { type: 'integer' },
    currency: { type: 'string' },
    description: { type: ['string', 'null'] },
    line_items: LINE_ITEMS_JSON_SCHEMA,
    capture_method: { type: 'string', enum: ['automatic', 'manual'] },
    status: { type: 'string', enum: [...PAYMENT_STATUSES] },
    amount_captured: { type: 'integer' },
    amount_refunded: { type: 'integer' },
    points_redeemed: { type: 'integer', description: 'Loyalty points the buyer spent on this payment at the checkout (0: none).' },
    amount_paid_in_points: { type: 'integer', description: 'What those points were worth, minor units; the money moved (and `amount_captured`) is `amount` less this.' },
    application_fee_amount: { type: 'integer' },
    capture_before: { type: ['integer', 'null'], description: 'Unix seconds; a manual-capture hold is released after it.' },
    risk_decision: { type: ['string', 'null'] },
    last_payment_error: {
      anyOf: [
        { type: 'null' },
        { type: 'object', properties: { code: { type: 'string' }, message: { type: 'string' } }, required: ['code', 'message'] },
      ],
    },
    cancellation_reason: { type: ['string', 'null'] },
    metadata: { type: 'object', additionalProperties: { type: 'string' } },
    created: { type: 'integer', description: 'Unix seconds.' },
    client_secret: {
      type: 'string',
      description: 'Give it to the embeddable checkout (with your publishable key) so the buyer can pay this payment; never log it. Shown to secret-key callers only, never in events.',
    },
  },
  required: ['id', 'object', 'livemode', 'customer', 'amount', 'currency', 'line_items', 'capture_method', 'status', 'amount_captured', 'amount_refunded', 'points_redeemed', 'amount_paid_in_points', 'application_fee_amount', 'created'],
} as const;

export const CREATE_PAYMENT_BODY = {
  type: 'object',
  additionalProperties: false,
  properties: {
    customer: { type: 'string', maxLength: 64, description: 'Leave it out to let whichever buyer signs in at the checkout pay (docs/api/checkout.md).' },
    amount: AMOUNT_SCHEMA,
    currency: CURRENCY_SCHEMA,
    description: { type: 'string', maxLength: 500 },
    line_items: {
      type: 'array',
      maxItems: 100,
      items: {
        type: 'object',
        additionalProperties: false,
        properties: {
          description: { type: 'string', minLength: 1, maxLength: 200 },
          category: { type: 'string', enum: [...LINE_ITEM_CATEGORIES] },
          unit_amount: AMOUNT_SCHEMA,
          quantity: { type: 'integer', minimum: 1, maximum: 10_000 },
        },
        required: ['description', 'category', 'unit_amount'],
      },
    },
    capture_method: { type: 'string', enum: ['automatic', 'manual'] },
    confirm: { type: 'boolean', description: 'Confirm at once (one request instead of two).' },
    buyer_context: { $ref: 'BuyerContext#' },
    metadata: METADATA_SCHEMA,
  },
  required: ['amount', 'currency'],
} as const;

export const CAPTURE_BODY = {
  type: 'object',
  additionalProperties: false,
  properties: { amount_to_capture: AMOUNT_SCHEMA },
} as const;

export const CANCEL_BODY = {
  type: 'object',
  additionalProperties: false,
  properties: { cancellation_reason: { type: 'string', enum: ['requested_by_customer', 'duplicate', 'fraudulent', 'abandoned'] } },
} as const;

/** What the checkout knows of the buyer's device, network and place; the risk engine scores with it. */
export const BUYER_CONTEXT_SCHEMA = {
  $id: 'BuyerContext',
  type: 'object',
  additionalProperties: false,
  description: "The buyer's device, network and place as the checkout saw them (risk signals; never shown to merchants).",
  properties: {
    device_id: { type: 'string', minLength: 1, maxLength: 200 },
    ip_address: { type: 'string', minLength: 2, maxLength: 45, pattern: '^[0-9A-Fa-f:.]+$' },
    country: { type: 'string', pattern: '^[A-Z]{2}$' },
    latitude: { type: 'number', minimum: -90, maximum: 90 },
    longitude: { type: 'number', minimum: -180, maximum: 180 },
    phone_number: { type: 'string', pattern: '^\\+[1-9][0-9]{6,14}$' },
    user_agent: { type: 'string', maxLength: 500 },
  },
} as const;

export const CONFIRM_BODY = {
  type: 'object',
  additionalProperties: false,
  properties: { buyer_context: { $ref: 'BuyerContext#' } },
} as const;

export const EMPTY_BODY = { type: 'object', additionalProperties: false, properties: {} } as const;
