// The books on both stores: accounts are created on first use, once per process, and not at all when
// the process's ledger already holds them as the role makes them (created, read or warmed).
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { createTestStore, STORE_KINDS, type TestStore } from '../../test/support/stores.ts';
import { createLedgerService, type LedgerService } from '../ledger/service.ts';
import { createBooks } from './service.ts';

/** The ledger with its createAccounts calls counted (the real service, on the real database). */
function counting(ledger: LedgerService): { ledger: LedgerService; creates: () => number } {
  let calls = 0;
  const createAccounts: LedgerService['createAccounts'] = (inputs) => {
    calls += 1;
    return ledger.createAccounts(inputs);
  };
  return { ledger: { ...ledger, createAccounts }, creates: () => calls };
}

for (const kind of STORE_KINDS) {
  describe(kind, () => {
    let store: TestStore;
    const opened: LedgerService[] = [];
    const openLedger = () => {
      const ledger = createLedgerService({ db: store.db });
      opened.push(ledger);
      return ledger;
    };

    before(async () => {
      store = await createTestStore(kind);
    });

    after(async () => {
      for (const ledger of opened) await ledger.close();
      await store?.drop();
    });

    it('ensure creates an account once per process, and not at all when a warmed ledger holds it', async () => {
      const first = counting(openLedger());
      const books = createBooks({ ledger: first.ledger });
      const wallet = books.account('wallet', `cus_${randomUUID()}`, false, 'USD');
      await books.ensure([wallet]);
      await books.ensure([wallet]);
      assert.equal(first.creates(), 1, 'created on first use, remembered after');
      assert.equal((await books.balance(wallet)).available, 0n);

      // Another process: its ledger warmed at start, so the wallet is known without a statement.
      const second = counting(openLedger());
      await second.ledger.warm();
      const otherBooks = createBooks({ ledger: second.ledger });
      await otherBooks.ensure([wallet]);
      assert.equal(second.creates(), 0, 'the warmed ledger already holds the wallet');

      // A process that has not seen it creates it (idempotently: it exists).
      const third = counting(openLedger());
      await createBooks({ ledger: third.ledger }).ensure([wallet]);
      assert.equal(third.creates(), 1);
    });

    it('an account held under the same id with other fields is not taken as open: ensure fails as before', async () => {
      const owner = `cus_${randomUUID()}`;
      const wallet = createBooks({ ledger: openLedger() }).account('wallet', owner, false, 'USD');
      // The id taken by an account the role would not make (unlimited, a merchant's kind).
      const squatter = openLedger();
      const [result] = await squatter.createAccounts([{ id: wallet.id, asset: 'USD', kind: 'merchant' }]);
      assert.equal(result!.result, 'created');
      const warmed = counting(openLedger());
      await warmed.ledger.warm();
      assert.equal(warmed.ledger.peekAccount(wallet.id)?.kind, 'merchant');
      await assert.rejects(createBooks({ ledger: warmed.ledger }).ensure([wallet]), /could not be created: exists_with_different_kind/);
      assert.equal(warmed.creates(), 1);
    });
  });
}
