// The demo storefronts' pages: plain HTML with a little inline script, as a merchant's site would
// have. Each page asks its merchant server (/demo/api/...) to create a payment, puts Micropay's
// <micropay-checkout> tag on the page, and reacts to its events; a side panel shows the signed
// webhooks the merchant server received.
import { ARTICLES, SHOP_CURRENCY, SHOP_ITEMS, TIP_CURRENCY, TIP_PRESETS, TIP_MAX, TIP_MIN, TIP_MESSAGE_CHARS_MAX, type DemoShop } from './catalog.ts';

export function escapeHtml(text: string): string {
  return text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;').replaceAll("'", '&#39;');
}

/** Amounts in the page's text are formatted on the server the way the checkout formats them. */
function money(amount: bigint, currency: string): string {
  const digits = new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions().maximumFractionDigits ?? 2;
  const scale = 10n ** BigInt(digits);
  const decimal = digits === 0 ? amount.toString() : `${amount / scale}.${(amount % scale).toString().padStart(digits, '0')}`;
  return new Intl.NumberFormat('en-US', { style: 'currency', currency }).format(decimal as unknown as number);
}

const STYLE = `
:root { font-family: system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif; color: #1a1a2e; background: #fafafc; line-height: 1.5; }
* { box-sizing: border-box; }
body { margin: 0; }
a { color: #2a4bd7; }
header.site { background: #1a1a2e; color: #fff; padding: 12px 16px; display: flex; flex-wrap: wrap; gap: 8px 24px; align-items: baseline; }
header.site a { color: #fff; }
header.site nav { display: flex; gap: 16px; flex-wrap: wrap; }
.layout { display: grid; grid-template-columns: minmax(0, 1fr) 340px; gap: 24px; max-width: 1100px; margin: 0 auto; padding: 16px; }
@media (max-width: 820px) { .layout { grid-template-columns: minmax(0, 1fr); } }
.card { background: #fff; border: 1px solid #d8d8e0; border-radius: 10px; padding: 16px; margin-bottom: 16px; }
.card h2 { margin-top: 0; }
button, .button { font: inherit; font-weight: 600; padding: 10px 16px; min-height: 44px; border-radius: 8px; border: 2px solid #2a4bd7; background: #2a4bd7; color: #fff; cursor: pointer; }
button.secondary { background: #fff; color: #2a4bd7; }
button:focus-visible, a:focus-visible, input:focus-visible, textarea:focus-visible { outline: 3px solid #2a4bd7; outline-offset: 2px; }
button:disabled { opacity: 0.6; cursor: progress; }
.price { font-weight: 700; }
.merchant { background: #eef1fb; border-color: #b9c3ec; }
.merchant h2 { font-size: 1.1rem; }
.webhooks { list-style: none; padding: 0; margin: 0; font-size: 0.9rem; }
.webhooks li { padding: 6px 0; border-bottom: 1px solid #cfd6f0; overflow-wrap: anywhere; }
.ok { color: #1b6b3a; font-weight: 600; }
.bad { color: #b00020; font-weight: 600; }
.note { color: #4a4a5a; font-size: 0.9rem; }
.notice { padding: 8px 12px; border-radius: 8px; background: #e8f5ec; color: #1b6b3a; }
.notice.error { background: #fdecee; color: #b00020; }
.items { display: grid; grid-template-columns: repeat(auto-fill, minmax(180px, 1fr)); gap: 12px; }
.items .card { margin: 0; display: flex; flex-direction: column; gap: 8px; justify-content: space-between; }
.cart-line { display: flex; justify-content: space-between; align-items: center; gap: 8px; padding: 6px 0; border-bottom: 1px solid #eee; }
.cart-line button { min-height: 36px; padding: 4px 10px; }
label { font-weight: 600; display: block; margin: 8px 0 4px; }
input, textarea { font: inherit; padding: 8px; border: 1px solid #767684; border-radius: 6px; width: 100%; }
.presets { display: flex; gap: 8px; flex-wrap: wrap; border: 0; padding: 0; margin: 0; }
.presets label { display: inline-flex; gap: 6px; align-items: center; font-weight: 600; border: 2px solid #2a4bd7; border-radius: 8px; padding: 6px 12px; margin: 0; }
.presets input { width: auto; }
`;

/** Functions every demo page's script shares (plain browser JavaScript). */
const SHARED_SCRIPT = `
const demo = {
  async api(method, path, body) {
    const response = await fetch(path, { method, headers: body ? { 'content-type': 'application/json' } : {}, body: body ? JSON.stringify(body) : undefined });
    const data = await response.json().catch(() => ({}));
    if (!response.ok) throw new Error((data.error && data.error.message) || 'The shop could not answer (' + response.status + ').');
    return data;
  },
  money(minor, currency) {
    const digits = new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions().maximumFractionDigits;
    return new Intl.NumberFormat('en-US', { style: 'currency', currency }).format(Number(minor) / 10 ** digits);
  },
  /** Puts Micropay's embeddable checkout for a payment the merchant server created into container;
   * \`succeeded\` fulfils the order, and the page's notice shows its error or a held or refused payment. */
  mountCheckout(container, start, notice, succeeded) {
    const checkout = document.createElement('micropay-checkout');
    checkout.setAttribute('publishable-key', start.publishable_key);
    checkout.setAttribute('payment', start.payment);
    checkout.setAttribute('client-secret', start.client_secret);
    checkout.addEventListener('micropay:succeeded', async (event) => {
      try { await succeeded(event.detail.payment); } catch (error) { demo.notice(notice, error.message, true); }
    });
    const other = (status) => (event) => demo.notice(notice, event.detail.message || ('Payment ' + status + '.'), status === 'failed');
    checkout.addEventListener('micropay:processing', other('processing'));
    checkout.addEventListener('micropay:failed', other('failed'));
    container.replaceChildren(checkout);
    container.hidden = false;
    return checkout;
  },
  notice(element, text, error) {
    element.textContent = text;
    element.className = error ? 'notice error' : 'notice';
    element.hidden = !text;
  },
  /** The merchant side: signed webhooks its server received, refreshed every two seconds. */
  watchWebhooks(shop) {
    const list = document.getElementById('webhooks');
    const render = (events) => {
      if (events.length === 0) {
        list.innerHTML = '<li class="note">No webhook yet. Pay for something to see one arrive.</li>';
        return;
      }
      list.replaceChildren(...events.map((event) => {
        const item = document.createElement('li');
        item.dataset.testid = 'webhook-event';
        item.dataset.type = event.type || '';
        item.dataset.verified = String(event.verified);
        const time = new Date(event.received_at).toLocaleTimeString();
        if (event.verified) {
          item.innerHTML = 'Signed webhook received: <strong></strong> <span class="ok">✓ signature verified</span><br><span class="note"></span>';
          item.querySelector('strong').textContent = event.type;
          item.querySelector('.note').textContent = time + ' · ' + (event.payment || '') + (event.status ? ' · ' + event.status : '');
        } else {
          item.innerHTML = 'Webhook refused: <span class="bad">✗ signature invalid</span><br><span class="note"></span>';
          item.querySelector('.note').textContent = time + ' · ' + (event.error || '');
        }
        return item;
      }));
    };
    const refresh = async () => {
      try { render((await demo.api('GET', '/demo/api/' + shop + '/webhooks')).events); } catch {}
    };
    refresh();
    setInterval(refresh, 2000);
  },
};
`;

function layout(shop: DemoShop | null, title: string, merchantName: string, main: string, script: string): string {
  const nav = (['news', 'shop', 'creator'] as const)
    .map((target) => `<a href="/demo/${target}"${target === shop ? ' aria-current="page"' : ''}>${{ news: 'Daily Planet (news)', shop: 'Pixel Forge (game shop)', creator: 'Mia Makes (tips)' }[target]}</a>`)
    .join('');
  const merchantPanel = shop
    ? `<aside class="card merchant" aria-labelledby="merchant-heading" data-testid="merchant-side">
  <h2 id="merchant-heading">Merchant side: ${escapeHtml(merchantName)}’s server</h2>
  <p class="note">This server uses only the public SDK (<code>@micropay/sdk</code>) with the merchant’s secret key. It
  created each payment without a customer, and receives webhooks at <code>/demo/webhooks/${shop}</code>, checking their
  signatures with <code>webhooks.verify</code>.</p>
  <ol class="webhooks" id="webhooks" data-testid="webhooks" aria-live="polite"><li class="note">Loading…</li></ol>
</aside>`
    : '';
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>${STYLE}</style>
<script src="/checkout/checkout.js" async></script>
</head>
<body>
<header class="site"><strong>Micropay demo storefronts</strong><nav aria-label="Demo storefronts">${nav}</nav></header>
<div class="layout">
<main>${main}</main>
${merchantPanel}
</div>
<script>${SHARED_SCRIPT}
${script}</script>
</body>
</html>`;
}

export function indexPage(): string {
  return layout(
    null,
    'Micropay demo storefronts',
    '',
    `<h1>Demo storefronts</h1>
<p>Three small merchants that take payments with Micropay’s embeddable checkout, as a real merchant would: their
servers use only the public SDK, and they show the signed webhooks they receive.</p>
<ul>
<li><a href="/demo/news">Daily Planet</a>: pay ₩300 or $0.25 for one article.</li>
<li><a href="/demo/shop">Pixel Forge</a>: coins and skins, with a cart.</li>
<li><a href="/demo/creator">Mia Makes</a>: tips for a creator.</li>
</ul>
<p class="note">Test mode: top up with card 4242 4242 4242 4242 (or 4000 0000 0000 3220 for a 3-D Secure step). One-time
codes arrive in the <a href="/sandbox/outbox">sandbox outbox</a>.</p>`,
    '',
  );
}

export function newsPage(merchantName: string): string {
  const articles = ARTICLES.map(
    (article) => `<article class="card" data-testid="article-${article.slug}" aria-labelledby="title-${article.slug}">
  <h2 id="title-${article.slug}">${escapeHtml(article.title)}</h2>
  <p>${escapeHtml(article.teaser)}</p>
  <div data-testid="article-body-${article.slug}" id="body-${article.slug}" hidden></div>
  <p class="notice" id="notice-${article.slug}" role="status" hidden></p>
  <button type="button" data-buy="${article.slug}" data-testid="buy-${article.slug}">Read for ${escapeHtml(money(article.price, article.currency))}</button>
  <div id="checkout-${article.slug}" data-testid="checkout-${article.slug}" hidden></div>
</article>`,
  ).join('\n');
  return layout(
    'news',
    `${merchantName}: news`,
    merchantName,
    `<h1>${escapeHtml(merchantName)}</h1><p class="note">Independent news, one article at a time. No subscription: pay for what you read.</p>${articles}`,
    `
async function unlock(slug, paymentId) {
  const body = document.getElementById('body-' + slug);
  const article = await demo.api('GET', '/demo/api/news/articles/' + slug + '?payment=' + encodeURIComponent(paymentId));
  body.replaceChildren(...article.body.map((text) => { const p = document.createElement('p'); p.textContent = text; return p; }));
  body.hidden = false;
  document.querySelector('[data-buy="' + slug + '"]').hidden = true;
  document.getElementById('checkout-' + slug).hidden = true;
  localStorage.setItem('demo.news.' + slug, paymentId);
}
for (const button of document.querySelectorAll('[data-buy]')) {
  const slug = button.dataset.buy;
  const notice = document.getElementById('notice-' + slug);
  const remembered = localStorage.getItem('demo.news.' + slug);
  if (remembered) unlock(slug, remembered).catch(() => localStorage.removeItem('demo.news.' + slug));
  button.addEventListener('click', async () => {
    button.disabled = true;
    demo.notice(notice, '');
    try {
      const start = await demo.api('POST', '/demo/api/news/articles/' + slug + '/payment');
      demo.mountCheckout(document.getElementById('checkout-' + slug), start, notice, async (payment) => {
        await unlock(slug, payment.id);
        demo.notice(notice, 'Thanks for reading! The article is unlocked.');
      });
    } catch (error) {
      demo.notice(notice, error.message, true);
    } finally {
      button.disabled = false;
    }
  });
}
demo.watchWebhooks('news');`,
  );
}

export function shopPage(merchantName: string): string {
  const items = SHOP_ITEMS.map(
    (item) => `<div class="card" data-testid="item-${item.sku}"><div><strong>${escapeHtml(item.name)}</strong><br><span class="price">${escapeHtml(money(item.price, SHOP_CURRENCY))}</span></div>
<button type="button" class="secondary" data-add="${item.sku}" data-testid="add-${item.sku}" aria-label="Add ${escapeHtml(item.name)} to the cart">Add to cart</button></div>`,
  ).join('\n');
  const catalog = JSON.stringify(Object.fromEntries(SHOP_ITEMS.map((item) => [item.sku, { name: item.name, price: Number(item.price) }])));
  return layout(
    'shop',
    `${merchantName}: item shop`,
    merchantName,
    `<h1>${escapeHtml(merchantName)}</h1><p class="note">Coins and skins for Pixel Quest.</p>
<section aria-labelledby="items-heading"><h2 id="items-heading">Items</h2><div class="items">${items}</div></section>
<section class="card" aria-labelledby="cart-heading" data-testid="cart" style="margin-top:16px">
  <h2 id="cart-heading">Cart</h2>
  <div id="cart-lines" aria-live="polite"></div>
  <p><strong>Total: <span id="cart-total" data-testid="cart-total">$0.00</span></strong></p>
  <button type="button" id="cart-checkout" data-testid="cart-checkout" disabled>Checkout</button>
  <p class="notice" id="notice" role="status" data-testid="order-status" hidden></p>
  <div id="checkout" data-testid="checkout" hidden></div>
</section>`,
    `
const CATALOG = ${catalog};
const CURRENCY = ${JSON.stringify(SHOP_CURRENCY)};
let cart = JSON.parse(localStorage.getItem('demo.shop.cart') || '{}');
const notice = document.getElementById('notice');
function save() { localStorage.setItem('demo.shop.cart', JSON.stringify(cart)); render(); }
function render() {
  const lines = document.getElementById('cart-lines');
  const skus = Object.keys(cart).filter((sku) => CATALOG[sku] && cart[sku] > 0);
  lines.replaceChildren(...skus.map((sku) => {
    const line = document.createElement('div');
    line.className = 'cart-line';
    line.dataset.testid = 'cart-line';
    const label = document.createElement('span');
    label.textContent = CATALOG[sku].name + ' × ' + cart[sku];
    const remove = document.createElement('button');
    remove.type = 'button'; remove.className = 'secondary'; remove.textContent = 'Remove one';
    remove.setAttribute('aria-label', 'Remove one ' + CATALOG[sku].name);
    remove.addEventListener('click', () => { cart[sku] -= 1; if (cart[sku] <= 0) delete cart[sku]; save(); });
    line.append(label, remove);
    return line;
  }));
  if (skus.length === 0) lines.innerHTML = '<p class="note">Your cart is empty.</p>';
  const total = skus.reduce((sum, sku) => sum + CATALOG[sku].price * cart[sku], 0);
  document.getElementById('cart-total').textContent = demo.money(total, CURRENCY);
  document.getElementById('cart-checkout').disabled = skus.length === 0;
}
for (const button of document.querySelectorAll('[data-add]')) {
  button.addEventListener('click', () => { const sku = button.dataset.add; cart[sku] = Math.min(10, (cart[sku] || 0) + 1); save(); });
}
document.getElementById('cart-checkout').addEventListener('click', async (event) => {
  const button = event.currentTarget;
  button.disabled = true;
  demo.notice(notice, '');
  try {
    const items = Object.entries(cart).map(([sku, quantity]) => ({ sku, quantity }));
    const start = await demo.api('POST', '/demo/api/shop/orders', { items });
    demo.mountCheckout(document.getElementById('checkout'), start, notice, async (payment) => {
      const order = await demo.api('GET', '/demo/api/shop/orders/' + encodeURIComponent(payment.id));
      if (!order.fulfilled) throw new Error('The order is not paid yet.');
      demo.notice(notice, 'Order fulfilled: ' + order.items.map((item) => item.name + ' × ' + item.quantity).join(', ') + ' added to your Pixel Quest inventory.');
      cart = {}; save();
    });
  } catch (error) {
    demo.notice(notice, error.message, true);
    button.disabled = false;
  }
});
render();
demo.watchWebhooks('shop');`,
  );
}

export function creatorPage(merchantName: string): string {
  const presets = TIP_PRESETS.map(
    (amount, index) =>
      `<label><input type="radio" name="tip" value="${amount}" data-testid="tip-${amount}"${index === 1 ? ' checked' : ''}> ${escapeHtml(money(amount, TIP_CURRENCY))}</label>`,
  ).join('');
  return layout(
    'creator',
    `${merchantName}: tips`,
    merchantName,
    `<h1>${escapeHtml(merchantName)}</h1><p class="note">Hand-drawn comics, every Friday. Tips keep them coming.</p>
<section class="card" aria-labelledby="tip-heading">
  <h2 id="tip-heading">Leave a tip</h2>
  <form id="tip-form">
    <fieldset class="presets"><legend class="note">Amount</legend>${presets}</fieldset>
    <label for="tip-custom">Or another amount (€${Number(TIP_MIN) / 100} to €${Number(TIP_MAX) / 100})</label>
    <input id="tip-custom" data-testid="tip-custom" inputmode="decimal" placeholder="e.g. 2.50">
    <label for="tip-message">A message for Mia (optional)</label>
    <textarea id="tip-message" data-testid="tip-message" maxlength="${TIP_MESSAGE_CHARS_MAX}" rows="2"></textarea>
    <p><button type="submit" id="tip-button" data-testid="tip-button">Tip</button></p>
  </form>
  <p class="notice" id="notice" role="status" data-testid="tip-status" hidden></p>
  <div id="checkout" data-testid="checkout" hidden></div>
</section>
<section class="card" aria-labelledby="supporters-heading"><h2 id="supporters-heading">Recent supporters</h2><ul id="supporters" data-testid="supporters"></ul></section>`,
    `
const CURRENCY = ${JSON.stringify(TIP_CURRENCY)};
const form = document.getElementById('tip-form');
const notice = document.getElementById('notice');
function amount() {
  const custom = document.getElementById('tip-custom').value.trim().replace(',', '.');
  if (custom) {
    const match = /^([0-9]{1,3})(?:\\.([0-9]{1,2}))?$/.exec(custom);
    return match ? Number(match[1]) * 100 + Number((match[2] || '').padEnd(2, '0')) : NaN;
  }
  return Number(form.querySelector('input[name=tip]:checked').value);
}
function label() {
  const value = amount();
  document.getElementById('tip-button').textContent = Number.isFinite(value) ? 'Tip ' + demo.money(value, CURRENCY) : 'Tip';
}
form.addEventListener('input', label);
async function supporters() {
  const list = document.getElementById('supporters');
  try {
    const { supporters } = await demo.api('GET', '/demo/api/creator/supporters');
    if (supporters.length === 0) { list.innerHTML = '<li class="note">Be the first!</li>'; return; }
    list.replaceChildren(...supporters.map((tip) => {
      const item = document.createElement('li');
      item.textContent = demo.money(tip.amount, tip.currency) + (tip.message ? ': “' + tip.message + '”' : '');
      return item;
    }));
  } catch {}
}
form.addEventListener('submit', async (event) => {
  event.preventDefault();
  const value = amount();
  if (!Number.isFinite(value)) { demo.notice(notice, 'Enter an amount like 2.50.', true); return; }
  const button = document.getElementById('tip-button');
  button.disabled = true;
  demo.notice(notice, '');
  try {
    const message = document.getElementById('tip-message').value.trim();
    const start = await demo.api('POST', '/demo/api/creator/tips', message ? { amount: value, message } : { amount: value });
    demo.mountCheckout(document.getElementById('checkout'), start, notice, async (payment) => {
      const tip = await demo.api('GET', '/demo/api/creator/tips/' + encodeURIComponent(payment.id));
      if (tip.status !== 'succeeded') throw new Error('The tip is not paid yet.');
      demo.notice(notice, 'Thank you! Mia received your ' + demo.money(tip.amount, tip.currency) + ' tip.');
      document.getElementById('checkout').hidden = true;
      supporters();
    });
  } catch (error) {
    demo.notice(notice, error.message, true);
  } finally {
    button.disabled = false;
  }
});
label();
supporters();
demo.watchWebhooks('creator');`,
  );
}
