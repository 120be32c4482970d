// The checkout: a signed-in buyer pays a merchant's payment from the embeddable checkout. The risk
// decision and the low-value exemption choose the path: paid at once, a passkey confirmation whose
// challenge is bound to the payment (dynamic linking, PSD2 RTS art. 5), a one-time code as last resort,
// a review or a refusal in plain words, or an inline top-up when the wallet is short. The browser proves
// it may act on a payment with the payment's client secret and the merchant's publishable key.
import { createHash, randomBytes } from 'node:crypto';
import type { ApiErrorCode } from '../api/errors.ts';
import { newId } from '../api/ids.ts';
import type { Books } from '../books/service.ts';
import type { BuyerIdentity, BuyerSession, SentCode } from '../buyers/model.ts';
import type { CheckoutExemption } from '../config/config.ts';
import type { Customer, CustomerService, Scope } from '../customers/service.ts';
import type { MerchantService } from '../merchants/service.ts';
import type { ClientSecrets } from '../payments/client-secret.ts';
import type { Payment } from '../payments/model.ts';
import type { PaymentResult, PaymentService } from '../payments/service.ts';
import type { RiskReason } from '../risk/model.ts';
import type { Database } from '../store/database.ts';
import type { TopUp } from '../top-ups/model.ts';
import type { TopUpService } from '../top-ups/service.ts';
import type { CardInput } from '../vault/card.ts';
import type { AuthenticationResponseJSON, PublicKeyCredentialRequestOptionsJSON } from '@simplewebauthn/server';
import { exemptionOf, type TraPolicy } from './exemption.ts';
import type { CheckoutOrigins } from './origins.ts';
import { checkoutViewJson, type BuyerView, type CheckoutResult, type NextAction } from './model.ts';
import { amountText, decimalAmount } from './money.ts';
import { plainRefusal, REVIEW_MESSAGE } from './messages.ts';
import * as store from './store.ts';
import type { LoyaltyService } from '../loyalty/service.ts';
import { moneyAmountOf } from '../payments/model.ts';

export type Failure = { ok: false; code: ApiErrorCode; message?: string; param?: string };
export type Outcome<T> = { ok: true; value: T } | Failure;

export interface AuthenticationChallenge {
  challenge: string;
  expiresAt: Date;
  options: PublicKeyCredentialRequestOptionsJSON;
  spc: {
    rpId: string;
    credentialIds: string[];
    payeeName: string;
    payeeOrigin: string;
    total: { currency: string; value: string };
    instrument: { displayName: string; icon: string };
  };
}

export type Proof = { challenge: string; credential: AuthenticationResponseJSON } | { codeRequest: string; code: string };

export interface TopUpRequest {
  clientSecret: string;
  paymentId: string;
  amount: bigint;
  card?: CardInput;
  paymentMethodId?: string;
}

export interface CheckoutService {
  view(scope: Scope, paymentId: string, clientSecret: string, session: BuyerSession | null): Promise<Outcome<ReturnType<typeof checkoutViewJson>>>;
  confirm(
    scope: Scope,
    paymentId: string,
    clientSecret: string,
    session: BuyerSession,
    client: { ipAddress: string | null; userAgent: string | null },
    pointsToRedeem?: bigint,
  ): Promise<Outcome<CheckoutResult>>;
  authentication(scope: Scope, paymentId: string, clientSecret: string, session: BuyerSession): Promise<Outcome<AuthenticationChallenge>>;
  authenticate(scope: Scope, paymentId: string, clientSecret: string, session: BuyerSession, proof: Proof): Promise<Outcome<CheckoutResult>>;
  sendCode(scope: Scope, paymentId: string, clientSecret: string, session: BuyerSession): Promise<Outcome<SentCode>>;
  createTopUp(scope: Scope, session: BuyerSession, request: TopUpRequest, idSeed?: string): Promise<Outcome<TopUp>>;
  confirmTopUp(scope: Scope, session: BuyerSession, topUpId: string, request: { clientSecret: string; paymentId: string }): Promise<Outcome<TopUp>>;
}

export interface CheckoutDependencies {
  db: Database;
  payments: PaymentService;
  customers: CustomerService;
  merchants: MerchantService;
  books: Books;
  topUps: TopUpService;
  buyerIdentity: BuyerIdentity;
  clientSecrets: ClientSecrets;
  /** The low-value exemption per currency (CHECKOUT_EXEMPTIONS). */
  exemptions: Record<string, CheckoutExemption>;
  /** The transaction-risk-analysis exemption (CHECKOUT_TRA_EXEMPTIONS, CHECKOUT_TRA_SCORE_MAX). */
  tra: TraPolicy;
  supportEmail: string;
  /** Micropay's public origin: the checkout frame's, shown as the payee origin by Secure Payment Confirmation. */
  publicOrigin: string;
  rpId: string;
  /** How long a one-time code lasts (said in its message). */
  codeTtlSeconds: number;
  /** The buyer's points offer in the view (docs/loyalty.md); absent: no points at the checkout. */
  loyalty?: Pick<LoyaltyService, 'redemptionQuote'>;
  /** Where the merchant embeds the frame (origins.ts): in live mode, no exemption without some. */
  origins: Pick<CheckoutOrigins, 'of'>;
}

/** A payment challenge lasts two minutes. */
export const CHALLENGE_TTL_SECONDS = 120;
/** The largest top-up the checkout suggests: the largest amount a JSON integer carries exactly. */
const SUGGESTED_TOP_UP_MAX = BigInt(Number.MAX_SAFE_INTEGER);
/** Saved cards shown in the checkout, newest first. */
const CARDS_SHOWN_MAX = 5;
/** The icon Secure Payment Confirmation shows for the wallet (a 32×32 PNG). */
const WALLET_ICON =
  'data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAACAAAAAgCAIAAAD8GO2jAAAAPElEQVR42mMwN1hMU8QwasGoBaMWDIgF/ykAg8kCUoNiqFmAGSyjFtDbgqGQioZyTh4trkctGLVgyFkAAAZmIcyT0FMkAAAAAElFTkSuQmCC';

const missing = (id: string): Failure => ({ ok: false, code: 'resource_missing', param: 'id', message: `No such payment: ${id}.` });
const failed = (result: Extract<PaymentResult, { ok: false }>): Failure => ({ ok: false, code: result.code, message: result.message, param: result.param });

export function createCheckoutService(deps: CheckoutDependencies): CheckoutService {
  const { db, payments } = deps;

  /** The payment, when the client secret is its own; a wrong secret looks like a missing payment. */
  async function paymentFor(scope: Scope, id: string, clientSecret: string): Promise<Payment | null> {
    const payment = await payments.get(scope, id);
    return payment && deps.clientSecrets.matches(payment.id, clientSecret) ? payment : null;
  }

  /** The buyer's customer at the merchant (created on first payment), when the payment is the buyer's to pay. */
  async function payerOf(scope: Scope, payment: Payment, session: BuyerSession): Promise<Outcome<Customer>> {
    const customer = await deps.customers.findOrCreateForBuyer(scope, session.buyerId);
    if (payment.customerId !== null && payment.customerId !== customer.id) {
      return { ok: false, code: 'checkout_buyer_mismatch', message: 'This payment is for another buyer.' };
    }
    return { ok: true, value: customer };
  }

  async function walletAvailable(buyerId: string, livemode: boolean, currency: string): Promise<bigint> {
    const balance = await deps.books.balanceIfOpen(deps.books.account('wallet', buyerId, livemode, currency));
    return balance?.available ?? 0n;
  }

  async function buyerView(scope: Scope, payment: Payment, session: BuyerSession): Promise<BuyerView> {
    const [profile, available, customer] = await Promise.all([
      deps.buyerIdentity.profile(session.buyerId),
      walletAvailable(session.buyerId, scope.livemode, payment.currency),
      deps.customers.findForBuyer(scope, session.buyerId),
    ]);
    const cards = customer ? (await deps.topUps.listPaymentMethods(scope, { customerId: customer.id, limit: CARDS_SHOWN_MAX })).data : [];
    const quote = deps.loyalty ? await deps.loyalty.redemptionQuote(payment, session.buyerId) : null;
    const points = quote && { balance: quote.balance, spendable: quote.spendable, valuePerPoint: quote.valuePerPoint, minimumPoints: quote.minimumPoints, redeemablePoints: quote.maxPoints };
    return { id: session.buyerId, displayName: profile?.displayName ?? null, walletAvailable: available, cards, points };
  }

  /** What a top-up must add for the wallet to cover the payment, and a rounder amount to suggest. */
  async function topUpAction(payment: Payment): Promise<NextAction> {
    const available = await walletAvailable(payment.buyerId!, payment.livemode, payment.currency);
    // The wallet pays the money part (what points do not pay).
    const money = moneyAmountOf(payment);
    const shortfall = money - available > 0n ? money - available : 1n;
    const floor = deps.topUps.minimumFor(payment.currency);
    const minimum = shortfall > floor ? shortfall : floor;
    // Enough for a few more payments like this one, in whole multiples of the top-up minimum, but never
    // more than a JSON integer carries exactly (an amount may be up to 2^53 − 1): the answer is written
    // after the commit, so nothing here may fail. Top-ups have no maximum of their own.
    const wanted = minimum > payment.amount * 5n ? minimum : payment.amount * 5n;
    const step = floor > 0n ? floor : 1n;
    const rounded = ((wanted + step - 1n) / step) * step;
    const ceiling = SUGGESTED_TOP_UP_MAX - (SUGGESTED_TOP_UP_MAX % step);
    const capped = rounded > ceiling ? ceiling : rounded;
    const suggested = capped < minimum ? minimum : capped;
    return { type: 'top_up', minimum, suggested };
  }

  const result = (payment: Payment, status: CheckoutResult['status'], message: string, nextAction: NextAction | null = null, support = false): CheckoutResult => ({
    status,
    payment,
    nextAction,
    message,
    supportEmail: support ? deps.supportEmail : null,
  });

  function refusal(payment: Payment, reasons: RiskReason[]): CheckoutResult {
    return result(payment, 'failed', `${plainRefusal(reasons[0]?.code)} Nothing was charged. If you think this is a mistake, contact support at ${deps.supportEmail}.`, null, true);
  }

  /** The checkout's answer for what the payments service did. */
  async function answer(outcome: PaymentResult, reason: 'exemption_exceeded' | 'risk', reasons: RiskReason[]): Promise<Outcome<CheckoutResult>> {
    if (!outcome.ok) {
      const payment = outcome.payment;
      if (!payment || (outcome.code !== 'insufficient_funds' && outcome.code !== 'payment_blocked')) return failed(outcome);
      if (outcome.code === 'insufficient_funds') {
        return { ok: true, value: result(payment, 'requires_payment_method', 'Your wallet does not hold enough for this payment; top it up to continue.', await topUpAction(payment)) };
      }
      return { ok: true, value: refusal(payment, payment.status === 'failed' ? reasons : []) };
    }
    return { ok: true, value: await stateAnswer(outcome.payment, reason, reasons) };
  }

  async function stateAnswer(payment: Payment, reason: 'exemption_exceeded' | 'risk', reasons: RiskReason[]): Promise<CheckoutResult> {
    switch (payment.status) {
      case 'succeeded':
      case 'requires_capture':
        return result(payment, 'succeeded', paidMessage(payment));
      case 'requires_action':
        return result(payment, 'requires_action', 'Confirm this payment with your passkey.', { type: 'passkey', reason });
      case 'processing':
        return result(payment, 'processing', REVIEW_MESSAGE, null, true);
      case 'failed':
        return refusal(payment, reasons);
      default:
        return result(payment, 'failed', `This payment is ${payment.status.replaceAll('_', ' ')}; it cannot be paid.`, null, true);
    }
  }

  /** A payment the buyer already confirmed (a second tap, a reloaded frame): its state, said again. */
  async function replay(payment: Payment): Promise<Outcome<CheckoutResult>> {
    const recorded = payment.riskDecisionId ? await store.recordedDecision(db, payment.riskDecisionId) : null;
    const reason = recorded?.decision === 'challenge' ? 'risk' : 'exemption_exceeded';
    return { ok: true, value: await stateAnswer(payment, reason, recorded?.reasons ?? []) };
  }

  async function exemptionFor(payment: Payment, score: number | null) {
    // A live checkout pays without a prompt only inside frames of the merchant's registered origins:
    // elsewhere any site could show the frame invisibly and have the buyer click Pay (origins.ts).
    if (payment.livemode && (await deps.origins.of({ merchantId: payment.merchantId, livemode: true })).length === 0) return { exempt: false as const };
    const history = await store.exemptHistory(db, payment.buyerId!, payment.currency);
    const exemption = exemptionOf(deps.exemptions[payment.currency], deps.tra, payment.currency, payment.amount, history, score);
    if (exemption === null) return { exempt: false as const };
    return { exempt: true as const, writes: [store.authenticationWrite(record(payment, exemption === 'low_value' ? 'exempt' : 'tra', 'succeeded'))] };
  }

  function record(payment: Payment, method: store.AuthenticationMethod, outcome: 'succeeded' | 'failed'): store.AuthenticationRecord {
    return { paymentId: payment.id, buyerId: payment.buyerId!, livemode: payment.livemode, currency: payment.currency, amount: payment.amount, method, outcome };
  }

  /** The payment waiting for this buyer's confirmation. */
  async function awaitingAction(scope: Scope, id: string, clientSecret: string, session: BuyerSession): Promise<Outcome<Payment>> {
    const payment = await paymentFor(scope, id, clientSecret);
    if (!payment) return missing(id);
    if (payment.buyerId !== session.buyerId) {
      return payment.buyerId === null ? { ok: false, code: 'payment_unexpected_state', message: 'Confirm the payment first.' } : { ok: false, code: 'checkout_buyer_mismatch', message: 'This payment is for another buyer.' };
    }
    if (payment.status !== 'requires_action') {
      return { ok: false, code: 'payment_unexpected_state', message: `The payment is ${payment.status}; only a payment waiting for your confirmation can be confirmed this way.` };
    }
    return { ok: true, value: payment };
  }

  // Bound to what the wallet pays (the amount less what points pay), as the buyer confirms it.
  const binding = (payment: Payment) => `payment:${payment.id}:${moneyAmountOf(payment)}:${payment.currency}:${payment.merchantId}`;

  async function verifyPasskey(payment: Payment, proof: Extract<Proof, { challenge: string }>): Promise<Outcome<store.AuthenticationMethod>> {
    const use = await store.useChallenge(db, proof.challenge, payment.id, payment.buyerId!);
    if (use.kind === 'used') return { ok: false, code: 'challenge_used' };
    if (use.kind === 'expired') return { ok: false, code: 'challenge_expired' };
    if (use.kind === 'foreign') return { ok: false, code: 'authentication_failed', message: 'The challenge is not one of this payment.' };
    const check = await deps.buyerIdentity.verifyAssertion(payment.buyerId!, proof.credential, use.challenge);
    if (!check.ok) return { ok: false, code: 'authentication_failed', message: check.message };
    return { ok: true, value: clientDataType(proof.credential) === 'payment.get' ? 'spc' : 'passkey' };
  }

  async function verifyCode(payment: Payment, proof: Extract<Proof, { codeRequest: string }>): Promise<Outcome<store.AuthenticationMethod>> {
    const check = await deps.buyerIdentity.verifyCode(payment.buyerId!, proof.codeRequest, proof.code, 'payment', binding(payment));
    if (!check.ok) return { ok: false, code: check.code, message: check.message };
    return { ok: true, value: 'otp' };
  }

  return {
    async view(scope, paymentId, clientSecret, session) {
      const payment = await paymentFor(scope, paymentId, clientSecret);
      if (!payment) return missing(paymentId);
      const merchant = await deps.merchants.get(payment.merchantId);
      const buyer = session ? await buyerView(scope, payment, session) : null;
      return { ok: true, value: checkoutViewJson(payment, merchant?.name ?? '', buyer) };
    },

    async confirm(scope, paymentId, clientSecret, session, client, pointsToRedeem) {
      const payment = await paymentFor(scope, paymentId, clientSecret);
      if (!payment) return missing(paymentId);
      const payer = await payerOf(scope, payment, session);
      if (!payer.ok) return payer;
      if (payment.status !== 'requires_confirmation' && payment.status !== 'canceled') return replay(payment);
      const profile = await deps.buyerIdentity.profile(session.buyerId);
      const confirmation = await payments.confirmAtCheckout(scope, payment.id, {
        customer: payer.value,
        buyerCreatedAt: profile?.createdAt ?? null,
        buyerContext: { deviceId: session.deviceId, ipAddress: client.ipAddress, userAgent: client.userAgent },
        stepUp: (attached, decision) => exemptionFor(attached, decision.score),
        ...(pointsToRedeem === undefined ? {} : { pointsToRedeem }),
      });
      const reason = confirmation.exemptionExceeded ? 'exemption_exceeded' : 'risk';
      return answer(confirmation.result, reason, confirmation.decision?.reasons ?? []);
    },

    async authentication(scope, paymentId, clientSecret, session) {
      const awaiting = await awaitingAction(scope, paymentId, clientSecret, session);
      if (!awaiting.ok) return awaiting;
      const payment = awaiting.value;
      const nonce = randomBytes(32).toString('base64url');
      const challenge = createHash('sha256')
        .update(`micropay-payment-v1\n${payment.id}\n${payment.amount}\n${payment.currency}\n${payment.merchantId}\n${nonce}`)
        .digest('base64url');
      const id = newId('chl');
      const expiresAt = new Date(Date.now() + CHALLENGE_TTL_SECONDS * 1000);
      await store.insertChallenge(db, { id, paymentId: payment.id, buyerId: session.buyerId, challenge, expiresAt });
      const options = await deps.buyerIdentity.assertionOptions(session.buyerId, challenge);
      const merchant = await deps.merchants.get(payment.merchantId);
      return {
        ok: true,
        value: {
          challenge: id,
          expiresAt,
          options,
          spc: {
            rpId: options.rpId ?? deps.rpId,
            credentialIds: (options.allowCredentials ?? []).map((credential) => credential.id),
            payeeName: merchant?.name ?? '',
            payeeOrigin: deps.publicOrigin,
            // What the wallet pays (points pay the rest): the amount the buyer confirms.
            total: { currency: payment.currency, value: decimalAmount(moneyAmountOf(payment), payment.currency) },
            instrument: { displayName: 'Micropay wallet', icon: WALLET_ICON },
          },
        },
      };
    },

    async authenticate(scope, paymentId, clientSecret, session, proof) {
      const awaiting = await awaitingAction(scope, paymentId, clientSecret, session);
      if (!awaiting.ok) return awaiting;
      const payment = awaiting.value;
      const verified = 'challenge' in proof ? await verifyPasskey(payment, proof) : await verifyCode(payment, proof);
      if (!verified.ok) {
        // Failed step-ups are kept: the risk engine may learn from them.
        await store.insertAuthentication(db, record(payment, 'challenge' in proof ? 'passkey' : 'otp', 'failed'));
        return verified;
      }
      const completed = await payments.completeAction(payment.id, [store.authenticationWrite(record(payment, verified.value, 'succeeded'))]);
      return answer(completed, 'risk', []);
    },

    async sendCode(scope, paymentId, clientSecret, session) {
      const awaiting = await awaitingAction(scope, paymentId, clientSecret, session);
      if (!awaiting.ok) return awaiting;
      const payment = awaiting.value;
      const merchant = await deps.merchants.get(payment.merchantId);
      const minutes = Math.round(deps.codeTtlSeconds / 60);
      const text = `Micropay: code {code} to pay ${amountText(moneyAmountOf(payment), payment.currency)} to ${merchant?.name ?? 'the merchant'}. It expires in ${minutes} minutes; never share it.`;
      const sent = await deps.buyerIdentity.sendCode(session.buyerId, 'payment', binding(payment), text);
      if (!sent) return { ok: false, code: 'parameter_invalid', message: 'We have no email address or phone number to send a code to.' };
      return { ok: true, value: sent };
    },

    async createTopUp(scope, session, request, idSeed) {
      const payment = await paymentFor(scope, request.paymentId, request.clientSecret);
      if (!payment) return { ...missing(request.paymentId), param: 'payment' };
      const payer = await payerOf(scope, payment, session);
      if (!payer.ok) return payer;
      const created = await deps.topUps.create(
        scope,
        {
          customerId: payer.value.id,
          amount: request.amount,
          currency: payment.currency,
          ...(request.card === undefined ? {} : { card: request.card }),
          ...(request.paymentMethodId === undefined ? {} : { paymentMethodId: request.paymentMethodId }),
          metadata: { payment: payment.id },
        },
        idSeed,
      );
      return created.ok ? { ok: true, value: created.topUp } : created;
    },

    async confirmTopUp(scope, session, topUpId, request) {
      const payment = await paymentFor(scope, request.paymentId, request.clientSecret);
      if (!payment) return { ...missing(request.paymentId), param: 'payment' };
      const payer = await payerOf(scope, payment, session);
      if (!payer.ok) return payer;
      const topUp = await deps.topUps.get(scope, topUpId);
      if (!topUp || topUp.customerId !== payer.value.id) return { ok: false, code: 'resource_missing', param: 'id', message: `No such top-up: ${topUpId}.` };
      const confirmed = await deps.topUps.confirm(scope, topUpId);
      return confirmed.ok ? { ok: true, value: confirmed.topUp } : confirmed;
    },
  };
}

function paidMessage(payment: Payment): string {
  if (payment.pointsRedeemed === 0n) return `Paid ${amountText(payment.amount, payment.currency)}.`;
  return `Paid ${amountText(moneyAmountOf(payment), payment.currency)} and ${payment.pointsRedeemed} points (${amountText(payment.amountPaidInPoints, payment.currency)}).`;
}

/** `webauthn.get` for a passkey assertion, `payment.get` for Secure Payment Confirmation. */
function clientDataType(credential: AuthenticationResponseJSON): string | null {
  try {
    const clientData = JSON.parse(Buffer.from(credential.response.clientDataJSON, 'base64url').toString('utf8')) as { type?: unknown };
    return typeof clientData.type === 'string' ? clientData.type : null;
  } catch {
    return null;
  }
}
