// The low-value exemption (in the spirit of PSD2 RTS art. 16): a payment the risk engine allows is paid
// without a prompt when it is small, and the buyer's exempt payments since their last strong
// confirmation (passkey, Secure Payment Confirmation or one-time code) stay under a cumulative amount
// or a count. Limits are per currency (CHECKOUT_EXEMPTIONS); a currency not listed has no exemption.
// Outside it, a payment the risk model finds very unlikely to be fraud is exempt up to a larger amount
// (transaction risk analysis, CHECKOUT_TRA_EXEMPTIONS and CHECKOUT_TRA_SCORE_MAX); those payments are
// recorded as `tra` and do not count towards the low-value limits.
import type { CheckoutExemption } from '../config/config.ts';

/** The buyer's exempt payments in one currency since their last strong confirmation. */
export interface ExemptHistory {
  count: number;
  total: bigint;
}

export function isExempt(exemption: CheckoutExemption | undefined, amount: bigint, history: ExemptHistory): boolean {
  if (!exemption) return false;
  if (amount > exemption.singleMax) return false;
  return history.total + amount <= exemption.cumulativeMax || history.count < exemption.countMax;
}

/** The transaction-risk-analysis exemption (in the spirit of PSD2 RTS art. 18): limits per currency and
 * the highest fraud probability of the risk model that still counts as low risk. */
export interface TraPolicy {
  amountMax: Record<string, bigint>;
  scoreMax: number;
}

/** Why a payment the risk engine allowed needs no confirmation, or null when it needs one. The
 * low-value exemption is tried first; then, when the risk model scored the payment (`score` is null
 * without an active model), transaction risk analysis. */
export function exemptionOf(
  lowValue: CheckoutExemption | undefined, tra: TraPolicy, currency: string, amount: bigint, history: ExemptHistory, score: number | null,
): 'low_value' | 'transaction_risk' | null {
  if (isExempt(lowValue, amount, history)) return 'low_value';
  const traMax = tra.amountMax[currency];
  if (score !== null && traMax !== undefined && amount <= traMax && score < tra.scoreMax) return 'transaction_risk';
  return null;
}
