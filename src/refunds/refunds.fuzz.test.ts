// Request fuzzing of the refund and dispute endpoints with real ids: random sequences of refunds, buyer
// requests, approvals, declines, disputes, evidence and decisions on a few payments, with random amounts
// and keys. Whatever arrives, the answer is never a 5xx, what was refunded plus what a lost dispute
// paid never exceeds what was captured, and the ledger verifies with no drift.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { STORE_KINDS } from '../../test/support/stores.ts';
import { startTestApi, type TestApi } from '../../test/support/api.ts';
import { assertLedgerSound, openShop, pay, type Shop } from '../../test/support/refund-fixtures.ts';

const RUNS = Number(process.env.REFUND_FUZZ_RUNS ?? 60);
const SEED = Number(process.env.REFUND_FUZZ_SEED ?? 20261128);

for (const kind of STORE_KINDS) {
  describe(`refund and dispute fuzzing on ${kind}`, () => {
    let api: TestApi;
    let shop: Shop;
    let paymentIds: string[];
    before(async () => {
      api = await startTestApi(kind, { env: { REFUND_AUTO_MAX: 'USD:300', REFUND_AUTO_PER_BUYER_MAX: '1000' } });
      shop = await openShop(api, { feeBps: 700, feeFixed: 3 });
      paymentIds = [];
      for (const amount of [1, 99, 1000, 5000]) paymentIds.push((await pay(api, shop, amount)).id);
    });
    after(async () => {
      await assertLedgerSound(api);
      await api.close();
    });

    it('never answers 5xx and never gives back more than was captured', async () => {
      const seen: string[] = [];
      const amount = fc.oneof(fc.integer({ min: 1, max: 6000 }), fc.constantFrom(0, -1, 1.5, 2 ** 53, '10', null));
      const action = fc.record({
        kind: fc.constantFrom('refund', 'request', 'approve', 'decline', 'dispute', 'evidence', 'decide'),
        payment: fc.nat(),
        target: fc.nat(),
        amount: fc.option(amount, { freq: 2 }),
        outcome: fc.constantFrom('won', 'lost', 'draw'),
        key: fc.constantFrom('secret', 'operator', 'read'),
      });
      await fc.assert(
        fc.asyncProperty(fc.array(action, { minLength: 1, maxLength: 6 }), async (actions) => {
          for (const step of actions) {
            const payment = paymentIds[step.payment % paymentIds.length]!;
            const target = seen.length > 0 ? seen[step.target % seen.length]! : 'ref_none';
            const key = step.key === 'secret' ? shop.merchant.secretKey : step.key === 'read' ? shop.merchant.readKey : api.testOperatorKey;
            const withAmount = step.amount === null ? {} : { amount: step.amount };
            const [url, body] = {
              refund: ['/v1/refunds', { payment, ...withAmount }],
              request: ['/v1/refund_requests', { payment, reason: 'other', ...withAmount }],
              approve: [`/v1/refunds/${target}/approve`, {}],
              decline: [`/v1/refunds/${target}/decline`, {}],
              dispute: ['/v1/disputes', { payment, reason: 'general', ...withAmount }],
              evidence: [`/v1/disputes/${target}/evidence`, { text: 'Delivered.' }],
              decide: [`/v1/disputes/${target}/decide`, { outcome: step.outcome }],
            }[step.kind] as [string, object];
            const response = await api.call('POST', url, { key, body });
            assert.ok(response.statusCode < 500, `${url} ${JSON.stringify(body)} → ${response.body}`);
            if (response.statusCode === 200) seen.push(response.json().id);
            else assert.equal(typeof response.json().error.code, 'string');
          }
          for (const id of paymentIds) {
            const payment = await api.runtime.services.payments.find(id);
            const dispute = await api.runtime.services.disputes.disputeOfPayment(id);
            const lost = dispute?.status === 'lost' ? dispute.amount : 0n;
            assert.ok(payment!.amountRefunded + lost <= payment!.amountCaptured);
          }
        }),
        { numRuns: RUNS, seed: SEED },
      );
      // The sequences reached the paths that move money, not only the refusals.
      assert.ok(seen.some((id) => id.startsWith('ref_')) && seen.some((id) => id.startsWith('dp_')), `created: ${seen.join(' ')}`);
    });
  });
}
