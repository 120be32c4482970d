// Property tests of the fee reversal: on its own (many cases, fast), and through the HTTP API and the
// real ledger on both stores (random fees, amounts and sequences of partial refunds).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { STORE_KINDS } from '../../test/support/stores.ts';
import { startTestApi, type TestApi } from '../../test/support/api.ts';
import { assertLedgerSound, expectError, merchantAvailable, openShop, pay, platformFees, wallet } from '../../test/support/refund-fixtures.ts';
import { feeReversalFor } from './model.ts';

const SEED = Number(process.env.REFUND_PROPERTY_SEED ?? 20261128);
const API_RUNS = Number(process.env.REFUND_PROPERTY_RUNS ?? 15);

/** The sequence of refund amounts `pieces` asks for, each cut to what remains; empty pieces skipped. */
function refundSequence(captured: bigint, pieces: bigint[]): bigint[] {
  const amounts: bigint[] = [];
  let remaining = captured;
  for (const piece of pieces) {
    if (remaining === 0n) break;
    const amount = piece < remaining ? piece : remaining;
    amounts.push(amount);
    remaining -= amount;
  }
  return amounts;
}

describe('fee reversal, on its own', () => {
  it('never gives back more than the fee, and gives it all back with the last refund', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 1n, max: 10n ** 12n }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.array(fc.bigInt({ min: 1n, max: 10n ** 12n }), { minLength: 1, maxLength: 12 }),
        (captured, feeShare, pieces) => {
          const fee = (captured * BigInt(Math.round(feeShare * 10_000))) / 10_000n;
          let refunded = 0n;
          let reversed = 0n;
          for (const amount of refundSequence(captured, pieces)) {
            const reversal = feeReversalFor(fee, captured, refunded, amount);
            assert.ok(reversal >= 0n && reversal <= amount);
            refunded += amount;
            reversed += reversal;
            assert.ok(reversed <= fee);
            // The cumulative rule: what was given back so far is exactly floor(fee × refunded / captured).
            assert.equal(reversed, (fee * refunded) / captured);
          }
          const last = feeReversalFor(fee, captured, refunded, captured - refunded);
          assert.equal(reversed + last, fee);
        },
      ),
      { numRuns: 3000, seed: SEED },
    );
  });
});

for (const kind of STORE_KINDS) {
  describe(`fee reversal through the API on ${kind}`, () => {
    let api: TestApi;
    before(async () => {
      api = await startTestApi(kind);
    });
    after(async () => {
      await api.close();
    });

    it('sums to the fee exactly over random partial refunds, never more, and the ledger has no drift', async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.integer({ min: 0, max: 3000 }),
          fc.integer({ min: 0, max: 100 }),
          fc.integer({ min: 1, max: 50_000 }),
          fc.array(fc.integer({ min: 1, max: 50_000 }), { minLength: 1, maxLength: 5 }),
          async (feeBps, feeFixed, amount, pieces) => {
            const shop = await openShop(api, { feeBps, feeFixed });
            const walletBefore = await wallet(api, shop.merchant, shop.customerId);
            const feesBefore = await platformFees(api);
            const payment = await pay(api, shop, amount);
            const fee = payment.application_fee_amount;
            let reversed = 0;
            let refunded = 0;
            for (const piece of refundSequence(BigInt(amount), pieces.map(BigInt))) {
              const response = await api.call('POST', '/v1/refunds', { key: shop.merchant.secretKey, body: { payment: payment.id, amount: Number(piece) } });
              assert.equal(response.statusCode, 200, response.body);
              reversed += response.json().fee_reversed;
              refunded += Number(piece);
              assert.ok(reversed <= fee, `reversed ${reversed} of a fee of ${fee}`);
            }
            if (refunded < amount) {
              expectError(
                await api.call('POST', '/v1/refunds', { key: shop.merchant.secretKey, body: { payment: payment.id, amount: amount - refunded + 1 } }),
                400,
                'refund_amount_too_large',
              );
              const rest = await api.call('POST', '/v1/refunds', { key: shop.merchant.secretKey, body: { payment: payment.id } });
              assert.equal(rest.statusCode, 200, rest.body);
              reversed += rest.json().fee_reversed;
            }
            assert.equal(reversed, fee);
            // Everything went back: the merchant holds nothing, the buyer and the platform are as before.
            assert.equal(await merchantAvailable(api, shop.merchant), 0);
            assert.deepEqual(await wallet(api, shop.merchant, shop.customerId), walletBefore);
            assert.equal(await platformFees(api), feesBefore);
          },
        ),
        { numRuns: API_RUNS, seed: SEED },
      );
      await assertLedgerSound(api);
    });
  });
}
