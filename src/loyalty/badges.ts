// Badges (docs/loyalty.md): milestones a buyer reaches at one merchant. They are decided when a payment
// succeeds and written in that payment's own group commit; the unique key (buyer, merchant, mode, code)
// makes awarding idempotent, and the badge's id and its event's id are derived from that key, so two
// payments deciding the same badge at once write it, and announce it, once.
import { createHash } from 'node:crypto';
import type { UnitWrite } from '../ledger/unit-of-work.ts';
import type { Payment } from '../payments/model.ts';

export const BADGE_CODES = ['first_purchase', 'streak_3', 'streak_7', 'creator_supporter'] as const;
export type BadgeCode = (typeof BADGE_CODES)[number];

export const BADGES: Record<BadgeCode, { name: string; description: string }> = {
  first_purchase: { name: 'First purchase', description: 'Made a first purchase here.' },
  streak_3: { name: '3-day streak', description: 'Bought something here on 3 days in a row.' },
  streak_7: { name: '7-day streak', description: 'Bought something here on 7 days in a row.' },
  creator_supporter: { name: 'Creator supporter', description: 'Tipped this creator.' },
};

/** Streak lengths that earn a badge, longest last. */
export const STREAK_BADGES: Array<{ days: number; code: BadgeCode }> = [
  { days: 3, code: 'streak_3' },
  { days: 7, code: 'streak_7' },
];
export const STREAK_DAYS_MAX = 7;

export const LOYALTY_BADGES_WRITER = 'loyalty_badges';
export const LOYALTY_BADGE_REVOCATIONS_WRITER = 'loyalty_badge_revocations';

export interface Badge {
  id: string;
  buyerId: string;
  merchantId: string;
  livemode: boolean;
  code: BadgeCode;
  paymentId: string;
  earnedAt: Date;
  revokedAt: Date | null;
}

export function badgeId(buyerId: string, merchantId: string, livemode: boolean, code: BadgeCode): string {
  const digest = createHash('sha256').update(`badge|${buyerId}|${merchantId}|${livemode}|${code}`).digest('hex');
  return `bdg_${digest.slice(0, 26)}`;
}

/** A tip: a line item of category `tip`, or `metadata.category` = `tip` (docs/loyalty.md). */
export function isTip(payment: Payment): boolean {
  return payment.lineItems.some((item) => item.category === 'tip') || payment.metadata?.category === 'tip';
}

/** The length of the run of consecutive UTC days ending `today` on which the buyer bought something,
 * given the earlier days (`YYYY-MM-DD`) they did and counting today's payment. */
export function streakEndingOn(today: string, earlierDays: Iterable<string>): number {
  const days = new Set(earlierDays);
  days.add(today);
  let length = 0;
  const cursor = new Date(`${today}T00:00:00Z`);
  while (length < STREAK_DAYS_MAX && days.has(cursor.toISOString().slice(0, 10))) {
    length += 1;
    cursor.setUTCDate(cursor.getUTCDate() - 1);
  }
  return length;
}

/** The badges `payment` qualifies for, of those the buyer does not hold yet. */
export function badgesEarned(payment: Payment, held: Set<BadgeCode>, earlierDays: string[], now: Date): BadgeCode[] {
  const earned: BadgeCode[] = [];
  if (!held.has('first_purchase')) earned.push('first_purchase');
  const streak = streakEndingOn(now.toISOString().slice(0, 10), earlierDays);
  for (const badge of STREAK_BADGES) if (streak >= badge.days && !held.has(badge.code)) earned.push(badge.code);
  if (isTip(payment) && !held.has('creator_supporter')) earned.push('creator_supporter');
  return earned;
}

export function badgeWrite(badge: Badge): UnitWrite {
  return {
    writer: LOYALTY_BADGES_WRITER,
    row: { id: badge.id, buyer_id: badge.buyerId, merchant_id: badge.merchantId, livemode: badge.livemode, code: badge.code, payment_id: badge.paymentId },
  };
}

/** Marks the badges `paymentId` earned as revoked (the payment was refunded in full or lost in a dispute). */
export function badgeRevocationWrite(paymentId: string): UnitWrite {
  return { writer: LOYALTY_BADGE_REVOCATIONS_WRITER, row: { payment_id: paymentId } };
}

const unixSeconds = (date: Date) => Math.floor(date.getTime() / 1000);

export function badgeJson(badge: Badge, merchant: { id: string; name: string } | null, customerId: string | null = null) {
  const definition = BADGES[badge.code];
  return {
    id: badge.id,
    object: 'badge' as const,
    livemode: badge.livemode,
    code: badge.code,
    name: definition.name,
    description: definition.description,
    merchant,
    customer: customerId,
    payment: badge.paymentId,
    earned_at: unixSeconds(badge.earnedAt),
    revoked_at: badge.revokedAt ? unixSeconds(badge.revokedAt) : null,
  };
}
