// The checkout as the buyer's browser sees it: the view of a payment (what is bought, from whom, with
// what), and the result of each step (paid, confirm it, being checked, refused, top up first).
import { amountJson, lineItemsJson, moneyAmountOf, type Payment } from '../payments/model.ts';
import type { PaymentMethod } from '../top-ups/model.ts';

export const CHECKOUT_STATUSES = ['succeeded', 'requires_action', 'processing', 'failed', 'requires_payment_method'] as const;
export type CheckoutStatus = (typeof CHECKOUT_STATUSES)[number];

export type NextAction =
  | { type: 'passkey'; reason: 'exemption_exceeded' | 'risk' }
  | { type: 'top_up'; minimum: bigint; suggested: bigint };

export interface CheckoutResult {
  status: CheckoutStatus;
  payment: Payment;
  nextAction: NextAction | null;
  message: string;
  /** Where a buyer whose payment was held or refused can ask (null otherwise). */
  supportEmail: string | null;
}

export interface BuyerView {
  id: string;
  displayName: string | null;
  walletAvailable: bigint;
  /** The buyer's saved cards at this merchant, newest first. */
  cards: PaymentMethod[];
  /** The buyer's loyalty points and what they could pay of this payment; null when the merchant's
   * program does not redeem points in the payment's currency. */
  points: PointsOffer | null;
}

export interface PointsOffer {
  balance: bigint;
  spendable: bigint;
  valuePerPoint: bigint;
  minimumPoints: bigint;
  /** The most points this payment can take (0: none can be used now). */
  redeemablePoints: bigint;
}

export function checkoutPaymentJson(payment: Payment) {
  return {
    id: payment.id,
    amount: amountJson(payment.amount),
    currency: payment.currency,
    status: payment.status,
    description: payment.description,
    line_items: lineItemsJson(payment.lineItems),
    points_redeemed: amountJson(payment.pointsRedeemed),
    amount_paid_in_points: amountJson(payment.amountPaidInPoints),
  };
}

function pointsOfferJson(offer: PointsOffer) {
  const redeemable = offer.redeemablePoints >= offer.minimumPoints ? offer.redeemablePoints : 0n;
  return {
    balance: amountJson(offer.balance),
    spendable: amountJson(offer.spendable),
    value_minor_per_point: amountJson(offer.valuePerPoint),
    minimum_points: amountJson(offer.minimumPoints),
    redeemable_points: amountJson(redeemable),
    redeemable_value: amountJson(redeemable * offer.valuePerPoint),
  };
}

/** The wallet is recommended when it covers the amount (or there is no card to top up from); otherwise
 * the newest saved card, for a top-up. The recommended method comes first. */
function paymentMethodsJson(payment: Payment, buyer: BuyerView) {
  const walletCovers = buyer.walletAvailable >= moneyAmountOf(payment) || buyer.cards.length === 0;
  const wallet = { type: 'wallet' as const, available: amountJson(buyer.walletAvailable), recommended: walletCovers };
  const cards = buyer.cards.map((card, index) => ({
    type: 'card' as const,
    id: card.id,
    brand: card.brand,
    last4: card.last4,
    recommended: !walletCovers && index === 0,
  }));
  return walletCovers ? [wallet, ...cards] : [cards[0]!, wallet, ...cards.slice(1)];
}

export function checkoutViewJson(payment: Payment, payeeName: string, buyer: BuyerView | null) {
  return {
    object: 'checkout' as const,
    payment: checkoutPaymentJson(payment),
    payee: { name: payeeName },
    buyer: buyer && {
      id: buyer.id,
      display_name: buyer.displayName,
      wallet: { available: amountJson(buyer.walletAvailable), currency: payment.currency },
      payment_methods: paymentMethodsJson(payment, buyer),
      points: buyer.points === null ? null : pointsOfferJson(buyer.points),
    },
  };
}

export function checkoutResultJson(result: CheckoutResult) {
  const action = result.nextAction;
  return {
    object: 'checkout_result' as const,
    status: result.status,
    payment: checkoutPaymentJson(result.payment),
    next_action: action === null ? null : action.type === 'passkey' ? action : { type: action.type, minimum: amountJson(action.minimum), suggested: amountJson(action.suggested) },
    message: result.message,
    support: result.supportEmail === null ? null : { email: result.supportEmail },
  };
}
