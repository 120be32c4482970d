// JSON schemas of the webhook routes: they validate requests (unknown fields refused), shape responses
// (a secret leaves the server only where declared) and make the OpenAPI document.
import { EVENT_SELECTOR_PATTERN } from '../events/model.ts';
import { ROTATION_OVERLAP_SECONDS_MAX } from './model.ts';
import { URL_LENGTH_MAX } from './targets.ts';

const ENABLED_EVENTS_SCHEMA = {
  type: 'array',
  minItems: 1,
  maxItems: 100,
  items: { type: 'string', maxLength: 100, pattern: EVENT_SELECTOR_PATTERN },
  description: 'Event types to receive (`payment.succeeded`), every type under a prefix (`payment.*`), or `["*"]` for all.',
} as const;

const URL_SCHEMA = { type: 'string', minLength: 1, maxLength: URL_LENGTH_MAX, description: 'https:// (http:// allowed in test mode).' } as const;
// Text PostgreSQL can store: no NUL character.
const DESCRIPTION_SCHEMA = { type: 'string', maxLength: 500, pattern: '^[^\\u0000]*$' } as const;

export const WEBHOOK_ENDPOINT_SCHEMA = {
  $id: 'WebhookEndpoint',
  type: 'object',
  properties: {
    id: { type: 'string' },
    object: { type: 'string', enum: ['webhook_endpoint'] },
    livemode: { type: 'boolean' },
    url: { type: 'string' },
    description: { type: ['string', 'null'] },
    enabled_events: { type: 'array', items: { type: 'string' } },
    status: { type: 'string', enum: ['enabled', 'disabled'] },
    disabled_reason: { type: ['string', 'null'], enum: ['requested', 'failing', null], description: '`failing`: disabled by Micropay after persistent failure.' },
    secret: { type: 'string', description: 'The signing secret (`whsec_...`): present only in the responses that create or rotate it.' },
    previous_secret_expires_at: {
      type: ['integer', 'null'],
      description: 'Unix seconds: until then deliveries are signed with the previous secret too.',
    },
    created: { type: 'integer' },
  },
  required: ['id', 'object', 'livemode', 'url', 'description', 'enabled_events', 'status', 'disabled_reason', 'previous_secret_expires_at', 'created'],
} as const;

const ATTEMPT_SCHEMA = {
  type: 'object',
  properties: {
    attempt: { type: 'integer' },
    started: { type: 'integer' },
    response_status: { type: ['integer', 'null'] },
    response_body: { type: ['string', 'null'] },
    latency_ms: { type: 'integer' },
    error: { type: ['string', 'null'] },
  },
  required: ['attempt', 'started', 'response_status', 'response_body', 'latency_ms', 'error'],
} as const;

export const WEBHOOK_DELIVERY_SCHEMA = {
  $id: 'WebhookDelivery',
  type: 'object',
  properties: {
    id: { type: 'string' },
    object: { type: 'string', enum: ['webhook_delivery'] },
    livemode: { type: 'boolean' },
    endpoint: { type: 'string' },
    event: { type: 'string' },
    event_type: { type: 'string' },
    status: { type: 'string', enum: ['pending', 'succeeded', 'failed'], description: '`failed`: no attempt left (retry it by hand).' },
    in_flight: { type: 'boolean', description: 'An attempt is running now.' },
    attempts: { type: 'integer' },
    next_attempt: { type: ['integer', 'null'], description: 'Unix seconds of the next automatic attempt, if one is scheduled.' },
    last_attempt: { type: ['integer', 'null'] },
    response_status: { type: ['integer', 'null'], description: 'HTTP status of the last attempt; null if no answer came.' },
    response_body: { type: ['string', 'null'], description: 'The start of the last answer (truncated).' },
    latency_ms: { type: ['integer', 'null'] },
    error: { type: ['string', 'null'], description: 'Why the last attempt failed: `http_status`, `timeout`, `ECONNREFUSED`, ...' },
    attempt_history: { type: 'array', items: ATTEMPT_SCHEMA, description: 'The newest attempts, oldest first (on the delivery itself, not in lists).' },
    created: { type: 'integer' },
  },
  required: ['id', 'object', 'livemode', 'endpoint', 'event', 'event_type', 'status', 'in_flight', 'attempts', 'next_attempt', 'last_attempt', 'response_status', 'response_body', 'latency_ms', 'error', 'created'],
} as const;

export const CREATE_ENDPOINT_BODY = {
  type: 'object',
  additionalProperties: false,
  properties: { url: URL_SCHEMA, enabled_events: ENABLED_EVENTS_SCHEMA, description: DESCRIPTION_SCHEMA },
  required: ['url', 'enabled_events'],
} as const;

export const UPDATE_ENDPOINT_BODY = {
  type: 'object',
  additionalProperties: false,
  properties: {
    url: URL_SCHEMA,
    enabled_events: ENABLED_EVENTS_SCHEMA,
    description: { type: ['string', 'null'], maxLength: 500, pattern: '^[^\\u0000]*$' },
    disabled: { type: 'boolean', description: '`true` stops deliveries (pending ones end as failed); `false` enables the endpoint again.' },
  },
} as const;

export const ROTATE_SECRET_BODY = {
  type: 'object',
  additionalProperties: false,
  properties: {
    expires_in_seconds: {
      type: 'integer',
      minimum: 0,
      maximum: ROTATION_OVERLAP_SECONDS_MAX,
      description: 'How long the previous secret keeps signing beside the new one (default 24 hours; 0: stop at once).',
    },
  },
} as const;

export const SEND_EVENT_BODY = {
  type: 'object',
  additionalProperties: false,
  properties: { event: { type: 'string', maxLength: 64 } },
  required: ['event'],
} as const;

export const DELETED_ENDPOINT_SCHEMA = {
  type: 'object',
  properties: { id: { type: 'string' }, object: { type: 'string', enum: ['webhook_endpoint'] }, deleted: { type: 'boolean' } },
  required: ['id', 'object', 'deleted'],
} as const;
