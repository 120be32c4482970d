// Helpers shared by the refund and dispute tests: a merchant with a funded customer, payments made
// through the API, balances read through the API, and the ledger's own view for the invariants.
import assert from 'node:assert/strict';
import { TRANSFER_CODES } from '../../src/books/service.ts';
import { ledgerId, newId } from '../../src/api/ids.ts';
import type { TestApi, TestMerchant } from './api.ts';

export const CURRENCY = 'USD';

export interface Shop {
  merchant: TestMerchant;
  customerId: string;
  buyerId: string;
}

/** A merchant with the given fee and one customer whose wallet holds `funds`. */
export async function openShop(api: TestApi, options: { feeBps?: number; feeFixed?: number; funds?: bigint } = {}): Promise<Shop> {
  const merchant = await api.createMerchant({ feeBps: options.feeBps ?? 0, feeFixed: options.feeFixed ? { [CURRENCY]: options.feeFixed } : {} });
  const customer = await newCustomer(api, merchant);
  await api.fundWallet(merchant, customer.customerId, options.funds ?? 1_000_000n, CURRENCY);
  return { merchant, ...customer };
}

export async function newCustomer(api: TestApi, merchant: TestMerchant): Promise<{ customerId: string; buyerId: string }> {
  const response = await api.call('POST', '/v1/customers', { key: merchant.secretKey, body: { name: 'Buyer' } });
  assert.equal(response.statusCode, 200, response.body);
  const customerId = response.json().id as string;
  const customer = await api.runtime.services.customers.get({ merchantId: merchant.id, livemode: false }, customerId);
  return { customerId, buyerId: customer!.buyerId };
}

/** Creates and confirms a payment; returns its JSON (succeeded). */
export async function pay(api: TestApi, shop: Shop, amount: number, customerId = shop.customerId): Promise<{ id: string; application_fee_amount: number; amount: number }> {
  const response = await api.call('POST', '/v1/payments', {
    key: shop.merchant.secretKey,
    body: { customer: customerId, amount, currency: CURRENCY, confirm: true },
  });
  assert.equal(response.statusCode, 200, response.body);
  const payment = response.json();
  assert.equal(payment.status, 'succeeded', response.body);
  return payment;
}

export async function merchantAvailable(api: TestApi, merchant: TestMerchant): Promise<number> {
  const response = await api.call('GET', '/v1/balance', { key: merchant.secretKey });
  assert.equal(response.statusCode, 200, response.body);
  const balance = response.json().balances.find((entry: { currency: string }) => entry.currency === CURRENCY);
  return balance ? balance.available : 0;
}

export async function wallet(api: TestApi, merchant: TestMerchant, customerId: string): Promise<{ available: number; pending: number; posted: number }> {
  const response = await api.call('GET', `/v1/customers/${customerId}/wallet`, { key: merchant.secretKey });
  assert.equal(response.statusCode, 200, response.body);
  const balance = response.json().balances.find((entry: { currency: string }) => entry.currency === CURRENCY);
  return balance ?? { available: 0, pending: 0, posted: 0 };
}

/** The platform's fee account, posted balance (what the platform earned, less what it gave back or advanced). */
export async function platformFees(api: TestApi): Promise<bigint> {
  const { books } = api.runtime.services;
  return (await books.balance(books.account('platform_fee', 'platform', false, CURRENCY))).posted;
}

/** Takes `amount` out of the merchant's balance as a payout to its bank would, through the ledger. */
export async function payOut(api: TestApi, merchant: TestMerchant, amount: bigint): Promise<void> {
  const { books } = api.runtime.services;
  const from = books.account('merchant', merchant.id, false, CURRENCY);
  const to = books.account('payout_clearing', 'platform', false, CURRENCY);
  await books.ensure([from, to]);
  const [result] = await api.runtime.ledger.createTransfers([
    { id: ledgerId(newId('po')), debitAccountId: from.id, creditAccountId: to.id, amount, code: TRANSFER_CODES.payout },
  ]);
  assert.equal(result?.result, 'created');
}

/** The types of the events written for an object, sorted (events written in one transaction are
 * stored in the order of their ids, not of their types). */
export async function eventTypes(api: TestApi, objectId: string): Promise<string[]> {
  const { rows } = await api.runtime.db.query<{ type: string }>(
    `SELECT type FROM events WHERE data->'object'->>'id' = $1 ORDER BY seq`,
    [objectId],
  );
  return rows.map((row) => row.type).sort();
}

export async function assertLedgerSound(api: TestApi): Promise<void> {
  const report = await api.runtime.ledger.verify();
  assert.deepEqual(report.drift, []);
  assert.deepEqual(report.limitViolations, []);
  assert.ok(report.ok);
}

export function expectError(response: { statusCode: number; body: string; json(): any }, status: number, code: string): void {
  assert.equal(response.statusCode, status, response.body);
  assert.equal(response.json().error.code, code, response.body);
}
