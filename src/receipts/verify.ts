// Offline verification of a receipt: the JWS (or the `.json` answer holding it) checked against a
// JWKS read from a file or fetched from a URL. Used by `micropay receipt verify`.
import { readFileSync } from 'node:fs';
import { compactVerify, createLocalJWKSet, type JSONWebKeySet } from 'jose';
import type { Receipt } from './model.ts';
import { JWKS_PATH } from './routes.ts';

const JWKS_FETCH_TIMEOUT_MS = 10_000;

export type VerifyResult = { ok: true; receipt: Receipt; kid: string | undefined } | { ok: false; reason: string };

export function defaultJwksUrl(publicUrl: string): string {
  return `${publicUrl.replace(/\/+$/, '')}${JWKS_PATH}`;
}

/** The compact JWS in a file's text: the text itself, or the `jws` member of a receipt's JSON answer. */
export function jwsOf(text: string): string | null {
  const trimmed = text.trim();
  if (trimmed.startsWith('{')) {
    try {
      const parsed = JSON.parse(trimmed) as { jws?: unknown };
      return typeof parsed.jws === 'string' ? parsed.jws : null;
    } catch {
      return null;
    }
  }
  return /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/.test(trimmed) ? trimmed : null;
}

async function loadJwks(source: string): Promise<JSONWebKeySet> {
  if (/^https?:\/\//.test(source)) {
    const response = await fetch(source, { signal: AbortSignal.timeout(JWKS_FETCH_TIMEOUT_MS) });
    if (!response.ok) throw new Error(`the JWKS at ${source} answered HTTP ${response.status}`);
    return (await response.json()) as JSONWebKeySet;
  }
  return JSON.parse(readFileSync(source, 'utf8')) as JSONWebKeySet;
}

export async function verifyReceipt(text: string, jwksSource: string): Promise<VerifyResult> {
  const jws = jwsOf(text);
  if (!jws) return { ok: false, reason: 'the file holds neither a compact JWS nor a JSON answer with a "jws" member' };
  let jwks: JSONWebKeySet;
  try {
    jwks = await loadJwks(jwksSource);
    if (!Array.isArray(jwks.keys)) return { ok: false, reason: `${jwksSource} is not a JWKS (no "keys" array)` };
  } catch (error) {
    return { ok: false, reason: `cannot read the JWKS: ${(error as Error).message}` };
  }
  try {
    const verified = await compactVerify(jws, createLocalJWKSet(jwks), { algorithms: ['EdDSA', 'Ed25519'] });
    const receipt = JSON.parse(new TextDecoder().decode(verified.payload)) as Receipt;
    if (receipt.object !== 'receipt') return { ok: false, reason: 'the signed payload is not a receipt' };
    return { ok: true, receipt, kid: verified.protectedHeader.kid };
  } catch (error) {
    return { ok: false, reason: `signature verification failed: ${(error as Error).message}` };
  }
}

export function receiptSummary(receipt: Receipt): string {
  const lines = [
    `${receipt.kind} receipt ${receipt.id} (${receipt.source.object} ${receipt.source.id})${receipt.livemode ? '' : ' [test mode]'}`,
    `merchant: ${receipt.merchant.name} (${receipt.merchant.id})`,
    `amount: ${receipt.amount_formatted}`,
    ...receipt.items.map((item) => `  ${item.description} x ${item.quantity}: ${item.amount_formatted}`),
    `method: ${receipt.method.type === 'card' ? `card ${receipt.method.brand} ${receipt.method.last4}` : 'wallet'}`,
    `created: ${new Date(receipt.created * 1000).toISOString()}`,
  ];
  if (receipt.payment) lines.push(`refund of payment: ${receipt.payment}`);
  for (const refund of receipt.refunds) lines.push(`refunded: ${refund.amount_formatted} on ${new Date(refund.created * 1000).toISOString()} (${refund.id})`);
  return lines.join('\n');
}
