// GET /v1/buyer/wallet: the signed-in buyer's own wallet balance per currency, for the wallet app
// (web/wallet). As for the other buyer endpoints, the key (publishable or secret) only sets the mode and
// the session header names the buyer (docs/api/buyers.md). The balance is the buyer's, not tied to the
// key's merchant: one wallet works at every merchant of the installation.
import type { FastifyInstance } from 'fastify';
import { ApiError } from '../api/errors.ts';
import { errorResponses, requireMerchant } from '../api/http.ts';
import { amountJson } from '../payments/model.ts';
import type { BuyerIdentityService } from './service.ts';
import { WALLET_BALANCES_SCHEMA } from '../customers/routes.ts';
import { requestSession } from './session-header.ts';

export interface BuyerWalletBalance {
  currency: string;
  available: bigint;
  pending: bigint;
  posted: bigint;
}

export const BUYER_WALLET_SCHEMA = {
  $id: 'BuyerWallet',
  type: 'object',
  properties: {
    object: { type: 'string', enum: ['buyer_wallet'] },
    buyer: { type: 'string' },
    livemode: { type: 'boolean' },
    balances: WALLET_BALANCES_SCHEMA,
  },
  required: ['object', 'buyer', 'livemode', 'balances'],
} as const;

export async function buyerWalletRoutes(
  app: FastifyInstance,
  deps: { buyerIdentity: BuyerIdentityService; walletBalances: (buyerId: string, livemode: boolean) => Promise<BuyerWalletBalance[]> },
): Promise<void> {
  app.addSchema(BUYER_WALLET_SCHEMA);
  app.get(
    '/v1/buyer/wallet',
    {
      schema: {
        tags: ['buyers'],
        summary: "The signed-in buyer's wallet balance per currency",
        description: 'Needs the `Micropay-Buyer-Session` header; the key (publishable or secret) only sets the mode.',
        response: { 200: { $ref: 'BuyerWallet#' }, ...errorResponses() },
      },
    },
    async (request, reply) => {
      const livemode = requireMerchant(request, { write: false, publishable: true }).livemode;
      const session = await requestSession(request, deps.buyerIdentity, livemode);
      if (!session) throw new ApiError('buyer_session_required');
      const balances = await deps.walletBalances(session.buyerId, livemode);
      reply.header('cache-control', 'no-store');
      return {
        object: 'buyer_wallet',
        buyer: session.buyerId,
        livemode,
        balances: balances.map((balance) => ({
          currency: balance.currency,
          available: amountJson(balance.available),
          pending: amountJson(balance.pending),
          posted: amountJson(balance.posted),
        })),
      };
    },
  );
}
