// The first start of a development installation: an operator key and a demo merchant with test-mode
// keys, printed once and written to `<dataDir>/dev-keys.json` so a newcomer can call the API at once.
// Never in production mode: production keys are made with `micropay keys create` and shown once.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Runtime } from './runtime.ts';

export interface DevKeys {
  operator_key: string;
  merchant: { id: string; name: string; secret_key: string; publishable_key: string };
}

export const DEV_KEYS_FILE = 'dev-keys.json';

/** Creates the development keys on first start; returns them (read back from the file on later starts). */
export async function bootstrapDevelopment(runtime: Runtime): Promise<{ keys: DevKeys; path: string; created: boolean } | null> {
  if (runtime.config.mode !== 'development') return null;
  const path = join(runtime.config.dataDir, DEV_KEYS_FILE);
  const { auth, merchants } = runtime.services;
  if ((await auth.listKeys(null)).length > 0) {
    return existsSync(path) ? { keys: JSON.parse(readFileSync(path, 'utf8')) as DevKeys, path, created: false } : null;
  }
  const operator = await auth.createKey({ merchantId: null, kind: 'operator', livemode: true, name: 'development operator' });
  const merchant = await merchants.create({ name: 'Demo Studio', feeBps: 250, feeFixed: {} });
  const secret = await auth.createKey({ merchantId: merchant.id, kind: 'secret', livemode: false, name: 'development' });
  const publishable = await auth.createKey({ merchantId: merchant.id, kind: 'publishable', livemode: false, name: 'development' });
  const keys: DevKeys = {
    operator_key: operator.secret,
    merchant: { id: merchant.id, name: merchant.name, secret_key: secret.secret, publishable_key: publishable.secret },
  };
  writeFileSync(path, `${JSON.stringify(keys, null, 2)}\n`, { mode: 0o600 });
  return { keys, path, created: true };
}
