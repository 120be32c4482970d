// The checkout's static files: served from web/dist at /checkout/, and a clear page when the build is missing.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify from 'fastify';
import { startTestApi, type TestApi } from '../../test/support/api.ts';
import { checkoutBuilt, webAssetRoutes } from './web-assets.ts';

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
    const frame = await api.app.inject({ method: 'GET', url: '/checkout/frame.html?pk=pk_test_x&payment=pay_x&client_secret=s' });
    assert.equal(frame.statusCode, 200);
    assert.match(String(frame.headers['content-type']), /text\/html/);
    assert.equal(frame.headers['x-frame-options'], undefined, 'merchants embed the frame');
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
