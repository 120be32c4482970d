import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startCardSandbox, type CardSandbox } from './card-sandbox.ts';
import { CardProcessorError, createCardProcessor, openCardRails, type AuthorizationRequest, type CardProcessor, type ProcessorOutcome } from './card.ts';

// A healthy loopback answer never outlives the timeout, even on a loaded CI machine; a slow one always does.
const PROCESSOR_TIMEOUT_MS = 1000;
const SLOW_MS = 1500;
const nextYear = new Date().getUTCFullYear() + 1;
let sequence = 0;

function request(number: string, overrides: Partial<AuthorizationRequest> = {}): AuthorizationRequest {
  sequence += 1;
  return {
    reference: `top_test${sequence}`,
    amount: 1000n,
    currency: 'USD',
    card: { number, expMonth: 12, expYear: nextYear, cvc: '123' },
    threeDSecure: 'automatic',
    ...overrides,
  };
}

async function outcome(processor: CardProcessor, input: AuthorizationRequest): Promise<ProcessorOutcome> {
  const answer = await processor.authorize(input);
  assert.ok(answer.ok, JSON.stringify(answer));
  return answer.outcome;
}

async function completeChallenge(url: string, result: 'pass' | 'fail'): Promise<string> {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ outcome: result }) });
  assert.equal(response.status, 200);
  return ((await response.json()) as { status: string }).status;
}

describe('the card connector against the sandbox processor', () => {
  let sandbox: CardSandbox;
  let processor: CardProcessor;

  before(async () => {
    sandbox = await startCardSandbox();
    processor = createCardProcessor({ baseUrl: sandbox.url, apiKey: 'sandbox', timeoutMs: PROCESSOR_TIMEOUT_MS, retriesMax: 2, retryBackoffMs: 5 });
  });
  after(() => sandbox.close());

  it('authorizes the success card and declines the decline cards with their codes', async () => {
    assert.equal((await outcome(processor, request('4242424242424242'))).status, 'authorized');
    for (const [number, code] of [
      ['4000000000000002', 'card_declined'],
      ['4000000000009995', 'insufficient_funds'],
      ['4000000000000069', 'expired_card'],
      ['4000000000000127', 'incorrect_cvc'],
      ['4000000000000119', 'processing_error'],
      ['4242424242424241', 'invalid_number'],
    ]) {
      const result = await outcome(processor, request(number!));
      assert.equal(result.status, 'declined', number);
      assert.ok(result.status === 'declined' && result.declineCode === code, `${number} → ${JSON.stringify(result)}`);
    }
  });

  it('runs a 3-D Secure challenge: a page for the buyer, then pass or fail, then confirm', async () => {
    const challenged = await outcome(processor, request('4000000000003220'));
    assert.equal(challenged.status, 'requires_challenge');
    assert.ok(challenged.status === 'requires_challenge');
    const page = await fetch(challenged.challengeUrl);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /3-D Secure test page/);
    assert.equal(
      page.headers.get('content-security-policy'),
      "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
    );
    const early = await processor.confirm(challenged.authorizationId);
    assert.ok(early.ok && early.outcome.status === 'requires_challenge', 'not completed yet');
    assert.equal(await completeChallenge(challenged.challengeUrl, 'pass'), 'passed');
    const confirmed = await processor.confirm(challenged.authorizationId);
    assert.ok(confirmed.ok && confirmed.outcome.status === 'authorized');

    const failing = await outcome(processor, request('4000000000003220'));
    assert.ok(failing.status === 'requires_challenge');
    assert.equal(await completeChallenge(failing.challengeUrl, 'fail'), 'failed');
    const refused = await processor.confirm(failing.authorizationId);
    assert.ok(refused.ok && refused.outcome.status === 'declined' && refused.outcome.declineCode === 'authentication_failed');

    // This card's issuer fails authentication whatever the buyer answers.
    const always = await outcome(processor, request('4000008400001629'));
    assert.ok(always.status === 'requires_challenge');
    assert.equal(await completeChallenge(always.challengeUrl, 'pass'), 'failed');
    const alwaysRefused = await processor.confirm(always.authorizationId);
    assert.ok(alwaysRefused.ok && alwaysRefused.outcome.status === 'declined' && alwaysRefused.outcome.declineCode === 'authentication_failed');

    // Risk can ask for a challenge on a card that would not need one.
    const required = await outcome(processor, request('4242424242424242', { threeDSecure: 'required' }));
    assert.equal(required.status, 'requires_challenge');
  });

  it('is idempotent by reference: a repeat replays the first answer; other parameters are refused', async () => {
    const input = request('4242424242424242');
    const count = sandbox.authorizationCount();
    const first = await outcome(processor, input);
    const again = await outcome(processor, input);
    assert.equal(again.authorizationId, first.authorizationId);
    assert.equal(sandbox.authorizationCount(), count + 1);
    await assert.rejects(processor.authorize({ ...input, amount: 2000n }), (error: unknown) => error instanceof CardProcessorError && error.status === 409);
    const found = await processor.findByReference(input.reference);
    assert.ok(found.ok);
    assert.deepEqual(found.outcomes.map((item) => item.authorizationId), [first.authorizationId]);
    const none = await processor.findByReference('top_never');
    assert.ok(none.ok && none.outcomes.length === 0);
  });

  it('retries 5xx answers within its bound, then reports the processor unavailable', async () => {
    sandbox.injectFault({ count: 2, kind: 'unavailable' });
    assert.equal((await outcome(processor, request('4242424242424242'))).status, 'authorized');
    sandbox.injectFault({ count: 3, kind: 'unavailable' });
    const count = sandbox.authorizationCount();
    const answer = await processor.authorize(request('4242424242424242'));
    assert.ok(!answer.ok);
    assert.match(answer.message, /503.*after 3 attempts/);
    assert.equal(sandbox.authorizationCount(), count, 'nothing was authorized');
  });

  it('times out a slow answer and retries with the same key, so the card is authorized once', async () => {
    sandbox.injectFault({ count: 1, kind: 'delay', delayMs: SLOW_MS });
    const input = request('4242424242424242');
    const count = sandbox.authorizationCount();
    const started = Date.now();
    const result = await outcome(processor, input);
    assert.equal(result.status, 'authorized');
    assert.ok(Date.now() - started >= PROCESSOR_TIMEOUT_MS, 'the first attempt waited for its timeout');
    await new Promise((resolve) => setTimeout(resolve, SLOW_MS - PROCESSOR_TIMEOUT_MS + 200));
    assert.equal(sandbox.authorizationCount(), count + 1, 'the late first attempt and the retry made one authorization');

    sandbox.injectFault({ count: 3, kind: 'delay', delayMs: SLOW_MS });
    const lost = await processor.authorize(request('4242424242424242'));
    assert.ok(!lost.ok);
    assert.match(lost.message, new RegExp(`no answer within ${PROCESSOR_TIMEOUT_MS} ms`));
  });

  it('refuses calls without credentials, and unknown authorizations are a processor error', async () => {
    const response = await fetch(`${sandbox.url}/v1/authorizations/auth_x`);
    assert.equal(response.status, 401);
    await assert.rejects(processor.confirm('auth_unknown'), CardProcessorError);
  });
});

describe('the card rails by mode', () => {
  const settings = { sandboxUrl: undefined, timeoutMs: PROCESSOR_TIMEOUT_MS, retriesMax: 0 };

  it('never sends live cards to the sandbox: without CARD_PROCESSOR_URL live mode is unavailable, in development too', async () => {
    const rails = await openCardRails({ mode: 'development', cardProcessor: { ...settings, url: undefined, apiKey: undefined } });
    try {
      assert.equal(rails.available(false), true);
      assert.equal(rails.available(true), false);
      // Test mode: the sandbox approves the success card.
      assert.equal((await outcome(rails.processorFor(false), request('4242424242424242'))).status, 'authorized');
      // Live mode: nothing is authorized, confirmed or found, whatever the card.
      const live = rails.processorFor(true);
      assert.notEqual(live, rails.processorFor(false));
      for (const answer of [await live.authorize(request('4242424242424242')), await live.confirm('auth_x'), await live.findByReference('top_x')]) {
        assert.equal(answer.ok, false);
        assert.match((answer as { message: string }).message, /CARD_PROCESSOR_URL/);
      }
      assert.equal(rails.sandbox!.authorizationCount(), 1, 'only the test-mode authorization reached the sandbox');
    } finally {
      await rails.close();
    }
  });

  it('sends live cards to CARD_PROCESSOR_URL when it is set', async () => {
    const acquirer = await startCardSandbox();
    const rails = await openCardRails({ mode: 'development', cardProcessor: { ...settings, url: acquirer.url, apiKey: 'sandbox' } });
    try {
      assert.equal(rails.available(true), true);
      assert.equal((await outcome(rails.processorFor(true), request('4242424242424242'))).status, 'authorized');
    } finally {
      await rails.close();
      await acquirer.close();
    }
  });
});
