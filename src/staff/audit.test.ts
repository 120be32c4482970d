// The staff audit log (docs/api/staff.md, "Audit log") on both stores: changes and sign-ins are
// recorded with who, what, outcome and address; refused attempts too; reads and API-key calls are not;
// a team sees only its own log, and only owners and admins (and the operator's admins) read it.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { STORE_KINDS } from '../../test/support/stores.ts';
import { startTestApi, type TestApi } from '../../test/support/api.ts';
import { openShop, pay, type Shop } from '../../test/support/refund-fixtures.ts';
import { createStaffUser, signInStaffApi, staffCall, type TestStaff } from '../../test/support/staff.ts';
import { createAuditLog, listAuditEvents, sweepAuditEvents } from './audit.ts';

interface AuditEventJson {
  id: string;
  object: string;
  livemode: boolean;
  user: { id: string; email: string };
  role: string;
  action: string;
  path: string;
  outcome: string;
  status: number | null;
  error_code: string | null;
  request_id: string;
  ip_address: string | null;
  created: number;
}

for (const kind of STORE_KINDS) {
  describe(`the staff audit log on ${kind}`, () => {
    let api: TestApi;
    let shop: Shop;
    let owner: TestStaff;
    let analyst: TestStaff;
    let operatorAdmin: TestStaff;

    before(async () => {
      api = await startTestApi(kind);
      shop = await openShop(api);
      owner = await createStaffUser(api, { merchantId: shop.merchant.id, role: 'owner' });
      analyst = await createStaffUser(api, { merchantId: shop.merchant.id, role: 'analyst' });
      operatorAdmin = await createStaffUser(api, { merchantId: null, role: 'admin' });
    });
    after(async () => {
      await api?.close();
    });

    async function auditLog(staff: TestStaff, query = ''): Promise<{ data: AuditEventJson[]; has_more: boolean }> {
      const response = await staffCall(api, 'GET', `/v1/staff/audit_events${query}`, { key: staff.token });
      assert.equal(response.statusCode, 200, response.body);
      return response.json();
    }

    it("records a staff user's change with who, what, outcome, request and address, and not their reads", async () => {
      const payment = await pay(api, shop, 700);
      const before = (await auditLog(owner)).data.length;
      const refund = await staffCall(api, 'POST', '/v1/refunds', { key: owner.token, body: { payment: payment.id, amount: 100 }, remoteAddress: '127.9.8.7' });
      assert.equal(refund.statusCode, 200, refund.body);
      assert.equal((await staffCall(api, 'GET', '/v1/payments', { key: owner.token })).statusCode, 200);
      const { data } = await auditLog(owner);
      assert.equal(data.length, before + 1, 'one event: the refund; the reads are not recorded');
      const [event] = data;
      assert.match(event!.id, /^sae_/);
      assert.deepEqual(
        { ...event, id: undefined, created: undefined, request_id: undefined },
        {
          id: undefined, object: 'staff_audit_event', livemode: false, user: { id: owner.id, email: owner.email }, role: 'owner',
          action: 'POST /v1/refunds', path: '/v1/refunds', outcome: 'succeeded', status: 200, error_code: null,
          request_id: undefined, ip_address: '127.9.8.7', created: undefined,
        },
      );
      assert.equal(event!.request_id, refund.headers['request-id'] ?? event!.request_id);
      assert.ok(Math.abs(event!.created - Date.now() / 1000) < 60);
    });

    it('does not record a POST that changes nothing (a rule back-test)', async () => {
      const before = (await auditLog(operatorAdmin)).data.length;
      const backtest = await staffCall(api, 'POST', '/v1/risk/rules/backtest', { key: operatorAdmin.token, body: { source: 'block if :amount: > 1' } });
      assert.equal(backtest.statusCode, 200, backtest.body);
      assert.equal((await auditLog(operatorAdmin)).data.length, before);
    });

    it('records a refused attempt with its error code, under the person who tried', async () => {
      const payment = await pay(api, shop, 500);
      const refused = await staffCall(api, 'POST', `/v1/payments/${payment.id}/cancel`, { key: analyst.token, body: {} });
      assert.equal(refused.statusCode, 403);
      const { data } = await auditLog(owner, `?user=${analyst.id}`);
      // The analyst's passkey enrollment, then the refused attempt.
      assert.deepEqual(data.map((event) => event.action).slice(1), ['POST /v1/staff/enrollment/verify']);
      assert.equal(data[0]!.action, 'POST /v1/payments/:id/cancel');
      assert.equal(data[0]!.path, `/v1/payments/${payment.id}/cancel`);
      assert.equal(data[0]!.outcome, 'refused');
      assert.equal(data[0]!.status, 403);
      assert.equal(data[0]!.error_code, 'staff_permission_missing');
      assert.equal(data[0]!.role, 'analyst');
    });

    it('records sign-ins and sign-outs', async () => {
      const signedIn = await signInStaffApi(api, owner);
      const out = await staffCall(api, 'POST', '/v1/staff/sign_out', { key: signedIn.token, body: {} });
      assert.equal(out.statusCode, 200, out.body);
      const actions = (await auditLog(owner, `?user=${owner.id}&limit=2`)).data.map((event) => event.action);
      assert.deepEqual(actions, ['POST /v1/staff/sign_out', 'POST /v1/staff/sign_in/verify']);
    });

    it('does not record calls made with API keys', async () => {
      const before = (await auditLog(owner)).data.map((event) => event.id);
      await pay(api, shop, 300);
      assert.deepEqual((await auditLog(owner)).data.map((event) => event.id), before);
    });

    it('is read by owners and admins only, each team its own; the operator reads its own or names a merchant', async () => {
      const refused = await staffCall(api, 'GET', '/v1/staff/audit_events', { key: analyst.token });
      assert.equal(refused.statusCode, 403);
      assert.equal(refused.json().error.code, 'staff_permission_missing');
      assert.match(refused.json().error.message, /audit:read/);

      const other = await openShop(api);
      const otherOwner = await createStaffUser(api, { merchantId: other.merchant.id, role: 'owner' });
      assert.deepEqual(
        (await auditLog(otherOwner)).data.map((event) => [event.action, event.user.id]),
        [['POST /v1/staff/enrollment/verify', otherOwner.id]],
        "another merchant's owner sees only their own team's events",
      );
      const peeking = await staffCall(api, 'GET', `/v1/staff/audit_events?merchant=${shop.merchant.id}`, { key: otherOwner.token });
      assert.equal(peeking.statusCode, 403);

      const invited = await staffCall(api, 'POST', '/v1/staff/invitations', { key: operatorAdmin.token, body: { email: 'risk@example.com', role: 'risk_analyst' } });
      assert.equal(invited.statusCode, 200, invited.body);
      const operatorLog = await auditLog(operatorAdmin);
      assert.deepEqual(operatorLog.data.map((event) => [event.action, event.user.email]), [
        ['POST /v1/staff/invitations', operatorAdmin.email],
        ['POST /v1/staff/enrollment/verify', operatorAdmin.email],
      ]);
      const merchantLog = await auditLog(operatorAdmin, `?merchant=${shop.merchant.id}`);
      assert.ok(merchantLog.data.length >= 4);
      assert.ok(merchantLog.data.every((event) => [owner.id, analyst.id].includes(event.user.id)));
    });

    it('writes a change ahead: the event is unknown until the answer, and stays unknown if no answer is recorded', async () => {
      const log = createAuditLog(api.runtime.db);
      const actor = { userId: owner.id, email: owner.email, role: 'owner' as const, merchantId: shop.merchant.id, livemode: false };
      const id = await log.begin({ actor, action: 'POST /v1/refunds', path: '/v1/refunds', requestId: 'req_ahead', ipAddress: null });
      const ahead = (await auditLog(owner)).data.find((event) => event.id === id)!;
      assert.deepEqual([ahead.outcome, ahead.status, ahead.error_code], ['unknown', null, null], 'what a process killed mid-change leaves');
      await log.end(id, 402, 'balance_insufficient');
      const ended = (await listAuditEvents(api.runtime.db, { merchantId: shop.merchant.id, limit: 100 })).data.find((event) => event.id === id)!;
      assert.deepEqual([ended.outcome, ended.statusCode, ended.errorCode], ['refused', 402, 'balance_insufficient']);
      await log.end(id, 200, null);
      const once = (await listAuditEvents(api.runtime.db, { merchantId: shop.merchant.id, limit: 100 })).data.find((event) => event.id === id)!;
      assert.equal(once.outcome, 'refused', 'an event is completed once');
    });

    it('refuses a change whose audit event cannot be written, and makes no change', async () => {
      const payment = await pay(api, shop, 400);
      await api.runtime.db.query(`ALTER TABLE staff_audit_events ADD CONSTRAINT audit_test_block CHECK (action <> 'POST /v1/refunds') NOT VALID`);
      try {
        const refused = await staffCall(api, 'POST', '/v1/refunds', { key: owner.token, body: { payment: payment.id, amount: 100 } });
        assert.equal(refused.statusCode, 503, refused.body);
        assert.equal(refused.json().error.code, 'audit_unavailable');
      } finally {
        await api.runtime.db.query(`ALTER TABLE staff_audit_events DROP CONSTRAINT audit_test_block`);
      }
      const { rows } = await api.runtime.db.query<{ count: string }>(`SELECT count(*)::text AS count FROM refunds WHERE payment_id = $1`, [payment.id]);
      assert.equal(rows[0]!.count, '0', 'no refund was made');
      const retried = await staffCall(api, 'POST', '/v1/refunds', { key: owner.token, body: { payment: payment.id, amount: 100 } });
      assert.equal(retried.statusCode, 200, retried.body);
      assert.equal((await auditLog(owner)).data[0]!.outcome, 'succeeded');
    });

    it('pages newest first with starting_after, and the sweep deletes only events past the retention', async () => {
      for (let index = 0; index < 3; index += 1) {
        const response = await staffCall(api, 'POST', '/v1/webhook_endpoints', { key: owner.token, body: { url: `https://example.com/hook/${index}`, enabled_events: ['*'] } });
        assert.equal(response.statusCode, 200, response.body);
      }
      const first = await auditLog(owner, '?limit=2');
      assert.equal(first.has_more, true);
      const second = await auditLog(owner, `?limit=2&starting_after=${first.data[1]!.id}`);
      const all = (await auditLog(owner, '?limit=100')).data;
      assert.deepEqual([...first.data, ...second.data].map((event) => event.id), all.slice(0, 4).map((event) => event.id));
      assert.deepEqual(all.map((event) => event.created), [...all.map((event) => event.created)].sort((a, b) => b - a));

      const oldest = all.at(-1)!;
      await api.runtime.db.query(`UPDATE staff_audit_events SET created_at = now() - interval '401 days' WHERE id = $1`, [oldest.id]);
      assert.equal(await sweepAuditEvents(api.runtime.db, 100), 1);
      const kept = (await auditLog(owner, '?limit=100')).data.map((event) => event.id);
      assert.deepEqual(kept, all.slice(0, -1).map((event) => event.id));
    });
  });
}
