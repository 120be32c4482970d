// Amounts arrive as integers in minor units (a JSON number or a decimal string). They are turned into
// major units with the currency's own number of fraction digits (KRW and JPY 0, USD 2, BHD 3), using
// bigint arithmetic, and formatted by Intl.NumberFormat from that exact decimal string.

export function fractionDigits(currency: string): number {
  return new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions().maximumFractionDigits ?? 2;
}

export function toMinorUnits(amount: number | string | bigint): bigint {
  if (typeof amount === 'bigint') return amount;
  if (typeof amount === 'number') {
    if (!Number.isSafeInteger(amount)) throw new RangeError(`Not an amount in minor units: ${amount}`);
    return BigInt(amount);
  }
  if (!/^-?[0-9]{1,30}$/.test(amount)) throw new RangeError(`Not an amount in minor units: ${amount}`);
  return BigInt(amount);
}

/** "300" KRW → "300"; "25" USD → "0.25"; "1234" BHD → "1.234". */
export function toMajorDecimal(amount: number | string | bigint, currency: string): string {
  const minor = toMinorUnits(amount);
  const digits = fractionDigits(currency);
  const negative = minor < 0n;
  const absolute = negative ? -minor : minor;
  const scale = 10n ** BigInt(digits);
  const whole = absolute / scale;
  const fraction = absolute % scale;
  const text = digits === 0 ? whole.toString() : `${whole}.${fraction.toString().padStart(digits, '0')}`;
  return negative ? `-${text}` : text;
}

export function formatAmount(amount: number | string | bigint, currency: string, locale = navigator.language): string {
  const format = new Intl.NumberFormat(locale, { style: 'currency', currency });
  // Intl.NumberFormat takes an exact decimal string (no float rounding); its types predate that.
  return format.format(toMajorDecimal(amount, currency) as unknown as number);
}

/** The inverse for the top-up form: "10" or "10.50" in major units → minor units; null when malformed. */
export function parseMajorAmount(text: string, currency: string): bigint | null {
  const digits = fractionDigits(currency);
  const match = /^\s*([0-9]{1,12})(?:[.,]([0-9]*))?\s*$/.exec(text);
  if (!match) return null;
  const fraction = match[2] ?? '';
  if (fraction.length > digits) return null;
  return BigInt(match[1]!) * 10n ** BigInt(digits) + BigInt(fraction.padEnd(digits, '0') || '0');
}
