// The buyer session a browser request carries in its Micropay-Buyer-Session header, for every route
// that acts for a signed-in buyer (checkout, history, receipts, support, loyalty, the wallet).
import type { FastifyRequest } from 'fastify';
import { ApiError } from '../api/errors.ts';
import { BUYER_SESSION_HEADER, type BuyerIdentity, type BuyerSession } from './model.ts';

/** Tokens are 47 characters; anything longer is not one and is not looked up. */
const SESSION_TOKEN_LENGTH_MAX = 200;

/** Why a session bound to a merchant is refused through another key (401 `buyer_session_required`). */
export const WALLET_KEY_SESSION_REFUSED = 'This session was opened on a merchant\'s pages; sign in to the wallet to see your purchases at every merchant.';
export const OTHER_MERCHANT_SESSION_REFUSED = 'This session was opened on another merchant\'s pages; sign in again here.';

/**
 * Refuses (401 `buyer_session_required`) a session bound to a merchant, one opened with a one-time code
 * through that merchant's key, whose page may hold the token (docs/wallet.md, "Which sessions get the
 * wallet's reach"), when it comes with another merchant's key or with the platform's wallet key
 * (`walletKey`): publishable keys are public, so the key alone must not carry a merchant's token beyond its
 * own purchases. Sessions bound to no merchant (passkey ceremonies, the wallet key) pass.
 */
function refuseBoundSession(request: FastifyRequest, session: BuyerSession, options: { walletKey?: boolean } = {}): void {
  if (session.merchantId === null) return;
  if (options.walletKey) throw new ApiError('buyer_session_required', WALLET_KEY_SESSION_REFUSED);
  const principal = request.principal;
  if (principal?.kind === 'merchant' && principal.merchantId === session.merchantId) return;
  throw new ApiError('buyer_session_required', OTHER_MERCHANT_SESSION_REFUSED);
}

/** The live session of the request's header in this mode; null without one, or when it is not live. A
 * session bound to another merchant than the key's (or sent with the wallet key, when `walletKey` says
 * so) is refused with 401 `buyer_session_required` (`refuseBoundSession`). */
export async function requestSession(
  request: FastifyRequest,
  identity: Pick<BuyerIdentity, 'sessionFor'>,
  livemode: boolean,
  options: { walletKey?: boolean } = {},
): Promise<BuyerSession | null> {
  const token = request.headers[BUYER_SESSION_HEADER];
  if (typeof token !== 'string' || token.length === 0 || token.length > SESSION_TOKEN_LENGTH_MAX) return null;
  const session = await identity.sessionFor(token, livemode);
  if (session) refuseBoundSession(request, session, options);
  return session;
}
