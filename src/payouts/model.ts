// Payouts and payout settings as the merchant API shows them. Bank account numbers leave the server
// masked: only their type and last four characters.
import type { BankAccountType } from '../rails/bank.ts';
import { amountJson } from '../payments/model.ts';

export const PAYOUT_STATUSES = ['pending', 'in_transit', 'paid', 'failed'] as const;
export type PayoutStatus = (typeof PAYOUT_STATUSES)[number];

export const PAYOUT_SCHEDULES = ['daily', 'weekly', 'manual'] as const;
export type PayoutSchedule = (typeof PAYOUT_SCHEDULES)[number];

export const WEEKDAYS = ['sunday', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday'] as const;
export type Weekday = (typeof WEEKDAYS)[number];

/** Why a payout failed: the bank's ISO 20022 reason codes and ours, as stable names (docs/api/payouts.md). */
export const PAYOUT_FAILURE_CODES = {
  AC01: 'invalid_account_number',
  AC04: 'account_closed',
  AC06: 'account_frozen',
  AG01: 'declined',
  AM05: 'duplicate',
  BE01: 'account_holder_mismatch',
  FF01: 'invalid_request',
  MS03: 'declined',
} as const satisfies Record<string, string>;

export type PayoutFailureCode = (typeof PAYOUT_FAILURE_CODES)[keyof typeof PAYOUT_FAILURE_CODES] | 'payout_blocked' | 'bank_rejected';

export interface Destination {
  type: BankAccountType;
  number: string;
  holderName: string;
}

export interface PayoutSettings {
  merchantId: string;
  livemode: boolean;
  bankAccount: Destination | null;
  schedule: PayoutSchedule;
  /** 0 is Sunday. */
  weeklyAnchor: number;
  /** The merchant's own minimums, per currency, in minor units. */
  minimumAmounts: Record<string, bigint>;
  nextRunAt: Date | null;
  updatedAt: Date | null;
}

export interface Payout {
  id: string;
  merchantId: string;
  livemode: boolean;
  amount: bigint;
  currency: string;
  status: PayoutStatus;
  automatic: boolean;
  /** The scheduled run it belongs to (UTC date), or null for an on-demand payout. */
  period: string | null;
  description: string | null;
  destination: Destination;
  bankReference: string | null;
  bankReasonCode: string | null;
  failureCode: string | null;
  failureMessage: string | null;
  riskDecisionId: string | null;
  metadata: Record<string, string> | null;
  nextAttemptAt: Date | null;
  submitAttempts: number;
  paidAt: Date | null;
  version: number;
  createdAt: Date;
  updatedAt: Date;
}

export function maskedAccount(destination: Destination) {
  return {
    object: 'bank_account' as const,
    type: destination.type,
    last4: destination.number.slice(-4),
    country: destination.type === 'iban' ? destination.number.slice(0, 2) : null,
    account_holder_name: destination.holderName,
  };
}

const unixSeconds = (date: Date) => Math.floor(date.getTime() / 1000);

export function payoutJson(payout: Payout) {
  return {
    id: payout.id,
    object: 'payout' as const,
    livemode: payout.livemode,
    amount: amountJson(payout.amount),
    currency: payout.currency,
    status: payout.status,
    automatic: payout.automatic,
    period: payout.period,
    description: payout.description,
    destination: maskedAccount(payout.destination),
    bank_reference: payout.bankReference,
    failure_code: payout.failureCode,
    failure_message: payout.failureMessage,
    bank_reason_code: payout.bankReasonCode,
    risk_decision: payout.riskDecisionId,
    metadata: payout.metadata ?? {},
    paid_at: payout.paidAt ? unixSeconds(payout.paidAt) : null,
    created: unixSeconds(payout.createdAt),
  };
}

export function payoutSettingsJson(settings: PayoutSettings, minimums: Record<string, bigint>) {
  return {
    object: 'payout_settings' as const,
    livemode: settings.livemode,
    bank_account: settings.bankAccount ? maskedAccount(settings.bankAccount) : null,
    schedule: { interval: settings.schedule, weekly_anchor: WEEKDAYS[settings.weeklyAnchor]! },
    minimum_amounts: Object.fromEntries(Object.entries(minimums).map(([currency, amount]) => [currency, amountJson(amount)])),
    next_run: settings.nextRunAt ? unixSeconds(settings.nextRunAt) : null,
    updated: settings.updatedAt ? unixSeconds(settings.updatedAt) : null,
  };
}
