// A staff user's own passkeys (docs/api/staff.md, "Your passkeys") on both stores: list, add a second
// one (same person at sign-in; only with a recent sign-in), revoke one (it no longer signs in, the other sessions end), never the
// last one, never someone else's.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { STORE_KINDS } from '../../test/support/stores.ts';
import { startTestApi, type TestApi } from '../../test/support/api.ts';
import { createAuthenticator } from '../../test/support/authenticator.ts';
import { testOrigin } from '../../test/support/buyers.ts';
import { createStaffUser, signInStaffApi, staffCall, type TestStaff } from '../../test/support/staff.ts';

for (const kind of STORE_KINDS) {
  describe(`staff passkeys on ${kind}`, () => {
    let api: TestApi;
    let owner: TestStaff;
    /** The second device the first test adds a passkey from. */
    let laptop: ReturnType<typeof createAuthenticator>;

    before(async () => {
      api = await startTestApi(kind);
      const merchant = await api.createMerchant();
      owner = await createStaffUser(api, { merchantId: merchant.id, role: 'owner' });
    });
    after(async () => {
      await api?.close();
    });

    const call = (staff: TestStaff, method: 'GET' | 'POST', url: string, body?: unknown) => staffCall(api, method, url, { key: staff.token, ...(body === undefined ? {} : { body }) });
    const passkeysOf = async (staff: TestStaff) => {
      const response = await call(staff, 'GET', '/v1/staff/passkeys');
      assert.equal(response.statusCode, 200, response.body);
      return response.json().data as Array<{ id: string; object: string; revoked: boolean; last_used: number | null; device_type: string }>;
    };

    it('lists the passkey made at enrollment, refuses to revoke the only one, and adds a second', async () => {
      const [first, ...others] = await passkeysOf(owner);
      assert.deepEqual(others, []);
      assert.match(first!.id, /^spk_/);
      assert.equal(first!.object, 'staff_passkey');
      assert.equal(first!.revoked, false);

      const refused = await call(owner, 'POST', `/v1/staff/passkeys/${first!.id}/revoke`, {});
      assert.equal(refused.statusCode, 409);
      assert.equal(refused.json().error.code, 'staff_last_passkey');

      const started = await call(owner, 'POST', '/v1/staff/passkeys/registration/options', {});
      assert.equal(started.statusCode, 200, started.body);
      const { registration, options } = started.json();
      assert.match(registration, /^sadd_/);
      assert.deepEqual(options.excludeCredentials.map((credential: { id: string }) => credential.id), [owner.authenticator.credentials[0]!.id]);
      assert.equal(options.authenticatorSelection.userVerification, 'required');
      // A new device: another authenticator answers.
      laptop = createAuthenticator({ origin: testOrigin(api) });
      const added = await call(owner, 'POST', '/v1/staff/passkeys/registration/verify', { registration, credential: laptop.register(options) });
      assert.equal(added.statusCode, 200, added.body);
      assert.match(added.json().id, /^spk_/);
      assert.equal(added.json().last_used, null, 'added, not used to sign in yet');
      assert.deepEqual((await passkeysOf(owner)).map((passkey) => passkey.id), [first!.id, added.json().id]);

      // The new passkey signs the same person in.
      const signedIn = await signInStaffApi(api, { ...owner, authenticator: laptop });
      const me = await call(signedIn, 'GET', '/v1/staff/me');
      assert.equal(me.json().id, owner.id);

      // A registration is used once.
      const again = await call(owner, 'POST', '/v1/staff/passkeys/registration/verify', { registration, credential: createAuthenticator({ origin: testOrigin(api) }).register(options) });
      assert.equal(again.statusCode, 400);
      assert.equal(again.json().error.code, 'ceremony_unknown');
    });

    it('adds a passkey only with a session opened in the last 10 minutes, so a stolen token cannot plant one', async () => {
      const stale = await signInStaffApi(api, owner);
      // That sign-in is the user's newest session: it was opened 11 minutes ago.
      await api.runtime.db.query(
        `UPDATE staff_sessions SET created_at = now() - interval '11 minutes'
         WHERE id = (SELECT id FROM staff_sessions WHERE user_id = $1 ORDER BY created_at DESC, id DESC LIMIT 1)`,
        [owner.id],
      );
      const refused = await call(stale, 'POST', '/v1/staff/passkeys/registration/options', {});
      assert.equal(refused.statusCode, 403, refused.body);
      assert.equal(refused.json().error.code, 'staff_sign_in_too_old');
      // The session itself still works for everything else.
      assert.equal((await call(stale, 'GET', '/v1/staff/passkeys')).statusCode, 200);
      // Signing in again opens the way.
      const fresh = await signInStaffApi(api, owner);
      assert.equal((await call(fresh, 'POST', '/v1/staff/passkeys/registration/options', {})).statusCode, 200);
    });

    it('revokes a passkey: it no longer signs in, and the other sessions end', async () => {
      const phone = owner.authenticator;
      const [old] = await passkeysOf(owner);
      const otherSession = await signInStaffApi(api, owner);
      // Sign in on the laptop (the passkey added before), and revoke the phone's passkey from there.
      const laptopSession = await signInStaffApi(api, { ...owner, authenticator: laptop });
      const revoked = await call(laptopSession, 'POST', `/v1/staff/passkeys/${old!.id}/revoke`, {});
      assert.equal(revoked.statusCode, 200, revoked.body);
      assert.equal(revoked.json().revoked, true);
      assert.equal((await passkeysOf(laptopSession)).some((passkey) => passkey.id === old!.id), false);
      // Revoking again answers the same.
      assert.equal((await call(laptopSession, 'POST', `/v1/staff/passkeys/${old!.id}/revoke`, {})).json().revoked, true);

      assert.equal((await call(otherSession, 'GET', '/v1/staff/me')).statusCode, 401, 'the other sessions ended');
      assert.equal((await call(laptopSession, 'GET', '/v1/staff/me')).statusCode, 200, 'the session that revoked stays');
      await assert.rejects(signInStaffApi(api, { ...owner, authenticator: phone }), /sign-in failed: .*passkey_verification_failed/);
      owner = laptopSession;
    });

    it("never reaches another person's passkey", async () => {
      const merchant = await api.createMerchant();
      const stranger = await createStaffUser(api, { merchantId: merchant.id, role: 'analyst' });
      const [theirs] = await passkeysOf(stranger);
      const attempt = await call(owner, 'POST', `/v1/staff/passkeys/${theirs!.id}/revoke`, {});
      assert.equal(attempt.statusCode, 404);
      assert.equal(attempt.json().error.code, 'resource_missing');
      // A registration started by one person cannot be finished by another.
      const started = await call(stranger, 'POST', '/v1/staff/passkeys/registration/options', {});
      const { registration, options } = started.json();
      const finished = await call(owner, 'POST', '/v1/staff/passkeys/registration/verify', { registration, credential: createAuthenticator({ origin: testOrigin(api) }).register(options) });
      assert.equal(finished.statusCode, 400);
      assert.equal(finished.json().error.code, 'ceremony_unknown');
      assert.equal((await passkeysOf(stranger)).length, 1);
      // Without a staff session: 401.
      assert.equal((await staffCall(api, 'GET', '/v1/staff/passkeys', { key: api.operatorKey })).statusCode, 401);
    });

  });
}
