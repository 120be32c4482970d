// The sandbox bank and the connector, over real HTTP on loopback.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { bankAccountProblem, createBankConnector, decimalAmount, type CreditTransferRequest } from './bank.ts';
import { SANDBOX_BANK_ACCOUNTS, startBankSandbox, type BankSandbox } from './bank-sandbox.ts';
import { createBankRails } from '../payouts/rails.ts';

// Long enough that the status read right after a submission comes before the settlement even on a
// loaded machine (60 ms once let a CI run see the transfer settled already), short enough to wait for.
const SETTLEMENT_DELAY_MS = 600;
// Long enough that a healthy loopback answer never times out on a loaded 2-core CI machine.
const TIMEOUT_MS = 400;

function request(endToEndId: string, number: string, overrides: Partial<CreditTransferRequest> = {}): CreditTransferRequest {
  return {
    endToEndId,
    amount: 123_456n,
    currency: 'USD',
    exponent: 2,
    account: { type: /^[A-Z]/.test(number) ? 'iban' : 'account_number', number },
    creditorName: 'Pixel Forge Games',
    remittance: `Micropay payout ${endToEndId}`,
    ...overrides,
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('sandbox bank and connector', () => {
  let sandbox: BankSandbox;
  let rail: ReturnType<typeof createBankConnector>;
  before(async () => {
    sandbox = await startBankSandbox({ settlementDelayMs: SETTLEMENT_DELAY_MS, slowResponseMs: TIMEOUT_MS * 3 });
    rail = createBankConnector({ baseUrl: sandbox.url, timeoutMs: TIMEOUT_MS, retriesMax: 2, retryDelayMs: 10 });
  });
  after(() => sandbox.close());

  it('writes amounts as decimal strings and checks account numbers', () => {
    assert.equal(decimalAmount(123_456n, 2), '1234.56');
    assert.equal(decimalAmount(5n, 2), '0.05');
    assert.equal(decimalAmount(1500n, 3), '1.500');
    assert.equal(decimalAmount(300n, 0), '300');
    assert.equal(bankAccountProblem({ type: 'iban', number: 'DE89370400440532013000' }), null);
    assert.equal(bankAccountProblem({ type: 'iban', number: 'GB82WEST12345698765432' }), null);
    assert.match(bankAccountProblem({ type: 'iban', number: 'DE89370400440532013001' })!, /check digits/);
    assert.equal(bankAccountProblem({ type: 'account_number', number: SANDBOX_BANK_ACCOUNTS.settles }), null);
    assert.ok(bankAccountProblem({ type: 'account_number', number: '12a4' }));
  });

  it('accepts a transfer, then settles it after the settlement delay', async () => {
    const answer = await rail.submit(request('po_settles1', SANDBOX_BANK_ACCOUNTS.settles));
    assert.equal(answer.kind, 'answered');
    assert.ok(answer.kind === 'answered');
    assert.equal(answer.state, 'accepted');
    assert.deepEqual(await rail.status(answer.reference), { ...answer });
    await sleep(SETTLEMENT_DELAY_MS + 10);
    const settled = await rail.status(answer.reference);
    assert.ok(settled.kind === 'answered');
    assert.equal(settled.state, 'settled');
  });

  it('treats the end-to-end id as an idempotency key', async () => {
    const first = await rail.submit(request('po_replay1', SANDBOX_BANK_ACCOUNTS.settles));
    const again = await rail.submit(request('po_replay1', SANDBOX_BANK_ACCOUNTS.settles));
    assert.ok(first.kind === 'answered' && again.kind === 'answered');
    assert.equal(again.reference, first.reference);
    assert.equal(sandbox.submissionsOf('po_replay1'), 2);
    const conflicting = await rail.submit(request('po_replay1', SANDBOX_BANK_ACCOUNTS.settles, { amount: 1n }));
    assert.equal(conflicting.kind, 'unavailable');
    assert.match((conflicting as { problem: string }).problem, /409/);
  });

  it('rejects a closed account with AC04 after accepting it', async () => {
    const answer = await rail.submit(request('po_closed1', SANDBOX_BANK_ACCOUNTS.closedAccount));
    assert.ok(answer.kind === 'answered');
    assert.equal(answer.state, 'accepted');
    await sleep(SETTLEMENT_DELAY_MS + 10);
    const final = await rail.status(answer.reference);
    assert.deepEqual(final, { kind: 'answered', state: 'rejected', reference: answer.reference, reasonCode: 'AC04', reasonText: 'Closed account number' });
  });

  it('rejects an incorrect account or a bad IBAN at once with AC01', async () => {
    for (const [id, number] of [['po_incorrect1', SANDBOX_BANK_ACCOUNTS.incorrectAccount], ['po_badiban1', 'DE89370400440532013001']] as const) {
      const answer = await rail.submit(request(id, number));
      assert.ok(answer.kind === 'answered');
      assert.equal(answer.state, 'rejected');
      assert.equal(answer.reasonCode, 'AC01');
    }
  });

  it('retries a request whose answer came too late, and gets the same transfer', async () => {
    const started = Date.now();
    const answer = await rail.submit(request('po_slow1', SANDBOX_BANK_ACCOUNTS.timesOutOnce));
    assert.ok(answer.kind === 'answered');
    // The retry comes after the settlement delay of this sandbox, so the transfer may be settled already.
    assert.ok(answer.state === 'accepted' || answer.state === 'settled');
    assert.equal(sandbox.submissionsOf('po_slow1'), 2);
    assert.ok(Date.now() - started >= TIMEOUT_MS);
    await sleep(SETTLEMENT_DELAY_MS + 10);
    assert.equal((await rail.status(answer.reference) as { state: string }).state, 'settled');
  });

  it('answers unknown for a reference the bank does not have', async () => {
    assert.deepEqual(await rail.status('bnk_nothing'), { kind: 'unknown' });
  });

  it('gives up after its retries when the bank keeps failing, and says so', async () => {
    let requests = 0;
    const failing = createServer((_request, response) => {
      requests += 1;
      response.writeHead(503).end();
    });
    await new Promise<void>((resolve) => failing.listen(0, '127.0.0.1', resolve));
    const broken = createBankConnector({ baseUrl: `http://127.0.0.1:${(failing.address() as AddressInfo).port}`, timeoutMs: TIMEOUT_MS, retriesMax: 2, retryDelayMs: 5 });
    const answer = await broken.submit(request('po_down1', SANDBOX_BANK_ACCOUNTS.settles));
    failing.closeAllConnections();
    await new Promise((resolve) => failing.close(resolve));
    assert.equal(answer.kind, 'unavailable');
    assert.match((answer as { problem: string }).problem, /503 \(after 3 attempts\)/);
    assert.equal(requests, 3);
    const refused = await broken.submit(request('po_down2', SANDBOX_BANK_ACCOUNTS.settles));
    assert.equal(refused.kind, 'unavailable');
  });
});

describe('the bank rails by mode', () => {
  const options = { liveUrl: undefined, sandboxUrl: undefined, timeoutMs: TIMEOUT_MS, retriesMax: 0, sandboxSettlementDelayMs: 0 };

  it('never sends live payouts to the sandbox bank: without BANK_RAIL_URL live mode has no rail, in development too', async () => {
    for (const mode of ['development', 'production'] as const) {
      const rails = createBankRails({ ...options, mode });
      try {
        assert.equal(rails.available(true), false, mode);
        assert.equal(await rails.forMode(true), null, mode);
        assert.equal(rails.available(false), true, mode);
      } finally {
        await rails.close();
      }
    }
    const configured = createBankRails({ ...options, mode: 'development', liveUrl: 'https://bank.example' });
    assert.equal(configured.available(true), true);
    assert.notEqual(await configured.forMode(true), null);
    await configured.close();
  });
});
