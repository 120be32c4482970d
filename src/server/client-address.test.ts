// The client address behind a load balancer (TRUST_PROXY, docs/operations.md): it is what per-address
// rate limits and the risk engine's address signals count, so a forwarding header is believed only from
// the configured proxies. Seen here through the staff sign-in limit of 30 ceremonies per address.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startTestApi, type TestApi } from '../../test/support/api.ts';
import { staffCall } from '../../test/support/staff.ts';
import { STAFF_CEREMONIES_PER_CLIENT_MAX } from '../staff/model.ts';

const PROXY = '10.1.2.3';

async function useUpBudget(api: TestApi, headers: Record<string, string>): Promise<void> {
  for (let attempt = 0; attempt < STAFF_CEREMONIES_PER_CLIENT_MAX; attempt += 1) {
    const response = await staffCall(api, 'POST', '/v1/staff/sign_in/options', { body: {}, remoteAddress: PROXY, headers });
    assert.equal(response.statusCode, 200, response.body);
  }
}

const signInFrom = (api: TestApi, forwardedFor: string) =>
  staffCall(api, 'POST', '/v1/staff/sign_in/options', { body: {}, remoteAddress: PROXY, headers: { 'x-forwarded-for': forwardedFor } });

describe('the client address behind a proxy', () => {
  let direct: TestApi;
  let proxied: TestApi;
  before(async () => {
    [direct, proxied] = await Promise.all([startTestApi('pglite'), startTestApi('pglite', { env: { TRUST_PROXY: '10.0.0.0/8' } })]);
  });
  after(async () => {
    await Promise.all([direct?.close(), proxied?.close()]);
  });

  it('without TRUST_PROXY a forwarding header is ignored: naming another address does not escape the limit', async () => {
    await useUpBudget(direct, { 'x-forwarded-for': '198.51.100.1' });
    const response = await signInFrom(direct, '198.51.100.2');
    assert.equal(response.statusCode, 429);
    assert.equal(response.json().error.code, 'staff_sign_in_rate_limited');
  });

  it('from a trusted proxy each forwarded client has its own budget, and the proxy itself is not the client', async () => {
    await useUpBudget(proxied, { 'x-forwarded-for': '198.51.100.1' });
    assert.equal((await signInFrom(proxied, '198.51.100.1')).statusCode, 429);
    assert.equal((await signInFrom(proxied, '198.51.100.2')).statusCode, 200);
    // A client cannot prepend an address of its choice: the proxy appends the real one, which is used.
    assert.equal((await signInFrom(proxied, '203.0.113.50, 198.51.100.1')).statusCode, 429);
  });
});
