// webhooks.verify against deliveries signed the way the server signs them (the standardwebhooks
// package's own signer): accepted when genuine, refused when the body, signature, secret or timestamp
// is wrong, and accepted with either secret during a rotation. Store-independent.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { MicropayError, webhooks } from './index.ts';

const newSecret = () => `whsec_${randomBytes(24).toString('base64')}`;

function delivery(secret: string, event: object, at = new Date()) {
  const payload = JSON.stringify(event);
  const id = `msg_${randomBytes(8).toString('hex')}`;
  const headers = {
    'webhook-id': id,
    'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
    'webhook-signature': new Webhook(secret).sign(id, at, payload),
  };
  return { payload, headers };
}

const event = { id: 'evt_1', object: 'event', type: 'payment.succeeded', livemode: false, created: 1, data: { object: { id: 'pay_1', amount: 100 } } };

const refused = (error: unknown) => error instanceof MicropayError && error.code === 'webhook_signature_invalid' && error.type === 'webhook_verification_error';

describe('webhooks.verify', () => {
  it('returns the event of a genuine delivery, from plain, Node or fetch headers, string or Buffer body', () => {
    const secret = newSecret();
    const { payload, headers } = delivery(secret, event);
    assert.deepEqual(webhooks.verify(payload, headers, secret), event);
    const upperCased = Object.fromEntries(Object.entries(headers).map(([name, value]) => [name.toUpperCase(), value]));
    assert.deepEqual(webhooks.verify(Buffer.from(payload), upperCased, secret), event);
    const verified = webhooks.verify<{ id: string; amount: number }>(payload, new Headers(headers), secret);
    assert.equal(verified.data.object.amount, 100);
  });

  it('refuses a changed body, another secret, a missing header and an old timestamp', () => {
    const secret = newSecret();
    const { payload, headers } = delivery(secret, event);
    assert.throws(() => webhooks.verify(payload.replace('100', '900'), headers, secret), refused);
    assert.throws(() => webhooks.verify(payload, headers, newSecret()), refused);
    const { 'webhook-signature': _signature, ...unsigned } = headers;
    assert.throws(() => webhooks.verify(payload, unsigned, secret), refused);
    const old = delivery(secret, event, new Date(Date.now() - 3600_000));
    assert.throws(() => webhooks.verify(old.payload, old.headers, secret), refused);
    assert.throws(() => webhooks.verify(payload, headers, []), refused);
  });

  it('accepts a delivery signed with either secret during a rotation', () => {
    const [oldSecret, newOne] = [newSecret(), newSecret()];
    const signedWithOld = delivery(oldSecret, event);
    const signedWithNew = delivery(newOne, event);
    assert.deepEqual(webhooks.verify(signedWithOld.payload, signedWithOld.headers, [oldSecret, newOne]), event);
    assert.deepEqual(webhooks.verify(signedWithNew.payload, signedWithNew.headers, [oldSecret, newOne]), event);
    // The server sends both signatures, space-separated, while both secrets are valid.
    const both = { ...signedWithNew.headers, 'webhook-signature': `${new Webhook(oldSecret).sign(signedWithNew.headers['webhook-id'], new Date(Number(signedWithNew.headers['webhook-timestamp']) * 1000), signedWithNew.payload)} ${signedWithNew.headers['webhook-signature']}` };
    assert.deepEqual(webhooks.verify(signedWithNew.payload, both, oldSecret), event);
    assert.deepEqual(webhooks.verify(signedWithNew.payload, both, newOne), event);
  });
});
