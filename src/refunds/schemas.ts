// JSON schemas of the refund routes: they validate requests (unknown fields refused), shape responses
// (nothing undeclared leaves the server) and make the OpenAPI document.
import { AMOUNT_SCHEMA, METADATA_SCHEMA } from '../payments/schemas.ts';
import { FAILURE_REASONS, PENDING_REASONS, REFUND_REASONS, REFUND_STATUSES } from './model.ts';

export const DESCRIPTION_LENGTH_MAX = 500;

export const REFUND_SCHEMA = {
  $id: 'Refund',
  type: 'object',
  properties: {
    id: { type: 'string' },
    object: { type: 'string', enum: ['refund'] },
    livemode: { type: 'boolean' },
    payment: { type: 'string' },
    amount: { type: 'integer' },
    currency: { type: 'string' },
    fee_reversed: { type: 'integer', description: 'The part of the platform fee given back to the merchant with this refund.' },
    reason: { type: 'string', enum: [...REFUND_REASONS] },
    description: { type: ['string', 'null'] },
    status: { type: 'string', enum: [...REFUND_STATUSES] },
    initiated_by: { type: 'string', enum: ['merchant', 'buyer'] },
    automatic: { type: 'boolean', description: 'Completed by the automatic policy, without a human.' },
    pending_reason: { anyOf: [{ type: 'null' }, { type: 'string', enum: [...PENDING_REASONS] }] },
    failure_reason: { anyOf: [{ type: 'null' }, { type: 'string', enum: [...FAILURE_REASONS] }] },
    cancellation_reason: { type: ['string', 'null'] },
    risk_decision: { type: ['string', 'null'] },
    metadata: { type: 'object', additionalProperties: { type: 'string' } },
    created: { type: 'integer', description: 'Unix seconds.' },
  },
  required: ['id', 'object', 'livemode', 'payment', 'amount', 'currency', 'fee_reversed', 'reason', 'status', 'initiated_by', 'automatic', 'created'],
} as const;

const PAYMENT_ID = { type: 'string', maxLength: 64 } as const;
const DESCRIPTION = { type: 'string', maxLength: DESCRIPTION_LENGTH_MAX } as const;

export const CREATE_REFUND_BODY = {
  type: 'object',
  additionalProperties: false,
  properties: {
    payment: PAYMENT_ID,
    amount: { ...AMOUNT_SCHEMA, description: 'Minor units; what remains refundable when absent.' },
    reason: { type: 'string', enum: [...REFUND_REASONS] },
    description: DESCRIPTION,
    metadata: METADATA_SCHEMA,
  },
  required: ['payment'],
} as const;

export const REFUND_REQUEST_BODY = {
  type: 'object',
  additionalProperties: false,
  properties: {
    payment: PAYMENT_ID,
    amount: { ...AMOUNT_SCHEMA, description: 'Minor units; what remains refundable when absent.' },
    reason: { type: 'string', enum: [...REFUND_REASONS] },
    description: DESCRIPTION,
  },
  required: ['payment', 'reason'],
} as const;

export const DECLINE_BODY = {
  type: 'object',
  additionalProperties: false,
  properties: { cancellation_reason: { type: 'string', minLength: 1, maxLength: DESCRIPTION_LENGTH_MAX } },
} as const;

export const LIST_REFUNDS_QUERY_PROPERTIES = {
  payment: PAYMENT_ID,
  status: { type: 'string', enum: [...REFUND_STATUSES] },
} as const;
