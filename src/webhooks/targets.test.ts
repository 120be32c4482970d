// Parts of webhooks that need no database: URL and address rules, sealed secrets, signatures, the
// retry schedule, and the sender's refusal of private targets.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { startWebhookReceiver, type WebhookReceiver } from '../../test/support/webhook-receiver.ts';
import { createSecretBox, generateSecret, signedHeaders, webhookSecretKey } from './secrets.ts';
import { createSender } from './sender.ts';
import { checkEndpointUrl, isPrivateAddress } from './targets.ts';
import { retryDelayMs } from './worker.ts';

describe('webhook targets', () => {
  it('knows private, loopback and link-local addresses', () => {
    for (const address of ['127.0.0.1', '10.1.2.3', '172.20.0.1', '192.168.1.1', '169.254.169.254', '100.64.0.1', '0.0.0.0', '::1', '::', 'fd00::1', 'fe80::1', '::ffff:127.0.0.1', '::ffff:7f00:1']) {
      assert.equal(isPrivateAddress(address), true, address);
    }
    for (const address of ['93.184.216.34', '8.8.8.8', '2606:4700::1111', '172.32.0.1']) assert.equal(isPrivateAddress(address), false, address);
  });

  it('checks endpoint urls by mode and policy', () => {
    assert.equal(checkEndpointUrl('https://example.com/hook', true, 'none').ok, true);
    assert.equal(checkEndpointUrl('http://example.com/hook', true, 'all').ok, false, 'live needs https whatever the policy');
    assert.equal(checkEndpointUrl('http://example.com/hook', false, 'none').ok, true, 'test mode may use http');
    assert.equal(checkEndpointUrl('http://127.0.0.1:3000/hook', false, 'test').ok, true);
    assert.equal(checkEndpointUrl('http://127.0.0.1:3000/hook', false, 'none').ok, false);
    assert.equal(checkEndpointUrl('https://app.localhost/hook', true, 'test').ok, false);
    assert.equal(checkEndpointUrl('https://10.0.0.5/hook', true, 'all').ok, true);
    assert.equal(checkEndpointUrl('https://[::ffff:10.0.0.5]/hook', true, 'test').ok, false);
    assert.equal(checkEndpointUrl('javascript:alert(1)', false, 'all').ok, false);
  });
});

describe('webhook secrets and signatures', () => {
  it('generates Standard Webhooks secrets of 24 random bytes', () => {
    const secret = generateSecret();
    assert.match(secret, /^whsec_[A-Za-z0-9+/]{32}$/);
    assert.equal(Buffer.from(secret.slice(6), 'base64').length, 24);
    assert.notEqual(generateSecret(), secret);
  });

  it('seals secrets so that they open only for their endpoint and only unaltered', () => {
    const box = createSecretBox(randomBytes(32));
    const secret = generateSecret();
    const sealed = box.seal(secret, 'we_a');
    assert.equal(box.open(sealed, 'we_a'), secret);
    assert.notEqual(box.seal(secret, 'we_a'), sealed, 'a fresh IV each time');
    assert.throws(() => box.open(sealed, 'we_b'));
    // Flip one bit of the ciphertext (a character swap could leave it unchanged when the character
    // picked is already the replacement).
    const [version, body] = sealed.split('.');
    const bytes = Buffer.from(body!, 'base64url');
    bytes[bytes.length - 1]! ^= 0x01;
    const tampered = `${version}.${bytes.toString('base64url')}`;
    assert.notEqual(tampered, sealed);
    assert.throws(() => box.open(tampered, 'we_a'));
    assert.throws(() => createSecretBox(randomBytes(31)));
  });

  it('chooses the sealing key: explicit, derived from the vault key, or a development key', () => {
    const explicit = randomBytes(32);
    const vault = randomBytes(32);
    assert.deepEqual(webhookSecretKey({ explicit, vaultMasterKey: vault, production: true }), explicit);
    const derived = webhookSecretKey({ explicit: undefined, vaultMasterKey: vault, production: true });
    assert.equal(derived.length, 32);
    assert.notDeepEqual(derived, vault, 'the vault key itself is not reused');
    assert.throws(() => webhookSecretKey({ explicit: undefined, vaultMasterKey: undefined, production: true }));
    assert.equal(webhookSecretKey({ explicit: undefined, vaultMasterKey: undefined, production: false }).length, 32);
  });

  it('signs with every secret given, each verifiable on its own', () => {
    const [first, second] = [generateSecret(), generateSecret()];
    const payload = JSON.stringify({ id: 'evt_1', type: 'payment.succeeded' });
    const headers = signedHeaders([first, second], 'evt_1', new Date(), payload);
    assert.equal(headers['webhook-signature'].split(' ').length, 2);
    assert.deepEqual(new Webhook(first).verify(payload, headers), JSON.parse(payload));
    assert.deepEqual(new Webhook(second).verify(payload, headers), JSON.parse(payload));
    assert.throws(() => new Webhook(generateSecret()).verify(payload, headers));
    assert.throws(() => new Webhook(first).verify(`${payload} `, headers), 'the body is signed');
  });
});

describe('webhook retry schedule', () => {
  it('follows the schedule with at most 10% jitter and repeats its last step', () => {
    const schedule = [5000, 30_000, 120_000];
    assert.equal(retryDelayMs(schedule, 1, () => 0.5), 5000);
    assert.equal(retryDelayMs(schedule, 2, () => 0), 27_000);
    assert.equal(retryDelayMs(schedule, 2, () => 1), 33_000);
    assert.equal(retryDelayMs(schedule, 9, () => 0.5), 120_000);
  });
});

describe('webhook sender', () => {
  let target: WebhookReceiver;
  const sender = createSender({ timeoutMs: 1000, responseBodyBytesMax: 16, socketsPerHostMax: 2 });
  after(async () => {
    sender.close();
    await target?.close();
  });

  it('refuses private targets when told to, by literal address and by name', async () => {
    target = await startWebhookReceiver();
    const port = new URL(target.url).port;
    const body = '{}';
    const literal = await sender.send({ url: new URL(`http://127.0.0.1:${port}/x`), headers: {}, body, publicOnly: true });
    assert.match(String(literal.error), /^private_address_refused/);
    const named = await sender.send({ url: new URL(`http://localhost:${port}/x`), headers: {}, body, publicOnly: true });
    assert.match(String(named.error), /private/);
    assert.equal(target.received.length, 0);
    const allowed = await sender.send({ url: new URL(`http://127.0.0.1:${port}/x`), headers: { 'webhook-id': 'evt_1' }, body, publicOnly: false });
    assert.equal(allowed.status, 200);
    assert.equal(target.received[0]!.headers['webhook-id'], 'evt_1');
    assert.equal(target.received[0]!.headers['user-agent'], 'Micropay-Webhooks/1');
  });

  it('reports a refused connection as an error, not a status', async () => {
    const result = await sender.send({ url: new URL('http://127.0.0.1:9/x'), headers: {}, body: '{}', publicOnly: false });
    assert.equal(result.status, null);
    assert.match(String(result.error), /^ECONNREFUSED/);
  });
});
