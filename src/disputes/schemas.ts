// JSON schemas of the dispute routes: they validate requests (unknown fields refused), shape responses
// (nothing undeclared leaves the server) and make the OpenAPI document.
import { AMOUNT_SCHEMA } from '../payments/schemas.ts';
import { DISPUTE_REASONS, DISPUTE_STATUSES, EVIDENCE_TEXT_LENGTH_MAX, EVIDENCE_URI_LENGTH_MAX, EVIDENCE_URIS_MAX } from './model.ts';

const EVIDENCE_SCHEMA = {
  type: 'object',
  properties: {
    text: { type: 'string' },
    uris: { type: 'array', items: { type: 'string' } },
  },
  required: ['text', 'uris'],
} as const;

export const DISPUTE_SCHEMA = {
  $id: 'Dispute',
  type: 'object',
  properties: {
    id: { type: 'string' },
    object: { type: 'string', enum: ['dispute'] },
    livemode: { type: 'boolean' },
    merchant: { type: 'string', description: 'The merchant the disputed payment was made to.' },
    payment: { type: 'string' },
    amount: { type: 'integer' },
    currency: { type: 'string' },
    reason: { type: 'string', enum: [...DISPUTE_REASONS] },
    description: { type: ['string', 'null'] },
    status: { type: 'string', enum: [...DISPUTE_STATUSES] },
    amount_held: { type: 'integer', description: "Held from the merchant's balance when the dispute opened." },
    amount_from_merchant: { type: 'integer', description: 'On a lost dispute: what the merchant paid to the buyer.' },
    amount_from_platform: { type: 'integer', description: "On a lost dispute: what the platform advanced because the merchant's balance was short." },
    evidence: { anyOf: [{ type: 'null' }, EVIDENCE_SCHEMA] },
    evidence_submitted_at: { type: ['integer', 'null'], description: 'Unix seconds.' },
    closed_at: { type: ['integer', 'null'], description: 'Unix seconds.' },
    created: { type: 'integer', description: 'Unix seconds.' },
  },
  required: ['id', 'object', 'livemode', 'merchant', 'payment', 'amount', 'currency', 'reason', 'status', 'amount_held', 'amount_from_merchant', 'amount_from_platform', 'created'],
} as const;

export const OPEN_DISPUTE_BODY = {
  type: 'object',
  additionalProperties: false,
  properties: {
    payment: { type: 'string', maxLength: 64 },
    amount: { ...AMOUNT_SCHEMA, description: 'Minor units; what was captured and not refunded when absent.' },
    reason: { type: 'string', enum: [...DISPUTE_REASONS] },
    description: { type: 'string', maxLength: 500 },
  },
  required: ['payment', 'reason'],
} as const;

export const EVIDENCE_BODY = {
  type: 'object',
  additionalProperties: false,
  properties: {
    text: { type: 'string', minLength: 1, maxLength: EVIDENCE_TEXT_LENGTH_MAX, description: "The merchant's account of the purchase." },
    uris: {
      type: 'array',
      maxItems: EVIDENCE_URIS_MAX,
      items: { type: 'string', pattern: '^https://', maxLength: EVIDENCE_URI_LENGTH_MAX },
      description: 'Links to receipts, logs or delivery records the operator can open.',
    },
  },
  required: ['text'],
} as const;

export const DECIDE_BODY = {
  type: 'object',
  additionalProperties: false,
  properties: { outcome: { type: 'string', enum: ['won', 'lost'], description: "The merchant's outcome." } },
  required: ['outcome'],
} as const;

export const LIST_DISPUTES_QUERY_PROPERTIES = {
  payment: { type: 'string', maxLength: 64 },
  status: { type: 'string', enum: [...DISPUTE_STATUSES] },
} as const;
