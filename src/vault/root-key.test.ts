// The vault root key of an installation that predates it (merchants or cards, no stored root), on both
// stores: it must start as master key version 1's bytes, so a start without version 1 configured (an
// upgrade and a rotation in one deploy, VAULT_PREVIOUS_MASTER_KEYS forgotten) is refused and stores
// nothing, rather than storing another key as the root and silently changing every derived value.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { STORE_KINDS, createTestStore, type TestStore } from '../../test/support/stores.ts';
import { openKeyring, VaultRootKeyError } from './root-key.ts';

for (const kind of STORE_KINDS) {
  describe(`the vault root key of a legacy installation on ${kind}`, () => {
    let store: TestStore;
    const v1 = randomBytes(32);
    const v2 = randomBytes(32);

    const rootRows = async () =>
      Number((await store.db.query<{ n: string | number }>(`SELECT count(*) AS n FROM vault_keys WHERE purpose = 'root'`)).rows[0]!.n);

    before(async () => {
      store = await createTestStore(kind);
      await store.db.query(`INSERT INTO merchants (id, name) VALUES ('mer_legacy', 'Legacy')`);
    });

    after(async () => {
      await store.drop();
    });

    it('is refused without master key version 1, naming VAULT_PREVIOUS_MASTER_KEYS, and nothing is stored', async () => {
      await assert.rejects(
        openKeyring(store.db, new Map([[2, v2]]), 2),
        (error: Error) =>
          error instanceof VaultRootKeyError &&
          /VAULT_PREVIOUS_MASTER_KEYS/.test(error.message) &&
          /version 1/.test(error.message),
      );
      assert.equal(await rootRows(), 0);
    });

    it('starts as version 1 bytes once version 1 is configured beside the current version 2', async () => {
      const keyring = await openKeyring(store.db, new Map([[2, v2], [1, v1]]), 2);
      assert.equal(keyring.root.equals(v1), true);
      assert.equal(await rootRows(), 1);
      const reopened = await openKeyring(store.db, new Map([[2, v2], [1, v1]]), 2);
      assert.equal(reopened.root.equals(v1), true, 'the stored root is read back');
    });
  });
}
