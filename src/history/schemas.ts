// Request and response schemas of /v1/buyer/history (and so its OpenAPI document).
import { LIST_QUERY_PROPERTIES } from '../api/http.ts';
import { LINE_ITEM_CATEGORIES } from '../payments/model.ts';
import { HISTORY_ENTRY_TYPES, HISTORY_STATUSES } from './model.ts';

const UNIX_SECONDS = { type: 'string', pattern: '^[0-9]{1,11}$', description: 'Unix seconds, inclusive.' } as const;

/** No NUL character: PostgreSQL cannot store or compare one in text, so it is refused here as a 400 rather
 * than by the database (which, in the CSV export, would fail after the header row was sent). */
const NO_NUL = '^[^\\x00]*$';

/** The filters both the list and the export take. Bracketed names are literal query keys (`created[gte]=...`). */
export const HISTORY_FILTER_PROPERTIES = {
  merchant: { type: 'string', maxLength: 64, pattern: NO_NUL, description: 'Only entries of this merchant (its id).' },
  category: { type: 'string', enum: [...LINE_ITEM_CATEGORIES], description: 'Only entries with a line item of this category (top-ups have none).' },
  status: { type: 'string', enum: HISTORY_STATUSES },
  type: { type: 'string', enum: [...HISTORY_ENTRY_TYPES] },
  'created[gte]': UNIX_SECONDS,
  'created[lte]': UNIX_SECONDS,
  q: { type: 'string', minLength: 1, maxLength: 100, pattern: NO_NUL, description: "Case-insensitive search in the description, the line items' descriptions and the merchant's name." },
} as const;

export const HISTORY_LIST_QUERY = {
  type: 'object',
  additionalProperties: false,
  properties: { ...LIST_QUERY_PROPERTIES, ...HISTORY_FILTER_PROPERTIES },
} as const;

export const HISTORY_EXPORT_QUERY = {
  type: 'object',
  additionalProperties: false,
  properties: HISTORY_FILTER_PROPERTIES,
} as const;

export const HISTORY_ENTRY_SCHEMA = {
  $id: 'HistoryEntry',
  type: 'object',
  properties: {
    id: { type: 'string' },
    object: { type: 'string', enum: ['history_entry'] },
    type: { type: 'string', enum: [...HISTORY_ENTRY_TYPES] },
    merchant: {
      anyOf: [
        { type: 'null' },
        { type: 'object', properties: { id: { type: 'string' }, name: { type: 'string' } }, required: ['id', 'name'] },
      ],
    },
    description: { type: ['string', 'null'] },
    amount: { type: 'integer', description: 'Minor units of `currency`.' },
    currency: { type: 'string' },
    status: { type: 'string', enum: HISTORY_STATUSES },
    categories: { type: 'array', items: { type: 'string', enum: [...LINE_ITEM_CATEGORIES] } },
    created: { type: 'integer', description: 'Unix seconds.' },
    refunded_amount: { type: 'integer', description: 'What was refunded of a payment, minor units; 0 for top-ups and refunds.' },
  },
  required: ['id', 'object', 'type', 'merchant', 'description', 'amount', 'currency', 'status', 'categories', 'created', 'refunded_amount'],
} as const;
