// The first start of a development installation: an operator key and a demo merchant with test-mode
// keys, printed once and written to `<dataDir>/dev-keys.json` so a newcomer can call the API at once.
// Never in production mode: production keys are made with `micropay keys create` and shown once.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Runtime } from './runtime.ts';
import { DEMO_MERCHANTS, DEMO_SHOPS, type DemoShop } from '../demo/catalog.ts';

export interface MerchantKeys {
  id: string;
  name: string;
  secret_key: string;
  publishable_key: string;
}

/** The merchants of the demo storefronts (/demo/news, /demo/shop, /demo/creator), with test-mode keys. */
export type DemoKeys = Record<DemoShop, MerchantKeys>;

export interface DevKeys {
  operator_key: string;
  merchant: MerchantKeys;
  /** Absent in files written before the demo storefronts existed; added on the next start. */
  demo?: DemoKeys;
}

export const DEV_KEYS_FILE = 'dev-keys.json';

/** Creates the development keys on first start; returns them (read back from the file on later starts). */
export async function bootstrapDevelopment(runtime: Runtime): Promise<{ keys: DevKeys; path: string; created: boolean } | null> {
  if (runtime.config.mode !== 'development') return null;
  const path = join(runtime.config.dataDir, DEV_KEYS_FILE);
  const { auth, merchants } = runtime.services;
  if ((await auth.listKeys(null)).length > 0) {
    if (!existsSync(path)) return null;
    const keys = JSON.parse(readFileSync(path, 'utf8')) as DevKeys;
    if (keys.demo) return { keys, path, created: false };
    // An installation from before the demo storefronts: seed them now, once.
    keys.demo = await seedDemoMerchants(runtime);
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
  };
  writeFileSync(path, `${JSON.stringify(keys, null, 2)}\n`, { mode: 0o600 });
  return { keys, path, created: true };
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
 * The publishable key the wallet at /wallet uses: WALLET_PUBLISHABLE_KEY, else in development the demo
 * news merchant's (Daily Planet) from dev-keys.json, read when first asked (the file is written at the
 * first start, after the app is built), else none (docs/wallet.md).
 */
export function walletPublishableKeyResolver(config: { walletPublishableKey: string | null; mode: string; dataDir: string }): () => string | null {
  let fromDevKeys: string | null = null;
  return () => {
    if (config.walletPublishableKey) return config.walletPublishableKey;
    if (config.mode !== 'development') return null;
    if (fromDevKeys) return fromDevKeys;
    try {
      const keys = JSON.parse(readFileSync(join(config.dataDir, DEV_KEYS_FILE), 'utf8')) as DevKeys;
      fromDevKeys = keys.demo?.news.publishable_key ?? null;
    } catch {
      return null;
    }
    return fromDevKeys;
  };
}
