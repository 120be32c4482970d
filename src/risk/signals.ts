// Signals: what the engine knows about a movement at the moment it is scored, read from the counters
// in one round trip of each kind (windows, set memberships, registers), and what it records
// afterwards from observations. Counter keys are namespaced by mode (test and live never mix) and by
// what they count:
//   windows  b: buyer attempts   bf: buyer failures   bs: buyer spend that went through
//            d: device attempts  i: IP attempts       if: IP failures
//            c: card attempts    cf: card failures    p: carrier billing that went through, per phone
//            m: merchant receipts mn: receipts from buyers new in 7 days
//            mr/br: refunds (merchant/buyer)  md/bd: disputes  bx: buyer's codes redeemed by others
//   sets     bdev/bip/bcty/bcard: devices, IPs, countries and cards the buyer used successfully
//            dbuy/dph: buyers and phones seen on a device  cbuy: buyers seen with a card
//   registers bloc: last location "lat,lon,atMs"  bfirst: first seen  bwatch: fraud label seen
//            bdseen: when the buyer first paid from a device (a device that paid once an hour ago is
//            not "new" any more, but an account taken over an hour ago still uses a young device)
import type { RiskCounters, WindowTotals } from './counters.ts';
import {
  CASH_EQUIVALENT_CATEGORIES,
  type RiskInput,
  type RiskObservation,
  type Segment,
  type Signals,
} from './model.ts';
import { usdCents } from './rates.ts';

const DAY_MS = 86_400_000;
const SET_TTL_MS = 180 * DAY_MS;
const WATCH_TTL_MS = 90 * DAY_MS;
const LOCATION_TTL_MS = 30 * DAY_MS;
const IMPOSSIBLE_SPEED_KMH = 900;

/** How segments are assigned; thresholds are the operator's to tune (see docs/risk.md). */
export interface SegmentRules {
  newAccountDays: number;
  newPaymentsMin: number;
  trustedAccountDays: number;
  trustedPaymentsMin: number;
  watchRefundRate: number;
  watchCodesRedeemedElsewhere: number;
}

export const DEFAULT_SEGMENT_RULES: SegmentRules = {
  newAccountDays: 7,
  newPaymentsMin: 3,
  trustedAccountDays: 30,
  trustedPaymentsMin: 10,
  watchRefundRate: 0.5,
  watchCodesRedeemedElsewhere: 2,
};

function prefix(livemode: boolean): string {
  return livemode ? 'l:' : 't:';
}

function cashFirstCategory(categories: readonly string[]): string | null {
  return categories.find((category) => CASH_EQUIVALENT_CATEGORIES.has(category)) ?? categories[0] ?? null;
}

/** Great-circle distance in kilometres. */
function distanceKm(latA: number, lonA: number, latB: number, lonB: number): number {
  const radians = Math.PI / 180;
  const dLat = (latB - latA) * radians;
  const dLon = (lonB - lonA) * radians;
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(latA * radians) * Math.cos(latB * radians) * Math.sin(dLon / 2) ** 2;
  return 2 * 6371 * Math.asin(Math.min(1, Math.sqrt(h)));
}

function travelSpeedKmh(previous: string | null, input: RiskInput): number | null {
  const { latitude, longitude } = input.context;
  if (previous === null || latitude == null || longitude == null) return null;
  const [lat, lon, at] = previous.split(',').map(Number);
  if (lat === undefined || lon === undefined || at === undefined || !Number.isFinite(at)) return null;
  const hours = Math.max(input.at - at, 60_000) / 3_600_000;
  return Math.round(distanceKm(lat, lon, latitude, longitude) / hours);
}

function ratio(numerator: number, denominator: number): number {
  return denominator > 0 ? numerator / denominator : 0;
}

export function segmentOf(signals: Pick<Signals, 'account_age_days' | 'buyer_disputes_30d' | 'buyer_refund_rate_30d' | 'buyer_codes_redeemed_elsewhere_30d'>, successes30d: number, watched: boolean, rules: SegmentRules): Segment {
  const age = Number(signals.account_age_days ?? 0);
  if (
    watched ||
    Number(signals.buyer_disputes_30d ?? 0) > 0 ||
    (successes30d >= 3 && Number(signals.buyer_refund_rate_30d ?? 0) >= rules.watchRefundRate) ||
    Number(signals.buyer_codes_redeemed_elsewhere_30d ?? 0) >= rules.watchCodesRedeemedElsewhere
  ) {
    return 'watch';
  }
  if (age < rules.newAccountDays || (age < rules.trustedAccountDays && successes30d < rules.newPaymentsMin)) return 'new';
  if (age >= rules.trustedAccountDays && successes30d >= rules.trustedPaymentsMin) return 'trusted';
  return 'established';
}

/** The slots that are asked about (a slot is null when the input lacks what it needs). */
function present<T>(slots: readonly (T | null)[]): T[] {
  return slots.filter((slot): slot is T => slot !== null);
}

/** The answers to the present slots, put back in slot order; an absent slot answers `absent`. */
function bySlot<const S extends readonly unknown[], R>(slots: S, answers: readonly R[], absent: R): { [K in keyof S]: R } {
  let next = 0;
  return slots.map((slot) => (slot === null ? absent : answers[next++] ?? absent)) as { [K in keyof S]: R };
}

const EMPTY: WindowTotals = { count1m: 0, sum1m: 0, count1h: 0, sum1h: 0, count1d: 0, sum1d: 0, count30d: 0, sum30d: 0 };

/** Reads every counter the signals need and computes them (risk_score is left 0 for the engine). */
export async function computeSignals(input: RiskInput, counters: RiskCounters, rules: SegmentRules): Promise<Signals> {
  const mode = prefix(input.livemode);
  const { deviceId, ipAddress, country, phoneNumber } = input.context;
  const buyer = input.buyerId;
  const card = input.cardFingerprint ?? null;
  const merchant = input.merchantId;
  const when = <T>(present: unknown, value: T): T | null => (present ? value : null);
  const windowKeys = [
    when(buyer, `${mode}b:${buyer}`), when(buyer, `${mode}bf:${buyer}`), when(buyer, `${mode}bs:${buyer}`),
    when(deviceId, `${mode}d:${deviceId}`), when(ipAddress, `${mode}i:${ipAddress}`), when(ipAddress, `${mode}if:${ipAddress}`),
    when(card, `${mode}c:${card}`), when(card, `${mode}cf:${card}`), when(phoneNumber, `${mode}p:${phoneNumber}`),
    when(merchant, `${mode}m:${merchant}`), when(merchant, `${mode}mn:${merchant}`), when(merchant, `${mode}mr:${merchant}`), when(merchant, `${mode}md:${merchant}`),
    when(buyer, `${mode}br:${buyer}`), when(buyer, `${mode}bd:${buyer}`), when(buyer, `${mode}bx:${buyer}`),
  ] as const;
  const memberQueries = [
    when(buyer && deviceId, { key: `${mode}bdev:${buyer}`, member: deviceId ?? '' }),
    when(buyer && ipAddress, { key: `${mode}bip:${buyer}`, member: ipAddress ?? '' }),
    when(buyer && country, { key: `${mode}bcty:${buyer}`, member: country ?? '' }),
    when(deviceId, { key: `${mode}dbuy:${deviceId}`, member: buyer ?? '' }),
    when(deviceId, { key: `${mode}dph:${deviceId}`, member: phoneNumber ?? '' }),
    when(card, { key: `${mode}cbuy:${card}`, member: buyer ?? '' }),
    when(card && buyer, { key: `${mode}bcard:${buyer}`, member: card ?? '' }),
  ];
  const registerKeys = buyer ? [`${mode}bloc:${buyer}`, `${mode}bfirst:${buyer}`, `${mode}bwatch:${buyer}`, `${mode}bdseen:${buyer}:${deviceId ?? ''}`] : [];
  const [windowTotals, memberships, registers] = await Promise.all([
    counters.windows(present(windowKeys), input.at),
    counters.members(present(memberQueries), input.at),
    counters.get(registerKeys, input.at),
  ]);
  const [buyerAttempts, buyerFailures, buyerSpend, device, ip, ipFailures, cardAttempts, cardFailures, phone, merchantReceipts, merchantFromNew, merchantRefunds, merchantDisputes, buyerRefunds, buyerDisputes, buyerRedeemed] =
    bySlot(windowKeys, windowTotals, EMPTY);
  const membership = bySlot(memberQueries, memberships, null);
  const member = (index: number) => membership[index] ?? null;
  const amountUsd = usdCents(input.amount, input.currency);
  const [location, firstSeen, watch, deviceSeen] = registers;
  const createdAt = input.buyerCreatedAt ?? (firstSeen ? Number(firstSeen) : null);
  const speed = travelSpeedKmh(location ?? null, input);
  const average = ratio(buyerSpend.sum30d, buyerSpend.count30d);
  const newness = (index: number) => {
    const found = member(index);
    return found === null ? null : !found.isMember;
  };
  const signals: Signals = {
    action: input.action,
    amount: Number(input.amount),
    amount_usd: amountUsd,
    currency: input.currency,
    category: cashFirstCategory(input.categories),
    is_cash_equivalent: input.categories.some((category) => CASH_EQUIVALENT_CATEGORIES.has(category)),
    method: input.method,
    merchant_id: merchant,
    buyer_id: buyer,
    device_id: deviceId ?? null,
    ip_address: ipAddress ?? null,
    country: country ?? null,
    card_bin: input.cardBin ?? null,
    phone_number: phoneNumber ?? null,
    buyer_payments_1m: buyerAttempts.count1m,
    buyer_payments_1h: buyerAttempts.count1h,
    buyer_payments_1d: buyerAttempts.count1d,
    buyer_payments_30d: buyerAttempts.count30d,
    buyer_amount_1h: buyerAttempts.sum1h,
    buyer_amount_1d: buyerAttempts.sum1d,
    buyer_amount_30d: buyerAttempts.sum30d,
    buyer_failed_1h: buyerFailures.count1h,
    device_payments_1h: device.count1h,
    device_buyers_30d: member(3)?.size ?? 0,
    device_phones_30d: member(4)?.size ?? 0,
    ip_payments_1h: ip.count1h,
    ip_failed_1h: ipFailures.count1h,
    card_attempts_1h: cardAttempts.count1h,
    card_failed_1d: cardFailures.count1d,
    card_buyers_30d: member(5)?.size ?? 0,
    card_is_new: newness(6),
    phone_amount_30d: phone.sum30d,
    merchant_payments_1m: merchantReceipts.count1m,
    merchant_refund_rate_30d: ratio(merchantRefunds.count30d, merchantReceipts.count30d),
    merchant_dispute_rate_30d: ratio(merchantDisputes.count30d, merchantReceipts.count30d),
    merchant_payer_concentration_30d: ratio(merchantFromNew.sum30d, merchantReceipts.sum30d),
    account_age_days: createdAt === null ? 0 : Math.max(0, Math.floor((input.at - createdAt) / DAY_MS)),
    device_is_new: newness(0),
    device_age_hours: deviceId && buyer ? (deviceSeen ? Math.max(0, Math.floor((input.at - Number(deviceSeen)) / 3_600_000)) : 0) : null,
    ip_is_new: newness(1),
    country_is_new: newness(2),
    travel_speed_kmh: speed,
    impossible_travel: speed === null ? null : speed > IMPOSSIBLE_SPEED_KMH,
    amount_vs_buyer_average: average > 0 ? amountUsd / average : 1,
    wallet_drain_ratio: input.method === 'wallet' && input.walletBalance != null && input.walletBalance > 0n
      ? Number(input.amount) / Number(input.walletBalance)
      : null,
    carrier_limit_used_ratio: input.method === 'carrier_billing' && input.carrierMonthlyLimit != null && input.carrierMonthlyLimit > 0n
      ? (phone.sum30d + amountUsd) / usdCents(input.carrierMonthlyLimit, input.currency)
      : null,
    buyer_refund_rate_30d: ratio(buyerRefunds.count30d, buyerSpend.count30d),
    buyer_disputes_30d: buyerDisputes.count30d,
    buyer_codes_redeemed_elsewhere_30d: buyerRedeemed.count30d,
    buyer_points_refund_rate_30d: input.loyalty ? ratio(input.loyalty.refundedPayments30d, input.loyalty.earningPayments30d) : null,
    buyer_points_fast_refunds_30d: input.loyalty ? input.loyalty.fastRefunds30d : null,
    buyer_points_owed: input.loyalty ? input.loyalty.pointsOwed : null,
    buyer_is_merchant_staff: input.loyalty ? input.loyalty.buyerIsMerchantStaff : null,
    new_device_on_established_account: null,
    new_account_cash_equivalent: null,
    segment: 'new',
    risk_score: 0,
  };
  const accountAge = Number(signals.account_age_days);
  signals.new_device_on_established_account = signals.device_is_new === null ? null : signals.device_is_new === true && accountAge >= 7;
  signals.new_account_cash_equivalent = buyer ? accountAge < 7 && signals.is_cash_equivalent === true : null;
  signals.segment = buyer ? segmentOf(signals, buyerSpend.count30d, watch !== null && watch !== undefined, rules) : 'new';
  return signals;
}

/** Records what an observation teaches the counters. */
export async function recordObservation(observation: RiskObservation, counters: RiskCounters): Promise<void> {
  if (observation.type === 'outcome') return recordOutcome(observation.input, observation.succeeded, counters);
  const { buyerId } = observation;
  const at = observation.at;
  const modes = observation.livemode === undefined ? ['l:', 't:'] : [prefix(observation.livemode)];
  if (observation.type === 'label') {
    if (observation.fraud && buyerId) await counters.put(modes.map((mode) => ({ key: `${mode}bwatch:${buyerId}`, value: '1' })), at, WATCH_TTL_MS);
    return;
  }
  for (const mode of modes) {
    if (observation.type === 'refund') {
      const amount = usdCents(observation.amount, observation.currency);
      await counters.add([{ key: `${mode}br:${buyerId}`, amount }, { key: `${mode}mr:${observation.merchantId}`, amount }], at);
    } else if (observation.type === 'dispute') {
      const amount = usdCents(observation.amount, observation.currency);
      await counters.add([{ key: `${mode}bd:${buyerId}`, amount }, { key: `${mode}md:${observation.merchantId}`, amount }], at);
    } else {
      await counters.add([{ key: `${mode}bx:${buyerId}`, amount: 0 }], at);
    }
  }
}

async function recordOutcome(input: RiskInput, succeeded: boolean, counters: RiskCounters): Promise<void> {
  const mode = prefix(input.livemode);
  const { deviceId, ipAddress, country, phoneNumber, latitude, longitude } = input.context;
  const buyer = input.buyerId;
  const card = input.cardFingerprint ?? null;
  const amount = usdCents(input.amount, input.currency);
  const spends = input.action === 'payment' || input.action === 'tip';
  const adds: { key: string; amount: number }[] = [];
  const push = (condition: unknown, key: string) => {
    if (condition) adds.push({ key, amount });
  };
  push(buyer, `${mode}b:${buyer}`);
  push(buyer && !succeeded, `${mode}bf:${buyer}`);
  push(buyer && succeeded && spends, `${mode}bs:${buyer}`);
  push(deviceId, `${mode}d:${deviceId}`);
  push(ipAddress, `${mode}i:${ipAddress}`);
  push(ipAddress && !succeeded, `${mode}if:${ipAddress}`);
  push(card, `${mode}c:${card}`);
  push(card && !succeeded, `${mode}cf:${card}`);
  push(phoneNumber && succeeded && input.method === 'carrier_billing', `${mode}p:${phoneNumber}`);
  push(input.merchantId && succeeded && spends, `${mode}m:${input.merchantId}`);
  const isNewBuyer = input.buyerCreatedAt != null && input.at - input.buyerCreatedAt < 7 * DAY_MS;
  push(input.merchantId && succeeded && spends && isNewBuyer, `${mode}mn:${input.merchantId}`);
  // Linkage sets count every attempt (a card tester's failures link cards to devices too); the buyer's
  // own known devices, IPs and countries only grow with movements that went through.
  const members: { key: string; member: string }[] = [];
  if (deviceId && buyer) members.push({ key: `${mode}dbuy:${deviceId}`, member: buyer });
  if (deviceId && phoneNumber) members.push({ key: `${mode}dph:${deviceId}`, member: phoneNumber });
  if (card && buyer) members.push({ key: `${mode}cbuy:${card}`, member: buyer });
  const registers: { key: string; value: string }[] = [];
  if (buyer && succeeded) {
    if (deviceId) members.push({ key: `${mode}bdev:${buyer}`, member: deviceId });
    if (ipAddress) members.push({ key: `${mode}bip:${buyer}`, member: ipAddress });
    if (country) members.push({ key: `${mode}bcty:${buyer}`, member: country });
    if (card) members.push({ key: `${mode}bcard:${buyer}`, member: card });
    if (latitude != null && longitude != null) registers.push({ key: `${mode}bloc:${buyer}`, value: `${latitude},${longitude},${input.at}` });
  }
  const deviceSeenKey = buyer && deviceId && succeeded ? `${mode}bdseen:${buyer}:${deviceId}` : null;
  const [firstSeen, deviceSeen] = buyer ? await counters.get([`${mode}bfirst:${buyer}`, deviceSeenKey ?? `${mode}bfirst:${buyer}`], input.at) : ['known', 'known'];
  const firstDeviceUse = deviceSeenKey && (deviceSeen === null || deviceSeen === undefined) ? [{ key: deviceSeenKey, value: String(input.at) }] : [];
  await Promise.all([
    adds.length > 0 ? counters.add(adds, input.at) : undefined,
    members.length > 0 ? counters.addMembers(members, input.at, SET_TTL_MS) : undefined,
    registers.length > 0 ? counters.put(registers, input.at, LOCATION_TTL_MS) : undefined,
    firstDeviceUse.length > 0 ? counters.put(firstDeviceUse, input.at, SET_TTL_MS) : undefined,
    buyer && (firstSeen === null || firstSeen === undefined) ? counters.put([{ key: `${mode}bfirst:${buyer}`, value: String(input.at) }], input.at, 10 * 365 * DAY_MS) : undefined,
  ]);
}
