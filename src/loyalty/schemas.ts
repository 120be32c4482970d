// JSON schemas of the loyalty routes: requests are validated (unknown fields refused, numbers bounded),
// responses are shaped.
import { LINE_ITEM_CATEGORIES } from '../payments/model.ts';

export const EXPIRY_DAYS_MAX = 3650;
export const MULTIPLIER_MAX = 100;

const MULTIPLIER = { type: 'number', minimum: 0, maximum: MULTIPLIER_MAX, description: 'Points multiplier for this category, up to two decimals (1 = normal rate).' } as const;

export const PUT_PROGRAM_BODY = {
  type: 'object',
  additionalProperties: false,
  required: ['earn'],
  properties: {
    earn: {
      type: 'object',
      additionalProperties: false,
      required: ['per_amount', 'currency', 'points'],
      properties: {
        per_amount: { type: 'integer', minimum: 1, maximum: 1_000_000_000_000, description: 'Minor units of `currency` that earn `points`.' },
        currency: { type: 'string', pattern: '^[A-Z][A-Z0-9_]{1,15}$' },
        points: { type: 'integer', minimum: 1, maximum: 1_000_000_000 },
      },
    },
    bonus_categories: {
      type: 'object',
      additionalProperties: false,
      properties: Object.fromEntries(LINE_ITEM_CATEGORIES.map((category) => [category, MULTIPLIER])),
    },
    expiry_days: { type: ['integer', 'null'], minimum: 1, maximum: EXPIRY_DAYS_MAX, description: 'Points expire this many days after they were earned; null: never.' },
    enabled: { type: 'boolean', description: 'Default true.' },
  },
} as const;

export const LOYALTY_PROGRAM_SCHEMA = {
  $id: 'LoyaltyProgram',
  type: 'object',
  properties: {
    object: { type: 'string', enum: ['loyalty_program'] },
    livemode: { type: 'boolean' },
    earn: {
      type: 'object',
      properties: { per_amount: { type: 'integer' }, currency: { type: 'string' }, points: { type: 'integer' } },
      required: ['per_amount', 'currency', 'points'],
    },
    bonus_categories: { type: 'object', additionalProperties: { type: 'number' } },
    expiry_days: { type: ['integer', 'null'] },
    enabled: { type: 'boolean' },
    version: { type: 'integer', description: 'Grows by one with every PUT.' },
    updated: { type: 'integer', description: 'Unix seconds.' },
  },
  required: ['object', 'livemode', 'earn', 'bonus_categories', 'expiry_days', 'enabled', 'version', 'updated'],
} as const;

export const POINTS_BALANCE_SCHEMA = {
  $id: 'PointsBalance',
  type: 'object',
  properties: {
    object: { type: 'string', enum: ['points_balance'] },
    asset: { type: 'string', enum: ['PTS'] },
    balance: { type: 'integer', description: 'Points held now.' },
    upcoming_expiries: {
      type: 'array',
      description: 'The next lots to expire, soonest first (at most 10), with what remains of each (spent points count against the oldest first).',
      items: { type: 'object', properties: { points: { type: 'integer' }, expires_at: { type: 'integer', description: 'Unix seconds.' } }, required: ['points', 'expires_at'] },
    },
  },
  required: ['object', 'asset', 'balance', 'upcoming_expiries'],
} as const;

export const CUSTOMER_PARAMS_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['customer'],
  properties: { customer: { type: 'string', minLength: 1, maxLength: 100 } },
} as const;
