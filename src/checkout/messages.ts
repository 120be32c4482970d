// What the checkout tells a buyer whose payment was held or refused, in plain words. A refusal is
// explained from the risk decision's first reason by its code only: a reason's own message may quote
// a rule's source or a model score, which must not reach a buyer, a merchant (a payment's
// `last_payment_error`, a top-up's `failure_message` and their webhooks) nor someone probing the rules.

export const REVIEW_MESSAGE =
  'Your payment is being checked by our team. The amount is set aside in your wallet but not paid yet; ' +
  'if the check refuses it, it is released back to you. The merchant will hear the outcome.';

const REFUSALS: Array<[RegExp, string]> = [
  [/_listed$/, 'We cannot accept payments from this account or device at the moment.'],
  [/^cash_out_pattern$/, 'This looks like buying resellable codes to cash them out, which we cannot accept.'],
  [/^new_device_large_amount$/, 'This is a large amount from a device you have not paid from before.'],
  [/^impossible_travel$/, 'This payment comes from a place too far from your last one to be you.'],
];

/** A sentence saying why a payment (or a top-up) was refused, from the code of the decision's first
 * reason. It is also what a merchant reads of a refusal (`last_payment_error`, a top-up's
 * `failure_message`, their webhooks): risk reasons are for operators only. */
export function plainRefusal(code: string | undefined, what: 'payment' | 'top-up' = 'payment'): string {
  const found = code === undefined ? undefined : REFUSALS.find(([pattern]) => pattern.test(code));
  return found ? `We could not accept this ${what}. ${found[1]}` : `We could not accept this ${what}: our safety checks flagged it.`;
}
