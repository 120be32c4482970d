// Card data checks made before a card number is tokenised: the number's form and Luhn check digit, the
// brand from its leading digits, the expiry date and the security code's length. Failures are values
// with stable codes; their messages never repeat the number or the code.

export const CARD_BRANDS = ['visa', 'mastercard', 'amex', 'discover', 'jcb', 'diners', 'unionpay', 'unknown'] as const;
export type CardBrand = (typeof CARD_BRANDS)[number];

export const CARD_NUMBER_LENGTH_MIN = 12;
export const CARD_NUMBER_LENGTH_MAX = 19;
/** A card valid further ahead than this is more likely a typing mistake than a real card. */
export const CARD_EXPIRY_YEARS_AHEAD_MAX = 20;

export interface CardInput {
  number: string;
  expMonth: number;
  /** Four digits, or two (read as 20YY). */
  expYear: number;
  cvc?: string;
}

/** A card that passed the checks: digits only, the year in four digits. */
export interface CheckedCard {
  number: string;
  expMonth: number;
  expYear: number;
  cvc: string | null;
  brand: CardBrand;
  last4: string;
}

export type CardCheckFailure = {
  code: 'card_number_invalid' | 'card_expired' | 'card_expiry_invalid' | 'card_cvc_invalid';
  param: string;
  message: string;
};

export type CardCheck = { ok: true; card: CheckedCard } | ({ ok: false } & CardCheckFailure);

/** Whether the digits pass the Luhn (mod 10) check that every card number carries. */
export function luhnValid(digits: string): boolean {
  let sum = 0;
  let double = false;
  for (let index = digits.length - 1; index >= 0; index -= 1) {
    let digit = digits.charCodeAt(index) - 48;
    if (double) {
      digit *= 2;
      if (digit > 9) digit -= 9;
    }
    sum += digit;
    double = !double;
  }
  return sum % 10 === 0;
}

/** The brand from the issuer identification number (the leading digits). */
export function brandOf(digits: string): CardBrand {
  const two = Number(digits.slice(0, 2));
  const three = Number(digits.slice(0, 3));
  const four = Number(digits.slice(0, 4));
  if (digits.startsWith('4')) return 'visa';
  if ((two >= 51 && two <= 55) || (four >= 2221 && four <= 2720)) return 'mastercard';
  if (two === 34 || two === 37) return 'amex';
  if (four === 6011 || two === 65 || (three >= 644 && three <= 649)) return 'discover';
  if (four >= 3528 && four <= 3589) return 'jcb';
  if ((three >= 300 && three <= 305) || two === 36 || two === 38 || two === 39) return 'diners';
  if (two === 62) return 'unionpay';
  return 'unknown';
}

/** Spaces and dashes people type between digit groups are dropped; anything else makes the number invalid. */
export function normaliseCardNumber(raw: string): string | null {
  const digits = raw.replace(/[ -]/g, '');
  return /^[0-9]+$/.test(digits) ? digits : null;
}

export function checkCard(input: CardInput, now: Date = new Date()): CardCheck {
  const number = normaliseCardNumber(input.number);
  if (number === null) return fail('card_number_invalid', 'card.number', 'The card number may hold only digits (spaces and dashes are ignored).');
  if (number.length < CARD_NUMBER_LENGTH_MIN || number.length > CARD_NUMBER_LENGTH_MAX) {
    return fail('card_number_invalid', 'card.number', `A card number has ${CARD_NUMBER_LENGTH_MIN} to ${CARD_NUMBER_LENGTH_MAX} digits.`);
  }
  if (!luhnValid(number)) return fail('card_number_invalid', 'card.number', 'The card number is not valid (its check digit is wrong); check it for a typing mistake.');
  const expYear = input.expYear < 100 ? 2000 + input.expYear : input.expYear;
  const year = now.getUTCFullYear();
  const month = now.getUTCMonth() + 1;
  // A card is valid through the last day of its expiry month.
  if (expYear < year || (expYear === year && input.expMonth < month)) {
    return fail('card_expired', 'card.exp_year', 'The card has expired.');
  }
  if (expYear > year + CARD_EXPIRY_YEARS_AHEAD_MAX) {
    return fail('card_expiry_invalid', 'card.exp_year', `The expiry year is more than ${CARD_EXPIRY_YEARS_AHEAD_MAX} years ahead.`);
  }
  const brand = brandOf(number);
  if (input.cvc !== undefined) {
    const length = brand === 'amex' ? 4 : 3;
    if (!new RegExp(`^[0-9]{${length}}$`).test(input.cvc)) {
      return fail('card_cvc_invalid', 'card.cvc', `The security code of this card has ${length} digits.`);
    }
  }
  return { ok: true, card: { number, expMonth: input.expMonth, expYear, cvc: input.cvc ?? null, brand, last4: number.slice(-4) } };
}

function fail(code: CardCheckFailure['code'], param: string, message: string): CardCheck {
  return { ok: false, code, param, message };
}
