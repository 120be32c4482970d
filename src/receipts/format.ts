// Amounts as people read them: minor units turned into the currency's own number of decimals
// (KRW and JPY none, USD two, BHD three, as Intl knows them), without passing through a float.

const LOCALE = 'en-US';

export function currencyDigits(currency: string): number {
  return new Intl.NumberFormat(LOCALE, { style: 'currency', currency }).resolvedOptions().maximumFractionDigits ?? 2;
}

/** `1234n, 'USD'` → `$12.34`; `1500n, 'KRW'` → `₩1,500`. */
export function formatAmount(amount: bigint, currency: string, display: 'symbol' | 'code' = 'symbol'): string {
  const digits = currencyDigits(currency);
  const negative = amount < 0n;
  const units = (negative ? -amount : amount).toString().padStart(digits + 1, '0');
  const decimal = digits === 0 ? units : `${units.slice(0, -digits)}.${units.slice(-digits)}`;
  const format = new Intl.NumberFormat(LOCALE, { style: 'currency', currency, currencyDisplay: display, minimumFractionDigits: digits, maximumFractionDigits: digits });
  // Intl formats a decimal string exactly (no conversion to a double).
  return format.format(`${negative ? '-' : ''}${decimal}` as unknown as number);
}
