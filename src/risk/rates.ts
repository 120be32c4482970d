// Reference exchange rates for risk statistics only: velocity sums and thresholds compare amounts in
// several currencies, so each is converted to US cents at a fixed, documented rate. Money itself is
// never converted with these.

/** US cents per one minor unit of each currency (approximate, reviewed by hand, not live rates). */
const USD_CENTS_PER_MINOR_UNIT: Readonly<Record<string, number>> = {
  USD: 1,
  EUR: 1.08,
  GBP: 1.27,
  JPY: 0.0067 * 100,
  KRW: 0.00073 * 100,
  BHD: 2.65 / 10,
};

/** `amount` minor units of `currency` in whole US cents, rounded; unknown currencies count at par. */
export function usdCents(amount: bigint, currency: string): number {
  const rate = USD_CENTS_PER_MINOR_UNIT[currency] ?? 1;
  return Math.round(Number(amount) * rate);
}
