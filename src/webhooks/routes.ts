// /v1/webhook_endpoints and /v1/webhook_deliveries: endpoints, their secrets, the delivery log and
// manual retries. Every route is scoped to the calling merchant and mode.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ApiError, type ApiErrorCode } from '../api/errors.ts';
import { errorResponses, idSeedOf, LIST_QUERY_PROPERTIES, listBody, listLimit, listSchema, requireMerchant } from '../api/http.ts';
import { ID_PARAMS_SCHEMA } from '../payments/schemas.ts';
import { deliveryJson, endpointJson, ROTATION_OVERLAP_SECONDS_DEFAULT, type DeliveryStatus } from './model.ts';
import {
  CREATE_ENDPOINT_BODY,
  DELETED_ENDPOINT_SCHEMA,
  ROTATE_SECRET_BODY,
  SEND_EVENT_BODY,
  UPDATE_ENDPOINT_BODY,
  WEBHOOK_DELIVERY_SCHEMA,
  WEBHOOK_ENDPOINT_SCHEMA,
} from './schemas.ts';
import type { DeliveryDetail, Result, WebhookService } from './service.ts';

function unwrap<T>(result: Result<T>): T {
  if (result.ok) return result.value;
  throw new ApiError(result.code as ApiErrorCode, result.message, result.param);
}

const detailJson = (detail: DeliveryDetail) => deliveryJson(detail.delivery, detail.history);

export async function webhookRoutes(app: FastifyInstance, { webhooks }: { webhooks: WebhookService }): Promise<void> {
  app.addSchema(WEBHOOK_ENDPOINT_SCHEMA);
  app.addSchema(WEBHOOK_DELIVERY_SCHEMA);
  const tags = ['webhooks'];
  const endpointResponse = { 200: { $ref: 'WebhookEndpoint#' }, ...errorResponses() };
  const deliveryResponse = { 200: { $ref: 'WebhookDelivery#' }, ...errorResponses(409) };
  const scopeOf = (request: FastifyRequest, write: boolean) => {
    const principal = requireMerchant(request, { write });
    return { merchantId: principal.merchantId, livemode: principal.livemode };
  };
  const noEndpoint = (id: string) => new ApiError('resource_missing', `No such webhook endpoint: ${id}.`, 'id');

  app.post<{ Body: { url: string; enabled_events: string[]; description?: string } }>(
    '/v1/webhook_endpoints',
    { schema: { tags, summary: 'Create a webhook endpoint; its signing secret is shown once', body: CREATE_ENDPOINT_BODY, response: endpointResponse } },
    async (request) => {
      const { url, enabled_events: enabledEvents, description } = request.body;
      const created = unwrap(await webhooks.createEndpoint(scopeOf(request, true), { url, enabledEvents, description }, idSeedOf(request)));
      return endpointJson(created.endpoint, created.secret);
    },
  );

  app.get<{ Querystring: { limit?: string; starting_after?: string } }>(
    '/v1/webhook_endpoints',
    {
      schema: {
        tags,
        summary: 'List webhook endpoints, oldest first',
        querystring: { type: 'object', additionalProperties: false, properties: LIST_QUERY_PROPERTIES },
        response: { 200: listSchema('WebhookEndpoint'), ...errorResponses() },
      },
    },
    async (request) => {
      const page = await webhooks.listEndpoints(scopeOf(request, false), { limit: listLimit(request.query.limit), startingAfter: request.query.starting_after });
      return listBody(page.data.map((endpoint) => endpointJson(endpoint)), page.hasMore);
    },
  );

  app.get<{ Params: { id: string } }>(
    '/v1/webhook_endpoints/:id',
    { schema: { tags, summary: 'Retrieve a webhook endpoint', params: ID_PARAMS_SCHEMA, response: endpointResponse } },
    async (request) => {
      const endpoint = await webhooks.getEndpoint(scopeOf(request, false), request.params.id);
      if (!endpoint) throw noEndpoint(request.params.id);
      return endpointJson(endpoint);
    },
  );

  app.post<{ Params: { id: string }; Body: { url?: string; enabled_events?: string[]; description?: string | null; disabled?: boolean } }>(
    '/v1/webhook_endpoints/:id',
    { schema: { tags, summary: 'Update a webhook endpoint: url, events, description, disabled', params: ID_PARAMS_SCHEMA, body: UPDATE_ENDPOINT_BODY, response: endpointResponse } },
    async (request) => {
      const body = request.body;
      const updated = await webhooks.updateEndpoint(scopeOf(request, true), request.params.id, {
        url: body.url,
        enabledEvents: body.enabled_events,
        description: body.description,
        disabled: body.disabled,
      });
      return endpointJson(unwrap(updated));
    },
  );

  app.delete<{ Params: { id: string } }>(
    '/v1/webhook_endpoints/:id',
    { schema: { tags, summary: 'Delete a webhook endpoint (its secret is erased at once)', params: ID_PARAMS_SCHEMA, response: { 200: DELETED_ENDPOINT_SCHEMA, ...errorResponses() } } },
    async (request) => {
      if (!(await webhooks.deleteEndpoint(scopeOf(request, true), request.params.id))) throw noEndpoint(request.params.id);
      return { id: request.params.id, object: 'webhook_endpoint', deleted: true };
    },
  );

  app.post<{ Params: { id: string }; Body: { expires_in_seconds?: number } }>(
    '/v1/webhook_endpoints/:id/rotate_secret',
    {
      schema: {
        tags,
        summary: 'Rotate the signing secret; the previous one keeps signing beside it until it expires',
        params: ID_PARAMS_SCHEMA,
        body: ROTATE_SECRET_BODY,
        response: endpointResponse,
      },
    },
    async (request) => {
      const overlap = request.body.expires_in_seconds ?? ROTATION_OVERLAP_SECONDS_DEFAULT;
      const rotated = unwrap(await webhooks.rotateSecret(scopeOf(request, true), request.params.id, overlap));
      return endpointJson(rotated.endpoint, rotated.secret);
    },
  );

  app.get<{ Params: { id: string }; Querystring: { limit?: string; starting_after?: string; status?: DeliveryStatus; event?: string } }>(
    '/v1/webhook_endpoints/:id/deliveries',
    {
      schema: {
        tags,
        summary: "The endpoint's delivery log, newest first",
        params: ID_PARAMS_SCHEMA,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            ...LIST_QUERY_PROPERTIES,
            status: { type: 'string', enum: ['pending', 'succeeded', 'failed'] },
            event: { type: 'string', maxLength: 64 },
          },
        },
        response: { 200: listSchema('WebhookDelivery'), ...errorResponses() },
      },
    },
    async (request) => {
      const { query } = request;
      const page = await webhooks.listDeliveries(scopeOf(request, false), request.params.id, {
        limit: listLimit(query.limit),
        startingAfter: query.starting_after,
        status: query.status,
        eventId: query.event,
      });
      if (!page) throw noEndpoint(request.params.id);
      return listBody(page.data.map((delivery) => deliveryJson(delivery)), page.hasMore);
    },
  );

  app.post<{ Params: { id: string }; Body: { event: string } }>(
    '/v1/webhook_endpoints/:id/deliveries',
    {
      schema: {
        tags,
        summary: 'Send an event to this endpoint now (a new delivery, or a retry of the existing one)',
        params: ID_PARAMS_SCHEMA,
        body: SEND_EVENT_BODY,
        response: deliveryResponse,
      },
    },
    async (request) => detailJson(unwrap(await webhooks.sendEvent(scopeOf(request, true), request.params.id, request.body.event))),
  );

  app.get<{ Params: { id: string } }>(
    '/v1/webhook_deliveries/:id',
    { schema: { tags, summary: 'Retrieve a delivery with its newest attempts', params: ID_PARAMS_SCHEMA, response: deliveryResponse } },
    async (request) => {
      const detail = await webhooks.getDelivery(scopeOf(request, false), request.params.id);
      if (!detail) throw new ApiError('resource_missing', `No such webhook delivery: ${request.params.id}.`, 'id');
      return detailJson(detail);
    },
  );

  app.post<{ Params: { id: string } }>(
    '/v1/webhook_deliveries/:id/retry',
    {
      schema: {
        tags,
        summary: 'Retry a delivery now (one more attempt if it had finished)',
        params: ID_PARAMS_SCHEMA,
        body: { type: 'object', additionalProperties: false, properties: {} },
        response: deliveryResponse,
      },
    },
    async (request) => detailJson(unwrap(await webhooks.retryDelivery(scopeOf(request, true), request.params.id))),
  );
}
