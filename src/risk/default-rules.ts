// The rules a new installation starts with (and the rules-only baseline of `npm run bench:risk`):
// what a risk analyst would write on day one against micropayment fraud, before any model is trained.
// The first start of an installation with no rules stores them (RISK_DEFAULT_RULES: live by default,
// or shadow, or none); operators then edit them through the API.
export interface DefaultRule {
  id: string;
  source: string;
  description: string;
}

export const DEFAULT_RULES: readonly DefaultRule[] = [
  { id: 'card_testing_failures', source: 'block if :card_failed_1d: >= 3', description: 'Card testing: repeated declines of one card.' },
  { id: 'card_shared_by_accounts', source: 'block if :card_buyers_30d: >= 3 and :action: = \'top_up\'', description: 'One card topping up many accounts.' },
  { id: 'network_failures', source: 'review if :ip_failed_1h: >= 5', description: 'Many failures from one network.' },
  { id: 'buyer_velocity', source: 'block if :buyer_payments_1h: > 30', description: 'Scripted buying.' },
  { id: 'impossible_travel', source: 'challenge if :impossible_travel:', description: 'The buyer cannot be in two places at once.' },
  { id: 'new_device_established_account', source: 'challenge if :new_device_on_established_account: and (:amount_usd: >= 1000 or :country_is_new:)', description: 'Step-up when an established account pays from a device it never paid from (account takeover, stolen phones); once a movement goes through, the device is known.' },
  { id: 'new_device_drain', source: 'challenge if :device_is_new: and :wallet_drain_ratio: > 0.5', description: 'A new device emptying the wallet.' },
  { id: 'carrier_limit_codes', source: 'review if :is_cash_equivalent: and :carrier_limit_used_ratio: > 0.8', description: 'Resellable codes up to the carrier-billing limit.' },
  { id: 'new_account_codes_on_carrier_billing', source: "review if :new_account_cash_equivalent: and :method: = 'carrier_billing' and :amount_usd: >= 2000", description: 'A week-old account billing resellable codes to a phone: the first step of carrier-billing cash-out.' },
  { id: 'new_card_authentication', source: "challenge if :card_is_new: and :amount_usd: > 3000", description: 'Strong customer authentication (3-D Secure) the first time a card tops up this account above $30, as PSD2 asks above its low-value exemption (EUR 30).' },
  { id: 'new_card_on_shared_device', source: "challenge if :card_is_new: and :device_buyers_30d: >= 2", description: 'A new card on a device that several accounts use (card-testing rings).' },
  { id: 'tips_to_new_account_creator', source: "review if :action: = 'tip' and :account_age_days: < 7 and :merchant_payer_concentration_30d: > 0.8", description: 'A new account tipping a creator whose income comes almost only from new accounts (mule creators).' },
  { id: 'shared_device', source: 'review if :device_buyers_30d: >= 4', description: 'Many accounts on one device.' },
  { id: 'refund_abuse', source: 'review if :buyer_refund_rate_30d: > 0.5 and :buyer_payments_30d: > 5', description: 'Buys to refund.' },
  { id: 'points_farming_refunds', source: 'review if :buyer_points_fast_refunds_30d: >= 3 or (:buyer_points_refund_rate_30d: > 0.5 and :buyer_points_owed: > 0)', description: 'Buying to earn loyalty points and refunding within a week, again and again, or refunding after spending the points (points farming).' },
  { id: 'points_self_dealing', source: 'review if :buyer_is_merchant_staff:', description: "A merchant's own staff paying the merchant: they earn no points, and a person looks at it." },
  { id: 'mule_payout', source: 'review if :action: = \'payout\' and :merchant_payer_concentration_30d: > 0.5', description: 'Payouts of money received from brand-new accounts.' },
];
