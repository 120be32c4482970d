// What the three demo storefronts sell. Prices live on the merchant's server (here), never in the
// page: the page names items and quantities, and the server prices them when it creates the payment.

export const DEMO_SHOPS = ['news', 'shop', 'creator'] as const;
export type DemoShop = (typeof DEMO_SHOPS)[number];

export interface DemoMerchantProfile {
  name: string;
  /** The platform's fee on this merchant's payments, basis points. */
  feeBps: number;
  tagline: string;
}

export const DEMO_MERCHANTS: Record<DemoShop, DemoMerchantProfile> = {
  news: { name: 'Daily Planet', feeBps: 250, tagline: 'Independent news, one article at a time.' },
  shop: { name: 'Pixel Forge', feeBps: 300, tagline: 'Coins and skins for Pixel Quest.' },
  creator: { name: 'Mia Makes', feeBps: 200, tagline: 'Hand-drawn comics, every Friday. Tips keep them coming.' },
};

export interface Article {
  slug: string;
  title: string;
  teaser: string;
  /** Served only once the merchant server has seen the payment succeed. */
  body: string[];
  /** Minor units of `currency`. */
  price: bigint;
  currency: string;
}

export const ARTICLES: readonly Article[] = [
  {
    slug: 'seoul-night-markets',
    title: 'Seoul’s night markets go cashless',
    teaser: 'Vendors at Gwangjang Market now take tap-to-pay for a single mung-bean pancake. We spent a night with them.',
    body: [
      'At nine in the evening the aisles of Gwangjang Market are packed, and the queue for bindaetteok reaches the street.',
      'Most stalls now take payments of a few hundred won with one tap, something card fees made impossible a few years ago.',
      '“Small sales were never worth a card terminal,” says Mrs. Park, who has fried pancakes here for thirty years. “Now every sale is.”',
    ],
    price: 300n,
    currency: 'KRW',
  },
  {
    slug: 'micropayments-return',
    title: 'The quiet return of the micropayment',
    teaser: 'Paying a quarter for one article sounded absurd for twenty years. Passkeys and wallets changed the arithmetic.',
    body: [
      'The idea is older than the web browser: pay a few cents for exactly what you read.',
      'It failed for two reasons. Card fees swallowed small payments, and typing a card number for 25 cents was absurd.',
      'A prepaid wallet spreads one card fee over many small purchases, and a passkey turns checkout into a single tap.',
    ],
    price: 25n,
    currency: 'USD',
  },
];

export interface ShopItem {
  sku: string;
  name: string;
  kind: 'coins' | 'skin';
  price: bigint;
}

export const SHOP_CURRENCY = 'USD';
export const SHOP_ITEMS: readonly ShopItem[] = [
  { sku: 'coins-100', name: '100 coins', kind: 'coins', price: 99n },
  { sku: 'coins-550', name: '550 coins', kind: 'coins', price: 499n },
  { sku: 'skin-ember-blade', name: 'Ember Blade skin', kind: 'skin', price: 149n },
  { sku: 'skin-neon-cape', name: 'Neon Cape skin', kind: 'skin', price: 79n },
  { sku: 'skin-frost-helm', name: 'Frost Helm skin', kind: 'skin', price: 199n },
];
/** Lines in one cart and units of one item, at most. */
export const CART_LINES_MAX = 10;
export const CART_QUANTITY_MAX = 10;

export const TIP_CURRENCY = 'EUR';
export const TIP_PRESETS: readonly bigint[] = [100n, 300n, 500n];
export const TIP_MIN = 100n;
export const TIP_MAX = 5000n;
export const TIP_MESSAGE_CHARS_MAX = 140;

/** The loyalty program each demo merchant starts with (PUT /v1/loyalty/program, docs/loyalty.md), so
 * that the demo's buyers see points and badges in the wallet. Set once: a program the merchant changed
 * from the dashboard is kept. */
export interface DemoLoyaltyProgram {
  earn: { per_amount: number; currency: string; points: number };
  bonus_categories?: { virtual_good?: number };
  expiry_days: number;
  redemption: { value_minor_per_point: Record<string, number>; minimum_points: number; max_share_percent: number } | null;
}

export const DEMO_LOYALTY: Record<DemoShop, DemoLoyaltyProgram> = {
  // One point per 100 won read (1%); a point pays 1 won of a later article, up to half of it.
  news: { earn: { per_amount: 100, currency: 'KRW', points: 1 }, expiry_days: 365, redemption: { value_minor_per_point: { KRW: 1 }, minimum_points: 100, max_share_percent: 50 } },
  // One point per dollar, two for virtual goods; a point pays one cent, up to a quarter of an order.
  shop: { earn: { per_amount: 100, currency: SHOP_CURRENCY, points: 1 }, bonus_categories: { virtual_good: 2 }, expiry_days: 180, redemption: { value_minor_per_point: { USD: 1 }, minimum_points: 50, max_share_percent: 25 } },
  // Tips earn a point per euro (for the supporter badge and the points page); points do not pay tips.
  creator: { earn: { per_amount: 100, currency: TIP_CURRENCY, points: 1 }, expiry_days: 365, redemption: null },
};
