// Typed configuration, read once from the environment at start. A malformed value stops the process
// with a message naming the variable; every value has a default that runs locally with no setup.
import { isIP } from 'node:net';
import { resolve } from 'node:path';

export type Mode = 'development' | 'production';

export interface Config {
  mode: Mode;
  port: number;
  host: string;
  /** MICROPAY_DEV_ALLOW_REMOTE=1: development mode may listen on an address other than loopback, which
   * serves the sandbox outbox (every one-time code) and works with development keys for anyone who can
   * reach it. Without it, development mode refuses a HOST that is not loopback. */
  developmentAllowRemote: boolean;
  /** Which peers' `X-Forwarded-For` is believed for the client address (rate limits, risk signals, logs):
   * false (the TCP peer is the client), a number of proxy hops, or the proxies' addresses and ranges. */
  trustProxy: false | number | string[];
  /** Folder of the embedded database and of development files. */
  dataDir: string;
  /** postgres:// URL; when absent the embedded database (PGlite) is used. */
  databaseUrl: string | undefined;
  databasePoolSize: number;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  ledger: {
    /** Transfers per group commit at most. */
    batchTransfersMax: number;
    /** Group commits in flight at once per process (PostgreSQL only; PGlite has one connection). */
    batchesInFlightMax: number;
    /** Transfers waiting for a commit beyond which callers are refused with `ledger_overloaded`. */
    queueTransfersMax: number;
    holdExpiryIntervalMs: number;
    holdExpiryBatchMax: number;
    /** Accounts whose balances the process reads into its ledger cache when it starts (0: none). */
    warmAccounts: number;
  };
  payments: {
    /** How long a manual-capture payment holds the buyer's funds before they are released. */
    captureWindowSeconds: number;
    /** How long the funds of a payment under review stay held. */
    reviewHoldSeconds: number;
  };
  /** Interval of the maintenance worker (overdue captures, old idempotency keys). */
  maintenanceIntervalMs: number;
  /** Webhook delivery (docs/api/webhooks.md). */
  webhooks: {
    pollIntervalMs: number;
    /** Deliveries claimed per poll at most. */
    batchMax: number;
    fanOutBatchMax: number;
    /** Attempts in flight per process at most. */
    concurrency: number;
    /** Deadline of one attempt. */
    timeoutMs: number;
    /** Delay before each retry; its length plus one is the number of automatic attempts. */
    retryScheduleMs: number[];
    /** Deliveries in a row that used up their attempts before the endpoint is disabled (0: never). */
    disableAfterExhaustedDeliveries: number;
    /** How long every attempt to an endpoint may fail before it is disabled (0: never). */
    disableAfterFailingSeconds: number;
    responseBodyBytesMax: number;
    /** Which endpoints may target private, loopback or link-local addresses. */
    privateTargets: 'none' | 'test' | 'all';
    deliveryRetentionDays: number;
    /** Seals endpoint signing secrets (32 bytes); unset: derived from the vault key, or a development key. */
    secretEncryptionKey: Buffer | undefined;
  };
  /** Card top-ups (docs/api/top-ups.md). */
  topUps: {
    /** Smallest top-up per currency, minor units (they amortise card fees); other currencies have none. */
    minimums: Record<string, bigint>;
  };
  /** The card processor of live top-ups; test mode always uses the sandbox. */
  cardProcessor: {
    /** The acquirer's API; unset: the in-process sandbox (development only). */
    url: string | undefined;
    apiKey: string | undefined;
    /** A card sandbox shared by several processes; unset: one starts in this process. */
    sandboxUrl: string | undefined;
    timeoutMs: number;
    /** Attempts after the first for one call (timeouts, network errors, 5xx). */
    retriesMax: number;
  };
  vault: {
    /** The key-encryption key of the card vault (32 bytes); unset in development: generated into the data folder. */
    masterKey: Buffer | undefined;
    /** The version new records are wrapped with (`VAULT_MASTER_KEY_VERSION`, default 1). */
    masterKeyVersion: number;
    /** Older master keys by version, kept to open what they wrapped until `micropay vault rewrap` ran
     * (`VAULT_PREVIOUS_MASTER_KEYS`, docs/operations.md "Rotating the vault master key"). */
    previousMasterKeys: Map<number, Buffer>;
  };
  /** The automatic policy for refunds buyers ask for (docs/api/refunds-and-disputes.md). */
  refunds: {
    /** Largest request completed without a human, per currency, minor units; other currencies never are. */
    automaticMax: Record<string, bigint>;
    /** How long after the payment a request may still complete automatically. */
    automaticWindowSeconds: number;
    /** Automatic refunds a buyer may receive in 30 days while in good standing. */
    automaticPerBuyerMax: number;
  };
  disputes: {
    /** Timeout of the hold a dispute puts on the merchant's balance (the operator decides before it). */
    holdSeconds: number;
  };
  /** The risk engine (docs/risk.md). */
  risk: {
    /** `off` allows everything (for tests of other features only; never in production). */
    engine: 'on' | 'off';
    /** Redis for the velocity counters shared by several processes; unset: counters live in this process. */
    redisUrl: string | undefined;
    /** How often rules, lists and the active model are checked for changes made by other processes. */
    reloadIntervalMs: number;
    /** What a new installation (no rules yet) starts with: the default rules live, in shadow, or none. */
    defaultRules: 'live' | 'shadow' | 'none';
  };
  /** Payouts and the bank rail (docs/api/payouts.md). */
  payouts: {
    /** The bank's credit-transfer API for live payouts; unset: the sandbox in development, none in production. */
    bankRailUrl: string | undefined;
    /** A sandbox bank shared by processes, for test-mode payouts; unset: one starts in this process. */
    bankSandboxUrl: string | undefined;
    bankRailTimeoutMs: number;
    /** Attempts after the first for one request to the bank (timeouts, network errors, 5xx). */
    bankRailRetriesMax: number;
    /** How long the sandbox bank takes to settle (or reject) a transfer it accepted. */
    sandboxSettlementDelayMs: number;
    /** The installation's minimum payout per currency, minor units; merchants may raise theirs. */
    minimumDefaults: Record<string, bigint>;
    /** How often the payout worker runs the schedule and talks to the bank. */
    workerIntervalMs: number;
    /** How long before the bank is asked again about a payout in transit. */
    pollIntervalMs: number;
  };
  /** The address browsers reach Micropay at (PUBLIC_URL); the checkout frame and WebAuthn live on it. */
  publicUrl: string;
  /** The publishable key the wallet app at /wallet calls the buyer API with (WALLET_PUBLISHABLE_KEY); unset:
   * the wallet merchant's key from dev-keys.json in development, none in production. Requests with this key
   * reach a buyer's purchases at every merchant (src/wallet/reach.ts, docs/wallet.md). */
  walletPublishableKey: string | null;
  /** Buyer identity: passkeys, sessions and one-time codes (docs/api/buyers.md). */
  buyers: {
    /** WebAuthn relying party id: PUBLIC_URL's hostname unless WEBAUTHN_RP_ID is set. */
    rpId: string;
    rpName: string;
    /** Origins a passkey ceremony may come from: PUBLIC_URL's origin unless WEBAUTHN_ORIGINS is set. */
    origins: string[];
    sessionTtlSeconds: number;
    /** How long a registration or authentication ceremony may take. */
    ceremonyTtlSeconds: number;
    codeTtlSeconds: number;
    /** Wrong guesses a one-time code survives. */
    codeAttemptsMax: number;
    /** Codes sent to one address per hour at most. */
    codesPerAddressPerHourMax: number;
  };
  /** How codes and notifications reach buyers: `sandbox` writes them to an outbox shown at
   * /sandbox/outbox (development only); `external` sends email through SMTP_URL and SMS through SMS_URL
   * (a Twilio-compatible REST API), each channel when its URL is set;
   * `none` sends nothing. */
  messages: {
    gateway: 'sandbox' | 'none' | 'external';
    /** SMTP_URL, with MESSAGE_GATEWAY=external: smtp[s]://user:password@host:port (kept out of messages and logs). */
    smtpUrl: string | undefined;
    /** SMS_URL, with MESSAGE_GATEWAY=external: https://ACCOUNT_SID:AUTH_TOKEN@api.twilio.com (or a compatible API). */
    smsUrl: string | undefined;
    /** SMS_FROM: the sender number (E.164) or messaging service of texts. */
    smsFrom: string | undefined;
    /** MESSAGE_FROM: the sender of emails. */
    from: string;
  };
  /** The checkout (docs/api/checkout.md). */
  checkout: {
    /** The low-value exemption per currency (CHECKOUT_EXEMPTIONS); a currency not listed has none. */
    exemptions: Record<string, CheckoutExemption>;
    /** The transaction-risk-analysis exemption (PSD2 RTS art. 18): a payment outside the low-value
     * exemption is still paid without a prompt when it is at most this amount of its currency
     * (CHECKOUT_TRA_EXEMPTIONS)... */
    traAmountMax: Record<string, bigint>;
    /** ...and the risk model's fraud probability for it is below this (CHECKOUT_TRA_SCORE_MAX). */
    traScoreMax: number;
    /** Where the checkout sends buyers whose payment was held or refused (CHECKOUT_SUPPORT_EMAIL). */
    supportEmail: string;
  };
}

/** Payments a buyer may make without confirming each (PSD2 RTS art. 16 style), minor units. */
export interface CheckoutExemption {
  /** Each exempt payment is at most this. */
  singleMax: bigint;
  /** Exempt payments since the buyer's last confirmation, this one included, add up to at most this... */
  cumulativeMax: bigint;
  /** ...or there were fewer than this many of them. */
  countMax: number;
}

export class ConfigError extends Error {
  constructor(variable: string, problem: string) {
    super(`invalid configuration: ${variable} ${problem}`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d+$/.test(raw)) throw new ConfigError(name, `must be a whole number, got "${raw}"`);
  const value = Number(raw);
  if (value < min || value > max) throw new ConfigError(name, `must be between ${min} and ${max}, got ${value}`);
  return value;
}

/** A number from 0 to 1. */
function probability(env: Env, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!/^(0|1|0?\.\d+)$/.test(raw.trim()) || !(value >= 0 && value <= 1)) throw new ConfigError(name, `must be a number from 0 to 1, got "${raw}"`);
  return value;
}

/** A list of `CURRENCY:amount` pairs in minor units, e.g. `USD:500,KRW:5000`. */
function amountsByCurrency(env: Env, name: string, fallback: string): Record<string, bigint> {
  const raw = env[name] === undefined || env[name] === '' ? fallback : env[name]!;
  const amounts: Record<string, bigint> = {};
  for (const pair of raw.split(',').map((part) => part.trim()).filter(Boolean)) {
    const match = /^([A-Z]{3}):(\d{1,15})$/.exec(pair);
    if (!match) throw new ConfigError(name, `must be CURRENCY:amount pairs separated by commas (e.g. USD:500), got "${pair}"`);
    amounts[match[1]!] = BigInt(match[2]!);
  }
  return amounts;
}

/** A URL of one of the schemes (and its TLS variant: https, rediss), named in the error message. */
const URL_SCHEMES = {
  http: { pattern: /^https?:\/\/[^\s]+$/, described: 'an http:// or https:// URL' },
  redis: { pattern: /^rediss?:\/\/[^\s]+$/, described: 'a redis:// or rediss:// URL' },
} as const;

function url(env: Env, name: string, scheme: keyof typeof URL_SCHEMES): string | undefined {
  const raw = env[name]?.trim();
  if (raw === undefined || raw === '') return undefined;
  if (!URL_SCHEMES[scheme].pattern.test(raw)) throw new ConfigError(name, `must be ${URL_SCHEMES[scheme].described}, got ${shownUrl(raw)}`);
  return raw;
}

/** A malformed URL as an error message may show it: its scheme and host only. `user:password@` (REDIS_URL,
 * a bank's or processor's basic auth) is a secret, and so may be a path or a query; a value that is not a
 * URL at all is not shown. */
export function shownUrl(raw: string): string {
  const parsed = parsedUrl(raw);
  if (parsed === null || parsed.host === '') return 'a value that is not a URL (not shown: it may hold a password)';
  const credentials = parsed.username !== '' || parsed.password !== '' ? '***@' : '';
  const rest = `${parsed.pathname === '/' ? '' : parsed.pathname}${parsed.search}${parsed.hash}` === '' ? '' : '/...';
  return `"${parsed.protocol}//${credentials}${parsed.host}${rest}"`;
}

const httpUrl = (env: Env, name: string) => url(env, name, 'http');

/** The URL of a service that moves real money (the card processor, the bank rail): https:// in
 * production, plain http:// only to a loopback host (a local proxy or test double). */
function moneyServiceUrl(env: Env, name: string, mode: Mode): string | undefined {
  const raw = httpUrl(env, name);
  if (raw === undefined || mode !== 'production') return raw;
  const parsed = parsedUrl(raw);
  if (!parsed || (parsed.protocol !== 'https:' && !(parsed.protocol === 'http:' && isLoopbackHostname(parsed.hostname)))) {
    throw new ConfigError(name, 'must be an https:// URL in production mode (plain http:// only to a loopback host: localhost, 127.0.0.1 or [::1])');
  }
  return raw;
}

/** A 32-byte key given as base64. */
function masterKey(env: Env, name: string): Buffer | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  const key = /^[A-Za-z0-9+/]+={0,2}$/.test(raw.trim()) ? Buffer.from(raw.trim(), 'base64') : null;
  if (!key || key.length !== 32) throw new ConfigError(name, 'must be base64 of exactly 32 bytes (openssl rand -base64 32)');
  return key;
}

function parsedUrl(raw: string): URL | null {
  try {
    return new URL(raw);
  } catch {
    return null;
  }
}

/** Whether a URL's hostname names this machine (`URL.hostname` keeps IPv6 brackets). */
export function isLoopbackHostname(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '127.0.0.1' || hostname === '[::1]';
}

/** Whether a listen address (HOST) is reachable from this machine only: localhost, 127.0.0.0/8, ::1. */
export function isLoopbackListenAddress(host: string): boolean {
  const bare = host.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  if (bare === 'localhost' || bare === '::1' || bare === '0:0:0:0:0:0:0:1') return true;
  const v4 = bare.startsWith('::ffff:') ? bare.slice('::ffff:'.length) : bare;
  return isIP(v4) === 4 && v4.startsWith('127.');
}

/** SMS_URL: https:// with the account id and token as user and password (http:// only to loopback
 * outside production, for the sandbox); never echoed, it holds the token. */
function smsApiUrl(env: Env, name: string, mode: 'development' | 'production'): string | undefined {
  const raw = env[name]?.trim();
  if (!raw) return undefined;
  const parsed = parsedUrl(raw);
  const loopback = parsed !== null && isLoopbackHostname(parsed.hostname);
  const scheme = parsed?.protocol === 'https:' || (parsed?.protocol === 'http:' && loopback && mode !== 'production');
  if (!parsed || !scheme || !parsed.username || !parsed.password) {
    throw new ConfigError(name, 'must be an https:// URL with the account id and auth token as user and password, e.g. https://AC...:token@api.twilio.com');
  }
  return raw;
}

/** SMTP_URL: smtp:// (STARTTLS) or smtps:// (TLS) with a host; never echoed, it may hold a password. */
function smtpRelayUrl(env: Env, name: string): string | undefined {
  const raw = env[name]?.trim();
  if (!raw) return undefined;
  const parsed = parsedUrl(raw);
  if (!parsed || !['smtp:', 'smtps:'].includes(parsed.protocol) || parsed.hostname === '') {
    throw new ConfigError(name, 'must be an smtp:// or smtps:// URL with a host, e.g. smtp://user:password@mail.example.com:587');
  }
  return raw;
}

const KEY_VERSION_MAX = 2_147_483_647;

/** `VAULT_PREVIOUS_MASTER_KEYS`: `version:base64key` pairs, comma-separated. */
function previousMasterKeys(env: Env, name: string, current: { key: Buffer | undefined; version: number }): Map<number, Buffer> {
  const raw = env[name]?.trim() ?? '';
  const keys = new Map<number, Buffer>();
  if (raw === '') return keys;
  if (current.key === undefined) throw new ConfigError(name, 'needs VAULT_MASTER_KEY (the current key) to be set too');
  for (const [index, entry] of raw.split(',').entries()) {
    const match = /^\s*(\d{1,10}):([A-Za-z0-9+/]+={0,2})\s*$/.exec(entry);
    // Never echo the value: it is key material.
    if (!match) throw new ConfigError(name, `must be comma-separated version:base64key pairs (entry ${index + 1} is not one)`);
    const version = Number(match[1]);
    const key = Buffer.from(match[2]!, 'base64');
    if (version < 1 || version > KEY_VERSION_MAX) throw new ConfigError(name, `version ${match[1]} is not between 1 and ${KEY_VERSION_MAX}`);
    if (key.length !== 32) throw new ConfigError(name, `the key of version ${version} must be base64 of exactly 32 bytes`);
    if (version === current.version) throw new ConfigError(name, `version ${version} is the current one (VAULT_MASTER_KEY_VERSION); list only older keys`);
    if (keys.has(version)) throw new ConfigError(name, `version ${version} is listed twice`);
    if (key.equals(current.key)) throw new ConfigError(name, `the key of version ${version} is the current key; a rotation needs a new key`);
    keys.set(version, key);
  }
  return keys;
}

/** proxy-addr's names for address ranges, accepted in TRUST_PROXY besides addresses and CIDR ranges. */
const PROXY_RANGE_NAMES = ['loopback', 'linklocal', 'uniquelocal'];

/** TRUST_PROXY: unset (no proxy), a number of hops (1 to 10), or addresses, CIDR ranges and range names. */
function trustProxy(env: Env, name: string): Config['trustProxy'] {
  const raw = (env[name] ?? '').trim();
  if (raw === '') return false;
  if (/^\d+$/.test(raw)) return integer(env, name, 0, 1, 10);
  const entries = raw.split(',').map((part) => part.trim());
  for (const entry of entries) {
    const [address, bits, extra] = entry.split('/');
    const family = isIP(address ?? '');
    const bitsValid = bits === undefined || (/^\d{1,3}$/.test(bits) && Number(bits) <= (family === 6 ? 128 : 32));
    if (PROXY_RANGE_NAMES.includes(entry) || (family !== 0 && bitsValid && extra === undefined)) continue;
    throw new ConfigError(name, `must be a number of proxy hops (1 to 10) or the proxies' addresses, CIDR ranges or ${PROXY_RANGE_NAMES.join(', ')}, separated by commas; got "${entry}"`);
  }
  return entries;
}

/** A comma-separated list of durations in milliseconds, e.g. `5000,30000,120000`. */
function millisecondsList(env: Env, name: string, fallback: number[], lengthMax: number, max: number): number[] {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const parts = raw.split(',').map((part) => part.trim());
  if (parts.length > lengthMax || parts.some((part) => !/^\d{1,10}$/.test(part) || Number(part) > max)) {
    throw new ConfigError(name, `must be 1 to ${lengthMax} whole numbers of milliseconds up to ${max}, separated by commas, got "${raw}"`);
  }
  return parts.map(Number);
}

function oneOf<T extends string>(env: Env, name: string, allowed: readonly T[], fallback: T): T {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!allowed.includes(raw as T)) throw new ConfigError(name, `must be one of ${allowed.join(', ')}, got "${raw}"`);
  return raw as T;
}

const EMAIL_ADDRESS = /^[^\s@<>]{1,64}@[^\s@<>]{1,255}$/;

function emailAddress(env: Env, name: string, fallback: string): string {
  const raw = env[name] || fallback;
  if (!EMAIL_ADDRESS.test(raw)) throw new ConfigError(name, `must be an email address, got "${raw}"`);
  return raw;
}

/** An email sender: `codes@pay.example` or `Micropay <codes@pay.example>` (no line breaks). */
function sender(env: Env, name: string, fallback: string): string {
  const raw = (env[name] || fallback).trim();
  const named = /^([^<>\r\n"]{1,100}?)\s*<([^<>]+)>$/.exec(raw);
  if (!(named ? EMAIL_ADDRESS.test(named[2]!) : EMAIL_ADDRESS.test(raw))) {
    throw new ConfigError(name, `must be an email address or "Name <address>", got "${raw}"`);
  }
  return raw;
}

/** `CURRENCY:single:cumulative:count` entries separated by commas, e.g. `EUR:3000:10000:5`. */
function checkoutExemptions(env: Env, name: string, fallback: string): Record<string, CheckoutExemption> {
  const raw = env[name] === undefined ? fallback : env[name]!;
  const exemptions: Record<string, CheckoutExemption> = {};
  for (const entry of raw.split(',').map((part) => part.trim()).filter(Boolean)) {
    const match = /^([A-Z]{3}):(\d{1,15}):(\d{1,15}):(\d{1,4})$/.exec(entry);
    if (!match) throw new ConfigError(name, `must be CURRENCY:single:cumulative:count entries separated by commas (e.g. EUR:3000:10000:5), got "${entry}"`);
    exemptions[match[1]!] = { singleMax: BigInt(match[2]!), cumulativeMax: BigInt(match[3]!), countMax: Number(match[4]!) };
  }
  return exemptions;
}

/** PUBLIC_URL, WEBAUTHN_RP_ID, WEBAUTHN_ORIGINS and the buyer session and code settings. */
function buyerSettings(env: Env, publicUrl: string): Config['buyers'] {
  const origins = (env.WEBAUTHN_ORIGINS ?? '').split(',').map((origin) => origin.trim()).filter(Boolean);
  for (const origin of origins) {
    if (!/^https?:\/\/[^\s/]+$/.test(origin)) throw new ConfigError('WEBAUTHN_ORIGINS', `must be origins (scheme://host[:port]) separated by commas, got "${origin}"`);
  }
  const rpId = env.WEBAUTHN_RP_ID || new URL(publicUrl).hostname;
  if (!/^[a-z0-9.-]{1,253}$/i.test(rpId)) throw new ConfigError('WEBAUTHN_RP_ID', `must be a host name, got "${rpId}"`);
  return {
    rpId,
    rpName: env.WEBAUTHN_RP_NAME || 'Micropay',
    origins: origins.length > 0 ? origins : [new URL(publicUrl).origin],
    sessionTtlSeconds: integer(env, 'BUYER_SESSION_TTL_SECONDS', 30 * 86_400, 60, 400 * 86_400),
    ceremonyTtlSeconds: integer(env, 'WEBAUTHN_CEREMONY_TTL_SECONDS', 300, 10, 3600),
    codeTtlSeconds: integer(env, 'BUYER_CODE_TTL_SECONDS', 600, 10, 3600),
    codeAttemptsMax: integer(env, 'BUYER_CODE_ATTEMPTS_MAX', 5, 1, 20),
    codesPerAddressPerHourMax: integer(env, 'BUYER_CODES_PER_ADDRESS_PER_HOUR_MAX', 5, 1, 1000),
  };
}

function walletPublishableKey(env: Env): string | null {
  const key = env.WALLET_PUBLISHABLE_KEY?.trim();
  if (!key) return null;
  if (!/^pk_(test|live)_[A-Za-z0-9_]+$/.test(key)) throw new ConfigError('WALLET_PUBLISHABLE_KEY', 'must be a publishable key (pk_test_... or pk_live_...)');
  return key;
}

export function loadConfig(env: Env = process.env): Config {
  const databaseUrl = env.DATABASE_URL?.trim() || undefined;
  if (databaseUrl !== undefined && !/^postgres(ql)?:\/\//.test(databaseUrl)) {
    throw new ConfigError('DATABASE_URL', 'must start with postgres:// or postgresql://');
  }
  const mode = oneOf(env, 'MICROPAY_MODE', ['development', 'production'] as const, 'development');
  if (mode === 'production' && databaseUrl === undefined) {
    throw new ConfigError('DATABASE_URL', 'is required in production mode (the embedded database is for development)');
  }
  const vaultMasterKey = masterKey(env, 'VAULT_MASTER_KEY');
  if (mode === 'production' && vaultMasterKey === undefined) {
    throw new ConfigError('VAULT_MASTER_KEY', 'is required in production mode (base64 of 32 random bytes: openssl rand -base64 32)');
  }
  const vaultMasterKeyVersion = integer(env, 'VAULT_MASTER_KEY_VERSION', 1, 1, KEY_VERSION_MAX);
  if (vaultMasterKey === undefined && vaultMasterKeyVersion !== 1) {
    throw new ConfigError('VAULT_MASTER_KEY_VERSION', 'needs VAULT_MASTER_KEY: the development key file is always version 1');
  }
  const vaultPreviousKeys = previousMasterKeys(env, 'VAULT_PREVIOUS_MASTER_KEYS', { key: vaultMasterKey, version: vaultMasterKeyVersion });
  if (mode === 'production' && env.MICROPAY_RISK_ENGINE === 'off') {
    throw new ConfigError('MICROPAY_RISK_ENGINE', 'cannot be off in production mode (every movement must be scored)');
  }
  const cardProcessorUrl = moneyServiceUrl(env, 'CARD_PROCESSOR_URL', mode);
  if (mode === 'production' && (cardProcessorUrl === undefined || !env.CARD_PROCESSOR_API_KEY)) {
    throw new ConfigError('CARD_PROCESSOR_URL', 'and CARD_PROCESSOR_API_KEY are required in production mode (the sandbox is for development)');
  }
  const port = integer(env, 'PORT', 3000, 0, 65535);
  const host = env.HOST?.trim() || '127.0.0.1';
  const developmentAllowRemote = oneOf(env, 'MICROPAY_DEV_ALLOW_REMOTE', ['0', '1'] as const, '0') === '1';
  if (mode === 'development' && !developmentAllowRemote && !isLoopbackListenAddress(host)) {
    throw new ConfigError(
      'HOST',
      `is ${host}, not a loopback address: development mode would serve the sandbox outbox (every one-time code, at /sandbox/outbox) ` +
        'and accept the development keys it prints from anyone who can reach it, and its live mode has no real card processor or bank. ' +
        'Set MICROPAY_MODE=production, or MICROPAY_DEV_ALLOW_REMOTE=1 if only you can reach this address (a container on your own machine)',
    );
  }
  const publicUrl = (httpUrl(env, 'PUBLIC_URL') ?? `http://localhost:${port}`).replace(/\/+$/, '');
  const messageGateway = oneOf(env, 'MESSAGE_GATEWAY', ['sandbox', 'none', 'external'] as const, mode === 'production' ? 'none' : 'sandbox');
  const smtpUrl = smtpRelayUrl(env, 'SMTP_URL');
  const smsUrl = smsApiUrl(env, 'SMS_URL', mode);
  const smsFrom = env.SMS_FROM?.trim() || undefined;
  if (messageGateway === 'external' && smtpUrl === undefined && smsUrl === undefined) {
    throw new ConfigError('MESSAGE_GATEWAY', 'external needs SMTP_URL (email), SMS_URL (texts), or both');
  }
  if (smsUrl !== undefined && (smsFrom === undefined || !/^(\+[1-9]\d{6,14}|MG[0-9a-f]{32})$/.test(smsFrom))) {
    throw new ConfigError('SMS_FROM', 'is required with SMS_URL: the sender number in E.164 form (+15555550100) or a messaging service id (MG...)');
  }
  const messageFrom = sender(env, 'MESSAGE_FROM', `no-reply@${new URL(publicUrl).hostname === 'localhost' ? 'micropay.example' : new URL(publicUrl).hostname}`);
  if (mode === 'production' && messageGateway === 'sandbox') {
    throw new ConfigError('MESSAGE_GATEWAY', 'cannot be sandbox in production mode (the sandbox shows codes to anyone at /sandbox/outbox)');
  }
  if (mode === 'production' && !env.REDIS_URL) {
    throw new ConfigError('REDIS_URL', 'is required in production mode (the risk engine\'s counters are shared by every process)');
  }
  return {
    mode,
    port,
    publicUrl,
    walletPublishableKey: walletPublishableKey(env),
    buyers: buyerSettings(env, publicUrl),
    messages: { gateway: messageGateway, smtpUrl, smsUrl, smsFrom, from: messageFrom },
    checkout: {
      exemptions: checkoutExemptions(env, 'CHECKOUT_EXEMPTIONS', 'EUR:3000:10000:5,USD:3000:10000:5,GBP:2500:8500:5,JPY:5000:16000:5,KRW:45000:150000:5'),
      // An empty value turns the exemption off.
      traAmountMax: env.CHECKOUT_TRA_EXEMPTIONS === '' ? {} : amountsByCurrency(env, 'CHECKOUT_TRA_EXEMPTIONS', 'EUR:10000,USD:10000,GBP:8500,JPY:16000,KRW:150000'),
      traScoreMax: probability(env, 'CHECKOUT_TRA_SCORE_MAX', 0.005),
      supportEmail: emailAddress(env, 'CHECKOUT_SUPPORT_EMAIL', 'support@micropay.example'),
    },
    host,
    developmentAllowRemote,
    trustProxy: trustProxy(env, 'TRUST_PROXY'),
    dataDir: resolve(env.MICROPAY_DATA_DIR || '.micropay'),
    databaseUrl,
    databasePoolSize: integer(env, 'DATABASE_POOL_SIZE', 10, 1, 200),
    logLevel: oneOf(env, 'LOG_LEVEL', ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const, 'info'),
    ledger: {
      batchTransfersMax: integer(env, 'LEDGER_BATCH_TRANSFERS_MAX', 8190, 1, 8190),
      batchesInFlightMax: integer(env, 'LEDGER_BATCHES_IN_FLIGHT_MAX', 1, 1, 16),
      queueTransfersMax: integer(env, 'LEDGER_QUEUE_TRANSFERS_MAX', 200_000, 1, 10_000_000),
      holdExpiryIntervalMs: integer(env, 'LEDGER_HOLD_EXPIRY_INTERVAL_MS', 1000, 10, 3_600_000),
      holdExpiryBatchMax: integer(env, 'LEDGER_HOLD_EXPIRY_BATCH_MAX', 1000, 1, 8190),
      warmAccounts: integer(env, 'LEDGER_WARM_ACCOUNTS', 50_000, 0, 1_000_000),
    },
    payments: {
      captureWindowSeconds: integer(env, 'PAYMENT_CAPTURE_WINDOW_SECONDS', 7 * 24 * 3600, 1, 30 * 24 * 3600),
      reviewHoldSeconds: integer(env, 'PAYMENT_REVIEW_HOLD_SECONDS', 7 * 24 * 3600, 60, 30 * 24 * 3600),
    },
    maintenanceIntervalMs: integer(env, 'MAINTENANCE_INTERVAL_MS', 5000, 10, 3_600_000),
    webhooks: {
      pollIntervalMs: integer(env, 'WEBHOOK_POLL_INTERVAL_MS', 1000, 10, 3_600_000),
      batchMax: integer(env, 'WEBHOOK_BATCH_MAX', 100, 1, 1000),
      fanOutBatchMax: integer(env, 'WEBHOOK_FAN_OUT_BATCH_MAX', 1000, 1, 10_000),
      concurrency: integer(env, 'WEBHOOK_CONCURRENCY', 16, 1, 1000),
      timeoutMs: integer(env, 'WEBHOOK_TIMEOUT_MS', 10_000, 10, 60_000),
      retryScheduleMs: millisecondsList(env, 'WEBHOOK_RETRY_SCHEDULE_MS', [5_000, 30_000, 120_000, 600_000, 3_600_000, 21_600_000, 86_400_000], 20, 7 * 86_400_000),
      disableAfterExhaustedDeliveries: integer(env, 'WEBHOOK_DISABLE_AFTER_EXHAUSTED_DELIVERIES', 20, 0, 1_000_000),
      disableAfterFailingSeconds: integer(env, 'WEBHOOK_DISABLE_AFTER_FAILING_SECONDS', 5 * 86_400, 0, 90 * 86_400),
      responseBodyBytesMax: integer(env, 'WEBHOOK_RESPONSE_BODY_BYTES_MAX', 1024, 0, 65_536),
      privateTargets: oneOf(env, 'WEBHOOK_PRIVATE_TARGETS', ['none', 'test', 'all'] as const, mode === 'production' ? 'none' : 'test'),
      deliveryRetentionDays: integer(env, 'WEBHOOK_DELIVERY_RETENTION_DAYS', 30, 1, 3650),
      secretEncryptionKey: masterKey(env, 'WEBHOOK_SECRET_ENCRYPTION_KEY'),
    },
    topUps: {
      minimums: amountsByCurrency(env, 'TOP_UP_MINIMUMS', 'USD:500,EUR:500,GBP:500,JPY:500,KRW:5000,BHD:2000'),
    },
    cardProcessor: {
      url: cardProcessorUrl,
      apiKey: env.CARD_PROCESSOR_API_KEY || undefined,
      sandboxUrl: httpUrl(env, 'CARD_SANDBOX_URL'),
      timeoutMs: integer(env, 'CARD_PROCESSOR_TIMEOUT_MS', 10_000, 10, 120_000),
      retriesMax: integer(env, 'CARD_PROCESSOR_RETRIES_MAX', 2, 0, 10),
    },
    vault: { masterKey: vaultMasterKey, masterKeyVersion: vaultMasterKeyVersion, previousMasterKeys: vaultPreviousKeys },
    refunds: {
      automaticMax: amountsByCurrency(env, 'REFUND_AUTO_MAX', 'USD:500,EUR:500,GBP:500,JPY:500,KRW:5000,BHD:500'),
      automaticWindowSeconds: integer(env, 'REFUND_AUTO_WINDOW_SECONDS', 14 * 24 * 3600, 0, 366 * 24 * 3600),
      automaticPerBuyerMax: integer(env, 'REFUND_AUTO_PER_BUYER_MAX', 5, 0, 1000),
    },
    disputes: {
      holdSeconds: integer(env, 'DISPUTE_HOLD_SECONDS', 180 * 24 * 3600, 60, 366 * 24 * 3600),
    },
    risk: {
      engine: oneOf(env, 'MICROPAY_RISK_ENGINE', ['on', 'off'] as const, 'on'),
      redisUrl: url(env, 'REDIS_URL', 'redis'),
      reloadIntervalMs: integer(env, 'RISK_RELOAD_INTERVAL_MS', 2000, 0, 3_600_000),
      defaultRules: oneOf(env, 'RISK_DEFAULT_RULES', ['live', 'shadow', 'none'] as const, 'live'),
    },
    payouts: {
      bankRailUrl: moneyServiceUrl(env, 'BANK_RAIL_URL', mode),
      bankSandboxUrl: httpUrl(env, 'BANK_SANDBOX_URL'),
      bankRailTimeoutMs: integer(env, 'BANK_RAIL_TIMEOUT_MS', 5000, 10, 120_000),
      bankRailRetriesMax: integer(env, 'BANK_RAIL_RETRIES_MAX', 2, 0, 10),
      sandboxSettlementDelayMs: integer(env, 'BANK_SANDBOX_SETTLEMENT_DELAY_MS', 2000, 0, 3_600_000),
      minimumDefaults: amountsByCurrency(env, 'PAYOUT_MINIMUMS', 'USD:1000,EUR:1000,GBP:1000,JPY:1000,KRW:10000,BHD:10000'),
      workerIntervalMs: integer(env, 'PAYOUT_WORKER_INTERVAL_MS', 1000, 10, 3_600_000),
      pollIntervalMs: integer(env, 'PAYOUT_STATUS_POLL_INTERVAL_MS', 5000, 0, 86_400_000),
    },
  };
}
