import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { LightMyRequestResponse } from 'fastify';
import { STORE_KINDS } from '../../test/support/stores.ts';
import { startTestApi, type TestApi, type TestMerchant } from '../../test/support/api.ts';
import { signUpBuyer, type TestBuyer } from '../../test/support/buyers.ts';
import { csvCell } from './csv.ts';

const nextYear = new Date().getUTCFullYear() + 1;
const CARD = { number: '4242424242424242', exp_month: 12, exp_year: nextYear, cvc: '947' };
const DAY_SECONDS = 24 * 3600;

describe('history CSV cells', () => {
  it('quotes as RFC 4180 says and guards cells that a spreadsheet would run as formulas', () => {
    assert.equal(csvCell('plain'), 'plain');
    assert.equal(csvCell('a,b'), '"a,b"');
    assert.equal(csvCell('say "hi"'), '"say ""hi"""');
    assert.equal(csvCell('two\nlines'), '"two\nlines"');
    assert.equal(csvCell('=1+2'), "'=1+2");
    assert.equal(csvCell('+1'), "'+1");
    assert.equal(csvCell('-1'), "'-1");
    assert.equal(csvCell('@SUM(A1)'), "'@SUM(A1)");
    assert.equal(csvCell('=HYPERLINK("x")'), `"'=HYPERLINK(""x"")"`);
    assert.equal(csvCell('a=b'), 'a=b');
  });
});

for (const kind of STORE_KINDS) {
  describe(`buyer history on ${kind}`, () => {
    let api: TestApi;
    let wallet: TestMerchant;
    let alpha: TestMerchant;
    let beta: TestMerchant;
    let buyer: TestBuyer;
    let stranger: TestBuyer;
    const ids = {} as { topUp: string; article: string; tip: string; gems: string; held: string; refund: string; strangers: string };

    const history = (query: string, options: { as?: TestBuyer | null; key?: string } = {}): Promise<LightMyRequestResponse> => {
      const as = options.as === undefined ? buyer : options.as;
      return api.call('GET', `/v1/buyer/history${query}`, { key: options.key ?? wallet.publishableKey, headers: as ? as.headers : {} });
    };
    async function listed(query: string, as?: TestBuyer, key?: string): Promise<string[]> {
      const response = await history(query, { as, ...(key === undefined ? {} : { key }) });
      assert.equal(response.statusCode, 200, response.body);
      return response.json().data.map((entry: { id: string }) => entry.id);
    }

    async function pay(merchant: TestMerchant, customer: string, body: Record<string, unknown>): Promise<string> {
      const response = await api.call('POST', '/v1/payments', { key: merchant.secretKey, body: { customer, confirm: true, ...body } });
      assert.equal(response.statusCode, 200, response.body);
      return response.json().id;
    }

    before(async () => {
      api = await startTestApi(kind);
      // The history at every merchant is the wallet's: through the platform's wallet key (WALLET_PUBLISHABLE_KEY).
      wallet = await api.createMerchant({ name: 'Micropay Wallet' });
      api.runtime.config.walletPublishableKey = wallet.publishableKey;
      alpha = await api.createMerchant({ name: 'Alpha Books' });
      beta = await api.createMerchant({ name: 'Beta Arcade' });
      // Signed up in the wallet: only a session opened through the wallet key gets its reach (src/wallet/reach.ts).
      buyer = await signUpBuyer(api, wallet.publishableKey);
      stranger = await signUpBuyer(api, wallet.publishableKey);
      const customers = api.runtime.services.customers;
      const atAlpha = await customers.findOrCreateForBuyer({ merchantId: alpha.id, livemode: false }, buyer.id);
      const atBeta = await customers.findOrCreateForBuyer({ merchantId: beta.id, livemode: false }, buyer.id);

      const topUp = await api.call('POST', '/v1/top_ups', { key: alpha.secretKey, body: { customer: atAlpha.id, amount: 5000, currency: 'USD', card: CARD } });
      assert.equal(topUp.statusCode, 200, topUp.body);
      assert.equal(topUp.json().status, 'succeeded', topUp.body);
      ids.topUp = topUp.json().id;
      // The top-up happened ten days ago, for the date filters.
      await api.runtime.db.query(`UPDATE top_ups SET created_at = now() - interval '10 days' WHERE id = $1`, [ids.topUp]);
      await api.fundWallet(beta, atBeta.id, 10_000n, 'KRW');

      ids.article = await pay(alpha, atAlpha.id, {
        amount: 250,
        currency: 'USD',
        description: 'Weekly column',
        line_items: [{ description: 'Article: Rust tips', category: 'article', unit_amount: 250 }],
      });
      ids.tip = await pay(alpha, atAlpha.id, { amount: 100, currency: 'USD', description: 'Thanks!', line_items: [{ description: 'Tip for the author', category: 'tip', unit_amount: 100 }] });
      ids.gems = await pay(beta, atBeta.id, {
        amount: 3000,
        currency: 'KRW',
        description: '=HYPERLINK("http://evil.example")',
        line_items: [{ description: 'Gems, "large" pack', category: 'game_credit', unit_amount: 3000 }],
      });
      ids.held = await pay(beta, atBeta.id, { amount: 300, currency: 'USD', description: '100% pure pixels', capture_method: 'manual', line_items: [{ description: 'Skin', category: 'virtual_good', unit_amount: 300 }] });
      const refund = await api.call('POST', '/v1/refunds', { key: alpha.secretKey, body: { payment: ids.article, amount: 100 } });
      assert.equal(refund.statusCode, 200, refund.body);
      ids.refund = refund.json().id;

      // The stranger buys at Alpha too: none of it may show in the buyer's history, nor the reverse.
      const strangerAtAlpha = await customers.findOrCreateForBuyer({ merchantId: alpha.id, livemode: false }, stranger.id);
      await api.fundWallet(alpha, strangerAtAlpha.id, 1000n, 'USD');
      ids.strangers = await pay(alpha, strangerAtAlpha.id, { amount: 400, currency: 'USD', description: 'Weekly column', line_items: [{ description: 'Article: Rust tips', category: 'article', unit_amount: 400 }] });
    });
    after(() => api.close());

    it('lists payments, tips, top-ups and refunds at every merchant through the wallet key, newest first', async () => {
      const response = await history('');
      assert.equal(response.statusCode, 200, response.body);
      assert.equal(response.headers['cache-control'], 'no-store');
      const body = response.json();
      assert.equal(body.object, 'list');
      assert.equal(body.has_more, false);
      assert.deepEqual(body.data.map((entry: { id: string }) => entry.id), [ids.refund, ids.held, ids.gems, ids.tip, ids.article, ids.topUp]);
      const article = body.data.find((entry: { id: string }) => entry.id === ids.article);
      assert.deepEqual({ ...article, created: undefined }, {
        id: ids.article,
        object: 'history_entry',
        type: 'payment',
        merchant: { id: alpha.id, name: 'Alpha Books' },
        description: 'Weekly column',
        amount: 250,
        currency: 'USD',
        status: 'succeeded',
        categories: ['article'],
        created: undefined,
        refunded_amount: 100,
      });
      assert.ok(Math.abs(article.created - Date.now() / 1000) < 120);
      const refund = body.data[0];
      assert.deepEqual([refund.type, refund.amount, refund.status, refund.description, refund.categories, refund.refunded_amount], ['refund', 100, 'succeeded', 'Weekly column', ['article'], 0]);
      const topUp = body.data[5];
      assert.deepEqual([topUp.type, topUp.amount, topUp.merchant, topUp.categories, topUp.description], ['top_up', 5000, { id: alpha.id, name: 'Alpha Books' }, [], null]);
      assert.equal(body.data[1].status, 'requires_capture');
    });

    it('filters by merchant, category, status, type and date', async () => {
      assert.deepEqual(await listed(`?merchant=${beta.id}`), [ids.held, ids.gems]);
      assert.deepEqual(await listed('?category=tip'), [ids.tip]);
      assert.deepEqual(await listed('?category=article'), [ids.refund, ids.article]);
      assert.deepEqual(await listed('?category=gift_card'), []);
      assert.deepEqual(await listed('?status=requires_capture'), [ids.held]);
      assert.deepEqual(await listed('?status=succeeded&type=payment'), [ids.gems, ids.tip, ids.article]);
      assert.deepEqual(await listed('?type=top_up'), [ids.topUp]);
      assert.deepEqual(await listed('?type=refund'), [ids.refund]);
      const now = Math.floor(Date.now() / 1000);
      const fiveDaysAgo = now - 5 * DAY_SECONDS;
      assert.deepEqual(await listed(`?created[lte]=${fiveDaysAgo}`), [ids.topUp]);
      assert.deepEqual(await listed(`?created%5Bgte%5D=${fiveDaysAgo}&type=payment&merchant=${alpha.id}`), [ids.tip, ids.article]);
      assert.deepEqual(await listed(`?created[gte]=${now + 3600}`), []);
      const topUp = (await history('?type=top_up')).json().data[0];
      assert.deepEqual(await listed(`?created[gte]=${topUp.created}&created[lte]=${topUp.created}`), [ids.topUp], 'both ends are inclusive, to the second');

      for (const [query, param] of [['?status=bogus', 'status'], ['?type=charge', 'type'], ['?created[gte]=yesterday', 'created[gte]'], ['?limit=101', 'limit'], ['?merchant_id=x', 'merchant_id']]) {
        const response = await history(query!);
        assert.equal(response.statusCode, 400, `${query}: ${response.body}`);
        assert.equal(response.json().error.param, param, response.body);
      }
    });

    it('searches descriptions, line items and merchant names, case-insensitively', async () => {
      assert.deepEqual(await listed('?q=rust'), [ids.refund, ids.article]);
      assert.deepEqual(await listed('?q=THANKS'), [ids.tip]);
      assert.deepEqual(await listed('?q=arcade'), [ids.held, ids.gems]);
      assert.deepEqual(await listed('?q=alpha%20books&type=top_up'), [ids.topUp]);
      assert.deepEqual(await listed(`?q=${encodeURIComponent('"large"')}`), [ids.gems]);
      // LIKE's own characters are searched for literally.
      assert.deepEqual(await listed('?q=%25'), [ids.held]);
      assert.deepEqual(await listed('?q=_'), []);
      assert.deepEqual(await listed('?q=nothing%20like%20this'), []);
    });

    it('pages with limit and starting_after', async () => {
      const all = await listed('');
      const seen: string[] = [];
      let cursor = '';
      for (let round = 0; round < 10; round += 1) {
        const response = await history(`?limit=4${cursor}`);
        assert.equal(response.statusCode, 200, response.body);
        const page = response.json();
        seen.push(...page.data.map((entry: { id: string }) => entry.id));
        if (!page.has_more) break;
        assert.equal(page.data.length, 4);
        cursor = `&starting_after=${page.data.at(-1).id}`;
      }
      assert.deepEqual(seen, all);
      assert.deepEqual(await listed(`?limit=1&starting_after=${ids.tip}`), [ids.article]);
      assert.deepEqual(await listed(`?starting_after=${ids.tip}&merchant=${alpha.id}`), [ids.article, ids.topUp]);
      // Another buyer's entry is no place in this buyer's history.
      assert.deepEqual(await listed(`?starting_after=${ids.strangers}`), []);
    });

    it('exports CSV with the same filters: decimal and minor amounts, quoting and the formula guard', async () => {
      const response = await api.call('GET', '/v1/buyer/history.csv', { key: wallet.publishableKey, headers: buyer.headers });
      assert.equal(response.statusCode, 200, response.body);
      assert.equal(response.headers['content-type'], 'text/csv; charset=utf-8');
      assert.equal(response.headers['content-disposition'], 'attachment; filename="micropay-history.csv"');
      const lines = response.body.split('\r\n');
      assert.equal(lines.at(-1), '', 'every row ends with CRLF');
      assert.equal(lines[0], 'id,created,type,merchant_id,merchant_name,description,categories,status,currency,amount,amount_minor,refunded_amount,refunded_amount_minor');
      assert.equal(lines.length, 1 + 6 + 1);
      const row = (id: string) => lines.find((line) => line.startsWith(`${id},`))!;
      const created = (id: string) => row(id).split(',')[1];
      assert.match(created(ids.article)!, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
      assert.equal(row(ids.article), `${ids.article},${created(ids.article)},payment,${alpha.id},Alpha Books,Weekly column,article,succeeded,USD,2.50,250,1.00,100`);
      assert.equal(row(ids.gems), `${ids.gems},${created(ids.gems)},payment,${beta.id},Beta Arcade,"'=HYPERLINK(""http://evil.example"")",game_credit,succeeded,KRW,3000,3000,0,0`);
      assert.equal(row(ids.topUp), `${ids.topUp},${created(ids.topUp)},top_up,${alpha.id},Alpha Books,,,succeeded,USD,50.00,5000,0.00,0`);
      assert.ok(!response.body.includes(ids.strangers));

      const filtered = await api.call('GET', `/v1/buyer/history.csv?merchant=${alpha.id}&category=article`, { key: wallet.publishableKey, headers: buyer.headers });
      assert.equal(filtered.statusCode, 200, filtered.body);
      assert.deepEqual(filtered.body.split('\r\n').slice(1, -1).map((line) => line.split(',')[0]), [ids.refund, ids.article]);
      const refused = await api.call('GET', '/v1/buyer/history.csv?limit=5', { key: alpha.publishableKey, headers: buyer.headers });
      assert.equal(refused.statusCode, 400, refused.body);
    });

    it('exports in pages up to a cap', async () => {
      const { createHistoryService } = await import('./service.ts');
      const service = createHistoryService({ db: api.runtime.db });
      const pages: string[][] = [];
      for await (const page of service.exportEntries({ buyerId: buyer.id, livemode: false, merchantId: null }, {}, 4)) pages.push(page.map((entry) => entry.id));
      assert.deepEqual(pages.flat(), (await listed('')).slice(0, 4));
    });

    it("shows each buyer only their own entries, and only in the session's mode", async () => {
      assert.deepEqual(await listed('', stranger), [ids.strangers]);
      assert.deepEqual(await listed('?q=rust', stranger), [ids.strangers]);
      const csv = await api.call('GET', '/v1/buyer/history.csv', { key: wallet.publishableKey, headers: stranger.headers });
      assert.equal(csv.body.split('\r\n').length, 3);
      assert.ok(!csv.body.includes(ids.article));
      // A test-mode session is no session in live mode.
      const live = await history('', { key: alpha.liveSecretKey });
      assert.equal(live.statusCode, 401, live.body);
      assert.equal(live.json().error.code, 'buyer_session_required');
    });

    it("through a merchant's key lists only that merchant's entries: filters, search, cursor and CSV stay inside it", async () => {
      // Alpha signed the buyer in on its own page (a one-time code works with any publishable key): what
      // the buyer did at Beta is not Alpha's to read.
      for (const key of [alpha.publishableKey, alpha.secretKey]) {
        assert.deepEqual(await listed('', buyer, key), [ids.refund, ids.tip, ids.article, ids.topUp]);
        assert.deepEqual(await listed(`?merchant=${beta.id}`, buyer, key), [], 'a merchant filter naming another merchant finds nothing');
        assert.deepEqual(await listed(`?merchant=${alpha.id}&type=payment`, buyer, key), [ids.tip, ids.article]);
        assert.deepEqual(await listed('?q=arcade', buyer, key), []);
        assert.deepEqual(await listed('?status=requires_capture', buyer, key), []);
        // Another merchant's entry is no place in the list either (it would tell when the buyer bought there).
        assert.deepEqual(await listed(`?starting_after=${ids.gems}`, buyer, key), []);
        assert.deepEqual(await listed(`?limit=1&starting_after=${ids.tip}`, buyer, key), [ids.article]);
      }
      assert.deepEqual(await listed('', buyer, beta.publishableKey), [ids.held, ids.gems]);
      assert.deepEqual(await listed(`?merchant=${alpha.id}`, buyer, beta.publishableKey), []);
      const csv = await api.call('GET', '/v1/buyer/history.csv', { key: alpha.publishableKey, headers: buyer.headers });
      assert.equal(csv.statusCode, 200, csv.body);
      assert.deepEqual(csv.body.split('\r\n').slice(1, -1).map((line) => line.split(',')[0]), [ids.refund, ids.tip, ids.article, ids.topUp]);
      assert.ok(!csv.body.includes(beta.id) && !csv.body.includes('Beta Arcade'));
      const elsewhere = await api.call('GET', `/v1/buyer/history.csv?merchant=${beta.id}`, { key: alpha.publishableKey, headers: buyer.headers });
      assert.equal(elsewhere.body.split('\r\n').length, 2, 'the header row only');
      // The stranger's entry at Alpha stays theirs through Alpha's key too.
      assert.deepEqual(await listed('', stranger, alpha.publishableKey), [ids.strangers]);
    });

    it('refuses a NUL character in the search or the merchant with 400, before any CSV byte is sent', async () => {
      for (const query of ['q=%00', 'q=a%00b', 'merchant=%00', `merchant=${alpha.id}%00`]) {
        for (const path of ['/v1/buyer/history.csv', '/v1/buyer/history']) {
          const response = await api.call('GET', `${path}?${query}`, { key: wallet.publishableKey, headers: buyer.headers });
          assert.equal(response.statusCode, 400, `${path}?${query}: ${response.body}`);
          assert.equal(response.json().error.code, 'parameter_invalid', response.body);
        }
      }
    });

    it('refuses without a buyer session or a key', async () => {
      for (const response of [
        await history('', { as: null }),
        await api.call('GET', '/v1/buyer/history', { key: alpha.publishableKey, headers: { 'micropay-buyer-session': 'bs_not_a_session' } }),
        await api.call('GET', '/v1/buyer/history.csv', { key: alpha.publishableKey }),
      ]) {
        assert.equal(response.statusCode, 401, response.body);
        assert.equal(response.json().error.code, 'buyer_session_required');
      }
      const keyless = await api.call('GET', '/v1/buyer/history', { headers: buyer.headers });
      assert.equal(keyless.statusCode, 401, keyless.body);
      assert.equal(keyless.json().error.code, 'api_key_missing');
    });
  });
}
