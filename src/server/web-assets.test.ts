// The checkout's static files: served from web/dist at /checkout/, and a clear page when the build is missing.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify from 'fastify';
import { startTestApi, type TestApi } from '../../test/support/api.ts';
import { APP_CSP, CHECKOUT_FRAME_CSP, DOCS_CSP, appBuilt, checkoutBuilt, walletBuilt, webAssetRoutes } from './web-assets.ts';

describe('checkout static files', () => {
  let api: TestApi;
  before(async () => {
    api = await startTestApi('pglite');
  });
  after(async () => {
    await api.close();
  });

  test('the loader and the frame are served at /checkout/ (after npm run build:web)', { skip: !checkoutBuilt() && 'web/dist is not built' }, async () => {
    const loader = await api.app.inject({ method: 'GET', url: '/checkout/checkout.js' });
    assert.equal(loader.statusCode, 200);
    assert.match(String(loader.headers['content-type']), /javascript/);
    assert.match(loader.body, /micropay-checkout/);
    assert.equal(loader.headers['cache-control'], 'public, max-age=60', 'the loader stays fresh');
    const frame = await api.app.inject({ method: 'GET', url: '/checkout/frame.html?pk=pk_test_x&payment=pay_x&client_secret=s' });
    assert.equal(frame.statusCode, 200);
    assert.match(String(frame.headers['content-type']), /text\/html/);
    assert.equal(frame.headers['x-frame-options'], undefined, 'merchants embed the frame');
    const asset = /src="\/checkout\/(assets\/[^"]+\.js)"/.exec(frame.body)?.[1];
    assert.ok(asset, frame.body);
    const hashed = await api.app.inject({ method: 'GET', url: `/checkout/${asset}` });
    assert.equal(hashed.statusCode, 200);
    assert.equal(hashed.headers['cache-control'], 'public, max-age=31536000, immutable', 'hashed assets never change under their name');
    const missing = await api.app.inject({ method: 'GET', url: '/checkout/nothing-here.js' });
    assert.equal(missing.statusCode, 404);
  });

  test('without a build, /checkout/ explains how to build it', async () => {
    const app = Fastify();
    await webAssetRoutes(app, { distDir: mkdtempSync(join(tmpdir(), 'micropay-no-dist-')) });
    const page = await app.inject({ method: 'GET', url: '/checkout/frame.html' });
    assert.equal(page.statusCode, 503);
    assert.match(page.body, /npm run build:web/);
    const script = await app.inject({ method: 'GET', url: '/checkout/checkout.js' });
    assert.equal(script.statusCode, 503);
    assert.match(String(script.headers['content-type']), /javascript/);
    assert.match(script.body, /console\.error/);
    await app.close();
  });
});

describe('wallet static files', () => {
  test('every /wallet path answers the app page with the wallet key filled in; its assets are served', { skip: !walletBuilt() && 'web/dist is not built' }, async () => {
    const app = Fastify();
    await webAssetRoutes(app, { walletPublishableKey: () => 'pk_test_"wallet"' });
    for (const url of ['/wallet', '/wallet/', '/wallet/history', '/wallet/purchases/pay_123']) {
      const page = await app.inject({ method: 'GET', url });
      assert.equal(page.statusCode, 200, url);
      assert.match(String(page.headers['content-type']), /text\/html/);
      assert.equal(page.headers['cache-control'], 'no-store');
      assert.equal(page.headers['x-frame-options'], 'DENY', 'the wallet holds a session: never framed');
      assert.match(page.body, /<meta name="micropay-publishable-key" content="pk_test_&quot;wallet&quot;">/);
    }
    const script = /src="(\/wallet\/assets\/[^"]+\.js)"/.exec((await app.inject({ method: 'GET', url: '/wallet' })).body)?.[1];
    assert.ok(script, 'the page loads its script from /wallet/assets/');
    const asset = await app.inject({ method: 'GET', url: script });
    assert.equal(asset.statusCode, 200);
    assert.match(String(asset.headers['content-type']), /javascript/);
    assert.match(String(asset.headers['cache-control']), /immutable/);
    const missing = await app.inject({ method: 'GET', url: '/wallet/assets/nothing-here.js' });
    assert.equal(missing.statusCode, 404);
    await app.close();
  });

  test('without a key the page says so; without a build, /wallet explains how to build it', async () => {
    const app = Fastify();
    await webAssetRoutes(app, { distDir: mkdtempSync(join(tmpdir(), 'micropay-no-dist-')) });
    const page = await app.inject({ method: 'GET', url: '/wallet/history' });
    assert.equal(page.statusCode, 503);
    assert.match(page.body, /npm run build:web/);
    await app.close();
  });

  test('the installation serves /wallet with its configured key', { skip: !walletBuilt() && 'web/dist is not built' }, async () => {
    const api = await startTestApi('pglite', { env: { WALLET_PUBLISHABLE_KEY: 'pk_test_configured' } });
    try {
      const page = await api.app.inject({ method: 'GET', url: '/wallet' });
      assert.equal(page.statusCode, 200);
      assert.match(page.body, /content="pk_test_configured"/);
    } finally {
      await api.close();
    }
  });
});

describe('security headers of the browser pages', () => {
  let api: TestApi;
  before(async () => {
    api = await startTestApi('pglite');
  });
  after(async () => {
    await api.close();
  });

  /** The directives of a Content-Security-Policy header, by name. */
  const directives = (header: unknown): Map<string, string> =>
    new Map(
      String(header)
        .split(';')
        .map((part) => part.trim())
        .filter(Boolean)
        .map((part) => {
          const [name, ...sources] = part.split(/\s+/);
          return [name!, sources.join(' ')] as const;
        }),
    );

  test('the checkout frame runs only its own scripts and stays frameable', { skip: !checkoutBuilt() && 'web/dist is not built' }, async () => {
    const frame = await api.app.inject({ method: 'GET', url: '/checkout/frame.html?pk=pk_test_x&payment=pay_x&client_secret=s' });
    assert.equal(frame.statusCode, 200);
    assert.equal(frame.headers['content-security-policy'], CHECKOUT_FRAME_CSP);
    const policy = directives(frame.headers['content-security-policy']);
    assert.equal(policy.get('script-src'), "'self'");
    assert.equal(policy.get('default-src'), "'self'");
    assert.equal(policy.get('object-src'), "'none'");
    assert.equal(policy.get('base-uri'), "'none'");
    assert.equal(policy.get('connect-src'), "'self'");
    assert.equal(policy.has('frame-ancestors'), false, 'merchants embed the frame');
    assert.equal(frame.headers['x-frame-options'], undefined, 'merchants embed the frame');
    assert.equal(frame.headers['referrer-policy'], 'no-referrer');
    assert.equal(frame.headers['x-content-type-options'], 'nosniff');
    assert.doesNotMatch(frame.body, /<script(?![^>]*\ssrc=)[^>]*>/, 'no inline script for the policy to block');
  });

  for (const name of ['wallet', 'dashboard', 'console'] as const) {
    test(`/${name} runs only its own scripts, is never framed and keeps its popups`, { skip: !appBuilt(name) && 'web/dist is not built' }, async () => {
      for (const url of [`/${name}`, `/${name}/some/page`]) {
        const page = await api.app.inject({ method: 'GET', url });
        assert.equal(page.statusCode, 200, url);
        assert.equal(page.headers['content-security-policy'], APP_CSP, url);
        const policy = directives(page.headers['content-security-policy']);
        assert.equal(policy.get('script-src'), "'self'");
        assert.equal(policy.get('frame-ancestors'), "'none'");
        assert.equal(policy.get('object-src'), "'none'");
        assert.equal(page.headers['cross-origin-opener-policy'], 'same-origin-allow-popups', 'the 3-D Secure popup still works');
        assert.equal(page.headers['x-frame-options'], 'DENY');
        assert.equal(page.headers['referrer-policy'], 'no-referrer');
        assert.equal(page.headers['x-content-type-options'], 'nosniff');
        assert.equal(page.headers['cache-control'], 'no-store');
        assert.doesNotMatch(page.body, /<script(?![^>]*\ssrc=)[^>]*>/, 'no inline script for the policy to block');
      }
    });
  }

  test('/docs (Swagger UI) has its own policy; the API does not get it', async () => {
    for (const url of ['/docs', '/docs/', '/docs/static/swagger-initializer.js']) {
      const response = await api.app.inject({ method: 'GET', url });
      assert.ok(response.statusCode < 400, `${url}: ${response.statusCode}`);
      assert.equal(response.headers['content-security-policy'], DOCS_CSP, url);
    }
    const policy = directives(DOCS_CSP);
    assert.equal(policy.get('script-src'), "'self'");
    assert.equal(policy.get('frame-ancestors'), "'none'");
    assert.equal(policy.get('object-src'), "'none'");
    const page = await api.app.inject({ method: 'GET', url: '/docs/' });
    assert.doesNotMatch(page.body, /<script(?![^>]*\ssrc=)[^>]*>/, 'no inline script for the policy to block');
    const health = await api.app.inject({ method: 'GET', url: '/healthz' });
    assert.equal(health.headers['content-security-policy'], undefined, 'the policy is scoped to /docs');
  });
});
