// /v1/payout_settings and /v1/payouts: where a merchant's money goes, when, and the payouts themselves.
import type { FastifyInstance } from 'fastify';
import { ApiError } from '../api/errors.ts';
import { errorResponses, idSeedOf, LIST_QUERY_PROPERTIES, listBody, listLimit, listSchema, requireMerchant } from '../api/http.ts';
import { ID_PARAMS_SCHEMA } from '../payments/schemas.ts';
import { payoutJson, payoutSettingsJson, WEEKDAYS, type PayoutSchedule, type Weekday } from './model.ts';
import type { PayoutResult, PayoutService, PayoutSettingsResult } from './service.ts';
import {
  CREATE_PAYOUT_BODY,
  LIST_PAYOUTS_FILTERS,
  PAYOUT_BANK_ACCOUNT_SCHEMA,
  PAYOUT_SCHEMA,
  PAYOUT_SETTINGS_SCHEMA,
  UPDATE_PAYOUT_SETTINGS_BODY,
} from './schemas.ts';

interface SettingsBody {
  bank_account?: { account_number: string; account_holder_name: string };
  schedule?: { interval?: PayoutSchedule; weekly_anchor?: Weekday };
  minimum_amounts?: Record<string, number>;
}

interface CreateBody {
  amount?: number;
  currency: string;
  description?: string;
  metadata?: Record<string, string>;
}

function unwrapPayout(result: PayoutResult) {
  if (result.ok) return payoutJson(result.payout);
  throw new ApiError(result.code, result.message, result.param);
}

function unwrapSettings(result: PayoutSettingsResult) {
  if (result.ok) return payoutSettingsJson(result.settings, result.minimums);
  throw new ApiError(result.code, result.message, result.param);
}

export async function payoutRoutes(app: FastifyInstance, { payouts }: { payouts: PayoutService }): Promise<void> {
  app.addSchema(PAYOUT_BANK_ACCOUNT_SCHEMA);
  app.addSchema(PAYOUT_SETTINGS_SCHEMA);
  app.addSchema(PAYOUT_SCHEMA);
  const tags = ['payouts'];
  const settingsResponse = { 200: { $ref: 'PayoutSettings#' }, ...errorResponses() };
  const one = { 200: { $ref: 'Payout#' }, ...errorResponses(402, 409, 503) };

  app.get(
    '/v1/payout_settings',
    { schema: { tags, summary: 'Where and when payouts go, and their minimums', response: settingsResponse } },
    async (request) => {
      const principal = requireMerchant(request, { write: false });
      const view = await payouts.settings({ merchantId: principal.merchantId, livemode: principal.livemode });
      return payoutSettingsJson(view.settings, view.minimums);
    },
  );

  app.post<{ Body: SettingsBody }>(
    '/v1/payout_settings',
    { schema: { tags, summary: 'Set the bank account, the schedule or the minimums (fields left out stay as they are)', body: UPDATE_PAYOUT_SETTINGS_BODY, response: settingsResponse } },
    async (request) => {
      const principal = requireMerchant(request, { write: true });
      const body = request.body;
      const anchor = body.schedule?.weekly_anchor;
      const result = await payouts.updateSettings(
        { merchantId: principal.merchantId, livemode: principal.livemode },
        {
          bankAccount: body.bank_account ? { number: body.bank_account.account_number, holderName: body.bank_account.account_holder_name } : undefined,
          schedule: body.schedule?.interval,
          weeklyAnchor: anchor === undefined ? undefined : WEEKDAYS.indexOf(anchor),
          minimumAmounts: body.minimum_amounts
            ? Object.fromEntries(Object.entries(body.minimum_amounts).map(([currency, amount]) => [currency, BigInt(amount)]))
            : undefined,
        },
      );
      return unwrapSettings(result);
    },
  );

  app.post<{ Body: CreateBody }>(
    '/v1/payouts',
    { schema: { tags, summary: 'Pay out the available balance (or part of it) to the bank account', body: CREATE_PAYOUT_BODY, response: one } },
    async (request) => {
      const principal = requireMerchant(request, { write: true });
      const body = request.body;
      const result = await payouts.create(
        { merchantId: principal.merchantId, livemode: principal.livemode },
        {
          amount: body.amount === undefined ? undefined : BigInt(body.amount),
          currency: body.currency,
          description: body.description ?? null,
          metadata: body.metadata ?? null,
        },
        idSeedOf(request),
      );
      return unwrapPayout(result);
    },
  );

  app.get<{ Params: { id: string } }>(
    '/v1/payouts/:id',
    { schema: { tags, summary: 'Retrieve a payout', params: ID_PARAMS_SCHEMA, response: one } },
    async (request) => {
      const principal = requireMerchant(request, { write: false });
      const payout = await payouts.get({ merchantId: principal.merchantId, livemode: principal.livemode }, request.params.id);
      if (!payout) throw new ApiError('resource_missing', `No such payout: ${request.params.id}.`, 'id');
      return payoutJson(payout);
    },
  );

  app.get<{ Querystring: { limit?: string; starting_after?: string; status?: string; currency?: string } }>(
    '/v1/payouts',
    {
      schema: {
        tags,
        summary: 'List payouts, newest first',
        querystring: { type: 'object', additionalProperties: false, properties: { ...LIST_QUERY_PROPERTIES, ...LIST_PAYOUTS_FILTERS } },
        response: { 200: listSchema('Payout'), ...errorResponses() },
      },
    },
    async (request) => {
      const principal = requireMerchant(request, { write: false });
      const page = await payouts.list(
        { merchantId: principal.merchantId, livemode: principal.livemode },
        { limit: listLimit(request.query.limit), startingAfter: request.query.starting_after, status: request.query.status, currency: request.query.currency },
      );
      return listBody(page.data.map(payoutJson), page.hasMore);
    },
  );
}
