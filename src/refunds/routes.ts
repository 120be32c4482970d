// /v1/refunds for merchants (create, read, list, approve or decline a buyer's request) and
// /v1/refund_requests for the operator's support agents acting for a buyer.
import type { FastifyInstance } from 'fastify';
import { ApiError } from '../api/errors.ts';
import { errorResponses, idSeedOf, LIST_QUERY_PROPERTIES, listBody, listLimit, listSchema, requireMerchant, requireOperator } from '../api/http.ts';
import { EMPTY_BODY, ID_PARAMS_SCHEMA } from '../payments/schemas.ts';
import { refundJson, type RefundReason } from './model.ts';
import type { RefundResult, RefundService } from './service.ts';
import { CREATE_REFUND_BODY, DECLINE_BODY, LIST_REFUNDS_QUERY_PROPERTIES, REFUND_REQUEST_BODY, REFUND_SCHEMA } from './schemas.ts';

interface CreateBody {
  payment: string;
  amount?: number;
  reason?: RefundReason;
  description?: string;
  metadata?: Record<string, string>;
}

interface RequestBody {
  payment: string;
  amount?: number;
  reason: RefundReason;
  description?: string;
}

function unwrap(result: RefundResult) {
  if (result.ok) return refundJson(result.refund);
  throw new ApiError(result.code, result.message, result.param);
}

const amountOf = (amount: number | undefined) => (amount === undefined ? undefined : BigInt(amount));

export async function refundRoutes(app: FastifyInstance, { refunds }: { refunds: RefundService }): Promise<void> {
  app.addSchema(REFUND_SCHEMA);
  const one = { 200: { $ref: 'Refund#' }, ...errorResponses(402, 409) };
  const tags = ['refunds'];

  app.post<{ Body: CreateBody }>(
    '/v1/refunds',
    { schema: { tags, summary: "Refund a payment, in full or in part, from the merchant's balance", body: CREATE_REFUND_BODY, response: one } },
    async (request) => {
      const principal = requireMerchant(request, { write: true });
      const body = request.body;
      const result = await refunds.create(
        { merchantId: principal.merchantId, livemode: principal.livemode },
        { paymentId: body.payment, amount: amountOf(body.amount), reason: body.reason, description: body.description ?? null, metadata: body.metadata ?? null },
        idSeedOf(request),
      );
      return unwrap(result);
    },
  );

  app.get<{ Params: { id: string } }>(
    '/v1/refunds/:id',
    { schema: { tags, summary: 'Retrieve a refund', params: ID_PARAMS_SCHEMA, response: one } },
    async (request) => {
      const principal = requireMerchant(request, { write: false });
      const refund = await refunds.get({ merchantId: principal.merchantId, livemode: principal.livemode }, request.params.id);
      if (!refund) throw new ApiError('resource_missing', `No such refund: ${request.params.id}.`, 'id');
      return refundJson(refund);
    },
  );

  app.get<{ Querystring: { limit?: string; starting_after?: string; payment?: string; status?: string } }>(
    '/v1/refunds',
    {
      schema: {
        tags,
        summary: 'List refunds, newest first',
        querystring: { type: 'object', additionalProperties: false, properties: { ...LIST_QUERY_PROPERTIES, ...LIST_REFUNDS_QUERY_PROPERTIES } },
        response: { 200: listSchema('Refund'), ...errorResponses() },
      },
    },
    async (request) => {
      const principal = requireMerchant(request, { write: false });
      const page = await refunds.list(
        { merchantId: principal.merchantId, livemode: principal.livemode },
        { limit: listLimit(request.query.limit), startingAfter: request.query.starting_after, paymentId: request.query.payment, status: request.query.status },
      );
      return listBody(page.data.map(refundJson), page.hasMore);
    },
  );

  app.post<{ Params: { id: string } }>(
    '/v1/refunds/:id/approve',
    { schema: { tags, summary: "Approve a buyer's pending refund request: the money moves now", params: ID_PARAMS_SCHEMA, body: EMPTY_BODY, response: one } },
    async (request) => {
      const principal = requireMerchant(request, { write: true });
      return unwrap(await refunds.approve({ merchantId: principal.merchantId, livemode: principal.livemode }, request.params.id));
    },
  );

  app.post<{ Params: { id: string }; Body: { cancellation_reason?: string } }>(
    '/v1/refunds/:id/decline',
    { schema: { tags, summary: "Decline a buyer's pending refund request", params: ID_PARAMS_SCHEMA, body: DECLINE_BODY, response: one } },
    async (request) => {
      const principal = requireMerchant(request, { write: true });
      return unwrap(await refunds.decline({ merchantId: principal.merchantId, livemode: principal.livemode }, request.params.id, request.body.cancellation_reason));
    },
  );

  app.post<{ Body: RequestBody }>(
    '/v1/refund_requests',
    {
      schema: {
        tags,
        summary: "A buyer's refund request, sent by the operator's support on the buyer's behalf (the automatic policy applies)",
        body: REFUND_REQUEST_BODY,
        response: one,
      },
    },
    async (request) => {
      requireOperator(request, { write: true });
      const body = request.body;
      const result = await refunds.requestByBuyer(
        { paymentId: body.payment, buyerId: null, amount: amountOf(body.amount), reason: body.reason, description: body.description ?? null },
        idSeedOf(request),
      );
      return unwrap(result);
    },
  );
}
