// Payouts end to end over HTTP, on both stores, against a sandbox bank on loopback: thousands of small
// payments become one transfer out; balances, the schedule (two workers at once), errors, bank
// rejections and timeouts, tenancy, idempotency, and a ledger without drift at the end.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { inspect } from 'node:util';
import { STORE_KINDS } from '../../test/support/stores.ts';
import { startTestApi, type TestApi, type TestMerchant } from '../../test/support/api.ts';
import { ConfigError, loadConfig } from '../config/config.ts';
import { createLogger } from '../log/logger.ts';
import { openRuntime, type Runtime } from '../server/runtime.ts';
import { ledgerId, newId } from '../api/ids.ts';
import type { RiskHook } from '../risk/hook.ts';
import { SANDBOX_BANK_ACCOUNTS, startBankSandbox, type BankSandbox } from '../rails/bank-sandbox.ts';
import { nextRunAfter, periodOf } from './schedule.ts';
import { WEEKDAYS } from './model.ts';
import { CONCURRENCY_MAX, SUBMIT_ATTEMPTS_MAX, createPayoutDispatcher, type PayoutDispatcher } from './dispatcher.ts';
import { createBankRails, type BankRails } from './rails.ts';
import { holdTransfer } from './moves.ts';
import { PayoutExistsError, claimDuePayouts, payoutInsertWrite, releasePayout, renewPayoutLease, updatePayoutState } from './store.ts';
import { createFieldSealer, type FieldSealer } from '../vault/fields.ts';
import { createBankConnector, type BankRail, type CreditTransferRequest } from '../rails/bank.ts';
import { openVaultKeyring } from '../top-ups/wiring.ts';
import { randomUUID } from 'node:crypto';

const SETTLEMENT_DELAY_MS = 30;
// Long enough that a healthy answer from loopback never times out on a loaded 2-core CI machine.
const BANK_TIMEOUT_MS = 300;
/** How long a test waits for payouts to end; backoff is skipped (see `skipBackoff`), so this is only a bound. */
const FINAL_WITHIN_MS = 30_000;
const PAYMENTS_COUNT = 2_000;
const CUSTOMERS_COUNT = 20;
const DAY_SECONDS = 24 * 3600;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The runtime's warnings and errors, kept to explain a payout that does not end. */
function recordingLogger() {
  const lines: string[] = [];
  const logger = createLogger('warn', { write: (line: string) => void lines.push(line.trim()) });
  return { logger, recent: (count = 20) => lines.slice(-count).join('\n') };
}

function envFor(sandbox: BankSandbox): Record<string, string> {
  return {
    BANK_SANDBOX_URL: sandbox.url,
    BANK_RAIL_TIMEOUT_MS: String(BANK_TIMEOUT_MS),
    BANK_RAIL_RETRIES_MAX: '2',
    PAYOUT_STATUS_POLL_INTERVAL_MS: '0',
  };
}

it('schedules runs at UTC midnight, daily or on the weekly anchor', () => {
  const at = new Date('2025-03-05T13:20:00Z'); // a Wednesday
  assert.equal(nextRunAfter('daily', 1, at)!.toISOString(), '2025-03-06T00:00:00.000Z');
  assert.equal(nextRunAfter('weekly', 1, at)!.toISOString(), '2025-03-10T00:00:00.000Z');
  assert.equal(nextRunAfter('weekly', 4, at)!.toISOString(), '2025-03-06T00:00:00.000Z');
  assert.equal(nextRunAfter('weekly', 3, at)!.toISOString(), '2025-03-12T00:00:00.000Z');
  assert.equal(nextRunAfter('daily', 1, new Date('2025-03-06T00:00:00Z'))!.toISOString(), '2025-03-07T00:00:00.000Z');
  assert.equal(nextRunAfter('manual', 1, at), null);
  assert.equal(periodOf(new Date('2025-03-06T00:00:00Z')), '2025-03-06');
});

it('reads the payout configuration and refuses a malformed bank URL', () => {
  const config = loadConfig({});
  assert.equal(config.payouts.bankRailUrl, undefined);
  assert.equal(config.payouts.minimumDefaults.USD, 1000n);
  assert.equal(config.payouts.minimumDefaults.KRW, 10000n);
  assert.throws(() => loadConfig({ BANK_RAIL_URL: 'ftp://bank.example' }), (error: Error) => error instanceof ConfigError && /BANK_RAIL_URL/.test(error.message));
  assert.throws(() => loadConfig({ PAYOUT_MINIMUMS: 'USD=1000' }), ConfigError);
  assert.throws(() => loadConfig({ BANK_RAIL_TIMEOUT_MS: '5' }), ConfigError);
});

it('sends test-mode payouts to a sandbox started on first use, and live ones nowhere in production without BANK_RAIL_URL', async () => {
  const options = { liveUrl: undefined, sandboxUrl: undefined, timeoutMs: BANK_TIMEOUT_MS * 10, retriesMax: 1, sandboxSettlementDelayMs: 0 };
  const production = createBankRails({ ...options, mode: 'production' });
  assert.equal(production.available(true), false);
  assert.equal(await production.forMode(true), null);
  assert.equal(production.available(false), true);
  const rail = (await production.forMode(false))!;
  const answer = await rail.submit({ endToEndId: 'po_lazy1', amount: 1000n, currency: 'USD', exponent: 2, account: { type: 'account_number', number: SANDBOX_BANK_ACCOUNTS.settles }, creditorName: 'Lazy', remittance: 'test' });
  assert.equal(answer.kind, 'answered');
  assert.equal(await production.forMode(false), rail, 'one sandbox per process');
  await production.close();
  assert.equal(production.available(false), false);
  const development = createBankRails({ ...options, mode: 'development' });
  assert.equal(development.available(true), false, 'live payouts go to BANK_RAIL_URL only, never to a sandbox, in every mode');
  await development.close();
  const live = createBankRails({ ...options, mode: 'production', liveUrl: 'https://bank.example' });
  assert.equal(live.available(true), true);
  await live.close();
});

for (const kind of STORE_KINDS) {
  describe(`payouts over HTTP on ${kind}`, () => {
    let sandbox: BankSandbox;
    let api: TestApi;
    const log = recordingLogger();

    before(async () => {
      sandbox = await startBankSandbox({ settlementDelayMs: SETTLEMENT_DELAY_MS, slowResponseMs: BANK_TIMEOUT_MS * 3 });
      api = await startTestApi(kind, { env: envFor(sandbox), logger: log.logger });
    });
    after(async () => {
      await api.close();
      await sandbox.close();
    });

    const payouts = () => api.runtime.services.payouts;

    async function settingsOf(merchant: TestMerchant, body: Record<string, unknown>) {
      const response = await api.call('POST', '/v1/payout_settings', { key: merchant.secretKey, body });
      assert.equal(response.statusCode, 200, response.body);
      return response.json();
    }

    async function merchantWithBank(accountNumber: string = SANDBOX_BANK_ACCOUNTS.settles, options: { feeBps?: number; schedule?: string; weeklyAnchor?: string } = {}) {
      const merchant = await api.createMerchant({ feeBps: options.feeBps ?? 0 });
      await settingsOf(merchant, {
        bank_account: { account_number: accountNumber, account_holder_name: 'Pixel Forge Games' },
        schedule: { interval: options.schedule ?? 'manual', ...(options.weeklyAnchor ? { weekly_anchor: options.weeklyAnchor } : {}) },
      });
      return merchant;
    }

    /** `count` confirmed payments to `merchant` through the payment service; returns what it earned net of fees. */
    async function earn(merchant: TestMerchant, count: number, amountOf: (index: number) => bigint = () => 700n): Promise<bigint> {
      const scope = { merchantId: merchant.id, livemode: false };
      const customers: string[] = [];
      const customersCount = Math.min(CUSTOMERS_COUNT, count);
      for (let index = 0; index < customersCount; index += 1) {
        const customer = await api.runtime.services.customers.create(scope, { email: `buyer${index}@example.com` });
        await api.fundWallet(merchant, customer.id, 10_000_000n, 'USD');
        customers.push(customer.id);
      }
      let net = 0n;
      const chunk = 250;
      for (let start = 0; start < count; start += chunk) {
        const results = await Promise.all(
          Array.from({ length: Math.min(chunk, count - start) }, async (_, offset) => {
            const index = start + offset;
            return api.runtime.services.payments.create(scope, {
              customerId: customers[index % customers.length]!,
              amount: amountOf(index),
              currency: 'USD',
              lineItems: [{ description: 'Gem pack', category: 'virtual_good', unitAmount: amountOf(index), quantity: 1 }],
              confirm: true,
            });
          }),
        );
        for (const result of results) {
          assert.ok(result.ok, inspect(result));
          assert.equal(result.payment.status, 'succeeded');
          net += result.payment.amount - result.payment.feeAmount;
        }
      }
      return net;
    }

    async function available(merchant: TestMerchant, key = merchant.secretKey): Promise<number> {
      const response = await api.call('GET', '/v1/balance', { key });
      assert.equal(response.statusCode, 200, response.body);
      return response.json().balances.find((balance: { currency: string }) => balance.currency === 'USD')?.available ?? 0;
    }

    const payOut = (merchant: TestMerchant, body: Record<string, unknown>, headers?: Record<string, string>) =>
      api.call('POST', '/v1/payouts', { key: merchant.secretKey, body, headers });

    async function payoutOf(merchant: TestMerchant, id: string) {
      const response = await api.call('GET', `/v1/payouts/${id}`, { key: merchant.secretKey });
      assert.equal(response.statusCode, 200, response.body);
      return response.json();
    }

    /**
     * Time passing, for payouts waiting out a retry backoff (a bank answer lost on a loaded machine waits
     * a second or more): unclaimed open payouts become due now.
     */
    async function skipBackoff(id?: string) {
      await api.runtime.db.query(
        `UPDATE payouts SET next_attempt_at = now()
         WHERE status IN ('pending', 'in_transit') AND next_attempt_at > now() AND locked_until IS NULL AND ($1::text IS NULL OR id = $1)`,
        [id ?? null],
      );
    }

    /** Runs the dispatcher until the payout reaches a final state (or the time bound is reached). */
    async function untilFinal(merchant: TestMerchant, id: string) {
      const deadline = Date.now() + FINAL_WITHIN_MS;
      while (Date.now() < deadline) {
        await payouts().dispatch(100);
        const payout = await payoutOf(merchant, id);
        if (payout.status === 'paid' || payout.status === 'failed') return payout;
        await sleep(SETTLEMENT_DELAY_MS / 2);
        await skipBackoff(id);
      }
      const { rows } = await api.runtime.db.query(
        `SELECT p.status, p.bank_reference, p.submit_attempts, p.next_attempt_at, p.locked_until, now() AS now, r.decision, r.reasons
         FROM payouts p LEFT JOIN risk_decisions r ON r.id = p.risk_decision_id WHERE p.id = $1`,
        [id],
      );
      assert.fail(`payout ${id} did not reach a final state within ${FINAL_WITHIN_MS} ms: ${inspect(rows[0])}\nrecent log:\n${log.recent()}`);
    }

    async function eventTypesOf(id: string): Promise<string[]> {
      const { rows } = await api.runtime.db.query<{ type: string }>(`SELECT type FROM events WHERE data->'object'->>'id' = $1 ORDER BY seq`, [id]);
      return rows.map((row) => row.type);
    }

    async function ledgerBalance(role: 'bank_settlement' | 'payout_clearing') {
      const { books } = api.runtime.services;
      return books.balance(books.account(role, 'platform', false, 'USD'));
    }

    it('keeps payout settings, with the bank account masked and minimums defaulted', async () => {
      const merchant = await api.createMerchant();
      const empty = await api.call('GET', '/v1/payout_settings', { key: merchant.readKey });
      assert.equal(empty.statusCode, 200, empty.body);
      assert.equal(empty.json().bank_account, null);
      assert.equal(empty.json().minimum_amounts.USD, 1000);
      assert.equal(empty.json().next_run, null);

      const saved = await settingsOf(merchant, {
        bank_account: { account_number: 'DE89 3704 0044 0532 0130 00', account_holder_name: 'Pixel Forge GmbH' },
        schedule: { interval: 'weekly', weekly_anchor: 'friday' },
        minimum_amounts: { USD: 5_000 },
      });
      assert.deepEqual(saved.bank_account, { object: 'bank_account', type: 'iban', last4: '3000', country: 'DE', account_holder_name: 'Pixel Forge GmbH' });
      assert.deepEqual(saved.schedule, { interval: 'weekly', weekly_anchor: 'friday' });
      assert.equal(saved.minimum_amounts.USD, 5_000);
      assert.equal(saved.minimum_amounts.EUR, 1_000);
      assert.equal(new Date(saved.next_run * 1000).getUTCDay(), 5);
      assert.ok(!JSON.stringify(saved).includes('0532013000'), 'the whole account number never leaves the server');
      const stored = await api.runtime.db.query<{ account_number: string }>(`SELECT account_number FROM payout_settings WHERE merchant_id = $1`, [merchant.id]);
      assert.match(stored.rows[0]!.account_number, /^sealed:v1:/, 'the account number is sealed at rest');
      assert.ok(!stored.rows[0]!.account_number.includes('0532013000'));

      const read = await api.call('GET', '/v1/payout_settings', { key: merchant.secretKey });
      assert.deepEqual(read.json(), saved);

      const badIban = await api.call('POST', '/v1/payout_settings', { key: merchant.secretKey, body: { bank_account: { account_number: 'DE89370400440532013001', account_holder_name: 'x' } } });
      assert.equal(badIban.statusCode, 400);
      assert.equal(badIban.json().error.code, 'parameter_invalid');
      assert.equal(badIban.json().error.param, 'bank_account.account_number');
      const belowFloor = await api.call('POST', '/v1/payout_settings', { key: merchant.secretKey, body: { minimum_amounts: { USD: 999 } } });
      assert.equal(belowFloor.json().error.code, 'parameter_invalid');
      assert.equal(belowFloor.json().error.param, 'minimum_amounts.USD');
      const unknownCurrency = await api.call('POST', '/v1/payout_settings', { key: merchant.secretKey, body: { minimum_amounts: { XYZ: 5000 } } });
      assert.equal(unknownCurrency.json().error.code, 'currency_unsupported');
      const unknownField = await api.call('POST', '/v1/payout_settings', { key: merchant.secretKey, body: { schedule: { interval: 'daily', delay_days: 2 } } });
      assert.equal(unknownField.json().error.code, 'parameter_unknown');
      const readOnly = await api.call('POST', '/v1/payout_settings', { key: merchant.readKey, body: { schedule: { interval: 'daily' } } });
      assert.equal(readOnly.json().error.code, 'api_key_scope_insufficient');
      const publishable = await api.call('GET', '/v1/payout_settings', { key: merchant.publishableKey });
      assert.equal(publishable.json().error.code, 'secret_key_required');
      const live = await api.call('GET', '/v1/payout_settings', { key: merchant.liveSecretKey });
      assert.equal(live.json().bank_account, null, 'live settings are apart from test settings');
    });

    it('describes the payout endpoints in /openapi.json', async () => {
      const document = (await api.call('GET', '/openapi.json')).json();
      for (const path of ['/v1/payouts', '/v1/payouts/{id}', '/v1/payout_settings']) assert.ok(document.paths[path], path);
      for (const schema of ['Payout', 'PayoutSettings', 'PayoutBankAccount']) assert.ok(document.components.schemas[schema], schema);
    });

    it(`pays ${PAYMENTS_COUNT} small payments out as one bank transfer`, async () => {
      const merchant = await merchantWithBank(SANDBOX_BANK_ACCOUNTS.settles, { feeBps: 250 });
      const started = Date.now();
      const net = await earn(merchant, PAYMENTS_COUNT, (index) => BigInt(5 + (index % 95)));
      const earnMs = Date.now() - started;
      assert.equal(BigInt(await available(merchant)), net);
      const bankBefore = await ledgerBalance('bank_settlement');

      const created = await payOut(merchant, { currency: 'USD', description: 'March earnings' });
      assert.equal(created.statusCode, 200, created.body);
      const payout = created.json();
      assert.equal(BigInt(payout.amount), net);
      assert.equal(payout.status, 'pending');
      assert.equal(payout.automatic, false);
      assert.equal(payout.destination.last4, '6789');
      assert.equal(await available(merchant), 0, 'the held amount cannot be spent twice');
      assert.equal((await ledgerBalance('payout_clearing')).pending, -net);

      assert.ok((await payouts().dispatch(100)) >= 1);
      assert.equal((await payoutOf(merchant, payout.id)).status, 'in_transit');
      const paid = await untilFinal(merchant, payout.id);
      assert.equal(paid.status, 'paid');
      assert.match(paid.bank_reference, /^bnk_/);
      assert.equal(typeof paid.paid_at, 'number');
      assert.equal(sandbox.submissionsOf(payout.id), 1);
      assert.equal(await available(merchant), 0);
      assert.equal((await ledgerBalance('bank_settlement')).posted - bankBefore.posted, -net, 'the aggregate left through the bank');
      assert.deepEqual(await ledgerBalance('payout_clearing').then((balance) => [balance.posted, balance.pending]), [0n, 0n]);
      assert.deepEqual(await eventTypesOf(payout.id), ['payout.created', 'payout.paid']);
      // A later pass finds nothing to do: a paid payout is never sent again.
      assert.equal(await payouts().dispatch(100), 0);
      assert.equal(sandbox.submissionsOf(payout.id), 1);
      console.log(`${kind}: ${PAYMENTS_COUNT} payments in ${earnMs} ms, paid out as one transfer of ${net} minor units`);
    });

    it('refuses payouts below the minimum, above the balance, without a bank account, or in an unknown currency', async () => {
      const noBank = await api.createMerchant();
      const missing = await payOut(noBank, { currency: 'USD' });
      assert.equal(missing.statusCode, 400);
      assert.equal(missing.json().error.code, 'bank_account_missing');

      const merchant = await merchantWithBank();
      const nothing = await payOut(merchant, { currency: 'USD' });
      assert.equal(nothing.statusCode, 400);
      assert.equal(nothing.json().error.code, 'amount_too_small');
      await earn(merchant, 10, () => 300n);
      assert.equal(await available(merchant), 3_000);
      const small = await payOut(merchant, { currency: 'USD', amount: 999 });
      assert.equal(small.statusCode, 400);
      assert.equal(small.json().error.code, 'amount_too_small');
      assert.equal(small.json().error.param, 'amount');
      const tooMuch = await payOut(merchant, { currency: 'USD', amount: 3_001 });
      assert.equal(tooMuch.statusCode, 402);
      assert.equal(tooMuch.json().error.code, 'insufficient_funds');
      const currency = await payOut(merchant, { currency: 'XYZ' });
      assert.equal(currency.json().error.code, 'currency_unsupported');
      const unknown = await payOut(merchant, { currency: 'USD', amount: 1000, destination: 'elsewhere' });
      assert.equal(unknown.json().error.code, 'parameter_unknown');

      await settingsOf(merchant, { minimum_amounts: { USD: 2_500 } });
      const belowOwn = await payOut(merchant, { currency: 'USD', amount: 2_000 });
      assert.equal(belowOwn.json().error.code, 'amount_too_small');
      const part = await payOut(merchant, { currency: 'USD', amount: 2_500 });
      assert.equal(part.statusCode, 200, part.body);
      assert.equal(await available(merchant), 500);
      const again = await payOut(merchant, { currency: 'USD' });
      assert.equal(again.json().error.code, 'amount_too_small', 'the rest is below the minimum');
      assert.equal(await available(merchant), 500);
    });

    it('gives the money back when the bank rejects the transfer (AC04 closed account)', async () => {
      const merchant = await merchantWithBank(SANDBOX_BANK_ACCOUNTS.closedAccount);
      await earn(merchant, 20, () => 250n);
      const created = await payOut(merchant, { currency: 'USD', amount: 4_000 });
      assert.equal(created.statusCode, 200, created.body);
      assert.equal(await available(merchant), 1_000);
      const failed = await untilFinal(merchant, created.json().id);
      assert.equal(failed.status, 'failed');
      assert.equal(failed.failure_code, 'account_closed');
      assert.equal(failed.bank_reason_code, 'AC04');
      assert.equal(failed.failure_message, 'Closed account number');
      assert.equal(await available(merchant), 5_000, 'the voided hold is available again');
      assert.deepEqual(await eventTypesOf(failed.id), ['payout.created', 'payout.failed']);
    });

    it('fails at once when the bank refuses the account (AC01)', async () => {
      const merchant = await merchantWithBank(SANDBOX_BANK_ACCOUNTS.incorrectAccount);
      await earn(merchant, 10, () => 200n);
      const created = await payOut(merchant, { currency: 'USD' });
      assert.equal(created.statusCode, 200, created.body);
      assert.ok((await payouts().dispatch(100)) >= 1);
      const failed = await payoutOf(merchant, created.json().id);
      assert.equal(failed.status, 'failed');
      assert.equal(failed.failure_code, 'invalid_account_number');
      assert.equal(await available(merchant), 2_000);
    });

    it('survives a bank answer that came too late: the retry lands on the same transfer', async () => {
      const merchant = await merchantWithBank(SANDBOX_BANK_ACCOUNTS.timesOutOnce);
      await earn(merchant, 10, () => 200n);
      const created = await payOut(merchant, { currency: 'USD' });
      const id = created.json().id;
      const paid = await untilFinal(merchant, id);
      assert.equal(paid.status, 'paid');
      assert.equal(sandbox.submissionsOf(id), 2, 'one timed out, one retried with the same end-to-end id');
      assert.equal(await available(merchant), 0);
    });

    it('replays an idempotent request and creates one payout', async () => {
      const merchant = await merchantWithBank();
      await earn(merchant, 10, () => 500n);
      const headers = { 'idempotency-key': `payout-${newId('po')}` };
      const first = await payOut(merchant, { currency: 'USD', amount: 2_000 }, headers);
      const replay = await payOut(merchant, { currency: 'USD', amount: 2_000 }, headers);
      assert.equal(first.statusCode, 200, first.body);
      assert.equal(replay.statusCode, 200);
      assert.equal(replay.headers['idempotent-replayed'], 'true');
      assert.equal(replay.json().id, first.json().id);
      assert.equal(await available(merchant), 3_000, 'held once');
      const reused = await payOut(merchant, { currency: 'USD', amount: 1_000 }, headers);
      assert.equal(reused.json().error.code, 'idempotency_key_reused');
      // Two requests with one key at the same moment still make one payout.
      const racing = { 'idempotency-key': `payout-${newId('po')}` };
      const both = await Promise.all([payOut(merchant, { currency: 'USD', amount: 1_000 }, racing), payOut(merchant, { currency: 'USD', amount: 1_000 }, racing)]);
      const ids = new Set(both.filter((response) => response.statusCode === 200).map((response) => response.json().id));
      assert.equal(ids.size, 1, both.map((response) => response.body).join('\n'));
      assert.equal(await available(merchant), 2_000);
      const list = await api.call('GET', '/v1/payouts', { key: merchant.secretKey });
      assert.equal(list.json().data.length, 2);
    });

    it("answers 404 for another merchant's payout, and keeps test and live apart", async () => {
      const owner = await merchantWithBank();
      await earn(owner, 5, () => 400n);
      const payout = (await payOut(owner, { currency: 'USD' })).json();
      const other = await api.createMerchant();
      const foreign = await api.call('GET', `/v1/payouts/${payout.id}`, { key: other.secretKey });
      assert.equal(foreign.statusCode, 404);
      assert.equal(foreign.json().error.code, 'resource_missing');
      const otherList = await api.call('GET', '/v1/payouts', { key: other.secretKey });
      assert.deepEqual(otherList.json().data, []);
      const live = await api.call('GET', `/v1/payouts/${payout.id}`, { key: owner.liveSecretKey });
      assert.equal(live.statusCode, 404);
      const mine = await api.call('GET', `/v1/payouts?status=pending&currency=USD&limit=1`, { key: owner.readKey });
      assert.deepEqual(mine.json().data.map((item: { id: string }) => item.id), [payout.id]);
      const publishable = await api.call('POST', '/v1/payouts', { key: owner.publishableKey, body: { currency: 'USD' } });
      assert.equal(publishable.json().error.code, 'secret_key_required');
      const readOnly = await api.call('POST', '/v1/payouts', { key: owner.readKey, body: { currency: 'USD' } });
      assert.equal(readOnly.json().error.code, 'api_key_scope_insufficient');
    });

    it('pays each due merchant once per period, even with two schedulers at once', async () => {
      const daily = await Promise.all([1, 2, 3, 4, 5, 6].map(() => merchantWithBank(SANDBOX_BANK_ACCOUNTS.settles, { schedule: 'daily' })));
      // A weekly merchant whose weekday is the next run's: due with the daily ones, then a week later.
      const weekday = WEEKDAYS[nextRunAfter('daily', 1, new Date())!.getUTCDay()]!;
      const weekly = await merchantWithBank(SANDBOX_BANK_ACCOUNTS.settles, { schedule: 'weekly', weeklyAnchor: weekday });
      const manual = await merchantWithBank();
      const poor = await merchantWithBank(SANDBOX_BANK_ACCOUNTS.settles, { schedule: 'daily' });
      for (const merchant of [...daily, weekly, manual]) await earn(merchant, 5, () => 600n);
      await earn(poor, 1, () => 900n);
      const settings = (await api.call('GET', '/v1/payout_settings', { key: daily[0]!.secretKey })).json();
      const runAt = new Date(settings.next_run * 1000);
      const period = periodOf(runAt);

      // PostgreSQL: a second runtime on the same database (another process would do the same).
      // PGlite has one connection per data folder, so there the two schedulers share a runtime.
      const second: Runtime | null =
        kind === 'postgres'
          ? // The same configuration (data folder, so vault key; no default risk rules: a second process
            // that seeded them would put later payouts of this file in review once the first reloads its rules).
            await openRuntime(api.runtime.config, { logger: createLogger('silent'), workers: false })
          : null;
      try {
        const schedulers = [api.runtime, second ?? api.runtime];
        const passes = async (runtime: Runtime) => {
          let created = 0;
          for (let pass = 0; pass < 6; pass += 1) created += await runtime.services.payouts.runSchedule({ asOf: runAt, merchantsMax: 2 });
          return created;
        };
        const counts = await Promise.all(schedulers.map(passes));
        assert.equal(counts[0]! + counts[1]!, daily.length + 1, `created ${counts.join(' + ')}`);
      } finally {
        await second?.close();
      }

      for (const merchant of [...daily, weekly]) {
        const list = (await api.call('GET', '/v1/payouts', { key: merchant.secretKey })).json().data;
        assert.equal(list.length, 1);
        assert.equal(list[0].automatic, true);
        assert.equal(list[0].period, period);
        assert.equal(list[0].amount, 3_000);
        assert.equal(await available(merchant), 0);
      }
      const weeklyNext = (await api.call('GET', '/v1/payout_settings', { key: weekly.secretKey })).json().next_run;
      assert.equal(weeklyNext, settings.next_run + 7 * DAY_SECONDS);
      assert.equal((await api.call('GET', '/v1/payouts', { key: manual.secretKey })).json().data.length, 0);
      assert.equal((await api.call('GET', '/v1/payouts', { key: poor.secretKey })).json().data.length, 0, 'below the minimum: nothing is paid');

      // The next run is a day later; running the same run again (a claim that lapsed) pays nothing more.
      const moved = (await api.call('GET', '/v1/payout_settings', { key: daily[0]!.secretKey })).json();
      assert.equal(moved.next_run, settings.next_run + DAY_SECONDS);
      await api.runtime.db.query(`UPDATE payout_settings SET next_run_at = $1 WHERE merchant_id = $2`, [runAt.toISOString(), daily[0]!.id]);
      await earn(daily[0]!, 5, () => 600n);
      assert.equal(await payouts().runSchedule({ asOf: runAt }), 0);
      assert.equal((await api.call('GET', '/v1/payouts', { key: daily[0]!.secretKey })).json().data.length, 1);
      // The following day's run pays what came in since.
      assert.equal(await payouts().runSchedule({ asOf: new Date(runAt.getTime() + DAY_SECONDS * 1000) }), 1);
      const latest = (await api.call('GET', '/v1/payouts?limit=1', { key: daily[0]!.secretKey })).json().data[0];
      assert.equal(latest.period, periodOf(new Date(runAt.getTime() + DAY_SECONDS * 1000)));
      assert.equal(latest.amount, 3_000);
      for (const merchant of daily) {
        const [payout] = (await api.call('GET', '/v1/payouts?limit=1', { key: merchant.secretKey })).json().data;
        assert.equal((await untilFinal(merchant, payout.id)).status, 'paid');
      }
    });

    /** Settles whatever the tests left in flight, so every hold is resolved one way or the other. */
    async function settleOpenPayouts() {
      const deadline = Date.now() + FINAL_WITHIN_MS;
      while (Date.now() < deadline) {
        await payouts().dispatch(100);
        const { rows } = await api.runtime.db.query<{ open: bigint }>(`SELECT count(*)::int8 AS open FROM payouts WHERE status IN ('pending', 'in_transit')`);
        if (rows[0]!.open === 0n) return;
        await sleep(SETTLEMENT_DELAY_MS);
        await skipBackoff();
      }
    }

    /** The runtime's field sealer, as another process on the same store and configuration opens it. */
    async function sealerOf(): Promise<FieldSealer> {
      return createFieldSealer(await openVaultKeyring(api.runtime.config, api.runtime.db, createLogger('silent')));
    }

    /**
     * Bank rails to the test's sandbox bank, seen from one dispatcher: every submission goes through
     * `before` (a slow bank: a delay, or a gate the test opens) and is recorded in `sent`, with the request
     * itself, once the dispatcher has decided to send it.
     */
    function railsTo(sent: CreditTransferRequest[], before: () => Promise<void>): BankRails {
      const connector = createBankConnector({ baseUrl: sandbox.url, timeoutMs: 5_000, retriesMax: 0 });
      const rail: BankRail = {
        async submit(request) {
          sent.push(request);
          await before();
          return connector.submit(request);
        },
        status: (reference) => connector.status(reference),
      };
      // The slow bank answers within this (the gate and the delays of these tests are far shorter).
      return { requestBudgetMs: 10_000, available: () => true, forMode: async () => rail, close: async () => {} };
    }

    async function dispatcherWith(rails: BankRails, leaseSeconds: number): Promise<PayoutDispatcher> {
      const { runtime } = api;
      return createPayoutDispatcher({
        db: runtime.db,
        ledger: runtime.ledger,
        books: runtime.services.books,
        sealer: await sealerOf(),
        rails,
        pollIntervalMs: 0,
        leaseSeconds,
        logger: log.logger,
      });
    }

    async function until(condition: () => boolean | Promise<boolean>, what: string, withinMs = 10_000) {
      const deadline = Date.now() + withinMs;
      while (!(await condition())) {
        if (Date.now() > deadline) assert.fail(`timed out waiting until ${what}`);
        await sleep(5);
      }
    }

    /** `count` pending payouts of 1,000 of a new merchant, and nothing else open on the store. */
    async function pendingPayouts(count: number): Promise<{ merchant: TestMerchant; ids: string[] }> {
      await settleOpenPayouts();
      const merchant = await merchantWithBank();
      await earn(merchant, count + 1, () => 1_000n);
      const ids: string[] = [];
      for (let index = 0; index < count; index += 1) {
        const created = await payOut(merchant, { currency: 'USD', amount: 1_000 });
        assert.equal(created.statusCode, 200, created.body);
        ids.push(created.json().id);
      }
      return { merchant, ids };
    }

    const submittedIds = (sent: CreditTransferRequest[]) => sent.map((request) => request.endToEndId);
    const sameContent = (request: CreditTransferRequest) => JSON.stringify({ ...request, amount: request.amount.toString() });

    it('sends a payout whose claim ran out before its turn only from the dispatcher that claimed it next', async () => {
      // Dispatcher A claims one payout more than it sends at once, with a one-second lease, and the bank
      // holds A's first requests until the test lets them go: the last payout's turn comes after its
      // lease ran out and dispatcher B claimed it.
      const { merchant, ids } = await pendingPayouts(CONCURRENCY_MAX + 1);
      let openA = () => {};
      const gateA = new Promise<void>((resolve) => (openA = resolve));
      let openB = () => {};
      const gateB = new Promise<void>((resolve) => (openB = resolve));
      const sentByA: CreditTransferRequest[] = [];
      const sentByB: CreditTransferRequest[] = [];
      const dispatcherA = await dispatcherWith(railsTo(sentByA, () => gateA), 1);
      const dispatcherB = await dispatcherWith(railsTo(sentByB, () => gateB), 60);
      let runA: Promise<number> | null = null;
      let runB: Promise<number> | null = null;
      try {
        runA = dispatcherA.dispatch(100);
        await until(() => sentByA.length === CONCURRENCY_MAX, "A's first requests reach the bank");
        const [last, ...others] = ids.filter((id) => !submittedIds(sentByA).includes(id));
        assert.deepEqual(others, [], 'A sends all but one at once');
        await until(async () => {
          const { rows } = await api.runtime.db.query<{ lapsed: boolean }>(`SELECT locked_until < now() AS lapsed FROM payouts WHERE id = $1`, [last]);
          return rows[0]!.lapsed;
        }, "the last payout's claim runs out");

        runB = dispatcherB.dispatch(100);
        await until(() => sentByB.length > 0, "B's request reaches the bank");
        await sleep(50);
        assert.deepEqual(submittedIds(sentByB), [last], "B claims only the payout whose claim ran out: A's turns renewed A's leases");

        openA();
        await runA;
        assert.deepEqual(submittedIds(sentByA).sort(), ids.filter((id) => id !== last).sort(), 'A does not send the payout it lost');
        const { rows } = await api.runtime.db.query<{ status: string; held: boolean; submit_attempts: number }>(
          `SELECT status, lease_token IS NOT NULL AND locked_until > now() AS held, submit_attempts FROM payouts WHERE id = $1`,
          [last],
        );
        assert.deepEqual(rows[0], { status: 'pending', held: true, submit_attempts: 1 }, "A left B's claim alone, and counted no attempt of its own");

        openB();
        assert.equal(await runB, 1);
      } finally {
        openA();
        openB();
        await Promise.allSettled([runA, runB]);
      }
      for (const id of ids) {
        assert.equal((await untilFinal(merchant, id)).status, 'paid');
        assert.equal(sandbox.submissionsOf(id), 1, `${id} reached the bank once`);
      }
      assert.equal(await available(merchant), 1_000);
    });

    it('submits each payout once while two dispatchers with a one-second lease share a slow bank', async () => {
      // Without a renewed lease, the payouts of a pass's later turns (a slow bank: 300 ms a request,
      // eight at a time) lose their claim before they are sent, and the other dispatcher sends them too.
      const { merchant, ids } = await pendingPayouts(5 * CONCURRENCY_MAX);
      const sent: CreditTransferRequest[][] = [[], []];
      const dispatchers = await Promise.all(sent.map((requests) => dispatcherWith(railsTo(requests, async () => void (await sleep(300))), 1)));
      const open = async () => {
        const { rows } = await api.runtime.db.query<{ open: number }>(`SELECT count(*)::int AS open FROM payouts WHERE id = ANY($1::text[]) AND status IN ('pending', 'in_transit')`, [ids]);
        return rows[0]!.open;
      };
      const deadline = Date.now() + FINAL_WITHIN_MS;
      await Promise.all(
        dispatchers.map(async (dispatcher) => {
          while ((await open()) > 0 && Date.now() < deadline) {
            await dispatcher.dispatch(100);
            await sleep(20);
          }
        }),
      );
      assert.equal(await open(), 0, `payouts left open; recent log:\n${log.recent()}`);
      const requests = sent.flat();
      for (const id of ids) {
        assert.equal(sandbox.submissionsOf(id), 1, `${id} reached the bank ${sandbox.submissionsOf(id)} times`);
        const ofPayout = requests.filter((request) => request.endToEndId === id);
        assert.equal(ofPayout.length, 1);
        assert.equal((await payoutOf(merchant, id)).status, 'paid');
      }
      assert.equal(requests.length, ids.length, 'no request for another payout');
      assert.ok(sent.every((requests) => requests.length > 0), `both dispatchers sent: ${sent.map((requests) => requests.length).join(' + ')}`);
      assert.equal(await available(merchant), 1_000);
    });

    it('sends every submission of a payout with its id as the end-to-end id and the same content', async () => {
      // The bank's idempotency key is the payout id (endToEndIdentification): a payout submitted again
      // (its first answer lost) is the same transfer at the bank, not a second one.
      await settleOpenPayouts();
      const merchant = await merchantWithBank(SANDBOX_BANK_ACCOUNTS.timesOutOnce);
      await earn(merchant, 10, () => 200n);
      const id = (await payOut(merchant, { currency: 'USD' })).json().id;
      const sent: CreditTransferRequest[] = [];
      const rails = railsTo(sent, async () => {});
      // A connector that stops waiting before the sandbox's late first answer, and does not retry by
      // itself: the dispatcher's next pass submits again.
      const impatient = createBankConnector({ baseUrl: sandbox.url, timeoutMs: BANK_TIMEOUT_MS, retriesMax: 0 });
      const dispatcher = await dispatcherWith(
        { ...rails, forMode: async () => ({ submit: (request) => (sent.push(request), impatient.submit(request)), status: (reference) => impatient.status(reference) }) },
        60,
      );
      const deadline = Date.now() + FINAL_WITHIN_MS;
      while ((await payoutOf(merchant, id)).status !== 'paid' && Date.now() < deadline) {
        await dispatcher.dispatch(100);
        await skipBackoff(id);
        await sleep(SETTLEMENT_DELAY_MS / 2);
      }
      assert.equal((await payoutOf(merchant, id)).status, 'paid');
      assert.equal(sent.length, 2, 'the lost answer made the dispatcher submit again');
      assert.deepEqual(submittedIds(sent), [id, id]);
      assert.equal(sameContent(sent[1]!), sameContent(sent[0]!));
      assert.equal(sandbox.submissionsOf(id), 2);
      const { rows } = await api.runtime.db.query<{ submit_attempts: number }>(`SELECT submit_attempts FROM payouts WHERE id = $1`, [id]);
      assert.equal(rows[0]!.submit_attempts, 2);
    });

    it('refuses every write of a claim whose payout another claim took over', async () => {
      const { ids } = await pendingPayouts(1);
      const [id] = ids;
      const { db } = api.runtime;
      const sealer = await sealerOf();
      const old = randomUUID();
      const [claimed] = (await claimDuePayouts(db, sealer, old, 0.05, 100)).filter((payout) => payout.id === id);
      assert.ok(claimed, 'the first claim holds the payout');
      await until(async () => {
        const { rows } = await db.query<{ lapsed: boolean }>(`SELECT locked_until < now() AS lapsed FROM payouts WHERE id = $1`, [id]);
        return rows[0]!.lapsed;
      }, 'the first claim runs out');
      // A lapsed claim nobody took over is still the claim's own.
      assert.equal(await renewPayoutLease(db, claimed, old, 0.05), 1);
      await until(async () => {
        const { rows } = await db.query<{ lapsed: boolean }>(`SELECT locked_until < now() AS lapsed FROM payouts WHERE id = $1`, [id]);
        return rows[0]!.lapsed;
      }, 'the renewed claim runs out');
      const current = randomUUID();
      const [taken] = (await claimDuePayouts(db, sealer, current, 60, 100)).filter((payout) => payout.id === id);
      assert.ok(taken, 'a second claim takes it over');

      assert.equal(await renewPayoutLease(db, claimed, old, 60), null, 'the old claim cannot renew, so it sends nothing');
      assert.equal(await updatePayoutState(db, { ...claimed, status: 'in_transit', bankReference: 'bnk_old' }, old), false);
      assert.equal(await releasePayout(db, claimed, old, new Date()), false);
      const { rows } = await db.query<{ status: string; lease_token: string; held: boolean; submit_attempts: number; version: number }>(
        `SELECT status, lease_token, locked_until > now() AS held, submit_attempts, version FROM payouts WHERE id = $1`,
        [id],
      );
      assert.deepEqual(rows[0], { status: 'pending', lease_token: current, held: true, submit_attempts: 1, version: claimed.version });

      assert.equal(await renewPayoutLease(db, taken, current, 60), 2, 'the new claim renews, and counts its submission');
      assert.equal(await releasePayout(db, taken, current, new Date()), true);
      const released = await db.query<{ lease_token: string | null; locked_until: Date | null }>(`SELECT lease_token, locked_until FROM payouts WHERE id = $1`, [id]);
      assert.deepEqual(released.rows[0], { lease_token: null, locked_until: null });
    });

    it('ends with a ledger that verifies without drift', async () => {
      await settleOpenPayouts();
      const report = await api.runtime.ledger.verify();
      assert.deepEqual(report.drift, []);
      assert.deepEqual(report.assetImbalance, []);
      assert.deepEqual(report.limitViolations, []);
      assert.equal(report.ok, true);
      const clearing = await ledgerBalance('payout_clearing');
      assert.deepEqual([clearing.posted, clearing.pending], [0n, 0n], 'nothing is left in transit');
    });
  });

  describe(`payouts with an unreachable bank, or refused by risk, on ${kind}`, () => {
    let api: TestApi;
    let blockedMerchantId = '';
    /** When set, decides payouts instead of `blockedMerchantId` (a test's own sequence of decisions). */
    let decidePayout: (() => Promise<'allow' | 'block'>) | null = null;
    const risk: RiskHook = {
      async score(context) {
        const decision =
          context.action === 'payout' && decidePayout ? await decidePayout() : context.action === 'payout' && context.merchantId === blockedMerchantId ? 'block' : 'allow';
        return { id: newId('rsk'), decision, score: 0.9, reasons: [{ code: 'test_rule', message: 'Rule rul_test (version 1) matched: block if :action: = \'payout\'' }], context };
      },
    };
    before(async () => {
      // Port 9 (discard) refuses connections on loopback: the bank never answers.
      api = await startTestApi(kind, { risk, env: { BANK_SANDBOX_URL: 'http://127.0.0.1:9', BANK_RAIL_TIMEOUT_MS: String(BANK_TIMEOUT_MS), BANK_RAIL_RETRIES_MAX: '1' } });
    });
    after(() => api.close());

    async function earningMerchant(): Promise<TestMerchant> {
      const merchant = await api.createMerchant();
      const settings = await api.call('POST', '/v1/payout_settings', { key: merchant.secretKey, body: { bank_account: { account_number: SANDBOX_BANK_ACCOUNTS.settles, account_holder_name: 'Quiet Games' } } });
      assert.equal(settings.statusCode, 200, settings.body);
      const customer = (await api.call('POST', '/v1/customers', { key: merchant.secretKey, body: {} })).json().id;
      await api.fundWallet(merchant, customer, 5_000n, 'USD');
      const paid = await api.call('POST', '/v1/payments', { key: merchant.secretKey, body: { customer, amount: 2_000, currency: 'USD', confirm: true } });
      assert.equal(paid.json().status, 'succeeded', paid.body);
      return merchant;
    }

    const availableOf = async (merchant: TestMerchant) => (await api.call('GET', '/v1/balance', { key: merchant.secretKey })).json().balances[0].available;

    it('keeps the hold while the bank does not answer, and stops after a bounded number of attempts', async () => {
      const merchant = await earningMerchant();
      const created = await api.call('POST', '/v1/payouts', { key: merchant.secretKey, body: { currency: 'USD' } });
      assert.equal(created.statusCode, 200, created.body);
      const id = created.json().id;
      assert.equal(await api.runtime.services.payouts.dispatch(100), 0);
      const { rows } = await api.runtime.db.query<{ status: string; submit_attempts: number; next_attempt_at: Date | null }>(
        `SELECT status, submit_attempts, next_attempt_at FROM payouts WHERE id = $1`,
        [id],
      );
      assert.equal(rows[0]!.status, 'pending', 'no answer is not a rejection: the bank may have the transfer');
      assert.equal(rows[0]!.submit_attempts, 1);
      assert.ok(rows[0]!.next_attempt_at! > new Date(), 'tried again later, with backoff');
      assert.equal(await availableOf(merchant), 0, 'the money stays held');
      // The last allowed attempt also fails: the payout is left for an operator, still held.
      await api.runtime.db.query(`UPDATE payouts SET submit_attempts = $2, next_attempt_at = now() WHERE id = $1`, [id, SUBMIT_ATTEMPTS_MAX - 1]);
      assert.equal(await api.runtime.services.payouts.dispatch(100), 0);
      const last = await api.runtime.db.query<{ status: string; next_attempt_at: Date | null }>(`SELECT status, next_attempt_at FROM payouts WHERE id = $1`, [id]);
      assert.deepEqual(last.rows[0], { status: 'pending', next_attempt_at: null });
      assert.equal(await availableOf(merchant), 0);
      assert.equal((await api.runtime.ledger.verify()).ok, true);
    });

    it('records a blocked payout as failed and leaves the balance alone', async () => {
      const merchant = await earningMerchant();
      blockedMerchantId = merchant.id;
      const refused = await api.call('POST', '/v1/payouts', { key: merchant.secretKey, body: { currency: 'USD' } });
      assert.equal(refused.statusCode, 402);
      assert.equal(refused.json().error.code, 'payout_blocked');
      const [payout] = (await api.call('GET', '/v1/payouts', { key: merchant.secretKey })).json().data;
      assert.equal(payout.status, 'failed');
      assert.equal(payout.failure_code, 'payout_blocked');
      // The decision's reasons are the operator's: the merchant reads a plain message, not the rule.
      assert.equal(payout.failure_message, 'Refused by risk controls. Contact support if you think this is a mistake.');
      assert.doesNotMatch(refused.body, /rul_test|:action:/);
      assert.match(payout.risk_decision, /^rsk_/);
      const { rows } = await api.runtime.db.query<{ action: string; decision: string }>(`SELECT action, decision FROM risk_decisions WHERE subject_id = $1`, [payout.id]);
      assert.deepEqual(rows, [{ action: 'payout', decision: 'block' }]);
      const events = await api.runtime.db.query<{ type: string }>(`SELECT type FROM events WHERE data->'object'->>'id' = $1 ORDER BY type`, [payout.id]);
      assert.deepEqual(events.rows.map((row) => row.type), ['payout.created', 'payout.failed']);
      assert.equal(await availableOf(merchant), 2_000);
      assert.equal((await api.runtime.ledger.verify()).ok, true);
    });

    const payOut = (merchant: TestMerchant, body: Record<string, unknown>, headers?: Record<string, string>) =>
      api.call('POST', '/v1/payouts', { key: merchant.secretKey, body, headers });

    /** The first run of a keyed request committed, but its answer reached neither the caller nor the
     * idempotency record (the process stopped in between): the record is left running, its lease run out. */
    async function abandon(idempotencyKey: string) {
      const { rowCount } = await api.runtime.db.query(
        `UPDATE idempotency_keys SET state = 'running', response_status = NULL, response_body = NULL, locked_until = now() - interval '1 second' WHERE key = $1`,
        [idempotencyKey],
      );
      assert.equal(rowCount, 1);
    }

    const payoutService = () => api.runtime.services.payouts;

    const merchantBalance = (merchant: TestMerchant) => {
      const { books } = api.runtime.services;
      return books.balance(books.account('merchant', merchant.id, false, 'USD'));
    };

    async function eventTypesOf(id: string): Promise<string[]> {
      const { rows } = await api.runtime.db.query<{ type: string }>(`SELECT type FROM events WHERE data->'object'->>'id' = $1 ORDER BY type`, [id]);
      return rows.map((row) => row.type);
    }

    async function riskDecisionsOf(id: string): Promise<string[]> {
      const { rows } = await api.runtime.db.query<{ decision: string }>(`SELECT decision FROM risk_decisions WHERE subject_id = $1`, [id]);
      return rows.map((row) => row.decision);
    }

    async function assertLedgerClean() {
      const report = await api.runtime.ledger.verify();
      assert.deepEqual(report.drift, []);
      assert.deepEqual(report.assetImbalance, []);
      assert.equal(report.ok, true);
    }

    it('answers a resumed request with the payout its first run created, though risk now blocks payouts', async () => {
      const merchant = await earningMerchant();
      const headers = { 'idempotency-key': `payout-crash-${newId('po')}` };
      // Half the balance, so that the rerun still finds enough and is decided by risk alone.
      const first = await payOut(merchant, { currency: 'USD', amount: 1_000 }, headers);
      assert.equal(first.statusCode, 200, first.body);
      const held = await merchantBalance(merchant);
      assert.deepEqual([held.pending, held.available], [-1_000n, 1_000n], 'the first run held its amount');
      await abandon(headers['idempotency-key']);
      blockedMerchantId = merchant.id;
      try {
        const retried = await payOut(merchant, { currency: 'USD', amount: 1_000 }, headers);
        assert.equal(retried.statusCode, 200, retried.body);
        assert.equal(retried.json().id, first.json().id);
        assert.equal(retried.json().status, 'pending');
      } finally {
        blockedMerchantId = '';
      }
      const [payout, ...others] = (await api.call('GET', '/v1/payouts', { key: merchant.secretKey })).json().data;
      assert.deepEqual(others, []);
      assert.equal(payout.status, 'pending', 'the payout the dispatcher sends is the one answered');
      assert.deepEqual(await eventTypesOf(payout.id), ['payout.created'], 'no payout.failed for a payout that is paid out');
      assert.deepEqual(await riskDecisionsOf(payout.id), ['allow'], 'risk is not asked again');
      assert.deepEqual(await merchantBalance(merchant), held, "exactly one payout's amount is held");
      await assertLedgerClean();
    });

    it('answers a resumed request with the payout its first run created, though the balance is now short', async () => {
      const merchant = await earningMerchant();
      const headers = { 'idempotency-key': `payout-crash-${newId('po')}` };
      const first = await payOut(merchant, { currency: 'USD', amount: 1_000 }, headers);
      assert.equal(first.statusCode, 200, first.body);
      await abandon(headers['idempotency-key']);
      // The rest of the balance leaves in another payout meanwhile.
      const other = await payOut(merchant, { currency: 'USD', amount: 1_000 });
      assert.equal(other.statusCode, 200, other.body);
      assert.equal(await availableOf(merchant), 0);
      const retried = await payOut(merchant, { currency: 'USD', amount: 1_000 }, headers);
      assert.equal(retried.statusCode, 200, retried.body);
      assert.equal(retried.json().id, first.json().id);
      assert.equal(retried.json().status, 'pending');
      assert.equal((await api.call('GET', '/v1/payouts', { key: merchant.secretKey })).json().data.length, 2);
      assert.deepEqual(await eventTypesOf(first.json().id), ['payout.created']);
      assert.equal((await merchantBalance(merchant)).pending, -2_000n, 'each of the two payouts held once');
      assert.equal((await api.runtime.ledger.getTransfer(ledgerId(`${first.json().id}:hold`)))?.amount, 1_000n, 'one hold, of the first amount');
      await assertLedgerClean();
    });

    it('answers a resumed request refused by risk with the refusal again, and holds nothing, though risk now allows it', async () => {
      const merchant = await earningMerchant();
      const headers = { 'idempotency-key': `payout-crash-${newId('po')}` };
      blockedMerchantId = merchant.id;
      let refused;
      try {
        refused = await payOut(merchant, { currency: 'USD' }, headers);
      } finally {
        blockedMerchantId = '';
      }
      assert.equal(refused.statusCode, 402, refused.body);
      await abandon(headers['idempotency-key']);
      const retried = await payOut(merchant, { currency: 'USD' }, headers);
      assert.equal(retried.statusCode, 402, retried.body);
      assert.equal(retried.json().error.code, 'payout_blocked');
      assert.equal(retried.json().error.message, refused.json().error.message);
      const [payout, ...others] = (await api.call('GET', '/v1/payouts', { key: merchant.secretKey })).json().data;
      assert.deepEqual(others, []);
      assert.equal(payout.status, 'failed');
      assert.deepEqual(await eventTypesOf(payout.id), ['payout.created', 'payout.failed']);
      assert.deepEqual(await riskDecisionsOf(payout.id), ['block']);
      const balance = await merchantBalance(merchant);
      assert.deepEqual([balance.pending, balance.available], [0n, 2_000n], 'no hold sits in payout_clearing without a payout');
      await assertLedgerClean();
    });

    it('commits no hold without its payout row: the insert of a payout that exists fails the whole unit', async () => {
      const merchant = await earningMerchant();
      blockedMerchantId = merchant.id;
      try {
        assert.equal((await payOut(merchant, { currency: 'USD' })).statusCode, 402);
      } finally {
        blockedMerchantId = '';
      }
      const { services } = api.runtime;
      const [listed] = (await services.payouts.list({ merchantId: merchant.id, livemode: false }, { limit: 1 })).data;
      // The same payout decided again as allowed: its hold and its row, in one unit.
      const allowed = { ...listed!, status: 'pending' as const, failureCode: null, failureMessage: null, nextAttemptAt: new Date() };
      const sealer = { seal: (plaintext: string) => plaintext } as unknown as FieldSealer;
      const hold = holdTransfer(services.books, allowed);
      await assert.rejects(
        api.runtime.ledger.commit({ transfers: [hold], finish: () => ({ value: null, writes: [payoutInsertWrite(sealer, allowed)] }) }),
        (error: unknown) => error instanceof PayoutExistsError && (error as PayoutExistsError).code === 'concurrent_modification',
      );
      assert.equal(await api.runtime.ledger.getTransfer(hold.id), null, 'the hold was rolled back with the unit');
      assert.equal((await merchantBalance(merchant)).available, 2_000n);
      await assertLedgerClean();
    });

    it('lets one of two runs deciding one payout differently at the same moment commit, and answers both with it', async () => {
      const merchant = await earningMerchant();
      const scope = { merchantId: merchant.id, livemode: false };
      const seed = `race-${newId('po')}`;
      // The first run asked is allowed but waits; the second is blocked at once and commits first.
      let release = () => {};
      const gate = new Promise<void>((resolve) => {
        release = resolve;
      });
      let asked = 0;
      decidePayout = async () => {
        asked += 1;
        if (asked > 1) return 'block';
        await gate;
        return 'allow';
      };
      let results;
      try {
        const runs = [payoutService().create(scope, { currency: 'USD' }, seed), payoutService().create(scope, { currency: 'USD' }, seed)];
        await Promise.race(runs);
        release();
        results = await Promise.all(runs);
      } finally {
        decidePayout = null;
        release();
      }
      assert.equal(asked, 2);
      for (const result of results) {
        assert.equal(result.ok, false, inspect(result));
        assert.equal(!result.ok && result.code, 'payout_blocked');
      }
      const [payout, ...others] = (await api.call('GET', '/v1/payouts', { key: merchant.secretKey })).json().data;
      assert.deepEqual(others, []);
      assert.equal(payout.status, 'failed');
      assert.deepEqual(await eventTypesOf(payout.id), ['payout.created', 'payout.failed']);
      const balance = await merchantBalance(merchant);
      assert.deepEqual([balance.pending, balance.available], [0n, 2_000n], 'the allowed run held nothing');
      await assertLedgerClean();
    });
  });
}
