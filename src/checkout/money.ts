// Amounts in minor units as buyers read them: `$0.25`, `₩300`, `BD 1.500`. The number of fraction digits
// of a currency comes from ICU (KRW and JPY 0, BHD 3), and the decimal is built from the bigint, so no
// amount goes through a float.

function fractionDigits(currency: string): number {
  return new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions().maximumFractionDigits ?? 2;
}

/** The amount in major units as a decimal string (`0.25`, `300`, `1.500`), as PaymentRequest totals take it. */
export function decimalAmount(amount: bigint, currency: string): string {
  const digits = fractionDigits(currency);
  const negative = amount < 0n;
  const text = (negative ? -amount : amount).toString().padStart(digits + 1, '0');
  const whole = digits === 0 ? text : `${text.slice(0, -digits)}.${text.slice(-digits)}`;
  return negative ? `-${whole}` : whole;
}

/** The amount with its currency sign, in English (`$0.25`, `₩300`). */
export function amountText(amount: bigint, currency: string): string {
  const format = new Intl.NumberFormat('en', { style: 'currency', currency }) as unknown as { format(value: string): string };
  return format.format(decimalAmount(amount, currency));
}
