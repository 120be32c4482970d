// JSON schemas of the loyalty routes: requests are validated (unknown fields refused, numbers bounded),
// responses are shaped.
import { LINE_ITEM_CATEGORIES } from '../payments/model.ts';
import { LIST_QUERY_PROPERTIES } from '../api/http.ts';
import { BADGE_CODES } from './badges.ts';

export const EXPIRY_DAYS_MAX = 3650;
export const HOLD_DAYS_MAX = 90;
/** Points pay at most this share of a payment unless the program says otherwise; never more than 90 %,
 * so that money always pays part of it (a refund returns money, and points in proportion). */
export const DEFAULT_MAX_SHARE_PERCENT = 50;
export const MAX_SHARE_PERCENT_MAX = 90;

const REDEMPTION_PROPERTIES = {
  value_minor_per_point: {
    type: 'object',
    minProperties: 1,
    maxProperties: 32,
    propertyNames: { pattern: '^[A-Z][A-Z0-9_]{1,15}$' },
    additionalProperties: { type: 'integer', minimum: 1, maximum: 1_000_000 },
    description: 'Currency -> what one point is worth, in minor units of that currency (e.g. `{"EUR": 1}`: a point is one cent). Payments in other currencies cannot use points.',
  },
  minimum_points: { type: 'integer', minimum: 1, maximum: 1_000_000_000, description: 'The fewest points a payment may use (default 1).' },
  max_share_percent: { type: 'integer', minimum: 1, maximum: MAX_SHARE_PERCENT_MAX, description: `The largest share of a payment points may pay, in percent (default ${DEFAULT_MAX_SHARE_PERCENT}).` },
} as const;
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
    hold_days: { type: 'integer', minimum: 0, maximum: HOLD_DAYS_MAX, description: 'Earned points count in the balance at once but can be spent only this many days later (default 0), so that a refund in that window takes them back whole.' },
    redemption: {
      anyOf: [{ type: 'null' }, { type: 'object', additionalProperties: false, required: ['value_minor_per_point'], properties: REDEMPTION_PROPERTIES }],
      description: 'How points pay part of a purchase at the checkout; null or absent: they cannot be spent.',
    },
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
    hold_days: { type: 'integer' },
    redemption: {
      anyOf: [
        { type: 'null' },
        {
          type: 'object',
          properties: { value_minor_per_point: { type: 'object', additionalProperties: { type: 'integer' } }, minimum_points: { type: 'integer' }, max_share_percent: { type: 'integer' } },
          required: ['value_minor_per_point', 'minimum_points', 'max_share_percent'],
        },
      ],
    },
    enabled: { type: 'boolean' },
    version: { type: 'integer', description: 'Grows by one with every PUT.' },
    updated: { type: 'integer', description: 'Unix seconds.' },
  },
  required: ['object', 'livemode', 'earn', 'bonus_categories', 'expiry_days', 'hold_days', 'redemption', 'enabled', 'version', 'updated'],
} as const;

export const POINTS_BALANCE_SCHEMA = {
  $id: 'PointsBalance',
  type: 'object',
  properties: {
    object: { type: 'string', enum: ['points_balance'] },
    asset: { type: 'string', enum: ['PTS'] },
    balance: { type: 'integer', description: 'Points held now.' },
    spendable: { type: 'integer', description: 'Points that can pay now: the balance less points still in their hold and any claw-back shortfall owed.' },
    held: { type: 'integer', description: 'Points earned whose hold (the program\'s `hold_days`) has not ended.' },
    upcoming_expiries: {
      type: 'array',
      description: 'The next lots to expire, soonest first (at most 10), with what remains of each (spent points count against the oldest first).',
      items: { type: 'object', properties: { points: { type: 'integer' }, expires_at: { type: 'integer', description: 'Unix seconds.' } }, required: ['points', 'expires_at'] },
    },
  },
  required: ['object', 'asset', 'balance', 'spendable', 'held', 'upcoming_expiries'],
} as const;

export const CUSTOMER_PARAMS_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['customer'],
  properties: { customer: { type: 'string', minLength: 1, maxLength: 100 } },
} as const;

export const BADGE_SCHEMA = {
  $id: 'Badge',
  type: 'object',
  properties: {
    id: { type: 'string', description: '`bdg_...`, the same for the same buyer, merchant, mode and code.' },
    object: { type: 'string', enum: ['badge'] },
    livemode: { type: 'boolean' },
    code: { type: 'string', enum: [...BADGE_CODES] },
    name: { type: 'string' },
    description: { type: 'string' },
    merchant: {
      anyOf: [{ type: 'null' }, { type: 'object', properties: { id: { type: 'string' }, name: { type: 'string' } }, required: ['id', 'name'] }],
      description: 'The merchant the badge was earned at (every badge is per merchant; null is reserved for platform-wide badges).',
    },
    customer: { type: ['string', 'null'], description: "The merchant's customer (merchant view); null in the buyer's own view." },
    payment: { type: 'string', description: 'The payment that earned it.' },
    earned_at: { type: 'integer', description: 'Unix seconds.' },
    revoked_at: { type: ['integer', 'null'], description: 'Unix seconds: the qualifying payment was refunded in full or lost in a dispute. The badge is kept, marked.' },
  },
  required: ['id', 'object', 'livemode', 'code', 'name', 'description', 'merchant', 'customer', 'payment', 'earned_at', 'revoked_at'],
} as const;

export const BADGES_QUERY = {
  type: 'object',
  additionalProperties: false,
  required: ['customer'],
  properties: { customer: { type: 'string', minLength: 1, maxLength: 100 }, limit: LIST_QUERY_PROPERTIES.limit },
} as const;

export const BUYER_BADGES_QUERY = {
  type: 'object',
  additionalProperties: false,
  properties: { limit: LIST_QUERY_PROPERTIES.limit },
} as const;
