// The external message gateway (MESSAGE_GATEWAY=external): email through an SMTP relay, against a
// sandbox relay that speaks SMTP on loopback (smtp-sandbox.ts), and texts through a Twilio-compatible
// API, against a sandbox of its HTTP shape (sms-sandbox.ts); then buyers' sign-in codes by email and by
// SMS and a staff invitation end to end on both stores. Settings are checked without ever echoing a
// password or token.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { STORE_KINDS } from '../../test/support/stores.ts';
import { startTestApi, type TestApi, type TestMerchant } from '../../test/support/api.ts';
import { signUpBuyer } from '../../test/support/buyers.ts';
import { ConfigError, loadConfig } from '../config/config.ts';
import { createAuthenticator } from '../../test/support/authenticator.ts';
import { testOrigin } from '../../test/support/buyers.ts';
import { createSmsMessageGateway, createSmtpMessageGateway, MessageGatewayUnavailableError, MessageNotSentError } from './gateway.ts';
import { startSmsSandbox, type SmsSandbox } from './sms-sandbox.ts';
import { startSmtpSandbox, type SmtpSandbox } from './smtp-sandbox.ts';
import { captureLogs } from '../../test/support/log-capture.ts';

/** What `find` finds, once it appears (a sign-in code goes out after the answer); fails after 5 s. */
async function arrival<T>(find: () => T | undefined): Promise<T> {
  for (const started = Date.now(); Date.now() - started < 5_000; await new Promise((resolve) => setTimeout(resolve, 20))) {
    const found = find();
    if (found !== undefined) return found;
  }
  throw new Error('the message did not arrive within 5 s');
}

describe('the external message gateways', () => {
  let relay: SmtpSandbox;
  before(async () => {
    relay = await startSmtpSandbox();
  });
  after(() => relay.close());

  it('reads MESSAGE_GATEWAY=external with SMTP_URL, SMS_URL and the senders, and refuses missing or malformed ones without echoing them', () => {
    const config = loadConfig({
      MESSAGE_GATEWAY: 'external',
      SMTP_URL: 'smtps://mailer:s3cret@mail.example.com:465',
      MESSAGE_FROM: 'Micropay <codes@pay.example>',
      SMS_URL: 'https://AC123:t0ken@api.twilio.com',
      SMS_FROM: '+15555550100',
    });
    assert.deepEqual(config.messages, {
      gateway: 'external', smtpUrl: 'smtps://mailer:s3cret@mail.example.com:465', from: 'Micropay <codes@pay.example>', smsUrl: 'https://AC123:t0ken@api.twilio.com', smsFrom: '+15555550100',
    });
    assert.equal(loadConfig({ MESSAGE_GATEWAY: 'external', SMTP_URL: 'smtp://relay.internal', PUBLIC_URL: 'https://pay.example.com' }).messages.from, 'no-reply@pay.example.com');
    const refused = (env: Record<string, string>, pattern: RegExp) =>
      assert.throws(() => loadConfig(env), (error: Error) => error instanceof ConfigError && pattern.test(error.message) && !/s3cret|t0ken/.test(error.message));
    refused({ MESSAGE_FROM: 'Micropay <not an address>' }, /MESSAGE_FROM must be an email address or "Name <address>"/);
    refused({ MESSAGE_GATEWAY: 'external' }, /external needs SMTP_URL \(email\), SMS_URL \(texts\), or both/);
    refused({ MESSAGE_GATEWAY: 'external', SMTP_URL: 'http://mailer:s3cret@mail.example.com' }, /SMTP_URL must be an smtp:\/\/ or smtps:\/\/ URL/);
    refused({ MESSAGE_GATEWAY: 'external', SMS_URL: 'http://AC1:t0ken@api.twilio.com', SMS_FROM: '+15555550100' }, /SMS_URL must be an https:\/\/ URL/);
    refused({ MESSAGE_GATEWAY: 'external', SMS_URL: 'https://api.twilio.com', SMS_FROM: '+15555550100' }, /SMS_URL must be an https:\/\/ URL with the account id and auth token/);
    refused({ MESSAGE_GATEWAY: 'external', SMS_URL: 'https://AC1:t0ken@api.twilio.com' }, /SMS_FROM is required with SMS_URL/);
    refused({ MESSAGE_GATEWAY: 'external', SMS_URL: 'https://AC1:t0ken@api.twilio.com', SMS_FROM: '5555' }, /SMS_FROM is required with SMS_URL/);
  });

  it('texts through the SMS API with the account credentials, and reports its refusals with their codes', async () => {
    const api = await startSmsSandbox();
    try {
      const gateway = createSmsMessageGateway({ url: api.url, from: '+15555550100' });
      assert.deepEqual([gateway.canSend('sms'), gateway.canSend('email')], [true, false]);
      await gateway.send({ channel: 'sms', to: '+15555550123', body: 'Your code is 654321.' });
      assert.deepEqual(api.received, [{ to: '+15555550123', from: '+15555550100', body: 'Your code is 654321.' }]);
      await assert.rejects(
        gateway.send({ channel: 'sms', to: '+1234', body: 'x' }),
        (error: unknown) => error instanceof MessageNotSentError && error.status === 400 && error.code === '21211' && !error.message.includes('+1234'),
        'the refusal keeps its code, not the provider text that quotes the number',
      );
      const wrongToken = createSmsMessageGateway({ url: api.url.replace(/:[0-9a-f]{32}@/, ':0000@'), from: '+15555550100' });
      await assert.rejects(wrongToken.send({ channel: 'sms', to: '+15555550123', body: 'x' }), (error: unknown) => error instanceof MessageNotSentError && error.status === 401 && error.code === '20003');
      await assert.rejects(gateway.send({ channel: 'email', to: 'ada@example.com', body: 'x' }), MessageGatewayUnavailableError);
      assert.equal(api.received.length, 1);
    } finally {
      await api.close();
    }
  });

  it('sends an email through the relay with the sender, recipient, subject and text, authenticated', async () => {
    const gateway = createSmtpMessageGateway({ url: relay.url, from: 'Micropay <codes@micropay.test>' });
    assert.equal(gateway.canSend('email'), true);
    assert.equal(gateway.canSend('sms'), false);
    await gateway.send({ channel: 'email', to: 'ada@example.com', subject: 'Your code', body: 'Your code is 123456.' });
    const mail = relay.received.at(-1)!;
    assert.deepEqual(
      { envelopeTo: mail.envelopeTo, envelopeFrom: mail.envelopeFrom, from: mail.from, subject: mail.subject, text: mail.text, user: mail.user },
      { envelopeTo: ['ada@example.com'], envelopeFrom: 'codes@micropay.test', from: '"Micropay" <codes@micropay.test>', subject: 'Your code', text: 'Your code is 123456.', user: 'micropay' },
    );
  });

  it('refuses SMS, and reports a relay that refuses the login or the message', async () => {
    const gateway = createSmtpMessageGateway({ url: relay.url, from: 'codes@micropay.test' });
    await assert.rejects(gateway.send({ channel: 'sms', to: '+15555550100', body: 'x' }), MessageGatewayUnavailableError);
    const wrongPassword = createSmtpMessageGateway({ url: relay.url.replace('sandbox-password', 'wrong'), from: 'codes@micropay.test' });
    await assert.rejects(wrongPassword.send({ channel: 'email', to: 'ada@example.com', body: 'x' }), (error: unknown) => error instanceof MessageNotSentError && error.code === 'EAUTH');
    const count = relay.received.length;
    relay.refuseNext(1);
    await assert.rejects(
      gateway.send({ channel: 'email', to: 'ada@example.com', body: 'x' }),
      (error: unknown) => error instanceof MessageNotSentError && error.status === 451 && !error.message.includes('ada@example.com'),
    );
    assert.equal(relay.received.length, count, 'nothing was taken');
  });
});

for (const kind of STORE_KINDS) {
  describe(`buyer codes by email and SMS, and staff invitations, through external gateways on ${kind}`, () => {
    let relay: SmtpSandbox;
    let texts: SmsSandbox;
    let api: TestApi;
    let merchant: TestMerchant;
    const logs = captureLogs();

    before(async () => {
      relay = await startSmtpSandbox();
      texts = await startSmsSandbox();
      api = await startTestApi(kind, {
        env: { MESSAGE_GATEWAY: 'external', SMTP_URL: relay.url, MESSAGE_FROM: 'Micropay <codes@micropay.test>', SMS_URL: texts.url, SMS_FROM: '+15555550100' },
        logger: logs.logger,
      });
      merchant = await api.createMerchant({ name: 'Daily Planet' });
    });
    after(async () => {
      await api?.close();
      await relay?.close();
      await texts?.close();
    });

    const call = (url: string, body: unknown) =>
      api.app.inject({ method: 'POST', url, headers: { authorization: `Bearer ${merchant.publishableKey}` }, payload: body as object });

    it('emails a sign-in code that signs the buyer in, and serves no sandbox outbox', async () => {
      const buyer = await signUpBuyer(api, merchant.publishableKey, { email: 'grace@example.com' });
      const sent = await call('/v1/buyer/codes', { email: buyer.email });
      assert.equal(sent.statusCode, 200, sent.body);
      const mail = await arrival(() => relay.received.find((message) => message.envelopeTo.includes('grace@example.com')));
      assert.equal(mail.subject, 'Your Micropay sign-in code');
      assert.equal(mail.from, '"Micropay" <codes@micropay.test>');
      const code = /\b(\d{6})\b/.exec(mail.text)![1]!;
      const signedIn = await call('/v1/buyer/codes/verify', { code_request: sent.json().code_request, code, device: buyer.deviceId });
      assert.equal(signedIn.statusCode, 200, signedIn.body);
      assert.match(signedIn.json().session.token, /^mbs_/);
      assert.equal((await api.app.inject({ method: 'GET', url: '/sandbox/messages' })).statusCode, 404);
      // A refused message answers as an address nobody has does (the answer must not tell who has an
      // account), and is logged with the relay's code, never the address.
      relay.refuseNext(1);
      const refused = await call('/v1/buyer/codes', { email: buyer.email });
      assert.equal(refused.statusCode, 200, refused.body);
      const nobody = await call('/v1/buyer/codes', { email: 'nobody-here@example.com' });
      assert.equal(nobody.statusCode, 200, nobody.body);
      assert.deepEqual(Object.keys(refused.json()).sort(), Object.keys(nobody.json()).sort());
      const logged = await arrival(() => logs.lines.find((line) => line.includes('a sign-in code was not delivered')));
      assert.match(logged, /SMTP relay did not take the message/);
      assert.equal(logged.includes('grace@example.com'), false);
    });

    it("emails a staff invitation's link to the invited person, and says so", async () => {
      const response = await api.call('POST', '/v1/staff/invitations', {
        key: api.operatorKey,
        body: { email: 'lin@example.com', role: 'owner', merchant: merchant.id },
      });
      assert.equal(response.statusCode, 200, response.body);
      const invitation = response.json();
      assert.equal(invitation.emailed, true);
      const mail = relay.received.find((message) => message.envelopeTo.includes('lin@example.com'))!;
      assert.equal(mail.subject, "You are invited to Daily Planet's dashboard on Micropay");
      assert.match(mail.text, /as owner/);
      assert.ok(mail.text.includes(invitation.url), 'the email carries the link the answer showed');
      relay.refuseNext(1);
      const unsent = await api.call('POST', '/v1/staff/invitations', { key: api.operatorKey, body: { email: 'sam@example.com', role: 'developer', merchant: merchant.id } });
      assert.equal(unsent.statusCode, 200, unsent.body);
      assert.equal(unsent.json().emailed, false, 'a relay that refuses leaves the link to be passed on by hand');
      assert.match(unsent.json().url, /#invite=msi_/);
    });

    it('texts a sign-in code to a buyer who signed up with a phone number, and the code signs them in', async () => {
      const phone = '+15555550177';
      const authenticator = createAuthenticator({ origin: testOrigin(api) });
      const started = await call('/v1/buyer/passkeys/registration/options', { phone });
      assert.equal(started.statusCode, 200, started.body);
      const verified = await call('/v1/buyer/passkeys/registration/verify', { registration: started.json().registration, credential: authenticator.register(started.json().options) });
      assert.equal(verified.statusCode, 200, verified.body);
      const sent = await call('/v1/buyer/codes', { phone });
      assert.equal(sent.statusCode, 200, sent.body);
      assert.equal(sent.json().channel, 'sms');
      const text = await arrival(() => texts.received.find((message) => message.to === phone));
      assert.equal(text.from, '+15555550100');
      const code = /\b(\d{6})\b/.exec(text.body)![1]!;
      const signedIn = await call('/v1/buyer/codes/verify', { code_request: sent.json().code_request, code, device: verified.json().device.id });
      assert.equal(signedIn.statusCode, 200, signedIn.body);
      assert.equal(relay.received.some((mail) => mail.text.includes(code)), false, 'the text went by SMS only');
    });
  });
}
