// The SDK is checked against the server's OpenAPI document: the committed generated files must be
// exactly what `npm run sdk:generate` writes from the server as it is now. The document must also be
// the same whichever store the server runs on.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateSdkFiles, SDK_SOURCE_FOLDER } from '../../../scripts/generate-sdk.ts';
import { createTestStore, STORE_KINDS } from '../../../test/support/stores.ts';

for (const kind of STORE_KINDS) {
  describe(`SDK generated files (${kind})`, () => {
    it('match what the server generates now (run `npm run sdk:generate` after changing a route)', async () => {
      const store = kind === 'postgres' ? await createTestStore('postgres', { open: false }) : null;
      try {
        const files = await generateSdkFiles({ databaseUrl: store?.location.databaseUrl });
        assert.deepEqual(Object.keys(files).sort(), ['error-codes.ts', 'openapi.json', 'schema.ts']);
        for (const [name, expected] of Object.entries(files)) {
          const committed = readFileSync(join(SDK_SOURCE_FOLDER, name), 'utf8');
          assert.ok(committed === expected, `packages/sdk/src/${name} is out of date: run \`npm run sdk:generate\` and commit the result`);
        }
      } finally {
        await store?.drop();
      }
    });
  });
}
