// Loyalty programs and points (docs/loyalty.md). Points are the ledger asset PTS with no decimals.

export { POINTS_ASSET } from '../books/service.ts';
import { POINTS_ASSET } from '../books/service.ts';

/** Ledger transfer codes of loyalty, after the merchant API's (src/books/service.ts). */
export const LOYALTY_TRANSFER_CODES = { earn: 20, clawback: 21, expiry: 22, redeem: 23, redeem_return: 24 } as const;

/** How points pay part of a purchase (null on a program: they cannot be spent). */
export interface RedemptionTerms {
  /** Currency -> what one point is worth, in minor units of that currency. */
  valuePerPoint: Record<string, bigint>;
  /** The fewest points a payment may use. */
  minimumPoints: bigint;
  /** The largest share of a payment's amount points may pay, in percent (1 to 90). */
  maxSharePercent: number;
}

export interface LoyaltyProgram {
  merchantId: string;
  livemode: boolean;
  /** `points` are earned for every `perAmount` minor units of `currency` paid. */
  perAmount: bigint;
  currency: string;
  points: bigint;
  /** Category -> multiplier in hundredths (a multiplier of 2 is 200). */
  bonusCategories: Record<string, number>;
  /** Points expire this many days after they were earned; null: never. */
  expiryDays: number | null;
  /** Earned points count in the balance at once but can be spent only this many days later. */
  holdDays: number;
  redemption: RedemptionTerms | null;
  enabled: boolean;
  version: number;
  updatedAt: Date;
}

export interface LoyaltyProgramInput {
  perAmount: bigint;
  currency: string;
  points: bigint;
  bonusCategories: Record<string, number>;
  expiryDays: number | null;
  holdDays: number;
  redemption: RedemptionTerms | null;
  enabled: boolean;
}

export interface PointsBalance {
  balance: bigint;
  /** What can be spent now: the balance less points still held and any claw-back shortfall owed. */
  spendable: bigint;
  /** Points earned and still held (not spendable until their hold ends). */
  held: bigint;
  /** The next lots to expire (FIFO), soonest first, with what remains of each. */
  upcomingExpiries: Array<{ points: bigint; expiresAt: Date }>;
}

export function programJson(program: LoyaltyProgram) {
  const bonus: Record<string, number> = {};
  for (const [category, hundredths] of Object.entries(program.bonusCategories)) bonus[category] = hundredths / 100;
  return {
    object: 'loyalty_program',
    livemode: program.livemode,
    earn: { per_amount: Number(program.perAmount), currency: program.currency, points: Number(program.points) },
    bonus_categories: bonus,
    expiry_days: program.expiryDays,
    hold_days: program.holdDays,
    redemption: program.redemption === null ? null : redemptionJson(program.redemption),
    enabled: program.enabled,
    version: program.version,
    updated: Math.floor(program.updatedAt.getTime() / 1000),
  };
}

export function balanceJson(balance: PointsBalance) {
  return {
    object: 'points_balance',
    asset: POINTS_ASSET,
    balance: Number(balance.balance),
    spendable: Number(balance.spendable),
    held: Number(balance.held),
    upcoming_expiries: balance.upcomingExpiries.map((lot) => ({ points: Number(lot.points), expires_at: Math.floor(lot.expiresAt.getTime() / 1000) })),
  };
}

export function redemptionJson(terms: RedemptionTerms) {
  const values: Record<string, number> = {};
  for (const [currency, value] of Object.entries(terms.valuePerPoint)) values[currency] = Number(value);
  return { value_minor_per_point: values, minimum_points: Number(terms.minimumPoints), max_share_percent: terms.maxSharePercent };
}
