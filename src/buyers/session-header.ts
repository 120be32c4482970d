// The buyer session a browser request carries in its Micropay-Buyer-Session header, for every route
// that acts for a signed-in buyer (checkout, history, receipts, support, loyalty, the wallet).
import type { FastifyRequest } from 'fastify';
import { BUYER_SESSION_HEADER, type BuyerIdentity, type BuyerSession } from './model.ts';

/** Tokens are 47 characters; anything longer is not one and is not looked up. */
const SESSION_TOKEN_LENGTH_MAX = 200;

/** The live session of the request's header in this mode; null without one, or when it is not live. */
export function requestSession(request: FastifyRequest, identity: Pick<BuyerIdentity, 'sessionFor'>, livemode: boolean): Promise<BuyerSession | null> {
  const token = request.headers[BUYER_SESSION_HEADER];
  if (typeof token !== 'string' || token.length === 0 || token.length > SESSION_TOKEN_LENGTH_MAX) return Promise.resolve(null);
  return identity.sessionFor(token, livemode);
}
