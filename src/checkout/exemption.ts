// The low-value exemption (in the spirit of PSD2 RTS art. 16): a payment the risk engine allows is paid
// without a prompt when it is small, and the buyer's exempt payments since their last strong
// confirmation (passkey, Secure Payment Confirmation or one-time code) stay under a cumulative amount
// or a count. Limits are per currency (CHECKOUT_EXEMPTIONS); a currency not listed has no exemption.
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
