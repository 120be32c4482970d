import { createHash } from 'node:crypto';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { STORE_KINDS } from '../../test/support/stores.ts';
import { captureLogs } from '../../test/support/log-capture.ts';
import { startTestApi, type TestApi } from '../../test/support/api.ts';
import { createAuthenticator } from '../../test/support/authenticator.ts';
import { signUpBuyer, testOrigin } from '../../test/support/buyers.ts';
import { openShop, pay, type Shop } from '../../test/support/refund-fixtures.ts';
import {
  createStaffUser,
  enrollStaff,
  inviteStaff,
  signInStaffApi,
  staffCall,
  staffToken,
  testClientAddress,
  type TestStaff,
} from '../../test/support/staff.ts';
import { DISPUTE_REASONS } from '../disputes/model.ts';
import { MERCHANT_ROLE_PERMISSIONS, OPERATOR_ROLE_PERMISSIONS, ROUTE_PERMISSIONS, missingWriteKeyPermission, permissionsOf, staffAccess } from './roles.ts';
import { STAFF_CEREMONIES_PER_CLIENT_MAX } from './model.ts';
import { createStaffService, type StaffActor } from './service.ts';
import type { Database } from '../store/database.ts';

describe('staff roles', () => {
  it('gives owners everything, admins all but owners, and read-only roles nothing that writes', () => {
    assert.ok(MERCHANT_ROLE_PERMISSIONS.owner.includes('team:owners'));
    assert.ok(!MERCHANT_ROLE_PERMISSIONS.admin.includes('team:owners'));
    assert.ok(MERCHANT_ROLE_PERMISSIONS.analyst.every((permission) => permission.endsWith(':read')));
    assert.ok(OPERATOR_ROLE_PERMISSIONS.viewer.every((permission) => permission.endsWith(':read')));
    assert.ok(!MERCHANT_ROLE_PERMISSIONS.support.includes('api_keys:write'));
    assert.ok(MERCHANT_ROLE_PERMISSIONS.developer.includes('webhooks:write'));
  });

  it('decides access: buyer routes never, unmapped writes never, unmapped reads yes, the table otherwise', () => {
    const analyst = MERCHANT_ROLE_PERMISSIONS.analyst;
    assert.deepEqual(staffAccess('dashboard', analyst, 'GET', '/v1/buyer/me', undefined), { ok: false, code: 'staff_route_not_allowed' });
    assert.deepEqual(staffAccess('dashboard', analyst, 'POST', '/v1/checkout/payments/:id/confirm', undefined), { ok: false, code: 'staff_route_not_allowed' });
    assert.deepEqual(staffAccess('dashboard', MERCHANT_ROLE_PERMISSIONS.owner, 'POST', '/v1/something_new', undefined), { ok: false, code: 'staff_route_not_allowed' });
    assert.deepEqual(staffAccess('dashboard', analyst, 'GET', '/v1/something_new', undefined), { ok: true });
    assert.deepEqual(staffAccess('dashboard', analyst, 'POST', '/v1/refunds', undefined), { ok: false, code: 'staff_permission_missing', permission: 'refunds:write' });
    assert.deepEqual(staffAccess('console', OPERATOR_ROLE_PERMISSIONS.admin, 'GET', '/v1/payments', undefined), { ok: false, code: 'staff_route_not_allowed' });
    assert.deepEqual(staffAccess('dashboard', analyst, 'POST', '/v1/x', { dashboard: 'payments:read' }), { ok: true });
  });

  it('asks of a HEAD request what the GET of the same route asks', () => {
    const analyst = MERCHANT_ROLE_PERMISSIONS.analyst;
    assert.deepEqual(staffAccess('dashboard', analyst, 'HEAD', '/v1/webhook_endpoints', undefined), { ok: false, code: 'staff_permission_missing', permission: 'webhooks:read' });
    assert.deepEqual(staffAccess('dashboard', MERCHANT_ROLE_PERMISSIONS.developer, 'HEAD', '/v1/webhook_endpoints', undefined), { ok: true });
    assert.deepEqual(staffAccess('dashboard', MERCHANT_ROLE_PERMISSIONS.owner, 'HEAD', '/v1/merchants', undefined), { ok: false, code: 'staff_route_not_allowed' });
    assert.deepEqual(staffAccess('dashboard', analyst, 'HEAD', '/v1/something_new', undefined), { ok: true });
  });

  it('lets only roles holding every permission of a secret write key create one (owner and admin)', () => {
    assert.equal(missingWriteKeyPermission(MERCHANT_ROLE_PERMISSIONS.owner), null);
    assert.equal(missingWriteKeyPermission(MERCHANT_ROLE_PERMISSIONS.admin), null);
    for (const role of ['developer', 'finance', 'support', 'analyst'] as const) assert.notEqual(missingWriteKeyPermission(MERCHANT_ROLE_PERMISSIONS[role]), null, role);
  });
});

describe('micropay staff invite', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'micropay-staff-cli-'));
  const env = { ...process.env, MICROPAY_DATA_DIR: dataDir, DATABASE_URL: '', PUBLIC_URL: 'https://pay.example.com' };
  const bin = fileURLToPath(new URL('../../bin/micropay.js', import.meta.url));
  after(() => rmSync(dataDir, { recursive: true, force: true }));

  it('prints a console invitation link for an operator admin, and refuses a merchant role for the operator', async () => {
    const run = promisify(execFile);
    // The command works on an existing installation: create the embedded one first.
    await run(process.execPath, [bin, 'migrate'], { env });
    const invited = await run(process.execPath, [bin, 'staff', 'invite', '--email', 'Ops@Example.com', '--role', 'admin'], { env });
    const printed = JSON.parse(invited.stdout.slice(0, invited.stdout.lastIndexOf('}') + 1));
    assert.equal(printed.email, 'ops@example.com');
    assert.equal(printed.app, 'console');
    assert.match(printed.url, /^https:\/\/pay\.example\.com\/console\/#invite=msi_[0-9A-Za-z]{40,50}$/);
    await assert.rejects(run(process.execPath, [bin, 'staff', 'invite', '--email', 'x@example.com', '--role', 'owner'], { env }), (error: { code?: number; stderr?: string }) => {
      assert.equal(error.code, 2);
      assert.match(error.stderr ?? '', /parameter_invalid: role must be one of admin, risk_analyst, support, viewer/);
      return true;
    });
  });
});

for (const kind of STORE_KINDS) {
  describe(`staff over HTTP on ${kind}`, () => {
    let api: TestApi;
    let shop: Shop;
    let other: Shop;
    let owner: TestStaff;
    const captured = captureLogs();
    const secrets: string[] = [];
    const remember = (staff: TestStaff) => {
      secrets.push(staff.token);
      return staff;
    };

    before(async () => {
      api = await startTestApi(kind, { logger: captured.logger });
      shop = await openShop(api);
      other = await openShop(api);
      owner = remember(await createStaffUser(api, { merchantId: shop.merchant.id, role: 'owner', name: 'Olive Owner' }));
    });
    after(async () => {
      await api?.close();
    });

    const call = (method: 'GET' | 'POST', url: string, token: string, body?: unknown, headers?: Record<string, string>) =>
      staffCall(api, method, url, { key: token, ...(body === undefined ? {} : { body }), ...(headers ? { headers } : {}) });
    const sql = (text: string, values: unknown[]) => api.runtime.db.query(text, values);

    it('enrolls an invited owner with a passkey and shows who they are', async () => {
      const me = await call('GET', '/v1/staff/me', owner.token);
      assert.equal(me.statusCode, 200, me.body);
      const body = me.json();
      assert.equal(body.email, owner.email);
      assert.equal(body.name, 'Olive Owner');
      assert.equal(body.role, 'owner');
      assert.equal(body.merchant_id, shop.merchant.id);
      assert.equal(body.app, 'dashboard');
      assert.equal(body.livemode, false);
      assert.ok(body.permissions.includes('team:owners'));
      // The invitation's link points at the dashboard, with the token in the fragment only.
      const invitation = await inviteStaff(api, { merchantId: shop.merchant.id, role: 'analyst' });
      assert.match(invitation.url, /^http:\/\/localhost:3000\/dashboard\/#invite=msi_[0-9A-Za-z]{40,50}$/);
      secrets.push(invitation.token);
      const analyst = remember(await enrollStaff(api, invitation.token));
      assert.equal(analyst.role, 'analyst');
      // An invitation is used once.
      const again = await staffCall(api, 'POST', '/v1/staff/enrollment/options', { body: { invitation: invitation.token } });
      assert.equal(again.statusCode, 400);
      assert.equal(again.json().error.code, 'staff_invitation_invalid');
      const unknown = await staffCall(api, 'POST', '/v1/staff/enrollment/options', { body: { invitation: 'msi_' + 'x'.repeat(43) } });
      assert.equal(unknown.json().error.code, 'staff_invitation_invalid');
    });

    it('refuses a second enrollment of one invitation and an expired invitation', async () => {
      const invitation = await inviteStaff(api, { merchantId: shop.merchant.id, role: 'support' });
      const authenticator = createAuthenticator({ origin: testOrigin(api) });
      const first = (await staffCall(api, 'POST', '/v1/staff/enrollment/options', { body: { invitation: invitation.token } })).json();
      const second = (await staffCall(api, 'POST', '/v1/staff/enrollment/options', { body: { invitation: invitation.token } })).json();
      const done = await staffCall(api, 'POST', '/v1/staff/enrollment/verify', { body: { enrollment: first.enrollment, credential: authenticator.register(first.options) } });
      assert.equal(done.statusCode, 200, done.body);
      secrets.push(done.json().token);
      const late = await staffCall(api, 'POST', '/v1/staff/enrollment/verify', { body: { enrollment: second.enrollment, credential: authenticator.register(second.options) } });
      assert.equal(late.statusCode, 400);
      assert.equal(late.json().error.code, 'staff_invitation_invalid');

      const stale = await inviteStaff(api, { merchantId: shop.merchant.id, role: 'finance' });
      await sql(`UPDATE staff_invitations SET expires_at = now() - interval '1 second' WHERE id = $1`, [stale.id]);
      const expired = await staffCall(api, 'POST', '/v1/staff/enrollment/options', { body: { invitation: stale.token } });
      assert.equal(expired.json().error.code, 'staff_invitation_expired');
    });

    it('signs in with the passkey; a wrong, replayed or unverified challenge is refused', async () => {
      const again = remember(await signInStaffApi(api, owner));
      assert.notEqual(again.token, owner.token);
      assert.equal((await call('GET', '/v1/staff/me', again.token)).json().id, owner.id);

      const options = async () => (await staffCall(api, 'POST', '/v1/staff/sign_in/options', { body: {} })).json();
      const verify = (signIn: string, credential: unknown) => staffCall(api, 'POST', '/v1/staff/sign_in/verify', { body: { sign_in: signIn, credential } });
      const started = await options();
      assert.equal(started.options.userVerification, 'required');
      assert.deepEqual(started.options.allowCredentials ?? [], []);
      // Signed over another challenge.
      const wrong = await verify(started.sign_in, owner.authenticator.authenticate(started.options, { challenge: Buffer.from('not the challenge').toString('base64url') }));
      assert.equal(wrong.statusCode, 400);
      assert.equal(wrong.json().error.code, 'passkey_verification_failed');
      // The ceremony was used by the failed attempt: a right answer to it is refused now.
      const replayed = await verify(started.sign_in, owner.authenticator.authenticate(started.options));
      assert.equal(replayed.json().error.code, 'ceremony_unknown');
      // A good sign-in cannot be replayed either.
      const fresh = await options();
      const assertion = owner.authenticator.authenticate(fresh.options);
      assert.equal((await verify(fresh.sign_in, assertion)).statusCode, 200);
      assert.equal((await verify(fresh.sign_in, assertion)).json().error.code, 'ceremony_unknown');
      // User verification is required.
      const unverified = await options();
      assert.equal((await verify(unverified.sign_in, owner.authenticator.authenticate(unverified.options, { userVerified: false }))).json().error.code, 'passkey_verification_failed');
      // Another origin.
      const phishing = await options();
      assert.equal((await verify(phishing.sign_in, owner.authenticator.authenticate(phishing.options, { origin: 'https://evil.example' }))).json().error.code, 'passkey_verification_failed');
      // An expired ceremony.
      const slow = await options();
      await sql(`UPDATE staff_ceremonies SET expires_at = now() - interval '1 second' WHERE id = $1`, [slow.sign_in]);
      assert.equal((await verify(slow.sign_in, owner.authenticator.authenticate(slow.options))).json().error.code, 'ceremony_expired');
    });

    it('ends sessions after 12 hours, after 30 idle minutes, and at sign-out', async () => {
      const session = async () => remember(await signInStaffApi(api, owner)).token;
      const digestOf = (token: string) => createHash('sha256').update(token).digest();
      const used = await session();
      await sql(`UPDATE staff_sessions SET last_used_at = now() - interval '29 minutes' WHERE token_digest = $1`, [digestOf(used)]);
      assert.equal((await call('GET', '/v1/staff/me', used)).statusCode, 200);
      // That request counted as use: the session is not idle now.
      const { rows } = await sql(`SELECT last_used_at > now() - interval '1 minute' AS fresh FROM staff_sessions WHERE token_digest = $1`, [digestOf(used)]);
      assert.equal((rows[0] as { fresh: boolean }).fresh, true);

      const idle = await session();
      await sql(`UPDATE staff_sessions SET last_used_at = now() - interval '31 minutes' WHERE token_digest = $1`, [digestOf(idle)]);
      const idleAnswer = await call('GET', '/v1/staff/me', idle);
      assert.equal(idleAnswer.statusCode, 401);
      assert.equal(idleAnswer.json().error.code, 'staff_session_invalid');

      const old = await session();
      const { rows: created } = await sql(`SELECT round(extract(epoch FROM expires_at - created_at))::int8 AS lifetime FROM staff_sessions WHERE token_digest = $1`, [digestOf(old)]);
      assert.equal(Number((created[0] as { lifetime: bigint }).lifetime), 12 * 3600, 'a session lasts 12 hours');
      await sql(`UPDATE staff_sessions SET expires_at = now() - interval '1 second' WHERE token_digest = $1`, [digestOf(old)]);
      assert.equal((await call('GET', '/v1/payments', old)).json().error.code, 'staff_session_invalid');

      const leaving = await session();
      assert.equal((await call('POST', '/v1/staff/sign_out', leaving, {})).statusCode, 200);
      assert.equal((await call('GET', '/v1/staff/me', leaving)).statusCode, 401);
      assert.equal((await call('GET', '/v1/staff/me', 'mss_' + 'a'.repeat(43))).json().error.code, 'staff_session_invalid');

      // The maintenance sweep deletes sessions a month past their end, and ceremonies a day past theirs.
      await sql(`UPDATE staff_sessions SET expires_at = now() - interval '31 days' WHERE token_digest = $1`, [digestOf(old)]);
      await sql(`UPDATE staff_ceremonies SET expires_at = now() - interval '2 days' WHERE id IN (SELECT id FROM staff_ceremonies ORDER BY created_at LIMIT 1)`, []);
      assert.ok((await api.runtime.services.staff.sweep(100)) >= 2);
      const { rows: left } = await sql(`SELECT count(*)::int8 AS count FROM staff_sessions WHERE token_digest = $1`, [digestOf(old)]);
      assert.equal(Number((left[0] as { count: bigint }).count), 0);
    });

    it('disabling a user ends their sessions at once and stops their passkey', async () => {
      const leaver = remember(await createStaffUser(api, { merchantId: shop.merchant.id, role: 'developer' }));
      const second = remember(await signInStaffApi(api, leaver));
      assert.equal((await call('GET', '/v1/payments', leaver.token)).statusCode, 200);
      const disabled = await call('POST', `/v1/staff/users/${leaver.id}/disable`, owner.token, {});
      assert.equal(disabled.statusCode, 200, disabled.body);
      assert.equal(disabled.json().disabled, true);
      for (const token of [leaver.token, second.token]) assert.equal((await call('GET', '/v1/payments', token)).json().error.code, 'staff_session_invalid');
      await assert.rejects(signInStaffApi(api, leaver), /passkey_verification_failed/);
      // The team list shows them disabled.
      const team = (await call('GET', '/v1/staff/users', owner.token)).json();
      assert.equal(team.data.find((user: { id: string }) => user.id === leaver.id).disabled, true);
      // Another merchant's owner cannot see or touch them.
      const stranger = remember(await createStaffUser(api, { merchantId: other.merchant.id, role: 'owner' }));
      assert.equal((await call('POST', `/v1/staff/users/${owner.id}/disable`, stranger.token, {})).statusCode, 404);
      assert.ok(!(await call('GET', '/v1/staff/users', stranger.token)).json().data.some((user: { id: string }) => user.id === owner.id));
    });

    it('lets owners and admins invite into their own merchant only, and keeps one owner', async () => {
      const admin = remember(await createStaffUser(api, { merchantId: shop.merchant.id, role: 'admin' }));
      const invite = (token: string, body: Record<string, unknown>) => call('POST', '/v1/staff/invitations', token, { email: `p-${Math.random().toString(36).slice(2, 8)}@example.com`, ...body });
      const developer = await invite(admin.token, { role: 'developer' });
      assert.equal(developer.statusCode, 200, developer.body);
      assert.equal(developer.json().merchant_id, shop.merchant.id);
      secrets.push(new URL(developer.json().url).hash.slice('#invite='.length));
      assert.equal((await invite(admin.token, { role: 'owner' })).json().error.code, 'staff_role_forbidden');
      assert.equal((await invite(owner.token, { role: 'owner' })).statusCode, 200);
      assert.equal((await invite(owner.token, { role: 'developer', merchant: other.merchant.id })).json().error.code, 'staff_role_forbidden');
      // Merchants never create operator users: operator roles are not merchant roles.
      const operatorRole = await invite(owner.token, { role: 'risk_analyst' });
      assert.equal(operatorRole.statusCode, 400);
      assert.equal(operatorRole.json().error.param, 'role');
      // An API key of the merchant cannot manage staff; an analyst has no team:write.
      assert.equal((await invite(shop.merchant.secretKey, { role: 'developer' })).json().error.code, 'staff_session_required');
      const analyst = remember(await createStaffUser(api, { merchantId: shop.merchant.id, role: 'analyst' }));
      assert.equal((await invite(analyst.token, { role: 'developer' })).json().error.code, 'staff_permission_missing');
      assert.equal((await call('GET', '/v1/staff/users', analyst.token)).statusCode, 200);
      // An admin cannot demote or disable an owner; the last owner cannot leave.
      assert.equal((await call('POST', `/v1/staff/users/${owner.id}/role`, admin.token, { role: 'analyst' })).json().error.code, 'staff_role_forbidden');
      assert.equal((await call('POST', `/v1/staff/users/${owner.id}/disable`, admin.token, {})).json().error.code, 'staff_role_forbidden');
      assert.equal((await call('POST', `/v1/staff/users/${owner.id}/role`, owner.token, { role: 'admin' })).json().error.code, 'staff_last_owner');
      // A role change applies to open sessions at once.
      const changed = await call('POST', `/v1/staff/users/${analyst.id}/role`, owner.token, { role: 'finance' });
      assert.equal(changed.json().role, 'finance');
      assert.ok((await call('GET', '/v1/staff/me', analyst.token)).json().permissions.includes('refunds:write'));
      // An email already in the team is refused.
      assert.equal((await invite(owner.token, { role: 'analyst', email: admin.email })).json().error.code, 'staff_user_exists');
    });

    it("does not let an admin cancel an owner's pending invitation by inviting the address again", async () => {
      const admin = remember(await createStaffUser(api, { merchantId: shop.merchant.id, role: 'admin' }));
      const email = `future-owner-${Math.random().toString(36).slice(2, 8)}@example.com`;
      const ownerInvitation = await call('POST', '/v1/staff/invitations', owner.token, { email, role: 'owner' });
      assert.equal(ownerInvitation.statusCode, 200, ownerInvitation.body);
      secrets.push(new URL(ownerInvitation.json().url).hash.slice('#invite='.length));
      const again = await call('POST', '/v1/staff/invitations', admin.token, { email, role: 'analyst' });
      assert.equal(again.statusCode, 403, again.body);
      assert.equal(again.json().error.code, 'staff_role_forbidden');
      assert.equal(again.json().error.param, 'email');
      // The owner's invitation is still pending, and the admin cannot revoke it directly either.
      const pending = (await call('GET', '/v1/staff/invitations', admin.token)).json().data.filter((invitation: { email: string }) => invitation.email === email);
      assert.deepEqual(pending.map((invitation: { id: string; role: string }) => [invitation.id, invitation.role]), [[ownerInvitation.json().id, 'owner']]);
      assert.equal((await call('POST', `/v1/staff/invitations/${ownerInvitation.json().id}/revoke`, admin.token, {})).json().error.code, 'staff_role_forbidden');
      // An owner may replace it; an admin may replace an invitation of a lower role.
      const replaced = await call('POST', '/v1/staff/invitations', owner.token, { email, role: 'analyst' });
      assert.equal(replaced.statusCode, 200, replaced.body);
      secrets.push(new URL(replaced.json().url).hash.slice('#invite='.length));
      const byAdmin = await call('POST', '/v1/staff/invitations', admin.token, { email, role: 'finance' });
      assert.equal(byAdmin.statusCode, 200, byAdmin.body);
      secrets.push(new URL(byAdmin.json().url).hash.slice('#invite='.length));
      const left = (await call('GET', '/v1/staff/invitations', owner.token)).json().data.filter((invitation: { email: string }) => invitation.email === email);
      assert.deepEqual(left.map((invitation: { role: string }) => invitation.role), ['finance']);
    });

    it('lets a staff session create or roll a secret write key only with every permission such a key holds', async () => {
      const developer = remember(await createStaffUser(api, { merchantId: shop.merchant.id, role: 'developer' }));
      const admin = remember(await createStaffUser(api, { merchantId: shop.merchant.id, role: 'admin' }));
      const live = { 'micropay-livemode': 'true' };
      for (const [body, headers] of [[{ type: 'secret' }, undefined], [{ type: 'secret', scope: 'write' }, undefined], [{ type: 'secret', scope: 'write' }, live]] as const) {
        const refused = await call('POST', '/v1/api_keys', developer.token, body, headers);
        assert.equal(refused.statusCode, 403, refused.body);
        assert.equal(refused.json().error.code, 'staff_permission_missing');
        assert.equal(refused.json().error.param, 'scope');
        assert.match(refused.json().error.message, /developer/);
      }
      const readKey = await call('POST', '/v1/api_keys', developer.token, { type: 'secret', scope: 'read' }, live);
      assert.equal(readKey.statusCode, 200, readKey.body);
      assert.equal(readKey.json().scope, 'read');
      assert.equal(readKey.json().livemode, true);
      const publishable = await call('POST', '/v1/api_keys', developer.token, { type: 'publishable' });
      assert.equal(publishable.statusCode, 200, publishable.body);
      // The read key cannot reach what the developer's role forbids.
      const payoutSettings = await staffCall(api, 'POST', '/v1/payout_settings', { key: readKey.json().secret, body: {} });
      assert.equal(payoutSettings.statusCode, 403, payoutSettings.body);
      // Owners and admins hold every permission of a write key.
      for (const token of [owner.token, admin.token]) {
        const writeKey = await call('POST', '/v1/api_keys', token, { type: 'secret' });
        assert.equal(writeKey.statusCode, 200, writeKey.body);
        assert.equal(writeKey.json().scope, 'write');
      }
      // Rolling a write key issues a new write secret: the same rule. A read key rolls.
      const writeKey = (await call('POST', '/v1/api_keys', owner.token, { type: 'secret', name: 'server' })).json();
      const rolled = await call('POST', `/v1/api_keys/${writeKey.id}/roll`, developer.token, {});
      assert.equal(rolled.statusCode, 403, rolled.body);
      assert.equal(rolled.json().error.code, 'staff_permission_missing');
      const readRolled = await call('POST', `/v1/api_keys/${readKey.json().id}/roll`, developer.token, {}, live);
      assert.equal(readRolled.statusCode, 200, readRolled.body);
      assert.equal(readRolled.json().scope, 'read');
      assert.equal((await call('POST', `/v1/api_keys/${writeKey.id}/roll`, admin.token, {})).statusCode, 200);
    });

    it('applies the permission table to HEAD requests as to their GET', async () => {
      const analyst = remember(await createStaffUser(api, { merchantId: shop.merchant.id, role: 'analyst' }));
      const developer = remember(await createStaffUser(api, { merchantId: shop.merchant.id, role: 'developer' }));
      const head = (token: string, url: string) => api.app.inject({ method: 'HEAD', url, remoteAddress: testClientAddress(), headers: { authorization: `Bearer ${token}` } });
      const refused = await head(analyst.token, '/v1/webhook_endpoints');
      assert.equal(refused.statusCode, 403);
      assert.equal((await head(analyst.token, '/v1/api_keys')).statusCode, 403);
      assert.equal((await head(developer.token, '/v1/webhook_endpoints')).statusCode, 200);
      assert.equal((await head(analyst.token, '/v1/payments')).statusCode, 200);
    });

    it('checks a role change or a disable again on the locked, fresh row of its target', async () => {
      const merchant = await api.createMerchant({ feeBps: 0, feeFixed: {} });
      const first = remember(await createStaffUser(api, { merchantId: merchant.id, role: 'owner' }));
      const second = remember(await createStaffUser(api, { merchantId: merchant.id, role: 'admin' }));
      const third = remember(await createStaffUser(api, { merchantId: merchant.id, role: 'finance' }));
      const plain = api.runtime.services.staff;
      const system: StaffActor = { kind: 'system', name: 'cli' };
      // A service whose read of the target (before its transaction) lets another change run right after.
      let interleave: { userId: string; run: () => Promise<void> } | null = null;
      const db = api.runtime.db;
      const racing = new Proxy(db, {
        get(target, property, receiver) {
          if (property !== 'query') return Reflect.get(target, property, receiver);
          return async (text: string, values?: unknown[]) => {
            const result = await target.query(text, values);
            const pending = interleave;
            if (pending && /FROM staff_users WHERE id = \$1$/.test(text) && values?.[0] === pending.userId) {
              interleave = null;
              await pending.run();
            }
            return result;
          };
        },
      }) as Database;
      const staff = createStaffService({ db: racing, publicUrl: 'http://localhost:3000', webauthn: { rpId: 'localhost', rpName: 'Micropay', origins: [] }, merchantName: async () => 'Shop' });
      const ok = <T extends { ok: boolean }>(result: T) => {
        assert.ok(result.ok, JSON.stringify(result));
        return result;
      };

      // Disabling the admin, who meanwhile became an owner while the other owner stepped down: the last owner stays.
      interleave = {
        userId: second.id,
        run: async () => {
          ok(await plain.changeRole(system, second.id, 'owner'));
          ok(await plain.changeRole(system, first.id, 'admin'));
        },
      };
      const disabled = await staff.disable(system, second.id);
      assert.equal(interleave, null, 'the interleaved change ran');
      assert.deepEqual(disabled, { ok: false, code: 'staff_last_owner', message: 'The merchant must keep at least one active owner.', param: 'id' });

      // An admin changing a user who meanwhile became an owner: refused, as for an owner read beforehand.
      const admin: StaffActor = {
        kind: 'staff',
        merchantId: merchant.id,
        identity: { userId: first.id, sessionId: 'sses_test', signedInAt: new Date(), email: first.email, role: 'admin', app: 'dashboard', permissions: permissionsOf('dashboard', 'admin') },
      };
      interleave = { userId: third.id, run: async () => void ok(await plain.changeRole(system, third.id, 'owner')) };
      const demoted = await staff.changeRole(admin, third.id, 'analyst');
      assert.equal(interleave, null, 'the interleaved change ran');
      assert.equal(demoted.ok ? 'changed' : demoted.code, 'staff_role_forbidden');
      interleave = { userId: third.id, run: async () => void ok(await plain.disable(system, third.id)) };
      const afterDisable = await staff.changeRole(system, third.id, 'analyst');
      assert.equal(afterDisable.ok ? 'changed' : afterDisable.code, 'resource_missing');
      const { rows } = await sql(`SELECT count(*)::int8 AS owners FROM staff_users WHERE merchant_id = $1 AND role = 'owner' AND disabled_at IS NULL`, [merchant.id]);
      assert.equal(Number((rows[0] as { owners: bigint }).owners), 1);
    });

    it('keeps an active owner when the last two owners are demoted or disabled at once', async () => {
      const merchant = await api.createMerchant({ feeBps: 0, feeFixed: {} });
      const first = remember(await createStaffUser(api, { merchantId: merchant.id, role: 'owner' }));
      const second = remember(await createStaffUser(api, { merchantId: merchant.id, role: 'owner' }));
      const change = (id: string, round: number) =>
        round % 2 === 0
          ? staffCall(api, 'POST', `/v1/staff/users/${id}/disable`, { key: api.operatorKey, body: {} })
          : staffCall(api, 'POST', `/v1/staff/users/${id}/role`, { key: api.operatorKey, body: { role: 'admin' } });
      for (let round = 0; round < 6; round += 1) {
        const answers = await Promise.all([change(first.id, round), change(second.id, round + (round >> 1))]);
        assert.deepEqual(answers.map((answer) => answer.statusCode).sort(), [200, 409], answers.map((answer) => answer.body).join('\n'));
        assert.equal(answers.find((answer) => answer.statusCode === 409)!.json().error.code, 'staff_last_owner');
        const { rows } = await sql(`SELECT count(*)::int8 AS owners FROM staff_users WHERE merchant_id = $1 AND role = 'owner' AND disabled_at IS NULL`, [merchant.id]);
        assert.equal(Number((rows[0] as { owners: bigint }).owners), 1, `round ${round}`);
        await sql(`UPDATE staff_users SET role = 'owner', disabled_at = NULL WHERE merchant_id = $1`, [merchant.id]);
      }
    });

    it('replays an invitation by its Idempotency-Key without its link', async () => {
      const headers = { 'idempotency-key': `invite-${Math.random()}` };
      const body = { email: 'replayed@example.com', role: 'analyst' };
      const first = await call('POST', '/v1/staff/invitations', owner.token, body, headers);
      const second = await call('POST', '/v1/staff/invitations', owner.token, body, headers);
      assert.equal(first.statusCode, 200, first.body);
      secrets.push(new URL(first.json().url).hash.slice('#invite='.length));
      assert.equal(second.headers['idempotent-replayed'], 'true');
      assert.equal(second.json().id, first.json().id);
      assert.equal(second.json().url, '[redacted]');
    });

    it('lets the operator admin invite operators, and operator staff use the console routes only', async () => {
      const admin = remember(await createStaffUser(api, { merchantId: null, role: 'admin' }));
      const me = (await call('GET', '/v1/staff/me', admin.token)).json();
      assert.equal(me.app, 'console');
      assert.equal(me.merchant_id, null);
      const invited = await call('POST', '/v1/staff/invitations', admin.token, { email: 'viewer@example.com', role: 'viewer' });
      assert.equal(invited.statusCode, 200, invited.body);
      assert.match(invited.json().url, /\/console\/#invite=msi_/);
      assert.equal((await call('GET', '/v1/merchants', admin.token)).statusCode, 200);
      assert.equal((await call('GET', '/v1/payments', admin.token)).json().error.code, 'staff_route_not_allowed');
      assert.equal((await call('GET', '/v1/merchants', owner.token)).json().error.code, 'staff_route_not_allowed');
      // Merchant staff never reach buyer routes, even with a buyer's session header.
      const buyerRoute = await call('GET', '/v1/buyer/me', owner.token);
      assert.equal(buyerRoute.statusCode, 403);
      assert.equal(buyerRoute.json().error.code, 'staff_route_not_allowed');
    });

    it('enforces roles on merchant routes: analyst, finance, developer, support; and tenants stay apart', async () => {
      const payment = await pay(api, shop, 500);
      const analyst = remember(await createStaffUser(api, { merchantId: shop.merchant.id, role: 'analyst' }));
      const finance = remember(await createStaffUser(api, { merchantId: shop.merchant.id, role: 'finance' }));
      const developer = remember(await createStaffUser(api, { merchantId: shop.merchant.id, role: 'developer' }));
      const support = remember(await createStaffUser(api, { merchantId: shop.merchant.id, role: 'support' }));

      assert.equal((await call('GET', `/v1/payments/${payment.id}`, analyst.token)).statusCode, 200);
      const refused = await call('POST', '/v1/refunds', analyst.token, { payment: payment.id, amount: 100 });
      assert.equal(refused.statusCode, 403);
      assert.equal(refused.json().error.code, 'staff_permission_missing');
      assert.match(refused.json().error.message, /refunds:write/);
      const refunded = await call('POST', '/v1/refunds', finance.token, { payment: payment.id, amount: 100 });
      assert.equal(refunded.statusCode, 200, refunded.body);

      const endpoint = await call('POST', '/v1/webhook_endpoints', developer.token, { url: 'https://example.com/hooks', enabled_events: ['payment.succeeded'] });
      assert.equal(endpoint.statusCode, 200, endpoint.body);
      assert.equal((await call('POST', '/v1/webhook_endpoints', support.token, { url: 'https://example.com/h2', enabled_events: ['payment.succeeded'] })).json().error.code, 'staff_permission_missing');

      // Support answers a buyer's ticket (an analyst may read it, not answer); support creates no API keys.
      const buyer = await signUpBuyer(api, shop.merchant.publishableKey);
      const customer = await api.runtime.services.customers.findOrCreateForBuyer({ merchantId: shop.merchant.id, livemode: false }, buyer.id);
      await api.fundWallet(shop.merchant, customer.id, 10_000n, 'USD');
      const bought = await pay(api, shop, 250, customer.id);
      const ticket = await staffCall(api, 'POST', '/v1/buyer/tickets', {
        key: shop.merchant.publishableKey, headers: buyer.headers, body: { payment: bought.id, subject: 'Where is my file?', message: 'The download fails.' },
      });
      assert.equal(ticket.statusCode, 200, ticket.body);
      const ticketId = ticket.json().id;
      assert.equal((await call('GET', `/v1/support/tickets/${ticketId}`, analyst.token)).statusCode, 200);
      assert.equal((await call('POST', `/v1/support/tickets/${ticketId}/messages`, analyst.token, { message: 'Hello' })).json().error.code, 'staff_permission_missing');
      const answered = await call('POST', `/v1/support/tickets/${ticketId}/messages`, support.token, { message: 'Here is a new link.' });
      assert.equal(answered.statusCode, 200, answered.body);
      assert.ok(JSON.stringify(answered.json()).includes('Here is a new link.'));
      assert.equal((await call('POST', '/v1/api_keys', support.token, { type: 'secret' })).json().error.code, 'staff_permission_missing');
      assert.equal((await call('POST', '/v1/api_keys', developer.token, { type: 'secret', scope: 'read' })).statusCode, 200);

      // Another merchant's staff cannot see this merchant's payment.
      const stranger = await staffToken(api, { merchantId: other.merchant.id, role: 'owner' });
      secrets.push(stranger);
      assert.equal((await call('GET', `/v1/payments/${payment.id}`, stranger)).statusCode, 404);
      const theirs = (await call('GET', '/v1/payments?limit=100', stranger)).json();
      assert.ok(!theirs.data.some((item: { id: string }) => item.id === payment.id));
    });

    it('acts on live data only with Micropay-Livemode: true', async () => {
      const live = await staffCall(api, 'POST', '/v1/customers', { key: shop.merchant.liveSecretKey, body: { name: 'Live buyer' } });
      assert.equal(live.statusCode, 200, live.body);
      const liveId = live.json().id;
      const testList = (await call('GET', '/v1/customers?limit=100', owner.token)).json();
      assert.ok(!testList.data.some((customer: { id: string }) => customer.id === liveId));
      const liveList = (await call('GET', '/v1/customers?limit=100', owner.token, undefined, { 'micropay-livemode': 'true' })).json();
      assert.ok(liveList.data.some((customer: { id: string }) => customer.id === liveId));
      assert.equal((await call('GET', '/v1/staff/me', owner.token, undefined, { 'micropay-livemode': 'true' })).json().livemode, true);
      const bad = await call('GET', '/v1/staff/me', owner.token, undefined, { 'micropay-livemode': 'yes' });
      assert.equal(bad.statusCode, 400);
      assert.equal(bad.json().error.param, 'Micropay-Livemode');
      // API keys are not changed by the header.
      assert.equal((await staffCall(api, 'GET', '/v1/customers', { key: shop.merchant.secretKey, headers: { 'micropay-livemode': 'true' } })).json().data.some((customer: { id: string }) => customer.id === liveId), false);
    });

    it('lets only deciding operator roles decide disputes', async () => {
      const payment = await pay(api, shop, 300);
      const opened = await staffCall(api, 'POST', '/v1/disputes', { key: api.testOperatorKey, body: { payment: payment.id, reason: DISPUTE_REASONS[0] } });
      assert.equal(opened.statusCode, 200, opened.body);
      const viewer = await staffToken(api, { merchantId: null, role: 'viewer' });
      const analyst = await staffToken(api, { merchantId: null, role: 'risk_analyst' });
      secrets.push(viewer, analyst);
      const refused = await call('POST', `/v1/disputes/${opened.json().id}/decide`, viewer, { outcome: 'won' });
      assert.equal(refused.statusCode, 403);
      assert.equal(refused.json().error.code, 'staff_permission_missing');
      assert.match(refused.json().error.message, /disputes:decide/);
      const decided = await call('POST', `/v1/disputes/${opened.json().id}/decide`, analyst, { outcome: 'won' });
      assert.equal(decided.statusCode, 200, decided.body);
      assert.equal((await call('POST', '/v1/staff/invitations', viewer, { email: 'x@example.com', role: 'viewer' })).json().error.code, 'staff_permission_missing');
    });

    it('rate-limits passkey ceremonies per client address', async () => {
      const address = testClientAddress();
      for (let attempt = 0; attempt < STAFF_CEREMONIES_PER_CLIENT_MAX; attempt += 1) {
        assert.equal((await staffCall(api, 'POST', '/v1/staff/sign_in/options', { body: {}, remoteAddress: address })).statusCode, 200);
      }
      const limited = await staffCall(api, 'POST', '/v1/staff/sign_in/options', { body: {}, remoteAddress: address });
      assert.equal(limited.statusCode, 429);
      assert.equal(limited.json().error.code, 'staff_sign_in_rate_limited');
      assert.equal((await staffCall(api, 'POST', '/v1/staff/sign_in/options', { body: {} })).statusCode, 200);
    });

    it('never answers a staff session of any role with a 5xx, on any route', async () => {
      const document = (await api.app.inject({ method: 'GET', url: '/openapi.json' })).json() as { paths: Record<string, Record<string, unknown>> };
      const tokens = [owner.token, await staffToken(api, { merchantId: shop.merchant.id, role: 'analyst' }), await staffToken(api, { merchantId: null, role: 'viewer' })];
      secrets.push(...tokens);
      let requests = 0;
      for (const [template, methods] of Object.entries(document.paths)) {
        if (!template.startsWith('/v1/') || template.startsWith('/v1/staff/')) continue;
        for (const method of Object.keys(methods)) {
          const url = template.replace(/\{[^}]+\}/g, 'x_missing');
          for (const token of tokens) {
            const response = await api.app.inject({ method: method.toUpperCase() as 'GET', url, headers: { authorization: `Bearer ${token}` }, ...(method === 'get' || method === 'delete' ? {} : { payload: {} }) });
            requests += 1;
            assert.ok(response.statusCode < 500, `${method.toUpperCase()} ${url}: ${response.statusCode} ${response.body}`);
            if (response.statusCode >= 400) assert.equal(typeof response.json().error.code, 'string');
          }
        }
      }
      assert.ok(requests > 100);
    });

    it('names only real routes in the permission table', async () => {
      for (const route of Object.keys(ROUTE_PERMISSIONS)) {
        const [method, url] = route.split(' ') as ['GET' | 'POST' | 'PUT' | 'DELETE', string];
        assert.ok(api.app.hasRoute({ method, url }), `${route} is not a route`);
      }
    });

    it('never logs a session or invitation token', () => {
      assert.ok(secrets.length > 10);
      const log = captured.lines.join('');
      assert.ok(log.length > 0);
      for (const secret of secrets) assert.ok(!log.includes(secret), 'a token appears in the log');
      assert.ok(!/mss_[0-9A-Za-z]{20}/.test(log) && !/msi_[0-9A-Za-z]{20}/.test(log));
    });
  });
}
