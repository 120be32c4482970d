// A running API on a fresh store for HTTP tests: an operator key, merchants with keys, customers with
// funded wallets, and a small client over app.inject().
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { loadConfig } from '../../src/config/config.ts';
import { createLogger } from '../../src/log/logger.ts';
import { buildApp } from '../../src/server/app.ts';
import { openRuntime, type Runtime, type RuntimeOptions } from '../../src/server/runtime.ts';
import { TRANSFER_CODES } from '../../src/books/service.ts';
import { ledgerId, newId } from '../../src/api/ids.ts';
import type { StoreKind } from '../../src/store/database.ts';
import { createTestStore, type TestStore } from './stores.ts';

export interface TestApi {
  kind: StoreKind;
  app: FastifyInstance;
  runtime: Runtime;
  store: TestStore;
  /** The platform operator's live key. */
  operatorKey: string;
  /** The platform operator's test-mode key: it acts on test objects (a dispute of test payments, ...). */
  testOperatorKey: string;
  /** Sends a request with `key` as the bearer; `body` as JSON. */
  call(method: 'GET' | 'POST', url: string, options?: { key?: string; body?: unknown; headers?: Record<string, string> }): Promise<LightMyRequestResponse>;
  createMerchant(options?: { name?: string; feeBps?: number; feeFixed?: Record<string, number> }): Promise<TestMerchant>;
  /** Credits the customer's wallet through the ledger, as a settled top-up would. */
  fundWallet(merchant: TestMerchant, customerId: string, amount: bigint, currency: string): Promise<void>;
  close(): Promise<void>;
}

export interface TestMerchant {
  id: string;
  secretKey: string;
  publishableKey: string;
  readKey: string;
  liveSecretKey: string;
}

export async function startTestApi(kind: StoreKind, options: RuntimeOptions & { env?: Record<string, string> } = {}): Promise<TestApi> {
  const store = await createTestStore(kind, { open: false });
  const config = loadConfig({
    MICROPAY_DATA_DIR: store.location.dataDir ?? '/tmp/unused',
    DATABASE_URL: store.location.databaseUrl,
    // Tests of other features start without the default risk rules (risk tests add the rules they test).
    RISK_DEFAULT_RULES: 'none',
    ...options.env,
  });
  const runtime = await openRuntime(config, { logger: createLogger('silent'), workers: false, ...options });
  const app = await buildApp(runtime);
  const operator = await runtime.services.auth.createKey({ merchantId: null, kind: 'operator', livemode: true });
  const testOperator = await runtime.services.auth.createKey({ merchantId: null, kind: 'operator', livemode: false });

  const call: TestApi['call'] = (method, url, callOptions = {}) =>
    app.inject({
      method,
      url,
      headers: {
        ...(callOptions.key ? { authorization: `Bearer ${callOptions.key}` } : {}),
        ...callOptions.headers,
      },
      ...(callOptions.body === undefined ? {} : { payload: callOptions.body as object }),
    });

  async function key(merchantId: string, body: Record<string, unknown>): Promise<string> {
    const response = await call('POST', `/v1/merchants/${merchantId}/api_keys`, { key: operator.secret, body });
    if (response.statusCode !== 200) throw new Error(`key creation failed: ${response.body}`);
    return response.json().secret;
  }

  return {
    kind,
    app,
    runtime,
    store,
    operatorKey: operator.secret,
    testOperatorKey: testOperator.secret,
    call,
    async createMerchant(merchantOptions = {}) {
      const response = await call('POST', '/v1/merchants', {
        key: operator.secret,
        body: {
          name: merchantOptions.name ?? 'Test merchant',
          fee_bps: merchantOptions.feeBps ?? 0,
          fee_fixed: merchantOptions.feeFixed ?? {},
        },
      });
      if (response.statusCode !== 200) throw new Error(`merchant creation failed: ${response.body}`);
      const id = response.json().id as string;
      return {
        id,
        secretKey: await key(id, { type: 'secret' }),
        publishableKey: await key(id, { type: 'publishable' }),
        readKey: await key(id, { type: 'secret', scope: 'read' }),
        liveSecretKey: await key(id, { type: 'secret', livemode: true }),
      };
    },
    async fundWallet(merchant, customerId, amount, currency) {
      const customer = await runtime.services.customers.get({ merchantId: merchant.id, livemode: false }, customerId);
      if (!customer) throw new Error(`no customer ${customerId}`);
      const { books, ledger } = { books: runtime.services.books, ledger: runtime.ledger };
      const wallet = books.account('wallet', customer.buyerId, false, currency);
      const settlement = books.account('card_settlement', 'platform', false, currency);
      await books.ensure([wallet, settlement]);
      const [result] = await ledger.createTransfers([
        { id: ledgerId(newId('top')), debitAccountId: settlement.id, creditAccountId: wallet.id, amount, code: TRANSFER_CODES.top_up },
      ]);
      if (result?.result !== 'created') throw new Error(`funding failed: ${result?.result}`);
    },
    async close() {
      await app.close();
      await runtime.close();
      await store.drop();
    },
  };
}
