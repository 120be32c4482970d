// /v1/merchants (operator) and /v1/account, /v1/balance (a merchant about itself).
import type { FastifyInstance } from 'fastify';
import { ApiError } from '../api/errors.ts';
import { errorResponses, LIST_QUERY_PROPERTIES, listBody, listLimit, listSchema, requireMerchant, requireOperator } from '../api/http.ts';
import type { Books } from '../books/service.ts';
import { amountJson } from '../payments/model.ts';
import { ID_PARAMS_SCHEMA, METADATA_SCHEMA } from '../payments/schemas.ts';
import type { Merchant, MerchantService } from './service.ts';
import type { SqlClient } from '../store/database.ts';
import { merchantVolume, VOLUME_DAYS_MAX, type VolumeFigures } from './volume.ts';

export const MERCHANT_SCHEMA = {
  $id: 'Merchant',
  type: 'object',
  properties: {
    id: { type: 'string' },
    object: { type: 'string', enum: ['merchant'] },
    name: { type: 'string' },
    fee_bps: { type: 'integer' },
    fee_fixed: { type: 'object', additionalProperties: { type: 'integer' } },
    status: { type: 'string' },
    metadata: { type: 'object', additionalProperties: { type: 'string' } },
    created: { type: 'integer' },
  },
  required: ['id', 'object', 'name', 'fee_bps', 'fee_fixed', 'status', 'created'],
} as const;

export const BALANCE_SCHEMA = {
  $id: 'Balance',
  type: 'object',
  properties: {
    object: { type: 'string', enum: ['balance'] },
    livemode: { type: 'boolean' },
    balances: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          currency: { type: 'string' },
          available: { type: 'integer' },
          pending: { type: 'integer' },
        },
        required: ['currency', 'available', 'pending'],
      },
    },
  },
  required: ['object', 'livemode', 'balances'],
} as const;

/** The longest balance history one request asks for. */
export const BALANCE_HISTORY_DAYS_MAX = 365;

export const BALANCE_HISTORY_SCHEMA = {
  $id: 'BalanceHistory',
  type: 'object',
  properties: {
    object: { type: 'string', enum: ['balance_history'] },
    livemode: { type: 'boolean' },
    currency: { type: 'string' },
    days: {
      type: 'array',
      description: 'One entry per UTC day, oldest first; the last is today as it stands now.',
      items: {
        type: 'object',
        properties: {
          date: { type: 'string', description: 'YYYY-MM-DD (UTC).' },
          available: { type: 'integer', description: 'Closing available balance of the day, minor units.' },
          pending: { type: 'integer', description: 'Closing pending balance of the day (incoming less outgoing holds), minor units.' },
        },
        required: ['date', 'available', 'pending'],
      },
    },
  },
  required: ['object', 'livemode', 'currency', 'days'],
} as const;

/** The `days` query parameter of the per-day reads: 30 when absent, 1 to `max`. */
function daysOf(raw: string | undefined, max: number): number {
  const days = raw === undefined ? 30 : Number(raw);
  if (days < 1 || days > max) throw new ApiError('parameter_invalid', `days must be between 1 and ${max}.`, 'days');
  return days;
}

export function merchantJson(merchant: Merchant) {
  return {
    id: merchant.id,
    object: 'merchant' as const,
    name: merchant.name,
    fee_bps: merchant.feeBps,
    fee_fixed: Object.fromEntries(Object.entries(merchant.feeFixed).map(([currency, value]) => [currency, amountJson(value)])),
    status: merchant.status,
    metadata: merchant.metadata ?? {},
    created: Math.floor(merchant.createdAt.getTime() / 1000),
  };
}

const FIGURES_PROPERTIES = {
  payments: { type: 'integer', description: 'Payments captured (in full or in part).' },
  volume: { type: 'integer', description: 'Amount captured, minor units.' },
  refunded: { type: 'integer', description: 'Amount refunded of those payments, as of now, minor units.' },
  fees: { type: 'integer', description: 'Platform fees on those payments, minor units.' },
  failed: { type: 'integer', description: 'Payments that failed and were not paid since: blocked by risk (status failed), or declined (insufficient funds, points) and never confirmed again.' },
} as const;
const FIGURES_REQUIRED = ['payments', 'volume', 'refunded', 'fees', 'failed'];

export const MERCHANT_VOLUME_SCHEMA = {
  $id: 'MerchantVolume',
  type: 'object',
  properties: {
    object: { type: 'string', enum: ['merchant_volume'] },
    merchant: { type: 'string' },
    livemode: { type: 'boolean' },
    days: { type: 'integer' },
    currencies: {
      type: 'array',
      description: 'One entry per currency paid in during the window, the largest volume first.',
      items: {
        type: 'object',
        properties: {
          currency: { type: 'string' },
          totals: { type: 'object', properties: FIGURES_PROPERTIES, required: FIGURES_REQUIRED },
          days: {
            type: 'array',
            description: 'One entry per UTC day, oldest first, today last (zeros included).',
            items: { type: 'object', properties: { date: { type: 'string', description: 'YYYY-MM-DD (UTC).' }, ...FIGURES_PROPERTIES }, required: ['date', ...FIGURES_REQUIRED] },
          },
        },
        required: ['currency', 'totals', 'days'],
      },
    },
  },
  required: ['object', 'merchant', 'livemode', 'days', 'currencies'],
} as const;

const figuresJson = (figures: VolumeFigures) => ({ ...figures, volume: amountJson(figures.volume), refunded: amountJson(figures.refunded), fees: amountJson(figures.fees) });

export async function merchantRoutes(app: FastifyInstance, deps: { merchants: MerchantService; books: Books; db: SqlClient }): Promise<void> {
  const { merchants, books } = deps;
  app.addSchema(MERCHANT_VOLUME_SCHEMA);
  app.addSchema(MERCHANT_SCHEMA);
  app.addSchema(BALANCE_SCHEMA);
  app.addSchema(BALANCE_HISTORY_SCHEMA);
  const one = { 200: { $ref: 'Merchant#' }, ...errorResponses() };

  app.post<{ Body: { name: string; fee_bps?: number; fee_fixed?: Record<string, number>; metadata?: Record<string, string> } }>(
    '/v1/merchants',
    {
      schema: {
        tags: ['operator'],
        summary: 'Create a merchant (operator)',
        body: {
          type: 'object',
          additionalProperties: false,
          properties: {
            name: { type: 'string', minLength: 1, maxLength: 200 },
            fee_bps: { type: 'integer', minimum: 0, maximum: 10_000 },
            fee_fixed: { type: 'object', maxProperties: 50, propertyNames: { pattern: '^[A-Z]{3}$' }, additionalProperties: { type: 'integer', minimum: 0, maximum: 1_000_000_000 } },
            metadata: METADATA_SCHEMA,
          },
          required: ['name'],
        },
        response: one,
      },
    },
    async (request) => {
      requireOperator(request, { write: true });
      const { name, fee_bps, fee_fixed, metadata } = request.body;
      const merchant = await merchants.create({
        name,
        feeBps: fee_bps,
        feeFixed: Object.fromEntries(Object.entries(fee_fixed ?? {}).map(([currency, value]) => [currency, BigInt(value)])),
        metadata,
      });
      return merchantJson(merchant);
    },
  );

  app.get<{ Querystring: { limit?: string; starting_after?: string } }>(
    '/v1/merchants',
    {
      schema: {
        tags: ['operator'],
        summary: 'List merchants (operator)',
        querystring: { type: 'object', additionalProperties: false, properties: LIST_QUERY_PROPERTIES },
        response: { 200: listSchema('Merchant'), ...errorResponses() },
      },
    },
    async (request) => {
      requireOperator(request, { write: false });
      const page = await merchants.list({ limit: listLimit(request.query.limit), startingAfter: request.query.starting_after });
      return listBody(page.data.map(merchantJson), page.hasMore);
    },
  );

  app.get<{ Params: { id: string } }>(
    '/v1/merchants/:id',
    { schema: { tags: ['operator'], summary: 'Retrieve a merchant (operator)', params: ID_PARAMS_SCHEMA, response: one } },
    async (request) => {
      requireOperator(request, { write: false });
      const merchant = await merchants.get(request.params.id);
      if (!merchant) throw new ApiError('resource_missing', `No such merchant: ${request.params.id}.`, 'id');
      return merchantJson(merchant);
    },
  );

  app.get<{ Params: { id: string }; Querystring: { days?: string; livemode?: 'true' | 'false' } }>(
    '/v1/merchants/:id/volume',
    {
      config: { staff: { console: 'merchants:read' } },
      schema: {
        tags: ['operator'],
        summary: "A merchant's payment volume per UTC day and currency (operator)",
        params: ID_PARAMS_SCHEMA,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            days: { type: 'string', pattern: '^[0-9]{1,3}$', description: `1 to ${VOLUME_DAYS_MAX}, default 30 (today included).` },
            livemode: { type: 'string', enum: ['true', 'false'], description: "Live or test payments; the caller's mode when absent." },
          },
        },
        response: { 200: { $ref: 'MerchantVolume#' }, ...errorResponses() },
      },
    },
    async (request) => {
      const principal = requireOperator(request, { write: false });
      const days = daysOf(request.query.days, VOLUME_DAYS_MAX);
      const merchant = await merchants.get(request.params.id);
      if (!merchant) throw new ApiError('resource_missing', `No such merchant: ${request.params.id}.`, 'id');
      const livemode = request.query.livemode === undefined ? principal.livemode : request.query.livemode === 'true';
      const currencies = await merchantVolume(deps.db, { merchantId: merchant.id, livemode, days });
      return {
        object: 'merchant_volume',
        merchant: merchant.id,
        livemode,
        days,
        currencies: currencies.map((entry) => ({
          currency: entry.currency,
          totals: figuresJson(entry.totals),
          days: entry.days.map((day) => ({ date: day.date, ...figuresJson(day) })),
        })),
      };
    },
  );

  app.get('/v1/account', { schema: { tags: ['account'], summary: 'The calling merchant', response: one } }, async (request) => {
    const principal = requireMerchant(request, { write: false, publishable: true });
    return merchantJson((await merchants.get(principal.merchantId))!);
  });

  app.get('/v1/balance', { schema: { tags: ['account'], summary: "The merchant's balance per currency", response: { 200: { $ref: 'Balance#' }, ...errorResponses() } } }, async (request) => {
    const principal = requireMerchant(request, { write: false });
    const balances = (await books.balancesByCurrency('merchant', principal.merchantId, principal.livemode)).map((balance) => ({
      currency: balance.currency,
      available: amountJson(balance.available),
      pending: amountJson(balance.pending),
    }));
    return { object: 'balance', livemode: principal.livemode, balances };
  });

  app.get<{ Querystring: { currency: string; days?: string } }>(
    '/v1/balance/history',
    {
      config: { staff: { dashboard: 'payments:read' } },
      schema: {
        tags: ['account'],
        summary: "The merchant's closing balance per UTC day in one currency, computed from the ledger's transfers",
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            currency: { type: 'string', pattern: '^[A-Z]{3}$', description: 'ISO 4217 code, upper case.' },
            days: { type: 'string', pattern: '^[0-9]{1,3}$', description: `1 to ${BALANCE_HISTORY_DAYS_MAX}, default 30 (today included).` },
          },
          required: ['currency'],
        },
        response: { 200: { $ref: 'BalanceHistory#' }, ...errorResponses() },
      },
    },
    async (request) => {
      const principal = requireMerchant(request, { write: false });
      const days = daysOf(request.query.days, BALANCE_HISTORY_DAYS_MAX);
      const { currency } = request.query;
      if (!(await books.isCurrency(currency))) throw new ApiError('parameter_invalid', `Unknown currency: ${currency}.`, 'currency');
      // The account is always the caller's own: derived from the principal, never taken from the request.
      const daily = await books.dailyBalances('merchant', principal.merchantId, principal.livemode, currency, days);
      return {
        object: 'balance_history',
        livemode: principal.livemode,
        currency,
        days: daily.map((entry) => ({ date: entry.day, available: amountJson(entry.available), pending: amountJson(entry.pending) })),
      };
    },
  );
}
