// Where webhooks may be sent. An endpoint URL is http(s), bounded, without credentials or fragment;
// live endpoints need https. A merchant must not be able to aim our worker at the installation's own
// network (an internal admin page, a cloud metadata service) and read the answer in the delivery log,
// so private, loopback and link-local addresses are refused unless the configuration allows them for
// the mode: checked on the URL when an endpoint is saved, and on every resolved address when the
// worker connects (a name may resolve elsewhere later).
import { BlockList, isIP } from 'node:net';
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';

export const URL_LENGTH_MAX = 2048;

/** Which endpoints may target private networks: none, test-mode ones only, or all. */
export type PrivateTargets = 'none' | 'test' | 'all';

const PRIVATE_RANGES: Array<[string, number, 'ipv4' | 'ipv6']> = [
  ['0.0.0.0', 8, 'ipv4'],
  ['10.0.0.0', 8, 'ipv4'],
  ['100.64.0.0', 10, 'ipv4'],
  ['127.0.0.0', 8, 'ipv4'],
  ['169.254.0.0', 16, 'ipv4'],
  ['172.16.0.0', 12, 'ipv4'],
  ['192.0.0.0', 24, 'ipv4'],
  ['192.168.0.0', 16, 'ipv4'],
  ['198.18.0.0', 15, 'ipv4'],
  ['224.0.0.0', 4, 'ipv4'],
  ['240.0.0.0', 4, 'ipv4'],
  ['::', 128, 'ipv6'],
  ['::1', 128, 'ipv6'],
  // IPv4-mapped and IPv4-translated addresses could reach any of the above.
  ['::ffff:0:0', 96, 'ipv6'],
  ['64:ff9b::', 96, 'ipv6'],
  ['fc00::', 7, 'ipv6'],
  ['fe80::', 10, 'ipv6'],
  ['ff00::', 8, 'ipv6'],
];

// One list per family: a BlockList also matches IPv4 addresses against IPv4-mapped IPv6 rules, and
// the ::ffff:0:0/96 rule would then cover every IPv4 address.
const privateByFamily = { ipv4: new BlockList(), ipv6: new BlockList() };
for (const [network, prefix, family] of PRIVATE_RANGES) privateByFamily[family].addSubnet(network, prefix, family);

export function isPrivateAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 0) return false;
  return family === 4 ? privateByFamily.ipv4.check(address, 'ipv4') : privateByFamily.ipv6.check(address, 'ipv6');
}

/** Whether endpoints of this mode may reach private addresses under `policy`. */
export function privateAllowed(policy: PrivateTargets, livemode: boolean): boolean {
  return policy === 'all' || (policy === 'test' && !livemode);
}

function bareHost(hostname: string): string {
  return hostname.startsWith('[') && hostname.endsWith(']') ? hostname.slice(1, -1) : hostname;
}

export type UrlCheck = { ok: true; url: URL } | { ok: false; message: string };

export function checkEndpointUrl(raw: string, livemode: boolean, policy: PrivateTargets): UrlCheck {
  if (raw.length > URL_LENGTH_MAX) return { ok: false, message: `The url is longer than ${URL_LENGTH_MAX} characters.` };
  // Control characters (NUL above all, which PostgreSQL cannot store) have no place in an endpoint URL.
  if (/[\u0000-\u001f\u007f]/.test(raw)) return { ok: false, message: 'The url contains control characters.' };
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { ok: false, message: 'The url is not a valid absolute URL.' };
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return { ok: false, message: 'The url must start with https:// (or http:// in test mode).' };
  if (livemode && url.protocol !== 'https:') return { ok: false, message: 'A live mode endpoint must use https://.' };
  if (url.username || url.password) return { ok: false, message: 'The url must not carry credentials; authenticate the webhook by its signature.' };
  if (url.hash) return { ok: false, message: 'The url must not have a fragment.' };
  const host = bareHost(url.hostname).toLowerCase();
  if (!host) return { ok: false, message: 'The url has no host.' };
  const local = host === 'localhost' || host.endsWith('.localhost') || isPrivateAddress(host);
  if (local && !privateAllowed(policy, livemode)) {
    return { ok: false, message: 'The url points to a private, loopback or link-local address, which this installation does not allow for this mode.' };
  }
  return { ok: true, url };
}

export class PrivateTargetError extends Error {
  readonly code = 'private_address_refused';
  constructor(host: string) {
    super(`${host} resolves to a private, loopback or link-local address`);
  }
}

type LookupCallback = (error: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/** A `lookup` for HTTP agents that refuses names resolving to any private address. */
export function publicOnlyLookup(hostname: string, options: { all?: boolean; family?: number | string }, callback: LookupCallback): void {
  dnsLookup(hostname, { ...options, all: true } as { all: true }, (error, addresses) => {
    if (error) return callback(error, []);
    if (addresses.length === 0 || addresses.some((entry) => isPrivateAddress(entry.address))) {
      return callback(new PrivateTargetError(hostname) as NodeJS.ErrnoException, []);
    }
    if (options.all) return callback(null, addresses);
    return callback(null, addresses[0]!.address, addresses[0]!.family);
  });
}

/** Connecting to an IP literal skips `lookup`, so literals are checked before the request. */
export function refusedLiteral(url: URL): boolean {
  const host = bareHost(url.hostname);
  return isIP(host) !== 0 && isPrivateAddress(host);
}
