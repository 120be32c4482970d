// Support and self-service refunds (docs/api/support.md). The buyer's side, /v1/buyer/..., is called
// with a publishable key and the buyer's session: through a merchant's key it reaches the buyer's
// purchases at that merchant, through the platform's wallet key at every merchant (src/wallet/reach.ts).
// The merchant's side, /v1/support/tickets, with the merchant's secret key.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ApiError, type ApiErrorCode } from '../api/errors.ts';
import { errorResponses, idSeedOf, LIST_QUERY_PROPERTIES, listBody, listLimit, listSchema, requireMerchant } from '../api/http.ts';
import type { Scope } from '../customers/service.ts';
import { disputeJson, type DisputeReason } from '../disputes/model.ts';
import { EMPTY_BODY, ID_PARAMS_SCHEMA } from '../payments/schemas.ts';
import { refundJson, type RefundReason } from '../refunds/model.ts';
import { ticketJson, type TicketStatus } from './model.ts';
import {
  BUYER_DISPUTE_BODY,
  BUYER_DISPUTE_SCHEMA,
  BUYER_REFUND_REQUEST_BODY,
  BUYER_REFUND_SCHEMA,
  LIST_TICKETS_QUERY_PROPERTIES,
  MESSAGE_BODY,
  OPEN_TICKET_BODY,
  SUPPORT_MESSAGE_SCHEMA,
  SUPPORT_TICKET_SCHEMA,
} from './schemas.ts';
import type { BuyerScope, SupportResult, SupportService } from './service.ts';
import type { BuyerReachOf } from '../wallet/reach.ts';

interface ListQuery {
  limit?: string;
  starting_after?: string;
  status?: TicketStatus;
}

const amountOf = (amount: number | undefined) => (amount === undefined ? undefined : BigInt(amount));

function ticketOf(result: SupportResult) {
  if (!result.ok) fail(result);
  return ticketJson(result.ticket, result.messages);
}

function fail(result: { code: ApiErrorCode; message?: string; param?: string }): never {
  throw new ApiError(result.code, result.message, result.param);
}

export async function supportRoutes(app: FastifyInstance, { support, buyerReach }: { support: SupportService; buyerReach: BuyerReachOf }): Promise<void> {
  app.addSchema(SUPPORT_MESSAGE_SCHEMA);
  app.addSchema(SUPPORT_TICKET_SCHEMA);
  app.addSchema(BUYER_REFUND_SCHEMA);
  app.addSchema(BUYER_DISPUTE_SCHEMA);
  const ticket = { 200: { $ref: 'SupportTicket#' }, ...errorResponses(409) };
  const tickets = { 200: listSchema('SupportTicket'), ...errorResponses() };
  const listQuery = { type: 'object', additionalProperties: false, properties: { ...LIST_QUERY_PROPERTIES, ...LIST_TICKETS_QUERY_PROPERTIES } };
  const buyerTags = ['buyer support'];
  const merchantTags = ['support'];

  /** The signed-in buyer in the key's mode: at the key's merchant, or at every merchant through the wallet key. */
  async function buyerOf(request: FastifyRequest): Promise<BuyerScope> {
    const reach = await buyerReach(request, { write: true });
    return { merchantId: reach.merchantId, livemode: reach.livemode, buyerId: reach.buyerId };
  }

  const merchantOf = (request: FastifyRequest, write: boolean): Scope => {
    const principal = requireMerchant(request, { write });
    return { merchantId: principal.merchantId, livemode: principal.livemode };
  };

  app.post<{ Params: { id: string }; Body: { amount?: number; reason?: RefundReason; description?: string } }>(
    '/v1/buyer/payments/:id/refund_requests',
    {
      schema: {
        tags: buyerTags,
        summary: 'Ask for a refund of one of your payments: the automatic policy decides at once when it can, otherwise the merchant does',
        params: ID_PARAMS_SCHEMA,
        body: BUYER_REFUND_REQUEST_BODY,
        response: { 200: { $ref: 'BuyerRefund#' }, ...errorResponses(402, 409) },
      },
    },
    async (request) => {
      const buyer = await buyerOf(request);
      const body = request.body;
      const result = await support.requestRefund(
        buyer,
        { paymentId: request.params.id, amount: amountOf(body.amount), reason: body.reason ?? 'requested_by_customer', description: body.description ?? null },
        idSeedOf(request),
      );
      if (!result.ok) fail(result);
      return refundJson(result.refund);
    },
  );

  app.post<{ Params: { id: string }; Body: { amount?: number; reason: DisputeReason; description?: string } }>(
    '/v1/buyer/payments/:id/disputes',
    {
      schema: {
        tags: buyerTags,
        summary: "Dispute one of your payments: the amount is held from the merchant's balance until the operator decides",
        params: ID_PARAMS_SCHEMA,
        body: BUYER_DISPUTE_BODY,
        response: { 200: { $ref: 'BuyerDispute#' }, ...errorResponses(409) },
      },
    },
    async (request) => {
      const buyer = await buyerOf(request);
      const body = request.body;
      const result = await support.openDispute(
        buyer,
        { paymentId: request.params.id, amount: amountOf(body.amount), reason: body.reason, description: body.description ?? null },
        idSeedOf(request),
      );
      if (!result.ok) fail(result);
      return disputeJson(result.dispute);
    },
  );

  app.post<{ Body: { payment: string; subject: string; message: string } }>(
    '/v1/buyer/tickets',
    { schema: { tags: buyerTags, summary: 'Open a support ticket about one of your payments', body: OPEN_TICKET_BODY, response: ticket } },
    async (request) => {
      const buyer = await buyerOf(request);
      const body = request.body;
      return ticketOf(await support.openTicket(buyer, { paymentId: body.payment, subject: body.subject, message: body.message }, idSeedOf(request)));
    },
  );

  app.get<{ Querystring: ListQuery }>(
    '/v1/buyer/tickets',
    { schema: { tags: buyerTags, summary: "Your support tickets, newest first: at the key's merchant, or at every merchant through the wallet key", querystring: listQuery, response: tickets } },
    async (request) => {
      const buyer = await buyerOf(request);
      const page = await support.buyerTickets(buyer, { limit: listLimit(request.query.limit), startingAfter: request.query.starting_after, status: request.query.status });
      return listBody(page.data.map((one) => ticketJson(one)), page.hasMore);
    },
  );

  app.get<{ Params: { id: string } }>(
    '/v1/buyer/tickets/:id',
    { schema: { tags: buyerTags, summary: 'One of your support tickets, with its thread', params: ID_PARAMS_SCHEMA, response: ticket } },
    async (request) => ticketOf(await support.buyerTicket(await buyerOf(request), request.params.id)),
  );

  app.post<{ Params: { id: string }; Body: { message: string } }>(
    '/v1/buyer/tickets/:id/messages',
    { schema: { tags: buyerTags, summary: 'Reply on one of your support tickets (it is open again for the merchant)', params: ID_PARAMS_SCHEMA, body: MESSAGE_BODY, response: ticket } },
    async (request) => {
      const buyer = await buyerOf(request);
      return ticketOf(await support.buyerReply(buyer, request.params.id, request.body.message, idSeedOf(request)));
    },
  );

  app.get<{ Querystring: ListQuery }>(
    '/v1/support/tickets',
    { schema: { tags: merchantTags, summary: "The merchant's support tickets, newest first", querystring: listQuery, response: tickets } },
    async (request) => {
      const scope = merchantOf(request, false);
      const page = await support.merchantTickets(scope, { limit: listLimit(request.query.limit), startingAfter: request.query.starting_after, status: request.query.status });
      return listBody(page.data.map((one) => ticketJson(one)), page.hasMore);
    },
  );

  app.get<{ Params: { id: string } }>(
    '/v1/support/tickets/:id',
    { schema: { tags: merchantTags, summary: 'A support ticket, with its thread', params: ID_PARAMS_SCHEMA, response: ticket } },
    async (request) => ticketOf(await support.merchantTicket(merchantOf(request, false), request.params.id)),
  );

  app.post<{ Params: { id: string }; Body: { message: string } }>(
    '/v1/support/tickets/:id/messages',
    { schema: { tags: merchantTags, summary: 'Answer a support ticket (the buyer is notified)', params: ID_PARAMS_SCHEMA, body: MESSAGE_BODY, response: ticket } },
    async (request) => ticketOf(await support.merchantReply(merchantOf(request, true), request.params.id, request.body.message, idSeedOf(request))),
  );

  app.post<{ Params: { id: string } }>(
    '/v1/support/tickets/:id/close',
    { schema: { tags: merchantTags, summary: 'Close a support ticket', params: ID_PARAMS_SCHEMA, body: EMPTY_BODY, response: ticket } },
    async (request) => ticketOf(await support.close(merchantOf(request, true), request.params.id)),
  );
}
