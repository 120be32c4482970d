// The "merchant side" of the demo storefronts. It plays three merchants' servers and, like them, talks
// to Micropay only through the public SDK (@micropay/sdk) over HTTP with each merchant's secret key:
// it creates payments without a customer for the embeddable checkout, checks a payment succeeded
// before it hands over what was bought, and receives signed webhooks that it verifies with the SDK's
// helper. Nothing here reaches into Micropay's services or store.
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { Micropay, MicropayError, webhooks, type Payment, type WebhookHeaders } from '@micropay/sdk';
import type { Logger } from '../log/logger.ts';
import type { DemoKeys } from '../server/bootstrap.ts';
import {
  ARTICLES,
  CART_LINES_MAX,
  CART_QUANTITY_MAX,
  DEMO_LOYALTY,
  DEMO_SHOPS,
  SHOP_CURRENCY,
  SHOP_ITEMS,
  TIP_CURRENCY,
  TIP_MAX,
  TIP_MESSAGE_CHARS_MAX,
  TIP_MIN,
  type Article,
  type DemoShop,
} from './catalog.ts';

/** Webhook events kept per storefront to show on its page (newest first). */
const RECEIVED_EVENTS_MAX = 50;
const SUPPORTERS_SHOWN_MAX = 10;
const WEBHOOK_EVENTS = ['payment.*'];
const WEBHOOK_DESCRIPTION = 'Demo storefront (src/demo)';

export interface ReceivedWebhook {
  id: string | null;
  type: string | null;
  payment: string | null;
  status: string | null;
  verified: boolean;
  /** Why the signature check failed, when it did. */
  error: string | null;
  received_at: number;
}

/** What the page needs to open the checkout for a payment the merchant server created. */
export interface CheckoutStart {
  payment: string;
  client_secret: string;
  publishable_key: string;
  amount: number;
  currency: string;
}

/** An expected refusal of the demo's own API: a stable code and a message for the page. */
export class DemoError extends Error {
  constructor(
    readonly status: 400 | 402 | 404 | 503,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

interface EndpointState {
  id: string;
  secret: string;
}

export interface DemoServiceOptions {
  keys: DemoKeys;
  logger: Logger;
  /** Where the webhook endpoints' ids and secrets are kept between starts; none: registered anew each start. */
  stateFile?: string;
  /** The fetch the SDK sends requests with (tests). */
  fetch?: (request: Request) => Promise<Response>;
}

export interface DemoService {
  /** Points the SDK at the server's address and registers (or updates) each merchant's webhook endpoint. */
  start(baseUrl: string): Promise<void>;
  started(): boolean;
  publishableKey(shop: DemoShop): string;
  merchantName(shop: DemoShop): string;
  startArticlePayment(slug: string): Promise<CheckoutStart>;
  /** The article's full text, when `paymentId` is a succeeded payment for it. */
  unlockArticle(slug: string, paymentId: string): Promise<Article>;
  startOrder(lines: Array<{ sku: string; quantity: number }>): Promise<CheckoutStart>;
  order(paymentId: string): Promise<{ payment: string; status: string; fulfilled: boolean; items: Array<{ name: string; quantity: number }> }>;
  startTip(amount: number, message: string | undefined): Promise<CheckoutStart>;
  tip(paymentId: string): Promise<{ payment: string; status: string; amount: number; currency: string }>;
  supporters(): Promise<Array<{ amount: number; currency: string; message: string | null; created: number }>>;
  /** Checks and records a delivery; false when its signature does not verify (answer 400). */
  receiveWebhook(shop: DemoShop, rawBody: string, headers: WebhookHeaders): boolean;
  webhooks(shop: DemoShop): ReceivedWebhook[];
}

function clientSecretOf(payment: Payment): string {
  const secret = (payment as Payment & { client_secret?: unknown }).client_secret;
  if (typeof secret !== 'string') throw new DemoError(503, 'client_secret_missing', 'Micropay did not return the payment’s client secret.');
  return secret;
}

function checkoutStart(payment: Payment, publishableKey: string): CheckoutStart {
  return { payment: payment.id, client_secret: clientSecretOf(payment), publishable_key: publishableKey, amount: Number(payment.amount), currency: payment.currency };
}

function readState(path: string | undefined): Partial<Record<DemoShop, EndpointState>> {
  if (!path || !existsSync(path)) return {};
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as Partial<Record<DemoShop, EndpointState>>;
  } catch {
    return {};
  }
}

export function createDemoService(options: DemoServiceOptions): DemoService {
  const { keys, logger } = options;
  const clients = new Map<DemoShop, Micropay>();
  const secrets = new Map<DemoShop, string>();
  const received = new Map<DemoShop, ReceivedWebhook[]>(DEMO_SHOPS.map((shop) => [shop, []]));

  function client(shop: DemoShop): Micropay {
    const found = clients.get(shop);
    if (!found) throw new DemoError(503, 'demo_starting', 'The demo is starting; try again in a moment.');
    return found;
  }

  async function retrieve(shop: DemoShop, paymentId: string): Promise<Payment> {
    if (!/^pay_[0-9A-Za-z]{1,60}$/.test(paymentId)) throw new DemoError(400, 'payment_invalid', 'That is not a payment id.');
    try {
      return await client(shop).payments.retrieve(paymentId);
    } catch (error) {
      if (error instanceof MicropayError && error.code === 'resource_missing') throw new DemoError(404, 'payment_unknown', 'No such payment at this shop.');
      throw error;
    }
  }

  async function registerEndpoint(shop: DemoShop, micropay: Micropay, url: string, known: EndpointState | undefined): Promise<EndpointState> {
    if (known) {
      try {
        const endpoint = await micropay.request('get', '/v1/webhook_endpoints/{id}', { params: { path: { id: known.id } } });
        if (endpoint.url !== url || endpoint.status === 'disabled') {
          await micropay.request('post', '/v1/webhook_endpoints/{id}', { params: { path: { id: known.id } }, body: { url, disabled: false } });
        }
        return known;
      } catch (error) {
        if (!(error instanceof MicropayError && error.code === 'resource_missing')) throw error;
      }
    }
    const created = await micropay.request('post', '/v1/webhook_endpoints', { body: { url, enabled_events: WEBHOOK_EVENTS, description: WEBHOOK_DESCRIPTION } });
    logger.info({ shop, endpoint: created.id, url }, 'demo storefront registered its webhook endpoint');
    return { id: created.id, secret: (created as { secret: string }).secret };
  }

  /** Sets the shop's loyalty program unless it has one (the merchant's own changes are kept). */
  async function ensureLoyaltyProgram(shop: DemoShop, micropay: Micropay): Promise<void> {
    try {
      await micropay.request('get', '/v1/loyalty/program', {});
      return;
    } catch (error) {
      if (!(error instanceof MicropayError) || error.status !== 404) throw error;
    }
    await micropay.request('put', '/v1/loyalty/program', { body: DEMO_LOYALTY[shop] });
  }

  const articleBySlug = (slug: string): Article => {
    const article = ARTICLES.find((candidate) => candidate.slug === slug);
    if (!article) throw new DemoError(404, 'article_unknown', 'No such article.');
    return article;
  };

  return {
    async start(baseUrl) {
      const state = readState(options.stateFile);
      for (const shop of DEMO_SHOPS) {
        const micropay = new Micropay({ apiKey: keys[shop].secret_key, baseUrl, ...(options.fetch ? { fetch: options.fetch } : {}) });
        const endpoint = await registerEndpoint(shop, micropay, `${baseUrl.replace(/\/+$/, '')}/demo/webhooks/${shop}`, state[shop]);
        state[shop] = endpoint;
        await ensureLoyaltyProgram(shop, micropay);
        secrets.set(shop, endpoint.secret);
        clients.set(shop, micropay);
      }
      if (options.stateFile) writeFileSync(options.stateFile, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
    },

    started: () => clients.size === DEMO_SHOPS.length,
    publishableKey: (shop) => keys[shop].publishable_key,
    merchantName: (shop) => keys[shop].name,

    async startArticlePayment(slug) {
      const article = articleBySlug(slug);
      const payment = await client('news').payments.create({
        amount: Number(article.price),
        currency: article.currency,
        description: article.title,
        line_items: [{ description: article.title, category: 'article', unit_amount: Number(article.price), quantity: 1 }],
        metadata: { article: article.slug },
      });
      return checkoutStart(payment, keys.news.publishable_key);
    },

    async unlockArticle(slug, paymentId) {
      const article = articleBySlug(slug);
      const payment = await retrieve('news', paymentId);
      // The merchant's own check: this payment, for this article, at this price, has succeeded.
      const paid =
        payment.status === 'succeeded' &&
        payment.metadata?.article === article.slug &&
        BigInt(payment.amount) === article.price &&
        payment.currency === article.currency;
      if (!paid) throw new DemoError(402, 'payment_not_succeeded', 'This article is not paid for yet.');
      return article;
    },

    async startOrder(lines) {
      if (lines.length === 0 || lines.length > CART_LINES_MAX) throw new DemoError(400, 'cart_invalid', `A cart has 1 to ${CART_LINES_MAX} lines.`);
      const lineItems = lines.map((line) => {
        const item = SHOP_ITEMS.find((candidate) => candidate.sku === line.sku);
        if (!item) throw new DemoError(400, 'item_unknown', `No such item: ${line.sku}.`);
        if (!Number.isInteger(line.quantity) || line.quantity < 1 || line.quantity > CART_QUANTITY_MAX) {
          throw new DemoError(400, 'quantity_invalid', `Quantities go from 1 to ${CART_QUANTITY_MAX}.`);
        }
        return { description: item.name, category: 'virtual_good' as const, unit_amount: Number(item.price), quantity: line.quantity };
      });
      const amount = lines.reduce((sum, line) => sum + SHOP_ITEMS.find((item) => item.sku === line.sku)!.price * BigInt(line.quantity), 0n);
      const payment = await client('shop').payments.create({
        amount: Number(amount),
        currency: SHOP_CURRENCY,
        description: `Pixel Forge order (${lines.length} ${lines.length === 1 ? 'item' : 'items'})`,
        line_items: lineItems,
        metadata: { cart: lines.map((line) => `${line.sku}x${line.quantity}`).join(',') },
      });
      return checkoutStart(payment, keys.shop.publishable_key);
    },

    async order(paymentId) {
      const payment = await retrieve('shop', paymentId);
      return {
        payment: payment.id,
        status: payment.status,
        fulfilled: payment.status === 'succeeded',
        items: payment.line_items.map((item) => ({ name: item.description, quantity: item.quantity })),
      };
    },

    async startTip(amount, message) {
      if (!Number.isSafeInteger(amount) || BigInt(amount) < TIP_MIN || BigInt(amount) > TIP_MAX) {
        throw new DemoError(400, 'tip_invalid', `Tips go from €${Number(TIP_MIN) / 100} to €${Number(TIP_MAX) / 100}.`);
      }
      const note = message?.trim().slice(0, TIP_MESSAGE_CHARS_MAX);
      const payment = await client('creator').payments.create({
        amount,
        currency: TIP_CURRENCY,
        description: 'A tip for Mia Makes',
        line_items: [{ description: 'Tip', category: 'tip', unit_amount: amount, quantity: 1 }],
        metadata: note ? { message: note } : {},
      });
      return checkoutStart(payment, keys.creator.publishable_key);
    },

    async tip(paymentId) {
      const payment = await retrieve('creator', paymentId);
      return { payment: payment.id, status: payment.status, amount: Number(payment.amount), currency: payment.currency };
    },

    async supporters() {
      const page = await client('creator').payments.list({ limit: 50 });
      return page.data
        .filter((payment) => payment.status === 'succeeded')
        .slice(0, SUPPORTERS_SHOWN_MAX)
        .map((payment) => ({ amount: Number(payment.amount), currency: payment.currency, message: payment.metadata?.message ?? null, created: payment.created }));
    },

    receiveWebhook(shop, rawBody, headers) {
      const secret = secrets.get(shop);
      const list = received.get(shop)!;
      let entry: ReceivedWebhook;
      try {
        if (!secret) throw new Error('This storefront has not registered its webhook endpoint yet.');
        const event = webhooks.verify<{ id?: string; status?: string }>(rawBody, headers, secret);
        entry = { id: event.id, type: event.type, payment: event.data.object.id ?? null, status: event.data.object.status ?? null, verified: true, error: null, received_at: Date.now() };
      } catch (error) {
        entry = { id: null, type: null, payment: null, status: null, verified: false, error: error instanceof Error ? error.message : String(error), received_at: Date.now() };
      }
      // A retried delivery carries the same event id: show it once.
      if (!(entry.verified && list.some((known) => known.id === entry.id))) list.unshift(entry);
      list.length = Math.min(list.length, RECEIVED_EVENTS_MAX);
      return entry.verified;
    },

    webhooks: (shop) => [...received.get(shop)!],
  };
}
