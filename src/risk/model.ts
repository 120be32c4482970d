// The risk engine's vocabulary: what it is asked about (a `RiskInput`), what it observes afterwards
// (`RiskObservation`), and the catalogue of signals it computes, which rules, the learned model and
// the operator console all name the same way.

export type RiskAction = 'payment' | 'top_up' | 'refund' | 'payout' | 'tip';
export type RiskVerdict = 'allow' | 'challenge' | 'review' | 'block';
export type PaymentMethodKind = 'wallet' | 'card' | 'carrier_billing' | 'bank';
export type Segment = 'new' | 'established' | 'trusted' | 'watch';

/** Where the buyer stands, as the client (checkout, SDK) reports it. Every field is optional. */
export interface BuyerContext {
  deviceId?: string | null;
  ipAddress?: string | null;
  /** ISO 3166-1 alpha-2, from the client or from IP geolocation upstream. */
  country?: string | null;
  latitude?: number | null;
  longitude?: number | null;
  phoneNumber?: string | null;
  userAgent?: string | null;
}

/** What a risk decision is about: the movement (its type and id), who pays whom, and how much. */
export interface RiskSubject {
  merchantId: string | null;
  livemode: boolean;
  subjectType: string;
  subjectId: string;
  buyerId: string | null;
  amount: bigint;
  currency: string;
}

/** One money movement to score. `at` is the event time in milliseconds since the epoch (the simulator
 * supplies its own clock; the server supplies Date.now()). */
export interface RiskInput extends RiskSubject {
  action: RiskAction;
  at: number;
  categories: string[];
  method: PaymentMethodKind | null;
  context: BuyerContext;
  /** When the buyer's account was created (ms since the epoch), if known. */
  buyerCreatedAt?: number | null;
  /** The wallet's available balance before this movement, in the same currency, if known. */
  walletBalance?: bigint | null;
  /** Keyed fingerprint and BIN (first 6 digits) of the card of a top-up. */
  cardFingerprint?: string | null;
  cardBin?: string | null;
  /** The monthly carrier-billing limit of the phone line, in the same currency, for carrier billing. */
  carrierMonthlyLimit?: bigint | null;
  /** Points farming facts (payments at a merchant with a loyalty program). */
  loyalty?: LoyaltyRiskFacts | null;
}

/** What loyalty knows of a buyer at the merchant, for farming signals (docs/loyalty.md); absent when
 * the merchant runs no loyalty program. */
export interface LoyaltyRiskFacts {
  /** The buyer's payments at the merchant that earned points in the last 30 days. */
  earningPayments30d: number;
  /** Of those, the ones refunded (in part or whole) or lost in a dispute. */
  refundedPayments30d: number;
  /** Of those, the ones refunded within 7 days of earning. */
  fastRefunds30d: number;
  /** Points refunds should have clawed back but the buyer had already spent. */
  pointsOwed: number;
  /** The buyer's email is an active staff member's of the merchant (self-dealing). */
  buyerIsMerchantStaff: boolean;
}

/** What happened after a decision, or outside one, that the engine learns from. */
export type RiskObservation =
  | { type: 'outcome'; input: RiskInput; succeeded: boolean } // the movement went through, or failed (declined card, insufficient funds)
  | { type: 'refund'; at: number; buyerId: string; merchantId: string; amount: bigint; currency: string; livemode?: boolean }
  | { type: 'dispute'; at: number; buyerId: string; merchantId: string; amount: bigint; currency: string; livemode?: boolean }
  | { type: 'code_redeemed'; at: number; buyerId: string; redeemerId: string; merchantId: string; livemode?: boolean }
  | { type: 'label'; at: number; buyerId: string | null; subjectId: string; fraud: boolean; livemode?: boolean };
// `livemode` of the later observations: absent means both modes (the simulator's traffic has one mode).

export type SignalType = 'number' | 'boolean' | 'string';

export interface SignalDefinition {
  type: SignalType;
  description: string;
  /** Usable as a feature of the learned model (numbers and booleans only). */
  feature?: boolean;
}

/** Every signal the engine computes, by name. Rules refer to them as `:name:`. */
export const SIGNALS = {
  // The movement itself.
  action: { type: 'string', description: 'payment, tip, top_up, refund or payout' },
  amount: { type: 'number', description: 'amount in minor units of the currency' },
  amount_usd: { type: 'number', description: 'amount in US cents at the reference rates (risk only, never money)', feature: true },
  currency: { type: 'string', description: 'ISO 4217 code' },
  category: { type: 'string', description: 'the riskiest line-item category (cash equivalents first)' },
  is_cash_equivalent: { type: 'boolean', description: 'a gift card or game-credit code that can be resold', feature: true },
  method: { type: 'string', description: 'wallet, card, carrier_billing or bank' },
  merchant_id: { type: 'string', description: 'the merchant' },
  buyer_id: { type: 'string', description: 'the buyer' },
  device_id: { type: 'string', description: 'the device the client reported' },
  ip_address: { type: 'string', description: 'the IP address the client reported' },
  country: { type: 'string', description: 'ISO 3166-1 alpha-2 country of the request' },
  card_bin: { type: 'string', description: 'first six digits of the card (top-ups)' },
  phone_number: { type: 'string', description: 'the phone line (carrier billing, one-time codes)' },
  // Velocity of the buyer.
  buyer_payments_1m: { type: 'number', description: 'movements by the buyer in the last minute', feature: true },
  buyer_payments_1h: { type: 'number', description: 'movements by the buyer in the last hour', feature: true },
  buyer_payments_1d: { type: 'number', description: 'movements by the buyer in the last day', feature: true },
  buyer_payments_30d: { type: 'number', description: 'movements by the buyer in the last 30 days', feature: true },
  buyer_amount_1h: { type: 'number', description: 'US cents spent by the buyer in the last hour', feature: true },
  buyer_amount_1d: { type: 'number', description: 'US cents spent by the buyer in the last day', feature: true },
  buyer_amount_30d: { type: 'number', description: 'US cents spent by the buyer in the last 30 days', feature: true },
  buyer_failed_1h: { type: 'number', description: 'failed movements by the buyer in the last hour', feature: true },
  // Velocity of the device, IP, card, phone and merchant.
  device_payments_1h: { type: 'number', description: 'movements from the device in the last hour', feature: true },
  device_buyers_30d: { type: 'number', description: 'distinct buyers seen on the device in 30 days', feature: true },
  device_phones_30d: { type: 'number', description: 'distinct phone numbers seen on the device in 30 days', feature: true },
  ip_payments_1h: { type: 'number', description: 'movements from the IP address in the last hour', feature: true },
  ip_failed_1h: { type: 'number', description: 'failed movements from the IP address in the last hour', feature: true },
  card_attempts_1h: { type: 'number', description: 'top-up attempts with the card in the last hour', feature: true },
  card_failed_1d: { type: 'number', description: 'failed top-ups with the card in the last day', feature: true },
  card_is_new: { type: 'boolean', description: 'the buyer has not topped up with this card before (top-ups)', feature: true },
  card_buyers_30d: { type: 'number', description: 'distinct buyers who used the card in 30 days', feature: true },
  phone_amount_30d: { type: 'number', description: 'US cents billed to the phone line in 30 days', feature: true },
  merchant_payments_1m: { type: 'number', description: 'movements at the merchant in the last minute' },
  merchant_refund_rate_30d: { type: 'number', description: 'refunds / payments at the merchant over 30 days', feature: true },
  merchant_dispute_rate_30d: { type: 'number', description: 'disputes / payments at the merchant over 30 days', feature: true },
  merchant_payer_concentration_30d: { type: 'number', description: 'share of the merchant\'s received value from buyers new in the last 7 days', feature: true },
  // Context of the buyer.
  account_age_days: { type: 'number', description: 'days since the buyer\'s account was created', feature: true },
  device_is_new: { type: 'boolean', description: 'the buyer has not used this device before', feature: true },
  device_age_hours: { type: 'number', description: 'hours since the buyer first paid from this device (0 when new)', feature: true },
  new_device_on_established_account: { type: 'boolean', description: 'an account at least 7 days old paying from a device it never paid from before (account takeover, stolen phone)', feature: true },
  new_account_cash_equivalent: { type: 'boolean', description: 'an account less than 7 days old buying resellable codes', feature: true },
  ip_is_new: { type: 'boolean', description: 'the buyer has not used this IP address before', feature: true },
  country_is_new: { type: 'boolean', description: 'the buyer has not paid from this country before', feature: true },
  travel_speed_kmh: { type: 'number', description: 'speed needed to travel from the buyer\'s previous location', feature: true },
  impossible_travel: { type: 'boolean', description: 'travel_speed_kmh above 900 km/h', feature: true },
  amount_vs_buyer_average: { type: 'number', description: 'amount / the buyer\'s average over 30 days (1 without history)', feature: true },
  wallet_drain_ratio: { type: 'number', description: 'amount / available wallet balance before the movement', feature: true },
  carrier_limit_used_ratio: { type: 'number', description: 'share of the monthly carrier-billing limit used, this movement included', feature: true },
  buyer_refund_rate_30d: { type: 'number', description: 'refunds / payments of the buyer over 30 days', feature: true },
  buyer_disputes_30d: { type: 'number', description: 'disputes opened by the buyer in 30 days', feature: true },
  buyer_codes_redeemed_elsewhere_30d: { type: 'number', description: 'codes bought by the buyer and redeemed by another account in 30 days', feature: true },
  buyer_points_refund_rate_30d: { type: 'number', description: "share of the buyer's points-earning payments at the merchant in 30 days that were refunded or lost in a dispute (null without a loyalty program)" },
  buyer_points_fast_refunds_30d: { type: 'number', description: "the buyer's points-earning payments at the merchant refunded within 7 days of earning, over 30 days (points farming)" },
  buyer_points_owed: { type: 'number', description: 'points refunds should have clawed back from the buyer at the merchant but that were already spent' },
  buyer_is_merchant_staff: { type: 'boolean', description: "the buyer's email is an active staff member's of the merchant (self-dealing)" },
  segment: { type: 'string', description: 'trust segment: new, established, trusted or watch' },
  // Set by the engine after the model ran, for rules that want it.
  risk_score: { type: 'number', description: 'the learned model\'s fraud probability, 0 to 1 (0 when no model is loaded)' },
} as const satisfies Record<string, SignalDefinition>;

export type SignalName = keyof typeof SIGNALS;
export type SignalValue = number | boolean | string | null;
export type Signals = Record<SignalName, SignalValue>;

export const SIGNAL_NAMES = Object.keys(SIGNALS) as SignalName[];

/** The signals of a buyer's history that explain its segment (the rest describe one movement). */
export const PROFILE_SIGNALS = [
  'account_age_days', 'buyer_payments_1d', 'buyer_payments_30d', 'buyer_amount_30d', 'buyer_failed_1h',
  'buyer_refund_rate_30d', 'buyer_disputes_30d', 'buyer_codes_redeemed_elsewhere_30d',
] as const satisfies readonly SignalName[];
export const FEATURE_NAMES = SIGNAL_NAMES.filter((name) => (SIGNALS[name] as SignalDefinition).feature === true);

/** Categories whose goods can be resold for cash. */
export const CASH_EQUIVALENT_CATEGORIES = new Set(['gift_card', 'game_credit_code']);

export interface RiskReason {
  code: string;
  message: string;
}

export interface ShadowMatch {
  ruleId: string;
  version: number;
  action: RiskVerdict;
}

/** What the engine answers for one input. */
export interface RiskAssessment {
  decision: RiskVerdict;
  /** The learned model's fraud probability, or null when no model is loaded. */
  score: number | null;
  reasons: RiskReason[];
  segment: Segment;
  signals: Signals;
  /** Shadow rules that matched: recorded, never acted on. */
  shadow: ShadowMatch[];
}

/** The engine as its callers (the risk hook, the simulator, the benchmark) see it. */
export interface RiskEngine {
  score(input: RiskInput): Promise<RiskAssessment>;
  observe(observation: RiskObservation): Promise<void>;
}
