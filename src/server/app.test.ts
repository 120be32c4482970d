import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig } from '../config/config.ts';
import { createLogger } from '../log/logger.ts';
import { createTestStore, STORE_KINDS } from '../../test/support/stores.ts';
import { buildApp } from './app.ts';
import { openRuntime } from './runtime.ts';

for (const kind of STORE_KINDS) {
  describe(`HTTP server on ${kind}`, async () => {
    const store = await createTestStore(kind, { open: false });
    const config = loadConfig({
      MICROPAY_DATA_DIR: store.location.dataDir ?? '/tmp/unused',
      DATABASE_URL: store.location.databaseUrl,
    });
    const runtime = await openRuntime(config, { logger: createLogger('silent') });
    const app = await buildApp(runtime);
    after(async () => {
      await app.close();
      await runtime.close();
      await store.drop();
    });

    it('answers /healthz with the store in use', async () => {
      const response = await app.inject({ method: 'GET', url: '/healthz' });
      assert.equal(response.statusCode, 200);
      assert.deepEqual(response.json(), { status: 'ok', store: kind });
    });

    it('answers an unknown route with 404', async () => {
      const response = await app.inject({ method: 'GET', url: '/nope' });
      assert.equal(response.statusCode, 404);
    });
  });
}
