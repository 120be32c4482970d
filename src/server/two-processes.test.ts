// Two server processes on one PostgreSQL serve the same merchant: every logical payment is sent to
// both with one Idempotency-Key, and each takes effect exactly once.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createTestStore, type TestStore } from '../../test/support/stores.ts';
import { loadConfig } from '../config/config.ts';
import { createLogger } from '../log/logger.ts';
import { openRuntime } from './runtime.ts';
import { TRANSFER_CODES } from '../books/service.ts';
import { ledgerId } from '../api/ids.ts';

const BIN = fileURLToPath(new URL('../../bin/micropay.js', import.meta.url));
const CUSTOMERS = 12;
const PAYMENTS_PER_CUSTOMER = 8;

interface Server {
  url: string;
  child: ChildProcess;
  /** The process's log lines (the last ones), to show what it logged about a failed request. */
  lines: string[];
}

const LOG_LINES_KEPT = 5_000;

async function startServer(databaseUrl: string, dataDir: string): Promise<Server> {
  const child = spawn(process.execPath, [BIN, 'start'], {
    env: { ...process.env, DATABASE_URL: databaseUrl, MICROPAY_DATA_DIR: dataDir, PORT: '0', LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  let partial = '';
  const keep = (chunk: Buffer) => {
    const parts = (partial + chunk.toString()).split('\n');
    partial = parts.pop()!;
    lines.push(...parts);
    if (lines.length > LOG_LINES_KEPT) lines.splice(0, lines.length - LOG_LINES_KEPT);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const url = await new Promise<string>((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => reject(new Error(`server did not start: ${output}`)), 30_000);
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const match = /"url":"(http:\/\/[^"]+)".*Micropay is listening/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    });
    child.once('exit', (code) => reject(new Error(`server exited with ${code}: ${output}`)));
  });
  return { url, child, lines };
}

/** What the servers logged about a request that failed, found by its request id. */
function loggedAbout(servers: Server[], answer: { body: { error?: { request_id?: string } } }): string {
  const requestId = answer.body.error?.request_id;
  if (!requestId) return '';
  return servers.flatMap((server) => server.lines.filter((line) => line.includes(requestId))).join('\n');
}

describe('two server processes on one PostgreSQL', () => {
  let store: TestStore;
  let dataDir: string;
  const servers: Server[] = [];
  let secretKey = '';
  const customers: string[] = [];

  before(async () => {
    store = await createTestStore('postgres', { open: false });
    dataDir = mkdtempSync(join(tmpdir(), 'micropay-two-'));
    const config = loadConfig({ DATABASE_URL: store.location.databaseUrl, MICROPAY_DATA_DIR: dataDir });
    const runtime = await openRuntime(config, { workers: false, logger: createLogger('silent') });
    const { auth, merchants, customers: customerService, books } = runtime.services;
    await auth.createKey({ merchantId: null, kind: 'operator', livemode: true });
    const merchant = await merchants.create({ name: 'Shared', feeBps: 200 });
    secretKey = (await auth.createKey({ merchantId: merchant.id, kind: 'secret', livemode: false })).secret;
    const settlement = books.account('card_settlement', 'platform', false, 'USD');
    for (let index = 0; index < CUSTOMERS; index += 1) {
      const customer = await customerService.create({ merchantId: merchant.id, livemode: false }, {});
      const wallet = books.account('wallet', customer.buyerId, false, 'USD');
      await books.ensure([wallet, settlement]);
      const [funded] = await runtime.ledger.createTransfers([
        { id: ledgerId(`fund:${customer.id}`), debitAccountId: settlement.id, creditAccountId: wallet.id, amount: 1_000n, code: TRANSFER_CODES.top_up },
      ]);
      assert.equal(funded?.result, 'created');
      customers.push(customer.id);
    }
    await runtime.close();
    servers.push(await startServer(store.location.databaseUrl!, dataDir), await startServer(store.location.databaseUrl!, dataDir));
  });

  after(async () => {
    for (const server of servers) {
      const exited = new Promise((resolve) => server.child.once('exit', resolve));
      server.child.kill('SIGTERM');
      await exited;
    }
    rmSync(dataDir, { recursive: true, force: true });
    await store.drop();
  });

  async function send(url: string, key: string, body: unknown): Promise<{ status: number; body: any }> {
    // A caller retries while the first request with its key is still running, as the SDK does.
    // Bounded by time, not attempts: on a loaded CI machine the first request may run for seconds.
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline) {
      const response = await fetch(`${url}/v1/payments`, {
        method: 'POST',
        headers: { authorization: `Bearer ${secretKey}`, 'content-type': 'application/json', 'idempotency-key': key },
        body: JSON.stringify(body),
      });
      const json = (await response.json()) as { error?: { code?: string } };
      if (response.status !== 409 || json.error?.code !== 'idempotency_key_in_use') return { status: response.status, body: json };
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    throw new Error(`key ${key} stayed in use`);
  }

  it('charges each logical payment once, whichever process answers', async () => {
    const sends: Array<Promise<{ status: number; body: any }>> = [];
    for (const customer of customers) {
      for (let index = 0; index < PAYMENTS_PER_CUSTOMER; index += 1) {
        const key = `${customer}-${index}`;
        const body = { customer, amount: 10, currency: 'USD', confirm: true };
        sends.push(send(servers[0]!.url, key, body), send(servers[1]!.url, key, body));
      }
    }
    const answers = await Promise.all(sends);
    for (const answer of answers) assert.equal(answer.status, 200, `${JSON.stringify(answer.body)}\n${loggedAbout(servers, answer)}`);
    // Both answers of one key name the same payment.
    for (let index = 0; index < answers.length; index += 2) assert.equal(answers[index]!.body.id, answers[index + 1]!.body.id);
    for (const customer of customers) {
      const listed = await fetch(`${servers[0]!.url}/v1/payments?customer=${customer}&limit=100`, { headers: { authorization: `Bearer ${secretKey}` } });
      const payments = ((await listed.json()) as { data: Array<{ status: string }> }).data;
      assert.equal(payments.length, PAYMENTS_PER_CUSTOMER);
      const wallet = await fetch(`${servers[1]!.url}/v1/customers/${customer}/wallet`, { headers: { authorization: `Bearer ${secretKey}` } });
      const balances = ((await wallet.json()) as { balances: Array<{ available: number }> }).balances;
      assert.equal(balances[0]!.available, 1_000 - 10 * PAYMENTS_PER_CUSTOMER);
    }
    const balance = await fetch(`${servers[0]!.url}/v1/balance`, { headers: { authorization: `Bearer ${secretKey}` } });
    const merchantBalances = ((await balance.json()) as { balances: Array<{ available: number }> }).balances;
    // 2% of 10 is 0.2, rounded half up to 0: the merchant keeps every minor unit.
    assert.equal(merchantBalances[0]!.available, CUSTOMERS * PAYMENTS_PER_CUSTOMER * 10);
  });

  it('confirms a payment once when both processes are asked to confirm it at the same moment', async () => {
    const customer = customers[0]!;
    const walletOf = async () => {
      const response = await fetch(`${servers[0]!.url}/v1/customers/${customer}/wallet`, { headers: { authorization: `Bearer ${secretKey}` } });
      return ((await response.json()) as { balances: Array<{ available: number }> }).balances[0]!.available;
    };
    const before = await walletOf();
    const ids: string[] = [];
    for (let index = 0; index < 10; index += 1) {
      ids.push((await send(servers[0]!.url, `plain-${index}`, { customer, amount: 7, currency: 'USD' })).body.id);
    }
    const confirm = (url: string, id: string) =>
      fetch(`${url}/v1/payments/${id}/confirm`, { method: 'POST', headers: { authorization: `Bearer ${secretKey}` } }).then(async (response) => ({
        status: response.status,
        body: (await response.json()) as { status?: string; error?: { code: string } },
      }));
    const answers = await Promise.all(ids.flatMap((id) => [confirm(servers[0]!.url, id), confirm(servers[1]!.url, id)]));
    for (let index = 0; index < answers.length; index += 2) {
      const pair = [answers[index]!, answers[index + 1]!];
      const succeeded = pair.filter((answer) => answer.status === 200);
      assert.equal(succeeded.length, 1, JSON.stringify(pair));
      for (const answer of pair.filter((candidate) => candidate.status !== 200)) {
        assert.ok(['payment_unexpected_state', 'concurrent_modification'].includes(answer.body.error!.code), JSON.stringify(answer));
      }
    }
    assert.equal(await walletOf(), before - 7 * ids.length);
  });
});
