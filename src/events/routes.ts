// /v1/events: the merchant's events (the outbox the webhooks deliver), newest first.
import type { FastifyInstance } from 'fastify';
import { ApiError } from '../api/errors.ts';
import { errorResponses, LIST_QUERY_PROPERTIES, listBody, listLimit, listSchema, requireMerchant } from '../api/http.ts';
import { ID_PARAMS_SCHEMA } from '../payments/schemas.ts';
import { EVENT_TYPE_FILTER_PATTERN, eventJson } from './model.ts';
import type { EventStore } from './store.ts';


export const EVENT_SCHEMA = {
  $id: 'Event',
  type: 'object',
  properties: {
    id: { type: 'string' },
    object: { type: 'string', enum: ['event'] },
    type: { type: 'string', description: 'What happened, e.g. `payment.succeeded`; see docs/api/webhooks.md.' },
    created: { type: 'integer', description: 'Unix seconds.' },
    livemode: { type: 'boolean' },
    data: {
      type: 'object',
      properties: {
        object: { type: 'object', additionalProperties: true, description: 'The object as the API showed it right after the change.' },
      },
      required: ['object'],
    },
  },
  required: ['id', 'object', 'type', 'created', 'livemode', 'data'],
} as const;

export async function eventRoutes(app: FastifyInstance, { events }: { events: EventStore }): Promise<void> {
  app.addSchema(EVENT_SCHEMA);
  const tags = ['events'];

  app.get<{ Params: { id: string } }>(
    '/v1/events/:id',
    { schema: { tags, summary: 'Retrieve an event', params: ID_PARAMS_SCHEMA, response: { 200: { $ref: 'Event#' }, ...errorResponses() } } },
    async (request) => {
      const principal = requireMerchant(request, { write: false });
      const event = await events.get({ merchantId: principal.merchantId, livemode: principal.livemode }, request.params.id);
      if (!event) throw new ApiError('resource_missing', `No such event: ${request.params.id}.`, 'id');
      return eventJson(event);
    },
  );

  app.get<{ Querystring: { limit?: string; starting_after?: string; type?: string } }>(
    '/v1/events',
    {
      schema: {
        tags,
        summary: 'List events, newest first',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            ...LIST_QUERY_PROPERTIES,
            type: { type: 'string', maxLength: 100, pattern: EVENT_TYPE_FILTER_PATTERN, description: 'An event type, or a prefix such as `payment.*`.' },
          },
        },
        response: { 200: listSchema('Event'), ...errorResponses() },
      },
    },
    async (request) => {
      const principal = requireMerchant(request, { write: false });
      const page = await events.list(
        { merchantId: principal.merchantId, livemode: principal.livemode },
        { limit: listLimit(request.query.limit), startingAfter: request.query.starting_after, type: request.query.type },
      );
      return listBody(page.data.map(eventJson), page.hasMore);
    },
  );
}
