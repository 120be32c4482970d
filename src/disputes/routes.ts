// /v1/disputes: opened for a buyer and decided by the operator (operator key), read and answered with
// evidence by the merchant (merchant key).
import type { FastifyInstance } from 'fastify';
import { ApiError } from '../api/errors.ts';
import { errorResponses, idSeedOf, LIST_QUERY_PROPERTIES, listBody, listLimit, listSchema, requireMerchant, requireOperator } from '../api/http.ts';
import { ID_PARAMS_SCHEMA } from '../payments/schemas.ts';
import { disputeJson, type DisputeReason } from './model.ts';
import type { DisputeResult, DisputeService } from './service.ts';
import { DECIDE_BODY, DISPUTE_SCHEMA, EVIDENCE_BODY, LIST_DISPUTES_QUERY_PROPERTIES, OPEN_DISPUTE_BODY } from './schemas.ts';

function unwrap(result: DisputeResult) {
  if (result.ok) return disputeJson(result.dispute);
  throw new ApiError(result.code, result.message, result.param);
}

export async function disputeRoutes(app: FastifyInstance, { disputes }: { disputes: DisputeService }): Promise<void> {
  app.addSchema(DISPUTE_SCHEMA);
  const one = { 200: { $ref: 'Dispute#' }, ...errorResponses(409) };
  const tags = ['disputes'];

  app.post<{ Body: { payment: string; amount?: number; reason: DisputeReason; description?: string } }>(
    '/v1/disputes',
    {
      schema: {
        tags,
        summary: "Open a buyer's dispute (operator key, for now on the buyer's behalf): the amount is held from the merchant's balance",
        body: OPEN_DISPUTE_BODY,
        response: one,
      },
    },
    async (request) => {
      const operator = requireOperator(request, { write: true });
      const body = request.body;
      const result = await disputes.openByBuyer(
        { paymentId: body.payment, buyerId: null, livemode: operator.livemode, amount: body.amount === undefined ? undefined : BigInt(body.amount), reason: body.reason, description: body.description ?? null },
        idSeedOf(request),
      );
      return unwrap(result);
    },
  );

  app.get<{ Params: { id: string } }>(
    '/v1/disputes/:id',
    { schema: { tags, summary: 'Retrieve a dispute', params: ID_PARAMS_SCHEMA, response: one } },
    async (request) => {
      const principal = requireMerchant(request, { write: false });
      const dispute = await disputes.get({ merchantId: principal.merchantId, livemode: principal.livemode }, request.params.id);
      if (!dispute) throw new ApiError('resource_missing', `No such dispute: ${request.params.id}.`, 'id');
      return disputeJson(dispute);
    },
  );

  app.get<{ Querystring: { limit?: string; starting_after?: string; payment?: string; status?: string; merchant?: string } }>(
    '/v1/disputes',
    {
      config: { staff: { dashboard: 'payments:read', console: 'disputes:read' } },
      schema: {
        tags,
        summary: "List disputes, newest first: a merchant's own, or with the operator key every merchant's (in the key's mode)",
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            ...LIST_QUERY_PROPERTIES,
            ...LIST_DISPUTES_QUERY_PROPERTIES,
            merchant: { type: 'string', maxLength: 64, description: 'Operator only: the disputes of this merchant.' },
          },
        },
        response: { 200: listSchema('Dispute'), ...errorResponses() },
      },
    },
    async (request) => {
      const { limit, starting_after: startingAfter, payment, status, merchant } = request.query;
      if (request.principal?.kind === 'operator') {
        const operator = requireOperator(request, { write: false });
        if (payment !== undefined) throw new ApiError('parameter_invalid', 'The operator lists disputes by merchant and status, not by payment.', 'payment');
        const page = await disputes.listAll({ livemode: operator.livemode, merchantId: merchant, status, limit: listLimit(limit), startingAfter });
        return listBody(page.data.map(disputeJson), page.hasMore);
      }
      const principal = requireMerchant(request, { write: false });
      if (merchant !== undefined) throw new ApiError('parameter_invalid', 'merchant filters the operator\'s list; a merchant key lists its own disputes.', 'merchant');
      const page = await disputes.list(
        { merchantId: principal.merchantId, livemode: principal.livemode },
        { limit: listLimit(limit), startingAfter, paymentId: payment, status },
      );
      return listBody(page.data.map(disputeJson), page.hasMore);
    },
  );

  app.post<{ Params: { id: string }; Body: { text: string; uris?: string[] } }>(
    '/v1/disputes/:id/evidence',
    { schema: { tags, summary: "Submit the merchant's evidence (once): the dispute goes under review", params: ID_PARAMS_SCHEMA, body: EVIDENCE_BODY, response: one } },
    async (request) => {
      const principal = requireMerchant(request, { write: true });
      const { text, uris } = request.body;
      return unwrap(await disputes.submitEvidence({ merchantId: principal.merchantId, livemode: principal.livemode }, request.params.id, { text, uris: uris ?? [] }));
    },
  );

  app.post<{ Params: { id: string }; Body: { outcome: 'won' | 'lost' } }>(
    '/v1/disputes/:id/decide',
    { schema: { tags, summary: "Decide a dispute (operator key): won voids the hold, lost pays the buyer", params: ID_PARAMS_SCHEMA, body: DECIDE_BODY, response: one } },
    async (request) => {
      const operator = requireOperator(request, { write: true });
      return unwrap(await disputes.decide(request.params.id, request.body.outcome, operator.livemode));
    },
  );
}
