// /v1/buyer/history: the signed-in buyer's payments, top-ups and refunds across every merchant of the mode
// the key sets (a publishable key, from the wallet in the buyer's browser), as pages of JSON or as CSV.
// docs/api/history.md.
import { Readable } from 'node:stream';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ApiError } from '../api/errors.ts';
import { errorResponses, listBody, listLimit, listSchema, requireMerchant } from '../api/http.ts';
import type { BuyerIdentityService } from '../buyers/service.ts';
import type { LineItemCategory } from '../payments/model.ts';
import { csvHeader, csvRow } from './csv.ts';
import { historyEntryJson, type HistoryEntryType, type HistoryFilters, type HistoryScope } from './model.ts';
import { HISTORY_ENTRY_SCHEMA, HISTORY_EXPORT_QUERY, HISTORY_LIST_QUERY } from './schemas.ts';
import type { HistoryService } from './service.ts';
import { requestSession } from '../buyers/session-header.ts';

interface FilterQuery {
  merchant?: string;
  category?: LineItemCategory;
  status?: string;
  type?: HistoryEntryType;
  'created[gte]'?: string;
  'created[lte]'?: string;
  q?: string;
}

export const EXPORT_FILE_NAME = 'micropay-history.csv';
function filtersOf(query: FilterQuery): HistoryFilters {
  const gte = query['created[gte]'];
  const lte = query['created[lte]'];
  return {
    merchantId: query.merchant,
    category: query.category,
    status: query.status,
    type: query.type,
    createdGte: gte === undefined ? undefined : Number(gte),
    createdLte: lte === undefined ? undefined : Number(lte),
    query: query.q,
  };
}

export async function historyRoutes(app: FastifyInstance, deps: { history: HistoryService; buyerIdentity: BuyerIdentityService }): Promise<void> {
  const { history, buyerIdentity } = deps;
  app.addSchema(HISTORY_ENTRY_SCHEMA);

  /** The buyer and mode of the request: the key sets the mode, the session header names the buyer (401 without a live one). */
  async function scopeOf(request: FastifyRequest): Promise<HistoryScope> {
    const livemode = requireMerchant(request, { write: false, publishable: true }).livemode;
    const session = await requestSession(request, buyerIdentity, livemode);
    if (!session) throw new ApiError('buyer_session_required');
    return { buyerId: session.buyerId, livemode };
  }

  const tags = ['buyers'];
  const withSession = 'Needs the `Micropay-Buyer-Session` header; the key (publishable or secret) only sets the mode.';

  app.get<{ Querystring: FilterQuery & { limit?: string; starting_after?: string } }>(
    '/v1/buyer/history',
    {
      schema: {
        tags,
        summary: "The buyer's payments, top-ups and refunds at every merchant, newest first (buyer session)",
        description: withSession,
        querystring: HISTORY_LIST_QUERY,
        response: { 200: listSchema('HistoryEntry'), ...errorResponses() },
      },
    },
    async (request, reply) => {
      const scope = await scopeOf(request);
      const page = await history.list(scope, filtersOf(request.query), { limit: listLimit(request.query.limit), startingAfter: request.query.starting_after });
      void reply.header('cache-control', 'no-store');
      return listBody(page.data.map(historyEntryJson), page.hasMore);
    },
  );

  app.get<{ Querystring: FilterQuery }>(
    '/v1/buyer/history.csv',
    {
      schema: {
        tags,
        summary: "The buyer's history as CSV, with the same filters (buyer session)",
        description: `${withSession} At most 50,000 rows, newest first; export a longer history in date ranges.`,
        querystring: HISTORY_EXPORT_QUERY,
        response: {
          200: { description: 'RFC 4180 CSV with a header row.', content: { 'text/csv': { schema: { type: 'string' } } } },
          ...errorResponses(),
        },
      },
    },
    async (request, reply) => {
      // Everything that can refuse the request runs before the first byte, so a refusal is still JSON.
      const scope = await scopeOf(request);
      const filters = filtersOf(request.query);
      async function* lines(): AsyncGenerator<string> {
        yield csvHeader();
        for await (const entries of history.exportEntries(scope, filters)) yield entries.map(csvRow).join('');
      }
      return reply
        .header('content-type', 'text/csv; charset=utf-8')
        .header('content-disposition', `attachment; filename="${EXPORT_FILE_NAME}"`)
        .header('cache-control', 'no-store')
        .send(Readable.from(lines()));
    },
  );
}
