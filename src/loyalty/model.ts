// Loyalty programs and points (docs/loyalty.md). Points are the ledger asset PTS with no decimals.

export const POINTS_ASSET = 'PTS';

/** Ledger transfer codes of loyalty, after the merchant API's (src/books/service.ts). */
export const LOYALTY_TRANSFER_CODES = { earn: 20, clawback: 21, expiry: 22 } as const;

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
  enabled: boolean;
}

export interface PointsBalance {
  balance: bigint;
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
    upcoming_expiries: balance.upcomingExpiries.map((lot) => ({ points: Number(lot.points), expires_at: Math.floor(lot.expiresAt.getTime() / 1000) })),
  };
}
