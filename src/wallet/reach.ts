// How far a signed-in buyer's request reaches (docs/wallet.md, "Buyer-wide or one merchant"). The buyer
// API is called with a publishable key and the buyer's session header. The key decides the reach:
//
// - the platform's wallet key (WALLET_PUBLISHABLE_KEY, else in development the key /wallet is served
//   with): the buyer acts on their own purchases at every merchant of the key's mode (the wallet is the
//   buyer's view across all merchants);
// - any other key (a merchant's publishable or secret key, from that merchant's own pages): the buyer
//   acts only on their own purchases at the key's merchant.
//
// The wallet key is public (the /wallet page carries it), and a merchant's page holds the tokens of the
// sessions it opens, so the wallet's reach also needs a session opened through the wallet key
// (`buyer_sessions.wallet`, set at sign-in): any other session sent with the wallet key is refused. For
// the same reason a session a merchant opened with a one-time code through its own key
// (`buyer_sessions.merchant_id`) is refused with any other merchant's key (publishable keys are public):
// `requestSession` refuses it before the reach is decided (src/buyers/session-header.ts).
//
// Either way only the buyer's own purchases are reached: a purchase is the buyer's when its customer is
// one of the buyer's customers, which the payment records as its `buyer_id` (as the history reads it).
import type { FastifyRequest } from 'fastify';
import { ApiError } from '../api/errors.ts';
import { requireMerchant } from '../api/http.ts';
import type { BuyerIdentity } from '../buyers/model.ts';
import { requestSession, WALLET_KEY_SESSION_REFUSED } from '../buyers/session-header.ts';

/** The signed-in buyer and what the request may reach: `merchantId` null means every merchant of the mode. */
export interface BuyerReach {
  buyerId: string;
  livemode: boolean;
  merchantId: string | null;
  /** The key's own merchant (the wallet merchant for the wallet key): where a top-up from the wallet is recorded. */
  keyMerchantId: string;
  walletKey: boolean;
}

export type BuyerReachOf = (request: FastifyRequest, options?: { write?: boolean }) => Promise<BuyerReach>;

/** Whether the request authenticated with the platform's wallet key (its bearer is that very key). */
export function isWalletKeyRequest(request: FastifyRequest, walletPublishableKey: string | null): boolean {
  if (!walletPublishableKey) return false;
  const principal = request.principal;
  if (!principal || principal.kind !== 'merchant' || principal.keyKind !== 'publishable') return false;
  return request.headers.authorization === `Bearer ${walletPublishableKey}`;
}

export function createBuyerReach(deps: { buyerIdentity: Pick<BuyerIdentity, 'sessionFor'>; walletPublishableKey: () => string | null }): BuyerReachOf {
  return async (request, options = {}) => {
    const principal = requireMerchant(request, { write: options.write ?? false, publishable: true });
    const walletKey = isWalletKeyRequest(request, deps.walletPublishableKey());
    // A session a merchant's code opened is refused with another merchant's key, and with the wallet key.
    const session = await requestSession(request, deps.buyerIdentity, principal.livemode, { walletKey });
    if (!session) throw new ApiError('buyer_session_required');
    // The wallet key is public and merchants hold the tokens of the sessions their pages open: only a
    // session opened through the wallet key itself gets the wallet's reach.
    if (walletKey && !session.wallet) throw new ApiError('buyer_session_required', WALLET_KEY_SESSION_REFUSED);
    return { buyerId: session.buyerId, livemode: principal.livemode, merchantId: walletKey ? null : principal.merchantId, keyMerchantId: principal.merchantId, walletKey };
  };
}
