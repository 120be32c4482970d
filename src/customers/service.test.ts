// Customer reads on both stores: concurrent reads of customers the cache lacks share one statement,
// and each caller still sees only its own merchant's and mode's customers.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { aroundQueries } from '../../test/support/queries.ts';
import { createTestStore, STORE_KINDS, type TestStore } from '../../test/support/stores.ts';
import { createBooks } from '../books/service.ts';
import { createLedgerService, type LedgerService } from '../ledger/service.ts';
import { createMerchantService } from '../merchants/service.ts';
import { createCustomerService } from './service.ts';

for (const kind of STORE_KINDS) {
  describe(kind, () => {
    let store: TestStore;
    let ledger: LedgerService | undefined;
    before(async () => {
      store = await createTestStore(kind);
    });
    after(async () => {
      await ledger?.close();
      await store?.drop();
    });

    it('reads of uncached customers made together share one statement, each answered in its own scope', async () => {
      ledger = createLedgerService({ db: store.db });
      const merchants = createMerchantService({ db: store.db });
      const books = createBooks({ ledger });
      const [shop, other] = [await merchants.create({ name: 'Shop', feeBps: 100 }), await merchants.create({ name: 'Other', feeBps: 100 })];
      const writer = createCustomerService({ db: store.db, books });
      const shopScope = { merchantId: shop.id, livemode: false };
      const otherScope = { merchantId: other.id, livemode: false };
      const mine = await Promise.all(Array.from({ length: 20 }, (_, index) => writer.create(shopScope, { name: `buyer ${index}` })));
      const theirs = await writer.create(otherScope, { name: 'not yours' });

      // A new process: nothing cached.
      let sent = 0;
      const statements = () => sent;
      const db = aroundQueries(store.db, (_sql, run) => {
        sent += 1;
        return run();
      });
      const reader = createCustomerService({ db, books });
      const answers = await Promise.all([
        ...mine.map((customer) => reader.get(shopScope, customer.id)),
        reader.get(shopScope, theirs.id),
        reader.get({ merchantId: shop.id, livemode: true }, mine[0]!.id),
        reader.get(shopScope, 'cus_does_not_exist'),
      ]);
      assert.equal(statements(), 1, 'one statement for every read');
      assert.deepEqual(
        answers.slice(0, mine.length).map((customer) => customer?.name),
        mine.map((customer) => customer.name),
      );
      assert.deepEqual(answers.slice(mine.length), [null, null, null], "another merchant's, the other mode's and an unknown customer are not found");
      // Cached now: no statement.
      assert.equal((await reader.get(shopScope, mine[3]!.id))?.id, mine[3]!.id);
      assert.equal(statements(), 1);
    });
  });
}
