// A seeded simulator of Micropay traffic: honest buyers and merchants over weeks, with seven labelled
// fraud typologies mixed in. The risk engine is evaluated on it (see harness.ts), so the traffic is
// meant to be hard in the ways real traffic is hard: honest buyers also buy gift cards, travel, change
// phones, share carrier-NAT IP addresses, hit their carrier-billing limits and open new accounts, while
// fraud often comes from established accounts, local IP addresses and plausible amounts.
//
// The generator knows nothing of the engine's decisions. Balances and carrier-billing usage are tracked
// as if every movement whose rail succeeds went through; the harness only delivers an attempt's
// follow-ups when it actually went through.
//
// Labels: every fraudulent attempt that goes through is followed by a `label` observation with
// `fraud: true` days to weeks later (disputes, chargebacks, reviews), except part of cash-out (about 15%
// is never detected). Honest attempts get no label, except that about a third of the rare honest disputes
// ("friendly fraud" filed as unauthorised) end in a false `fraud: true` label.
import type { BuyerContext, PaymentMethodKind, RiskAction, RiskInput, RiskObservation } from '../model.ts';
import { CASH_EQUIVALENT_CATEGORIES } from '../model.ts';
import { usdCents } from './rates.ts';
import { seededRandom } from '../seeded-random.ts';

export type Typology =
  | 'account_takeover'
  | 'card_testing'
  | 'stolen_phone_carrier_billing'
  | 'cash_out'
  | 'refund_abuse'
  | 'loyalty_farming'
  | 'mule_creator';

export const TYPOLOGIES: readonly Typology[] = [
  'account_takeover',
  'card_testing',
  'stolen_phone_carrier_billing',
  'cash_out',
  'refund_abuse',
  'loyalty_farming',
  'mule_creator',
];

export interface Truth {
  fraud: boolean;
  typology: Typology | null;
  /** Whether the actor would pass a challenge (passkey, one-time code, 3-D Secure). */
  passesChallenge: boolean;
  /** Whether the rail (card network, carrier, wallet ledger) accepts the movement if it is let through. */
  railSucceeds: boolean;
}

export interface FollowUp {
  delayMs: number;
  observation: RiskObservation;
}

export type SimulatedEvent =
  | { kind: 'attempt'; input: RiskInput; truth: Truth; followUps: FollowUp[] }
  | { kind: 'observation'; observation: RiskObservation };

export interface TrafficOptions {
  seed: number;
  weeks: number;
  buyers: number;
  merchants: number;
  startMs?: number;
  /** Multiplies each typology's default number of incidents: 1 by default, 0 removes the typology. */
  fraudScale?: number | Partial<Record<Typology, number>>;
}

export interface SimulatedTraffic {
  seed: number;
  startMs: number;
  endMs: number;
  /** In time order (`input.at` of attempts, `at` of observations); ties keep generation order. */
  events: SimulatedEvent[];
}

export const DEFAULT_TRAFFIC_OPTIONS = { seed: 1, weeks: 8, buyers: 20_000, merchants: 400 } as const;
/** Monday 6 January 2025, 00:00 UTC: a fixed default so that a seed alone fixes the traffic. */
export const DEFAULT_START_MS = Date.UTC(2025, 0, 6);

const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;
const DAY_MS = 24 * HOUR_MS;
const WEEK_MS = 7 * DAY_MS;
const WEEKS_MAX = 104;
const BUYERS_MAX = 1_000_000;
const MERCHANTS_MAX = 100_000;
const EVENTS_MAX = 20_000_000;
const SESSIONS_PER_BUYER_MAX = 2_000;

/** Incidents of each typology at the default sizes (20,000 buyers over 8 weeks); scaled linearly. */
const INCIDENTS_AT_DEFAULT: Record<Typology, number> = {
  account_takeover: 90,
  card_testing: 22,
  stolen_phone_carrier_billing: 45,
  cash_out: 14,
  refund_abuse: 60,
  loyalty_farming: 28,
  mule_creator: 12,
};

// ---------------------------------------------------------------------------------------------------
// Seeded randomness (mulberry32): the only source of randomness, so a seed fixes the whole traffic.

export interface Random {
  /** Uniform in [0, 1). */
  next(): number;
  between(min: number, max: number): number;
  /** Uniform integer in [min, max]. */
  int(min: number, max: number): number;
  chance(probability: number): boolean;
  pick<T>(items: readonly T[]): T;
  normal(): number;
  logNormal(median: number, sigma: number): number;
  exponential(mean: number): number;
  hex(length: number): string;
}

export function createRandom(seed: number): Random {
  const next = seededRandom(seed);
  const normal = (): number => {
    const first = 1 - next();
    return Math.sqrt(-2 * Math.log(first)) * Math.cos(2 * Math.PI * next());
  };
  return {
    next,
    between: (min, max) => min + (max - min) * next(),
    int: (min, max) => min + Math.floor(next() * (max - min + 1)),
    chance: (probability) => next() < probability,
    pick<T>(items: readonly T[]): T {
      const item = items[Math.floor(next() * items.length)];
      if (item === undefined) throw new Error('pick from an empty list');
      return item;
    },
    normal,
    logNormal: (median, sigma) => median * Math.exp(sigma * normal()),
    exponential: (mean) => -mean * Math.log(1 - next()),
    hex(length) {
      let text = '';
      while (text.length < length) text += Math.floor(next() * 0x100000000).toString(16).padStart(8, '0');
      return text.slice(0, length);
    },
  };
}

// ---------------------------------------------------------------------------------------------------
// Geography and currencies.

type Currency = 'KRW' | 'USD' | 'EUR' | 'JPY';

interface Place {
  country: string;
  latitude: number;
  longitude: number;
  utcOffsetHours: number;
  ipFirstOctets: readonly number[];
}

interface Region {
  country: string;
  currency: Currency;
  weight: number;
  cities: readonly Place[];
  phonePrefix: string;
  phoneDigits: number;
  /** Share of the region's buyers who pay mostly by carrier billing. */
  carrierShare: number;
  carrierLimits: readonly bigint[];
  cardBins: readonly string[];
}

function place(country: string, latitude: number, longitude: number, utcOffsetHours: number, ipFirstOctets: number[]): Place {
  return { country, latitude, longitude, utcOffsetHours, ipFirstOctets };
}

const REGIONS: readonly Region[] = [
  {
    country: 'KR', currency: 'KRW', weight: 0.4, phonePrefix: '+8210', phoneDigits: 8, carrierShare: 0.45,
    carrierLimits: [300_000n, 500_000n, 500_000n, 1_000_000n], cardBins: ['943116', '531838', '404825', '522970', '625904'],
    cities: [place('KR', 37.57, 126.98, 9, [211, 175, 121]), place('KR', 35.18, 129.08, 9, [211, 59]),
      place('KR', 37.46, 126.71, 9, [121, 112]), place('KR', 35.87, 128.6, 9, [175, 118])],
  },
  {
    country: 'US', currency: 'USD', weight: 0.22, phonePrefix: '+1', phoneDigits: 10, carrierShare: 0.08,
    carrierLimits: [5_000n, 10_000n, 10_000n, 20_000n], cardBins: ['414720', '426684', '517805', '601100', '371449'],
    cities: [place('US', 40.71, -74.0, -5, [73, 98]), place('US', 34.05, -118.24, -8, [172, 76]),
      place('US', 41.88, -87.63, -6, [24, 98]), place('US', 29.76, -95.37, -6, [73, 99])],
  },
  {
    country: 'DE', currency: 'EUR', weight: 0.09, phonePrefix: '+4915', phoneDigits: 9, carrierShare: 0.1,
    carrierLimits: [5_000n, 10_000n], cardBins: ['492942', '535522', '455600'],
    cities: [place('DE', 52.52, 13.4, 1, [84, 91]), place('DE', 48.14, 11.58, 1, [79, 93])],
  },
  {
    country: 'FR', currency: 'EUR', weight: 0.07, phonePrefix: '+336', phoneDigits: 8, carrierShare: 0.12,
    carrierLimits: [5_000n, 10_000n], cardBins: ['497010', '513100', '497355'],
    cities: [place('FR', 48.86, 2.35, 1, [90, 86]), place('FR', 45.76, 4.84, 1, [92, 90])],
  },
  {
    country: 'ES', currency: 'EUR', weight: 0.05, phonePrefix: '+346', phoneDigits: 8, carrierShare: 0.1,
    carrierLimits: [5_000n, 10_000n], cardBins: ['454881', '540068'],
    cities: [place('ES', 40.42, -3.7, 1, [83, 88]), place('ES', 41.39, 2.17, 1, [88, 83])],
  },
  {
    country: 'JP', currency: 'JPY', weight: 0.17, phonePrefix: '+8190', phoneDigits: 8, carrierShare: 0.3,
    carrierLimits: [10_000n, 30_000n, 50_000n], cardBins: ['356600', '353011', '490222', '540926'],
    cities: [place('JP', 35.68, 139.69, 9, [126, 153]), place('JP', 34.69, 135.5, 9, [60, 126])],
  },
];

/** Where honest buyers travel: every home city plus some holiday destinations. */
const TRAVEL_PLACES: readonly Place[] = [
  ...REGIONS.flatMap((region) => region.cities),
  place('TH', 13.76, 100.5, 7, [110, 171]), place('GB', 51.51, -0.13, 0, [81, 86]), place('VN', 21.03, 105.85, 7, [113, 14]),
  place('IT', 41.9, 12.5, 1, [93, 79]), place('US', 21.31, -157.86, -10, [66]), place('AU', -33.87, 151.21, 10, [101, 1]),
];

/** Where foreign attackers and their hosting sit. */
const ATTACKER_PLACES: readonly Place[] = [
  place('VN', 10.82, 106.63, 7, [113, 14]), place('ID', -6.2, 106.85, 7, [36, 182]), place('BR', -23.55, -46.63, -3, [177, 189]),
  place('NG', 6.52, 3.38, 1, [105, 197]), place('RO', 44.43, 26.1, 2, [86, 5]), place('RU', 55.76, 37.62, 3, [95, 178]),
  place('US', 39.04, -77.49, -5, [34, 52]), place('NL', 52.37, 4.9, 1, [185, 45]), place('CN', 22.54, 114.06, 8, [113, 183]),
];

interface CurrencyTable {
  minimumPrice: bigint;
  maximumPrice: bigint;
  topUps: readonly bigint[];
  codes: readonly bigint[];
  giftCards: readonly bigint[];
  minimumTopUp: bigint;
  minimumPayout: bigint;
}

const CURRENCIES: Record<Currency, CurrencyTable> = {
  KRW: {
    minimumPrice: 300n, maximumPrice: 50_000n, topUps: [10_000n, 20_000n, 30_000n, 50_000n, 100_000n],
    codes: [5_000n, 10_000n, 30_000n, 50_000n], giftCards: [10_000n, 30_000n, 50_000n], minimumTopUp: 5_000n, minimumPayout: 10_000n,
  },
  USD: {
    minimumPrice: 25n, maximumPrice: 5_000n, topUps: [500n, 1_000n, 2_000n, 2_500n, 5_000n, 10_000n],
    codes: [500n, 1_000n, 2_500n, 5_000n], giftCards: [1_000n, 2_500n, 5_000n, 10_000n], minimumTopUp: 500n, minimumPayout: 1_000n,
  },
  EUR: {
    minimumPrice: 25n, maximumPrice: 5_000n, topUps: [500n, 1_000n, 2_000n, 2_500n, 5_000n, 10_000n],
    codes: [500n, 1_000n, 2_500n, 5_000n], giftCards: [1_000n, 2_500n, 5_000n, 10_000n], minimumTopUp: 500n, minimumPayout: 1_000n,
  },
  JPY: {
    minimumPrice: 30n, maximumPrice: 6_000n, topUps: [1_000n, 2_000n, 3_000n, 5_000n, 10_000n],
    codes: [500n, 1_000n, 3_000n, 5_000n], giftCards: [1_000n, 3_000n, 5_000n, 10_000n], minimumTopUp: 500n, minimumPayout: 1_000n,
  },
};

/** US cents per minor unit, from the shared reference rates. */
function centsPerMinorUnit(currency: Currency): number {
  return usdCents(1_000_000_000n, currency) / 1_000_000_000;
}

/** A shop price near `cents` US cents, rounded the way the currency's prices usually are. */
function priceNear(currency: Currency, cents: number): bigint {
  const table = CURRENCIES[currency];
  const minor = cents / centsPerMinorUnit(currency);
  let rounded: number;
  if (currency === 'KRW') rounded = Math.round(minor / 100) * 100;
  else if (currency === 'JPY') rounded = Math.round(minor / 10) * 10;
  else rounded = minor < 100 ? Math.round(minor / 25) * 25 : Math.round(minor / 50) * 50 - 1;
  const price = BigInt(Math.max(0, rounded));
  if (price < table.minimumPrice) return table.minimumPrice;
  return price > table.maximumPrice ? table.maximumPrice : price;
}

function distanceKm(from: Place, to: Place): number {
  const radians = Math.PI / 180;
  const latitudeDelta = (to.latitude - from.latitude) * radians;
  const longitudeDelta = (to.longitude - from.longitude) * radians;
  const a = Math.sin(latitudeDelta / 2) ** 2
    + Math.cos(from.latitude * radians) * Math.cos(to.latitude * radians) * Math.sin(longitudeDelta / 2) ** 2;
  return 2 * 6371 * Math.asin(Math.min(1, Math.sqrt(a)));
}

// ---------------------------------------------------------------------------------------------------
// Merchants, buyers and the world they live in.

type MerchantKind = 'game_studio' | 'publisher' | 'app_maker' | 'creator' | 'gift_card_seller';

interface Item {
  action: 'payment' | 'tip';
  categories: readonly string[];
  /** Typical price in US cents; ignored for fixed denominations. */
  cents: number;
  denominations: 'codes' | 'giftCards' | null;
  weight: number;
}

const CATALOGUES: Record<MerchantKind, readonly Item[]> = {
  game_studio: [
    { action: 'payment', categories: ['in_app', 'virtual_goods'], cents: 199, denominations: null, weight: 6 },
    { action: 'payment', categories: ['in_app', 'virtual_goods'], cents: 999, denominations: null, weight: 2 },
    { action: 'payment', categories: ['virtual_goods'], cents: 499, denominations: null, weight: 2 },
    { action: 'payment', categories: ['game_credit_code'], cents: 0, denominations: 'codes', weight: 1 },
  ],
  publisher: [
    { action: 'payment', categories: ['article'], cents: 50, denominations: null, weight: 5 },
    { action: 'payment', categories: ['song'], cents: 129, denominations: null, weight: 3 },
    { action: 'payment', categories: ['article'], cents: 199, denominations: null, weight: 1 },
  ],
  app_maker: [
    { action: 'payment', categories: ['subscription_addon'], cents: 299, denominations: null, weight: 3 },
    { action: 'payment', categories: ['subscription_addon'], cents: 799, denominations: null, weight: 1 },
  ],
  creator: [{ action: 'tip', categories: ['tip'], cents: 300, denominations: null, weight: 1 }],
  gift_card_seller: [{ action: 'payment', categories: ['gift_card'], cents: 0, denominations: 'giftCards', weight: 1 }],
};

const MERCHANT_KIND_WEIGHTS: Record<MerchantKind, number> = {
  game_studio: 0.3, publisher: 0.25, app_maker: 0.2, creator: 0.2, gift_card_seller: 0.05,
};

interface Receipt {
  at: number;
  amount: bigint;
}

interface Merchant {
  id: string;
  kind: MerchantKind;
  region: Region;
  popularity: number;
  deviceId: string;
  ipAddress: string;
  payoutWeekday: number;
  /** Honest merchants are paid out weekly; mule and farming merchants are handled by their typology. */
  honest: boolean;
  receipts: Receipt[];
}

interface Device {
  id: string;
  userAgent: string;
}

interface Card {
  fingerprint: string;
  bin: string;
}

interface PhoneLine {
  number: string;
  limit: bigint;
  monthKey: number;
  used: bigint;
}

interface Trip {
  departAt: number;
  arriveAt: number;
  leaveAt: number;
  backAt: number;
  destination: Place;
  ipAddress: string;
}

interface Episode {
  at: number;
  run: (at: number) => void;
}

/** Anyone who pays: an honest buyer or a fraudster's account. */
interface Account {
  id: string;
  region: Region;
  createdAt: number;
  balance: bigint;
}

/** An account that tops up its wallet with its own cards. */
interface Wallet extends Account {
  cards: Card[];
}

interface Buyer extends Wallet {
  home: Place;
  devices: Device[];
  upgradeAt: number | null;
  homeIp: string;
  line: PhoneLine | null;
  prefersCarrier: boolean;
  spendMultiplier: number;
  sessionsPerDay: number;
  favourites: Merchant[];
  creators: Merchant[];
  trip: Trip | null;
  episodes: Episode[];
}

class WeightedPicker<T> {
  private readonly cumulative: number[] = [];
  private total = 0;

  constructor(private readonly items: readonly T[], weight: (item: T) => number) {
    for (const item of items) {
      this.total += weight(item);
      this.cumulative.push(this.total);
    }
  }

  get size(): number {
    return this.items.length;
  }

  pick(random: Random): T {
    const target = random.next() * this.total;
    let low = 0;
    let high = this.cumulative.length - 1;
    while (low < high) {
      const middle = (low + high) >> 1;
      if ((this.cumulative[middle] ?? 0) > target) high = middle;
      else low = middle + 1;
    }
    const item = this.items[low];
    if (item === undefined) throw new Error('pick from an empty weighted list');
    return item;
  }
}

const MOBILE_USER_AGENTS = [
  'Micropay-iOS/5.4 (iPhone15,2; iOS 17.5)', 'Micropay-iOS/5.4 (iPhone14,5; iOS 17.4)',
  'Micropay-Android/5.4 (SM-S918N; Android 14)', 'Micropay-Android/5.4 (SM-A546E; Android 14)',
  'Micropay-Android/5.3 (Pixel 8; Android 14)', 'Micropay-iOS/5.3 (iPhone13,2; iOS 16.7)',
];
const DESKTOP_USER_AGENTS = [
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/125.0', 'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) Safari/17.5',
];
const EMULATOR_USER_AGENTS = ['Micropay-Android/5.4 (sdk_gphone64_x86_64; Android 13)', 'Micropay-Android/5.2 (SM-G988N; Android 12)'];

interface World {
  random: Random;
  startMs: number;
  endMs: number;
  events: SimulatedEvent[];
  merchants: Merchant[];
  buyers: Buyer[];
  regionPicker: WeightedPicker<Region>;
  /** Shopping merchants (not creators or gift-card sellers), per region and kind. */
  shops: Map<string, WeightedPicker<Merchant>>;
  /** Carrier-NAT addresses shared by many mobile subscribers, per country. */
  mobileIps: Map<string, string[]>;
  /** Residential proxies that attackers rent, per country. */
  residentialProxies: Map<string, string[]>;
  hostingIps: { ipAddress: string; place: Place }[];
}

function newId(world: World, prefix: string): string {
  return `${prefix}_${world.random.hex(16)}`;
}

function ipIn(random: Random, place: Place): string {
  return `${random.pick(place.ipFirstOctets)}.${random.int(0, 255)}.${random.int(0, 255)}.${random.int(1, 254)}`;
}

function newDevice(world: World, userAgents: readonly string[] = MOBILE_USER_AGENTS): Device {
  return { id: newId(world, 'dev'), userAgent: world.random.pick(userAgents) };
}

function newCard(world: World, bins: readonly string[]): Card {
  return { fingerprint: newId(world, 'card'), bin: world.random.pick(bins) };
}

function newLine(world: World, region: Region): PhoneLine {
  let digits = '';
  for (let index = 0; index < region.phoneDigits; index += 1) digits += String(world.random.int(0, 9));
  return { number: `${region.phonePrefix}${digits}`, limit: world.random.pick(region.carrierLimits), monthKey: -1, used: 0n };
}

function shopKey(region: Region, kind: MerchantKind): string {
  return `${region.country}:${kind}`;
}

function shopsOf(world: World, region: Region, kind: MerchantKind): WeightedPicker<Merchant> | null {
  return world.shops.get(shopKey(region, kind)) ?? null;
}

function createMerchant(world: World, region: Region, kind: MerchantKind, honest: boolean): Merchant {
  const random = world.random;
  const merchant: Merchant = {
    id: newId(world, 'mer'), kind, region, popularity: random.logNormal(1, 1.2), deviceId: newId(world, 'dev'),
    ipAddress: ipIn(random, random.pick(region.cities)), payoutWeekday: random.int(0, 6), honest, receipts: [],
  };
  world.merchants.push(merchant);
  return merchant;
}

function createMerchants(world: World, count: number): void {
  const kinds = Object.keys(MERCHANT_KIND_WEIGHTS) as MerchantKind[];
  const kindPicker = new WeightedPicker(kinds, (kind) => MERCHANT_KIND_WEIGHTS[kind]);
  for (let index = 0; index < count; index += 1) {
    createMerchant(world, world.regionPicker.pick(world.random), kindPicker.pick(world.random), true);
  }
  // Every region has at least one merchant of each kind, so every kind of purchase exists everywhere.
  for (const region of REGIONS) {
    for (const kind of kinds) {
      if (!world.merchants.some((merchant) => merchant.region === region && merchant.kind === kind)) {
        createMerchant(world, region, kind, true);
      }
    }
  }
  for (const region of REGIONS) {
    for (const kind of kinds) {
      const list = world.merchants.filter((merchant) => merchant.region === region && merchant.kind === kind);
      world.shops.set(shopKey(region, kind), new WeightedPicker(list, (merchant) => merchant.popularity));
    }
  }
}

function createPools(world: World): void {
  const random = world.random;
  for (const region of REGIONS) {
    const mobile: string[] = [];
    const proxies: string[] = [];
    for (let index = 0; index < 150; index += 1) mobile.push(ipIn(random, random.pick(region.cities)));
    for (let index = 0; index < 40; index += 1) proxies.push(ipIn(random, random.pick(region.cities)));
    world.mobileIps.set(region.country, mobile);
    world.residentialProxies.set(region.country, proxies);
  }
  for (let index = 0; index < 80; index += 1) {
    const where = random.pick(ATTACKER_PLACES);
    world.hostingIps.push({ ipAddress: ipIn(random, where), place: where });
  }
}

function pickFavourites(world: World, region: Region, count: number): Merchant[] {
  const kinds: MerchantKind[] = ['game_studio', 'game_studio', 'publisher', 'app_maker'];
  const favourites: Merchant[] = [];
  for (let index = 0; index < count; index += 1) {
    const shops = shopsOf(world, region, world.random.pick(kinds));
    if (shops !== null && shops.size > 0) favourites.push(shops.pick(world.random));
  }
  return favourites;
}

function createdAtOfBuyer(world: World): number {
  const random = world.random;
  if (random.chance(0.72)) return world.startMs - Math.round(Math.exp(random.between(Math.log(DAY_MS), Math.log(3 * 365 * DAY_MS))));
  return world.startMs + Math.round(random.between(0, world.endMs - world.startMs - DAY_MS));
}

function createBuyer(world: World): Buyer {
  const random = world.random;
  const region = world.regionPicker.pick(random);
  const home = random.pick(region.cities);
  const createdAt = createdAtOfBuyer(world);
  const prefersCarrier = random.chance(region.carrierShare);
  const heavy = prefersCarrier && random.chance(0.06);
  const devices = [newDevice(world)];
  if (random.chance(0.3)) devices.push(newDevice(world, random.chance(0.5) ? DESKTOP_USER_AGENTS : MOBILE_USER_AGENTS));
  const cards = [newCard(world, region.cardBins)];
  if (random.chance(0.35)) cards.push(newCard(world, region.cardBins));
  const buyer: Buyer = {
    id: newId(world, 'buy'), region, createdAt, home, devices, homeIp: ipIn(random, home), cards,
    upgradeAt: random.chance(0.08) ? Math.max(createdAt, world.startMs) + random.between(0, world.endMs - world.startMs) : null,
    line: prefersCarrier || random.chance(0.6) ? newLine(world, region) : null,
    prefersCarrier,
    spendMultiplier: random.logNormal(1, 0.6) * (heavy ? 3 : 1),
    sessionsPerDay: random.logNormal(0.075, 0.9) * (heavy ? 3 : 1),
    favourites: pickFavourites(world, region, random.int(2, 6)),
    creators: [],
    balance: createdAt < world.startMs && random.chance(0.6) ? BigInt(Math.round(random.next() * Number(random.pick(CURRENCIES[region.currency].topUps)))) : 0n,
    trip: null,
    episodes: [],
  };
  if (random.chance(0.25)) {
    const creators = shopsOf(world, region, 'creator');
    for (let index = random.int(1, 3); index > 0 && creators !== null && creators.size > 0; index -= 1) buyer.creators.push(creators.pick(random));
  }
  buyer.trip = planTrip(world, buyer);
  return buyer;
}

function planTrip(world: World, buyer: Buyer): Trip | null {
  const random = world.random;
  const weeks = (world.endMs - world.startMs) / WEEK_MS;
  if (!random.chance(Math.min(0.5, 0.015 * weeks))) return null;
  let destination = random.pick(TRAVEL_PLACES);
  for (let attempt = 0; attempt < 5 && destination.country === buyer.region.country; attempt += 1) destination = random.pick(TRAVEL_PLACES);
  const flightMs = Math.round((distanceKm(buyer.home, destination) / 800 + 2) * HOUR_MS);
  const departAt = Math.max(buyer.createdAt, world.startMs) + random.between(0, world.endMs - world.startMs);
  const stayMs = random.int(3, 14) * DAY_MS;
  return {
    departAt, arriveAt: departAt + flightMs, leaveAt: departAt + flightMs + stayMs, backAt: departAt + 2 * flightMs + stayMs,
    destination, ipAddress: ipIn(random, destination),
  };
}

// ---------------------------------------------------------------------------------------------------
// Emitting attempts and follow-ups.

interface MovementFields {
  action: RiskAction;
  at: number;
  merchant: Merchant | null;
  account: Account | null;
  amount: bigint;
  currency: string;
  categories: readonly string[];
  method: PaymentMethodKind | null;
  context: BuyerContext;
  card?: Card | null;
  line?: PhoneLine | null;
}

const SUBJECT_PREFIXES: Record<RiskAction, string> = { payment: 'pay', top_up: 'top', refund: 'ref', payout: 'po', tip: 'tip' };

function movement(world: World, fields: MovementFields): RiskInput {
  const input: RiskInput = {
    action: fields.action,
    at: Math.round(fields.at),
    merchantId: fields.merchant?.id ?? null,
    livemode: true,
    subjectType: fields.action,
    subjectId: newId(world, SUBJECT_PREFIXES[fields.action]),
    buyerId: fields.account?.id ?? null,
    amount: fields.amount,
    currency: fields.currency,
    categories: [...fields.categories],
    method: fields.method,
    context: fields.context,
    buyerCreatedAt: fields.account?.createdAt ?? null,
    walletBalance: fields.account?.balance ?? null,
  };
  if (fields.card) {
    input.cardFingerprint = fields.card.fingerprint;
    input.cardBin = fields.card.bin;
  }
  if (fields.line) input.carrierMonthlyLimit = fields.line.limit;
  return input;
}

function emitAttempt(world: World, input: RiskInput, truth: Truth, followUps: FollowUp[], merchant: Merchant | null = null): void {
  if (world.events.length >= EVENTS_MAX) throw new Error(`the simulation exceeded ${EVENTS_MAX} events`);
  world.events.push({ kind: 'attempt', input, truth, followUps });
  if (merchant !== null && truth.railSucceeds && (input.action === 'payment' || input.action === 'tip')) {
    merchant.receipts.push({ at: input.at, amount: input.amount });
  }
}

function honestTruth(world: World, railSucceeds: boolean): Truth {
  return { fraud: false, typology: null, passesChallenge: world.random.chance(0.95), railSucceeds };
}

function fraudTruth(typology: Typology, passesChallenge: boolean, railSucceeds: boolean): Truth {
  return { fraud: true, typology, passesChallenge, railSucceeds };
}

function delayBetween(world: World, minimumMs: number, maximumMs: number): number {
  return Math.round(world.random.between(minimumMs, maximumMs));
}

function labelAfter(input: RiskInput, delayMs: number, fraud = true): FollowUp {
  return { delayMs, observation: { type: 'label', at: input.at + delayMs, buyerId: input.buyerId, subjectId: input.subjectId, fraud } };
}

function disputeAfter(input: RiskInput, delayMs: number): FollowUp | null {
  if (input.buyerId === null || input.merchantId === null) return null;
  return {
    delayMs,
    observation: { type: 'dispute', at: input.at + delayMs, buyerId: input.buyerId, merchantId: input.merchantId, amount: input.amount, currency: input.currency },
  };
}

function refundAfter(input: RiskInput, delayMs: number, amount = input.amount): FollowUp | null {
  if (input.buyerId === null || input.merchantId === null) return null;
  return {
    delayMs,
    observation: { type: 'refund', at: input.at + delayMs, buyerId: input.buyerId, merchantId: input.merchantId, amount, currency: input.currency },
  };
}

function redeemedAfter(input: RiskInput, redeemerId: string, delayMs: number): FollowUp | null {
  if (input.buyerId === null || input.merchantId === null) return null;
  return {
    delayMs,
    observation: { type: 'code_redeemed', at: input.at + delayMs, buyerId: input.buyerId, redeemerId, merchantId: input.merchantId },
  };
}

/** The dispute a victim files and the fraud label that follows it once the dispute is decided. */
function disputeAndLabel(world: World, input: RiskInput, disputeDays: [number, number], decisionDays: [number, number]): FollowUp[] {
  const disputeMs = delayBetween(world, disputeDays[0] * DAY_MS, disputeDays[1] * DAY_MS);
  const labelMs = disputeMs + delayBetween(world, decisionDays[0] * DAY_MS, decisionDays[1] * DAY_MS);
  return present([disputeAfter(input, disputeMs), labelAfter(input, labelMs)]);
}

function present(followUps: (FollowUp | null)[]): FollowUp[] {
  return followUps.filter((followUp): followUp is FollowUp => followUp !== null);
}

function isCashEquivalent(categories: readonly string[]): boolean {
  return categories.some((category) => CASH_EQUIVALENT_CATEGORIES.has(category));
}

function monthKeyOf(at: number): number {
  const date = new Date(at);
  return date.getUTCFullYear() * 12 + date.getUTCMonth();
}

/** Bills the line if the month's limit allows it (the carrier refuses otherwise). */
function chargeLine(line: PhoneLine, at: number, amount: bigint): boolean {
  const monthKey = monthKeyOf(at);
  if (line.monthKey !== monthKey) {
    line.monthKey = monthKey;
    line.used = 0n;
  }
  if (line.used + amount > line.limit) return false;
  line.used += amount;
  return true;
}

function lineRemaining(line: PhoneLine, at: number): bigint {
  return line.monthKey === monthKeyOf(at) ? line.limit - line.used : line.limit;
}

function contextAt(device: Device, ipAddress: string, where: Place, phoneNumber: string | null): BuyerContext {
  return {
    deviceId: device.id, ipAddress, country: where.country, latitude: where.latitude, longitude: where.longitude,
    phoneNumber, userAgent: device.userAgent,
  };
}

/** The largest of `denominations` not above `ceiling`, or null. */
function largestUpTo(denominations: readonly bigint[], ceiling: bigint): bigint | null {
  let best: bigint | null = null;
  for (const denomination of denominations) if (denomination <= ceiling && (best === null || denomination > best)) best = denomination;
  return best;
}

function highDenomination(world: World, denominations: readonly bigint[]): bigint {
  const sorted = [...denominations].sort((left, right) => (left < right ? -1 : left > right ? 1 : 0));
  return world.random.pick(sorted.slice(Math.max(0, sorted.length - 2)));
}

// ---------------------------------------------------------------------------------------------------
// Honest buyers.

/** Relative activity by local hour: quiet at night, busiest in the evening. */
const HOURLY_ACTIVITY = [3, 2, 1, 1, 1, 1, 2, 4, 6, 6, 6, 7, 8, 7, 7, 7, 8, 9, 10, 11, 12, 12, 9, 6];
const HOUR_PICKER = new WeightedPicker(HOURLY_ACTIVITY.map((_, hour) => hour), (hour) => HOURLY_ACTIVITY[hour] ?? 1);

function poisson(random: Random, mean: number): number {
  if (mean > 30) return Math.max(0, Math.round(mean + Math.sqrt(mean) * random.normal()));
  const limit = Math.exp(-mean);
  let count = 0;
  for (let product = random.next(); product > limit && count < 1_000; product *= random.next()) count += 1;
  return count;
}

/** A time on a uniformly chosen day in [fromMs, toMs), at an hour drawn from the diurnal curve. */
function diurnalTime(random: Random, fromMs: number, toMs: number, utcOffsetHours: number): number {
  for (let attempt = 0; attempt < 8; attempt += 1) {
    const day = Math.floor(random.between(fromMs, toMs) / DAY_MS) * DAY_MS;
    const at = day + (HOUR_PICKER.pick(random) - utcOffsetHours) * HOUR_MS + random.between(0, HOUR_MS);
    if (at >= fromMs && at < toMs) return Math.round(at);
  }
  return Math.round(random.between(fromMs, toMs));
}

function sessionTimes(world: World, buyer: Buyer): number[] {
  const random = world.random;
  const fromMs = Math.max(buyer.createdAt, world.startMs);
  const count = Math.min(SESSIONS_PER_BUYER_MAX, poisson(random, buyer.sessionsPerDay * (world.endMs - fromMs) / DAY_MS));
  const times: number[] = [];
  // A new account is opened to pay for something: its first session follows sign-up within minutes.
  if (buyer.createdAt >= world.startMs) times.push(buyer.createdAt + delayBetween(world, MINUTE_MS, 30 * MINUTE_MS));
  for (let index = 0; index < count; index += 1) times.push(diurnalTime(random, fromMs, world.endMs, buyer.home.utcOffsetHours));
  return times.filter((at) => at < world.endMs).sort((left, right) => left - right);
}

/** Where the buyer is at `at`, or null while flying. */
function whereIs(buyer: Buyer, at: number): { where: Place; abroad: boolean } | null {
  const trip = buyer.trip;
  if (trip === null || at < trip.departAt || at >= trip.backAt) return { where: buyer.home, abroad: false };
  if (at >= trip.arriveAt && at < trip.leaveAt) return { where: trip.destination, abroad: true };
  return null;
}

function sessionContext(world: World, buyer: Buyer, at: number): BuyerContext | null {
  const random = world.random;
  const location = whereIs(buyer, at);
  if (location === null) return null;
  if (buyer.upgradeAt !== null && at >= buyer.upgradeAt) {
    // A new phone replaces the old one; from now on the buyer pays from it.
    buyer.devices[0] = newDevice(world);
    buyer.upgradeAt = null;
  }
  const device = random.chance(0.75) ? buyer.devices[0] : random.pick(buyer.devices);
  if (device === undefined) throw new Error('a buyer without a device');
  if (random.chance(0.01)) buyer.homeIp = ipIn(random, buyer.home);
  let ipAddress = buyer.homeIp;
  if (location.abroad) ipAddress = buyer.trip?.ipAddress ?? ipAddress;
  else if (random.chance(0.45)) ipAddress = random.pick(world.mobileIps.get(buyer.region.country) ?? [buyer.homeIp]);
  return contextAt(device, ipAddress, location.where, buyer.line?.number ?? null);
}

function runBuyer(world: World, buyer: Buyer): void {
  const steps: Episode[] = sessionTimes(world, buyer).map((at) => ({ at, run: (time: number) => runSession(world, buyer, time) }));
  steps.push(...buyer.episodes);
  steps.sort((left, right) => left.at - right.at);
  for (const step of steps) step.run(step.at);
}

function runSession(world: World, buyer: Buyer, at: number): void {
  const random = world.random;
  const context = sessionContext(world, buyer, at);
  if (context === null) return;
  let count = 1;
  while (count < 6 && random.chance(0.4)) count += 1;
  let time = at;
  for (let index = 0; index < count; index += 1) {
    time = honestMovement(world, buyer, context, time) + delayBetween(world, 15_000, 4 * MINUTE_MS);
  }
}

function honestMerchant(world: World, buyer: Buyer): Merchant | null {
  const random = world.random;
  if (buyer.creators.length > 0 && random.chance(0.25)) return random.pick(buyer.creators);
  if (random.chance(0.015)) return shopsOf(world, buyer.region, 'gift_card_seller')?.pick(random) ?? null;
  if (buyer.favourites.length > 0 && random.chance(0.85)) return random.pick(buyer.favourites);
  const kind = random.pick<MerchantKind>(['game_studio', 'publisher', 'app_maker']);
  return shopsOf(world, buyer.region, kind)?.pick(random) ?? null;
}

function pickItem(world: World, merchant: Merchant): Item {
  return new WeightedPicker(CATALOGUES[merchant.kind], (item) => item.weight).pick(world.random);
}

function honestAmount(world: World, buyer: Buyer, item: Item): bigint {
  const currency = buyer.region.currency;
  const table = CURRENCIES[currency];
  if (item.denominations !== null) {
    const list = item.denominations === 'codes' ? table.codes : table.giftCards;
    // Bigger spenders pick bigger cards.
    const index = Math.min(list.length - 1, Math.floor(world.random.next() * list.length * Math.min(1, buyer.spendMultiplier / 1.5)));
    return list[index] ?? table.minimumPrice;
  }
  return priceNear(currency, item.cents * buyer.spendMultiplier * world.random.logNormal(1, 0.25));
}

/** One honest purchase or tip, with a top-up first when the wallet is short; returns when it ended. */
function honestMovement(world: World, buyer: Buyer, context: BuyerContext, at: number): number {
  const random = world.random;
  const merchant = honestMerchant(world, buyer);
  if (merchant === null) return at;
  const item = pickItem(world, merchant);
  const amount = honestAmount(world, buyer, item);
  const currency = buyer.region.currency;
  if (item.action === 'payment' && buyer.prefersCarrier && buyer.line !== null && random.chance(0.85)) {
    const line = buyer.line;
    const railSucceeds = chargeLine(line, at, amount) && random.chance(0.995);
    const input = movement(world, {
      action: 'payment', at, merchant, account: buyer, amount, currency, categories: item.categories,
      method: 'carrier_billing', context: { ...context, phoneNumber: line.number }, line,
    });
    emitAttempt(world, input, honestTruth(world, railSucceeds), honestFollowUps(world, buyer, input), merchant);
    return at;
  }
  let time = at;
  if (buyer.balance < amount) {
    time = honestTopUp(world, buyer, context, time, amount);
    if (buyer.balance < amount) return time;
    time += delayBetween(world, 5_000, 60_000);
  }
  const input = movement(world, {
    action: item.action, at: time, merchant, account: buyer, amount, currency, categories: item.categories, method: 'wallet', context,
  });
  emitAttempt(world, input, honestTruth(world, true), honestFollowUps(world, buyer, input), merchant);
  buyer.balance -= amount;
  return time;
}

/** A card top-up of a usual denomination covering `needed`; an honest decline is retried once. */
function honestTopUp(world: World, buyer: Wallet, context: BuyerContext, at: number, needed: bigint): number {
  const random = world.random;
  const table = CURRENCIES[buyer.region.currency];
  const covering = table.topUps.filter((denomination) => denomination >= needed && denomination >= table.minimumTopUp);
  const largest = table.topUps[table.topUps.length - 1] ?? table.minimumTopUp;
  const amount = covering.length > 0 ? random.pick(covering.slice(0, 2)) : ((needed + largest - 1n) / largest) * largest;
  let time = at;
  let card = random.chance(0.8) ? buyer.cards[0] : random.pick(buyer.cards);
  for (let attempt = 0; attempt < 2 && card !== undefined; attempt += 1) {
    const railSucceeds = random.chance(attempt === 0 ? 0.97 : 0.75);
    const input = movement(world, {
      action: 'top_up', at: time, merchant: null, account: buyer, amount, currency: buyer.region.currency, categories: [],
      method: 'card', context, card,
    });
    emitAttempt(world, input, honestTruth(world, railSucceeds), []);
    if (railSucceeds) {
      buyer.balance += amount;
      return time;
    }
    time += delayBetween(world, 20_000, 3 * MINUTE_MS);
    card = random.pick(buyer.cards);
  }
  return time;
}

/** Honest after-effects: codes redeemed by the buyer or a giftee, rare refunds, rarer disputes. */
function honestFollowUps(world: World, buyer: Buyer, input: RiskInput): FollowUp[] {
  const random = world.random;
  const followUps: (FollowUp | null)[] = [];
  if (isCashEquivalent(input.categories)) {
    const gift = input.categories.includes('gift_card') ? random.chance(0.7) : random.chance(0.15);
    const giftee = random.pick(world.buyers).id;
    if (random.chance(0.9)) {
      const delayMs = gift
        ? (random.chance(0.15) ? delayBetween(world, MINUTE_MS, 30 * MINUTE_MS) : delayBetween(world, HOUR_MS, 7 * DAY_MS))
        : delayBetween(world, MINUTE_MS, HOUR_MS);
      followUps.push(redeemedAfter(input, gift ? giftee : buyer.id, delayMs));
    }
  }
  if (input.action === 'payment' && random.chance(0.015)) {
    const partial = random.chance(0.2) ? input.amount / 2n : input.amount;
    followUps.push(refundAfter(input, delayBetween(world, 30 * MINUTE_MS, 5 * DAY_MS), partial > 0n ? partial : input.amount));
  } else if (random.chance(0.0012)) {
    const disputeMs = delayBetween(world, 2 * DAY_MS, 40 * DAY_MS);
    followUps.push(disputeAfter(input, disputeMs));
    // Friendly fraud filed as "unauthorised" is sometimes lost and recorded as fraud: a false label.
    if (random.chance(0.35)) followUps.push(labelAfter(input, disputeMs + delayBetween(world, 3 * DAY_MS, 14 * DAY_MS)));
  }
  return present(followUps);
}

/** Refunds and disputes of purchases made before the simulation began: observations with no attempt. */
function priorHistory(world: World): void {
  const random = world.random;
  for (const buyer of world.buyers) {
    if (buyer.createdAt >= world.startMs || buyer.favourites.length === 0) continue;
    const roll = random.next();
    if (roll >= 0.012) continue;
    const merchant = random.pick(buyer.favourites);
    const at = world.startMs + delayBetween(world, 0, 5 * DAY_MS);
    const amount = honestAmount(world, buyer, pickItem(world, merchant));
    const base = { at, buyerId: buyer.id, merchantId: merchant.id, amount, currency: buyer.region.currency };
    world.events.push({ kind: 'observation', observation: roll < 0.011 ? { type: 'refund', ...base } : { type: 'dispute', ...base } });
  }
}

// ---------------------------------------------------------------------------------------------------
// Payouts of honest merchants: weekly, of what the week brought in, from the merchant's usual device.

function honestPayouts(world: World): void {
  const random = world.random;
  for (const merchant of world.merchants) {
    if (!merchant.honest || merchant.receipts.length === 0) continue;
    const receipts = [...merchant.receipts].sort((left, right) => left.at - right.at);
    const table = CURRENCIES[merchant.region.currency];
    const offsetHours = merchant.region.cities[0]?.utcOffsetHours ?? 0;
    let cursor = 0;
    let pending = 0n;
    let payoutAt = world.startMs + merchant.payoutWeekday * DAY_MS + (10 - offsetHours) * HOUR_MS + delayBetween(world, 0, 2 * HOUR_MS);
    for (let week = 0; payoutAt < world.endMs && week < WEEKS_MAX; week += 1, payoutAt += WEEK_MS) {
      for (; cursor < receipts.length && (receipts[cursor]?.at ?? Infinity) < payoutAt; cursor += 1) pending += receipts[cursor]?.amount ?? 0n;
      if (pending < table.minimumPayout) continue;
      emitPayout(world, merchant, payoutAt, pending, honestTruth(world, random.chance(0.995)));
      pending = 0n;
    }
  }
}

function emitPayout(world: World, merchant: Merchant, at: number, amount: bigint, truth: Truth): void {
  const where = merchant.region.cities[0];
  if (where === undefined) throw new Error('a region without cities');
  const input = movement(world, {
    action: 'payout', at, merchant, account: null, amount, currency: merchant.region.currency, categories: [], method: 'bank',
    context: contextAt({ id: merchant.deviceId, userAgent: DESKTOP_USER_AGENTS[0] ?? '' }, merchant.ipAddress, where, null),
  });
  // A payout empties the merchant's balance, which is what it asks to pay out.
  input.walletBalance = amount;
  const followUps = truth.fraud ? [labelAfter(input, delayBetween(world, 10 * DAY_MS, 40 * DAY_MS))] : [];
  emitAttempt(world, input, truth, followUps);
}

// ---------------------------------------------------------------------------------------------------
// Fraud. Typologies that act through an honest buyer's account or phone line run inside that buyer's
// timeline (as episodes), so that balances and carrier-billing usage stay in time order.

interface Origin {
  device: Device;
  ipAddress: string;
  where: Place;
}

/** Where an attacker connects from: abroad through hosting, or through a residential proxy at home. */
function attackerOrigin(world: World, region: Region, foreignShare: number): Origin {
  const random = world.random;
  const device = newDevice(world, random.chance(0.3) ? EMULATOR_USER_AGENTS : MOBILE_USER_AGENTS);
  if (random.chance(foreignShare)) {
    const hosting = random.pick(world.hostingIps);
    return { device, ipAddress: hosting.ipAddress, where: hosting.place };
  }
  return { device, ipAddress: random.pick(world.residentialProxies.get(region.country) ?? ['0.0.0.0']), where: random.pick(region.cities) };
}

function newAccount(world: World, region: Region, createdAt: number): Wallet {
  return { id: newId(world, 'buy'), region, createdAt: Math.round(createdAt), balance: 0n, cards: [] };
}

interface Goods {
  merchant: Merchant;
  categories: readonly string[];
  denominations: readonly bigint[];
}

/** Resellable goods: a gift card, or a game-credit code from a game studio. */
function resellableGoods(world: World, region: Region, giftCardShare: number): Goods | null {
  const table = CURRENCIES[region.currency];
  const giftCard = world.random.chance(giftCardShare);
  const merchant = shopsOf(world, region, giftCard ? 'gift_card_seller' : 'game_studio')?.pick(world.random);
  if (merchant === undefined) return null;
  return giftCard
    ? { merchant, categories: ['gift_card'], denominations: table.giftCards }
    : { merchant, categories: ['game_credit_code'], denominations: table.codes };
}

/** A top-up with a card that is not the actor's (stolen, or the victim's saved card): 3-D Secure fails. */
function fraudTopUp(world: World, typology: Typology, account: Account, card: Card, context: BuyerContext, at: number, amount: bigint, successShare: number): boolean {
  const railSucceeds = world.random.chance(successShare);
  const input = movement(world, {
    action: 'top_up', at, merchant: null, account, amount, currency: account.region.currency, categories: [], method: 'card', context, card,
  });
  emitAttempt(world, input, fraudTruth(typology, false, railSucceeds), [labelAfter(input, delayBetween(world, 5 * DAY_MS, 45 * DAY_MS))]);
  if (railSucceeds) account.balance += amount;
  return railSucceeds;
}

/** Account takeover: a burst from a new device draining the wallet into resellable or costly goods. */
function accountTakeover(world: World, victim: Buyer, at: number): void {
  const random = world.random;
  const origin = attackerOrigin(world, victim.region, 0.45);
  const context = contextAt(origin.device, origin.ipAddress, origin.where, null);
  const table = CURRENCIES[victim.region.currency];
  const redeemerId = newId(world, 'buy');
  let time = at;
  let topUps = 0;
  for (let index = random.int(2, 8); index > 0; index -= 1) {
    const resellable = random.chance(0.65) ? resellableGoods(world, victim.region, 0.5) : null;
    const merchant = resellable?.merchant ?? shopsOf(world, victim.region, 'game_studio')?.pick(random);
    if (merchant === undefined) return;
    let amount = resellable !== null ? highDenomination(world, resellable.denominations) : priceNear(victim.region.currency, random.between(1_500, 5_000));
    const card = victim.cards[0];
    if (victim.balance < amount && topUps < 2 && card !== undefined && random.chance(0.75)) {
      topUps += 1;
      fraudTopUp(world, 'account_takeover', victim, card, context, time, highDenomination(world, table.topUps), 0.9);
      time += delayBetween(world, 30_000, 2 * MINUTE_MS);
    }
    if (victim.balance < amount) {
      const affordable = resellable !== null ? largestUpTo(resellable.denominations, victim.balance) : victim.balance;
      if (affordable === null || affordable < table.minimumPrice) return;
      amount = affordable;
    }
    const input = movement(world, {
      action: 'payment', at: time, merchant, account: victim, amount, currency: victim.region.currency,
      categories: resellable?.categories ?? ['in_app', 'virtual_goods'], method: 'wallet', context,
    });
    const followUps = disputeAndLabel(world, input, [1, 10], [2, 10]);
    if (resellable !== null) followUps.push(...present([redeemedAfter(input, redeemerId, delayBetween(world, MINUTE_MS, 20 * MINUTE_MS))]));
    emitAttempt(world, input, fraudTruth('account_takeover', false, true), followUps, merchant);
    victim.balance -= amount;
    time += delayBetween(world, 20_000, 4 * MINUTE_MS);
  }
}

/** A stolen phone: codes and gift cards billed to its line from a new device, in a burst. */
function stolenPhone(world: World, victim: Buyer, at: number): void {
  const random = world.random;
  const line = victim.line;
  if (line === null) return;
  // Half the thieves sign in to the owner's own account with a one-time code sent to the phone; the
  // others open a new account on the number. Either way the device is new to the line.
  const thief: Account = random.chance(0.5) ? victim : newAccount(world, victim.region, at - delayBetween(world, 2 * MINUTE_MS, 40 * MINUTE_MS));
  const ipAddress = random.chance(0.6)
    ? random.pick(world.mobileIps.get(victim.region.country) ?? [victim.homeIp])
    : random.pick(world.residentialProxies.get(victim.region.country) ?? [victim.homeIp]);
  const context = contextAt(newDevice(world), ipAddress, victim.home, line.number);
  const redeemerId = newId(world, 'buy');
  let time = at;
  let failures = 0;
  for (let index = random.int(3, 9); index > 0 && failures < 2; index -= 1) {
    const goods = resellableGoods(world, victim.region, 0.5);
    if (goods === null) return;
    const remaining = lineRemaining(line, time);
    const fitting = largestUpTo(goods.denominations, remaining);
    const amount = failures === 0 || fitting === null ? highDenomination(world, goods.denominations) : fitting;
    const railSucceeds = chargeLine(line, time, amount);
    const input = movement(world, {
      action: 'payment', at: time, merchant: goods.merchant, account: thief, amount, currency: victim.region.currency,
      categories: goods.categories, method: 'carrier_billing', context, line,
    });
    const followUps = disputeAndLabel(world, input, [5, 25], [3, 10]);
    followUps.push(...present([redeemedAfter(input, redeemerId, delayBetween(world, 2 * MINUTE_MS, 45 * MINUTE_MS))]));
    emitAttempt(world, input, fraudTruth('stolen_phone_carrier_billing', false, railSucceeds), followUps, goods.merchant);
    failures = railSucceeds ? 0 : failures + 1;
    time += delayBetween(world, MINUTE_MS, 15 * MINUTE_MS);
  }
  // The owner replaces the phone within days.
  victim.upgradeAt = at + delayBetween(world, DAY_MS, 3 * DAY_MS);
}

/** Card testing: scripted small top-ups with many cards from few devices and addresses, then a cash-out. */
function cardTestingRing(world: World): void {
  const random = world.random;
  const region = world.regionPicker.pick(random);
  const table = CURRENCIES[region.currency];
  const at = world.startMs + random.between(0, world.endMs - world.startMs - DAY_MS);
  const accounts = Array.from({ length: random.int(2, 6) }, () => newAccount(world, region, at - delayBetween(world, 5 * MINUTE_MS, 3 * DAY_MS)));
  const devices = Array.from({ length: random.int(1, 3) }, () => newDevice(world, random.chance(0.4) ? EMULATOR_USER_AGENTS : MOBILE_USER_AGENTS));
  const origins = Array.from({ length: random.int(1, 4) }, () => attackerOrigin(world, region, 0.5));
  const bins = Array.from({ length: random.int(1, 3) }, () => random.pick(random.pick(REGIONS).cardBins));
  const fast = random.chance(0.7);
  let time = at;
  let card: Card | null = null;
  for (let index = random.int(15, 90); index > 0; index -= 1) {
    const account = random.pick(accounts);
    const origin = random.pick(origins);
    if (card === null || random.chance(0.85)) card = { fingerprint: newId(world, 'card'), bin: random.pick(bins) };
    const amount = random.chance(0.7) ? table.minimumTopUp : random.pick(table.topUps.slice(0, 2));
    fraudTopUp(world, 'card_testing', account, card, contextAt(random.pick(devices), origin.ipAddress, origin.where, null), time, amount, 0.15);
    time += fast ? delayBetween(world, 3_000, 40_000) : delayBetween(world, 2 * MINUTE_MS, 25 * MINUTE_MS);
  }
  if (random.chance(0.6)) cashOutBalances(world, 'card_testing', accounts, random.pick(devices), random.pick(origins), time);
}

/** Spends what the accounts hold on resellable codes, redeemed elsewhere at once (the accounts pass challenges). */
function cashOutBalances(world: World, typology: Typology, accounts: Account[], device: Device, origin: Origin, at: number): void {
  const redeemerId = newId(world, 'buy');
  let time = at + delayBetween(world, 5 * MINUTE_MS, 6 * HOUR_MS);
  for (const account of accounts) {
    for (let purchases = 0; purchases < 5; purchases += 1) {
      const goods = resellableGoods(world, account.region, 0.5);
      const amount = goods === null ? null : largestUpTo(goods.denominations, account.balance);
      if (goods === null || amount === null) break;
      const input = movement(world, {
        action: 'payment', at: time, merchant: goods.merchant, account, amount, currency: account.region.currency,
        categories: goods.categories, method: 'wallet', context: contextAt(device, origin.ipAddress, origin.where, null),
      });
      const followUps = present([
        redeemedAfter(input, redeemerId, delayBetween(world, MINUTE_MS, 15 * MINUTE_MS)),
        labelAfter(input, delayBetween(world, 5 * DAY_MS, 45 * DAY_MS)),
      ]);
      emitAttempt(world, input, fraudTruth(typology, true, true), followUps, goods.merchant);
      account.balance -= amount;
      time += delayBetween(world, 30_000, 5 * MINUTE_MS);
    }
  }
}

/**
 * Cash-out (소액결제 현금화): a broker buys resellable codes on carrier billing up to the monthly limit of
 * lines whose owners sold their limit for cash, from new accounts on one or two devices, and redeems the
 * codes elsewhere within minutes. The line owners cooperate, so challenges pass and nobody disputes.
 */
function cashOutRing(world: World): void {
  const random = world.random;
  const kr = REGIONS[0];
  const jp = REGIONS[5];
  const region = (random.chance(0.7) ? kr : random.chance(0.5) ? jp : undefined) ?? world.regionPicker.pick(random);
  const where = random.pick(region.cities);
  const devices = Array.from({ length: random.int(1, 2) }, () => newDevice(world));
  const ips = Array.from({ length: random.int(1, 3) }, () => (random.chance(0.5) ? ipIn(random, where) : random.pick(world.mobileIps.get(region.country) ?? ['0.0.0.0'])));
  const redeemers = Array.from({ length: random.int(1, 3) }, () => newId(world, 'buy'));
  let lines = Array.from({ length: random.int(5, 16) }, () => newLine(world, region));
  const accounts = new Map<PhoneLine, Account>();
  let cycleAt = world.startMs + random.between(0, world.endMs - world.startMs - 3 * DAY_MS);
  for (let cycle = 0; cycle < 2 && cycleAt < world.endMs; cycle += 1) {
    let time = cycleAt;
    let previous: Account | null = null;
    for (const line of lines) {
      let account: Account | null = accounts.get(line) ?? (previous !== null && random.chance(0.3) ? previous : null);
      account ??= newAccount(world, region, time - delayBetween(world, 10 * MINUTE_MS, 5 * DAY_MS));
      accounts.set(line, account);
      previous = account;
      const context = contextAt(random.pick(devices), random.pick(ips), where, line.number);
      time = drainLine(world, account, line, context, time, redeemers) + delayBetween(world, 5 * MINUTE_MS, 8 * HOUR_MS);
    }
    // The same lines are usually sold again when their limits reset next month.
    if (!random.chance(0.5)) break;
    cycleAt += delayBetween(world, 28 * DAY_MS, 35 * DAY_MS);
    lines = lines.map((line) => (random.chance(0.7) ? line : newLine(world, region)));
  }
}

function drainLine(world: World, account: Account, line: PhoneLine, context: BuyerContext, at: number, redeemers: string[]): number {
  const random = world.random;
  let time = at;
  for (let purchases = 0; purchases < 6 && time < world.endMs; purchases += 1) {
    const goods = resellableGoods(world, account.region, 0.4);
    const amount = goods === null ? null : largestUpTo(goods.denominations, lineRemaining(line, time));
    if (goods === null || amount === null) break;
    const railSucceeds = chargeLine(line, time, amount) && random.chance(0.99);
    const input = movement(world, {
      action: 'payment', at: time, merchant: goods.merchant, account, amount, currency: account.region.currency,
      categories: goods.categories, method: 'carrier_billing', context, line,
    });
    const followUps: (FollowUp | null)[] = [];
    if (random.chance(0.92)) followUps.push(redeemedAfter(input, random.pick(redeemers), delayBetween(world, MINUTE_MS, 20 * MINUTE_MS)));
    if (random.chance(0.85)) followUps.push(labelAfter(input, delayBetween(world, 7 * DAY_MS, 40 * DAY_MS)));
    emitAttempt(world, input, fraudTruth('cash_out', true, railSucceeds), present(followUps), goods.merchant);
    time += delayBetween(world, MINUTE_MS, 12 * MINUTE_MS);
  }
  return time;
}

interface Persona {
  wallet: Wallet;
  context: BuyerContext;
  where: Place;
}

/** A fraudster paying from an account of their own, on their own device and home connection. */
function persona(world: World, region: Region, createdAt: number): Persona {
  const where = world.random.pick(region.cities);
  const wallet = newAccount(world, region, createdAt);
  wallet.cards.push(newCard(world, region.cardBins));
  return { wallet, where, context: contextAt(newDevice(world), ipIn(world.random, where), where, null) };
}

/** Refund abuse: ordinary-looking purchases, most of them refunded (some disputed) afterwards. */
function refundAbuser(world: World): void {
  const random = world.random;
  const region = world.regionPicker.pick(random);
  const established = random.chance(0.5);
  const createdAt = established
    ? world.startMs - delayBetween(world, 30 * DAY_MS, 700 * DAY_MS)
    : world.startMs + random.between(0, Math.max(DAY_MS, world.endMs - world.startMs - 14 * DAY_MS));
  const actor = persona(world, region, createdAt);
  const shops = pickFavourites(world, region, random.int(1, 3));
  const fromMs = Math.max(createdAt, world.startMs) + delayBetween(world, HOUR_MS, 3 * DAY_MS);
  const toMs = Math.min(world.endMs, fromMs + random.int(3, 25) * DAY_MS);
  if (shops.length === 0 || fromMs >= toMs) return;
  const times = Array.from({ length: random.int(6, 14) }, () => diurnalTime(random, fromMs, toMs, actor.where.utcOffsetHours)).sort((left, right) => left - right);
  for (const at of times) {
    const merchant = random.pick(shops);
    const amount = priceNear(region.currency, random.between(300, 3_000));
    const time = ownWalletPayment(world, actor, merchant, 'payment', amount, CATALOGUES[merchant.kind][0]?.categories ?? [], at, (input) => {
      const roll = random.next();
      const followUps: (FollowUp | null)[] = [labelAfter(input, delayBetween(world, 10 * DAY_MS, 35 * DAY_MS))];
      if (roll < 0.8) followUps.push(refundAfter(input, delayBetween(world, HOUR_MS, 4 * DAY_MS)));
      else if (roll < 0.88) followUps.push(disputeAfter(input, delayBetween(world, 3 * DAY_MS, 20 * DAY_MS)));
      return present(followUps);
    }, 'refund_abuse');
    if (time === null) return;
  }
}

/**
 * Pays from the actor's wallet, topping it up first with the actor's own card when short. The top-up is
 * honest (their own money, no loss to anyone); the payment carries the typology. Returns null when the
 * top-up was declined and the payment abandoned.
 */
function ownWalletPayment(
  world: World, actor: Persona, merchant: Merchant, action: 'payment' | 'tip', amount: bigint, categories: readonly string[],
  at: number, followUpsFor: (input: RiskInput) => FollowUp[], typology: Typology,
): number | null {
  let time = at;
  if (actor.wallet.balance < amount) {
    time = honestTopUp(world, actor.wallet, actor.context, time, amount * BigInt(world.random.int(1, 4))) + delayBetween(world, 5_000, 60_000);
    if (actor.wallet.balance < amount) return null;
  }
  const input = movement(world, {
    action, at: time, merchant, account: actor.wallet, amount, currency: actor.wallet.region.currency, categories, method: 'wallet', context: actor.context,
  });
  emitAttempt(world, input, fraudTruth(typology, true, true), followUpsFor(input), merchant);
  actor.wallet.balance -= amount;
  return time;
}

/** Loyalty farming: several accounts on one device buying cheaply at one merchant and refunding, or tipping their own creator account. */
function loyaltyFarmer(world: World): void {
  const random = world.random;
  const region = world.regionPicker.pick(random);
  const selfDealing = random.chance(0.3);
  const merchant = selfDealing
    ? createMerchant(world, region, 'creator', false)
    : shopsOf(world, region, random.pick<MerchantKind>(['game_studio', 'publisher', 'app_maker']))?.pick(random);
  if (merchant === undefined) return;
  const fromMs = world.startMs + random.between(0, Math.max(DAY_MS, world.endMs - world.startMs - 14 * DAY_MS));
  const shared = persona(world, region, fromMs);
  for (let accounts = random.int(3, 6); accounts > 0; accounts -= 1) {
    const createdAt = random.chance(0.6) ? fromMs - delayBetween(world, DAY_MS, 60 * DAY_MS) : fromMs - delayBetween(world, 10 * MINUTE_MS, DAY_MS);
    const actor: Persona = { ...shared, wallet: persona(world, region, createdAt).wallet };
    const toMs = Math.min(world.endMs, fromMs + random.int(1, 14) * DAY_MS);
    const times = Array.from({ length: random.int(4, 10) }, () => Math.round(random.between(fromMs, toMs))).sort((left, right) => left - right);
    for (const at of times) {
      const amount = priceNear(region.currency, random.between(selfDealing ? 100 : 50, selfDealing ? 500 : 300));
      const categories = CATALOGUES[merchant.kind][0]?.categories ?? [];
      const time = ownWalletPayment(world, actor, merchant, selfDealing ? 'tip' : 'payment', amount, categories, at, (input) => present([
        selfDealing || !random.chance(0.85) ? null : refundAfter(input, delayBetween(world, 10 * MINUTE_MS, 6 * HOUR_MS)),
        labelAfter(input, delayBetween(world, 7 * DAY_MS, 28 * DAY_MS)),
      ]), 'loyalty_farming');
      if (time === null) break;
    }
  }
}

interface Mule {
  merchant: Merchant;
  startAt: number;
  windowMs: number;
}

/** Mule creators are created before the buyers' timelines run, since compromised buyers tip them from inside. */
function planMules(world: World, count: number, established: Buyer[]): Mule[] {
  const random = world.random;
  const mules: Mule[] = [];
  for (let index = 0; index < count; index += 1) {
    const region = world.regionPicker.pick(random);
    const mule: Mule = {
      merchant: createMerchant(world, region, 'creator', false),
      startAt: world.startMs + random.between(0, Math.max(DAY_MS, world.endMs - world.startMs - 7 * DAY_MS)),
      windowMs: random.int(1, 6) * DAY_MS,
    };
    mules.push(mule);
    const candidates = established.filter((buyer) => buyer.region === region && buyer.cards.length > 0);
    for (let victims = random.int(0, 5); victims > 0 && candidates.length > 0; victims -= 1) {
      const victim = random.pick(candidates);
      victim.episodes.push({ at: mule.startAt + random.between(0, mule.windowMs), run: (at) => compromisedTips(world, victim, mule, at) });
    }
  }
  return mules;
}

function compromisedTips(world: World, victim: Buyer, mule: Mule, at: number): void {
  const random = world.random;
  const origin = attackerOrigin(world, victim.region, 0.3);
  const context = contextAt(origin.device, origin.ipAddress, origin.where, null);
  let time = at;
  for (let tips = random.int(1, 2); tips > 0; tips -= 1) {
    let amount = priceNear(victim.region.currency, random.between(1_000, 5_000));
    const card = victim.cards[0];
    if (victim.balance < amount && card !== undefined) {
      fraudTopUp(world, 'mule_creator', victim, card, context, time, highDenomination(world, CURRENCIES[victim.region.currency].topUps), 0.85);
      time += delayBetween(world, 20_000, 2 * MINUTE_MS);
    }
    if (victim.balance < amount) amount = victim.balance;
    if (amount < CURRENCIES[victim.region.currency].minimumPrice) return;
    const input = movement(world, {
      action: 'tip', at: time, merchant: mule.merchant, account: victim, amount, currency: victim.region.currency, categories: ['tip'], method: 'wallet', context,
    });
    emitAttempt(world, input, fraudTruth('mule_creator', false, true), disputeAndLabel(world, input, [2, 14], [2, 10]), mule.merchant);
    victim.balance -= amount;
    time += delayBetween(world, MINUTE_MS, 10 * MINUTE_MS);
  }
}

/** New accounts funded with stolen cards tip the mule; the accounts are the ring's, so their own challenges pass. */
function muleAccounts(world: World, mule: Mule): void {
  const random = world.random;
  const region = mule.merchant.region;
  const table = CURRENCIES[region.currency];
  const devices = Array.from({ length: random.int(2, 6) }, () => newDevice(world, random.chance(0.4) ? EMULATOR_USER_AGENTS : MOBILE_USER_AGENTS));
  for (let payers = random.int(12, 35); payers > 0; payers -= 1) {
    let time = mule.startAt + random.between(0, mule.windowMs);
    const account = newAccount(world, region, time - delayBetween(world, 10 * MINUTE_MS, 2 * DAY_MS));
    const origin = attackerOrigin(world, region, 0.3);
    const device = random.chance(0.6) ? random.pick(devices) : origin.device;
    const context = contextAt(device, origin.ipAddress, origin.where, null);
    for (let cards = 0; cards < 2 && account.balance === 0n; cards += 1) {
      const stolen = newCard(world, random.pick(REGIONS).cardBins);
      fraudTopUp(world, 'mule_creator', account, stolen, context, time, random.pick(table.topUps.slice(1)), 0.8);
      time += delayBetween(world, 20_000, 3 * MINUTE_MS);
    }
    for (let tips = random.int(1, 3); tips > 0; tips -= 1) {
      const wanted = priceNear(region.currency, random.between(800, 4_000));
      const amount = wanted <= account.balance ? wanted : account.balance;
      if (amount < table.minimumPrice) break;
      const input = movement(world, {
        action: 'tip', at: time, merchant: mule.merchant, account, amount, currency: region.currency, categories: ['tip'], method: 'wallet', context,
      });
      emitAttempt(world, input, fraudTruth('mule_creator', true, true), [labelAfter(input, delayBetween(world, 10 * DAY_MS, 40 * DAY_MS))], mule.merchant);
      account.balance -= amount;
      time += delayBetween(world, MINUTE_MS, 30 * MINUTE_MS);
    }
  }
}

/** The mule pays out what came in every few hours, from its own (verified) merchant account. */
function mulePayouts(world: World, mule: Mule): void {
  const random = world.random;
  const receipts = [...mule.merchant.receipts].sort((left, right) => left.at - right.at);
  const first = receipts[0];
  if (first === undefined) return;
  const minimum = CURRENCIES[mule.merchant.region.currency].minimumPayout;
  let time = first.at + delayBetween(world, 2 * HOUR_MS, 12 * HOUR_MS);
  let cursor = 0;
  let pending = 0n;
  for (let payouts = 0; payouts < 200 && time < world.endMs; payouts += 1) {
    for (; cursor < receipts.length && (receipts[cursor]?.at ?? Infinity) < time; cursor += 1) pending += receipts[cursor]?.amount ?? 0n;
    if (pending >= minimum) {
      emitPayout(world, mule.merchant, time, pending, fraudTruth('mule_creator', true, random.chance(0.98)));
      pending = 0n;
    } else if (cursor >= receipts.length) {
      break;
    }
    time += delayBetween(world, 4 * HOUR_MS, 20 * HOUR_MS);
  }
}

// ---------------------------------------------------------------------------------------------------
// The whole run.

function incidentCount(options: TrafficOptions, typology: Typology): number {
  const scale = typeof options.fraudScale === 'number' ? options.fraudScale : options.fraudScale?.[typology] ?? 1;
  if (scale <= 0) return 0;
  const count = Math.round(INCIDENTS_AT_DEFAULT[typology] * scale * (options.buyers / DEFAULT_TRAFFIC_OPTIONS.buyers) * (options.weeks / DEFAULT_TRAFFIC_OPTIONS.weeks));
  return Math.max(1, count);
}

/** Distinct random victims among `candidates`, each given one episode at a random time of the run. */
function planVictims(world: World, candidates: Buyer[], count: number, run: (victim: Buyer, at: number) => void): void {
  const random = world.random;
  const chosen = new Set<Buyer>();
  for (let attempt = 0; chosen.size < Math.min(count, candidates.length) && attempt < count * 20; attempt += 1) {
    const victim = random.pick(candidates);
    if (chosen.has(victim)) continue;
    chosen.add(victim);
    const at = world.startMs + random.between(Math.min(3 * DAY_MS, (world.endMs - world.startMs) / 4), world.endMs - world.startMs - HOUR_MS);
    victim.episodes.push({ at, run: (time) => run(victim, time) });
  }
}

function validate(options: TrafficOptions): void {
  const within = (value: number, maximum: number) => Number.isInteger(value) && value >= 1 && value <= maximum;
  if (!within(options.weeks, WEEKS_MAX)) throw new RangeError(`weeks must be an integer from 1 to ${WEEKS_MAX}`);
  if (!within(options.buyers, BUYERS_MAX)) throw new RangeError(`buyers must be an integer from 1 to ${BUYERS_MAX}`);
  if (!within(options.merchants, MERCHANTS_MAX)) throw new RangeError(`merchants must be an integer from 1 to ${MERCHANTS_MAX}`);
  if (!Number.isInteger(options.seed)) throw new RangeError('seed must be an integer');
}

export function eventTime(event: SimulatedEvent): number {
  return event.kind === 'attempt' ? event.input.at : event.observation.type === 'outcome' ? event.observation.input.at : event.observation.at;
}

export function generateTraffic(options: TrafficOptions): SimulatedTraffic {
  validate(options);
  const startMs = options.startMs ?? DEFAULT_START_MS;
  const world: World = {
    random: createRandom(options.seed), startMs, endMs: startMs + options.weeks * WEEK_MS, events: [], merchants: [], buyers: [],
    regionPicker: new WeightedPicker(REGIONS, (region) => region.weight), shops: new Map(), mobileIps: new Map(),
    residentialProxies: new Map(), hostingIps: [],
  };
  createPools(world);
  createMerchants(world, options.merchants);
  for (let index = 0; index < options.buyers; index += 1) world.buyers.push(createBuyer(world));
  const established = world.buyers.filter((buyer) => buyer.createdAt < startMs - 14 * DAY_MS);
  const mules = planMules(world, incidentCount(options, 'mule_creator'), established);
  planVictims(world, established, incidentCount(options, 'account_takeover'), (victim, at) => accountTakeover(world, victim, at));
  const lineOwners = established.filter((buyer) => buyer.line !== null && (buyer.prefersCarrier || world.random.chance(0.2)));
  planVictims(world, lineOwners, incidentCount(options, 'stolen_phone_carrier_billing'), (victim, at) => stolenPhone(world, victim, at));
  for (const buyer of world.buyers) runBuyer(world, buyer);
  for (let index = incidentCount(options, 'card_testing'); index > 0; index -= 1) cardTestingRing(world);
  for (let index = incidentCount(options, 'cash_out'); index > 0; index -= 1) cashOutRing(world);
  for (let index = incidentCount(options, 'refund_abuse'); index > 0; index -= 1) refundAbuser(world);
  for (let index = incidentCount(options, 'loyalty_farming'); index > 0; index -= 1) loyaltyFarmer(world);
  for (const mule of mules) muleAccounts(world, mule);
  for (const mule of mules) mulePayouts(world, mule);
  honestPayouts(world);
  priorHistory(world);
  // Attempts generated past the end (a burst that started just before it) are dropped.
  const events = world.events.filter((event) => eventTime(event) < world.endMs);
  events.sort((left, right) => eventTime(left) - eventTime(right));
  return { seed: options.seed, startMs, endMs: world.endMs, events };
}

export interface TypologySummary {
  attempts: number;
  valueUsdCents: number;
}

export interface TrafficSummary {
  attempts: number;
  observations: number;
  honest: TypologySummary;
  fraud: TypologySummary;
  typologies: Record<Typology, TypologySummary>;
}

/** Attempts and value (US cents at the reference rates) per typology and for honest traffic. */
export function summarizeTraffic(events: readonly SimulatedEvent[]): TrafficSummary {
  const empty = (): TypologySummary => ({ attempts: 0, valueUsdCents: 0 });
  const summary: TrafficSummary = {
    attempts: 0, observations: 0, honest: empty(), fraud: empty(),
    typologies: Object.fromEntries(TYPOLOGIES.map((typology) => [typology, empty()])) as Record<Typology, TypologySummary>,
  };
  for (const event of events) {
    if (event.kind === 'observation') {
      summary.observations += 1;
      continue;
    }
    const value = usdCents(event.input.amount, event.input.currency);
    summary.attempts += 1;
    const groups = event.truth.typology === null ? [summary.honest] : [summary.fraud, summary.typologies[event.truth.typology]];
    for (const group of groups) {
      group.attempts += 1;
      group.valueUsdCents += value;
    }
  }
  return summary;
}
