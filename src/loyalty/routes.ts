// /v1/loyalty/... for merchants (secret key): the earn rules and a customer's points; /v1/buyer/points
// for the signed-in buyer (publishable key and buyer session): their points at this merchant;
// /v1/buyer/badges: their badges within the key's reach (src/wallet/reach.ts: every merchant through the
// platform's wallet key, the key's merchant only through any other key).
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ApiError } from '../api/errors.ts';
import { errorResponses, listBody, listLimit, listSchema, requireMerchant } from '../api/http.ts';
import type { BuyerIdentity } from '../buyers/model.ts';
import type { Scope } from '../customers/service.ts';
import { balanceJson, programJson, type RedemptionTerms } from './model.ts';
import { DEFAULT_MAX_SHARE_PERCENT, BADGE_SCHEMA, BADGES_QUERY, BUYER_BADGES_QUERY, CUSTOMER_PARAMS_SCHEMA, LOYALTY_PROGRAM_SCHEMA, POINTS_BALANCE_SCHEMA, PUT_PROGRAM_BODY } from './schemas.ts';
import type { LoyaltyService } from './service.ts';
import { requestSession } from '../buyers/session-header.ts';
import type { BuyerReachOf } from '../wallet/reach.ts';

interface PutProgramBody {
  earn: { per_amount: number; currency: string; points: number };
  bonus_categories?: Record<string, number>;
  expiry_days?: number | null;
  hold_days?: number;
  redemption?: { value_minor_per_point: Record<string, number>; minimum_points?: number; max_share_percent?: number } | null;
  enabled?: boolean;
}

function redemptionOf(body: PutProgramBody['redemption']): RedemptionTerms | null {
  if (!body) return null;
  const valuePerPoint: Record<string, bigint> = {};
  for (const [currency, value] of Object.entries(body.value_minor_per_point)) valuePerPoint[currency] = BigInt(value);
  return { valuePerPoint, minimumPoints: BigInt(body.minimum_points ?? 1), maxSharePercent: body.max_share_percent ?? DEFAULT_MAX_SHARE_PERCENT };
}

/** Multipliers are kept in hundredths; one with more than two decimals is refused. */
function hundredthsOf(bonus: Record<string, number>): Record<string, number> {
  const result: Record<string, number> = {};
  for (const [category, multiplier] of Object.entries(bonus)) {
    const hundredths = Math.round(multiplier * 100);
    if (Math.abs(hundredths - multiplier * 100) > 1e-6) {
      throw new ApiError('parameter_invalid', `bonus_categories[${category}] has more than two decimals.`, `bonus_categories[${category}]`);
    }
    result[category] = hundredths;
  }
  return result;
}

export async function loyaltyRoutes(
  app: FastifyInstance,
  { loyalty, buyerIdentity, buyerReach }: { loyalty: LoyaltyService; buyerIdentity: BuyerIdentity; buyerReach: BuyerReachOf },
): Promise<void> {
  app.addSchema(LOYALTY_PROGRAM_SCHEMA);
  app.addSchema(POINTS_BALANCE_SCHEMA);
  app.addSchema(BADGE_SCHEMA);
  const badges = { 200: listSchema('Badge'), ...errorResponses() };
  const tags = ['loyalty'];
  const program = { 200: { $ref: 'LoyaltyProgram#' }, ...errorResponses() };
  const balance = { 200: { $ref: 'PointsBalance#' }, ...errorResponses() };

  const merchantOf = (request: FastifyRequest, write: boolean): Scope => {
    const principal = requireMerchant(request, { write });
    return { merchantId: principal.merchantId, livemode: principal.livemode };
  };

  app.put<{ Body: PutProgramBody }>(
    '/v1/loyalty/program',
    { schema: { tags, summary: 'Set the loyalty earn rules (replaces the program; its version grows by one)', body: PUT_PROGRAM_BODY, response: program } },
    async (request) => {
      const scope = merchantOf(request, true);
      const body = request.body;
      const result = await loyalty.putProgram(scope, {
        perAmount: BigInt(body.earn.per_amount),
        currency: body.earn.currency,
        points: BigInt(body.earn.points),
        bonusCategories: hundredthsOf(body.bonus_categories ?? {}),
        expiryDays: body.expiry_days ?? null,
        holdDays: body.hold_days ?? 0,
        redemption: redemptionOf(body.redemption),
        enabled: body.enabled ?? true,
      });
      if (!result.ok) throw new ApiError(result.code, result.message, result.param);
      return programJson(result.value);
    },
  );

  app.get(
    '/v1/loyalty/program',
    { schema: { tags, summary: 'The loyalty earn rules', response: program } },
    async (request) => {
      const found = await loyalty.getProgram(merchantOf(request, false));
      if (!found) throw new ApiError('resource_missing', 'No loyalty program is set; PUT /v1/loyalty/program sets one.');
      return programJson(found);
    },
  );

  app.get<{ Params: { customer: string } }>(
    '/v1/loyalty/balances/:customer',
    { schema: { tags, summary: "A customer's points at this merchant, with the upcoming expiries", params: CUSTOMER_PARAMS_SCHEMA, response: balance } },
    async (request) => {
      const found = await loyalty.balanceOfCustomer(merchantOf(request, false), request.params.customer);
      if (!found) throw new ApiError('resource_missing', `No such customer: ${request.params.customer}.`, 'customer');
      return balanceJson(found);
    },
  );

  app.get(
    '/v1/buyer/points',
    { schema: { tags: ['buyer loyalty'], summary: 'Your points at this merchant, with the upcoming expiries (publishable key and buyer session)', response: balance } },
    async (request) => {
      const principal = requireMerchant(request, { write: false, publishable: true });
      const session = await requestSession(request, buyerIdentity, principal.livemode);
      if (!session) throw new ApiError('buyer_session_required');
      return balanceJson(await loyalty.balanceOfBuyer({ merchantId: principal.merchantId, livemode: principal.livemode }, session.buyerId));
    },
  );

  app.get<{ Querystring: { customer: string; limit?: string } }>(
    '/v1/loyalty/badges',
    { schema: { tags, summary: "A customer's badges at this merchant, newest first", querystring: BADGES_QUERY, response: badges } },
    async (request) => {
      const page = await loyalty.badgesOfCustomer(merchantOf(request, false), request.query.customer, listLimit(request.query.limit));
      if (!page) throw new ApiError('resource_missing', `No such customer: ${request.query.customer}.`, 'customer');
      return listBody(page.data, page.hasMore);
    },
  );

  app.get<{ Querystring: { limit?: string } }>(
    '/v1/buyer/badges',
    {
      schema: {
        tags: ['buyer loyalty'],
        summary: "Your badges, newest first: at every merchant through the wallet key, else at the key's merchant (publishable key and buyer session)",
        querystring: BUYER_BADGES_QUERY,
        response: badges,
      },
    },
    async (request) => {
      const reach = await buyerReach(request);
      const page = await loyalty.badgesOfBuyer(reach, reach.buyerId, listLimit(request.query.limit));
      return listBody(page.data, page.hasMore);
    },
  );
}
