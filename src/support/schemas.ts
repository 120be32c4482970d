// JSON schemas of the support routes: requests are validated (unknown fields refused, text bounded),
// responses are shaped (a buyer sees a refund or dispute without the merchant's fields).
import { DISPUTE_REASONS } from '../disputes/model.ts';
import { DISPUTE_SCHEMA } from '../disputes/schemas.ts';
import { AMOUNT_SCHEMA } from '../payments/schemas.ts';
import { REFUND_REASONS } from '../refunds/model.ts';
import { DESCRIPTION_LENGTH_MAX, REFUND_SCHEMA } from '../refunds/schemas.ts';
import { MESSAGE_LENGTH_MAX, SUBJECT_LENGTH_MAX, TICKET_STATUSES } from './model.ts';

const MESSAGE = { type: 'string', minLength: 1, maxLength: MESSAGE_LENGTH_MAX, pattern: '\\S' } as const;
const DESCRIPTION = { type: 'string', maxLength: DESCRIPTION_LENGTH_MAX } as const;

export const SUPPORT_MESSAGE_SCHEMA = {
  $id: 'SupportMessage',
  type: 'object',
  properties: {
    id: { type: 'string' },
    object: { type: 'string', enum: ['support_message'] },
    author: { type: 'string', enum: ['buyer', 'merchant'] },
    body: { type: 'string' },
    created: { type: 'integer', description: 'Unix seconds.' },
  },
  required: ['id', 'object', 'author', 'body', 'created'],
} as const;

export const SUPPORT_TICKET_SCHEMA = {
  $id: 'SupportTicket',
  type: 'object',
  properties: {
    id: { type: 'string' },
    object: { type: 'string', enum: ['support_ticket'] },
    livemode: { type: 'boolean' },
    merchant: { type: 'string', description: "The purchase's merchant, which answers the ticket (a buyer's list through the wallet key spans every merchant)." },
    payment: { type: 'string' },
    subject: { type: 'string' },
    status: { type: 'string', enum: [...TICKET_STATUSES], description: 'open: waiting for the merchant; answered: waiting for the buyer; closed.' },
    message_count: { type: 'integer' },
    created: { type: 'integer', description: 'Unix seconds.' },
    updated: { type: 'integer', description: 'Unix seconds of the last message or change.' },
    closed_at: { type: ['integer', 'null'], description: 'Unix seconds.' },
    messages: { type: 'array', items: { $ref: 'SupportMessage#' }, description: 'The thread, oldest first (one ticket, not in lists).' },
  },
  required: ['id', 'object', 'livemode', 'merchant', 'payment', 'subject', 'status', 'message_count', 'created', 'updated', 'closed_at'],
} as const;

/** The buyer's view of a merchant-side object schema: the listed fields only, in the same shapes. */
function buyerView<S extends { properties: Record<string, unknown>; required: readonly string[] }>(schema: S, id: string, fields: readonly (keyof S['properties'] & string)[]) {
  return {
    $id: id,
    type: 'object',
    properties: Object.fromEntries(fields.map((field) => [field, schema.properties[field]])),
    required: schema.required.filter((field) => (fields as readonly string[]).includes(field)),
  } as const;
}

/** A refund as its buyer sees it (the merchant's metadata, fees and risk decision left out). */
export const BUYER_REFUND_SCHEMA = buyerView(REFUND_SCHEMA, 'BuyerRefund', [
  'id', 'object', 'livemode', 'payment', 'amount', 'currency', 'reason', 'description', 'status', 'automatic', 'pending_reason', 'failure_reason', 'created',
]);

/** A dispute as its buyer sees it (the merchant's evidence and the split of the money left out). */
export const BUYER_DISPUTE_SCHEMA = buyerView(DISPUTE_SCHEMA, 'BuyerDispute', [
  'id', 'object', 'livemode', 'payment', 'amount', 'currency', 'reason', 'description', 'status', 'created',
]);

export const BUYER_REFUND_REQUEST_BODY = {
  type: 'object',
  additionalProperties: false,
  properties: {
    amount: { ...AMOUNT_SCHEMA, description: 'Minor units; what remains refundable when absent.' },
    reason: { type: 'string', enum: [...REFUND_REASONS], description: 'requested_by_customer when absent.' },
    description: DESCRIPTION,
  },
} as const;

export const BUYER_DISPUTE_BODY = {
  type: 'object',
  additionalProperties: false,
  properties: {
    amount: { ...AMOUNT_SCHEMA, description: 'Minor units; what was captured and not refunded when absent.' },
    reason: { type: 'string', enum: [...DISPUTE_REASONS] },
    description: DESCRIPTION,
  },
  required: ['reason'],
} as const;

export const OPEN_TICKET_BODY = {
  type: 'object',
  additionalProperties: false,
  properties: {
    payment: { type: 'string', maxLength: 64 },
    subject: { type: 'string', minLength: 1, maxLength: SUBJECT_LENGTH_MAX, pattern: '\\S' },
    message: MESSAGE,
  },
  required: ['payment', 'subject', 'message'],
} as const;

export const MESSAGE_BODY = {
  type: 'object',
  additionalProperties: false,
  properties: { message: MESSAGE },
  required: ['message'],
} as const;

export const LIST_TICKETS_QUERY_PROPERTIES = {
  status: { type: 'string', enum: [...TICKET_STATUSES] },
} as const;
