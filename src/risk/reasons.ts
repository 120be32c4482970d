// Reason codes in words a support agent or a buyer can read. The learned model's top contributing
// signals become reasons whose code is the signal's name.
import { SIGNALS, type RiskReason, type SignalName, type SignalValue } from './model.ts';

const MESSAGES: Partial<Record<SignalName, (value: SignalValue) => string>> = {
  device_is_new: () => 'Paid from a device this buyer has not used before.',
  ip_is_new: () => 'Paid from a network this buyer has not used before.',
  country_is_new: () => 'Paid from a country this buyer has not paid from before.',
  impossible_travel: () => 'The buyer could not have travelled from their last location so fast.',
  travel_speed_kmh: (value) => `The buyer would have travelled at ${value} km/h since their last payment.`,
  account_age_days: (value) => `The account is ${value} days old.`,
  amount_usd: (value) => `A large amount (about $${(Number(value) / 100).toFixed(2)}).`,
  amount_vs_buyer_average: (value) => `${Number(value).toFixed(1)} times the buyer's usual amount.`,
  wallet_drain_ratio: (value) => `Spends ${Math.round(Number(value) * 100)}% of the wallet's balance at once.`,
  carrier_limit_used_ratio: (value) => `Uses ${Math.round(Number(value) * 100)}% of the phone's monthly carrier-billing limit.`,
  is_cash_equivalent: () => 'Buys codes that can be resold for cash.',
  buyer_payments_1m: (value) => `${value} payments by this buyer in the last minute.`,
  buyer_payments_1h: (value) => `${value} payments by this buyer in the last hour.`,
  buyer_failed_1h: (value) => `${value} failed attempts by this buyer in the last hour.`,
  card_attempts_1h: (value) => `${value} attempts with this card in the last hour.`,
  card_failed_1d: (value) => `${value} failed attempts with this card today.`,
  card_buyers_30d: (value) => `This card was used by ${value} different accounts.`,
  ip_failed_1h: (value) => `${value} failed attempts from this network in the last hour.`,
  device_buyers_30d: (value) => `${value} different accounts use this device.`,
  device_phones_30d: (value) => `${value} different phone numbers are used from this device.`,
  buyer_refund_rate_30d: (value) => `The buyer asked for refunds on ${Math.round(Number(value) * 100)}% of purchases.`,
  buyer_disputes_30d: (value) => `The buyer opened ${value} disputes recently.`,
  buyer_codes_redeemed_elsewhere_30d: (value) => `${value} codes this buyer bought were redeemed by other accounts.`,
  merchant_payer_concentration_30d: (value) => `${Math.round(Number(value) * 100)}% of this merchant's income comes from brand-new accounts.`,
  merchant_dispute_rate_30d: (value) => `${Math.round(Number(value) * 100)}% of this merchant's payments are disputed.`,
};

export function describeSignal(name: SignalName, value: SignalValue): RiskReason {
  const message = MESSAGES[name]?.(value) ?? `Unusual ${SIGNALS[name].description} (${String(value)}).`;
  return { code: name, message };
}
