// Receipts over HTTP on both stores: signature against the published JWKS, tampering, formatting,
// refund history, the page and the PDF, access rules, and `micropay receipt verify` on saved files.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { compactVerify, createLocalJWKSet, type JSONWebKeySet } from 'jose';
import { STORE_KINDS } from '../../test/support/stores.ts';
import { startTestApi, type TestApi, type TestMerchant } from '../../test/support/api.ts';
import { formatAmount } from './format.ts';

const BIN = fileURLToPath(new URL('../../bin/micropay.js', import.meta.url));
const run = promisify(execFile);
const nextYear = new Date().getUTCFullYear() + 1;

/** The JWS with one character of its payload changed (to another base64url character). */
function tampered(jws: string): string {
  const [header, payload, signature] = jws.split('.') as [string, string, string];
  const index = Math.floor(payload.length / 2);
  const changed = payload[index] === 'A' ? 'B' : 'A';
  return `${header}.${payload.slice(0, index)}${changed}${payload.slice(index + 1)}.${signature}`;
}

describe('receipt amounts', () => {
  it('formats with the currency own decimals', () => {
    assert.equal(formatAmount(1234n, 'USD'), '$12.34');
    assert.equal(formatAmount(1500n, 'KRW'), '₩1,500');
    assert.equal(formatAmount(1500n, 'JPY'), '¥1,500');
    assert.equal(formatAmount(1234n, 'BHD', 'code'), 'BHD\u00a01.234');
    assert.equal(formatAmount(5n, 'USD'), '$0.05');
    assert.equal(formatAmount(900719925474099123n, 'USD'), '$9,007,199,254,740,991.23');
  });
});

for (const kind of STORE_KINDS) {
  describe(`receipts over HTTP on ${kind}`, () => {
    let api: TestApi;
    let merchant: TestMerchant;
    let other: TestMerchant;
    let jwks: JSONWebKeySet;
    const dir = mkdtempSync(join(tmpdir(), 'micropay-receipts-'));

    before(async () => {
      api = await startTestApi(kind);
      merchant = await api.createMerchant({ name: 'Dawn Games', feeBps: 250, feeFixed: { USD: 5 } });
      other = await api.createMerchant({ name: 'Other' });
      const response = await api.call('GET', '/.well-known/micropay-receipts/jwks.json');
      assert.equal(response.statusCode, 200, response.body);
      jwks = response.json();
    });
    after(async () => {
      await api.close();
      rmSync(dir, { recursive: true, force: true });
    });

    async function customerWith(amount: bigint, currency: string): Promise<string> {
      const response = await api.call('POST', '/v1/customers', { key: merchant.secretKey, body: {} });
      assert.equal(response.statusCode, 200, response.body);
      const id = response.json().id as string;
      await api.fundWallet(merchant, id, amount, currency);
      return id;
    }

    async function paid(body: Record<string, unknown>): Promise<string> {
      const response = await api.call('POST', '/v1/payments', { key: merchant.secretKey, body: { confirm: true, ...body } });
      assert.equal(response.statusCode, 200, response.body);
      assert.equal(response.json().status, 'succeeded');
      return response.json().id;
    }

    async function receiptOf(path: string, key = merchant.secretKey) {
      const response = await api.call('GET', path, { key });
      assert.equal(response.statusCode, 200, response.body);
      return response.json() as { url: string; json_url: string; pdf_url: string; jws: string; fee: number | null };
    }

    const pathOf = (url: string) => new URL(url).pathname;

    it('signs a tip receipt that verifies with the published JWKS, and fails once tampered', async () => {
      assert.equal(jwks.keys.length, 1);
      assert.equal(jwks.keys[0]!.kty, 'OKP');
      assert.equal(jwks.keys[0]!.crv, 'Ed25519');
      assert.equal(jwks.keys[0]!.d, undefined);
      const customer = await customerWith(10_000n, 'USD');
      const id = await paid({
        customer,
        amount: 1234,
        currency: 'USD',
        line_items: [
          { description: 'Sword', category: 'virtual_good', unit_amount: 567, quantity: 2 },
          { description: 'Tip', category: 'tip', unit_amount: 100 },
        ],
      });
      const links = await receiptOf(`/v1/payments/${id}/receipt`);
      assert.match(pathOf(links.url), /^\/receipts\/rct_[A-Za-z0-9_-]{40,}$/);
      assert.equal(links.json_url, `${links.url}.json`);
      assert.equal(links.fee, 36);
      const verified = await compactVerify(links.jws, createLocalJWKSet(jwks));
      assert.equal(verified.protectedHeader.alg, 'EdDSA');
      assert.equal(verified.protectedHeader.kid, jwks.keys[0]!.kid);
      const receipt = JSON.parse(new TextDecoder().decode(verified.payload));
      assert.equal(receipt.object, 'receipt');
      assert.equal(receipt.kind, 'tip');
      assert.deepEqual(receipt.merchant, { id: merchant.id, name: 'Dawn Games' });
      assert.equal(receipt.customer, customer);
      assert.equal(receipt.amount, 1234);
      assert.equal(receipt.amount_formatted, '$12.34');
      assert.deepEqual(receipt.items.map((item: { amount_formatted: string }) => item.amount_formatted), ['$11.34', '$1.00']);
      assert.deepEqual(receipt.method, { type: 'wallet' });
      assert.equal(receipt.fee, undefined, 'the platform fee stays out of the public receipt');
      await assert.rejects(compactVerify(tampered(links.jws), createLocalJWKSet(jwks)));
      // The same object always has the same URL (the token is derived, not stored).
      assert.equal((await receiptOf(`/v1/payments/${id}/receipt`)).url, links.url);
    });

    it('shows the KRW amount without decimals and the refund history after a refund', async () => {
      const customer = await customerWith(100_000n, 'KRW');
      const id = await paid({ customer, amount: 15000, currency: 'KRW', line_items: [{ description: 'Album', category: 'song', unit_amount: 15000 }] });
      const before = (await (await api.call('GET', `${pathOf((await receiptOf(`/v1/payments/${id}/receipt`)).json_url)}`)).json()).receipt;
      assert.equal(before.kind, 'payment');
      assert.equal(before.amount_formatted, '₩15,000');
      assert.deepEqual(before.refunds, []);
      const refund = await api.call('POST', '/v1/refunds', { key: merchant.secretKey, body: { payment: id, amount: 5000 } });
      assert.equal(refund.statusCode, 200, refund.body);
      assert.equal(refund.json().status, 'succeeded');
      const links = await receiptOf(`/v1/payments/${id}/receipt`);
      const json = await api.call('GET', pathOf(links.json_url));
      assert.equal(json.statusCode, 200, json.body);
      assert.equal(json.headers['cache-control'], 'no-store');
      const { jws, receipt } = json.json();
      assert.equal(jws, links.jws);
      assert.deepEqual(
        receipt.refunds.map((entry: { id: string; amount: number; amount_formatted: string }) => [entry.id, entry.amount, entry.amount_formatted]),
        [[refund.json().id, 5000, '₩5,000']],
      );
      assert.equal(receipt.amount_refunded_formatted, '₩5,000');
      // The refund has a receipt of its own.
      const refundLinks = await receiptOf(`/v1/refunds/${refund.json().id}/receipt`);
      const refundReceipt = JSON.parse(new TextDecoder().decode((await compactVerify(refundLinks.jws, createLocalJWKSet(jwks))).payload));
      assert.equal(refundReceipt.kind, 'refund');
      assert.equal(refundReceipt.payment, id);
      assert.equal(refundReceipt.amount_formatted, '₩5,000');
    });

    it('serves the HTML page and the PDF without a key, and refuses others', async () => {
      const customer = await customerWith(1_000n, 'USD');
      const id = await paid({ customer, amount: 250, currency: 'USD', description: 'Article <b>42</b>' });
      const links = await receiptOf(`/v1/payments/${id}/receipt`);
      const page = await api.call('GET', pathOf(links.url));
      assert.equal(page.statusCode, 200, page.body);
      assert.match(page.headers['content-type'] as string, /^text\/html/);
      assert.equal(page.headers['cache-control'], 'no-store');
      assert.equal(page.headers['x-robots-tag'], 'noindex');
      assert.match(page.body, /Dawn Games/);
      assert.match(page.body, /\$2\.50/);
      assert.match(page.body, /Article &lt;b&gt;42&lt;\/b&gt;/);
      const pdf = await api.call('GET', pathOf(links.pdf_url));
      assert.equal(pdf.statusCode, 200);
      assert.equal(pdf.headers['content-type'], 'application/pdf');
      assert.equal(pdf.rawPayload.subarray(0, 5).toString('latin1'), '%PDF-');
      // Another merchant cannot ask for it; unknown and altered tokens name nothing.
      const foreign = await api.call('GET', `/v1/payments/${id}/receipt`, { key: other.secretKey });
      assert.equal(foreign.statusCode, 404);
      assert.equal(foreign.json().error.code, 'resource_missing');
      assert.equal((await api.call('GET', '/receipts/rct_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA')).statusCode, 404);
      assert.equal((await api.call('GET', '/receipts/nothing.json')).statusCode, 404);
      const token = pathOf(links.url).slice('/receipts/'.length);
      const altered = `${token.slice(0, -1)}${token.endsWith('A') ? 'B' : 'A'}`;
      assert.equal((await api.call('GET', `/receipts/${altered}`)).statusCode, 404);
      const middle = Math.floor(token.length / 2);
      const alteredInside = `${token.slice(0, middle)}${token[middle] === 'A' ? 'B' : 'A'}${token.slice(middle + 1)}`;
      assert.equal((await api.call('GET', `/receipts/${alteredInside}.json`)).statusCode, 404);
      assert.equal((await api.call('GET', `/v1/payments/${id}/receipt`)).statusCode, 401);
    });

    it('answers 409 for a payment that has not succeeded, and gives a top-up receipt with its card', async () => {
      const customer = await customerWith(1_000n, 'USD');
      const open = await api.call('POST', '/v1/payments', { key: merchant.secretKey, body: { customer, amount: 100, currency: 'USD' } });
      assert.equal(open.statusCode, 200, open.body);
      const refused = await api.call('GET', `/v1/payments/${open.json().id}/receipt`, { key: merchant.secretKey });
      assert.equal(refused.statusCode, 409);
      assert.equal(refused.json().error.code, 'receipt_unavailable');
      const topUp = await api.call('POST', '/v1/top_ups', {
        key: merchant.secretKey,
        body: { customer, amount: 1000, currency: 'USD', card: { number: '4242424242424242', exp_month: 12, exp_year: nextYear, cvc: '947' } },
      });
      assert.equal(topUp.statusCode, 200, topUp.body);
      assert.equal(topUp.json().status, 'succeeded');
      const links = await receiptOf(`/v1/top_ups/${topUp.json().id}/receipt`);
      const receipt = JSON.parse(new TextDecoder().decode((await compactVerify(links.jws, createLocalJWKSet(jwks))).payload));
      assert.equal(receipt.kind, 'top_up');
      assert.deepEqual(receipt.method, { type: 'card', brand: 'visa', last4: '4242' });
      assert.equal(receipt.amount_formatted, '$10.00');
    });

    it('verifies a saved receipt with `micropay receipt verify` (exit 0) and refuses a tampered one (exit 1)', async () => {
      const customer = await customerWith(1_000n, 'USD');
      const id = await paid({ customer, amount: 300, currency: 'USD' });
      const links = await receiptOf(`/v1/payments/${id}/receipt`);
      const saved = (await api.call('GET', pathOf(links.json_url))).body;
      const jwksFile = join(dir, 'jwks.json');
      const goodFile = join(dir, 'receipt.json');
      const jwsFile = join(dir, 'receipt.jws');
      const badFile = join(dir, 'tampered.jws');
      writeFileSync(jwksFile, JSON.stringify(jwks));
      writeFileSync(goodFile, saved);
      writeFileSync(jwsFile, `${links.jws}\n`);
      writeFileSync(badFile, tampered(links.jws));
      const env = { ...process.env, MICROPAY_DATA_DIR: dir, DATABASE_URL: '' };
      const good = await run(process.execPath, [BIN, 'receipt', 'verify', goodFile, '--jwks', jwksFile], { env });
      assert.match(good.stdout, /signature OK/);
      assert.match(good.stdout, /\$3\.00/);
      assert.match(good.stdout, /Dawn Games/);
      const plain = await run(process.execPath, [BIN, 'receipt', 'verify', jwsFile, '--jwks', jwksFile], { env });
      assert.match(plain.stdout, /signature OK/);
      await assert.rejects(run(process.execPath, [BIN, 'receipt', 'verify', badFile, '--jwks', jwksFile], { env }), (error: { code: number; stderr: string }) => {
        assert.equal(error.code, 1);
        assert.match(error.stderr, /signature/i);
        return true;
      });
    });
  });
}
