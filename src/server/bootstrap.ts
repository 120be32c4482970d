// The first start of a development installation: an operator key and a demo merchant with test-mode
// keys, printed once and written to `<dataDir>/dev-keys.json` so a newcomer can call the API at once.
// Never in production mode: production keys are made with `micropay keys create` and shown once.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Runtime } from './runtime.ts';
import { DEMO_MERCHANTS, DEMO_SHOPS, type DemoShop } from '../demo/catalog.ts';
import { isLoopbackListenAddress } from '../config/config.ts';

export interface MerchantKeys {
  id: string;
  name: string;
  secret_key: string;
  publishable_key: string;
}

/** The merchants of the demo storefronts (/demo/news, /demo/shop, /demo/creator), with test-mode keys. */
export type DemoKeys = Record<DemoShop, MerchantKeys>;

/** Invitation links for the first staff users (each works once, for 7 days). */
export interface StaffInvitationLinks {
  /** The demo merchant's owner, at /dashboard. */
  dashboard_owner: string;
  /** The operator's admin, at /console. */
  console_admin: string;
  expires_at: string;
}

export interface DevKeys {
  operator_key: string;
  merchant: MerchantKeys;
  /** Absent in files written before the demo storefronts existed; added on the next start. */
  demo?: DemoKeys;
  /** Absent in files written before staff sign-in existed; added on the next start. */
  staff_invitations?: StaffInvitationLinks;
  /** The platform's own wallet merchant, whose publishable key /wallet is served with (buyer-wide, docs/wallet.md).
   * Absent in files written before it existed; added on the next start. */
  wallet?: MerchantKeys;
}

export const DEV_KEYS_FILE = 'dev-keys.json';

/** Creates the development keys on first start; returns them (read back from the file on later starts). */
export async function bootstrapDevelopment(runtime: Runtime): Promise<{ keys: DevKeys; path: string; created: boolean } | null> {
  if (runtime.config.mode !== 'development') return null;
  if (!isLoopbackListenAddress(runtime.config.host)) {
    // Only with MICROPAY_DEV_ALLOW_REMOTE=1 (the configuration refuses it otherwise): say so at every start.
    runtime.logger.warn(
      { host: runtime.config.host },
      'DEVELOPMENT MODE ON A NON-LOOPBACK ADDRESS (MICROPAY_DEV_ALLOW_REMOTE=1): anyone who reaches it reads every one-time code at ' +
        '/sandbox/outbox and can use the development keys printed below; never expose it beyond your own machine or a private network',
    );
  }
  const path = join(runtime.config.dataDir, DEV_KEYS_FILE);
  const { auth, merchants } = runtime.services;
  if ((await auth.listKeys(null)).length > 0) {
    if (!existsSync(path)) return null;
    const keys = JSON.parse(readFileSync(path, 'utf8')) as DevKeys;
    if (keys.demo && keys.staff_invitations && keys.wallet) return { keys, path, created: false };
    // An installation from before the demo storefronts or staff sign-in: add them now, once.
    keys.demo ??= await seedDemoMerchants(runtime);
    keys.staff_invitations ??= await inviteFirstStaff(runtime, keys.merchant.id);
    keys.wallet ??= await createWalletMerchant(runtime);
    writeFileSync(path, `${JSON.stringify(keys, null, 2)}\n`, { mode: 0o600 });
    return { keys, path, created: false };
  }
  const operator = await auth.createKey({ merchantId: null, kind: 'operator', livemode: true, name: 'development operator' });
  const merchant = await merchants.create({ name: 'Demo Studio', feeBps: 250, feeFixed: {} });
  const secret = await auth.createKey({ merchantId: merchant.id, kind: 'secret', livemode: false, name: 'development' });
  const publishable = await auth.createKey({ merchantId: merchant.id, kind: 'publishable', livemode: false, name: 'development' });
  const keys: DevKeys = {
    operator_key: operator.secret,
    merchant: { id: merchant.id, name: merchant.name, secret_key: secret.secret, publishable_key: publishable.secret },
    demo: await seedDemoMerchants(runtime),
    staff_invitations: await inviteFirstStaff(runtime, merchant.id),
    wallet: await createWalletMerchant(runtime),
  };
  writeFileSync(path, `${JSON.stringify(keys, null, 2)}\n`, { mode: 0o600 });
  return { keys, path, created: true };
}

/**
 * The merchant the platform's wallet (/wallet) acts through in development: its publishable key is the
 * wallet key, which reaches a buyer's purchases at every merchant (src/wallet/reach.ts). A merchant of
 * its own, so that no shop's key does; its top-ups are recorded there.
 */
async function createWalletMerchant(runtime: Runtime): Promise<MerchantKeys> {
  const { auth, merchants } = runtime.services;
  const merchant = await merchants.create({ name: 'Micropay Wallet', feeBps: 0, feeFixed: {} });
  const secret = await auth.createKey({ merchantId: merchant.id, kind: 'secret', livemode: false, name: 'wallet' });
  const publishable = await auth.createKey({ merchantId: merchant.id, kind: 'publishable', livemode: false, name: 'wallet' });
  return { id: merchant.id, name: merchant.name, secret_key: secret.secret, publishable_key: publishable.secret };
}

/** Invitations for the demo merchant's owner (dashboard) and the operator's admin (console). */
async function inviteFirstStaff(runtime: Runtime, merchantId: string): Promise<StaffInvitationLinks> {
  const actor = { kind: 'system', name: 'bootstrap' } as const;
  const owner = await runtime.services.staff.invite(actor, { merchantId, email: 'owner@demo.example', role: 'owner', name: 'Demo owner' });
  const admin = await runtime.services.staff.invite(actor, { merchantId: null, email: 'admin@operator.example', role: 'admin', name: 'Operator admin' });
  if (!owner.ok || !admin.ok) throw new Error(`first staff invitations failed: ${JSON.stringify([owner, admin].filter((result) => !result.ok))}`);
  return { dashboard_owner: owner.url, console_admin: admin.url, expires_at: owner.invitation.expiresAt.toISOString() };
}

/**
 * Creates the demo storefronts' merchants (Daily Planet, Pixel Forge, Mia Makes) with a test-mode
 * secret and publishable key each. Their webhook endpoints are registered by the demo itself, through
 * the SDK, as a merchant would (src/demo/service.ts). Also used by browser tests that serve the demo.
 */
export async function seedDemoMerchants(runtime: Runtime): Promise<DemoKeys> {
  const { auth, merchants } = runtime.services;
  const seeded: Partial<DemoKeys> = {};
  for (const shop of DEMO_SHOPS) {
    const profile = DEMO_MERCHANTS[shop];
    const merchant = await merchants.create({ name: profile.name, feeBps: profile.feeBps, feeFixed: {} });
    const secret = await auth.createKey({ merchantId: merchant.id, kind: 'secret', livemode: false, name: 'demo storefront' });
    const publishable = await auth.createKey({ merchantId: merchant.id, kind: 'publishable', livemode: false, name: 'demo storefront' });
    seeded[shop] = { id: merchant.id, name: merchant.name, secret_key: secret.secret, publishable_key: publishable.secret };
  }
  return seeded as DemoKeys;
}

/**
 * The publishable key the wallet at /wallet uses, which is also the key that reaches a buyer's purchases
 * at every merchant (src/wallet/reach.ts): WALLET_PUBLISHABLE_KEY, else in development the wallet
 * merchant's from dev-keys.json (the demo news merchant's in a file from before it existed), read when
 * first asked (the file is written at the first start, after the app is built), else none (docs/wallet.md).
 */
export function walletPublishableKeyResolver(config: { walletPublishableKey: string | null; mode: string; dataDir: string }): () => string | null {
  let fromDevKeys: string | null = null;
  return () => {
    if (config.walletPublishableKey) return config.walletPublishableKey;
    if (config.mode !== 'development') return null;
    if (fromDevKeys) return fromDevKeys;
    try {
      const keys = JSON.parse(readFileSync(join(config.dataDir, DEV_KEYS_FILE), 'utf8')) as DevKeys;
      fromDevKeys = keys.wallet?.publishable_key ?? keys.demo?.news.publishable_key ?? null;
    } catch {
      return null;
    }
    return fromDevKeys;
  };
}
