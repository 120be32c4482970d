// When scheduled payouts run: at UTC midnight, every day (`daily`) or on one weekday (`weekly`). A run is
// named by its UTC date (its period); a payout created for a period carries it, and the database lets a
// merchant, mode and currency have one payout per period, so a run is paid once however many processes
// carry it out, and however late.
import type { PayoutSchedule } from './model.ts';

const DAY_MS = 24 * 3600 * 1000;

/** The first run of `schedule` strictly after `after`, or null for a manual schedule. */
export function nextRunAfter(schedule: PayoutSchedule, weeklyAnchor: number, after: Date): Date | null {
  if (schedule === 'manual') return null;
  const midnight = Math.floor(after.getTime() / DAY_MS) * DAY_MS + DAY_MS;
  if (schedule === 'daily') return new Date(midnight);
  const weekday = new Date(midnight).getUTCDay();
  return new Date(midnight + ((weeklyAnchor - weekday + 7) % 7) * DAY_MS);
}

/** The period a run at `runAt` pays: its UTC date, `YYYY-MM-DD`. */
export function periodOf(runAt: Date): string {
  return runAt.toISOString().slice(0, 10);
}
