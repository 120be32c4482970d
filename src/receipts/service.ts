// Receipts of succeeded payments (a payment with a tip line is a `tip`), top-ups and refunds: built
// from the stored object each time they are asked for, signed as a compact JWS (EdDSA), and reachable
// at an unguessable URL whose token seals the object's reference (keys.ts).
import { CompactSign } from 'jose';
import { amountJson } from '../payments/model.ts';
import type { Payment } from '../payments/model.ts';
import type { PaymentService } from '../payments/service.ts';
import type { TopUpService } from '../top-ups/service.ts';
import type { TopUp } from '../top-ups/model.ts';
import type { RefundService } from '../refunds/service.ts';
import type { Refund } from '../refunds/model.ts';
import type { MerchantService } from '../merchants/service.ts';
import type { Scope } from '../customers/service.ts';
import { formatAmount } from './format.ts';
import type { ReceiptObjectType, ReceiptReference, ReceiptUrlKey } from './keys.ts';
import type { ReceiptSigner } from './signing-keys.ts';
import type { Receipt, ReceiptRefund } from './model.ts';

/** Refunds listed on one payment's receipt, at most (a payment has far fewer in practice). */
const REFUNDS_LISTED_MAX = 100;

export interface SignedReceipt {
  token: string;
  receipt: Receipt;
  jws: string;
  /** The platform fee the merchant paid (or, for a refund, got back): for the merchant's answer only, never signed into the public receipt. */
  fee: { amount: bigint; currency: string } | null;
}

export type ReceiptResult = { ok: true; signed: SignedReceipt } | { ok: false; code: 'resource_missing' | 'receipt_unavailable'; message: string };

export interface ReceiptService {
  /** The receipt of the merchant's object, or why there is none. */
  forObject(scope: Scope, objectType: ReceiptObjectType, id: string): Promise<ReceiptResult>;
  /** The receipt behind a receipt URL's token; null for a token that names nothing (or nothing that succeeded). */
  forToken(token: string): Promise<SignedReceipt | null>;
  jwks(): { keys: object[] };
}

export interface ReceiptDependencies {
  /** Signs with the current generation of the signing key; the JWKS publishes every generation not retired. */
  signer: Pick<ReceiptSigner, 'signing' | 'published'>;
  /** Seals and opens receipt URLs' tokens. */
  urlKey: ReceiptUrlKey;
  payments: Pick<PaymentService, 'get'>;
  topUps: Pick<TopUpService, 'get' | 'getPaymentMethod'>;
  refunds: Pick<RefundService, 'get' | 'list'>;
  merchants: Pick<MerchantService, 'get'>;
}

const seconds = (date: Date) => Math.floor(date.getTime() / 1000);
const NOUNS: Record<ReceiptObjectType, string> = { payment: 'payment', top_up: 'top-up', refund: 'refund' };

export function createReceiptService(deps: ReceiptDependencies): ReceiptService {
  const { signer, urlKey } = deps;

  async function merchantOf(id: string) {
    const merchant = await deps.merchants.get(id);
    return { id, name: merchant?.name ?? id };
  }

  function money(amount: bigint, currency: string) {
    return { amount: amountJson(amount), amount_formatted: formatAmount(amount, currency) };
  }

  async function paymentReceipt(scope: Scope, payment: Payment): Promise<Omit<Receipt, 'id' | 'object'>> {
    const refunds = await deps.refunds.list(scope, { limit: REFUNDS_LISTED_MAX, paymentId: payment.id, status: 'succeeded' });
    const history: ReceiptRefund[] = refunds.data
      .filter((refund) => refund.status === 'succeeded')
      .sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime() || a.id.localeCompare(b.id))
      .map((refund) => ({ id: refund.id, ...money(refund.amount, refund.currency), created: seconds(refund.createdAt) }));
    // What the items cost: the money captured plus what points paid.
    const priced = payment.amountCaptured + payment.amountPaidInPoints;
    const items = payment.lineItems.length
      ? payment.lineItems.map((item) => ({
          description: item.description,
          category: item.category,
          quantity: item.quantity,
          unit_amount: amountJson(item.unitAmount),
          ...money(item.unitAmount * BigInt(item.quantity), payment.currency),
        }))
      : [{ description: payment.description ?? 'Payment', category: 'other', quantity: 1, unit_amount: amountJson(priced), ...money(priced, payment.currency) }];
    const refunded = money(payment.amountRefunded, payment.currency);
    return {
      kind: payment.lineItems.some((item) => item.category === 'tip') ? 'tip' : 'payment',
      source: { object: 'payment', id: payment.id },
      livemode: payment.livemode,
      merchant: await merchantOf(payment.merchantId),
      customer: payment.customerId,
      items,
      points: payment.pointsRedeemed > 0n ? { redeemed: amountJson(payment.pointsRedeemed), ...money(payment.amountPaidInPoints, payment.currency) } : null,
      currency: payment.currency,
      ...money(payment.amountCaptured, payment.currency),
      method: { type: 'wallet' },
      payment: null,
      created: seconds(payment.createdAt),
      refunds: history,
      amount_refunded: refunded.amount,
      amount_refunded_formatted: refunded.amount_formatted,
    };
  }

  async function topUpReceipt(scope: Scope, topUp: TopUp): Promise<Omit<Receipt, 'id' | 'object'>> {
    const card = await deps.topUps.getPaymentMethod(scope, topUp.paymentMethodId);
    const zero = money(0n, topUp.currency);
    return {
      kind: 'top_up',
      source: { object: 'top_up', id: topUp.id },
      livemode: topUp.livemode,
      merchant: await merchantOf(topUp.merchantId),
      customer: topUp.customerId,
      points: null,
      items: [{ description: 'Wallet top-up', category: 'top_up', quantity: 1, unit_amount: amountJson(topUp.amount), ...money(topUp.amount, topUp.currency) }],
      currency: topUp.currency,
      ...money(topUp.amount, topUp.currency),
      method: card ? { type: 'card', brand: card.brand, last4: card.last4 } : { type: 'card', brand: 'unknown', last4: '' },
      payment: null,
      created: seconds(topUp.createdAt),
      refunds: [],
      amount_refunded: zero.amount,
      amount_refunded_formatted: zero.amount_formatted,
    };
  }

  async function refundReceipt(refund: Refund): Promise<Omit<Receipt, 'id' | 'object'>> {
    const zero = money(0n, refund.currency);
    return {
      kind: 'refund',
      source: { object: 'refund', id: refund.id },
      livemode: refund.livemode,
      merchant: await merchantOf(refund.merchantId),
      customer: null,
      points: null,
      items: [{ description: refund.description ?? `Refund of ${refund.paymentId}`, category: 'refund', quantity: 1, unit_amount: amountJson(refund.amount), ...money(refund.amount, refund.currency) }],
      currency: refund.currency,
      ...money(refund.amount, refund.currency),
      method: { type: 'wallet' },
      payment: refund.paymentId,
      created: seconds(refund.createdAt),
      refunds: [],
      amount_refunded: zero.amount,
      amount_refunded_formatted: zero.amount_formatted,
    };
  }

  async function sign(reference: ReceiptReference, body: Omit<Receipt, 'id' | 'object'>, fee: SignedReceipt['fee']): Promise<SignedReceipt> {
    const receipt: Receipt = { object: 'receipt', id: `rcpt_${reference.objectId}`, ...body };
    const key = signer.signing();
    const jws = await new CompactSign(new TextEncoder().encode(JSON.stringify(receipt)))
      .setProtectedHeader({ alg: 'EdDSA', kid: key.kid, typ: 'micropay-receipt+jws' })
      .sign(key.signingKey);
    return { token: urlKey.tokenOf(reference), receipt, jws, fee };
  }

  async function build(reference: ReceiptReference): Promise<ReceiptResult> {
    const scope: Scope = { merchantId: reference.merchantId, livemode: reference.livemode };
    const { objectType, objectId } = reference;
    const missing = { ok: false as const, code: 'resource_missing' as const, message: `No such ${NOUNS[objectType]}: ${objectId}.` };
    const unavailable = (status: string) => ({
      ok: false as const,
      code: 'receipt_unavailable' as const,
      message: `The ${NOUNS[objectType]} is ${status}; only a succeeded ${NOUNS[objectType]} has a receipt.`,
    });
    if (objectType === 'payment') {
      const payment = await deps.payments.get(scope, objectId);
      if (!payment) return missing;
      if (payment.status !== 'succeeded') return unavailable(payment.status);
      return { ok: true, signed: await sign(reference, await paymentReceipt(scope, payment), { amount: payment.feeAmount, currency: payment.currency }) };
    }
    if (objectType === 'top_up') {
      const topUp = await deps.topUps.get(scope, objectId);
      if (!topUp) return missing;
      if (topUp.status !== 'succeeded') return unavailable(topUp.status);
      return { ok: true, signed: await sign(reference, await topUpReceipt(scope, topUp), null) };
    }
    const refund = await deps.refunds.get(scope, objectId);
    if (!refund) return missing;
    if (refund.status !== 'succeeded') return unavailable(refund.status);
    return { ok: true, signed: await sign(reference, await refundReceipt(refund), { amount: -refund.feeReversed, currency: refund.currency }) };
  }

  return {
    forObject(scope, objectType, objectId) {
      return build({ objectType, objectId, merchantId: scope.merchantId, livemode: scope.livemode });
    },
    async forToken(token) {
      const reference = urlKey.open(token);
      if (!reference) return null;
      const result = await build(reference);
      return result.ok ? result.signed : null;
    },
    jwks() {
      return { keys: signer.published().map((key) => key.publicJwk) };
    },
  };
}
