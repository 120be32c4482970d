// /v1/payments: create, read, list, confirm, capture, cancel.
import type { FastifyInstance } from 'fastify';
import { ApiError, type ApiErrorCode } from '../api/errors.ts';
import { answerInCommit, REDACTED, errorResponses, idSeedOf, isResumed, markAnsweredInCommit, LIST_QUERY_PROPERTIES, listBody, listLimit, listSchema, requireMerchant } from '../api/http.ts';
import { paymentJson, type LineItem, type Payment } from './model.ts';
import type { ClientSecrets } from './client-secret.ts';
import type { PaymentResult, PaymentService } from './service.ts';
import { BUYER_CONTEXT_SCHEMA, CANCEL_BODY, CAPTURE_BODY, CONFIRM_BODY, CREATE_PAYMENT_BODY, ID_PARAMS_SCHEMA, PAYMENT_SCHEMA } from './schemas.ts';
import type { BuyerContext } from '../risk/model.ts';
import { PAYMENT_STATUSES } from './model.ts';

interface CreateBody {
  customer?: string;
  amount: number;
  currency: string;
  description?: string;
  line_items?: Array<{ description: string; category: LineItem['category']; unit_amount: number; quantity?: number }>;
  capture_method?: 'automatic' | 'manual';
  confirm?: boolean;
  metadata?: Record<string, string>;
  buyer_context?: BuyerContextBody;
}

interface BuyerContextBody {
  device_id?: string;
  ip_address?: string;
  country?: string;
  latitude?: number;
  longitude?: number;
  phone_number?: string;
  user_agent?: string;
}

export function buyerContextOf(body: BuyerContextBody | undefined): BuyerContext | null {
  if (!body) return null;
  return {
    deviceId: body.device_id ?? null,
    ipAddress: body.ip_address ?? null,
    country: body.country ?? null,
    latitude: body.latitude ?? null,
    longitude: body.longitude ?? null,
    phoneNumber: body.phone_number ?? null,
    userAgent: body.user_agent ?? null,
  };
}

export async function paymentRoutes(app: FastifyInstance, { payments, clientSecrets }: { payments: PaymentService; clientSecrets: ClientSecrets }): Promise<void> {
  // The client secret is shown to the merchant's secret-key callers only (never in events).
  const shown = (payment: Payment) => ({ ...paymentJson(payment), client_secret: clientSecrets.of(payment.id) });
  // Nor is it stored with an Idempotency-Key's answer (it is kept as "[redacted]"): a replay derives it again.
  const config = { derivedSecretFields: { client_secret: (id: string) => clientSecrets.of(id) } };
  const unwrap = (result: PaymentResult) => {
    if (result.ok) return shown(result.payment);
    // A failure that still left a payment (created and refused, or in a state that refuses this
    // action) names it, so that the caller can show, retry or cancel that very payment.
    throw new ApiError(result.code as ApiErrorCode, result.message, result.param, undefined, result.payment === undefined ? undefined : shown(result.payment));
  };

  app.addSchema(BUYER_CONTEXT_SCHEMA);
  app.addSchema(PAYMENT_SCHEMA);
  const one = { 200: { $ref: 'Payment#' }, ...errorResponses(402, 409) };
  const tags = ['payments'];

  app.post<{ Body: CreateBody }>(
    '/v1/payments',
    { config, schema: { tags, summary: 'Create a payment (and confirm it with `confirm: true`)', body: CREATE_PAYMENT_BODY, response: one } },
    async (request, reply) => {
      const principal = requireMerchant(request, { write: true });
      const scope = { merchantId: principal.merchantId, livemode: principal.livemode };
      const body = request.body;
      const answer = answerInCommit(request, reply);
      const created = await payments.create(
        scope,
        {
          customerId: body.customer ?? null,
          amount: BigInt(body.amount),
          currency: body.currency,
          description: body.description ?? null,
          lineItems: (body.line_items ?? []).map((item) => ({
            description: item.description,
            category: item.category,
            unitAmount: BigInt(item.unit_amount),
            quantity: item.quantity ?? 1,
          })),
          captureMethod: body.capture_method,
          metadata: body.metadata ?? null,
          confirm: body.confirm === true,
          buyerContext: buyerContextOf(body.buyer_context),
        },
        idSeedOf(request),
        isResumed(request),
        // Stored with the client secret redacted: it is not derived for the stored answer at all.
        answer && ((payment) => answer({ ...paymentJson(payment), client_secret: REDACTED })),
      );
      if (created.ok && created.answered) markAnsweredInCommit(request);
      return unwrap(created);
    },
  );

  app.get<{ Params: { id: string } }>(
    '/v1/payments/:id',
    { schema: { tags, summary: 'Retrieve a payment', params: ID_PARAMS_SCHEMA, response: one } },
    async (request) => {
      const principal = requireMerchant(request, { write: false });
      const payment = await payments.get({ merchantId: principal.merchantId, livemode: principal.livemode }, request.params.id);
      if (!payment) throw new ApiError('resource_missing', `No such payment: ${request.params.id}.`, 'id');
      return shown(payment);
    },
  );

  app.get<{ Querystring: { limit?: string; starting_after?: string; customer?: string; status?: string } }>(
    '/v1/payments',
    {
      schema: {
        tags,
        summary: 'List payments, newest first',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { ...LIST_QUERY_PROPERTIES, customer: { type: 'string', maxLength: 64 }, status: { type: 'string', enum: [...PAYMENT_STATUSES] } },
        },
        response: { 200: listSchema('Payment'), ...errorResponses() },
      },
    },
    async (request) => {
      const principal = requireMerchant(request, { write: false });
      const page = await payments.list(
        { merchantId: principal.merchantId, livemode: principal.livemode },
        { limit: listLimit(request.query.limit), startingAfter: request.query.starting_after, customerId: request.query.customer, status: request.query.status },
      );
      return listBody(page.data.map(shown), page.hasMore);
    },
  );

  const action = <B>(path: string, summary: string, body: object, run: (scope: { merchantId: string; livemode: boolean }, id: string, body: B) => Promise<PaymentResult>) =>
    app.post<{ Params: { id: string }; Body: B }>(
      `/v1/payments/:id/${path}`,
      { config, schema: { tags, summary, params: ID_PARAMS_SCHEMA, body, response: one } },
      async (request) => {
        const principal = requireMerchant(request, { write: true });
        return unwrap(await run({ merchantId: principal.merchantId, livemode: principal.livemode }, request.params.id, request.body as B));
      },
    );

  action<{ buyer_context?: BuyerContextBody }>('confirm', 'Confirm a payment: risk decides, then the wallet pays', CONFIRM_BODY, (scope, id, body) =>
    payments.confirm(scope, id, buyerContextOf(body.buyer_context)),
  );
  action<{ amount_to_capture?: number }>('capture', 'Capture a held payment, in full or in part', CAPTURE_BODY, (scope, id, body) =>
    payments.capture(scope, id, body.amount_to_capture === undefined ? undefined : BigInt(body.amount_to_capture)),
  );
  action<{ cancellation_reason?: string }>('cancel', 'Cancel a payment and release any hold', CANCEL_BODY, (scope, id, body) =>
    payments.cancel(scope, id, body.cancellation_reason),
  );
}
