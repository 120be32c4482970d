import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import { ConfigError, loadConfig } from './config.ts';

/** Everything production mode requires. */
const PRODUCTION = {
  MICROPAY_MODE: 'production',
  DATABASE_URL: 'postgres://u@h/db',
  VAULT_MASTER_KEY: Buffer.alloc(32, 1).toString('base64'),
  CARD_PROCESSOR_URL: 'https://acquirer.example',
  CARD_PROCESSOR_API_KEY: 'k',
  REDIS_URL: 'redis://127.0.0.1:6379',
};

describe('configuration', () => {
  it('runs locally with no settings: port 3000, embedded database under ./.micropay', () => {
    const config = loadConfig({});
    assert.equal(config.port, 3000);
    assert.equal(config.databaseUrl, undefined);
    assert.equal(config.dataDir, resolve('.micropay'));
    assert.equal(config.mode, 'development');
  });

  it('reads PORT, MICROPAY_DATA_DIR and DATABASE_URL', () => {
    const config = loadConfig({ PORT: '8080', MICROPAY_DATA_DIR: '/tmp/mp', DATABASE_URL: 'postgres://u@h/db' });
    assert.equal(config.port, 8080);
    assert.equal(config.dataDir, '/tmp/mp');
    assert.equal(config.databaseUrl, 'postgres://u@h/db');
  });

  it('fails fast naming the variable on a malformed value', () => {
    assert.throws(() => loadConfig({ PORT: 'eighty' }), (error: unknown) => {
      assert.ok(error instanceof ConfigError);
      assert.match(error.message, /PORT must be a whole number/);
      return true;
    });
    assert.throws(() => loadConfig({ PORT: '70000' }), /PORT must be between 0 and 65535/);
    assert.throws(() => loadConfig({ DATABASE_URL: 'mysql://x' }), /DATABASE_URL must start with postgres/);
    assert.throws(() => loadConfig({ LOG_LEVEL: 'loud' }), /LOG_LEVEL must be one of/);
    assert.throws(() => loadConfig({ LEDGER_BATCH_TRANSFERS_MAX: '0' }), /LEDGER_BATCH_TRANSFERS_MAX must be between/);
  });

  it('reads the risk settings, and refuses production without Redis or with the risk engine off', () => {
    assert.deepEqual(loadConfig({}).risk, { engine: 'on', redisUrl: undefined, reloadIntervalMs: 2000, defaultRules: 'live' });
    assert.equal(loadConfig({ REDIS_URL: 'redis://127.0.0.1:6379/2' }).risk.redisUrl, 'redis://127.0.0.1:6379/2');
    assert.throws(() => loadConfig({ REDIS_URL: 'http://x' }), /REDIS_URL must be a redis:\/\/ or rediss:\/\/ URL/);
    assert.throws(() => loadConfig({ MICROPAY_RISK_ENGINE: 'maybe' }), /MICROPAY_RISK_ENGINE must be one of on, off/);
    const production = { MICROPAY_MODE: 'production', DATABASE_URL: 'postgres://u@h/db', VAULT_MASTER_KEY: Buffer.alloc(32, 1).toString('base64'), CARD_PROCESSOR_URL: 'https://acquirer.example', CARD_PROCESSOR_API_KEY: 'k' };
    assert.throws(() => loadConfig(production), /REDIS_URL is required in production/);
    assert.throws(() => loadConfig({ ...production, REDIS_URL: 'redis://r', MICROPAY_RISK_ENGINE: 'off' }), /MICROPAY_RISK_ENGINE cannot be off in production/);
  });

  it('reads TRUST_PROXY as hops or the proxies\' addresses, and refuses anything else', () => {
    assert.equal(loadConfig({}).trustProxy, false);
    assert.equal(loadConfig({ TRUST_PROXY: '2' }).trustProxy, 2);
    assert.deepEqual(loadConfig({ TRUST_PROXY: '10.0.0.0/8, 192.168.1.7,loopback,fd00::/8' }).trustProxy, ['10.0.0.0/8', '192.168.1.7', 'loopback', 'fd00::/8']);
    assert.throws(() => loadConfig({ TRUST_PROXY: 'true' }), /TRUST_PROXY must be a number of proxy hops .* got "true"/);
    assert.throws(() => loadConfig({ TRUST_PROXY: '10.0.0.0/33' }), /TRUST_PROXY must be/);
    assert.throws(() => loadConfig({ TRUST_PROXY: '0' }), /TRUST_PROXY must be between 1 and 10/);
  });

  it('reads the vault master key versions, and refuses malformed or unsafe ones without echoing key material', () => {
    const key = (fill: number) => Buffer.alloc(32, fill).toString('base64');
    const defaults = loadConfig({}).vault;
    assert.equal(defaults.masterKeyVersion, 1);
    assert.equal(defaults.previousMasterKeys.size, 0);
    const rotating = loadConfig({ VAULT_MASTER_KEY: key(2), VAULT_MASTER_KEY_VERSION: '3', VAULT_PREVIOUS_MASTER_KEYS: `1:${key(1)}, 2:${key(5)}` }).vault;
    assert.equal(rotating.masterKeyVersion, 3);
    assert.deepEqual([...rotating.previousMasterKeys.keys()], [1, 2]);
    assert.deepEqual(rotating.previousMasterKeys.get(2), Buffer.alloc(32, 5));
    const refused = (env: Record<string, string>, pattern: RegExp) =>
      assert.throws(() => loadConfig(env), (error: Error) => error instanceof ConfigError && pattern.test(error.message) && !error.message.includes(key(1)));
    refused({ VAULT_MASTER_KEY_VERSION: '2' }, /VAULT_MASTER_KEY_VERSION needs VAULT_MASTER_KEY/);
    refused({ VAULT_PREVIOUS_MASTER_KEYS: `1:${key(1)}` }, /VAULT_PREVIOUS_MASTER_KEYS needs VAULT_MASTER_KEY/);
    refused({ VAULT_MASTER_KEY: key(2), VAULT_MASTER_KEY_VERSION: '2', VAULT_PREVIOUS_MASTER_KEYS: `x${key(1)}` }, /entry 1 is not one/);
    refused({ VAULT_MASTER_KEY: key(2), VAULT_MASTER_KEY_VERSION: '2', VAULT_PREVIOUS_MASTER_KEYS: `2:${key(1)}` }, /version 2 is the current one/);
    refused({ VAULT_MASTER_KEY: key(2), VAULT_MASTER_KEY_VERSION: '3', VAULT_PREVIOUS_MASTER_KEYS: `1:${key(1)},1:${key(4)}` }, /version 1 is listed twice/);
    refused({ VAULT_MASTER_KEY: key(1), VAULT_MASTER_KEY_VERSION: '2', VAULT_PREVIOUS_MASTER_KEYS: `1:${key(1)}` }, /is the current key/);
    refused({ VAULT_MASTER_KEY: key(2), VAULT_MASTER_KEY_VERSION: '2', VAULT_PREVIOUS_MASTER_KEYS: '1:c2hvcnQ=' }, /must be base64 of exactly 32 bytes/);
    refused({ VAULT_MASTER_KEY: key(2), VAULT_MASTER_KEY_VERSION: '0' }, /VAULT_MASTER_KEY_VERSION/);
  });

  it('refuses development mode on an address other than loopback unless MICROPAY_DEV_ALLOW_REMOTE=1', () => {
    assert.equal(loadConfig({}).host, '127.0.0.1');
    assert.equal(loadConfig({}).developmentAllowRemote, false);
    for (const host of ['127.0.0.1', 'localhost', '::1', '[::1]', '127.0.0.2', ' 127.0.0.1 ']) assert.equal(loadConfig({ HOST: host }).host, host.trim());
    for (const host of ['0.0.0.0', '::', '192.168.1.5', 'example.com', '10.0.0.1']) {
      assert.throws(() => loadConfig({ HOST: host }), (error: Error) => {
        assert.ok(error instanceof ConfigError);
        assert.match(error.message, new RegExp(`HOST is ${host.replace(/\./g, '\\.')}, not a loopback address`));
        assert.match(error.message, /sandbox\/outbox/);
        assert.match(error.message, /MICROPAY_DEV_ALLOW_REMOTE=1/);
        return true;
      });
    }
    const remote = loadConfig({ HOST: '0.0.0.0', MICROPAY_DEV_ALLOW_REMOTE: '1' });
    assert.equal(remote.host, '0.0.0.0');
    assert.equal(remote.developmentAllowRemote, true);
    assert.throws(() => loadConfig({ HOST: '0.0.0.0', MICROPAY_DEV_ALLOW_REMOTE: 'yes' }), /MICROPAY_DEV_ALLOW_REMOTE must be one of 0, 1/);
    // Production serves no sandbox and no development keys: any address.
    assert.equal(loadConfig({ ...PRODUCTION, HOST: '0.0.0.0' }).host, '0.0.0.0');
  });

  it('requires https:// for the card processor and the bank rail in production, plain http:// only to loopback', () => {
    for (const name of ['CARD_PROCESSOR_URL', 'BANK_RAIL_URL']) {
      assert.throws(() => loadConfig({ ...PRODUCTION, [name]: 'http://money.example' }), (error: Error) => {
        assert.ok(error instanceof ConfigError);
        assert.match(error.message, new RegExp(`${name} must be an https:// URL in production mode`));
        return true;
      });
      for (const local of ['http://127.0.0.1:4010', 'http://localhost:4010', 'http://[::1]:4010', 'https://money.example']) {
        const config = loadConfig({ ...PRODUCTION, [name]: local });
        assert.equal(name === 'CARD_PROCESSOR_URL' ? config.cardProcessor.url : config.payouts.bankRailUrl, local);
      }
      // Development keeps plain http for a local or test double anywhere.
      const development = loadConfig({ [name]: 'http://money.example' });
      assert.equal(name === 'CARD_PROCESSOR_URL' ? development.cardProcessor.url : development.payouts.bankRailUrl, 'http://money.example');
    }
  });

  it('never echoes the credentials of a malformed URL, and trims the whitespace around URLs', () => {
    for (const [name, value] of [
      ['REDIS_URL', 'http://ops:s3cr3t-pw@cache.example:6379'],
      ['REDIS_URL', 'redis//:s3cr3t-pw@cache.example:6379'],
      ['REDIS_URL', 's3cr3t-pw'],
      ['BANK_RAIL_URL', 'ftp://ops:s3cr3t-pw@bank.example/path'],
      ['CARD_PROCESSOR_URL', 'tcp://acquirer.example/s3cr3t-pw'],
    ] as const) {
      assert.throws(() => loadConfig({ [name]: value }), (error: Error) => {
        assert.ok(error instanceof ConfigError);
        assert.match(error.message, new RegExp(`^invalid configuration: ${name} must be`));
        assert.ok(!error.message.includes('s3cr3t-pw') && !error.message.includes('ops:'), error.message);
        return true;
      });
    }
    // What is not a secret is still shown, to find the mistake.
    assert.throws(() => loadConfig({ REDIS_URL: 'http://ops:pw@cache.example:6379' }), /got "http:\/\/\*\*\*@cache\.example:6379"/);
    assert.throws(() => loadConfig({ BANK_RAIL_URL: 'ftp://bank.example' }), /got "ftp:\/\/bank\.example"/);
    assert.equal(loadConfig({ REDIS_URL: '  redis://cache.example:6379/2\n' }).risk.redisUrl, 'redis://cache.example:6379/2');
    assert.equal(loadConfig({ PUBLIC_URL: ' https://pay.example/ ' }).publicUrl, 'https://pay.example');
    assert.equal(loadConfig({ DATABASE_URL: ' postgres://u@h/db\n' }).databaseUrl, 'postgres://u@h/db');
  });

  it('refuses production mode without PostgreSQL', () => {
    assert.throws(() => loadConfig({ MICROPAY_MODE: 'production' }), /DATABASE_URL is required in production/);
  });
});
