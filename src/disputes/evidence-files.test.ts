import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { STORE_KINDS } from '../../test/support/stores.ts';
import { startTestApi, type TestApi } from '../../test/support/api.ts';
import { expectError, openShop, pay, type Shop } from '../../test/support/refund-fixtures.ts';
import { staffToken } from '../../test/support/staff.ts';
import { EVIDENCE_FILE_BYTES_MAX, EVIDENCE_FILES_PER_DISPUTE_MAX } from './evidence-files.ts';

const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==', 'base64');
const PDF = Buffer.from('%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n');
const JPEG = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.from('JFIF fake body')]);

for (const kind of STORE_KINDS) {
  describe(`dispute evidence files on ${kind}`, () => {
    let api: TestApi;
    before(async () => {
      api = await startTestApi(kind);
    });
    after(async () => {
      await api.close();
    });

    async function disputed(): Promise<{ shop: Shop; disputeId: string }> {
      const shop = await openShop(api);
      const payment = await pay(api, shop, 1000);
      const opened = await api.call('POST', '/v1/disputes', { key: api.testOperatorKey, body: { payment: payment.id, reason: 'product_not_received' } });
      assert.equal(opened.statusCode, 200, opened.body);
      return { shop, disputeId: opened.json().id };
    }

    const attach = (key: string, disputeId: string, body: object, headers?: Record<string, string>) =>
      api.call('POST', `/v1/disputes/${disputeId}/evidence_files`, { key, body, ...(headers ? { headers } : {}) });
    const file = (name: string, type: string, content: Buffer) => ({ filename: name, content_type: type, data: content.toString('base64') });

    it('attaches PNG, JPEG and PDF files, lists them, and serves their bytes as attachments', async () => {
      const { shop, disputeId } = await disputed();
      const key = shop.merchant.secretKey;
      const png = await attach(key, disputeId, file('delivery photo.png', 'image/png', PNG));
      assert.equal(png.statusCode, 200, png.body);
      const created = png.json();
      assert.equal(created.object, 'dispute_evidence_file');
      assert.equal(created.dispute, disputeId);
      assert.equal(created.content_type, 'image/png');
      assert.equal(created.size, PNG.length);
      assert.match(created.sha256, /^[0-9a-f]{64}$/);
      assert.match(created.id, /^dpf_/);
      assert.equal((await attach(key, disputeId, file('receipt.pdf', 'application/pdf', PDF))).statusCode, 200);
      assert.equal((await attach(key, disputeId, file('parcel.jpg', 'image/jpeg', JPEG))).statusCode, 200);

      const listed = await api.call('GET', `/v1/disputes/${disputeId}/evidence_files`, { key: shop.merchant.readKey });
      assert.equal(listed.statusCode, 200, listed.body);
      assert.deepEqual(listed.json().data.map((entry: { filename: string }) => entry.filename), ['delivery photo.png', 'receipt.pdf', 'parcel.jpg']);

      const download = await api.call('GET', `/v1/disputes/${disputeId}/evidence_files/${created.id}/content`, { key: shop.merchant.readKey });
      assert.equal(download.statusCode, 200);
      assert.equal(download.headers['content-type'], 'image/png');
      assert.equal(download.headers['x-content-type-options'], 'nosniff');
      assert.match(String(download.headers['content-disposition']), /^attachment; filename="delivery photo.png"/);
      assert.deepEqual(download.rawPayload, PNG);
      // The operator, who decides the dispute, reads the files too, in its key's mode only.
      const operatorView = await api.call('GET', `/v1/disputes/${disputeId}/evidence_files/${created.id}/content`, { key: api.testOperatorKey });
      assert.deepEqual(operatorView.rawPayload, PNG);
      expectError(await api.call('GET', `/v1/disputes/${disputeId}/evidence_files/${created.id}/content`, { key: api.operatorKey }), 404, 'resource_missing');
      expectError(await api.call('GET', `/v1/disputes/${disputeId}/evidence_files`, { key: api.operatorKey }), 404, 'resource_missing');

      // After the evidence is submitted, no more files.
      assert.equal((await api.call('POST', `/v1/disputes/${disputeId}/evidence`, { key, body: { text: 'Photo and receipt attached.' } })).statusCode, 200);
      expectError(await attach(key, disputeId, file('late.png', 'image/png', PNG)), 409, 'dispute_unexpected_state');
      assert.equal((await api.call('GET', `/v1/disputes/${disputeId}/evidence_files`, { key })).json().data.length, 3);
    });

    it('decides the type by the first bytes, not by the name or the declared type', async () => {
      const { shop, disputeId } = await disputed();
      const key = shop.merchant.secretKey;
      const lying = await attach(key, disputeId, file('photo.png', 'image/png', PDF));
      expectError(lying, 400, 'evidence_file_type_unsupported');
      assert.equal(lying.json().error.param, 'data');
      const html = await attach(key, disputeId, file('page.html', 'text/html', Buffer.from('<script>alert(1)</script>')));
      expectError(html, 400, 'evidence_file_type_unsupported');
      assert.equal(html.json().error.param, 'content_type');
      expectError(await attach(key, disputeId, file('svg.png', 'image/png', Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"/>'))), 400, 'evidence_file_type_unsupported');
      const notBase64 = await attach(key, disputeId, { filename: 'x.png', content_type: 'image/png', data: 'not base64!' });
      expectError(notBase64, 400, 'parameter_invalid');
      assert.equal(notBase64.json().error.param, 'data');
      expectError(await attach(key, disputeId, { ...file('a/../b.png', 'image/png', PNG) }), 400, 'parameter_invalid');
      assert.equal((await api.call('GET', `/v1/disputes/${disputeId}/evidence_files`, { key })).json().data.length, 0);
    });

    it('refuses a file over 2 MiB with its own code, and a body far over it as too large', async () => {
      const { shop, disputeId } = await disputed();
      const key = shop.merchant.secretKey;
      const big = Buffer.alloc(EVIDENCE_FILE_BYTES_MAX + 1, 0);
      PNG.copy(big);
      const response = await attach(key, disputeId, file('huge.png', 'image/png', big));
      expectError(response, 413, 'evidence_file_too_large');
      assert.equal(response.json().error.param, 'data');
      const exactly = Buffer.alloc(EVIDENCE_FILE_BYTES_MAX, 0);
      PDF.copy(exactly);
      assert.equal((await attach(key, disputeId, file('max.pdf', 'application/pdf', exactly))).statusCode, 200);
      expectError(await attach(key, disputeId, file('giant.png', 'image/png', Buffer.alloc(4 * 1024 * 1024, 0))), 413, 'body_too_large');
    });

    it('is idempotent with an Idempotency-Key and bounded per dispute', async () => {
      const { shop, disputeId } = await disputed();
      const key = shop.merchant.secretKey;
      const headers = { 'idempotency-key': `evidence-${disputeId}` };
      const first = await attach(key, disputeId, file('one.png', 'image/png', PNG), headers);
      const again = await attach(key, disputeId, file('one.png', 'image/png', PNG), headers);
      assert.equal(again.statusCode, 200);
      assert.equal(again.json().id, first.json().id);
      expectError(await attach(key, disputeId, file('other.pdf', 'application/pdf', PDF), headers), 400, 'idempotency_key_reused');
      for (let index = 1; index < EVIDENCE_FILES_PER_DISPUTE_MAX; index++) {
        assert.equal((await attach(key, disputeId, file(`more-${index}.pdf`, 'application/pdf', PDF))).statusCode, 200);
      }
      expectError(await attach(key, disputeId, file('eleventh.pdf', 'application/pdf', PDF)), 409, 'evidence_files_limit_reached');
    });

    it('replays a stored file to a retry with its Idempotency-Key after the evidence was submitted', async () => {
      const { shop, disputeId } = await disputed();
      const key = shop.merchant.secretKey;
      const headers = { 'idempotency-key': `evidence-retry-${disputeId}` };
      const first = await attach(key, disputeId, file('before.png', 'image/png', PNG), headers);
      assert.equal(first.statusCode, 200, first.body);
      // The first attempt stored the file, but its answer never reached the caller nor the idempotency
      // record (the process stopped in between): the record is left running, its lease run out.
      await api.runtime.db.query(
        `UPDATE idempotency_keys SET state = 'running', response_status = NULL, response_body = NULL, locked_until = now() - interval '1 second' WHERE key = $1`,
        [headers['idempotency-key']],
      );
      assert.equal((await api.call('POST', `/v1/disputes/${disputeId}/evidence`, { key, body: { text: 'See the photo.' } })).statusCode, 200);
      const retried = await attach(key, disputeId, file('before.png', 'image/png', PNG), headers);
      assert.equal(retried.statusCode, 200, retried.body);
      assert.equal(retried.json().id, first.json().id);
      assert.equal(retried.json().sha256, first.json().sha256);
      // Without the key, or with another one, a late file is still refused.
      expectError(await attach(key, disputeId, file('after.png', 'image/png', PNG), { 'idempotency-key': `evidence-late-${disputeId}` }), 409, 'dispute_unexpected_state');
      assert.equal((await api.call('GET', `/v1/disputes/${disputeId}/evidence_files`, { key })).json().data.length, 1);
    });

    it('counts files under a lock: uploads at once never pass the limit', async () => {
      const { shop, disputeId } = await disputed();
      const key = shop.merchant.secretKey;
      const answers = await Promise.all(
        Array.from({ length: EVIDENCE_FILES_PER_DISPUTE_MAX + 3 }, (_, index) => attach(key, disputeId, file(`at-once-${index}.pdf`, 'application/pdf', PDF))),
      );
      assert.equal(answers.filter((answer) => answer.statusCode === 200).length, EVIDENCE_FILES_PER_DISPUTE_MAX);
      for (const refused of answers.filter((answer) => answer.statusCode !== 200)) expectError(refused, 409, 'evidence_files_limit_reached');
      assert.equal((await api.call('GET', `/v1/disputes/${disputeId}/evidence_files`, { key })).json().data.length, EVIDENCE_FILES_PER_DISPUTE_MAX);
    });

    it("keeps merchants out of each other's disputes and needs a write key to attach", async () => {
      const { shop, disputeId } = await disputed();
      const stranger = await openShop(api);
      const stored = (await attach(shop.merchant.secretKey, disputeId, file('mine.png', 'image/png', PNG))).json();
      expectError(await attach(stranger.merchant.secretKey, disputeId, file('theirs.png', 'image/png', PNG)), 404, 'resource_missing');
      expectError(await api.call('GET', `/v1/disputes/${disputeId}/evidence_files`, { key: stranger.merchant.secretKey }), 404, 'resource_missing');
      expectError(await api.call('GET', `/v1/disputes/${disputeId}/evidence_files/${stored.id}/content`, { key: stranger.merchant.secretKey }), 404, 'resource_missing');
      // The same merchant in live mode does not see test-mode disputes.
      expectError(await api.call('GET', `/v1/disputes/${disputeId}/evidence_files`, { key: shop.merchant.liveSecretKey }), 404, 'resource_missing');
      expectError(await attach(shop.merchant.readKey, disputeId, file('r.png', 'image/png', PNG)), 403, 'api_key_scope_insufficient');
      expectError(await attach(shop.merchant.publishableKey, disputeId, file('p.png', 'image/png', PNG)), 403, 'secret_key_required');
      expectError(await attach(api.operatorKey, disputeId, file('o.png', 'image/png', PNG)), 403, 'merchant_key_required');
    });

    it("lets merchant staff attach files only with disputes:write, and never to another merchant's dispute", async () => {
      const { shop, disputeId } = await disputed();
      const finance = await staffToken(api, { merchantId: shop.merchant.id, role: 'finance' });
      const analyst = await staffToken(api, { merchantId: shop.merchant.id, role: 'analyst' });
      const stranger = await staffToken(api, { merchantId: (await openShop(api)).merchant.id, role: 'owner' });
      assert.equal((await attach(finance, disputeId, file('by-finance.png', 'image/png', PNG))).statusCode, 200);
      const refused = await attach(analyst, disputeId, file('by-analyst.png', 'image/png', PNG));
      expectError(refused, 403, 'staff_permission_missing');
      assert.match(refused.json().error.message, /disputes:write/);
      const listed = await api.call('GET', `/v1/disputes/${disputeId}/evidence_files`, { key: analyst });
      assert.deepEqual(listed.json().data.map((entry: { filename: string }) => entry.filename), ['by-finance.png']);
      expectError(await attach(stranger, disputeId, file('theirs.png', 'image/png', PNG)), 404, 'resource_missing');
      expectError(await api.call('GET', `/v1/disputes/${disputeId}/evidence_files`, { key: stranger }), 404, 'resource_missing');
      // The operator's staff read the files of the disputes they decide.
      const viewer = await staffToken(api, { merchantId: null, role: 'viewer' });
      assert.equal((await api.call('GET', `/v1/disputes/${disputeId}/evidence_files`, { key: viewer })).json().data.length, 1);
    });
  });
}
